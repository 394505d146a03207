"""Records in, S3 objects out, through boto3: buffering hints, compression, key layout and PutRecord limits."""

from __future__ import annotations

import gzip
import io
import os
import re
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.firehose.conftest import MakeStream, read, unique, wait_for_keys

from fogbank.services.firehose.compression import hadoop_unsnappy, snappy_unframe

DEFAULT_KEY = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/(?P<name>[\w.-]+)-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-"
                         r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?P<ext>[.\w]*)$")


def test_size_hint_makes_few_large_objects(firehose: Any, s3: Any, bucket: str, make_stream: MakeStream) -> None:
    name = make_stream(bucket, size_mb=1, interval=60)
    records = [f"{i:07d}".encode().ljust(1999, b"x") + b"\n" for i in range(2000)]
    for start in range(0, len(records), 500):
        out = firehose.put_record_batch(DeliveryStreamName=name,
                                        Records=[{"Data": r} for r in records[start:start + 500]])
        assert out["FailedPutCount"] == 0
    # 4,000,000 bytes with a 1 MiB hint: three full buffers go out at once, the rest waits for the 60 s interval.
    keys = wait_for_keys(s3, bucket, 3, settle=0.5)
    assert len(keys) == 3
    bodies = sorted((read(s3, bucket, k) for k in keys), key=lambda b: b[:7])
    assert all(DEFAULT_KEY.match(k) for k in keys)
    # 524 records of 2,000 bytes fill a MiB; the three objects hold the first 1,572 records in order.
    assert [len(b) for b in bodies] == [524 * 2000] * 3
    assert b"".join(bodies) == b"".join(records[:3 * 524])


def test_interval_flush_delivers_every_record_once_under_the_default_layout(
        firehose: Any, s3: Any, bucket: str, make_stream: MakeStream) -> None:
    name = make_stream(bucket, size_mb=5, interval=1)
    sent = [f"event-{i}\n".encode() for i in range(30)]
    for start in range(0, 30, 10):
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in sent[start:start + 10]])
    record_id = firehose.put_record(DeliveryStreamName=name, Record={"Data": b"last\n"})["RecordId"]
    assert record_id
    keys = wait_for_keys(s3, bucket, 1, settle=1.5)
    assert len(keys) <= 4  # at most one object per call, never one per record
    for key in keys:
        match = DEFAULT_KEY.match(key)
        assert match is not None, key
        assert match.group("name") == name and match.group("ext") == ""
    lines = b"".join(read(s3, bucket, k) for k in keys).splitlines(keepends=True)
    assert sorted(lines) == sorted([*sent, b"last\n"])


@pytest.mark.parametrize(("fmt", "extension"), [("GZIP", ".gz"), ("ZIP", ".zip"), ("Snappy", ".snappy"),
                                                ("HADOOP_SNAPPY", ".snappy")])
def test_compressed_objects_decompress_to_the_exact_input(firehose: Any, s3: Any, bucket: str,
                                                          make_stream: MakeStream, fmt: str, extension: str) -> None:
    name = make_stream(bucket, interval=1, CompressionFormat=fmt)
    chunks = [os.urandom(300) + bytes(3000) for _ in range(100)]  # random and compressible parts
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": c} for c in chunks])
    [key] = wait_for_keys(s3, bucket, 1)
    assert key.endswith(extension)
    body = read(s3, bucket, key)
    if fmt == "GZIP":
        data = gzip.decompress(body)
    elif fmt == "ZIP":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            [entry] = archive.namelist()
            assert key.endswith(entry + ".zip")
            data = archive.read(entry)
    elif fmt == "Snappy":
        assert body.startswith(b"\xff\x06\x00\x00sNaPpY")
        data = snappy_unframe(body)
    else:
        assert int.from_bytes(body[:4], "big") == 256 * 1024
        data = hadoop_unsnappy(body)
    assert data == b"".join(chunks)
    assert len(body) < len(data)


def test_custom_prefixes_time_zone_and_file_extension(firehose: Any, s3: Any, bucket: str,
                                                      make_stream: MakeStream) -> None:
    prefix = "logs/!{timestamp:'year='yyyy'/month='MM}/r=!{firehose:random-string}/"
    name = make_stream(bucket, interval=1, Prefix=prefix,
                       ErrorOutputPrefix="errors/!{firehose:error-output-type}/", FileExtension=".log",
                       CustomTimeZone="Asia/Tokyo")
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"hello"})
    [key] = wait_for_keys(s3, bucket, 1)
    match = re.match(rf"^logs/year=\d{{4}}/month=\d{{2}}/r=[0-9a-f]{{8}}-[0-9a-f]{{2}}/{re.escape(name)}-1-"
                     r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.log$", key)
    assert match is not None, key
    assert read(s3, bucket, key) == b"hello"


def test_prefix_without_expressions_is_followed_by_the_time_layout(firehose: Any, s3: Any, bucket: str,
                                                                    make_stream: MakeStream) -> None:
    name = make_stream(bucket, interval=1, Prefix="plain")
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    [key] = wait_for_keys(s3, bucket, 1)
    assert re.match(rf"^plain\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/{re.escape(name)}-1-", key), key


def test_kms_encryption_and_source_backup(firehose: Any, s3: Any, bucket: str, make_stream: MakeStream) -> None:
    backup_bucket = unique("backup")
    s3.create_bucket(Bucket=backup_bucket)
    key_arn = "arn:aws:kms:us-east-1:000000000000:key/11112222-3333-4444-5555-666677778888"
    name = make_stream(bucket, interval=1, EncryptionConfiguration={"KMSEncryptionConfig": {"AWSKMSKeyARN": key_arn}},
                       ProcessingConfiguration={"Enabled": True, "Processors": [
                           {"Type": "AppendDelimiterToRecord", "Parameters": []}]},
                       S3BackupMode="Enabled",
                       S3BackupConfiguration={"RoleARN": "arn:aws:iam::000000000000:role/b",
                                              "BucketARN": f"arn:aws:s3:::{backup_bucket}", "Prefix": "source/",
                                              "CompressionFormat": "GZIP"})
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"one"}, {"Data": b"two"}])
    [key] = wait_for_keys(s3, bucket, 1)
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn
    assert read(s3, bucket, key) == b"one\ntwo\n"
    [backup] = wait_for_keys(s3, backup_bucket, 1)
    assert backup.startswith("source/") and backup.endswith(".gz")
    assert gzip.decompress(read(s3, backup_bucket, backup)) == b"onetwo"


def test_records_wait_for_a_missing_bucket(firehose: Any, s3: Any, make_stream: MakeStream) -> None:
    bucket = unique("later")
    name = make_stream(bucket, interval=1)
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"kept"})
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    [key] = wait_for_keys(s3, bucket, 1)
    assert read(s3, bucket, key) == b"kept"


def test_put_limits_and_errors(firehose: Any, bucket: str, make_stream: MakeStream) -> None:
    name = make_stream(bucket, interval=60)
    with pytest.raises(ClientError) as excinfo:
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}] * 501)
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "less than or equal to 500" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_001})
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"y" * 1_000_000}] * 5)
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "4 MiB" in excinfo.value.response["Error"]["Message"]
    out = firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"z" * 1_000_000}] * 4)
    assert out["FailedPutCount"] == 0 and len({r["RecordId"] for r in out["RequestResponses"]}) == 4
    with pytest.raises(ClientError) as excinfo:
        firehose.put_record(DeliveryStreamName=unique("missing"), Record={"Data": b"x"})
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
