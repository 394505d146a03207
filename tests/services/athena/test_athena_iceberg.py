"""Iceberg tables through Athena: CREATE TABLE and CTAS, INSERT, UPDATE, DELETE, MERGE INTO, time travel,
metadata tables, schema evolution, OPTIMIZE, VACUUM and DROP — checked by rows, by the Glue record and by
reading the Iceberg metadata in S3 back independently (the files must be real Iceberg v2)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.services.athena.conftest import Athena, unique


def _create_orders(athena: Athena, bucket: str, name: str, partitioned: str = "") -> None:
    athena.execute(
        f"CREATE TABLE {name} (id bigint, customer string, amount decimal(10,2), ts timestamp, tags array<string>) "
        f"{partitioned} LOCATION 's3://{bucket}/iceberg/{name}/' "
        "TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet')")


def _metadata(s3: Any, glue: Any, athena: Athena, name: str) -> dict[str, Any]:
    table = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]
    location = table["Parameters"]["metadata_location"]
    bucket, key = location[len("s3://"):].split("/", 1)
    document: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return document


def test_create_insert_select_and_glue_record(athena: Athena, glue: Any, s3: Any, bucket: str) -> None:
    name = unique("orders")
    _create_orders(athena, bucket, name, "PARTITIONED BY (customer, day(ts))")
    table = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["table_type"] == "ICEBERG"
    assert table["PartitionKeys"] == []
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "bigint"), ("customer", "string"), ("amount", "decimal(10,2)"), ("ts", "timestamp"),
        ("tags", "array<string>")]
    metadata = _metadata(s3, glue, athena, name)
    assert metadata["format-version"] == 2
    assert metadata["location"] == f"s3://{bucket}/iceberg/{name}"
    spec = metadata["partition-specs"][-1]["fields"]
    assert [(f["name"], f["transform"]) for f in spec] == [("customer", "identity"), ("ts_day", "day")]

    insert = athena.execute(
        f"INSERT INTO {name} VALUES (1, 'ann', 10.50, TIMESTAMP '2024-03-01 10:00:00', ARRAY['a']), "
        f"(2, 'bob', 20.00, TIMESTAMP '2024-03-01 11:00:00', ARRAY['b', 'c']), "
        f"(3, 'ann', 5.25, TIMESTAMP '2024-03-02 09:30:00', NULL)")
    assert insert["StatementType"] == "DML"
    rows = athena.rows(f"SELECT id, customer, amount, ts, tags FROM {name} ORDER BY id")
    assert rows == [["id", "customer", "amount", "ts", "tags"],
                    ["1", "ann", "10.50", "2024-03-01 10:00:00.000", "[a]"],
                    ["2", "bob", "20.00", "2024-03-01 11:00:00.000", "[b, c]"],
                    ["3", "ann", "5.25", "2024-03-02 09:30:00.000", None]]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"iceberg/{name}/data/")["Contents"]]
    assert any("customer=ann/ts_day=2024-03-01/" in k for k in keys)
    assert all(k.endswith(".parquet") for k in keys)
    # A predicate on the partition column reads only that partition's files.
    everything = athena.execute(f"SELECT count(*) FROM {name}")
    one = athena.execute(f"SELECT count(*) FROM {name} WHERE customer = 'bob'")
    assert 0 < one["Statistics"]["DataScannedInBytes"] < everything["Statistics"]["DataScannedInBytes"]
    assert athena.rows(f"SELECT sum(amount) FROM {name} WHERE customer = 'ann'")[1] == ["15.75"]
    # DELETE rewrites only the files holding rows it deletes: ann's files are kept as they are.
    files = f'SELECT file_path FROM "{name}$files"'
    before = {r[0] for r in athena.rows(files)[1:]}
    deleted = athena.execute(f"DELETE FROM {name} WHERE customer = 'bob' AND amount > 1")
    after = {r[0] for r in athena.rows(files)[1:]}
    assert len(after) == len(before) - 1 and after < before
    assert all("customer=bob" not in path for path in after if path)
    assert deleted["Statistics"]["DataScannedInBytes"] > 0
    assert athena.rows(f"SELECT id FROM {name} ORDER BY id")[1:] == [["1"], ["3"]]


def test_update_delete_merge_and_time_travel(athena: Athena, bucket: str) -> None:
    name = unique("stock")
    athena.execute(f"CREATE TABLE {name} (sku string, qty int, price double) LOCATION 's3://{bucket}/ice/{name}/' "
                   "TBLPROPERTIES ('table_type'='ICEBERG')")
    athena.execute(f"INSERT INTO {name} VALUES ('a', 1, 1.5), ('b', 2, 2.5), ('c', 3, 3.5)")
    snapshots = athena.rows(f'SELECT snapshot_id, operation FROM "{name}$snapshots" ORDER BY committed_at')
    first_snapshot = snapshots[-1][0]
    time.sleep(0.05)
    before_update = athena.rows("SELECT to_iso8601(current_timestamp)")[1][0]
    time.sleep(0.05)

    updated = athena.execute(f"UPDATE {name} SET qty = qty * 10 WHERE sku IN ('a', 'c')")
    assert updated["StatementType"] == "DML"
    assert athena.rows(f"SELECT sku, qty FROM {name} ORDER BY sku")[1:] == [["a", "10"], ["b", "2"], ["c", "30"]]

    athena.execute(f"DELETE FROM {name} WHERE price > 3")
    assert athena.rows(f"SELECT sku FROM {name} ORDER BY sku")[1:] == [["a"], ["b"]]

    source = unique("changes")
    athena.execute(f"CREATE TABLE {source} AS SELECT * FROM (VALUES ('a', 7, 'upsert'), ('b', 0, 'delete'), "
                   "('d', 4, 'upsert')) AS t(sku, qty, op)")
    athena.execute(
        f"MERGE INTO {name} t USING {source} s ON t.sku = s.sku "
        "WHEN MATCHED AND s.op = 'delete' THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET qty = s.qty "
        "WHEN NOT MATCHED THEN INSERT (sku, qty, price) VALUES (s.sku, s.qty, 9.5)")
    assert athena.rows(f"SELECT sku, qty, price FROM {name} ORDER BY sku")[1:] == [["a", "7", "1.5"],
                                                                                  ["d", "4", "9.5"]]
    # Time travel: the first snapshot by id, and the table as it was before the UPDATE by time.
    assert athena.rows(f"SELECT sku, qty FROM {name} FOR VERSION AS OF {first_snapshot} ORDER BY sku")[1:] == [
        ["a", "1"], ["b", "2"], ["c", "3"]]
    stamp = before_update.replace("T", " ").replace("Z", " UTC")
    assert athena.rows(f"SELECT count(*) FROM {name} FOR TIMESTAMP AS OF TIMESTAMP '{stamp}'")[1] == ["3"]
    history = athena.rows(f'SELECT count(*) FROM "{name}$history"')[1]
    assert int(history[0] or 0) >= 4
    assert "does not exists" in athena.fail(f"SELECT * FROM {name} FOR VERSION AS OF 12345")
    assert "at or before" in athena.fail(
        f"SELECT * FROM {name} FOR TIMESTAMP AS OF TIMESTAMP '2001-01-01 00:00:00 UTC'")


def test_ctas_schema_evolution_optimize_vacuum_and_drop(athena: Athena, glue: Any, s3: Any, bucket: str) -> None:
    name = unique("events")
    athena.execute(
        f"CREATE TABLE {name} WITH (table_type = 'ICEBERG', location = 's3://{bucket}/ice/{name}/', "
        "is_external = false, partitioning = ARRAY['kind', 'bucket(id, 4)']) AS "
        "SELECT * FROM (VALUES (1, 'click', 'x'), (2, 'view', 'y'), (3, 'click', 'z')) AS t(id, kind, payload)")
    assert athena.rows(f"SELECT count(*), count(DISTINCT kind) FROM {name}")[1] == ["3", "2"]
    spec = _metadata(s3, glue, athena, name)["partition-specs"][-1]["fields"]
    assert [(f["name"], f["transform"]) for f in spec] == [("kind", "identity"), ("id_bucket", "bucket[4]")]

    athena.execute(f"ALTER TABLE {name} ADD COLUMNS (score double)")
    athena.execute(f"INSERT INTO {name} VALUES (4, 'view', 'w', 0.5)")
    athena.execute(f"ALTER TABLE {name} CHANGE COLUMN payload body string")
    rows = athena.rows(f"SELECT id, body, score FROM {name} ORDER BY id")
    assert rows == [["id", "body", "score"], ["1", "x", None], ["2", "y", None], ["3", "z", None], ["4", "w", "0.5"]]
    athena.execute(f"ALTER TABLE {name} DROP COLUMN score")
    assert athena.rows(f"SELECT * FROM {name} WHERE id = 4") == [["id", "kind", "body"], ["4", "view", "w"]]
    columns = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]["StorageDescriptor"]["Columns"]
    current = [c["Name"] for c in columns if c["Parameters"]["iceberg.field.current"] == "true"]
    assert current == ["id", "kind", "body"]

    files_before = int(athena.rows(f'SELECT count(*) FROM "{name}$files"')[1][0] or 0)
    athena.execute(f"OPTIMIZE {name} REWRITE DATA USING BIN_PACK")
    files_after = int(athena.rows(f'SELECT count(*) FROM "{name}$files"')[1][0] or 0)
    assert files_after <= files_before
    assert athena.rows(f"SELECT count(*) FROM {name}")[1] == ["4"]

    athena.execute(f"ALTER TABLE {name} SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='0')")
    athena.execute(f"VACUUM {name}")
    assert athena.rows(f'SELECT count(*) FROM "{name}$snapshots"')[1] == ["1"]
    assert athena.rows(f"SELECT count(*) FROM {name}")[1] == ["4"]

    athena.execute(f"DROP TABLE {name}")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"ice/{name}/").get("KeyCount") == 0
    assert "does not exist" in athena.fail(f"SELECT * FROM {name}")


def test_iceberg_errors_leave_the_table_alone(athena: Athena, bucket: str) -> None:
    name = unique("strict")
    assert "External keyword not supported" in athena.fail(
        f"CREATE EXTERNAL TABLE {name} (a int) LOCATION 's3://{bucket}/x/' TBLPROPERTIES ('table_type'='ICEBERG')")
    athena.execute(f"CREATE TABLE {name} (a int, b string) LOCATION 's3://{bucket}/ice/{name}/' "
                   "TBLPROPERTIES ('table_type'='ICEBERG')")
    athena.execute(f"INSERT INTO {name} VALUES (1, 'one')")
    assert "COLUMN_NOT_FOUND" in athena.fail(f"UPDATE {name} SET nope = 1")
    assert "COLUMN_NOT_FOUND" in athena.fail(f"DELETE FROM {name} WHERE missing = 2")
    assert "ALREADY_EXISTS" in athena.fail(f"CREATE TABLE {name} (a int) LOCATION 's3://{bucket}/ice/other/' "
                                           "TBLPROPERTIES ('table_type'='ICEBERG')")
    hive = unique("hive")
    athena.execute(f"CREATE EXTERNAL TABLE {hive} (a int) STORED AS PARQUET LOCATION 's3://{bucket}/hive/{hive}/'")
    assert "only supported for transactional tables" in athena.fail(f"DELETE FROM {hive} WHERE a = 1")
    assert athena.rows(f"SELECT a, b FROM {name}")[1:] == [["1", "one"]]


def test_merge_rewrites_only_the_files_it_matches(athena: Athena, bucket: str) -> None:
    name = unique("accounts")
    athena.execute(f"CREATE TABLE {name} (id int, region string, balance int) PARTITIONED BY (region) "
                   f"LOCATION 's3://{bucket}/ice/{name}/' TBLPROPERTIES ('table_type'='ICEBERG')")
    athena.execute(f"INSERT INTO {name} VALUES (1, 'eu', 10), (2, 'us', 20), (3, 'apac', 30)")
    files = f'SELECT file_path FROM "{name}$files"'
    before = {r[0] for r in athena.rows(files)[1:]}
    athena.execute(f"MERGE INTO {name} t USING (VALUES (2, 'us', 5), (4, 'us', 40)) AS s(id, region, delta) "
                   "ON t.id = s.id WHEN MATCHED THEN UPDATE SET balance = t.balance + s.delta "
                   "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.region, s.delta)")
    after = {r[0] for r in athena.rows(files)[1:]}
    kept = before & after
    assert len(kept) == 2 and all("region=us" not in path for path in kept if path)
    assert athena.rows(f"SELECT id, region, balance FROM {name} ORDER BY id")[1:] == [
        ["1", "eu", "10"], ["2", "us", "25"], ["3", "apac", "30"], ["4", "us", "40"]]
    # Nothing matches: only the inserted row's file is added.
    athena.execute(f"MERGE INTO {name} t USING (VALUES (9, 'eu', 1)) AS s(id, region, delta) ON t.id = s.id "
                   "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.region, s.delta)")
    assert after < {r[0] for r in athena.rows(files)[1:]}
    assert athena.rows(f"SELECT count(*) FROM {name}")[1] == ["5"]
