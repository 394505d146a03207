"""awswrangler (AWS SDK for pandas) against fogbank: a data lake landed with `wr.s3.to_parquet`, catalogued in
Glue, read back through Athena (CTAS and plain), managed with `wr.catalog`, and joined from the Redshift Data
API. Every answer is checked value by value against the frame that was written."""

from __future__ import annotations

import datetime
import decimal
import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from tests.support import FogbankServer

wr = pytest.importorskip("awswrangler")
pd = pytest.importorskip("pandas")

_names = itertools.count()
_ENDPOINTS = ("s3_endpoint_url", "athena_endpoint_url", "glue_endpoint_url", "sts_endpoint_url",
              "redshift_endpoint_url")
POLL = 0.05  # seconds between GetQueryExecution calls (awswrangler waits 1 s by default)


def unique(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}_{worker}_{next(_names)}_{int(time.time() * 1000) % 1_000_000}".lower()


@dataclass
class Lake:
    """One test's corner of the lake: a bucket for data and query results, and a Glue database."""

    session: Any
    bucket: str
    database: str

    @property
    def output(self) -> str:
        return f"s3://{self.bucket}/athena-results/"

    def path(self, name: str) -> str:
        return f"s3://{self.bucket}/lake/{name}/"

    def query(self, sql: str, **kwargs: Any) -> Any:
        kwargs.setdefault("ctas_approach", False)
        kwargs.setdefault("s3_output", self.output)
        return wr.athena.read_sql_query(sql, database=self.database, boto3_session=self.session,
                                        athena_query_wait_polling_delay=POLL, **kwargs)


@pytest.fixture
def lake(fogbank: FogbankServer) -> Iterator[Lake]:
    for name in _ENDPOINTS:
        setattr(wr.config, name, fogbank.endpoint_url)
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    bucket = unique("wr").replace("_", "-")
    session.client("s3", endpoint_url=fogbank.endpoint_url).create_bucket(Bucket=bucket)
    database = unique("wrdb")
    wr.catalog.create_database(database, description="landed by awswrangler", boto3_session=session)
    try:
        yield Lake(session, bucket, database)
    finally:
        for name in _ENDPOINTS:
            wr.config.reset(name)


def sales_frame() -> Any:
    return pd.DataFrame({
        "id": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
        "customer": pd.array(["ann", "bob", None, "dan", "eve"], dtype="string"),
        "amount": [10.5, 20.25, None, 7.0, 1.125],
        "sold_on": [datetime.date(2024, 1, 1), datetime.date(2024, 1, 2), None, datetime.date(2024, 2, 29),
                    datetime.date(2024, 3, 1)],
        "sold_at": pd.to_datetime(["2024-01-01 08:00:00.125", "2024-01-02 09:30:00", None, "2024-02-29 23:59:59",
                                   "2024-03-01 00:00:00"], format="ISO8601"),
        "price": [decimal.Decimal("10.50"), decimal.Decimal("-0.01"), None, decimal.Decimal("99999.99"),
                  decimal.Decimal("0.00")],
        "tags": [["a", "b"], [], None, ["c"], ["d", "e", "f"]],
        "flag": pd.array([True, False, None, True, False], dtype="boolean"),
        "region": ["eu", "us", "eu", "apac", "us"],
        "year": ["2024", "2024", "2024", "2024", "2025"],
    })


def land_sales(lake: Lake, table: str = "sales") -> dict[str, Any]:
    written: dict[str, Any] = wr.s3.to_parquet(
        sales_frame(), lake.path(table), dataset=True, database=lake.database, table=table,
        partition_cols=["region", "year"], dtype={"price": "decimal(7,2)"},
        glue_table_settings={"description": "daily sales", "columns_comments": {"amount": "in euros"}},
        boto3_session=lake.session)
    return written


