"""Real service models, real clients: boto3 on one end, fogbank's parser and serializer on the other.

A loopback client sends every request through botocore's real serializer, request customizations and
signer; its HTTP layer is fogbank (router, parser, serializer) instead of a socket, and the response
goes back through botocore's real parser. So each call checks both directions at once: fogbank must
read exactly the params the client was given, and the client must read exactly the output fogbank
was given.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.session
import cbor2
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, create_request_object
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from fogbank.errors import AwsError, ServiceError
from fogbank.protocol.http import BytesBody, Headers, HttpRequest, HttpResponse
from fogbank.protocol.parser import parse_request
from fogbank.protocol.routing import Router
from fogbank.protocol.serializer import WireReady, serialize_error, serialize_response, to_document
from fogbank.protocol.specs import ServiceSpec

ENDPOINT = "http://localhost:4566"
REQUEST_ID = "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"
Reply: TypeAlias = dict[str, Any] | AwsError | Callable[[dict[str, Any]], dict[str, Any]]


def when(text: str) -> datetime:
    """A UTC instant with millisecond precision (what every AWS timestamp format can carry)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---------------------------------------------------------------- the loopback transport


def to_http_request(prepared: AWSPreparedRequest) -> HttpRequest:
    parts = urlsplit(prepared.url)
    body = prepared.body
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    else:
        data = body.read()
    headers = Headers((k, v.decode("latin-1") if isinstance(v, bytes) else str(v))
                      for k, v in prepared.headers.items())
    return HttpRequest(prepared.method, parts.path or "/", parts.query, headers, BytesBody(data), len(data))


class RawBody(io.BytesIO):
    """What botocore reads a response body from: both a stream and a file."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def body_of(response: HttpResponse) -> bytes:
    body = response.body
    return bytes(body) if isinstance(body, (bytes, bytearray)) else b"".join(body)


def to_aws_response(url: str, response: HttpResponse) -> AWSResponse:
    body = body_of(response)
    headers = list(response.headers)
    if not any(k.lower() == "content-length" for k, _ in headers):
        headers.append(("content-length", str(len(body))))
    return AWSResponse(url, response.status, headers, RawBody(bytes(body)))


def route_request(spec: ServiceSpec, request: HttpRequest) -> tuple[OperationModel, str, dict[str, str]]:
    if spec.protocol == "ec2":  # fogbank serves no EC2-protocol service; its routing does not know one
        action = dict(request.query).get("Action") or _form(request).get("Action", "")
        return spec.model.operation_model(action), "ec2", {}
    route = Router([spec]).route(request)
    return route.operation, route.wire_protocol, route.labels


def _form(request: HttpRequest) -> dict[str, str]:
    return dict(parse_qsl(request.read_body().decode()))


class Loopback:
    """A boto3 client whose transport is fogbank's protocol layer."""

    def __init__(self, service: str, **config: Any) -> None:
        session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                        region_name="us-east-1")
        options: dict[str, Any] = {"retries": {"total_max_attempts": 1},
                                   "request_checksum_calculation": "when_required",
                                   "response_checksum_validation": "when_required", **config}
        self.client: Any = session.client(service, endpoint_url=ENDPOINT, config=Config(**options))
        self.spec = ServiceSpec.load(service)
        self.reply: Reply = {}
        self.parsed: dict[str, Any] = {}
        self.wire = ""
        self.http: HttpRequest | None = None
        self.response: HttpResponse | None = None
        self.client.meta.events.register("before-send", self._send)

    def _send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        http = to_http_request(request)
        self.http = http
        op, wire, labels = route_request(self.spec, http)
        self.wire = wire
        metadata = self.spec.model.metadata
        try:
            self.parsed = parse_request(op, wire, http, labels)
            reply = self.reply
            if isinstance(reply, AwsError):
                raise reply
            output = reply(self.parsed) if callable(reply) else reply
            response = serialize_response(op, wire, output, REQUEST_ID, metadata.get("jsonVersion"))
        except AwsError as error:
            response = serialize_error(error, wire, REQUEST_ID, http.method, metadata.get("jsonVersion"),
                                       "awsQueryCompatible" in metadata, metadata.get("xmlNamespace"),
                                       operation=op)
        self.response = response
        return to_aws_response(request.url, response)

    def call(self, operation: str, params: dict[str, Any], reply: Reply | None = None) -> dict[str, Any]:
        self.reply = {} if reply is None else reply
        method = getattr(self.client, botocore.xform_name(operation))
        result: dict[str, Any] = method(**params)
        result.pop("ResponseMetadata", None)
        return result


def read_streams(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: read_streams(v) for k, v in value.items()}
    if isinstance(value, list):
        return [read_streams(v) for v in value]
    if hasattr(value, "read"):
        return value.read()
    return value


def assert_params(parsed: dict[str, Any], given: dict[str, Any], computed: frozenset[str] = frozenset()) -> None:
    """fogbank read what the user passed; anything more is only what the client computes itself."""
    parsed = read_streams(parsed)
    assert {k: parsed.get(k) for k in given} == given
    assert set(parsed) - set(given) <= computed, set(parsed) - set(given)


def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


# ---------------------------------------------------------------- S3 (rest-xml)


@pytest.fixture(scope="module")
def s3() -> Loopback:
    return Loopback("s3", s3={"addressing_style": "path"})


S3_COMPUTED = frozenset({"ContentMD5", "ChecksumAlgorithm", "ChecksumCRC32", "ContentLength"})


