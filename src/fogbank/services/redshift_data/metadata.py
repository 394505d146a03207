"""The Data API's database metadata: ListDatabases, ListSchemas, ListTables and DescribeTable.

They answer at once (no statement is submitted), from the warehouse's DuckDB catalog and, for external
schemas, from the Glue Data Catalog.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.redshift_data import catalog as wcatalog
from fogbank.services.redshift_data import external
from fogbank.services.redshift_data.errors import ValidationException
from fogbank.services.redshift_data.external import CatalogSource
from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.results import make_column
from fogbank.services.redshift_data.statements import decode_token, encode_token
from fogbank.services.redshift_data.targets import Target, Targets
from fogbank.services.redshift_data.warehouse import Warehouses


def _paged(items: list[Any], req: dict[str, Any], default: int) -> tuple[list[Any], str | None]:
    """Offset paging: NextToken carries the index of the next item."""
    limit = req.get("MaxResults") or default
    start = 0
    if req.get("NextToken"):
        try:
            start = int(decode_token(req["NextToken"])[0])
        except (ValueError, IndexError, TypeError):
            raise ValidationException("Invalid NextToken.") from None
    page = items[start:start + limit]
    return page, (encode_token(start + limit) if start + limit < len(items) else None)


class MetadataOperations:
    targets: Targets
    warehouses: Warehouses
    catalog: CatalogSource

    def _metadata_target(self, ctx: RequestContext, req: dict[str, Any]) -> Target:
        target = self.targets.resolve(ctx.scope, req)
        if not self.warehouses.has_database(target.owner, target.database):
            raise ValidationException(f'FATAL: database "{target.database}" does not exist')
        return target

    def _external_tables(self, ctx: RequestContext, glue_database: str, region: str | None) -> list[dict[str, Any]]:
        lake = self.catalog()
        if lake is None:
            return []
        try:
            return lake.get_tables(ctx.account_id, region or ctx.region, glue_database)
        except Exception as error:
            if getattr(error, "code", "") == "EntityNotFoundException":
                return []
            raise

    @operation("ListDatabases")
    def list_databases(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        target = self.targets.resolve(ctx.scope, req)
        names = self.warehouses.databases(target.owner)
        page, token = _paged(names, req, 1000)
        out: dict[str, Any] = {"Databases": page}
        if token:
            out["NextToken"] = token
        return out

    @operation("ListSchemas")
    def list_schemas(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        target = self._metadata_target(ctx, req)
        cursor = self.warehouses.cursor(target.owner, target.database)
        try:
            names = set(wcatalog.schemas(cursor, target.database))
        finally:
            cursor.close()
        names.update(self.warehouses.external_schemas(target.owner, target.database))
        pattern = wcatalog.like_to_regex(req.get("SchemaPattern"))
        found = sorted(n for n in names if pattern is None or pattern.fullmatch(n))
        page, token = _paged(found, req, 1000)
        out: dict[str, Any] = {"Schemas": page}
        if token:
            out["NextToken"] = token
        return out

    @operation("ListTables")
    def list_tables(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        target = self._metadata_target(ctx, req)
        schema_pattern = wcatalog.like_to_regex(req.get("SchemaPattern"))
        table_pattern = wcatalog.like_to_regex(req.get("TablePattern"))
        cursor = self.warehouses.cursor(target.owner, target.database)
        try:
            found = wcatalog.tables(cursor, target.database)
        finally:
            cursor.close()
        if schema_pattern is None:
            found = [t for t in found if t["schema"] not in wcatalog.SYSTEM_SCHEMAS]
        for name, schema in self.warehouses.external_schemas(target.owner, target.database).items():
            if schema_pattern is not None and not schema_pattern.fullmatch(name):
                continue
            for table in self._external_tables(ctx, schema.glue_database, schema.region):
                found.append({"schema": name, "name": table["Name"].lower(), "type": "EXTERNAL TABLE"})
        tables = [t for t in found
                  if (schema_pattern is None or schema_pattern.fullmatch(t["schema"]))
                  and (table_pattern is None or table_pattern.fullmatch(t["name"]))]
        tables.sort(key=lambda t: (t["schema"], t["name"]))
        page, token = _paged(tables, req, 1000)
        out: dict[str, Any] = {"Tables": page}
        if token:
            out["NextToken"] = token
        return out

    @operation("DescribeTable")
    def describe_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        target = self._metadata_target(ctx, req)
        schema = (req.get("Schema") or "public").lower()
        table = (req.get("Table") or "").lower()
        columns: list[dict[str, Any]] = []
        externals = self.warehouses.external_schemas(target.owner, target.database)
        if schema in externals:
            definition = externals[schema]
            for lake_table in self._external_tables(ctx, definition.glue_database, definition.region):
                name = lake_table["Name"].lower()
                if table and name != table:
                    continue
                descriptor = lake_table.get("StorageDescriptor") or {}
                for column in [*(descriptor.get("Columns") or []), *(lake_table.get("PartitionKeys") or [])]:
                    meta = make_column(column["Name"].lower(), external.redshift_type(column.get("Type") or ""))
                    meta.schemaName, meta.tableName = schema, name
                    columns.append(meta.metadata())
        else:
            cursor = self.warehouses.cursor(target.owner, target.database)
            try:
                names = [table] if table else [t["name"] for t in wcatalog.tables(cursor, target.database)
                                               if t["schema"] == schema]
                for name in names:
                    with contextlib.suppress(RedshiftSqlError):
                        catalog_name, schema_name, table_name = wcatalog.resolve_table(
                            cursor, target.database, [schema, name])
                        for column in wcatalog.table_columns(cursor, catalog_name, schema_name, table_name):
                            columns.append(column.metadata(schema_name, table_name).metadata())
            finally:
                cursor.close()
        page, token = _paged(columns, req, 1000)
        out: dict[str, Any] = {"ColumnList": page}
        if table:
            out["TableName"] = table
        if token:
            out["NextToken"] = token
        return out