def test_to_parquet_dataset_is_catalogued_with_partitions(lake: Lake) -> None:
    written = land_sales(lake)
    assert sorted(written["partitions_values"].values()) == [["apac", "2024"], ["eu", "2024"], ["us", "2024"],
                                                             ["us", "2025"]]
    assert lake.database in wr.catalog.databases(boto3_session=lake.session)["Database"].tolist()

    tables = wr.catalog.tables(database=lake.database, boto3_session=lake.session)
    row = tables.set_index("Table").loc["sales"]
    assert row["TableType"] == "EXTERNAL_TABLE"
    assert row["Description"] == "daily sales"
    assert row["Columns"] == "id, customer, amount, sold_on, sold_at, price, tags, flag"
    assert row["Partitions"] == "region, year"
    assert wr.catalog.get_table_types(database=lake.database, table="sales", boto3_session=lake.session) == {
        "id": "bigint", "customer": "string", "amount": "double", "sold_on": "date", "sold_at": "timestamp",
        "price": "decimal(7,2)", "tags": "array<string>", "flag": "boolean", "region": "string", "year": "string"}
    assert wr.catalog.get_columns_comments(database=lake.database, table="sales",
                                           boto3_session=lake.session)["amount"] == "in euros"
    assert wr.catalog.get_table_location(database=lake.database, table="sales",
                                         boto3_session=lake.session) == lake.path("sales")
    assert wr.catalog.does_table_exist(database=lake.database, table="sales", boto3_session=lake.session)
    assert not wr.catalog.does_table_exist(database=lake.database, table="nope", boto3_session=lake.session)

    partitions = wr.catalog.get_partitions(database=lake.database, table="sales", boto3_session=lake.session)
    assert partitions == {f"{lake.path('sales')}region={r}/year={y}/": [r, y]
                          for r, y in [("apac", "2024"), ("eu", "2024"), ("us", "2024"), ("us", "2025")]}
    us = wr.catalog.get_parquet_partitions(database=lake.database, table="sales", expression="region = 'us'",
                                           boto3_session=lake.session)
    assert sorted(us.values()) == [["us", "2024"], ["us", "2025"]]

    back = wr.s3.read_parquet(lake.path("sales"), dataset=True, boto3_session=lake.session)
    assert sorted(back["id"].tolist()) == [1, 2, 3, 4, 5]
    assert back.set_index("id").loc[4, "region"] == "apac"
    by_table = wr.s3.read_parquet_table(database=lake.database, table="sales", boto3_session=lake.session)
    assert by_table.set_index("id").loc[5, "tags"].tolist() == ["d", "e", "f"]


@pytest.mark.parametrize("ctas", [False, True], ids=["plain", "ctas"])
def test_read_sql_query_round_trips_types(lake: Lake, ctas: bool) -> None:
    land_sales(lake)
    before = set(wr.catalog.tables(database=lake.database, boto3_session=lake.session)["Table"])
    frame = lake.query("SELECT * FROM sales ORDER BY id", ctas_approach=ctas)
    assert list(frame.columns) == ["id", "customer", "amount", "sold_on", "sold_at", "price", "tags", "flag",
                                   "region", "year"]
    assert frame["id"].tolist() == [1, 2, 3, 4, 5]
    assert frame["customer"].tolist()[:2] == ["ann", "bob"] and pd.isna(frame["customer"][2])
    assert frame["amount"].tolist()[:2] == [10.5, 20.25] and pd.isna(frame["amount"][2])
    assert frame["sold_on"].tolist()[3] == datetime.date(2024, 2, 29)
    assert frame["sold_at"][0] == pd.Timestamp("2024-01-01 08:00:00.125")
    assert frame["price"].tolist()[:2] == [decimal.Decimal("10.50"), decimal.Decimal("-0.01")]
    assert frame["price"][3] == decimal.Decimal("99999.99") and pd.isna(frame["price"][2])
    assert frame["flag"].tolist()[:2] == [True, False] and pd.isna(frame["flag"][2])
    assert frame["region"].tolist() == ["eu", "us", "eu", "apac", "us"]
    if ctas:  # read back from the CTAS Parquet: arrays stay arrays
        assert [list(t) for t in frame["tags"][:2]] == [["a", "b"], []]
    else:  # read from the result CSV: Athena prints arrays as text
        assert frame["tags"].tolist()[:2] == ["[a, b]", "[]"]
    assert pd.isna(frame["tags"][2])
    # the CTAS approach drops its temporary table again
    assert set(wr.catalog.tables(database=lake.database, boto3_session=lake.session)["Table"]) == before

    totals = lake.query("SELECT region, count(*) AS n, sum(amount) AS total FROM sales WHERE year = '2024' "
                        "GROUP BY region ORDER BY region", ctas_approach=ctas)
    assert totals.to_dict("records") == [{"region": "apac", "n": 1, "total": 7.0},
                                         {"region": "eu", "n": 2, "total": 10.5},
                                         {"region": "us", "n": 1, "total": 20.25}]


