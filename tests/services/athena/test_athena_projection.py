"""Partition projection: enum, integer, date and injected columns, storage.location.template, catalog
partitions ignored, pruning before any S3 listing, bytes scanned of only the partitions read, and Athena's
errors for misconfigured projections and for injected columns without static equality conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlglot import exp
from tests.services.athena.conftest import Athena, parquet_bytes

from fogbank.engines import sql as sqlengine
from fogbank.services.athena import projection
from fogbank.services.athena.databases import QueryDatabase
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.scan import QuerySession
from fogbank.services.athena.tables import TableInfo, table_info

NOW = datetime(2026, 3, 15, 10, 42, 7, tzinfo=UTC)


def _info(params: dict[str, str], keys: list[tuple[str, str]], location: str = "s3://b/t/") -> TableInfo:
    table = {"Name": "t", "DatabaseName": "d", "PartitionKeys": [{"Name": k, "Type": t} for k, t in keys],
             "Parameters": {"projection.enabled": "true", **params},
             "StorageDescriptor": {"Columns": [{"Name": "v", "Type": "bigint"}], "Location": location,
                                   "SerdeInfo": {"SerializationLibrary":
                                                 "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}}
    return table_info(table)


def _conjuncts(where: str) -> list[exp.Expr]:
    tree = sqlengine.parse(f"SELECT 1 FROM t WHERE {where}", "trino")
    condition = tree.args["where"].this
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


_HOURLY = {"projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd-HH",
           "projection.dt.range": "2021-01-01-00,2025-12-31-23", "projection.dt.interval": "1",
           "projection.dt.interval.unit": "HOURS"}


def test_hourly_range_over_five_years_is_narrowed_before_generation() -> None:
    info = _info(_HOURLY, [("dt", "string")])
    assert sum(1 for _ in projection.candidates(info, [], NOW)) == 43824
    assert list(projection.candidates(info, _conjuncts("dt = '2023-06-01-05'"), NOW)) == [["2023-06-01-05"]]
    window = list(projection.candidates(info, _conjuncts("dt >= '2023-06-01-05' AND dt < '2023-06-01-08'"), NOW))
    assert window == [["2023-06-01-05"], ["2023-06-01-06"], ["2023-06-01-07"]]
    either = list(projection.candidates(info, _conjuncts("(dt = '2022-01-01-00' OR dt = '2021-05-05-05')"), NOW))
    assert either == [["2021-05-05-05"], ["2022-01-01-00"]]
    between = list(projection.candidates(info, _conjuncts("dt BETWEEN '2025-12-31-22' AND '2099'"), NOW))
    assert between == [["2025-12-31-22"], ["2025-12-31-23"]]
    # Not a value of the projection (no such hour, unparseable, out of range): not a partition.
    for where in ("dt = '2023-02-30-01'", "dt = 'yesterday'", "dt = '2019-01-01-00'", "dt IN ('2023-6-1-05')"):
        assert list(projection.candidates(info, _conjuncts(where), NOW)) == [], where


class _CountingS3:
    """Stands in for fogbank's S3 access and counts the folders a query lists."""

    def __init__(self) -> None:
        self.listed: list[tuple[str, str]] = []

    def list(self, account: str, bucket: str, prefix: str) -> list[Any]:
        self.listed.append((bucket, prefix))
        return []


def test_one_hour_query_lists_one_folder(tmp_path: Path) -> None:
    info = _info({**_HOURLY, "projection.dt.range": "2016-01-01-00,NOW"}, [("dt", "string")])
    database = QueryDatabase(tmp_path / "db", threads=1, memory_limit="256MB")
    conn = database.session()
    s3 = _CountingS3()
    session = QuerySession("000000000000", "us-east-1", None, s3, tmp_path, conn,  # type: ignore[arg-type]
                           "d", database)
    try:
        planned = session.plan(info, _conjuncts("dt = '2024-02-29-13'"))
        assert s3.listed == [("b", "t/dt=2024-02-29-13/")]
        assert planned.files == []
        s3.listed.clear()
        session.plan(info, _conjuncts("dt > '2024-02-29-21' AND dt <= '2024-03-01-01'"))
        assert [prefix for _, prefix in s3.listed] == [f"t/dt={h}/" for h in (
            "2024-02-29-22", "2024-02-29-23", "2024-03-01-00", "2024-03-01-01")]
    finally:
        session.close()
        conn.close()
        database.close()


