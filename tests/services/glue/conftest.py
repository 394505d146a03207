"""Glue fixtures: a client of the shared server, fresh databases, a crawl waiter, and data-file builders."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.support import FogbankServer

_names = itertools.count()


def unique(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}_{worker}_{next(_names)}_{int(time.time() * 1000) % 1_000_000}".lower()


@pytest.fixture
def glue(fogbank: FogbankServer) -> Any:
    return fogbank.client("glue")


@pytest.fixture
def database(glue: Any) -> Iterator[str]:
    name = unique("db")
    glue.create_database(DatabaseInput={"Name": name})
    yield name
    with contextlib.suppress(glue.exceptions.EntityNotFoundException):
        glue.delete_database(Name=name)


def wait_for_crawl(glue: Any, name: str, deadline_s: float = 60.0) -> dict[str, Any]:
    """Polls until the crawler is READY again after a crawl, and returns it."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return dict(crawler)
        time.sleep(0.05)
    raise AssertionError(f"crawler {name} did not finish")


@pytest.fixture
def crawl(glue: Any) -> Callable[..., dict[str, Any]]:
    """Creates a crawler over S3 paths, runs it once, and returns the crawler after the crawl."""

    def run(database: str, *paths: str, exclusions: list[str] | None = None, **extra: Any) -> dict[str, Any]:
        name = extra.pop("Name", None) or unique("crawler")
        targets = [{"Path": p, **({"Exclusions": exclusions} if exclusions else {})} for p in paths]
        glue.create_crawler(Name=name, Role="arn:aws:iam::000000000000:role/glue", DatabaseName=database,
                            Targets={"S3Targets": targets}, **extra)
        glue.start_crawler(Name=name)
        return wait_for_crawl(glue, name)

    return run


def table_input(name: str, columns: list[tuple[str, str]] | None = None,
                keys: list[tuple[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"Name": name,
            "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in (columns or [("id", "int")])],
                                  "Location": f"s3://data/{name}/"},
            "PartitionKeys": [{"Name": n, "Type": t} for n, t in (keys or [])],
            **extra}


def parquet_bytes(columns: dict[str, list[Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


def orc_bytes(columns: dict[str, list[Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.orc as orc

    out = io.BytesIO()
    orc.write_table(pa.table(columns), out)
    return out.getvalue()
