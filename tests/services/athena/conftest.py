"""Athena fixtures: clients of the shared server, a fresh database and results bucket per test, and helpers
that run a query to its end and read its rows."""

from __future__ import annotations

import io
import itertools
import os
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.support import FogbankServer

_names = itertools.count()


def unique(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}_{worker}_{next(_names)}_{int(time.time() * 1000) % 1_000_000}".lower()


@dataclass
class Athena:
    """An Athena client with one output location, and helpers that wait for queries to end."""

    client: Any
    output: str
    database: str

    def start(self, sql: str, **kwargs: Any) -> str:
        kwargs.setdefault("ResultConfiguration", {"OutputLocation": self.output})
        kwargs.setdefault("QueryExecutionContext", {"Database": self.database})
        return str(self.client.start_query_execution(QueryString=sql, **kwargs)["QueryExecutionId"])

    def wait(self, query_id: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            execution: dict[str, Any] = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(f"query {query_id} still {execution['Status']['State']}")
            time.sleep(0.03)

    def execute(self, sql: str, **kwargs: Any) -> dict[str, Any]:
        """Runs a query that must succeed; returns its execution."""
        execution = self.wait(self.start(sql, **kwargs))
        assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"].get("StateChangeReason")
        return execution

    def fail(self, sql: str, **kwargs: Any) -> str:
        """Runs a query that must fail; returns its StateChangeReason."""
        execution = self.wait(self.start(sql, **kwargs))
        assert execution["Status"]["State"] == "FAILED", execution["Status"]
        reason = execution["Status"]["StateChangeReason"]
        assert execution["Status"]["AthenaError"]["ErrorMessage"] == reason
        return str(reason)

    def rows(self, sql: str, **kwargs: Any) -> list[list[str | None]]:
        """The result rows (header row first for SELECT) as Athena returns them: strings, None for NULL."""
        execution = self.execute(sql, **kwargs)
        return self.result_rows(execution["QueryExecutionId"])

    def result_rows(self, query_id: str) -> list[list[str | None]]:
        out: list[list[str | None]] = []
        paginator = self.client.get_paginator("get_query_results")
        for page in paginator.paginate(QueryExecutionId=query_id):
            for row in page["ResultSet"]["Rows"]:
                out.append([cell.get("VarCharValue") for cell in row["Data"]])
        return out

    def types(self, query_id: str) -> list[tuple[str, str]]:
        page = self.client.get_query_results(QueryExecutionId=query_id, MaxResults=1)
        return [(c["Name"], c["Type"]) for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]


@pytest.fixture
def athena_client(fogbank: FogbankServer) -> Any:
    return fogbank.client("athena")


@pytest.fixture
def glue(fogbank: FogbankServer) -> Any:
    return fogbank.client("glue")


@pytest.fixture
def results_bucket(s3: Any) -> str:
    name = unique("results").replace("_", "-")
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def athena(athena_client: Any, results_bucket: str, glue: Any) -> Athena:
    database = unique("db")
    glue.create_database(DatabaseInput={"Name": database})
    return Athena(athena_client, f"s3://{results_bucket}/results/", database)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
