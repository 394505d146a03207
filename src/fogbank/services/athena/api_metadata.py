"""Catalog metadata through Athena: databases and table metadata of the Glue Data Catalog."""

from __future__ import annotations

import re
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.athena.base import AthenaBase, decode_token, encode_token
from fogbank.services.athena.errors import MetadataException
from fogbank.services.glue.errors import EntityNotFoundException

_DEFAULT = "awsdatacatalog"


def _columns(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for column in items or []:
        entry = {"Name": column["Name"], "Type": column.get("Type", "string")}
        if column.get("Comment"):
            entry["Comment"] = column["Comment"]
        out.append(entry)
    return out


def table_metadata(table: dict[str, Any]) -> dict[str, Any]:
    sd = table.get("StorageDescriptor") or {}
    params = {str(k): str(v) for k, v in (table.get("Parameters") or {}).items()}
    if sd.get("Location"):
        params.setdefault("location", sd["Location"])
    if sd.get("InputFormat"):
        params.setdefault("inputformat", sd["InputFormat"])
    if sd.get("OutputFormat"):
        params.setdefault("outputformat", sd["OutputFormat"])
    serde = sd.get("SerdeInfo") or {}
    if serde.get("SerializationLibrary"):
        params.setdefault("serde.serialization.lib", serde["SerializationLibrary"])
    for key, value in (serde.get("Parameters") or {}).items():
        params.setdefault(f"serde.param.{key}", str(value))
    out: dict[str, Any] = {"Name": table["Name"], "TableType": table.get("TableType", "EXTERNAL_TABLE"),
                           "Columns": _columns(sd.get("Columns")),
                           "PartitionKeys": _columns(table.get("PartitionKeys")), "Parameters": params}
    if table.get("CreateTime") is not None:
        out["CreateTime"] = table["CreateTime"]
    if table.get("LastAccessTime") is not None:
        out["LastAccessTime"] = table["LastAccessTime"]
    return out


class MetadataOps(AthenaBase):
    def _check_catalog(self, name: str) -> None:
        if name.lower() != _DEFAULT:
            raise MetadataException(f"Catalog {name} was not found.")

    @operation("ListDatabases")
    def list_databases(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(req["CatalogName"])
        after = decode_token(req.get("NextToken"))
        limit = int(req.get("MaxResults") or 50)
        rows = self.catalog.get_databases(ctx.account_id, ctx.region, after=after, limit=limit + 1)
        out: dict[str, Any] = {"DatabaseList": [
            {"Name": d["Name"], **({"Description": d["Description"]} if d.get("Description") else {}),
             "Parameters": {str(k): str(v) for k, v in (d.get("Parameters") or {}).items()}} for d in rows[:limit]]}
        if len(rows) > limit:
            out["NextToken"] = encode_token(rows[limit - 1]["Name"])
        return out

    @operation("GetDatabase")
    def get_database(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(req["CatalogName"])
        try:
            found = self.catalog.get_database(ctx.account_id, ctx.region, req["DatabaseName"])
        except EntityNotFoundException:
            raise MetadataException(f"Database {req['DatabaseName']} was not found.") from None
        out: dict[str, Any] = {"Name": found["Name"],
                               "Parameters": {str(k): str(v) for k, v in (found.get("Parameters") or {}).items()}}
        if found.get("Description"):
            out["Description"] = found["Description"]
        return {"Database": out}

    @operation("ListTableMetadata")
    def list_table_metadata(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(req["CatalogName"])
        pattern = req.get("Expression")
        regex = None
        if pattern:
            regex = re.compile("|".join(f"(?:{p.strip().replace('*', '.*')})" for p in pattern.split("|")),
                               re.IGNORECASE)
        try:
            tables = self.catalog.get_tables(ctx.account_id, ctx.region, req["DatabaseName"])
        except EntityNotFoundException:
            raise MetadataException(f"Database {req['DatabaseName']} was not found.") from None
        if regex is not None:
            tables = [t for t in tables if regex.fullmatch(t["Name"])]
        start = int(decode_token(req.get("NextToken")) or 0)
        limit = int(req.get("MaxResults") or 50)
        out: dict[str, Any] = {"TableMetadataList": [table_metadata(t) for t in tables[start:start + limit]]}
        if start + limit < len(tables):
            out["NextToken"] = encode_token(start + limit)
        return out

    @operation("GetTableMetadata")
    def get_table_metadata(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(req["CatalogName"])
        try:
            table = self.catalog.get_table(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"])
        except EntityNotFoundException:
            if not self.catalog.exists(ctx.account_id, ctx.region, req["DatabaseName"]):
                raise MetadataException(f"Database {req['DatabaseName']} was not found.") from None
            raise MetadataException(f"Table {req['TableName']} was not found in database "
                                    f"{req['DatabaseName']}.") from None
        return {"TableMetadata": table_metadata(table)}
