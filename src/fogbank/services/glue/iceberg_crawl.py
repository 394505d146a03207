"""Finding Iceberg tables under a crawler's IcebergTargets paths and the Glue records that register them.

A folder is an Iceberg table when its `metadata/` folder holds a `*.metadata.json` file, and is found when that
metadata folder lies at most MaximumTraversalDepth folders below the target path (the path being the table
folder itself is depth 1). Folders inside a table are never searched for more tables. The current metadata
file is the one `version-hint.text` names (Hadoop tables), else the highest version number
(`NNNNN-uuid.metadata.json`, `vN.metadata.json`), the newest object breaking a tie. It is read with pyiceberg
from bytes read in-process through the crawler's S3 source, and registered exactly as the open-source Iceberg
Glue catalog (and Athena) register tables, so Athena reads what the crawler catalogued.

This module imports pyiceberg, so crawls import it on their first Iceberg target, not at server start.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyiceberg.io import InputFile, InputStream
from pyiceberg.serializers import FromInputFile
from pyiceberg.table.metadata import TableMetadata

from fogbank.services.athena.iceberg_catalog import METADATA_LOCATION, glue_table_input
from fogbank.services.glue.layout import glob_regex, table_name
from fogbank.services.glue.records import is_iceberg
from fogbank.services.glue.s3source import S3Object, S3Source, parse_s3_path

DEFAULT_DEPTH = 10
_VERSIONED = re.compile(r"^(?:v(\d+)|(\d+)-[^/]*)\.(?:gz\.)?metadata\.json$")
_HINT = "version-hint.text"
_KEEP_FROM_CATALOG = ("Description", "Owner", "Retention", "PartitionKeys", "LastAccessTime", "LastAnalyzedTime",
                      "TargetTable")


class IcebergMetadataError(Exception):
    """A metadata file that is not readable Iceberg table metadata; the message names the file."""


@dataclass
class IcebergPlan:
    """One Iceberg table found by a crawl: its folder and its current metadata."""

    name: str
    location: str  # the table folder, s3://bucket/prefix/ (ending with '/')
    metadata_location: str
    metadata: TableMetadata

    @property
    def version(self) -> int:
        return metadata_version(self.metadata_location)


class _BytesInput(InputFile):
    """An InputFile over bytes already read, so pyiceberg parses (and un-gzips) them without its own I/O."""

    def __init__(self, location: str, data: bytes) -> None:
        super().__init__(location)
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def exists(self) -> bool:
        return True

    def open(self, seekable: bool = True) -> InputStream:
        return io.BytesIO(self._data)


def metadata_version(location: str) -> int:
    """The version a metadata file's name carries; -1 for names without one."""
    match = _VERSIONED.match(location.rsplit("/", 1)[-1])
    if match is None:
        return -1
    return int(match.group(1) or match.group(2))


def _current_file(files: list[S3Object], hint: str | None) -> S3Object:
    """The metadata file a table's readers would load: the version hint's, else the newest version."""
    if hint:
        text = hint.strip()
        named = [f for f in files if (text.isdigit() and metadata_version(f.key) == int(text))
                 or f.key.rsplit("/", 1)[-1] == text]
        if named:
            return max(named, key=lambda f: (f.modified, f.key))
    return max(files, key=lambda f: (metadata_version(f.key), f.modified, f.key))


def _read(source: S3Source, account: str, obj: S3Object) -> bytes:
    with source.open(account, obj.bucket, obj.key) as file:
        return file.read()


def _parse(location: str, data: bytes) -> TableMetadata:
    try:
        return FromInputFile.table_metadata(_BytesInput(location, data))
    except Exception as exc:  # JSON, gzip, encoding and schema errors alike: the file is not table metadata
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise IcebergMetadataError(f"The Iceberg metadata file {location} cannot be read: {reason}") from None


