"""What survives a restart: warehouse tables, finished results, and statements a crash interrupted (FAILED)."""

from __future__ import annotations

import time
from typing import Any

from tests.services.redshift_data.conftest import Sql
from tests.support import FogbankServer


def _cluster(server: FogbankServer, name: str) -> Sql:
    server.client("redshift").create_cluster(ClusterIdentifier=name, NodeType="dc2.large", MasterUsername="awsuser",
                                             MasterUserPassword="Secret123")
    return Sql(server.client("redshift-data"), {"ClusterIdentifier": name})


def test_tables_and_results_survive_a_restart(own_server: FogbankServer) -> None:
    own_server.start()
    sql = _cluster(own_server, "durable")
    sql.ok("CREATE TABLE ledger (id INT, amount DECIMAL(8,2))")
    sql.ok("INSERT INTO ledger VALUES (1, 10.00), (2, 20.50)")
    select = sql.ok("SELECT SUM(amount) FROM ledger")
    own_server.restart()
    sql = Sql(own_server.client("redshift-data"), {"ClusterIdentifier": "durable"})
    assert sql.rows("SELECT id, amount FROM ledger ORDER BY id") == [[1, "10.00"], [2, "20.50"]]
    assert sql.result(select["Id"])["Records"] == [[{"stringValue": "30.50"}]]
    assert own_server.client("redshift").describe_clusters(ClusterIdentifier="durable")["Clusters"][0][
        "ClusterStatus"] == "available"


def test_committed_rows_survive_a_crash(own_server: FogbankServer) -> None:
    own_server.start()
    sql = _cluster(own_server, "crashy")
    sql.ok("CREATE TABLE events (n INT)")
    for n in range(3):
        sql.ok(f"INSERT INTO events VALUES ({n})")
    own_server.kill()
    own_server.start()
    sql = Sql(own_server.client("redshift-data"), {"ClusterIdentifier": "crashy"})
    assert sql.rows("SELECT n FROM events ORDER BY n") == [[0], [1], [2]]


def test_a_statement_running_at_a_crash_ends_failed(own_server: FogbankServer) -> None:
    own_server.start()
    sql = _cluster(own_server, "interrupted")
    statement_id = sql.submit("SELECT COUNT(*) FROM range(1000000000) a, range(1000000000) b "
                              "WHERE a.range + b.range = -1")
    client: Any = sql.client
    deadline = time.monotonic() + 20
    while client.describe_statement(Id=statement_id)["Status"] != "STARTED":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    own_server.kill()
    own_server.start()
    described = own_server.client("redshift-data").describe_statement(Id=statement_id)
    assert described["Status"] == "FAILED"
    assert "interrupted" in described["Error"]


def test_deleting_a_cluster_deletes_its_data(own_server: FogbankServer) -> None:
    own_server.start()
    redshift = own_server.client("redshift")
    sql = _cluster(own_server, "ephemeral")
    sql.ok("CREATE TABLE gone (x INT)")
    redshift.delete_cluster(ClusterIdentifier="ephemeral", SkipFinalClusterSnapshot=True)
    sql = _cluster(own_server, "ephemeral")
    assert sql.error("SELECT * FROM gone") == 'ERROR: relation "gone" does not exist'
    files = list((own_server.data_dir / "redshift-data" / "warehouses" / "databases").glob("*.duckdb"))
    assert len(files) == 1
