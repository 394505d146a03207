"""Table formats and partitions: CSV (LazySimpleSerDe and OpenCSVSerde, header lines, gzip), JSON, ORC,
Parquet by name, Hive partitions from ALTER TABLE, MSCK REPAIR and the Glue API, and partition pruning."""

from __future__ import annotations

import gzip
import io
from typing import Any

import pyarrow as pa
import pyarrow.orc as orc
from tests.services.athena.conftest import Athena, parquet_bytes


def test_csv_with_header_and_open_csv_serde(athena: Athena, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="csv/a.csv", Body=b'id,name,amount\n1,"Smith, Ann",10.5\n2,"Bob ""B""",\n')
    athena.execute(
        "CREATE EXTERNAL TABLE quoted (id int, name string, amount double) "
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' "
        "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\') "
        f"STORED AS TEXTFILE LOCATION 's3://{bucket}/csv/' TBLPROPERTIES ('skip.header.line.count' = '1')")
    assert athena.rows("SELECT id, name, amount FROM quoted ORDER BY id") == [
        ["id", "name", "amount"], ["1", "Smith, Ann", "10.5"], ["2", 'Bob "B"', None]]


def test_lazy_simple_serde_delimiter_nulls_and_gzip(athena: Athena, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="pipe/part1.txt", Body=b"1|alpha|x,y\n2|\\N|\n")
    s3.put_object(Bucket=bucket, Key="pipe/part2.txt.gz", Body=gzip.compress(b"3||z\nbad|gamma|\n"))
    s3.put_object(Bucket=bucket, Key="pipe/_SUCCESS", Body=b"")
    athena.execute(
        "CREATE EXTERNAL TABLE piped (id int, name string, letters array<string>) "
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' COLLECTION ITEMS TERMINATED BY ',' "
        f"LOCATION 's3://{bucket}/pipe/'")
    rows = athena.rows("SELECT id, name, letters FROM piped ORDER BY id NULLS LAST, name")
    assert rows == [["id", "name", "letters"], ["1", "alpha", "[x, y]"], ["2", None, None], ["3", "", "[z]"],
                    [None, "gamma", None]]


def test_json_keys_match_case_insensitively(athena: Athena, s3: Any, bucket: str) -> None:
    lines = b'{"Id": 1, "Name": "ann", "Tags": ["a"], "Pos": {"x": 1.5}}\n{"Id": 2, "Name": "bob", "extra": true}\n'
    s3.put_object(Bucket=bucket, Key="json/data.json", Body=lines)
    athena.execute("CREATE EXTERNAL TABLE people_json (id bigint, name string, tags array<string>, "
                   "pos struct<x:double>) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
                   f"LOCATION 's3://{bucket}/json/'")
    rows = athena.rows("SELECT id, name, tags, pos.x FROM people_json ORDER BY name")
    assert rows[0] == ["id", "name", "tags", "x"]
    assert rows[1:] == [["1", "ann", "[a]", "1.5"], ["2", "bob", None, None]]


def test_orc_and_parquet_schema_by_name(athena: Athena, s3: Any, bucket: str) -> None:
    buffer = io.BytesIO()
    orc.write_table(pa.table({"Name": ["x", "y"], "n": pa.array([5, 6], pa.int32())}), buffer)
    s3.put_object(Bucket=bucket, Key="orc/f.orc", Body=buffer.getvalue())
    athena.execute(f"CREATE EXTERNAL TABLE o (n int, name string) STORED AS ORC LOCATION 's3://{bucket}/orc/'")
    assert athena.rows("SELECT name, n FROM o ORDER BY n") == [["name", "n"], ["x", "5"], ["y", "6"]]
    s3.put_object(Bucket=bucket, Key="pq/1.parquet", Body=parquet_bytes(pa.table({"b": ["one"], "a": [1]})))
    s3.put_object(Bucket=bucket, Key="pq/2.parquet", Body=parquet_bytes(pa.table({"a": [2]})))
    athena.execute(f"CREATE EXTERNAL TABLE p (a bigint, b string, c int) STORED AS PARQUET "
                   f"LOCATION 's3://{bucket}/pq/'")
    assert athena.rows("SELECT a, b, c FROM p ORDER BY a") == [["a", "b", "c"], ["1", "one", None], ["2", None, None]]


