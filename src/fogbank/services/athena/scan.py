"""One query's view of the catalog: table references resolved to Glue tables, partitions pruned, files
linked into the folder its locked DuckDB database may read, and a DuckDB view per table reference.

A query runs in two phases. `resolve` walks the statement, looks every table up in the catalog (views are
expanded in place), prunes partitions with the WHERE conjuncts that only touch partition keys, and links
the surviving objects into the database's input folder (see databases.py). `open` then creates the views
the translated statement reads. DataScannedInBytes is the size of the files linked.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from fogbank.engines import sql as sqlengine
from fogbank.engines.sql import SqlError, duckdb_type, quote_ident, type_sql
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.projection import is_projected, project_partitions
from fogbank.services.athena.readers import relation_sql, require_avro
from fogbank.services.athena.tables import TableInfo, partition_location, table_info
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.errors import EntityNotFoundException
from fogbank.services.s3.local_access import S3LocalAccess, S3LocalError, split_uri

if TYPE_CHECKING:  # pyiceberg loads with the first Iceberg table a query reads, not at start
    from fogbank.services.athena import iceberg_scan
    from fogbank.services.athena.databases import QueryDatabase
    from fogbank.services.athena.iceberg_catalog import GlueIcebergCatalog

# Stands for a shared view's name while the statements that make it are hashed into that name.
_PLACEHOLDER = "fb_v_placeholder"
PSEUDO_COLUMNS = {"$path": "VARCHAR", "$file_size": "BIGINT", "$file_modified_time": "TIMESTAMP WITH TIME ZONE"}
DEFAULT_CATALOG = "awsdatacatalog"
_MAX_VIEW_DEPTH = 16
_HIDDEN_PREFIXES = ("_", ".")


@dataclass
class FileRef:
    local: str
    uri: str
    size: int
    modified: float
    values: list[str]
    etag: str = ""

    @property
    def identity(self) -> tuple[str, str, int, float]:
        """What changes whenever the object's bytes do (its key is reused by a new version)."""
        return self.uri, self.etag, self.size, self.modified


@dataclass
class PlannedScan:
    view: str
    info: TableInfo
    files: list[FileRef] = field(default_factory=list)
    pseudo: set[str] = field(default_factory=set)
    iceberg: iceberg_scan.IcebergFiles | None = None
    deletes: list[iceberg_scan.PositionDeletes] = field(default_factory=list)


def position_of(node: exp.Expr) -> tuple[int, int]:
    """Where a node starts in the query text (sqlglot records where an identifier ends)."""
    if isinstance(node, exp.Table):
        parts = [p for p in (node.args.get("catalog"), node.args.get("db"), node.this) if p is not None]
        node = parts[0] if parts else node
    meta = node.meta if isinstance(node, exp.Expression) else {}
    width = len(node.name) + (2 if isinstance(node, exp.Identifier) and node.quoted else 0)
    return int(meta.get("line") or 1), max(1, int(meta.get("col") or 1) - width + 1)


