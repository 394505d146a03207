"""A Kinesis data stream as the source: read in-process from LATEST, each record delivered once, across restarts."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.firehose.conftest import ROLE, install_function, list_keys, read, s3_config, unique
from tests.support import FogbankServer

DELIMITED = {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord", "Parameters": []}]}


def _lines(s3: Any, bucket: str, prefix: str = "") -> list[bytes]:
    return [line for key in list_keys(s3, bucket, prefix) for line in read(s3, bucket, key).splitlines()]


def _wait_for_lines(s3: Any, bucket: str, count: int, prefix: str = "") -> list[bytes]:
    deadline = time.monotonic() + 20
    lines = _lines(s3, bucket, prefix)
    while len(lines) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        lines = _lines(s3, bucket, prefix)
    time.sleep(1.2)
    return _lines(s3, bucket, prefix)


def _put(kinesis: Any, stream: str, prefix: str, count: int) -> list[bytes]:
    data = [f"{prefix}-{i}".encode() for i in range(count)]
    out = kinesis.put_records(StreamName=stream, Records=[{"Data": d, "PartitionKey": f"pk{i % 7}"}
                                                          for i, d in enumerate(data)])
    assert out["FailedRecordCount"] == 0
    return data


def _source(kinesis: Any, stream: str) -> dict[str, Any]:
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    return {"KinesisStreamARN": arn, "RoleARN": ROLE}


def test_reads_from_latest_across_a_reshard_once(fogbank: FogbankServer, firehose: Any, s3: Any,
                                                  bucket: str) -> None:
    kinesis = fogbank.client("kinesis")
    stream = unique("src")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    _put(kinesis, stream, "before", 20)
    function = unique("meta").replace("-", "_")
    arn = install_function(fogbank.data_dir, function, '''
import base64, json

def handler(event, context):
    out = []
    for record in event["records"]:
        line = {"data": base64.b64decode(record["data"]).decode(), "meta": record["kinesisRecordMetadata"],
                "source": event["sourceKinesisStreamArn"]}
        out.append({"recordId": record["recordId"], "result": "Ok",
                    "data": base64.b64encode(json.dumps(line).encode() + b"\\n").decode()})
    return {"records": out}
''')
    name = unique()
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration=_source(kinesis, stream),
        ExtendedS3DestinationConfiguration=s3_config(bucket, 5, 1, ProcessingConfiguration={
            "Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
                {"ParameterName": "LambdaArn", "ParameterValue": arn}]}]}))
    try:
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        assert description["DeliveryStreamType"] == "KinesisStreamAsSource"
        source = description["Source"]["KinesisStreamSourceDescription"]
        assert source["KinesisStreamARN"] == _source(kinesis, stream)["KinesisStreamARN"]
        assert "DeliveryStartTimestamp" in source
        with pytest.raises(ClientError) as excinfo:
            firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
        assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert "KinesisStreamAsSource" in excinfo.value.response["Error"]["Message"]

        sent = _put(kinesis, stream, "first", 60)
        kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
        sent += _put(kinesis, stream, "second", 60)
        lines = [json.loads(line) for line in _wait_for_lines(s3, bucket, len(sent))]
        assert sorted(line["data"].encode() for line in lines) == sorted(sent)
        shards = {line["meta"]["shardId"] for line in lines if line["data"].startswith("second")}
        assert shards & {"shardId-000000000002", "shardId-000000000003"}  # the split's children were read
        assert "shardId-000000000000" in {line["meta"]["shardId"] for line in lines}
        first = lines[0]
        assert first["source"] == _source(kinesis, stream)["KinesisStreamARN"]
        assert first["meta"]["partitionKey"].startswith("pk") and len(first["meta"]["sequenceNumber"]) == 56
    finally:
        firehose.delete_delivery_stream(DeliveryStreamName=name)
        kinesis.delete_stream(StreamName=stream)


def test_a_missing_source_stream_is_refused(fogbank: FogbankServer, firehose: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        firehose.create_delivery_stream(
            DeliveryStreamName=unique(), DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/nope",
                                              "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=s3_config(bucket))
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "nope" in excinfo.value.response["Error"]["Message"]


def test_checkpoint_survives_sigkill(own_server: FogbankServer) -> None:
    own_server.start()
    kinesis, s3, firehose = (own_server.client(s) for s in ("kinesis", "s3", "firehose"))
    s3.create_bucket(Bucket="from-kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    firehose.create_delivery_stream(DeliveryStreamName="clicks-to-s3", DeliveryStreamType="KinesisStreamAsSource",
                                    KinesisStreamSourceConfiguration=_source(kinesis, "clicks"),
                                    ExtendedS3DestinationConfiguration=s3_config("from-kinesis", 5, 1,
                                                                                 ProcessingConfiguration=DELIMITED))
    sent = _put(kinesis, "clicks", "a", 50)
    assert sorted(_wait_for_lines(s3, "from-kinesis", len(sent))) == sorted(sent)
    own_server.kill()
    own_server.start()
    # Put and killed at once: these may or may not have been delivered before the kill.
    more = _put(own_server.client("kinesis"), "clicks", "b", 50)
    own_server.kill()
    own_server.start()
    s3 = own_server.client("s3")
    assert sorted(_wait_for_lines(s3, "from-kinesis", len(sent) + len(more))) == sorted(sent + more)