def test_date_formats_units_and_relative_ranges() -> None:
    monthly = _info({"projection.m.type": "date", "projection.m.format": "yyyyMM",
                     "projection.m.range": "201711,201802"}, [("m", "string")])
    assert [v for (v,) in projection.candidates(monthly, [], NOW)] == ["201711", "201712", "201801", "201802"]
    named = _info({"projection.m.type": "date", "projection.m.format": "dd-MMM-yy", "projection.m.range":
                   "30-Jan-24,02-Mar-24", "projection.m.interval": "2", "projection.m.interval.unit": "weeks"},
                  [("m", "string")])
    assert [v for (v,) in projection.candidates(named, [], NOW)] == [
        "30-Jan-24", "13-Feb-24", "27-Feb-24"]
    relative = _info({"projection.d.type": "date", "projection.d.format": "yyyy/MM/dd",
                      "projection.d.range": "NOW-3DAYS, NOW + 1 DAY"}, [("d", "string")])
    assert [v for (v,) in projection.candidates(relative, [], NOW)] == [
        "2026/03/12", "2026/03/13", "2026/03/14", "2026/03/15", "2026/03/16"]
    typed = _info({"projection.d.type": "date", "projection.d.format": "yyyy-MM-dd",
                   "projection.d.range": "2024-01-01,NOW"}, [("d", "date")])
    assert list(projection.candidates(typed, _conjuncts("d = DATE '2024-02-03'"), NOW)) == [["2024-02-03"]]


def test_integer_and_enum_narrowing() -> None:
    info = _info({"projection.h.type": "integer", "projection.h.range": "0,23", "projection.h.digits": "2",
                  "projection.r.type": "enum", "projection.r.values": "us-east-1,eu-west-1,ap-south-1",
                  "projection.n.type": "integer", "projection.n.range": "5,500", "projection.n.interval": "5"},
                 [("h", "string"), ("r", "string"), ("n", "int")])
    got = list(projection.candidates(info, _conjuncts("h IN ('07', '7', '25') AND r = 'eu-west-1' AND n > 490"),
                                     NOW))
    assert got == [["07", "eu-west-1", "495"], ["07", "eu-west-1", "500"]]
    assert list(projection.candidates(info, _conjuncts("n = 7"), NOW)) == []


@pytest.mark.parametrize(("params", "message"), [
    ({"projection.dt.type": "date", "projection.dt.range": "2020-01-01,NOW"},
     "INVALID_TABLE_PROPERTY: For the projected partition column dt, the required property projection.dt.format "
     "for the date projection type is missing."),
    ({"projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd", "projection.dt.range": "2020-13-01,NOW"},
     "INVALID_TABLE_PROPERTY: For the projected partition column dt, the property projection.dt.range must be two "
     "comma-separated dates in the format 'yyyy-MM-dd' or relative dates (NOW, NOW-3YEARS), but is "
     "'2020-13-01,NOW'."),
    ({"projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd-HH", "projection.dt.range": "NOW-1DAY,NOW"},
     "INVALID_TABLE_PROPERTY: For the projected partition column dt, the property projection.dt.interval.unit is "
     "required, because the date format 'yyyy-MM-dd-HH' is finer than days."),
    ({"projection.dt.type": "integer", "projection.dt.range": "1"},
     "INVALID_TABLE_PROPERTY: For the projected partition column dt, the property projection.dt.range must be two "
     "comma-separated integers, but is '1'."),
    ({"projection.dt.type": "list"},
     "INVALID_TABLE_PROPERTY: For the projected partition column dt, the projection type 'list' is not supported. "
     "Supported types are enum, integer, date and injected."),
    ({},
     "INVALID_TABLE_PROPERTY: For the projected partition column dt, the required property projection.dt.type is "
     "missing. Every partition column of a table with projection.enabled must have a projection type."),
])
def test_misconfigured_projection(params: dict[str, str], message: str) -> None:
    with pytest.raises(QueryFailed) as failure:
        list(projection.candidates(_info(params, [("dt", "string")]), [], NOW))
    assert failure.value.reason == message


