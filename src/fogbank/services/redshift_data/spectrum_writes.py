"""Redshift Spectrum's writes: CREATE EXTERNAL TABLE ... AS SELECT and INSERT INTO an external table.

The query runs on the warehouse. DuckDB writes its rows as Parquet or delimited text into the statement's scratch
folder (Hive-style `key=value/` folders for a partitioned table), and each file is put under the table's location
with Redshift's names (`<date>_<time>_<microseconds>_<query>_0000_part_<n>.<format>`). Then the Glue table (for
CREATE ... AS) and the partitions not yet catalogued are registered in the database behind the external schema,
so Athena, Glue clients and the warehouse read the new rows at once.
"""

from __future__ import annotations

import datetime
from typing import Any

import duckdb

from fogbank.services.glue.hive_tables import folder_values
from fogbank.services.glue.hive_types import from_duckdb
from fogbank.services.glue.records import is_iceberg
from fogbank.services.redshift_data import spectrum
from fogbank.services.redshift_data.external import LakeCatalog, duckdb_type, table_format
from fogbank.services.redshift_data.loading import literal, quote_ident
from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.s3io import S3Access, Scratch, parse_url
from fogbank.services.redshift_data.spectrum import SpectrumDdl

# Hive's LazySimpleSerDe separates fields with Ctrl-A unless the table says otherwise.
_HIVE_DELIMITER = "\x01"


def write(ddl: SpectrumDdl, cursor: duckdb.DuckDBPyConnection, query_sql: str, catalog: LakeCatalog | None,
          s3: S3Access, scratch: Scratch, statement_id: str) -> int:
    """Runs a create_as or insert statement (its query already translated); returns the rows written."""
    if catalog is None:
        raise RedshiftSqlError("The Glue Data Catalog is not available to this warehouse")
    region = ddl.schema.region or s3.region
    lake = _Lake(catalog, s3.account, region, ddl.schema.glue_database, f"{ddl.schema.name}.{ddl.table}")
    if ddl.action == "create_as":
        return _create_as(ddl, cursor, query_sql, lake, s3, scratch, statement_id)
    return _insert(ddl, cursor, query_sql, lake, s3, scratch, statement_id)


class _Lake:
    """The catalog database behind the external schema, for one table."""

    def __init__(self, catalog: LakeCatalog, account: str, region: str, database: str, qualified: str) -> None:
        self.catalog = catalog
        self.account = account
        self.region = region
        self.database = database
        self.qualified = qualified

    def table(self, name: str) -> dict[str, Any] | None:
        try:
            return self.catalog.get_table(self.account, self.region, self.database, name)
        except Exception as error:
            if spectrum.error_code(error) == "EntityNotFoundException":
                return None
            raise

    def add_partitions(self, table: dict[str, Any], partitions: dict[tuple[str, ...], str]) -> None:
        """Registers the partitions (values -> folder) the catalog does not hold yet."""
        if not partitions:
            return
        existing = {tuple(p["Values"]) for p in self.catalog.get_partitions(
            self.account, self.region, self.database, str(table["Name"]))}
        inputs = []
        for values, folder in partitions.items():
            if values in existing:
                continue
            descriptor = dict(table.get("StorageDescriptor") or {})
            descriptor["Location"] = folder
            inputs.append({"Values": list(values), "StorageDescriptor": descriptor})
        if inputs:
            self.catalog.create_partitions(self.account, self.region, self.database, str(table["Name"]), inputs)


def _create_as(ddl: SpectrumDdl, cursor: duckdb.DuckDBPyConnection, query_sql: str, lake: _Lake, s3: S3Access,
               scratch: Scratch, statement_id: str) -> int:
    if lake.table(ddl.table) is not None:
        if ddl.if_exists:
            return 0
        raise RedshiftSqlError(f'relation "{lake.qualified}" already exists')
    relation = _bind(cursor, query_sql)
    names = [str(n).lower() for n in relation.columns]
    types = {name: from_duckdb(t) for name, t in zip(names, relation.types, strict=True)}
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RedshiftSqlError(f'column "{repeated[0]}" specified more than once')
    missing = [p for p in ddl.partition_names if p not in types]
    if missing:
        raise RedshiftSqlError(f'partition column "{missing[0]}" is not a column of the query')
    data = [n for n in names if n not in ddl.partition_names]
    if not data:
        raise RedshiftSqlError("CREATE EXTERNAL TABLE AS needs a column that is not a partition column")
    columns = ", ".join(f"`{n}` {types[n]}" for n in data)
    partitioned = (" PARTITIONED BY (" + ", ".join(f"`{p}` {types[p]}" for p in ddl.partition_names) + ")"
                   if ddl.partition_names else "")
    made = spectrum.create_ddl(f"CREATE EXTERNAL TABLE {quote_ident(ddl.schema.name)}.{quote_ident(ddl.table)} "
                               f"({columns}){partitioned} {ddl.clauses}", {ddl.schema.name.lower(): ddl.schema})
    table = {**made.table_input, "Name": ddl.table}
    kind, delimiter = _writable_format(table)
    location = _folder(table["StorageDescriptor"]["Location"])
    if any(True for _ in s3.list(location)):
        raise RedshiftSqlError(f"The location {location} is not empty: CREATE EXTERNAL TABLE AS writes only to an "
                               "empty location")
    ordered = [*data, *ddl.partition_names]
    select = f"SELECT {', '.join(quote_ident(n) for n in ordered)} FROM ({query_sql}) fb_q"
    count, partitions = _write_files(cursor, select, kind, delimiter, ddl.partition_names, location, s3, scratch,
                                     statement_id)
    lake.catalog.create_table(lake.account, lake.region, lake.database, table)
    lake.add_partitions(table, partitions)
    return count