def test_query_parameters_chunks_and_unload(lake: Lake) -> None:
    land_sales(lake)
    named = lake.query("SELECT id FROM sales WHERE region = :r AND amount > :low ORDER BY id",
                       params={"r": "us", "low": 1})
    assert named["id"].tolist() == [2, 5]
    qmark = lake.query("SELECT id FROM sales WHERE region = ? ORDER BY id", params=["'eu'"], paramstyle="qmark")
    assert qmark["id"].tolist() == [1, 3]
    chunks = list(lake.query("SELECT id FROM sales ORDER BY id", ctas_approach=True, chunksize=2))
    assert [i for chunk in chunks for i in chunk["id"].tolist()] == [1, 2, 3, 4, 5]
    unloaded = lake.query("SELECT id, region FROM sales WHERE flag ORDER BY id", unload_approach=True,
                          s3_output=f"s3://{lake.bucket}/unload/")
    assert sorted(unloaded["id"].tolist()) == [1, 4]


def test_catalog_changes_are_seen_by_athena(lake: Lake) -> None:
    land_sales(lake)
    wr.s3.to_parquet(pd.DataFrame({"id": pd.array([6], dtype="Int64"), "amount": [3.0], "region": ["eu"],
                                   "year": ["2024"]}),
                     lake.path("sales"), dataset=True, database=lake.database, table="sales", mode="append",
                     partition_cols=["region", "year"], boto3_session=lake.session)
    assert lake.query("SELECT id, customer FROM sales WHERE region = 'eu' ORDER BY id")["id"].tolist() == [1, 3, 6]

    wr.s3.to_parquet(pd.DataFrame({"id": pd.array([7], dtype="Int64"), "region": ["us"], "year": ["2025"]}),
                     lake.path("sales"), dataset=True, database=lake.database, table="sales",
                     mode="overwrite_partitions", partition_cols=["region", "year"], boto3_session=lake.session)
    counts = lake.query("SELECT region, year, array_agg(id ORDER BY id) AS ids FROM sales GROUP BY region, year "
                        "ORDER BY region, year")
    assert counts.values.tolist() == [["apac", "2024", "[4]"], ["eu", "2024", "[1, 3, 6]"], ["us", "2024", "[2]"],
                                      ["us", "2025", "[7]"]]

    wr.catalog.delete_partitions(database=lake.database, table="sales", partitions_values=[["eu", "2024"]],
                                 boto3_session=lake.session)
    assert lake.query("SELECT count(*) AS n FROM sales")["n"].tolist() == [3]
    wr.catalog.add_parquet_partitions(database=lake.database, table="sales",
                                      partitions_values={f"{lake.path('sales')}region=eu/year=2024/": ["eu", "2024"]},
                                      boto3_session=lake.session)
    assert lake.query("SELECT count(*) AS n FROM sales")["n"].tolist() == [6]

    wr.catalog.add_column(database=lake.database, table="sales", column_name="note", column_type="string",
                          column_comment="added later", boto3_session=lake.session)
    assert lake.query("SELECT count(*) AS n, count(note) AS notes FROM sales").values.tolist() == [[6, 0]]
    wr.catalog.delete_column(database=lake.database, table="sales", column_name="note", boto3_session=lake.session)
    assert "note" not in wr.catalog.get_table_types(database=lake.database, table="sales",
                                                    boto3_session=lake.session)

    assert wr.catalog.delete_table_if_exists(database=lake.database, table="sales", boto3_session=lake.session)
    assert not wr.catalog.delete_table_if_exists(database=lake.database, table="sales", boto3_session=lake.session)
    assert not wr.catalog.does_table_exist(database=lake.database, table="sales", boto3_session=lake.session)
    with pytest.raises(wr.exceptions.QueryFailed, match=r"TABLE_NOT_FOUND: .*Table 'awsdatacatalog\.\w+\.sales'"):
        lake.query("SELECT * FROM sales")
    # the data itself stays in S3: dropping an external table never deletes it
    assert len(wr.s3.list_objects(lake.path("sales"), boto3_session=lake.session)) >= 4


