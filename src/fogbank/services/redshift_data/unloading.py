"""UNLOAD: writing a query's result into fogbank's S3 as Parquet, CSV, delimited text or JSON.

DuckDB writes the files into the statement's scratch folder (partitioned Hive-style for PARTITION BY), and
each file is then put under the target prefix with Redshift's names: `<prefix>0000_part_00[.parquet]`
(`<prefix>000` with PARALLEL OFF), `<prefix>col=value/0000_part_00.parquet` per partition.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb

from fogbank.services.redshift_data.commands import UnloadCommand
from fogbank.services.redshift_data.loading import literal, quote_ident
from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.s3io import S3Access, Scratch, parse_url

_COMPRESSION_SUFFIX = {"gzip": ".gz", "zstd": ".zst", "bzip2": ".bz2"}


def _options(command: UnloadCommand) -> list[str]:
    if command.fmt == "PARQUET":
        if command.compression:
            raise RedshiftSqlError("Compression options are not supported with FORMAT PARQUET")
        return ["FORMAT PARQUET"]
    if command.fmt == "JSON":
        options = ["FORMAT JSON"]
    else:
        delimiter = command.delimiter or ("," if command.fmt == "CSV" else "|")
        options = ["FORMAT CSV", f"DELIMITER {literal(delimiter)}", f"HEADER {str(command.header).lower()}",
                   f"NULLSTR {literal(command.null_as or '')}"]
        if command.add_quotes:
            options.append("FORCE_QUOTE *")
    if command.compression in ("gzip", "zstd"):
        options.append(f"COMPRESSION {command.compression}")
    elif command.compression == "bzip2":
        raise RedshiftSqlError("BZIP2 compression is not supported by UNLOAD in this warehouse")
    return options


def _suffix(command: UnloadCommand) -> str:
    if command.extension:
        suffix = "." + command.extension
    elif command.fmt == "PARQUET":
        suffix = ".parquet"
    else:
        suffix = ""
    return suffix + _COMPRESSION_SUFFIX.get(command.compression or "", "")


def _check_target(command: UnloadCommand, s3: S3Access) -> None:
    existing = list(s3.list(command.target))
    if not existing:
        return
    if command.clean_path:
        for obj in existing:
            s3.delete(obj.bucket, obj.key)
        return
    if not command.allow_overwrite:
        raise RedshiftSqlError("Specified unload destination on S3 is not empty. Consider using a different "
                               "bucket / prefix, manually removing the target files in S3, or using the "
                               "ALLOWOVERWRITE option.")


def run_unload(cursor: duckdb.DuckDBPyConnection, command: UnloadCommand, query_sql: str, s3: S3Access,
               scratch: Scratch) -> int:
    """Runs the (already translated) query and writes its rows under the target; returns the row count."""
    bucket, prefix = parse_url(command.target)
    _check_target(command, s3)
    options = _options(command)
    output: Path
    if command.partition_by:
        output = scratch.folder()
        columns = ", ".join(quote_ident(c) for c in command.partition_by)
        options += [f"PARTITION_BY ({columns})", "OVERWRITE_OR_IGNORE true"]
        if command.partition_include:
            options.append("WRITE_PARTITION_COLUMNS true")
        if command.fmt == "PARQUET":
            options.append("FILENAME_PATTERN 'part_{i}'")
    else:
        output = scratch.file(".out")
    row = cursor.execute(f"COPY ({query_sql}) TO {literal(str(output))} ({', '.join(options)})").fetchone()
    count = int(row[0]) if row else 0
    files: list[tuple[Path, str]] = []
    suffix = _suffix(command)
    base_name = "0000_part_00" if command.parallel else "000"
    if command.partition_by:
        for directory in sorted({p.parent for p in output.rglob("*") if p.is_file()}):
            relative = directory.relative_to(output).as_posix()
            for index, path in enumerate(sorted(p for p in directory.iterdir() if p.is_file())):
                name = base_name if index == 0 else f"{index:04d}_part_00"
                files.append((path, f"{prefix}{relative}/{name}{suffix}"))
    elif count > 0 or command.header or command.fmt == "PARQUET":
        files.append((output, f"{prefix}{base_name}{suffix}"))
    content_type = {"PARQUET": "application/octet-stream", "JSON": "application/json"}.get(command.fmt, "text/csv")
    entries = []
    for path, key in files:
        s3.upload(path, bucket, key, content_type)
        entries.append({"url": f"s3://{bucket}/{key}", "meta": {"content_length": path.stat().st_size}})
    if command.manifest:
        manifest: dict[str, object] = {"entries": entries}
        if command.manifest_verbose:
            manifest["meta"] = {"content_length": sum(path.stat().st_size for path, _ in files),
                                "record_count": count}
        with tempfile.NamedTemporaryFile("w", dir=scratch.path, suffix=".manifest", delete=False) as file:
            json.dump(manifest, file)
        s3.upload(Path(file.name), bucket, f"{prefix}manifest", "application/json")
    return count
