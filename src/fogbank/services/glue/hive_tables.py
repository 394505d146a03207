"""Hive tables as Glue records them: the SerDe and input/output formats of each storage format, storage
descriptors, and the TableInput of a CREATE EXTERNAL TABLE statement (Athena's Hive DDL, Redshift Spectrum's).

Both engines write the catalog the same way, so Glue clients, crawlers, Athena and Redshift read one catalog.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import unquote

from sqlglot import exp

from fogbank.engines.sql import hive_type

_SERDES = {
    "PARQUET": ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    "ORC": ("org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
            "org.apache.hadoop.hive.ql.io.orc.OrcSerde"),
    "TEXTFILE": ("org.apache.hadoop.mapred.TextInputFormat",
                 "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                 "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    "JSON": ("org.apache.hadoop.mapred.TextInputFormat", "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
             "org.openx.data.jsonserde.JsonSerDe"),
    "AVRO": ("org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
             "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
             "org.apache.hadoop.hive.serde2.avro.AvroSerDe"),
}
_SERDES["JSONFILE"] = _SERDES["JSON"]


def literal_text(node: exp.Expr | None) -> str:
    """A DDL property's key or value as plain text (quotes and identifier marks dropped)."""
    if node is None:
        return ""
    if isinstance(node, exp.Literal | exp.Var | exp.Identifier):
        return str(node.this)
    return node.sql("trino").strip("'")


def storage_descriptor(fmt: str, location: str, columns: list[dict[str, Any]],
                       serde_lib: str | None = None, serde_params: dict[str, str] | None = None,
                       input_format: str | None = None, output_format: str | None = None) -> dict[str, Any]:
    """A Glue StorageDescriptor for a storage format, with Hive's SerDe and formats unless others are named."""
    defaults = _SERDES.get(fmt.upper(), _SERDES["TEXTFILE"])
    lib = serde_lib or defaults[2]
    params = dict(serde_params or {})
    if lib.endswith("LazySimpleSerDe") and "serialization.format" not in params:
        params["serialization.format"] = params.get("field.delim", "1")
    sd: dict[str, Any] = {"Columns": columns, "InputFormat": input_format or defaults[0],
                          "OutputFormat": output_format or defaults[1], "Compressed": False, "NumberOfBuckets": -1,
                          "SerdeInfo": {"SerializationLibrary": lib, "Parameters": params},
                          "BucketColumns": [], "SortColumns": [], "Parameters": {}, "StoredAsSubDirectories": False}
    if location:
        sd["Location"] = location
    return sd


def column_defs(schema: exp.Expr | None) -> list[dict[str, Any]]:
    """Glue columns (lower-case names, Hive types, comments) of a column list."""
    out: list[dict[str, Any]] = []
    for col in schema.expressions if schema is not None else []:
        if not isinstance(col, exp.ColumnDef):
            continue
        kind = col.args.get("kind")
        entry: dict[str, Any] = {"Name": col.name.lower(), "Type": hive_type(kind) if kind else "string"}
        for constraint in col.args.get("constraints") or []:
            if isinstance(constraint.kind, exp.CommentColumnConstraint):
                entry["Comment"] = literal_text(constraint.kind.this)
        out.append(entry)
    return out


def format_of_input(input_format: str) -> str:
    """The storage format a Hadoop InputFormat class reads."""
    lower = input_format.lower()
    for name in ("parquet", "orc", "avro"):
        if name in lower:
            return name.upper()
    return "TEXTFILE"



