"""Multipart uploads, called directly: ETags, size rules, manifests, checksums, listings, restarts."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from typing import Any

import pytest
from tests.services.s3.direct_support import Direct, make_ctx

from fogbank.services.s3 import errors

MIB = 1024 * 1024


def _create(direct: Direct, bucket: str, key: str = "big", **req: Any) -> str:
    return str(direct.p.create_multipart_upload(make_ctx(), {"Bucket": bucket, "Key": key, **req})["UploadId"])


def _part(direct: Direct, bucket: str, upload: str, number: int, data: bytes, key: str = "big",
          **req: Any) -> dict[str, Any]:
    return direct.p.upload_part(make_ctx(), {"Bucket": bucket, "Key": key, "UploadId": upload,
                                             "PartNumber": number, "Body": io.BytesIO(data), **req})


def _complete(direct: Direct, bucket: str, upload: str, parts: list[dict[str, Any]], key: str = "big",
              **req: Any) -> dict[str, Any]:
    return direct.p.complete_multipart_upload(make_ctx(), {"Bucket": bucket, "Key": key, "UploadId": upload,
                                                           "MultipartUpload": {"Parts": parts}, **req})


def _etag(*parts: bytes) -> str:
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def test_complete_builds_the_object_without_copying(direct: Direct) -> None:
    bucket = direct.bucket()
    one, two, three = os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"
    upload = _create(direct, bucket, ContentType="application/x-test", Metadata={"a": "b"})
    etags = [_part(direct, bucket, upload, n, d)["ETag"] for n, d in ((1, one), (2, two), (3, three))]
    assert etags[0] == f'"{hashlib.md5(one).hexdigest()}"'
    blobs_before = set(direct.p.store.blobs.ids())
    out = _complete(direct, bucket, upload, [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)])
    assert out["ETag"] == _etag(one, two, three)
    assert out["Bucket"] == bucket and out["Key"] == "big"
    assert set(direct.p.store.blobs.ids()) == blobs_before
    got = direct.get(bucket, "big")
    assert got["Body"] == one + two + three and got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"a": "b"} and got["ETag"] == out["ETag"]
    assert direct.get(bucket, "big", Range=f"bytes={5 * MIB - 2}-{5 * MIB + 1}")["Body"] == one[-2:] + two[:2]
    ctx = make_ctx()
    part2 = direct.get(bucket, "big", ctx=ctx, PartNumber=2)
    assert part2["Body"] == two and part2["PartsCount"] == 3 and ctx.status_override == 206
    with pytest.raises(errors.NoSuchUpload):
        _part(direct, bucket, upload, 4, b"late")
    attrs = direct.p.get_object_attributes(make_ctx(), {"Bucket": bucket, "Key": "big",
                                                        "ObjectAttributes": ["ObjectParts", "ObjectSize"]})
    assert attrs["ObjectSize"] == 10 * MIB + 4 and attrs["ObjectParts"]["TotalPartsCount"] == 3


def test_unused_and_replaced_parts_are_deleted(direct: Direct) -> None:
    bucket = direct.bucket()
    upload = _create(direct, bucket)
    _part(direct, bucket, upload, 1, b"first try")
    e1 = _part(direct, bucket, upload, 1, b"second try")["ETag"]
    _part(direct, bucket, upload, 2, b"never used")
    assert len(list(direct.p.store.blobs.ids())) == 2
    _complete(direct, bucket, upload, [{"PartNumber": 1, "ETag": e1}])
    assert len(list(direct.p.store.blobs.ids())) == 1
    assert direct.get(bucket, "big")["Body"] == b"second try"


def test_completion_errors(direct: Direct) -> None:
    bucket = direct.bucket()
    upload = _create(direct, bucket)
    e1 = _part(direct, bucket, upload, 1, b"small")["ETag"]
    e2 = _part(direct, bucket, upload, 2, b"also small")["ETag"]
    with pytest.raises(errors.EntityTooSmall) as exc:
        _complete(direct, bucket, upload, [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}])
    assert exc.value.fields["MinSizeAllowed"] == 5 * MIB
    with pytest.raises(errors.InvalidPartOrder):
        _complete(direct, bucket, upload, [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}])
    with pytest.raises(errors.InvalidPart):
        _complete(direct, bucket, upload, [{"PartNumber": 1, "ETag": '"0000"'}])
    with pytest.raises(errors.InvalidPart):
        _complete(direct, bucket, upload, [{"PartNumber": 3, "ETag": e1}])
    with pytest.raises(errors.MalformedXML):
        _complete(direct, bucket, upload, [])
    with pytest.raises(errors.InvalidArgument):
        _part(direct, bucket, upload, 10001, b"x")
    with pytest.raises(errors.InvalidArgument):
        _part(direct, bucket, upload, 0, b"x")
    with pytest.raises(errors.NoSuchUpload):
        _part(direct, bucket, "no-such-upload", 1, b"x")
    # The upload is still usable after refused completions.
    _complete(direct, bucket, upload, [{"PartNumber": 2, "ETag": e2}])
    assert direct.get(bucket, "big")["Body"] == b"also small"


def test_abort_removes_parts(direct: Direct) -> None:
    bucket = direct.bucket()
    upload = _create(direct, bucket)
    _part(direct, bucket, upload, 1, b"data")
    direct.p.abort_multipart_upload(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload})
    assert list(direct.p.store.blobs.ids()) == []
    with pytest.raises(errors.NoSuchUpload):
        direct.p.abort_multipart_upload(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload})
    with pytest.raises(errors.NoSuchUpload):
        direct.p.list_parts(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload})


def test_list_parts_paginates(direct: Direct) -> None:
    bucket = direct.bucket()
    upload = _create(direct, bucket)
    for n in range(1, 8):
        _part(direct, bucket, upload, n, bytes([n]) * n)
    first = direct.p.list_parts(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload, "MaxParts": 3})
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2, 3]
    assert first["IsTruncated"] is True and first["NextPartNumberMarker"] == 3
    rest = direct.p.list_parts(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload,
                                            "PartNumberMarker": 3})
    assert [p["PartNumber"] for p in rest["Parts"]] == [4, 5, 6, 7] and rest["IsTruncated"] is False
    assert rest["Parts"][0]["Size"] == 4


def test_list_multipart_uploads(direct: Direct) -> None:
    bucket = direct.bucket()
    ids = {key: _create(direct, bucket, key) for key in ("a/1", "a/2", "b", "c")}
    out = direct.p.list_multipart_uploads(make_ctx(), {"Bucket": bucket})
    assert [u["Key"] for u in out["Uploads"]] == ["a/1", "a/2", "b", "c"]
    assert out["Uploads"][0]["UploadId"] == ids["a/1"]
    grouped = direct.p.list_multipart_uploads(make_ctx(), {"Bucket": bucket, "Delimiter": "/"})
    assert [u["Key"] for u in grouped["Uploads"]] == ["b", "c"]
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/"]
    page = direct.p.list_multipart_uploads(make_ctx(), {"Bucket": bucket, "MaxUploads": 2})
    assert page["IsTruncated"] is True and page["NextKeyMarker"] == "a/2"
    rest = direct.p.list_multipart_uploads(make_ctx(), {"Bucket": bucket, "KeyMarker": page["NextKeyMarker"],
                                                        "UploadIdMarker": page["NextUploadIdMarker"]})
    assert [u["Key"] for u in rest["Uploads"]] == ["b", "c"]


def test_upload_part_copy_with_range(direct: Direct) -> None:
    bucket = direct.bucket()
    source = os.urandom(6 * MIB)
    direct.put(bucket, "source", source)
    upload = _create(direct, bucket)
    first = direct.p.upload_part_copy(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload,
                                                   "PartNumber": 1, "CopySource": f"{bucket}/source",
                                                   "CopySourceRange": f"bytes=0-{5 * MIB - 1}"})
    second = direct.p.upload_part_copy(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload,
                                                    "PartNumber": 2, "CopySource": f"{bucket}/source",
                                                    "CopySourceRange": f"bytes={5 * MIB}-{6 * MIB - 1}"})
    assert first["CopyPartResult"]["ETag"] == f'"{hashlib.md5(source[:5 * MIB]).hexdigest()}"'
    with pytest.raises(errors.InvalidArgument):
        direct.p.upload_part_copy(make_ctx(), {"Bucket": bucket, "Key": "big", "UploadId": upload,
                                               "PartNumber": 3, "CopySource": f"{bucket}/source",
                                               "CopySourceRange": f"bytes=0-{6 * MIB}"})
    _complete(direct, bucket, upload, [{"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
                                       {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}])
    assert direct.get(bucket, "big")["Body"] == source


def test_composite_and_full_object_checksums(direct: Direct) -> None:
    bucket = direct.bucket()
    one, two = os.urandom(5 * MIB), os.urandom(1000)

    def crc(data: bytes) -> str:
        return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()

    upload = _create(direct, bucket, "composite", ChecksumAlgorithm="CRC32")
    parts = []
    for n, data in ((1, one), (2, two)):
        out = _part(direct, bucket, upload, n, data, key="composite", ChecksumCRC32=crc(data))
        assert out["ChecksumCRC32"] == crc(data)
        parts.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumCRC32": out["ChecksumCRC32"]})
    done = _complete(direct, bucket, upload, parts, key="composite")
    digests = b"".join(zlib.crc32(d).to_bytes(4, "big") for d in (one, two))
    assert done["ChecksumCRC32"] == f"{crc(digests)}-2" and done["ChecksumType"] == "COMPOSITE"

    upload = _create(direct, bucket, "full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    parts = [{"PartNumber": n, "ETag": _part(direct, bucket, upload, n, d, key="full")["ETag"]}
             for n, d in ((1, one), (2, two))]
    done = _complete(direct, bucket, upload, parts, key="full")
    assert done["ChecksumCRC32"] == crc(one + two) and done["ChecksumType"] == "FULL_OBJECT"
    assert direct.get(bucket, "full", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc(one + two)
    with pytest.raises(errors.InvalidRequest):
        _create(direct, bucket, "bad", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT")
    with pytest.raises(errors.InvalidRequest):
        _create(direct, bucket, "bad", ChecksumType="FULL_OBJECT")


def test_uploads_survive_restart(direct: Direct) -> None:
    bucket = direct.bucket()
    one = os.urandom(5 * MIB)
    upload = _create(direct, bucket)
    e1 = _part(direct, bucket, upload, 1, one)["ETag"]
    direct.reopen()
    e2 = _part(direct, bucket, upload, 2, b"after restart")["ETag"]
    out = _complete(direct, bucket, upload, [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}])
    assert out["ETag"] == _etag(one, b"after restart")
    direct.reopen()
    assert direct.get(bucket, "big")["Body"] == one + b"after restart"


def test_copy_of_multipart_object_gets_a_plain_etag(direct: Direct) -> None:
    bucket = direct.bucket()
    one = os.urandom(5 * MIB)
    upload = _create(direct, bucket)
    e1 = _part(direct, bucket, upload, 1, one)["ETag"]
    e2 = _part(direct, bucket, upload, 2, b"end")["ETag"]
    _complete(direct, bucket, upload, [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}])
    out = direct.p.copy_object(make_ctx(), {"Bucket": bucket, "Key": "copy", "CopySource": f"{bucket}/big"})
    assert out["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(one + b"end").hexdigest()}"'
    direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "big"})
    assert direct.get(bucket, "copy")["Body"] == one + b"end"
