"""The S3 provider called directly with input dicts: objects, buckets, durability and concurrency."""

from __future__ import annotations

import base64
import hashlib
import io
import sqlite3
import threading
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from tests.services.s3.direct_support import Direct, TrailerBody, make_ctx

from fogbank.errors import AccessDenied
from fogbank.services.s3 import errors


def _blob_files(d: Direct) -> list[str]:
    return list(d.p.store.blobs.ids())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _crc32(data: bytes) -> str:
    return _b64(zlib.crc32(data).to_bytes(4, "big"))


# -- buckets ----------------------------------------------------------------------------------------------

def test_create_bucket_rules(direct: Direct) -> None:
    assert direct.p.create_bucket(make_ctx(), {"Bucket": "my-bucket"})["Location"] == "/my-bucket"
    # us-east-1 answers a repeated create by the owner with success, as S3 does.
    direct.p.create_bucket(make_ctx(), {"Bucket": "my-bucket"})
    with pytest.raises(errors.BucketAlreadyExists) as exc:
        direct.p.create_bucket(make_ctx(account="111111111111"), {"Bucket": "my-bucket"})
    assert exc.value.fields["BucketName"] == "my-bucket" and exc.value.status == 409
    for bad in ("ab", "Upper", "a..b", "-start", "192.168.1.1", "xn--bucket", "bucket-s3alias", "a" * 64):
        with pytest.raises(errors.InvalidBucketName):
            direct.p.create_bucket(make_ctx(), {"Bucket": bad})


