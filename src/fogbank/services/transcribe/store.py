"""Transcribe's durable state in SQLite (WAL): jobs, custom vocabularies and vocabulary filters."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from fogbank.engines.metadb import LockedDb

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
        self._db = LockedDb(root / "transcribe.db", _SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- jobs

    def add_job(self, scope: Scope, job: dict[str, Any], extra: dict[str, Any]) -> bool:
        """Stores a new job; False when the name is taken in this account and region."""
        try:
            self._db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (*scope, job["TranscriptionJobName"], time.time(), job["TranscriptionJobStatus"],
                              json.dumps(job), json.dumps(extra)))
        except sqlite3.IntegrityError:
            return False
        return True

    def job(self, scope: Scope, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        row = self._db.row("SELECT job, extra FROM jobs WHERE account=? AND region=? AND name=?", (*scope, name))
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def update_job(self, scope: Scope, name: str, **changes: Any) -> dict[str, Any] | None:
        with self._db.lock:
            row = self._db.row("SELECT job FROM jobs WHERE account=? AND region=? AND name=?", (*scope, name))
            if row is None:
                return None
            job: dict[str, Any] = json.loads(row[0])
            job.update({k: v for k, v in changes.items() if v is not None})
            self._db.execute("UPDATE jobs SET status=?, job=? WHERE account=? AND region=? AND name=?",
                             (job["TranscriptionJobStatus"], json.dumps(job), *scope, name))
            return job

    def jobs(self, scope: Scope) -> list[dict[str, Any]]:
        rows = self._db.rows("SELECT job FROM jobs WHERE account=? AND region=? ORDER BY created DESC, name", scope)
        return [json.loads(row[0]) for row in rows]

    def delete_job(self, scope: Scope, name: str) -> bool:
        return self._db.execute("DELETE FROM jobs WHERE account=? AND region=? AND name=?", (*scope, name)) > 0

    def fail_interrupted(self) -> int:
        """Jobs a previous process left queued or running end FAILED with a reason, never stuck."""
        with self._db.lock:
            rows = self._db.rows("SELECT account, region, name, job FROM jobs "
                                 "WHERE status IN ('QUEUED', 'IN_PROGRESS')")
            for account, region, name, text in rows:
                job = json.loads(text)
                job.update(TranscriptionJobStatus="FAILED", FailureReason=INTERRUPTED, CompletionTime=time.time())
                self._db.execute("UPDATE jobs SET status='FAILED', job=? WHERE account=? AND region=? AND name=?",
                                 (json.dumps(job), account, region, name))
            return len(rows)

    # -- vocabularies and filters

    def put(self, kind: str, scope: Scope, name: str, body: dict[str, Any], create: bool) -> bool:
        if create:
            try:
                self._db.execute("INSERT INTO resources VALUES (?, ?, ?, ?, ?)", (kind, *scope, name, json.dumps(body)))
            except sqlite3.IntegrityError:
                return False
            return True
        return self._db.execute("UPDATE resources SET body=? WHERE kind=? AND account=? AND region=? AND name=?",
                                (json.dumps(body), kind, *scope, name)) > 0

    def get(self, kind: str, scope: Scope, name: str) -> dict[str, Any] | None:
        row = self._db.row("SELECT body FROM resources WHERE kind=? AND account=? AND region=? AND name=?",
                           (kind, *scope, name))
        return json.loads(row[0]) if row else None

    def all(self, kind: str, scope: Scope) -> list[dict[str, Any]]:
        rows = self._db.rows("SELECT body FROM resources WHERE kind=? AND account=? AND region=? ORDER BY name",
                             (kind, *scope))
        return [json.loads(row[0]) for row in rows]

    def delete(self, kind: str, scope: Scope, name: str) -> bool:
        return self._db.execute("DELETE FROM resources WHERE kind=? AND account=? AND region=? AND name=?",
                                (kind, *scope, name)) > 0
