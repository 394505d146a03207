"""Textract's asynchronous jobs: rows in SQLite (WAL), results in JSON files named by job id.

A job id is generated here (64 hex characters, as AWS's are), so it is safe as a file name; nothing a
client sends becomes a path. Results are written to a temporary file, fsynced and renamed before the row
says SUCCEEDED, so a finished job always has its whole result and a crash leaves no half-written one.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fogbank.engines.job_results import JobResults
from fogbank.engines.metadb import LockedDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    token TEXT,
    request TEXT NOT NULL,
    message TEXT,
    pages INTEGER,
    warnings TEXT
);
CREATE INDEX IF NOT EXISTS jobs_token ON jobs (account, region, kind, token);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
"""


@dataclass
class Job:
    job_id: str
    account: str
    region: str
    kind: str
    status: str
    created: float
    token: str | None
    request: dict[str, Any]
    message: str | None
    pages: int | None
    warnings: list[dict[str, Any]]


class TextractStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.results = JobResults(root / "results")
        self._store = LockedDb(root / "textract.sqlite3", _SCHEMA)
        self._lock = self._store.lock
        self._db = self._store.conn

    @property
    def db(self) -> LockedDb:
        """The service's database, which the adapter store shares."""
        return self._store

    def close(self) -> None:
        self._store.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._store.transaction()

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Job:
        return Job(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]), row[8], row[9],
                   json.loads(row[10]) if row[10] else [])

    def create(self, account: str, region: str, kind: str, request: dict[str, Any],
               token: str | None) -> tuple[Job, bool]:
        """A new SUBMITTED job, or the existing one with the same client token (and False)."""
        with self._tx() as db:
            if token:
                row = db.execute("SELECT * FROM jobs WHERE account = ? AND region = ? AND kind = ? AND token = ?",
                                 (account, region, kind, token)).fetchone()
                if row is not None:
                    return self._row(row), False
            job = Job(uuid.uuid4().hex + uuid.uuid4().hex, account, region, kind, "IN_PROGRESS", time.time(), token,
                      request, None, None, [])
            db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (job.job_id, account, region, kind, job.status, job.created, token,
                        json.dumps(request, default=str), None, None, None))
        return job, True

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return self._row(row) if row else None

    def by_status(self, status: str) -> list[Job]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status = ?", (status,)).fetchall()
        return [self._row(r) for r in rows]

    def finish(self, job_id: str, status: str, message: str | None = None, pages: int | None = None,
               warnings: list[dict[str, Any]] | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET status = ?, message = ?, pages = ?, warnings = ? WHERE job_id = ?",
                       (status, message, pages, json.dumps(warnings) if warnings else None, job_id))

