"""The provider called in-process: backlog limits, and a crash between writing objects and the checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.firehose.errors import ServiceUnavailableException
from fogbank.services.firehose.provider import FirehoseProvider
from fogbank.services.firehose.runtime import StreamRuntime
from fogbank.services.s3.provider import S3Provider

ACCOUNT = "000000000000"


def ctx(service: str = "firehose") -> RequestContext:
    return RequestContext(ACCOUNT, "us-east-1", "req", service, "Op", HttpRequest("POST", "/", "", Headers()))


class Server:
    """S3 and Firehose providers on one data dir, with the flusher stopped so a test drives delivery."""

    def __init__(self, data_dir: Path, **options: Any) -> None:
        self.s3 = S3Provider(Config(data_dir=data_dir), lifecycle_interval=None)
        self.firehose = FirehoseProvider(Config(data_dir=data_dir), s3=self.s3, flush_tick=3600, **options)
        self.firehose.flusher.stop()

    def runtime(self, name: str) -> StreamRuntime:
        return self.firehose._find(ctx(), name)

    def keys(self, bucket: str) -> list[str]:
        out = self.s3.list_objects_v2(ctx("s3"), {"Bucket": bucket})
        return sorted(o["Key"] for o in out.get("Contents", []))

    def body(self, bucket: str, key: str) -> bytes:
        body = self.s3.get_object(ctx("s3"), {"Bucket": bucket, "Key": key})["Body"]
        return body if isinstance(body, bytes) else b"".join(body)

    def close(self) -> None:
        self.firehose.close()
        self.s3.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    opened = Server(tmp_path / "data")
    yield opened
    opened.close()


def _stream(server: Server, name: str, **extended: Any) -> None:
    server.s3.create_bucket(ctx("s3"), {"Bucket": "target-bucket"})
    hints = extended.pop("BufferingHints", {"SizeInMBs": 64, "IntervalInSeconds": 0})
    server.firehose.create_delivery_stream(ctx(), {"DeliveryStreamName": name, "ExtendedS3DestinationConfiguration": {
        "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::target-bucket",
        "BufferingHints": hints, **extended}})


def test_a_full_backlog_fails_records_one_by_one(tmp_path: Path) -> None:
    opened = Server(tmp_path / "data", max_backlog_bytes=550)
    try:
        _stream(opened, "small", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
        out = opened.firehose.put_record_batch(ctx(), {"DeliveryStreamName": "small",
                                                       "Records": [{"Data": bytes([65 + i]) * 100} for i in range(10)]})
        assert out["FailedPutCount"] == 5
        assert all("RecordId" in r for r in out["RequestResponses"][:5])
        assert out["RequestResponses"][5:] == [{"ErrorCode": "ServiceUnavailableException",
                                                "ErrorMessage": "Slow down."}] * 5
        with pytest.raises(ServiceUnavailableException):
            opened.firehose.put_record(ctx(), {"DeliveryStreamName": "small", "Record": {"Data": b"x" * 100}})
        assert opened.runtime("small").pending()[:2] == (5, 500)
    finally:
        opened.close()


class CrashingS3:
    """Writes `allowed` objects through the real provider, then fails as a killed process would stop."""

    def __init__(self, real: S3Provider, allowed: int) -> None:
        self.real = real
        self.allowed = allowed
        self.written: list[str] = []

    def put_object(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        if len(self.written) >= self.allowed:
            raise RuntimeError("the process died here")
        self.written.append(request["Key"])
        return self.real.put_object(context, request)


def test_a_batch_cut_short_is_replayed_under_the_same_keys(tmp_path: Path) -> None:
    query = "{customer: .customer}"
    config = {
        "Prefix": "customer=!{partitionKeyFromQuery:customer}/",
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "DynamicPartitioningConfiguration": {"Enabled": True},
        "ProcessingConfiguration": {"Enabled": True, "Processors": [
            {"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
            {"Type": "AppendDelimiterToRecord", "Parameters": []}]},
    }
    records = [{"customer": c, "n": n} for n in range(10) for c in ("a", "b", "c")]
    first = Server(tmp_path / "data")
    _stream(first, "orders", **config)
    first.firehose.put_record_batch(ctx(), {"DeliveryStreamName": "orders",
                                            "Records": [{"Data": json.dumps(r).encode()} for r in records]})
    crashing = CrashingS3(first.s3, allowed=1)
    runtime = first.runtime("orders")
    assert runtime.step(crashing, first.firehose.catalog) is False
    assert runtime.checkpoint.intent is not None
    [written] = crashing.written
    first.close()

    second = Server(tmp_path / "data")
    try:
        runtime = second.runtime("orders")
        assert runtime.checkpoint.intent is not None
        assert runtime.step(second.s3, second.firehose.catalog) is True
        assert runtime.checkpoint.intent is None and runtime.pending()[0] == 0
        keys = second.keys("target-bucket")
        assert len(keys) == 3 and written in keys
        delivered = [json.loads(line) for key in keys for line in second.body("target-bucket", key).splitlines()]
        assert sorted(delivered, key=lambda r: (r["customer"], r["n"])) == sorted(
            records, key=lambda r: (r["customer"], r["n"]))
        for key in keys:
            customer = key.split("/")[0].split("=")[1]
            assert {json.loads(line)["customer"] for line in second.body("target-bucket", key).splitlines()} == {
                customer}
        assert runtime.step(second.s3, second.firehose.catalog) is False
        assert second.keys("target-bucket") == keys
    finally:
        second.close()
