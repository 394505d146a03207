"""What a warehouse database holds, read from DuckDB's catalog and reported with Redshift's names.

Column types come from the declaration Redshift saw (kept as the column's comment when the table was
created, e.g. "varchar(50)"), falling back to the DuckDB type for tables made without a declaration
(CREATE TABLE AS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.results import Column, make_column, redshift_type
from fogbank.services.redshift_data.translate import ColumnType

HIDDEN_SCHEMAS = {"main"}
SYSTEM_SCHEMAS = ["information_schema", "pg_catalog"]


@dataclass(frozen=True)
class TableColumn:
    name: str
    duckdb_type: str
    declared: ColumnType
    nullable: bool
    default: str | None

    @property
    def is_identity(self) -> bool:
        return bool(self.default and "nextval(" in self.default and "__identity_" in self.default)

    def metadata(self, schema: str, table: str) -> Column:
        declared = self.declared
        if declared.name in ("varchar", "bpchar", "varbyte"):
            column = make_column(self.name, declared.name, precision=declared.length, length=declared.length)
        elif declared.name == "numeric":
            column = make_column(self.name, "numeric", precision=declared.precision, scale=declared.scale)
        else:
            _, precision, scale = redshift_type(self.duckdb_type)
            column = make_column(self.name, declared.name, precision=precision, scale=scale)
        column.nullable = 1 if self.nullable else 0
        column.schemaName = schema
        column.tableName = table
        if self.default is not None and not self.is_identity:
            column.columnDefault = self.default
        elif self.is_identity:
            column.columnDefault = '"identity"'
        return column


def declared_type(duckdb_type: str, comment: str | None) -> ColumnType:
    if comment:
        parsed = ColumnType.parse(comment)
        if parsed is not None:
            return parsed
    name, precision, scale = redshift_type(duckdb_type)
    if name == "numeric":
        return ColumnType(name, precision=precision, scale=scale)
    if name == "varchar":
        return ColumnType(name, length=256)
    return ColumnType(name)


def resolve_table(cursor: duckdb.DuckDBPyConnection, database: str, parts: list[str]) -> tuple[str, str, str]:
    """(catalog, schema, table) of a table name as a statement wrote it (temporary tables first)."""
    name = parts[-1]
    if len(parts) >= 2:
        catalog = parts[-3] if len(parts) == 3 else database
        schema = parts[-2]
        candidates = [(catalog, schema)]
    else:
        current = cursor.execute("SELECT current_schema()").fetchone()
        candidates = [("temp", "main"), (database, current[0] if current else "public")]
    for catalog, schema in candidates:
        found = cursor.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [catalog, schema, name]).fetchone()
        if found:
            return catalog, schema, name
    raise RedshiftSqlError(f'relation "{".".join(parts)}" does not exist')


def table_columns(cursor: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[TableColumn]:
    rows = cursor.execute(
        "SELECT column_name, data_type, is_nullable, column_default, comment FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [catalog, schema, table]).fetchall()
    return [TableColumn(r[0], r[1], declared_type(r[1], r[4]), bool(r[2]), r[3]) for r in rows]


def like_to_regex(pattern: str | None) -> re.Pattern[str] | None:
    """A SQL LIKE pattern (% and _) as a regular expression; None matches everything."""
    if pattern is None or pattern == "%":
        return None
    out = []
    for c in pattern:
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
    return re.compile("".join(out), re.S)


def schemas(cursor: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    rows = cursor.execute("SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? ORDER BY 1",
                          [database]).fetchall()
    return sorted({r[0] for r in rows if r[0] not in HIDDEN_SCHEMAS} | set(SYSTEM_SCHEMAS))


def tables(cursor: duckdb.DuckDBPyConnection, database: str) -> list[dict[str, Any]]:
    """Tables and views of a database: name, schema and type as ListTables reports them."""
    rows = cursor.execute(
        "SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = ? AND NOT internal "
        "UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() WHERE database_name = ? "
        "AND NOT internal ORDER BY 1, 2", [database, database]).fetchall()
    return [{"schema": r[0], "name": r[1], "type": r[2]} for r in rows if r[0] not in HIDDEN_SCHEMAS]
