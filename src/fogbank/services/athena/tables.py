"""What a Glue table means to the engine: its columns, partition keys, location and storage format.

Glue keeps a table's format as a SerDe class, an input format and SerDe parameters, as Hive does; this
module turns them into one `StorageFormat` a reader understands (Parquet, ORC, Avro, JSON, delimited text with
its delimiter, quoting, escaping, null marker and header lines, lines parsed by a RegexSerDe pattern), and knows
Athena's view encoding.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from fogbank.services.athena.errors import QueryFailed

PRESTO_VIEW_PREFIX = "/* Presto View: "
PRESTO_VIEW_SUFFIX = " */"

_LAZY_SIMPLE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
_OPEN_CSV = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
_PARQUET = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
_ORC = "org.apache.hadoop.hive.ql.io.orc.OrcSerde"
_JSON_SERDES = ("org.openx.data.jsonserde.JsonSerDe", "org.apache.hive.hcatalog.data.JsonSerDe",
                "org.apache.hadoop.hive.serde2.JsonSerDe")
_AVRO = "org.apache.hadoop.hive.serde2.avro.AvroSerDe"
_REGEX_SERDES = ("org.apache.hadoop.hive.serde2.RegexSerDe", "org.apache.hadoop.hive.contrib.serde2.RegexSerDe")


# Table properties Athena accepts on Iceberg tables (CREATE TABLE TBLPROPERTIES and CTAS WITH).
ICEBERG_PROPERTIES = {"table_type", "format", "write_compression", "optimize_rewrite_delete_file_threshold",
                      "optimize_rewrite_data_file_threshold", "vacuum_min_snapshots_to_keep",
                      "vacuum_max_snapshot_age_seconds", "vacuum_max_metadata_files_to_keep",
                      "write_target_data_file_size_bytes", "partitioning", "location", "is_external",
                      "sort_order", "classification"}


@dataclass(frozen=True)
class StorageFormat:
    kind: str  # parquet | orc | avro | json | text | regex
    delimiter: str = "\x01"
    quote: str = ""
    escape: str = ""
    null_marker: str | None = "\\N"
    skip_header: int = 0
    collection_delimiter: str = "\x02"
    map_key_delimiter: str = "\x03"
    all_strings_nullable: bool = True  # LazySimpleSerDe: '' is NULL for non-string columns
    ignore_malformed: bool = False
    regex: str | None = None  # RegexSerDe: the pattern a whole line must match, one group per column


@dataclass
class TableInfo:
    database: str
    name: str
    columns: list[tuple[str, str]]
    partition_keys: list[tuple[str, str]]
    location: str
    storage: StorageFormat | None
    parameters: dict[str, str] = field(default_factory=dict)
    view_sql: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f"awsdatacatalog.{self.database}.{self.name}"

    @property
    def is_view(self) -> bool:
        return self.view_sql is not None

    @property
    def is_iceberg(self) -> bool:
        return self.parameters.get("table_type", "").upper() == "ICEBERG"


def _columns(items: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """(name, type) of the columns; Iceberg tables also list dropped ones, marked as not current."""
    return [(str(c["Name"]).lower(), str(c.get("Type") or "string")) for c in items or []
            if str((c.get("Parameters") or {}).get("iceberg.field.current", "true")).lower() != "false"]


def table_info(table: dict[str, Any]) -> TableInfo:
    sd = table.get("StorageDescriptor") or {}
    params = {str(k): str(v) for k, v in (table.get("Parameters") or {}).items()}
    info = TableInfo(database=table.get("DatabaseName", ""), name=table["Name"], columns=_columns(sd.get("Columns")),
                     partition_keys=_columns(table.get("PartitionKeys")), location=sd.get("Location") or "",
                     storage=None, parameters=params, raw=table)
    if table.get("TableType") == "VIRTUAL_VIEW":
        info.view_sql = view_sql(table)
        return info
    info.storage = storage_format(sd, params)
    if info.storage.kind == "avro" and not info.columns:
        info.columns = avro_schema_columns({**{str(k): str(v) for k, v in
                                               ((sd.get("SerdeInfo") or {}).get("Parameters") or {}).items()},
                                            **params})
    return info


def storage_format(sd: dict[str, Any], table_params: dict[str, str]) -> StorageFormat:
    serde = sd.get("SerdeInfo") or {}
    lib = str(serde.get("SerializationLibrary") or "")
    serde_params = {str(k): str(v) for k, v in (serde.get("Parameters") or {}).items()}
    input_format = str(sd.get("InputFormat") or "").lower()
    classification = (table_params.get("classification") or "").lower()
    skip = int(table_params.get("skip.header.line.count") or serde_params.get("skip.header.line.count") or 0)
    if lib == _PARQUET or "parquet" in input_format or classification == "parquet":
        return StorageFormat("parquet")
    if lib == _ORC or "orc" in input_format or classification == "orc":
        return StorageFormat("orc")
    if lib in _JSON_SERDES or classification == "json":
        return StorageFormat("json", ignore_malformed=serde_params.get("ignore.malformed.json", "").lower() == "true")
    if lib == _AVRO or "avro" in input_format or classification == "avro":
        return StorageFormat("avro")
    if lib in _REGEX_SERDES:
        return _regex_format(serde_params, skip)
    if lib == _OPEN_CSV:
        # OpenCSV reads a doubled quote inside a quoted field as one quote; DuckDB takes one escape
        # character, so the doubled quote (the common spelling) is the one honoured.
        quote = serde_params.get("quoteChar", '"')
        return StorageFormat("text", delimiter=serde_params.get("separatorChar", ","), quote=quote, escape=quote,
                             null_marker=None, skip_header=skip, all_strings_nullable=False)
    if lib in ("", _LAZY_SIMPLE) or "text" in input_format or classification in ("csv", "tsv"):
        delimiter = serde_params.get("field.delim") or serde_params.get("separatorChar") or (
            "," if classification == "csv" else "\t" if classification == "tsv" else "\x01")
        return StorageFormat("text", delimiter=delimiter, quote="", escape=serde_params.get("escape.delim", ""),
                             null_marker=serde_params.get("serialization.null.format", "\\N"), skip_header=skip,
                             collection_delimiter=serde_params.get("collection.delim", "\x02"),
                             map_key_delimiter=serde_params.get("mapkey.delim", "\x03"))
    raise QueryFailed(f"NOT_SUPPORTED: SerDe {lib} is not supported by fogbank's Athena engine", 2, 1006)


def _regex_format(serde_params: dict[str, str], skip: int) -> StorageFormat:
    """Hive's RegexSerDe: a line that the whole pattern matches gives one column per group, any other line a
    row of NULLs."""
    pattern = serde_params.get("input.regex")
    if not pattern:
        raise QueryFailed('HIVE_INVALID_METADATA: This table does not have serde property "input.regex"!', 2, 1006)
    if serde_params.get("input.regex.case.insensitive", "").strip().lower() == "true":
        pattern = "(?i)" + pattern
    return StorageFormat("regex", null_marker=None, skip_header=skip, regex=pattern)


def avro_schema_columns(params: dict[str, str]) -> list[tuple[str, str]]:
    """Columns from an `avro.schema.literal` table property, for Avro tables declared by schema alone."""
    text = params.get("avro.schema.literal")
    if not text:
        return []
    try:
        schema = json.loads(text)
        fields = schema["fields"]
        return [(str(f["name"]).lower(), _hive_of_avro(f["type"])) for f in fields]
    except (ValueError, KeyError, TypeError):
        raise QueryFailed("HIVE_INVALID_METADATA: avro.schema.literal is not a valid Avro record schema") from None


def _hive_of_avro(avro: Any) -> str:
    """The Hive type Hive's AvroSerDe gives an Avro type (a union with null is its other branch)."""
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        return _hive_of_avro(branches[0]) if len(branches) == 1 else "string"
    if isinstance(avro, dict):
        logical = avro.get("logicalType")
        kind = avro.get("type")
        if logical == "decimal":
            return f"decimal({int(avro.get('precision', 10))},{int(avro.get('scale', 0))})"
        if logical == "date":
            return "date"
        if logical in ("timestamp-millis", "timestamp-micros"):
            return "timestamp"
        if kind == "array":
            return f"array<{_hive_of_avro(avro['items'])}>"
        if kind == "map":
            return f"map<string,{_hive_of_avro(avro['values'])}>"
        if kind == "record":
            fields = ",".join(f"{f['name']}:{_hive_of_avro(f['type'])}" for f in avro["fields"])
            return f"struct<{fields}>"
        if kind == "enum":
            return "string"
        if kind == "fixed":
            return "binary"
        return _hive_of_avro(kind)
    return {"string": "string", "int": "int", "long": "bigint", "float": "float", "double": "double",
            "boolean": "boolean", "bytes": "binary", "null": "string"}.get(str(avro), "string")


