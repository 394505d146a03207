"""Immutable blob files addressed by generated ids: atomic, fsynced writes and crash-safe cleanup.

A blob is written to a temporary file, fsynced, then renamed into ``root/<aa>/<id>`` and the directory is
fsynced, so once `commit` returns the bytes survive a power loss. Callers record the id in their own
metadata only after that; a crash in between leaves an orphan that `sweep` removes at the next start.
Ids are generated here, never derived from client input, so no client string ever becomes a path.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

_ID = re.compile(r"^[0-9a-f]{32}$")
_TMP = "tmp"


def fsync_dir(path: Path) -> None:
    """Makes a rename or link inside `path` durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SweepReport:
    """What `BlobStore.sweep` removed, for logs and tests."""

    temp_files: int
    orphans: int


class BlobWriter:
    """One blob being written; becomes visible under its id only at `commit`."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._tmp_path = store.root / _TMP / f"{uuid.uuid4().hex}.part"
        self._file: BinaryIO | None = open(self._tmp_path, "xb")  # noqa: SIM115 - closed by commit/abort
        self.size = 0
        self.blob_id: str | None = None

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError("blob writer is closed")
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> str:
        """Makes the blob durable and returns its id; the temp file is gone afterwards."""
        if self._file is None:
            raise ValueError("blob writer is closed")
        file, self._file = self._file, None
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        blob_id = uuid.uuid4().hex
        final = self._store.path(blob_id)
        self._store._ensure_dir(final.parent)
        os.replace(self._tmp_path, final)
        fsync_dir(final.parent)
        self.blob_id = blob_id
        return blob_id

    def abort(self) -> None:
        """Drops the unfinished blob; safe to call more than once."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.blob_id is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp_path)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.blob_id is None:
            self.abort()


class BlobStore:
    """A directory of immutable blobs, fanned out by the first two hex digits of the id."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / _TMP).mkdir(parents=True, exist_ok=True)
        self._known_dirs: set[str] = set()

    def _ensure_dir(self, directory: Path) -> None:
        if directory.name in self._known_dirs:
            return
        if not directory.exists():
            directory.mkdir(exist_ok=True)
            fsync_dir(self.root)
        self._known_dirs.add(directory.name)

    def path(self, blob_id: str) -> Path:
        """The file of a blob; rejects anything that is not an id this store generated."""
        if not _ID.match(blob_id):
            raise ValueError(f"not a blob id: {blob_id!r}")
        return self.root / blob_id[:2] / blob_id

    def writer(self) -> BlobWriter:
        """A new blob writer; use it as a context manager so an exception discards the temp file."""
        return BlobWriter(self)

    def put(self, data: bytes) -> str:
        """Writes a whole small blob in one call."""
        with self.writer() as writer:
            writer.write(data)
            return writer.commit()

    def open(self, blob_id: str) -> BinaryIO:
        return open(self.path(blob_id), "rb")

    def read(self, blob_id: str) -> bytes:
        with self.open(blob_id) as file:
            return file.read()

    def size(self, blob_id: str) -> int:
        return self.path(blob_id).stat().st_size

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).is_file()

    def delete(self, blob_id: str) -> None:
        """Removes a blob; a missing blob is not an error (deletes are retried after crashes)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(blob_id))

    def clone(self, blob_id: str) -> str:
        """A new blob with the same bytes: a hard link where the filesystem allows, else a copy.

        Blobs are immutable, so a link is a full copy in everything but disk use, and deleting one id
        never affects the other.
        """
        return self.clone_many([blob_id])[0]

    def clone_many(self, blob_ids: list[str]) -> list[str]:
        """`clone` for several blobs, with one directory fsync per directory touched."""
        new_ids: list[str] = []
        touched: set[Path] = set()
        try:
            for blob_id in blob_ids:
                source = self.path(blob_id)
                new_id = uuid.uuid4().hex
                target = self.path(new_id)
                self._ensure_dir(target.parent)
                try:
                    os.link(source, target)
                except FileNotFoundError:
                    raise
                except OSError:
                    with self.writer() as writer, open(source, "rb") as src:
                        while chunk := src.read(1024 * 1024):
                            writer.write(chunk)
                        new_id = writer.commit()
                else:
                    touched.add(target.parent)
                new_ids.append(new_id)
        except BaseException:
            for new_id in new_ids:
                self.delete(new_id)
            raise
        for directory in touched:
            fsync_dir(directory)
        return new_ids

    def ids(self) -> Iterator[str]:
        """Every committed blob id, in no particular order."""
        for directory in self.root.iterdir():
            if directory.name == _TMP or not directory.is_dir() or len(directory.name) != 2:
                continue
            for entry in directory.iterdir():
                if _ID.match(entry.name) and entry.name.startswith(directory.name):
                    yield entry.name

    def sweep(self, is_referenced: Callable[[str], bool]) -> SweepReport:
        """Removes temp files and blobs no metadata refers to; call at start, before any writer runs."""
        temps = 0
        tmp_dir = self.root / _TMP
        for entry in tmp_dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
            temps += 1
        orphans = 0
        for blob_id in list(self.ids()):
            if not is_referenced(blob_id):
                self.delete(blob_id)
                orphans += 1
        return SweepReport(temps, orphans)