def test_create_bucket_in_other_region(direct: Direct) -> None:
    eu = make_ctx(region="eu-west-1")
    with pytest.raises(errors.IllegalLocationConstraintException):
        direct.p.create_bucket(eu, {"Bucket": "eu-bucket"})
    with pytest.raises(errors.IllegalLocationConstraintException):
        direct.p.create_bucket(make_ctx(), {"Bucket": "eu-bucket",
                                            "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
    direct.p.create_bucket(eu, {"Bucket": "eu-bucket",
                                "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
    with pytest.raises(errors.BucketAlreadyOwnedByYou):
        direct.p.create_bucket(eu, {"Bucket": "eu-bucket",
                                    "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
    assert direct.p.get_bucket_location(make_ctx(), {"Bucket": "eu-bucket"}) == {"LocationConstraint": "eu-west-1"}
    assert direct.p.head_bucket(make_ctx(), {"Bucket": "eu-bucket"})["BucketRegion"] == "eu-west-1"


def test_list_buckets_pages_and_filters(direct: Direct) -> None:
    for name in ("alpha-1", "alpha-2", "beta-1", "gamma-1"):
        direct.bucket(name)
    direct.p.create_bucket(make_ctx(account="222222222222"), {"Bucket": "someone-elses"})
    everything = direct.p.list_buckets(make_ctx(), {})
    assert [b["Name"] for b in everything["Buckets"]] == ["alpha-1", "alpha-2", "beta-1", "gamma-1"]
    assert "ContinuationToken" not in everything
    first = direct.p.list_buckets(make_ctx(), {"MaxBuckets": 2})
    assert [b["Name"] for b in first["Buckets"]] == ["alpha-1", "alpha-2"]
    second = direct.p.list_buckets(make_ctx(), {"MaxBuckets": 2, "ContinuationToken": first["ContinuationToken"]})
    assert [b["Name"] for b in second["Buckets"]] == ["beta-1", "gamma-1"]
    assert "ContinuationToken" not in second
    assert [b["Name"] for b in direct.p.list_buckets(make_ctx(), {"Prefix": "alpha"})["Buckets"]] == [
        "alpha-1", "alpha-2"]
    assert direct.p.list_buckets(make_ctx(), {"BucketRegion": "eu-west-1"})["Buckets"] == []


def test_delete_bucket_requires_empty(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k")
    with pytest.raises(errors.BucketNotEmpty):
        direct.p.delete_bucket(make_ctx(), {"Bucket": bucket})
    direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k"})
    direct.p.delete_bucket(make_ctx(), {"Bucket": bucket})
    with pytest.raises(errors.NoSuchBucket):
        direct.p.head_bucket(make_ctx(), {"Bucket": bucket})
    assert direct.p.health() == {"state": "running", "buckets": 0}


def test_other_accounts_are_denied_unless_the_policy_allows(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"secret")
    other = make_ctx(account="333333333333")
    with pytest.raises(AccessDenied):
        direct.p.get_object(other, {"Bucket": bucket, "Key": "k"})
    with pytest.raises(AccessDenied):
        direct.p.head_bucket(make_ctx(), {"Bucket": bucket, "ExpectedBucketOwner": "333333333333"})
    direct.p.delete_public_access_block(make_ctx(), {"Bucket": bucket})
    policy = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
              '"arn:aws:iam::333333333333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-one/*"}]}')
    direct.p.put_bucket_policy(make_ctx(), {"Bucket": bucket, "Policy": policy})
    assert direct.get(bucket, "k", ctx=other)["Body"] == b"secret"


# -- put and get ------------------------------------------------------------------------------------------

def test_put_get_head_round_trip_with_headers(direct: Direct) -> None:
    bucket = direct.bucket()
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    put = direct.put(bucket, "dir/file.txt", b"hello world", ContentType="text/plain", ContentEncoding="gzip",
                     ContentDisposition="attachment", ContentLanguage="en", CacheControl="max-age=60",
                     Expires=expires, Metadata={"Color": "blue"}, StorageClass="STANDARD_IA")
    assert put["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    assert "VersionId" not in put
    got = direct.get(bucket, "dir/file.txt")
    assert got["Body"] == b"hello world" and got["ContentLength"] == 11
    assert got["ContentType"] == "text/plain" and got["ContentEncoding"] == "gzip"
    assert got["ContentDisposition"] == "attachment" and got["ContentLanguage"] == "en"
    assert got["CacheControl"] == "max-age=60" and got["Expires"] == expires
    assert got["Metadata"] == {"color": "blue"} and got["StorageClass"] == "STANDARD_IA"
    assert got["ETag"] == put["ETag"] and got["LastModified"].tzinfo is not None
    head = direct.p.head_object(make_ctx(), {"Bucket": bucket, "Key": "dir/file.txt"})
    assert "Body" not in head and head["ContentLength"] == 11 and head["ETag"] == put["ETag"]


def test_default_content_type_and_overrides(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"x")
    assert direct.get(bucket, "k")["ContentType"] == "binary/octet-stream"
    got = direct.get(bucket, "k", ResponseContentType="image/png", ResponseContentDisposition="inline",
                     ResponseCacheControl="no-cache")
    assert got["ContentType"] == "image/png" and got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-cache"


def test_missing_key_and_bucket(direct: Direct) -> None:
    bucket = direct.bucket()
    with pytest.raises(errors.NoSuchKey) as exc:
        direct.get(bucket, "nope")
    assert exc.value.fields == {"Key": "nope"} and exc.value.status == 404
    with pytest.raises(errors.NoSuchBucket):
        direct.get("no-such-bucket", "k")
    with pytest.raises(errors.KeyTooLongError):
        direct.put(bucket, "k" * 1025)
    with pytest.raises(errors.MetadataTooLarge):
        direct.put(bucket, "k", Metadata={"big": "v" * 2100})


def test_small_objects_are_inline_and_large_ones_are_blobs(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "small", b"s" * 65536)
    assert _blob_files(direct) == []
    direct.put(bucket, "large", b"L" * 65537)
    assert len(_blob_files(direct)) == 1
    assert direct.get(bucket, "small")["Body"] == b"s" * 65536
    assert direct.get(bucket, "large")["Body"] == b"L" * 65537
    direct.put(bucket, "large", b"replaced")
    assert _blob_files(direct) == []
    assert direct.get(bucket, "large")["Body"] == b"replaced"


def test_overwrite_and_delete_remove_old_blobs(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"1" * 100_000)
    direct.put(bucket, "k", b"2" * 100_000)
    assert len(_blob_files(direct)) == 1
    direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k"})
    assert _blob_files(direct) == []


@pytest.mark.parametrize(("header", "expected", "content_range"), [
    ("bytes=0-4", b"01234", "bytes 0-4/10"),
    ("bytes=5-", b"56789", "bytes 5-9/10"),
    ("bytes=-3", b"789", "bytes 7-9/10"),
    ("bytes=8-100", b"89", "bytes 8-9/10"),
    ("bytes=-50", b"0123456789", "bytes 0-9/10"),
])
def test_ranges(direct: Direct, header: str, expected: bytes, content_range: str) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"0123456789")
    ctx = make_ctx()
    got = direct.get(bucket, "k", ctx=ctx, Range=header)
    assert got["Body"] == expected and got["ContentRange"] == content_range
    assert got["ContentLength"] == len(expected) and ctx.status_override == 206


def test_ranges_across_blob_boundaries(direct: Direct) -> None:
    bucket = direct.bucket()
    data = bytes(range(256)) * 4096  # 1 MiB, stored as a blob
    direct.put(bucket, "k", data)
    got = direct.get(bucket, "k", Range="bytes=1000-900000")
    assert got["Body"] == data[1000:900001]


def test_unsatisfiable_and_ignored_ranges(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"0123456789")
    with pytest.raises(errors.InvalidRange) as exc:
        direct.get(bucket, "k", Range="bytes=10-")
    assert exc.value.status == 416 and exc.value.fields["ActualObjectSize"] == 10
    ctx = make_ctx()
    got = direct.get(bucket, "k", ctx=ctx, Range="bytes=0-1,3-4")
    assert got["Body"] == b"0123456789" and ctx.status_override is None


def test_read_preconditions_follow_rfc_precedence(direct: Direct) -> None:
    bucket = direct.bucket()
    etag = direct.put(bucket, "k", b"v")["ETag"]
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    assert direct.get(bucket, "k", IfMatch=etag)["Body"] == b"v"
    assert direct.get(bucket, "k", IfMatch="*")["Body"] == b"v"
    with pytest.raises(errors.PreconditionFailed):
        direct.get(bucket, "k", IfMatch='"other"')
    with pytest.raises(errors.PreconditionFailed):
        direct.get(bucket, "k", IfUnmodifiedSince=past)
    # If-Match that holds wins over a failing If-Unmodified-Since.
    assert direct.get(bucket, "k", IfMatch=etag, IfUnmodifiedSince=past)["Body"] == b"v"
    ctx = make_ctx()
    with pytest.raises(errors.NotModified):
        direct.get(bucket, "k", ctx=ctx, IfNoneMatch=etag)
    assert ("ETag", etag) in ctx.extra_headers
    with pytest.raises(errors.NotModified):
        direct.get(bucket, "k", IfModifiedSince=future)
    assert direct.get(bucket, "k", IfModifiedSince=past)["Body"] == b"v"
    # If-None-Match that fails (ETag matches) gives 304 even when If-Modified-Since holds.
    with pytest.raises(errors.NotModified):
        direct.get(bucket, "k", IfNoneMatch=etag, IfModifiedSince=past)
    assert direct.get(bucket, "k", IfNoneMatch='"other"', IfModifiedSince=future)["Body"] == b"v"


def test_conditional_writes(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"one", IfNoneMatch="*")
    with pytest.raises(errors.PreconditionFailed):
        direct.put(bucket, "k", b"two", IfNoneMatch="*")
    etag = f'"{hashlib.md5(b"one").hexdigest()}"'
    with pytest.raises(errors.PreconditionFailed):
        direct.put(bucket, "k", b"two", IfMatch='"nope"')
    direct.put(bucket, "k", b"two", IfMatch=etag)
    assert direct.get(bucket, "k")["Body"] == b"two"
    with pytest.raises(errors.NoSuchKey):
        direct.put(bucket, "absent", b"x", IfMatch=etag)


# -- integrity --------------------------------------------------------------------------------------------

def test_content_md5(direct: Direct) -> None:
    bucket = direct.bucket()
    good = _b64(hashlib.md5(b"payload").digest())
    direct.put(bucket, "k", b"payload", ContentMD5=good)
    with pytest.raises(errors.BadDigest):
        direct.put(bucket, "k", b"tampered", ContentMD5=good)
    with pytest.raises(errors.InvalidDigest):
        direct.put(bucket, "k", b"payload", ContentMD5="not base64!")
    assert direct.get(bucket, "k")["Body"] == b"payload"


def test_rejected_large_upload_leaves_no_blob(direct: Direct) -> None:
    bucket = direct.bucket()
    data = b"z" * 200_000
    with pytest.raises(errors.BadDigest):
        direct.put(bucket, "k", data, ContentMD5=_b64(hashlib.md5(b"other").digest()))
    assert _blob_files(direct) == []
    assert list((direct.data_dir / "s3" / "blobs" / "tmp").iterdir()) == []
    with pytest.raises(errors.NoSuchKey):
        direct.get(bucket, "k")


def test_checksum_headers_are_verified_stored_and_returned(direct: Direct) -> None:
    bucket = direct.bucket()
    put = direct.put(bucket, "k", b"abc", ChecksumCRC32=_crc32(b"abc"))
    assert put["ChecksumCRC32"] == _crc32(b"abc") and put["ChecksumType"] == "FULL_OBJECT"
    with pytest.raises(errors.BadDigest) as exc:
        direct.put(bucket, "k", b"abd", ChecksumCRC32=_crc32(b"abc"))
    assert exc.value.message == "The CRC32 you specified did not match the calculated checksum."
    sha = _b64(hashlib.sha256(b"abc").digest())
    direct.put(bucket, "s", b"abc", ChecksumSHA256=sha)
    assert direct.get(bucket, "s", ChecksumMode="ENABLED")["ChecksumSHA256"] == sha
    assert "ChecksumSHA256" not in direct.get(bucket, "s")
    assert "ChecksumSHA256" not in direct.get(bucket, "s", ChecksumMode="ENABLED", Range="bytes=0-0")
    with pytest.raises(errors.InvalidRequest):
        direct.put(bucket, "k", b"abc", ChecksumCRC32=_crc32(b"abc"), ChecksumSHA256=sha)


def test_trailing_checksums_are_verified(direct: Direct) -> None:
    bucket = direct.bucket()
    headers = {"x-amz-trailer": "x-amz-checksum-crc32"}
    body = TrailerBody(b"streamed", {"x-amz-checksum-crc32": _crc32(b"streamed")})
    out = direct.p.put_object(make_ctx(headers=headers), {"Bucket": bucket, "Key": "k", "Body": body})
    assert out["ChecksumCRC32"] == _crc32(b"streamed")
    bad = TrailerBody(b"streamed", {"x-amz-checksum-crc32": _crc32(b"different")})
    with pytest.raises(errors.BadDigest):
        direct.p.put_object(make_ctx(headers=headers), {"Bucket": bucket, "Key": "k", "Body": bad})
    assert direct.get(bucket, "k", ChecksumMode="ENABLED")["ChecksumCRC32"] == _crc32(b"streamed")


def test_short_body_is_incomplete(direct: Direct) -> None:
    bucket = direct.bucket()
    with pytest.raises(errors.IncompleteBody):
        direct.put(bucket, "k", b"short", ContentLength=10)


# -- deletes ----------------------------------------------------------------------------------------------

def test_delete_objects_batch(direct: Direct) -> None:
    bucket = direct.bucket()
    for key in ("a", "b", "c"):
        direct.put(bucket, key)
    out = direct.p.delete_objects(make_ctx(), {"Bucket": bucket, "Delete": {
        "Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "missing"}]}})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "missing"]
    assert "Errors" not in out
    quiet = direct.p.delete_objects(make_ctx(), {"Bucket": bucket, "Delete": {"Objects": [{"Key": "c"}],
                                                                              "Quiet": True}})
    assert quiet == {}
    listed = direct.p.list_objects_v2(make_ctx(), {"Bucket": bucket})
    assert listed["KeyCount"] == 0
    with pytest.raises(errors.MalformedXML):
        direct.p.delete_objects(make_ctx(), {"Bucket": bucket, "Delete": {"Objects": [{"Key": str(i)}
                                                                                      for i in range(1001)]}})
    failed = direct.p.delete_objects(make_ctx(), {"Bucket": bucket, "Delete": {
        "Objects": [{"Key": "x", "VersionId": "not a version"}]}})
    assert failed["Errors"][0]["Code"] == "InvalidArgument"


def test_conditional_delete(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"abc")
    with pytest.raises(errors.PreconditionFailed):
        direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k", "IfMatch": '"nope"'})
    with pytest.raises(errors.PreconditionFailed):
        direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k", "IfMatchSize": 4})
    direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k", "IfMatchSize": 3})
    with pytest.raises(errors.NoSuchKey):
        direct.get(bucket, "k")


# -- copies -----------------------------------------------------------------------------------------------

def test_copy_object_directives(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "src", b"content" * 20000, ContentType="text/plain", Metadata={"a": "1"}, Tagging="t=1")
    copied = direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "dst", "CopySource": f"{bucket}/src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"content" * 20000).hexdigest()}"'
    got = direct.get(bucket, "dst")
    assert got["Body"] == b"content" * 20000 and got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"a": "1"} and got["TagCount"] == 1
    direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "dst2", "CopySource": f"/{bucket}/src",
                                      "MetadataDirective": "REPLACE", "Metadata": {"b": "2"},
                                      "TaggingDirective": "REPLACE", "Tagging": "x=y&z=w"})
    got = direct.get(bucket, "dst2")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "binary/octet-stream"
    tags = direct.p.get_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "dst2"})["TagSet"]
    assert tags == [{"Key": "x", "Value": "y"}, {"Key": "z", "Value": "w"}]
    # Deleting the source keeps the copy intact (copies share no blob ids).
    direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "src"})
    assert direct.get(bucket, "dst")["Body"] == b"content" * 20000


def test_copy_onto_itself_needs_replace(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"v", Metadata={"a": "1"})
    with pytest.raises(errors.InvalidRequest):
        direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "k", "CopySource": f"{bucket}/k"})
    direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "k", "CopySource": f"{bucket}/k",
                                      "MetadataDirective": "REPLACE", "Metadata": {"a": "2"}})
    got = direct.get(bucket, "k")
    assert got["Body"] == b"v" and got["Metadata"] == {"a": "2"}


