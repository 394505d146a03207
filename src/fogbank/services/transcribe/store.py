"""Transcribe's durable state in SQLite (WAL): jobs, custom vocabularies and vocabulary filters."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL, status TEXT NOT NULL,
    job TEXT NOT NULL, extra TEXT NOT NULL, PRIMARY KEY (account, region, name));
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, account, region, name));
"""

INTERRUPTED = "fogbank stopped before the job finished; start a new job."

Scope = tuple[str, str]


class TranscribeStore:
    """Jobs keyed by (account, region, name) as AWS keys them; vocabularies and filters as JSON documents."""

    def __init__(self, root: Path) -> None:
        self._conn = sqlite3.connect(root / "transcribe.db", isolation_level=None, check_same_thread=False,
                                     timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- jobs

    def add_job(self, scope: Scope, job: dict[str, Any], extra: dict[str, Any]) -> bool:
        """Stores a new job; False when the name is taken in this account and region."""
        with self._lock:
            try:
                self._conn.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   (*scope, job["TranscriptionJobName"], time.time(), job["TranscriptionJobStatus"],
                                    json.dumps(job), json.dumps(extra)))
            except sqlite3.IntegrityError:
                return False
            return True

    def job(self, scope: Scope, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self._lock:
            row = self._conn.execute("SELECT job, extra FROM jobs WHERE account=? AND region=? AND name=?",
                                     (*scope, name)).fetchone()
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def update_job(self, scope: Scope, name: str, **changes: Any) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT job FROM jobs WHERE account=? AND region=? AND name=?",
                                     (*scope, name)).fetchone()
            if row is None:
                return None
            job = json.loads(row[0])
            job.update({k: v for k, v in changes.items() if v is not None})
            self._conn.execute("UPDATE jobs SET status=?, job=? WHERE account=? AND region=? AND name=?",
                               (job["TranscriptionJobStatus"], json.dumps(job), *scope, name))
            return job

    def jobs(self, scope: Scope) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT job FROM jobs WHERE account=? AND region=? ORDER BY created DESC, name",
                                      scope).fetchall()
        return [json.loads(row[0]) for row in rows]

    def delete_job(self, scope: Scope, name: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM jobs WHERE account=? AND region=? AND name=?",
                                      (*scope, name)).rowcount > 0

    def fail_interrupted(self) -> int:
        """Jobs a previous process left queued or running end FAILED with a reason, never stuck."""
        with self._lock:
            rows = self._conn.execute("SELECT account, region, name, job FROM jobs "
                                      "WHERE status IN ('QUEUED', 'IN_PROGRESS')").fetchall()
            for account, region, name, text in rows:
                job = json.loads(text)
                job.update(TranscriptionJobStatus="FAILED", FailureReason=INTERRUPTED, CompletionTime=time.time())
                self._conn.execute("UPDATE jobs SET status='FAILED', job=? WHERE account=? AND region=? AND name=?",
                                   (json.dumps(job), account, region, name))
            return len(rows)

    # -- vocabularies and filters

    def put(self, kind: str, scope: Scope, name: str, body: dict[str, Any], create: bool) -> bool:
        with self._lock:
            if create:
                try:
                    self._conn.execute("INSERT INTO resources VALUES (?, ?, ?, ?, ?)",
                                       (kind, *scope, name, json.dumps(body)))
                except sqlite3.IntegrityError:
                    return False
                return True
            return self._conn.execute("UPDATE resources SET body=? WHERE kind=? AND account=? AND region=? AND name=?",
                                      (json.dumps(body), kind, *scope, name)).rowcount > 0

    def get(self, kind: str, scope: Scope, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT body FROM resources WHERE kind=? AND account=? AND region=? AND name=?",
                                     (kind, *scope, name)).fetchone()
        return json.loads(row[0]) if row else None

    def all(self, kind: str, scope: Scope) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT body FROM resources WHERE kind=? AND account=? AND region=? "
                                      "ORDER BY name", (kind, *scope)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def delete(self, kind: str, scope: Scope, name: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM resources WHERE kind=? AND account=? AND region=? AND name=?",
                                      (kind, *scope, name)).rowcount > 0
