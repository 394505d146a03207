"""The Data API's statements: durable records of what was submitted, how it ran, and where its results are.

A statement's record is the DescribeStatement output (timestamps as epoch seconds) plus fogbank's own
members, which start with "_" (the warehouse owner, the result files). Records and result files are kept
for 24 hours, as the Data API keeps them. A statement that was SUBMITTED or running when the server stopped
can never finish: at start it is marked FAILED with the reason.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RETENTION_SECONDS = 24 * 3600
ACTIVE = ("SUBMITTED", "PICKED", "STARTED")
INTERRUPTED = "The statement was interrupted because the server stopped before it finished."

SCHEMA = """
CREATE TABLE IF NOT EXISTS statements (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    name TEXT,
    token TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS statements_scope ON statements (account, region, created);
CREATE INDEX IF NOT EXISTS statements_token ON statements (account, region, token) WHERE token IS NOT NULL;
"""


class StatementStore:
    """Statement records in SQLite (WAL, synchronous=FULL) and result files in one folder per statement."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.results = root / "results"
        self.results.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(root / "statements.db", isolation_level=None, check_same_thread=False,
                                     timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def result_folder(self, statement_id: str) -> Path:
        return self.results / statement_id

    def insert(self, scope: tuple[str, str], record: dict[str, Any], token: str | None = None) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO statements (id, account, region, created, status, name, token, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record["Id"], *scope, record["CreatedAt"], record["Status"], record.get("StatementName"), token,
                 json.dumps(record)))

    def find_token(self, scope: tuple[str, str], token: str) -> dict[str, Any] | None:
        """The statement an earlier request with the same idempotency token submitted."""
        with self._lock:
            row = self._conn.execute("SELECT body FROM statements WHERE account = ? AND region = ? AND token = ?",
                                     (*scope, token)).fetchone()
        return json.loads(row[0]) if row else None

    def get(self, statement_id: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        with self._lock:
            row = self._conn.execute("SELECT account, region, body FROM statements WHERE id = ?",
                                     (statement_id,)).fetchone()
        return ((row[0], row[1]), json.loads(row[2])) if row else None

    def update(self, statement_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Applies `change` to a record atomically and stores it."""
        with self._lock:
            row = self._conn.execute("SELECT body FROM statements WHERE id = ?", (statement_id,)).fetchone()
            if row is None:
                raise KeyError(statement_id)
            record: dict[str, Any] = json.loads(row[0])
            change(record)
            self._conn.execute("UPDATE statements SET status = ?, body = ? WHERE id = ?",
                               (record["Status"], json.dumps(record), statement_id))
        return record

    def records(self, scope: tuple[str, str], status: str | None, name_prefix: str | None,
                before: tuple[float, str] | None, limit: int,
                keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Records newest first, after the (created, id) position `before`, that `keep` accepts."""
        sql = "SELECT created, id, body FROM statements WHERE account = ? AND region = ?"
        args: list[Any] = [*scope]
        if status and status != "ALL":
            sql += " AND status = ?"
            args.append(status)
        if before is not None:
            sql += " AND (created < ? OR (created = ? AND id < ?))"
            args += [before[0], before[0], before[1]]
        sql += " ORDER BY created DESC, id DESC"
        out: list[dict[str, Any]] = []
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        for _created, _id, body in rows:
            record = json.loads(body)
            if name_prefix and not (record.get("StatementName") or "").startswith(name_prefix):
                continue
            if not keep(record):
                continue
            out.append(record)
            if len(out) > limit:
                break
        return out

    def fail_interrupted(self) -> int:
        """Marks statements a stopped server left unfinished as FAILED; returns how many."""
        now = time.time()
        with self._lock:
            rows = self._conn.execute(
                f"SELECT id FROM statements WHERE status IN ({', '.join('?' for _ in ACTIVE)})", ACTIVE).fetchall()
        for (statement_id,) in rows:
            def fail(record: dict[str, Any]) -> None:
                record["Status"] = "FAILED"
                record["Error"] = f"FATAL: {INTERRUPTED}"
                record["UpdatedAt"] = now
                for sub in record.get("SubStatements") or []:
                    if sub["Status"] in ACTIVE:
                        sub["Status"] = "FAILED" if sub["Status"] != "SUBMITTED" else "ABORTED"
                        sub["Error"] = f"FATAL: {INTERRUPTED}"
                        sub["UpdatedAt"] = now

            self.update(statement_id, fail)
        return len(rows)

    def sweep(self, now: float | None = None) -> int:
        """Deletes records and results older than the retention period; returns how many."""
        cutoff = (now or time.time()) - RETENTION_SECONDS
        with self._lock:
            rows = self._conn.execute("SELECT id FROM statements WHERE created < ? AND status NOT IN "
                                      f"({', '.join('?' for _ in ACTIVE)})", (cutoff, *ACTIVE)).fetchall()
            self._conn.executemany("DELETE FROM statements WHERE id = ?", rows)
        for (statement_id,) in rows:
            shutil.rmtree(self.result_folder(statement_id), ignore_errors=True)
        known = {p.name for p in self.results.iterdir()}
        with self._lock:
            present = {r[0] for r in self._conn.execute("SELECT id FROM statements")}
        for orphan in known - present:
            shutil.rmtree(self.results / orphan, ignore_errors=True)
        return len(rows)


def encode_token(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


def decode_token(token: str) -> list[Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("invalid token") from None
    if not isinstance(value, list):
        raise ValueError("invalid token")
    return value
