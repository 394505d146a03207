"""In-process checks of the pieces: cron schedules, the partition expression parser, classifiers, table
layout, and the GlueCatalog API other services read the catalog through."""

from __future__ import annotations

import bz2
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.cron import parse_cron
from fogbank.services.glue.db import GlueDb
from fogbank.services.glue.errors import EntityNotFoundException, InvalidInputException
from fogbank.services.glue.expression import compile_expression
from fogbank.services.glue.inference import FileSchema, classify
from fogbank.services.glue.layout import CrawledFile, glob_regex, is_hidden, plan_tables
from fogbank.services.glue.s3source import S3Object

# -- cron ---------------------------------------------------------------------------------------------------------

FRIDAY = datetime(2024, 3, 15, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "expected"), [
    ("cron(0 12 * * ? *)", datetime(2024, 3, 16, 12, 0, tzinfo=UTC)),
    ("cron(45 12 * * ? *)", datetime(2024, 3, 15, 12, 45, tzinfo=UTC)),
    ("cron(0/15 * * * ? *)", datetime(2024, 3, 15, 12, 45, tzinfo=UTC)),
    ("cron(0 8 ? * MON-FRI *)", datetime(2024, 3, 18, 8, 0, tzinfo=UTC)),
    ("cron(15 10 ? * 6L 2022-2030)", datetime(2024, 3, 29, 10, 15, tzinfo=UTC)),
    ("cron(0 0 L * ? *)", datetime(2024, 3, 31, 0, 0, tzinfo=UTC)),
    ("cron(0 9 ? * 2#1 *)", datetime(2024, 4, 1, 9, 0, tzinfo=UTC)),
    ("cron(0 9 15W * ? *)", datetime(2024, 4, 15, 9, 0, tzinfo=UTC)),
    ("cron(0 9 16W * ? *)", datetime(2024, 4, 16, 9, 0, tzinfo=UTC)),
    ("cron(5 4 1 JAN ? *)", datetime(2025, 1, 1, 4, 5, tzinfo=UTC)),
    ("cron(0 0 29 2 ? *)", datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
    ("cron(0 12 * * ? 2020)", None),
])
def test_cron_next_firing(expression: str, expected: datetime | None) -> None:
    assert parse_cron(expression).next_after(FRIDAY) == expected


@pytest.mark.parametrize("expression", [
    "cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "rate(5 minutes)", "cron(60 * * * ? *)", "cron(0 12 * *)",
    "cron(0 12 32 * ? *)", "cron(0 12 ? * FUNDAY *)", "cron(0/0 * * * ? *)",
])
def test_cron_rejects_malformed(expression: str) -> None:
    with pytest.raises(InvalidInputException):
        parse_cron(expression)


# -- expressions --------------------------------------------------------------------------------------------------


def test_expression_types_follow_the_partition_keys() -> None:
    keys = {"n": "bigint", "d": "date", "x": "decimal(10,2)", "s": "string", "ts": "timestamp"}
    row = {"n": "10", "d": "2024-02-29", "x": "3.50", "s": "10", "ts": "2024-01-01 10:00:00"}
    assert compile_expression("n > 9", keys)(row)
    assert not compile_expression("s > '9'", keys)(row)
    assert compile_expression("x = 3.5", keys)(row)
    assert compile_expression("d > '2024-02-28' and d < date '2024-03-01'", keys)(row)
    assert compile_expression("ts >= '2024-01-01 09:59:59'", keys)(row)
    assert compile_expression("", keys)(row)
    assert compile_expression("not (n = 1 or n = 2) and s is not null", keys)(row)
    assert not compile_expression("n = 10 and not s like '1%'", keys)(row)
    assert not compile_expression("n > 5", keys)({"n": "not-a-number"})
    with pytest.raises(InvalidInputException):
        compile_expression("d = 'yesterday'", keys)
    with pytest.raises(InvalidInputException):
        compile_expression("n =" + " or n = 1" * 600, keys)


# -- classifiers ----------------------------------------------------------------------------------------------------


def _classify(data: bytes) -> FileSchema | None:
    return classify(io.BytesIO(data), len(data))


def test_csv_header_detection_follows_glue_rules() -> None:
    with_header = _classify(b"id,name\n1,a\n2,b\n")
    assert with_header is not None and with_header.columns == [("id", "bigint"), ("name", "string")]
    assert with_header.params["skip.header.line.count"] == "1"
    strings_only = _classify(b"name,city\nann,paris\nbo,rome\n")
    assert strings_only is not None and strings_only.columns == [("col0", "string"), ("col1", "string")]
    assert "skip.header.line.count" not in strings_only.params and strings_only.records == 3
    tabbed = _classify(b"a\tb\tc\n1\t2.5\tx\n")
    assert tabbed is not None and tabbed.params["delimiter"] == "\t"
    assert tabbed.columns == [("a", "bigint"), ("b", "double"), ("c", "string")]
    semicolon = _classify(b"a;b\n1;true\n2;false\n")
    assert semicolon is not None and semicolon.columns == [("a", "bigint"), ("b", "boolean")]
    quoted = _classify(b'id,comment\n1,"hello, world"\n2,"x"\n')
    assert quoted is not None and quoted.serde["SerializationLibrary"] == "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    assert quoted.params["areColumnsQuoted"] == "true"
    mixed = _classify(b"id,v\n1,2\n2,x\n")
    assert mixed is not None and mixed.columns == [("id", "bigint"), ("v", "string")]
    compressed = _classify(bz2.compress(b"k|v\nx|1\n"))
    assert compressed is not None and compressed.compression == "bzip2" and compressed.columns[1] == ("v", "bigint")


