"""Redshift Data API fixtures: a fresh cluster (or workgroup) per test and a helper that runs SQL to the end."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support import FogbankServer

_names = itertools.count()
TERMINAL = ("FINISHED", "FAILED", "ABORTED")


def unique_name(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw").replace("gw", "")
    return f"{prefix}-{worker or '0'}-{next(_names)}-{int(time.time() * 1000) % 1_000_000}"


def value_of(field: dict[str, Any]) -> Any:
    """A Field union as a Python value."""
    if field.get("isNull"):
        return None
    (_kind, value), = field.items()
    return value


class Sql:
    """Runs statements through the Data API against one cluster or workgroup and waits for them."""

    def __init__(self, client: Any, target: dict[str, str], database: str = "dev") -> None:
        self.client = client
        self.target = target
        self.database = database

    def submit(self, sql: str, **extra: Any) -> str:
        args = {**self.target, "Database": self.database, "DbUser": "awsuser", **extra}
        return str(self.client.execute_statement(Sql=sql, **args)["Id"])

    def wait(self, statement_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = self.client.describe_statement(Id=statement_id)
            if described["Status"] in TERMINAL:
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"statement {statement_id} still {described['Status']}")
            time.sleep(0.02)

    def run(self, sql: str, **extra: Any) -> dict[str, Any]:
        return self.wait(self.submit(sql, **extra))

    def ok(self, sql: str, **extra: Any) -> dict[str, Any]:
        described = self.run(sql, **extra)
        assert described["Status"] == "FINISHED", described.get("Error")
        return described

    def error(self, sql: str, **extra: Any) -> str:
        described = self.run(sql, **extra)
        assert described["Status"] == "FAILED", described
        return str(described["Error"])

    def result(self, statement_id: str) -> dict[str, Any]:
        """Every page of a result: Records concatenated, ColumnMetadata of the first page."""
        page = self.client.get_statement_result(Id=statement_id)
        records = list(page["Records"])
        first = page
        while page.get("NextToken"):
            page = self.client.get_statement_result(Id=statement_id, NextToken=page["NextToken"])
            records.extend(page["Records"])
        return {**first, "Records": records}

    def rows(self, sql: str, **extra: Any) -> list[list[Any]]:
        described = self.ok(sql, **extra)
        return [[value_of(f) for f in record] for record in self.result(described["Id"])["Records"]]

    def fields(self, sql: str, **extra: Any) -> list[list[dict[str, Any]]]:
        described = self.ok(sql, **extra)
        return list(self.result(described["Id"])["Records"])


@pytest.fixture
def redshift(fogbank: FogbankServer) -> Any:
    return fogbank.client("redshift")


@pytest.fixture
def serverless(fogbank: FogbankServer) -> Any:
    return fogbank.client("redshift-serverless")


@pytest.fixture
def data_api(fogbank: FogbankServer) -> Any:
    return fogbank.client("redshift-data")


@pytest.fixture
def cluster(redshift: Any) -> Iterator[str]:
    """A new, available cluster; deleted (with its warehouse) after the test."""
    name = unique_name("c")
    redshift.create_cluster(ClusterIdentifier=name, NodeType="ra3.xlplus", MasterUsername="awsuser",
                            MasterUserPassword="Secret123")
    yield name
    with contextlib.suppress(redshift.exceptions.ClusterNotFoundFault):
        redshift.delete_cluster(ClusterIdentifier=name, SkipFinalClusterSnapshot=True)


@pytest.fixture
def sql(data_api: Any, cluster: str) -> Sql:
    return Sql(data_api, {"ClusterIdentifier": cluster})
