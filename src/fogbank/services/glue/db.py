"""Glue's SQLite database: WAL, synchronous=FULL, one serialized writer and a read connection per thread.

Catalog writes are small and rare next to reads, so a lock around one writer connection is enough; each
write runs in one IMMEDIATE transaction and returns only after its commit, so an acknowledged change is
durable. Readers see WAL snapshots and never wait for the writer.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


class GlueDb:
    """The one SQLite database of the Glue service, shared by the catalog and the crawler stores."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._writer = _connect(path)
        self._writer.executescript(schema)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False

    def add_schema(self, schema: str) -> None:
        with self._lock:
            self._writer.executescript(schema)

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit: each statement sees the latest commit)."""
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

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, for reads that must agree with each other."""
        conn = self.reader()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `fn` in its own transaction; an exception rolls everything back and is re-raised."""
        with self._lock:
            if self._closed:
                raise RuntimeError("database is closed")
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
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
    """JSON that keeps datetimes and bytes (DecimalNumber.UnscaledValue) round-tripping exactly."""
    return json.dumps(value, default=_encode, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_decode)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return {"$dt": stamp.timestamp()}
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dt" in obj:
            return datetime.fromtimestamp(obj["$dt"], UTC)
        if "$b64" in obj:
            return base64.b64decode(obj["$b64"])
    return obj
