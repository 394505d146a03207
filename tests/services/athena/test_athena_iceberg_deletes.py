"""Iceberg tables whose rows were deleted merge-on-read, as Athena itself, Spark and Trino delete them: position
delete files listing (data file, row number). Another engine's snapshot is committed here through pyiceberg's own
Glue catalog, over HTTP; fogbank's Athena must then read the table without those rows."""

from __future__ import annotations

import io
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestWriterV2,
    write_manifest_list,
)
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation, Snapshot, Summary
from pyiceberg.table.update import AddSnapshotUpdate, AssertRefSnapshotId, SetSnapshotRefUpdate
from pyiceberg.typedef import Record
from tests.services.athena.conftest import Athena, unique
from tests.support import FogbankServer

# The reserved field ids of a position delete file's columns (Iceberg spec, "Position Delete Files").
_FILE_PATH_ID, _POS_ID = 2147483546, 2147483545


class _DeleteManifestWriter(ManifestWriterV2):
    """pyiceberg writes data manifests only; a delete manifest differs in its content flag."""

    def content(self) -> ManifestContent:
        return ManifestContent.DELETES


def _catalog(fogbank: FogbankServer) -> GlueCatalog:
    url = fogbank.endpoint_url
    return GlueCatalog("fogbank", **{
        "glue.endpoint": url, "glue.region": "us-east-1", "glue.access-key-id": "test",
        "glue.secret-access-key": "test", "s3.endpoint": url, "s3.region": "us-east-1",
        "s3.access-key-id": "test", "s3.secret-access-key": "test",
        "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"})


def _delete_file_bytes(rows: list[tuple[str, int]]) -> bytes:
    schema = pa.schema([
        pa.field("file_path", pa.string(), nullable=False, metadata={b"PARQUET:field_id": str(_FILE_PATH_ID).encode()}),
        pa.field("pos", pa.int64(), nullable=False, metadata={b"PARQUET:field_id": str(_POS_ID).encode()})])
    buffer = io.BytesIO()
    pq.write_table(pa.table({"file_path": [r[0] for r in rows], "pos": [r[1] for r in rows]}, schema=schema), buffer)
    return buffer.getvalue()


def _commit_position_deletes(table: Table, s3: Any, rows: list[tuple[str, int]], name: str) -> None:
    """Adds one position delete file to `table` in a new snapshot, as a merge-on-read DELETE does."""
    _commit_delete_file(table, s3, _delete_file_bytes(rows), len(rows), name, DataFileContent.POSITION_DELETES)


def _commit_delete_file(table: Table, s3: Any, body: bytes, record_count: int, name: str,
                        content: DataFileContent, equality_ids: list[int] | None = None) -> None:
    metadata = table.metadata
    parent = table.current_snapshot()
    assert parent is not None
    location = f"{metadata.location}/data/{name}.parquet"
    bucket, key = location[len("s3://"):].split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    snapshot_id = int(time.time() * 1000) * 1000 + len(metadata.snapshots)
    sequence = metadata.next_sequence_number()
    delete_file = DataFile.from_args(
        content=content, file_path=location, file_format=FileFormat.PARQUET, partition=Record(),
        record_count=record_count, file_size_in_bytes=len(body), equality_ids=equality_ids)
    delete_file.spec_id = metadata.default_spec_id
    io_ = PyArrowFileIO(table.io.properties)
    manifest_path = f"{metadata.location}/metadata/{name}-m0.avro"
    with _DeleteManifestWriter(table.spec(), table.schema(), io_.new_output(manifest_path), snapshot_id,
                               "deflate") as writer:
        writer.add(ManifestEntry.from_args(status=ManifestEntryStatus.ADDED, snapshot_id=snapshot_id,
                                           data_file=delete_file))
    manifests = [*parent.manifests(table.io), writer.to_manifest_file()]
    list_path = f"{metadata.location}/metadata/snap-{snapshot_id}-{name}.avro"
    with write_manifest_list(2, io_.new_output(list_path), snapshot_id, parent.snapshot_id, sequence,
                             "deflate") as manifest_list:
        manifest_list.add_manifests(manifests)
    snapshot = Snapshot(snapshot_id=snapshot_id, parent_snapshot_id=parent.snapshot_id, sequence_number=sequence,
                        timestamp_ms=int(time.time() * 1000), manifest_list=list_path,
                        summary=Summary(Operation.DELETE), schema_id=metadata.current_schema_id)
    with table.transaction() as transaction:
        transaction._apply((AddSnapshotUpdate(snapshot=snapshot),
                            SetSnapshotRefUpdate(snapshot_id=snapshot_id, ref_name="main", type="branch")),
                           (AssertRefSnapshotId(snapshot_id=parent.snapshot_id, ref="main"),))