def test_copy_source_conditions_and_encoding(direct: Direct) -> None:
    bucket = direct.bucket()
    etag = direct.put(bucket, "with space/ü.txt", b"v")["ETag"]
    source = f"{bucket}/with%20space/%C3%BC.txt"
    with pytest.raises(errors.PreconditionFailed):
        direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "d", "CopySource": source,
                                          "CopySourceIfMatch": '"other"'})
    with pytest.raises(errors.PreconditionFailed):
        direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "d", "CopySource": source,
                                          "CopySourceIfNoneMatch": etag})
    with pytest.raises(errors.PreconditionFailed):
        direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "d", "CopySource": source,
                                          "CopySourceIfModifiedSince": datetime.now(UTC) + timedelta(days=1)})
    direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "d", "CopySource": source, "CopySourceIfMatch": etag})
    assert direct.get(bucket, "d")["Body"] == b"v"
    with pytest.raises(errors.NoSuchKey):
        direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "d", "CopySource": f"{bucket}/absent"})


# -- tagging and attributes -------------------------------------------------------------------------------

def test_object_tagging(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k")
    assert direct.p.get_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "k"}) == {"TagSet": []}
    direct.p.put_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "k", "Tagging": {
        "TagSet": [{"Key": "env", "Value": "prod"}]}})
    assert direct.p.get_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "k"})["TagSet"] == [
        {"Key": "env", "Value": "prod"}]
    with pytest.raises(errors.BadRequest):
        direct.p.put_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "k", "Tagging": {
            "TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}})
    with pytest.raises(errors.InvalidTag):
        direct.p.put_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "k", "Tagging": {
            "TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}})
    direct.p.delete_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "k"})
    assert direct.p.get_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "k"}) == {"TagSet": []}
    with pytest.raises(errors.NoSuchKey):
        direct.p.put_object_tagging(make_ctx(), {"Bucket": bucket, "Key": "nope", "Tagging": {"TagSet": []}})


