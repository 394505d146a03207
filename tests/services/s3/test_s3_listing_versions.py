"""boto3 against a real fogbank server: listings, paginators and versioning."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _fill(s3: Any, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def test_v2_paginator_with_delimiter(s3: Any, bucket: str) -> None:
    keys = [f"photos/2024/{i:03d}.jpg" for i in range(25)] + [f"photos/{y}/x.jpg" for y in (2022, 2023)] + [
        "readme.md", "photos/index.html"]
    _fill(s3, bucket, keys)
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="photos/", Delimiter="/",
                                                             PaginationConfig={"PageSize": 2}))
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    contents = [c["Key"] for page in pages for c in page.get("Contents", [])]
    assert prefixes == ["photos/2022/", "photos/2023/", "photos/2024/"]
    assert contents == ["photos/index.html"]
    assert len(pages) == 2
    every = [c["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 7}) for c in page.get("Contents", [])]
    assert every == sorted(keys)


def test_v1_paginator_and_markers(s3: Any, bucket: str) -> None:
    keys = [f"k{i:02d}" for i in range(12)]
    _fill(s3, bucket, keys)
    listed = [c["Key"] for page in s3.get_paginator("list_objects").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 5}) for c in page.get("Contents", [])]
    assert listed == keys
    out = s3.list_objects(Bucket=bucket, Marker="k09")
    assert [c["Key"] for c in out["Contents"]] == ["k10", "k11"]


def test_keys_needing_url_encoding_round_trip(s3: Any, bucket: str) -> None:
    keys = ["a b/c", "a+b/c", "ü/ñ", "x%y", "amp&er"]
    _fill(s3, bucket, keys)
    out = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert sorted(p["Prefix"] for p in out["CommonPrefixes"]) == ["a b/", "a+b/", "ü/"]
    assert sorted(c["Key"] for c in out["Contents"]) == ["amp&er", "x%y"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="ü/")
    assert [v["Key"] for v in versions["Versions"]] == ["ü/ñ"]


def test_start_after_and_max_keys(s3: Any, bucket: str) -> None:
    _fill(s3, bucket, ["a", "b", "c", "d"])
    out = s3.list_objects_v2(Bucket=bucket, StartAfter="b", MaxKeys=1)
    assert [c["Key"] for c in out["Contents"]] == ["c"] and out["IsTruncated"] is True
    assert out["KeyCount"] == 1 and out["MaxKeys"] == 1


def test_versioning_lifecycle_through_boto3(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"v1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"v2")["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"v1"
    assert s3.head_object(Bucket=bucket, Key="doc")["VersionId"] == v2
    marker = s3.delete_object(Bucket=bucket, Key="doc")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="doc")
    assert exc.value.response["Error"]["Code"] == "NoSuchKey"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    assert listed["DeleteMarkers"][0]["VersionId"] == marker["VersionId"]
    assert listed["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v2"
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "doc", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"v1"


def test_version_paginator(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in ("a", "b"):
        for i in range(4):
            s3.put_object(Bucket=bucket, Key=key, Body=f"{key}{i}".encode())
        s3.delete_object(Bucket=bucket, Key=key)
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket,
                                                                  PaginationConfig={"PageSize": 3}))
    versions = [(v["Key"], v["IsLatest"]) for p in pages for v in p.get("Versions", [])]
    markers = [(m["Key"], m["IsLatest"]) for p in pages for m in p.get("DeleteMarkers", [])]
    assert len(versions) == 8 and not any(latest for _, latest in versions)
    assert markers == [("a", True), ("b", True)]
