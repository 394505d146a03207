"""boto3 against a real fogbank server: single-object operations."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_put_get_head_with_metadata(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"hello fogbank", ContentType="text/plain",
                        Metadata={"Author": "me"}, CacheControl="max-age=5", ContentDisposition="inline",
                        Tagging="a=1&b=2")
    assert put["ETag"] == f'"{hashlib.md5(b"hello fogbank").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="docs/readme.txt")
    assert got["Body"].read() == b"hello fogbank"
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"author": "me"}
    assert got["CacheControl"] == "max-age=5" and got["ContentDisposition"] == "inline"
    assert got["ContentLength"] == 13 and got["TagCount"] == 2 and got["ETag"] == put["ETag"]
    assert got["LastModified"].tzinfo is not None
    head = s3.head_object(Bucket=bucket, Key="docs/readme.txt")
    assert head["ContentLength"] == 13 and head["ETag"] == put["ETag"]


def test_empty_object_and_special_keys(s3: Any, bucket: str) -> None:
    keys = ["empty", "with space", "ünïcödé/ключ", "a+b=c&d", "dots/../../x", "percent%20sign", "tab\tkey"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode() if key != "empty" else b"")
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == (key.encode() if key != "empty" else b"")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(keys)


def test_missing_objects_and_buckets(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="absent")
    assert _code(exc) == "NoSuchKey" and exc.value.response["Error"]["Key"] == "absent"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="absent")
    assert _status(exc) == 404
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="no-such-bucket-here", Key="k")
    assert _code(exc) == "NoSuchBucket"


def test_ranges(s3: Any, bucket: str) -> None:
    data = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="k", Body=data)
    got = s3.get_object(Bucket=bucket, Key="k", Range="bytes=100-199")
    assert got["Body"].read() == data[100:200] and got["ContentRange"] == f"bytes 100-199/{len(data)}"
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="k", Range="bytes=-5")["Body"].read() == data[-5:]
    assert s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={len(data) - 3}-")["Body"].read() == data[-3:]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={len(data)}-")
    assert _code(exc) == "InvalidRange" and _status(exc) == 416


def test_conditional_reads(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert _status(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"abc"')
    assert _status(exc) == 412 and _code(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k", IfModifiedSince=datetime.now(UTC) + timedelta(hours=1))
    assert _status(exc) == 304
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"v"


def test_conditional_writes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="once", Body=b"2", IfNoneMatch="*")
    assert _status(exc) == 412
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"1"


def test_checksums(s3: Any, bucket: str) -> None:
    data = b"checksummed payload"
    put = s3.put_object(Bucket=bucket, Key="sha", Body=data, ChecksumAlgorithm="SHA256")
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert put["ChecksumSHA256"] == sha
    got = s3.get_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha and got["Body"].read() == data
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=bucket, Key="crc", Body=data, ChecksumCRC32=crc)
    assert put["ChecksumCRC32"] == crc
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="crc", Body=b"other", ChecksumCRC32=crc)
    assert _code(exc) == "BadDigest"
    assert "CRC32 you specified did not match" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"x", ContentMD5=base64.b64encode(b"0" * 16).decode())
    assert _code(exc) == "BadDigest"


def test_streaming_upload_and_download(s3: Any, bucket: str) -> None:
    data = os.urandom(9 * 1024 * 1024 + 123)
    s3.upload_fileobj(io.BytesIO(data), bucket, "stream")
    out = io.BytesIO()
    s3.download_fileobj(bucket, "stream", out)
    assert out.getvalue() == data


def test_delete_and_batch_delete(s3: Any, bucket: str) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k0")
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1, 4)]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["k1", "k2", "k3"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k4"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_copy_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/x", Metadata={"a": "1"})
    out = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert out["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"copy me" and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/x"
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="text/y")
    got = s3.head_object(Bucket=bucket, Key="dst")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "text/y"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert _code(exc) == "InvalidRequest"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/src", CopySourceIfMatch='"nope"')
    assert _status(exc) == 412
    # A managed copy (s3transfer) of a key with special characters.
    s3.put_object(Bucket=bucket, Key="spaced name+plus", Body=b"special")
    s3.copy({"Bucket": bucket, "Key": "spaced name+plus"}, bucket, "copied")
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == b"special"


def test_object_tagging_and_attributes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "env", "Value": "dev"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "env", "Value": "dev"}]
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    attrs = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ETag", "ObjectSize"])
    assert attrs["ObjectSize"] == 5 and attrs["ETag"] == hashlib.md5(b"12345").hexdigest()


def test_presigned_urls(s3: Any, bucket: str) -> None:
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned"})
    assert requests.put(put_url, data=b"via presigned url", timeout=30).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned"})
    response = requests.get(get_url, timeout=30)
    assert response.status_code == 200 and response.content == b"via presigned url"
