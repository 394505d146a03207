"""Reading Iceberg tables: which data files a snapshot holds, and how DuckDB reads them by field id.

A query reads the snapshot it names (`FOR VERSION AS OF`, `FOR TIMESTAMP AS OF`) or the current one. The
WHERE clause's simple predicates become an Iceberg row filter, so pyiceberg skips whole files by partition
values and column statistics — only the files left are read and counted as scanned. Columns are matched by
Iceberg field id, not by name, so renamed, added and dropped columns read as Iceberg says they should.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    LiteralPredicate,
    Not,
    NotEqualTo,
    NotIn,
    NotNull,
    Or,
    SetPredicate,
    UnboundPredicate,
)
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.manifest import DataFile, FileFormat
from pyiceberg.schema import Schema, visit
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    TimestamptzType,
)
from sqlglot import exp

from fogbank.engines.sql import duckdb_type, quote_ident, quote_literal
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.iceberg_catalog import GlueType


def _utc(arrow: pa.Table, *columns: str) -> pa.Table:
    """Trino types the metadata tables' instants `timestamp(3) with time zone`; pyiceberg's are naive UTC."""
    for name in columns:
        index = arrow.schema.get_field_index(name)
        arrow = arrow.set_column(index, name, arrow.column(name).cast(pa.timestamp("ms", tz="UTC")))
    return arrow


def _manifests(table: Table) -> pa.Table:
    """$manifests with Trino's columns: pyiceberg's, plus the row counts each manifest records."""
    arrow = table.inspect.manifests()
    snapshot = table.current_snapshot()
    counts = {m.manifest_path: m for m in snapshot.manifests(table.io)} if snapshot is not None else {}
    for name in ("added_rows_count", "existing_rows_count", "deleted_rows_count"):
        values = [getattr(counts[str(path)], name, None) if str(path) in counts else None
                  for path in arrow.column("path").to_pylist()]
        arrow = arrow.append_column(name, pa.array(values, pa.int64()))
    return arrow.select(["path", "length", "partition_spec_id", "added_snapshot_id", "added_data_files_count",
                         "added_rows_count", "existing_data_files_count", "existing_rows_count",
                         "deleted_data_files_count", "deleted_rows_count", "partition_summaries"])


def _partitions(table: Table) -> pa.Table:
    """$partitions with Trino's columns; an unpartitioned table has no `partition` column, as in Trino."""
    counts = [pa.field("record_count", pa.int64()), pa.field("file_count", pa.int64()),
              pa.field("total_size", pa.int64())]
    if table.current_snapshot() is None:  # pyiceberg refuses a table without snapshots; Trino shows no rows
        fields = list(counts)
        if not table.spec().is_unpartitioned():
            fields.insert(0, pa.field("partition", schema_to_pyarrow(table.metadata.specs_struct())))
        return pa.schema(fields).empty_table()
    arrow = table.inspect.partitions()
    arrow = arrow.rename_columns(["total_size" if n == "total_data_file_size_in_bytes" else n
                                  for n in arrow.column_names])
    if "partition" in arrow.column_names:
        counts.insert(0, arrow.schema.field("partition"))
    return arrow.select([f.name for f in counts]).cast(pa.schema(counts))


def _files(table: Table) -> pa.Table:
    """$files; an unpartitioned table's `partition` is a struct without fields, which SQL cannot hold, so the
    column is left out, as Trino does."""
    arrow = table.inspect.files()
    empty = [f.name for f in arrow.schema if pa.types.is_struct(f.type) and f.type.num_fields == 0]
    return arrow.drop_columns(empty) if empty else arrow


def _properties(table: Table) -> pa.Table:
    """$properties: the table's properties as (key, value) rows, in key order."""
    items = sorted(table.metadata.properties.items())
    return pa.table({"key": pa.array([k for k, _ in items], pa.string()),
                     "value": pa.array([v for _, v in items], pa.string())})


# The metadata tables a query can read as "<table>$<name>", with the columns Athena (Trino) gives them.
METADATA_TABLES: dict[str, Callable[[Table], pa.Table]] = {
    "snapshots": lambda t: _utc(t.inspect.snapshots(), "committed_at"),
    "history": lambda t: _utc(t.inspect.history(), "made_current_at"),
    "files": _files,
    "manifests": _manifests,
    "partitions": _partitions,
    "refs": lambda t: t.inspect.refs(),
    "properties": _properties,
    "metadata_log_entries": lambda t: _utc(t.inspect.metadata_log_entries(), "timestamp"),
}


