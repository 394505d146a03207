"""Kinesis control plane through boto3: streams, shards, resharding, retention, tags, consumers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.kinesis.conftest import MakeStream, unique_name

MAX_HASH = 2**128 - 1


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def arn_of(kinesis: Any, name: str) -> str:
    return str(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])


def test_create_describe_and_waiters(kinesis: Any) -> None:
    name = unique_name()
    kinesis.create_stream(StreamName=name, ShardCount=3, Tags={"team": "data"})
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert description["StreamStatus"] == "ACTIVE"
    assert description["StreamARN"] == f"arn:aws:kinesis:us-east-1:000000000000:stream/{name}"
    assert description["RetentionPeriodHours"] == 24
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert description["HasMoreShards"] is False
    shards = description["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    assert shards[0]["HashKeyRange"]["StartingHashKey"] == "0"
    assert shards[-1]["HashKeyRange"]["EndingHashKey"] == str(MAX_HASH)
    for left, right in itertools.pairwise(shards):
        assert int(left["HashKeyRange"]["EndingHashKey"]) + 1 == int(right["HashKeyRange"]["StartingHashKey"])
    assert all("EndingSequenceNumber" not in s["SequenceNumberRange"] for s in shards)
    assert abs(description["StreamCreationTimestamp"] - datetime.now(UTC)) < timedelta(minutes=1)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 3 and summary["ConsumerCount"] == 0
    assert len(summary["StreamId"]) == 24
    assert kinesis.list_tags_for_stream(StreamName=name)["Tags"] == [{"Key": "team", "Value": "data"}]
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    assert error_of(excinfo) == ("ResourceInUseException",
                                 f"Stream {name} under account 000000000000 already exists.")
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream(StreamName=name)
    assert error_of(excinfo) == ("ResourceNotFoundException", f"Stream {name} under account 000000000000 not found.")


def test_on_demand_stream(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(mode="ON_DEMAND")
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 4
    kinesis.update_stream_mode(StreamARN=summary["StreamARN"], StreamModeDetails={"StreamMode": "PROVISIONED"})
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamModeDetails"] == {
        "StreamMode": "PROVISIONED"}


def test_every_operation_accepts_the_stream_arn(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(2)
    arn = arn_of(kinesis, name)
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == name
    put = kinesis.put_record(StreamARN=arn, Data=b"via arn", PartitionKey="k")
    iterator = kinesis.get_shard_iterator(StreamARN=arn, ShardId=put["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, StreamARN=arn)["Records"]
    assert [r["Data"] for r in records] == [b"via arn"]
    kinesis.add_tags_to_stream(StreamARN=arn, Tags={"a": "1"})
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    assert len(kinesis.list_shards(StreamARN=arn)["Shards"]) == 2
    kinesis.increase_stream_retention_period(StreamARN=arn, RetentionPeriodHours=48)
    assert kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    other = arn.replace(":000000000000:", ":111111111111:")
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream(StreamARN=other)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream(StreamARN=arn, StreamName=name + "x")
    assert error_of(excinfo)[0] == "InvalidArgumentException"


def test_list_streams_paginates_with_summaries(kinesis: Any, make_stream: MakeStream) -> None:
    names = sorted(make_stream() for _ in range(5))
    seen: list[str] = []
    summaries: list[dict[str, Any]] = []
    for page in kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}):
        seen.extend(page["StreamNames"])
        summaries.extend(page["StreamSummaries"])
    assert seen == sorted(seen)
    assert set(names) <= set(seen)
    mine = [s for s in summaries if s["StreamName"] in names]
    assert [s["StreamName"] for s in mine] == names
    assert all(s["StreamStatus"] == "ACTIVE" and s["StreamARN"].endswith(f"/{s['StreamName']}") for s in mine)
    first = kinesis.list_streams(Limit=1, ExclusiveStartStreamName=names[0])
    assert first["StreamNames"][0] > names[0]
    assert first["HasMoreStreams"] is True


def test_delete_stream_with_consumers(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream()
    arn = arn_of(kinesis, name)
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app")
    with pytest.raises(ClientError) as excinfo:
        kinesis.delete_stream(StreamName=name)
    assert error_of(excinfo)[0] == "ResourceInUseException"
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream_summary(StreamName=name)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_recreated_stream_starts_empty(kinesis: Any) -> None:
    name = unique_name()
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.put_record(StreamName=name, Data=b"old", PartitionKey="k")
    kinesis.delete_stream(StreamName=name)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=iterator)["Records"] == []
    kinesis.delete_stream(StreamName=name)


def test_split_and_merge_keep_lineage_and_ranges(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(2)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    start = int(shards[0]["HashKeyRange"]["StartingHashKey"])
    end = int(shards[0]["HashKeyRange"]["EndingHashKey"])
    middle = (start + end) // 2
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(middle))
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name)["Shards"]}
    assert sorted(shards) == [f"shardId-00000000000{i}" for i in range(4)]
    assert "EndingSequenceNumber" in shards["shardId-000000000000"]["SequenceNumberRange"]
    left, right = shards["shardId-000000000002"], shards["shardId-000000000003"]
    assert left["ParentShardId"] == right["ParentShardId"] == "shardId-000000000000"
    assert left["HashKeyRange"] == {"StartingHashKey": str(start), "EndingHashKey": str(middle - 1)}
    assert right["HashKeyRange"] == {"StartingHashKey": str(middle), "EndingHashKey": str(end)}
    # a child's sequence numbers sort after its parent's
    assert (int(left["SequenceNumberRange"]["StartingSequenceNumber"])
            > int(shards["shardId-000000000000"]["SequenceNumberRange"]["EndingSequenceNumber"]))
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000003",
                         AdjacentShardToMerge="shardId-000000000001")
    merged = kinesis.list_shards(StreamName=name)["Shards"][-1]
    assert merged["ShardId"] == "shardId-000000000004"
    assert merged["ParentShardId"] == "shardId-000000000003"
    assert merged["AdjacentParentShardId"] == "shardId-000000000001"
    assert merged["HashKeyRange"] == {"StartingHashKey": str(middle), "EndingHashKey": str(MAX_HASH)}
    open_now = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ShardId"] for s in open_now] == ["shardId-000000000002", "shardId-000000000004"]


def test_resharding_errors(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(3)
    with pytest.raises(ClientError) as excinfo:
        kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                             AdjacentShardToMerge="shardId-000000000002")
    assert error_of(excinfo) == (
        "InvalidArgumentException",
        f"Shards shardId-000000000000 and shardId-000000000002 in stream {name} under account 000000000000 are "
        "not an adjacent pair of shards eligible for merging")
    with pytest.raises(ClientError) as excinfo:
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="1")
    code, message = error_of(excinfo)
    assert code == "InvalidArgumentException" and "is not both greater than one plus" in message
    with pytest.raises(ClientError) as excinfo:
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000009", NewStartingHashKey="100")
    assert error_of(excinfo) == ("ResourceNotFoundException",
                                 f"Could not find shard shardId-000000000009 in stream {name} under account "
                                 "000000000000.")
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    with pytest.raises(ClientError) as excinfo:
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="100")
    code, message = error_of(excinfo)
    assert code == "InvalidArgumentException" and "has already been merged or split" in message


def test_update_shard_count_scales_uniformly(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(2)
    result = kinesis.update_shard_count(StreamName=name, TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    assert (result["CurrentShardCount"], result["TargetShardCount"]) == (2, 3)
    open_shards = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    ranges = sorted((int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                    for s in open_shards)
    third = (MAX_HASH + 1) // 3
    assert ranges == [(0, third - 1), (third, 2 * third - 1), (2 * third, MAX_HASH)]
    every = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name)["Shards"]}
    for shard in every.values():
        for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")):
            assert parent is None or parent in every
    kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert len(kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]) == 2
    with pytest.raises(ClientError) as excinfo:
        kinesis.update_shard_count(StreamName=name, TargetShardCount=5, ScalingType="UNIFORM_SCALING")
    assert error_of(excinfo)[0] == "LimitExceededException"


def test_list_shards_filters_and_next_token(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(4)
    created = datetime.now(UTC)
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    page = kinesis.list_shards(StreamName=name, MaxResults=2)
    assert [s["ShardId"] for s in page["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    rest = kinesis.list_shards(NextToken=page["NextToken"])
    assert [s["ShardId"] for s in rest["Shards"]] == [f"shardId-00000000000{i}" for i in (2, 3, 4)]
    assert "NextToken" not in rest
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName=name, NextToken=page["NextToken"])
    assert error_of(excinfo)[0] == "InvalidArgumentException"

    def ids(**shard_filter: Any) -> list[str]:
        return [s["ShardId"][-1] for s in kinesis.list_shards(StreamName=name, ShardFilter=shard_filter)["Shards"]]

    assert ids(Type="AT_LATEST") == ["2", "3", "4"]
    assert ids(Type="AT_TRIM_HORIZON") == ["0", "1", "2", "3"]
    assert ids(Type="FROM_TRIM_HORIZON") == ["0", "1", "2", "3", "4"]
    assert ids(Type="AFTER_SHARD_ID", ShardId="shardId-000000000002") == ["3", "4"]
    assert ids(Type="AT_TIMESTAMP", Timestamp=created - timedelta(days=1)) == ["0", "1", "2", "3"]
    assert ids(Type="FROM_TIMESTAMP", Timestamp=datetime.now(UTC) + timedelta(seconds=5)) == ["2", "3", "4"]
    assert [s["ShardId"][-1] for s in kinesis.list_shards(StreamName=name,
                                                          ExclusiveStartShardId="shardId-000000000003")["Shards"]] == [
        "4"]
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AFTER_SHARD_ID"})
    assert error_of(excinfo)[0] == "InvalidArgumentException"


def test_retention_limits(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream()
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=72)
    with pytest.raises(ClientError) as excinfo:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert error_of(excinfo) == (
        "InvalidArgumentException",
        f"Requested retention period (48 hours) for stream {name} can not be shorter than existing retention "
        "period (72 hours). Use DecreaseRetentionPeriod API.")
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
    with pytest.raises(ClientError) as excinfo:
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=12)
    assert error_of(excinfo) == ("InvalidArgumentException",
                                 "Minimum allowed retention period is 24 hours. Requested retention period (12 hours) "
                                 "is too short.")
    with pytest.raises(ClientError) as excinfo:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8761)
    assert error_of(excinfo)[0] == "InvalidArgumentException"
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 24


def test_tags(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream()
    arn = arn_of(kinesis, name)
    kinesis.add_tags_to_stream(StreamName=name, Tags={"b": "2", "a": "1", "c": "3"})
    page = kinesis.list_tags_for_stream(StreamName=name, Limit=2)
    assert page["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}] and page["HasMoreTags"]
    rest = kinesis.list_tags_for_stream(StreamName=name, ExclusiveStartTagKey="b")
    assert rest["Tags"] == [{"Key": "c", "Value": "3"}] and not rest["HasMoreTags"]
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["b"])
    kinesis.tag_resource(ResourceARN=arn, Tags={"d": "4"})
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "c", "Value": "3"},
                                                                        {"Key": "d", "Value": "4"}]
    with pytest.raises(ClientError) as excinfo:
        kinesis.add_tags_to_stream(StreamName=name, Tags={f"k{i}": "v" for i in range(49)})
    assert error_of(excinfo)[0] == "InvalidArgumentException"


def test_consumers(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream()
    arn = arn_of(kinesis, name)
    consumers = [kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=f"app-{i}", Tags={"n": str(i)})
                 ["Consumer"] for i in range(3)]
    assert all(c["ConsumerStatus"] == "ACTIVE" for c in consumers)
    assert consumers[0]["ConsumerARN"].startswith(f"{arn}/consumer/app-0:")
    with pytest.raises(ClientError) as excinfo:
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app-0")
    assert error_of(excinfo)[0] == "ResourceInUseException"
    described = kinesis.describe_stream_consumer(ConsumerARN=consumers[1]["ConsumerARN"])["ConsumerDescription"]
    assert described["ConsumerName"] == "app-1" and described["StreamARN"] == arn
    by_name = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="app-2")["ConsumerDescription"]
    assert by_name["ConsumerARN"] == consumers[2]["ConsumerARN"]
    assert kinesis.list_tags_for_resource(ResourceARN=consumers[1]["ConsumerARN"])["Tags"] == [
        {"Key": "n", "Value": "1"}]
    listed = [c["ConsumerName"] for page in kinesis.get_paginator("list_stream_consumers").paginate(
        StreamARN=arn, PaginationConfig={"PageSize": 2}) for c in page["Consumers"]]
    assert listed == ["app-0", "app-1", "app-2"]
    kinesis.deregister_stream_consumer(ConsumerARN=consumers[0]["ConsumerARN"])
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="app-1")
    assert [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]] == ["app-2"]
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream_consumer(ConsumerARN=consumers[0]["ConsumerARN"])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["ConsumerCount"] == 1


def test_settings_without_an_engine(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream()
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    description = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert (description["EncryptionType"], description["KeyId"]) == ("KMS", "alias/aws/kinesis")
    assert kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")["EncryptionType"] == "KMS"
    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["EncryptionType"] == "NONE"
    enabled = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
    assert enabled["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
    disabled = kinesis.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
    assert len(disabled["DesiredShardLevelMetrics"]) == 6
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == 500 and limits["OpenShardCount"] >= 1
