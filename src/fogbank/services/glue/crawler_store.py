"""Crawlers' durable state: definitions, state machine (READY -> RUNNING -> STOPPING -> READY), schedules,
the last crawl's outcome, metrics and the crawl history.

Every state change is committed before it is acted on, so after a crash or restart `recover()` finds each
crawl that was under way and ends it FAILED with a reason; no crawler is left RUNNING.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fogbank.services.glue.db import GlueDb, dumps, loads
from fogbank.services.glue.errors import (
    AlreadyExistsException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    CrawlerStoppingException,
    EntityNotFoundException,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS crawlers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    state TEXT NOT NULL,
    schedule_state TEXT NOT NULL,
    version INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    crawl_id TEXT,
    crawl_started REAL,
    last_crawl TEXT,
    metrics TEXT,
    runtimes TEXT NOT NULL DEFAULT '[]',
    UNIQUE (account, region, name)
);
CREATE TABLE IF NOT EXISTS crawls (
    crawler INTEGER NOT NULL,
    crawl_id TEXT NOT NULL,
    state TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    summary TEXT,
    error TEXT,
    PRIMARY KEY (crawler, crawl_id)
) WITHOUT ROWID;
"""

LOG_GROUP = "/aws-glue/crawlers"
INTERRUPTED = "The crawl was interrupted: the server stopped before the crawl finished."
MAX_HISTORY = 1000
_RUNTIMES_KEPT = 100


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass
class CrawlerRecord:
    account: str
    region: str
    name: str
    definition: dict[str, Any]
    state: str
    schedule_state: str
    version: int
    created: float
    updated: float
    crawl_id: str | None = None
    crawl_started: float | None = None
    last_crawl: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    runtimes: list[float] = field(default_factory=list)

    def shape(self, clock: float) -> dict[str, Any]:
        """The Crawler structure GetCrawler returns."""
        out: dict[str, Any] = dict(self.definition)
        out.update({"Name": self.name, "State": self.state, "Version": self.version,
                    "CreationTime": _dt(self.created), "LastUpdated": _dt(self.updated),
                    "CrawlElapsedTime": 0})
        expression = self.definition.get("Schedule")
        if expression:
            out["Schedule"] = {"ScheduleExpression": expression, "State": self.schedule_state}
        else:
            out.pop("Schedule", None)
        if self.state != "READY" and self.crawl_started is not None:
            out["CrawlElapsedTime"] = int((clock - self.crawl_started) * 1000)
        if self.last_crawl is not None:
            last = dict(self.last_crawl)
            last["StartTime"] = _dt(last.get("StartTime"))
            out["LastCrawl"] = last
        return out

    def metrics_shape(self) -> dict[str, Any]:
        runtimes = self.runtimes
        return {
            "CrawlerName": self.name,
            "TimeLeftSeconds": 0.0,
            "StillEstimating": False,
            "LastRuntimeSeconds": runtimes[-1] if runtimes else 0.0,
            "MedianRuntimeSeconds": float(statistics.median(runtimes)) if runtimes else 0.0,
            "TablesCreated": int(self.metrics.get("TablesCreated", 0)),
            "TablesUpdated": int(self.metrics.get("TablesUpdated", 0)),
            "TablesDeleted": int(self.metrics.get("TablesDeleted", 0)),
        }


_COLUMNS = ("account, region, name, definition, state, schedule_state, version, created, updated, crawl_id, "
            "crawl_started, last_crawl, metrics, runtimes")


def _record(row: tuple[Any, ...]) -> CrawlerRecord:
    return CrawlerRecord(row[0], row[1], row[2], loads(row[3]), row[4], row[5], row[6], row[7], row[8], row[9],
                         row[10], loads(row[11]) if row[11] else None, loads(row[12]) if row[12] else {},
                         loads(row[13]))


def _not_found(name: str) -> EntityNotFoundException:
    return EntityNotFoundException(f"Crawler with name {name} has not been found.")


