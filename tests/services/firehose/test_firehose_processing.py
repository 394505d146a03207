"""Processing through boto3: Python transforms standing in for Lambda, dynamic partitioning, delimiters."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.services.firehose.conftest import MakeStream, install_function, list_keys, read, unique, wait_for_keys
from tests.support import FogbankServer

TRANSFORM = '''
import base64
import json
import pathlib

def handler(event, context):
    with open(pathlib.Path(__file__).with_suffix(".events"), "a") as log:
        log.write(json.dumps({"event": event, "name": context.function_name}) + "\\n")
    out = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        if data.startswith(b"drop"):
            out.append({"recordId": record["recordId"], "result": "Dropped", "data": record["data"]})
        elif data.startswith(b"fail"):
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
        else:
            upper = base64.b64encode(data.upper() + b"\\n").decode()
            out.append({"recordId": record["recordId"], "result": "Ok", "data": upper})
    return {"records": out}
'''


def _lambda(arn: str, **params: str) -> dict[str, Any]:
    parameters = [{"ParameterName": "LambdaArn", "ParameterValue": arn}]
    parameters.extend({"ParameterName": k, "ParameterValue": v} for k, v in params.items())
    return {"Type": "Lambda", "Parameters": parameters}


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines()]


def test_transform_keeps_drops_and_fails_records(fogbank: FogbankServer, firehose: Any, s3: Any, bucket: str,
                                                 make_stream: MakeStream) -> None:
    function = unique("upper").replace("-", "_")
    arn = install_function(fogbank.data_dir, function, TRANSFORM)
    name = make_stream(bucket, Prefix="ok/", ErrorOutputPrefix="err/!{firehose:error-output-type}/",
                       ProcessingConfiguration={"Enabled": True, "Processors": [_lambda(arn)]})
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in (
        b"keep one", b"drop me", b"fail me", b"keep two")])
    [data_key] = wait_for_keys(s3, bucket, 1, prefix="ok/")
    assert read(s3, bucket, data_key) == b"KEEP ONE\nKEEP TWO\n"
    [error_key] = wait_for_keys(s3, bucket, 1, prefix="err/processing-failed/")
    assert error_key.startswith(f"err/processing-failed/{name}-1-")
    [failure] = _lines(read(s3, bucket, error_key))
    assert failure["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert failure["errorMessage"] == "ProcessingFailed status set for record"
    assert base64.b64decode(failure["rawData"]) == b"fail me"
    assert failure["lambdaArn"] == arn and failure["attemptsMade"] == 1
    assert failure["attemptEndingTimestamp"] >= failure["arrivalTimestamp"] > 0
    events = (fogbank.data_dir / "firehose" / "functions" / f"{function}.events").read_text().splitlines()
    invocation = json.loads(events[0])
    assert invocation["name"] == function
    event = invocation["event"]
    assert event["deliveryStreamArn"] == f"arn:aws:firehose:us-east-1:000000000000:deliverystream/{name}"
    assert event["region"] == "us-east-1" and event["invocationId"]
    assert [base64.b64decode(r["data"]) for r in event["records"]] == [b"keep one", b"drop me", b"fail me",
                                                                        b"keep two"]
    assert len({r["recordId"] for r in event["records"]}) == 4
    assert all(isinstance(r["approximateArrivalTimestamp"], int) for r in event["records"])


def test_failing_and_missing_functions_send_the_batch_to_the_error_output(
        fogbank: FogbankServer, firehose: Any, s3: Any, bucket: str, make_stream: MakeStream) -> None:
    broken = install_function(fogbank.data_dir, unique("broken").replace("-", "_"),
                              "def handler(event, context):\n    raise RuntimeError('boom')\n")
    name = make_stream(bucket, Prefix="ok/", ErrorOutputPrefix="err/!{firehose:error-output-type}/",
                       ProcessingConfiguration={"Enabled": True, "Processors": [_lambda(broken, NumberOfRetries="1")]})
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"a"}, {"Data": b"b"}])
    [key] = wait_for_keys(s3, bucket, 1, prefix="err/processing-failed/")
    failures = _lines(read(s3, bucket, key))
    assert [base64.b64decode(f["rawData"]) for f in failures] == [b"a", b"b"]
    assert {f["errorCode"] for f in failures} == {"Lambda.FunctionError"}
    assert {f["attemptsMade"] for f in failures} == {2}

    missing = "arn:aws:lambda:us-east-1:000000000000:function:" + unique("absent").replace("-", "_")
    other = make_stream(bucket, Prefix="ok2/", ErrorOutputPrefix="err2/!{firehose:error-output-type}/",
                        ProcessingConfiguration={"Enabled": True, "Processors": [_lambda(missing)]})
    firehose.put_record(DeliveryStreamName=other, Record={"Data": b"c"})
    [key] = wait_for_keys(s3, bucket, 1, prefix="err2/processing-failed/")
    [failure] = _lines(read(s3, bucket, key))
    assert failure["errorCode"] == "Lambda.ResourceNotFound"
    assert list_keys(s3, bucket, "ok") == []


def test_dynamic_partitioning_with_jq_puts_records_under_their_prefixes(
        firehose: Any, s3: Any, bucket: str, make_stream: MakeStream) -> None:
    query = '{customer: .customer_id, device: .type["device"], year: .ts | strftime("%Y")}'
    name = make_stream(
        bucket, size_mb=64, interval=1,
        Prefix="customer=!{partitionKeyFromQuery:customer}/device=!{partitionKeyFromQuery:device}/"
               "year=!{partitionKeyFromQuery:year}/",
        ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
        DynamicPartitioningConfiguration={"Enabled": True},
        ProcessingConfiguration={"Enabled": True, "Processors": [
            {"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
            {"Type": "AppendDelimiterToRecord", "Parameters": []}]})
    events = [
        {"customer_id": "c1", "type": {"device": "mobile"}, "ts": 1565382027, "n": 1},
        {"customer_id": "c2", "type": {"device": "web"}, "ts": 1600000000, "n": 2},
        {"customer_id": "c1", "type": {"device": "mobile"}, "ts": 1565382999, "n": 3},
        {"customer_id": 42, "type": {"device": "web"}, "ts": 1600000000, "n": 4},
    ]
    bad = [b"not json at all", json.dumps({"customer_id": "c9", "ts": 1}).encode()]
    firehose.put_record_batch(DeliveryStreamName=name,
                              Records=[{"Data": json.dumps(e).encode()} for e in events] + [{"Data": b} for b in bad])
    keys = wait_for_keys(s3, bucket, 4)
    by_prefix = {k.rsplit("/", 1)[0]: k for k in keys}
    assert set(by_prefix) == {"customer=c1/device=mobile/year=2019", "customer=c2/device=web/year=2020",
                              "customer=42/device=web/year=2020", "errors/partitioning-failed"}
    mobile = read(s3, bucket, by_prefix["customer=c1/device=mobile/year=2019"])
    assert [json.loads(line)["n"] for line in mobile.splitlines()] == [1, 3]
    assert mobile.endswith(b"\n")
    failures = _lines(read(s3, bucket, by_prefix["errors/partitioning-failed"]))
    assert sorted(base64.b64decode(f["rawData"]) for f in failures) == sorted(bad)
    assert {f["errorCode"] for f in failures} == {"DynamicPartitioning.MetadataExtractionFailed"}


def test_deaggregated_records_partitioned_by_function_keys(fogbank: FogbankServer, firehose: Any, s3: Any,
                                                           bucket: str, make_stream: MakeStream) -> None:
    source = '''
import base64, json

def handler(event, context):
    out = []
    for record in event["records"]:
        payload = json.loads(base64.b64decode(record["data"]))
        keys = {"key1": payload.get("foo"), "key2": (payload.get("bar") or {}).get("baz", "").upper() or None}
        out.append({"recordId": record["recordId"], "result": "Ok", "data": record["data"],
                    "metadata": {"partitionKeys": keys}})
    return {"records": out}
'''
    arn = install_function(fogbank.data_dir, unique("keys").replace("-", "_"), source)
    name = make_stream(
        bucket, size_mb=64, interval=1, DynamicPartitioningConfiguration={"Enabled": True},
        Prefix="key1=!{partitionKeyFromLambda:key1}/key2=!{partitionKeyFromLambda:key2}/",
        ErrorOutputPrefix="error-output/!{firehose:error-output-type}/",
        ProcessingConfiguration={"Enabled": True, "Processors": [
            {"Type": "RecordDeAggregation", "Parameters": [{"ParameterName": "SubRecordType",
                                                             "ParameterValue": "JSON"}]},
            _lambda(arn)]})
    records = ['{"foo":"recordA","bar":{"baz":"Partition1","blah":"blah"},"data":"data1"}',
               '{"foo":"recordB","bar":{"baz":"Partition2","blah":"quux"},"data":"data2"}',
               '{"data":"data3"}']
    firehose.put_record(DeliveryStreamName=name, Record={"Data": "".join(records).encode()})
    keys = wait_for_keys(s3, bucket, 3)
    by_prefix = {k.rsplit("/", 1)[0]: k for k in keys}
    assert set(by_prefix) == {"key1=recordA/key2=PARTITION1", "key1=recordB/key2=PARTITION2",
                              "error-output/partitioning-failed"}
    assert read(s3, bucket, by_prefix["key1=recordA/key2=PARTITION1"]) == records[0].encode()
    [failure] = _lines(read(s3, bucket, by_prefix["error-output/partitioning-failed"]))
    assert base64.b64decode(failure["rawData"]) == records[2].encode()
