"""Crawlers over Iceberg tables (IcebergTargets) through boto3: tables written by Athena are rediscovered,
registered as the Iceberg Glue catalog registers them and read back by Athena; recrawls follow new metadata;
exclusions, traversal depth, version hints, corrupt metadata, and S3 targets that leave Iceberg folders alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER
from pyiceberg.types import LongType, NestedField, StringType
from tests.services.athena.conftest import Athena
from tests.services.glue.conftest import parquet_bytes, unique, wait_for_crawl
from tests.support import FogbankServer

from fogbank.services.glue.iceberg_crawl import IcebergPlan, change_for, metadata_version, new_table_input
from fogbank.services.glue.layout import iceberg_table_folders

ROLE = "arn:aws:iam::000000000000:role/glue"


@pytest.fixture
def athena(fogbank: FogbankServer, s3: Any, glue: Any) -> Iterator[Athena]:
    """Athena over a database of its own (where tables are written), with a results bucket."""
    results = unique("results").replace("_", "-")
    s3.create_bucket(Bucket=results)
    database = unique("writer")
    glue.create_database(DatabaseInput={"Name": database})
    yield Athena(fogbank.client("athena"), f"s3://{results}/out/", database)
    glue.delete_database(Name=database)


def _create(athena: Athena, name: str, location: str, rows: str | None = None, partitioned: str = "") -> None:
    athena.execute(f"CREATE TABLE {name} (id bigint, city string) {partitioned} LOCATION '{location}' "
                   "TBLPROPERTIES ('table_type'='ICEBERG')")
    if rows:
        athena.execute(f"INSERT INTO {name} VALUES {rows}")


def _iceberg_crawler(glue: Any, database: str, *targets: dict[str, Any], **extra: Any) -> str:
    name = unique("icecrawler")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database, Targets={"IcebergTargets": list(targets)},
                        **extra)
    return name


def _run(glue: Any, name: str) -> dict[str, Any]:
    glue.start_crawler(Name=name)
    return wait_for_crawl(glue, name)


def _metrics(glue: Any, name: str) -> tuple[int, int, int]:
    found = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    return found["TablesCreated"], found["TablesUpdated"], found["TablesDeleted"]


def _table_names(glue: Any, database: str) -> list[str]:
    return sorted(t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"])


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


# -- rediscovery and recrawls -----------------------------------------------------------------------------------


def test_table_dropped_from_glue_is_rediscovered_and_read_by_athena(athena: Athena, glue: Any, bucket: str) -> None:
    name = unique("orders")
    _create(athena, name, f"s3://{bucket}/warehouse/{name}/", "(1, 'oslo'), (2, 'lima'), (3, 'oslo')",
            "PARTITIONED BY (city)")
    written = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]
    glue.delete_table(DatabaseName=athena.database, Name=name)
    assert athena.fail(f"SELECT * FROM {name}").startswith("TABLE_NOT_FOUND")

    crawler = _iceberg_crawler(glue, athena.database, {"Paths": [f"s3://{bucket}/warehouse/"]})
    assert glue.get_crawler(Name=crawler)["Crawler"]["Targets"]["IcebergTargets"] == [
        {"Paths": [f"s3://{bucket}/warehouse/"], "Exclusions": []}]
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"

    table = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["table_type"] == "ICEBERG"
    assert table["Parameters"]["metadata_location"] == written["Parameters"]["metadata_location"]
    assert table["Parameters"]["metadata_location"].startswith(f"s3://{bucket}/warehouse/{name}/metadata/00001-")
    assert table["Parameters"]["UPDATED_BY_CRAWLER"] == crawler
    assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/warehouse/{name}"
    assert table["StorageDescriptor"]["Columns"] == written["StorageDescriptor"]["Columns"]
    assert table["StorageDescriptor"]["Columns"][0] == {
        "Name": "id", "Type": "bigint",
        "Parameters": {"iceberg.field.id": "1", "iceberg.field.optional": "true", "iceberg.field.current": "true"}}
    assert table["PartitionKeys"] == []
    assert athena.rows(f"SELECT id, city FROM {name} ORDER BY id") == [
        ["id", "city"], ["1", "oslo"], ["2", "lima"], ["3", "oslo"]]
    assert athena.rows(f"SELECT count(*) FROM {name} WHERE city = 'oslo'")[1] == ["2"]

    assert _metrics(glue, crawler) == (1, 0, 0)
    crawls = glue.list_crawls(CrawlerName=crawler)["Crawls"]
    assert [c["State"] for c in crawls] == ["COMPLETED"]
    assert json.loads(crawls[0]["Summary"]) == {"TABLE": {"ADD": {"Count": 1}}, "PARTITION": {}}

    # The rediscovered table is an ordinary Iceberg table again: Athena writes to it.
    athena.execute(f"INSERT INTO {name} VALUES (4, 'rome')")
    assert athena.rows(f"SELECT count(*) FROM {name}")[1] == ["4"]
    # Crawling again finds the metadata Athena already points at: nothing to change.
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _metrics(glue, crawler) == (0, 0, 0)


def test_recrawl_follows_new_metadata_and_schema_change_policy(athena: Athena, glue: Any, bucket: str,
                                                             database: str) -> None:
    """The crawler registers a table another catalog writes to; only its crawls move this catalog's pointer."""
    name = unique("events")
    _create(athena, name, f"s3://{bucket}/lake/{name}/", "(1, 'a'), (2, 'b')")
    crawler = _iceberg_crawler(glue, database, {"Paths": [f"s3://{bucket}/lake/{name}"]}, TablePrefix="Ice_")
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    mirrored = f"ice_{name}"
    assert _table_names(glue, database) == [mirrored]
    first = glue.get_table(DatabaseName=database, Name=mirrored)["Table"]["Parameters"]["metadata_location"]
    on_mirror = {"QueryExecutionContext": {"Database": database}}

    athena.execute(f"INSERT INTO {name} VALUES (3, 'c')")
    written = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]["Parameters"]["metadata_location"]
    assert metadata_version(written) == metadata_version(first) + 1
    # Until the next crawl, this catalog still reads the snapshot it registered.
    assert athena.rows(f"SELECT count(*) FROM {mirrored}", **on_mirror)[1] == ["2"]

    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _metrics(glue, crawler) == (0, 1, 0)
    parameters = glue.get_table(DatabaseName=database, Name=mirrored)["Table"]["Parameters"]
    assert parameters["metadata_location"] == written
    assert parameters["previous_metadata_location"] == first
    assert athena.rows(f"SELECT id FROM {mirrored} ORDER BY id", **on_mirror)[1:] == [["1"], ["2"], ["3"]]
    summary = glue.list_crawls(CrawlerName=crawler)["Crawls"]
    assert [json.loads(c["Summary"])["TABLE"] for c in summary] == [{"UPDATE": {"Count": 1}}, {"ADD": {"Count": 1}}]

    # A schema change is left alone under LOG, and taken under UPDATE_IN_DATABASE.
    athena.execute(f"ALTER TABLE {name} ADD COLUMNS (score double)")
    athena.execute(f"INSERT INTO {name} VALUES (4, 'd', 0.5)")
    glue.update_crawler(Name=crawler, SchemaChangePolicy={"UpdateBehavior": "LOG"})
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _metrics(glue, crawler) == (0, 0, 0)
    kept = glue.get_table(DatabaseName=database, Name=mirrored)["Table"]
    assert kept["Parameters"]["metadata_location"] == written
    assert [c["Name"] for c in kept["StorageDescriptor"]["Columns"]] == ["id", "city"]

    glue.update_crawler(Name=crawler, SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE"})
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _metrics(glue, crawler) == (0, 1, 0)
    updated = glue.get_table(DatabaseName=database, Name=mirrored)["Table"]
    assert updated["Parameters"]["metadata_location"] == \
        glue.get_table(DatabaseName=athena.database, Name=name)["Table"]["Parameters"]["metadata_location"]
    assert [c["Name"] for c in updated["StorageDescriptor"]["Columns"]] == ["id", "city", "score"]
    assert athena.rows(f"SELECT id, score FROM {mirrored} ORDER BY id", **on_mirror)[1:] == [
        ["1", None], ["2", None], ["3", None], ["4", "0.5"]]


# -- what a crawl finds --------------------------------------------------------------------------------------------


def test_exclusions_depth_and_empty_paths(athena: Athena, glue: Any, bucket: str, database: str) -> None:
    kept, skipped = unique("kept"), unique("skipped")
    _create(athena, kept, f"s3://{bucket}/wh/sales/{kept}/", "(1, 'x')")
    _create(athena, skipped, f"s3://{bucket}/wh/archive/{skipped}/")

    excluding = _iceberg_crawler(glue, database, {"Paths": [f"s3://{bucket}/wh/"], "Exclusions": ["archive/**"]})
    assert _run(glue, excluding)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _table_names(glue, database) == [kept]
    assert athena.rows(f"SELECT id, city FROM {kept}", QueryExecutionContext={"Database": database})[1:] == [
        ["1", "x"]]

    # The metadata folders lie three folders below wh/: depth 2 finds nothing, and the crawl still succeeds.
    other = unique("depthdb")
    glue.create_database(DatabaseInput={"Name": other})
    try:
        shallow = _iceberg_crawler(glue, other, {"Paths": [f"s3://{bucket}/wh/"], "MaximumTraversalDepth": 2},
                                   {"Paths": [f"s3://{bucket}/nothing-here/"]})
        assert _run(glue, shallow)["LastCrawl"]["Status"] == "SUCCEEDED"
        assert _table_names(glue, other) == []
        assert _metrics(glue, shallow) == (0, 0, 0)
        glue.update_crawler(Name=shallow, Targets={"IcebergTargets": [
            {"Paths": [f"s3://{bucket}/wh/"], "MaximumTraversalDepth": 3}]})
        assert _run(glue, shallow)["LastCrawl"]["Status"] == "SUCCEEDED"
        assert _table_names(glue, other) == sorted([kept, skipped])
        assert _metrics(glue, shallow) == (2, 0, 0)
    finally:
        glue.delete_database(Name=other)


def _copy(s3: Any, bucket: str, source: str, key: str) -> None:
    source_bucket, source_key = source[len("s3://"):].split("/", 1)
    body = s3.get_object(Bucket=source_bucket, Key=source_key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_version_hint_highest_version_and_vanished_tables(athena: Athena, glue: Any, s3: Any, bucket: str,
                                                         database: str) -> None:
    """Hadoop-style tables (vN.metadata.json, version-hint.text) made from an Athena table's metadata files."""
    name = unique("src")
    _create(athena, name, f"s3://{bucket}/src/{name}/", "(7, 'kyiv')")
    parameters = glue.get_table(DatabaseName=athena.database, Name=name)["Table"]["Parameters"]
    empty, filled = parameters["previous_metadata_location"], parameters["metadata_location"]
    for folder in ("hinted", "latest"):
        _copy(s3, bucket, empty, f"hadoop/{folder}/metadata/v1.metadata.json")
        _copy(s3, bucket, filled, f"hadoop/{folder}/metadata/v2.metadata.json")
    s3.put_object(Bucket=bucket, Key="hadoop/hinted/metadata/version-hint.text", Body=b"1\n")

    crawler = _iceberg_crawler(glue, database, {"Paths": [f"s3://{bucket}/hadoop/"]},
                               SchemaChangePolicy={"DeleteBehavior": "DELETE_FROM_DATABASE"})
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    on_db = {"QueryExecutionContext": {"Database": database}}

    def pointer(table: str) -> str:
        return str(glue.get_table(DatabaseName=database, Name=table)["Table"]["Parameters"]["metadata_location"])

    assert pointer("hinted") == f"s3://{bucket}/hadoop/hinted/metadata/v1.metadata.json"
    assert pointer("latest") == f"s3://{bucket}/hadoop/latest/metadata/v2.metadata.json"
    assert athena.rows("SELECT count(*) FROM hinted", **on_db)[1] == ["0"]
    assert athena.rows("SELECT id, city FROM latest", **on_db)[1:] == [["7", "kyiv"]]

    s3.put_object(Bucket=bucket, Key="hadoop/hinted/metadata/version-hint.text", Body=b"2")
    for key in ("v1.metadata.json", "v2.metadata.json"):
        s3.delete_object(Bucket=bucket, Key=f"hadoop/latest/metadata/{key}")
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _metrics(glue, crawler) == (0, 1, 1)
    assert pointer("hinted") == f"s3://{bucket}/hadoop/hinted/metadata/v2.metadata.json"
    assert _table_names(glue, database) == ["hinted"]
    assert athena.rows("SELECT id FROM hinted", **on_db)[1:] == [["7"]]


def test_corrupt_metadata_fails_the_crawl_naming_the_file(athena: Athena, glue: Any, s3: Any, bucket: str,
                                                        database: str) -> None:
    good = unique("good")
    _create(athena, good, f"s3://{bucket}/mixed/{good}/", "(1, 'a')")
    s3.put_object(Bucket=bucket, Key="mixed/broken/metadata/00003-abc.metadata.json", Body=b"{not json")
    crawler = _iceberg_crawler(glue, database, {"Paths": [f"s3://{bucket}/mixed/"]})
    last = _run(glue, crawler)["LastCrawl"]
    assert last["Status"] == "FAILED"
    assert f"s3://{bucket}/mixed/broken/metadata/00003-abc.metadata.json" in last["ErrorMessage"]
    assert _table_names(glue, database) == []  # nothing is written by a crawl that fails
    history = glue.list_crawls(CrawlerName=crawler)["Crawls"]
    assert history[0]["State"] == "FAILED" and "00003-abc.metadata.json" in history[0]["ErrorMessage"]

    # JSON that is not table metadata fails the same way; fixed metadata lets the crawl through.
    s3.put_object(Bucket=bucket, Key="mixed/broken/metadata/00003-abc.metadata.json",
                  Body=json.dumps({"format-version": 2, "location": "s3://x/y"}).encode())
    last = _run(glue, crawler)["LastCrawl"]
    assert last["Status"] == "FAILED" and "00003-abc.metadata.json" in last["ErrorMessage"]
    s3.delete_object(Bucket=bucket, Key="mixed/broken/metadata/00003-abc.metadata.json")
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _table_names(glue, database) == [good]

    missing = _iceberg_crawler(glue, database, {"Paths": ["s3://no-such-bucket-for-iceberg/x/"]})
    last = _run(glue, missing)["LastCrawl"]
    assert last["Status"] == "FAILED"
    assert last["ErrorMessage"] == "The S3 bucket no-such-bucket-for-iceberg does not exist."


def test_s3_targets_leave_iceberg_folders_alone(athena: Athena, glue: Any, s3: Any, bucket: str,
                                                database: str) -> None:
    name = unique("ice")
    _create(athena, name, f"s3://{bucket}/raw/{name}/", "(1, 'a'), (2, 'b')")
    s3.put_object(Bucket=bucket, Key="raw/plain/part-0.parquet", Body=parquet_bytes({"n": [1, 2, 3]}))
    crawler = unique("s3crawler")
    glue.create_crawler(Name=crawler, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/raw/"},
                                               {"Path": f"s3://{bucket}/raw/{name}/data/"}]})
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    # Only plain/ is left under raw/: one table of its Parquet files, none of the Iceberg data or metadata files.
    assert _table_names(glue, database) == ["raw"]
    raw = glue.get_table(DatabaseName=database, Name="raw")["Table"]
    assert [(c["Name"], c["Type"]) for c in raw["StorageDescriptor"]["Columns"]] == [("n", "bigint")]
    assert [p["Values"] for p in glue.get_partitions(DatabaseName=database, TableName="raw")["Partitions"]] == [
        ["plain"]]
    assert _metrics(glue, crawler) == (1, 0, 0)

    # One crawler may hold both kinds of target: each folder is catalogued by the target that understands it.
    glue.update_crawler(Name=crawler, Targets={"S3Targets": [{"Path": f"s3://{bucket}/raw/"}],
                                               "IcebergTargets": [{"Paths": [f"s3://{bucket}/raw/"]}]})
    assert _run(glue, crawler)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert _table_names(glue, database) == sorted([name, "raw"])
    assert glue.get_table(DatabaseName=database, Name=name)["Table"]["Parameters"]["table_type"] == "ICEBERG"
    assert athena.rows(f"SELECT count(*) FROM {name}", QueryExecutionContext={"Database": database})[1] == ["2"]


