"""Iceberg tables as Athena users work with them: every column type through INSERT and SELECT, partition
transforms and pruning, time travel, row-level changes with subqueries and MERGE's rules, the metadata tables
under Trino's column names, SHOW/DESCRIBE, PyAthena, the Glue record, a read by pyiceberg itself, concurrent
writers and the errors a mistyped statement must give."""

from __future__ import annotations

import decimal
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.services.athena.conftest import Athena, unique
from tests.support import FogbankServer


def _iceberg(athena: Athena, bucket: str, name: str, columns: str, extra: str = "", props: str = "") -> None:
    athena.execute(f"CREATE TABLE {name} ({columns}) {extra} LOCATION 's3://{bucket}/ice/{name}/' "
                   f"TBLPROPERTIES ('table_type'='ICEBERG'{props})")


def _metadata(s3: Any, glue: Any, database: str, name: str) -> dict[str, Any]:
    location = glue.get_table(DatabaseName=database, Name=name)["Table"]["Parameters"]["metadata_location"]
    bucket, key = location[len("s3://"):].split("/", 1)
    document: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return document


def _spec(s3: Any, glue: Any, athena: Athena, name: str) -> list[tuple[str, str, str]]:
    """The current partition spec as (field name, transform, source column)."""
    metadata = _metadata(s3, glue, athena.database, name)
    schema = next(s for s in metadata["schemas"] if s["schema-id"] == metadata["current-schema-id"])
    by_id = {f["id"]: f["name"] for f in schema["fields"]}
    spec = next(s for s in metadata["partition-specs"] if s["spec-id"] == metadata["default-spec-id"])
    return [(f["name"], f["transform"], by_id[f["source-id"]]) for f in spec["fields"]]


def _scanned(athena: Athena, sql: str) -> int:
    return int(athena.execute(sql)["Statistics"]["DataScannedInBytes"])


_ALL_TYPES = ("b boolean, i int, bi bigint, f float, d double, dc decimal(10,2), dw decimal(38,10), dt date, "
              "ts timestamp, s string, bin binary, arr array<int>, m map<string,int>, st struct<x:int,y:string>, "
              "deep array<struct<k:string,v:array<map<string,double>>>>")


def test_every_type_round_trips_with_nulls(athena: Athena, bucket: str) -> None:
    name = unique("types")
    _iceberg(athena, bucket, name, _ALL_TYPES)
    athena.execute(
        f"INSERT INTO {name} VALUES (true, 7, 9007199254740993, REAL '1.5', 2.25, 12345678.91, "
        "CAST('1234567890123456789012345678.0123456789' AS decimal(38,10)), DATE '2024-02-29', "
        "TIMESTAMP '2024-01-02 03:04:05.123', 'héllo, wörld', X'DEADBEEF', ARRAY[1, NULL, 3], "
        "MAP(ARRAY['a', 'b'], ARRAY[1, 2]), CAST(ROW(1, 'z') AS ROW(x int, y varchar)), "
        "ARRAY[CAST(ROW('k', ARRAY[MAP(ARRAY['p'], ARRAY[1.5e0])]) AS ROW(k varchar, v array(map(varchar, double))))])")
    athena.execute(f"INSERT INTO {name} VALUES (false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                   "NULL, NULL, NULL, NULL)")
    athena.execute(f"INSERT INTO {name} (b, i, arr, m, st, deep) VALUES (NULL, 9, ARRAY[], MAP(), "
                   "CAST(ROW(NULL, NULL) AS ROW(x int, y varchar)), ARRAY[])")

    query = athena.execute(f"SELECT * FROM {name} ORDER BY i NULLS LAST")
    assert athena.types(query["QueryExecutionId"]) == [
        ("b", "boolean"), ("i", "integer"), ("bi", "bigint"), ("f", "float"), ("d", "double"), ("dc", "decimal"),
        ("dw", "decimal"), ("dt", "date"), ("ts", "timestamp"), ("s", "varchar"), ("bin", "varbinary"),
        ("arr", "array"), ("m", "map"), ("st", "row"), ("deep", "array")]
    page = athena.client.get_query_results(QueryExecutionId=query["QueryExecutionId"])
    precision = {c["Name"]: (c["Precision"], c["Scale"]) for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]}
    assert precision["dc"] == (10, 2) and precision["dw"] == (38, 10)
    rows = athena.result_rows(query["QueryExecutionId"])
    assert rows[1] == ["true", "7", "9007199254740993", "1.5", "2.25", "12345678.91",
                       "1234567890123456789012345678.0123456789", "2024-02-29", "2024-01-02 03:04:05.123",
                       "héllo, wörld", "de ad be ef", "[1, null, 3]", "{a=1, b=2}", "{x=1, y=z}",
                       "[{k=k, v=[{p=1.5}]}]"]
    assert rows[2] == [None, "9", None, None, None, None, None, None, None, None, None, "[]", "{}",
                       "{x=null, y=null}", "[]"]
    # Every column of the all-NULL row is NULL, nested ones included (not an empty array).
    assert rows[3] == ["false"] + [None] * 14
    nulls = athena.rows(f"SELECT count(*) FROM {name} WHERE deep IS NULL AND arr IS NULL AND m IS NULL")
    assert nulls[1] == ["1"]
    computed = athena.rows(f"SELECT st.y, element_at(m, 'b'), arr[3], deep[1].v[1]['p'], dw * 2, bi + 1, "
                           f"date_add('day', 1, dt), year(ts), to_hex(bin) FROM {name} WHERE b")
    assert computed[1] == ["z", "2", "3", "1.5", "2469135780246913578024691356.0246913578", "9007199254740994",
                           "2024-03-01", "2024", "DEADBEEF"]
    assert athena.rows(f"SELECT i FROM {name} WHERE dw > 1e20 AND dc BETWEEN 12345678 AND 12345679")[1:] == [["7"]]


