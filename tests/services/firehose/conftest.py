"""Firehose fixtures: clients of the shared server, fresh buckets and streams, and waiting for delivered objects."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import FogbankServer

ROLE = "arn:aws:iam::000000000000:role/firehose"
_names = itertools.count()


def unique(prefix: str = "fh") -> str:
    """A name no other test of the session uses (this module is loaded twice: as conftest and by imports)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}-{worker}-{next(_names)}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def firehose(fogbank: FogbankServer) -> Any:
    return fogbank.client("firehose")


def s3_config(bucket: str, size_mb: int = 1, interval: int = 1, **extra: Any) -> dict[str, Any]:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
            "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval}, **extra}


MakeStream = Callable[..., str]


@pytest.fixture
def make_stream(firehose: Any) -> Iterator[MakeStream]:
    """Creates DirectPut streams with an extended S3 destination and deletes them after the test."""
    created: list[str] = []

    def make(bucket: str, **extended: Any) -> str:
        name = unique()
        size = extended.pop("size_mb", 1)
        interval = extended.pop("interval", 1)
        firehose.create_delivery_stream(DeliveryStreamName=name,
                                        ExtendedS3DestinationConfiguration=s3_config(bucket, size, interval,
                                                                                     **extended))
        created.append(name)
        return name

    yield make
    for name in created:
        with contextlib.suppress(firehose.exceptions.ResourceNotFoundException):
            firehose.delete_delivery_stream(DeliveryStreamName=name)


def list_keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def wait_for_keys(s3: Any, bucket: str, count: int, prefix: str = "", timeout: float = 20.0,
                  settle: float = 0.0) -> list[str]:
    """Polls until at least `count` objects exist under `prefix`, then waits `settle` seconds and lists again."""
    deadline = time.monotonic() + timeout
    keys = list_keys(s3, bucket, prefix)
    while len(keys) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        keys = list_keys(s3, bucket, prefix)
    assert len(keys) >= count, f"expected {count} objects under {prefix!r}, found {keys}"
    if settle:
        time.sleep(settle)
        keys = list_keys(s3, bucket, prefix)
    return sorted(keys)


def read(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def install_function(data_dir: Path, name: str, source: str) -> str:
    """Writes the Python file that stands in for a Lambda function; returns its ARN."""
    directory = data_dir / "firehose" / "functions"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.py").write_text(source)
    return f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
