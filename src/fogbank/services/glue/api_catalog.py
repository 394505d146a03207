"""Glue Data Catalog operations on databases, tables, table versions, and SearchTables."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fogbank.context import RequestContext
from fogbank.errors import AwsError
from fogbank.protocol.dispatch import operation
from fogbank.services.glue.api_base import GlueBase
from fogbank.services.glue.errors import EntityNotFoundException, InvalidInputException, error_detail
from fogbank.services.glue.records import normalize_name

_TABLE_FIELDS = {"name": "Name", "tablename": "Name", "databasename": "DatabaseName", "description": "Description",
                 "owner": "Owner", "tabletype": "TableType", "createtime": "CreateTime", "updatetime": "UpdateTime"}


def _field(table: dict[str, Any], key: str) -> Any:
    member = _TABLE_FIELDS.get(key.lower())
    if member is not None:
        return table.get(member)
    if key.lower() == "location":
        return (table.get("StorageDescriptor") or {}).get("Location")
    return (table.get("Parameters") or {}).get(key)


def _comparable(value: Any) -> Any:
    if hasattr(value, "timestamp"):
        return Decimal(str(value.timestamp()))
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value).lower()


def _sort_key(value: Any) -> tuple[bool, Any]:
    comparable = _comparable(value)
    return isinstance(comparable, str), comparable


def _matches_filter(table: dict[str, Any], predicate: dict[str, Any]) -> bool:
    value = _field(table, predicate.get("Key") or "")
    wanted = predicate.get("Value")
    if value is None or wanted is None:
        return False
    comparator = predicate.get("Comparator") or "EQUALS"
    left, right = _comparable(value), _comparable(wanted)
    if type(left) is not type(right):
        left, right = str(value).lower(), str(wanted).lower()
    if comparator == "EQUALS":
        return bool(left == right)
    if comparator == "GREATER_THAN":
        return bool(left > right)
    if comparator == "LESS_THAN":
        return bool(left < right)
    if comparator == "GREATER_THAN_EQUALS":
        return bool(left >= right)
    return bool(left <= right)


def _matches_text(table: dict[str, Any], text: str) -> bool:
    needle = text.lower()
    sd = table.get("StorageDescriptor") or {}
    haystack = [table.get("Name"), table.get("DatabaseName"), table.get("Description"), table.get("Owner"),
                *(c.get("Name") for c in sd.get("Columns") or []),
                *(c.get("Comment") for c in sd.get("Columns") or []),
                *(k.get("Name") for k in table.get("PartitionKeys") or []),
                *(table.get("Parameters") or {}).values()]
    return any(needle in str(item).lower() for item in haystack if item)


class CatalogOperations(GlueBase):
    # -- databases ----------------------------------------------------------------------------------------

    @operation("CreateDatabase")
    def create_database(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        record = self.catalog.create_database(ctx.account_id, ctx.region, req["DatabaseInput"])
        if req.get("Tags"):
            self.tags.tag(ctx.account_id, ctx.region, f"database/{record['Name']}", req["Tags"])
        return {}

    @operation("GetDatabase")
    def get_database(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        return {"Database": self.catalog.get_database(ctx.account_id, ctx.region, req["Name"])}

    @operation("GetDatabases")
    def get_databases(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        items, token = self._page(
            ctx, req, "GetDatabases",
            lambda after, limit: self.catalog.get_databases(ctx.account_id, ctx.region, after, limit),
            lambda database: database["Name"], 100, 100)
        attributes = req.get("AttributesToGet")
        if attributes:
            items = [{k: v for k, v in d.items() if k == "Name" or k in attributes} for d in items]
        return {"DatabaseList": items, **({"NextToken": token} if token else {})}

    @operation("UpdateDatabase")
    def update_database(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.update_database(ctx.account_id, ctx.region, req["Name"], req["DatabaseInput"])
        return {}

    @operation("DeleteDatabase")
    def delete_database(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.delete_database(ctx.account_id, ctx.region, req["Name"])
        return {}

    # -- tables -------------------------------------------------------------------------------------------

    @staticmethod
    def _table_input(req: dict[str, Any]) -> dict[str, Any]:
        given = req.get("TableInput")
        if given is None:
            raise InvalidInputException("TableInput is required.")
        if req.get("Name") and normalize_name(req["Name"]) != normalize_name(given["Name"]):
            raise InvalidInputException("Name and TableInput.Name must be the same table.")
        return dict(given)

    @operation("CreateTable")
    def create_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.create_table(ctx.account_id, ctx.region, req["DatabaseName"], self._table_input(req),
                                  req.get("PartitionIndexes"))
        return {}

    @operation("GetTable")
    def get_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        return {"Table": self.catalog.get_table(ctx.account_id, ctx.region, req["DatabaseName"], req["Name"])}

    @operation("GetTables")
    def get_tables(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        database, pattern = req["DatabaseName"], req.get("Expression")
        items, token = self._page(
            ctx, req, f"GetTables|{normalize_name(database)}|{pattern}",
            lambda after, limit: self.catalog.get_tables(ctx.account_id, ctx.region, database, pattern, after,
                                                         limit),
            lambda table: table["Name"], 100, 100)
        attributes = req.get("AttributesToGet")
        if attributes:
            items = [{k: v for k, v in t.items() if k == "Name" or k in attributes} for t in items]
        return {"TableList": items, **({"NextToken": token} if token else {})}

    @operation("UpdateTable")
    def update_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.update_table(ctx.account_id, ctx.region, req["DatabaseName"], self._table_input(req),
                                  skip_archive=bool(req.get("SkipArchive")), expected_version=req.get("VersionId"))
        return {}

    @operation("DeleteTable")
    def delete_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.delete_table(ctx.account_id, ctx.region, req["DatabaseName"], req["Name"])
        return {}

    @operation("BatchDeleteTable")
    def batch_delete_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.get_database(ctx.account_id, ctx.region, req["DatabaseName"])
        errors = []
        for name in req["TablesToDelete"]:
            try:
                self.catalog.delete_table(ctx.account_id, ctx.region, req["DatabaseName"], name)
            except EntityNotFoundException as exc:
                errors.append({"TableName": name, "ErrorDetail": error_detail(exc)})
        return {"Errors": errors}

    # -- table versions -----------------------------------------------------------------------------------

    @operation("GetTableVersions")
    def get_table_versions(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        database, table = req["DatabaseName"], req["TableName"]
        items, token = self._page(
            ctx, req, f"GetTableVersions|{normalize_name(database)}|{normalize_name(table)}",
            lambda before, limit: self.catalog.get_table_versions(ctx.account_id, ctx.region, database, table,
                                                                  before, limit),
            lambda version: int(version["VersionId"]), 100, 100)
        return {"TableVersions": items, **({"NextToken": token} if token else {})}

    @operation("GetTableVersion")
    def get_table_version(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        return {"TableVersion": self.catalog.get_table_version(ctx.account_id, ctx.region, req["DatabaseName"],
                                                               req["TableName"], req.get("VersionId"))}

    @operation("DeleteTableVersion")
    def delete_table_version(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.delete_table_version(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                          req["VersionId"])
        return {}

    @operation("BatchDeleteTableVersion")
    def batch_delete_table_version(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        database, table = req["DatabaseName"], req["TableName"]
        self.catalog.get_table(ctx.account_id, ctx.region, database, table)
        errors = []
        for version in req["VersionIds"]:
            try:
                self.catalog.delete_table_version(ctx.account_id, ctx.region, database, table, version)
            except AwsError as exc:
                errors.append({"TableName": table, "VersionId": version, "ErrorDetail": error_detail(exc)})
        return {"Errors": errors}

    # -- search -------------------------------------------------------------------------------------------

    @operation("SearchTables")
    def search_tables(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        tables = self.catalog.all_tables(ctx.account_id, ctx.region)
        text = req.get("SearchText")
        if text:
            tables = [t for t in tables if _matches_text(t, text)]
        for predicate in req.get("Filters") or []:
            tables = [t for t in tables if _matches_filter(t, predicate)]
        for criterion in reversed(req.get("SortCriteria") or []):
            name = criterion.get("FieldName") or "Name"
            present = [t for t in tables if _field(t, name) is not None]
            absent = [t for t in tables if _field(t, name) is None]
            present.sort(key=lambda t: _sort_key(_field(t, name)), reverse=criterion.get("Sort") == "DESC")
            tables = present + absent
        signature = repr((text, req.get("Filters"), req.get("SortCriteria")))
        items, token = self._page(ctx, req, f"SearchTables|{signature}",
                                  lambda offset, limit: tables[(offset or 0):(offset or 0) + limit],
                                  lambda table: tables.index(table) + 1, 100, 1000)
        return {"TableList": items, **({"NextToken": token} if token else {})}