def test_deeply_nested_values_and_nulls_survive_writes_and_rewrites(athena: Athena, bucket: str) -> None:
    name = unique("nested")
    _iceberg(athena, bucket, name, "id int, am array<map<string,int>>, ms map<string,array<struct<a:int>>>, "
             "sm struct<m:map<string,int>>, mm map<string,map<string,int>>, aa array<array<struct<x:int>>>")
    athena.execute(
        f"INSERT INTO {name} VALUES (1, ARRAY[MAP(ARRAY['a'], ARRAY[1]), NULL], "
        "MAP(ARRAY['k'], ARRAY[ARRAY[CAST(ROW(1) AS ROW(a int)), NULL]]), "
        "CAST(ROW(MAP(ARRAY['q'], ARRAY[2])) AS ROW(m map(varchar, int))), "
        "MAP(ARRAY['o'], ARRAY[MAP(ARRAY['i'], ARRAY[3])]), ARRAY[ARRAY[CAST(ROW(4) AS ROW(x int))], NULL]), "
        "(2, NULL, NULL, NULL, NULL, NULL)")
    athena.execute(f"INSERT INTO {name} VALUES (3, ARRAY[], MAP(), CAST(ROW(NULL) AS ROW(m map(varchar, int))), "
                   "MAP(), ARRAY[])")
    expected: list[list[str | None]] = [
        ["1", "[{a=1}, null]", "{k=[{a=1}, null]}", "{m={q=2}}", "{o={i=3}}", "[[{x=4}], null]"],
        ["2", None, None, None, None, None],
        ["3", "[]", "{}", "{m=null}", "{}", "[]"]]
    assert athena.rows(f"SELECT * FROM {name} ORDER BY id")[1:] == expected
    # A copy-on-write rewrite carries the same values into new files.
    athena.execute(f"UPDATE {name} SET id = id * 10")
    assert athena.rows(f"SELECT * FROM {name} ORDER BY id")[1:] == [[str(int(r[0] or 0) * 10), *r[1:]]
                                                                    for r in expected]


def test_ctas_from_hive_table_into_iceberg(athena: Athena, glue: Any, s3: Any, bucket: str) -> None:
    hive = unique("hive_src")
    athena.execute(f"CREATE EXTERNAL TABLE {hive} (id bigint, name string, price decimal(12,3), day date) "
                   f"STORED AS PARQUET LOCATION 's3://{bucket}/hive/{hive}/'")
    athena.execute(f"INSERT INTO {hive} VALUES (1, 'pen', 1.250, DATE '2024-05-01'), "
                   "(2, 'ink', 20.000, DATE '2024-05-02'), (3, NULL, NULL, NULL)")
    name = unique("from_hive")
    ctas = athena.execute(
        f"CREATE TABLE {name} WITH (table_type = 'ICEBERG', is_external = false, "
        f"location = 's3://{bucket}/ice/{name}/', partitioning = ARRAY['day']) AS "
        f"SELECT id, upper(name) AS name, price, day FROM {hive} WHERE id < 3")
    assert ctas["Statistics"]["DataScannedInBytes"] > 0
    assert athena.rows(f"SELECT * FROM {name} ORDER BY id") == [
        ["id", "name", "price", "day"], ["1", "PEN", "1.250", "2024-05-01"], ["2", "INK", "20.000", "2024-05-02"]]
    table = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "bigint"), ("name", "string"), ("price", "decimal(12,3)"), ("day", "date")]
    assert "external_location" not in table["Parameters"]
    assert _spec(s3, glue, athena, name) == [("day", "identity", "day")]


