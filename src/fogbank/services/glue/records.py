"""What the catalog stores: Glue's input shapes (DatabaseInput, TableInput, PartitionInput) made into the
Database, Table and Partition dicts the Get* operations return, with Glue's defaults filled in."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from fogbank.services.glue.errors import InvalidInputException

# Members of TableInput that a stored Table keeps as given.
_TABLE_MEMBERS = ("Name", "Description", "Owner", "LastAccessTime", "LastAnalyzedTime", "Retention",
                  "StorageDescriptor", "PartitionKeys", "ViewOriginalText", "ViewExpandedText", "TableType",
                  "Parameters", "TargetTable", "FederatedTable")
_DATABASE_MEMBERS = ("Name", "Description", "LocationUri", "Parameters", "CreateTableDefaultPermissions",
                     "TargetDatabase", "FederatedDatabase")
_PARTITION_MEMBERS = ("Values", "LastAccessTime", "StorageDescriptor", "Parameters", "LastAnalyzedTime")

# What Glue grants on tables of a new database when the request names no default permissions.
DEFAULT_PERMISSIONS = [{"Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
                        "Permissions": ["ALL"]}]


def now() -> datetime:
    return datetime.now(UTC)


def normalize_name(name: str) -> str:
    """Glue keeps database and table names in lower case and finds them case-insensitively."""
    return name.lower()


def database_record(account: str, given: dict[str, Any], created: datetime) -> dict[str, Any]:
    record = {k: copy.deepcopy(given[k]) for k in _DATABASE_MEMBERS if given.get(k) is not None}
    record["Name"] = normalize_name(given["Name"])
    record.setdefault("Parameters", {})
    record.setdefault("CreateTableDefaultPermissions", copy.deepcopy(DEFAULT_PERMISSIONS))
    record["CreateTime"] = created
    record["CatalogId"] = account
    return record


def _check_columns(columns: list[dict[str, Any]] | None, what: str) -> None:
    seen: set[str] = set()
    for column in columns or []:
        name = column.get("Name")
        if not name:
            raise InvalidInputException(f"{what} name cannot be empty.")
        if name.lower() in seen:
            raise InvalidInputException(f"Duplicate {what.lower()} name: {name}")
        seen.add(name.lower())


def table_record(account: str, database: str, given: dict[str, Any], created: datetime,
                 updated: datetime, version: int) -> dict[str, Any]:
    """A Table as GetTable returns it, from a TableInput."""
    _check_columns((given.get("StorageDescriptor") or {}).get("Columns"), "Column")
    _check_columns(given.get("PartitionKeys"), "Partition key")
    record = {k: copy.deepcopy(given[k]) for k in _TABLE_MEMBERS if given.get(k) is not None}
    record["Name"] = normalize_name(given["Name"])
    record["DatabaseName"] = database
    record.setdefault("Retention", 0)
    record.setdefault("PartitionKeys", [])
    record.setdefault("Parameters", {})
    record["CreateTime"] = created
    record["UpdateTime"] = updated
    record["IsRegisteredWithLakeFormation"] = False
    record["CatalogId"] = account
    record["VersionId"] = str(version)
    return record


def partition_record(account: str, database: str, table: str, given: dict[str, Any],
                     created: datetime) -> dict[str, Any]:
    record = {k: copy.deepcopy(given[k]) for k in _PARTITION_MEMBERS if given.get(k) is not None}
    record["Values"] = list(given.get("Values") or [])
    record["DatabaseName"] = database
    record["TableName"] = table
    record["CreationTime"] = created
    record["CatalogId"] = account
    return record


def is_iceberg(table: dict[str, Any]) -> bool:
    """Whether a Glue table record is an Iceberg table (its files are found through its metadata, not its
    folder)."""
    return str((table.get("Parameters") or {}).get("table_type", "")).upper() == "ICEBERG"


def partition_key_types(table: dict[str, Any]) -> dict[str, str]:
    return {k["Name"].lower(): k.get("Type") or "string" for k in table.get("PartitionKeys") or []}


def check_partition_values(table: dict[str, Any], values: list[str]) -> None:
    keys = table.get("PartitionKeys") or []
    if not keys:
        raise InvalidInputException(f"Table {table['Name']} is not partitioned.")
    if len(values) != len(keys):
        raise InvalidInputException("The number of partition keys do not match the number of partition values")