def _insert(ddl: SpectrumDdl, cursor: duckdb.DuckDBPyConnection, query_sql: str, lake: _Lake, s3: S3Access,
            scratch: Scratch, statement_id: str) -> int:
    table = lake.table(ddl.table)
    if table is None:
        raise RedshiftSqlError(f'relation "{lake.qualified}" does not exist')
    kind, delimiter = _writable_format(table)
    columns = [(str(c["Name"]), str(c["Type"])) for c in table["StorageDescriptor"].get("Columns") or []]
    keys = [(str(k["Name"]), str(k.get("Type") or "string")) for k in table.get("PartitionKeys") or []]
    width = len(_bind(cursor, query_sql).columns)
    if width != len(columns) + len(keys):
        raise RedshiftSqlError(f"INSERT has {width} expressions but {lake.qualified} has {len(columns) + len(keys)} "
                               "columns (its partition columns last)")
    names = [f"fb_c{i}" for i in range(width)]
    exprs = []
    for position, (name, hive) in enumerate(columns + keys):
        target = duckdb_type(hive)
        source = quote_ident(names[position])
        exprs.append(f"{f'CAST({source} AS {target})' if target else source} AS {quote_ident(name)}")
    select = f"SELECT {', '.join(exprs)} FROM ({query_sql}) fb_q({', '.join(names)})"
    location = _folder(table["StorageDescriptor"]["Location"])
    count, partitions = _write_files(cursor, select, kind, delimiter, [k for k, _ in keys], location, s3, scratch,
                                     statement_id)
    lake.add_partitions(table, partitions)
    return count


def _bind(cursor: duckdb.DuckDBPyConnection, query_sql: str) -> duckdb.DuckDBPyRelation:
    """The query's output columns, bound but not run."""
    try:
        relation = cursor.sql(query_sql)
    except duckdb.Error as error:
        raise RedshiftSqlError(str(error).split("\n")[0]) from None
    if relation is None:
        raise RedshiftSqlError("the statement needs a query that returns rows")
    return relation


def _writable_format(table: dict[str, Any]) -> tuple[str, str]:
    """("parquet" | "text", field delimiter) of a table Spectrum can write."""
    if is_iceberg(table):
        # Files put beside an Iceberg table's data are in none of its snapshots: the rows would be lost.
        raise RedshiftSqlError("Spectrum cannot write to an Iceberg table here; write it with Athena's INSERT INTO")
    kind, serde = table_format(table)
    if kind == "parquet":
        return kind, ""
    library = str(((table.get("StorageDescriptor") or {}).get("SerdeInfo") or {}).get("SerializationLibrary", ""))
    if kind == "text" and (not library or library.endswith("LazySimpleSerDe")):
        return kind, serde.get("field.delim") or serde.get("serialization.format") or _HIVE_DELIMITER
    raise RedshiftSqlError("Spectrum writes only PARQUET and TEXTFILE (delimited) tables")


def _folder(location: str) -> str:
    parse_url(location)
    return location if location.endswith("/") else location + "/"


def _write_files(cursor: duckdb.DuckDBPyConnection, select: str, kind: str, delimiter: str, partition_by: list[str],
                 location: str, s3: S3Access, scratch: Scratch, statement_id: str
                 ) -> tuple[int, dict[tuple[str, ...], str]]:
    """Writes the rows of `select` under `location`; returns the rows and the partitions written (their values,
    and the folder each is in)."""
    if kind == "parquet":
        options = ["FORMAT PARQUET"]
        suffix = ".parquet"
    else:
        options = ["FORMAT CSV", "HEADER false", f"DELIMITER {literal(delimiter)}", "QUOTE ''", "ESCAPE ''",
                   "NULLSTR '\\N'"]
        suffix = ".txt"
    output = scratch.folder()
    if partition_by:
        options += [f"PARTITION_BY ({', '.join(quote_ident(p) for p in partition_by)})", "OVERWRITE_OR_IGNORE true",
                    "FILENAME_PATTERN 'part_{i}'"]
        target = output
    else:
        target = output / f"part_0{suffix}"
    try:
        row = cursor.execute(f"COPY ({select}) TO {literal(str(target))} ({', '.join(options)})").fetchone()
    except duckdb.Error as error:
        raise RedshiftSqlError(str(error).split("\n")[0]) from None
    count = int(row[0]) if row else 0
    bucket, prefix = parse_url(location)
    now = datetime.datetime.now(datetime.UTC)
    stem = f"{now:%Y%m%d_%H%M%S_%f}_{statement_id.replace('-', '')[:8]}_0000_part_"
    partitions: dict[tuple[str, ...], str] = {}
    files = sorted(p for p in output.rglob("*") if p.is_file())
    for folder in sorted({p.parent for p in files}):
        relative = folder.relative_to(output).as_posix()
        folder_prefix = "" if relative == "." else relative + "/"
        if partition_by:
            partitions[tuple(folder_values(relative))] = f"{location}{folder_prefix}"
        for index, path in enumerate(sorted(p for p in files if p.parent == folder)):
            content_type = "application/octet-stream" if kind == "parquet" else "text/plain"
            s3.upload(path, bucket, f"{prefix}{folder_prefix}{stem}{index:02d}{suffix}", content_type)
    return count, partitions