def test_partition_transforms_in_ddl_and_ctas_prune_files(athena: Athena, glue: Any, s3: Any, bucket: str) -> None:
    name = unique("parts")
    _iceberg(athena, bucket, name, "id bigint, s string, ts timestamp, d date",
             "PARTITIONED BY (year(d), hour(ts), bucket(4, id), truncate(2, s))")
    assert _spec(s3, glue, athena, name) == [("d_year", "year", "d"), ("ts_hour", "hour", "ts"),
                                              ("id_bucket", "bucket[4]", "id"), ("s_trunc", "truncate[2]", "s")]
    athena.execute(f"INSERT INTO {name} VALUES (1, 'apple', TIMESTAMP '2024-01-01 10:15:00', DATE '2023-06-01'), "
                   "(2, 'apricot', TIMESTAMP '2024-01-01 10:45:00', DATE '2024-06-01'), "
                   "(3, 'banana', TIMESTAMP '2024-01-01 11:00:00', DATE '2024-07-01')")
    partitions = athena.rows(f'SELECT partition.s_trunc, partition.d_year, record_count FROM "{name}$partitions" '
                             "ORDER BY 2, 1")
    assert partitions[1:] == [["ap", "53", "1"], ["ap", "54", "1"], ["ba", "54", "1"]]
    everything = _scanned(athena, f"SELECT count(*) FROM {name}")
    assert 0 < _scanned(athena, f"SELECT count(*) FROM {name} WHERE s = 'banana'") < everything
    assert 0 < _scanned(athena, f"SELECT count(*) FROM {name} WHERE d < DATE '2024-01-01'") < everything
    assert athena.rows(f"SELECT id FROM {name} WHERE ts >= TIMESTAMP '2024-01-01 11:00:00'")[1:] == [["3"]]
    assert athena.rows(f"SELECT id FROM {name} WHERE s = 'banana'")[1:] == [["3"]]

    ctas = unique("parts_ctas")
    athena.execute(
        f"CREATE TABLE {ctas} WITH (table_type='ICEBERG', location='s3://{bucket}/ice/{ctas}/', is_external=false, "
        f"partitioning=ARRAY['month(ts)', 'truncate(s, 2)', 'day(d)']) AS SELECT id, s, ts, d FROM {name}")
    assert _spec(s3, glue, athena, ctas) == [("ts_month", "month", "ts"), ("s_trunc", "truncate[2]", "s"),
                                              ("d_day", "day", "d")]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"ice/{ctas}/data/")["Contents"]]
    assert any("ts_month=2024-01/s_trunc=ba/d_day=2024-07-01/" in k for k in keys), keys
    total = _scanned(athena, f"SELECT * FROM {ctas}")
    assert 0 < _scanned(athena, f"SELECT * FROM {ctas} WHERE d = DATE '2024-07-01'") < total
    assert athena.rows(f"SELECT count(*) FROM {ctas} WHERE s LIKE 'ap%'")[1] == ["2"]


def test_time_travel_by_id_and_by_timestamp_expression(athena: Athena, bucket: str) -> None:
    name = unique("travel")
    _iceberg(athena, bucket, name, "k string, n int")
    athena.execute(f"INSERT INTO {name} VALUES ('a', 1)")
    first = athena.rows(f'SELECT snapshot_id FROM "{name}$snapshots"')[1][0]
    time.sleep(1.2)
    athena.execute(f"INSERT INTO {name} VALUES ('b', 2)")
    assert athena.rows(f"SELECT k FROM {name} FOR VERSION AS OF {first}")[1:] == [["a"]]
    time.sleep(1.1)  # both snapshots are now more than a second old
    assert athena.rows(f"SELECT k FROM {name} FOR TIMESTAMP AS OF current_timestamp - interval '1' second "
                       "ORDER BY k")[1:] == [["a"], ["b"]]
    committed = athena.rows(f'SELECT to_iso8601(committed_at) FROM "{name}$snapshots" ORDER BY committed_at')
    stamp = committed[1][0]
    assert athena.rows(f"SELECT k FROM {name} FOR TIMESTAMP AS OF from_iso8601_timestamp('{stamp}')")[1:] == [["a"]]
    assert athena.rows(f"SELECT k FROM {name} FOR TIMESTAMP AS OF from_iso8601_timestamp('{stamp}') "
                       "+ interval '0.5' second")[1:] == [["a"]]
    assert "at or before" in athena.fail(
        f"SELECT * FROM {name} FOR TIMESTAMP AS OF current_timestamp - interval '1' day")
    assert "does not exists: 42" in athena.fail(f"SELECT * FROM {name} FOR VERSION AS OF 42")
    assert "TYPE_MISMATCH" in athena.fail(f"SELECT * FROM {name} FOR TIMESTAMP AS OF '2024-01-01'")
    assert "INVALID_ARGUMENTS" in athena.fail(f"SELECT * FROM {name} FOR VERSION AS OF 'no_such_branch'")
    hive = unique("plain")
    athena.execute(f"CREATE EXTERNAL TABLE {hive} (a int) STORED AS PARQUET LOCATION 's3://{bucket}/hive/{hive}/'")
    assert "NOT_SUPPORTED" in athena.fail(f"SELECT * FROM {hive} FOR VERSION AS OF 1")


