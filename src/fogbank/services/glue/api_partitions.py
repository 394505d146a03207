"""Glue Data Catalog operations on partitions, partition indexes and column statistics."""

from __future__ import annotations

from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.glue.api_base import GlueBase
from fogbank.services.glue.errors import InvalidInputException, error_detail
from fogbank.services.glue.partitions import PartitionFailure
from fogbank.services.glue.records import normalize_name


def _errors(failures: list[PartitionFailure], values_member: str = "PartitionValues") -> list[dict[str, Any]]:
    return [{values_member: values, "ErrorDetail": error_detail(error)} for values, error in failures]


class PartitionOperations(GlueBase):
    # -- partitions ---------------------------------------------------------------------------------------

    @operation("CreatePartition")
    def create_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.create_partition(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                      req["PartitionInput"])
        return {}

    @operation("BatchCreatePartition")
    def batch_create_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        failures = self.catalog.create_partitions(ctx.account_id, ctx.region, req["DatabaseName"],
                                                  req["TableName"], req["PartitionInputList"])
        return {"Errors": _errors(failures)}

    @operation("GetPartition")
    def get_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        return {"Partition": self.catalog.get_partition(ctx.account_id, ctx.region, req["DatabaseName"],
                                                        req["TableName"], req["PartitionValues"])}

    @operation("BatchGetPartition")
    def batch_get_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        wanted = [list(item["Values"]) for item in req["PartitionsToGet"]]
        found, _missing = self.catalog.batch_get_partitions(ctx.account_id, ctx.region, req["DatabaseName"],
                                                            req["TableName"], wanted)
        return {"Partitions": found, "UnprocessedKeys": []}

    @operation("GetPartitions")
    def get_partitions(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        database, table = req["DatabaseName"], req["TableName"]
        expression, segment = req.get("Expression"), req.get("Segment")
        if segment is not None and segment["SegmentNumber"] >= segment["TotalSegments"]:
            raise InvalidInputException("SegmentNumber must be less than TotalSegments.")
        listing = f"GetPartitions|{normalize_name(database)}|{normalize_name(table)}|{expression}|{segment}"
        items, token = self._page(
            ctx, req, listing,
            lambda after, limit: self.catalog.get_partitions(
                ctx.account_id, ctx.region, database, table, expression, after, limit, segment,
                bool(req.get("ExcludeColumnSchema"))),
            lambda partition: self.catalog.partition_keys_after([partition]), 1000, 1000)
        return {"Partitions": items, **({"NextToken": token} if token else {})}

    @operation("UpdatePartition")
    def update_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.update_partition(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                      req["PartitionValueList"], req["PartitionInput"])
        return {}

    @operation("BatchUpdatePartition")
    def batch_update_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        entries = [(list(e["PartitionValueList"]), e["PartitionInput"]) for e in req["Entries"]]
        failures = self.catalog.update_partitions(ctx.account_id, ctx.region, req["DatabaseName"],
                                                  req["TableName"], entries)
        return {"Errors": _errors(failures, "PartitionValueList")}

    @operation("DeletePartition")
    def delete_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.delete_partition(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                      req["PartitionValues"])
        return {}

    @operation("BatchDeletePartition")
    def batch_delete_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        wanted = [list(item["Values"]) for item in req["PartitionsToDelete"]]
        failures = self.catalog.delete_partitions(ctx.account_id, ctx.region, req["DatabaseName"],
                                                  req["TableName"], wanted)
        return {"Errors": _errors(failures)}

    # -- partition indexes --------------------------------------------------------------------------------

    @operation("CreatePartitionIndex")
    def create_partition_index(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.create_partition_index(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                            req["PartitionIndex"])
        return {}

    @operation("DeletePartitionIndex")
    def delete_partition_index(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.delete_partition_index(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                            req["IndexName"])
        return {}

    @operation("GetPartitionIndexes")
    def get_partition_indexes(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        database, table = req["DatabaseName"], req["TableName"]
        indexes = self.catalog.get_partition_indexes(ctx.account_id, ctx.region, database, table)
        items, token = self._page(
            ctx, req, f"GetPartitionIndexes|{normalize_name(database)}|{normalize_name(table)}",
            lambda offset, limit: indexes[(offset or 0):(offset or 0) + limit],
            lambda index: indexes.index(index) + 1, 100, 100)
        return {"PartitionIndexDescriptorList": items, **({"NextToken": token} if token else {})}

    # -- column statistics --------------------------------------------------------------------------------

    @operation("UpdateColumnStatisticsForTable")
    def update_column_statistics_for_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        errors = self.catalog.update_column_statistics(ctx.account_id, ctx.region, req["DatabaseName"],
                                                       req["TableName"], req["ColumnStatisticsList"])
        return {"Errors": errors}

    @operation("GetColumnStatisticsForTable")
    def get_column_statistics_for_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        found, errors = self.catalog.get_column_statistics(ctx.account_id, ctx.region, req["DatabaseName"],
                                                           req["TableName"], req["ColumnNames"])
        return {"ColumnStatisticsList": found, "Errors": errors}

    @operation("DeleteColumnStatisticsForTable")
    def delete_column_statistics_for_table(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.delete_column_statistics(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                              req["ColumnName"])
        return {}

    @operation("UpdateColumnStatisticsForPartition")
    def update_column_statistics_for_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        errors = self.catalog.update_column_statistics(ctx.account_id, ctx.region, req["DatabaseName"],
                                                       req["TableName"], req["ColumnStatisticsList"],
                                                       list(req["PartitionValues"]))
        return {"Errors": errors}

    @operation("GetColumnStatisticsForPartition")
    def get_column_statistics_for_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        found, errors = self.catalog.get_column_statistics(ctx.account_id, ctx.region, req["DatabaseName"],
                                                           req["TableName"], req["ColumnNames"],
                                                           list(req["PartitionValues"]))
        return {"ColumnStatisticsList": found, "Errors": errors}

    @operation("DeleteColumnStatisticsForPartition")
    def delete_column_statistics_for_partition(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        self.catalog.delete_column_statistics(ctx.account_id, ctx.region, req["DatabaseName"], req["TableName"],
                                              req["ColumnName"], list(req["PartitionValues"]))
        return {}
