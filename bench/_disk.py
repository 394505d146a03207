"""What the disk itself can do, measured in the same run and filesystem as the servers' data.

A durable object store cannot beat fsync'd sequential writes or fsync'd small-file creation, so these
two figures are the ceiling that the large-PUT and small-PUT numbers are read against.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

_MAX_FILES = 200_000


@dataclass
class DiskResult:
    write_size: int = 0
    write_runs: list[float] = field(default_factory=list)  # MB/s of each run
    files_created: int = 0
    files_seconds: float = 0.0

    @property
    def write_mb_s(self) -> float | None:
        """The median run: one slow or fast outlier on a shared disk must not set the yardstick."""
        return statistics.median(self.write_runs) if self.write_runs else None

    @property
    def files_per_s(self) -> float | None:
        return self.files_created / self.files_seconds if self.files_seconds > 0 else None


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def sequential_write(folder: Path, source: memoryview, chunk: int, timeout: float) -> tuple[int, float]:
    """Writes `source` to a new file in `chunk`-sized writes and fsyncs it; returns (bytes, seconds).

    The clock stops after fsync returns, so the figure is what reached the device, not the page cache.
    A disk too slow to finish within `timeout` yields the bytes written so far.
    """
    path = folder / "raw-write.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    try:
        t0 = time.perf_counter()
        deadline = t0 + timeout
        for off in range(0, len(source), chunk):
            _write_all(fd, source[off : off + chunk])
            written += min(chunk, len(source) - off)
            if time.perf_counter() > deadline:
                break
        os.fsync(fd)
        elapsed = time.perf_counter() - t0
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return written, elapsed


def small_file_creates(folder: Path, payload: bytes, duration: float) -> tuple[int, float]:
    """Creates, writes and fsyncs one file after another for `duration` seconds; returns (files, seconds)."""
    work = folder / "raw-files"
    work.mkdir()
    count = 0
    try:
        t0 = time.perf_counter()
        deadline = t0 + duration
        while count < _MAX_FILES and time.perf_counter() < deadline:
            fd = os.open(work / f"{count:08d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, memoryview(payload))
                os.fsync(fd)
            finally:
                os.close(fd)
            count += 1
        elapsed = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return count, elapsed


def measure(
    folder: Path, source: memoryview, chunk: int, small: bytes, duration: float, write_runs: int = 3,
) -> DiskResult:
    result = DiskResult(write_size=len(source))
    for _ in range(write_runs):
        written, seconds = sequential_write(folder, source, chunk, timeout=120.0)
        if seconds > 0:
            result.write_runs.append(written / 1e6 / seconds)
    result.files_created, result.files_seconds = small_file_creates(folder, small, duration)
    return result