def test_update_delete_merge_with_subqueries_and_partition_moves(athena: Athena, bucket: str) -> None:
    name = unique("accounts")
    _iceberg(athena, bucket, name, "id int, region string, balance double", "PARTITIONED BY (region)")
    athena.execute(f"INSERT INTO {name} VALUES (1, 'eu', 10), (2, 'eu', 20), (3, 'us', 30), (4, 'us', 40)")
    rates = unique("rates")
    _iceberg(athena, bucket, rates, "id int, factor double")
    athena.execute(f"INSERT INTO {rates} VALUES (1, 2.0), (3, 3.0), (9, 9.0)")

    athena.execute(f"UPDATE {name} SET balance = balance * (SELECT r.factor FROM {rates} r WHERE r.id = {name}.id) "
                   f"WHERE id IN (SELECT id FROM {rates})")
    assert athena.rows(f"SELECT id, balance FROM {name} ORDER BY id")[1:] == [
        ["1", "20.0"], ["2", "20.0"], ["3", "90.0"], ["4", "40.0"]]
    athena.execute(f"UPDATE {name} SET balance = (SELECT max(factor) FROM {rates}) "
                   f"WHERE balance = (SELECT min(balance) FROM {name} WHERE region = 'us')")
    assert athena.rows(f"SELECT id, balance FROM {name} WHERE region = 'us' ORDER BY id")[1:] == [
        ["3", "90.0"], ["4", "9.0"]]

    # Moving rows between partitions: the row leaves its old partition's files and lands in the new one.
    athena.execute(f"UPDATE {name} SET region = 'ap' WHERE id = 2")
    partitions = athena.rows(f'SELECT partition.region, record_count FROM "{name}$partitions" ORDER BY 1')
    assert partitions[1:] == [["ap", "1"], ["eu", "1"], ["us", "2"]]
    assert athena.rows(f"SELECT id FROM {name} WHERE region = 'ap'")[1:] == [["2"]]
    files = [r[0] or "" for r in athena.rows(f'SELECT file_path FROM "{name}$files"')[1:]]
    assert sum("region=ap/" in f for f in files) == 1

    athena.execute(f"DELETE FROM {name} WHERE id IN (SELECT id FROM {rates} WHERE factor > 2.5)")
    assert athena.rows(f"SELECT id FROM {name} ORDER BY id")[1:] == [["1"], ["2"], ["4"]]
    athena.execute(f"DELETE FROM {name} WHERE region = 'ap'")
    assert athena.rows(f'SELECT count(*) FROM "{name}$partitions"')[1] == ["2"]

    # MERGE with only WHEN NOT MATCHED inserts the new keys and leaves matched rows alone.
    merged = athena.execute(f"MERGE INTO {name} t USING (SELECT * FROM (VALUES (1, 'xx', 0.0), (5, 'eu', 50.0)) "
                            "AS s(id, region, balance)) s ON t.id = s.id "
                            "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.region, s.balance)")
    assert merged["StatementType"] == "DML"
    assert athena.rows(f"SELECT id, region, balance FROM {name} ORDER BY id")[1:] == [
        ["1", "eu", "20.0"], ["4", "us", "9.0"], ["5", "eu", "50.0"]]

    # One target row matching two source rows must fail, and change nothing.
    before = athena.rows(f'SELECT count(*) FROM "{name}$snapshots"')[1]
    reason = athena.fail(f"MERGE INTO {name} t USING (SELECT * FROM (VALUES (1, 1.0), (1, 2.0)) AS s(id, b)) s "
                         "ON t.id = s.id WHEN MATCHED THEN UPDATE SET balance = s.b")
    assert reason.startswith("MERGE_TARGET_ROW_MULTIPLE_MATCHES")
    assert "MERGE_TARGET_ROW_MULTIPLE_MATCHES" in athena.fail(
        f"MERGE INTO {name} t USING (SELECT * FROM (VALUES (4), (4)) AS s(id)) s ON t.id = s.id "
        "WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'zz', 0)")
    assert athena.rows(f'SELECT count(*) FROM "{name}$snapshots"')[1] == before
    # Duplicates among source rows that match nothing are fine for an insert-only MERGE.
    athena.execute(f"MERGE INTO {name} t USING (SELECT * FROM (VALUES (7), (7)) AS s(id)) s ON t.id = s.id "
                   "WHEN NOT MATCHED THEN INSERT (id, region) VALUES (s.id, 'eu')")
    assert athena.rows(f"SELECT count(*) FROM {name} WHERE id = 7")[1] == ["2"]


