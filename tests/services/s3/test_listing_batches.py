"""Listings that cross the store's scan batches: folded prefixes and a key's versions split by a batch edge."""

from __future__ import annotations

from typing import Any

import pytest
from tests.services.s3.direct_support import Direct, make_ctx

from fogbank.services.s3 import listing


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "_BATCH", 3)


def _all_pages(direct: Direct, operation: str, req: dict[str, Any], token: str, next_token: str) -> list[Any]:
    pages = []
    while True:
        page = getattr(direct.p, operation)(make_ctx(), req)
        pages.append(page)
        if not page.get("IsTruncated"):
            return pages
        req = {**req, token: page[next_token]}


def test_current_keys_and_prefixes_across_batches(direct: Direct) -> None:
    bucket = direct.bucket()
    keys = [f"a{i:02d}" for i in range(7)] + [f"dir/{i:02d}" for i in range(8)] + [f"z{i}" for i in range(4)]
    for key in keys:
        direct.put(bucket, key)
    pages = _all_pages(direct, "list_objects_v2", {"Bucket": bucket, "Delimiter": "/", "MaxKeys": 4},
                       "ContinuationToken", "NextContinuationToken")
    listed = [o["Key"] for p in pages for o in p.get("Contents", [])]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert listed == [k for k in keys if not k.startswith("dir/")]
    assert prefixes == ["dir/"]


def test_versions_of_a_key_split_by_a_batch_edge(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.p.put_bucket_versioning(make_ctx(), {"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}})
    expected: list[tuple[str, str]] = []
    for key in ("k1", "k2", "k3"):
        ids = [direct.put(bucket, key, f"{key}-{n}".encode())["VersionId"] for n in range(4)]
        expected.extend((key, v) for v in reversed(ids))  # newest first within a key
    listed: list[tuple[str, str]] = []
    req: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 5}
    while True:
        page = direct.p.list_object_versions(make_ctx(), req)
        listed.extend((v["Key"], v["VersionId"]) for v in page.get("Versions", []))
        if not page.get("IsTruncated"):
            break
        req = {**req, "KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert listed == expected
