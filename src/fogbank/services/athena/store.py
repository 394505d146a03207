"""Athena's durable state: workgroups, named queries, prepared statements, data catalogs, query executions
and tags, each a JSON document keyed by (kind, account, region, parent, name).

Every resource Athena keeps is a small document read and written whole, so one table serves them all: the
`parent` column is the workgroup of a query, named query or prepared statement, and `seq` gives queries
their submission order for ListQueryExecutions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fogbank.services.athena.db import AthenaDb, dumps, loads

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (kind, account, region, parent, name)
);
CREATE INDEX IF NOT EXISTS docs_by_name ON docs (kind, account, region, name);
CREATE INDEX IF NOT EXISTS docs_by_parent ON docs (kind, account, region, parent, seq);
"""

Scope = tuple[str, str]
Doc = dict[str, Any]

WORKGROUP = "workgroup"
NAMED_QUERY = "named_query"
PREPARED = "prepared"
CATALOG = "catalog"
QUERY = "query"
TOKEN = "token"
TAGS = "tags"


class Conflict(Exception):
    """A document of that kind and name already exists."""


class AthenaStore:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.db = AthenaDb(root / "athena.sqlite", SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- generic documents ---------------------------------------------------------------------------------

    def put(self, kind: str, scope: Scope, parent: str, name: str, body: Doc, create_only: bool = False) -> None:
        self.db.write(lambda conn: _put(conn, kind, scope, parent, name, body, create_only))

    def create_all(self, scope: Scope, docs: list[tuple[str, str, str, Doc]]) -> None:
        """Creates several (kind, parent, name, body) documents in one transaction (one sync): all of them,
        or none and Conflict when one exists already."""
        def write(conn: sqlite3.Connection) -> None:
            for kind, parent, name, body in docs:
                _put(conn, kind, scope, parent, name, body, True)

        self.db.write(write)

    def get(self, kind: str, scope: Scope, name: str, parent: str | None = None) -> Doc | None:
        if parent is None:
            row = self.db.reader().execute(
                "SELECT body FROM docs WHERE kind = ? AND account = ? AND region = ? AND name = ? ORDER BY seq "
                "LIMIT 1", (kind, *scope, name)).fetchone()
        else:
            row = self.db.reader().execute(
                "SELECT body FROM docs WHERE kind = ? AND account = ? AND region = ? AND parent = ? AND name = ?",
                (kind, *scope, parent, name)).fetchone()
        return None if row is None else dict(loads(row[0]))

    def update(self, kind: str, scope: Scope, name: str, change: Callable[[Doc], None],
               parent: str | None = None, durable: bool = True) -> Doc | None:
        """Applies `change` to the stored document inside one transaction; None when it does not exist.
        `durable=False` only for a change whose loss in a power cut is harmless (see AthenaDb.write)."""
        def write(conn: sqlite3.Connection) -> Doc | None:
            if parent is None:
                row = conn.execute("SELECT seq, body FROM docs WHERE kind = ? AND account = ? AND region = ? "
                                   "AND name = ? ORDER BY seq LIMIT 1", (kind, *scope, name)).fetchone()
            else:
                row = conn.execute("SELECT seq, body FROM docs WHERE kind = ? AND account = ? AND region = ? "
                                   "AND parent = ? AND name = ?", (kind, *scope, parent, name)).fetchone()
            if row is None:
                return None
            body: Doc = loads(row[1])
            change(body)
            conn.execute("UPDATE docs SET body = ? WHERE seq = ?", (dumps(body), row[0]))
            return body

        return self.db.write(write, durable)

    def delete(self, kind: str, scope: Scope, name: str, parent: str | None = None) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            if parent is None:
                cur = conn.execute("DELETE FROM docs WHERE kind = ? AND account = ? AND region = ? AND name = ?",
                                   (kind, *scope, name))
            else:
                cur = conn.execute("DELETE FROM docs WHERE kind = ? AND account = ? AND region = ? AND parent = ? "
                                   "AND name = ?", (kind, *scope, parent, name))
            return cur.rowcount > 0

        return self.db.write(write)

    def delete_children(self, kinds: tuple[str, ...], scope: Scope, parent: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            for kind in kinds:
                conn.execute("DELETE FROM docs WHERE kind = ? AND account = ? AND region = ? AND parent = ?",
                             (kind, *scope, parent))

        self.db.write(write)

    def listing(self, kind: str, scope: Scope, parent: str | None = None, newest_first: bool = False,
             after: int | None = None, limit: int = 1_000_000) -> list[tuple[int, Doc]]:
        """(seq, document) pairs in submission order (or newest first), after the position `after`."""
        clauses = ["kind = ?", "account = ?", "region = ?"]
        params: list[Any] = [kind, *scope]
        if parent is not None:
            clauses.append("parent = ?")
            params.append(parent)
        if after is not None:
            clauses.append("seq < ?" if newest_first else "seq > ?")
            params.append(after)
        order = "seq DESC" if newest_first else "seq"
        params.append(limit)
        rows = self.db.reader().execute(
            f"SELECT seq, body FROM docs WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?", params)
        return [(int(seq), dict(loads(body))) for seq, body in rows]

    def count(self, kind: str, scope: Scope, parent: str) -> int:
        row = self.db.reader().execute(
            "SELECT count(*) FROM docs WHERE kind = ? AND account = ? AND region = ? AND parent = ?",
            (kind, *scope, parent)).fetchone()
        return int(row[0])

    def all_of_kind(self, kind: str) -> list[tuple[Scope, Doc]]:
        """Every document of a kind in every scope (for recovery at start)."""
        rows = self.db.reader().execute("SELECT account, region, body FROM docs WHERE kind = ? ORDER BY seq",
                                        (kind,))
        return [((account, region), dict(loads(body))) for account, region, body in rows]


def _put(conn: sqlite3.Connection, kind: str, scope: Scope, parent: str, name: str, body: Doc,
         create_only: bool) -> None:
    if create_only:
        try:
            conn.execute("INSERT INTO docs (kind, account, region, parent, name, body) VALUES (?, ?, ?, ?, ?, ?)",
                         (kind, *scope, parent, name, dumps(body)))
        except sqlite3.IntegrityError:
            raise Conflict(name) from None
        return
    conn.execute("INSERT INTO docs (kind, account, region, parent, name, body) VALUES (?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (kind, account, region, parent, name) DO UPDATE SET body = excluded.body",
                 (kind, *scope, parent, name, dumps(body)))
