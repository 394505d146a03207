"""External schemas: tables of the Glue Data Catalog read as views over their objects in fogbank's S3.

When a statement names `spectrum.sales` and `spectrum` is an external schema over the catalog database
`lake`, the catalog's table definition (columns, partition keys, location, format) becomes a temporary view
that reads the table's objects (copied to the statement's scratch folder) with DuckDB's Parquet, CSV or JSON
reader and adds each partition's key values as columns, so warehouse tables join lake tables in one query.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import duckdb

from fogbank.services.redshift_data.loading import literal, quote_ident
from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.s3io import S3Access, Scratch


class LakeCatalog(Protocol):
    """The part of the Glue catalog the warehouse reads, and Spectrum's DDL writes
    (fogbank.services.glue.catalog.GlueCatalog)."""

    def get_table(self, account: str, region: str, database: str, name: str) -> dict[str, Any]: ...

    def get_tables(self, account: str, region: str, database: str, pattern: str | None = None,
                   after: str | None = None, limit: int = 1_000_000) -> list[dict[str, Any]]: ...

    def get_partitions(self, account: str, region: str, database: str, table: str,
                       expression: str | None = None, after: str | None = None, limit: int = 10_000_000,
                       segment: dict[str, int] | None = None,
                       exclude_columns: bool = False) -> list[dict[str, Any]]: ...

    def create_table(self, account: str, region: str, database: str, given: dict[str, Any],
                     indexes: list[dict[str, Any]] | None = None) -> dict[str, Any]: ...

    def delete_table(self, account: str, region: str, database: str, name: str) -> None: ...

    def create_partitions(self, account: str, region: str, database: str, table: str,
                          inputs: list[dict[str, Any]]) -> Sequence[tuple[list[str], Exception]]: ...

    def delete_partitions(self, account: str, region: str, database: str, table: str,
                          wanted: list[list[str]]) -> Sequence[tuple[list[str], Exception]]: ...


CatalogSource = Callable[[], LakeCatalog | None]

_SIMPLE_TYPES = {"string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "int": "INTEGER",
                 "integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "tinyint": "SMALLINT",
                 "double": "DOUBLE", "double precision": "DOUBLE", "float": "REAL", "real": "REAL",
                 "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "binary": "BLOB"}
_REDSHIFT_TYPES = {"VARCHAR": "varchar", "INTEGER": "int4", "BIGINT": "int8", "SMALLINT": "int2",
                   "DOUBLE": "float8", "REAL": "float4", "BOOLEAN": "bool", "DATE": "date",
                   "TIMESTAMP": "timestamp", "BLOB": "varbyte"}


def duckdb_type(hive_type: str) -> str | None:
    """The DuckDB type of a Hive/Glue column type; None for nested types (kept as the reader gives them)."""
    text = hive_type.strip().lower()
    base = re.sub(r"\(.*\)$", "", text).strip()
    if base in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[base]
    match = re.fullmatch(r"decimal\s*(\(\s*(\d+)\s*(,\s*(\d+))?\s*\))?", text)
    if match:
        return f"DECIMAL({match.group(2) or 10}, {match.group(4) or 0})"
    return None


def redshift_type(hive_type: str) -> str:
    """The Redshift type name Spectrum reports for a catalog column."""
    mapped = duckdb_type(hive_type)
    if mapped is None:
        return "super"
    if mapped.startswith("DECIMAL"):
        return "numeric"
    return _REDSHIFT_TYPES.get(mapped, "varchar")


def table_format(table: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """("parquet" | "csv" | "json" | other, serde parameters) of a catalog table."""
    descriptor = table.get("StorageDescriptor") or {}
    serde = descriptor.get("SerdeInfo") or {}
    parameters = {**(table.get("Parameters") or {}), **(descriptor.get("Parameters") or {})}
    hints = " ".join(str(v).lower() for v in (parameters.get("classification", ""),
                                               serde.get("SerializationLibrary", ""),
                                               descriptor.get("InputFormat", "")))
    serde_parameters = {str(k): str(v) for k, v in (serde.get("Parameters") or {}).items()}
    for kind in ("parquet", "orc", "avro", "json"):
        if kind in hints:
            return kind, serde_parameters
    if "opencsv" in hints or "csv" in hints:
        return "csv", serde_parameters
    return "text", serde_parameters


def _files(location: str, s3: S3Access, scratch: Scratch, suffix: str) -> list[str]:
    prefix = location if location.endswith("/") else location + "/"
    files = []
    for obj in s3.list(prefix):
        name = posixpath.basename(obj.key)
        if not name or name.startswith(("_", ".")) or obj.key.endswith("/") or obj.size == 0:
            continue
        files.append(str(s3.download(obj, scratch.file(suffix))))
    return files


def _group_sql(cursor: duckdb.DuckDBPyConnection, kind: str, serde: dict[str, str], skip: int, files: list[str],
               columns: list[tuple[str, str | None]], extra: list[str]) -> str:
    paths = "[" + ", ".join(literal(f) for f in files) + "]"
    items: list[str] = []
    if kind == "parquet":
        source = f"read_parquet({paths}, union_by_name=true)"
        present = {r[0].lower(): r[0] for r in cursor.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        for name, kind_type in columns:
            if name not in present:
                items.append(f"CAST(NULL AS {kind_type or 'VARCHAR'}) AS {quote_ident(name)}")
            elif kind_type is None:
                items.append(f"{quote_ident(present[name])} AS {quote_ident(name)}")
            else:
                items.append(f"CAST({quote_ident(present[name])} AS {kind_type}) AS {quote_ident(name)}")
    elif kind == "json":
        source = f"read_json_objects({paths}, format='auto')"
        for name, kind_type in columns:
            path = literal(f'$."{name}"')
            if kind_type is None:
                items.append(f"json_extract(json, {path}) AS {quote_ident(name)}")
            else:
                items.append(f"CAST(json_extract_string(json, {path}) AS {kind_type}) AS {quote_ident(name)}")
    else:
        csv = kind == "csv"
        delimiter = serde.get("separatorChar") or serde.get("field.delim") or ("," if csv else "\x01")
        quote = serde.get("quoteChar", '"') if csv else ""
        names = [f"c{i}" for i in range(len(columns))]
        spec = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
        source = (f"read_csv({paths}, delim={literal(delimiter)}, quote={literal(quote)}, escape={literal(quote)}, "
                  f"header=false, skip={skip}, auto_detect=false, null_padding=true, allow_quoted_nulls=false, "
                  f"nullstr={literal(serde.get('serialization.null.format', chr(92) + 'N'))}, columns={spec})")
        for field, (name, kind_type) in zip(names, columns, strict=True):
            if kind_type in (None, "VARCHAR"):
                items.append(f"{field} AS {quote_ident(name)}")
            else:
                items.append(f"CAST(NULLIF(trim({field}), '') AS {kind_type}) AS {quote_ident(name)}")
    return f"SELECT {', '.join(items + extra)} FROM {source}"


def view_sql(cursor: duckdb.DuckDBPyConnection, table: dict[str, Any], partitions: list[dict[str, Any]],
             s3: S3Access, scratch: Scratch) -> str:
    """A SELECT over the table's current objects, partition keys included, typed as the catalog says."""
    descriptor = table.get("StorageDescriptor") or {}
    columns = [(c["Name"].lower(), duckdb_type(c.get("Type") or "string"))
               for c in descriptor.get("Columns") or []]
    keys = [(k["Name"].lower(), duckdb_type(k.get("Type") or "string") or "VARCHAR")
            for k in table.get("PartitionKeys") or []]
    kind, serde = table_format(table)
    if kind in ("orc", "avro"):
        raise RedshiftSqlError(f"External tables stored as {kind.upper()} are not supported by this warehouse")
    try:
        skip = int((table.get("Parameters") or {}).get("skip.header.line.count", "0"))
    except ValueError:
        skip = 0
    suffix = ".parquet" if kind == "parquet" else ""
    groups: list[tuple[str, list[str]]] = []
    if keys:
        for partition in partitions:
            location = (partition.get("StorageDescriptor") or {}).get("Location") or ""
            if not location:
                continue
            values = partition.get("Values") or []
            extra = [f"CAST({literal(str(v))} AS {t}) AS {quote_ident(n)}"
                     for (n, t), v in zip(keys, values, strict=False)]
            groups.append((location, extra))
    elif descriptor.get("Location"):
        groups.append((descriptor["Location"], []))
    selects = []
    for location, extra in groups:
        files = _files(location, s3, scratch, suffix)
        if files:
            selects.append(_group_sql(cursor, kind, serde, skip, files, columns, extra))
    if not selects:
        empty = [f"CAST(NULL AS {t or 'VARCHAR'}) AS {quote_ident(n)}" for n, t in columns + keys]
        return f"SELECT {', '.join(empty)} WHERE false"
    return " UNION ALL BY NAME ".join(selects) if len(selects) > 1 else selects[0]


def lake_table(catalog: LakeCatalog | None, account: str, region: str, glue_database: str, schema: str,
               name: str) -> dict[str, Any]:
    if catalog is None:
        raise RedshiftSqlError("The Glue Data Catalog is not available to this warehouse")
    try:
        return catalog.get_table(account, region, glue_database, name)
    except Exception as error:
        if getattr(error, "code", "") == "EntityNotFoundException":
            raise RedshiftSqlError(f'relation "{schema}.{name}" does not exist') from None
        raise


def lake_partitions(catalog: LakeCatalog, account: str, region: str, glue_database: str,
                    table: dict[str, Any]) -> list[dict[str, Any]]:
    if not table.get("PartitionKeys"):
        return []
    return catalog.get_partitions(account, region, glue_database, table["Name"])
