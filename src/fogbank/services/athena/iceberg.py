"""Athena's statements on Iceberg tables: CREATE TABLE and CTAS with `table_type='ICEBERG'`, INSERT, UPDATE,
DELETE, MERGE INTO, OPTIMIZE, VACUUM, ALTER TABLE and DROP TABLE.

Tables are real Iceberg v2 tables (metadata JSON, Avro manifests, Parquet data files with field ids) in the
account's S3, registered in Glue the way the open-source Iceberg Glue catalog registers them, so other
Iceberg engines can read what fogbank writes. Row-level changes are copy-on-write: the statement runs in
DuckDB on a working copy of the current snapshot, and the result replaces the table's files in one new
snapshot, so every earlier snapshot stays readable by time travel until VACUUM expires it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
    ValidationException,
)
from pyiceberg.io.pyarrow import (
    ArrowProjectionVisitor,
    _ConvertToIcebergWithoutIDs,
    _dataframe_to_data_files,
    visit_pyarrow,
)
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    TruncateTransform,
    YearTransform,
)
from pyiceberg.types import PrimitiveType
from sqlglot import exp

from fogbank.engines import sql as sqlengine
from fogbank.engines.sql import SqlError, duckdb_type, quote_ident, quote_literal
from fogbank.services.athena.engine import Engine, Outcome, duckdb_failure, hive_type_of
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.iceberg_catalog import GlueIcebergCatalog
from fogbank.services.athena.iceberg_scan import columns_of
from fogbank.services.athena.scan import PlannedScan
from fogbank.services.athena.tables import ICEBERG_PROPERTIES
from fogbank.services.glue.errors import EntityNotFoundException
from fogbank.services.glue.records import is_iceberg
from fogbank.services.s3.local_access import S3LocalError, split_uri

# Table properties Athena accepts on Iceberg tables (CREATE TABLE TBLPROPERTIES and CTAS WITH).
_DEFAULT_SNAPSHOT_AGE_SECONDS = 432000
_DEFAULT_MIN_SNAPSHOTS = 1
_COMPRESSIONS = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "LZ4": "lz4", "NONE": "uncompressed"}
_TRANSFORM_TEXT = re.compile(r"^\s*(\w+)\s*\(\s*([\w\"`]+)\s*(?:,\s*([\w\"`]+)\s*)?\)\s*$")
_OPTIMIZE = re.compile(r"^\s*OPTIMIZE\s+([`\"\w.]+)\s+REWRITE\s+DATA\s+USING\s+BIN_PACK(?:\s+WHERE\s+(.+))?$",
                       re.I | re.S)
_VACUUM = re.compile(r"^\s*VACUUM\s+([`\"\w.]+)\s*$", re.I)
_UNSET = re.compile(r"^\s*ALTER\s+TABLE\s+([`\"\w.]+)\s+UNSET\s+TBLPROPERTIES\s*(IF\s+EXISTS\s*)?\((.*)\)\s*$",
                    re.I | re.S)


def _keep_nulls(rebuild: Any) -> Any:
    """pyiceberg 0.12 rebuilds a list of structs (and a map with struct values) from its offsets alone when it
    writes a data file, so a NULL array<struct<...>> is stored as an empty array, for good (apache/iceberg-python
    #3833). This wraps that step and puts the source array's NULLs back."""

    def keeping(self: Any, field_type: Any, array: pa.Array | None, *children: pa.Array | None) -> pa.Array | None:
        result = rebuild(self, field_type, array, *children)
        if result is None or array is None or not array.null_count or result.null_count == array.null_count:
            return result
        mask = array.is_null()
        if isinstance(result, pa.MapArray):
            return pa.MapArray.from_arrays(result.offsets, result.keys, result.items, type=result.type, mask=mask)
        kind = pa.LargeListArray if isinstance(result, pa.LargeListArray) else pa.ListArray
        return kind.from_arrays(result.offsets, result.values, type=result.type, mask=mask)

    return keeping


if not getattr(ArrowProjectionVisitor, "_fogbank_keeps_nulls", False):
    ArrowProjectionVisitor.list = _keep_nulls(ArrowProjectionVisitor.list)  # type: ignore[method-assign]
    ArrowProjectionVisitor.map = _keep_nulls(ArrowProjectionVisitor.map)  # type: ignore[method-assign]
    ArrowProjectionVisitor._fogbank_keeps_nulls = True  # type: ignore[attr-defined]


def _text(node: exp.Expr | None) -> str:
    if node is None:
        return ""
    if isinstance(node, exp.Literal | exp.Var | exp.Identifier):
        return str(node.this)
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    return node.sql("trino").strip("'")


def transform_of(node: exp.Expr | str) -> tuple[str, Transform[Any, Any], str]:
    """(source column, transform, partition field name) of one PARTITIONED BY / partitioning entry.

    DDL writes `bucket(16, id)`, CTAS's partitioning array `'bucket(id, 16)'`; both orders are accepted."""
    if isinstance(node, str):
        match = _TRANSFORM_TEXT.match(node)
        if match is None:
            column = node.strip().strip('"`').lower()
            if not re.fullmatch(r"\w+", column):
                raise QueryFailed(f"INVALID_TABLE_PROPERTY: Unable to parse partitioning value: {node}")
            return column, IdentityTransform(), column
        name, first, second = match.group(1).lower(), match.group(2).strip('"`'), (match.group(3) or "").strip('"`')
        column, number = (second, first) if first.isdigit() else (first, second)
        return _transform(name, column.lower(), int(number) if number.isdigit() else None, node)
    if isinstance(node, exp.Identifier | exp.Column):
        return node.name.lower(), IdentityTransform(), node.name.lower()
    if isinstance(node, exp.PartitionedByBucket):
        return _transform("bucket", _source(node.this), int(_text(node.expression)), node.sql("trino"))
    if isinstance(node, exp.PartitionByTruncate):
        return _transform("truncate", _source(node.this), int(_text(node.expression)), node.sql("trino"))
    for kind, name in ((exp.Year, "year"), (exp.Month, "month"), (exp.Day, "day"), (exp.Hour, "hour")):
        if isinstance(node, kind):
            return _transform(name, _source(node.this), None, node.sql("trino"))
    if isinstance(node, exp.Anonymous):
        args = [_text(a) for a in node.expressions]
        return transform_of(f"{node.name}({', '.join(args)})")
    raise QueryFailed(f"NOT_SUPPORTED: partition transform {node.sql('trino')}")


def _source(node: exp.Expr) -> str:
    column = node.find(exp.Column)
    if column is None:
        raise QueryFailed(f"NOT_SUPPORTED: partition transform over {node.sql('trino')}")
    return column.name.lower()


def _transform(name: str, column: str, number: int | None, text: str) -> tuple[str, Transform[Any, Any], str]:
    if name in ("bucket", "truncate"):
        if number is None or number <= 0:
            raise QueryFailed(f"INVALID_TABLE_PROPERTY: {name} needs a positive width: {text}")
        if name == "bucket":
            return column, BucketTransform(number), f"{column}_bucket"
        return column, TruncateTransform(number), f"{column}_trunc"
    simple: dict[str, Transform[Any, Any]] = {"year": YearTransform(), "month": MonthTransform(),
                                              "day": DayTransform(), "hour": HourTransform(),
                                              "identity": IdentityTransform()}
    if name not in simple or number is not None:
        raise QueryFailed(f"NOT_SUPPORTED: partition transform {text}")
    return column, simple[name], column if name == "identity" else f"{column}_{name}"


def _read_table(database: str, name: str, read: Callable[[], Table]) -> Table:
    """`read()`, with a missing table or missing metadata reported as Athena reports them."""
    try:
        return read()
    except NoSuchTableError as exc:
        raise QueryFailed(f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}.{name}' does not exist"
                          ) from exc
    except FileNotFoundError as exc:
        raise QueryFailed(f"ICEBERG_INVALID_METADATA: metadata of {database}.{name} is missing: {exc}") from exc


