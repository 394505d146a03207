"""Translate's durable state in SQLite (WAL): terminologies and batch translation jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fogbank.engines.metadb import LockedDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS terminologies (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, properties TEXT NOT NULL, terms TEXT NOT NULL,
    PRIMARY KEY (account, region, name));
CREATE TABLE IF NOT EXISTS jobs (
    account TEXT NOT NULL, region TEXT NOT NULL, job_id TEXT NOT NULL, client_token TEXT NOT NULL,
    created REAL NOT NULL, status TEXT NOT NULL, job TEXT NOT NULL, PRIMARY KEY (account, region, job_id));
"""

INTERRUPTED = "fogbank stopped before the job finished; start the job again."

Scope = tuple[str, str]


class TranslateStore:
    def __init__(self, root: Path) -> None:
        self._db = LockedDb(root / "translate.db", _SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- terminologies

    def put_terminology(self, scope: Scope, name: str, properties: dict[str, Any], terms: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO terminologies VALUES (?, ?, ?, ?, ?)",
                         (*scope, name, json.dumps(properties), json.dumps(terms)))

    def terminology(self, scope: Scope, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        row = self._db.row("SELECT properties, terms FROM terminologies WHERE account=? AND region=? AND name=?",
                           (*scope, name))
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def terminologies(self, scope: Scope) -> list[dict[str, Any]]:
        rows = self._db.rows("SELECT properties FROM terminologies WHERE account=? AND region=? ORDER BY name", scope)
        return [json.loads(row[0]) for row in rows]

    def delete_terminology(self, scope: Scope, name: str) -> bool:
        return self._db.execute("DELETE FROM terminologies WHERE account=? AND region=? AND name=?",
                                (*scope, name)) > 0

    # -- jobs

    def add_job(self, scope: Scope, job: dict[str, Any], client_token: str) -> dict[str, Any]:
        """Stores a job, or returns the one an earlier request with the same client token created."""
        with self._db.lock:
            row = self._db.row("SELECT job FROM jobs WHERE account=? AND region=? AND client_token=?",
                               (*scope, client_token))
            if row:
                return dict(json.loads(row[0]))
            self._db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (*scope, job["JobId"], client_token, time.time(), job["JobStatus"], json.dumps(job)))
            return job

    def job(self, scope: Scope, job_id: str) -> dict[str, Any] | None:
        row = self._db.row("SELECT job FROM jobs WHERE account=? AND region=? AND job_id=?", (*scope, job_id))
        return json.loads(row[0]) if row else None

    def jobs(self, scope: Scope) -> list[dict[str, Any]]:
        rows = self._db.rows("SELECT job FROM jobs WHERE account=? AND region=? ORDER BY created DESC", scope)
        return [json.loads(row[0]) for row in rows]

    def update_job(self, scope: Scope, job_id: str, **changes: Any) -> dict[str, Any] | None:
        with self._db.lock:
            row = self._db.row("SELECT job FROM jobs WHERE account=? AND region=? AND job_id=?", (*scope, job_id))
            if row is None:
                return None
            job = json.loads(row[0])
            job.update(changes)
            self._db.execute("UPDATE jobs SET status=?, job=? WHERE account=? AND region=? AND job_id=?",
                             (job["JobStatus"], json.dumps(job), *scope, job_id))
            return dict(job)

    def fail_interrupted(self) -> int:
        with self._db.lock:
            rows = self._db.rows("SELECT account, region, job_id, job FROM jobs WHERE status IN "
                                 "('SUBMITTED', 'IN_PROGRESS', 'STOP_REQUESTED')")
            for account, region, job_id, text in rows:
                job = json.loads(text)
                stopped = job["JobStatus"] == "STOP_REQUESTED"
                job.update(JobStatus="STOPPED" if stopped else "FAILED", EndTime=time.time())
                if not stopped:
                    job["Message"] = INTERRUPTED
                self._db.execute("UPDATE jobs SET status=?, job=? WHERE account=? AND region=? AND job_id=?",
                                 (job["JobStatus"], json.dumps(job), account, region, job_id))
            return len(rows)