def _events_table(athena: Athena, bucket: str, name: str, properties: str) -> None:
    athena.execute(f"CREATE EXTERNAL TABLE {name} (v bigint) PARTITIONED BY (region string, hour int) "
                   f"STORED AS PARQUET LOCATION 's3://{bucket}/{name}/' TBLPROPERTIES ({properties})")


def test_enum_and_integer_projection_with_template_through_boto3(athena: Athena, s3: Any, bucket: str,
                                                                 glue: Any) -> None:
    sizes: dict[tuple[str, int], int] = {}
    for region, hour, values in (("us", 3, [1, 2]), ("us", 4, [3]), ("eu", 3, [10]), ("ap", 3, [99])):
        body = parquet_bytes(pa.table({"v": pa.array(values, pa.int64())}))
        s3.put_object(Bucket=bucket, Key=f"logs/{region}/h{hour:02d}/part-0.parquet", Body=body)
        sizes[(region, hour)] = len(body)
    _events_table(athena, bucket, "proj", "'projection.enabled' = 'true', 'projection.region.type' = 'enum', "
                  "'projection.region.values' = 'us,eu', 'projection.hour.type' = 'integer', "
                  "'projection.hour.range' = '0,23', 'projection.hour.digits' = '2', "
                  f"'storage.location.template' = 's3://{bucket}/logs/${{region}}/h${{hour}}'")
    # A registered partition is ignored while projection is on (ap is not an enum value).
    glue.create_partition(DatabaseName=athena.database, TableName="proj", PartitionInput={
        "Values": ["ap", "3"], "StorageDescriptor": {"Location": f"s3://{bucket}/logs/ap/h03/"}})
    assert athena.rows("SELECT region, hour, v FROM proj ORDER BY v") == [
        ["region", "hour", "v"], ["us", "3", "1"], ["us", "3", "2"], ["us", "4", "3"], ["eu", "3", "10"]]
    execution = athena.execute("SELECT sum(v) FROM proj WHERE region = 'us' AND hour = 3")
    assert athena.result_rows(execution["QueryExecutionId"]) == [["_col0"], ["3"]]
    assert execution["Statistics"]["DataScannedInBytes"] == sizes[("us", 3)]
    execution = athena.execute("SELECT count(*) FROM proj WHERE hour BETWEEN 3 AND 4 AND region <> 'eu'")
    assert athena.result_rows(execution["QueryExecutionId"]) == [["_col0"], ["3"]]
    assert execution["Statistics"]["DataScannedInBytes"] == sizes[("us", 3)] + sizes[("us", 4)]
    assert athena.rows("SELECT count(*) FROM proj WHERE hour = 24") == [["_col0"], ["0"]]
    # SHOW PARTITIONS lists what the catalog holds, never projected partitions.
    assert athena.rows("SHOW PARTITIONS proj") == [["region=ap/hour=3"]]


