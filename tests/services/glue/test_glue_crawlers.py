"""Crawlers through boto3: definitions, schedules, and crawls over CSV, JSON, Parquet, ORC and Avro data with
Hive-style and unnamed partitions written into fogbank's S3."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.glue.conftest import orc_bytes, parquet_bytes, unique, wait_for_crawl

Crawl = Callable[..., dict[str, Any]]


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _columns(table: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]


def _partitions(glue: Any, database: str, table: str) -> dict[tuple[str, ...], dict[str, Any]]:
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    return {tuple(p["Values"]): p for page in pages for p in page["Partitions"]}


# -- definitions ------------------------------------------------------------------------------------------------


def test_crawler_definition_defaults_update_and_delete(glue: Any, database: str) -> None:
    name = unique("def")
    glue.create_crawler(Name=name, Role="arn:aws:iam::000000000000:role/glue", DatabaseName=database,
                        Description="nightly", TablePrefix="raw_",
                        Targets={"S3Targets": [{"Path": "s3://lake/in/", "Exclusions": ["**.tmp"]}]})
    crawler = glue.get_crawler(Name=name)["Crawler"]
    assert crawler["State"] == "READY"
    assert crawler["Version"] == 1
    assert crawler["Targets"]["S3Targets"] == [{"Path": "s3://lake/in/", "Exclusions": ["**.tmp"]}]
    assert crawler["Targets"]["JdbcTargets"] == []
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE",
                                             "DeleteBehavior": "DEPRECATE_IN_DATABASE"}
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_EVERYTHING"}
    assert crawler["TablePrefix"] == "raw_" and crawler["Description"] == "nightly"
    assert "Schedule" not in crawler and "LastCrawl" not in crawler
    with pytest.raises(ClientError) as exists:
        glue.create_crawler(Name=name, Role="r", Targets={"S3Targets": [{"Path": "s3://lake/in/"}]})
    assert _code(exists) == "AlreadyExistsException"

    glue.update_crawler(Name=name, Description="", SchemaChangePolicy={"DeleteBehavior": "LOG"},
                        Schedule="cron(15 3 * * ? *)")
    updated = glue.get_crawler(Name=name)["Crawler"]
    assert updated["Version"] == 2
    assert "Description" not in updated
    assert updated["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"}
    assert updated["Schedule"] == {"ScheduleExpression": "cron(15 3 * * ? *)", "State": "SCHEDULED"}
    assert updated["TablePrefix"] == "raw_"

    glue.delete_crawler(Name=name)
    with pytest.raises(ClientError) as gone:
        glue.get_crawler(Name=name)
    assert _code(gone) == "EntityNotFoundException"
    for call in (lambda: glue.start_crawler(Name=name), lambda: glue.delete_crawler(Name=name),
                 lambda: glue.update_crawler(Name=name, Role="x")):
        with pytest.raises(ClientError) as missing:
            call()
        assert _code(missing) == "EntityNotFoundException"


@pytest.mark.parametrize("extra", [
    {"Schedule": "cron(0 12 * * * *)"},
    {"Schedule": "rate(1 day)"},
    {"Targets": {"S3Targets": [{"Path": "lake/no-scheme/"}]}},
    {"Targets": {}},
    {"Configuration": "{not json"},
    {"RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}},
])
def test_invalid_crawler_definitions(glue: Any, extra: dict[str, Any]) -> None:
    given = {"Name": unique("bad"), "Role": "r", "Targets": {"S3Targets": [{"Path": "s3://b/p/"}]}, **extra}
    with pytest.raises(ClientError) as error:
        glue.create_crawler(**given)
    assert _code(error) == "InvalidInputException"


def test_schedules_and_listing(glue: Any) -> None:
    names = sorted(unique("sched") for _ in range(3))
    glue.create_crawler(Name=names[0], Role="r", Targets={"S3Targets": [{"Path": "s3://b/p/"}]},
                        Schedule="cron(0 12 * * ? *)")
    glue.create_crawler(Name=names[1], Role="r", Targets={"S3Targets": [{"Path": "s3://b/p/"}]})
    glue.create_crawler(Name=names[2], Role="r", Targets={"S3Targets": [{"Path": "s3://b/p/"}]})
    try:
        assert glue.get_crawler(Name=names[0])["Crawler"]["Schedule"]["State"] == "SCHEDULED"
        with pytest.raises(ClientError) as running:
            glue.start_crawler_schedule(CrawlerName=names[0])
        assert _code(running) == "SchedulerRunningException"
        glue.stop_crawler_schedule(CrawlerName=names[0])
        assert glue.get_crawler(Name=names[0])["Crawler"]["Schedule"]["State"] == "NOT_SCHEDULED"
        with pytest.raises(ClientError) as stopped:
            glue.stop_crawler_schedule(CrawlerName=names[0])
        assert _code(stopped) == "SchedulerNotRunningException"
        glue.start_crawler_schedule(CrawlerName=names[0])
        assert glue.get_crawler(Name=names[0])["Crawler"]["Schedule"]["State"] == "SCHEDULED"

        with pytest.raises(ClientError) as none:
            glue.start_crawler_schedule(CrawlerName=names[1])
        assert _code(none) == "NoScheduleException"
        glue.update_crawler_schedule(CrawlerName=names[1], Schedule="cron(0/30 8-17 ? * MON-FRI *)")
        schedule = glue.get_crawler(Name=names[1])["Crawler"]["Schedule"]
        assert schedule == {"ScheduleExpression": "cron(0/30 8-17 ? * MON-FRI *)", "State": "SCHEDULED"}
        with pytest.raises(ClientError) as bad:
            glue.update_crawler_schedule(CrawlerName=names[1], Schedule="cron(0 25 * * ? *)")
        assert _code(bad) == "InvalidInputException"

        with pytest.raises(ClientError) as idle:
            glue.stop_crawler(Name=names[2])
        assert _code(idle) == "CrawlerNotRunningException"

        listed: list[str] = []
        request: dict[str, Any] = {"MaxResults": 1}
        while True:
            page = glue.list_crawlers(**request)
            assert len(page["CrawlerNames"]) <= 1
            listed.extend(page["CrawlerNames"])
            if "NextToken" not in page:
                break
            request["NextToken"] = page["NextToken"]
        assert [n for n in listed if n in names] == names
        crawlers = [c["Name"] for page in glue.get_paginator("get_crawlers").paginate(
            PaginationConfig={"PageSize": 2}) for c in page["Crawlers"]]
        assert [n for n in crawlers if n in names] == names
        metrics = glue.get_crawler_metrics(CrawlerNameList=names)["CrawlerMetricsList"]
        assert [m["CrawlerName"] for m in metrics] == names
        assert all(m["TablesCreated"] == 0 and m["LastRuntimeSeconds"] == 0 for m in metrics)
    finally:
        for name in names:
            glue.delete_crawler(Name=name)


# -- crawls -----------------------------------------------------------------------------------------------------


def test_csv_with_hive_partitions(glue: Any, s3: Any, bucket: str, database: str, crawl: Crawl) -> None:
    for year, month, rows in (("2023", "11", 2), ("2023", "12", 3), ("2024", "01", 1)):
        body = "order_id,customer,amount,paid\n" + "".join(f"{i},cust{i},{i}.5,true\n" for i in range(rows))
        s3.put_object(Bucket=bucket, Key=f"sales/year={year}/month={month}/part-0000.csv", Body=body.encode())
    s3.put_object(Bucket=bucket, Key="sales/_SUCCESS", Body=b"")
    s3.put_object(Bucket=bucket, Key="sales/year=2024/month=01/notes.tmp", Body=b"garbage|x\n1|2\n")
    crawler = crawl(database, f"s3://{bucket}/sales/", exclusions=["**.tmp"])
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"

    table = glue.get_table(DatabaseName=database, Name="sales")["Table"]
    assert _columns(table) == [("order_id", "bigint"), ("customer", "string"), ("amount", "double"),
                               ("paid", "boolean")]
    assert table["PartitionKeys"] == [{"Name": "year", "Type": "string"}, {"Name": "month", "Type": "string"}]
    assert table["TableType"] == "EXTERNAL_TABLE"
    sd = table["StorageDescriptor"]
    assert sd["Location"] == f"s3://{bucket}/sales/"
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert sd["SerdeInfo"] == {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                               "Parameters": {"field.delim": ","}}
    params = table["Parameters"]
    assert params["classification"] == "csv"
    assert params["delimiter"] == ","
    assert params["skip.header.line.count"] == "1"
    assert params["compressionType"] == "none"
    assert params["typeOfData"] == "file"
    assert params["objectCount"] == "3"
    assert params["recordCount"] == "6"
    assert params["UPDATED_BY_CRAWLER"] == crawler["Name"]

    partitions = _partitions(glue, database, "sales")
    assert sorted(partitions) == [("2023", "11"), ("2023", "12"), ("2024", "01")]
    december = partitions[("2023", "12")]
    assert december["StorageDescriptor"]["Location"] == f"s3://{bucket}/sales/year=2023/month=12/"
    assert december["Parameters"]["recordCount"] == "3"
    assert december["Parameters"]["classification"] == "csv"
    filtered = glue.get_partitions(DatabaseName=database, TableName="sales",
                                   Expression="year = '2023' AND month > '11'")["Partitions"]
    assert [p["Values"] for p in filtered] == [["2023", "12"]]

    metrics = glue.get_crawler_metrics(CrawlerNameList=[crawler["Name"]])["CrawlerMetricsList"][0]
    assert (metrics["TablesCreated"], metrics["TablesUpdated"], metrics["TablesDeleted"]) == (1, 0, 0)
    history = glue.list_crawls(CrawlerName=crawler["Name"])["Crawls"]
    assert [h["State"] for h in history] == ["COMPLETED"]
    assert json.loads(history[0]["Summary"]) == {"TABLE": {"ADD": {"Count": 1}},
                                                 "PARTITION": {"ADD": {"Count": 3}}}


def test_json_lines_gzip_and_unnamed_partitions(glue: Any, s3: Any, bucket: str, database: str,
                                                crawl: Crawl) -> None:
    records = [{"id": 1, "user": {"name": "ann", "age": 31}, "tags": ["a", "b"], "score": 1.5},
               {"id": 5000000000, "user": {"name": "bo"}, "tags": [], "score": 2, "extra": None}]
    body = gzip.compress("\n".join(json.dumps(r) for r in records).encode())
    for day in ("01", "02"):
        s3.put_object(Bucket=bucket, Key=f"clicks/2024/05/{day}/events.json.gz", Body=body)
    crawl(database, f"s3://{bucket}/clicks/", TablePrefix="raw_")
    table = glue.get_table(DatabaseName=database, Name="raw_clicks")["Table"]
    assert _columns(table) == [("id", "bigint"), ("user", "struct<name:string,age:int>"), ("tags", "array<string>"),
                               ("score", "double"), ("extra", "string")]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["partition_0", "partition_1", "partition_2"]
    assert table["Parameters"]["classification"] == "json"
    assert table["Parameters"]["compressionType"] == "gzip"
    assert table["StorageDescriptor"]["Compressed"] is True
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert sorted(_partitions(glue, database, "raw_clicks")) == [("2024", "05", "01"), ("2024", "05", "02")]


def test_parquet_orc_and_avro_tables(glue: Any, s3: Any, bucket: str, database: str, crawl: Crawl) -> None:
    import fastavro
    import pyarrow as pa

    for dt in ("2024-01-01", "2024-01-02"):
        s3.put_object(Bucket=bucket, Key=f"lake/metrics/dt={dt}/part-0.parquet", Body=parquet_bytes({
            "id": pa.array([1, 2, 3], pa.int64()), "value": pa.array([0.5, 1.5, 2.5], pa.float64()),
            "label": ["a", "b", "c"], "amount": pa.array([1, 2, 3], pa.decimal128(12, 2))}))
    s3.put_object(Bucket=bucket, Key="lake/people/part-0.orc", Body=orc_bytes({
        "name": ["ann", "bo"], "age": pa.array([31, 40], pa.int32()), "born": pa.array([1, 2], pa.date32())}))
    avro = io.BytesIO()
    fastavro.writer(avro, {"type": "record", "name": "Visit", "fields": [
        {"name": "visitor", "type": "string"}, {"name": "count", "type": "long"},
        {"name": "referrer", "type": ["null", "string"], "default": None}]},
        [{"visitor": "x", "count": 3, "referrer": None}, {"visitor": "y", "count": 4, "referrer": "z"}])
    s3.put_object(Bucket=bucket, Key="lake/visits/data.avro", Body=avro.getvalue())
    crawler = crawl(database, f"s3://{bucket}/lake/")
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    names = sorted(t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"])
    assert names == ["metrics", "people", "visits"]

    metrics = glue.get_table(DatabaseName=database, Name="metrics")["Table"]
    assert _columns(metrics) == [("id", "bigint"), ("value", "double"), ("label", "string"),
                                 ("amount", "decimal(12,2)")]
    assert metrics["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert metrics["Parameters"]["classification"] == "parquet"
    assert metrics["Parameters"]["recordCount"] == "6"
    assert metrics["StorageDescriptor"]["InputFormat"] == \
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    assert metrics["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == \
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert sorted(_partitions(glue, database, "metrics")) == [("2024-01-01",), ("2024-01-02",)]

    people = glue.get_table(DatabaseName=database, Name="people")["Table"]
    assert _columns(people) == [("name", "string"), ("age", "int"), ("born", "date")]
    assert people["Parameters"]["classification"] == "orc"
    assert people["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == \
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde"
    assert people["PartitionKeys"] == []
    assert people["StorageDescriptor"]["Location"] == f"s3://{bucket}/lake/people/"

    visits = glue.get_table(DatabaseName=database, Name="visits")["Table"]
    assert _columns(visits) == [("visitor", "string"), ("count", "bigint"), ("referrer", "string")]
    assert visits["Parameters"]["classification"] == "avro"
    assert visits["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == \
        "org.apache.hadoop.hive.serde2.avro.AvroSerDe"


def test_recrawl_applies_schema_change_policy(glue: Any, s3: Any, bucket: str, database: str) -> None:
    s3.put_object(Bucket=bucket, Key="orders/region=eu/a.csv", Body=b"id,total\n1,2.5\n")
    name = unique("policy")
    glue.create_crawler(Name=name, Role="r", DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/orders/"}]},
                        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    glue.start_crawler(Name=name)
    wait_for_crawl(glue, name)
    assert _columns(glue.get_table(DatabaseName=database, Name="orders")["Table"]) == [("id", "bigint"),
                                                                                       ("total", "double")]

    s3.put_object(Bucket=bucket, Key="orders/region=us/b.csv", Body=b"id,total,currency\n7,1.0,usd\n")
    s3.put_object(Bucket=bucket, Key="orders/region=eu/a.csv", Body=b"id,total,currency\n1,2.5,eur\n")
    glue.start_crawler(Name=name)
    wait_for_crawl(glue, name)
    logged = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    assert logged["VersionId"] == "0"
    assert _columns(logged) == [("id", "bigint"), ("total", "double")]
    assert sorted(_partitions(glue, database, "orders")) == [("eu",), ("us",)]

    glue.update_crawler(Name=name, SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE",
                                                       "DeleteBehavior": "DELETE_FROM_DATABASE"})
    glue.start_crawler(Name=name)
    wait_for_crawl(glue, name)
    updated = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    assert updated["VersionId"] == "1"
    assert _columns(updated) == [("id", "bigint"), ("total", "double"), ("currency", "string")]
    metrics = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert (metrics["TablesCreated"], metrics["TablesUpdated"]) == (0, 1)
    versions = glue.get_table_versions(DatabaseName=database, TableName="orders")["TableVersions"]
    assert [v["VersionId"] for v in versions] == ["1", "0"]

    s3.delete_object(Bucket=bucket, Key="orders/region=us/b.csv")
    glue.start_crawler(Name=name)
    wait_for_crawl(glue, name)
    assert sorted(_partitions(glue, database, "orders")) == [("eu",)]

    s3.delete_object(Bucket=bucket, Key="orders/region=eu/a.csv")
    glue.start_crawler(Name=name)
    crawler = wait_for_crawl(glue, name)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as gone:
        glue.get_table(DatabaseName=database, Name="orders")
    assert _code(gone) == "EntityNotFoundException"
    assert glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]["TablesDeleted"] == 1
    assert [c["State"] for c in glue.list_crawls(CrawlerName=name)["Crawls"]] == ["COMPLETED"] * 5
    glue.delete_crawler(Name=name)


def test_deprecate_in_database_marks_vanished_tables(glue: Any, s3: Any, bucket: str, database: str,
                                                     crawl: Crawl) -> None:
    s3.put_object(Bucket=bucket, Key="root/keep/a.csv", Body=b"k,v\nx,1\n")
    s3.put_object(Bucket=bucket, Key="root/other/b.json", Body=b'{"q": true}\n')
    s3.put_object(Bucket=bucket, Key="root/drop/c.parquet", Body=parquet_bytes({"z": [1]}))
    crawler = crawl(database, f"s3://{bucket}/root/")
    assert sorted(t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"]) == ["drop", "keep",
                                                                                           "other"]
    s3.delete_object(Bucket=bucket, Key="root/drop/c.parquet")
    glue.start_crawler(Name=crawler["Name"])
    wait_for_crawl(glue, crawler["Name"])
    dropped = glue.get_table(DatabaseName=database, Name="drop")["Table"]
    assert "DEPRECATED_BY_CRAWLER" in dropped["Parameters"]
    assert "DEPRECATED_BY_CRAWLER" not in glue.get_table(DatabaseName=database, Name="keep")["Table"]["Parameters"]


def test_failed_crawls_say_why(glue: Any, s3: Any, bucket: str, database: str, crawl: Crawl) -> None:
    missing_db = crawl(unique("nodb"), f"s3://{bucket}/x/")
    assert missing_db["LastCrawl"]["Status"] == "FAILED"
    assert "not found" in missing_db["LastCrawl"]["ErrorMessage"]
    assert missing_db["LastCrawl"]["LogGroup"] == "/aws-glue/crawlers"

    missing_bucket = crawl(database, "s3://no-such-bucket-for-glue/x/")
    assert missing_bucket["LastCrawl"]["Status"] == "FAILED"
    assert missing_bucket["LastCrawl"]["ErrorMessage"] == "The S3 bucket no-such-bucket-for-glue does not exist."
    history = glue.list_crawls(CrawlerName=missing_bucket["Name"])["Crawls"]
    assert history[0]["State"] == "FAILED" and "does not exist" in history[0]["ErrorMessage"]

    empty = crawl(database, f"s3://{bucket}/nothing-here/")
    assert empty["LastCrawl"]["Status"] == "SUCCEEDED"
    assert glue.get_tables(DatabaseName=database)["TableList"] == []