def _iceberg_table(athena: Athena, bucket: str, prefix: str, columns: str, *inserts: str) -> str:
    """A new Iceberg table written by fogbank's Athena, one data file per INSERT; returns its name."""
    name = unique(prefix)
    athena.execute(f"CREATE TABLE {name} ({columns}) LOCATION 's3://{bucket}/ice/{name}/' "
                   "TBLPROPERTIES ('table_type'='ICEBERG')")
    for values in inserts:
        athena.execute(f"INSERT INTO {name} VALUES {values}")
    return name


def _data_files(table: Table) -> list[str]:
    return sorted(task.file.file_path for task in table.scan().plan_files())


def test_rows_deleted_by_position_delete_files_are_not_read(athena: Athena, s3: Any, bucket: str,
                                                            fogbank: FogbankServer) -> None:
    name = _iceberg_table(athena, bucket, "mor", "id bigint, word string",
                          "(1, 'one'), (2, 'two'), (3, 'three'), (4, 'four')", "(5, 'five'), (6, 'six')")
    catalog = _catalog(fogbank)
    table = catalog.load_table((athena.database, name))
    first, second = _data_files(table)
    # Which file holds which rows, and in what order, as fogbank wrote them.
    in_order = {path: pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=path.split("/", 3)[3])["Body"]
                                               .read())).column("id").to_pylist() for path in (first, second)}
    assert sorted(in_order[first] + in_order[second]) == [1, 2, 3, 4, 5, 6]
    before = athena.execute(f"SELECT count(*) FROM {name}")["Statistics"]["DataScannedInBytes"]

    # Row 1 of the first file and row 0 of the second go; a row of a file the table doesn't hold changes nothing.
    _commit_position_deletes(catalog.load_table((athena.database, name)), s3,
                             [(first, 1), (second, 0), (f"s3://{bucket}/ice/{name}/data/gone.parquet", 0)], "del-1")
    gone = {in_order[first][1], in_order[second][0]}
    expected = sorted({1, 2, 3, 4, 5, 6} - gone)
    assert [int(r[0]) for r in athena.rows(f"SELECT id FROM {name} ORDER BY id")[1:]] == expected
    assert athena.rows(f"SELECT count(*), sum(id) FROM {name}")[1:] == [[str(len(expected)), str(sum(expected))]]
    execution = athena.execute(f"SELECT count(*) FROM {name}")
    assert execution["Statistics"]["DataScannedInBytes"] > before  # the delete file is read too
    # Time travel to the snapshot before the delete still sees every row.
    snapshots = [r[0] for r in athena.rows(f'SELECT snapshot_id FROM "{name}$snapshots" ORDER BY committed_at')[1:]]
    assert athena.rows(f"SELECT count(*) FROM {name} FOR VERSION AS OF {snapshots[-2]}")[1:] == [["6"]]

    # Rows written after a delete are untouched by it, even at the same positions of a new file.
    athena.execute(f"INSERT INTO {name} VALUES (7, 'seven'), (8, 'eight')")
    expected += [7, 8]
    assert [int(r[0]) for r in athena.rows(f"SELECT id FROM {name} ORDER BY id")[1:]] == expected
    # Athena's own row-level changes on top rewrite the files without the deleted rows.
    survivor = expected[0]
    athena.execute(f"UPDATE {name} SET word = 'changed' WHERE id = {survivor}")
    athena.execute(f"DELETE FROM {name} WHERE id = 8")
    expected.remove(8)
    rows = athena.rows(f"SELECT id, word FROM {name} ORDER BY id")[1:]
    assert [int(r[0]) for r in rows] == expected
    assert dict((int(r[0]), r[1]) for r in rows)[survivor] == "changed"
    # pyiceberg, reading the same snapshot on its own, agrees.
    latest = catalog.load_table((athena.database, name))
    assert sorted(r["id"] for r in latest.scan().to_arrow().to_pylist()) == expected


def test_equality_delete_files_are_refused_with_a_reason(athena: Athena, s3: Any, bucket: str,
                                                         fogbank: FogbankServer) -> None:
    name = _iceberg_table(athena, bucket, "eqdel", "id bigint", "(1), (2)")
    catalog = _catalog(fogbank)
    # An equality delete of the rows whose id is 1 (field id 1).
    schema = pa.schema([pa.field("id", pa.int64(), metadata={b"PARQUET:field_id": b"1"})])
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1]}, schema=schema), buffer)
    _commit_delete_file(catalog.load_table((athena.database, name)), s3, buffer.getvalue(), 1, "del-eq",
                        DataFileContent.EQUALITY_DELETES, [1])
    reason = athena.fail(f"SELECT count(*) FROM {name}")
    assert reason.startswith("NOT_SUPPORTED: Iceberg equality delete files are not supported")
    # The table's history before it is still readable.
    first = athena.rows(f'SELECT snapshot_id FROM "{name}$snapshots" ORDER BY committed_at')[1][0]
    assert athena.rows(f"SELECT count(*) FROM {name} FOR VERSION AS OF {first}")[1:] == [["2"]]
