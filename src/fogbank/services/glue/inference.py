"""Classifying one S3 object and inferring its schema, as Glue's built-in classifiers do.

Formats are told by their bytes, not their names: Parquet (PAR1), ORC, Avro (Obj\\x01), gzip/bzip2/zstd
compressed text, then JSON (objects, one after another) or CSV (comma, pipe, tab, semicolon or Ctrl-A).
Text formats are judged on a sample from the start of the object; columnar formats on their footer.
CSV header detection follows Glue's rule: the first row is a header only when every field in it is a string
and some column below it is not, so a file of strings only gets columns col0, col1, ...
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq

from fogbank.services.glue.hive_types import from_arrow, from_avro, merge, of_json_value

log = logging.getLogger(__name__)

SAMPLE_BYTES = 1024 * 1024
_CSV_ROWS = 200
_DELIMITERS = (",", "|", "\t", ";", "\x01")

TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPENCSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
PARQUET = ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
           "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
           "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
ORC = ("org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
       "org.apache.hadoop.hive.ql.io.orc.OrcSerde")
AVRO = ("org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
        "org.apache.hadoop.hive.serde2.avro.AvroSerDe")

_INT = re.compile(r"^[+-]?\d{1,18}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


@dataclass
class FileSchema:
    """What a classifier found in one object."""

    classification: str
    columns: list[tuple[str, str]]
    input_format: str
    output_format: str
    serde: dict[str, Any]
    compression: str = "none"
    # Table parameters particular to the format (delimiter, skip.header.line.count, ...).
    params: dict[str, str] = field(default_factory=dict)
    records: int = 0

    def format_key(self) -> tuple[str, ...]:
        """What must agree for two objects to be one table: format, compression, and how text is split."""
        return (self.classification, self.compression, self.params.get("delimiter", ""),
                self.params.get("skip.header.line.count", ""))


def _column_name(text: str) -> str:
    return text.strip().lower()


def _scalar_type(text: str) -> str | None:
    if text == "":
        return None
    if _INT.match(text):
        return "bigint"
    if _FLOAT.match(text):
        return "double"
    if text.lower() in ("true", "false"):
        return "boolean"
    return "string"


# -- text -----------------------------------------------------------------------------------------------------


def _read_text(file: BinaryIO, magic: bytes) -> tuple[bytes, str, bool]:
    """(decompressed sample, compression, whether the sample is the whole object)."""
    compression = "none"
    stream: Any = file
    if magic.startswith(b"\x1f\x8b"):
        compression, stream = "gzip", gzip.GzipFile(fileobj=file)
    elif magic.startswith(b"BZh"):
        compression, stream = "bzip2", bz2.BZ2File(file)
    elif magic.startswith(b"\x28\xb5\x2f\xfd"):
        compression, stream = "zstd", pa.CompressedInputStream(pa.PythonFile(file, mode="r"), "zstd")
    data = stream.read(SAMPLE_BYTES + 1)
    complete = len(data) <= SAMPLE_BYTES
    if not complete:
        data = data[:SAMPLE_BYTES]
        cut = data.rfind(b"\n")
        if cut > 0:
            data = data[:cut + 1]
    return data, compression, complete


def _estimate(records: int, sample_bytes: int, size: int, complete: bool, compression: str) -> int:
    if complete or sample_bytes == 0:
        return records
    ratio = size / sample_bytes if compression == "none" else 4 * size / sample_bytes
    return int(records * ratio)


def _json_records(text: str) -> list[dict[str, Any]] | None:
    decoder = json.JSONDecoder()
    records: list[dict[str, Any]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return records if records else None
        if isinstance(value, dict):
            records.append(value)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            records.extend(value)
        else:
            return None
    return records


def _json_schema(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    types: dict[str, str | None] = {}
    for record in records:
        for key, value in record.items():
            name = _column_name(key)
            types[name] = merge(types.get(name), of_json_value(value))
    return [(name, kind or "string") for name, kind in types.items()]


def _csv_rows(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= _CSV_ROWS:
                break
    except csv.Error:
        return []
    return rows


def _pick_delimiter(text: str) -> tuple[str, list[list[str]]] | None:
    best: tuple[str, list[list[str]]] | None = None
    for delimiter in _DELIMITERS:
        if delimiter not in text:
            continue
        rows = _csv_rows(text, delimiter)
        if not rows or len(rows[0]) < 2 or any(len(r) != len(rows[0]) for r in rows):
            continue
        if best is None or len(rows[0]) > len(best[1][0]):
            best = (delimiter, rows)
    return best


def _csv_schema(text: str) -> tuple[str, list[tuple[str, str]], bool, bool, int] | None:
    """(delimiter, columns, has header, quoted, data rows) or None when the text is not CSV."""
    picked = _pick_delimiter(text)
    if picked is None:
        return None
    delimiter, rows = picked
    width = len(rows[0])
    first = [_scalar_type(v) for v in rows[0]]
    below: list[str | None] = [None] * width
    for row in rows[1:]:
        for i, value in enumerate(row):
            below[i] = merge(below[i], _scalar_type(value))
    names = [_column_name(v) for v in rows[0]]
    header = (len(rows) > 1 and all(t == "string" for t in first) and any(t not in (None, "string") for t in below)
              and len(set(names)) == width and all(names))
    if header:
        columns = [(names[i], below[i] or "string") for i in range(width)]
    else:
        merged = [merge(first[i], below[i]) for i in range(width)]
        columns = [(f"col{i}", merged[i] or "string") for i in range(width)]
    quoted = re.search(r'(^|' + re.escape(delimiter) + r')"', text, re.MULTILINE) is not None
    all_rows = text.count("\n") + (0 if text.endswith("\n") else 1)
    return delimiter, columns, header, quoted, max(0, all_rows - (1 if header else 0))


def _classify_text(file: BinaryIO, magic: bytes, size: int) -> FileSchema | None:
    data, compression, complete = _read_text(file, magic)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        return None
    if stripped[0] in "{[":
        records = _json_records(stripped)
        if records:
            columns = _json_schema(records)
            return FileSchema("json", columns, TEXT_INPUT, TEXT_OUTPUT,
                              {"SerializationLibrary": JSON_SERDE,
                               "Parameters": {"paths": ",".join(c[0] for c in columns)}},
                              compression, {},
                              _estimate(len(records), len(data), size, complete, compression))
    found = _csv_schema(text)
    if found is None:
        return None
    delimiter, columns, header, quoted, rows = found
    params = {"delimiter": delimiter, "areColumnsQuoted": "true" if quoted else "false", "columnsOrdered": "true"}
    if header:
        params["skip.header.line.count"] = "1"
    if quoted:
        serde = {"SerializationLibrary": OPENCSV_SERDE, "Parameters": {"separatorChar": delimiter, "quoteChar": '"'}}
    else:
        serde = {"SerializationLibrary": LAZY_SERDE, "Parameters": {"field.delim": delimiter}}
    return FileSchema("csv", columns, TEXT_INPUT, TEXT_OUTPUT, serde, compression, params,
                      _estimate(rows, len(data), size, complete, compression))


# -- binary ---------------------------------------------------------------------------------------------------


def _columnar(classification: str, formats: tuple[str, str, str], schema: pa.Schema, rows: int) -> FileSchema:
    columns = [(_column_name(f.name), from_arrow(f.type)) for f in schema]
    return FileSchema(classification, columns, formats[0], formats[1],
                      {"SerializationLibrary": formats[2], "Parameters": {"serialization.format": "1"}},
                      "none", {}, rows)


def _avro(file: BinaryIO) -> FileSchema:
    import fastavro

    reader = fastavro.block_reader(file)
    schema = reader.writer_schema
    rows = sum(block.num_records for block in reader)
    fields = schema.get("fields", []) if isinstance(schema, dict) else []
    columns = [(_column_name(f["name"]), from_avro(f["type"])) for f in fields]
    literal = json.dumps(schema, separators=(",", ":"))
    return FileSchema("avro", columns, AVRO[0], AVRO[1],
                      {"SerializationLibrary": AVRO[2], "Parameters": {"avro.schema.literal": literal}},
                      "none", {"avro.schema.literal": literal}, rows)


def classify(file: BinaryIO, size: int) -> FileSchema | None:
    """The schema of one object, or None when no classifier recognises it (or it is empty)."""
    if size == 0:
        return None
    magic = file.read(4)
    file.seek(0)
    try:
        if magic == b"PAR1":
            parquet = pq.ParquetFile(file)
            return _columnar("parquet", PARQUET, parquet.schema_arrow, parquet.metadata.num_rows)
        if magic[:3] == b"ORC":
            reader = orc.ORCFile(file)
            return _columnar("orc", ORC, reader.schema, reader.nrows)
        if magic == b"Obj\x01":
            return _avro(file)
        return _classify_text(file, magic, size)
    except Exception as exc:  # a corrupt or truncated object is unclassifiable, not a failed crawl
        log.info("could not classify an object: %s", exc)
        return None
