"""Crashes: a record acknowledged by PutRecordBatch survives SIGKILL and reaches S3 once, never twice."""

from __future__ import annotations

import time
from typing import Any

from tests.services.firehose.conftest import list_keys, read, s3_config, wait_for_keys
from tests.support import FogbankServer


def _delivered_lines(s3: Any, bucket: str) -> list[bytes]:
    return [line for key in list_keys(s3, bucket) for line in read(s3, bucket, key).splitlines()]


def test_acknowledged_records_survive_sigkill_and_arrive_once(own_server: FogbankServer) -> None:
    own_server.start()
    s3, firehose = own_server.client("s3"), own_server.client("firehose")
    s3.create_bucket(Bucket="crash-bucket")
    # A 60 s interval: nothing can be delivered before the kill.
    firehose.create_delivery_stream(DeliveryStreamName="orders",
                                    ExtendedS3DestinationConfiguration=s3_config("crash-bucket", 5, 60))
    sent: list[bytes] = []
    for batch in range(3):
        records = [f"order-{batch}-{i}".encode() + b"\n" for i in range(100)]
        out = firehose.put_record_batch(DeliveryStreamName="orders", Records=[{"Data": r} for r in records])
        assert out["FailedPutCount"] == 0
        sent.extend(records)
    own_server.kill()
    own_server.start()
    s3, firehose = own_server.client("s3"), own_server.client("firehose")
    assert list_keys(s3, "crash-bucket") == []
    firehose.update_destination(DeliveryStreamName="orders", CurrentDeliveryStreamVersionId="1",
                                DestinationId="destinationId-000000000001",
                                ExtendedS3DestinationUpdate={"BufferingHints": {"IntervalInSeconds": 1}})
    wait_for_keys(s3, "crash-bucket", 1, settle=1.5)
    assert sorted(_delivered_lines(s3, "crash-bucket")) == sorted(r.rstrip(b"\n") for r in sent)

    # Killed again after delivery, the stream does not deliver the same records a second time.
    keys = list_keys(s3, "crash-bucket")
    own_server.kill()
    own_server.start()
    s3, firehose = own_server.client("s3"), own_server.client("firehose")
    firehose.put_record(DeliveryStreamName="orders", Record={"Data": b"after-restart\n"})
    wait_for_keys(s3, "crash-bucket", len(keys) + 1, settle=1.5)
    lines = _delivered_lines(s3, "crash-bucket")
    assert sorted(lines) == sorted([r.rstrip(b"\n") for r in sent] + [b"after-restart"])


def test_records_put_while_writers_are_killed_are_never_duplicated(own_server: FogbankServer) -> None:
    own_server.start()
    s3, firehose = own_server.client("s3"), own_server.client("firehose")
    s3.create_bucket(Bucket="busy-bucket")
    firehose.create_delivery_stream(DeliveryStreamName="busy",
                                    ExtendedS3DestinationConfiguration=s3_config("busy-bucket", 1, 1))
    acknowledged: list[bytes] = []
    for round_number in range(3):
        for batch in range(3):
            records = [f"r{round_number}-{batch}-{i}-".encode().ljust(2000, b".") for i in range(100)]
            firehose.put_record_batch(DeliveryStreamName="busy", Records=[{"Data": r + b"\n"} for r in records])
            acknowledged.extend(records)
        time.sleep(0.3 * round_number)  # kill at different points of the flusher's work
        own_server.kill()
        own_server.start()
        s3, firehose = own_server.client("s3"), own_server.client("firehose")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(_delivered_lines(s3, "busy-bucket")) < len(acknowledged):
        time.sleep(0.2)
    time.sleep(1.5)
    lines = _delivered_lines(s3, "busy-bucket")
    assert len(lines) == len(acknowledged)
    assert sorted(lines) == sorted(acknowledged)
