"""boto3 against a real fogbank server: multipart uploads, by hand and through s3transfer."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

MIB = 1024 * 1024


def test_manual_multipart_upload(s3: Any, bucket: str) -> None:
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"last bit"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", ContentType="application/octet-stream",
                                        Metadata={"kind": "test"})
    upload_id = upload["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["UploadId"] for u in listed["Uploads"]] == [upload_id]
    parts = []
    for number, data in enumerate(parts_data, start=1):
        etag = s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload_id, PartNumber=number,
                              Body=data)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    page = s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2] and page["IsTruncated"] is True
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    digest = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest()
    assert done["ETag"] == f'"{digest}-3"'
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    assert got["Body"].read() == b"".join(parts_data) and got["Metadata"] == {"kind": "test"}
    part = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=3)
    assert part["Body"].read() == b"last bit" and part["PartsCount"] == 3
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_multipart_errors(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"tiny")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"tiny")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert exc.value.response["Error"]["Code"] == "EntityTooSmall"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert exc.value.response["Error"]["Code"] == "InvalidPartOrder"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"ffffffffffffffffffffffffffffffff"'}]})
    assert exc.value.response["Error"]["Code"] == "InvalidPart"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=3, Body=b"x")
    assert exc.value.response["Error"]["Code"] == "NoSuchUpload"


def test_transfer_manager_parallel_upload(s3: Any, bucket: str) -> None:
    data = os.urandom(23 * MIB + 17)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=6)
    s3.upload_fileobj(io.BytesIO(data), bucket, "parallel.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="parallel.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-5"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "parallel.bin", out, Config=config)
    assert out.getvalue() == data


def test_upload_part_copy(s3: Any, bucket: str) -> None:
    source = os.urandom(7 * MIB)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "source"},
                                CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    second = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=2,
                                 CopySource={"Bucket": bucket, "Key": "source"},
                                 CopySourceRange=f"bytes={5 * MIB}-{7 * MIB - 1}")
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=upload_id, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source


def test_multipart_with_full_object_checksum(s3: Any, bucket: str) -> None:
    data = [os.urandom(5 * MIB), os.urandom(3000)]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="crc", ChecksumAlgorithm="CRC32",
                                           ChecksumType="FULL_OBJECT")["UploadId"]
    parts = []
    for number, chunk in enumerate(data, start=1):
        out = s3.upload_part(Bucket=bucket, Key="crc", UploadId=upload_id, PartNumber=number, Body=chunk,
                             ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": number, "ETag": out["ETag"], "ChecksumCRC32": out["ChecksumCRC32"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="crc", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts}, ChecksumType="FULL_OBJECT")
    assert done["ChecksumType"] == "FULL_OBJECT"
    # botocore validates the full-object CRC32 of the response body against the returned header.
    got = s3.get_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(data) and got["ChecksumCRC32"] == done["ChecksumCRC32"]
