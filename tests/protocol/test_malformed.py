"""Bad input gets a clear AWS error from the parser: never another exception, never an expansion bomb."""

from __future__ import annotations

import gzip
import json
import random
from typing import Any

import botocore.session
import cbor2
import pytest
from botocore.model import OperationModel

from fogbank.errors import AwsError
from fogbank.protocol import parser
from fogbank.protocol.http import BytesBody, Headers, HttpRequest
from fogbank.protocol.parser import parse_request


def operation(service: str, name: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(name)


def request(body: bytes, method: str = "POST", path: str = "/", query: str = "",
            headers: dict[str, str] | None = None) -> HttpRequest:
    return HttpRequest(method, path, query, Headers((headers or {}).items()), BytesBody(body), len(body))


def parse_error(service: str, op_name: str, wire: str, http: HttpRequest,
                labels: dict[str, str] | None = None) -> AwsError:
    with pytest.raises(AwsError) as caught:
        parse_request(operation(service, op_name), wire, http, labels)
    error = caught.value
    assert error.status == 400 and error.sender_fault
    return error


# ---------------------------------------------------------------- JSON


@pytest.mark.parametrize("body", [
    b'{"StreamName": ', b"{'StreamName': 'x'}", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b"null", b"17",
    b"[" * 200_000, b'{"a":' * 200_000,
])
def test_json_body_that_is_not_a_json_object(body: bytes) -> None:
    error = parse_error("kinesis", "CreateStream", "json", request(body))
    assert error.error_code == "SerializationException"


@pytest.mark.parametrize(("doc", "fragment"), [
    ({"StreamName": 7}, "Expected a string"),
    ({"StreamName": "s", "ShardCount": "four"}, "Expected an integer"),
    ({"StreamName": "s", "ShardCount": 1.5}, "Expected an integer"),
    ({"StreamName": "s", "ShardCount": True}, "Expected an integer"),
    ({"StreamName": "s", "Tags": ["a"]}, "Expected a map"),
    ({"StreamName": "s", "StreamModeDetails": "ON_DEMAND"}, "Expected an object"),
])
def test_json_members_of_the_wrong_type(doc: dict[str, Any], fragment: str) -> None:
    error = parse_error("kinesis", "CreateStream", "json", request(json.dumps(doc).encode()))
    assert error.error_code == "SerializationException"
    assert fragment in error.message


@pytest.mark.parametrize(("doc", "fragment"), [
    ({"StreamName": "s", "PartitionKey": "p", "Data": "not base64!"}, "base64"),
    ({"StreamName": "s", "PartitionKey": "p", "Data": 12}, "base64"),
])
def test_json_bad_blob(doc: dict[str, Any], fragment: str) -> None:
    error = parse_error("kinesis", "PutRecord", "json", request(json.dumps(doc).encode()))
    assert fragment in error.message


@pytest.mark.parametrize("stamp", ["yesterday", "NaN", 1e300, -1e300, "Infinity", True, [1]])
def test_json_bad_timestamp(stamp: Any) -> None:
    doc = {"StreamName": "s", "ShardId": "x", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": stamp}
    error = parse_error("kinesis", "GetShardIterator", "json", request(json.dumps(doc).encode()))
    assert error.error_code == "SerializationException"


# ---------------------------------------------------------------- CBOR


@pytest.mark.parametrize("body", [
    b"\xbf\x63abc", b"\xff", b"\x1c", cbor2.dumps([1, 2]), cbor2.dumps("text"), b"\x81" * 10_000,
    cbor2.dumps({"TextList": cbor2.CBORTag(1, "2024-01-01")}),
    cbor2.dumps({"TextList": [cbor2.CBORTag(1, 1.0)], "LanguageCode": "en"}),
    bytes.fromhex("a1") + bytes.fromhex("a1") + b"\x00",  # a map key that is itself a map
])
def test_cbor_body_that_cannot_be_read(body: bytes) -> None:
    error = parse_error("comprehend", "BatchDetectEntities", "smithy-rpc-v2-cbor", request(body))
    assert error.error_code == "SerializationException"


def test_cbor_timestamp_out_of_range() -> None:
    body = cbor2.dumps({"StreamName": "s", "ShardId": "x", "ShardIteratorType": "AT_TIMESTAMP",
                        "Timestamp": cbor2.CBORTag(1, 10**20)})
    error = parse_error("kinesis", "GetShardIterator", "cbor", request(body))
    assert error.error_code == "SerializationException"


# ---------------------------------------------------------------- XML


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<Tagging><TagSet><Tag><Key>&lol9;</Key><Value>v</Value></Tag></TagSet></Tagging>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Tagging><TagSet><Tag><Key>&xxe;</Key><Value>v</Value></Tag></TagSet></Tagging>"""

PLAIN_DTD = b"""<?xml version="1.0"?><!DOCTYPE Tagging SYSTEM "http://example.com/t.dtd">
<Tagging><TagSet/></Tagging>"""


@pytest.mark.parametrize("body", [
    b"<Tagging><TagSet>", b"not xml at all", b"<Tagging><TagSet></Tagging>", b"\xff\xfe<\x00",
    b"<a></a><b></b>", BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DTD,
    b'<?xml version="1.0" encoding="no-such-codec"?><Tagging/>',
])
def test_xml_that_is_malformed_or_unsafe(body: bytes) -> None:
    error = parse_error("s3", "PutBucketTagging", "rest-xml", request(body, "PUT", "/b", "tagging"),
                        {"Bucket": "b"})
    assert error.error_code == "MalformedXML"
    assert "not well-formed" in error.message


def test_xml_scalar_of_the_wrong_type() -> None:
    body = (b"<CompleteMultipartUpload><Part><ETag>e</ETag><PartNumber>one</PartNumber></Part>"
            b"</CompleteMultipartUpload>")
    error = parse_error("s3", "CompleteMultipartUpload", "rest-xml",
                        request(body, "POST", "/b/k", "uploadId=u"), {"Bucket": "b", "Key": "k"})
    assert error.error_code == "SerializationException"


# ---------------------------------------------------------------- query, headers, URI and query string


def test_query_body_that_is_not_utf8() -> None:
    http = request(b"Action=AssumeRole&RoleArn=\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert parse_error("sts", "AssumeRole", "query", http).error_code == "MalformedQueryString"


def test_query_scalar_of_the_wrong_type() -> None:
    http = request(b"Action=AssumeRole&Version=2011-06-15&RoleArn=a&RoleSessionName=b&DurationSeconds=soon",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert parse_error("sts", "AssumeRole", "query", http).error_code == "SerializationException"


def test_rest_header_and_query_of_the_wrong_type() -> None:
    http = request(b"", "GET", "/b/k", "", {"If-Modified-Since": "sometime"})
    assert parse_error("s3", "GetObject", "rest-xml", http, {"Bucket": "b", "Key": "k"}).error_code == \
        "SerializationException"
    http = request(b"", "GET", "/applications/a/jobruns", "maxResults=lots")
    assert parse_error("emr-serverless", "ListJobRuns", "rest-json", http, {"applicationId": "a"}).error_code == \
        "SerializationException"
    http = request(b"", "GET", "/b", "list-type=2&max-keys=9" + "9" * 100)
    assert parse_error("s3", "ListObjectsV2", "rest-xml", http, {"Bucket": "b"}).error_code == \
        "SerializationException"


@pytest.mark.parametrize("header", ["%%%", "bm90IGpzb24=", "W1sxLA=="])
def test_jsonvalue_header_that_is_not_base64_json(header: str) -> None:
    labels = {"botName": "B", "botAlias": "A", "userId": "u"}
    http = request(b"hi", "POST", "/bot/B/alias/A/user/u/content", "",
                   {"x-amz-lex-session-attributes": header, "Content-Type": "text/plain; charset=utf-8"})
    error = parse_error("lex-runtime", "PostContent", "rest-json", http, labels)
    assert error.error_code == "SerializationException"


# ---------------------------------------------------------------- request compression


def test_gzip_body_that_is_not_gzip() -> None:
    for body in (b"plain text", gzip.compress(b'{"Namespace": "a"}')[:-6]):
        http = request(body, headers={"Content-Encoding": "gzip"})
        assert parse_error("cloudwatch", "PutMetricData", "json", http).error_code == "SerializationException"


def test_gzip_bomb_is_refused_before_it_is_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_INFLATED_BODY", 4096)
    body = gzip.compress(b'{"Namespace": "' + b"a" * 100_000 + b'"}')
    with pytest.raises(AwsError) as caught:
        parse_request(operation("cloudwatch", "PutMetricData"), "json",
                      request(body, headers={"Content-Encoding": "gzip"}))
    assert (caught.value.error_code, caught.value.status) == ("RequestEntityTooLargeException", 413)


# ---------------------------------------------------------------- fuzzing: only AwsError, whatever the bytes


SEEDS = {
    "json": ("kinesis", "PutRecords", json.dumps({"StreamName": "s", "Records": [
        {"Data": "AAEC", "PartitionKey": "p", "ExplicitHashKey": "1"}]}).encode(), "/", "", {}),
    "smithy-rpc-v2-cbor": ("comprehend", "BatchDetectEntities",
                           cbor2.dumps({"TextList": ["a", "b"], "LanguageCode": "en"}), "/", "", {}),
    "cbor": ("kinesis", "GetShardIterator", cbor2.dumps({"StreamName": "s", "ShardId": "x",
                                                         "ShardIteratorType": "AT_TIMESTAMP",
                                                         "Timestamp": cbor2.CBORTag(1, 1_700_000_000_000)}),
             "/", "", {}),
    "rest-xml": ("s3", "DeleteObjects", b"<Delete><Object><Key>a</Key><VersionId>1</VersionId></Object>"
                 b"<Quiet>true</Quiet></Delete>", "/b", "delete", {"Bucket": "b"}),
    "rest-json": ("emr-serverless", "StartJobRun", json.dumps({
        "executionRoleArn": "arn:aws:iam::1:role/r", "clientToken": "t",
        "jobDriver": {"sparkSubmit": {"entryPoint": "s3://x"}}, "tags": {"a": "b"}}).encode(),
        "/applications/a/jobruns", "", {"applicationId": "a"}),
    "query": ("sts", "AssumeRole", b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn&RoleSessionName=s&"
              b"PolicyArns.member.1.arn=x&Tags.member.1.Key=k&Tags.member.1.Value=v&DurationSeconds=900",
              "/", "", {}),
}


def _mutations(seed: bytes, rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(300):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 4)):
            kind = rng.randrange(4)
            position = rng.randrange(len(data) + 1)
            if kind == 0 and data:
                data[min(position, len(data) - 1)] = rng.randrange(256)
            elif kind == 1:
                data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif kind == 2:
                del data[position:position + rng.randint(1, 8)]
            else:
                data = data[:position]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("wire", sorted(SEEDS))
def test_mutated_bodies_give_aws_errors_only(wire: str) -> None:
    service, op_name, seed, path, query, labels = SEEDS[wire]
    op = operation(service, op_name)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if wire == "query" else {}
    outcomes = {"parsed": 0, "rejected": 0}
    for body in _mutations(seed, random.Random(f"{wire}-1")):
        try:
            result = parse_request(op, wire, request(body, "POST", path, query, headers), labels)
        except AwsError as error:
            assert error.status == 400, error
            outcomes["rejected"] += 1
        else:
            assert isinstance(result, dict)
            outcomes["parsed"] += 1
    assert outcomes["rejected"] > 0
