"""External schemas over the Glue Data Catalog: warehouse tables joined with lake tables in fogbank's S3."""

from __future__ import annotations

import io
import re
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.services.redshift_data.conftest import Sql, unique_name

PARQUET = {"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
           "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
           "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}
CSV = {"InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
       "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
       "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                     "Parameters": {"field.delim": ","}}}


@pytest.fixture
def glue(fogbank: Any) -> Any:
    return fogbank.client("glue")


def _parquet(s3: Any, bucket: str, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())


def test_join_warehouse_and_lake_tables(sql: Sql, s3: Any, bucket: str, glue: Any) -> None:
    lake = unique_name("lake").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": lake})
    _parquet(s3, bucket, "lake/clicks/dt=2024-01-01/part-0.parquet",
             pa.table({"user_id": pa.array([1, 2, 1], pa.int32()), "url": ["/a", "/b", "/c"]}))
    _parquet(s3, bucket, "lake/clicks/dt=2024-01-02/part-0.parquet",
             pa.table({"user_id": pa.array([2], pa.int32()), "url": ["/d"]}))
    s3.put_object(Bucket=bucket, Key="lake/clicks/dt=2024-01-02/_SUCCESS", Body=b"")
    glue.create_table(DatabaseName=lake, TableInput={
        "Name": "clicks", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": "dt", "Type": "date"}],
        "StorageDescriptor": {"Columns": [{"Name": "user_id", "Type": "int"}, {"Name": "url", "Type": "string"}],
                              "Location": f"s3://{bucket}/lake/clicks/", **PARQUET}})
    for day in ("2024-01-01", "2024-01-02"):
        glue.create_partition(DatabaseName=lake, TableName="clicks", PartitionInput={
            "Values": [day], "StorageDescriptor": {"Location": f"s3://{bucket}/lake/clicks/dt={day}/", **PARQUET}})
    s3.put_object(Bucket=bucket, Key="lake/countries/c.csv", Body=b"1,Norway\n2,Chile\n")
    glue.create_table(DatabaseName=lake, TableInput={
        "Name": "countries", "Parameters": {"classification": "csv"},
        "StorageDescriptor": {"Columns": [{"Name": "user_id", "Type": "int"}, {"Name": "country", "Type": "string"}],
                              "Location": f"s3://{bucket}/lake/countries", **CSV}})

    sql.ok(f"CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE '{lake}' "
           "IAM_ROLE 'arn:aws:iam::000000000000:role/spectrum'")
    sql.ok("CREATE TABLE users (id INT, name VARCHAR(10))")
    sql.ok("INSERT INTO users VALUES (1, 'ann'), (2, 'bob')")
    assert sql.rows("SELECT u.name, c.url, c.dt, k.country FROM users u JOIN spectrum.clicks c ON c.user_id = u.id "
                    "JOIN spectrum.countries k ON k.user_id = u.id ORDER BY c.url") == [
        ["ann", "/a", "2024-01-01", "Norway"], ["bob", "/b", "2024-01-01", "Chile"],
        ["ann", "/c", "2024-01-01", "Norway"], ["bob", "/d", "2024-01-02", "Chile"]]
    assert sql.rows("SELECT COUNT(*) FROM spectrum.clicks WHERE dt = '2024-01-02'") == [[1]]
    assert sql.error("SELECT * FROM spectrum.nothing") == 'ERROR: relation "spectrum.nothing" does not exist'

    target = {"ClusterIdentifier": sql.target["ClusterIdentifier"], "Database": "dev", "DbUser": "awsuser"}
    assert "spectrum" in sql.client.list_schemas(**target)["Schemas"]
    tables = sql.client.list_tables(**target, SchemaPattern="spectrum")["Tables"]
    assert tables == [{"name": "clicks", "schema": "spectrum", "type": "EXTERNAL TABLE"},
                      {"name": "countries", "schema": "spectrum", "type": "EXTERNAL TABLE"}]
    columns = sql.client.describe_table(**target, Schema="spectrum", Table="clicks")["ColumnList"]
    assert [(c["name"], c["typeName"]) for c in columns] == [("user_id", "int4"), ("url", "varchar"),
                                                             ("dt", "date")]

    sql.ok("CREATE TABLE materialized AS SELECT user_id, COUNT(*) AS n FROM spectrum.clicks GROUP BY user_id")
    assert sql.rows("SELECT user_id, n FROM materialized ORDER BY user_id") == [[1, 2], [2, 2]]
    sql.ok("DROP SCHEMA spectrum")
    assert sql.error("SELECT * FROM spectrum.clicks").startswith("ERROR: ")


def test_external_schema_needs_a_catalog_database(sql: Sql, glue: Any) -> None:
    missing = unique_name("absent").replace("-", "_")
    error = sql.error(f"CREATE EXTERNAL SCHEMA s FROM DATA CATALOG DATABASE '{missing}' IAM_ROLE default")
    assert f"External database {missing} does not exist" in error
    sql.ok(f"CREATE EXTERNAL SCHEMA s FROM DATA CATALOG DATABASE '{missing}' IAM_ROLE default "
           "CREATE EXTERNAL DATABASE IF NOT EXISTS")
    assert glue.get_database(Name=missing)["Database"]["Name"] == missing


def test_spectrum_ddl_creates_alters_and_drops_glue_tables(sql: Sql, s3: Any, bucket: str, glue: Any) -> None:
    lake = unique_name("spec").replace("-", "_")
    sql.ok(f"CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE '{lake}' "
           "IAM_ROLE 'arn:aws:iam::000000000000:role/spectrum' CREATE EXTERNAL DATABASE IF NOT EXISTS")
    s3.put_object(Bucket=bucket, Key="sales/day=2024-01-01/a.txt", Body=b"1|9.50|ann|2024-01-01 10:00:00\n"
                                                                         b"2|3.25|bob|2024-01-01 11:30:00\n")
    s3.put_object(Bucket=bucket, Key="sales/day=2024-01-02/b.txt", Body=b"3|1.00|cy|2024-01-02 08:00:00\n")
    sql.ok("CREATE EXTERNAL TABLE spectrum.sales (id int8, amount numeric(8,2), buyer varchar(10), "
           "sold timestamp) PARTITIONED BY (day date) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
           f"STORED AS TEXTFILE LOCATION 's3://{bucket}/sales/' TABLE PROPERTIES ('numRows'='3')")
    table = glue.get_table(DatabaseName=lake, Name="sales")["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "bigint"), ("amount", "decimal(8,2)"), ("buyer", "varchar(10)"), ("sold", "timestamp")]
    assert table["PartitionKeys"] == [{"Name": "day", "Type": "date"}]
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"]["field.delim"] == "|"
    assert table["Parameters"]["numRows"] == "3" and table["TableType"] == "EXTERNAL_TABLE"

    sql.ok(f"ALTER TABLE spectrum.sales ADD IF NOT EXISTS PARTITION (day='2024-01-01') "
           f"LOCATION 's3://{bucket}/sales/day=2024-01-01/' PARTITION (day='2024-01-02') "
           f"LOCATION 's3://{bucket}/sales/day=2024-01-02/'")
    assert sql.rows("SELECT day, count(*), sum(amount) FROM spectrum.sales GROUP BY day ORDER BY day") == [
        ["2024-01-01", 2, "12.75"], ["2024-01-02", 1, "1.00"]]
    assert "already exists" in sql.error(f"ALTER TABLE spectrum.sales ADD PARTITION (day='2024-01-01') "
                                         f"LOCATION 's3://{bucket}/sales/day=2024-01-01/'")
    sql.ok("ALTER TABLE spectrum.sales DROP PARTITION (day='2024-01-01')")
    assert sql.rows("SELECT id, buyer FROM spectrum.sales") == [[3, "cy"]]
    assert "already exists" in sql.error(f"CREATE EXTERNAL TABLE spectrum.sales (a int) STORED AS PARQUET "
                                         f"LOCATION 's3://{bucket}/x/'")
    sql.ok(f"CREATE EXTERNAL TABLE IF NOT EXISTS spectrum.sales (a int) STORED AS PARQUET "
           f"LOCATION 's3://{bucket}/x/'")
    assert 'External schema "nowhere" does not exist' in sql.error(
        f"CREATE EXTERNAL TABLE nowhere.t (a int) STORED AS PARQUET LOCATION 's3://{bucket}/x/'")
    sql.ok("DROP TABLE spectrum.sales")
    assert [t["Name"] for t in glue.get_tables(DatabaseName=lake)["TableList"]] == []
    assert "does not exist" in sql.error("DROP TABLE spectrum.sales")
    sql.ok("DROP TABLE IF EXISTS spectrum.sales")
    # The same words on a local table still run on the warehouse.
    sql.ok("CREATE TABLE local_t (a INT)")
    sql.ok("ALTER TABLE local_t ADD COLUMN b INT")
    sql.ok("DROP TABLE local_t")


def test_create_external_table_as_and_insert_write_lake_tables(sql: Sql, s3: Any, bucket: str, glue: Any,
                                                               fogbank: Any) -> None:
    lake = unique_name("cetas").replace("-", "_")
    sql.ok(f"CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE '{lake}' "
           "IAM_ROLE 'arn:aws:iam::000000000000:role/spectrum' CREATE EXTERNAL DATABASE IF NOT EXISTS")
    sql.ok("CREATE TABLE sales (id INT, amount DECIMAL(8,2), buyer VARCHAR(10), day DATE)")
    sql.ok("INSERT INTO sales VALUES (1, 9.50, 'ann', '2024-01-01'), (2, 3.25, 'bob', '2024-01-01'), "
           "(3, 1.00, NULL, '2024-01-02')")
    written = sql.ok(f"CREATE EXTERNAL TABLE spectrum.sales_lake PARTITIONED BY (day) STORED AS PARQUET "
                     f"LOCATION 's3://{bucket}/lake/sales' AS SELECT day, id, amount, buyer FROM sales")
    assert written["ResultRows"] == 3
    table = glue.get_table(DatabaseName=lake, Name="sales_lake")["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "int"), ("amount", "decimal(8,2)"), ("buyer", "string")]
    assert table["PartitionKeys"] == [{"Name": "day", "Type": "date"}]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    partitions = glue.get_partitions(DatabaseName=lake, TableName="sales_lake")["Partitions"]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions) == [
        (["2024-01-01"], f"s3://{bucket}/lake/sales/day=2024-01-01/"),
        (["2024-01-02"], f"s3://{bucket}/lake/sales/day=2024-01-02/")]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lake/sales/")["Contents"])
    assert [k.rsplit("/", 1)[0] for k in keys] == ["lake/sales/day=2024-01-01", "lake/sales/day=2024-01-02"]
    assert all(re.fullmatch(r"\d{8}_\d{6}_\d{6}_[0-9a-f]{8}_0000_part_00\.parquet", k.rsplit("/", 1)[1])
               for k in keys)
    assert sql.rows("SELECT day, count(*), sum(amount) FROM spectrum.sales_lake GROUP BY day ORDER BY day") == [
        ["2024-01-01", 2, "12.75"], ["2024-01-02", 1, "1.00"]]

    # INSERT adds files, and a partition the catalog did not have.
    inserted = sql.ok("INSERT INTO spectrum.sales_lake SELECT id + 10, amount, buyer, DATE '2024-01-03' FROM sales "
                      "WHERE id < 3")
    assert inserted["ResultRows"] == 2
    assert sorted(p["Values"][0] for p in glue.get_partitions(DatabaseName=lake, TableName="sales_lake")[
        "Partitions"]) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert sql.rows("SELECT id, buyer FROM spectrum.sales_lake WHERE day = '2024-01-03' ORDER BY id") == [
        [11, "ann"], [12, "bob"]]
    sql.ok("INSERT INTO spectrum.sales_lake SELECT 4, 0.50, 'dee', DATE '2024-01-01'")
    assert sql.rows("SELECT count(*) FROM spectrum.sales_lake WHERE day = '2024-01-01'") == [[3]]

    # Delimited text, Hive's way: the table's delimiter, NULL as \N.
    sql.ok(f"CREATE EXTERNAL TABLE spectrum.buyers ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE "
           f"LOCATION 's3://{bucket}/lake/buyers/' TABLE PROPERTIES ('numRows'='3') "
           "AS SELECT id, buyer FROM sales ORDER BY id")
    (only,) = s3.list_objects_v2(Bucket=bucket, Prefix="lake/buyers/")["Contents"]
    assert only["Key"].endswith("_0000_part_00.txt")
    assert s3.get_object(Bucket=bucket, Key=only["Key"])["Body"].read() == b"1|ann\n2|bob\n3|\\N\n"
    buyers = glue.get_table(DatabaseName=lake, Name="buyers")["Table"]
    assert buyers["StorageDescriptor"]["SerdeInfo"]["Parameters"]["field.delim"] == "|"
    assert buyers["Parameters"]["numRows"] == "3"
    assert sql.rows("SELECT id, buyer FROM spectrum.buyers ORDER BY id") == [[1, "ann"], [2, "bob"], [3, None]]
    # Athena reads what the warehouse wrote.
    athena = fogbank.client("athena")
    query_id = athena.start_query_execution(
        QueryString="SELECT day, count(*) FROM sales_lake GROUP BY day ORDER BY day",
        QueryExecutionContext={"Database": lake},
        ResultConfiguration={"OutputLocation": f"s3://{bucket}/athena/"})["QueryExecutionId"]
    for _ in range(200):
        state = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
        if state not in ("QUEUED", "RUNNING"):
            break
    assert state == "SUCCEEDED"
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"][1:]
    assert [[d["VarCharValue"] for d in r["Data"]] for r in rows] == [
        ["2024-01-01", "3"], ["2024-01-02", "1"], ["2024-01-03", "2"]]

    # What Spectrum refuses, with the catalog and the files left as they were.
    assert "not empty" in sql.error(f"CREATE EXTERNAL TABLE spectrum.again STORED AS PARQUET "
                                    f"LOCATION 's3://{bucket}/lake/sales/' AS SELECT 1 AS a")
    assert "already exists" in sql.error(f"CREATE EXTERNAL TABLE spectrum.buyers STORED AS PARQUET "
                                         f"LOCATION 's3://{bucket}/lake/other/' AS SELECT 1 AS a")
    assert "drop the column list" in sql.error(f"CREATE EXTERNAL TABLE spectrum.c (a int) STORED AS PARQUET "
                                               f"LOCATION 's3://{bucket}/lake/c/' AS SELECT 1 AS a")
    assert 'partition column "nope"' in sql.error(f"CREATE EXTERNAL TABLE spectrum.c PARTITIONED BY (nope) STORED AS "
                                                  f"PARQUET LOCATION 's3://{bucket}/lake/c/' AS SELECT 1 AS a")
    assert "only PARQUET and TEXTFILE" in sql.error(
        f"CREATE EXTERNAL TABLE spectrum.c ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
        f"LOCATION 's3://{bucket}/lake/c/' AS SELECT 1 AS a")
    assert "INSERT has 1 expressions" in sql.error("INSERT INTO spectrum.buyers SELECT 1")
    glue.create_table(DatabaseName=lake, TableInput={
        "Name": "ice", "TableType": "EXTERNAL_TABLE", "Parameters": {"table_type": "ICEBERG"},
        "StorageDescriptor": {"Columns": [{"Name": "a", "Type": "int"}], "Location": f"s3://{bucket}/lake/ice/",
                              **PARQUET}})
    assert "cannot write to an Iceberg table" in sql.error("INSERT INTO spectrum.ice SELECT 1")
    glue.delete_table(DatabaseName=lake, Name="ice")
    assert "no column list or VALUES" in sql.error("INSERT INTO spectrum.buyers VALUES (9, 'x')")
    assert "transaction block" in sql.error("BEGIN; INSERT INTO spectrum.buyers SELECT 9, 'x'; END")
    assert [t["Name"] for t in glue.get_tables(DatabaseName=lake)["TableList"]] == ["buyers", "sales_lake"]
    assert "lake/c/" not in str(s3.list_objects_v2(Bucket=bucket, Prefix="lake/"))
    assert sql.rows("SELECT count(*) FROM spectrum.buyers") == [[3]]


def test_iceberg_tables_are_read_from_their_current_snapshot(sql: Sql, s3: Any, bucket: str, glue: Any,
                                                             fogbank: Any) -> None:
    lake = unique_name("ice").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": lake})
    athena = fogbank.client("athena")

    def athena_run(statement: str) -> None:
        query_id = athena.start_query_execution(
            QueryString=statement, QueryExecutionContext={"Database": lake},
            ResultConfiguration={"OutputLocation": f"s3://{bucket}/athena/"})["QueryExecutionId"]
        for _ in range(300):
            status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            if status["State"] not in ("QUEUED", "RUNNING"):
                break
        assert status["State"] == "SUCCEEDED", status

    athena_run(f"CREATE TABLE events (id bigint, kind string, amount decimal(9,2), day date) PARTITIONED BY (day) "
               f"LOCATION 's3://{bucket}/ice/events/' TBLPROPERTIES ('table_type'='ICEBERG')")
    athena_run("INSERT INTO events VALUES (1, 'a', 1.50, DATE '2024-01-01'), (2, 'b', 2.50, DATE '2024-01-01'), "
               "(3, 'c', 3.50, DATE '2024-01-02')")
    # Rewrites leave the old files in the table's folder; only the current snapshot's files hold its rows.
    athena_run("UPDATE events SET kind = 'B' WHERE id = 2")
    athena_run("DELETE FROM events WHERE id = 3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="ice/events/data/")["Contents"]]
    assert len([k for k in keys if k.endswith(".parquet")]) > 2

    sql.ok(f"CREATE EXTERNAL SCHEMA lakeice FROM DATA CATALOG DATABASE '{lake}' "
           "IAM_ROLE 'arn:aws:iam::000000000000:role/spectrum'")
    assert sql.rows("SELECT id, kind, amount, day FROM lakeice.events ORDER BY id") == [
        [1, "a", "1.50", "2024-01-01"], [2, "B", "2.50", "2024-01-01"]]
    sql.ok("CREATE TABLE budgets (kind VARCHAR(4), cap DECIMAL(9,2))")
    sql.ok("INSERT INTO budgets VALUES ('a', 1.00), ('B', 5.00)")
    assert sql.rows("SELECT e.id FROM lakeice.events e JOIN budgets b ON b.kind = e.kind WHERE e.amount > b.cap") \
        == [[1]]
