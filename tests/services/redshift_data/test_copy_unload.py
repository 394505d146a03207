"""COPY from and UNLOAD to fogbank's own S3, checked through boto3 and pyarrow."""

from __future__ import annotations

import gzip
import io
import json
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tests.services.redshift_data.conftest import Sql

ROLE = "IAM_ROLE 'arn:aws:iam::000000000000:role/redshift'"


def _put(s3: Any, bucket: str, key: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_copy_csv_with_header_quotes_and_prefix(sql: Sql, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "in/sales/part-1.csv", b'id,name,amount,day\n1,"Smith, J",10.50,2024-01-02\n2,,3,\n')
    _put(s3, bucket, "in/sales/part-2.csv", b'id,name,amount,day\n3,"say ""hi""",0.01,2024-12-31\n')
    _put(s3, bucket, "in/other/ignored.csv", b"id\n99\n")
    sql.ok("CREATE TABLE sales (id INT, name VARCHAR(30), amount DECIMAL(8,2), day DATE)")
    copied = sql.ok(f"COPY sales FROM 's3://{bucket}/in/sales/' {ROLE} FORMAT AS CSV IGNOREHEADER 1 REGION 'us-east-1'")
    assert copied["ResultRows"] == 3
    assert sql.rows("SELECT id, name, amount, day FROM sales ORDER BY id") == [
        [1, "Smith, J", "10.50", "2024-01-02"], [2, "", "3.00", None], [3, 'say "hi"', "0.01", "2024-12-31"]]


def test_copy_pipe_delimited_text_gzip(sql: Sql, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "text/data.txt.gz", gzip.compress(b"1|alpha|t\n2|\\N|f\n"))
    sql.ok("CREATE TABLE words (n SMALLINT, word VARCHAR(10), flag BOOLEAN)")
    sql.ok(f"COPY words FROM 's3://{bucket}/text/data.txt.gz' CREDENTIALS 'aws_iam_role=arn:aws:iam::0:role/r' GZIP")
    assert sql.rows("SELECT n, word, flag FROM words ORDER BY n") == [[1, "alpha", True], [2, None, False]]


def test_copy_with_column_list_and_delimiter(sql: Sql, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "tab.tsv", b"x\t5\ny\t6\n")
    sql.ok("CREATE TABLE pairs (id BIGINT IDENTITY(1,1), label VARCHAR(5), value INT, extra VARCHAR(5) DEFAULT 'd')")
    sql.ok(f"COPY pairs (label, value) FROM 's3://{bucket}/tab.tsv' {ROLE} DELIMITER '\\t'")
    assert sql.rows("SELECT id, label, value, extra FROM pairs ORDER BY id") == [[1, "x", 5, "d"], [2, "y", 6, "d"]]


def test_copy_json_auto_and_jsonpaths(sql: Sql, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "json/a.json", b'{"id": 1, "name": "ann", "tags": ["x", "y"], "ignored": true}\n'
                                    b'{"id": 2, "name": null}\n')
    sql.ok("CREATE TABLE people (id INT, name VARCHAR(10), tags SUPER)")
    sql.ok(f"COPY people FROM 's3://{bucket}/json/' {ROLE} FORMAT AS JSON 'auto'")
    assert sql.rows("SELECT id, name, tags FROM people ORDER BY id") == [[1, "ann", '["x","y"]'], [2, None, None]]
    _put(s3, bucket, "paths/jsonpaths.json", json.dumps({"jsonpaths": ["$.user.id", "$.user.display"]}).encode())
    _put(s3, bucket, "nested/b.json", b'{"user": {"id": 7, "display": "Zed"}}')
    sql.ok("CREATE TABLE users (uid INT, shown VARCHAR(10))")
    sql.ok(f"COPY users FROM 's3://{bucket}/nested/b.json' {ROLE} JSON 's3://{bucket}/paths/jsonpaths.json'")
    assert sql.rows("SELECT uid, shown FROM users") == [[7, "Zed"]]


def test_copy_parquet_and_manifest(sql: Sql, s3: Any, bucket: str) -> None:
    for index, rows in enumerate(([1, 2], [3])):
        table = pa.table({"k": pa.array(rows, pa.int64()), "v": pa.array([f"v{r}" for r in rows])})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        _put(s3, bucket, f"pq/file-{index}.parquet", sink.getvalue())
    manifest = {"entries": [{"url": f"s3://{bucket}/pq/file-1.parquet", "mandatory": True}]}
    _put(s3, bucket, "manifests/only-second", json.dumps(manifest).encode())
    sql.ok("CREATE TABLE facts (key BIGINT, val VARCHAR(10))")
    assert sql.ok(f"COPY facts FROM 's3://{bucket}/pq/' {ROLE} FORMAT AS PARQUET")["ResultRows"] == 3
    sql.ok("CREATE TABLE picked (key BIGINT, val VARCHAR(10))")
    sql.ok(f"COPY picked FROM 's3://{bucket}/manifests/only-second' {ROLE} FORMAT PARQUET MANIFEST")
    assert sql.rows("SELECT key, val FROM facts ORDER BY key") == [[1, "v1"], [2, "v2"], [3, "v3"]]
    assert sql.rows("SELECT key, val FROM picked") == [[3, "v3"]]


def test_copy_failures_leave_the_table_unchanged(sql: Sql, s3: Any, bucket: str) -> None:
    _put(s3, bucket, "bad.csv", b"1\n2\nnot-a-number\n")
    sql.ok("CREATE TABLE nums (n INT)")
    sql.ok("INSERT INTO nums VALUES (0)")
    error = sql.error(f"COPY nums FROM 's3://{bucket}/bad.csv' {ROLE} CSV")
    assert error.startswith("ERROR: Load into table 'nums' failed. Check 'stl_load_errors' system table for details.")
    assert sql.rows("SELECT n FROM nums") == [[0]]
    missing = sql.error(f"COPY nums FROM 's3://{bucket}/nothing-here/' {ROLE} CSV")
    assert missing == "ERROR: The specified S3 prefix 'nothing-here/' does not exist"
    assert "NoSuchBucket" in sql.error(f"COPY nums FROM 's3://no-such-bucket-anywhere/x' {ROLE} CSV")


def test_unload_parquet_readable_by_pyarrow(sql: Sql, s3: Any, bucket: str) -> None:
    sql.ok("CREATE TABLE orders (id INT, customer VARCHAR(10), total DECIMAL(10,2), placed DATE)")
    sql.ok("INSERT INTO orders VALUES (1, 'ann', 12.50, '2024-01-01'), (2, 'bob', 3.00, '2024-01-02'), "
           "(3, 'ann', 7.25, '2024-01-03')")
    unloaded = sql.ok(f"UNLOAD ('SELECT id, customer, total FROM orders WHERE customer = ''ann'' ORDER BY id') "
                      f"TO 's3://{bucket}/out/orders_' {ROLE} FORMAT AS PARQUET")
    assert unloaded["ResultRows"] == 2
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]]
    assert keys == ["out/orders_0000_part_00.parquet"]
    body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == ["id", "customer", "total"]
    assert table.to_pylist() == [{"id": 1, "customer": "ann", "total": Decimal("12.50")},
                                 {"id": 3, "customer": "ann", "total": Decimal("7.25")}]
    again = sql.error(f"UNLOAD ('SELECT 1') TO 's3://{bucket}/out/orders_' {ROLE} FORMAT PARQUET")
    assert "Specified unload destination on S3 is not empty" in again
    sql.ok(f"UNLOAD ('SELECT 1 AS one') TO 's3://{bucket}/out/orders_' {ROLE} FORMAT PARQUET ALLOWOVERWRITE")
    body = s3.get_object(Bucket=bucket, Key="out/orders_0000_part_00.parquet")["Body"].read()
    assert pq.read_table(io.BytesIO(body)).to_pylist() == [{"one": 1}]


