"""Listings and versioning, called directly: prefixes, delimiters, pagination, delete markers."""

from __future__ import annotations

from typing import Any

import pytest
from tests.services.s3.direct_support import Direct, make_ctx

from fogbank.services.s3 import errors

KEYS = ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "c/4.txt", "d.txt", "e f+g.txt"]


def _fill(direct: Direct) -> str:
    bucket = direct.bucket()
    for key in KEYS:
        direct.put(bucket, key, key.encode())
    return bucket


def _v2(direct: Direct, bucket: str, **req: Any) -> dict[str, Any]:
    return direct.p.list_objects_v2(make_ctx(), {"Bucket": bucket, **req})


def test_v2_lists_everything_in_key_order(direct: Direct) -> None:
    bucket = _fill(direct)
    out = _v2(direct, bucket)
    assert [c["Key"] for c in out["Contents"]] == sorted(KEYS)
    assert out["KeyCount"] == len(KEYS) and out["IsTruncated"] is False
    assert out["Contents"][0]["Size"] == len(KEYS[0]) and "Owner" not in out["Contents"][0]
    assert _v2(direct, bucket, FetchOwner=True)["Contents"][0]["Owner"]["ID"]


def test_prefix_and_delimiter(direct: Direct) -> None:
    bucket = _fill(direct)
    out = _v2(direct, bucket, Delimiter="/")
    assert [c["Key"] for c in out["Contents"]] == ["a.txt", "d.txt", "e f+g.txt"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["b/", "c/"]
    assert out["KeyCount"] == 5
    out = _v2(direct, bucket, Prefix="b/", Delimiter="/")
    assert [c["Key"] for c in out["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["b/c/"]
    out = _v2(direct, bucket, Prefix="b/")
    assert [c["Key"] for c in out["Contents"]] == ["b/1.txt", "b/2.txt", "b/c/3.txt"]
    assert "Contents" not in _v2(direct, bucket, Prefix="zzz")


def test_v2_pagination_counts_prefixes(direct: Direct) -> None:
    bucket = _fill(direct)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        req: dict[str, Any] = {"MaxKeys": 2, "Delimiter": "/"}
        if token:
            req["ContinuationToken"] = token
        out = _v2(direct, bucket, **req)
        pages += 1
        seen += [c["Key"] for c in out.get("Contents", [])] + [p["Prefix"] for p in out.get("CommonPrefixes", [])]
        assert out["KeyCount"] <= 2
        if not out["IsTruncated"]:
            assert "NextContinuationToken" not in out
            break
        token = out["NextContinuationToken"]
    assert sorted(seen) == ["a.txt", "b/", "c/", "d.txt", "e f+g.txt"] and pages == 3
    with pytest.raises(errors.InvalidArgument):
        _v2(direct, bucket, ContinuationToken="garbage!")


def test_start_after_and_url_encoding(direct: Direct) -> None:
    bucket = _fill(direct)
    out = _v2(direct, bucket, StartAfter="c/4.txt")
    assert [c["Key"] for c in out["Contents"]] == ["d.txt", "e f+g.txt"]
    assert out["StartAfter"] == "c/4.txt"
    out = _v2(direct, bucket, Prefix="e f", EncodingType="url")
    assert [c["Key"] for c in out["Contents"]] == ["e%20f%2Bg.txt"]
    assert out["Prefix"] == "e%20f" and out["EncodingType"] == "url"


def test_list_objects_v1_markers(direct: Direct) -> None:
    bucket = _fill(direct)
    out = direct.p.list_objects(make_ctx(), {"Bucket": bucket, "MaxKeys": 3})
    assert [c["Key"] for c in out["Contents"]] == ["a.txt", "b/1.txt", "b/2.txt"]
    assert out["IsTruncated"] is True and "NextMarker" not in out
    assert out["Contents"][0]["Owner"]["ID"]
    out = direct.p.list_objects(make_ctx(), {"Bucket": bucket, "Marker": "b/2.txt"})
    assert [c["Key"] for c in out["Contents"]] == ["b/c/3.txt", "c/4.txt", "d.txt", "e f+g.txt"]
    out = direct.p.list_objects(make_ctx(), {"Bucket": bucket, "Delimiter": "/", "MaxKeys": 2})
    assert out["NextMarker"] == "b/"
    out = direct.p.list_objects(make_ctx(), {"Bucket": bucket, "Delimiter": "/", "Marker": "b/"})
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["c/"]
    assert [c["Key"] for c in out["Contents"]] == ["d.txt", "e f+g.txt"]


def test_delimiter_skips_large_groups(direct: Direct) -> None:
    bucket = direct.bucket()
    for i in range(1500):
        direct.put(bucket, f"logs/{i:05d}", b"")
    direct.put(bucket, "z", b"")
    out = _v2(direct, bucket, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["logs/"]
    assert [c["Key"] for c in out["Contents"]] == ["z"]
    first = _v2(direct, bucket, Prefix="logs/")
    assert first["KeyCount"] == 1000 and first["IsTruncated"]
    second = _v2(direct, bucket, Prefix="logs/", ContinuationToken=first["NextContinuationToken"])
    assert second["KeyCount"] == 500 and second["Contents"][0]["Key"] == "logs/01000"


# -- versioning -------------------------------------------------------------------------------------------

def _versioned(direct: Direct) -> str:
    bucket = direct.bucket()
    direct.p.put_bucket_versioning(make_ctx(), {"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}})
    return bucket


def test_versions_and_delete_markers(direct: Direct) -> None:
    bucket = _versioned(direct)
    v1 = direct.put(bucket, "k", b"one")["VersionId"]
    v2 = direct.put(bucket, "k", b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32
    assert direct.get(bucket, "k")["Body"] == b"two"
    assert direct.get(bucket, "k", VersionId=v1)["Body"] == b"one"
    deleted = direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k"})
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    ctx = make_ctx()
    with pytest.raises(errors.NoSuchKey):
        direct.get(bucket, "k", ctx=ctx)
    assert ("x-amz-delete-marker", "true") in ctx.extra_headers
    with pytest.raises(errors.MethodNotAllowed) as exc:
        direct.get(bucket, "k", VersionId=marker)
    assert exc.value.status == 405
    assert "Contents" not in direct.p.list_objects_v2(make_ctx(), {"Bucket": bucket})
    listed = direct.p.list_object_versions(make_ctx(), {"Bucket": bucket})
    assert [(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [(v2, False), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker, True)]
    # Removing the marker brings the previous version back.
    out = direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k", "VersionId": marker})
    assert out == {"DeleteMarker": True, "VersionId": marker}
    assert direct.get(bucket, "k")["Body"] == b"two"
    # Deleting the latest version promotes the one before it.
    direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k", "VersionId": v2})
    assert direct.get(bucket, "k")["Body"] == b"one"
    with pytest.raises(errors.NoSuchVersion):
        direct.get(bucket, "k", VersionId=v2)
    with pytest.raises(errors.InvalidArgument):
        direct.get(bucket, "k", VersionId="bad id")


def test_suspended_versioning_uses_the_null_version(direct: Direct) -> None:
    bucket = _versioned(direct)
    kept = direct.put(bucket, "k", b"versioned")["VersionId"]
    direct.p.put_bucket_versioning(make_ctx(), {"Bucket": bucket,
                                                "VersioningConfiguration": {"Status": "Suspended"}})
    assert direct.p.get_bucket_versioning(make_ctx(), {"Bucket": bucket}) == {"Status": "Suspended"}
    direct.put(bucket, "k", b"null one")
    direct.put(bucket, "k", b"null two")
    versions = direct.p.list_object_versions(make_ctx(), {"Bucket": bucket})["Versions"]
    assert [v["VersionId"] for v in versions] == ["null", kept]
    assert direct.get(bucket, "k")["VersionId"] == "null"
    deleted = direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k"})
    assert deleted == {"DeleteMarker": True, "VersionId": "null"}
    listed = direct.p.list_object_versions(make_ctx(), {"Bucket": bucket})
    assert [v["VersionId"] for v in listed["Versions"]] == [kept]
    assert [m["VersionId"] for m in listed["DeleteMarkers"]] == ["null"]


def test_unversioned_buckets_report_no_version_ids(direct: Direct) -> None:
    bucket = direct.bucket()
    assert "VersionId" not in direct.put(bucket, "k")
    assert "VersionId" not in direct.get(bucket, "k")
    assert direct.p.get_bucket_versioning(make_ctx(), {"Bucket": bucket}) == {}
    assert direct.p.delete_object(make_ctx(), {"Bucket": bucket, "Key": "k"}) == {}
    direct.put(bucket, "k")
    versions = direct.p.list_object_versions(make_ctx(), {"Bucket": bucket})["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in versions] == [("null", True)]
    with pytest.raises(errors.IllegalVersioningConfigurationException):
        direct.p.put_bucket_versioning(make_ctx(), {"Bucket": bucket, "VersioningConfiguration": {}})


def test_version_listing_pagination(direct: Direct) -> None:
    bucket = _versioned(direct)
    made: list[tuple[str, str]] = []
    for key in ("a", "b", "c"):
        for i in range(3):
            made.append((key, direct.put(bucket, key, f"{key}{i}".encode())["VersionId"]))
    expected = [(k, v) for key in ("a", "b", "c") for k, v in reversed([m for m in made if m[0] == key])]
    seen: list[tuple[str, str]] = []
    req: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 2}
    while True:
        out = direct.p.list_object_versions(make_ctx(), req)
        seen += [(v["Key"], v["VersionId"]) for v in out.get("Versions", [])]
        if not out["IsTruncated"]:
            break
        req = {"Bucket": bucket, "MaxKeys": 2, "KeyMarker": out["NextKeyMarker"],
               "VersionIdMarker": out["NextVersionIdMarker"]}
    assert seen == expected


def test_batch_delete_in_versioned_bucket(direct: Direct) -> None:
    bucket = _versioned(direct)
    v1 = direct.put(bucket, "k")["VersionId"]
    out = direct.p.delete_objects(make_ctx(), {"Bucket": bucket, "Delete": {"Objects": [{"Key": "k"}]}})
    entry = out["Deleted"][0]
    assert entry["DeleteMarker"] is True and entry["DeleteMarkerVersionId"]
    out = direct.p.delete_objects(make_ctx(), {"Bucket": bucket, "Delete": {
        "Objects": [{"Key": "k", "VersionId": v1}]}})
    assert out["Deleted"] == [{"Key": "k", "VersionId": v1}]
