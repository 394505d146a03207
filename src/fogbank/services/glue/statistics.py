"""Column statistics (of tables and of partitions) and partition indexes of catalog tables."""

from __future__ import annotations

import sqlite3
from typing import Any

from fogbank.services.glue.catalog_base import CatalogBase, values_key
from fogbank.services.glue.db import dumps, loads
from fogbank.services.glue.errors import (
    AlreadyExistsException,
    EntityNotFoundException,
    InvalidInputException,
    ResourceNumberLimitExceededException,
    error_detail,
)
from fogbank.services.glue.records import check_partition_values

MAX_PARTITION_INDEXES = 3

# ColumnStatisticsData.Type -> the member that must carry the numbers.
_STATS_MEMBER = {
    "BOOLEAN": "BooleanColumnStatisticsData",
    "DATE": "DateColumnStatisticsData",
    "DECIMAL": "DecimalColumnStatisticsData",
    "DOUBLE": "DoubleColumnStatisticsData",
    "LONG": "LongColumnStatisticsData",
    "STRING": "StringColumnStatisticsData",
    "BINARY": "BinaryColumnStatisticsData",
}


def _columns(table: dict[str, Any]) -> dict[str, str]:
    columns = (table.get("StorageDescriptor") or {}).get("Columns") or []
    return {c["Name"].lower(): c["Name"] for c in columns}


class StatisticsMixin(CatalogBase):
    # -- column statistics --------------------------------------------------------------------------------

    def _stats_key(self, conn: sqlite3.Connection, tbl: int, table: dict[str, Any],
                   partition: list[str] | None) -> str:
        if partition is None:
            return ""
        check_partition_values(table, partition)
        key = values_key(partition)
        if conn.execute("SELECT 1 FROM partitions WHERE tbl = ? AND vkey = ?", (tbl, key)).fetchone() is None:
            raise EntityNotFoundException(f"Partition not found: [{', '.join(partition)}]")
        return key

    def update_column_statistics(self, account: str, region: str, database: str, table: str,
                                 statistics: list[dict[str, Any]],
                                 partition: list[str] | None = None) -> list[dict[str, Any]]:
        """Stores each valid ColumnStatistics; returns ColumnStatisticsError entries for the rest."""
        def write(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            tbl, record = self._table_row(conn, account, region, database, table)
            key = self._stats_key(conn, tbl, record, partition)
            columns = _columns(record)
            errors: list[dict[str, Any]] = []
            for stats in statistics:
                try:
                    name = stats["ColumnName"]
                    if name.lower() not in columns:
                        raise EntityNotFoundException(f"Column {name} not found in table {record['Name']}.")
                    data = stats["StatisticsData"]
                    member = _STATS_MEMBER.get(data.get("Type", ""))
                    if member is None or member not in data:
                        raise InvalidInputException(f"Statistics of type {data.get('Type')} need {member}.")
                    conn.execute("INSERT OR REPLACE INTO column_stats (tbl, vkey, col, body) VALUES (?, ?, ?, ?)",
                                 (tbl, key, columns[name.lower()].lower(), dumps(stats)))
                except (EntityNotFoundException, InvalidInputException) as exc:
                    errors.append({"ColumnStatistics": stats, "Error": error_detail(exc)})
            return errors

        return self.db.write(write)

    def get_column_statistics(self, account: str, region: str, database: str, table: str, names: list[str],
                              partition: list[str] | None = None) -> tuple[list[dict[str, Any]],
                                                                           list[dict[str, Any]]]:
        """The statistics found, and a ColumnError for each column that has none."""
        with self.db.snapshot() as conn:
            tbl, record = self._table_row(conn, account, region, database, table)
            key = self._stats_key(conn, tbl, record, partition)
            found: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            for name in names:
                row = conn.execute("SELECT body FROM column_stats WHERE tbl = ? AND vkey = ? AND col = ?",
                                   (tbl, key, name.lower())).fetchone()
                if row is None:
                    error = EntityNotFoundException(f"Column statistics for {name} not found.")
                    errors.append({"ColumnName": name, "Error": error_detail(error)})
                else:
                    found.append(loads(row[0]))
            return found, errors

    def delete_column_statistics(self, account: str, region: str, database: str, table: str, name: str,
                                 partition: list[str] | None = None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            tbl, record = self._table_row(conn, account, region, database, table)
            key = self._stats_key(conn, tbl, record, partition)
            deleted = conn.execute("DELETE FROM column_stats WHERE tbl = ? AND vkey = ? AND col = ?",
                                   (tbl, key, name.lower()))
            if deleted.rowcount == 0:
                raise EntityNotFoundException(f"Column statistics for {name} not found.")

        self.db.write(write)

    # -- partition indexes --------------------------------------------------------------------------------

    @staticmethod
    def _add_index(conn: sqlite3.Connection, tbl: int, table: dict[str, Any], index: dict[str, Any]) -> None:
        keys = {k["Name"].lower(): k for k in table.get("PartitionKeys") or []}
        wanted = [k.lower() for k in index["Keys"]]
        unknown = [k for k in wanted if k not in keys]
        if unknown:
            raise InvalidInputException(f"Partition index keys must be partition keys: {', '.join(unknown)}")
        if len(set(wanted)) != len(wanted):
            raise InvalidInputException("Partition index keys must be unique.")
        count, top = conn.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM partition_indexes WHERE tbl = ?",
                                  (tbl,)).fetchone()
        if count >= MAX_PARTITION_INDEXES:
            raise ResourceNumberLimitExceededException(
                f"A table can have at most {MAX_PARTITION_INDEXES} partition indexes.")
        try:
            conn.execute("INSERT INTO partition_indexes (tbl, name, keys, seq) VALUES (?, ?, ?, ?)",
                         (tbl, index["IndexName"], dumps([keys[k]["Name"] for k in wanted]), top + 1))
        except sqlite3.IntegrityError:
            raise AlreadyExistsException(f"Partition index {index['IndexName']} already exists.") from None

    def create_partition_index(self, account: str, region: str, database: str, table: str,
                               index: dict[str, Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            tbl, record = self._table_row(conn, account, region, database, table)
            self._add_index(conn, tbl, record, index)

        self.db.write(write)

    def delete_partition_index(self, account: str, region: str, database: str, table: str, name: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            tbl, _ = self._table_row(conn, account, region, database, table)
            if conn.execute("DELETE FROM partition_indexes WHERE tbl = ? AND name = ?", (tbl, name)).rowcount == 0:
                raise EntityNotFoundException(f"Partition index {name} not found.")

        self.db.write(write)

    def get_partition_indexes(self, account: str, region: str, database: str,
                              table: str) -> list[dict[str, Any]]:
        """PartitionIndexDescriptors in creation order; indexes are ACTIVE as soon as they exist."""
        conn = self.db.reader()
        tbl, record = self._table_row(conn, account, region, database, table)
        types = {k["Name"]: k.get("Type") or "string" for k in record.get("PartitionKeys") or []}
        rows = conn.execute("SELECT name, keys FROM partition_indexes WHERE tbl = ? ORDER BY seq", (tbl,))
        return [{"IndexName": name, "Keys": [{"Name": k, "Type": types.get(k, "string")} for k in loads(keys)],
                 "IndexStatus": "ACTIVE"} for name, keys in rows]
