"""GlueCatalog: the Data Catalog's durable state (databases, tables and their versions), and the in-process
API other services (Athena) read it through.

Every public method takes the (account, region) the catalog is scoped by and returns the same dicts the Get*
operations return (timestamps as aware datetimes). Partitions, partition indexes and column statistics live
in mixins beside this module; all share one SQLite database.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any

from fogbank.services.glue.catalog_base import CatalogBase
from fogbank.services.glue.db import GlueDb, dumps, loads
from fogbank.services.glue.errors import (
    AlreadyExistsException,
    ConcurrentModificationException,
    EntityNotFoundException,
    InvalidInputException,
)
from fogbank.services.glue.partitions import PartitionsMixin
from fogbank.services.glue.records import (
    database_record,
    normalize_name,
    now,
    table_record,
)
from fogbank.services.glue.statistics import StatisticsMixin

SCHEMA = """
CREATE TABLE IF NOT EXISTS databases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (account, region, name)
);
CREATE TABLE IF NOT EXISTS tables (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    db INTEGER NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    next_version INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (db, name)
);
CREATE TABLE IF NOT EXISTS table_versions (
    tbl INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tbl, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partitions (
    tbl INTEGER NOT NULL,
    vkey TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tbl, vkey)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partition_indexes (
    tbl INTEGER NOT NULL,
    name TEXT NOT NULL,
    keys TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (tbl, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS column_stats (
    tbl INTEGER NOT NULL,
    vkey TEXT NOT NULL,
    col TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tbl, vkey, col)
) WITHOUT ROWID;
"""

MAX_TABLE_VERSIONS = 100_000


def _regex(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern in ("", "*"):
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        raise InvalidInputException(f"Invalid table name pattern: {pattern}") from None


class GlueCatalog(PartitionsMixin, StatisticsMixin, CatalogBase):
    """The Data Catalog of every (account, region); thread-safe, durable on return."""

    def __init__(self, db: GlueDb) -> None:
        self.db = db
        db.add_schema(SCHEMA)
        # Called with (account, region, arn) after a database or table is deleted, to drop its tags.
        self.on_delete: Callable[[str, str, str], None] | None = None

    # -- databases ----------------------------------------------------------------------------------------

    def create_database(self, account: str, region: str, given: dict[str, Any]) -> dict[str, Any]:
        record = database_record(account, given, now())

        def write(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO databases (account, region, name, body) VALUES (?, ?, ?, ?)",
                             (account, region, record["Name"], dumps(record)))
            except sqlite3.IntegrityError:
                raise AlreadyExistsException("Database already exists.") from None

        self.db.write(write)
        return record

    def get_database(self, account: str, region: str, name: str) -> dict[str, Any]:
        row = self.db.reader().execute(
            "SELECT body FROM databases WHERE account = ? AND region = ? AND name = ?",
            (account, region, normalize_name(name))).fetchone()
        if row is None:
            raise EntityNotFoundException(f"Database {name} not found.")
        database: dict[str, Any] = loads(row[0])
        return database

    def get_databases(self, account: str, region: str, after: str | None = None,
                      limit: int = 1_000_000) -> list[dict[str, Any]]:
        """Databases in name order, starting after the name `after`."""
        rows = self.db.reader().execute(
            "SELECT body FROM databases WHERE account = ? AND region = ? AND name > ? ORDER BY name LIMIT ?",
            (account, region, after or "", limit))
        return [loads(r[0]) for r in rows]

    def update_database(self, account: str, region: str, name: str, given: dict[str, Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            db_id = self._db_id(conn, account, region, name)
            old = loads(conn.execute("SELECT body FROM databases WHERE id = ?", (db_id,)).fetchone()[0])
            if normalize_name(given["Name"]) != old["Name"]:
                raise InvalidInputException("Database name cannot be changed.")
            record = database_record(account, given, old["CreateTime"])
            conn.execute("UPDATE databases SET body = ? WHERE id = ?", (dumps(record), db_id))

        self.db.write(write)

    def delete_database(self, account: str, region: str, name: str) -> list[str]:
        """Drops the database with all its tables; returns the names of the tables dropped."""
        def write(conn: sqlite3.Connection) -> list[str]:
            db_id = self._db_id(conn, account, region, name)
            tables = conn.execute("SELECT id, name FROM tables WHERE db = ?", (db_id,)).fetchall()
            for tbl, _ in tables:
                self._drop_table_rows(conn, tbl)
            conn.execute("DELETE FROM databases WHERE id = ?", (db_id,))
            return [t[1] for t in tables]

        dropped = self.db.write(write)
        if self.on_delete is not None:
            db_name = normalize_name(name)
            self.on_delete(account, region, f"database/{db_name}")
            for table in dropped:
                self.on_delete(account, region, f"table/{db_name}/{table}")
        return dropped

    # -- tables -------------------------------------------------------------------------------------------

    def create_table(self, account: str, region: str, database: str, given: dict[str, Any],
                     indexes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        stamp = now()
        db_name = normalize_name(database)
        record = table_record(account, db_name, given, stamp, stamp, 0)

        def write(conn: sqlite3.Connection) -> None:
            db_id = self._db_id(conn, account, region, database)
            try:
                cursor = conn.execute(
                    "INSERT INTO tables (db, name, version, next_version, body) VALUES (?, ?, 0, 1, ?)",
                    (db_id, record["Name"], dumps(record)))
            except sqlite3.IntegrityError:
                raise AlreadyExistsException(f"Table already exists: {record['Name']}") from None
            tbl = int(cursor.lastrowid or 0)
            conn.execute("INSERT INTO table_versions (tbl, version, body) VALUES (?, 0, ?)", (tbl, dumps(record)))
            for index in indexes or []:
                self._add_index(conn, tbl, record, index)

        self.db.write(write)
        return record

    def get_table(self, account: str, region: str, database: str, name: str) -> dict[str, Any]:
        return self._table_row(self.db.reader(), account, region, database, name)[1]

    def get_tables(self, account: str, region: str, database: str, pattern: str | None = None,
                   after: str | None = None, limit: int = 1_000_000) -> list[dict[str, Any]]:
        """Tables of a database in name order after `after`, whose names match the regex `pattern`."""
        regex = _regex(pattern)
        conn = self.db.reader()
        db_id = self._db_id(conn, account, region, database)
        out: list[dict[str, Any]] = []
        cursor = conn.execute("SELECT name, body FROM tables WHERE db = ? AND name > ? ORDER BY name",
                              (db_id, after or ""))
        for name, body in cursor:
            if regex is not None and regex.fullmatch(name) is None:
                continue
            out.append(loads(body))
            if len(out) >= limit:
                break
        return out

    def update_table(self, account: str, region: str, database: str, given: dict[str, Any],
                     skip_archive: bool = False, expected_version: str | None = None) -> dict[str, Any]:
        """Replaces a table's definition; the previous one stays readable as a table version."""
        stamp = now()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            tbl, old = self._table_row(conn, account, region, database, given["Name"])
            if expected_version is not None and expected_version != old["VersionId"]:
                raise ConcurrentModificationException("Update table failed due to concurrent modifications.")
            version, next_version = conn.execute("SELECT version, next_version FROM tables WHERE id = ?",
                                                 (tbl,)).fetchone()
            record = table_record(account, old["DatabaseName"], given, old["CreateTime"], stamp, next_version)
            if skip_archive:
                conn.execute("DELETE FROM table_versions WHERE tbl = ? AND version = ?", (tbl, version))
            conn.execute("INSERT INTO table_versions (tbl, version, body) VALUES (?, ?, ?)",
                         (tbl, next_version, dumps(record)))
            conn.execute("UPDATE tables SET body = ?, version = ?, next_version = ? WHERE id = ?",
                         (dumps(record), next_version, next_version + 1, tbl))
            return record

        return self.db.write(write)

    def delete_table(self, account: str, region: str, database: str, name: str) -> None:
        def write(conn: sqlite3.Connection) -> str:
            tbl, old = self._table_row(conn, account, region, database, name)
            self._drop_table_rows(conn, tbl)
            return str(old["DatabaseName"]) + "/" + str(old["Name"])

        path = self.db.write(write)
        if self.on_delete is not None:
            self.on_delete(account, region, f"table/{path}")

    @staticmethod
    def _drop_table_rows(conn: sqlite3.Connection, tbl: int) -> None:
        for table in ("table_versions", "partitions", "partition_indexes", "column_stats"):
            conn.execute(f"DELETE FROM {table} WHERE tbl = ?", (tbl,))
        conn.execute("DELETE FROM tables WHERE id = ?", (tbl,))

    # -- table versions -----------------------------------------------------------------------------------

    def get_table_versions(self, account: str, region: str, database: str, name: str,
                           before: int | None = None, limit: int = 1_000_000) -> list[dict[str, Any]]:
        """TableVersion dicts, newest first, with versions older than `before` when it is given."""
        conn = self.db.reader()
        tbl, _ = self._table_row(conn, account, region, database, name)
        rows = conn.execute(
            "SELECT version, body FROM table_versions WHERE tbl = ? AND version < ? ORDER BY version DESC LIMIT ?",
            (tbl, MAX_TABLE_VERSIONS * 1000 if before is None else before, limit))
        return [{"Table": loads(body), "VersionId": str(version)} for version, body in rows]

    def get_table_version(self, account: str, region: str, database: str, name: str,
                          version_id: str | None) -> dict[str, Any]:
        conn = self.db.reader()
        tbl, table = self._table_row(conn, account, region, database, name)
        if version_id is None:
            return {"Table": table, "VersionId": table["VersionId"]}
        version = _version_number(version_id)
        row = conn.execute("SELECT body FROM table_versions WHERE tbl = ? AND version = ?",
                           (tbl, version)).fetchone()
        if row is None:
            raise EntityNotFoundException(f"Version {version_id} of table {name} not found.")
        return {"Table": loads(row[0]), "VersionId": str(version)}

    def delete_table_version(self, account: str, region: str, database: str, name: str, version_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            tbl, table = self._table_row(conn, account, region, database, name)
            version = _version_number(version_id)
            if str(version) == table["VersionId"]:
                raise InvalidInputException("The current version of a table cannot be deleted.")
            deleted = conn.execute("DELETE FROM table_versions WHERE tbl = ? AND version = ?", (tbl, version))
            if deleted.rowcount == 0:
                raise EntityNotFoundException(f"Version {version_id} of table {name} not found.")

        self.db.write(write)

    # -- search -------------------------------------------------------------------------------------------

    def all_tables(self, account: str, region: str) -> list[dict[str, Any]]:
        """Every table of the catalog, by database then name (for SearchTables)."""
        rows = self.db.reader().execute(
            "SELECT t.body FROM tables t JOIN databases d ON d.id = t.db "
            "WHERE d.account = ? AND d.region = ? ORDER BY d.name, t.name", (account, region))
        return [loads(r[0]) for r in rows]

    def exists(self, account: str, region: str, database: str, table: str | None = None) -> bool:
        try:
            if table is None:
                self.get_database(account, region, database)
            else:
                self.get_table(account, region, database, table)
        except EntityNotFoundException:
            return False
        return True


def _version_number(version_id: str) -> int:
    try:
        version = int(version_id)
    except ValueError:
        raise InvalidInputException(f"Invalid version id: {version_id}") from None
    if version < 0:
        raise InvalidInputException(f"Invalid version id: {version_id}")
    return version
