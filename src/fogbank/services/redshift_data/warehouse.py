"""The warehouses: one DuckDB engine per cluster or Serverless namespace, one database file per Redshift
database, and the registry that names them.

A warehouse's owner is fogbank's internal id of the cluster or namespace (never its name), so re-creating a
cluster under an old name starts empty, as in AWS. Database files are named by registry row ids, never by a
client's string. Each engine is an in-memory DuckDB with the owner's database files ATTACHed under their
Redshift names, so `current_database()` and cross-database names read as in Redshift; every statement gets
its own cursor (its own transaction) on that engine.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fogbank.services.redshift_data.pgerror import RedshiftSqlError

log = logging.getLogger(__name__)

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,126}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS databases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (owner, name)
);
CREATE TABLE IF NOT EXISTS external_schemas (
    database_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    glue_database TEXT NOT NULL,
    region TEXT,
    PRIMARY KEY (database_id, name)
) WITHOUT ROWID;
"""


# Redshift's system views that tools query to find tables and columns, over DuckDB's catalog. They live in
# each database's hidden "main" schema; translation routes the Redshift names there.
SYSTEM_VIEWS = {
    "svv_tables": """SELECT database_name AS table_catalog, schema_name AS table_schema, table_name,
        'BASE TABLE' AS table_type, CAST(NULL AS VARCHAR) AS remarks FROM duckdb_tables()
        WHERE database_name = {db} AND schema_name <> 'main'
        UNION ALL SELECT database_name, schema_name, view_name, 'VIEW', NULL FROM duckdb_views()
        WHERE database_name = {db} AND schema_name <> 'main' AND NOT internal""",
    "svv_columns": """SELECT database_name AS table_catalog, schema_name AS table_schema, table_name, column_name,
        column_index AS ordinal_position, column_default, CASE WHEN is_nullable THEN 'YES' ELSE 'NO' END
        AS is_nullable, coalesce(comment, lower(data_type)) AS data_type FROM duckdb_columns()
        WHERE database_name = {db} AND schema_name <> 'main'""",
    "pg_table_def": """SELECT schema_name AS schemaname, table_name AS tablename, column_name AS "column",
        coalesce(comment, lower(data_type)) AS type, 'none' AS encoding, false AS distkey, 0 AS sortkey,
        NOT is_nullable AS notnull FROM duckdb_columns() WHERE database_name = {db} AND schema_name <> 'main'""",
    "stl_load_errors": """SELECT CAST(NULL AS INTEGER) AS userid, CAST(NULL AS INTEGER) AS slice,
        CAST(NULL AS INTEGER) AS tbl, CAST(NULL AS TIMESTAMP) AS starttime, CAST(NULL AS INTEGER) AS session,
        CAST(NULL AS INTEGER) AS query, CAST(NULL AS VARCHAR) AS filename, CAST(NULL AS BIGINT) AS line_number,
        CAST(NULL AS VARCHAR) AS colname, CAST(NULL AS VARCHAR) AS type, CAST(NULL AS VARCHAR) AS raw_line,
        CAST(NULL AS VARCHAR) AS raw_field_value, CAST(NULL AS INTEGER) AS err_code,
        CAST(NULL AS VARCHAR) AS err_reason WHERE false""",
}


@dataclass(frozen=True)
class ExternalSchema:
    name: str
    glue_database: str
    region: str | None


def check_database_name(name: str) -> str:
    lowered = name.lower()
    if not _DB_NAME.match(lowered) or lowered in ("template0", "template1", "padb_harvest", "system", "temp",
                                                   "memory", "main"):
        raise RedshiftSqlError(f'invalid database name "{name}"')
    return lowered


