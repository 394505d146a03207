"""Partitions of catalog tables: create, read, filter by Expression, update and delete, one by one or in batches."""

from __future__ import annotations

import sqlite3
import zlib
from typing import Any

from fogbank.errors import AwsError
from fogbank.services.glue.catalog_base import CatalogBase, values_key
from fogbank.services.glue.db import dumps, loads
from fogbank.services.glue.errors import AlreadyExistsException, EntityNotFoundException, InvalidInputException
from fogbank.services.glue.expression import compile_expression
from fogbank.services.glue.records import (
    check_partition_values,
    now,
    partition_key_types,
    partition_record,
)

PartitionFailure = tuple[list[str], AwsError]


def _not_found(values: list[str]) -> EntityNotFoundException:
    return EntityNotFoundException(f"Partition not found: [{', '.join(values)}]")


def in_segment(key: str, segment: dict[str, int] | None) -> bool:
    """Whether a partition falls in the GetPartitions Segment (a stable hash of its values)."""
    if not segment:
        return True
    return zlib.crc32(key.encode()) % segment["TotalSegments"] == segment["SegmentNumber"]


class PartitionsMixin(CatalogBase):
    def _insert_partition(self, conn: sqlite3.Connection, account: str, tbl: int, table: dict[str, Any],
                          given: dict[str, Any]) -> None:
        values = list(given.get("Values") or [])
        check_partition_values(table, values)
        record = partition_record(account, table["DatabaseName"], table["Name"], given, now())
        try:
            conn.execute("INSERT INTO partitions (tbl, vkey, body) VALUES (?, ?, ?)",
                         (tbl, values_key(values), dumps(record)))
        except sqlite3.IntegrityError:
            raise AlreadyExistsException("Partition already exists.") from None

    def create_partition(self, account: str, region: str, database: str, table: str,
                         given: dict[str, Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            tbl, record = self._table_row(conn, account, region, database, table)
            self._insert_partition(conn, account, tbl, record, given)

        self.db.write(write)

    def create_partitions(self, account: str, region: str, database: str, table: str,
                          inputs: list[dict[str, Any]]) -> list[PartitionFailure]:
        """Creates each partition that can be; the others come back with the reason, as BatchCreatePartition."""
        def write(conn: sqlite3.Connection) -> list[PartitionFailure]:
            tbl, record = self._table_row(conn, account, region, database, table)
            failures: list[PartitionFailure] = []
            for given in inputs:
                try:
                    self._insert_partition(conn, account, tbl, record, given)
                except (AlreadyExistsException, InvalidInputException) as exc:
                    failures.append((list(given.get("Values") or []), exc))
            return failures

        return self.db.write(write)

    def get_partition(self, account: str, region: str, database: str, table: str,
                      values: list[str]) -> dict[str, Any]:
        conn = self.db.reader()
        tbl, record = self._table_row(conn, account, region, database, table)
        check_partition_values(record, values)
        row = conn.execute("SELECT body FROM partitions WHERE tbl = ? AND vkey = ?",
                           (tbl, values_key(values))).fetchone()
        if row is None:
            raise _not_found(values)
        partition: dict[str, Any] = loads(row[0])
        return partition

    def batch_get_partitions(self, account: str, region: str, database: str, table: str,
                             wanted: list[list[str]]) -> tuple[list[dict[str, Any]], list[list[str]]]:
        """The partitions that exist, and the value lists that name none."""
        with self.db.snapshot() as conn:
            tbl, _ = self._table_row(conn, account, region, database, table)
            found: list[dict[str, Any]] = []
            missing: list[list[str]] = []
            for values in wanted:
                row = conn.execute("SELECT body FROM partitions WHERE tbl = ? AND vkey = ?",
                                   (tbl, values_key(values))).fetchone()
                if row is None:
                    missing.append(values)
                else:
                    found.append(loads(row[0]))
            return found, missing

    def get_partitions(self, account: str, region: str, database: str, table: str,
                       expression: str | None = None, after: str | None = None, limit: int = 10_000_000,
                       segment: dict[str, int] | None = None,
                       exclude_columns: bool = False) -> list[dict[str, Any]]:
        """Partitions in value order (after the values key `after`), filtered by a GetPartitions Expression."""
        conn = self.db.reader()
        tbl, record = self._table_row(conn, account, region, database, table)
        key_types = partition_key_types(record)
        names = list(key_types)
        predicate = compile_expression(expression, key_types)
        out: list[dict[str, Any]] = []
        cursor = conn.execute("SELECT vkey, body FROM partitions WHERE tbl = ? AND vkey > ? ORDER BY vkey",
                              (tbl, after or ""))
        for key, body in cursor:
            if not in_segment(key, segment):
                continue
            partition = loads(body)
            if not predicate(dict(zip(names, partition["Values"], strict=False))):
                continue
            if exclude_columns and "StorageDescriptor" in partition:
                partition["StorageDescriptor"].pop("Columns", None)
            out.append(partition)
            if len(out) >= limit:
                break
        return out

    def partition_keys_after(self, partitions: list[dict[str, Any]]) -> str | None:
        """The resume position after the last partition of a page."""
        return values_key(partitions[-1]["Values"]) if partitions else None

    def update_partition(self, account: str, region: str, database: str, table: str, values: list[str],
                         given: dict[str, Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            tbl, record = self._table_row(conn, account, region, database, table)
            self._update_partition(conn, account, tbl, record, values, given)

        self.db.write(write)

    def update_partitions(self, account: str, region: str, database: str, table: str,
                          entries: list[tuple[list[str], dict[str, Any]]]) -> list[PartitionFailure]:
        def write(conn: sqlite3.Connection) -> list[PartitionFailure]:
            tbl, record = self._table_row(conn, account, region, database, table)
            failures: list[PartitionFailure] = []
            for values, given in entries:
                try:
                    self._update_partition(conn, account, tbl, record, values, given)
                except (AlreadyExistsException, InvalidInputException, EntityNotFoundException) as exc:
                    failures.append((values, exc))
            return failures

        return self.db.write(write)

    def _update_partition(self, conn: sqlite3.Connection, account: str, tbl: int, table: dict[str, Any],
                          values: list[str], given: dict[str, Any]) -> None:
        check_partition_values(table, values)
        old_key = values_key(values)
        row = conn.execute("SELECT body FROM partitions WHERE tbl = ? AND vkey = ?", (tbl, old_key)).fetchone()
        if row is None:
            raise _not_found(values)
        old = loads(row[0])
        new_values = list(given.get("Values") or values)
        check_partition_values(table, new_values)
        record = partition_record(account, table["DatabaseName"], table["Name"], {**given, "Values": new_values},
                                  old["CreationTime"])
        new_key = values_key(new_values)
        if new_key != old_key:
            if conn.execute("SELECT 1 FROM partitions WHERE tbl = ? AND vkey = ?", (tbl, new_key)).fetchone():
                raise AlreadyExistsException("Partition already exists.")
            conn.execute("DELETE FROM partitions WHERE tbl = ? AND vkey = ?", (tbl, old_key))
            conn.execute("UPDATE column_stats SET vkey = ? WHERE tbl = ? AND vkey = ?", (new_key, tbl, old_key))
        conn.execute("INSERT OR REPLACE INTO partitions (tbl, vkey, body) VALUES (?, ?, ?)",
                     (tbl, new_key, dumps(record)))

    def delete_partitions(self, account: str, region: str, database: str, table: str,
                          wanted: list[list[str]]) -> list[PartitionFailure]:
        def write(conn: sqlite3.Connection) -> list[PartitionFailure]:
            tbl, _ = self._table_row(conn, account, region, database, table)
            failures: list[PartitionFailure] = []
            for values in wanted:
                key = values_key(values)
                if conn.execute("DELETE FROM partitions WHERE tbl = ? AND vkey = ?", (tbl, key)).rowcount == 0:
                    failures.append((values, _not_found(values)))
                    continue
                conn.execute("DELETE FROM column_stats WHERE tbl = ? AND vkey = ?", (tbl, key))
            return failures

        return self.db.write(write)

    def delete_partition(self, account: str, region: str, database: str, table: str, values: list[str]) -> None:
        failures = self.delete_partitions(account, region, database, table, [values])
        if failures:
            raise failures[0][1]
