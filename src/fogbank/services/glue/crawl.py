"""One crawl: read the crawler's S3 and Iceberg targets, infer tables and partitions, and bring the catalog in
line with them under the crawler's schema change and recrawl policies.

New tables and partitions are always added. A table whose schema changed is updated only under
UPDATE_IN_DATABASE (LOG leaves it as it is). Tables this crawler made whose data is gone are deleted
(DELETE_FROM_DATABASE), marked DEPRECATED_BY_CRAWLER (DEPRECATE_IN_DATABASE) or left alone (LOG); vanished
partitions are deleted under DELETE_FROM_DATABASE. Nothing is written to the catalog until every object has
been read, so a crawl that is stopped or fails part-way changes nothing.

Iceberg tables (IcebergTargets) are registered as Iceberg tables pointing at their current metadata file. A
new metadata file with the same columns moves the pointer under any UpdateBehavior (like new partitions, it is
new data, not a schema change); changed columns are taken only under UPDATE_IN_DATABASE. S3 targets never
catalogue an Iceberg table's folder as Hive tables of its data and metadata files: without its metadata, those
files do not say which rows the table holds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.errors import ConcurrentModificationException, EntityNotFoundException
from fogbank.services.glue.layout import (
    CrawledFile,
    PartitionPlan,
    TablePlan,
    glob_regex,
    iceberg_table_folders,
    is_hidden,
    plan_tables,
    unique_names,
)
from fogbank.services.glue.s3source import S3AccessError, S3Source, parse_s3_path

log = logging.getLogger(__name__)

_OTHER_TARGETS = ("JdbcTargets", "MongoDBTargets", "DynamoDBTargets", "CatalogTargets", "DeltaTargets",
                  "HudiTargets")
_BATCH = 100

if TYPE_CHECKING:
    from fogbank.services.glue.iceberg_crawl import IcebergPlan
    from fogbank.services.glue.inference import FileSchema


def _classify(file: Any, size: int) -> FileSchema | None:
    """Schema inference needs pyarrow: imported on the first crawl, not when the server starts."""
    from fogbank.services.glue.inference import classify

    return classify(file, size)


class CrawlFailed(Exception):
    """The crawl cannot finish; the message is what LastCrawl.ErrorMessage says."""


class CrawlCancelled(Exception):
    pass


@dataclass
class CrawlOutcome:
    tables_created: int = 0
    tables_updated: int = 0
    tables_deleted: int = 0
    partitions_added: int = 0
    partitions_updated: int = 0
    partitions_deleted: int = 0
    tables: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, int]:
        return {"TablesCreated": self.tables_created, "TablesUpdated": self.tables_updated,
                "TablesDeleted": self.tables_deleted}

    def summary(self) -> str:
        table = {k: {"Count": v} for k, v in (("ADD", self.tables_created), ("UPDATE", self.tables_updated),
                                               ("DELETE", self.tables_deleted)) if v}
        partition = {k: {"Count": v} for k, v in (("ADD", self.partitions_added),
                                                   ("UPDATE", self.partitions_updated),
                                                   ("DELETE", self.partitions_deleted)) if v}
        return json.dumps({"TABLE": table, "PARTITION": partition}, separators=(",", ":"))[:255]


def _configuration(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise CrawlFailed("The crawler Configuration is not valid JSON.") from None
    return value if isinstance(value, dict) else {}


def _stats(files: list[CrawledFile]) -> dict[str, str]:
    records = sum(f.schema.records for f in files)
    size = sum(f.obj.size for f in files)
    return {"objectCount": str(len(files)), "recordCount": str(records), "sizeKey": str(size),
            "averageRecordSize": str(size // records if records else 0)}


def _descriptor(schema: FileSchema, columns: list[tuple[str, str]], location: str,
                params: dict[str, str]) -> dict[str, Any]:
    return {
        "Columns": [{"Name": name, "Type": kind} for name, kind in columns],
        "Location": location,
        "InputFormat": schema.input_format,
        "OutputFormat": schema.output_format,
        "Compressed": schema.compression != "none",
        "NumberOfBuckets": -1,
        "SerdeInfo": json.loads(json.dumps(schema.serde)),
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": dict(params),
        "StoredAsSubDirectories": False,
    }


def _schema_view(table: dict[str, Any]) -> tuple[Any, ...]:
    """What counts as a schema change between two versions of a table."""
    sd = table.get("StorageDescriptor") or {}
    keys = [(k.get("Name"), k.get("Type")) for k in table.get("PartitionKeys") or []]
    columns = [(c.get("Name"), c.get("Type")) for c in sd.get("Columns") or []]
    return (columns, keys, sd.get("Location"), sd.get("InputFormat"), sd.get("OutputFormat"),
            json.dumps(sd.get("SerdeInfo"), sort_keys=True),
            (table.get("Parameters") or {}).get("classification"))


class Crawl:
    def __init__(self, catalog: GlueCatalog, source: S3Source, account: str, region: str, name: str,
                 definition: dict[str, Any], should_stop: Callable[[], bool]) -> None:
        self.catalog = catalog
        self.source = source
        self.account = account
        self.region = region
        self.name = name
        self.definition = definition
        self.should_stop = should_stop
        policy = definition.get("SchemaChangePolicy") or {}
        self.update_behavior = policy.get("UpdateBehavior", "UPDATE_IN_DATABASE")
        self.delete_behavior = policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE")
        recrawl = (definition.get("RecrawlPolicy") or {}).get("RecrawlBehavior", "CRAWL_EVERYTHING")
        self.new_folders_only = recrawl == "CRAWL_NEW_FOLDERS_ONLY"
        config = _configuration(definition.get("Configuration"))
        grouping = config.get("Grouping") or {}
        self.combine = grouping.get("TableGroupingPolicy") == "CombineCompatibleSchemas"
        level = grouping.get("TableLevelConfiguration")
        self.table_level = int(level) if isinstance(level, int | float) else None
        partitions = ((config.get("CrawlerOutput") or {}).get("Partitions") or {})
        self.inherit = partitions.get("AddOrUpdateBehavior") == "InheritFromTable"
        self.outcome = CrawlOutcome()

    def _check_stop(self) -> None:
        if self.should_stop():
            raise CrawlCancelled()

    # -- reading ------------------------------------------------------------------------------------------

    def run(self) -> CrawlOutcome:
        database = self.definition.get("DatabaseName")
        if not database:
            raise CrawlFailed("The crawler has no DatabaseName to write its tables to.")
        try:
            self.catalog.get_database(self.account, self.region, database)
        except EntityNotFoundException:
            raise CrawlFailed(f"Database {database} not found.") from None
        targets = self.definition.get("Targets") or {}
        others = [kind for kind in _OTHER_TARGETS if targets.get(kind)]
        if others:
            raise CrawlFailed(f"fogbank crawlers crawl S3 and Iceberg targets only; {', '.join(others)} are not "
                              "supported.")
        s3_targets = targets.get("S3Targets") or []
        iceberg_targets = targets.get("IcebergTargets") or []
        if not s3_targets and not iceberg_targets:
            raise CrawlFailed("The crawler has no S3 or Iceberg targets.")
        plans: list[TablePlan | IcebergPlan] = []
        roots: list[str] = []
        try:
            for target in s3_targets:
                self._check_stop()
                target_plans, root = self._crawl_target(target)
                plans.extend(target_plans)
                roots.append(root)
            for target in iceberg_targets:
                for path in target.get("Paths") or []:
                    self._check_stop()
                    iceberg_plans, root = self._crawl_iceberg(target, path)
                    plans.extend(iceberg_plans)
                    roots.append(root)
        except S3AccessError as exc:
            raise CrawlFailed(str(exc)) from None
        self._check_stop()
        named = unique_names(plans, self.definition.get("TablePrefix") or "")
        self._apply(database, named, roots)
        return self.outcome

    def _crawl_iceberg(self, target: dict[str, Any], path: str) -> tuple[list[IcebergPlan], str]:
        from fogbank.services.glue.iceberg_crawl import IcebergMetadataError, find_tables

        try:
            return find_tables(self.source, self.account, path, target.get("Exclusions") or [],
                               target.get("MaximumTraversalDepth"), self._check_stop)
        except IcebergMetadataError as exc:
            raise CrawlFailed(str(exc)) from None

    def _inside_iceberg_table(self, bucket: str, folder: str) -> bool:
        """Whether a target path lies inside an Iceberg table's folder (s3://b/table/data/...)."""
        parts = [p for p in folder.split("/") if p]
        for level in range(len(parts)):
            parent = "".join(f"{p}/" for p in parts[:level])
            for obj in self.source.list_objects(self.account, bucket, parent + "metadata/"):
                if "/" not in obj.key[len(parent) + len("metadata/"):] and obj.key.endswith(".metadata.json"):
                    return True
        return False

    def _crawl_target(self, target: dict[str, Any]) -> tuple[list[TablePlan], str]:
        bucket, prefix = parse_s3_path(target.get("Path") or "")
        listing = list(self.source.list_objects(self.account, bucket, prefix))
        folder = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        if prefix and not prefix.endswith("/") and not any(o.key.startswith(folder) for o in listing):
            folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""  # the path names one object
        excludes = [glob_regex(p) for p in target.get("Exclusions") or []]
        iceberg = sorted(iceberg_table_folders(o.key for o in listing if o.key.startswith(folder)))
        if self._inside_iceberg_table(bucket, folder):
            iceberg = [folder]
        if iceberg:
            log.info("crawler %s: Iceberg tables in s3://%s/ are left to IcebergTargets: %s", self.name, bucket,
                     ", ".join(iceberg))
            listing = [o for o in listing if not any(o.key.startswith(t) for t in iceberg)]
        sample = target.get("SampleSize")
        per_folder: dict[str, int] = {}
        last_schema: dict[str, FileSchema] = {}
        files: list[CrawledFile] = []
        for obj in listing:
            relative = obj.key[len(folder):]
            if not obj.key.startswith(folder) or is_hidden(relative):
                continue
            if any(p.fullmatch(relative) for p in excludes):
                continue
            self._check_stop()
            directory = obj.key.rsplit("/", 1)[0] if "/" in obj.key else ""
            seen = per_folder.get(directory, 0)
            schema: FileSchema | None
            if sample and seen >= int(sample) and directory in last_schema:
                schema = last_schema[directory]
            else:
                with self.source.open(self.account, bucket, obj.key) as file:
                    schema = _classify(file, obj.size)
            if schema is None:
                log.info("crawler %s: s3://%s/%s was not classified", self.name, bucket, obj.key)
                continue
            per_folder[directory] = seen + 1
            last_schema[directory] = schema
            files.append(CrawledFile(obj, schema, obj.key.split("/")[:-1]))
        include = [p for p in folder.split("/") if p]
        return plan_tables(bucket, include, files, self.combine, self.table_level), f"s3://{bucket}/{folder}"

    # -- writing ------------------------------------------------------------------------------------------

    def _table_input(self, name: str, plan: TablePlan) -> dict[str, Any]:
        schema = plan.schema
        params = {"classification": schema.classification, "compressionType": schema.compression,
                  "typeOfData": "file", **schema.params, **_stats(plan.files),
                  "UPDATED_BY_CRAWLER": self.name, "CrawlerSchemaDeserializerVersion": "1.0",
                  "CrawlerSchemaSerializerVersion": "1.0"}
        return {"Name": name, "Owner": "owner", "Retention": 0, "TableType": "EXTERNAL_TABLE",
                "StorageDescriptor": _descriptor(schema, plan.columns, plan.location, params),
                "PartitionKeys": [{"Name": key, "Type": "string"} for key in plan.partition_keys],
                "Parameters": params}

    def _partition_input(self, table: dict[str, Any], plan: TablePlan, partition: PartitionPlan) -> dict[str, Any]:
        schema = partition.files[0].schema
        params = {"classification": schema.classification, "compressionType": schema.compression,
                  "typeOfData": "file", **schema.params, **_stats(partition.files)}
        columns = plan.columns if self.inherit else [c for c in partition.columns if c[0] not in
                                                     plan.partition_keys]
        return {"Values": partition.values,
                "StorageDescriptor": _descriptor(schema, columns, partition.location, params),
                "Parameters": params}

    def _apply(self, database: str, named: dict[str, TablePlan | IcebergPlan], roots: list[str]) -> None:
        existing = {t["Name"]: t for t in self.catalog.get_tables(self.account, self.region, database)}
        for name, plan in named.items():
            if not isinstance(plan, TablePlan):
                self._apply_iceberg(database, name, plan, existing.get(name))
                continue
            given = self._table_input(name, plan)
            current = existing.get(name)
            if current is None:
                self.catalog.create_table(self.account, self.region, database, given)
                self.outcome.tables_created += 1
                current = self.catalog.get_table(self.account, self.region, database, name)
            elif not self.new_folders_only:
                current = self._update_table(database, current, given)
            self.outcome.tables.append(name)
            self._apply_partitions(database, current, plan)
        self._retire(database, existing, set(named), roots)

    def _apply_iceberg(self, database: str, name: str, plan: IcebergPlan, current: dict[str, Any] | None) -> None:
        from fogbank.services.glue.iceberg_crawl import change_for, new_table_input

        self.outcome.tables.append(name)
        if current is None:
            self.catalog.create_table(self.account, self.region, database, new_table_input(name, plan, self.name))
            self.outcome.tables_created += 1
            return
        if self.new_folders_only:
            return
        change = change_for(current, plan, self.name)
        if change.table_input is None:
            return
        if change.schema_changed and self.update_behavior != "UPDATE_IN_DATABASE":
            log.info("crawler %s: schema of %s changed; left as it is (LOG)", self.name, name)
            return
        try:
            self.catalog.update_table(self.account, self.region, database, change.table_input,
                                      expected_version=current.get("VersionId"))
        except ConcurrentModificationException:
            log.info("crawler %s: %s was changed while crawling; left to its writer", self.name, name)
            return
        self.outcome.tables_updated += 1
        if current.get("PartitionKeys") and not change.table_input.get("PartitionKeys"):
            stale = self.catalog.get_partitions(self.account, self.region, database, name)
            self.catalog.delete_partitions(self.account, self.region, database, name, [p["Values"] for p in stale])

    def _update_table(self, database: str, current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in (current.get("Parameters") or {}).items() if k != "DEPRECATED_BY_CRAWLER"}
        params.update(given["Parameters"])
        kept = ("Description", "Owner", "Retention", "TableType", "LastAccessTime", "LastAnalyzedTime")
        merged: dict[str, Any] = {k: current[k] for k in kept if k in current}
        merged.update({"Name": current["Name"], "StorageDescriptor": given["StorageDescriptor"],
                       "PartitionKeys": given["PartitionKeys"], "Parameters": params})
        changed = _schema_view(current) != _schema_view(merged)
        deprecated = "DEPRECATED_BY_CRAWLER" in (current.get("Parameters") or {})
        if not (changed or deprecated) or self.update_behavior != "UPDATE_IN_DATABASE":
            if changed:
                log.info("crawler %s: schema of %s changed; left as it is (LOG)", self.name, current["Name"])
            return current
        updated = self.catalog.update_table(self.account, self.region, database, merged)
        self.outcome.tables_updated += 1
        if [k["Name"] for k in current.get("PartitionKeys") or []] != [k["Name"] for k in merged["PartitionKeys"]]:
            stale = self.catalog.get_partitions(self.account, self.region, database, current["Name"])
            self.catalog.delete_partitions(self.account, self.region, database, current["Name"],
                                           [p["Values"] for p in stale])
        return updated

    def _apply_partitions(self, database: str, table: dict[str, Any], plan: TablePlan) -> None:
        if [k["Name"] for k in table.get("PartitionKeys") or []] != plan.partition_keys:
            return  # the table kept other keys (LOG): these folders do not fit it
        name = table["Name"]
        have = {tuple(p["Values"]): p for p in self.catalog.get_partitions(self.account, self.region, database,
                                                                           name)}
        adds, updates = [], []
        for partition in plan.partitions:
            given = self._partition_input(table, plan, partition)
            current = have.pop(tuple(partition.values), None)
            if current is None:
                adds.append(given)
            elif not self.new_folders_only and self.update_behavior == "UPDATE_IN_DATABASE" and \
                    _schema_view({"StorageDescriptor": current.get("StorageDescriptor")}) != \
                    _schema_view({"StorageDescriptor": given["StorageDescriptor"]}):
                updates.append((partition.values, given))
        for start in range(0, len(adds), _BATCH):
            failures = self.catalog.create_partitions(self.account, self.region, database, name,
                                                      adds[start:start + _BATCH])
            self.outcome.partitions_added += len(adds[start:start + _BATCH]) - len(failures)
        if updates:
            failures = self.catalog.update_partitions(self.account, self.region, database, name, updates)
            self.outcome.partitions_updated += len(updates) - len(failures)
        if have and self.delete_behavior == "DELETE_FROM_DATABASE" and not self.new_folders_only:
            failures = self.catalog.delete_partitions(self.account, self.region, database, name,
                                                      [list(v) for v in have])
            self.outcome.partitions_deleted += len(have) - len(failures)

    def _retire(self, database: str, existing: dict[str, dict[str, Any]], produced: set[str],
                roots: list[str]) -> None:
        """Tables this crawler made under its targets whose data is gone, handled by the DeleteBehavior."""
        if self.new_folders_only or self.delete_behavior == "LOG":
            return
        for name, table in existing.items():
            params = table.get("Parameters") or {}
            # An Iceberg table was found where its metadata is, which need not be its location.
            location = params.get("metadata_location") or (table.get("StorageDescriptor") or {}).get("Location") or ""
            if name in produced or params.get("UPDATED_BY_CRAWLER") != self.name:
                continue
            folder = location if location.endswith("/") else location + "/"
            if not any(folder.startswith(root) for root in roots):
                continue
            if self.delete_behavior == "DELETE_FROM_DATABASE":
                self.catalog.delete_table(self.account, self.region, database, name)
                self.outcome.tables_deleted += 1
            elif "DEPRECATED_BY_CRAWLER" not in params:
                kept = ("Name", "Description", "Owner", "Retention", "TableType", "StorageDescriptor",
                        "PartitionKeys")
                marked: dict[str, Any] = {k: table[k] for k in kept if k in table}
                marked["Parameters"] = {**params,
                                        "DEPRECATED_BY_CRAWLER": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
                self.catalog.update_table(self.account, self.region, database, marked)
                self.outcome.tables_updated += 1
