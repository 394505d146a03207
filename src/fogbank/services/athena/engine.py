"""Running one statement's SQL on DuckDB: SELECTs into Athena's result CSV, and query output written as
table files (Parquet, ORC, JSON, text) for CTAS, INSERT INTO and UNLOAD.

DuckDB's errors are worded here as Athena words them (COLUMN_NOT_FOUND, FUNCTION_NOT_FOUND, ...), so a
client sees the same reasons it would see from Athena.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from duckdb.sqltypes import DuckDBPyType
from sqlglot import exp

from fogbank.engines import sql as sqlengine
from fogbank.engines.sql import SqlError, quote_ident, quote_literal
from fogbank.services.athena import results
from fogbank.services.athena.databases import Bound, QueryDatabase
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.scan import QuerySession
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.hive_types import from_duckdb as hive_type_of
from fogbank.services.s3.local_access import S3LocalAccess

if TYPE_CHECKING:
    from fogbank.services.athena.iceberg import IcebergStatements


@dataclass
class Outcome:
    """What a statement produced, for the runner to publish and record."""

    statement_type: str = "DML"
    substatement: str = "SELECT"
    columns: list[dict[str, Any]] = field(default_factory=list)
    csv_path: Path | None = None
    text_rows: list[list[str]] | None = None
    update_count: int | None = None
    written: list[str] = field(default_factory=list)
    scanned_bytes: int = 0


@dataclass
class ExecContext:
    """Everything a statement may use: who runs it, where, and on which catalog and storage."""

    query_id: str
    account: str
    region: str
    catalog: GlueCatalog
    s3: S3LocalAccess
    scratch: Path
    database: str
    workgroup: str
    output_location: str
    prepared: Callable[[str], str | None]
    threads: int = 2
    memory_limit: str = "2GB"
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_connection: Callable[[duckdb.DuckDBPyConnection | None], None] = lambda conn: None
    # The locked DuckDB database the statement runs on (lent by the runner for this statement only).
    query_database: QueryDatabase | None = None


def name_columns(tree: exp.Expr) -> exp.Expr:
    """Gives unnamed select items Trino's names (_col0, _col1, ... by position)."""
    for select in tree.find_all(exp.Select):
        for index, item in enumerate(select.expressions):
            if isinstance(item, exp.Alias | exp.Column | exp.Star) or item.find(exp.Star) is item:
                continue
            if isinstance(item, exp.Dot):
                continue
            item.replace(exp.alias_(item.copy(), f"_col{index}", quoted=False))
    return tree


def duckdb_failure(exc: duckdb.Error) -> QueryFailed:
    """DuckDB's error as Athena would word it."""
    text = str(exc).strip()
    first = text.split("\n")[0]
    match = (re.search(r'Referenced column "([^"]+)" not found', text)
             or re.search(r'column "([^"]+)" not found', text, re.IGNORECASE)
             or re.search(r'Column "([^"]+)" referenced that exists in the SELECT clause', text))
    if isinstance(exc, duckdb.BinderException) and match:
        return QueryFailed(f"COLUMN_NOT_FOUND: line 1:8: Column '{match.group(1)}' cannot be resolved or requester "
                           "is not authorized to access requested resources")
    match = re.search(r"(?:Scalar|Table|Aggregate) Function with name \"?([\w]+)\"? does not exist", text)
    if match:
        return QueryFailed(f"FUNCTION_NOT_FOUND: line 1:8: Function '{match.group(1).lower()}' not registered")
    if isinstance(exc, duckdb.ConversionException):
        return QueryFailed(f"INVALID_CAST_ARGUMENT: {first.split(': ', 1)[-1]}")
    if isinstance(exc, duckdb.OutOfRangeException):
        return QueryFailed(f"NUMERIC_VALUE_OUT_OF_RANGE: {first.split(': ', 1)[-1]}")
    if isinstance(exc, duckdb.BinderException):
        if "No function matches" in text:
            return QueryFailed(f"FUNCTION_NOT_FOUND: line 1:8: Unexpected parameters for function: {first}")
        return QueryFailed(f"SYNTAX_ERROR: line 1:8: {first.split(': ', 1)[-1]}")
    if isinstance(exc, duckdb.ParserException):
        return QueryFailed(f"NOT_SUPPORTED: {first.split(': ', 1)[-1]}")
    if isinstance(exc, duckdb.InterruptException):
        return QueryFailed("Query cancelled by user", 2, 1006)
    if isinstance(exc, duckdb.InvalidInputException) and ("JSON transform error" in text or "Malformed JSON" in text):
        return QueryFailed(f"HIVE_BAD_DATA: Error parsing field value: {first.split(': ', 1)[-1]}")
    if isinstance(exc, duckdb.InvalidInputException) and "Could not convert" in text:
        return QueryFailed(f"HIVE_BAD_DATA: {first.split(': ', 1)[-1]}")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return QueryFailed(f"EXCEEDED_LOCAL_MEMORY_LIMIT: {first}", 1, 401, retryable=True)
    return QueryFailed(f"GENERIC_INTERNAL_ERROR: {first}", 1, 401)