def test_metadata_tables_have_trinos_columns(athena: Athena, bucket: str) -> None:
    name = unique("meta")
    _iceberg(athena, bucket, name, "id int, kind string", "PARTITIONED BY (kind)")
    empty = athena.execute(f'SELECT * FROM "{name}$partitions"')
    assert athena.result_rows(empty["QueryExecutionId"]) == [["partition", "record_count", "file_count",
                                                               "total_size"]]
    athena.execute(f"INSERT INTO {name} VALUES (1, 'a'), (2, 'b')")
    athena.execute(f"INSERT INTO {name} VALUES (3, 'a')")
    expected = {
        "snapshots": [("committed_at", "timestamp with time zone"), ("snapshot_id", "bigint"),
                      ("parent_id", "bigint"), ("operation", "varchar"), ("manifest_list", "varchar"),
                      ("summary", "map")],
        "history": [("made_current_at", "timestamp with time zone"), ("snapshot_id", "bigint"),
                    ("parent_id", "bigint"), ("is_current_ancestor", "boolean")],
        "manifests": [("path", "varchar"), ("length", "bigint"), ("partition_spec_id", "integer"),
                      ("added_snapshot_id", "bigint"), ("added_data_files_count", "integer"),
                      ("added_rows_count", "bigint"), ("existing_data_files_count", "integer"),
                      ("existing_rows_count", "bigint"), ("deleted_data_files_count", "integer"),
                      ("deleted_rows_count", "bigint"), ("partition_summaries", "array")],
        "partitions": [("partition", "row"), ("record_count", "bigint"), ("file_count", "bigint"),
                       ("total_size", "bigint")],
        "refs": [("name", "varchar"), ("type", "varchar"), ("snapshot_id", "bigint"),
                 ("max_reference_age_in_ms", "bigint"), ("min_snapshots_to_keep", "integer"),
                 ("max_snapshot_age_in_ms", "bigint")],
    }
    for kind, columns in expected.items():
        query = athena.execute(f'SELECT * FROM "{name}${kind}"')
        assert athena.types(query["QueryExecutionId"]) == columns, kind
    files = athena.execute(f'SELECT * FROM "{name}$files"')
    assert [c for c, _ in athena.types(files["QueryExecutionId"])][:7] == [
        "content", "file_path", "file_format", "spec_id", "partition", "record_count", "file_size_in_bytes"]

    snapshots = athena.rows(f'SELECT snapshot_id, parent_id, operation, summary[\'added-records\'] '
                            f'FROM "{name}$snapshots" ORDER BY committed_at')[1:]
    assert [(s[2], s[3]) for s in snapshots] == [("append", "2"), ("append", "1")]
    assert snapshots[1][1] == snapshots[0][0] and snapshots[0][1] is None
    history = athena.rows(f'SELECT snapshot_id, is_current_ancestor FROM "{name}$history" ORDER BY made_current_at')
    assert history[1:] == [[snapshots[0][0], "true"], [snapshots[1][0], "true"]]
    assert athena.rows(f'SELECT name, type, snapshot_id FROM "{name}$refs"')[1:] == [["main", "BRANCH",
                                                                                      snapshots[1][0]]]
    manifests = athena.rows(f'SELECT added_rows_count, added_data_files_count FROM "{name}$manifests" '
                            "ORDER BY added_rows_count")
    assert manifests[1:] == [["1", "1"], ["2", "2"]]
    partitions = athena.rows(f'SELECT partition.kind, record_count, file_count, total_size > 0 '
                             f'FROM "{name}$partitions" ORDER BY 1')
    assert partitions[1:] == [["a", "2", "2", "true"], ["b", "1", "1", "true"]]
    assert athena.rows(f'SELECT sum(record_count) FROM "{name}$files"')[1] == ["3"]
    recent = athena.rows(f'SELECT count(*) FROM "{name}$snapshots" '
                         "WHERE committed_at > current_timestamp - interval '1' hour")
    assert recent[1] == ["2"]
    plain = unique("meta_plain")
    _iceberg(athena, bucket, plain, "id int")
    athena.execute(f"INSERT INTO {plain} VALUES (1)")
    assert athena.rows(f'SELECT * FROM "{plain}$partitions"')[0] == ["record_count", "file_count", "total_size"]
    plain_files = athena.rows(f'SELECT * FROM awsdatacatalog.{athena.database}."{plain}$files"')
    assert "partition" not in plain_files[0] and len(plain_files) == 2
    assert plain_files[1][plain_files[0].index("record_count")] == "1"
    assert "TABLE_NOT_FOUND" in athena.fail(f'SELECT * FROM "{name}$nonsense"')


def test_show_create_describe_properties_and_columns(athena: Athena, glue: Any, s3: Any, bucket: str) -> None:
    name = unique("shown")
    _iceberg(athena, bucket, name, "id bigint, kind string COMMENT 'what it is', ts timestamp, tags array<string>",
             "PARTITIONED BY (kind, day(ts), bucket(8, id))", ", 'vacuum_max_snapshot_age_seconds'='600', "
             "'write_compression'='snappy'")
    lines = [r[0] for r in athena.rows(f"SHOW CREATE TABLE {name}")]
    text = "\n".join(line or "" for line in lines)
    assert text.startswith(f"CREATE TABLE {athena.database}.{name} (\n  `id` bigint,\n"
                           "  `kind` string COMMENT 'what it is',\n  `ts` timestamp,\n  `tags` array<string>)\n")
    assert "PARTITIONED BY (`kind`, day(`ts`), bucket(8, `id`))\n" in text
    assert f"LOCATION 's3://{bucket}/ice/{name}'\n" in text
    assert "'table_type'='iceberg'" in text and "'write_compression'='snappy'" in text
    assert "'vacuum_max_snapshot_age_seconds'='600'" in text
    assert "EXTERNAL" not in text and "SERDE" not in text
    # The statement SHOW CREATE TABLE prints creates the same table again.
    copy = unique("shown_copy")
    athena.execute(text.replace(f"{athena.database}.{name}", copy).replace(f"/ice/{name}'", f"/ice/{copy}'"))
    assert _spec(s3, glue, athena, copy) == _spec(s3, glue, athena, name)

    described = athena.rows(f"DESCRIBE {name}")
    assert described == [
        ["id", "bigint", ""], ["kind", "string", "what it is"], ["ts", "timestamp", ""],
        ["tags", "array<string>", ""], [""], ["# Partition Transforms"],
        ["# field_name", "field_transform", "column_name"], ["kind", "identity", "kind"],
        ["ts_day", "day", "ts"], ["id_bucket", "bucket[8]", "id"]]
    properties = {r[0]: r[1] if len(r) > 1 else None for r in athena.rows(f"SHOW TBLPROPERTIES {name}")}
    assert properties["table_type"] == "ICEBERG"
    assert properties["vacuum_max_snapshot_age_seconds"] == "600"
    assert properties["write.parquet.compression-codec"] == "snappy"
    assert athena.rows(f"SHOW TBLPROPERTIES {name}('table_type')") == [["ICEBERG"]]
    athena.execute(f"ALTER TABLE {name} UNSET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds')")
    assert "vacuum_max_snapshot_age_seconds" not in [r[0] for r in athena.rows(f"SHOW TBLPROPERTIES {name}")]
    assert "INVALID_TABLE_PROPERTY" in athena.fail(f"ALTER TABLE {name} UNSET TBLPROPERTIES ('never_set')")
    athena.execute(f"ALTER TABLE {name} UNSET TBLPROPERTIES IF EXISTS ('never_set')")
    athena.execute(f"ALTER TABLE {name} DROP COLUMN tags")
    assert athena.rows(f"SHOW COLUMNS IN {name}") == [["id"], ["kind"], ["ts"]]
    assert [r[0] for r in athena.rows(f"DESCRIBE {name}")][:4] == ["id", "kind", "ts", ""]