def test_get_object_attributes(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"hello", ChecksumCRC32=_crc32(b"hello"))
    out = direct.p.get_object_attributes(make_ctx(), {
        "Bucket": bucket, "Key": "k", "ObjectAttributes": ["ETag", "ObjectSize", "StorageClass", "Checksum"]})
    assert out["ETag"] == hashlib.md5(b"hello").hexdigest()
    assert out["ObjectSize"] == 5 and out["StorageClass"] == "STANDARD"
    assert out["Checksum"]["ChecksumCRC32"] == _crc32(b"hello")


def test_form_upload(direct: Direct) -> None:
    bucket = direct.bucket()
    fields = {"Content-Type": "text/csv", "x-amz-meta-origin": "browser",
              "tagging": "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"}
    body = b"a,b\n1,2\n"
    out = direct.p.put_object_from_form(make_ctx(headers={"host": "localhost:4566"}), bucket, "up/file.csv",
                                        io.BytesIO(body), fields)
    assert out["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert out["Location"] == f"http://localhost:4566/{bucket}/up/file.csv"
    assert out["Bucket"] == bucket and out["Key"] == "up/file.csv"
    got = direct.get(bucket, "up/file.csv")
    assert got["ContentType"] == "text/csv" and got["Metadata"] == {"origin": "browser"}
    assert got["TagCount"] == 1


# -- durability -------------------------------------------------------------------------------------------

def test_restart_keeps_everything(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.p.put_bucket_versioning(make_ctx(), {"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}})
    v1 = direct.put(bucket, "k", b"small", Metadata={"m": "1"})["VersionId"]
    v2 = direct.put(bucket, "k", b"B" * 300_000)["VersionId"]
    direct.p.put_bucket_tagging(make_ctx(), {"Bucket": bucket, "Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}})
    upload = direct.p.create_multipart_upload(make_ctx(), {"Bucket": bucket, "Key": "mp"})["UploadId"]
    direct.p.upload_part(make_ctx(), {"Bucket": bucket, "Key": "mp", "UploadId": upload, "PartNumber": 1,
                                      "Body": io.BytesIO(b"part-one")})
    direct.reopen()
    assert direct.get(bucket, "k")["Body"] == b"B" * 300_000
    old = direct.get(bucket, "k", VersionId=v1)
    assert old["Body"] == b"small" and old["Metadata"] == {"m": "1"} and old["VersionId"] == v1
    assert direct.get(bucket, "k")["VersionId"] == v2
    assert direct.p.get_bucket_versioning(make_ctx(), {"Bucket": bucket}) == {"Status": "Enabled"}
    assert direct.p.get_bucket_tagging(make_ctx(), {"Bucket": bucket})["TagSet"] == [{"Key": "a", "Value": "b"}]
    parts = direct.p.list_parts(make_ctx(), {"Bucket": bucket, "Key": "mp", "UploadId": upload})
    assert [p["PartNumber"] for p in parts["Parts"]] == [1]


def test_orphans_and_temp_files_are_swept_at_start(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "k", b"K" * 100_000)
    kept = _blob_files(direct)
    orphan = direct.p.store.blobs.put(b"written but never committed to metadata")
    tmp = direct.data_dir / "s3" / "blobs" / "tmp" / "crashed.part"
    tmp.write_bytes(b"half")
    direct.reopen()
    assert _blob_files(direct) == kept
    assert orphan not in _blob_files(direct) and not tmp.exists()
    assert direct.get(bucket, "k")["Body"] == b"K" * 100_000


def test_metadata_is_sqlite_in_wal_mode(direct: Direct) -> None:
    direct.bucket()
    conn = sqlite3.connect(direct.data_dir / "s3" / "s3.sqlite")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT name FROM buckets").fetchall() == [("bucket-one",)]
    finally:
        conn.close()


def test_keys_never_become_paths(direct: Direct) -> None:
    bucket = direct.bucket()
    for key in ("../../etc/passwd", "/absolute", "a/../../b", "..", "nul\\x"):
        direct.put(bucket, key, key.encode() * 10000)
        assert direct.get(bucket, key)["Body"] == key.encode() * 10000
    files = [p for p in direct.data_dir.rglob("*") if p.is_file()]
    assert all(p.is_relative_to(direct.data_dir / "s3") for p in files)
    assert not any("passwd" in str(p) or "absolute" in str(p) for p in files)


def test_concurrent_writers_and_readers(direct: Direct) -> None:
    bucket = direct.bucket()
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(25):
                body = f"{worker}-{i}".encode() * (1 if i % 5 else 20000)
                direct.put(bucket, f"w{worker}/k{i}", body)
                assert direct.get(bucket, f"w{worker}/k{i}")["Body"] == body
        except BaseException as exc:  # collected and re-raised in the test thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    listed = direct.p.list_objects_v2(make_ctx(), {"Bucket": bucket})
    assert listed["KeyCount"] == 400
