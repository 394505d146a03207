"""Tags of Glue resources, kept by (account, region, resource path) such as database/sales or crawler/daily."""

from __future__ import annotations

import sqlite3

from fogbank.services.glue.db import GlueDb
from fogbank.services.glue.errors import InvalidInputException

SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    resource TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account, region, resource, key)
) WITHOUT ROWID;
"""

MAX_TAGS = 50


def arn(account: str, region: str, resource: str) -> str:
    return f"arn:aws:glue:{region}:{account}:{resource}"


class TagStore:
    def __init__(self, db: GlueDb) -> None:
        self.db = db
        db.add_schema(SCHEMA)

    def get(self, account: str, region: str, resource: str) -> dict[str, str]:
        rows = self.db.reader().execute(
            "SELECT key, value FROM tags WHERE account = ? AND region = ? AND resource = ? ORDER BY key",
            (account, region, resource))
        return {k: v for k, v in rows}

    def tag(self, account: str, region: str, resource: str, tags: dict[str, str]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            for key, value in tags.items():
                conn.execute("INSERT OR REPLACE INTO tags (account, region, resource, key, value) "
                             "VALUES (?, ?, ?, ?, ?)", (account, region, resource, key, value))
            (count,) = conn.execute("SELECT COUNT(*) FROM tags WHERE account = ? AND region = ? AND resource = ?",
                                    (account, region, resource)).fetchone()
            if count > MAX_TAGS:
                raise InvalidInputException(f"A resource can have at most {MAX_TAGS} tags.")

        if tags:
            self.db.write(write)

    def untag(self, account: str, region: str, resource: str, keys: list[str]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM tags WHERE account = ? AND region = ? AND resource = ? AND key = ?",
                             [(account, region, resource, key) for key in keys])

        if keys:
            self.db.write(write)

    def drop(self, account: str, region: str, resource: str) -> None:
        """Forgets the tags of a deleted resource."""
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM tags WHERE account = ? AND region = ? AND resource = ?",
                         (account, region, resource))

        self.db.write(write)

    def resources_with(self, account: str, region: str, prefix: str, tags: dict[str, str]) -> set[str]:
        """Resources under `prefix` (e.g. "crawler/") that carry every given tag."""
        rows = self.db.reader().execute(
            "SELECT resource, key, value FROM tags WHERE account = ? AND region = ? AND substr(resource, 1, ?) = ?",
            (account, region, len(prefix), prefix))
        carried: dict[str, dict[str, str]] = {}
        for resource, key, value in rows:
            carried.setdefault(resource, {})[key] = value
        return {r for r, have in carried.items() if all(have.get(k) == v for k, v in tags.items())}