def test_s3_put_object_headers_metadata_and_greedy_key(s3: Loopback) -> None:
    params = {"Bucket": "data-lake", "Key": "raw/2024/01/ü ber#1+?.csv", "Body": b"a,b\n1,2\n",
              "ContentType": "text/csv", "CacheControl": "no-cache", "Metadata": {"source": "sensor 7",
                                                                                  "batch": "42"},
              "Expires": when("2030-01-02T03:04:05"), "StorageClass": "STANDARD_IA",
              "Tagging": "team=ml&tier=raw", "ObjectLockLegalHoldStatus": "ON"}
    out = s3.call("PutObject", params, {"ETag": '"9b2cf535f27731c974343645a3985328"', "VersionId": "v1",
                                        "ServerSideEncryption": "AES256", "BucketKeyEnabled": True})
    assert out == {"ETag": '"9b2cf535f27731c974343645a3985328"', "VersionId": "v1",
                   "ServerSideEncryption": "AES256", "BucketKeyEnabled": True}
    assert s3.wire == "rest-xml"
    assert_params(s3.parsed, params, S3_COMPUTED)


def test_s3_get_object_streams_body_and_reads_headers_back(s3: Loopback) -> None:
    params = {"Bucket": "data-lake", "Key": "a/b.bin", "Range": "bytes=0-3", "VersionId": "3/L4kqtJl",
              "IfModifiedSince": when("2023-06-01T00:00:00"), "ResponseContentType": "application/x-test",
              "PartNumber": 2}
    reply = {"Body": b"\x00\x01\xfe\xff", "ContentLength": 4, "ContentRange": "bytes 0-3/10",
             "LastModified": when("2024-02-29T12:34:56"), "ETag": '"abc"', "Metadata": {"source": "x"},
             "ContentType": "application/x-test", "AcceptRanges": "bytes", "TagCount": 3,
             "Expires": when("2031-05-06T07:08:09"), "DeleteMarker": False, "MissingMeta": 1}
    out = s3.call("GetObject", params, reply)
    assert out.pop("Body").read() == b"\x00\x01\xfe\xff"
    reply.pop("Body")
    assert out == {**reply, "ExpiresString": "Tue, 06 May 2031 07:08:09 GMT"}
    assert s3.response is not None and s3.response.status == 200
    assert_params(s3.parsed, params)


def test_s3_header_values_cannot_split_the_response(s3: Loopback) -> None:
    reply = {"Body": b"", "Metadata": {"city": "Zürich", "note": "a\r\nSet-Cookie: x=1"},
             "ContentDisposition": 'attachment; filename="r\u00e9sum\u00e9.pdf"'}
    out = s3.call("GetObject", {"Bucket": "b", "Key": "k"}, reply)
    assert out["Metadata"] == {"city": "=?UTF-8?B?WsO8cmljaA==?=", "note": "a  Set-Cookie: x=1"}
    assert out["ContentDisposition"] == "=?UTF-8?B?YXR0YWNobWVudDsgZmlsZW5hbWU9InLDqXN1bcOpLnBkZiI=?="
    assert s3.response is not None
    for name, value in s3.response.headers:
        value.encode("ascii")
        assert "\r" not in value and "\n" not in value and name != "set-cookie"


def test_s3_list_objects_v2_flattened_xml(s3: Loopback) -> None:
    params = {"Bucket": "data-lake", "Prefix": "raw/", "Delimiter": "/", "MaxKeys": 2, "FetchOwner": True,
              "ContinuationToken": "tok/en=="}
    reply = {"IsTruncated": True, "Name": "data-lake", "Prefix": "raw/", "Delimiter": "/", "MaxKeys": 2,
             "KeyCount": 3, "NextContinuationToken": "next<&>",
             "Contents": [{"Key": "raw/a & b.csv", "LastModified": when("2024-01-01T00:00:00.123"),
                           "ETag": '"e1"', "Size": 10, "StorageClass": "STANDARD",
                           "Owner": {"ID": "abc", "DisplayName": "me"}, "ChecksumAlgorithm": ["CRC32"]},
                          {"Key": "raw/c.csv", "LastModified": when("2024-01-02T00:00:00"), "ETag": '"e2"',
                           "Size": 0, "StorageClass": "GLACIER"}],
             "CommonPrefixes": [{"Prefix": "raw/2024/"}, {"Prefix": "raw/2025/"}]}
    out = s3.call("ListObjectsV2", params, reply)
    assert out == reply
    assert s3.response is not None
    body = body_of(s3.response)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3')
    assert body.count(b"<Contents>") == 2 and b"<CommonPrefixes><Prefix>raw/2024/</Prefix>" in body
    assert_params(s3.parsed, params, frozenset({"EncodingType"}))  # botocore asks for url-encoded keys by itself