def test_pyathena_cursor_reads_and_writes_iceberg(fogbank: FogbankServer, results_bucket: str, athena: Athena,
                                                  bucket: str) -> None:
    pyathena = pytest.importorskip("pyathena")
    import datetime

    name = unique("pya")
    connection = pyathena.connect(s3_staging_dir=f"s3://{results_bucket}/pyathena/", region_name="us-east-1",
                                  endpoint_url=fogbank.endpoint_url, aws_access_key_id="test",
                                  aws_secret_access_key="test", poll_interval=0.05, schema_name=athena.database)
    cursor = connection.cursor()
    cursor.execute(f"CREATE TABLE {name} (id int, amount decimal(20,4), at timestamp, tags array<string>) "
                   f"LOCATION 's3://{bucket}/ice/{name}/' TBLPROPERTIES ('table_type'='ICEBERG')")
    cursor.execute(f"INSERT INTO {name} VALUES (%(id)s, CAST(%(amount)s AS decimal(20,4)), "
                   "TIMESTAMP '2024-03-04 05:06:07.890', ARRAY['x'])", {"id": 1, "amount": "12345678901234.5678"})
    assert cursor.rowcount == 1
    cursor.execute(f"INSERT INTO {name} VALUES (2, NULL, NULL, NULL)")
    cursor.execute(f"SELECT id, amount, at, tags FROM {name} ORDER BY id")
    assert [(c[0], c[1]) for c in cursor.description] == [("id", "integer"), ("amount", "decimal"),
                                                          ("at", "timestamp"), ("tags", "array")]
    assert cursor.fetchall() == [
        (1, decimal.Decimal("12345678901234.5678"), datetime.datetime(2024, 3, 4, 5, 6, 7, 890000), ["x"]),
        (2, None, None, None)]
    cursor.execute(f"UPDATE {name} SET amount = 1 WHERE id = %(id)s", {"id": 2})
    cursor.execute(f'SELECT operation FROM "{name}$snapshots" ORDER BY committed_at')
    assert [r[0] for r in cursor.fetchall()] == ["append", "append", "overwrite"]


def test_glue_record_and_pyiceberg_reads_the_files(athena: Athena, glue: Any, s3: Any, bucket: str,
                                                  fogbank: FogbankServer, tmp_path: Path) -> None:
    from pyiceberg.table import StaticTable

    name = unique("portable")
    _iceberg(athena, bucket, name, "id bigint, label string, price decimal(9,2), day date, st struct<a:int>",
             "PARTITIONED BY (day)")
    athena.execute(f"INSERT INTO {name} VALUES (1, 'one', 1.10, DATE '2024-01-01', CAST(ROW(5) AS ROW(a int))), "
                   "(2, 'two', 2.20, DATE '2024-01-02', NULL)")
    athena.execute(f"UPDATE {name} SET label = 'TWO' WHERE id = 2")
    athena.execute(f"ALTER TABLE {name} ADD COLUMNS (note string)")

    table = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]
    columns = table["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("id", "bigint"), ("label", "string"), ("price", "decimal(9,2)"), ("day", "date"), ("st", "struct<a:int>"),
        ("note", "string")]
    assert [c["Parameters"]["iceberg.field.id"] for c in columns] == ["1", "2", "3", "4", "5", "7"]
    assert {c["Parameters"]["iceberg.field.current"] for c in columns} == {"true"}
    assert {c["Parameters"]["iceberg.field.optional"] for c in columns} == {"true"}
    parameters = table["Parameters"]
    assert parameters["table_type"] == "ICEBERG"
    assert parameters["metadata_location"].startswith(f"s3://{bucket}/ice/{name}/metadata/")
    assert parameters["metadata_location"].endswith(".metadata.json")
    assert parameters["previous_metadata_location"] != parameters["metadata_location"]
    assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/ice/{name}"

    # pyiceberg on its own reads the metadata fetched through S3 and the data files it points at.
    key = parameters["metadata_location"][len(f"s3://{bucket}/"):]
    local = tmp_path / "v.metadata.json"
    local.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    static = StaticTable.from_metadata(str(local), properties={
        "s3.endpoint": fogbank.endpoint_url, "s3.access-key-id": "test", "s3.secret-access-key": "test",
        "s3.region": "us-east-1", "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"})
    assert static.metadata.format_version == 2
    assert [f.name for f in static.schema().fields] == ["id", "label", "price", "day", "st", "note"]
    assert [(f.name, str(f.transform)) for f in static.spec().fields] == [("day", "identity")]
    rows = sorted(static.scan(selected_fields=("id", "label", "price", "day", "st", "note")).to_arrow().to_pylist(),
                  key=lambda r: r["id"])
    import datetime

    assert rows == [
        {"id": 1, "label": "one", "price": decimal.Decimal("1.10"), "day": datetime.date(2024, 1, 1),
         "st": {"a": 5}, "note": None},
        {"id": 2, "label": "TWO", "price": decimal.Decimal("2.20"), "day": datetime.date(2024, 1, 2),
         "st": None, "note": None}]
    assert [s.summary.operation.value if s.summary else None for s in static.snapshots()] == ["append", "overwrite"]
    first = static.snapshots()[0].snapshot_id
    assert len(static.scan(snapshot_id=first).to_arrow()) == 2


