"""Restarts and crashes: every acknowledged record is readable afterwards, in order, under the same number."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.support import FogbankServer


def read_shard(kinesis: Any, name: str, shard: str) -> list[dict[str, Any]]:
    shard_iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records: list[dict[str, Any]] = []
    while shard_iterator:
        response = kinesis.get_records(ShardIterator=shard_iterator, Limit=10_000)
        records.extend(response["Records"])
        shard_iterator = response.get("NextShardIterator")
        if not response["Records"] and response["MillisBehindLatest"] == 0:
            break
    return records


def read_stream(kinesis: Any, name: str) -> dict[str, list[dict[str, Any]]]:
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=name)["Shards"]]
    return {shard: read_shard(kinesis, name, shard) for shard in shards}


def test_restart_keeps_streams_records_and_iterators(own_server: FogbankServer) -> None:
    own_server.start()
    kinesis = own_server.client("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=2, Tags={"env": "test"})
    first = kinesis.put_records(StreamName="orders", Records=[{"Data": b"a%d" % i, "PartitionKey": f"k{i}"}
                                                              for i in range(50)])
    kinesis.split_shard(StreamName="orders", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    second = kinesis.put_records(StreamName="orders", Records=[{"Data": b"b%d" % i, "PartitionKey": f"k{i}"}
                                                               for i in range(50)])
    latest = kinesis.get_shard_iterator(StreamName="orders", ShardId="shardId-000000000001",
                                        ShardIteratorType="LATEST")["ShardIterator"]
    before = read_stream(kinesis, "orders")

    own_server.restart()
    kinesis = own_server.client("kinesis")
    assert read_stream(kinesis, "orders") == before
    description = kinesis.describe_stream(StreamName="orders")["StreamDescription"]
    assert [s["ShardId"] for s in description["Shards"]] == [f"shardId-00000000000{i}" for i in range(4)]
    assert kinesis.list_tags_for_stream(StreamName="orders")["Tags"] == [{"Key": "env", "Value": "test"}]
    acknowledged = {r["SequenceNumber"] for r in first["Records"] + second["Records"]}
    assert acknowledged == {r["SequenceNumber"] for records in before.values() for r in records}
    # An iterator issued before the restart still works, and numbering carries on upwards.
    third = kinesis.put_record(StreamName="orders", Data=b"c", PartitionKey="z", ExplicitHashKey=str(2**128 - 1))
    assert third["ShardId"] == "shardId-000000000001"
    after_restart = kinesis.get_records(ShardIterator=latest)["Records"]
    assert [r["Data"] for r in after_restart] == [b"c"]
    shard_one = [r["SequenceNumber"] for r in second["Records"] if r["ShardId"] == "shardId-000000000001"]
    assert third["SequenceNumber"] > max(shard_one)


def _writer(server: FogbankServer, worker: int, stop: threading.Event, acked: list[tuple[bytes, str, str]],
            attempted: set[bytes], lock: threading.Lock) -> None:
    kinesis = server.client("kinesis")
    batch_number = 0
    while not stop.is_set():
        batch = [b"w%d-b%d-r%d" % (worker, batch_number, i) for i in range(100)]
        batch_number += 1
        with lock:
            attempted.update(batch)
        try:
            response = kinesis.put_records(StreamName="crash", Records=[
                {"Data": data, "PartitionKey": f"{worker}-{i % 7}"} for i, data in enumerate(batch)])
        except Exception:
            return  # the server is gone
        with lock:
            for data, entry in zip(batch, response["Records"], strict=True):
                if "SequenceNumber" in entry:
                    acked.append((data, entry["ShardId"], entry["SequenceNumber"]))


def test_sigkill_during_put_records_loses_no_acknowledged_record(own_server: FogbankServer) -> None:
    own_server.start()
    kinesis = own_server.client("kinesis")
    kinesis.create_stream(StreamName="crash", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    acked: list[tuple[bytes, str, str]] = []
    attempted: set[bytes] = set()
    lock = threading.Lock()
    stop = threading.Event()
    writers = [threading.Thread(target=_writer, args=(own_server, n, stop, acked, attempted, lock))
               for n in range(4)]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 4000:
                break
        time.sleep(0.05)
    own_server.kill()  # SIGKILL while the writers are still sending
    stop.set()
    for writer in writers:
        writer.join(timeout=30)
    assert len(acked) >= 1000

    own_server.start()
    kinesis = own_server.client("kinesis")
    stored = read_stream(kinesis, "crash")
    seen: dict[bytes, tuple[str, str]] = {}
    for shard, records in stored.items():
        numbers = [r["SequenceNumber"] for r in records]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        for record in records:
            assert record["Data"] in attempted  # nothing that was never sent
            assert record["Data"] not in seen  # nothing twice
            seen[record["Data"]] = (shard, record["SequenceNumber"])
    for data, shard, number in acked:
        assert seen.get(data) == (shard, number), data
    # Each writer's acknowledged records keep their order within a shard.
    position = {data: i for records in stored.values() for i, data in enumerate(r["Data"] for r in records)}
    for worker in range(4):
        mine = [(shard, data) for data, shard, _ in acked if data.startswith(b"w%d-" % worker)]
        for shard in {s for s, _ in mine}:
            order = [position[data] for s, data in mine if s == shard]
            assert order == sorted(order)
    # The stream takes writes again, numbered after everything that survived.
    after = kinesis.put_records(StreamName="crash", Records=[{"Data": b"after", "PartitionKey": "0-0"}])
    entry = after["Records"][0]
    assert entry["SequenceNumber"] > max(r["SequenceNumber"] for r in stored[entry["ShardId"]])


def test_torn_tail_after_a_crash_is_cut_at_start(own_server: FogbankServer) -> None:
    own_server.start()
    kinesis = own_server.client("kinesis")
    kinesis.create_stream(StreamName="torn", ShardCount=1)
    sent = kinesis.put_records(StreamName="torn", Records=[{"Data": b"r%d" % i, "PartitionKey": "k"}
                                                           for i in range(20)])["Records"]
    own_server.kill()
    logs = list((own_server.data_dir / "kinesis" / "shards").glob("*/0/*.log"))
    assert len(logs) == 1
    intact = logs[0].stat().st_size
    with open(logs[0], "ab") as handle:  # what a crash in the middle of a write leaves behind
        handle.write(b"\x40\x00\x00\x00\x11\x22\x33\x44half a record")
    own_server.start()
    assert logs[0].stat().st_size == intact  # cut while starting, before any request
    kinesis = own_server.client("kinesis")
    records = read_shard(kinesis, "torn", "shardId-000000000000")
    assert [r["SequenceNumber"] for r in records] == [r["SequenceNumber"] for r in sent]
    after = kinesis.put_record(StreamName="torn", Data=b"after", PartitionKey="k")
    assert after["SequenceNumber"] > sent[-1]["SequenceNumber"]
    assert [r["Data"] for r in read_shard(kinesis, "torn", "shardId-000000000000")][-2:] == [b"r19", b"after"]
