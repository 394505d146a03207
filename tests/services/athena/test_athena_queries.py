"""Queries end to end through boto3: rows, Athena types, Trino functions, result files in S3, paging,
statistics, failures with Athena's reasons, and the execution listing operations."""

from __future__ import annotations

import datetime
from typing import Any

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError
from tests.services.athena.conftest import Athena, parquet_bytes


@pytest.fixture
def people(athena: Athena, s3: Any, bucket: str) -> str:
    table = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": ["ann", "bob", None],
        "score": [1.5, 2.0, 1e20],
        "born": pa.array([datetime.date(1990, 1, 2), datetime.date(1985, 6, 30), None], pa.date32()),
        "tags": [["a", "b"], [], None],
    })
    body = parquet_bytes(table)
    s3.put_object(Bucket=bucket, Key="people/part-0.parquet", Body=body)
    athena.execute("CREATE EXTERNAL TABLE people (id bigint, name string, score double, born date, "
                   f"tags array<string>) STORED AS PARQUET LOCATION 's3://{bucket}/people/'")
    return bucket


def test_select_returns_header_and_rows_with_athena_types(athena: Athena, people: str, s3: Any) -> None:
    execution = athena.execute("SELECT * FROM people ORDER BY id")
    query_id = execution["QueryExecutionId"]
    assert athena.result_rows(query_id) == [
        ["id", "name", "score", "born", "tags"],
        ["1", "ann", "1.5", "1990-01-02", "[a, b]"],
        ["2", "bob", "2.0", "1985-06-30", "[]"],
        ["3", None, "1.0E20", None, None],
    ]
    assert athena.types(query_id) == [("id", "bigint"), ("name", "varchar"), ("score", "double"),
                                      ("born", "date"), ("tags", "array")]
    assert execution["StatementType"] == "DML"
    stats = execution["Statistics"]
    size = s3.head_object(Bucket=people, Key="people/part-0.parquet")["ContentLength"]
    assert stats["DataScannedInBytes"] == size
    assert stats["TotalExecutionTimeInMillis"] >= stats["EngineExecutionTimeInMillis"]


def test_result_csv_and_metadata_written_to_output_location(athena: Athena, people: str, s3: Any,
                                                             results_bucket: str) -> None:
    execution = athena.execute("SELECT id, name, tags FROM people ORDER BY id")
    query_id = execution["QueryExecutionId"]
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"s3://{results_bucket}/results/{query_id}.csv"
    body = s3.get_object(Bucket=results_bucket, Key=f"results/{query_id}.csv")["Body"].read()
    assert body == b'"id","name","tags"\n"1","ann","[a, b]"\n"2","bob","[]"\n"3",,\n'
    metadata = s3.get_object(Bucket=results_bucket, Key=f"results/{query_id}.csv.metadata")["Body"].read()
    assert b"varchar" in metadata and b"bigint" in metadata


def test_trino_functions(athena: Athena) -> None:
    rows = athena.rows(
        "SELECT date_add('day', 3, DATE '2024-01-30'), "
        "date_parse('2024-01-02 03:04:05', '%Y-%m-%d %H:%i:%s'), "
        "date_format(TIMESTAMP '2024-05-06 07:08:09', '%Y/%m/%d %H:%i'), "
        "from_unixtime(1700000000), "
        "to_iso8601(TIMESTAMP '2024-01-02 03:04:05.250'), "
        "regexp_like('fogbank', 'g.a'), "
        "json_extract_scalar('{\"a\": {\"b\": \"deep\"}}', '$.a.b'), "
        "json_extract_scalar('{\"a\": {\"b\": 1}}', '$.a'), "
        "element_at(ARRAY[10, 20, 30], 2), "
        "element_at(MAP(ARRAY['k'], ARRAY[7]), 'k'), "
        "try(CAST('nope' AS INTEGER)), "
        "transform(ARRAY[1, 2], x -> x * 10), "
        "filter(ARRAY[1, 2, 3], x -> x > 1), "
        "approx_distinct(1), "
        "date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00'), "
        "regexp_extract('abc', 'x(y)', 1), "
        "7 / 2, "
        "date_trunc('month', DATE '2024-03-17')")
    assert rows[1] == ["2024-02-02", "2024-01-02 03:04:05.000", "2024/05/06 07:08", "2023-11-14 22:13:20.000 UTC",
                       "2024-01-02T03:04:05.250", "true", "deep", None, "20", "7", None, "[10, 20]", "[2, 3]",
                       "1", "0", None, "3", "2024-03-01"]


def test_row_map_array_types_and_unnest_with_ordinality(athena: Athena) -> None:
    query_id = athena.execute(
        "SELECT CAST(ROW(1, 'a') AS ROW(x INTEGER, y VARCHAR)) AS r, MAP(ARRAY['a', 'b'], ARRAY[1, 2]) AS m, "
        "ARRAY[ARRAY[1], ARRAY[2, 3]] AS nested")["QueryExecutionId"]
    assert athena.result_rows(query_id)[1] == ["{x=1, y=a}", "{a=1, b=2}", "[[1], [2, 3]]"]
    assert athena.types(query_id) == [("r", "row"), ("m", "map"), ("nested", "array")]
    rows = athena.rows("SELECT v, n FROM UNNEST(ARRAY['x', 'y', 'z']) WITH ORDINALITY AS t(v, n) ORDER BY n")
    assert rows == [["v", "n"], ["x", "1"], ["y", "2"], ["z", "3"]]