class Engine:
    """A statement's DuckDB connection and catalog session; close it when the statement ends."""

    def __init__(self, ctx: ExecContext) -> None:
        self.ctx = ctx
        self._own: QueryDatabase | None = None
        if ctx.query_database is None:  # a statement on its own (tests, tools): a database of its own
            self._own = QueryDatabase(ctx.scratch / "db", ctx.threads, ctx.memory_limit)
            self._own.account = ctx.account
        database = ctx.query_database or self._own
        assert database is not None
        self.database: QueryDatabase = database
        self.conn = self.database.session()
        ctx.on_connection(self.conn)
        self.session = QuerySession(ctx.account, ctx.region, ctx.catalog, ctx.s3, ctx.scratch, self.conn,
                                    ctx.database, self.database)

    @property
    def iceberg(self) -> IcebergStatements:
        """This statement's Iceberg operations; pyiceberg is imported with the first one, not at start."""
        from fogbank.services.athena.iceberg import IcebergStatements

        return IcebergStatements(self)

    def output_dir(self) -> Path:
        """Where this statement's DuckDB writes its results and table files."""
        return self.database.output_dir(self.ctx.query_id)

    def close(self) -> None:
        self.ctx.on_connection(None)
        self.session.close()
        self.conn.close()
        if self._own is not None:
            self._own.close()

    def check_cancelled(self) -> None:
        if self.ctx.cancelled.is_set():
            raise QueryFailed("Query cancelled by user")

    # -- queries -------------------------------------------------------------------------------------------

    def prepare(self, tree: exp.Expr) -> tuple[str, Bound]:
        """Resolves and translates a query; returns its DuckDB SQL and its output columns (it is not run)."""
        tree = name_columns(tree.copy())
        tree = self.session.resolve(tree)
        self.check_cancelled()
        try:
            renamed = self.session.open(shared=True)
        except duckdb.Error as exc:
            raise duckdb_failure(exc) from exc
        for table in tree.find_all(exp.Table):  # the views of this statement's tables, shared or not
            shared = renamed.get(table.name) if not table.args.get("db") else None
            if shared is not None:
                table.set("this", exp.to_identifier(shared))
        try:
            text = sqlengine.to_duckdb(tree, "trino", self.session.schema())
        except SqlError as exc:
            raise QueryFailed(str(exc)) from exc
        cacheable = self.session.only_shared
        bound = self.database.bound(text) if cacheable else None
        if bound is None:
            try:
                relation = self.conn.sql(text)
            except duckdb.Error as exc:
                raise duckdb_failure(exc) from exc
            if relation is None:
                raise QueryFailed("NOT_SUPPORTED: the statement does not return rows")
            bound = Bound(list(relation.columns), list(relation.types))
            if cacheable:
                self.database.remember_bound(text, bound)
        return text, bound

    def select(self, tree: exp.Expr) -> Outcome:
        out_dir = self.output_dir()
        text, bound = self.prepare(tree)
        names, types = bound.columns, bound.types
        columns = results.column_info(names, types)
        path = out_dir / "result.csv"
        try:
            count = self._copy_csv(text, names, types, path)
            if count is None:
                cursor = self.conn.execute(results.formatted_query(text, names, types))
                with open(path, "wb") as out:
                    count = results.write_csv(out, names, results.fetch_batches(cursor))
        except duckdb.Error as exc:
            raise duckdb_failure(exc) from exc
        return Outcome("DML", "SELECT", columns, path, update_count=count,
                       scanned_bytes=self.session.scanned_bytes)

    def _copy_csv(self, text: str, names: list[str], types: list[DuckDBPyType], path: Path) -> int | None:
        """Has DuckDB write the result CSV itself (in parallel, no row passes through Python); None when the
        header cannot be written that way (names empty or repeated), or the connection may not write there."""
        if not results.copyable_header(names):
            return None
        try:
            row = self.conn.execute(results.copy_csv_sql(text, names, types, str(path))).fetchone()
        except duckdb.PermissionException:
            return None
        return int(row[0]) if row else 0

    def column_types(self, tree: exp.Expr) -> list[tuple[str, str]]:
        """The (name, Hive type) of a query's output, without running it (views, CTAS schemas)."""
        _, bound = self.prepare(tree)
        return [(name, hive_type_of(t)) for name, t in zip(bound.columns, bound.types, strict=True)]

    # -- writing table files -------------------------------------------------------------------------------

    def write_files(self, text: str, out_dir: Path, fmt: str, partition_by: list[str], compression: str | None,
                    delimiter: str = "\x01") -> int:
        """Runs `text` and writes its rows under `out_dir` (Hive-style folders per partition); returns rows."""
        out_dir.mkdir(parents=True, exist_ok=True)
        fmt = fmt.upper()
        try:
            count_row = self.conn.execute(f"SELECT count(*) FROM ({text})").fetchone()
            count = int(count_row[0]) if count_row else 0
            if fmt == "ORC":
                self._write_orc(text, out_dir, partition_by)
                return count
            options = []
            if fmt == "PARQUET":
                options.append("FORMAT PARQUET")
                options.append(f"COMPRESSION {quote_literal((compression or 'snappy').lower())}")
            elif fmt == "JSON":
                options.append("FORMAT JSON")
                options.append(f"COMPRESSION {quote_literal(_text_codec(compression))}")
            elif fmt == "TEXTFILE":
                options += ["FORMAT CSV", "HEADER false", f"DELIMITER {quote_literal(delimiter)}", "QUOTE ''",
                            "ESCAPE ''", "NULLSTR '\\N'", f"COMPRESSION {quote_literal(_text_codec(compression))}"]
            elif fmt == "AVRO":
                options.append("FORMAT AVRO")  # the Avro extension is loaded before the lock-down
            else:
                raise QueryFailed(f"NOT_SUPPORTED: format {fmt} is not supported for writing")
            if partition_by:
                options.append("PARTITION_BY (" + ", ".join(quote_ident(p) for p in partition_by) + ")")
                options.append("FILENAME_PATTERN 'data_{i}'")
            target = out_dir if partition_by else out_dir / ("data_0" + _extension(fmt, compression))
            self.conn.execute(f"COPY ({text}) TO {quote_literal(str(target))} ({', '.join(options)})")
        except duckdb.Error as exc:
            raise duckdb_failure(exc) from exc
        return count

    def _write_orc(self, text: str, out_dir: Path, partition_by: list[str]) -> None:
        import pyarrow.dataset as ds

        table = self.conn.execute(text).fetch_arrow_table()
        if partition_by:
            ds.write_dataset(table, str(out_dir), format="orc", partitioning=partition_by,
                             partitioning_flavor="hive", basename_template="data_{i}.orc",
                             existing_data_behavior="overwrite_or_ignore")
        else:
            import pyarrow.orc as orc

            orc.write_table(table, str(out_dir / "data_0.orc"))


def _text_codec(compression: str | None) -> str:
    value = (compression or "gzip").lower()
    return {"none": "none", "uncompressed": "none", "gzip": "gzip", "zstd": "zstd"}.get(value, "gzip")


def _extension(fmt: str, compression: str | None) -> str:
    if fmt == "PARQUET":
        return ".parquet"
    if fmt == "AVRO":
        return ".avro"
    codec = _text_codec(compression)
    suffix = {"gzip": ".gz", "zstd": ".zst"}.get(codec, "")
    return (".json" if fmt == "JSON" else "") + suffix
