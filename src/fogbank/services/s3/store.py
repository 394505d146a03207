"""S3's durable state: buckets, object versions, multipart uploads and bucket configurations.

Object bytes live in a `BlobStore` (or inline in the row when small); everything else lives in one SQLite
database. Blobs are always written and fsynced before the row that names them is committed, and blobs a
commit made unreachable are deleted only after that commit, so a crash never loses acknowledged data and
never leaves a row pointing at a missing blob. Whatever a crash leaves unreferenced is swept at start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fogbank.engines.blobs import BlobStore
from fogbank.engines.metadb import MetaDb
from fogbank.services.s3 import errors
from fogbank.services.s3.records import (
    NULL_VERSION,
    Bucket,
    Content,
    NewVersion,
    ObjectVersion,
    Part,
    Segment,
    Upload,
    dumps,
    loads,
    new_upload_id,
    new_version_id,
)

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    created REAL NOT NULL,
    versioning TEXT,
    object_lock INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bucket_configs (
    bucket_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    id INTEGER PRIMARY KEY,
    bucket_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    version_id TEXT NOT NULL,
    latest INTEGER NOT NULL,
    delete_marker INTEGER NOT NULL,
    modified REAL NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    checksum_algorithm TEXT,
    checksum_type TEXT,
    meta TEXT NOT NULL,
    tags TEXT,
    segments TEXT,
    data BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_version ON objects (bucket_id, key, version_id);
CREATE UNIQUE INDEX IF NOT EXISTS objects_latest ON objects (bucket_id, key) WHERE latest = 1;
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY,
    upload_id TEXT NOT NULL UNIQUE,
    bucket_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    initiated REAL NOT NULL,
    owner TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    checksum_algorithm TEXT,
    checksum_type TEXT,
    meta TEXT NOT NULL,
    tags TEXT
);
CREATE INDEX IF NOT EXISTS uploads_key ON uploads (bucket_id, key, id);
CREATE TABLE IF NOT EXISTS parts (
    upload INTEGER NOT NULL,
    part_number INTEGER NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified REAL NOT NULL,
    blob_id TEXT NOT NULL,
    checksums TEXT NOT NULL,
    PRIMARY KEY (upload, part_number)
) WITHOUT ROWID;
"""

_COLS = ("id, bucket_id, key, version_id, latest, delete_marker, modified, size, etag, storage_class, "
         "checksum_algorithm, checksum_type, meta, tags, segments")
_UPLOAD_COLS = ("id, upload_id, bucket_id, key, initiated, owner, storage_class, checksum_algorithm, "
                "checksum_type, meta, tags")

Condition = Callable[[ObjectVersion | None], None]


def _now() -> float:
    return round(time.time(), 3)


def _tags_json(tags: list[tuple[str, str]]) -> str | None:
    return dumps([list(t) for t in tags]) if tags else None


def _tags_of(text: str | None) -> list[tuple[str, str]]:
    return [(k, v) for k, v in loads(text)] if text else []


def _version_of(row: tuple[Any, ...], data: bytes | None = None, with_content: bool = False) -> ObjectVersion:
    version = ObjectVersion(
        id=row[0], bucket_id=row[1], key=row[2], version_id=row[3], latest=bool(row[4]),
        delete_marker=bool(row[5]), modified=row[6], size=row[7], etag=row[8], storage_class=row[9],
        checksum_algorithm=row[10], checksum_type=row[11], meta=loads(row[12]), tags=_tags_of(row[13]))
    if with_content and not version.delete_marker:
        version.content = Content.from_row(version.size, data, row[14])
    return version


def _upload_of(row: tuple[Any, ...]) -> Upload:
    return Upload(id=row[0], upload_id=row[1], bucket_id=row[2], key=row[3], initiated=row[4], owner=row[5],
                  storage_class=row[6], checksum_algorithm=row[7], checksum_type=row[8], meta=loads(row[9]),
                  tags=_tags_of(row[10]))


def _segment_blobs(segments: str | None) -> list[str]:
    return [b for b, _ in loads(segments)] if segments else []


