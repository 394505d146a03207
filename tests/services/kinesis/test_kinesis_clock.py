"""What takes minutes or days on AWS, with the server's clock moved by the test: iterator expiry, retention,
NextToken expiry, throughput limits refilling, MillisBehindLatest."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.kinesis.conftest import ClockedServer

HOUR = 3600.0
SHARD = "shardId-000000000000"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def trim_horizon(kinesis: Any, name: str, shard: str = SHARD) -> str:
    return str(kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"])


def test_iterators_expire_after_five_minutes(clocked: ClockedServer) -> None:
    kinesis = clocked.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"one", PartitionKey="k")
    old = trim_horizon(kinesis, "s")
    clocked.clock.advance(299)
    fresh = kinesis.get_records(ShardIterator=old)
    assert [r["Data"] for r in fresh["Records"]] == [b"one"]
    clocked.clock.advance(2)
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=old)
    code, message = error_of(excinfo)
    assert code == "ExpiredIteratorException"
    assert re.fullmatch(r"Iterator expired\. The iterator was created at time \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} "
                        r"UTC \d{4} while right now it is \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4} which is "
                        r"further in the future than the tolerated delay of 300000 milliseconds\.", message)
    # The iterator GetRecords handed back is new, so a consumer that keeps polling never expires.
    kinesis.put_record(StreamName="s", Data=b"two", PartitionKey="k")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=fresh["NextShardIterator"])["Records"]] == [b"two"]


def test_retention_hides_then_deletes_old_records(clocked: ClockedServer) -> None:
    kinesis = clocked.client("kinesis")
    store = clocked.kinesis.store
    store.segment_bytes = 8 * 1024  # small segments, so that whole segments expire
    kinesis.create_stream(StreamName="s", ShardCount=1)
    for i in range(10):
        kinesis.put_records(StreamName="s", Records=[{"Data": b"old-%d-%d " % (i, j) + bytes(200),
                                                      "PartitionKey": "k"} for j in range(20)])
    clocked.clock.advance(20 * HOUR)
    kinesis.put_record(StreamName="s", Data=b"new", PartitionKey="k")
    clocked.clock.advance(4 * HOUR - 60)
    taken_in_time = trim_horizon(kinesis, "s")
    assert len(kinesis.get_records(ShardIterator=taken_in_time)["Records"]) == 201
    clocked.clock.advance(120)  # the old records are now 24 hours and a minute old, the new one 4 hours
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=taken_in_time)["Records"]] == [b"new"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=trim_horizon(kinesis, "s"))["Records"]] == [b"new"]
    at_old = kinesis.get_shard_iterator(StreamName="s", ShardId=SHARD, ShardIteratorType="AT_TIMESTAMP",
                                        Timestamp=0)["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=at_old)["Records"]] == [b"new"]
    stream = store.find(("000000000000", "us-east-1"), "s")
    assert stream is not None
    shard_dir = store.shard_root / str(stream.db_id) / "0"
    before = len(list(shard_dir.glob("*.log")))
    assert before > 2
    store.maintain()
    assert 1 <= len(list(shard_dir.glob("*.log"))) < before
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
    records = kinesis.get_records(ShardIterator=trim_horizon(kinesis, "s"))["Records"]
    assert records[-1]["Data"] == b"new"  # what was deleted stays deleted; what was kept is all there
    assert all(r["Data"].startswith(b"old-") for r in records[:-1])


def test_closed_shards_disappear_once_their_records_expire(clocked: ClockedServer) -> None:
    kinesis = clocked.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"parent", PartitionKey="k")
    kinesis.split_shard(StreamName="s", ShardToSplit=SHARD, NewStartingHashKey=str(2**127))
    assert len(kinesis.describe_stream(StreamName="s")["StreamDescription"]["Shards"]) == 3
    clocked.clock.advance(23 * HOUR)
    clocked.kinesis.store.maintain()
    assert len(kinesis.describe_stream(StreamName="s")["StreamDescription"]["Shards"]) == 3
    clocked.clock.advance(2 * HOUR)
    clocked.kinesis.store.maintain()
    shards = kinesis.describe_stream(StreamName="s")["StreamDescription"]["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000001", "shardId-000000000002"]
    assert all(s["ParentShardId"] == SHARD for s in shards)
    with pytest.raises(ClientError) as excinfo:
        trim_horizon(kinesis, "s")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_list_shards_next_token_expires(clocked: ClockedServer) -> None:
    kinesis = clocked.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=3)
    token = kinesis.list_shards(StreamName="s", MaxResults=1)["NextToken"]
    clocked.clock.advance(301)
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(NextToken=token)
    assert error_of(excinfo)[0] == "ExpiredNextTokenException"


def test_throughput_limits_refill_with_time(clocked: ClockedServer) -> None:
    kinesis = clocked.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    clocked.clock.freeze()  # no refill between calls: exactly 1,000 records fit
    for _ in range(2):
        accepted = kinesis.put_records(StreamName="s", Records=[{"Data": b"r", "PartitionKey": "k"}] * 500)
        assert accepted["FailedRecordCount"] == 0
    refused = kinesis.put_records(StreamName="s", Records=[{"Data": b"r", "PartitionKey": "k"}] * 500)
    assert refused["FailedRecordCount"] == 500
    assert {r["ErrorCode"] for r in refused["Records"]} == {"ProvisionedThroughputExceededException"}
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
    assert error_of(excinfo) == ("ProvisionedThroughputExceededException",
                                 "Rate exceeded for shard shardId-000000000000 in stream s under account "
                                 "000000000000.")
    clocked.clock.advance(1.0)
    assert kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")["ShardId"] == SHARD

    # Reads: 2 MiB a second; one large read may overdraw, then the shard refuses reads until it refills.
    kinesis.create_stream(StreamName="r", ShardCount=1, StreamModeDetails={"StreamMode": "PROVISIONED"})
    for _ in range(3):
        clocked.clock.advance(1.0)
        kinesis.put_record(StreamName="r", Data=bytes(1024 * 1000), PartitionKey="k")
    clocked.clock.advance(1.0)
    big = kinesis.get_records(ShardIterator=trim_horizon(kinesis, "r"))
    assert len(big["Records"]) == 3
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=big["NextShardIterator"])
    assert error_of(excinfo)[0] == "ProvisionedThroughputExceededException"
    clocked.clock.advance(1.0)
    assert kinesis.get_records(ShardIterator=big["NextShardIterator"])["Records"] == []


def test_millis_behind_latest_is_the_age_of_what_was_read(clocked: ClockedServer) -> None:
    kinesis = clocked.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    clocked.clock.freeze()
    kinesis.put_records(StreamName="s", Records=[{"Data": b"a", "PartitionKey": "k"}] * 3)
    clocked.clock.advance(10.0)
    kinesis.put_record(StreamName="s", Data=b"b", PartitionKey="k")
    clocked.clock.advance(5.0)
    first = kinesis.get_records(ShardIterator=trim_horizon(kinesis, "s"), Limit=2)
    assert first["MillisBehindLatest"] == 15_000
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=2)
    assert [r["Data"] for r in rest["Records"]] == [b"a", b"b"]
    assert rest["MillisBehindLatest"] == 0


def test_writes_during_resharding_land_once_and_in_order(clocked: ClockedServer) -> None:
    """Writers race splits and merges; every acknowledged record is stored once, in the shard named in its
    acknowledgement, and one writer's records for one key get ever larger sequence numbers across the lineage."""
    clocked.kinesis.store.throttles.enabled = False  # this test is about resharding, not rate limits
    kinesis = clocked.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=2)
    acked: list[tuple[int, str, bytes, str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        client = clocked.client("kinesis")
        i = 0
        while not stop.is_set():
            batch = [(f"key-{(i + j) % 13}", b"w%d-%d" % (n, i + j)) for j in range(40)]
            i += 40
            response = client.put_records(StreamName="s", Records=[{"Data": d, "PartitionKey": k}
                                                                   for k, d in batch])
            with lock:
                for (key, data), entry in zip(batch, response["Records"], strict=True):
                    assert "SequenceNumber" in entry, entry
                    acked.append((n, key, data, entry["ShardId"], entry["SequenceNumber"]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
        time.sleep(0.2)
        kinesis.merge_shards(StreamName="s", ShardToMerge="shardId-000000000003",
                             AdjacentShardToMerge="shardId-000000000001")
        time.sleep(0.2)
        kinesis.update_shard_count(StreamName="s", TargetShardCount=3, ScalingType="UNIFORM_SCALING")
        time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert len(acked) > 200
    stored: dict[bytes, tuple[str, str]] = {}
    for shard in kinesis.list_shards(StreamName="s")["Shards"]:
        shard_iterator: str | None = trim_horizon(kinesis, "s", shard["ShardId"])
        while shard_iterator:
            response = kinesis.get_records(ShardIterator=shard_iterator)
            for record in response["Records"]:
                assert record["Data"] not in stored
                stored[record["Data"]] = (shard["ShardId"], record["SequenceNumber"])
            shard_iterator = response.get("NextShardIterator") if response["MillisBehindLatest"] else None
    assert len(stored) == len(acked)
    by_writer_and_key: dict[tuple[int, str], list[str]] = {}
    for n, key, data, shard_id, number in acked:
        assert stored[data] == (shard_id, number)
        by_writer_and_key.setdefault((n, key), []).append(number)
    for numbers in by_writer_and_key.values():
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