def find_tables(source: S3Source, account: str, path: str, exclusions: list[str], depth: int | None,
                check_stop: Callable[[], None]) -> tuple[list[IcebergPlan], str]:
    """The Iceberg tables under one target path, and the path as a folder (the root the crawl covered)."""
    bucket, prefix = parse_s3_path(path)
    folder = prefix if prefix.endswith("/") or not prefix else prefix + "/"
    limit = DEFAULT_DEPTH if depth is None else int(depth)
    excludes = [glob_regex(p) for p in exclusions]
    metadata: dict[str, list[S3Object]] = {}  # table folder key prefix -> its *.metadata.json objects
    hints: dict[str, S3Object] = {}
    for obj in source.list_objects(account, bucket, folder):
        relative = obj.key[len(folder):]
        parts = relative.split("/")
        if len(parts) < 2 or parts[-2] != "metadata" or len(parts) - 1 > limit:
            continue
        if not (parts[-1].endswith(".metadata.json") or parts[-1] == _HINT):
            continue
        table_folder = "/".join(parts[:-2])
        if any(p.fullmatch(relative) or (table_folder and p.fullmatch(table_folder)) for p in excludes):
            continue
        key_prefix = folder + (table_folder + "/" if table_folder else "")
        if parts[-1] == _HINT:
            hints[key_prefix] = obj
        else:
            metadata.setdefault(key_prefix, []).append(obj)
    plans: list[IcebergPlan] = []
    outer: list[str] = []
    for key_prefix in sorted(metadata):  # parents sort before the folders inside them
        if any(key_prefix.startswith(parent) for parent in outer):
            continue
        outer.append(key_prefix)
        check_stop()
        hint = hints.get(key_prefix)
        hint_text = _read(source, account, hint).decode("utf-8", "replace") if hint is not None else None
        chosen = _current_file(metadata[key_prefix], hint_text)
        location = f"s3://{bucket}/{chosen.key}"
        parsed = _parse(location, _read(source, account, chosen))
        name_source = key_prefix.rstrip("/").rsplit("/", 1)[-1] or bucket
        plans.append(IcebergPlan(table_name(name_source), f"s3://{bucket}/{key_prefix}", location, parsed))
    return plans, f"s3://{bucket}/{folder}"


def _columns_view(table: dict[str, Any]) -> list[tuple[Any, ...]]:
    columns = (table.get("StorageDescriptor") or {}).get("Columns") or []
    return [(c.get("Name"), c.get("Type"), (c.get("Parameters") or {}).get("iceberg.field.current"))
            for c in columns]


@dataclass
class IcebergChange:
    """What a crawl does to one existing Glue table for an Iceberg table it found."""

    table_input: dict[str, Any] | None  # None: leave the table as it is
    schema_changed: bool


def new_table_input(name: str, plan: IcebergPlan, crawler: str) -> dict[str, Any]:
    given = glue_table_input(name, plan.metadata_location, plan.metadata)
    given["Parameters"]["UPDATED_BY_CRAWLER"] = crawler
    return given


def change_for(current: dict[str, Any], plan: IcebergPlan, crawler: str) -> IcebergChange:
    """The update that points an existing Glue table at the metadata found, or None when it is current.

    A table already pointing at a newer metadata file of the same folder (a writer committed after the crawl
    listed the folder) is never moved back.
    """
    deprecated = "DEPRECATED_BY_CRAWLER" in (current.get("Parameters") or {})
    previous: str | None = None
    base: dict[str, Any] | None = None
    if is_iceberg(current):
        previous = str((current.get("Parameters") or {}).get(METADATA_LOCATION) or "") or None
        if previous == plan.metadata_location and not deprecated:
            return IcebergChange(None, False)
        if previous and previous != plan.metadata_location and \
                previous.rsplit("/", 1)[0] == plan.metadata_location.rsplit("/", 1)[0] and \
                metadata_version(previous) > plan.version:
            return IcebergChange(None, False)
        base = {k: v for k, v in current.items() if k in _KEEP_FROM_CATALOG}
        base["Parameters"] = {k: v for k, v in (current.get("Parameters") or {}).items()
                              if k != "DEPRECATED_BY_CRAWLER"}
        base["StorageDescriptor"] = current.get("StorageDescriptor") or {}
    given = glue_table_input(current["Name"], plan.metadata_location, plan.metadata, base,
                             previous if previous != plan.metadata_location else None)
    given["Parameters"]["UPDATED_BY_CRAWLER"] = crawler
    changed = not is_iceberg(current) or _columns_view(current) != _columns_view(given)
    return IcebergChange(given, changed)
