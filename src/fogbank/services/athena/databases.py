"""DuckDB databases for Athena's statements, each locked to a folder of its own and reused by one account.

DuckDB fixes a database's file access when it is locked (`allowed_directories`, no external access, frozen
configuration), and opening a database costs tens of milliseconds: building its catalog, fogbank's macros,
its spill folder. So a database is made and locked ahead of need, with access to exactly two folders of its
own: `in/`, where the objects its statements read are linked (named by object version, so a later
statement over the same objects finds them there, and DuckDB's Parquet metadata cache still fits), and
`out/`, where a statement writes its results. The first statement of an account binds a database to that
account; afterwards it serves that account's statements one at a time, each on a fresh connection (a
cursor), so temporary views and tables never outlive their statement. A database is retired (closed and its
folder removed) when it has been idle a while, has linked many objects, or a statement ended badly on it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import duckdb
from cachetools import LRUCache
from duckdb.sqltypes import DuckDBPyType

from fogbank.engines import sql as sqlengine
from fogbank.services.athena.readers import load_avro
from fogbank.services.s3.local_access import S3LocalAccess

log = logging.getLogger(__name__)

# A database is retired after this long unused: its links keep deleted objects' bytes on disk.
IDLE_SECONDS = 120.0
# ... or once this many objects are linked into it, or it has served this many statements.
MAX_LINKS = 20_000
MAX_USES = 2_000
# Shared views (and their tables of files) kept per database, the least recently used dropped first.
MAX_VIEWS = 256
# Statement texts whose output columns are remembered per database.
MAX_BOUND = 512


@dataclass(frozen=True)
class Bound:
    """A statement's output columns, as DuckDB binds its text."""

    columns: list[str]
    types: list[DuckDBPyType]


