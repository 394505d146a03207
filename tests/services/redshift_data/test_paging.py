"""Result pages: a server whose Data API cuts pages small, so boto3's paginator has pages to follow."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from botocore.exceptions import ClientError
from tests.services.redshift_data.conftest import Sql
from tests.support import free_port, make_client

from fogbank.app import FogbankApp
from fogbank.config import Config
from fogbank.services.redshift_data.provider import RedshiftDataProvider


class SmallPages:
    """fogbank in this process with a Data API page of about `page_bytes`."""

    def __init__(self, data_dir: Path, page_bytes: int) -> None:
        self.port = free_port()
        self.app = FogbankApp(Config(host="127.0.0.1", port=self.port, data_dir=data_dir, worker_threads=8))
        provider = next(p for p in self.app.providers if isinstance(p, RedshiftDataProvider))
        provider.page_bytes = page_bytes
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> SmallPages:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("in-process fogbank did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def client(self, service: str) -> Any:
        return make_client(f"http://127.0.0.1:{self.port}", service)


@pytest.fixture
def small_pages(tmp_path: Path) -> Iterator[SmallPages]:
    server = SmallPages(tmp_path / "data", page_bytes=2000).start()
    yield server
    server.stop()


def test_results_page_through_next_tokens(small_pages: SmallPages) -> None:
    small_pages.client("redshift").create_cluster(ClusterIdentifier="paged", NodeType="dc2.large",
                                                  MasterUsername="awsuser", MasterUserPassword="Secret123")
    client = small_pages.client("redshift-data")
    sql = Sql(client, {"ClusterIdentifier": "paged"})
    described = sql.ok("SELECT range AS n, 'row ' || range AS label FROM range(1000) ORDER BY n")
    first = client.get_statement_result(Id=described["Id"])
    assert first["TotalNumRows"] == 1000
    assert "NextToken" in first
    assert 0 < len(first["Records"]) < 1000
    pages = list(client.get_paginator("get_statement_result").paginate(Id=described["Id"]))
    assert len(pages) > 2
    records = [r for page in pages for r in page["Records"]]
    assert [r[0]["longValue"] for r in records] == list(range(1000))
    assert records[999][1] == {"stringValue": "row 999"}
    assert all(page["ColumnMetadata"][0]["name"] == "n" for page in pages)

    csv = sql.ok("SELECT range AS n FROM range(1000) ORDER BY n", ResultFormat="CSV")
    text = "".join(r["CSVRecords"] for page in client.get_paginator("get_statement_result_v2").paginate(
        Id=csv["Id"]) for r in page["Records"])
    assert text == "n\n" + "".join(f"{i}\n" for i in range(1000))

    with pytest.raises(ClientError) as raised:
        client.get_statement_result(Id=described["Id"], NextToken="bm90LWEtdG9rZW4=")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as raised:
        client.get_statement_result(Id=described["Id"], NextToken=client.get_statement_result_v2(
            Id=csv["Id"])["NextToken"])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
