"""What the catalog's parts share: the database, and finding a database or table row by name."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from fogbank.services.glue.db import GlueDb, loads
from fogbank.services.glue.errors import EntityNotFoundException
from fogbank.services.glue.records import normalize_name


def values_key(values: list[str]) -> str:
    """The stored key of a partition: its values as compact JSON, which also orders partitions."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


class CatalogBase:
    db: GlueDb

    @staticmethod
    def _db_id(conn: sqlite3.Connection, account: str, region: str, name: str) -> int:
        row = conn.execute("SELECT id FROM databases WHERE account = ? AND region = ? AND name = ?",
                           (account, region, normalize_name(name))).fetchone()
        if row is None:
            raise EntityNotFoundException(f"Database {name} not found.")
        return int(row[0])

    def _table_row(self, conn: sqlite3.Connection, account: str, region: str, database: str,
                   name: str) -> tuple[int, dict[str, Any]]:
        db_id = self._db_id(conn, account, region, database)
        row = conn.execute("SELECT id, body FROM tables WHERE db = ? AND name = ?",
                           (db_id, normalize_name(name))).fetchone()
        if row is None:
            raise EntityNotFoundException(f"Table {name} not found.")
        return int(row[0]), loads(row[1])