@dataclass(frozen=True)
class DeleteOutcome:
    """What a delete did, in the terms S3 reports it."""

    delete_marker: bool
    version_id: str | None


@dataclass(frozen=True)
class ListedRow:
    """A listing row: enough for ListObjects(V2) and ListObjectVersions without reading metadata JSON."""

    id: int
    key: str
    version_id: str
    latest: bool
    delete_marker: bool
    modified: float
    size: int
    etag: str
    storage_class: str
    checksum_algorithm: str | None
    checksum_type: str | None


class S3Store:
    """Buckets, versions, uploads and configurations of every account, in one directory."""

    def __init__(self, root: Path, sweep: bool = True) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(root / "blobs")
        self.db = MetaDb(root / "s3.sqlite", SCHEMA)
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._configs: dict[int, dict[str, Any]] = {}
        for row in self.db.reader().execute(
                "SELECT id, name, account, region, created, versioning, object_lock FROM buckets"):
            self._buckets[row[1]] = Bucket(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))
        if sweep:
            report = self.blobs.sweep(self._referenced_blobs().__contains__)
            if report.orphans or report.temp_files:
                log.info("swept %d orphan blobs and %d temp files", report.orphans, report.temp_files)

    def unreferenced_files(self) -> tuple[set[str], int]:
        """(blob ids no metadata refers to, temp files): what a crash may leave until the next start."""
        temps = sum(1 for _ in (self.blobs.root / "tmp").iterdir())
        return set(self.blobs.ids()) - self._referenced_blobs(), temps

    def close(self) -> None:
        self.db.close()

    def _referenced_blobs(self) -> set[str]:
        conn = self.db.reader()
        found: set[str] = set()
        for (segments,) in conn.execute("SELECT segments FROM objects WHERE segments IS NOT NULL"):
            found.update(_segment_blobs(segments))
        for (blob_id,) in conn.execute("SELECT blob_id FROM parts"):
            found.add(blob_id)
        return found

    def discard(self, blob_ids: Iterable[str]) -> None:
        """Deletes blobs that a committed change made unreachable."""
        for blob_id in blob_ids:
            try:
                self.blobs.delete(blob_id)
            except OSError:
                log.warning("could not delete blob %s; it will be swept at the next start", blob_id)

    def _write_with_content(self, fn: Callable[[sqlite3.Connection], tuple[Any, list[str]]],
                            content: Content | None) -> Any:
        """Runs a write that stores `content`; drops the content's blobs if the write is refused."""
        try:
            result, garbage = self.db.write(fn)
        except BaseException:
            if content is not None:
                self.discard(content.blob_ids)
            raise
        self.discard(garbage)
        return result

    # -- buckets ---------------------------------------------------------------------------------------

    def bucket(self, name: str) -> Bucket | None:
        return self._buckets.get(name)

    def all_buckets(self) -> list[Bucket]:
        return sorted(self._buckets.values(), key=lambda b: b.name)

    def create_bucket(self, name: str, account: str, region: str, object_lock: bool,
                      configs: dict[str, Any]) -> tuple[Bucket, bool]:
        """Creates a bucket, or returns the existing one of that name and False."""
        created = _now()
        versioning = "Enabled" if object_lock else None

        def write(conn: sqlite3.Connection) -> tuple[Bucket, bool]:
            row = conn.execute("SELECT id, name, account, region, created, versioning, object_lock "
                               "FROM buckets WHERE name = ?", (name,)).fetchone()
            if row:
                return Bucket(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6])), False
            cur = conn.execute("INSERT INTO buckets (name, account, region, created, versioning, object_lock) "
                               "VALUES (?, ?, ?, ?, ?, ?)", (name, account, region, created, versioning,
                                                             int(object_lock)))
            bucket_id = int(cur.lastrowid or 0)
            for key, value in configs.items():
                conn.execute("INSERT INTO bucket_configs (bucket_id, name, value) VALUES (?, ?, ?)",
                             (bucket_id, key, dumps(value)))
            return Bucket(bucket_id, name, account, region, created, versioning, object_lock), True

        bucket, is_new = self.db.write(write)
        self._refresh_bucket(name)
        return bucket, is_new

    def _refresh_bucket(self, name: str) -> Bucket | None:
        """Re-reads one bucket into the cache after a commit, so the cache never keeps a stale state."""
        with self._lock:
            row = self.db.reader().execute("SELECT id, name, account, region, created, versioning, object_lock "
                                           "FROM buckets WHERE name = ?", (name,)).fetchone()
            if row is None:
                self._buckets.pop(name, None)
                return None
            bucket = Bucket(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))
            self._buckets[name] = bucket
            return bucket

    def delete_bucket(self, bucket: Bucket) -> None:
        def write(conn: sqlite3.Connection) -> list[str]:
            if conn.execute("SELECT 1 FROM buckets WHERE id = ?", (bucket.id,)).fetchone() is None:
                raise errors.NoSuchBucket(BucketName=bucket.name)
            if conn.execute("SELECT 1 FROM objects WHERE bucket_id = ? LIMIT 1", (bucket.id,)).fetchone():
                raise errors.BucketNotEmpty(BucketName=bucket.name)
            garbage = [b for (b,) in conn.execute(
                "SELECT blob_id FROM parts WHERE upload IN (SELECT id FROM uploads WHERE bucket_id = ?)",
                (bucket.id,))]
            conn.execute("DELETE FROM parts WHERE upload IN (SELECT id FROM uploads WHERE bucket_id = ?)",
                         (bucket.id,))
            conn.execute("DELETE FROM uploads WHERE bucket_id = ?", (bucket.id,))
            conn.execute("DELETE FROM bucket_configs WHERE bucket_id = ?", (bucket.id,))
            conn.execute("DELETE FROM buckets WHERE id = ?", (bucket.id,))
            return garbage

        garbage = self.db.write(write)
        self._refresh_bucket(bucket.name)
        with self._lock:
            self._configs.pop(bucket.id, None)
        self.discard(garbage)

    def set_versioning(self, bucket: Bucket, status: str) -> Bucket:
        def write(conn: sqlite3.Connection) -> None:
            cur = conn.execute("UPDATE buckets SET versioning = ? WHERE id = ?", (status, bucket.id))
            if cur.rowcount == 0:
                raise errors.NoSuchBucket(BucketName=bucket.name)

        self.db.write(write)
        return self._refresh_bucket(bucket.name) or bucket

    # -- bucket configurations -------------------------------------------------------------------------

    def _bucket_configs(self, bucket_id: int) -> dict[str, Any]:
        with self._lock:
            cached = self._configs.get(bucket_id)
            if cached is None:
                cached = {name: loads(value) for name, value in self.db.reader().execute(
                    "SELECT name, value FROM bucket_configs WHERE bucket_id = ?", (bucket_id,))}
                self._configs[bucket_id] = cached
            return cached

    def get_config(self, bucket_id: int, name: str) -> Any:
        """A stored configuration document, or None."""
        return self._bucket_configs(bucket_id).get(name)

    def put_config(self, bucket_id: int, name: str, value: Any) -> None:
        text = dumps(value)

        def write(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM buckets WHERE id = ?", (bucket_id,)).fetchone() is None:
                raise errors.NoSuchBucket()
            conn.execute("INSERT OR REPLACE INTO bucket_configs (bucket_id, name, value) VALUES (?, ?, ?)",
                         (bucket_id, name, text))

        self.db.write(write)
        with self._lock:
            self._configs.pop(bucket_id, None)

    def delete_config(self, bucket_id: int, name: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM bucket_configs WHERE bucket_id = ? AND name = ?", (bucket_id, name))

        self.db.write(write)
        with self._lock:
            self._configs.pop(bucket_id, None)

    def buckets_with_config(self, name: str) -> list[int]:
        return [b for (b,) in self.db.reader().execute(
            "SELECT bucket_id FROM bucket_configs WHERE name = ?", (name,))]

    # -- reading objects -------------------------------------------------------------------------------

    def get_object(self, bucket_id: int, key: str, version_id: str | None = None,
                   with_content: bool = False) -> ObjectVersion | None:
        """The latest version (possibly a delete marker), or the named version."""
        cols = _COLS + (", data" if with_content else "")
        conn = self.db.reader()
        if version_id is None:
            row = conn.execute(f"SELECT {cols} FROM objects WHERE bucket_id = ? AND key = ? AND latest = 1",
                               (bucket_id, key)).fetchone()
        else:
            row = conn.execute(f"SELECT {cols} FROM objects WHERE bucket_id = ? AND key = ? AND version_id = ?",
                               (bucket_id, key, version_id)).fetchone()
        if row is None:
            return None
        return _version_of(row, row[15] if with_content else None, with_content)

    def scan_latest(self, bucket_id: int, after: str | None, prefix: str, limit: int,
                    inclusive: bool = False) -> list[ListedRow]:
        """Current (non-deleted) keys in key order, starting after (or at) `after`, under `prefix`."""
        return self._scan(bucket_id, after, prefix, limit, inclusive, current_only=True)

    def scan_versions(self, bucket_id: int, after: str | None, prefix: str, limit: int,
                      inclusive: bool = False) -> list[ListedRow]:
        """Every version and delete marker, by key then newest first."""
        return self._scan(bucket_id, after, prefix, limit, inclusive, current_only=False)

    def versions_of_key(self, bucket_id: int, key: str, below_id: int | None = None) -> list[ListedRow]:
        """The versions of one key, newest first, optionally only those older than row `below_id`."""
        sql = (f"SELECT {_LISTED} FROM objects WHERE bucket_id = ? AND key = ?"
               + (" AND id < ?" if below_id is not None else "") + " ORDER BY id DESC")
        params: tuple[Any, ...] = (bucket_id, key) if below_id is None else (bucket_id, key, below_id)
        return [_listed_of(r) for r in self.db.reader().execute(sql, params)]

    def _scan(self, bucket_id: int, after: str | None, prefix: str, limit: int, inclusive: bool,
              current_only: bool) -> list[ListedRow]:
        clauses = ["bucket_id = ?"]
        params: list[Any] = [bucket_id]
        if current_only:
            clauses.append("latest = 1 AND delete_marker = 0")
        start = prefix
        start_inclusive = True
        if after is not None and after >= prefix:
            start, start_inclusive = after, inclusive
        if start:
            clauses.append("key >= ?" if start_inclusive else "key > ?")
            params.append(start)
        end = prefix_end(prefix)
        if end is not None:
            clauses.append("key < ?")
            params.append(end)
        order = "key" if current_only else "key, id DESC"
        sql = f"SELECT {_LISTED} FROM objects WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?"
        params.append(limit)
        return [_listed_of(r) for r in self.db.reader().execute(sql, params)]

    def version_row_id(self, bucket_id: int, key: str, version_id: str) -> int | None:
        row = self.db.reader().execute(
            "SELECT id FROM objects WHERE bucket_id = ? AND key = ? AND version_id = ?",
            (bucket_id, key, version_id)).fetchone()
        return None if row is None else int(row[0])

    # -- writing objects -------------------------------------------------------------------------------

    def put_object(self, bucket: Bucket, key: str, new: NewVersion,
                   condition: Condition | None = None) -> ObjectVersion:
        """Stores a new version as S3 does under the bucket's versioning state, atomically.

        `condition` sees the current latest version inside the write transaction and may raise (for
        If-Match / If-None-Match on writes), so the check and the write cannot race another writer.
        """
        def write(conn: sqlite3.Connection) -> tuple[ObjectVersion, list[str]]:
            return self._put_in(conn, bucket, key, new, condition)

        result: ObjectVersion = self._write_with_content(write, new.content)
        return result

    def delete_object(self, bucket: Bucket, key: str, version_id: str | None = None,
                      condition: Condition | None = None) -> DeleteOutcome:
        """Deletes as S3 does: a delete marker when versioned, else the version itself."""

        def write(conn: sqlite3.Connection) -> tuple[DeleteOutcome, list[str]]:
            return self._delete_in(conn, bucket, key, version_id, condition)

        result: DeleteOutcome = self._write_with_content(write, None)
        return result

    def delete_objects(self, bucket: Bucket, items: list[tuple[str, str | None, Condition | None]],
                       ) -> list[DeleteOutcome | Exception]:
        """Many deletes in one transaction; each item succeeds or fails on its own."""

        def write(conn: sqlite3.Connection) -> tuple[list[DeleteOutcome | Exception], list[str]]:
            outcomes: list[DeleteOutcome | Exception] = []
            garbage: list[str] = []
            _versioning(conn, bucket)
            for key, version_id, condition in items:
                conn.execute("SAVEPOINT item")
                try:
                    outcome, dropped = self._delete_in(conn, bucket, key, version_id, condition)
                except Exception as exc:
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    outcomes.append(exc)
                else:
                    conn.execute("RELEASE item")
                    outcomes.append(outcome)
                    garbage += dropped
            return outcomes, garbage

        result: list[DeleteOutcome | Exception] = self._write_with_content(write, None)
        return result

    def _delete_in(self, conn: sqlite3.Connection, bucket: Bucket, key: str, version_id: str | None,
                   condition: Condition | None) -> tuple[DeleteOutcome, list[str]]:
        versioning = _versioning(conn, bucket)
        if condition is not None:
            condition(_latest(conn, bucket.id, key))
        if version_id is not None:
            row = conn.execute("SELECT latest, delete_marker FROM objects WHERE bucket_id = ? AND key = ? "
                               "AND version_id = ?", (bucket.id, key, version_id)).fetchone()
            if row is None:
                return DeleteOutcome(False, version_id), []
            garbage = _remove_version(conn, bucket.id, key, version_id)
            if row[0]:
                _promote_newest(conn, bucket.id, key)
            return DeleteOutcome(bool(row[1]), version_id), garbage
        if versioning is None:
            return DeleteOutcome(False, None), _remove_version(conn, bucket.id, key, NULL_VERSION)
        garbage = []
        marker_id = new_version_id()
        if versioning == "Suspended":
            marker_id = NULL_VERSION
            garbage = _remove_version(conn, bucket.id, key, NULL_VERSION)
        conn.execute("UPDATE objects SET latest = 0 WHERE bucket_id = ? AND key = ? AND latest = 1",
                     (bucket.id, key))
        conn.execute(
            "INSERT INTO objects (bucket_id, key, version_id, latest, delete_marker, modified, size, etag, "
            "storage_class, meta) VALUES (?, ?, ?, 1, 1, ?, 0, '', 'STANDARD', '{}')",
            (bucket.id, key, marker_id, _now()))
        return DeleteOutcome(True, marker_id), garbage

    def update_tags(self, bucket: Bucket, key: str, version_id: str | None,
                    tags: list[tuple[str, str]]) -> ObjectVersion:
        """Replaces a version's tags in place (tags are not versioned content)."""

        def write(conn: sqlite3.Connection) -> ObjectVersion:
            _versioning(conn, bucket)
            if version_id is None:
                row = conn.execute(f"SELECT {_COLS} FROM objects WHERE bucket_id = ? AND key = ? AND latest = 1",
                                   (bucket.id, key)).fetchone()
            else:
                row = conn.execute(f"SELECT {_COLS} FROM objects WHERE bucket_id = ? AND key = ? "
                                   "AND version_id = ?", (bucket.id, key, version_id)).fetchone()
            if row is None:
                if version_id is None:
                    raise errors.NoSuchKey(Key=key)
                raise errors.NoSuchVersion(Key=key, VersionId=version_id)
            version = _version_of(row)
            if version.delete_marker:
                raise errors.MethodNotAllowed(Method="PUT", ResourceType="DeleteMarker")
            conn.execute("UPDATE objects SET tags = ? WHERE id = ?", (_tags_json(tags), version.id))
            version.tags = list(tags)
            return version

        return self.db.write(write)

    def update_meta(self, bucket: Bucket, key: str, version_id: str | None,
                    change: Callable[[dict[str, Any]], None]) -> None:
        """Edits a version's metadata document in place (ACLs, retention, restore state)."""

        def write(conn: sqlite3.Connection) -> None:
            if version_id is None:
                row = conn.execute("SELECT id, meta, delete_marker FROM objects WHERE bucket_id = ? AND key = ? "
                                   "AND latest = 1", (bucket.id, key)).fetchone()
            else:
                row = conn.execute("SELECT id, meta, delete_marker FROM objects WHERE bucket_id = ? AND key = ? "
                                   "AND version_id = ?", (bucket.id, key, version_id)).fetchone()
            if row is None or (row[2] and version_id is None):
                if version_id is None:
                    raise errors.NoSuchKey(Key=key)
                raise errors.NoSuchVersion(Key=key, VersionId=version_id)
            meta = loads(row[1])
            change(meta)
            conn.execute("UPDATE objects SET meta = ? WHERE id = ?", (dumps(meta), row[0]))

        self.db.write(write)

    # -- multipart uploads -----------------------------------------------------------------------------

    def create_upload(self, bucket: Bucket, key: str, owner: str, storage_class: str,
                      checksum_algorithm: str | None, checksum_type: str | None, meta: dict[str, Any],
                      tags: list[tuple[str, str]]) -> Upload:
        upload_id = new_upload_id()
        initiated = _now()

        def write(conn: sqlite3.Connection) -> int:
            _versioning(conn, bucket)
            cur = conn.execute(
                f"INSERT INTO uploads ({_UPLOAD_COLS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (upload_id, bucket.id, key, initiated, owner, storage_class, checksum_algorithm, checksum_type,
                 dumps(meta), _tags_json(tags)))
            return int(cur.lastrowid or 0)

        row_id = self.db.write(write)
        return Upload(row_id, upload_id, bucket.id, key, initiated, owner, storage_class, checksum_algorithm,
                      checksum_type, meta, list(tags))

    def get_upload(self, bucket_id: int, key: str, upload_id: str) -> Upload | None:
        row = self.db.reader().execute(f"SELECT {_UPLOAD_COLS} FROM uploads WHERE upload_id = ?",
                                       (upload_id,)).fetchone()
        if row is None or row[2] != bucket_id or row[3] != key:
            return None
        return _upload_of(row)

    def put_part(self, upload: Upload, part: Part) -> None:
        """Records an uploaded part, replacing an earlier upload of the same number."""

        def write(conn: sqlite3.Connection) -> tuple[None, list[str]]:
            if conn.execute("SELECT 1 FROM uploads WHERE id = ?", (upload.id,)).fetchone() is None:
                raise errors.NoSuchUpload(UploadId=upload.upload_id)
            old = conn.execute("SELECT blob_id FROM parts WHERE upload = ? AND part_number = ?",
                               (upload.id, part.part_number)).fetchone()
            conn.execute("INSERT OR REPLACE INTO parts (upload, part_number, etag, size, modified, blob_id, "
                         "checksums) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (upload.id, part.part_number, part.etag, part.size, part.modified, part.blob_id,
                          dumps(part.checksums)))
            return None, [old[0]] if old else []

        self._write_with_content(write, Content(part.size, segments=(Segment(part.blob_id, part.size),)))

    def list_parts(self, upload: Upload, after: int = 0, limit: int = 10_001) -> list[Part]:
        return [Part(r[0], r[1], r[2], r[3], r[4], loads(r[5])) for r in self.db.reader().execute(
            "SELECT part_number, etag, size, modified, blob_id, checksums FROM parts WHERE upload = ? "
            "AND part_number > ? ORDER BY part_number LIMIT ?", (upload.id, after, limit))]

    def list_uploads(self, bucket_id: int, prefix: str, after_key: str | None, after_row: int | None,
                     limit: int) -> list[Upload]:
        """Uploads in (key, initiation) order, after the (key, row id) position when given."""
        clauses = ["bucket_id = ?"]
        params: list[Any] = [bucket_id]
        if prefix:
            clauses.append("key >= ?")
            params.append(prefix)
            end = prefix_end(prefix)
            if end is not None:
                clauses.append("key < ?")
                params.append(end)
        if after_key is not None:
            if after_row is None:
                clauses.append("key > ?")
                params.append(after_key)
            else:
                clauses.append("(key > ? OR (key = ? AND id > ?))")
                params += [after_key, after_key, after_row]
        params.append(limit)
        sql = f"SELECT {_UPLOAD_COLS} FROM uploads WHERE {' AND '.join(clauses)} ORDER BY key, id LIMIT ?"
        return [_upload_of(r) for r in self.db.reader().execute(sql, params)]

    def upload_row_id(self, upload_id: str) -> int | None:
        row = self.db.reader().execute("SELECT id FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone()
        return None if row is None else int(row[0])

    def abort_upload(self, upload: Upload) -> None:
        def write(conn: sqlite3.Connection) -> tuple[None, list[str]]:
            if conn.execute("SELECT 1 FROM uploads WHERE id = ?", (upload.id,)).fetchone() is None:
                raise errors.NoSuchUpload(UploadId=upload.upload_id)
            garbage = [b for (b,) in conn.execute("SELECT blob_id FROM parts WHERE upload = ?", (upload.id,))]
            conn.execute("DELETE FROM parts WHERE upload = ?", (upload.id,))
            conn.execute("DELETE FROM uploads WHERE id = ?", (upload.id,))
            return None, garbage

        self._write_with_content(write, None)

    def complete_upload(self, bucket: Bucket, upload: Upload, used: list[Part], new: NewVersion,
                        condition: Condition | None = None) -> ObjectVersion:
        """Turns an upload into an object whose manifest is its chosen parts' blobs; copies no bytes.

        `used` is what the caller validated; the transaction checks the parts are still those blobs (a
        part re-uploaded meanwhile makes the request fail rather than publish bytes nobody checked).
        """
        modified = _now()

        def write(conn: sqlite3.Connection) -> tuple[ObjectVersion, list[str]]:
            if conn.execute("SELECT 1 FROM uploads WHERE id = ?", (upload.id,)).fetchone() is None:
                raise errors.NoSuchUpload(UploadId=upload.upload_id)
            stored = {n: b for n, b in conn.execute(
                "SELECT part_number, blob_id FROM parts WHERE upload = ?", (upload.id,))}
            for part in used:
                if stored.get(part.part_number) != part.blob_id:
                    raise errors.InvalidPart(UploadId=upload.upload_id, PartNumber=part.part_number)
            keep = {p.blob_id for p in used}
            garbage = [b for b in stored.values() if b not in keep]
            conn.execute("DELETE FROM parts WHERE upload = ?", (upload.id,))
            conn.execute("DELETE FROM uploads WHERE id = ?", (upload.id,))
            new.modified = modified
            version, replaced = self._put_in(conn, bucket, upload.key, new, condition)
            return version, garbage + replaced

        version: ObjectVersion = self._write_with_content(write, None)
        return version

    def _put_in(self, conn: sqlite3.Connection, bucket: Bucket, key: str, new: NewVersion,
                condition: Condition | None) -> tuple[ObjectVersion, list[str]]:
        versioning = _versioning(conn, bucket)
        current = _latest(conn, bucket.id, key)
        if condition is not None:
            condition(current)
        garbage: list[str] = []
        if versioning == "Enabled":
            version_id = new_version_id()
        else:
            version_id = NULL_VERSION
            garbage += _remove_version(conn, bucket.id, key, NULL_VERSION)
        conn.execute("UPDATE objects SET latest = 0 WHERE bucket_id = ? AND key = ? AND latest = 1",
                     (bucket.id, key))
        modified = new.modified if new.modified is not None else _now()
        cur = conn.execute(
            "INSERT INTO objects (bucket_id, key, version_id, latest, delete_marker, modified, size, etag, "
            "storage_class, checksum_algorithm, checksum_type, meta, tags, segments, data) "
            "VALUES (?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (bucket.id, key, version_id, modified, new.content.size, new.etag, new.storage_class,
             new.checksum_algorithm, new.checksum_type, dumps(new.meta), _tags_json(new.tags),
             new.content.segments_json(), new.content.inline))
        version = ObjectVersion(
            id=int(cur.lastrowid or 0), bucket_id=bucket.id, key=key, version_id=version_id, latest=True,
            delete_marker=False, modified=modified, size=new.content.size, etag=new.etag,
            storage_class=new.storage_class, meta=new.meta, tags=list(new.tags), content=new.content,
            checksum_algorithm=new.checksum_algorithm, checksum_type=new.checksum_type)
        return version, garbage

    # -- lifecycle support -----------------------------------------------------------------------------

    def iter_versions(self, bucket_id: int, prefix: str = "") -> Iterator[ObjectVersion]:
        """Every version of a bucket under a prefix, key by key, newest first (metadata only)."""
        after: str | None = None
        while True:
            clauses = "bucket_id = ? AND key >= ?" if after is None else "bucket_id = ? AND key > ?"
            params: list[Any] = [bucket_id, prefix if after is None else after]
            end = prefix_end(prefix)
            if end is not None:
                clauses += " AND key < ?"
                params.append(end)
            keys = [k for (k,) in self.db.reader().execute(
                f"SELECT DISTINCT key FROM objects WHERE {clauses} ORDER BY key LIMIT 500", params)]
            if not keys:
                return
            for key in keys:
                for row in self.db.reader().execute(
                        f"SELECT {_COLS} FROM objects WHERE bucket_id = ? AND key = ? ORDER BY id DESC",
                        (bucket_id, key)):
                    yield _version_of(row)
            after = keys[-1]

    def expired_uploads(self, bucket_id: int) -> list[Upload]:
        return [_upload_of(r) for r in self.db.reader().execute(
            f"SELECT {_UPLOAD_COLS} FROM uploads WHERE bucket_id = ? ORDER BY key, id", (bucket_id,))]

    def bucket_by_id(self, bucket_id: int) -> Bucket | None:
        return next((b for b in list(self._buckets.values()) if b.id == bucket_id), None)


