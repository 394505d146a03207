"""Statements that write data: CREATE TABLE AS SELECT, INSERT INTO and UNLOAD.

The query's rows are written by DuckDB (or pyarrow for ORC) into the query's scratch directory, in the
table's format with Hive-style partition folders, then stored as S3 objects under the target location and,
for tables, registered in Glue (the table for CTAS, new partitions for both). Files are named after the query
id, so two writes never overwrite each other's files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlglot import exp

from fogbank.engines.sql import duckdb_type, quote_ident
from fogbank.services.athena.ddl import Ddl
from fogbank.services.athena.engine import Engine, Outcome, hive_type_of
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.readers import require_avro
from fogbank.services.athena.tables import ICEBERG_PROPERTIES, TableInfo, partition_location, table_info
from fogbank.services.glue.hive_tables import folder_values, literal_text, storage_descriptor
from fogbank.services.s3.local_access import S3LocalError, split_uri

_CTAS_PROPERTIES = {"format", "external_location", "partitioned_by", "bucketed_by", "bucket_count",
                    "write_compression", "field_delimiter", "table_type", "parquet_compression", "orc_compression",
                    "location", "is_external", "vacuum_max_snapshot_age_seconds"} | ICEBERG_PROPERTIES


def _property_value(node: exp.Expr | None) -> Any:
    if isinstance(node, exp.Array):
        return [literal_text(e) for e in node.expressions]
    return literal_text(node)


def _content_type(fmt: str) -> str:
    return {"PARQUET": "application/vnd.apache.parquet", "JSON": "application/json"}.get(
        fmt, "application/octet-stream")


class Writes:
    def __init__(self, engine: Engine, ddl: Ddl) -> None:
        self.engine = engine
        self.ddl = ddl
        self.ctx = engine.ctx

    # -- CTAS ----------------------------------------------------------------------------------------------

    def ctas(self, node: exp.Create) -> Outcome:
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
        database, name = self.ddl._names(target)
        self.ddl._require_db(database)
        if self.ddl._exists(database, name):
            if node.args.get("exists"):
                return Outcome("DDL", "CREATE_TABLE_AS_SELECT", update_count=0)
            raise QueryFailed(f"ALREADY_EXISTS: line 1:1: Table 'awsdatacatalog.{database}.{name}' already exists")
        props: dict[str, Any] = {}
        for prop in (node.args.get("properties") or exp.Properties(expressions=[])).expressions:
            if isinstance(prop, exp.FileFormatProperty):
                props["format"] = literal_text(prop.this)
            elif isinstance(prop, exp.PartitionedByProperty):
                props["partitioned_by"] = _property_value(prop.this)
            elif isinstance(prop, exp.LocationProperty):
                props["external_location"] = literal_text(prop.this)
            elif isinstance(prop, exp.Property):
                key = literal_text(prop.this).lower()
                if key not in _CTAS_PROPERTIES:
                    raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: Catalog 'awsdatacatalog' table property "
                                      f"'{key}' does not exist")
                props[key] = _property_value(prop.args.get("value"))
        if str(props.get("table_type", "HIVE")).upper() == "ICEBERG":
            query = node.args.get("expression")
            assert query is not None
            location = str(props.get("external_location") or props.get("location") or "")
            if not location:
                location = self.ctx.output_location.rstrip("/") + f"/tables/{self.ctx.query_id}/"
            return self.engine.iceberg.ctas(database, name, query, props, location,
                                                       bool(node.args.get("exists")))
        fmt = str(props.get("format") or "PARQUET").upper()
        if fmt == "TEXTFILE" and not props.get("field_delimiter"):
            props["field_delimiter"] = "\x01"
        partition_by = [p.lower() for p in props.get("partitioned_by") or []]
        location = str(props.get("external_location") or props.get("location") or "")
        if not location:
            location = self.ctx.output_location.rstrip("/") + f"/tables/{self.ctx.query_id}/"
        location = location if location.endswith("/") else location + "/"
        self._require_empty(location, f"{database}.{name}")
        query = node.args.get("expression")
        assert query is not None
        with_data = not isinstance(node.args.get("with_data"), bool) or node.args.get("with_data") is not False
        if fmt == "AVRO":
            require_avro(self.engine.database.avro)
        text, bound = self.engine.prepare(query)
        names, types = bound.columns, bound.types
        columns = [(n.lower(), hive_type_of(t)) for n, t in zip(names, types, strict=True)]
        missing = [p for p in partition_by if p not in [c for c, _ in columns]]
        if missing:
            raise QueryFailed(f"HIVE_COLUMN_ORDER_MISMATCH: Partition columns {missing} are not in the output")
        if partition_by and [c for c, _ in columns][-len(partition_by):] != partition_by:
            raise QueryFailed("HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table "
                              "and in the same order as the table properties: " + str(partition_by))
        data_columns = [(n, t) for n, t in columns if n not in partition_by]
        keys = [(n, t) for n, t in columns if n in partition_by]
        count = 0
        written: list[str] = []
        partitions: list[list[str]] = []
        if with_data:
            count, written, partitions = self._write(text, location, fmt, partition_by, props)
        serde_params = {"field.delim": str(props["field_delimiter"])} if fmt == "TEXTFILE" else {}
        parameters = {"EXTERNAL": "TRUE", "has_encrypted_data": "false"}
        if props.get("write_compression"):
            parameters["write.compression"] = str(props["write_compression"]).upper()
        table_input = {
            "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters,
            "PartitionKeys": [{"Name": n, "Type": t} for n, t in keys],
            "StorageDescriptor": storage_descriptor(fmt, location, [{"Name": n, "Type": t} for n, t in data_columns],
                                                    serde_params=serde_params)}
        self.ctx.catalog.create_table(self.ctx.account, self.ctx.region, database, table_input)
        if partitions:
            self._register_partitions(database, name, partitions, location)
        return Outcome("DDL", "CREATE_TABLE_AS_SELECT", update_count=count, written=written,
                       scanned_bytes=self.engine.session.scanned_bytes)

    # -- INSERT INTO ---------------------------------------------------------------------------------------

    def insert(self, node: exp.Insert) -> Outcome:
        target = node.this
        listed: list[str] | None = None
        if isinstance(target, exp.Schema):
            listed = [c.name.lower() for c in target.expressions]
            target = target.this
        database, name = self.ddl._names(target)
        table = self.ddl._table(database, name)
        info = table_info(table)
        if info.is_view or info.storage is None:
            raise QueryFailed(f"NOT_SUPPORTED: Inserting into view '{database}.{name}' is not supported")
        all_columns = info.columns + info.partition_keys
        query = node.args.get("expression")
        assert query is not None
        if info.storage.kind == "avro":
            require_avro(self.engine.database.avro)
        text, bound = self.engine.prepare(query)
        width = len(bound.columns)
        order = listed if listed is not None else [n for n, _ in all_columns]
        if width != len(order):
            raise QueryFailed(f"TYPE_MISMATCH: line 1:1: Insert query has mismatched column types: Table: "
                              f"{len(order)} columns, Query: {width} columns")
        unknown = [c for c in order if c not in [n for n, _ in all_columns]]
        if unknown:
            raise QueryFailed(f"COLUMN_NOT_FOUND: line 1:1: Insert column name does not exist in target table: "
                              f"{unknown[0]}")
        inner = ", ".join(quote_ident(f"fb_i{i}") for i in range(width))
        position = {n: i for i, n in enumerate(order)}
        exprs = []
        for column, hive in all_columns:
            source = f"fb_i{position[column]}" if column in position else None
            value = f"CAST({quote_ident(source) if source else 'NULL'} AS {duckdb_type(hive)})"
            exprs.append(f"{value} AS {quote_ident(column)}")
        shaped = f"SELECT {', '.join(exprs)} FROM ({text}) AS fb_in({inner})"
        if info.is_iceberg:
            return self.engine.iceberg.insert(database, name, shaped)
        fmt = {"parquet": "PARQUET", "orc": "ORC", "json": "JSON", "text": "TEXTFILE",
               "avro": "AVRO"}.get(info.storage.kind, "")
        if not fmt:
            raise QueryFailed(f"NOT_SUPPORTED: INSERT INTO a {info.storage.kind} table is not supported")
        if fmt == "TEXTFILE" and (info.storage.quote or info.storage.escape):
            raise QueryFailed("NOT_SUPPORTED: INSERT INTO a table with OpenCSVSerDe is not supported")
        keys = [k for k, _ in info.partition_keys]
        props: dict[str, Any] = {"field_delimiter": info.storage.delimiter,
                                 "write_compression": table.get("Parameters", {}).get("write.compression")}
        location = info.location if info.location.endswith("/") else info.location + "/"
        count, written, partitions = self._write(shaped, location, fmt, keys, props)
        if partitions:
            existing = {tuple(p["Values"]) for p in self.ctx.catalog.get_partitions(
                self.ctx.account, self.ctx.region, database, name)}
            fresh = [p for p in partitions if tuple(p) not in existing]
            if fresh:
                self._register_partitions(database, name, fresh, location, info)
        return Outcome("DML", "INSERT", update_count=count, written=written,
                       scanned_bytes=self.engine.session.scanned_bytes)

    # -- UNLOAD --------------------------------------------------------------------------------------------

    def unload(self, text: str) -> Outcome:
        match = re.match(r"^\s*UNLOAD\s*\((.*)\)\s*TO\s+'((?:[^']|'')*)'\s*(?:WITH\s*\((.*)\))?\s*$", text,
                         re.I | re.S)
        if match is None:
            raise QueryFailed("SYNTAX_ERROR: line 1:1: UNLOAD (query) TO 's3://...' WITH (property = value, ...)")
        from fogbank.engines import sql as sqlengine

        query = sqlengine.parse(match.group(1), "trino")
        location = match.group(2).replace("''", "'")
        location = location if location.endswith("/") else location + "/"
        props: dict[str, Any] = {}
        if match.group(3):
            wrapper = sqlengine.parse(f"CREATE TABLE fb_unload WITH ({match.group(3)}) AS SELECT 1", "athena")
            for prop in (wrapper.args.get("properties") or exp.Properties(expressions=[])).expressions:
                if isinstance(prop, exp.FileFormatProperty):
                    props["format"] = literal_text(prop.this)
                elif isinstance(prop, exp.PartitionedByProperty):
                    props["partitioned_by"] = _property_value(prop.this)
                elif isinstance(prop, exp.Property):
                    props[literal_text(prop.this).lower()] = _property_value(prop.args.get("value"))
        fmt = str(props.get("format") or "PARQUET").upper()
        if fmt == "TEXTFILE" and not props.get("field_delimiter"):
            props["field_delimiter"] = "\x01"
        if props.get("compression"):
            props["write_compression"] = props["compression"]
        self._require_empty(location, location)
        partition_by = [p.lower() for p in props.get("partitioned_by") or []]
        sql_text, _ = self.engine.prepare(query)
        count, written, _ = self._write(sql_text, location, fmt, partition_by, props)
        return Outcome("DML", "UNLOAD", update_count=count, written=written,
                       scanned_bytes=self.engine.session.scanned_bytes)

    # -- shared --------------------------------------------------------------------------------------------

    def _out_dir(self) -> Path:
        return self.engine.output_dir()

    def _require_empty(self, location: str, what: str) -> None:
        try:
            bucket, prefix = split_uri(location)
            if next(iter(self.ctx.s3.list(self.ctx.account, bucket, prefix)), None) is not None:
                raise QueryFailed(f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{what}' already exists: "
                                  f"{location}. You may need to manually clean the data at location "
                                  f"'{location}' before retrying.")
        except S3LocalError as exc:
            raise QueryFailed(f"HIVE_PATH_ALREADY_EXISTS: cannot use {location}: {exc}") from None

    def _write(self, text: str, location: str, fmt: str, partition_by: list[str],
               props: dict[str, Any]) -> tuple[int, list[str], list[list[str]]]:
        """Writes the rows, uploads every file under `location`; returns (rows, object URIs, partitions)."""
        out_dir = self._out_dir()
        compression = props.get("write_compression") or props.get("parquet_compression") or props.get(
            "orc_compression")
        count = self.engine.write_files(text, out_dir, fmt, partition_by, compression,
                                        str(props.get("field_delimiter") or "\x01"))
        bucket, prefix = split_uri(location)
        written: list[str] = []
        partitions: dict[tuple[str, ...], None] = {}
        for root, _, files in sorted(os.walk(out_dir)):
            for index, file_name in enumerate(sorted(files)):
                path = Path(root) / file_name
                if path.stat().st_size == 0 and fmt != "PARQUET":
                    continue
                relative = path.parent.relative_to(out_dir).as_posix()
                relative = "" if relative == "." else relative + "/"
                if partition_by:
                    partitions[tuple(folder_values(relative))] = None
                suffix = "".join(Path(file_name).suffixes)
                key = f"{prefix}{relative}{self.ctx.query_id}_{index}{suffix}"
                try:
                    self.ctx.s3.put(self.ctx.account, bucket, key, path, _content_type(fmt))
                except S3LocalError as exc:
                    raise QueryFailed(f"HIVE_WRITER_OPEN_ERROR: cannot write s3://{bucket}/{key}: {exc}") from None
                written.append(f"s3://{bucket}/{key}")
                path.unlink()
        return count, written, [list(p) for p in partitions]

    def _register_partitions(self, database: str, name: str, partitions: list[list[str]], location: str,
                             info: TableInfo | None = None) -> None:
        table = self.ctx.catalog.get_table(self.ctx.account, self.ctx.region, database, name)
        info = info or table_info(table)
        inputs = []
        for values in partitions:
            sd = dict(table.get("StorageDescriptor") or {})
            sd["Location"] = partition_location(info, {"Values": values})
            inputs.append({"Values": values, "StorageDescriptor": sd})
        self.ctx.catalog.create_partitions(self.ctx.account, self.ctx.region, database, name, inputs)