def test_hive_ddl_helpers_quote_names_with_backticks(lake: Lake) -> None:
    """repair_table, describe_table and show_create_table send `db` and `table` quoted with backticks."""
    wr.catalog.create_parquet_table(database=lake.database, table="events", path=lake.path("events"),
                                    columns_types={"id": "bigint", "kind": "string"},
                                    partitions_types={"day": "string"}, boto3_session=lake.session)
    for day, ids in (("2024-01-01", [1, 2]), ("2024-01-02", [3])):
        wr.s3.to_parquet(pd.DataFrame({"id": pd.array(ids, dtype="Int64"), "kind": ["click"] * len(ids)}),
                         f"{lake.path('events')}day={day}/part.parquet", boto3_session=lake.session)
    state = wr.athena.repair_table("events", database=lake.database, s3_output=lake.output,
                                   boto3_session=lake.session, athena_query_wait_polling_delay=POLL)
    assert state == "SUCCEEDED"
    assert sorted(wr.catalog.get_partitions(database=lake.database, table="events",
                                            boto3_session=lake.session).values()) == [["2024-01-01"], ["2024-01-02"]]
    described = wr.athena.describe_table("events", database=lake.database, s3_output=lake.output,
                                         boto3_session=lake.session, athena_query_wait_polling_delay=POLL)
    assert described["Column Name"].tolist() == ["id", "kind", "day"]
    assert described["Type"].tolist() == ["bigint", "string", "string"]
    assert described["Partition"].tolist() == [False, False, True]
    ddl = wr.athena.show_create_table("events", database=lake.database, s3_output=lake.output,
                                      boto3_session=lake.session, athena_query_wait_polling_delay=POLL)
    assert f"CREATE EXTERNAL TABLE `{lake.database}`.`events`" in ddl
    assert "PARTITIONED BY" in ddl and f"'{lake.path('events')}'" in ddl
    assert lake.query("SELECT day, count(*) AS n FROM events GROUP BY day ORDER BY day").values.tolist() == [
        ["2024-01-01", 2], ["2024-01-02", 1]]


def test_json_that_is_not_json_lines_fails_naming_the_object(lake: Lake) -> None:
    """pandas writes one JSON document by default, not JSON lines: Athena's JSON SerDe cannot read it, and the
    reason names the S3 object (never a file of the server's own)."""
    key = f"{lake.path('js')}data.json"
    wr.s3.to_json(pd.DataFrame({"a": [1, 2], "b": ["p", "q"]}), key, boto3_session=lake.session)
    wr.catalog.create_json_table(database=lake.database, table="js", path=lake.path("js"),
                                 columns_types={"a": "int", "b": "string"}, boto3_session=lake.session)
    with pytest.raises(wr.exceptions.QueryFailed, match=r"HIVE_BAD_DATA: ") as failure:
        lake.query("SELECT a, b FROM js")
    assert key in str(failure.value)
    assert "scratch" not in str(failure.value)
    wr.s3.to_json(pd.DataFrame({"a": [1, 2], "b": ["p", "q"]}), key, orient="records", lines=True,
                  boto3_session=lake.session)
    assert lake.query("SELECT a, b FROM js ORDER BY a").values.tolist() == [[1, "p"], [2, "q"]]


def test_start_query_execution_and_wait_query(lake: Lake) -> None:
    land_sales(lake)
    query_id = wr.athena.start_query_execution("SELECT sum(amount) AS total, max(sold_on) AS last FROM sales",
                                               database=lake.database, s3_output=lake.output,
                                               boto3_session=lake.session)
    execution = wr.athena.wait_query(query_id, boto3_session=lake.session, athena_query_wait_polling_delay=POLL)
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["StatementType"] == "DML"
    assert execution["Statistics"]["DataScannedInBytes"] > 0
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{lake.output}{query_id}.csv"
    results = wr.athena.get_query_results(query_id, boto3_session=lake.session)
    assert results.to_dict("records") == [{"total": 38.875, "last": datetime.date(2024, 3, 1)}]
    listed = wr.athena.list_query_executions(boto3_session=lake.session)
    assert query_id in listed

    failing = wr.athena.start_query_execution("SELECT no_such_column FROM sales", database=lake.database,
                                              s3_output=lake.output, boto3_session=lake.session)
    with pytest.raises(wr.exceptions.QueryFailed, match=r"COLUMN_NOT_FOUND: .*'no_such_column' cannot be resolved"):
        wr.athena.wait_query(failing, boto3_session=lake.session, athena_query_wait_polling_delay=POLL)
    broken = wr.athena.start_query_execution("SELEC 1", s3_output=lake.output, boto3_session=lake.session)
    with pytest.raises(wr.exceptions.QueryFailed, match="SYNTAX_ERROR"):
        wr.athena.wait_query(broken, boto3_session=lake.session, athena_query_wait_polling_delay=POLL)