def test_s3_xml_payloads_namespaces_and_attributes(s3: Loopback) -> None:
    create = {"Bucket": "eu-bucket", "ACL": "private",
              "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1",
                                            "Tags": [{"Key": "k", "Value": "v"}]}}
    out = s3.call("CreateBucket", create, {"Location": "/eu-bucket"})
    assert out == {"Location": "/eu-bucket"}
    assert_params(s3.parsed, create)

    tagging = {"Bucket": "eu-bucket", "Tagging": {"TagSet": [{"Key": "a", "Value": "1"},
                                                             {"Key": "b<>", "Value": "x&y"}]}}
    s3.call("PutBucketTagging", tagging)
    assert_params(s3.parsed, tagging, S3_COMPUTED)

    acl = {"Owner": {"ID": "owner-id", "DisplayName": "owner"},
           "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "owner-id", "DisplayName": "owner"},
                       "Permission": "FULL_CONTROL"},
                      {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                       "Permission": "READ"}]}
    assert s3.call("GetBucketAcl", {"Bucket": "eu-bucket"}, acl) == acl
    s3.call("PutBucketAcl", {"Bucket": "eu-bucket", "AccessControlPolicy": acl})
    assert s3.parsed["AccessControlPolicy"] == acl

    assert s3.call("GetBucketLocation", {"Bucket": "eu-bucket"},
                   {"LocationConstraint": "eu-west-1"}) == {"LocationConstraint": "eu-west-1"}


def test_s3_delete_objects_and_multipart_lists(s3: Loopback) -> None:
    delete = {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y", "VersionId": "2"}],
                                        "Quiet": False}}
    reply = {"Deleted": [{"Key": "x"}, {"Key": "y", "VersionId": "2", "DeleteMarker": True}],
             "Errors": [{"Key": "z", "Code": "AccessDenied", "Message": "no"}]}
    assert s3.call("DeleteObjects", delete, reply) == reply
    assert_params(s3.parsed, delete, S3_COMPUTED)

    complete = {"Bucket": "b", "Key": "big", "UploadId": "up-1",
                "MultipartUpload": {"Parts": [{"ETag": '"p1"', "PartNumber": 1},
                                              {"ETag": '"p2"', "PartNumber": 2}]}}
    reply = {"Location": "http://b/big", "Bucket": "b", "Key": "big", "ETag": '"m-2"'}
    assert s3.call("CompleteMultipartUpload", complete, reply) == reply
    assert_params(s3.parsed, complete)


def test_s3_errors(s3: Loopback) -> None:
    with pytest.raises(ClientError) as caught:
        s3.call("GetObject", {"Bucket": "b", "Key": "missing"},
                ServiceError("NoSuchKey", "The specified key does not exist.", 404, Key="missing"))
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"], error["Key"]) == ("NoSuchKey", "The specified key does not exist.",
                                                                "missing")
    assert caught.value.response["ResponseMetadata"]["RequestId"] == REQUEST_ID
    assert isinstance(caught.value, s3.client.exceptions.NoSuchKey)
    with pytest.raises(ClientError) as caught:
        s3.call("HeadObject", {"Bucket": "b", "Key": "missing"}, ServiceError("NoSuchKey", "gone", 404))
    assert caught.value.response["Error"]["Code"] == "404"  # HEAD responses carry no body, as on AWS
    assert s3.response is not None and s3.response.body == b""


# ---------------------------------------------------------------- STS (query)


@pytest.fixture(scope="module")
def sts() -> Loopback:
    return Loopback("sts")


