"""Restarts: query history, results and DDL survive; a query running at a crash ends FAILED, never stuck."""

from __future__ import annotations

import time

from tests.services.athena.conftest import Athena
from tests.support import FogbankServer

_SLOW = ("SELECT count(*) FROM UNNEST(sequence(1, 60000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 60000)) AS b(y) "
         "WHERE (x * y) % 11 = 3")


def test_state_survives_restart_and_running_query_fails(own_server: FogbankServer) -> None:
    server = own_server.start()
    s3 = server.client("s3")
    s3.create_bucket(Bucket="durable-results")
    s3.create_bucket(Bucket="durable-data")
    athena = Athena(server.client("athena"), "s3://durable-results/out/", "default")
    athena.execute("CREATE DATABASE shop")
    athena.execute("CREATE TABLE shop.items WITH (external_location = 's3://durable-data/items/') AS "
                   "SELECT * FROM (VALUES (1, 'pen'), (2, 'ink')) AS t(id, name)")
    done = athena.execute("SELECT name FROM shop.items ORDER BY id")["QueryExecutionId"]
    athena.client.create_work_group(Name="kept")
    slow = athena.start(_SLOW)
    deadline = time.monotonic() + 15
    while athena.client.get_query_execution(QueryExecutionId=slow)["QueryExecution"]["Status"]["State"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.kill()

    server.start()
    athena.client = server.client("athena")
    crashed = athena.wait(slow)
    assert crashed["Status"]["State"] == "FAILED"
    assert "server restarted" in crashed["Status"]["StateChangeReason"]
    assert crashed["Status"]["AthenaError"]["Retryable"] is True
    assert athena.result_rows(done) == [["name"], ["pen"], ["ink"]]
    assert athena.client.get_query_execution(QueryExecutionId=done)["QueryExecution"]["Status"]["State"] == \
        "SUCCEEDED"
    assert athena.rows("SELECT count(*) FROM shop.items") == [["_col0"], ["2"]]
    assert athena.client.get_work_group(WorkGroup="kept")["WorkGroup"]["Name"] == "kept"
    listed = athena.client.list_query_executions()["QueryExecutionIds"]
    assert done in listed and slow in listed
    server.stop()


def test_iceberg_commits_survive_sigkill_without_torn_state(own_server: FogbankServer) -> None:
    """Inserts into an Iceberg table while the server is killed: after restart the table reads cleanly and
    holds every batch whose INSERT succeeded (and at most the one in flight), each batch whole."""
    server = own_server.start()
    s3 = server.client("s3")
    s3.create_bucket(Bucket="ice-results")
    s3.create_bucket(Bucket="ice-data")
    athena = Athena(server.client("athena"), "s3://ice-results/out/", "books")
    athena.execute("CREATE DATABASE books", QueryExecutionContext={})
    athena.execute("CREATE TABLE ledger (batch int, n int) LOCATION 's3://ice-data/ledger/' "
                   "TBLPROPERTIES ('table_type'='ICEBERG')")
    succeeded = 0
    in_flight = None
    for batch in range(40):
        query = athena.start(f"INSERT INTO ledger SELECT {batch}, x FROM UNNEST(sequence(1, 50)) AS t(x)")
        if batch == 6:
            in_flight = query
            server.kill()
            break
        assert athena.wait(query)["Status"]["State"] == "SUCCEEDED"
        succeeded += 1
    assert in_flight is not None
    server.start()
    athena.client = server.client("athena")
    rows = athena.rows("SELECT batch, count(*) FROM ledger GROUP BY batch ORDER BY batch")[1:]
    batches = [int(b or 0) for b, _ in rows]
    assert all(count == "50" for _, count in rows)
    assert batches[:succeeded] == list(range(succeeded))
    assert len(batches) in (succeeded, succeeded + 1)
    athena.execute("INSERT INTO ledger VALUES (99, 1)")
    assert athena.rows("SELECT count(*) FROM ledger WHERE batch = 99")[1] == ["1"]
    server.stop()