def test_unclassifiable_objects() -> None:
    assert _classify(b"") is None
    assert _classify(b"one column only\nanother line\n") is None
    assert _classify(b"PAR1 this is not really parquet") is None


def test_json_schema_merges_records() -> None:
    schema = _classify(b'{"a": 1, "b": {"x": 1}}\n{"a": 2.5, "b": {"y": "s"}, "C": [1, 2]}\n')
    assert schema is not None and schema.classification == "json"
    assert schema.columns == [("a", "double"), ("b", "struct<x:int,y:string>"), ("c", "array<int>")]
    assert schema.serde["Parameters"] == {"paths": "a,b,c"}


# -- layout ---------------------------------------------------------------------------------------------------------


def _file(key: str, schema: FileSchema) -> CrawledFile:
    return CrawledFile(S3Object("b", key, 10, 0.0, "e"), schema, key.split("/")[:-1])


def _schema(*columns: str, classification: str = "parquet") -> FileSchema:
    return FileSchema(classification, [(c, "int") for c in columns], "in", "out", {}, records=1)


def test_similar_folders_become_partitions_and_dissimilar_ones_tables() -> None:
    same = _schema("a", "b", "c")
    files = [_file("root/x/one.parquet", same), _file("root/y/two.parquet", _schema("a", "b", "c", "d"))]
    plans = plan_tables("b", ["root"], files)
    assert [(p.name, p.partition_keys, [q.values for q in p.partitions]) for p in plans] == [
        ("root", ["partition_0"], [["x"], ["y"]])]
    assert plans[0].columns == [("a", "int"), ("b", "int"), ("c", "int"), ("d", "int")]

    files = [_file("root/x/one.parquet", same), _file("root/y/two.parquet", _schema("p", "q", "r"))]
    plans = plan_tables("b", ["root"], files)
    assert sorted((p.name, p.location) for p in plans) == [("x", "s3://b/root/x/"), ("y", "s3://b/root/y/")]
    assert plan_tables("b", ["root"], files, combine=True)[0].name == "root"

    files = [_file("a/b/c/t1/f.parquet", same), _file("a/b/c/t2/f.parquet", same)]
    by_level = plan_tables("b", ["a"], files, table_level=5)
    assert sorted(p.name for p in by_level) == ["t1", "t2"]
    assert all(p.partition_keys == [] for p in by_level)


def test_hive_values_are_decoded_and_mixed_levels_are_unnamed() -> None:
    schema = _schema("v")
    files = [_file("t/city=New%20York/kind=a/f.parquet", schema), _file("t/city=Paris/kind=b/f.parquet", schema)]
    plan = plan_tables("b", ["t"], files)[0]
    assert plan.partition_keys == ["city", "kind"]
    assert [p.values for p in plan.partitions] == [["New York", "a"], ["Paris", "b"]]
    assert plan.partitions[0].location == "s3://b/t/city=New%20York/kind=a/"
    mixed = plan_tables("b", ["t"], [_file("t/year=2020/f.parquet", schema), _file("t/2021/f.parquet", schema)])[0]
    assert mixed.partition_keys == ["partition_0"]
    assert [p.values for p in mixed.partitions] == [["2021"], ["year=2020"]]


def test_exclusion_globs_and_hidden_objects() -> None:
    assert glob_regex("**.tmp").fullmatch("a/b/c.tmp")
    assert glob_regex("*.tmp").fullmatch("c.tmp") and not glob_regex("*.tmp").fullmatch("a/c.tmp")
    assert glob_regex("year=2019/**").fullmatch("year=2019/m=1/f.csv")
    either = glob_regex("**/*.{csv,json}")
    assert either.fullmatch("x/y.json") and not either.fullmatch("x/y.txt")
    assert glob_regex("part-?.csv").fullmatch("part-1.csv") and not glob_regex("part-?.csv").fullmatch("part-10.csv")
    assert glob_regex("[!a]*.csv").fullmatch("b.csv") and not glob_regex("[!a]*.csv").fullmatch("a.csv")
    assert is_hidden("_SUCCESS") and is_hidden("x/.hidden") and is_hidden("_temporary/x.csv")
    assert is_hidden("folder/") and not is_hidden("year=2020/part-0.csv")


# -- the in-process catalog API -------------------------------------------------------------------------------------


def test_catalog_api_returns_get_table_dicts(tmp_path: Path) -> None:
    db = GlueDb(tmp_path / "glue.sqlite", "")
    catalog = GlueCatalog(db)
    try:
        catalog.create_database("111111111111", "eu-west-1", {"Name": "Web"})
        catalog.create_table("111111111111", "eu-west-1", "web", {
            "Name": "Hits", "PartitionKeys": [{"Name": "day", "Type": "date"}],
            "StorageDescriptor": {"Columns": [{"Name": "url", "Type": "string"}], "Location": "s3://l/hits/"}})
        failures = catalog.create_partitions("111111111111", "eu-west-1", "web", "hits",
                                             [{"Values": [f"2024-01-0{d}"]} for d in range(1, 6)])
        assert failures == []
        table: dict[str, Any] = catalog.get_table("111111111111", "eu-west-1", "WEB", "hits")
        assert table["StorageDescriptor"]["Location"] == "s3://l/hits/"
        assert isinstance(table["CreateTime"], datetime) and table["CreateTime"].tzinfo is not None
        assert catalog.get_database("111111111111", "eu-west-1", "web")["Name"] == "web"
        recent = catalog.get_partitions("111111111111", "eu-west-1", "web", "hits", "day >= '2024-01-04'")
        assert [p["Values"] for p in recent] == [["2024-01-04"], ["2024-01-05"]]
        with pytest.raises(EntityNotFoundException):
            catalog.get_table("111111111111", "us-east-1", "web", "hits")
    finally:
        db.close()