def view_sql(table: dict[str, Any]) -> str:
    """The SQL of a view: Athena stores it base64-encoded in ViewOriginalText as a Presto view."""
    original = str(table.get("ViewOriginalText") or "")
    if original.startswith(PRESTO_VIEW_PREFIX) and original.endswith(PRESTO_VIEW_SUFFIX):
        encoded = original[len(PRESTO_VIEW_PREFIX):-len(PRESTO_VIEW_SUFFIX)]
        try:
            return str(json.loads(base64.b64decode(encoded))["originalSql"])
        except (ValueError, KeyError, TypeError):
            raise QueryFailed(f"HIVE_VIEW_TRANSLATION_ERROR: view {table.get('Name')} is corrupted") from None
    if original:
        return original
    expanded = str(table.get("ViewExpandedText") or "")
    if expanded and not expanded.startswith("/* Presto View"):
        return expanded
    raise QueryFailed(f"HIVE_VIEW_TRANSLATION_ERROR: view {table.get('Name')} has no SQL text")


def encode_presto_view(sql: str, catalog: str, schema: str, columns: list[tuple[str, str]]) -> str:
    doc = {"originalSql": sql, "catalog": catalog, "schema": schema,
           "columns": [{"name": n, "type": t} for n, t in columns], "owner": "fogbank", "runAsInvoker": False}
    encoded = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode("ascii")
    return PRESTO_VIEW_PREFIX + encoded + PRESTO_VIEW_SUFFIX


def partition_location(table: TableInfo, partition: dict[str, Any]) -> str:
    sd = partition.get("StorageDescriptor") or {}
    location = sd.get("Location")
    if location:
        return str(location)
    base = table.location.rstrip("/")
    parts = [f"{k}={v}" for (k, _), v in zip(table.partition_keys, partition.get("Values") or [], strict=False)]
    return base + "/" + "/".join(parts) + "/"