class IcebergStatements:
    """The Iceberg side of one statement: it uses the statement's engine (connection, session, context)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ctx = engine.ctx

    @property
    def catalog(self) -> GlueIcebergCatalog:
        return self.engine.session.iceberg

    def load(self, database: str, name: str) -> Table:
        return _read_table(database, name, lambda: self.catalog.load_table((database, name)))

    def _table_of(self, record: dict[str, Any], database: str, name: str) -> Table:
        """The Iceberg table as of a Glue record this statement already read."""
        return _read_table(database, name, lambda: self.catalog.table_of(record))

    # -- CREATE TABLE / CTAS ---------------------------------------------------------------------------------

    def create(self, database: str, name: str, columns: list[tuple[str, str]], partitioning: list[exp.Expr | str],
               location: str, properties: dict[str, str], comments: dict[str, str] | None = None,
               if_not_exists: bool = False) -> Table | None:
        """Creates an empty table; None when it exists and `if_not_exists`."""
        if self.ctx.catalog.exists(self.ctx.account, self.ctx.region, database, name):
            if if_not_exists:
                return None
            raise QueryFailed(f"ALREADY_EXISTS: line 1:1: Table 'awsdatacatalog.{database}.{name}' already exists")
        if not location:
            raise QueryFailed("INVALID_TABLE_PROPERTY: Iceberg tables need a LOCATION")
        try:
            bucket, _ = split_uri(location)
            self.ctx.s3.bucket(self.ctx.account, bucket)
        except S3LocalError as exc:
            raise QueryFailed(f"HIVE_METASTORE_ERROR: cannot use location {location}: {exc}") from None
        fmt = properties.get("format", "parquet").lower()
        if fmt != "parquet":
            raise QueryFailed(f"NOT_SUPPORTED: Iceberg tables in {fmt.upper()} format are not supported; use PARQUET")
        schema = self._arrow_schema(columns, comments or {})
        specs = [transform_of(p) for p in partitioning]
        known = {c for c, _ in columns}
        for column, _, _ in specs:
            if column not in known:
                raise QueryFailed(f"COLUMN_NOT_FOUND: Partition column '{column}' is not a column of the table")
        sources = [column for column, _, _ in specs]
        for column in sources:
            if sources.count(column) > 1:  # pyiceberg could create such a table but never write to it
                raise QueryFailed(f"NOT_SUPPORTED: Column '{column}' has more than one partition transform; "
                                  "fogbank's Iceberg tables allow one transform per column")
        table_props = {"format-version": "2", "write.parquet.compression-codec": _COMPRESSIONS.get(
            properties.get("write_compression", "ZSTD").upper(), "zstd")}
        for key, value in properties.items():
            if key not in ("table_type", "format", "location", "external_location", "is_external", "partitioning",
                           "partitioned_by", "write_compression"):
                table_props[key] = value
        try:
            tx = self.catalog.create_table_transaction((database, name), schema, location.rstrip("/"),
                                                       properties=table_props)
            if specs:
                with tx.update_spec() as update:
                    for column, transform, field_name in specs:
                        update.add_field(column, transform, field_name)
            return tx.commit_transaction()
        except TableAlreadyExistsError:
            if if_not_exists:
                return None
            raise QueryFailed(f"ALREADY_EXISTS: line 1:1: Table 'awsdatacatalog.{database}.{name}' already exists"
                              ) from None
        except (ValueError, TypeError) as exc:
            raise QueryFailed(f"NOT_SUPPORTED: {exc}") from exc

    def _arrow_schema(self, columns: list[tuple[str, str]], comments: dict[str, str]) -> pa.Schema:
        exprs = ", ".join(f"CAST(NULL AS {duckdb_type(t)}) AS {quote_ident(n)}" for n, t in columns)
        probe = sqlengine.connect(threads=1, memory_limit="128MB")
        try:
            schema = probe.execute(f"SELECT {exprs} WHERE false").fetch_arrow_table().schema
        except duckdb.Error as exc:
            raise QueryFailed(f"NOT_SUPPORTED: column types: {exc}") from exc
        finally:
            probe.close()
        fields = [f.with_metadata({"doc": comments[f.name]}) if f.name in comments else f for f in schema]
        return pa.schema(fields)

    def ctas(self, database: str, name: str, query: exp.Expr, props: dict[str, Any], location: str,
             if_not_exists: bool) -> Outcome:
        text, bound = self.engine.prepare(query)
        columns = [(n.lower(), hive_type_of(t)) for n, t in zip(bound.columns, bound.types, strict=True)]
        partitioning = props.get("partitioning") or props.get("partitioned_by") or []
        if isinstance(partitioning, str):
            partitioning = [partitioning]
        str_props = {k: str(v) for k, v in props.items() if not isinstance(v, list)}
        table = self.create(database, name, columns, list(partitioning), location, str_props,
                            if_not_exists=if_not_exists)
        if table is None:
            return Outcome("DDL", "CREATE_TABLE_AS_SELECT", update_count=0)
        count = self._append(table, text)
        return Outcome("DDL", "CREATE_TABLE_AS_SELECT", update_count=count,
                       scanned_bytes=self.engine.session.scanned_bytes)

    # -- INSERT / UPDATE / DELETE / MERGE --------------------------------------------------------------------

    def insert(self, database: str, name: str, shaped: str) -> Outcome:
        """Appends the rows of `shaped` (already in the table's column order and types) as one snapshot."""
        table = self.load(database, name)
        count = self._append(table, shaped)
        return Outcome("DML", "INSERT", update_count=count, scanned_bytes=self.engine.session.scanned_bytes)

    def _append(self, table: Table, text: str) -> int:
        arrow = self._fetch(text)
        if arrow.num_rows:
            self._commit(lambda t: t.append(self._conform(arrow, t)), table)
        return int(arrow.num_rows)

    def modify(self, node: exp.Update | exp.Delete | exp.Merge) -> Outcome:
        """UPDATE, DELETE or MERGE, copy-on-write: the statement runs on a working copy of the data files it
        can touch (files holding a row its WHERE selects or its ON condition matches), and one snapshot
        replaces those files with the copy."""
        kind = {exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE"}[type(node)]
        target = node.this
        if not isinstance(target, exp.Table):
            raise QueryFailed(f"NOT_SUPPORTED: {kind} target {target.sql('trino')}")
        session = self.engine.session
        database, name = session.table_parts(target)
        info = session.lookup(database, name, target)
        if not info.is_iceberg:
            raise QueryFailed("NOT_SUPPORTED: Modifying Hive table rows is only supported for transactional tables")
        # The commit starts from the very metadata the statement reads, so any change committed since then is a
        # conflict pyiceberg detects (a fresher load could silently re-add rows another UPDATE just replaced).
        table = self._table_of(info.raw, database, name)
        alias = target.alias or name
        tree = session.resolve(node.copy())
        resolved = tree.this
        assert isinstance(resolved, exp.Table)
        scan = next(s for s in session.scans if s.view == resolved.name)
        assert scan.iceberg is not None
        scan.pseudo.add("$path")
        session.open()
        schema = session.schema()
        data_columns = dict(schema.get(resolved.name, {}))
        schema[resolved.name] = {**data_columns, "$path": "VARCHAR"}
        view = quote_ident(resolved.name)
        replaced = list(scan.iceberg.data_files)
        conn = self.engine.conn
        source = f"SELECT {', '.join(quote_ident(c) for c, _ in scan.info.columns)} FROM {view}"
        try:
            touched = self._touched_files(tree, resolved.name, alias, schema)
            if touched is not None:
                replaced = touched
                if not replaced and not isinstance(node, exp.Merge):
                    return Outcome("DML", kind, update_count=0, scanned_bytes=session.scanned_bytes)
                conn.execute("CREATE TEMP TABLE fb_dml_files (path VARCHAR)")
                if replaced:
                    conn.executemany("INSERT INTO fb_dml_files VALUES (?)", [[p] for p in replaced])
                source += ' WHERE "$path" IN (SELECT path FROM fb_dml_files)'
            working = "fb_dml_target"
            conn.execute(f"CREATE TEMP TABLE {working} AS {source}")
            tree.set("this", exp.Table(this=exp.to_identifier(working),
                                       alias=exp.TableAlias(this=exp.to_identifier(alias))))
            schema[working] = data_columns
            text = sqlengine.to_duckdb(tree, "trino", schema)
            if isinstance(node, exp.Merge):
                self._check_single_matches(tree, alias, schema)
        except SqlError as exc:
            raise QueryFailed(str(exc)) from exc
        except duckdb.Error as exc:
            raise _dml_failure(exc) from exc
        self.engine.check_cancelled()
        try:
            row = conn.execute(text).fetchone()
        except duckdb.Error as exc:
            raise _dml_failure(exc) from exc
        count = int(row[0]) if row else 0
        if count:
            rows = self._fetch(f"SELECT * FROM {working}")
            self._replace_files(table, [scan.iceberg.data_files[p] for p in replaced], rows)
        return Outcome("DML", kind, update_count=count, scanned_bytes=session.scanned_bytes)

    def _touched_files(self, tree: exp.Expr, view: str, alias: str,
                       schema: dict[str, dict[str, str]]) -> list[str] | None:
        """The data files holding a row the statement can change: rows its WHERE selects (UPDATE, DELETE) or
        rows its ON condition matches (MERGE; rows it inserts need no existing file). None: every file."""
        target = exp.Table(this=exp.to_identifier(view), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        path = exp.column(exp.to_identifier("$path", quoted=True), table=alias)
        if isinstance(tree, exp.Merge):
            using, on = tree.args.get("using"), tree.args.get("on")
            if using is None or on is None:
                return None
            probe = exp.select(path).from_(target).join(using.copy(), on=on.copy())
        else:
            where = tree.args.get("where")
            if where is None:
                return None
            probe = exp.select(path).from_(target).where(where.this.copy())
        text = sqlengine.to_duckdb(probe, "trino", schema)
        return [str(r[0]) for r in self.engine.conn.execute(f"SELECT DISTINCT * FROM ({text})").fetchall()]

    def _check_single_matches(self, tree: exp.Expr, alias: str, schema: dict[str, dict[str, str]]) -> None:
        """MERGE must fail, as in Trino, when one target row matches more than one source row and a WHEN MATCHED
        clause could act on it: which source row wins would be arbitrary."""
        whens = tree.args.get("whens")
        clauses = whens.expressions if isinstance(whens, exp.Whens) else []
        if not any(clause.args.get("matched") for clause in clauses):
            return
        using, on = tree.args.get("using"), tree.args.get("on")
        if using is None or on is None:
            return
        probe = exp.select(exp.column("rowid", table=alias)).from_(tree.this.copy()).join(using.copy(),
                                                                                              on=on.copy())
        text = sqlengine.to_duckdb(probe, "trino", schema)
        duplicated = self.engine.conn.execute(
            f"SELECT 1 FROM ({text}) AS fb_matches(fb_row) GROUP BY fb_row HAVING count(*) > 1 LIMIT 1").fetchone()
        if duplicated:
            raise QueryFailed("MERGE_TARGET_ROW_MULTIPLE_MATCHES: One MERGE target table row matched more than one "
                              "source row")

    def _replace_files(self, table: Table, old: list[DataFile], rows: pa.Table) -> None:
        """One snapshot that drops `old` and adds `rows` as new data files. fogbank never recomputes it on a
        conflict (the rows came from files another writer may have changed): pyiceberg rebases the commit only
        when its validation finds no concurrent change to those files, and otherwise the query fails, retryable."""
        conformed = self._conform(rows, table)
        try:
            with table.transaction() as tx, tx.update_snapshot().overwrite() as rewrite:
                for data_file in old:
                    rewrite.delete_data_file(data_file)
                if conformed.num_rows:
                    for data_file in _dataframe_to_data_files(tx.table_metadata, conformed, table.io):
                        rewrite.append_data_file(data_file)
        except (CommitFailedException, ValidationException) as exc:
            raise QueryFailed(f"ICEBERG_COMMIT_ERROR: {exc}; the table was changed by another query, retry",
                              2, 1006, retryable=True) from exc
        except (ValueError, TypeError) as exc:
            raise QueryFailed(f"ICEBERG_WRITER_ERROR: {exc}") from exc

    # -- OPTIMIZE / VACUUM -----------------------------------------------------------------------------------

    def optimize(self, text: str) -> Outcome | None:
        """OPTIMIZE ... REWRITE DATA USING BIN_PACK: rewrites the table's data into as few files as the
        partitioning allows (a WHERE clause is checked, and the rewrite covers the whole table: compaction
        never changes rows)."""
        match = _OPTIMIZE.match(text)
        if match is None:
            return None
        database, name = self._ref(match.group(1))
        table = self.load(database, name)
        if match.group(2):
            try:
                sqlengine.parse(f"SELECT 1 WHERE {match.group(2)}", "trino")
            except SqlError as exc:
                raise QueryFailed(str(exc)) from exc
        if table.current_snapshot() is None:
            return Outcome("DML", "OPTIMIZE", update_count=0)
        scan = self._scan_of(database, name)
        assert scan.iceberg is not None
        table = self._table_of(scan.info.raw, database, name)
        rows = self._fetch(f"SELECT * FROM {quote_ident(scan.view)}")
        self._replace_files(table, list(scan.iceberg.data_files.values()), rows)
        return Outcome("DML", "OPTIMIZE", update_count=int(rows.num_rows),
                       scanned_bytes=self.engine.session.scanned_bytes)

    def vacuum(self, text: str) -> Outcome | None:
        """VACUUM: expires snapshots older than `vacuum_max_snapshot_age_seconds` (keeping at least
        `vacuum_min_snapshots_to_keep`), then deletes data and metadata files no kept snapshot uses."""
        match = _VACUUM.match(text)
        if match is None:
            return None
        database, name = self._ref(match.group(1))
        table = self.load(database, name)
        props = table.properties
        max_age = int(props.get("vacuum_max_snapshot_age_seconds", _DEFAULT_SNAPSHOT_AGE_SECONDS))
        keep = max(1, int(props.get("vacuum_min_snapshots_to_keep", _DEFAULT_MIN_SNAPSHOTS)))
        cutoff = int(time.time() * 1000) - max_age * 1000
        snapshots = sorted(table.snapshots(), key=lambda s: s.timestamp_ms, reverse=True)
        current = table.current_snapshot()
        protected = {s.snapshot_id for s in snapshots[:keep]}
        if current is not None:
            protected.add(current.snapshot_id)
        doomed = [s.snapshot_id for s in snapshots if s.snapshot_id not in protected and s.timestamp_ms < cutoff]
        if doomed:
            before = self._referenced_files(table)
            expire = table.maintenance.expire_snapshots()
            for snapshot_id in doomed:
                expire = expire.by_id(snapshot_id)
            expire.commit()
            table = self.load(database, name)
            unused = before - self._referenced_files(table)
            for uri in sorted(unused):
                try:
                    self.catalog.io.delete(uri)
                except FileNotFoundError:
                    continue
        return Outcome("DML", "VACUUM")

    def unset_properties(self, text: str) -> Outcome | None:
        """ALTER TABLE ... UNSET TBLPROPERTIES ('key', ...) on an Iceberg table; None for any other statement."""
        match = _UNSET.match(text)
        if match is None:
            return None
        database, name = self._ref(match.group(1))
        keys = [k.strip().strip("'\"") for k in match.group(3).split(",") if k.strip()]
        try:
            record = self.ctx.catalog.get_table(self.ctx.account, self.ctx.region, database, name)
        except EntityNotFoundException:
            record = None
        if record is not None and not is_iceberg(record):
            raise QueryFailed("NOT_SUPPORTED: UNSET TBLPROPERTIES is only supported for Iceberg tables")
        table = self.load(database, name)
        missing = [k for k in keys if k not in table.properties]
        if missing and not match.group(2):
            raise QueryFailed(f"INVALID_TABLE_PROPERTY: Table property '{missing[0]}' is not set")
        present = [k for k in keys if k in table.properties]
        if present:
            with table.transaction() as tx:
                tx.remove_properties(*present)
        return Outcome("DDL", "ALTER_TABLE")

    def _referenced_files(self, table: Table) -> set[str]:
        files: set[str] = set()
        for snapshot in table.snapshots():
            files.add(snapshot.manifest_list)
            for manifest in snapshot.manifests(table.io):
                files.add(manifest.manifest_path)
                for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                    files.add(entry.data_file.file_path)
        return files

    # -- ALTER TABLE / DROP TABLE ----------------------------------------------------------------------------

    def alter(self, database: str, name: str, node: exp.Alter) -> Outcome:
        table = self.load(database, name)
        for action in node.args.get("actions") or []:
            try:
                self._alter_one(table, action)
            except (ValueError, TypeError) as exc:
                raise QueryFailed(f"NOT_SUPPORTED: {exc}") from exc
            if isinstance(action, exp.AlterRename):
                break
            table = self.load(database, name)
        return Outcome("DDL", "ALTER_TABLE")

    def _alter_one(self, table: Table, action: exp.Expr) -> None:
        if isinstance(action, exp.Schema):
            columns = [(c.name.lower(), sqlengine.hive_type(c.args["kind"])) for c in action.expressions
                       if isinstance(c, exp.ColumnDef) and c.args.get("kind") is not None]
            existing = {f.name for f in table.schema().columns}
            for column, _ in columns:
                if column in existing:
                    raise QueryFailed(f"COLUMN_ALREADY_EXISTS: Column '{column}' already exists")
            arrow = self._arrow_schema(columns, {})
            with table.update_schema() as update:
                update.union_by_name(arrow)
        elif isinstance(action, exp.AlterColumn):
            old = action.name.lower()
            if table.schema().find_field(old, case_sensitive=False) is None:
                raise QueryFailed(f"COLUMN_NOT_FOUND: Column '{old}' does not exist")
            new = action.args.get("rename_to")
            dtype = action.args.get("dtype")
            with table.update_schema() as update:
                if dtype is not None:
                    probe = self._arrow_schema([(old, sqlengine.hive_type(dtype))], {})
                    new_type = visit_pyarrow(probe.field(0).type, _ConvertToIcebergWithoutIDs())
                    if not isinstance(new_type, PrimitiveType):
                        raise QueryFailed("NOT_SUPPORTED: only primitive column types can be changed")
                    update.update_column(old, new_type)
                if new is not None and new.name.lower() != old:
                    update.rename_column(old, new.name.lower())
        elif isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() == "COLUMN":
            with table.update_schema() as update:
                for column in action.args.get("tables") or []:
                    if table.schema().find_field(column.name.lower(), case_sensitive=False) is None:
                        raise QueryFailed(f"COLUMN_NOT_FOUND: Column '{column.name}' does not exist")
                    update.delete_column(column.name.lower())
        elif isinstance(action, exp.AlterSet) and action.expressions:
            updates: dict[str, str] = {}
            for props in action.expressions:
                for prop in props.expressions if isinstance(props, exp.Properties) else []:
                    updates[_text(prop.this)] = _text(prop.args.get("value"))
            with table.transaction() as tx:
                tx.set_properties(updates)
        elif isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
            target = action.this
            database = (target.db or table.name()[0]).lower()
            try:
                self.catalog.rename_table(table.name(), (database, target.name.lower()))
            except TableAlreadyExistsError as exc:
                raise QueryFailed(f"ALREADY_EXISTS: line 1:1: Target table 'awsdatacatalog.{database}."
                                  f"{target.name.lower()}' already exists") from exc
            except NoSuchNamespaceError as exc:
                raise QueryFailed(f"SCHEMA_NOT_FOUND: line 1:1: Schema '{database}' does not exist") from exc
        else:
            raise QueryFailed(f"NOT_SUPPORTED: ALTER TABLE {action.sql('hive')} on an Iceberg table")

    def drop(self, database: str, name: str) -> None:
        """DROP TABLE on an Iceberg table deletes its data and metadata files too, as Athena does: first the
        catalog entry (so no reader finds a half-deleted table), then every file its metadata references."""
        table = self.load(database, name)
        files = self._referenced_files(table)
        files.add(table.metadata_location)
        files.update(entry.metadata_file for entry in table.metadata.metadata_log)
        try:
            self.catalog.drop_table((database, name))
        except NoSuchTableError as exc:
            raise QueryFailed(f"TABLE_NOT_FOUND: Table 'awsdatacatalog.{database}.{name}' does not exist") from exc
        for uri in sorted(files):
            try:
                self.catalog.io.delete(uri)
            except FileNotFoundError:
                continue

    # -- SHOW CREATE TABLE / DESCRIBE ------------------------------------------------------------------------

    def show_create(self, database: str, name: str) -> str:
        """The DDL that recreates the table, in Athena's layout for Iceberg tables: no EXTERNAL, no SerDe, the
        partition transforms in DDL form, and the Athena names of the table properties."""
        table = self.load(database, name)
        columns = []
        for column in columns_of(table.schema()):
            field = table.schema().find_field(column.field_id)
            comment = f" COMMENT {quote_literal(field.doc)}" if field.doc else ""
            columns.append(f"  {_backtick(column.name)} {column.hive_type}{comment}")
        lines = [f"CREATE TABLE {database}.{name} (", ",\n".join(columns) + ")"]
        transforms = [_ddl_transform(table, f.source_id, f.transform) for f in table.spec().fields]
        if transforms:
            lines.append(f"PARTITIONED BY ({', '.join(transforms)})")
        lines += [f"LOCATION {quote_literal(table.location())}", "TBLPROPERTIES ("]
        props = {"table_type": "iceberg", "format": "parquet",
                 "write_compression": table.properties.get("write.parquet.compression-codec", "zstd")}
        for key, value in sorted(table.properties.items()):
            if key in ICEBERG_PROPERTIES and key not in props:
                props[key] = value
        lines.append(",\n".join(f"  {quote_literal(k)}={quote_literal(v)}" for k, v in props.items()) + ")")
        return "\n".join(lines)

    def partition_transforms(self, database: str, name: str) -> list[list[str]]:
        """DESCRIBE's "# Partition Transforms" section, one row per partition field; none when unpartitioned."""
        table = self.load(database, name)
        fields = table.spec().fields
        if not fields:
            return []
        rows = [[""], ["# Partition Transforms"], ["# field_name", "field_transform", "column_name"]]
        for f in fields:
            rows.append([f.name, str(f.transform), table.schema().find_column_name(f.source_id) or ""])
        return rows

    # -- helpers ---------------------------------------------------------------------------------------------

    def _ref(self, text: str) -> tuple[str, str]:
        parts = [p.strip('`"').lower() for p in text.split(".")]
        if len(parts) == 3 and parts[0] == "awsdatacatalog":
            parts = parts[1:]
        if len(parts) == 1:
            return self.ctx.database.lower(), parts[0]
        if len(parts) != 2:
            raise QueryFailed(f"SYNTAX_ERROR: line 1:1: invalid table name {text}")
        return parts[0], parts[1]

    def _scan_of(self, database: str, name: str) -> PlannedScan:
        """The table's current snapshot, planned and opened as a view in this statement's session."""
        session = self.engine.session
        tree = session.resolve(exp.select("*").from_(exp.table_(name, db=database)))
        session.open()
        found = tree.find(exp.Table)
        assert found is not None
        return next(s for s in session.scans if s.view == found.name)

    def _fetch(self, text: str) -> pa.Table:
        self.engine.check_cancelled()
        try:
            return self.engine.conn.execute(text).fetch_arrow_table()
        except duckdb.Error as exc:
            raise duckdb_failure(exc) from exc

    def _conform(self, arrow: pa.Table, table: Table) -> pa.Table:
        """The rows with the table's column names and Arrow types (Iceberg checks both on write)."""
        target = table.schema().as_arrow()
        if arrow.num_columns != len(target):
            raise QueryFailed(f"TYPE_MISMATCH: Insert query has {arrow.num_columns} columns, table has {len(target)}")
        names = [f.name for f in target]
        columns = []
        for column, field in zip(arrow.columns, target, strict=True):
            # Nested columns are left to pyiceberg, which rebuilds them field by field on write: pyarrow's own
            # cast of a map inside a list of structs aborts the whole process (pyarrow 25) instead of raising.
            if column.type == field.type or pa.types.is_nested(field.type):
                columns.append(column)
                continue
            try:
                columns.append(column.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise QueryFailed(f"TYPE_MISMATCH: column {field.name}: {exc}") from exc
        return pa.Table.from_arrays(columns, names=names)

    def _commit(self, change: Any, table: Table) -> None:
        """Applies an append to the table, again on the newest state if another writer won the race (an
        append does not depend on the rows already there, so retrying it loses nothing)."""
        for attempt in range(3):
            try:
                change(table)
                return
            except (CommitFailedException, ValidationException) as exc:
                if attempt == 2:
                    raise QueryFailed(f"ICEBERG_COMMIT_ERROR: {exc}", 2, 1006, retryable=True) from exc
                table = self.catalog.load_table(table.name())
            except (ValueError, TypeError) as exc:
                raise QueryFailed(f"ICEBERG_WRITER_ERROR: {exc}") from exc


def _backtick(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _ddl_transform(table: Table, source_id: int, transform: Transform[Any, Any]) -> str:
    """A partition field as CREATE TABLE's PARTITIONED BY writes it: `col`, `day(col)`, `bucket(16, col)`."""
    column = _backtick(table.schema().find_column_name(source_id) or "")
    if isinstance(transform, IdentityTransform):
        return column
    if isinstance(transform, BucketTransform):
        return f"bucket({transform.num_buckets}, {column})"
    if isinstance(transform, TruncateTransform):
        return f"truncate({transform.width}, {column})"
    return f"{transform}({column})"


def _dml_failure(exc: duckdb.Error) -> QueryFailed:
    text = str(exc)
    if "MERGE" in text.upper() and ("more than once" in text or "multiple" in text.lower()):
        return QueryFailed("MERGE_TARGET_ROW_MULTIPLE_MATCHES: One MERGE target table row matched more than one "
                           "source row")
    missing = re.search(r"Referenced update column (\S+) not found", text)
    if missing:
        return QueryFailed(f"COLUMN_NOT_FOUND: line 1:1: Column '{missing.group(1)}' cannot be resolved")
    return duckdb_failure(exc)
