"""Record format conversion through boto3: JSON in, Parquet or ORC out, with the columns of a Glue table."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from tests.services.firehose.conftest import ROLE, MakeStream, read, s3_config, unique, wait_for_keys
from tests.support import FogbankServer

COLUMNS = [{"Name": "id", "Type": "int"}, {"Name": "name", "Type": "string"},
           {"Name": "price", "Type": "decimal(10,2)"}, {"Name": "ts", "Type": "timestamp"},
           {"Name": "tags", "Type": "array<string>"}, {"Name": "attrs", "Type": "struct<color:string,size:int>"},
           {"Name": "ok", "Type": "boolean"}]


@pytest.fixture
def table(fogbank: FogbankServer) -> tuple[str, str]:
    glue = fogbank.client("glue")
    database = unique("db").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "events", "StorageDescriptor": {"Columns": COLUMNS},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}]})
    return database, "events"


def _conversion(database: str, table: str, serializer: dict[str, Any]) -> dict[str, Any]:
    return {"Enabled": True,
            "SchemaConfiguration": {"RoleARN": ROLE, "DatabaseName": database, "TableName": table},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": serializer}}


GOOD = [
    {"id": 1, "name": "first", "price": 9.99, "ts": "2024-03-01T10:00:00Z", "tags": ["a", "b"],
     "attrs": {"color": "red", "size": 3}, "ok": True},
    {"ID": "2", "Name": "second", "price": "10.50", "ts": 1709287200000, "tags": [], "attrs": {"color": "blue"},
     "ok": "false", "extra": "ignored"},
    {"id": 3, "ts": "2024-03-01 12:30:00.5"},
]
BAD = {"id": "three", "name": "bad"}


def _check_table(result: pa.Table) -> None:
    assert result.column_names == ["id", "name", "price", "ts", "tags", "attrs", "ok"]
    assert result.schema.field("id").type == pa.int32()
    assert result.schema.field("price").type == pa.decimal128(10, 2)
    assert pa.types.is_timestamp(result.schema.field("ts").type)  # ORC reads every timestamp back in ns
    rows = sorted(result.to_pylist(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert [r["name"] for r in rows] == ["first", "second", None]
    assert [r["price"] for r in rows] == [Decimal("9.99"), Decimal("10.50"), None]
    assert [r["ts"] for r in rows] == [datetime(2024, 3, 1, 10), datetime(2024, 3, 1, 10),
                                       datetime(2024, 3, 1, 12, 30, 0, 500000)]
    assert rows[0]["tags"] == ["a", "b"] and rows[1]["tags"] == []
    assert rows[0]["attrs"] == {"color": "red", "size": 3} and rows[1]["attrs"] == {"color": "blue", "size": None}
    assert [r["ok"] for r in rows] == [True, False, None]


@pytest.mark.parametrize("output", ["parquet", "orc"])
def test_json_becomes_columnar_with_the_catalog_schema(firehose: Any, s3: Any, bucket: str, make_stream: MakeStream,
                                                       table: tuple[str, str], output: str) -> None:
    serializer = {"ParquetSerDe": {"Compression": "GZIP"}} if output == "parquet" else {"OrcSerDe": {}}
    name = make_stream(bucket, size_mb=64, interval=1, Prefix="data/!{timestamp:yyyy}/",
                       ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
                       DataFormatConversionConfiguration=_conversion(*table, serializer))
    records = [json.dumps(GOOD[0]), json.dumps(GOOD[1]) + "\n" + json.dumps(GOOD[2]), json.dumps(BAD)]
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r.encode()} for r in records])
    [data_key] = wait_for_keys(s3, bucket, 1, prefix="data/")
    body = read(s3, bucket, data_key)
    if output == "parquet":
        assert body[:4] == b"PAR1" and not data_key.endswith(".gz")
        parquet = pq.ParquetFile(io.BytesIO(body))
        assert parquet.metadata.row_group(0).column(0).compression == "GZIP"
        _check_table(parquet.read())
    else:
        assert body[:3] == b"ORC"
        _check_table(orc.ORCFile(io.BytesIO(body)).read())
    [error_key] = wait_for_keys(s3, bucket, 1, prefix="errors/format-conversion-failed/")
    [failure] = [json.loads(line) for line in read(s3, bucket, error_key).splitlines()]
    assert failure["lastErrorCode"] == "DataFormatConversion.MalformedData"
    assert "column id" in failure["lastErrorMessage"]
    assert json.loads(base64.b64decode(failure["rawData"])) == BAD
    assert failure["dataCatalogTable"]["databaseName"] == table[0]


def test_conversion_rules_and_unreadable_tables(firehose: Any, bucket: str, table: tuple[str, str]) -> None:
    serializer: dict[str, Any] = {"ParquetSerDe": {}}
    cases = [
        (s3_config(bucket, 5, 1, DataFormatConversionConfiguration=_conversion(*table, serializer)),
         "SizeInMBs must be at least 64 when data format conversion is enabled"),
        (s3_config(bucket, 64, 1, CompressionFormat="GZIP",
                   DataFormatConversionConfiguration=_conversion(*table, serializer)),
         "CompressionFormat must be UNCOMPRESSED"),
        (s3_config(bucket, 64, 1, DataFormatConversionConfiguration=_conversion(table[0], "nope", serializer)),
         f"The Glue Data Catalog table {table[0]}.nope cannot be read"),
    ]
    for config, fragment in cases:
        with pytest.raises(ClientError) as excinfo:
            firehose.create_delivery_stream(DeliveryStreamName=unique(), ExtendedS3DestinationConfiguration=config)
        assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert fragment in excinfo.value.response["Error"]["Message"]
    name = unique()
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "BufferingHints": {"IntervalInSeconds": 1},
        "DataFormatConversionConfiguration": _conversion(*table, serializer)})
    try:
        hints = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
            "Destinations"][0]["ExtendedS3DestinationDescription"]["BufferingHints"]
        assert hints == {"SizeInMBs": 128, "IntervalInSeconds": 1}
    finally:
        firehose.delete_delivery_stream(DeliveryStreamName=name)