def test_path_pseudo_column_and_joins(athena: Athena, people: str) -> None:
    rows = athena.rows('SELECT "$path", id FROM people WHERE id = 2')
    assert rows == [["$path", "id"], [f"s3://{people}/people/part-0.parquet", "2"]]
    rows = athena.rows("SELECT a.name, b.name FROM people a JOIN people b ON a.id + 1 = b.id ORDER BY a.id")
    assert rows == [["name", "name"], ["ann", "bob"], ["bob", None]]


def test_paging_through_results(athena: Athena) -> None:
    query_id = athena.execute("SELECT x FROM UNNEST(sequence(1, 2500)) AS t(x) ORDER BY x")["QueryExecutionId"]
    client = athena.client
    first = client.get_query_results(QueryExecutionId=query_id, MaxResults=1000)
    assert len(first["ResultSet"]["Rows"]) == 1000
    assert first["ResultSet"]["Rows"][0]["Data"] == [{"VarCharValue": "x"}]
    second = client.get_query_results(QueryExecutionId=query_id, MaxResults=1000, NextToken=first["NextToken"])
    assert second["ResultSet"]["Rows"][0]["Data"] == [{"VarCharValue": "1000"}]
    values = [r[0] for r in athena.result_rows(query_id)]
    assert values == ["x", *[str(i) for i in range(1, 2501)]]
    with pytest.raises(ClientError) as error:
        client.get_query_results(QueryExecutionId=query_id, NextToken="bm90LWEtdG9rZW4=")
    assert error.value.response["Error"]["Code"] == "InvalidRequestException"


def test_failures_have_athena_reasons(athena: Athena, people: str) -> None:
    assert athena.fail("SELECT * FROM no_such_table").startswith(
        f"TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.{athena.database}.no_such_table' does not exist")
    assert athena.fail("SELECT * FROM nodb.t").startswith("SCHEMA_NOT_FOUND")
    assert athena.fail("SELECT nope FROM people").startswith("COLUMN_NOT_FOUND")
    assert athena.fail("SELECT no_such_function(1)").startswith("FUNCTION_NOT_FOUND")
    assert athena.fail("SELEC 1").startswith("SYNTAX_ERROR")
    assert "only supported for transactional tables" in athena.fail("DELETE FROM people WHERE id = 1")
    assert athena.fail("SELECT * FROM read_text('/etc/passwd')")
    query_id = athena.start("SELECT * FROM missing_table")
    athena.wait(query_id)
    with pytest.raises(ClientError) as error:
        athena.client.get_query_results(QueryExecutionId=query_id)
    assert error.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "FAILED" in error.value.response["Error"]["Message"]


def test_missing_output_location_and_bucket(athena: Athena, fogbank: Any) -> None:
    client = athena.client
    with pytest.raises(ClientError) as error:
        client.start_query_execution(QueryString="SELECT 1")
    assert error.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "No output location provided" in error.value.response["Error"]["Message"]
    reason = athena.fail("SELECT 1", ResultConfiguration={"OutputLocation": "s3://no-such-bucket-here/x/"})
    assert reason == "Unable to verify/create output bucket no-such-bucket-here"


def test_list_batch_get_and_idempotent_start(athena: Athena) -> None:
    client = athena.client
    first = athena.execute("SELECT 1")["QueryExecutionId"]
    second = athena.execute("SELECT 2")["QueryExecutionId"]
    listed = client.list_query_executions()["QueryExecutionIds"]
    assert listed.index(second) < listed.index(first)
    batch = client.batch_get_query_execution(QueryExecutionIds=[first, "00000000-0000-0000-0000-000000000000"])
    assert [q["QueryExecutionId"] for q in batch["QueryExecutions"]] == [first]
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "00000000-0000-0000-0000-000000000000"
    token = "same-request-token-0123456789abcdef"
    one = athena.start("SELECT 3", ClientRequestToken=token)
    two = athena.start("SELECT 3", ClientRequestToken=token)
    assert one == two
    with pytest.raises(ClientError) as error:
        client.get_query_execution(QueryExecutionId="11111111-1111-1111-1111-111111111111")
    assert error.value.response["Error"]["Code"] == "InvalidRequestException"


def test_stop_query_execution_cancels(athena: Athena) -> None:
    query_id = athena.start("SELECT count(*) FROM UNNEST(sequence(1, 30000)) AS a(x) "
                            "CROSS JOIN UNNEST(sequence(1, 30000)) AS b(y) WHERE (x * y) % 7 = 3")
    athena.client.stop_query_execution(QueryExecutionId=query_id)
    execution = athena.wait(query_id)
    assert execution["Status"]["State"] == "CANCELLED"


def test_decimals_below_one_keep_their_leading_zero(athena: Athena) -> None:
    rows = athena.rows("SELECT CAST(0.5 AS DECIMAL(5, 5)) AS a, CAST(-0.25 AS DECIMAL(2, 2)) AS b, "
                       "CAST(0.5 AS DECIMAL(6, 5)) AS c")
    assert rows == [["a", "b", "c"], ["0.50000", "-0.25", "0.50000"]]