def test_concurrent_writers_never_lose_committed_rows(athena: Athena, bucket: str) -> None:
    name = unique("race")
    _iceberg(athena, bucket, name, "id int, who string")
    athena.execute(f"INSERT INTO {name} VALUES (0, 'seed')")
    writers = [athena.start(f"INSERT INTO {name} SELECT x, 'w{w}' FROM UNNEST(sequence({w * 100 + 1}, "
                            f"{w * 100 + 50})) AS t(x)") for w in range(4)]
    for query_id in writers:
        assert athena.wait(query_id)["Status"]["State"] == "SUCCEEDED"
    assert athena.rows(f"SELECT who, count(*) FROM {name} GROUP BY who ORDER BY who")[1:] == [
        ["seed", "1"], ["w0", "50"], ["w1", "50"], ["w2", "50"], ["w3", "50"]]
    assert athena.rows(f'SELECT count(*) FROM "{name}$snapshots"')[1] == ["5"]

    # An UPDATE racing INSERTs: the UPDATE may lose (retryable ICEBERG_COMMIT_ERROR), the rows never do.
    outcomes: list[dict[str, Any]] = []

    def run(sql: str) -> None:
        outcomes.append(athena.wait(athena.start(sql)))

    threads = [threading.Thread(target=run, args=(f"UPDATE {name} SET who = 'updated' WHERE id <= 100",)),
               threading.Thread(target=run, args=(f"INSERT INTO {name} VALUES (1000, 'late')",)),
               threading.Thread(target=run, args=(f"INSERT INTO {name} VALUES (1001, 'late')",))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_kind = {o["Query"].split()[0]: o for o in outcomes}
    assert len(outcomes) == 3
    for outcome in outcomes:
        status = outcome["Status"]
        if status["State"] != "SUCCEEDED":
            assert outcome["Query"].startswith("UPDATE"), status
            assert status["StateChangeReason"].startswith("ICEBERG_COMMIT_ERROR")
            assert status["AthenaError"]["Retryable"] is True
    counts = {str(who): int(n or 0) for who, n in athena.rows(f"SELECT who, count(*) FROM {name} GROUP BY who")[1:]}
    assert counts.get("late") == 2
    assert sum(counts.values()) == 203
    if by_kind["UPDATE"]["Status"]["State"] == "SUCCEEDED":
        assert counts.get("updated") == 51 and "w0" not in counts
    else:
        assert counts.get("w0") == 50 and "updated" not in counts


def test_mistakes_fail_with_athenas_errors_and_create_nothing(athena: Athena, glue: Any, s3: Any,
                                                             bucket: str) -> None:
    def create(extra: str = "", props: str = "", location: str | None = None) -> str:
        name = unique("bad")
        where = f"LOCATION '{location or f's3://{bucket}/ice/{name}/'}'" if location != "" else ""
        reason = athena.fail(f"CREATE TABLE {name} (a int, b string, ts timestamp) {extra} {where} "
                             f"TBLPROPERTIES ('table_type'='ICEBERG'{props})")
        assert name not in [t["Name"] for t in glue.get_tables(DatabaseName=athena.database)["TableList"]]
        return reason

    assert "COLUMN_NOT_FOUND" in create("PARTITIONED BY (nope)")
    assert "COLUMN_NOT_FOUND" in create("PARTITIONED BY (day(missing))")
    assert create("PARTITIONED BY (frobnicate(a))").startswith("NOT_SUPPORTED")
    assert "INVALID_TABLE_PROPERTY" in create("PARTITIONED BY (bucket(0, a))")
    assert "NOT_SUPPORTED" in create("PARTITIONED BY (year(b))")
    assert "more than one partition transform" in create("PARTITIONED BY (b, truncate(2, b))")
    assert create(props=", 'format'='ORC'").startswith("NOT_SUPPORTED")
    assert "INVALID_TABLE_PROPERTY" in create(props=", 'no_such_property'='1'")
    assert "LOCATION" in create(location="")
    assert "does not exist" in create(location="s3://no-such-bucket-anywhere/ice/x/")
    assert s3.list_objects_v2(Bucket=bucket, Prefix="ice/bad").get("KeyCount") == 0

    ctas = unique("bad_ctas")
    assert "COLUMN_NOT_FOUND" in athena.fail(
        f"CREATE TABLE {ctas} WITH (table_type='ICEBERG', location='s3://{bucket}/ice/{ctas}/', "
        "partitioning=ARRAY['nope']) AS SELECT 1 AS a")
    assert "INVALID_TABLE_PROPERTY" in athena.fail(
        f"CREATE TABLE {ctas} WITH (table_type='ICEBERG', location='s3://{bucket}/ice/{ctas}/', "
        "partitioning=ARRAY['bucket(a)']) AS SELECT 1 AS a")
    assert athena.fail(f"CREATE TABLE {ctas} WITH (table_type='ICEBERG', location='s3://{bucket}/ice/{ctas}/', "
                       "format='ORC') AS SELECT 1 AS a").startswith("NOT_SUPPORTED")

    name = unique("target")
    _iceberg(athena, bucket, name, "a int, b string")
    athena.execute(f"INSERT INTO {name} VALUES (1, 'kept')")
    assert "Table: 2 columns, Query: 3 columns" in athena.fail(f"INSERT INTO {name} VALUES (1, 'x', 3)")
    assert "Table: 2 columns, Query: 1 columns" in athena.fail(f"INSERT INTO {name} VALUES (1)")
    assert "COLUMN_NOT_FOUND" in athena.fail(f"INSERT INTO {name} (a, nope) VALUES (1, 'x')")
    assert athena.fail(f"INSERT INTO {name} VALUES ('not a number', 'x')").startswith("INVALID_CAST_ARGUMENT")
    athena.execute(f"INSERT INTO {name} (b) VALUES ('only b')")
    assert athena.rows(f"SELECT a, b FROM {name} ORDER BY b")[1:] == [["1", "kept"], [None, "only b"]]
    assert athena.rows(f'SELECT count(*) FROM "{name}$snapshots"')[1] == ["2"]

    missing = unique("missing")
    dropped = athena.execute(f"DROP TABLE IF EXISTS {missing}")
    assert dropped["StatementType"] == "DDL"
    assert "Table not found" in athena.fail(f"DROP TABLE {missing}")
    athena.execute(f"DROP TABLE IF EXISTS {name}")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"ice/{name}/").get("KeyCount") == 0


