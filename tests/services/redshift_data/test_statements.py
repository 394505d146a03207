"""The Data API end to end with boto3: statements, typed results, parameters, batches, errors, listing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.redshift_data.conftest import Sql


def test_typed_results_and_column_metadata(sql: Sql) -> None:
    sql.ok("CREATE TABLE items (id INTEGER NOT NULL, name VARCHAR(20), price DECIMAL(10,2), weight FLOAT8, "
           "ratio REAL, big BIGINT, small SMALLINT, active BOOLEAN, born DATE, seen TIMESTAMP, code CHAR(3))")
    inserted = sql.ok("INSERT INTO items VALUES (1, 'apple', 1.25, 0.5, 0.25, 9000000000, 7, true, '2024-02-29', "
                      "'2024-03-01 12:34:56.5', 'abc'), "
                      "(2, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL)")
    assert inserted["ResultRows"] == 2
    assert inserted["HasResultSet"] is False
    described = sql.ok("SELECT id, name, price, weight, ratio, big, small, active, born, seen, code FROM items "
                       "ORDER BY id")
    assert described["HasResultSet"] is True
    assert described["ResultRows"] == 2
    result = sql.result(described["Id"])
    assert result["TotalNumRows"] == 2
    assert result["Records"] == [
        [{"longValue": 1}, {"stringValue": "apple"}, {"stringValue": "1.25"}, {"doubleValue": 0.5},
         {"doubleValue": 0.25}, {"longValue": 9000000000}, {"longValue": 7}, {"booleanValue": True},
         {"stringValue": "2024-02-29"}, {"stringValue": "2024-03-01 12:34:56.5"}, {"stringValue": "abc"}],
        [{"longValue": 2}, {"isNull": True}, {"isNull": True}, {"isNull": True}, {"isNull": True}, {"isNull": True},
         {"isNull": True}, {"booleanValue": False}, {"isNull": True}, {"isNull": True}, {"isNull": True}],
    ]
    columns = result["ColumnMetadata"]
    assert [c["name"] for c in columns] == ["id", "name", "price", "weight", "ratio", "big", "small", "active",
                                            "born", "seen", "code"]
    assert [c["typeName"] for c in columns] == ["int4", "varchar", "numeric", "float8", "float4", "int8", "int2",
                                                "bool", "date", "timestamp", "varchar"]
    assert (columns[2]["precision"], columns[2]["scale"]) == (10, 2)


def test_labels_and_identifiers_fold_like_redshift(sql: Sql) -> None:
    sql.ok('CREATE TABLE "MixedCase" (Id INT, "Name" VARCHAR(10))')
    sql.ok("INSERT INTO mixedcase VALUES (1, 'x'), (2, 'y')")
    described = sql.ok("SELECT COUNT(*), SUM(ID), MAX(name), 1 + 1, name::varchar(5), current_user FROM MIXEDCASE "
                       "GROUP BY name ORDER BY 2")
    result = sql.result(described["Id"])
    assert [c["name"] for c in result["ColumnMetadata"]] == ["count", "sum", "max", "?column?", "name",
                                                             "current_user"]
    assert [c["typeName"] for c in result["ColumnMetadata"]][:2] == ["int8", "int8"]
    assert [[f.get("longValue", f.get("stringValue")) for f in r] for r in result["Records"]] == [
        [1, 1, "x", 2, "x", "awsuser"], [1, 2, "y", 2, "y", "awsuser"]]


def test_redshift_dialect(sql: Sql) -> None:
    sql.ok("CREATE TABLE events (id BIGINT IDENTITY(100, 5), kind VARCHAR(MAX) ENCODE zstd DISTKEY, "
           "at TIMESTAMP SORTKEY, amount INT) DISTSTYLE KEY COMPOUND SORTKEY (at, kind)")
    sql.ok("INSERT INTO events (kind, at, amount) VALUES ('a', '2024-01-01 00:00:00', 7), "
           "('b', '2024-01-03 06:00:00', NULL), ('a', '2024-01-02 00:00:00', 3)")
    assert sql.rows("SELECT id, kind FROM events ORDER BY id") == [[100, "a"], [105, "b"], [110, "a"]]
    assert sql.rows("SELECT TOP 2 kind, NVL(amount, -1) FROM events ORDER BY at") == [["a", 7], ["a", 3]]
    assert sql.rows("SELECT DATEADD(day, 3, '2024-01-30'::date), DATEDIFF(hour, '2024-01-01', '2024-01-02 06:00'), "
                    "7 / 2, 7.0 / 2, DATEPART(year, at) FROM events WHERE kind = 'b'") == [
        ["2024-02-02 00:00:00", 30, 3, 3.5, 2024]]
    assert sql.rows("SELECT LISTAGG(kind, ',') WITHIN GROUP (ORDER BY at) FROM events") == [["a,a,b"]]
    assert sql.rows("SELECT DATE_TRUNC('month', at)::date, DECODE(kind, 'a', 'first', 'other') FROM events "
                    "WHERE id = 105") == [["2024-01-01", "other"]]
    now = sql.rows("SELECT GETDATE() <= SYSDATE + interval '1 minute', GETDATE() > '2020-01-01'")
    assert now == [[True, True]]


def test_parameters_are_bound_as_values(sql: Sql) -> None:
    sql.ok("CREATE TABLE people (id INT, name VARCHAR(50))")
    sql.ok("INSERT INTO people VALUES (:id, :name)",
           Parameters=[{"name": "id", "value": "7"}, {"name": "name", "value": "O'Brien; DROP TABLE people"}])
    assert sql.rows("SELECT id, name FROM people WHERE id = :id AND name LIKE :pattern",
                    Parameters=[{"name": "id", "value": "7"}, {"name": "pattern", "value": "O'%"}]) == [
        [7, "O'Brien; DROP TABLE people"]]
    described = sql.ok("SELECT '::text is not a parameter', 1::int")
    assert sql.result(described["Id"])["Records"][0][0] == {"stringValue": "::text is not a parameter"}


def test_missing_parameter_is_rejected(sql: Sql) -> None:
    with pytest.raises(ClientError) as raised:
        sql.submit("SELECT :missing", Parameters=[{"name": "other", "value": "1"}])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "missing" in raised.value.response["Error"]["Message"]


def test_errors_read_like_redshift(sql: Sql, data_api: Any) -> None:
    assert sql.error("SELEC 1") == 'ERROR: syntax error at or near "SELEC"'
    assert sql.error("SELECT * FROM no_such_table") == 'ERROR: relation "no_such_table" does not exist'
    sql.ok("CREATE TABLE t (a INT NOT NULL)")
    assert sql.error("SELECT b FROM t") == 'ERROR: column "b" does not exist'
    assert sql.error("INSERT INTO t VALUES (NULL)") == "ERROR: Cannot insert a NULL value into column a"
    assert sql.error("INSERT INTO t VALUES ('x')") == 'ERROR: invalid input syntax for integer: "x"'
    assert sql.error("CREATE TABLE t (a INT)") == 'ERROR: relation "t" already exists'
    failed = sql.run("SELECT * FROM nowhere")
    with pytest.raises(ClientError) as raised:
        data_api.get_statement_result(Id=failed["Id"])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as raised:
        data_api.describe_statement(Id="00000000-0000-0000-0000-000000000000")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_ddl_has_no_result(sql: Sql, data_api: Any) -> None:
    created = sql.ok("CREATE TABLE nothing (a INT)")
    assert created["HasResultSet"] is False
    with pytest.raises(ClientError) as raised:
        data_api.get_statement_result(Id=created["Id"])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "does not have result" in raised.value.response["Error"]["Message"]


def test_batch_runs_in_order_in_one_transaction(sql: Sql, data_api: Any, cluster: str) -> None:
    batch = data_api.batch_execute_statement(
        ClusterIdentifier=cluster, Database="dev", DbUser="awsuser", StatementName="load-batch",
        Sqls=["CREATE TABLE b (x INT)", "INSERT INTO b VALUES (1), (2), (3)", "SELECT SUM(x) FROM b"])
    described = sql.wait(batch["Id"])
    assert described["Status"] == "FINISHED"
    subs = described["SubStatements"]
    assert [s["Id"] for s in subs] == [f"{batch['Id']}:{i}" for i in (1, 2, 3)]
    assert [s["Status"] for s in subs] == ["FINISHED"] * 3
    assert [s["ResultRows"] for s in subs] == [0, 3, 1]
    assert [s["HasResultSet"] for s in subs] == [False, False, True]
    assert sql.result(f"{batch['Id']}:3")["Records"] == [[{"longValue": 6}]]
    sub = data_api.describe_statement(Id=f"{batch['Id']}:2")
    assert (sub["Id"], sub["QueryString"], sub["ResultRows"]) == (f"{batch['Id']}:2", "INSERT INTO b VALUES (1), (2), "
                                                                  "(3)", 3)
    with pytest.raises(ClientError) as raised:
        data_api.get_statement_result(Id=batch["Id"])
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_failing_batch_rolls_back(sql: Sql, data_api: Any, cluster: str) -> None:
    sql.ok("CREATE TABLE kept (x INT)")
    sql.ok("INSERT INTO kept VALUES (1)")
    batch = data_api.batch_execute_statement(
        ClusterIdentifier=cluster, Database="dev", DbUser="awsuser",
        Sqls=["CREATE TABLE fresh (x INT)", "INSERT INTO kept VALUES (2)", "INSERT INTO missing VALUES (3)",
              "INSERT INTO kept VALUES (4)"])
    described = sql.wait(batch["Id"])
    assert described["Status"] == "FAILED"
    assert described["Error"] == 'ERROR: relation "missing" does not exist'
    assert [s["Status"] for s in described["SubStatements"]] == ["FINISHED", "FINISHED", "FAILED", "ABORTED"]
    assert sql.rows("SELECT x FROM kept ORDER BY x") == [[1]]
    assert sql.error("SELECT * FROM fresh") == 'ERROR: relation "fresh" does not exist'


def test_multiple_statements_in_one_sql(sql: Sql) -> None:
    described = sql.ok("CREATE TABLE m (x INT); INSERT INTO m VALUES (5); SELECT x * 2 FROM m")
    assert sql.result(described["Id"])["Records"] == [[{"longValue": 10}]]


def test_csv_result_format(sql: Sql, data_api: Any) -> None:
    sql.ok("CREATE TABLE c (id INT, note VARCHAR(20))")
    sql.ok("INSERT INTO c VALUES (1, 'plain'), (2, 'has, comma'), (3, NULL)")
    described = sql.ok("SELECT id, note FROM c ORDER BY id", ResultFormat="CSV")
    assert described["ResultFormat"] == "CSV"
    result = data_api.get_statement_result_v2(Id=described["Id"])
    assert result["ResultFormat"] == "CSV"
    assert result["TotalNumRows"] == 3
    assert result["Records"] == [{"CSVRecords": 'id,note\n1,plain\n2,"has, comma"\n3,\n'}]
    assert [c["typeName"] for c in result["ColumnMetadata"]] == ["int4", "varchar"]
    with pytest.raises(ClientError) as raised:
        data_api.get_statement_result(Id=described["Id"])
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_list_statements_filters_and_pages(sql: Sql, data_api: Any, cluster: str) -> None:
    tag = f"report-{cluster}"
    ids = [sql.ok(f"SELECT {i}", StatementName=f"{tag}-{i}")["Id"] for i in range(3)]
    sql.error("SELECT broken(", StatementName=f"{tag}-bad")
    listed = data_api.list_statements(StatementName=tag, Status="FINISHED")["Statements"]
    assert [s["Id"] for s in listed] == ids[::-1]
    assert listed[0]["QueryString"] == "SELECT 2"
    assert listed[0]["StatementName"] == f"{tag}-2"
    failed = data_api.list_statements(StatementName=tag, Status="FAILED")["Statements"]
    assert [s["StatementName"] for s in failed] == [f"{tag}-bad"]
    first = data_api.list_statements(StatementName=tag, MaxResults=2)
    assert len(first["Statements"]) == 2
    rest = data_api.list_statements(StatementName=tag, MaxResults=2, NextToken=first["NextToken"])
    assert [s["Id"] for s in first["Statements"] + rest["Statements"]][1:] == ids[::-1]
    assert "NextToken" not in rest


def test_cancel_a_running_statement(sql: Sql, data_api: Any) -> None:
    statement_id = sql.submit("SELECT COUNT(*) FROM range(1000000000) a, range(1000000000) b "
                              "WHERE a.range + b.range = -1")
    deadline = time.monotonic() + 20
    while data_api.describe_statement(Id=statement_id)["Status"] not in ("STARTED", "FINISHED", "FAILED"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert data_api.cancel_statement(Id=statement_id)["Status"] is True
    described = sql.wait(statement_id)
    assert described["Status"] == "ABORTED"
    with pytest.raises(ClientError) as raised:
        data_api.cancel_statement(Id=statement_id)
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_wait_time_seconds_returns_a_finished_statement(sql: Sql, data_api: Any, cluster: str) -> None:
    out = data_api.execute_statement(ClusterIdentifier=cluster, Database="dev", DbUser="awsuser", Sql="SELECT 1",
                                     WaitTimeSeconds=20)
    assert out["Status"] == "FINISHED"
    assert data_api.get_statement_result(Id=out["Id"])["Records"] == [[{"longValue": 1}]]


def test_unknown_cluster_is_rejected(data_api: Any) -> None:
    with pytest.raises(ClientError) as raised:
        data_api.execute_statement(ClusterIdentifier="no-such-cluster", Database="dev", DbUser="u", Sql="SELECT 1")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as raised:
        data_api.execute_statement(Database="dev", Sql="SELECT 1")
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_metadata_operations(sql: Sql, data_api: Any, cluster: str) -> None:
    sql.ok("CREATE SCHEMA sales")
    sql.ok("CREATE TABLE sales.orders (id INT NOT NULL, note VARCHAR(40) DEFAULT 'none', total NUMERIC(12,2), "
           "flag CHAR(1))")
    sql.ok("CREATE TABLE public.customers (id INT)")
    sql.ok("CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE total > 100")
    target = {"ClusterIdentifier": cluster, "Database": "dev", "DbUser": "awsuser"}
    assert data_api.list_databases(**target)["Databases"] == ["dev"]
    schemas = data_api.list_schemas(**target)["Schemas"]
    assert {"public", "sales", "information_schema", "pg_catalog"} <= set(schemas)
    assert data_api.list_schemas(**target, SchemaPattern="sal%")["Schemas"] == ["sales"]
    tables = data_api.list_tables(**target)["Tables"]
    assert tables == [{"name": "customers", "schema": "public", "type": "TABLE"},
                      {"name": "big_orders", "schema": "sales", "type": "VIEW"},
                      {"name": "orders", "schema": "sales", "type": "TABLE"}]
    assert [t["name"] for t in data_api.list_tables(**target, TablePattern="%order%")["Tables"]] == [
        "big_orders", "orders"]
    described = data_api.describe_table(**target, Schema="sales", Table="orders")
    assert described["TableName"] == "orders"
    columns = {c["name"]: c for c in described["ColumnList"]}
    assert [c["name"] for c in described["ColumnList"]] == ["id", "note", "total", "flag"]
    assert (columns["id"]["typeName"], columns["id"]["nullable"]) == ("int4", 0)
    assert (columns["note"]["typeName"], columns["note"]["length"]) == ("varchar", 40)
    assert columns["note"]["columnDefault"] == "'none'"
    assert (columns["total"]["typeName"], columns["total"]["precision"], columns["total"]["scale"]) == (
        "numeric", 12, 2)
    assert (columns["flag"]["typeName"], columns["flag"]["length"]) == ("bpchar", 1)
    assert sql.rows("SELECT \"column\", type, \"notnull\" FROM pg_table_def WHERE tablename = 'orders' "
                    "ORDER BY \"column\"") == [["flag", "bpchar(1)", False], ["id", "int4", True],
                                                ["note", "varchar(40)", False], ["total", "numeric(12,2)", False]]
    assert sql.rows("SELECT table_schema, table_name, table_type FROM svv_tables ORDER BY 2") == [
        ["sales", "big_orders", "VIEW"], ["public", "customers", "BASE TABLE"], ["sales", "orders", "BASE TABLE"]]


def test_sql_cannot_reach_the_server_files(sql: Sql) -> None:
    assert sql.error("SELECT * FROM read_csv('/etc/passwd')") == "ERROR: function read_csv does not exist"
    assert sql.error("SELECT * FROM '/etc/hostname'") == 'ERROR: relation "/etc/hostname" does not exist'
    assert sql.error("ATTACH '/tmp/x.duckdb' AS x").startswith("ERROR: syntax error")


def test_databases_are_separate(sql: Sql, data_api: Any, cluster: str) -> None:
    sql.ok("CREATE DATABASE analytics")
    other = Sql(data_api, {"ClusterIdentifier": cluster}, database="analytics")
    other.ok("CREATE TABLE only_here (x INT)")
    other.ok("INSERT INTO only_here VALUES (42)")
    assert other.rows("SELECT x, current_database() FROM only_here") == [[42, "analytics"]]
    assert sql.error("SELECT * FROM only_here") == 'ERROR: relation "only_here" does not exist'
    assert sql.rows("SELECT x FROM analytics.public.only_here") == [[42]]
    assert data_api.list_databases(ClusterIdentifier=cluster, Database="dev")["Databases"] == ["analytics", "dev"]
    missing = Sql(data_api, {"ClusterIdentifier": cluster}, database="nowhere")
    assert missing.error("SELECT 1") == 'FATAL: database "nowhere" does not exist'
    sql.ok("DROP DATABASE analytics")
    assert data_api.list_databases(ClusterIdentifier=cluster, Database="dev")["Databases"] == ["dev"]


def test_sessions_keep_temporary_tables(sql: Sql, data_api: Any, cluster: str) -> None:
    first = data_api.execute_statement(ClusterIdentifier=cluster, Database="dev", DbUser="awsuser",
                                       Sql="CREATE TEMP TABLE scratch (x INT)", SessionKeepAliveSeconds=60)
    session = first["SessionId"]
    assert sql.wait(first["Id"])["Status"] == "FINISHED"
    second = data_api.execute_statement(Sql="INSERT INTO scratch VALUES (1), (2)", SessionId=session)
    assert sql.wait(second["Id"])["Status"] == "FINISHED"
    third = data_api.execute_statement(Sql="SELECT COUNT(*) FROM scratch", SessionId=session)
    assert sql.wait(third["Id"])["Status"] == "FINISHED"
    assert data_api.get_statement_result(Id=third["Id"])["Records"] == [[{"longValue": 2}]]
    assert [s["SessionId"] for s in data_api.list_sessions(ClusterIdentifier=cluster)["Sessions"]] == [session]
    assert sql.error("SELECT * FROM scratch") == 'ERROR: relation "scratch" does not exist'


def test_statement_ids_belong_to_their_account(sql: Sql, fogbank: Any) -> None:
    described = sql.ok("SELECT 1")
    other = fogbank.client("redshift-data", region="eu-west-1")
    with pytest.raises(ClientError) as raised:
        other.describe_statement(Id=described["Id"])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
