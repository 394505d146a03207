"""GetQueryExecution on an unfinished query waits a little for it to end, and answers as soon as it does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import InProcessServer

from fogbank.services.athena import runner


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessServer]:
    # A wait far longer than the test may take: only the query's end can answer the call in time.
    monkeypatch.setattr(runner, "STATUS_WAIT_SECONDS", 600.0)
    started = InProcessServer(tmp_path / "data").start()
    yield started
    started.stop()


def test_a_status_call_is_answered_when_the_query_ends(server: InProcessServer) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="results")
    athena = server.client("athena")
    ids = {}
    for sql, state in (("SELECT 6 * 7", "SUCCEEDED"), ("SELECT nope FROM missing_table", "FAILED")):
        ids[sql] = athena.start_query_execution(
            QueryString=sql, ResultConfiguration={"OutputLocation": "s3://results/q/"})["QueryExecutionId"]
        execution = athena.get_query_execution(QueryExecutionId=ids[sql])["QueryExecution"]
        assert execution["Status"]["State"] == state, execution["Status"]
    rows = athena.get_query_results(QueryExecutionId=ids["SELECT 6 * 7"])["ResultSet"]["Rows"]
    assert rows[1]["Data"] == [{"VarCharValue": "42"}]