def test_racing_updates_of_the_same_rows_never_duplicate_them(athena: Athena, bucket: str) -> None:
    name = unique("race_upd")
    _iceberg(athena, bucket, name, "id int, n int")
    athena.execute(f"INSERT INTO {name} SELECT x, 0 FROM UNNEST(sequence(1, 20)) AS t(x)")
    updates = [athena.start(f"UPDATE {name} SET n = n + {step} WHERE id <= 10") for step in (1, 100)]
    outcomes = [athena.wait(q)["Status"] for q in updates]
    for status in outcomes:
        assert status["State"] == "SUCCEEDED" or status["StateChangeReason"].startswith("ICEBERG_COMMIT_ERROR")
    assert any(status["State"] == "SUCCEEDED" for status in outcomes)
    rows = athena.rows(f"SELECT count(*), count(DISTINCT id), sum(n) FROM {name}")[1]
    applied = sum(step for step, status in zip((1, 100), outcomes, strict=True) if status["State"] == "SUCCEEDED")
    assert rows == ["20", "20", str(10 * applied)]


def test_rename_keeps_data_history_and_location(athena: Athena, glue: Any, bucket: str) -> None:
    name, renamed, other = unique("before"), unique("after"), unique("taken")
    _iceberg(athena, bucket, name, "id int")
    _iceberg(athena, bucket, other, "id int")
    athena.execute(f"INSERT INTO {name} VALUES (1)")
    athena.execute(f"INSERT INTO {name} VALUES (2)")
    assert "ALREADY_EXISTS" in athena.fail(f"ALTER TABLE {name} RENAME TO {other}")
    athena.execute(f"ALTER TABLE {name} RENAME TO {renamed}")
    assert "TABLE_NOT_FOUND" in athena.fail(f"SELECT * FROM {name}")
    assert athena.rows(f"SELECT id FROM {renamed} ORDER BY id")[1:] == [["1"], ["2"]]
    first = athena.rows(f'SELECT snapshot_id FROM "{renamed}$snapshots" ORDER BY committed_at')[1][0]
    assert athena.rows(f"SELECT id FROM {renamed} FOR VERSION AS OF {first}")[1:] == [["1"]]
    record = glue.get_table(DatabaseName=athena.database, Name=renamed)["Table"]
    assert record["StorageDescriptor"]["Location"] == f"s3://{bucket}/ice/{name}"
    athena.execute(f"INSERT INTO {renamed} VALUES (3)")
    assert athena.rows(f"SELECT count(*) FROM {renamed}")[1] == ["3"]


def test_properties_and_metadata_log_entries_tables(athena: Athena, bucket: str) -> None:
    name = unique("logged")
    _iceberg(athena, bucket, name, "k string, n int")
    athena.execute(f"ALTER TABLE {name} SET TBLPROPERTIES ('write_compression'='zstd', 'fb.owner'='ana')")
    properties = dict(athena.rows(f'SELECT key, value FROM "{name}$properties"')[1:])
    assert properties["fb.owner"] == "ana"
    athena.execute(f"INSERT INTO {name} VALUES ('a', 1)")
    athena.execute(f"INSERT INTO {name} VALUES ('b', 2)")
    log = athena.rows(f'SELECT file, latest_snapshot_id, latest_schema_id, latest_sequence_number, '
                      f'typeof(timestamp) FROM "{name}$metadata_log_entries" ORDER BY timestamp, '
                      f'latest_sequence_number')[1:]
    snapshots = [r[0] for r in athena.rows(f'SELECT snapshot_id FROM "{name}$snapshots" ORDER BY committed_at')[1:]]
    assert len(log) >= 4  # created, properties set, two inserts: one metadata file each
    assert all(row[0].startswith(f"s3://{bucket}/") and row[0].endswith(".metadata.json") for row in log)
    assert [row[1] for row in log[-2:]] == snapshots  # the last two files made the two snapshots current
    assert [row[3] for row in log[-2:]] == ["1", "2"]
    assert log[0][1] is None
    assert {row[4] for row in log} == {"timestamp(3) with time zone"}