def external_table_input(node: exp.Create, name: str) -> dict[str, Any]:
    """The Glue TableInput of a parsed CREATE EXTERNAL TABLE: columns, partition keys, format, SerDe and its
    properties, location and table properties, as Athena and Redshift Spectrum record them."""
    schema = node.this
    assert isinstance(schema, exp.Schema)
    props = (node.args.get("properties") or exp.Properties(expressions=[])).expressions
    fmt, location = "TEXTFILE", ""
    serde_lib: str | None = None
    serde_params: dict[str, str] = {}
    input_format = output_format = None
    params: dict[str, str] = {"EXTERNAL": "TRUE"}
    partition_keys: list[dict[str, Any]] = []
    description = None
    for prop in props:
        if isinstance(prop, exp.ExternalProperty):
            continue
        if isinstance(prop, exp.FileFormatProperty):
            inner = prop.this
            if isinstance(inner, exp.InputOutputFormat):
                input_format = literal_text(inner.args.get("input_format"))
                output_format = literal_text(inner.args.get("output_format"))
                fmt = format_of_input(input_format)
            else:
                fmt = literal_text(inner).upper()
        elif isinstance(prop, exp.LocationProperty):
            location = literal_text(prop.this)
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            serde_lib = literal_text(prop.this)
            serde = prop.args.get("serde_properties")
            for item in serde.expressions if serde is not None else []:
                serde_params[literal_text(item.this)] = literal_text(item.args.get("value"))
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            for key, param in (("fields", "field.delim"), ("escaped", "escape.delim"),
                               ("collection_items", "collection.delim"), ("map_keys", "mapkey.delim"),
                               ("lines", "line.delim"), ("null", "serialization.null.format")):
                if prop.args.get(key) is not None:
                    serde_params[param] = literal_text(prop.args[key])
        elif isinstance(prop, exp.PartitionedByProperty):
            partition_keys = column_defs(prop.this)
        elif isinstance(prop, exp.SchemaCommentProperty):
            description = literal_text(prop.this)
        elif isinstance(prop, exp.Property):
            params[literal_text(prop.this)] = literal_text(prop.args.get("value"))
    if serde_lib and serde_lib.endswith(("JsonSerDe",)):
        fmt = "JSON"
    if fmt == "TEXTFILE" and serde_lib and "CSV" in serde_lib.upper():
        params.setdefault("classification", "csv")
    table_input: dict[str, Any] = {
        "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": params, "PartitionKeys": partition_keys,
        "StorageDescriptor": storage_descriptor(fmt, location, column_defs(schema), serde_lib, serde_params,
                                                input_format, output_format)}
    if description:
        table_input["Description"] = description
    return table_input


_PARTITION_SPEC = re.compile(r"PARTITION\s*\((.*?)\)\s*(?:LOCATION\s+'((?:[^']|'')*)')?\s*,?\s*", re.I | re.S)


@functools.cache
def _spec_item(quotes: str) -> re.Pattern[str]:
    return re.compile(r"\s*([" + re.escape(quotes) + r"\w]+)\s*=\s*('(?:[^']|'')*'|[^,\s]+)\s*,?")


def partition_specs(text: str, quotes: str = '`"') -> list[tuple[dict[str, str], str | None]]:
    """`PARTITION (k='v', n=1) LOCATION 's3://...' PARTITION (...)` -> [(spec, location)], keys lower-cased and
    unquoted (`quotes`: the identifier quotes the dialect has); ValueError holds the text that cannot be read."""
    specs: list[tuple[dict[str, str], str | None]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _PARTITION_SPEC.match(text, pos)
        if match is None:
            raise ValueError(text[pos:][:80])
        spec: dict[str, str] = {}
        for item in _spec_item(quotes).finditer(match.group(1)):
            value = item.group(2)
            spec[item.group(1).strip().strip(quotes).lower()] = (value[1:-1].replace("''", "'")
                                                                 if value.startswith("'") else value)
        location = match.group(2).replace("''", "'") if match.group(2) else None
        specs.append((spec, location))
        pos = match.end()
    return specs


def folder_values(relative: str) -> list[str]:
    """The partition values a Hive-style folder path names (`day=2024-01-01/kind=a%2Fb`), unescaped as the
    writers (DuckDB, Hive) escaped them."""
    return [unquote(part.partition("=")[2]) for part in relative.strip("/").split("/")]
