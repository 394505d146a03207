"""From the classified objects under a crawler's S3 path to tables and their partitions, as Glue groups them.

A folder whose objects share one format and similar schemas (at least 70% of the columns in common, or any
schemas at all under the CombineCompatibleSchemas policy) is one table, named after the folder; otherwise each
subfolder is considered on its own. Below a table's folder, each level of subfolders is a partition key:
`key=value` folders name their key (Hive style), other levels are partition_0, partition_1, ...
TableLevelConfiguration fixes the table folder's depth instead (the bucket is level 1).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import unquote

from fogbank.services.glue.hive_types import merge
from fogbank.services.glue.s3source import S3Object

if TYPE_CHECKING:
    from fogbank.services.glue.inference import FileSchema

SIMILARITY = 0.7


@dataclass
class CrawledFile:
    obj: S3Object
    schema: FileSchema
    dirs: list[str]  # folders between the bucket and the object, in order


@dataclass
class PartitionPlan:
    values: list[str]
    location: str
    files: list[CrawledFile] = field(default_factory=list)

    @property
    def columns(self) -> list[tuple[str, str]]:
        return merge_columns(f.schema for f in self.files)


@dataclass
class TablePlan:
    name: str
    location: str
    files: list[CrawledFile]
    partition_keys: list[str]
    partitions: list[PartitionPlan]
    columns: list[tuple[str, str]]

    @property
    def schema(self) -> FileSchema:
        return self.files[0].schema


def merge_columns(schemas: Iterable[FileSchema]) -> list[tuple[str, str]]:
    """Columns in order of first appearance, each with the type that holds every object's values."""
    types: dict[str, str | None] = {}
    for schema in schemas:
        for name, kind in schema.columns:
            types[name] = merge(types.get(name), kind)
    return [(name, kind or "string") for name, kind in types.items()]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """An exclusion glob: `*` within a folder, `**` across folders, `?`, `[...]` and `{a,b}`."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif char == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                out.append("(?:" + "|".join(re.escape(p) for p in pattern[i + 1:end].split(",")) + ")")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def is_hidden(relative_key: str) -> bool:
    """Objects Glue never catalogs: folder markers and names starting with '_' or '.' (_SUCCESS, .tmp)."""
    if relative_key.endswith("/") or relative_key.endswith("_$folder$"):
        return True
    return any(part.startswith(("_", ".")) for part in relative_key.split("/") if part)


def iceberg_table_folders(keys: Iterable[str]) -> set[str]:
    """Key prefixes (ending with '/', or '' for a bucket) of the Iceberg tables among some keys: the folders
    whose `metadata/` folder holds a `*.metadata.json` file."""
    out: set[str] = set()
    for key in keys:
        parts = key.split("/")
        if len(parts) >= 2 and parts[-2] == "metadata" and parts[-1].endswith(".metadata.json"):
            out.add("".join(f"{p}/" for p in parts[:-2]))
    return out


def table_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower()) or "table"


def _similar(files: list[CrawledFile], combine: bool) -> bool:
    if len({f.schema.format_key() for f in files}) > 1:
        return False
    if combine:
        return True
    union: set[str] = set()
    for f in files:
        union.update(name for name, _ in f.schema.columns)
    if not union:
        return True
    return all(len({n for n, _ in f.schema.columns}) / len(union) >= SIMILARITY for f in files)


def _location(bucket: str, dirs: list[str]) -> str:
    return f"s3://{bucket}/" + "".join(f"{d}/" for d in dirs)


def _make_table(bucket: str, root: list[str], files: list[CrawledFile], name: str) -> TablePlan:
    depth = len(root)
    levels = min(len(f.dirs) - depth for f in files)
    keys: list[str] = []
    hive: list[bool] = []
    for level in range(levels):
        names = {f.dirs[depth + level].split("=", 1)[0] if "=" in f.dirs[depth + level] else None for f in files}
        only = next(iter(names)) if len(names) == 1 else None
        hive.append(bool(only))
        keys.append(table_name(only) if only else f"partition_{level}")
    partitions: dict[tuple[str, ...], PartitionPlan] = {}
    for f in files:
        folders = f.dirs[depth:depth + levels]
        values = tuple(unquote(d.split("=", 1)[1]) if hive[i] else d for i, d in enumerate(folders))
        plan = partitions.get(values)
        if plan is None:
            plan = partitions[values] = PartitionPlan(list(values), _location(bucket, f.dirs[:depth + levels]))
        plan.files.append(f)
    columns = [c for c in merge_columns(f.schema for f in files) if c[0] not in keys]
    ordered = [partitions[k] for k in sorted(partitions)]
    return TablePlan(name, _location(bucket, root), files, keys, ordered if levels else [], columns)


def _group(bucket: str, root: list[str], files: list[CrawledFile], combine: bool) -> list[TablePlan]:
    name = table_name(root[-1] if root else bucket)
    if _similar(files, combine):
        return [_make_table(bucket, root, files, name)]
    depth = len(root)
    direct = [f for f in files if len(f.dirs) == depth]
    children: dict[str, list[CrawledFile]] = {}
    for f in files:
        if len(f.dirs) > depth:
            children.setdefault(f.dirs[depth], []).append(f)
    plans: list[TablePlan] = []
    for child in sorted(children):
        plans.extend(_group(bucket, [*root, child], children[child], combine))
    by_format: dict[tuple[str, ...], list[CrawledFile]] = {}
    for f in direct:
        by_format.setdefault(f.schema.format_key(), []).append(f)
    for group in by_format.values():
        own = name if len(by_format) == 1 else table_name(group[0].obj.key.rsplit("/", 1)[-1])
        plans.append(_make_table(bucket, root, group, own))
    return plans


def plan_tables(bucket: str, include: list[str], files: list[CrawledFile], combine: bool = False,
                table_level: int | None = None) -> list[TablePlan]:
    """The tables the objects under one include folder (`include` = its folders) form."""
    if not files:
        return []
    if table_level is None or table_level < 2:
        return _group(bucket, include, files, combine)
    roots: dict[tuple[str, ...], list[CrawledFile]] = {}
    for f in files:
        roots.setdefault(tuple(f.dirs[:table_level - 1]), []).append(f)
    plans = []
    for root, group in sorted(roots.items()):
        plans.append(_make_table(bucket, list(root), group, table_name(root[-1] if root else bucket)))
    return plans


class _Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def location(self) -> str: ...


_Plan = TypeVar("_Plan", bound=_Named)


def unique_names(plans: list[_Plan], prefix: str) -> dict[str, _Plan]:
    """Final table names: the crawler's prefix, and a short hash of the location where two names clash."""
    out: dict[str, _Plan] = {}
    for plan in plans:
        name = (prefix + plan.name).lower()
        if name in out:
            name = f"{name}_{hashlib.md5(plan.location.encode()).hexdigest()[:8]}"
        out[name] = plan
    return out
