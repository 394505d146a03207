"""Kinesis fixtures: a client of the shared server, fresh streams, and an in-process server whose clock the
test moves (for iterator expiry and retention, which AWS measures in minutes and days)."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import FogbankServer, InProcessServer

from fogbank.services.kinesis.provider import KinesisProvider

_names = itertools.count()


def unique_name(prefix: str = "s") -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}-{worker}-{next(_names)}-{int(time.time() * 1000) % 1_000_000}"


@pytest.fixture
def kinesis(fogbank: FogbankServer) -> Any:
    return fogbank.client("kinesis")


MakeStream = Callable[..., str]


@pytest.fixture
def make_stream(kinesis: Any) -> Iterator[MakeStream]:
    """Creates streams (ACTIVE when returned) and deletes them after the test."""
    created: list[str] = []

    def make(shards: int = 1, mode: str = "PROVISIONED", **extra: Any) -> str:
        name = unique_name()
        if mode == "ON_DEMAND":
            kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"}, **extra)
        else:
            kinesis.create_stream(StreamName=name, ShardCount=shards, **extra)
        kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        created.append(name)
        return name

    yield make
    for name in created:
        with contextlib.suppress(kinesis.exceptions.ResourceNotFoundException):
            kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


class FakeClock:
    """Wall-clock time plus an offset the test advances; `freeze` stops it, so no throttle refills by itself."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.frozen: float | None = None

    def __call__(self) -> float:
        return self.frozen if self.frozen is not None else time.time() + self.offset

    def advance(self, seconds: float) -> None:
        if self.frozen is not None:
            self.frozen += seconds
        else:
            self.offset += seconds

    def freeze(self) -> None:
        self.frozen = self()


class ClockedServer(InProcessServer):
    """fogbank in this process with its Kinesis provider on a fake clock."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.clock = FakeClock()
        self.kinesis = self.provider(KinesisProvider)
        self.kinesis.store.clock = self.clock
        self.kinesis.store.throttles._clock = self.clock


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[ClockedServer]:
    server = ClockedServer(tmp_path / "data").start()
    yield server
    server.stop()