class CrawlerStore:
    def __init__(self, db: GlueDb, clock: Any = time.time) -> None:
        self.db = db
        self.clock = clock
        db.add_schema(SCHEMA)

    def _row(self, conn: sqlite3.Connection, account: str, region: str, name: str) -> CrawlerRecord:
        row = conn.execute(f"SELECT {_COLUMNS} FROM crawlers WHERE account = ? AND region = ? AND name = ?",
                           (account, region, name)).fetchone()
        if row is None:
            raise _not_found(name)
        return _record(row)

    # -- definitions --------------------------------------------------------------------------------------

    def create(self, account: str, region: str, name: str, definition: dict[str, Any]) -> CrawlerRecord:
        stamp = self.clock()
        schedule_state = "SCHEDULED" if definition.get("Schedule") else "NOT_SCHEDULED"
        record = CrawlerRecord(account, region, name, definition, "READY", schedule_state, 1, stamp, stamp)

        def write(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO crawlers (account, region, name, definition, state, schedule_state, version, "
                    "created, updated) VALUES (?, ?, ?, ?, 'READY', ?, 1, ?, ?)",
                    (account, region, name, dumps(definition), schedule_state, stamp, stamp))
            except sqlite3.IntegrityError:
                raise AlreadyExistsException(f"{name} already exists") from None

        self.db.write(write)
        return record

    def get(self, account: str, region: str, name: str) -> CrawlerRecord:
        return self._row(self.db.reader(), account, region, name)

    def crawlers(self, account: str, region: str, after: str | None = None, limit: int = 1_000_000,
             names: list[str] | None = None) -> list[CrawlerRecord]:
        sql = f"SELECT {_COLUMNS} FROM crawlers WHERE account = ? AND region = ? AND name > ?"
        params: list[Any] = [account, region, after or ""]
        if names is not None:
            sql += f" AND name IN ({','.join('?' * len(names))})"
            params.extend(names)
        sql += " ORDER BY name LIMIT ?"
        params.append(limit)
        return [_record(r) for r in self.db.reader().execute(sql, params)]

    def update(self, account: str, region: str, name: str, changes: dict[str, Any],
               removed: tuple[str, ...] = ()) -> CrawlerRecord:
        """Applies changed definition members; refused while a crawl runs."""
        def write(conn: sqlite3.Connection) -> CrawlerRecord:
            record = self._row(conn, account, region, name)
            if record.state != "READY":
                raise CrawlerRunningException(f"Crawler with name {name} is running and cannot be updated.")
            definition = {**record.definition, **changes}
            for key in removed:
                definition.pop(key, None)
            schedule_state = record.schedule_state
            if "Schedule" in changes or "Schedule" in removed:
                schedule_state = "SCHEDULED" if definition.get("Schedule") else "NOT_SCHEDULED"
            conn.execute("UPDATE crawlers SET definition = ?, schedule_state = ?, version = version + 1, "
                         "updated = ? WHERE account = ? AND region = ? AND name = ?",
                         (dumps(definition), schedule_state, self.clock(), account, region, name))
            return self._row(conn, account, region, name)

        return self.db.write(write)

    def set_schedule_state(self, account: str, region: str, name: str, state: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            self._row(conn, account, region, name)
            conn.execute("UPDATE crawlers SET schedule_state = ? WHERE account = ? AND region = ? AND name = ?",
                         (state, account, region, name))

        self.db.write(write)

    def delete(self, account: str, region: str, name: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT id, state FROM crawlers WHERE account = ? AND region = ? AND name = ?",
                               (account, region, name)).fetchone()
            if row is None:
                raise _not_found(name)
            if row[1] != "READY":
                raise CrawlerRunningException(f"Crawler with name {name} is running and cannot be deleted.")
            conn.execute("DELETE FROM crawls WHERE crawler = ?", (row[0],))
            conn.execute("DELETE FROM crawlers WHERE id = ?", (row[0],))

        self.db.write(write)

    def running_count(self) -> int:
        (count,) = self.db.reader().execute("SELECT COUNT(*) FROM crawlers WHERE state != 'READY'").fetchone()
        return int(count)

    def scheduled(self) -> list[CrawlerRecord]:
        """Every crawler, of every account, whose schedule is on."""
        rows = self.db.reader().execute(
            f"SELECT {_COLUMNS} FROM crawlers WHERE schedule_state = 'SCHEDULED' ORDER BY id")
        return [_record(r) for r in rows]

    # -- crawls -------------------------------------------------------------------------------------------

    def begin_crawl(self, account: str, region: str, name: str) -> str:
        """READY -> RUNNING with a new crawl id; CrawlerRunningException when a crawl is under way."""
        crawl_id = str(uuid.uuid4())

        def write(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT id, state FROM crawlers WHERE account = ? AND region = ? AND name = ?",
                               (account, region, name)).fetchone()
            if row is None:
                raise _not_found(name)
            if row[1] != "READY":
                raise CrawlerRunningException(f"Crawler with name {name} has already started")
            stamp = self.clock()
            conn.execute("UPDATE crawlers SET state = 'RUNNING', crawl_id = ?, crawl_started = ? WHERE id = ?",
                         (crawl_id, stamp, row[0]))
            conn.execute("INSERT INTO crawls (crawler, crawl_id, state, started) VALUES (?, ?, 'RUNNING', ?)",
                         (row[0], crawl_id, stamp))
            conn.execute("DELETE FROM crawls WHERE crawler = ? AND crawl_id IN (SELECT crawl_id FROM crawls "
                         "WHERE crawler = ? ORDER BY started DESC LIMIT -1 OFFSET ?)",
                         (row[0], row[0], MAX_HISTORY))

        self.db.write(write)
        return crawl_id

    def request_stop(self, account: str, region: str, name: str) -> str:
        """RUNNING -> STOPPING; returns the crawl id to cancel."""
        def write(conn: sqlite3.Connection) -> str:
            record = self._row(conn, account, region, name)
            if record.state == "READY":
                raise CrawlerNotRunningException(f"Crawler with name {name} isn't running.")
            if record.state == "STOPPING":
                raise CrawlerStoppingException(f"Crawler with name {name} is stopping.")
            conn.execute("UPDATE crawlers SET state = 'STOPPING' WHERE account = ? AND region = ? AND name = ?",
                         (account, region, name))
            return record.crawl_id or ""

        return self.db.write(write)

    def finish_crawl(self, account: str, region: str, name: str, crawl_id: str, status: str,
                     error: str | None = None, metrics: dict[str, int] | None = None,
                     summary: str | None = None) -> None:
        """Ends a crawl: LastCrawl gets its status (SUCCEEDED, CANCELLED or FAILED) and the crawler is READY."""
        history_state = {"SUCCEEDED": "COMPLETED", "CANCELLED": "STOPPED", "FAILED": "FAILED"}[status]

        def write(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT id, crawl_id, crawl_started, runtimes FROM crawlers "
                "WHERE account = ? AND region = ? AND name = ?", (account, region, name)).fetchone()
            if row is None or row[1] != crawl_id:
                return
            stamp = self.clock()
            started = row[2] if row[2] is not None else stamp
            last: dict[str, Any] = {"Status": status, "LogGroup": LOG_GROUP, "LogStream": name,
                                    "MessagePrefix": crawl_id, "StartTime": started}
            if error:
                last["ErrorMessage"] = error[:2048]
            runtimes: list[float] = loads(row[3])
            runtimes = [*runtimes, round(stamp - started, 3)][-_RUNTIMES_KEPT:]
            conn.execute(
                "UPDATE crawlers SET state = 'READY', crawl_started = NULL, last_crawl = ?, runtimes = ?"
                + (", metrics = ?" if metrics is not None else "") + " WHERE id = ?",
                (dumps(last), dumps(runtimes), *([dumps(metrics)] if metrics is not None else []), row[0]))
            conn.execute("UPDATE crawls SET state = ?, ended = ?, summary = ?, error = ? "
                         "WHERE crawler = ? AND crawl_id = ?",
                         (history_state, stamp, summary, error, row[0], crawl_id))

        self.db.write(write)

    def crawl_state(self, account: str, region: str, name: str, crawl_id: str) -> str | None:
        """RUNNING or STOPPING while `crawl_id` is the crawl under way, else None."""
        row = self.db.reader().execute(
            "SELECT state, crawl_id FROM crawlers WHERE account = ? AND region = ? AND name = ?",
            (account, region, name)).fetchone()
        if row is None or row[1] != crawl_id or row[0] == "READY":
            return None
        return str(row[0])

    def history(self, account: str, region: str, name: str) -> list[dict[str, Any]]:
        """CrawlerHistory entries, newest first."""
        conn = self.db.reader()
        row = conn.execute("SELECT id FROM crawlers WHERE account = ? AND region = ? AND name = ?",
                           (account, region, name)).fetchone()
        if row is None:
            raise _not_found(name)
        out = []
        for crawl_id, state, started, ended, summary, error in conn.execute(
                "SELECT crawl_id, state, started, ended, summary, error FROM crawls WHERE crawler = ? "
                "ORDER BY started DESC", (row[0],)):
            item: dict[str, Any] = {"CrawlId": crawl_id, "State": state, "StartTime": _dt(started),
                                    "LogGroup": LOG_GROUP, "LogStream": name, "MessagePrefix": crawl_id,
                                    "DPUHour": 0.0}
            if ended is not None:
                item["EndTime"] = _dt(ended)
            if summary:
                item["Summary"] = summary
            if error:
                item["ErrorMessage"] = error
            out.append(item)
        return out

    def recover(self) -> list[str]:
        """Ends every crawl a previous process left under way as FAILED; returns the crawlers touched."""
        def write(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
            return [(r[0], r[1], r[2], r[3] or "") for r in conn.execute(
                "SELECT account, region, name, crawl_id FROM crawlers WHERE state != 'READY'")]

        stuck = self.db.write(write)
        for account, region, name, crawl_id in stuck:
            self.finish_crawl(account, region, name, crawl_id, "FAILED", INTERRUPTED)
        return [name for _, _, name, _ in stuck]
