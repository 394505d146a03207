"""Shared fixtures: a real fogbank server on a free loopback port with a temporary data dir."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import FogbankServer


@pytest.fixture(scope="session")
def fogbank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FogbankServer]:
    server = FogbankServer(tmp_path_factory.mktemp("fogbank") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[FogbankServer]:
    """A server of the test's own, for restarts and crashes."""
    server = FogbankServer(tmp_path / "data")
    yield server
    server.kill()


@pytest.fixture
def s3(fogbank: FogbankServer) -> Any:
    return fogbank.client("s3")


@pytest.fixture
def sts(fogbank: FogbankServer) -> Any:
    return fogbank.client("sts")


_bucket_counter = iter(range(1_000_000))


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    """A fresh, empty bucket whose name is unique across the session's workers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    name = f"t-{worker}-{next(_bucket_counter)}-{int(time.time() * 1000) % 100000}".lower()
    s3.create_bucket(Bucket=name)
    return name
