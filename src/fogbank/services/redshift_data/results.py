"""Statement results as the Data API returns them: typed Field records (JSON) or CSV text, in pages.

A result is written once, when its statement finishes, to a file of its own: one JSON line per record (or one
CSV line per row), cut into pages of about `page_bytes`. The page offsets are kept with the statement, so
GetStatementResult reads exactly one page from disk, however large the result.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

INT_TYPES = {"int2", "int4", "int8"}
FLOAT_TYPES = {"float4", "float8"}
_INT64 = (-(2 ** 63), 2 ** 63 - 1)

_SIMPLE = {"INTEGER": "int4", "BIGINT": "int8", "HUGEINT": "int8", "UHUGEINT": "int8", "SMALLINT": "int2",
           "TINYINT": "int2", "UTINYINT": "int2", "USMALLINT": "int4", "UINTEGER": "int8", "UBIGINT": "int8",
           "DOUBLE": "float8", "FLOAT": "float4", "BOOLEAN": "bool", "VARCHAR": "varchar", "DATE": "date",
           "TIMESTAMP": "timestamp", "TIMESTAMP_NS": "timestamp", "TIMESTAMP_MS": "timestamp",
           "TIMESTAMP_S": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIME": "time",
           "TIME WITH TIME ZONE": "timetz", "BLOB": "varbyte", "JSON": "super", "UUID": "varchar",
           "INTERVAL": "interval", "NULL": "varchar", "BIT": "varchar"}
_PRECISION = {"int2": 5, "int4": 10, "int8": 19, "float4": 8, "float8": 17, "bool": 1, "date": 13,
              "timestamp": 29, "timestamptz": 35, "time": 15, "timetz": 21, "varchar": 65535, "super": 65535,
              "varbyte": 64000, "interval": 49}


def redshift_type(duckdb_type: str) -> tuple[str, int, int]:
    """(Redshift type name, precision, scale) of a DuckDB result column type."""
    text = duckdb_type.upper()
    if text.startswith("DECIMAL"):
        inside = text[text.find("(") + 1:text.rfind(")")] if "(" in text else "18,3"
        precision, _, scale = inside.partition(",")
        return "numeric", int(precision), int(scale or 0)
    if text in _SIMPLE:
        name = _SIMPLE[text]
        return name, _PRECISION.get(name, 0), 0
    if text.endswith("]") or text.startswith(("STRUCT", "MAP", "UNION")):
        return "super", 65535, 0
    return "varchar", 65535, 0


@dataclass
class Column:
    """One ColumnMetadata entry."""

    name: str
    typeName: str
    precision: int = 0
    scale: int = 0
    length: int = 0
    nullable: int = 1
    isCaseSensitive: bool = False
    isCurrency: bool = False
    isSigned: bool = False
    label: str = ""
    schemaName: str = ""
    tableName: str = ""
    columnDefault: str | None = None

    def metadata(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out["label"] = self.label or self.name
        return out


def make_column(name: str, type_name: str, precision: int = 0, scale: int = 0, length: int = 0) -> Column:
    return Column(name=name, typeName=type_name, precision=precision, scale=scale, length=length, label=name,
                  isCaseSensitive=type_name in ("varchar", "bpchar", "super"),
                  isSigned=type_name in INT_TYPES | FLOAT_TYPES | {"numeric"})


def _fraction(micro: int) -> str:
    return f".{micro:06d}".rstrip("0") if micro else ""


def format_timestamp(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S") + _fraction(value.microsecond)
    if value.tzinfo is not None:
        offset = value.utcoffset() or dt.timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        text += f"{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")
    return text


def _interval(value: Any) -> str:
    months, days, nanos = value.months, value.days, value.nanoseconds
    parts: list[str] = []
    years, months = divmod(months, 12)
    if years:
        parts.append(f"{years} year{'s' if abs(years) != 1 else ''}")
    if months:
        parts.append(f"{months} mon{'s' if abs(months) != 1 else ''}")
    if days:
        parts.append(f"{days} day{'s' if abs(days) != 1 else ''}")
    if nanos or not parts:
        sign = "-" if nanos < 0 else ""
        micro = abs(nanos) // 1000
        seconds, micro = divmod(micro, 1_000_000)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        parts.append(f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}{_fraction(micro)}")
    return " ".join(parts)


def text_of(value: Any, type_name: str) -> str:
    """A value as Redshift prints it (stringValue and CSV cells)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        text = value.strftime("%H:%M:%S") + _fraction(value.microsecond)
        return text + "+00" if type_name == "timetz" else text
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str, separators=(",", ":"))
    if hasattr(value, "months") and hasattr(value, "nanoseconds"):
        return _interval(value)
    return str(value)


