"""Comprehend's persistent state: jobs, classifiers, endpoints and tags in one SQLite database (WAL).

Every resource is a row keyed by its ARN with its kind, scope, status and the properties Describe* returns
as JSON. Trained models are files under ``models/`` named by a generated id, never by a resource name.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fogbank.engines.metadb import LockedDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    arn TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    rid TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    props TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_scope ON resources (account, region, kind, created);
CREATE UNIQUE INDEX IF NOT EXISTS resources_rid ON resources (account, region, kind, rid);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
"""


@dataclass
class Resource:
    arn: str
    kind: str
    account: str
    region: str
    rid: str
    status: str
    created: float
    props: dict[str, Any]


class ComprehendStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.models_dir = root / "models"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self._db = LockedDb(root / "comprehend.sqlite3", _SCHEMA)

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Resource:
        return Resource(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))

    # ------------------------------------------------------------------ resources

    def insert(self, resource: Resource) -> bool:
        """Adds a resource; False when one of the same kind and id already exists in its scope."""
        try:
            with self._db.transaction() as db:
                db.execute("INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (resource.arn, resource.kind, resource.account, resource.region, resource.rid,
                            resource.status, resource.created, json.dumps(resource.props)))
        except sqlite3.IntegrityError:
            return False
        return True

    def get(self, arn: str) -> Resource | None:
        row = self._db.row("SELECT * FROM resources WHERE arn = ?", (arn,))
        return self._row(row) if row else None

    def find(self, account: str, region: str, kind: str, rid: str) -> Resource | None:
        row = self._db.row("SELECT * FROM resources WHERE account = ? AND region = ? AND kind = ? AND rid = ?",
                           (account, region, kind, rid))
        return self._row(row) if row else None

    def list_kind(self, account: str, region: str, kind: str) -> list[Resource]:
        rows = self._db.rows("SELECT * FROM resources WHERE account = ? AND region = ? AND kind = ? "
                             "ORDER BY created, arn", (account, region, kind))
        return [self._row(r) for r in rows]

    def by_status(self, statuses: tuple[str, ...]) -> list[Resource]:
        marks = ",".join("?" * len(statuses))
        rows = self._db.rows(f"SELECT * FROM resources WHERE status IN ({marks})", statuses)
        return [self._row(r) for r in rows]

    def update(self, arn: str, status: str | None = None, expect: tuple[str, ...] | None = None,
               **changes: Any) -> Resource | None:
        """Merges property changes (None removes a property); with `expect`, only from those statuses."""
        with self._db.transaction() as db:
            row = db.execute("SELECT * FROM resources WHERE arn = ?", (arn,)).fetchone()
            if row is None:
                return None
            resource = self._row(row)
            if expect is not None and resource.status not in expect:
                return None
            for key, value in changes.items():
                if value is None:
                    resource.props.pop(key, None)
                else:
                    resource.props[key] = value
            if status is not None:
                resource.status = status
                resource.props[_status_member(resource)] = status
            db.execute("UPDATE resources SET status = ?, props = ? WHERE arn = ?",
                       (resource.status, json.dumps(resource.props), arn))
            return resource

    def delete(self, arn: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM resources WHERE arn = ?", (arn,))
            db.execute("DELETE FROM tags WHERE arn = ?", (arn,))

    # ------------------------------------------------------------------ tags

    def tags(self, arn: str) -> dict[str, str]:
        rows = self._db.rows("SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,))
        return {k: v for k, v in rows}

    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        with self._db.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", [(arn, k, v) for k, v in tags.items()])

    def remove_tags(self, arn: str, keys: list[str]) -> None:
        with self._db.transaction() as db:
            db.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])

    # ------------------------------------------------------------------ model files

    def new_model_path(self) -> Path:
        return self.models_dir / f"{uuid.uuid4().hex}.joblib"


def _status_member(resource: Resource) -> str:
    if resource.kind.endswith("-job"):
        return "JobStatus"
    return "Status"