@dataclass(frozen=True)
class IcebergColumn:
    name: str
    hive_type: str
    field_id: int


@dataclass
class IcebergFiles:
    """The data files one scan reads, as (s3 uri, size in bytes), and their manifest entries by uri; and the
    position delete files that apply to each data file, by its uri."""

    files: list[tuple[str, int]]
    columns: list[IcebergColumn]
    snapshot_id: int | None
    data_files: dict[str, DataFile] = field(default_factory=dict)
    deletes: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def columns_of(schema: Schema) -> list[IcebergColumn]:
    """The top-level columns of an Iceberg schema, in Glue's (Hive) type spelling."""
    return [IcebergColumn(f.name, visit(f.field_type, GlueType()), f.field_id)
            for f in schema.columns]


def choose_snapshot(table: Table, version: exp.Expr | None,
                    evaluate: Callable[[exp.Expr], Any]) -> Snapshot | None:
    """The snapshot a query reads: the one its FOR ... AS OF clause names, else the current one."""
    if version is None:
        return table.current_snapshot()
    kind = str(version.this or "").upper()
    target = version.args.get("expression")
    qualified = ".".join(table.name())
    if target is None or str(version.args.get("kind") or "AS OF").upper() != "AS OF":
        raise QueryFailed("NOT_SUPPORTED: only FOR VERSION AS OF and FOR TIMESTAMP AS OF are supported")
    if kind == "VERSION":
        if isinstance(target, exp.Literal) and target.is_string:
            found = table.snapshot_by_name(target.this)
            if found is None:
                raise QueryFailed(f"INVALID_ARGUMENTS: Cannot find snapshot with reference name: {target.this}")
            return found
        try:
            snapshot_id = int(evaluate(target))
        except (TypeError, ValueError) as exc:
            raise QueryFailed(f"TYPE_MISMATCH: Unsupported type for table version: {target.sql('trino')}") from exc
        found = table.snapshot_by_id(snapshot_id)
        if found is None:
            raise QueryFailed(f"INVALID_ARGUMENTS: Iceberg snapshot ID does not exists: {snapshot_id}")
        return found
    if kind in ("TIMESTAMP", "SYSTEM_TIME"):
        if isinstance(target, exp.Literal):
            kind_of = "varchar" if target.is_string else "a number"
            raise QueryFailed(f"TYPE_MISMATCH: Pointer type for time travel must be a timestamp with time zone, "
                              f"not {kind_of}: {target.sql('trino')}")
        if isinstance(target, exp.Cast) and isinstance(target.this, exp.Literal) and target.this.is_string:
            target = exp.cast(target.this, exp.DataType.build("TIMESTAMPTZ"))
        try:
            millis = int(evaluate(exp.func("epoch_ms", exp.cast(target, exp.DataType.build("TIMESTAMPTZ")))))
        except (TypeError, ValueError) as exc:
            raise QueryFailed(f"TYPE_MISMATCH: Pointer type for time travel must be a timestamp: "
                              f"{target.sql('trino')}") from exc
        found = table.snapshot_as_of_timestamp(millis)
        if found is None:
            raise QueryFailed(f"INVALID_ARGUMENTS: No version history table {qualified} at or before "
                              f"{target.sql('trino')}")
        return found
    raise QueryFailed(f"NOT_SUPPORTED: FOR {kind} AS OF")


def plan_files(table: Table, snapshot: Snapshot | None, conjuncts: list[exp.Expr]) -> IcebergFiles:
    """The snapshot's data files that can hold rows passing `conjuncts`."""
    columns = columns_of(table.schema())
    if snapshot is None:
        return IcebergFiles([], columns, None)
    row_filter = row_filter_of(conjuncts, table.schema())
    try:
        tasks = _plan(table, snapshot, row_filter)
    except (ValueError, TypeError, ArithmeticError):
        # A predicate pyiceberg cannot bind (e.g. a literal of another type) filters nothing.
        tasks = _plan(table, snapshot, AlwaysTrue())
    files: list[tuple[str, int]] = []
    data_files: dict[str, DataFile] = {}
    deletes: dict[str, list[tuple[str, int]]] = {}
    for task in tasks:
        for delete in task.delete_files:
            if delete.file_format != FileFormat.PARQUET:
                raise QueryFailed(f"NOT_SUPPORTED: Iceberg delete files in {delete.file_format} format are not "
                                  "supported; only Parquet")
        if task.file.file_format != FileFormat.PARQUET:
            raise QueryFailed(f"NOT_SUPPORTED: Iceberg data files in {task.file.file_format} format are not "
                              "supported; only Parquet")
        files.append((task.file.file_path, int(task.file.file_size_in_bytes)))
        data_files[task.file.file_path] = task.file
        if task.delete_files:
            deletes[task.file.file_path] = sorted((d.file_path, int(d.file_size_in_bytes))
                                                  for d in task.delete_files)
    return IcebergFiles(files, columns, snapshot.snapshot_id, data_files, deletes)