# -- helpers used inside write transactions ------------------------------------------------------------

_LISTED = ("id, key, version_id, latest, delete_marker, modified, size, etag, storage_class, "
           "checksum_algorithm, checksum_type")


def _listed_of(r: tuple[Any, ...]) -> ListedRow:
    return ListedRow(r[0], r[1], r[2], bool(r[3]), bool(r[4]), r[5], r[6], r[7], r[8], r[9], r[10])


def _versioning(conn: sqlite3.Connection, bucket: Bucket) -> str | None:
    """The bucket's versioning state as committed; raises NoSuchBucket when it was deleted meanwhile."""
    row = conn.execute("SELECT versioning FROM buckets WHERE id = ?", (bucket.id,)).fetchone()
    if row is None:
        raise errors.NoSuchBucket(BucketName=bucket.name)
    return row[0]


def _latest(conn: sqlite3.Connection, bucket_id: int, key: str) -> ObjectVersion | None:
    row = conn.execute(f"SELECT {_COLS} FROM objects WHERE bucket_id = ? AND key = ? AND latest = 1",
                       (bucket_id, key)).fetchone()
    return None if row is None else _version_of(row)


def _remove_version(conn: sqlite3.Connection, bucket_id: int, key: str, version_id: str) -> list[str]:
    row = conn.execute("DELETE FROM objects WHERE bucket_id = ? AND key = ? AND version_id = ? "
                       "RETURNING segments", (bucket_id, key, version_id)).fetchone()
    return _segment_blobs(row[0]) if row else []


def _promote_newest(conn: sqlite3.Connection, bucket_id: int, key: str) -> None:
    conn.execute("UPDATE objects SET latest = 1 WHERE id = (SELECT max(id) FROM objects "
                 "WHERE bucket_id = ? AND key = ?)", (bucket_id, key))


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None
