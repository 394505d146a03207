"""The server as a whole: health and status, clean shutdown, error answers, and bodies clients really send."""

from __future__ import annotations

import subprocess
import sys
import zlib
from base64 import b64encode
from typing import Any

import boto3
import botocore.session
import pytest
import requests
from botocore.exceptions import ClientError
from tests.support import FogbankServer

KINESIS_JSON = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams",
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, "
                                 "SignedHeaders=host, Signature=00"}


def test_health_and_status_command(fogbank: FogbankServer) -> None:
    health = requests.get(f"{fogbank.endpoint_url}/_fogbank/health", timeout=10).json()
    assert health["data_dir"] == str(fogbank.data_dir.resolve())
    assert health["services"]["s3"]["state"] == "running"
    assert {"s3", "sts", "kinesis"} <= set(health["services"])
    result = subprocess.run([sys.executable, "-m", "fogbank", "status", "--port", str(fogbank.port)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert f"http://127.0.0.1:{fogbank.port}" in result.stdout
    assert "s3" in result.stdout and "running" in result.stdout


def test_status_of_a_stopped_server_fails_clearly(tmp_path: Any) -> None:
    from tests.support import free_port

    result = subprocess.run([sys.executable, "-m", "fogbank", "status", "--port", str(free_port())],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "not answering" in result.stderr


def test_sigterm_shuts_down_cleanly(own_server: FogbankServer) -> None:
    own_server.start()
    own_server.client("s3").create_bucket(Bucket="before-stop")
    process = own_server.process
    assert process is not None
    own_server.stop()
    assert process.returncode == 0, own_server.log_path.read_text()[-2000:]
    own_server.start()
    assert [b["Name"] for b in own_server.client("s3").list_buckets()["Buckets"]] == ["before-stop"]


def test_unimplemented_operation_names_service_and_operation(fogbank: FogbankServer) -> None:
    kinesis = fogbank.client("kinesis")
    with pytest.raises(ClientError) as exc:
        kinesis.describe_account_settings()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    message = exc.value.response["Error"]["Message"]
    assert "DescribeAccountSettings" in message and "kinesis" in message


def test_unknown_operation_of_a_known_service(fogbank: FogbankServer) -> None:
    response = requests.post(fogbank.endpoint_url, data=b"{}", timeout=10,
                             headers={**KINESIS_JSON, "X-Amz-Target": "Kinesis_20131202.NoSuchThing"})
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2", b"\xff\xfe", b'{"Limit": "many"}'])
def test_malformed_json_is_a_clear_400(fogbank: FogbankServer, body: bytes) -> None:
    response = requests.post(fogbank.endpoint_url, data=body, headers=KINESIS_JSON, timeout=10)
    assert response.status_code == 400
    assert response.json()["__type"] == "SerializationException"


def test_xml_entity_expansion_is_refused(fogbank: FogbankServer, s3: Any, bucket: str) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b"<Tagging><TagSet><Tag><Key>&b;</Key><Value>v</Value></Tag></TagSet></Tagging>")
    response = requests.put(f"{fogbank.endpoint_url}/{bucket}?tagging", data=bomb, timeout=10)
    assert response.status_code == 400 and "<Code>MalformedXML</Code>" in response.text
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert exc.value.response["Error"]["Code"] == "NoSuchTagSet"


def test_keys_are_keys_never_paths(s3: Any, bucket: str) -> None:
    keys = ["/leading-slash", "double//slash", "../../../../etc/passwd", "a/./b", "trailing/", "k" * 1024,
            "é" * 512]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode()[:64])
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()[:64]
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == set(keys)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert exc.value.response["Error"]["Code"] == "KeyTooLongError"


@pytest.mark.parametrize("name", ["..", "a..b", "UPPER", "x", "-start", "192.168.1.1"])
def test_bucket_names_that_are_paths_are_refused(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert exc.value.response["Error"]["Code"] == "InvalidBucketName"


@pytest.mark.parametrize("name", ["etc%2Fpasswd", "..%2F..%2Fetc", "%2E%2E"])
def test_encoded_path_bucket_names_are_refused(fogbank: FogbankServer, name: str) -> None:
    response = requests.put(f"{fogbank.endpoint_url}/{name}", timeout=10)
    assert response.status_code == 400 and "<Code>InvalidBucketName</Code>" in response.text


class _Captured(Exception):
    """Stops botocore right after it built the request."""


def _capture_chunked_put(bucket: str, key: str, body: bytes) -> tuple[dict[str, str], bytes, str]:
    """What boto3 sends for an aws-chunked upload with a trailing checksum (it does so over https)."""
    session = botocore.session.get_session()
    client = session.create_client("s3", region_name="us-east-1", endpoint_url="https://s3.example.com",
                                   aws_access_key_id="test", aws_secret_access_key="test")
    captured: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> None:
        captured["headers"] = dict(request.headers.items())
        raw = request.body
        captured["body"] = raw.read() if hasattr(raw, "read") else bytes(raw)
        captured["url"] = request.url
        raise _Captured

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Captured):
        client.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="CRC32")
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in captured["headers"].items()}
    return headers, captured["body"], captured["url"]


def test_aws_chunked_upload_with_trailing_checksum(fogbank: FogbankServer, s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 9000
    headers, body, url = _capture_chunked_put(bucket, "chunked.bin", data)
    assert "aws-chunked" in headers.get("Content-Encoding", "")
    path = url.split("s3.example.com", 1)[1]
    assert headers.pop("Transfer-Encoding") == "chunked"  # requests adds its own for a generator body
    for name in ("host", "Expect"):
        headers.pop(name, None)

    def pieces(raw: bytes) -> Any:
        for start in range(0, len(raw), 100_000):
            yield raw[start:start + 100_000]

    response = requests.put(f"{fogbank.endpoint_url}{path}", data=pieces(body), headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    crc = b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert response.headers["x-amz-checksum-crc32"] == crc
    stored = s3.get_object(Bucket=bucket, Key="chunked.bin", ChecksumMode="ENABLED")
    assert stored["Body"].read() == data
    assert stored["ChecksumCRC32"] == crc
    assert "ContentEncoding" not in stored or stored["ContentEncoding"] != "aws-chunked"

    tampered = body.replace(crc.encode(), b64encode(b"\0\0\0\0"))
    response = requests.put(f"{fogbank.endpoint_url}{path}", data=pieces(tampered), headers=headers, timeout=30)
    assert response.status_code == 400 and "BadDigest" in response.text
    assert s3.get_object(Bucket=bucket, Key="chunked.bin")["Body"].read() == data


def test_sts_identity_follows_the_access_key(fogbank: FogbankServer) -> None:
    default = fogbank.client("sts").get_caller_identity()
    assert default["Account"] == "000000000000"
    own = fogbank.client("sts", access_key="123456789012").get_caller_identity()
    assert own["Account"] == "123456789012"
    role = fogbank.client("sts").assume_role(RoleArn="arn:aws:iam::210987654321:role/etl", RoleSessionName="job")
    creds = role["Credentials"]
    session_client = boto3.client("sts", endpoint_url=fogbank.endpoint_url, region_name="us-east-1",
                                  aws_access_key_id=creds["AccessKeyId"],
                                  aws_secret_access_key=creds["SecretAccessKey"],
                                  aws_session_token=creds["SessionToken"])
    identity = session_client.get_caller_identity()
    assert identity["Account"] == "210987654321"
    assert identity["Arn"] == "arn:aws:sts::210987654321:assumed-role/etl/job"