def _plan(table: Table, snapshot: Snapshot, row_filter: BooleanExpression) -> list[FileScanTask]:
    """The snapshot's scan tasks: data files with the position deletes that apply to each (pyiceberg matches
    them by sequence number and partition, as the Iceberg spec says)."""
    try:
        return list(table.scan(snapshot_id=snapshot.snapshot_id, row_filter=row_filter).plan_files())
    except ValueError as exc:
        if "equality deletes" in str(exc):
            raise QueryFailed("NOT_SUPPORTED: Iceberg equality delete files are not supported by fogbank's Athena "
                              "engine (position deletes are); rewrite the table's data files in the engine that "
                              "wrote them") from exc
        raise


@dataclass(frozen=True)
class PositionDeletes:
    """A position delete file that applies to a data file: both as the statement's database reads them, and
    the data file as the delete file names it (its uri)."""

    data_local: str
    data_uri: str
    delete_local: str


def relation_sql(local_files: list[str], columns: list[IcebergColumn],
                 deletes: list[PositionDeletes] | None = None) -> str:
    """A SELECT over data files giving the table's columns (matched by field id) and fb_file, without the rows
    that position delete files delete: a delete row (file_path, pos) removes row number `pos` (from 0) of the
    data file `file_path`, when that delete file applies to that data file."""
    names = [f"d.{quote_ident(c.name)}" for c in columns]
    if not local_files:
        exprs = [f"CAST(NULL AS {duckdb_type(c.hive_type)}) AS {quote_ident(c.name)}" for c in columns]
        return f"SELECT {', '.join([*exprs, 'CAST(NULL AS VARCHAR) AS fb_file'])} WHERE false"
    mapping = ", ".join(f"{c.field_id}: {{name: {quote_literal(c.name)}, "
                        f"type: {quote_literal(duckdb_type(c.hive_type))}, default_value: NULL}}" for c in columns)
    files = _list(local_files)
    if not deletes:
        return (f"SELECT {', '.join([*names, 'd.fb_file'])} FROM read_parquet({files}, "
                f"schema = MAP {{{mapping}}}, filename = 'fb_file') d")
    pairs = ", ".join(f"({quote_literal(d.data_local)}, {quote_literal(d.data_uri)}, {quote_literal(d.delete_local)})"
                      for d in deletes)
    delete_files = _list(sorted({d.delete_local for d in deletes}))
    deleted = (f"SELECT m.fb_data, p.pos FROM read_parquet({delete_files}, filename = 'fb_delete', "
               "union_by_name = true) p "
               f"JOIN (VALUES {pairs}) m(fb_data, fb_uri, fb_delete) "
               "ON p.fb_delete = m.fb_delete AND p.file_path = m.fb_uri")
    return (f"SELECT {', '.join([*names, 'd.fb_file'])} FROM read_parquet({files}, schema = MAP {{{mapping}}}, "
            f"filename = 'fb_file', file_row_number = true) d "
            f"ANTI JOIN ({deleted}) x ON x.fb_data = d.fb_file AND x.pos = d.file_row_number")


def _list(paths: list[str]) -> str:
    return "[" + ", ".join(quote_literal(p) for p in paths) + "]"


# -- WHERE clause -> Iceberg row filter ---------------------------------------------------------------------

_COMPARISONS: dict[type[exp.Expr], tuple[Any, Any]] = {
    exp.EQ: (EqualTo, EqualTo), exp.NEQ: (NotEqualTo, NotEqualTo),
    exp.GT: (GreaterThan, LessThan), exp.GTE: (GreaterThanOrEqual, LessThanOrEqual),
    exp.LT: (LessThan, GreaterThan), exp.LTE: (LessThanOrEqual, GreaterThanOrEqual),
}


class _Unconvertible(Exception):
    pass


