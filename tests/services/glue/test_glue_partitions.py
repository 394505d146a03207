"""Partitions, Expression filtering, pagination, partition indexes and column statistics, through boto3."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.glue.conftest import table_input


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


KEYS = [("year", "int"), ("region", "string"), ("dt", "date")]
ROWS = [
    ("2019", "eu-west", "2019-06-01"),
    ("2020", "eu-west", "2020-01-15"),
    ("2020", "us-east", "2020-02-01"),
    ("2021", "us-west", "2021-12-31"),
    ("2022", "ap-south", "2022-03-10"),
    ("9", "us-east", "2009-09-09"),
]


@pytest.fixture
def events(glue: Any, database: str) -> str:
    glue.create_table(DatabaseName=database, TableInput=table_input("events", [("id", "bigint")], KEYS))
    inputs = [{"Values": list(row), "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}],
                                                          "Location": f"s3://data/events/{'/'.join(row)}/"},
               "Parameters": {"n": str(i)}} for i, row in enumerate(ROWS)]
    assert glue.batch_create_partition(DatabaseName=database, TableName="events",
                                       PartitionInputList=inputs)["Errors"] == []
    return "events"


def _years(glue: Any, database: str, expression: str) -> list[str]:
    partitions = glue.get_partitions(DatabaseName=database, TableName="events", Expression=expression)["Partitions"]
    return sorted(p["Values"][0] + "/" + p["Values"][1] for p in partitions)


@pytest.mark.parametrize(("expression", "expected"), [
    ("year = 2020", ["2020/eu-west", "2020/us-east"]),
    ("year > 2020", ["2021/us-west", "2022/ap-south"]),
    ("year >= 2021 AND region LIKE 'us-%'", ["2021/us-west"]),
    ("year < 100", ["9/us-east"]),
    ("year <> 2020 and year != 2019 and year <= 2021", ["2021/us-west", "9/us-east"]),
    ("region IN ('eu-west', 'ap-south')", ["2019/eu-west", "2020/eu-west", "2022/ap-south"]),
    ("region NOT IN ('eu-west', 'ap-south') AND NOT year = 9", ["2020/us-east", "2021/us-west"]),
    ("year BETWEEN 2019 AND 2020", ["2019/eu-west", "2020/eu-west", "2020/us-east"]),
    ("year NOT BETWEEN 2019 AND 2021", ["2022/ap-south", "9/us-east"]),
    ("(year = 2019 OR year = 2022) AND region = 'ap-south'", ["2022/ap-south"]),
    ("year = 2019 OR (year = 2022 AND region = 'ap-south')", ["2019/eu-west", "2022/ap-south"]),
    ("dt >= '2020-02-01' and dt < '2022-01-01'", ["2020/us-east", "2021/us-west"]),
    ("dt between date '2009-01-01' and date '2019-12-31'", ["2019/eu-west", "9/us-east"]),
    ("region like '%-west'", ["2019/eu-west", "2020/eu-west", "2021/us-west"]),
    ("region like 'u_-east'", ["2020/us-east", "9/us-east"]),
    ("region NOT LIKE '%-west'", ["2020/us-east", "2022/ap-south", "9/us-east"]),
    ("`year` = 2021", ["2021/us-west"]),
    ("YEAR = '2021'", ["2021/us-west"]),
])
def test_get_partitions_expression(glue: Any, database: str, events: str, expression: str,
                                   expected: list[str]) -> None:
    assert _years(glue, database, expression) == expected


@pytest.mark.parametrize("expression", [
    "year >", "year = = 2020", "(year = 2020", "year = 2020)", "color = 'red'", "year = 'abc'",
    "year IN 2020", "region LIKE region2", "year = 2020 garbage", "year BETWEEN 1", "'unterminated",
])
def test_malformed_expressions_are_invalid_input(glue: Any, database: str, events: str, expression: str) -> None:
    with pytest.raises(ClientError) as error:
        glue.get_partitions(DatabaseName=database, TableName="events", Expression=expression)
    assert _code(error) == "InvalidInputException"


def test_string_keys_compare_as_text(glue: Any, database: str) -> None:
    glue.create_table(DatabaseName=database, TableInput=table_input("logs", keys=[("part", "string")]))
    glue.batch_create_partition(DatabaseName=database, TableName="logs",
                                PartitionInputList=[{"Values": [v]} for v in ("9", "10", "100")])
    found = glue.get_partitions(DatabaseName=database, TableName="logs", Expression="part > '5'")["Partitions"]
    assert [p["Values"] for p in found] == [["9"]]


def test_partition_crud_and_errors(glue: Any, database: str, events: str) -> None:
    partition = glue.get_partition(DatabaseName=database, TableName="events",
                                   PartitionValues=["2020", "us-east", "2020-02-01"])["Partition"]
    assert partition["Values"] == ["2020", "us-east", "2020-02-01"]
    assert partition["DatabaseName"] == database and partition["TableName"] == "events"
    assert partition["StorageDescriptor"]["Location"] == "s3://data/events/2020/us-east/2020-02-01/"
    assert partition["Parameters"] == {"n": "2"}
    assert partition["CatalogId"] == "000000000000"
    assert isinstance(partition["CreationTime"], datetime)

    with pytest.raises(ClientError) as exists:
        glue.create_partition(DatabaseName=database, TableName="events",
                              PartitionInput={"Values": ["2020", "us-east", "2020-02-01"]})
    assert _code(exists) == "AlreadyExistsException"
    with pytest.raises(ClientError) as arity:
        glue.create_partition(DatabaseName=database, TableName="events", PartitionInput={"Values": ["2020"]})
    assert _code(arity) == "InvalidInputException"
    errors = glue.batch_create_partition(DatabaseName=database, TableName="events", PartitionInputList=[
        {"Values": ["2030", "x", "2030-01-01"]}, {"Values": ["2019", "eu-west", "2019-06-01"]}, {"Values": ["1"]},
    ])["Errors"]
    assert [(e["PartitionValues"], e["ErrorDetail"]["ErrorCode"]) for e in errors] == [
        (["2019", "eu-west", "2019-06-01"], "AlreadyExistsException"), (["1"], "InvalidInputException")]

    glue.update_partition(DatabaseName=database, TableName="events",
                          PartitionValueList=["2030", "x", "2030-01-01"],
                          PartitionInput={"Values": ["2030", "y", "2030-01-01"], "Parameters": {"moved": "yes"}})
    moved = glue.get_partition(DatabaseName=database, TableName="events",
                               PartitionValues=["2030", "y", "2030-01-01"])["Partition"]
    assert moved["Parameters"] == {"moved": "yes"}
    with pytest.raises(ClientError) as old:
        glue.get_partition(DatabaseName=database, TableName="events", PartitionValues=["2030", "x", "2030-01-01"])
    assert _code(old) == "EntityNotFoundException"
    failures = glue.batch_update_partition(DatabaseName=database, TableName="events", Entries=[
        {"PartitionValueList": ["2030", "y", "2030-01-01"], "PartitionInput": {"Parameters": {"v": "2"}}},
        {"PartitionValueList": ["1999", "y", "1999-01-01"], "PartitionInput": {"Parameters": {}}},
    ])["Errors"]
    assert [(f["PartitionValueList"], f["ErrorDetail"]["ErrorCode"]) for f in failures] == [
        (["1999", "y", "1999-01-01"], "EntityNotFoundException")]
    assert glue.get_partition(DatabaseName=database, TableName="events",
                              PartitionValues=["2030", "y", "2030-01-01"])["Partition"]["Parameters"] == {"v": "2"}

    batch = glue.batch_get_partition(DatabaseName=database, TableName="events", PartitionsToGet=[
        {"Values": ["2019", "eu-west", "2019-06-01"]}, {"Values": ["1900", "no", "1900-01-01"]}])
    assert [p["Values"] for p in batch["Partitions"]] == [["2019", "eu-west", "2019-06-01"]]

    glue.delete_partition(DatabaseName=database, TableName="events", PartitionValues=["2030", "y", "2030-01-01"])
    with pytest.raises(ClientError) as gone:
        glue.delete_partition(DatabaseName=database, TableName="events",
                              PartitionValues=["2030", "y", "2030-01-01"])
    assert _code(gone) == "EntityNotFoundException"
    errors = glue.batch_delete_partition(DatabaseName=database, TableName="events", PartitionsToDelete=[
        {"Values": ["9", "us-east", "2009-09-09"]}, {"Values": ["8", "none", "2008-08-08"]}])["Errors"]
    assert [e["PartitionValues"] for e in errors] == [["8", "none", "2008-08-08"]]
    assert len(glue.get_partitions(DatabaseName=database, TableName="events")["Partitions"]) == 5

    glue.create_table(DatabaseName=database, TableInput=table_input("flat"))
    with pytest.raises(ClientError) as flat:
        glue.create_partition(DatabaseName=database, TableName="flat", PartitionInput={"Values": ["a"]})
    assert _code(flat) == "InvalidInputException"
    with pytest.raises(ClientError) as no_table:
        glue.get_partitions(DatabaseName=database, TableName="none")
    assert _code(no_table) == "EntityNotFoundException"


def test_get_partitions_pagination_segments_and_column_exclusion(glue: Any, database: str) -> None:
    glue.create_table(DatabaseName=database, TableInput=table_input("big", keys=[("n", "int")]))
    for start in range(0, 250, 100):
        glue.batch_create_partition(DatabaseName=database, TableName="big", PartitionInputList=[
            {"Values": [str(n)], "StorageDescriptor": {"Columns": [{"Name": "c", "Type": "int"}]}}
            for n in range(start, min(start + 100, 250))])
    pages = list(glue.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName="big", Expression="n >= 50", PaginationConfig={"PageSize": 60}))
    assert [len(p["Partitions"]) for p in pages] == [60, 60, 60, 20]
    values = sorted(int(p["Values"][0]) for page in pages for p in page["Partitions"])
    assert values == list(range(50, 250))

    first = glue.get_partitions(DatabaseName=database, TableName="big", MaxResults=10)
    with pytest.raises(ClientError) as foreign:
        glue.get_partitions(DatabaseName=database, TableName="big", Expression="n > 1", NextToken=first["NextToken"])
    assert _code(foreign) == "InvalidInputException"

    segments = [
        sorted(int(p["Values"][0]) for page in glue.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName="big", Segment={"SegmentNumber": i, "TotalSegments": 3})
            for p in page["Partitions"])
        for i in range(3)]
    assert sorted(v for s in segments for v in s) == list(range(250))
    assert all(s for s in segments)

    slim = glue.get_partitions(DatabaseName=database, TableName="big", Expression="n = 7",
                               ExcludeColumnSchema=True)["Partitions"]
    assert slim[0]["Values"] == ["7"] and "Columns" not in slim[0]["StorageDescriptor"]
    full = glue.get_partitions(DatabaseName=database, TableName="big", Expression="n = 7")["Partitions"]
    assert full[0]["StorageDescriptor"]["Columns"] == [{"Name": "c", "Type": "int"}]


def test_partition_indexes(glue: Any, database: str) -> None:
    glue.create_table(DatabaseName=database, TableInput=table_input("ix", keys=[("a", "string"), ("b", "int")]),
                      PartitionIndexes=[{"IndexName": "by_a", "Keys": ["a"]}])
    glue.create_partition_index(DatabaseName=database, TableName="ix",
                                PartitionIndex={"IndexName": "by_ab", "Keys": ["a", "b"]})
    indexes = glue.get_partition_indexes(DatabaseName=database, TableName="ix")["PartitionIndexDescriptorList"]
    assert indexes == [
        {"IndexName": "by_a", "Keys": [{"Name": "a", "Type": "string"}], "IndexStatus": "ACTIVE"},
        {"IndexName": "by_ab", "Keys": [{"Name": "a", "Type": "string"}, {"Name": "b", "Type": "int"}],
         "IndexStatus": "ACTIVE"}]
    with pytest.raises(ClientError) as exists:
        glue.create_partition_index(DatabaseName=database, TableName="ix",
                                    PartitionIndex={"IndexName": "by_a", "Keys": ["b"]})
    assert _code(exists) == "AlreadyExistsException"
    with pytest.raises(ClientError) as not_key:
        glue.create_partition_index(DatabaseName=database, TableName="ix",
                                    PartitionIndex={"IndexName": "bad", "Keys": ["id"]})
    assert _code(not_key) == "InvalidInputException"
    glue.create_partition_index(DatabaseName=database, TableName="ix",
                                PartitionIndex={"IndexName": "by_b", "Keys": ["b"]})
    with pytest.raises(ClientError) as limit:
        glue.create_partition_index(DatabaseName=database, TableName="ix",
                                    PartitionIndex={"IndexName": "fourth", "Keys": ["b", "a"]})
    assert _code(limit) == "ResourceNumberLimitExceededException"
    glue.delete_partition_index(DatabaseName=database, TableName="ix", IndexName="by_a")
    names = [i["IndexName"] for i in glue.get_partition_indexes(DatabaseName=database,
                                                                 TableName="ix")["PartitionIndexDescriptorList"]]
    assert names == ["by_ab", "by_b"]
    with pytest.raises(ClientError) as missing:
        glue.delete_partition_index(DatabaseName=database, TableName="ix", IndexName="by_a")
    assert _code(missing) == "EntityNotFoundException"


def test_column_statistics_for_tables_and_partitions(glue: Any, database: str) -> None:
    glue.create_table(DatabaseName=database, TableInput=table_input(
        "stats", [("id", "bigint"), ("name", "string"), ("price", "decimal(10,2)")], [("dt", "string")]))
    glue.create_partition(DatabaseName=database, TableName="stats", PartitionInput={"Values": ["2024-01-01"]})
    analyzed = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    stats = [
        {"ColumnName": "id", "ColumnType": "bigint", "AnalyzedTime": analyzed,
         "StatisticsData": {"Type": "LONG", "LongColumnStatisticsData": {
             "MinimumValue": 1, "MaximumValue": 99, "NumberOfNulls": 0, "NumberOfDistinctValues": 99}}},
        {"ColumnName": "name", "ColumnType": "string", "AnalyzedTime": analyzed,
         "StatisticsData": {"Type": "STRING", "StringColumnStatisticsData": {
             "MaximumLength": 12, "AverageLength": 6.5, "NumberOfNulls": 2, "NumberOfDistinctValues": 40}}},
        {"ColumnName": "price", "ColumnType": "decimal(10,2)", "AnalyzedTime": analyzed,
         "StatisticsData": {"Type": "DECIMAL", "DecimalColumnStatisticsData": {
             "MinimumValue": {"UnscaledValue": b"\x01", "Scale": 2},
             "MaximumValue": {"UnscaledValue": b"\x27\x0f", "Scale": 2},
             "NumberOfNulls": 0, "NumberOfDistinctValues": 5}}},
        {"ColumnName": "ghost", "ColumnType": "int", "AnalyzedTime": analyzed,
         "StatisticsData": {"Type": "LONG", "LongColumnStatisticsData": {
             "NumberOfNulls": 0, "NumberOfDistinctValues": 1}}},
    ]
    errors = glue.update_column_statistics_for_table(DatabaseName=database, TableName="stats",
                                                     ColumnStatisticsList=stats)["Errors"]
    assert [(e["ColumnStatistics"]["ColumnName"], e["Error"]["ErrorCode"]) for e in errors] == [
        ("ghost", "EntityNotFoundException")]
    got = glue.get_column_statistics_for_table(DatabaseName=database, TableName="stats",
                                               ColumnNames=["id", "name", "price", "nothing"])
    by_name = {s["ColumnName"]: s for s in got["ColumnStatisticsList"]}
    assert by_name["id"]["StatisticsData"]["LongColumnStatisticsData"]["MaximumValue"] == 99
    assert by_name["name"]["StatisticsData"]["StringColumnStatisticsData"]["AverageLength"] == 6.5
    assert by_name["price"]["StatisticsData"]["DecimalColumnStatisticsData"]["MaximumValue"] == {
        "UnscaledValue": b"\x27\x0f", "Scale": 2}
    assert by_name["id"]["AnalyzedTime"] == analyzed
    assert [e["ColumnName"] for e in got["Errors"]] == ["nothing"]

    glue.delete_column_statistics_for_table(DatabaseName=database, TableName="stats", ColumnName="id")
    with pytest.raises(ClientError) as again:
        glue.delete_column_statistics_for_table(DatabaseName=database, TableName="stats", ColumnName="id")
    assert _code(again) == "EntityNotFoundException"

    assert glue.update_column_statistics_for_partition(
        DatabaseName=database, TableName="stats", PartitionValues=["2024-01-01"],
        ColumnStatisticsList=stats[:1])["Errors"] == []
    part = glue.get_column_statistics_for_partition(DatabaseName=database, TableName="stats",
                                                    PartitionValues=["2024-01-01"], ColumnNames=["id", "name"])
    assert [s["ColumnName"] for s in part["ColumnStatisticsList"]] == ["id"]
    assert [e["ColumnName"] for e in part["Errors"]] == ["name"]
    with pytest.raises(ClientError) as no_partition:
        glue.get_column_statistics_for_partition(DatabaseName=database, TableName="stats",
                                                 PartitionValues=["1999-01-01"], ColumnNames=["id"])
    assert _code(no_partition) == "EntityNotFoundException"
    glue.delete_column_statistics_for_partition(DatabaseName=database, TableName="stats",
                                                PartitionValues=["2024-01-01"], ColumnName="id")
    assert glue.get_column_statistics_for_partition(
        DatabaseName=database, TableName="stats", PartitionValues=["2024-01-01"],
        ColumnNames=["id"])["ColumnStatisticsList"] == []
