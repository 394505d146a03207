"""Rekognition Video's jobs: durable rows in SQLite (WAL), results in JSON files named by job id, and a
bounded pool of worker threads that runs them.

A job id is generated here (64 hex characters, as AWS's are), so it is safe as a file name; nothing a
client sends becomes a path. A result is written to a temporary file, fsynced and renamed before its row
says SUCCEEDED, so a finished job always has its whole result. A job still IN_PROGRESS when the server
starts was cut short by a crash or a restart: it is marked FAILED with that reason, never left running.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fogbank.engines.job_results import JobResults
from fogbank.engines.metadb import LockedDb
from fogbank.errors import AwsError

log = logging.getLogger(__name__)

RESULTS_CACHED = 4
RESTART_MESSAGE = "The fogbank server restarted while the job was running; start the job again."

_SCHEMA = """
CREATE TABLE IF NOT EXISTS video_jobs (
    job_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    token TEXT,
    request TEXT NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS video_jobs_token ON video_jobs (account, region, kind, token);
CREATE INDEX IF NOT EXISTS video_jobs_status ON video_jobs (status, account, region);
"""


@dataclass(frozen=True)
class VideoJob:
    job_id: str
    account: str
    region: str
    kind: str  # which Start* operation made it: labels, faces, text, moderation, face-search, segments, persons
    status: str  # IN_PROGRESS, SUCCEEDED or FAILED, as AWS names them
    created: float
    token: str | None
    request: dict[str, Any]
    message: str | None


class VideoJobStore:
    def __init__(self, root: Path) -> None:
        self.results = JobResults(root / "video-results", RESULTS_CACHED)
        self._db = LockedDb(root / "video_jobs.sqlite3", _SCHEMA)

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _job(row: tuple[Any, ...]) -> VideoJob:
        return VideoJob(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]), row[8])

    def create(self, account: str, region: str, kind: str, request: dict[str, Any],
               token: str | None) -> tuple[VideoJob, bool]:
        """A new IN_PROGRESS job, or the one already started with the same client token (and False)."""
        with self._db.transaction() as db:
            if token:
                row = db.execute("SELECT * FROM video_jobs WHERE account = ? AND region = ? AND kind = ? "
                                 "AND token = ?", (account, region, kind, token)).fetchone()
                if row is not None:
                    return self._job(row), False
            job = VideoJob(uuid.uuid4().hex + uuid.uuid4().hex, account, region, kind, "IN_PROGRESS", time.time(),
                           token, request, None)
            db.execute("INSERT INTO video_jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (job.job_id, account, region, kind, job.status, job.created, token,
                        json.dumps(request, sort_keys=True), None))
        return job, True

    def find(self, account: str, region: str, kind: str, token: str) -> VideoJob | None:
        """The job a Start* with this client token made, if any."""
        row = self._db.row("SELECT * FROM video_jobs WHERE account = ? AND region = ? AND kind = ? AND token = ?",
                           (account, region, kind, token))
        return self._job(row) if row else None

    def get(self, account: str, region: str, kind: str, job_id: str) -> VideoJob | None:
        row = self._db.row("SELECT * FROM video_jobs WHERE job_id = ? AND account = ? AND region = ? AND kind = ?",
                           (job_id, account, region, kind))
        return self._job(row) if row else None

    def running(self, account: str | None = None, region: str | None = None) -> list[VideoJob]:
        """Jobs IN_PROGRESS: all of them, or one account's in one region."""
        if account is None:
            rows = self._db.rows("SELECT * FROM video_jobs WHERE status = 'IN_PROGRESS'")
        else:
            rows = self._db.rows("SELECT * FROM video_jobs WHERE status = 'IN_PROGRESS' AND account = ? "
                                 "AND region = ?", (account, region))
        return [self._job(r) for r in rows]

    def finish(self, job_id: str, status: str, message: str | None = None) -> None:
        self._db.execute("UPDATE video_jobs SET status = ?, message = ? WHERE job_id = ?", (status, message, job_id))

class JobFailed(Exception):
    """The job cannot finish (no such object, not a video); the message becomes its StatusMessage."""


Work = Callable[[VideoJob, Callable[[], bool]], dict[str, Any]]


class VideoJobRunner:
    """Runs each job's work on one of a few threads; the work gets a callable saying the server is closing.

    Work that raises JobFailed fails its job with that message, an AwsError with that error's code and
    message; anything else fails it with InternalServerError (and is logged with its traceback).
    """

    def __init__(self, store: VideoJobStore, work: Work, workers: int = 2) -> None:
        self.store = store
        self.work = work
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="rekognition-video")
        self._closing = threading.Event()

    def recover(self) -> None:
        for job in self.store.running():
            self.store.finish(job.job_id, "FAILED", RESTART_MESSAGE)

    def submit(self, job: VideoJob) -> None:
        self.pool.submit(self._run, job)

    def close(self) -> None:
        self._closing.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: VideoJob) -> None:
        try:
            result = self.work(job, self._closing.is_set)
            self.store.results.write(job.job_id, result)
            self.store.finish(job.job_id, "SUCCEEDED")
        except JobFailed as exc:
            self.store.finish(job.job_id, "FAILED", str(exc))
        except AwsError as exc:
            self.store.finish(job.job_id, "FAILED", f"{exc.error_code}: {exc.message}")
        except Exception as exc:
            if self._closing.is_set():
                self.store.finish(job.job_id, "FAILED", RESTART_MESSAGE)
                return
            log.exception("rekognition video job %s failed", job.job_id)
            self.store.finish(job.job_id, "FAILED", f"InternalServerError: {exc}")
