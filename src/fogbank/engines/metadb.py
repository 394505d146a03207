"""A service's SQLite metadata: how fogbank opens SQLite, and the two ways its stores share a database.

`connect` is the one place the durability settings live: WAL with synchronous=FULL, so a committed
transaction is on disk when the commit returns. `LockedDb` is one such connection behind a lock, for small
stores whose writes are rare.

`MetaDb` is for the busy ones. Every write is a function of the writer connection. The writer thread takes
all writes that are waiting, runs each in its own savepoint inside one transaction and commits once, so N
concurrent PUTs cost one fsync of the WAL instead of N. A write's caller returns only after that commit:
acknowledged means durable. Readers use WAL snapshots and never wait for the writer.
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


def connect(path: Path, *, foreign_keys: bool = False) -> sqlite3.Connection:
    """An autocommit connection (statements outside BEGIN commit at once) whose commits are durable on return.

    Usable from any thread; callers that share it serialize their use themselves.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    return conn


class LockedDb:
    """One durable connection shared by threads under a reentrant lock.

    For stores with few writes, where one lock is simpler than a writer thread. Hold `lock` around any
    sequence of statements that must not interleave with another thread's; use `transaction` where the
    sequence must also commit or roll back as one.
    """

    def __init__(self, path: Path, schema: str, *, foreign_keys: bool = False) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = connect(path, foreign_keys=foreign_keys)
        self.conn.executescript(schema)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside BEGIN IMMEDIATE; committed (durably) on exit, rolled back on an exception."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Every row of one statement (committed at once when it writes)."""
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def row(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        """The first row of one statement, or None."""
        with self.lock:
            row: tuple[Any, ...] | None = self.conn.execute(sql, args).fetchone()
            return row

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """Runs one statement, committed durably before return outside a transaction; the rows it changed."""
        with self.lock:
            return self.conn.execute(sql, args).rowcount


class MetaDb:
    """A SQLite database in WAL mode shared by many worker threads."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self._writer = connect(path)
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
        conn = connect(self.path)
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
            conn = connect(self.path)
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
