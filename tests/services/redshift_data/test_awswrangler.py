"""awswrangler's Redshift Data API client (wr.data_api.redshift) against fogbank."""

from __future__ import annotations

import boto3
import pytest
from tests.support import FogbankServer

wr = pytest.importorskip("awswrangler")


def test_read_sql_query_returns_typed_frames(fogbank: FogbankServer, cluster: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", fogbank.endpoint_url)
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    con = wr.data_api.redshift.connect(cluster_id=cluster, database="dev", db_user="awsuser", boto3_session=session)
    try:
        empty = wr.data_api.redshift.read_sql_query(
            "CREATE TABLE fruit (id INT, name VARCHAR(10), price DECIMAL(6,2), fresh BOOLEAN)", con=con)
        assert empty.empty
        wr.data_api.redshift.read_sql_query(
            "INSERT INTO fruit VALUES (1, 'apple', 0.50, true), (2, 'pear', 0.75, false), (3, NULL, NULL, NULL)",
            con=con)
        frame = wr.data_api.redshift.read_sql_query("SELECT id, name, price, fresh FROM fruit WHERE id <= :top "
                                                    "ORDER BY id", con=con,
                                                    parameters=[{"name": "top", "value": "3"}])
        assert list(frame.columns) == ["id", "name", "price", "fresh"]
        assert frame.iloc[:2].to_dict("records") == [
            {"id": 1, "name": "apple", "price": "0.50", "fresh": True},
            {"id": 2, "name": "pear", "price": "0.75", "fresh": False},
        ]
        assert frame.iloc[2]["id"] == 3
        assert frame.iloc[2][["name", "price", "fresh"]].isna().tolist() == [True, True, True]
    finally:
        con.close()
