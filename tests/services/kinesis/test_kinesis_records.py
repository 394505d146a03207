"""Kinesis data plane through boto3: writing, reading every iterator type, resharding, limits, bad input."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.kinesis.conftest import MakeStream
from tests.support import FogbankServer

MiB = 1024 * 1024


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def iterator(kinesis: Any, name: str, shard: str, kind: str = "TRIM_HORIZON", **extra: Any) -> str:
    return str(kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind,
                                          **extra)["ShardIterator"])


def drain(kinesis: Any, shard_iterator: str | None, limit: int | None = None) -> tuple[list[dict[str, Any]],
                                                                                       dict[str, Any]]:
    """Every record until the iterator catches up (or ends); returns the records and the last response."""
    records: list[dict[str, Any]] = []
    last: dict[str, Any] = {}
    while shard_iterator:
        last = kinesis.get_records(ShardIterator=shard_iterator, **({"Limit": limit} if limit else {}))
        records.extend(last["Records"])
        shard_iterator = last.get("NextShardIterator")
        if not last["Records"] and last["MillisBehindLatest"] == 0:
            break
    return records, last


def test_put_and_get_in_order_with_monotonic_sequence_numbers(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(1)
    sent = [f"record-{i}".encode() for i in range(25)]
    numbers = []
    for data in sent[:5]:
        result = kinesis.put_record(StreamName=name, Data=data, PartitionKey="p")
        assert result["ShardId"] == "shardId-000000000000"
        numbers.append(result["SequenceNumber"])
    batch = kinesis.put_records(StreamName=name, Records=[{"Data": d, "PartitionKey": "p"} for d in sent[5:]])
    assert batch["FailedRecordCount"] == 0
    numbers.extend(r["SequenceNumber"] for r in batch["Records"])
    assert all(len(n) == 56 for n in numbers)
    assert numbers == sorted(numbers) == sorted(numbers, key=int)
    assert len(set(numbers)) == len(numbers)
    records, last = drain(kinesis, iterator(kinesis, name, "shardId-000000000000"), limit=7)
    assert [r["Data"] for r in records] == sent
    assert [r["SequenceNumber"] for r in records] == numbers
    assert all(r["PartitionKey"] == "p" for r in records)
    assert all(abs(r["ApproximateArrivalTimestamp"] - datetime.now(UTC)) < timedelta(minutes=1) for r in records)
    assert last["MillisBehindLatest"] == 0


def test_records_go_to_the_shard_owning_their_hash_key(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(4)
    shards = kinesis.list_shards(StreamName=name)["Shards"]

    def owner(hash_key: int) -> str:
        return next(s["ShardId"] for s in shards if int(s["HashKeyRange"]["StartingHashKey"]) <= hash_key
                    <= int(s["HashKeyRange"]["EndingHashKey"]))

    keys = [f"key-{i}" for i in range(40)]
    result = kinesis.put_records(StreamName=name, Records=[{"Data": k.encode(), "PartitionKey": k} for k in keys])
    for key, entry in zip(keys, result["Records"], strict=True):
        assert entry["ShardId"] == owner(int(hashlib.md5(key.encode()).hexdigest(), 16))
    explicit = kinesis.put_record(StreamName=name, Data=b"e", PartitionKey="any",
                                  ExplicitHashKey=str(2**128 - 1))
    assert explicit["ShardId"] == "shardId-000000000003"
    zero = kinesis.put_record(StreamName=name, Data=b"z", PartitionKey="any", ExplicitHashKey="0")
    assert zero["ShardId"] == "shardId-000000000000"
    total = 0
    for shard in shards:
        records, _ = drain(kinesis, iterator(kinesis, name, shard["ShardId"]))
        for record in records:
            if record["Data"] not in (b"e", b"z"):
                assert owner(int(hashlib.md5(record["PartitionKey"].encode()).hexdigest(), 16)) == shard["ShardId"]
        total += len(records)
    assert total == 42


def test_iterator_types(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(1)
    shard = "shardId-000000000000"
    first = kinesis.put_records(StreamName=name, Records=[{"Data": b"a%d" % i, "PartitionKey": "k"}
                                                          for i in range(5)])["Records"]
    latest = iterator(kinesis, name, shard, "LATEST")
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    second = kinesis.put_records(StreamName=name, Records=[{"Data": b"b%d" % i, "PartitionKey": "k"}
                                                           for i in range(3)])["Records"]
    assert [r["Data"] for r in drain(kinesis, latest)[0]] == [b"b0", b"b1", b"b2"]
    at = iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=first[2]["SequenceNumber"])
    assert [r["Data"] for r in drain(kinesis, at)[0]] == [b"a2", b"a3", b"a4", b"b0", b"b1", b"b2"]
    after = iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=first[4]["SequenceNumber"])
    assert [r["Data"] for r in drain(kinesis, after)[0]] == [b"b0", b"b1", b"b2"]
    after_last = iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER",
                          StartingSequenceNumber=second[2]["SequenceNumber"])
    assert drain(kinesis, after_last)[0] == []
    stamped = iterator(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=between)
    assert [r["Data"] for r in drain(kinesis, stamped)[0]] == [b"b0", b"b1", b"b2"]
    old = iterator(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=between - timedelta(days=3))
    assert len(drain(kinesis, old)[0]) == 8
    start = kinesis.list_shards(StreamName=name)["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"]
    from_start = iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=start)
    assert len(drain(kinesis, from_start)[0]) == 8


def test_limit_and_millis_behind_latest(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(1)
    kinesis.put_records(StreamName=name, Records=[{"Data": b"%d" % i, "PartitionKey": "k"} for i in range(10)])
    time.sleep(0.05)
    first = kinesis.get_records(ShardIterator=iterator(kinesis, name, "shardId-000000000000"), Limit=4)
    assert [r["Data"] for r in first["Records"]] == [b"0", b"1", b"2", b"3"]
    assert first["MillisBehindLatest"] > 0
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=100)
    assert [r["Data"] for r in rest["Records"]] == [b"%d" % i for i in range(4, 10)]
    assert rest["MillisBehindLatest"] == 0
    empty = kinesis.get_records(ShardIterator=rest["NextShardIterator"])
    assert empty["Records"] == [] and empty["NextShardIterator"]


def test_put_get_across_split_and_merge(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(1)
    keys = [f"user-{i}" for i in range(30)]

    def put(tag: str) -> dict[str, list[str]]:
        result = kinesis.put_records(StreamName=name, Records=[{"Data": f"{tag}:{k}".encode(), "PartitionKey": k}
                                                               for k in keys])
        assert result["FailedRecordCount"] == 0
        placed: dict[str, list[str]] = {}
        for key, entry in zip(keys, result["Records"], strict=True):
            placed.setdefault(entry["ShardId"], []).append(f"{tag}:{key}")
        return placed

    before = put("before")
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    during = put("split")
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000001",
                         AdjacentShardToMerge="shardId-000000000002")
    after = put("merged")
    assert set(before) == {"shardId-000000000000"}
    assert set(during) == {"shardId-000000000001", "shardId-000000000002"}
    assert set(after) == {"shardId-000000000003"}

    # The parent ends: its last GetRecords has no NextShardIterator and names its children.
    records, last = drain(kinesis, iterator(kinesis, name, "shardId-000000000000"))
    assert [r["Data"].decode() for r in records] == before["shardId-000000000000"]
    assert "NextShardIterator" not in last
    assert [c["ShardId"] for c in last["ChildShards"]] == ["shardId-000000000001", "shardId-000000000002"]
    assert all(c["ParentShards"] == ["shardId-000000000000"] for c in last["ChildShards"])
    for child in ("shardId-000000000001", "shardId-000000000002"):
        records, last = drain(kinesis, iterator(kinesis, name, child))
        assert [r["Data"].decode() for r in records] == during[child]
        assert "NextShardIterator" not in last
        assert last["ChildShards"][0]["ShardId"] == "shardId-000000000003"
        assert last["ChildShards"][0]["ParentShards"] == ["shardId-000000000001", "shardId-000000000002"]
    records, last = drain(kinesis, iterator(kinesis, name, "shardId-000000000003"))
    assert [r["Data"].decode() for r in records] == after["shardId-000000000003"]
    assert last["NextShardIterator"]
    # Sequence numbers keep growing along the lineage.
    parent_last = drain(kinesis, iterator(kinesis, name, "shardId-000000000000"))[0][-1]["SequenceNumber"]
    child_first = drain(kinesis, iterator(kinesis, name, "shardId-000000000003"))[0][0]["SequenceNumber"]
    assert child_first > parent_last
    # Writing a closed shard's LATEST iterator returns nothing and ends at once.
    closed = kinesis.get_records(ShardIterator=iterator(kinesis, name, "shardId-000000000000", "LATEST"))
    assert closed["Records"] == [] and "NextShardIterator" not in closed


def test_sequence_number_for_ordering(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(2)
    previous = kinesis.put_record(StreamName=name, Data=b"1", PartitionKey="same")["SequenceNumber"]
    for i in range(3):
        current = kinesis.put_record(StreamName=name, Data=b"%d" % i, PartitionKey="same",
                                     SequenceNumberForOrdering=previous)["SequenceNumber"]
        assert int(current) > int(previous)
        previous = current
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="same", SequenceNumberForOrdering="12345")
    assert error_of(excinfo) == ("InvalidArgumentException",
                                 f"ExclusiveMinimumSequenceNumber 12345 used in PutRecord on stream {name} under "
                                 "account 000000000000 is invalid.")


def test_bad_records_are_refused_and_nothing_is_lost(fogbank: FogbankServer, make_stream: MakeStream) -> None:
    name = make_stream(mode="ON_DEMAND")  # no throughput limits: this test is about bad input only
    kinesis = fogbank.client("kinesis", parameter_validation=False)  # the server must catch what boto3 would
    kept = kinesis.put_record(StreamName=name, Data=b"kept", PartitionKey="k")
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=name, Data=b"x" * (MiB + 1), PartitionKey="k")
    assert error_of(excinfo) == ("ValidationException",
                                 "1 validation error detected: Value at 'data' failed to satisfy constraint: Member "
                                 "must have length less than or equal to 1048576")
    kinesis.put_record(StreamName=name, Data=b"x" * MiB, PartitionKey="k")  # exactly 1 MiB is allowed
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(StreamName=name, Records=[{"Data": b"ok", "PartitionKey": "k"},
                                                      {"Data": b"y" * (MiB + 1), "PartitionKey": "k"}])
    code, message = error_of(excinfo)
    assert code == "ValidationException" and "'records.2.member.data'" in message
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(StreamName=name, Records=[{"Data": b"r", "PartitionKey": "k"}] * 501)
    code, message = error_of(excinfo)
    assert code == "ValidationException" and "Member must have length less than or equal to 500" in message
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(StreamName=name, Records=[{"Data": b"q" * (MiB - 10), "PartitionKey": "k"}] * 6)
    assert error_of(excinfo)[0] == "InvalidArgumentException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k" * 257)
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128))
    assert error_of(excinfo) == ("InvalidArgumentException",
                                 "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                                 f"Specified value was {2**128}")
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey="-1")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName="no-such-stream", Data=b"x", PartitionKey="k")
    assert error_of(excinfo) == ("ResourceNotFoundException",
                                 "Stream no-such-stream under account 000000000000 not found.")
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(StreamName="no-such-stream", Records=[{"Data": b"x", "PartitionKey": "k"}])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    records, _ = drain(kinesis, iterator(kinesis, name, kept["ShardId"]))
    assert [r["Data"] for r in records] == [b"kept", b"x" * MiB]
    assert records[0]["SequenceNumber"] == kept["SequenceNumber"]


def test_bad_iterators(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(2)
    shard = "shardId-000000000000"
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator="bm90IGFuIGl0ZXJhdG9y")
    assert error_of(excinfo) == ("InvalidArgumentException", "Invalid ShardIterator.")
    good = iterator(kinesis, name, shard)
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"))
    assert error_of(excinfo) == ("InvalidArgumentException", "Invalid ShardIterator.")
    with pytest.raises(ClientError) as excinfo:
        iterator(kinesis, name, "shardId-000000000007")
    assert error_of(excinfo) == ("ResourceNotFoundException",
                                 f"Shard shardId-000000000007 in stream {name} under account 000000000000 does "
                                 "not exist")
    with pytest.raises(ClientError) as excinfo:
        iterator(kinesis, name, "ABKLFD8")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER")
    assert error_of(excinfo) == (
        "InvalidArgumentException",
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) "
        "TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no "
        "StartingSequenceNumber.")
    with pytest.raises(ClientError) as excinfo:
        iterator(kinesis, name, shard, "AT_TIMESTAMP")
    assert error_of(excinfo)[0] == "InvalidArgumentException"
    other = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128 - 1))
    assert other["ShardId"] == "shardId-000000000001"
    with pytest.raises(ClientError) as excinfo:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=other["SequenceNumber"])
    assert error_of(excinfo) == ("InvalidArgumentException",
                                 "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was "
                                 "used in a call to a shard with shardId-000000000000")
    with pytest.raises(ClientError) as excinfo:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber="5")
    assert error_of(excinfo)[0] == "InvalidArgumentException"
    kinesis.delete_stream(StreamName=name)
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=good)
    assert error_of(excinfo) == ("ResourceNotFoundException",
                                 f"Shard {shard} in stream {name} under account 000000000000 does not exist")


def test_write_limit_of_one_mib_per_second_per_shard(kinesis: Any, make_stream: MakeStream) -> None:
    """One call is judged at one instant, so this needs no clock control (see test_kinesis_clock for more)."""
    name = make_stream(1)
    big = 300_000
    result = kinesis.put_records(StreamName=name, Records=[
        {"Data": b"a" * big, "PartitionKey": "k"}, {"Data": b"b" * big, "PartitionKey": "k"},
        {"Data": b"c" * big, "PartitionKey": "k"}, {"Data": b"d" * big, "PartitionKey": "k"},
        {"Data": b"e" * 10, "PartitionKey": "k"}])
    assert result["FailedRecordCount"] == 1
    failed = result["Records"][3]
    assert failed["ErrorCode"] == "ProvisionedThroughputExceededException"
    assert failed["ErrorMessage"] == (f"Rate exceeded for shard shardId-000000000000 in stream {name} under "
                                      "account 000000000000.")
    assert "SequenceNumber" not in failed
    assert all("SequenceNumber" in result["Records"][i] for i in (0, 1, 2, 4))
    records, _ = drain(kinesis, iterator(kinesis, name, "shardId-000000000000"))
    assert [r["Data"][:1] for r in records] == [b"a", b"b", b"c", b"e"]


def test_on_demand_streams_are_not_throttled_per_shard(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(mode="ON_DEMAND")
    records = [{"Data": b"x" * 300_000, "PartitionKey": "k"} for _ in range(4)]
    assert kinesis.put_records(StreamName=name, Records=records)["FailedRecordCount"] == 0


def test_subscribe_to_shard_pushes_records(kinesis: Any, make_stream: MakeStream) -> None:
    name = make_stream(1)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    sent = [kinesis.put_record(StreamName=name, Data=b"e%d" % i, PartitionKey="k") for i in range(3)]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="fanout")["Consumer"]
    response = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                          StartingPosition={"Type": "TRIM_HORIZON"})
    stream = response["EventStream"]
    try:
        event = next(iter(stream))["SubscribeToShardEvent"]
    finally:
        stream.close()
    assert [r["Data"] for r in event["Records"]] == [b"e0", b"e1", b"e2"]
    assert event["ContinuationSequenceNumber"] == sent[-1]["SequenceNumber"]
    assert event["MillisBehindLatest"] == 0
    with pytest.raises(ClientError) as excinfo:
        kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    assert error_of(excinfo)[0] == "ResourceInUseException"