def test_unload_csv_with_header_and_partitions(sql: Sql, s3: Any, bucket: str) -> None:
    sql.ok("CREATE TABLE visits (site VARCHAR(5), day INT, hits INT)")
    sql.ok("INSERT INTO visits VALUES ('a', 1, 10), ('a', 2, 20), ('b', 1, 5)")
    sql.ok(f"UNLOAD ('SELECT day, hits FROM visits WHERE site = ''a'' ORDER BY day') TO 's3://{bucket}/csv/v_' "
           f"{ROLE} CSV HEADER PARALLEL OFF")
    assert s3.get_object(Bucket=bucket, Key="csv/v_000")["Body"].read() == b"day,hits\n1,10\n2,20\n"
    sql.ok(f"UNLOAD ('SELECT site, day, hits FROM visits') TO 's3://{bucket}/parts/' {ROLE} FORMAT PARQUET "
           "PARTITION BY (site)")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="parts/")["Contents"])
    assert keys == ["parts/site=a/0000_part_00.parquet", "parts/site=b/0000_part_00.parquet"]
    rows = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())).to_pylist()
    assert sorted(rows, key=lambda r: r["day"]) == [{"day": 1, "hits": 10}, {"day": 2, "hits": 20}]


def test_unload_then_copy_round_trip(sql: Sql, s3: Any, bucket: str) -> None:
    sql.ok("CREATE TABLE src (id INT, note VARCHAR(20))")
    sql.ok("INSERT INTO src VALUES (1, 'one'), (2, NULL), (3, 'three, with comma')")
    sql.ok(f"UNLOAD ('SELECT * FROM src') TO 's3://{bucket}/rt/src_' {ROLE} FORMAT CSV")
    sql.ok("CREATE TABLE dst (id INT, note VARCHAR(20))")
    sql.ok(f"COPY dst FROM 's3://{bucket}/rt/src_' {ROLE} CSV")
    assert sql.rows("SELECT id, note FROM dst ORDER BY id") == [[1, "one"], [2, ""], [3, "three, with comma"]]