def field_of(value: Any, type_name: str) -> dict[str, Any]:
    """One Field union member for a value of a column of the given Redshift type (blobs base64 here)."""
    if value is None:
        return {"isNull": True}
    if type_name in INT_TYPES and isinstance(value, (int, decimal.Decimal)):
        number = int(value)
        if _INT64[0] <= number <= _INT64[1]:
            return {"longValue": number}
        return {"stringValue": str(number)}
    if type_name in FLOAT_TYPES and isinstance(value, (int, float)):
        return {"doubleValue": float(value)}
    if type_name == "bool" and isinstance(value, bool):
        return {"booleanValue": value}
    if type_name == "varbyte" and isinstance(value, (bytes, bytearray)):
        return {"blobValue": base64.b64encode(bytes(value)).decode()}
    return {"stringValue": text_of(value, type_name)}


def decode_record(line: bytes) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = json.loads(line)
    for item in fields:
        if "blobValue" in item:
            item["blobValue"] = base64.b64decode(item["blobValue"])
    return fields


@dataclass
class ResultMeta:
    """Where a finished result lives and how it is paged."""

    columns: list[dict[str, Any]]
    rows: int = 0
    size: int = 0
    fmt: str = "JSON"
    pages: list[int] = field(default_factory=lambda: [0])  # byte offset where each page starts
    path: str = ""  # relative to the results folder

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> ResultMeta:
        return ResultMeta(**data)


class ResultWriter:
    """Writes one statement's rows as they come from the engine, in Arrow record batches."""

    def __init__(self, file: BinaryIO, columns: list[Column], fmt: str, page_bytes: int) -> None:
        self.file = file
        self.columns = columns
        self.types = [c.typeName for c in columns]
        self.fmt = fmt
        self.page_bytes = max(1, page_bytes)
        self.rows = 0
        self.offset = 0
        self.page_start = 0
        self.pages = [0]
        if fmt == "CSV":
            self._line(self._csv_line([c.name for c in columns]), count=False)

    @staticmethod
    def _csv_line(cells: Iterable[str | None]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(["" if c is None else c for c in cells])
        return buffer.getvalue().encode()

    def _line(self, data: bytes, count: bool = True) -> None:
        if self.offset - self.page_start >= self.page_bytes:
            self.pages.append(self.offset)
            self.page_start = self.offset
        self.file.write(data)
        self.offset += len(data)
        if count:
            self.rows += 1

    def add(self, batch: pa.RecordBatch) -> None:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True) if columns else ():
            if self.fmt == "CSV":
                self._line(self._csv_line(None if v is None else text_of(v, t) for v, t in zip(row, self.types,
                                                                                              strict=True)))
            else:
                record = [field_of(v, t) for v, t in zip(row, self.types, strict=True)]
                self._line(json.dumps(record, separators=(",", ":")).encode() + b"\n")

    def meta(self, path: str) -> ResultMeta:
        return ResultMeta([c.metadata() for c in self.columns], self.rows, self.offset, self.fmt, self.pages, path)


def write_result(folder: Path, name: str, columns: list[Column], batches: Iterator[pa.RecordBatch], fmt: str,
                 page_bytes: int) -> ResultMeta:
    """Writes a result durably (temporary file, fsync, rename) and returns its metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    temporary = folder / f".{name}.tmp"
    with open(temporary, "wb") as file:
        writer = ResultWriter(file, columns, fmt, page_bytes)
        for batch in batches:
            writer.add(batch)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, final)
    return writer.meta(f"{folder.name}/{name}")


def read_page(root: Path, meta: ResultMeta, page: int) -> bytes:
    start = meta.pages[page]
    end = meta.pages[page + 1] if page + 1 < len(meta.pages) else meta.size
    with open(root / meta.path, "rb") as file:
        file.seek(start)
        return file.read(end - start)


def json_records(data: bytes) -> list[list[dict[str, Any]]]:
    return [decode_record(line) for line in data.splitlines() if line]