def row_filter_of(conjuncts: list[exp.Expr], schema: Schema | None = None) -> BooleanExpression:
    """The conjuncts pyiceberg can evaluate, ANDed; any it cannot are left to the query itself. With the table's
    schema, a conjunct whose literal pyiceberg would round to the column's type (`int_col < 1.5`,
    `decimal_col > 1e20`) is left out too: a rounded bound could skip a file holding matching rows."""
    types = {f.name: f.field_type for f in schema.columns} if schema is not None else None
    converted: BooleanExpression = AlwaysTrue()
    for conjunct in conjuncts:
        try:
            candidate = _convert(conjunct)
        except _Unconvertible:
            continue
        if types is None or _exact(candidate, types):
            converted = And(converted, candidate)
    return converted


def _exact(node: BooleanExpression, types: dict[str, IcebergType]) -> bool:
    """Whether every literal of `node` converts to its column's type without rounding."""
    if isinstance(node, And | Or):
        return _exact(node.left, types) and _exact(node.right, types)
    if isinstance(node, Not):
        return _exact(node.child, types)
    if isinstance(node, UnboundPredicate):
        column = types.get(str(getattr(node.term, "name", "")))
        if column is None:
            return False
        if isinstance(node, LiteralPredicate):
            values = [node.literal.value]
        elif isinstance(node, SetPredicate):
            values = [literal.value for literal in node.literals]
        else:
            return True
        return all(_fits(value, column) for value in values)
    return False


def _fits(value: Any, column: IcebergType) -> bool:
    if isinstance(value, bool):
        return isinstance(column, BooleanType)
    if isinstance(value, int):
        return isinstance(column, IntegerType | LongType | FloatType | DoubleType | DecimalType)
    if isinstance(value, float):
        return isinstance(column, FloatType | DoubleType)
    if isinstance(value, str):
        return isinstance(column, StringType | DateType | TimestampType | TimestamptzType)
    return False


def _convert(node: exp.Expr) -> BooleanExpression:
    if isinstance(node, exp.Paren):
        return _convert(node.this)
    if isinstance(node, exp.And):
        return And(_convert(node.this), _convert(node.expression))
    if isinstance(node, exp.Or):
        return Or(_convert(node.this), _convert(node.expression))
    if isinstance(node, exp.Not):
        if isinstance(node.this, exp.Is):
            return _unary(NotNull, _column(node.this.this)) if isinstance(node.this.expression, exp.Null) else _fail()
        if isinstance(node.this, exp.In):
            return _predicate(NotIn, _column(node.this.this), [_value(v) for v in node.this.expressions])
        return Not(_convert(node.this))
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return _unary(IsNull, _column(node.this))
    if isinstance(node, exp.In) and not node.args.get("query"):
        return _predicate(In, _column(node.this), [_value(v) for v in node.expressions])
    if isinstance(node, exp.Between):
        name = _column(node.this)
        low, high = _value(node.args["low"]), _value(node.args["high"])
        return And(_predicate(GreaterThanOrEqual, name, low), _predicate(LessThanOrEqual, name, high))
    for kind, (forward, flipped) in _COMPARISONS.items():
        if type(node) is kind:
            left, right = node.this, node.expression
            if isinstance(left, exp.Column):
                return _predicate(forward, _column(left), _value(right))
            if isinstance(right, exp.Column):
                return _predicate(flipped, _column(right), _value(left))
    return _fail()


def _predicate(kind: Any, column: str, value: Any) -> BooleanExpression:
    built: BooleanExpression = kind(column, value)
    return built


def _unary(kind: Any, column: str) -> BooleanExpression:
    built: BooleanExpression = kind(column)
    return built


def _fail() -> BooleanExpression:
    raise _Unconvertible()


def _column(node: exp.Expr) -> str:
    if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
        raise _Unconvertible()
    return node.name.lower()


def _value(node: exp.Expr) -> Any:
    if isinstance(node, exp.Paren):
        return _value(node.this)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -_number(node.this.this)
    if isinstance(node, exp.Literal):
        return str(node.this) if node.is_string else _number(node.this)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        kind = node.to.this
        text = str(node.this.this).strip()
        if kind == exp.DType.DATE:
            return text
        if kind in (exp.DType.TIMESTAMP, exp.DType.DATETIME):
            return text.replace(" ", "T", 1) if len(text) > 10 else text + "T00:00:00"
    raise _Unconvertible()


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise _Unconvertible() from None