def test_sts_assume_role_lists_of_structures(sts: Loopback) -> None:
    params = {"RoleArn": "arn:aws:iam::123456789012:role/etl", "RoleSessionName": "s-1",
              "DurationSeconds": 3600, "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/A"},
                                                      {"arn": "arn:aws:iam::aws:policy/B"}],
              "Tags": [{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "dev & test"}],
              "TransitiveTagKeys": ["team"], "Policy": '{"Version":"2012-10-17"}',
              "ProvidedContexts": [{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter",
                                    "ContextAssertion": "assertion-1"}]}
    reply = {"Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s/k+",
                             "SessionToken": "tok<en>", "Expiration": when("2030-01-01T01:00:00")},
             "AssumedRoleUser": {"AssumedRoleId": "AROA:s-1", "Arn": "arn:aws:sts::123456789012:assumed-role/etl/s-1"},
             "PackedPolicySize": 6, "SourceIdentity": "me"}
    assert sts.call("AssumeRole", params, reply) == reply
    assert sts.wire == "query"
    assert_params(sts.parsed, params)
    assert sts.response is not None
    body = body_of(sts.response)
    assert body.startswith(b'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                           b"<AssumeRoleResult>")
    assert f"<RequestId>{REQUEST_ID}</RequestId>".encode() in body


def test_sts_errors_use_the_query_error_code(sts: Loopback) -> None:
    with pytest.raises(sts.client.exceptions.MalformedPolicyDocumentException) as caught:
        sts.call("AssumeRole", {"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "s1"},
                 ServiceError("MalformedPolicyDocumentException", "bad policy"))
    assert caught.value.response["Error"] == {"Type": "Sender", "Code": "MalformedPolicyDocument",
                                              "Message": "bad policy"}
    assert caught.value.response["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_sts_get_caller_identity(sts: Loopback) -> None:
    reply = {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/u"}
    assert sts.call("GetCallerIdentity", {}, reply) == reply
    assert sts.parsed == {}


# ---------------------------------------------------------------- AWS JSON 1.1: Kinesis, Firehose, Glue, ...


@pytest.fixture(scope="module")
def kinesis() -> Loopback:
    return Loopback("kinesis")


def test_kinesis_blobs_and_epoch_timestamps(kinesis: Loopback) -> None:
    records = {"StreamName": "clicks", "Records": [
        {"Data": b"\x00\xff binary", "PartitionKey": "p1"},
        {"Data": b'{"a": 1}', "PartitionKey": "p2", "ExplicitHashKey": "12345"}]}
    reply = {"FailedRecordCount": 1, "EncryptionType": "NONE", "Records": [
        {"SequenceNumber": "4959", "ShardId": "shardId-000000000000"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}]}
    assert kinesis.call("PutRecords", records, reply) == reply
    assert kinesis.wire == "json"
    assert_params(kinesis.parsed, records)

    reply = {"Records": [{"SequenceNumber": "1", "PartitionKey": "p",
                          "ApproximateArrivalTimestamp": when("2024-03-01T10:11:12.345"), "Data": b"\x01\x02",
                          "EncryptionType": "KMS"}],
             "NextShardIterator": "AAA=", "MillisBehindLatest": 0,
             "ChildShards": [{"ShardId": "s-2", "ParentShards": ["s-0", "s-1"],
                              "HashKeyRange": {"StartingHashKey": "0",
                                               "EndingHashKey": "340282366920938463463374607431768211455"}}]}
    assert kinesis.call("GetRecords", {"ShardIterator": "AAA=", "Limit": 10}, reply) == reply
    assert kinesis.response is not None
    assert b'"ApproximateArrivalTimestamp":1709287872.345' in body_of(kinesis.response)

    iterator = {"StreamName": "clicks", "ShardId": "s-0", "ShardIteratorType": "AT_TIMESTAMP",
                "Timestamp": when("2024-03-01T10:11:12.5")}
    kinesis.call("GetShardIterator", iterator, {"ShardIterator": "it"})
    assert_params(kinesis.parsed, iterator)


def test_error_fields_of_the_wrong_type_still_go_out(loopbacks: dict[str, Loopback]) -> None:
    bedrock = loopbacks["bedrock-runtime"]
    with pytest.raises(bedrock.client.exceptions.ModelErrorException) as caught:
        bedrock.call("InvokeModel", {"modelId": "m", "body": b"{}"},
                     ServiceError("ModelErrorException", "model failed", 424, originalStatusCode="five hundred",
                                  resourceName="m"))
    assert caught.value.response["Error"]["Message"] == "model failed"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "originalStatusCode" not in caught.value.response  # left out rather than sent mistyped
    assert caught.value.response["resourceName"] == "m"
    with pytest.raises(bedrock.client.exceptions.ModelErrorException) as caught:
        bedrock.call("InvokeModel", {"modelId": "m", "body": b"{}"},
                     ServiceError("ModelErrorException", "model failed", 424, originalStatusCode=503))
    assert caught.value.response["originalStatusCode"] == 503


def test_kinesis_errors(kinesis: Loopback) -> None:
    with pytest.raises(kinesis.client.exceptions.ResourceNotFoundException) as caught:
        kinesis.call("DescribeStream", {"StreamName": "nope"},
                     ServiceError("ResourceNotFoundException", "Stream nope under account 1 not found."))
    assert caught.value.response["Error"] == {"Code": "ResourceNotFoundException",
                                              "Message": "Stream nope under account 1 not found."}
    assert kinesis.response is not None
    assert dict(kinesis.response.headers)["content-type"] == "application/x-amz-json-1.1"


def test_firehose_nested_configuration(loopbacks: dict[str, Loopback]) -> None:
    firehose = loopbacks["firehose"]
    params = {"DeliveryStreamName": "to-lake", "DeliveryStreamType": "DirectPut",
              "ExtendedS3DestinationConfiguration": {
                  "RoleARN": "arn:aws:iam::1:role/f", "BucketARN": "arn:aws:s3:::lake",
                  "Prefix": "year=!{timestamp:yyyy}/", "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60},
                  "CompressionFormat": "GZIP",
                  "ProcessingConfiguration": {"Enabled": True, "Processors": [
                      {"Type": "MetadataExtraction", "Parameters": [
                          {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{id:.id}"},
                          {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]},
                  "DynamicPartitioningConfiguration": {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}}},
              "Tags": [{"Key": "a", "Value": "b"}]}
    assert firehose.call("CreateDeliveryStream", params, {"DeliveryStreamARN": "arn:f"}) == \
        {"DeliveryStreamARN": "arn:f"}
    assert_params(firehose.parsed, params)
    batch = {"DeliveryStreamName": "to-lake", "Records": [{"Data": b"line1\n"}, {"Data": b""}]}
    reply = {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": "r1"}, {"RecordId": "r2"}]}
    assert firehose.call("PutRecordBatch", batch, reply) == reply
    assert_params(firehose.parsed, batch)


def test_glue_maps_lists_and_timestamps(loopbacks: dict[str, Loopback]) -> None:
    glue = loopbacks["glue"]
    table = {"Name": "events", "StorageDescriptor": {
        "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "payload", "Type": "string", "Comment": "raw"}],
        "Location": "s3://lake/events/", "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                      "Parameters": {"paths": "id,payload"}},
        "Compressed": False, "NumberOfBuckets": -1, "SortColumns": [{"Column": "id", "SortOrder": 1}]},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}], "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "has encoded": "ü"},
        "LastAccessTime": when("2024-05-05T05:05:05")}
    params = {"DatabaseName": "lake", "TableInput": table}
    glue.call("CreateTable", params)
    assert_params(glue.parsed, params)
    reply = {"Table": {**table, "DatabaseName": "lake", "CreateTime": when("2024-05-05T05:05:05.5"),
                       "UpdateTime": when("2024-05-06T00:00:00"), "IsRegisteredWithLakeFormation": False,
                       "VersionId": "1"}}
    assert glue.call("GetTable", {"DatabaseName": "lake", "Name": "events"}, reply) == reply
    with pytest.raises(glue.client.exceptions.EntityNotFoundException) as caught:
        glue.call("GetTable", {"DatabaseName": "lake", "Name": "nope"},
                  ServiceError("EntityNotFoundException", "Table nope not found."))
    assert caught.value.response["Error"]["Message"] == "Table nope not found."


def test_athena_idempotency_token_and_result_set(loopbacks: dict[str, Loopback]) -> None:
    athena = loopbacks["athena"]
    params = {"QueryString": "SELECT 1", "QueryExecutionContext": {"Database": "lake", "Catalog": "AwsDataCatalog"},
              "ResultConfiguration": {"OutputLocation": "s3://results/"}, "WorkGroup": "primary",
              "ExecutionParameters": ["'a'", "1"]}
    assert athena.call("StartQueryExecution", params, {"QueryExecutionId": "q-1"}) == {"QueryExecutionId": "q-1"}
    assert_params(athena.parsed, params, frozenset({"ClientRequestToken"}))
    assert len(athena.parsed["ClientRequestToken"]) >= 32  # botocore fills the idempotency token
    reply = {"UpdateCount": 0, "ResultSet": {
        "Rows": [{"Data": [{"VarCharValue": "_col0"}]}, {"Data": [{"VarCharValue": "1"}, {}]}],
        "ResultSetMetadata": {"ColumnInfo": [{"Name": "_col0", "Type": "integer", "Precision": 10, "Scale": 0,
                                              "Nullable": "UNKNOWN", "CaseSensitive": False}]}}}
    assert athena.call("GetQueryResults", {"QueryExecutionId": "q-1", "MaxResults": 100}, reply) == reply
    # Rows built in their wire form already go out as they are, unchecked, and read back the same.
    rows = WireReady(reply["ResultSet"]["Rows"])
    wire_ready = {**reply, "ResultSet": {**reply["ResultSet"], "Rows": rows}}
    shape = athena.spec.model.operation_model("GetQueryResults").output_shape
    assert to_document(wire_ready, shape)["ResultSet"]["Rows"] is rows
    assert athena.call("GetQueryResults", {"QueryExecutionId": "q-1", "MaxResults": 100}, wire_ready) == reply
    reply = {"QueryExecution": {"QueryExecutionId": "q-1", "Query": "SELECT 1", "StatementType": "DML",
                                "Status": {"State": "SUCCEEDED", "SubmissionDateTime": when("2024-01-01T00:00:01.25"),
                                           "CompletionDateTime": when("2024-01-01T00:00:02")},
                                "Statistics": {"EngineExecutionTimeInMillis": 812, "DataScannedInBytes": 0}}}
    assert athena.call("GetQueryExecution", {"QueryExecutionId": "q-1"}, reply) == reply


def test_textract_blobs_floats_and_geometry(loopbacks: dict[str, Loopback]) -> None:
    textract = loopbacks["textract"]
    image = bytes(range(256)) * 4
    params = {"Document": {"Bytes": image}, "FeatureTypes": ["TABLES", "FORMS"],
              "QueriesConfig": {"Queries": [{"Text": "What is the total?", "Alias": "TOTAL", "Pages": ["1"]}]}}
    block = {"BlockType": "LINE", "Confidence": 99.52880859375, "Text": "Total 12.50", "Id": "b-1",
             "Geometry": {"BoundingBox": {"Width": 0.25, "Height": 0.03125, "Left": 0.1, "Top": 0.9},
                          "Polygon": [{"X": 0.1, "Y": 0.9}, {"X": 0.35, "Y": 0.9}]},
             "Relationships": [{"Type": "CHILD", "Ids": ["w-1", "w-2"]}], "Page": 1}
    reply = {"DocumentMetadata": {"Pages": 1}, "Blocks": [block], "AnalyzeDocumentModelVersion": "1.0"}
    assert textract.call("AnalyzeDocument", params, reply) == reply
    assert_params(textract.parsed, params)


def test_redshift_data_unions_in_both_directions(loopbacks: dict[str, Loopback]) -> None:
    rsd = loopbacks["redshift-data"]
    params = {"Sql": "select * from t where id = :id", "Database": "dev", "WorkgroupName": "wg1",
              "Parameters": [{"name": "id", "value": "7"}], "WithEvent": True, "StatementName": "q"}
    reply = {"Id": "s-1", "Database": "dev", "WorkgroupName": "wg1", "CreatedAt": when("2024-01-01T00:00:00")}
    assert rsd.call("ExecuteStatement", params, reply) == reply
    assert_params(rsd.parsed, params, frozenset({"ClientToken"}))
    reply = {"Records": [[{"longValue": 7}, {"stringValue": "x"}, {"isNull": True}, {"doubleValue": 1.5},
                          {"booleanValue": False}, {"blobValue": b"\x00\x01"}]],
             "ColumnMetadata": [{"name": "id", "typeName": "int8", "nullable": 1, "isSigned": True}],
             "TotalNumRows": 1}
    assert rsd.call("GetStatementResult", {"Id": "s-1"}, reply) == reply


# ---------------------------------------------------------------- Comprehend over AWS JSON and over Smithy RPC v2 CBOR


SENTIMENT = {"Sentiment": "POSITIVE",
             "SentimentScore": {"Positive": 0.9876, "Negative": 0.0012, "Neutral": 0.0100, "Mixed": 0.0012}}


def test_comprehend_json(loopbacks: dict[str, Loopback]) -> None:
    comprehend = loopbacks["comprehend"]
    params = {"Text": "I love this product. Ünïcode ✓", "LanguageCode": "en"}
    assert comprehend.call("DetectSentiment", params, SENTIMENT) == SENTIMENT
    assert_params(comprehend.parsed, params)
    with pytest.raises(comprehend.client.exceptions.TextSizeLimitExceededException) as caught:
        comprehend.call("DetectSentiment", params, ServiceError("TextSizeLimitExceededException", "too long"))
    assert caught.value.response["Error"]["Message"] == "too long"


class CborClient:
    """botocore's own Smithy RPC v2 CBOR serializer and parser, for a model whose clients speak CBOR."""

    def __init__(self, service: str) -> None:
        self.spec = ServiceSpec.load(service)
        self.serializer = create_serializer("smithy-rpc-v2-cbor")
        self.parser = create_parser("smithy-rpc-v2-cbor")

    def request(self, operation: str, params: dict[str, Any]) -> HttpRequest:
        op = self.spec.model.operation_model(operation)
        request_dict = self.serializer.serialize_to_request(params, op)
        request_dict["url_path"] = request_dict.get("url_path", "/")
        prepared = create_request_object({**request_dict, "url": ENDPOINT + request_dict["url_path"],
                                          "context": {}}).prepare()
        prepared.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/{self.spec.signing_name}/aws4_request, "
            "SignedHeaders=host, Signature=0")
        return to_http_request(prepared)

    def parse(self, operation: str, response: HttpResponse) -> dict[str, Any]:
        op = self.spec.model.operation_model(operation)
        view = {"status_code": response.status, "headers": dict(response.headers), "body": body_of(response),
                "context": {"operation_name": operation}}
        parsed: dict[str, Any] = self.parser.parse(view, op.output_shape)
        parsed.pop("ResponseMetadata", None)
        return parsed


def test_comprehend_smithy_rpc_v2_cbor() -> None:
    cbor = CborClient("comprehend")
    params = {"TextList": ["Seattle is rainy.", "Ünïcode ✓"], "LanguageCode": "en"}
    request = cbor.request("BatchDetectEntities", params)
    route = Router([cbor.spec]).route(request)
    assert (route.operation.name, route.wire_protocol) == ("BatchDetectEntities", "smithy-rpc-v2-cbor")
    assert parse_request(route.operation, route.wire_protocol, request) == params
    reply = {"ResultList": [{"Index": 0, "Entities": [{"Score": 0.998, "Type": "LOCATION", "Text": "Seattle",
                                                       "BeginOffset": 0, "EndOffset": 7}]}],
             "ErrorList": [{"Index": 1, "ErrorCode": "InternalServerException", "ErrorMessage": "x"}]}
    response = serialize_response(route.operation, route.wire_protocol, reply, REQUEST_ID)
    assert dict(response.headers)["content-type"] == "application/cbor"
    assert dict(response.headers)["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor.parse("BatchDetectEntities", response) == reply
    error = serialize_error(ServiceError("InvalidRequestException", "bad", 400, Reason="INVALID_DOCUMENT"),
                            "smithy-rpc-v2-cbor", REQUEST_ID, operation=route.operation)
    parsed = cbor.parse("BatchDetectEntities", error)
    assert parsed["Error"] == {"Code": "InvalidRequestException", "Message": "bad"}
    modeled = cbor.parser.parse({"status_code": 400, "headers": dict(error.headers), "body": error.body,
                                 "context": {}}, cbor.spec.model.shape_for("InvalidRequestException"))
    assert modeled["Reason"] == "INVALID_DOCUMENT" and modeled["Message"] == "bad"


def test_cloudwatch_cbor_timestamps_and_query_compatible_errors() -> None:
    cbor = CborClient("cloudwatch")
    params = {"Namespace": "App", "MetricData": [
        {"MetricName": "Latency", "Timestamp": when("2024-01-01T00:00:00.250"), "Value": 12.5, "Unit": "Milliseconds",
         "Dimensions": [{"Name": "Service", "Value": "api"}], "Values": [1.0, 2.5], "Counts": [3.0, 1.0],
         "StorageResolution": 1}]}
    request = cbor.request("PutMetricData", params)
    route = Router([cbor.spec]).route(request)
    assert parse_request(route.operation, route.wire_protocol, request) == params
    reply = {"MetricDataResults": [{"Id": "m1", "Label": "Latency", "StatusCode": "Complete",
                                    "Timestamps": [when("2024-01-01T00:01:00"), when("2024-01-01T00:00:00.5")],
                                    "Values": [1.5, 2.0]}], "Messages": []}
    response = serialize_response(cbor.spec.model.operation_model("GetMetricData"), "smithy-rpc-v2-cbor",
                                  reply, REQUEST_ID)
    assert cbor.parse("GetMetricData", response) == reply
    error = serialize_error(ServiceError("InvalidParameterValueException", "bad unit"), "smithy-rpc-v2-cbor",
                            REQUEST_ID, operation=route.operation)
    assert dict(error.headers)["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert cbor.parse("PutMetricData", error)["Error"]["Code"] == "InvalidParameterValue"


def test_cloudwatch_gzip_request_compression() -> None:
    cloudwatch = Loopback("cloudwatch", request_min_compression_size_bytes=128)
    params = {"Namespace": "App", "MetricData": [
        {"MetricName": f"m{i}", "Value": float(i), "Timestamp": when("2024-01-01T00:00:00"),
         "Dimensions": [{"Name": "Host", "Value": f"host-{i}"}]} for i in range(50)]}
    cloudwatch.call("PutMetricData", params)
    assert cloudwatch.http is not None and cloudwatch.http.headers.get("content-encoding") == "gzip"
    assert_params(cloudwatch.parsed, params)


def test_s3_keeps_gzip_content_encoding_as_object_content(s3: Loopback) -> None:
    gzipped = bytes.fromhex("1f8b08000000000000ff4b4c4a06004f8e5b3903000000")
    params = {"Bucket": "b", "Key": "k.gz", "Body": gzipped, "ContentEncoding": "gzip"}
    s3.call("PutObject", params, {"ETag": '"e"'})
    assert_params(s3.parsed, params, S3_COMPUTED)


def test_cloudwatch_json_query_compatible_error() -> None:
    cloudwatch = Loopback("cloudwatch")
    with pytest.raises(cloudwatch.client.exceptions.InvalidParameterValueException) as caught:
        cloudwatch.call("PutMetricData", {"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1.0}]},
                        ServiceError("InvalidParameterValueException", "bad value"))
    assert cloudwatch.wire == "json"
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert caught.value.response["Error"]["Message"] == "bad value"


# ---------------------------------------------------------------- rest-json: Bedrock runtime, EMR Serverless


def test_bedrock_invoke_model_blob_payload_and_labels(loopbacks: dict[str, Loopback]) -> None:
    bedrock = loopbacks["bedrock-runtime"]
    params = {"modelId": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3:0",
              "body": b'{"prompt": "hi"}', "contentType": "application/json", "accept": "application/json",
              "trace": "ENABLED"}
    reply = {"body": b'{"completion": "hello"}', "contentType": "application/json"}
    out = bedrock.call("InvokeModel", params, reply)
    assert out.pop("body").read() == reply["body"]
    assert out == {"contentType": "application/json"}
    assert bedrock.wire == "rest-json"
    assert_params(bedrock.parsed, params)


def test_bedrock_converse_documents_and_unions(loopbacks: dict[str, Loopback]) -> None:
    bedrock = loopbacks["bedrock-runtime"]
    params = {"modelId": "m", "messages": [{"role": "user", "content": [
        {"text": "What is 2+2?"}, {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}]}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.5, "topP": 0.9, "stopSequences": ["\n\n"]},
        "toolConfig": {"tools": [{"toolSpec": {"name": "calc", "inputSchema": {"json": {
            "type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"], "n": 1.5, "z": None}}}}]},
        "additionalModelRequestFields": {"top_k": 5, "nested": [True, {"a": "b"}]}}
    reply = {"output": {"message": {"role": "assistant", "content": [
        {"text": "4"}, {"toolUse": {"toolUseId": "t1", "name": "calc", "input": {"x": 4}}}]}},
        "stopReason": "end_turn", "usage": {"inputTokens": 10, "outputTokens": 1, "totalTokens": 11},
        "metrics": {"latencyMs": 120}, "additionalModelResponseFields": [1, "two", {"three": 3.0}]}
    assert bedrock.call("Converse", params, reply) == reply
    assert_params(bedrock.parsed, params)


def test_emr_serverless_query_strings_and_http_status_errors(loopbacks: dict[str, Loopback]) -> None:
    emr = loopbacks["emr-serverless"]
    params = {"applicationId": "00f1", "states": ["RUNNING", "FAILED"], "maxResults": 5,
              "createdAtAfter": when("2024-01-01T00:00:00"), "createdAtBefore": when("2024-12-31T23:59:59.999"),
              "nextToken": "a b/c?d=e&f"}
    reply = {"jobRuns": [{"applicationId": "00f1", "id": "j1", "arn": "arn:j1", "createdBy": "me",
                          "createdAt": when("2024-06-01T00:00:00.5"), "updatedAt": when("2024-06-01T00:10:00"),
                          "executionRole": "arn:r", "state": "RUNNING", "stateDetails": "",
                          "releaseLabel": "emr-7.0.0", "type": "SPARK"}]}
    assert emr.call("ListJobRuns", params, reply) == reply
    assert_params(emr.parsed, params)
    start = {"applicationId": "00f1", "executionRoleArn": "arn:aws:iam::123456789012:role/emr", "name": "etl",
             "jobDriver": {"sparkSubmit": {"entryPoint": "s3://code/job.py", "entryPointArguments": ["--day", "1"],
                                           "sparkSubmitParameters": "--conf spark.executor.cores=2"}},
             "configurationOverrides": {"applicationConfiguration": [
                 {"classification": "spark-defaults", "properties": {"spark.driver.memory": "2g"}}]},
             "tags": {"team": "data"}}
    assert emr.call("StartJobRun", start, {"applicationId": "00f1", "jobRunId": "j2", "arn": "arn:j2"}) == \
        {"applicationId": "00f1", "jobRunId": "j2", "arn": "arn:j2"}
    assert_params(emr.parsed, start, frozenset({"clientToken"}))
    with pytest.raises(emr.client.exceptions.ResourceNotFoundException) as caught:
        emr.call("GetApplication", {"applicationId": "nope"},
                 ServiceError("ResourceNotFoundException", "Application nope does not exist", 404))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert caught.value.response["Error"]["Message"] == "Application nope does not exist"
    assert emr.response is not None and dict(emr.response.headers)["x-amzn-errortype"] == "ResourceNotFoundException"


# ---------------------------------------------------------------- EC2 protocol


def test_ec2_protocol_filters_and_errors() -> None:
    ec2 = Loopback("ec2")
    params = {"Filters": [{"Name": "tag:team", "Values": ["data", "ml"]}, {"Name": "instance-state-name",
                                                                          "Values": ["running"]}],
              "InstanceIds": ["i-1", "i-2"], "MaxResults": 5}
    reply = {"Reservations": [{"ReservationId": "r-1", "OwnerId": "123", "Instances": [
        {"InstanceId": "i-1", "InstanceType": "t3.micro", "LaunchTime": when("2024-01-01T00:00:00"),
         "Tags": [{"Key": "team", "Value": "data"}], "State": {"Code": 16, "Name": "running"},
         "EbsOptimized": False}]}]}
    assert ec2.call("DescribeInstances", params, reply) == reply
    assert_params(ec2.parsed, params)
    with pytest.raises(ClientError) as caught:
        ec2.call("DescribeInstances", {},
                 ServiceError("InvalidInstanceID.NotFound", "The instance ID 'i-9' does not exist"))
    assert caught.value.response["Error"] == {"Code": "InvalidInstanceID.NotFound",
                                              "Message": "The instance ID 'i-9' does not exist"}
    assert caught.value.response["ResponseMetadata"]["RequestId"] == REQUEST_ID


# ---------------------------------------------------------------- rest-xml outside S3: Route 53


def test_route53_rest_xml_documents_and_error_response() -> None:
    route53 = Loopback("route53")
    reply = {"HostedZones": [{"Id": "/hostedzone/Z1", "Name": "example.com.", "CallerReference": "r-1",
                              "Config": {"Comment": "lab", "PrivateZone": False}, "ResourceRecordSetCount": 2}],
             "Marker": "", "IsTruncated": False, "MaxItems": "100"}
    assert route53.call("ListHostedZones", {"MaxItems": "100"}, reply) == reply
    assert route53.wire == "rest-xml"
    with pytest.raises(route53.client.exceptions.NoSuchHostedZone) as caught:
        route53.call("GetHostedZone", {"Id": "Z9"},
                     ServiceError("NoSuchHostedZone", "No hosted zone found with ID: Z9", 404))
    assert route53.parsed == {"Id": "Z9"}
    assert caught.value.response["Error"]["Message"] == "No hosted zone found with ID: Z9"
    assert route53.response is not None
    assert body_of(route53.response).startswith(b"<ErrorResponse")


# ---------------------------------------------------------------- AWS JSON carried as CBOR (the Java SDKs' Kinesis)


def _epoch_tag(value: Any, *_: Any) -> tuple[str, Any]:
    return ("epoch", value)


def test_kinesis_over_aws_cbor_counts_epochs_in_milliseconds() -> None:
    spec = ServiceSpec.load("kinesis")
    body = cbor2.dumps({"StreamName": "clicks", "ShardId": "shardId-000000000000",
                        "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor2.CBORTag(1, 1709287872345)})
    headers = Headers([("Content-Type", "application/x-amz-cbor-1.1"),
                       ("X-Amz-Target", "Kinesis_20131202.GetShardIterator"),
                       ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/"
                                         "aws4_request, SignedHeaders=host, Signature=0")])
    http = HttpRequest("POST", "/", "", headers, BytesBody(body), len(body))
    route = Router([spec]).route(http)
    assert route.wire_protocol == "cbor"
    assert parse_request(route.operation, "cbor", http) == {
        "StreamName": "clicks", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": when("2024-03-01T10:11:12.345")}

    get_records = spec.model.operation_model("GetRecords")
    reply = {"Records": [{"SequenceNumber": "1", "PartitionKey": "p", "Data": b"\x01\x02",
                          "ApproximateArrivalTimestamp": when("2024-03-01T10:11:12.345")}],
             "MillisBehindLatest": 5}
    response = serialize_response(get_records, "cbor", reply, REQUEST_ID, "1.1")
    assert dict(response.headers)["content-type"] == "application/x-amz-cbor-1.1"
    decoded = cbor2.loads(body_of(response), semantic_decoders={1: _epoch_tag})
    assert decoded == {"Records": [{"SequenceNumber": "1", "PartitionKey": "p", "Data": b"\x01\x02",
                                    "ApproximateArrivalTimestamp": ("epoch", 1709287872345)}],
                       "MillisBehindLatest": 5}

    error = serialize_error(ServiceError("ResourceNotFoundException", "Stream clicks not found."), "cbor",
                            REQUEST_ID, operation=get_records)
    assert error.status == 400
    assert dict(error.headers)["content-type"] == "application/x-amz-cbor-1.1"
    assert cbor2.loads(body_of(error)) == {"__type": "ResourceNotFoundException",
                                           "message": "Stream clicks not found."}


# ---------------------------------------------------------------- shared loopback clients


@pytest.fixture(scope="module")
def loopbacks() -> dict[str, Loopback]:
    names = ("firehose", "glue", "athena", "textract", "redshift-data", "comprehend", "bedrock-runtime",
             "emr-serverless")
    return {name: Loopback(name) for name in names}
