"""Rekognition's face collections in SQLite (WAL): collections, and faces with their embeddings.

An embedding is stored as 128 little-endian float32 values beside the face's box and ids. Searches read a
collection's embeddings into one matrix; collections of tens of thousands of faces search in milliseconds.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fogbank.engines.metadb import LockedDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    arn TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (account, region, collection_id)
);
CREATE TABLE IF NOT EXISTS faces (
    face_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    image_id TEXT NOT NULL,
    external_image_id TEXT,
    box TEXT NOT NULL,
    confidence REAL NOT NULL,
    embedding BLOB NOT NULL,
    indexed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_collection ON faces (account, region, collection_id, face_id);
"""


@dataclass
class Collection:
    collection_id: str
    arn: str
    created: float


@dataclass
class StoredFace:
    face_id: str
    image_id: str
    external_image_id: str | None
    box: dict[str, float]
    confidence: float
    embedding: np.ndarray
    indexed: float


class RekognitionStore:
    def __init__(self, root: Path) -> None:
        self._store = LockedDb(root / "rekognition.sqlite3", _SCHEMA)
        self._lock = self._store.lock
        self._db = self._store.conn

    def close(self) -> None:
        self._store.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._store.transaction()

    # ------------------------------------------------------------------ collections

    def create_collection(self, account: str, region: str, collection_id: str, arn: str) -> bool:
        try:
            with self._tx() as db:
                db.execute("INSERT INTO collections VALUES (?, ?, ?, ?, ?)",
                           (account, region, collection_id, arn, time.time()))
        except sqlite3.IntegrityError:
            return False
        return True

    def collection(self, account: str, region: str, collection_id: str) -> Collection | None:
        with self._lock:
            row = self._db.execute("SELECT collection_id, arn, created FROM collections WHERE account = ? AND "
                                   "region = ? AND collection_id = ?", (account, region, collection_id)).fetchone()
        return Collection(*row) if row else None

    def collections(self, account: str, region: str, after: str | None, limit: int) -> list[Collection]:
        with self._lock:
            rows = self._db.execute("SELECT collection_id, arn, created FROM collections WHERE account = ? AND "
                                    "region = ? AND collection_id > ? ORDER BY collection_id LIMIT ?",
                                    (account, region, after or "", limit)).fetchall()
        return [Collection(*r) for r in rows]

    def delete_collection(self, account: str, region: str, collection_id: str) -> bool:
        with self._tx() as db:
            cursor = db.execute("DELETE FROM collections WHERE account = ? AND region = ? AND collection_id = ?",
                                (account, region, collection_id))
            db.execute("DELETE FROM faces WHERE account = ? AND region = ? AND collection_id = ?",
                       (account, region, collection_id))
            return cursor.rowcount > 0

    def face_count(self, account: str, region: str, collection_id: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM faces WHERE account = ? AND region = ? AND "
                                   "collection_id = ?", (account, region, collection_id)).fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ faces

    def add_faces(self, account: str, region: str, collection_id: str, faces: list[StoredFace]) -> None:
        with self._tx() as db:
            db.executemany("INSERT INTO faces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(f.face_id, account, region, collection_id, f.image_id, f.external_image_id,
                             json.dumps(f.box), f.confidence, f.embedding.astype("<f4").tobytes(), f.indexed)
                            for f in faces])

    @staticmethod
    def _face(row: tuple[Any, ...]) -> StoredFace:
        return StoredFace(row[0], row[1], row[2], json.loads(row[3]), float(row[4]),
                          np.frombuffer(row[5], dtype="<f4"), float(row[6]))

    _COLUMNS = "face_id, image_id, external_image_id, box, confidence, embedding, indexed"

    def faces(self, account: str, region: str, collection_id: str, after: str | None = None,
              limit: int | None = None, face_ids: list[str] | None = None) -> list[StoredFace]:
        query = f"SELECT {self._COLUMNS} FROM faces WHERE account = ? AND region = ? AND collection_id = ?"
        params: list[Any] = [account, region, collection_id]
        if after:
            query += " AND face_id > ?"
            params.append(after)
        if face_ids is not None:
            query += f" AND face_id IN ({','.join('?' * len(face_ids))})"
            params.extend(face_ids)
        query += " ORDER BY face_id"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [self._face(r) for r in rows]

    def delete_faces(self, account: str, region: str, collection_id: str, face_ids: list[str]) -> list[str]:
        deleted = []
        with self._tx() as db:
            for face_id in face_ids:
                cursor = db.execute("DELETE FROM faces WHERE account = ? AND region = ? AND collection_id = ? "
                                    "AND face_id = ?", (account, region, collection_id, face_id))
                if cursor.rowcount:
                    deleted.append(face_id)
        return deleted
