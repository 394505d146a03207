"""Result pages: a server whose Data API cuts pages small, so boto3's paginator has pages to follow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from tests.services.redshift_data.conftest import Sql
from tests.support import InProcessServer

from fogbank.services.redshift_data.provider import RedshiftDataProvider


@pytest.fixture
def small_pages(tmp_path: Path) -> Iterator[InProcessServer]:
    """fogbank in this process with a Data API page of about 2,000 bytes."""
    server = InProcessServer(tmp_path / "data")
    server.provider(RedshiftDataProvider).page_bytes = 2000
    server.start()
    yield server
    server.stop()


def test_results_page_through_next_tokens(small_pages: InProcessServer) -> None:
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
