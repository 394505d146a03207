"""A durable table of JSON documents keyed by (account, region, kind, name).

The Redshift control planes (clusters, Serverless namespaces and workgroups, tags) keep small resources that
are read far more often than written; one SQLite file in WAL mode with synchronous=FULL makes every
acknowledged change durable, and one lock around the writer keeps read-modify-write updates atomic.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fogbank.engines.metadb import LockedDb

Scope = tuple[str, str]

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account, region, kind, name)
) WITHOUT ROWID;
"""


class DocExists(Exception):
    """A create found a document of that kind and name already there."""


class DocMissing(Exception):
    """An update or delete found no document of that kind and name."""


class DocStore:
    """Documents of one service; thread-safe, durable on return."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = LockedDb(path, SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, scope: Scope, kind: str, name: str) -> dict[str, Any] | None:
        row = self._db.row("SELECT body FROM docs WHERE account = ? AND region = ? AND kind = ? AND name = ?",
                           (*scope, kind, name))
        return json.loads(row[0]) if row else None

    def documents(self, scope: Scope, kind: str) -> list[dict[str, Any]]:
        """Every document of a kind in the scope, in name order."""
        rows = self._db.rows("SELECT body FROM docs WHERE account = ? AND region = ? AND kind = ? ORDER BY name",
                             (*scope, kind))
        return [json.loads(r[0]) for r in rows]

    def create(self, scope: Scope, kind: str, name: str, doc: dict[str, Any]) -> None:
        with self._db.transaction() as conn:
            try:
                conn.execute("INSERT INTO docs (account, region, kind, name, body) VALUES (?, ?, ?, ?, ?)",
                             (*scope, kind, name, json.dumps(doc)))
            except sqlite3.IntegrityError:
                raise DocExists(name) from None

    def put(self, scope: Scope, kind: str, name: str, doc: dict[str, Any]) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO docs (account, region, kind, name, body) VALUES (?, ?, ?, ?, ?)",
                         (*scope, kind, name, json.dumps(doc)))

    def update(self, scope: Scope, kind: str, name: str,
               change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        """Applies `change` to the stored document atomically and returns the new document.

        `change` may edit the document in place (returning None) or return a replacement; an exception it
        raises leaves the stored document untouched.
        """
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT body FROM docs WHERE account = ? AND region = ? AND kind = ? AND name = ?",
                (*scope, kind, name)).fetchone()
            if row is None:
                raise DocMissing(name)
            doc = json.loads(row[0])
            replaced = change(doc)
            if replaced is not None:
                doc = replaced
            conn.execute("UPDATE docs SET body = ? WHERE account = ? AND region = ? AND kind = ? AND name = ?",
                         (json.dumps(doc), *scope, kind, name))
        return doc

    def rename(self, scope: Scope, kind: str, old: str, new: str, doc: dict[str, Any]) -> None:
        """Moves a document to a new name in one transaction (ModifyCluster's NewClusterIdentifier)."""
        with self._db.transaction() as conn:
            try:
                conn.execute("INSERT INTO docs (account, region, kind, name, body) VALUES (?, ?, ?, ?, ?)",
                             (*scope, kind, new, json.dumps(doc)))
            except sqlite3.IntegrityError:
                raise DocExists(new) from None
            conn.execute("DELETE FROM docs WHERE account = ? AND region = ? AND kind = ? AND name = ?",
                         (*scope, kind, old))

    def delete(self, scope: Scope, kind: str, name: str) -> dict[str, Any]:
        """Removes a document and returns what it held."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT body FROM docs WHERE account = ? AND region = ? AND kind = ? AND name = ?",
                (*scope, kind, name)).fetchone()
            if row is None:
                raise DocMissing(name)
            conn.execute("DELETE FROM docs WHERE account = ? AND region = ? AND kind = ? AND name = ?",
                         (*scope, kind, name))
        return dict(json.loads(row[0]))