@pytest.mark.parametrize("target", [
    {"Paths": ["lake/no-scheme/"]},
    {"Paths": []},
    {"Paths": ["s3://lake/t/"], "MaximumTraversalDepth": 0},
    {"Paths": ["s3://lake/t/"], "MaximumTraversalDepth": 21},
])
def test_invalid_iceberg_targets(glue: Any, target: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as error:
        glue.create_crawler(Name=unique("bad"), Role=ROLE, Targets={"IcebergTargets": [target]})
    assert _code(error) == "InvalidInputException"


# -- the choice of metadata, in-process ------------------------------------------------------------------------


def _metadata(*extra: str) -> Any:
    fields = [NestedField(1, "id", LongType(), required=False)]
    fields += [NestedField(2 + i, column, StringType(), required=False) for i, column in enumerate(extra)]
    return new_table_metadata(Schema(*fields), UNPARTITIONED_PARTITION_SPEC, UNSORTED_SORT_ORDER, "s3://b/t", {})


def test_metadata_versions_and_folders() -> None:
    assert metadata_version("s3://b/t/metadata/00012-6c97e413-d51b.metadata.json") == 12
    assert metadata_version("s3://b/t/metadata/v7.metadata.json") == 7
    assert metadata_version("s3://b/t/metadata/00003-x.gz.metadata.json") == 3
    assert metadata_version("s3://b/t/metadata/current.metadata.json") == -1
    assert iceberg_table_folders(["w/a/metadata/v1.metadata.json", "w/a/data/x.parquet", "w/b/metadata/m.avro",
                                  "metadata/00000-x.metadata.json", "w/c/x.metadata.json"]) == {"w/a/", ""}


def test_a_crawl_never_moves_a_table_back_to_older_metadata() -> None:
    plan = IcebergPlan("t", "s3://b/t/", "s3://b/t/metadata/00002-a.metadata.json", _metadata())
    current = new_table_input("t", plan, "c")
    current["Parameters"]["metadata_location"] = "s3://b/t/metadata/00003-b.metadata.json"
    assert change_for(current, plan, "c").table_input is None  # a writer committed after the listing
    current["Parameters"]["metadata_location"] = plan.metadata_location
    assert change_for(current, plan, "c").table_input is None  # already current

    newer = IcebergPlan("t", "s3://b/t/", "s3://b/t/metadata/00004-c.metadata.json", _metadata("city"))
    change = change_for({**current, "Description": "kept", "DatabaseName": "db"}, newer, "c")
    assert change.table_input is not None and change.schema_changed
    assert change.table_input["Parameters"]["metadata_location"] == newer.metadata_location
    assert change.table_input["Parameters"]["previous_metadata_location"] == plan.metadata_location
    assert change.table_input["Description"] == "kept" and "DatabaseName" not in change.table_input
    assert [c["Name"] for c in change.table_input["StorageDescriptor"]["Columns"]] == ["id", "city"]

    hive = {"Name": "t", "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}], "Location": "s3://b/t/",
                                               "InputFormat": "parquet"}, "Parameters": {"classification": "parquet"}}
    replaced = change_for(hive, plan, "c")
    assert replaced.schema_changed and replaced.table_input is not None
    assert replaced.table_input["Parameters"]["table_type"] == "ICEBERG"
    assert "InputFormat" not in replaced.table_input["StorageDescriptor"]
