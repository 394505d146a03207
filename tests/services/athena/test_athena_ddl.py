"""DDL and DML through Athena: databases, external tables, views, CTAS, INSERT INTO, UNLOAD, SHOW and
DESCRIBE, with the Glue catalog and the S3 objects they leave behind checked directly."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from tests.services.athena.conftest import Athena, unique


def test_create_database_and_external_table_write_glue(athena: Athena, glue: Any, bucket: str) -> None:
    name = unique("made")
    athena.execute(f"CREATE DATABASE {name} COMMENT 'from athena' LOCATION 's3://{bucket}/db/'")
    database = glue.get_database(Name=name)["Database"]
    assert database["Description"] == "from athena"
    assert database["LocationUri"] == f"s3://{bucket}/db/"
    assert "AlreadyExistsException" in athena.fail(f"CREATE DATABASE {name}")
    athena.execute(f"CREATE DATABASE IF NOT EXISTS {name}")
    athena.execute(
        f"CREATE EXTERNAL TABLE {name}.logs (ts timestamp COMMENT 'when', msg string, attrs map<string,int>) "
        "PARTITIONED BY (dt string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
        f"LOCATION 's3://{bucket}/logs/' TBLPROPERTIES ('skip.header.line.count'='1', 'owner'='me')")
    table = glue.get_table(DatabaseName=name, Name="logs")["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["skip.header.line.count"] == "1"
    assert table["Parameters"]["owner"] == "me"
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    sd = table["StorageDescriptor"]
    assert sd["Columns"] == [{"Name": "ts", "Type": "timestamp", "Comment": "when"}, {"Name": "msg", "Type": "string"},
                             {"Name": "attrs", "Type": "map<string,int>"}]
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    assert sd["SerdeInfo"]["Parameters"]["field.delim"] == ","
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert sd["Location"] == f"s3://{bucket}/logs/"
    rows = athena.rows(f"DESCRIBE {name}.logs")
    assert rows[:3] == [["ts", "timestamp", "when"], ["msg", "string", ""], ["attrs", "map<string,int>", ""]]
    assert ["# Partition Information"] in rows
    assert athena.rows(f"SHOW COLUMNS IN {name}.logs") == [["ts"], ["msg"], ["attrs"], ["dt"]]
    create = "\n".join(r[0] or "" for r in athena.rows(f"SHOW CREATE TABLE {name}.logs"))
    assert f"CREATE EXTERNAL TABLE `{name}`.`logs`(" in create and "PARTITIONED BY" in create
    assert f"s3://{bucket}/logs/" in create
    assert "not empty" in athena.fail(f"DROP DATABASE {name}")
    athena.execute(f"DROP TABLE {name}.logs")
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName=name, Name="logs")
    athena.execute(f"DROP DATABASE {name}")
    assert [name] not in athena.rows("SHOW DATABASES")


def test_show_tables_databases_and_patterns(athena: Athena, bucket: str) -> None:
    for table in ("alpha", "alpine", "beta"):
        athena.execute(f"CREATE EXTERNAL TABLE {table} (x int) LOCATION 's3://{bucket}/{table}/'")
    assert athena.rows(f"SHOW TABLES IN {athena.database}") == [["alpha"], ["alpine"], ["beta"]]
    assert athena.rows("SHOW TABLES 'alp*'") == [["alpha"], ["alpine"]]
    assert athena.rows(f"SHOW TABLES IN {athena.database} 'beta|alpha'") == [["alpha"], ["beta"]]
    assert [athena.database] in athena.rows("SHOW DATABASES")
    assert athena.rows(f"SHOW SCHEMAS LIKE '{athena.database}'") == [[athena.database]]
    execution = athena.execute("SHOW TABLES")
    assert execution["StatementType"] == "DDL"
    assert execution["ResultConfiguration"]["OutputLocation"].endswith(f"{execution['QueryExecutionId']}.txt")


def test_ctas_partitioned_parquet_then_insert(athena: Athena, glue: Any, s3: Any, bucket: str) -> None:
    athena.execute(
        f"CREATE TABLE sales WITH (format = 'PARQUET', external_location = 's3://{bucket}/sales/', "
        "partitioned_by = ARRAY['region']) AS "
        "SELECT * FROM (VALUES (1, 10.5, 'eu'), (2, 20.0, 'us'), (3, 5.25, 'eu')) AS t(id, amount, region)")
    table = glue.get_table(DatabaseName=athena.database, Name="sales")["Table"]
    assert table["PartitionKeys"] == [{"Name": "region", "Type": "string"}]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["id", "amount"]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    partitions = glue.get_partitions(DatabaseName=athena.database, TableName="sales")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [["eu"], ["us"]]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="sales/")["Contents"]]
    assert any(k.startswith("sales/region=eu/") for k in keys) and any(k.startswith("sales/region=us/") for k in keys)
    eu_key = next(k for k in keys if k.startswith("sales/region=eu/"))
    written = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=eu_key)["Body"].read()))
    assert sorted(written.column("id").to_pylist()) == [1, 3]
    assert athena.rows("SELECT region, sum(amount) FROM sales GROUP BY region ORDER BY region") == [
        ["region", "_col1"], ["eu", "15.75"], ["us", "20.00"]]
    execution = athena.execute("INSERT INTO sales SELECT 4, 1.0, 'apac' UNION ALL SELECT 5, 2.0, 'eu'")
    assert execution["StatementType"] == "DML"
    assert athena.client.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["UpdateCount"] == 2
    manifest = execution["Statistics"]["DataManifestLocation"]
    manifest_bucket, _, manifest_key = manifest[5:].partition("/")
    listed = s3.get_object(Bucket=manifest_bucket, Key=manifest_key)["Body"].read().decode().split()
    assert len(listed) == 2 and all(u.startswith(f"s3://{bucket}/sales/region=") for u in listed)
    first = athena.client.get_query_results(QueryExecutionId=execution["QueryExecutionId"],
                                            QueryResultType="DATA_MANIFEST", MaxResults=1)
    rest = athena.client.get_query_results(QueryExecutionId=execution["QueryExecutionId"],
                                           QueryResultType="DATA_MANIFEST", NextToken=first["NextToken"])
    assert [r["Data"][0]["VarCharValue"] for r in first["ResultSet"]["Rows"] + rest["ResultSet"]["Rows"]] == listed
    assert "NextToken" not in rest
    select = athena.execute("SELECT 1")["QueryExecutionId"]
    with pytest.raises(ClientError, match="has no manifest"):
        athena.client.get_query_results(QueryExecutionId=select, QueryResultType="DATA_MANIFEST")
    assert athena.rows("SELECT region, count(*) FROM sales GROUP BY region ORDER BY region") == [
        ["region", "_col1"], ["apac", "1"], ["eu", "3"], ["us", "1"]]
    assert "HIVE_PATH_ALREADY_EXISTS" in athena.fail(
        f"CREATE TABLE again WITH (external_location = 's3://{bucket}/sales/') AS SELECT 1 AS x")


def test_ctas_text_and_json_formats_and_insert_column_list(athena: Athena, s3: Any, bucket: str) -> None:
    athena.execute(f"CREATE TABLE txt WITH (format = 'TEXTFILE', field_delimiter = ',', "
                   f"write_compression = 'NONE', external_location = 's3://{bucket}/txt/') AS "
                   "SELECT 1 AS a, 'x' AS b")
    athena.execute("INSERT INTO txt (b) VALUES ('only-b')")
    assert athena.rows("SELECT a, b FROM txt ORDER BY b") == [["a", "b"], [None, "only-b"], ["1", "x"]]
    bodies = [s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
              for o in s3.list_objects_v2(Bucket=bucket, Prefix="txt/")["Contents"]]
    assert sorted(bodies) == [b"1,x\n", b"\\N,only-b\n"]
    athena.execute(f"CREATE TABLE js WITH (format = 'JSON', external_location = 's3://{bucket}/js/') AS "
                   "SELECT 7 AS n, ARRAY['p', 'q'] AS letters")
    assert athena.rows("SELECT n, letters FROM js") == [["n", "letters"], ["7", "[p, q]"]]


def test_views_are_stored_in_glue_and_queryable(athena: Athena, glue: Any, bucket: str) -> None:
    athena.execute(f"CREATE TABLE base WITH (external_location = 's3://{bucket}/base/') AS "
                   "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(id, letter)")
    athena.execute("CREATE VIEW small AS SELECT id, upper(letter) AS up FROM base WHERE id < 3")
    view = glue.get_table(DatabaseName=athena.database, Name="small")["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW"
    assert view["ViewOriginalText"].startswith("/* Presto View: ")
    assert [c["Name"] for c in view["StorageDescriptor"]["Columns"]] == ["id", "up"]
    assert athena.rows("SELECT * FROM small ORDER BY id") == [["id", "up"], ["1", "A"], ["2", "B"]]
    assert "already exists" in athena.fail("CREATE VIEW small AS SELECT 1 AS x")
    athena.execute("CREATE OR REPLACE VIEW small AS SELECT count(*) AS n FROM base")
    assert athena.rows("SELECT n FROM small") == [["n"], ["3"]]
    assert athena.rows(f"SHOW VIEWS IN {athena.database}") == [["small"]]
    athena.execute("DROP VIEW small")
    assert athena.fail("SELECT * FROM small").startswith("TABLE_NOT_FOUND")


def test_unload_writes_files_and_manifest(athena: Athena, s3: Any, bucket: str) -> None:
    execution = athena.execute(
        f"UNLOAD (SELECT x, x % 2 AS parity FROM UNNEST(sequence(1, 6)) AS t(x)) TO 's3://{bucket}/unload/' "
        "WITH (format = 'PARQUET', partitioned_by = ARRAY['parity'])")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="unload/")["Contents"])
    assert {k.split("/")[1] for k in keys} == {"parity=0", "parity=1"}
    total = 0
    for key in keys:
        total += pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).num_rows
    assert total == 6
    assert athena.client.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["UpdateCount"] == 6
    assert "HIVE_PATH_ALREADY_EXISTS" in athena.fail(f"UNLOAD (SELECT 1) TO 's3://{bucket}/unload/'")


def test_information_schema_and_explain(athena: Athena, bucket: str) -> None:
    athena.execute(f"CREATE EXTERNAL TABLE info_t (a int, b string) LOCATION 's3://{bucket}/i/'")
    rows = athena.rows("SELECT column_name, data_type FROM information_schema.columns "
                       f"WHERE table_schema = '{athena.database}' AND table_name = 'info_t' ORDER BY ordinal_position")
    assert rows == [["column_name", "data_type"], ["a", "int"], ["b", "string"]]
    plan = athena.rows("EXPLAIN SELECT a FROM info_t")
    assert plan and all(len(r) == 1 for r in plan)
