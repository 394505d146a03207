"""Databases, tables, table versions, SearchTables, tags and catalog ids, through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.glue.conftest import table_input, unique


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_database_lifecycle_and_case_insensitive_names(glue: Any) -> None:
    name = unique("Sales_DB")
    glue.create_database(DatabaseInput={"Name": name.upper(), "Description": "sales data",
                                        "LocationUri": "s3://lake/sales/", "Parameters": {"team": "finance"}})
    database = glue.get_database(Name=name)["Database"]
    assert database["Name"] == name
    assert database["Description"] == "sales data"
    assert database["LocationUri"] == "s3://lake/sales/"
    assert database["Parameters"] == {"team": "finance"}
    assert database["CatalogId"] == "000000000000"
    assert database["CreateTableDefaultPermissions"][0]["Permissions"] == ["ALL"]
    with pytest.raises(ClientError) as exists:
        glue.create_database(DatabaseInput={"Name": name})
    assert _code(exists) == "AlreadyExistsException"

    glue.update_database(Name=name, DatabaseInput={"Name": name, "Description": "changed"})
    updated = glue.get_database(Name=name.upper())["Database"]
    assert updated["Description"] == "changed"
    assert "LocationUri" not in updated
    assert updated["CreateTime"] == database["CreateTime"]

    glue.delete_database(Name=name)
    with pytest.raises(ClientError) as missing:
        glue.get_database(Name=name)
    assert _code(missing) == "EntityNotFoundException"
    assert missing.value.response["Error"]["Message"] == f"Database {name} not found."


def test_get_databases_paginates_in_name_order(glue: Any) -> None:
    names = sorted(unique("pagedb") for _ in range(5))
    for name in names:
        glue.create_database(DatabaseInput={"Name": name})
    try:
        first = glue.get_databases(MaxResults=2)
        assert len(first["DatabaseList"]) == 2 and "NextToken" in first
        seen = [d["Name"] for page in glue.get_paginator("get_databases").paginate(PaginationConfig={"PageSize": 2})
                for d in page["DatabaseList"]]
        assert [n for n in seen if n in names] == names
        assert seen == sorted(seen)
        with pytest.raises(ClientError) as bad:
            glue.get_databases(NextToken="not-a-token")
        assert _code(bad) == "InvalidInputException"
    finally:
        for name in names:
            glue.delete_database(Name=name)


def test_table_round_trips_every_member(glue: Any, database: str) -> None:
    given = {
        "Name": "Orders",
        "Description": "all orders",
        "Owner": "analytics",
        "Retention": 7,
        "StorageDescriptor": {
            "Columns": [{"Name": "id", "Type": "bigint", "Comment": "key"},
                        {"Name": "items", "Type": "array<struct<sku:string,qty:int>>"}],
            "Location": "s3://lake/orders/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "Compressed": False,
            "NumberOfBuckets": 4,
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                          "Parameters": {"serialization.format": "1"}},
            "BucketColumns": ["id"],
            "SortColumns": [{"Column": "id", "SortOrder": 1}],
            "Parameters": {"k": "v"},
            "SkewedInfo": {"SkewedColumnNames": ["id"], "SkewedColumnValues": ["1"],
                           "SkewedColumnValueLocationMaps": {"1": "s3://lake/orders/skew/"}},
            "StoredAsSubDirectories": False,
        },
        "PartitionKeys": [{"Name": "dt", "Type": "date"}],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet"},
    }
    glue.create_table(DatabaseName=database, TableInput=given)
    table = glue.get_table(DatabaseName=database, Name="ORDERS")["Table"]
    assert table["Name"] == "orders"
    assert table["DatabaseName"] == database
    for member in ("Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "TableType",
                   "Parameters"):
        assert table[member] == given[member], member
    assert table["VersionId"] == "0"
    assert table["CatalogId"] == "000000000000"
    assert table["IsRegisteredWithLakeFormation"] is False

    view = {"Name": "recent", "TableType": "VIRTUAL_VIEW", "ViewOriginalText": "/* Presto View: abc */",
            "ViewExpandedText": "/* Presto View */", "StorageDescriptor": {"Columns": [{"Name": "id",
                                                                                       "Type": "bigint"}]}}
    glue.create_table(DatabaseName=database, TableInput=view)
    stored = glue.get_table(DatabaseName=database, Name="recent")["Table"]
    assert stored["ViewOriginalText"] == "/* Presto View: abc */"
    assert stored["ViewExpandedText"] == "/* Presto View */"
    assert stored["TableType"] == "VIRTUAL_VIEW"

    with pytest.raises(ClientError) as exists:
        glue.create_table(DatabaseName=database, TableInput=given)
    assert _code(exists) == "AlreadyExistsException"
    with pytest.raises(ClientError) as no_db:
        glue.create_table(DatabaseName=unique("nodb"), TableInput=given)
    assert _code(no_db) == "EntityNotFoundException"
    with pytest.raises(ClientError) as missing:
        glue.get_table(DatabaseName=database, Name="nothing")
    assert _code(missing) == "EntityNotFoundException"
    with pytest.raises(ClientError) as duplicate:
        glue.create_table(DatabaseName=database,
                          TableInput=table_input("dup", [("a", "int"), ("A", "string")]))
    assert _code(duplicate) == "InvalidInputException"


def test_get_tables_filters_by_regex_and_paginates(glue: Any, database: str) -> None:
    for name in ("sales_2023", "sales_2024", "customers", "orders", "sales_archive"):
        glue.create_table(DatabaseName=database, TableInput=table_input(name))
    names = [t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"]]
    assert names == ["customers", "orders", "sales_2023", "sales_2024", "sales_archive"]
    matched = glue.get_tables(DatabaseName=database, Expression="sales_20.*")["TableList"]
    assert [t["Name"] for t in matched] == ["sales_2023", "sales_2024"]
    matched = glue.get_tables(DatabaseName=database, Expression="customers|orders")["TableList"]
    assert [t["Name"] for t in matched] == ["customers", "orders"]
    pages = list(glue.get_paginator("get_tables").paginate(DatabaseName=database, Expression="sales.*",
                                                              PaginationConfig={"PageSize": 2}))
    assert [[t["Name"] for t in p["TableList"]] for p in pages] == [["sales_2023", "sales_2024"],
                                                                     ["sales_archive"]]
    with pytest.raises(ClientError) as bad:
        glue.get_tables(DatabaseName=database, Expression="sales[")
    assert _code(bad) == "InvalidInputException"
    with pytest.raises(ClientError) as no_db:
        glue.get_tables(DatabaseName=unique("nodb"))
    assert _code(no_db) == "EntityNotFoundException"


def test_update_table_keeps_versions(glue: Any, database: str) -> None:
    glue.create_table(DatabaseName=database, TableInput=table_input("t", [("id", "int")]))
    created = glue.get_table(DatabaseName=database, Name="t")["Table"]
    glue.update_table(DatabaseName=database, TableInput=table_input("t", [("id", "int"), ("name", "string")]))
    glue.update_table(DatabaseName=database, TableInput=table_input("t", [("id", "bigint")]), VersionId="1")
    table = glue.get_table(DatabaseName=database, Name="t")["Table"]
    assert table["VersionId"] == "2"
    assert table["StorageDescriptor"]["Columns"] == [{"Name": "id", "Type": "bigint"}]
    assert table["CreateTime"] == created["CreateTime"]
    assert table["UpdateTime"] >= created["UpdateTime"]

    versions = glue.get_table_versions(DatabaseName=database, TableName="t")["TableVersions"]
    assert [v["VersionId"] for v in versions] == ["2", "1", "0"]
    assert versions[1]["Table"]["StorageDescriptor"]["Columns"][1] == {"Name": "name", "Type": "string"}
    old = glue.get_table_version(DatabaseName=database, TableName="t", VersionId="0")["TableVersion"]
    assert old["Table"]["StorageDescriptor"]["Columns"] == [{"Name": "id", "Type": "int"}]
    paged = list(glue.get_paginator("get_table_versions").paginate(
        DatabaseName=database, TableName="t", PaginationConfig={"PageSize": 2}))
    assert [[v["VersionId"] for v in p["TableVersions"]] for p in paged] == [["2", "1"], ["0"]]

    with pytest.raises(ClientError) as stale:
        glue.update_table(DatabaseName=database, TableInput=table_input("t"), VersionId="0")
    assert _code(stale) == "ConcurrentModificationException"

    glue.delete_table_version(DatabaseName=database, TableName="t", VersionId="0")
    with pytest.raises(ClientError) as gone:
        glue.get_table_version(DatabaseName=database, TableName="t", VersionId="0")
    assert _code(gone) == "EntityNotFoundException"
    with pytest.raises(ClientError) as current:
        glue.delete_table_version(DatabaseName=database, TableName="t", VersionId="2")
    assert _code(current) == "InvalidInputException"
    errors = glue.batch_delete_table_version(DatabaseName=database, TableName="t",
                                             VersionIds=["1", "9"])["Errors"]
    assert [(e["VersionId"], e["ErrorDetail"]["ErrorCode"]) for e in errors] == [("9", "EntityNotFoundException")]
    remaining = glue.get_table_versions(DatabaseName=database, TableName="t")["TableVersions"]
    assert [v["VersionId"] for v in remaining] == ["2"]

    glue.update_table(DatabaseName=database, TableInput=table_input("t", [("x", "int")]), SkipArchive=True)
    assert [v["VersionId"] for v in glue.get_table_versions(DatabaseName=database,
                                                            TableName="t")["TableVersions"]] == ["3"]


def test_delete_tables_and_database_cascade(glue: Any) -> None:
    name = unique("cascade")
    glue.create_database(DatabaseInput={"Name": name})
    glue.create_table(DatabaseName=name, TableInput=table_input("a", keys=[("p", "string")]))
    glue.create_table(DatabaseName=name, TableInput=table_input("b"))
    glue.create_partition(DatabaseName=name, TableName="a", PartitionInput={"Values": ["1"]})
    errors = glue.batch_delete_table(DatabaseName=name, TablesToDelete=["b", "zzz"])["Errors"]
    assert [(e["TableName"], e["ErrorDetail"]["ErrorCode"]) for e in errors] == [("zzz", "EntityNotFoundException")]
    glue.delete_database(Name=name)
    glue.create_database(DatabaseInput={"Name": name})
    assert glue.get_tables(DatabaseName=name)["TableList"] == []
    glue.create_table(DatabaseName=name, TableInput=table_input("a", keys=[("p", "string")]))
    assert glue.get_partitions(DatabaseName=name, TableName="a")["Partitions"] == []
    glue.delete_table(DatabaseName=name, Name="a")
    with pytest.raises(ClientError) as missing:
        glue.delete_table(DatabaseName=name, Name="a")
    assert _code(missing) == "EntityNotFoundException"
    glue.delete_database(Name=name)


def test_search_tables_text_filters_and_sort(glue: Any, database: str) -> None:
    marker = unique("needle")
    glue.create_table(DatabaseName=database, TableInput=table_input(
        f"{marker}_b", Description="weekly numbers", Parameters={"tier": "2"}))
    glue.create_table(DatabaseName=database, TableInput=table_input(
        f"{marker}_a", [("revenue", "double")], Owner="finance", Parameters={"tier": "1"}))
    glue.create_table(DatabaseName=database, TableInput=table_input("unrelated", [(f"{marker}_col", "int")]))
    found = glue.search_tables(SearchText=marker)["TableList"]
    assert sorted(t["Name"] for t in found) == sorted([f"{marker}_a", f"{marker}_b", "unrelated"])
    filtered = glue.search_tables(SearchText=marker, Filters=[{"Key": "Owner", "Value": "finance",
                                                                "Comparator": "EQUALS"}])["TableList"]
    assert [t["Name"] for t in filtered] == [f"{marker}_a"]
    by_param = glue.search_tables(SearchText=marker, Filters=[{"Key": "tier", "Value": "1",
                                                                "Comparator": "GREATER_THAN"}])["TableList"]
    assert [t["Name"] for t in by_param] == [f"{marker}_b"]
    ordered = glue.search_tables(SearchText=marker, Filters=[{"Key": "DatabaseName", "Value": database}],
                                 SortCriteria=[{"FieldName": "Name", "Sort": "DESC"}])["TableList"]
    assert [t["Name"] for t in ordered] == ["unrelated", f"{marker}_b", f"{marker}_a"]
    first = glue.search_tables(SearchText=marker, MaxResults=2)
    second = glue.search_tables(SearchText=marker, MaxResults=2, NextToken=first["NextToken"])
    assert len(first["TableList"]) == 2 and len(second["TableList"]) == 1 and "NextToken" not in second


def test_catalog_id_is_the_account(glue: Any, database: str) -> None:
    assert glue.get_database(CatalogId="000000000000", Name=database)["Database"]["Name"] == database
    names = [d["Name"] for d in glue.get_databases(CatalogId="000000000000")["DatabaseList"]]
    assert database in names
    glue.create_table(CatalogId="000000000000", DatabaseName=database, TableInput=table_input("x"))
    assert [t["Name"] for t in glue.get_tables(CatalogId="000000000000", DatabaseName=database)["TableList"]] == ["x"]
    with pytest.raises(ClientError) as foreign:
        glue.get_database(CatalogId="111122223333", Name=database)
    assert _code(foreign) == "AccessDeniedException"


def test_tags_on_databases_tables_and_crawlers(glue: Any, database: str) -> None:
    arn = f"arn:aws:glue:us-east-1:000000000000:database/{database}"
    glue.tag_resource(ResourceArn=arn, TagsToAdd={"team": "data", "env": "dev"})
    glue.untag_resource(ResourceArn=arn, TagsToRemove=["env"])
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"team": "data"}
    glue.create_table(DatabaseName=database, TableInput=table_input("tagged"))
    table_arn = f"arn:aws:glue:us-east-1:000000000000:table/{database}/tagged"
    glue.tag_resource(ResourceArn=table_arn, TagsToAdd={"pii": "no"})
    assert glue.get_tags(ResourceArn=table_arn)["Tags"] == {"pii": "no"}
    glue.delete_table(DatabaseName=database, Name="tagged")
    with pytest.raises(ClientError) as gone:
        glue.get_tags(ResourceArn=table_arn)
    assert _code(gone) == "EntityNotFoundException"
    glue.create_table(DatabaseName=database, TableInput=table_input("tagged"))
    assert glue.get_tags(ResourceArn=table_arn)["Tags"] == {}

    crawler = unique("tagcrawler")
    glue.create_crawler(Name=crawler, Role="r", Targets={"S3Targets": [{"Path": "s3://b/p/"}]},
                        Tags={"owner": "me"})
    try:
        crawler_arn = f"arn:aws:glue:us-east-1:000000000000:crawler/{crawler}"
        assert glue.get_tags(ResourceArn=crawler_arn)["Tags"] == {"owner": "me"}
        assert crawler in glue.list_crawlers(Tags={"owner": "me"})["CrawlerNames"]
        assert crawler not in glue.list_crawlers(Tags={"owner": "you"})["CrawlerNames"]
    finally:
        glue.delete_crawler(Name=crawler)
    with pytest.raises(ClientError) as bad:
        glue.get_tags(ResourceArn="arn:aws:glue:us-east-1:not-an-account")
    assert _code(bad) == "InvalidInputException"

    tagged_db = unique("tagdb")
    glue.create_database(DatabaseInput={"Name": tagged_db}, Tags={"a": "1"})
    try:
        assert glue.get_tags(ResourceArn=f"arn:aws:glue:us-east-1:000000000000:database/{tagged_db}")["Tags"] \
            == {"a": "1"}
    finally:
        glue.delete_database(Name=tagged_db)
