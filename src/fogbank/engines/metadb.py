"""A service's SQLite metadata: one writer thread with group commit, one reader connection per thread.

Every write is a function of the writer connection. The writer thread takes all writes that are waiting,
runs each in its own savepoint inside one transaction and commits once, so N concurrent PUTs cost one
fsync of the WAL instead of N. A write's caller returns only after that commit: acknowledged means
durable. Readers use WAL snapshots and never wait for the writer.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

_MAX_BATCH = 256


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


class MetaDb:
    """A SQLite database in WAL mode shared by many worker threads."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._writer = _connect(path)
        self._writer.executescript(schema)
        self._queue: queue.Queue[tuple[Callable[[sqlite3.Connection], Any], Future[Any]] | None] = queue.Queue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"sqlite-writer:{path.name}", daemon=True)
        self._thread.start()

    def add_schema(self, schema: str) -> None:
        """More tables for a store that shares this database (CREATE ... IF NOT EXISTS).

        Run on a connection of its own: executescript() commits whatever transaction its connection holds,
        which must never be the writer's group-commit batch.
        """
        conn = _connect(self.path)
        try:
            conn.executescript(schema)
        finally:
            conn.close()

    # -- reading ---------------------------------------------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit: each statement sees the latest commit)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("database is closed")
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, for reads that must agree with each other (listings across pages)."""
        conn = self.reader()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------------------

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `fn` in the writer transaction and returns its result once the commit is durable.

        An exception raised by `fn` rolls back only `fn`'s changes and is re-raised here.
        """
        if self._closed:
            raise RuntimeError("database is closed")
        if threading.current_thread() is self._thread:
            # A write issued from inside another write: it joins that transaction under its own savepoint.
            self._writer.execute("SAVEPOINT nested")
            try:
                result = fn(self._writer)
            except BaseException:
                self._writer.execute("ROLLBACK TO nested")
                self._writer.execute("RELEASE nested")
                raise
            self._writer.execute("RELEASE nested")
            return result
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future.result()

    def _run(self) -> None:
        conn = self._writer
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit_batch(conn, batch)
            if stop:
                return

    def _commit_batch(self, conn: sqlite3.Connection,
                      batch: list[tuple[Callable[[sqlite3.Connection], Any], Future[Any]]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _ in batch:
                conn.execute("SAVEPOINT op")
                try:
                    result = fn(conn)
                except BaseException as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append((False, exc))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((True, result))
            conn.execute("COMMIT")
        except BaseException as exc:  # the commit itself failed: nothing of the batch is durable
            log.exception("sqlite commit failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def close(self) -> None:
        """Finishes queued writes, then closes every connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._readers.clear()