def test_hourly_date_projection_over_five_years_reads_one_hour(athena: Athena, s3: Any, bucket: str) -> None:
    sizes = {}
    for stamp, values in (("2024/02/29/13", [5, 6]), ("2024/02/29/14", [7]), ("2021/01/01/00", [1])):
        body = parquet_bytes(pa.table({"v": pa.array(values, pa.int64())}))
        s3.put_object(Bucket=bucket, Key=f"hourly/dt={stamp}/data.parquet", Body=body)
        sizes[stamp] = len(body)
    athena.execute(f"CREATE EXTERNAL TABLE hourly (v bigint) PARTITIONED BY (dt string) STORED AS PARQUET "
                   f"LOCATION 's3://{bucket}/hourly/' TBLPROPERTIES ('projection.enabled' = 'true', "
                   "'projection.dt.type' = 'date', 'projection.dt.format' = 'yyyy/MM/dd/HH', "
                   "'projection.dt.range' = '2021/01/01/00,2025/12/31/23', 'projection.dt.interval' = '1', "
                   "'projection.dt.interval.unit' = 'HOURS', "
                   f"'storage.location.template' = 's3://{bucket}/hourly/dt=${{dt}}/')")
    execution = athena.execute("SELECT dt, v FROM hourly WHERE dt = '2024/02/29/13' ORDER BY v")
    assert athena.result_rows(execution["QueryExecutionId"]) == [["dt", "v"], ["2024/02/29/13", "5"],
                                                                 ["2024/02/29/13", "6"]]
    assert execution["Statistics"]["DataScannedInBytes"] == sizes["2024/02/29/13"]
    execution = athena.execute("SELECT sum(v) FROM hourly WHERE dt >= '2024/02/29/13' AND dt < '2024/03/01'")
    assert athena.result_rows(execution["QueryExecutionId"]) == [["_col0"], ["18"]]
    assert execution["Statistics"]["DataScannedInBytes"] == sizes["2024/02/29/13"] + sizes["2024/02/29/14"]
    assert athena.rows("SELECT count(*) FROM hourly WHERE dt = '2024/02/30/13'") == [["_col0"], ["0"]]


def test_injected_projection(athena: Athena, s3: Any, bucket: str, glue: Any) -> None:
    for device, values in (("a1", [1]), ("b2", [2, 3]), ("c3", [4])):
        s3.put_object(Bucket=bucket, Key=f"inj/device={device}/f.parquet",
                      Body=parquet_bytes(pa.table({"v": pa.array(values, pa.int64())})))
    glue.create_table(DatabaseName=athena.database, TableInput={
        "Name": "inj", "TableType": "EXTERNAL_TABLE", "PartitionKeys": [{"Name": "device", "Type": "string"}],
        "Parameters": {"projection.enabled": "true", "projection.device.type": "injected"},
        "StorageDescriptor": {"Columns": [{"Name": "v", "Type": "bigint"}], "Location": f"s3://{bucket}/inj/",
                              "SerdeInfo": {"SerializationLibrary":
                                            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}})
    assert athena.rows("SELECT device, v FROM inj WHERE device IN ('b2', 'c3', 'zz') ORDER BY v") == [
        ["device", "v"], ["b2", "2"], ["b2", "3"], ["c3", "4"]]
    assert athena.rows("SELECT v FROM inj WHERE device = 'a1' AND v > 0") == [["v"], ["1"]]
    expected = ("CONSTRAINT_VIOLATION: For the injected projected partition column device, the WHERE clause must "
                "contain only static equality conditions, and at least one such condition must be present.")
    assert athena.fail("SELECT count(*) FROM inj") == expected
    assert athena.fail("SELECT count(*) FROM inj WHERE device > 'a'") == expected
    assert athena.fail("SELECT count(*) FROM inj WHERE device = 'a1' AND device LIKE 'a%'") == expected


def test_misconfigured_projection_fails_the_query(athena: Athena, bucket: str) -> None:
    _events_table(athena, bucket, "broken", "'projection.enabled' = 'true', 'projection.region.type' = 'enum', "
                  "'projection.region.values' = 'us', 'projection.hour.type' = 'date', "
                  "'projection.hour.range' = '2020,NOW'")
    assert athena.fail("SELECT count(*) FROM broken") == (
        "INVALID_TABLE_PROPERTY: For the projected partition column hour, the required property "
        "projection.hour.format for the date projection type is missing.")
    _events_table(athena, bucket, "untemplated", "'projection.enabled' = 'true', 'projection.region.type' = 'enum', "
                  "'projection.region.values' = 'us', 'projection.hour.type' = 'integer', "
                  "'projection.hour.range' = '1,2', "
                  f"'storage.location.template' = 's3://{bucket}/x/${{region}}/'")
    assert athena.fail("SELECT count(*) FROM untemplated") == (
        f"INVALID_TABLE_PROPERTY: The storage.location.template 's3://{bucket}/x/${{region}}/' of table "
        f"{athena.database}.untemplated does not contain the placeholder ${{hour}} for the projected partition "
        "column hour.")
