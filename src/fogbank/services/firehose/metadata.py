"""The catalogue of delivery streams: one SQLite row per stream, its configuration kept as JSON.

Each stream also gets a directory named after a generated id (never after the client's stream name) for its
buffer log and checkpoint. Rows are written before directories are used and deleted before directories are
removed; directories without a row are swept at start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    uid TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    stream_type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    destination TEXT NOT NULL,
    source TEXT NOT NULL,
    encryption TEXT NOT NULL,
    tags TEXT NOT NULL,
    UNIQUE (account, region, name)
);
"""


@dataclass
class StreamMeta:
    uid: str
    account: str
    region: str
    name: str
    stream_type: str
    status: str
    created_ms: int
    updated_ms: int
    version: int
    destination: dict[str, Any]
    source: dict[str, Any] = field(default_factory=dict)
    encryption: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def scope(self) -> tuple[str, str]:
        return (self.account, self.region)

    @property
    def arn(self) -> str:
        partition = "aws-cn" if self.region.startswith("cn-") else (
            "aws-us-gov" if self.region.startswith("us-gov-") else "aws")
        return f"arn:{partition}:firehose:{self.region}:{self.account}:deliverystream/{self.name}"


class MetadataDb:
    """Thread-safe: one connection behind a lock (the control plane is not a hot path)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def load(self) -> list[StreamMeta]:
        with self._lock:
            rows = self._db.execute(
                "SELECT uid, account, region, name, stream_type, status, created_ms, updated_ms, version, "
                "destination, source, encryption, tags FROM streams").fetchall()
        return [StreamMeta(row[0], row[1], row[2], row[3], row[4], row[5], int(row[6]), int(row[7]), int(row[8]),
                           json.loads(row[9]), json.loads(row[10]), json.loads(row[11]), json.loads(row[12]))
                for row in rows]

    def insert(self, meta: StreamMeta) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO streams VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (meta.uid, meta.account, meta.region, meta.name, meta.stream_type, meta.status, meta.created_ms,
                 meta.updated_ms, meta.version, json.dumps(meta.destination), json.dumps(meta.source),
                 json.dumps(meta.encryption), json.dumps(meta.tags)))

    def update(self, meta: StreamMeta) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE streams SET status=?, updated_ms=?, version=?, destination=?, source=?, encryption=?, "
                "tags=? WHERE uid=?",
                (meta.status, meta.updated_ms, meta.version, json.dumps(meta.destination), json.dumps(meta.source),
                 json.dumps(meta.encryption), json.dumps(meta.tags), meta.uid))

    def delete(self, uid: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM streams WHERE uid=?", (uid,))