def test_to_iceberg_appends_merges_and_reads_back(lake: Lake) -> None:
    """wr.athena.to_iceberg creates the Iceberg table, appends, upserts on merge_cols (MERGE INTO), evolves the
    schema and overwrites partitions; every step reads back through Athena with the rows it should hold."""
    kwargs: dict[str, Any] = {"database": lake.database, "table": "ice", "table_location": lake.path("ice"),
                              "temp_path": f"s3://{lake.bucket}/ice-tmp/", "s3_output": lake.output,
                              "boto3_session": lake.session, "keep_files": False}
    first = pd.DataFrame({"id": pd.array([1, 2, 3], dtype="Int64"), "name": ["a", "b", "c"],
                          "region": ["eu", "us", "eu"]})
    wr.athena.to_iceberg(first, partition_cols=["region"], **kwargs)
    table = wr.catalog.get_table_parameters(database=lake.database, table="ice", boto3_session=lake.session)
    assert table["table_type"] == "ICEBERG"

    def read() -> list[tuple[Any, ...]]:
        frame = lake.query("SELECT * FROM ice ORDER BY id")
        return [tuple(r) for r in frame.itertuples(index=False)]

    assert read() == [(1, "a", "eu"), (2, "b", "us"), (3, "c", "eu")]
    upsert = pd.DataFrame({"id": pd.array([2, 4], dtype="Int64"), "name": ["B", "d"], "region": ["us", "us"]})
    wr.athena.to_iceberg(upsert, merge_cols=["id"], **kwargs)
    assert read() == [(1, "a", "eu"), (2, "B", "us"), (3, "c", "eu"), (4, "d", "us")]
    evolved = pd.DataFrame({"id": pd.array([5], dtype="Int64"), "name": ["e"], "region": ["eu"],
                            "score": [0.5]})
    wr.athena.to_iceberg(evolved, schema_evolution=True, **kwargs)
    rows = read()
    assert rows[-1] == (5, "e", "eu", 0.5) and pd.isna(rows[0][3])
    only_eu = pd.DataFrame({"id": pd.array([9], dtype="Int64"), "name": ["z"], "region": ["eu"], "score": [1.0]})
    wr.athena.to_iceberg(only_eu, mode="overwrite_partitions", partition_cols=["region"], **kwargs)
    assert [(r[0], r[2]) for r in read()] == [(2, "us"), (4, "us"), (9, "eu")]


def test_data_api_redshift_joins_the_lake(fogbank: FogbankServer, lake: Lake,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Data landed by awswrangler is queried from a Redshift warehouse through an external schema over the same
    Glue database, joined with a warehouse table, via wr.data_api.redshift."""
    land_sales(lake)
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", fogbank.endpoint_url)
    cluster = unique("wr-cluster").replace("_", "-")
    lake.session.client("redshift", endpoint_url=fogbank.endpoint_url).create_cluster(
        ClusterIdentifier=cluster, NodeType="dc2.large", ClusterType="single-node", MasterUsername="awsuser",
        MasterUserPassword="Passw0rd1", DBName="dev")
    con = wr.data_api.redshift.connect(cluster_id=cluster, database="dev", db_user="awsuser",
                                       boto3_session=lake.session)
    try:
        wr.data_api.redshift.read_sql_query(
            f"CREATE EXTERNAL SCHEMA lake FROM DATA CATALOG DATABASE '{lake.database}' "
            "IAM_ROLE 'arn:aws:iam::000000000000:role/spectrum'", con=con)
        wr.data_api.redshift.read_sql_query("CREATE TABLE regions (code VARCHAR(8), label VARCHAR(32))", con=con)
        wr.data_api.redshift.read_sql_query(
            "INSERT INTO regions VALUES ('eu', 'Europe'), ('us', 'Americas'), ('apac', 'Asia-Pacific')", con=con)
        frame = wr.data_api.redshift.read_sql_query(
            "SELECT r.label, count(*) AS n, sum(s.amount) AS total FROM lake.sales s JOIN regions r "
            "ON r.code = s.region WHERE s.amount IS NOT NULL GROUP BY r.label ORDER BY r.label", con=con)
        assert frame.values.tolist() == [["Americas", 2, 21.375], ["Asia-Pacific", 1, 7.0], ["Europe", 1, 10.5]]
    finally:
        con.close()