def _partitioned_data(s3: Any, bucket: str) -> dict[str, int]:
    sizes = {}
    for year, month, value in (("2023", "12", 1), ("2024", "01", 2), ("2024", "02", 3)):
        body = parquet_bytes(pa.table({"v": [value, value * 10]}))
        key = f"events/year={year}/month={month}/data.parquet"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        sizes[f"{year}-{month}"] = len(body)
    return sizes


def test_partitions_added_by_alter_table_and_pruned(athena: Athena, s3: Any, bucket: str, glue: Any) -> None:
    sizes = _partitioned_data(s3, bucket)
    athena.execute(f"CREATE EXTERNAL TABLE events (v bigint) PARTITIONED BY (year string, month string) "
                   f"STORED AS PARQUET LOCATION 's3://{bucket}/events/'")
    assert athena.rows("SELECT count(*) FROM events") == [["_col0"], ["0"]]
    athena.execute("ALTER TABLE events ADD PARTITION (year = '2023', month = '12') "
                   "PARTITION (year = '2024', month = '01') "
                   f"LOCATION 's3://{bucket}/events/year=2024/month=01/'")
    partitions = glue.get_partitions(DatabaseName=athena.database, TableName="events")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [["2023", "12"], ["2024", "01"]]
    assert athena.rows("SELECT year, month, sum(v) FROM events GROUP BY 1, 2 ORDER BY 1, 2") == [
        ["year", "month", "_col2"], ["2023", "12", "11"], ["2024", "01", "22"]]
    execution = athena.execute("SELECT sum(v) FROM events WHERE year = '2024' AND v > 0")
    assert execution["Statistics"]["DataScannedInBytes"] == sizes["2024-01"]
    assert athena.result_rows(execution["QueryExecutionId"]) == [["_col0"], ["22"]]
    rows = athena.rows("SHOW PARTITIONS events")
    assert sorted(rows) == [["year=2023/month=12"], ["year=2024/month=01"]]
    athena.execute("ALTER TABLE events DROP PARTITION (year = '2023', month = '12')")
    assert athena.rows("SELECT DISTINCT year FROM events") == [["year"], ["2024"]]


def test_msck_repair_table_finds_hive_partitions(athena: Athena, s3: Any, bucket: str) -> None:
    sizes = _partitioned_data(s3, bucket)
    athena.execute(f"CREATE EXTERNAL TABLE ev (v bigint) PARTITIONED BY (year int, month string) "
                   f"STORED AS PARQUET LOCATION 's3://{bucket}/events/'")
    athena.execute("MSCK REPAIR TABLE ev")
    assert athena.rows("SELECT year, count(*) FROM ev GROUP BY year ORDER BY year") == [
        ["year", "_col1"], ["2023", "2"], ["2024", "4"]]
    execution = athena.execute("SELECT max(v) FROM ev WHERE year > 2023 AND month IN ('02')")
    assert execution["Statistics"]["DataScannedInBytes"] == sizes["2024-02"]
    assert athena.result_rows(execution["QueryExecutionId"]) == [["_col0"], ["30"]]


def test_table_created_through_glue_api(athena: Athena, glue: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="tsv/x.tsv", Body=b"k\tv\na\t1\nb\t2\n")
    glue.create_table(DatabaseName=athena.database, TableInput={
        "Name": "from_glue", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"skip.header.line.count": "1", "classification": "tsv"},
        "StorageDescriptor": {
            "Columns": [{"Name": "k", "Type": "string"}, {"Name": "v", "Type": "int"}],
            "Location": f"s3://{bucket}/tsv/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                          "Parameters": {"field.delim": "\t"}}}})
    query_id = athena.execute("SELECT k, v * 2 AS doubled FROM from_glue ORDER BY k")["QueryExecutionId"]
    assert athena.result_rows(query_id) == [["k", "doubled"], ["a", "2"], ["b", "4"]]
    assert athena.types(query_id) == [("k", "varchar"), ("doubled", "integer")]
