"""The results of background jobs (Textract documents, Rekognition videos): one JSON file per job id.

A result is written to a temporary file, fsynced and renamed into place (and the folder fsynced) before its
job is marked SUCCEEDED, so a job that says it succeeded always has its whole result on disk. The last few
results read stay parsed in memory, since clients page through one job's results one request at a time.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from fogbank.engines.blobs import fsync_dir


class JobResults:
    """Result files under `folder`, named by job id (ids are checked: never a client string as a path)."""

    def __init__(self, folder: Path, cached: int = 4) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.tmp"):  # a write cut short by a crash: its job never succeeded
            stale.unlink(missing_ok=True)
        self._cached = cached
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, job_id: str) -> Path:
        if not job_id.isalnum():
            raise ValueError("not a job id")
        return self.folder / f"{job_id}.json"

    def write(self, job_id: str, result: dict[str, Any]) -> None:
        path = self.path(job_id)
        temp = path.with_suffix(".tmp")
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(result, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        fsync_dir(self.folder)
        with self._lock:
            self._cache.pop(job_id, None)

    def read(self, job_id: str) -> dict[str, Any] | None:
        """The job's result, or None. Callers must not change it: it is shared with the next reader."""
        with self._lock:
            cached = self._cache.get(job_id)
            if cached is not None:
                self._cache.move_to_end(job_id)
                return cached
        try:
            with open(self.path(job_id), encoding="utf-8") as handle:
                data: dict[str, Any] = json.load(handle)
        except FileNotFoundError:
            return None
        with self._lock:
            self._cache[job_id] = data
            while len(self._cache) > self._cached:
                self._cache.popitem(last=False)
        return data
