"""Athena's SQLite database: WAL, synchronous=FULL, one serialized writer, a read connection per thread.

Athena's metadata writes are small (a query's state changes a handful of times), so one lock around the
writer connection is enough; every write commits before it returns, so an acknowledged change is durable.
The one exception is a write whose loss in a power cut is harmless, which is left for the next commit to sync.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


class AthenaDb:
    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._writer = _connect(path)
        self._writer.executescript(schema)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False

    def reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("database is closed")
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    def write(self, fn: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        """Runs `fn` in one IMMEDIATE transaction; returns after the commit is durable.

        `durable=False` is for changes whose loss is harmless (a query moving from QUEUED to RUNNING, which
        recovery would just run again): the commit is not synced by itself but by the next durable one, which
        syncs the WAL up to and including it. A killed process keeps it either way (it is in the WAL); only a
        power loss before the next durable commit can take it back, to the state before it."""
        with self._lock:
            if self._closed:
                raise RuntimeError("database is closed")
            conn = self._writer
            if not durable:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous=FULL")
            return result

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
            for conn in self._readers:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._readers.clear()


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text)