class QuerySession:
    """The tables one statement reads, and the connection (to a locked-down database) it runs on."""

    def __init__(self, account: str, region: str, catalog: GlueCatalog, s3: S3LocalAccess, scratch: Path,
                 conn: duckdb.DuckDBPyConnection, default_db: str, database: QueryDatabase) -> None:
        self.account = account
        self.region = region
        self.catalog = catalog
        self.s3 = s3
        self.scratch = scratch
        self.conn = conn
        self.default_db = (default_db or "default").lower()
        self.scans: list[PlannedScan] = []
        self.scanned_bytes = 0
        self._names = itertools.count()
        self._opened = False
        self._private = False  # open made objects of this statement's own (temporary tables and views)
        self._pruner: duckdb.DuckDBPyConnection | None = None
        self.database = database
        # What this statement has already read of the catalog and of S3, by table and by folder: a table
        # named twice (a self-join, a subquery) is looked up and linked once, from one snapshot.
        self._tables: dict[tuple[str, str], TableInfo] = {}
        self._partitions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._folders: dict[tuple[str, tuple[str, ...]], list[FileRef]] = {}
        # information_schema tables to create at open: (name, columns, rows)
        self._pending_tables: list[tuple[str, list[str], list[tuple[Any, ...]]]] = []
        # Iceberg metadata tables ("t$snapshots") registered on the connection: {name: {column: type}}
        self._metadata_views: dict[str, dict[str, str]] = {}
        self._iceberg: GlueIcebergCatalog | None = None

    @property
    def iceberg(self) -> GlueIcebergCatalog:
        """The catalog's Iceberg tables, with their files in this account's S3."""
        if self._iceberg is None:
            from fogbank.services.athena.iceberg_catalog import GlueIcebergCatalog
            from fogbank.services.athena.iceberg_io import S3LocalStoreIO

            io = S3LocalStoreIO(self.s3, self.account, self.scratch / "iceberg")
            self._iceberg = GlueIcebergCatalog(self.catalog, self.account, self.region, io)
        return self._iceberg

    # -- catalog lookups -------------------------------------------------------------------------------------

    def table_parts(self, table: exp.Table, default_db: str | None = None) -> tuple[str, str]:
        catalog = (table.catalog or DEFAULT_CATALOG).lower()
        if catalog != DEFAULT_CATALOG:
            line, col = position_of(table)
            raise QueryFailed(f"CATALOG_NOT_FOUND: line {line}:{col}: Catalog '{catalog}' does not exist")
        return (table.db or default_db or self.default_db).lower(), table.name.lower()

    def lookup(self, database: str, name: str, node: exp.Expr | None = None) -> TableInfo:
        known = self._tables.get((database, name))
        if known is not None:
            return known
        known = self._tables[(database, name)] = self._lookup(database, name, node)
        return known

    def _lookup(self, database: str, name: str, node: exp.Expr | None) -> TableInfo:
        line, col = position_of(node) if node is not None else (1, 1)
        try:
            glue = self.catalog.get_table(self.account, self.region, database, name)
        except EntityNotFoundException:
            if not self.catalog.exists(self.account, self.region, database):
                raise QueryFailed(f"SCHEMA_NOT_FOUND: line {line}:{col}: Schema '{database}' does not exist") from None
            raise QueryFailed(f"TABLE_NOT_FOUND: line {line}:{col}: Table '{DEFAULT_CATALOG}.{database}.{name}' "
                              "does not exist") from None
        return table_info(glue)

    # -- phase 1: resolve ------------------------------------------------------------------------------------

    def resolve(self, tree: exp.Expr, default_db: str | None = None, depth: int = 0) -> exp.Expr:
        """Replaces every catalog table reference in `tree` with a view name (or an expanded view)."""
        if depth > _MAX_VIEW_DEPTH:
            raise QueryFailed("VIEW_IS_RECURSIVE: View nesting is too deep")
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        pseudo = {c.name for c in tree.find_all(exp.Column) if c.name in PSEUDO_COLUMNS}
        for table in list(tree.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier):
                continue
            if not table.args.get("db") and table.name.lower() in ctes:
                continue
            if isinstance(table.parent, exp.Schema | exp.Create | exp.Insert | exp.Drop):
                continue
            database, name = self.table_parts(table, default_db)
            if database == "information_schema":
                replacement: exp.Expr = self._information_schema(table, name)
                table.replace(replacement)
                continue
            if "$" in name:
                table.replace(self._metadata_table(table, database, name))
                continue
            info = self.lookup(database, name, table)
            alias = table.alias or name
            if info.is_view:
                assert info.view_sql is not None
                try:
                    inner = sqlengine.parse(info.view_sql, "trino")
                except SqlError as exc:
                    raise QueryFailed(f"HIVE_VIEW_TRANSLATION_ERROR: view {info.qualified}: {exc}") from exc
                inner = self.resolve(inner, info.database, depth + 1)
                table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
                continue
            planned = self.plan(info, self._prune_conjuncts(table, info), table.args.get("version"))
            planned.pseudo |= pseudo
            table.replace(exp.Table(this=exp.to_identifier(planned.view),
                                    alias=exp.TableAlias(this=exp.to_identifier(alias))))
        return tree

    def plan(self, info: TableInfo, conjuncts: list[exp.Expr] | None = None,
             version: exp.Expr | None = None) -> PlannedScan:
        """Lists (and links) the files of a table, or of its partitions that survive the conjuncts."""
        planned = PlannedScan(view=f"fb_t{next(self._names)}", info=info)
        if info.is_iceberg:
            self._plan_iceberg(planned, info, conjuncts or [], version)
        elif version is not None:
            raise QueryFailed(f"NOT_SUPPORTED: This connector does not support versioned tables: {info.qualified}")
        elif info.partition_keys:
            key = (info.database, info.name)
            if is_projected(info):  # computed from the table's properties; catalog partitions are ignored
                partitions = project_partitions(info, conjuncts or [], self._pruning_connection, now_utc())
            else:
                if key not in self._partitions:
                    self._partitions[key] = self.catalog.get_partitions(self.account, self.region, info.database,
                                                                        info.name)
                partitions = self._prune(info, self._partitions[key], conjuncts or [])
            for partition in partitions:
                self._add_files(planned, partition_location(info, partition), list(partition.get("Values") or []))
        elif info.location:
            self._add_files(planned, info.location, [])
        self.scans.append(planned)
        return planned

    def _plan_iceberg(self, planned: PlannedScan, info: TableInfo, conjuncts: list[exp.Expr],
                      version: exp.Expr | None) -> None:
        """The data files of the Iceberg snapshot the query reads, pruned by the WHERE conjuncts."""
        try:
            table = self.iceberg.table_of(info.raw)
        except (LookupError, FileNotFoundError, ValueError) as exc:
            raise QueryFailed(f"ICEBERG_INVALID_METADATA: {info.qualified}: {exc}") from exc
        from fogbank.services.athena import iceberg_scan

        snapshot = iceberg_scan.choose_snapshot(table, version, self._evaluate)
        found = iceberg_scan.plan_files(table, snapshot, conjuncts)
        planned.iceberg = found
        planned.info = replace(info, columns=[(c.name, c.hive_type) for c in found.columns])
        delete_locals: dict[str, str] = {}
        for uri, size in found.files:
            local = self._link_iceberg_file(info, uri, "data")
            planned.files.append(FileRef(local, uri, size, 0.0, []))
            self.scanned_bytes += size
            for delete_uri, delete_size in found.deletes.get(uri, []):
                if delete_uri not in delete_locals:
                    delete_locals[delete_uri] = self._link_iceberg_file(info, delete_uri, "delete")
                    self.scanned_bytes += delete_size
                planned.deletes.append(iceberg_scan.PositionDeletes(local, uri, delete_locals[delete_uri]))

    def _link_iceberg_file(self, info: TableInfo, uri: str, kind: str) -> str:
        try:
            bucket, key = split_uri(uri)
            return str(self.database.link(self.s3, bucket, key))
        except S3LocalError as exc:
            raise QueryFailed(f"ICEBERG_MISSING_DATA: {kind} file of {info.qualified} is missing: {uri}") from exc

    def _evaluate(self, node: exp.Expr) -> Any:
        """The value of a constant expression of the query (a time-travel pointer)."""
        try:
            text = sqlengine.to_duckdb(exp.select(node), "trino")
            row = self._pruning_connection().execute(text).fetchone()
        except (SqlError, duckdb.Error) as exc:
            raise QueryFailed(f"INVALID_ARGUMENTS: cannot evaluate {node.sql('trino')}: {exc}") from exc
        return row[0] if row else None

    def _metadata_table(self, table: exp.Table, database: str, name: str) -> exp.Expr:
        """"<table>$snapshots" and the other Iceberg metadata tables, read from the table's metadata."""
        base, _, kind = name.partition("$")
        info = self.lookup(database, base, table)
        from fogbank.services.athena import iceberg_scan

        reader = iceberg_scan.METADATA_TABLES.get(kind)
        if not info.is_iceberg or reader is None:
            raise QueryFailed(f"TABLE_NOT_FOUND: Table '{DEFAULT_CATALOG}.{database}.{name}' does not exist")
        try:
            arrow = reader(self.iceberg.table_of(info.raw))
        except (LookupError, FileNotFoundError, ValueError) as exc:
            raise QueryFailed(f"ICEBERG_INVALID_METADATA: {info.qualified}: {exc}") from exc
        view = f"fb_meta_{kind}_{next(self._names)}"
        self.conn.register(view, arrow)
        columns: dict[str, str] = {}
        for column, duck_type, *_ in self.conn.execute(f"DESCRIBE {view}").fetchall():
            try:
                columns[str(column)] = type_sql(str(duck_type), "duckdb", "trino")
            except SqlError:
                columns[str(column)] = "VARCHAR"
        self._metadata_views[view] = columns
        return exp.Table(this=exp.to_identifier(view), alias=exp.TableAlias(this=exp.to_identifier(table.alias
                                                                                                      or name)))

    def _add_files(self, planned: PlannedScan, location: str, values: list[str]) -> None:
        key = (location, tuple(values))
        known = self._folders.get(key)
        if known is None:
            known = self._folders[key] = self._link_folder(planned.view, location, values)
        planned.files.extend(known)
        self.scanned_bytes += sum(f.size for f in known)

    def _link_folder(self, view: str, location: str, values: list[str]) -> list[FileRef]:
        """The objects under a table's or partition's folder, each linked into the database's input folder."""
        files: list[FileRef] = []
        try:
            bucket, prefix = split_uri(location)
        except S3LocalError as exc:
            raise QueryFailed(f"HIVE_METASTORE_ERROR: {exc}") from exc
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        try:
            objects = list(self.s3.list(self.account, bucket, prefix))
        except S3LocalError as exc:
            raise QueryFailed(f"HIVE_CANNOT_OPEN_SPLIT: cannot read s3://{bucket}/{prefix}: {exc}") from exc
        for obj in objects:
            relative = obj.key[len(prefix):]
            if not relative or obj.key.endswith("/") or obj.key.endswith("_$folder$"):
                continue
            if any(part.startswith(_HIDDEN_PREFIXES) for part in relative.split("/")):
                continue
            try:
                local = self.database.link(self.s3, bucket, obj.key)
            except S3LocalError:
                continue  # deleted since the listing: not part of this query's snapshot
            files.append(FileRef(str(local), obj.uri, obj.size, obj.modified, values, obj.etag))
        return files

    # -- partition pruning -----------------------------------------------------------------------------------

    def _prune_conjuncts(self, table: exp.Table, info: TableInfo) -> list[exp.Expr]:
        """WHERE conjuncts of the table's own SELECT that only read its partition keys, when dropping the
        partitions they reject cannot change the answer (not on the nullable side of an outer join)."""
        # Iceberg prunes files by any column's statistics, Hive tables by partition keys only.
        keys = {k for k, _ in info.columns} if info.is_iceberg else {k for k, _ in info.partition_keys}
        if not keys:
            return []
        holder = table.parent
        select = holder.parent if isinstance(holder, exp.From | exp.Join) else None
        if not isinstance(select, exp.Select):
            return []
        joins = select.args.get("joins") or []
        if isinstance(holder, exp.Join) and (holder.side or "").upper() in ("LEFT", "FULL"):
            return []
        if isinstance(holder, exp.From) and any((j.side or "").upper() in ("RIGHT", "FULL") for j in joins):
            return []
        where = select.args.get("where")
        if where is None:
            return []
        alias = (table.alias or table.name).lower()
        out = []
        for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            if conjunct.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window, exp.Rand, exp.Placeholder):
                continue
            columns = list(conjunct.find_all(exp.Column))
            if not columns:
                continue
            if all(c.name.lower() in keys and (c.table.lower() == alias if c.table else not joins)
                   for c in columns):
                copy = conjunct.copy()
                for column in copy.find_all(exp.Column):
                    column.set("table", None)
                out.append(copy)
        return out

    def _prune(self, info: TableInfo, partitions: list[dict[str, Any]],
               conjuncts: list[exp.Expr]) -> list[dict[str, Any]]:
        if not conjuncts or not partitions:
            return partitions
        try:
            predicate = sqlengine.to_duckdb(exp.and_(*conjuncts), "trino")
        except SqlError:
            return partitions
        conn = self._pruning_connection()
        table = f"fb_parts_{next(self._names)}"
        raw_cols = ", ".join(f"{quote_ident(k)} VARCHAR" for k, _ in info.partition_keys)
        conn.execute(f"CREATE TEMP TABLE {table} (fb_idx INTEGER, {raw_cols})")
        rows = [[i, *[None if v == "__HIVE_DEFAULT_PARTITION__" else v for v in p.get("Values") or []]]
                for i, p in enumerate(partitions)]
        rows = [r + [None] * (len(info.partition_keys) + 1 - len(r)) for r in rows]
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * (len(info.partition_keys) + 1))})", rows)
        typed = ", ".join(f"TRY_CAST({quote_ident(k)} AS {duckdb_type(t)}) AS {quote_ident(k)}"
                          for k, t in info.partition_keys)
        try:
            kept = {int(r[0]) for r in conn.execute(
                f"SELECT fb_idx FROM (SELECT fb_idx, {typed} FROM {table}) WHERE {predicate}").fetchall()}
        except duckdb.Error:
            return partitions
        return [p for i, p in enumerate(partitions) if i in kept]

    def _pruning_connection(self) -> duckdb.DuckDBPyConnection:
        """A separate connection (no views of this statement): pruning predicates come from the query text."""
        if self._pruner is None:
            self._pruner = self.database.session()
        return self._pruner

    # -- information_schema ----------------------------------------------------------------------------------

    def _information_schema(self, table: exp.Table, name: str) -> exp.Expr:
        alias = table.alias or name
        view = f"fb_is_{name}_{next(self._names)}"
        if name == "schemata":
            rows = [(DEFAULT_CATALOG, d["Name"]) for d in self.catalog.get_databases(self.account, self.region)]
            self._pending_tables.append((view, ["catalog_name", "schema_name"], rows))
        elif name in ("tables", "columns", "views"):
            rows_t: list[tuple[Any, ...]] = []
            for t in self.catalog.all_tables(self.account, self.region):
                info = table_info(t)
                if name == "tables":
                    kind = "VIEW" if info.is_view else "BASE TABLE"
                    rows_t.append((DEFAULT_CATALOG, info.database, info.name, kind))
                elif name == "views" and info.is_view:
                    rows_t.append((DEFAULT_CATALOG, info.database, info.name, info.view_sql))
                elif name == "columns":
                    for pos, (col, ctype) in enumerate(info.columns + info.partition_keys, start=1):
                        rows_t.append((DEFAULT_CATALOG, info.database, info.name, col, pos, "YES", ctype))
            columns = {"tables": ["table_catalog", "table_schema", "table_name", "table_type"],
                       "views": ["table_catalog", "table_schema", "table_name", "view_definition"],
                       "columns": ["table_catalog", "table_schema", "table_name", "column_name",
                                   "ordinal_position", "is_nullable", "data_type"]}[name]
            self._pending_tables.append((view, columns, rows_t))
        else:
            raise QueryFailed(f"TABLE_NOT_FOUND: Table '{DEFAULT_CATALOG}.information_schema.{name}' does not exist")
        return exp.Table(this=exp.to_identifier(view), alias=exp.TableAlias(this=exp.to_identifier(alias)))

    # -- phase 2: open ---------------------------------------------------------------------------------------

    def open(self, shared: bool = False) -> dict[str, str]:
        """Creates the views of this query's tables (their files are linked into the database's folder).

        With `shared`, a table's view is kept in the database under a name derived from everything it reads
        (files, columns, format), so the next statement over the same objects finds it made; the scans are
        renamed, and the returned {old name: new name} is for the statement's tree."""
        if self._opened:
            return {}
        self._opened = True
        if any(scan.info.storage is not None and scan.info.storage.kind == "avro" for scan in self.scans):
            require_avro(self.database.avro)
        self._private = bool(self._pending_tables)
        for view, columns, rows in self._pending_tables:
            cols = ", ".join(f"{quote_ident(c)} {'BIGINT' if c == 'ordinal_position' else 'VARCHAR'}"
                             for c in columns)
            self.conn.execute(f"CREATE TEMP TABLE {view} ({cols})")
            if rows:
                self.conn.executemany(f"INSERT INTO {view} VALUES ({', '.join('?' * len(columns))})",
                                      [list(r) for r in rows])
        renamed: dict[str, str] = {}
        for scan in self.scans:
            keep = shared and (scan.info.storage is None or scan.info.storage.kind != "orc")  # ORC: Arrow per cursor
            statements = self._view_statements(scan, _PLACEHOLDER if keep else scan.view, temporary=not keep)
            if not keep:
                self._private = True
                for sql, batch in statements:
                    self._execute(sql, batch)
                continue
            digest = hashlib.sha256(repr(statements).encode()).hexdigest()[:24]
            name = f"fb_v{digest}"
            if not self.database.has_view(name):
                for sql, batch in statements:
                    self._execute(sql.replace(_PLACEHOLDER, name), batch)
                self.database.add_view(name, self.conn)
            renamed[scan.view] = name
            scan.view = name
        return renamed

    @property
    def only_shared(self) -> bool:
        """Whether the opened statement reads nothing but shared views, so its translated text means the same
        on every statement of the database."""
        return self._opened and not self._private and not self._metadata_views

    def _execute(self, sql: str, rows: list[list[Any]] | None) -> None:
        if rows is None:
            self.conn.execute(sql)
        elif rows:
            self.conn.executemany(sql, rows)

    def _view_statements(self, scan: PlannedScan, view: str,
                         temporary: bool) -> list[tuple[str, list[list[Any]] | None]]:
        """The statements that make a scan's view (and its table of files, for partitions and "$path")."""
        info = scan.info
        assert info.storage is not None
        if scan.iceberg is not None:
            from fogbank.services.athena import iceberg_scan

            relation = iceberg_scan.relation_sql([f.local for f in scan.files], scan.iceberg.columns, scan.deletes)
        else:
            relation = relation_sql(self.conn, info.storage, [f.local for f in scan.files], info.columns,
                                    f"{scan.view}_arrow", [f.identity for f in scan.files])
        kind = "TEMP " if temporary else ""
        data_cols = [f"d.{quote_ident(name)}" for name, _ in info.columns]
        if not info.partition_keys and not scan.pseudo:
            return [(f"CREATE OR REPLACE {kind}VIEW {view} AS SELECT {', '.join(data_cols)} FROM ({relation}) d",
                     None)]
        files_table = f"{view}_files"
        part_cols = ", ".join(f"{quote_ident('p_' + k)} VARCHAR" for k, _ in info.partition_keys)
        statements: list[tuple[str, list[list[Any]] | None]] = [(
            f"CREATE OR REPLACE {kind}TABLE {files_table} (fb_file VARCHAR, fb_path VARCHAR, fb_size BIGINT, "
            f"fb_modified DOUBLE{', ' + part_cols if part_cols else ''})", None)]
        rows = []
        for f in scan.files:
            values: list[Any] = [None if v == "__HIVE_DEFAULT_PARTITION__" else v for v in f.values]
            values += [None] * (len(info.partition_keys) - len(values))
            rows.append([f.local, f.uri, f.size, f.modified, *values])
        marks = ", ".join("?" * (4 + len(info.partition_keys)))
        statements.append((f"INSERT INTO {files_table} VALUES ({marks})", rows))
        exprs = list(data_cols)
        for key, hive in info.partition_keys:
            exprs.append(f"TRY_CAST(f.{quote_ident('p_' + key)} AS {duckdb_type(hive)}) AS {quote_ident(key)}")
        if "$path" in scan.pseudo:
            exprs.append('f.fb_path AS "$path"')
        if "$file_size" in scan.pseudo:
            exprs.append('f.fb_size AS "$file_size"')
        if "$file_modified_time" in scan.pseudo:
            exprs.append('to_timestamp(f.fb_modified) AS "$file_modified_time"')
        statements.append((f"CREATE OR REPLACE {kind}VIEW {view} AS SELECT {', '.join(exprs)} FROM ({relation}) d "
                           f"JOIN {files_table} f ON d.fb_file = f.fb_file", None))
        return statements

    # -- schema for the translator ---------------------------------------------------------------------------

    def schema(self) -> dict[str, dict[str, str]]:
        """{view: {column: type}} in Trino spelling, for column qualification and type annotation."""
        out: dict[str, dict[str, str]] = {}
        for scan in self.scans:
            cols: dict[str, str] = {}
            for name, hive in scan.info.columns + scan.info.partition_keys:
                try:
                    cols[name] = type_sql(hive, "hive", "trino")
                except SqlError:
                    cols[name] = "VARCHAR"
            out[scan.view] = cols
        for view, columns, _ in self._pending_tables:
            out[view] = {c: ("BIGINT" if c == "ordinal_position" else "VARCHAR") for c in columns}
        out.update(self._metadata_views)
        return out

    def public_text(self, text: str) -> str:
        """`text` with this query's local file names replaced by the S3 URIs they stand for, so an error
        names the object the user wrote and never the server's own folders."""
        for scan in self.scans:
            for ref in scan.files:
                text = text.replace(ref.local, ref.uri)
        return text.replace(str(self.database.root), "<scratch>").replace(str(self.scratch), "<scratch>")

    def close(self) -> None:
        if self._pruner is not None:
            with contextlib.suppress(duckdb.Error):
                self._pruner.close()
            self._pruner = None


def now_utc() -> datetime:
    return datetime.now(UTC)