class Engine:
    """One owner's DuckDB instance and the databases attached to it."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.attached: set[str] = set()
        self.lock = threading.RLock()


class Warehouses:
    """Every warehouse under one folder; thread-safe."""

    def __init__(self, root: Path, scratch: Path, threads: int = 2, memory_limit: str = "2GB") -> None:
        self.root = root
        self.scratch = scratch
        self.files = root / "databases"
        self.files.mkdir(parents=True, exist_ok=True)
        self.spill = root / "spill"
        shutil.rmtree(self.spill, ignore_errors=True)
        self.spill.mkdir(parents=True, exist_ok=True)
        self.threads = threads
        self.memory_limit = memory_limit
        self._registry = sqlite3.connect(root / "warehouses.db", isolation_level=None, check_same_thread=False,
                                         timeout=30)
        self._registry.execute("PRAGMA journal_mode=WAL")
        self._registry.execute("PRAGMA synchronous=FULL")
        self._registry.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._engines: dict[str, Engine] = {}

    # -- registry ---------------------------------------------------------------------------------------

    def _database_id(self, owner: str, name: str) -> int | None:
        with self._lock:
            row = self._registry.execute("SELECT id FROM databases WHERE owner = ? AND name = ?",
                                         (owner, name)).fetchone()
        return int(row[0]) if row else None

    def databases(self, owner: str) -> list[str]:
        with self._lock:
            rows = self._registry.execute("SELECT name FROM databases WHERE owner = ? ORDER BY name",
                                          (owner,)).fetchall()
        return [r[0] for r in rows]

    def has_database(self, owner: str, name: str) -> bool:
        return self._database_id(owner, name) is not None

    def _path(self, database_id: int) -> Path:
        return self.files / f"{database_id}.duckdb"

    def create_database(self, owner: str, name: str, exists_ok: bool = False) -> None:
        name = check_database_name(name)
        with self._lock:
            try:
                self._registry.execute("INSERT INTO databases (owner, name, created) VALUES (?, ?, ?)",
                                       (owner, name, time.time()))
            except sqlite3.IntegrityError:
                if exists_ok:
                    return
                raise RedshiftSqlError(f'database "{name}" already exists') from None
        engine = self._engine(owner)
        with engine.lock:
            self._attach(engine, owner, name)

    def drop_database(self, owner: str, name: str) -> None:
        database_id = self._database_id(owner, name)
        if database_id is None:
            raise RedshiftSqlError(f'database "{name}" does not exist')
        engine = self._engine(owner)
        with engine.lock:
            if name in engine.attached:
                engine.connection.execute(f'DETACH "{name}"')
                engine.attached.discard(name)
        with self._lock:
            self._registry.execute("DELETE FROM external_schemas WHERE database_id = ?", (database_id,))
            self._registry.execute("DELETE FROM databases WHERE id = ?", (database_id,))
        self._remove_files(database_id)

    def _remove_files(self, database_id: int) -> None:
        path = self._path(database_id)
        for candidate in (path, path.with_name(path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()

    def drop_owner(self, owner: str) -> None:
        """Deletes every database of a cluster or namespace (it was deleted)."""
        with self._lock:
            engine = self._engines.pop(owner, None)
            ids = [r[0] for r in self._registry.execute("SELECT id FROM databases WHERE owner = ?", (owner,))]
            for database_id in ids:
                self._registry.execute("DELETE FROM external_schemas WHERE database_id = ?", (database_id,))
            self._registry.execute("DELETE FROM databases WHERE owner = ?", (owner,))
        if engine is not None:
            with engine.lock:
                engine.connection.close()
        for database_id in ids:
            self._remove_files(database_id)

    # -- external schemas ---------------------------------------------------------------------------------

    def external_schemas(self, owner: str, database: str) -> dict[str, ExternalSchema]:
        database_id = self._database_id(owner, database)
        if database_id is None:
            return {}
        with self._lock:
            rows = self._registry.execute(
                "SELECT name, glue_database, region FROM external_schemas WHERE database_id = ? ORDER BY name",
                (database_id,)).fetchall()
        return {r[0]: ExternalSchema(r[0], r[1], r[2]) for r in rows}

    def add_external_schema(self, owner: str, database: str, schema: ExternalSchema, if_not_exists: bool) -> None:
        database_id = self._database_id(owner, database)
        if database_id is None:
            raise RedshiftSqlError(f'database "{database}" does not exist')
        with self._lock:
            try:
                self._registry.execute(
                    "INSERT INTO external_schemas (database_id, name, glue_database, region) VALUES (?, ?, ?, ?)",
                    (database_id, schema.name, schema.glue_database, schema.region))
            except sqlite3.IntegrityError:
                if if_not_exists:
                    return
                raise RedshiftSqlError(f'Schema "{schema.name}" already exists') from None

    def drop_external_schema(self, owner: str, database: str, name: str) -> bool:
        database_id = self._database_id(owner, database)
        if database_id is None:
            return False
        with self._lock:
            cursor = self._registry.execute("DELETE FROM external_schemas WHERE database_id = ? AND name = ?",
                                            (database_id, name))
        return cursor.rowcount > 0

    # -- engines --------------------------------------------------------------------------------------------

    def _engine(self, owner: str) -> Engine:
        with self._lock:
            engine = self._engines.get(owner)
            if engine is None:
                connection = duckdb.connect(":memory:", config={
                    "threads": self.threads, "memory_limit": self.memory_limit,
                    "temp_directory": str(self.spill), "autoinstall_known_extensions": False,
                    "autoload_known_extensions": True, "python_enable_replacements": False})
                # SQL reaches no file but the database files and the statements' scratch copies of S3
                # objects; external access cannot be turned back on once it is off.
                allowed = ", ".join(f"'{p}/'" for p in (self.files, self.scratch))
                connection.execute(f"SET allowed_directories = [{allowed}]")
                connection.execute("SET enable_external_access = false")
                engine = Engine(connection)
                self._engines[owner] = engine
            return engine

    def _attach(self, engine: Engine, owner: str, name: str) -> None:
        if name in engine.attached:
            return
        database_id = self._database_id(owner, name)
        if database_id is None:
            raise RedshiftSqlError(f'database "{name}" does not exist', prefix="FATAL")
        engine.connection.execute(f"ATTACH '{self._path(database_id)}' AS \"{name}\"")
        engine.connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}".public')
        for view, body in SYSTEM_VIEWS.items():
            engine.connection.execute(f'CREATE OR REPLACE VIEW "{name}".main.{view} AS '
                                      f"{body.format(db=repr(name))}")
        engine.attached.add(name)

    def cursor(self, owner: str, database: str) -> duckdb.DuckDBPyConnection:
        """A new connection to the owner's engine, in `database`'s public schema, set up like a Redshift
        session (UTC, integer division for integers)."""
        engine = self._engine(owner)
        with engine.lock:
            for name in self.databases(owner):
                self._attach(engine, owner, name)
            if database not in engine.attached:
                raise RedshiftSqlError(f'database "{database}" does not exist', prefix="FATAL")
            cursor = engine.connection.cursor()
        cursor.execute(f'USE "{database}".public')
        cursor.execute("SET TimeZone = 'UTC'")
        cursor.execute("SET integer_division = true")
        return cursor

    def checkpoint(self, owner: str, database: str) -> None:
        """Folds the write-ahead log into the database file (a commit is durable before this already)."""
        engine = self._engines.get(owner)
        if engine is None:
            return
        try:
            with engine.lock:
                if database in engine.attached:
                    engine.connection.execute(f'CHECKPOINT "{database}"')
        except duckdb.Error:
            log.debug("checkpoint of %s deferred", database, exc_info=True)

    def close(self) -> None:
        with self._lock:
            engines = list(self._engines.values())
            self._engines.clear()
        for engine in engines:
            with engine.lock:
                for name in list(engine.attached):
                    with contextlib.suppress(duckdb.Error):
                        engine.connection.execute(f'CHECKPOINT "{name}"')
                engine.connection.close()
        with self._lock:
            self._registry.close()