class QueryDatabase:
    """One locked DuckDB database and its folder; lent to one statement at a time."""

    def __init__(self, root: Path, threads: int, memory_limit: str) -> None:
        self.root = root
        self.inputs = root / "in"
        self.outputs = root / "out"
        for folder in (self.inputs, self.outputs, root / "spill"):
            folder.mkdir(parents=True, exist_ok=True)
        self.conn = sqlengine.connect(threads=threads, memory_limit=memory_limit, temp_dir=root / "spill")
        try:
            # Parquet footers are read when views are made, when a statement is bound and when it runs.
            self.conn.execute("SET GLOBAL parquet_metadata_cache = true")
            self.avro = load_avro(self.conn)
            sqlengine.lock_down(self.conn, [], [str(self.inputs), str(self.outputs)])
        except BaseException:
            self.conn.close()
            raise
        self.account: str | None = None
        self.linked: set[str] = set()
        self._views: OrderedDict[str, None] = OrderedDict()
        # A text that reads only shared views binds the same way every time (a view's name says what it
        # reads), so its columns are kept: binding a TPC-H query costs 2-5 ms, and the COPY that runs it binds
        # it again.
        self._bound: LRUCache[str, Bound] = LRUCache(maxsize=MAX_BOUND)
        self.uses = 0
        self.idle_since = time.monotonic()

    def session(self) -> duckdb.DuckDBPyConnection:
        """A new connection to this database, for one statement: its temporary objects die with it."""
        return self.conn.cursor()

    def output_dir(self, name: str) -> Path:
        """An empty folder the statement's DuckDB may write into; emptied when the statement ends."""
        path = self.outputs / name
        path.mkdir(exist_ok=True)
        return path

    def link(self, s3: S3LocalAccess, bucket: str, key: str) -> Path:
        """The object's current bytes as a file this database may read (see S3LocalAccess.link)."""
        assert self.account is not None
        path = s3.link(self.account, bucket, key, self.inputs)
        self.linked.add(path.name)
        return path

    def has_view(self, name: str) -> bool:
        """Whether a shared view of this name was made (see QuerySession.open); it then counts as just used."""
        if name in self._views:
            self._views.move_to_end(name)
            return True
        return False

    def add_view(self, name: str, conn: duckdb.DuckDBPyConnection) -> None:
        """Records a shared view made through `conn`, dropping the least recently used beyond MAX_VIEWS."""
        self._views[name] = None
        while len(self._views) > MAX_VIEWS:
            old, _ = self._views.popitem(last=False)
            conn.execute(f"DROP VIEW IF EXISTS {old}")
            conn.execute(f"DROP TABLE IF EXISTS {old}_files")

    def bound(self, text: str) -> Bound | None:
        """The columns `text` bound to before, when it reads only shared views (see remember_bound)."""
        return self._bound.get(text)

    def remember_bound(self, text: str, bound: Bound) -> None:
        """Keeps what a text that reads only shared views binds to."""
        self._bound[text] = bound

    def worn_out(self, now: float) -> bool:
        return (self.uses >= MAX_USES or now - self.idle_since > IDLE_SECONDS
                or len(self.linked) >= MAX_LINKS)

    def close(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.conn.close()
        shutil.rmtree(self.root, ignore_errors=True)


class QueryDatabases:
    """The databases of one server: unbound ones made ahead of need, and idle ones bound to an account."""

    def __init__(self, root: Path, ready: int, idle: int, threads: int = 2, memory_limit: str = "2GB") -> None:
        self.root = root
        self.ready_target = ready
        self.idle_limit = idle
        self.threads = threads
        self.memory_limit = memory_limit
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        self._ready: list[QueryDatabase] = []
        self._idle: list[QueryDatabase] = []  # oldest first
        self._names = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._sweeper: threading.Timer | None = None

    def _make(self) -> QueryDatabase:
        return QueryDatabase(self.root / f"db{next(self._names)}", self.threads, self.memory_limit)

    def take(self, account: str) -> QueryDatabase:
        """An idle database of this account, else a fresh one bound to it."""
        now = time.monotonic()
        retired: list[QueryDatabase] = []
        found: QueryDatabase | None = None
        with self._lock:
            for database in reversed(self._idle):
                if database.account == account and not database.worn_out(now):
                    found = database
                    break
            if found is not None:
                self._idle.remove(found)
            retired = self._retire_worn(now)
            if found is None and self._ready:
                found = self._ready.pop()
        for database in retired:
            database.close()
        if found is None:
            found = self._make()
        found.account = account
        found.uses += 1
        return found

    def give_back(self, database: QueryDatabase, healthy: bool = True) -> None:
        """Takes a database back after its statement; an unhealthy one (the statement broke) is retired."""
        for child in database.outputs.iterdir():
            shutil.rmtree(child, ignore_errors=True)
        database.idle_since = time.monotonic()
        if not healthy or database.worn_out(database.idle_since):
            database.close()
            return
        surplus: list[QueryDatabase] = []
        with self._lock:
            if self._closed:
                surplus = [database]
            else:
                self._idle.append(database)
                while len(self._idle) > self.idle_limit:
                    surplus.append(self._idle.pop(0))
                self._schedule_sweep()
        for extra in surplus:
            extra.close()

    def sweep(self) -> None:
        """Retires the idle databases that have been idle too long; runs again while any stay idle."""
        now = time.monotonic()
        with self._lock:
            self._sweeper = None
            retired = self._retire_worn(now)
            self._schedule_sweep()
        for database in retired:
            database.close()

    def _retire_worn(self, now: float) -> list[QueryDatabase]:
        """Takes the worn-out databases off the idle list (the caller holds the lock, and closes them)."""
        retired = [d for d in self._idle if d.worn_out(now)]
        self._idle = [d for d in self._idle if d not in retired]
        return retired

    def _schedule_sweep(self) -> None:
        """Starts the sweep timer while databases are idle, so that a server left idle still lets go of deleted
        objects' bytes (the caller holds the lock)."""
        if self._sweeper is None and self._idle and not self._closed:
            self._sweeper = threading.Timer(IDLE_SECONDS + 1, self.sweep)
            self._sweeper.daemon = True
            self._sweeper.start()

    def fill(self) -> None:
        """Makes unbound databases until enough are ready (or the pool is closed)."""
        while True:
            with self._lock:
                if self._closed or len(self._ready) >= self.ready_target:
                    return
            try:
                database = self._make()
            except (OSError, duckdb.Error):
                log.exception("could not prepare a DuckDB database for Athena")
                return
            with self._lock:
                if not self._closed and len(self._ready) < self.ready_target:
                    self._ready.append(database)
                    continue
            database.close()
            return

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._sweeper is not None:
                self._sweeper.cancel()
                self._sweeper = None
            everything, self._ready, self._idle = self._ready + self._idle, [], []
        for database in everything:
            database.close()
