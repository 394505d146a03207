"""Avro tables (STORED AS AVRO, AvroSerDe with avro.schema.literal, evolved schemas) and Hive's RegexSerDe,
read through boto3 against real objects."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import fastavro
from tests.services.athena.conftest import Athena

_AVRO_SERDE = "org.apache.hadoop.hive.serde2.avro.AvroSerDe"
_REGEX_SERDE = "org.apache.hadoop.hive.serde2.RegexSerDe"


def _avro(schema: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), records)
    return buffer.getvalue()


_PEOPLE_V1 = {"type": "record", "name": "person", "fields": [
    {"name": "Id", "type": "long"}, {"name": "name", "type": ["null", "string"]},
    {"name": "born", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tags", "type": {"type": "array", "items": "string"}}]}
_PEOPLE_V2 = {"type": "record", "name": "person", "fields": [
    {"name": "id", "type": "long"}, {"name": "score", "type": "double"}]}


def test_stored_as_avro_reads_by_name_across_schema_versions(athena: Athena, s3: Any, bucket: str) -> None:
    first = _avro(_PEOPLE_V1, [{"Id": 1, "name": "ann", "born": 19000, "tags": ["a", "b"]},
                               {"Id": 2, "name": None, "born": 19001, "tags": []}])
    second = _avro(_PEOPLE_V2, [{"id": 3, "score": 2.5}])
    s3.put_object(Bucket=bucket, Key="avro/part-1.avro", Body=first)
    s3.put_object(Bucket=bucket, Key="avro/part-2.avro", Body=second)
    athena.execute("CREATE EXTERNAL TABLE people (id bigint, name string, born date, tags array<string>, "
                   f"score double) STORED AS AVRO LOCATION 's3://{bucket}/avro/'")
    execution = athena.execute("SELECT id, name, born, tags, score FROM people ORDER BY id")
    assert athena.result_rows(execution["QueryExecutionId"]) == [
        ["id", "name", "born", "tags", "score"], ["1", "ann", "2022-01-08", "[a, b]", None],
        ["2", None, "2022-01-09", "[]", None], ["3", None, None, None, "2.5"]]
    assert execution["Statistics"]["DataScannedInBytes"] == len(first) + len(second)
    assert athena.rows("SELECT count(*), sum(id) FROM people WHERE born >= DATE '2022-01-09' OR score > 2") == [
        ["_col0", "_col1"], ["2", "5"]]


def test_avro_serde_with_schema_literal_and_partitions(athena: Athena, s3: Any, bucket: str, glue: Any) -> None:
    schema = {"type": "record", "name": "click", "fields": [
        {"name": "url", "type": "string"}, {"name": "ms", "type": ["null", "long"]}]}
    s3.put_object(Bucket=bucket, Key="clicks/day=1/a.avro",
                  Body=_avro(schema, [{"url": "/a", "ms": 5}, {"url": "/b", "ms": None}]))
    s3.put_object(Bucket=bucket, Key="clicks/day=2/b.avro", Body=_avro(schema, [{"url": "/c", "ms": 7}]))
    glue.create_table(DatabaseName=athena.database, TableInput={
        "Name": "clicks", "TableType": "EXTERNAL_TABLE", "PartitionKeys": [{"Name": "day", "Type": "int"}],
        "Parameters": {"avro.schema.literal": json.dumps(schema), "classification": "avro"},
        "StorageDescriptor": {
            "Columns": [], "Location": f"s3://{bucket}/clicks/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
            "SerdeInfo": {"SerializationLibrary": _AVRO_SERDE}}})
    athena.execute("MSCK REPAIR TABLE clicks")
    assert athena.rows("SELECT day, url, ms FROM clicks ORDER BY url") == [
        ["day", "url", "ms"], ["1", "/a", "5"], ["1", "/b", None], ["2", "/c", "7"]]
    assert athena.rows("SELECT url FROM clicks WHERE day = 2") == [["url"], ["/c"]]


def test_row_format_serde_avro_and_ctas_to_avro(athena: Athena, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="serde/x.avro", Body=_avro(_PEOPLE_V2, [{"id": 9, "score": 0.5}]))
    athena.execute(f"CREATE EXTERNAL TABLE scored (id bigint, score double) ROW FORMAT SERDE '{_AVRO_SERDE}' "
                   "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat' "
                   "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat' "
                   f"LOCATION 's3://{bucket}/serde/'")
    assert athena.rows("SELECT id, score * 2 AS twice FROM scored") == [["id", "twice"], ["9", "1.0"]]
    athena.execute(f"CREATE TABLE copied WITH (format = 'AVRO', external_location = 's3://{bucket}/out/') "
                   "AS SELECT id + 1 AS id, score FROM scored")
    athena.execute("INSERT INTO copied VALUES (20, 4.5)")
    assert athena.rows("SELECT id, score FROM copied ORDER BY id") == [["id", "score"], ["10", "0.5"], ["20", "4.5"]]
    written = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]]
    assert len(written) == 2 and all(k.endswith(".avro") for k in written)
    records = list(fastavro.reader(io.BytesIO(s3.get_object(Bucket=bucket, Key=sorted(written)[0])["Body"].read())))
    assert {r["id"] for r in records} <= {10, 20}


_LOG_REGEX = r'^(\S+) (\S+) \[([^\]]+)\] "(\w+) ([^"]*)" (\d{3}) (\S+)$'


def test_regex_serde_parses_groups_and_nulls_unmatched_lines(athena: Athena, s3: Any, bucket: str) -> None:
    lines = ('10.0.0.1 - [01/Jan/2024:00:00:01] "GET /index.html" 200 512\n'
             'garbage line\n'
             '10.0.0.2 alice [01/Jan/2024:00:00:02] "POST /api" 503 -\n')
    s3.put_object(Bucket=bucket, Key="weblogs/a.log", Body=lines.encode())
    s3.put_object(Bucket=bucket, Key="weblogs/b.log.gz",
                  Body=gzip.compress(b'10.0.0.3 bob [02/Jan/2024:10:00:00] "get /x" 404 12\n'))
    regex = _LOG_REGEX.replace("\\", "\\\\")
    athena.execute("CREATE EXTERNAL TABLE weblogs (ip string, user_name string, ts string, method string, "
                   "path string, status int, bytes bigint) "
                   f"ROW FORMAT SERDE '{_REGEX_SERDE}' WITH SERDEPROPERTIES ('input.regex' = '{regex}') "
                   f"LOCATION 's3://{bucket}/weblogs/'")
    assert athena.rows("SELECT ip, user_name, ts, method, path, status, bytes FROM weblogs "
                       "ORDER BY ip NULLS LAST") == [
        ["ip", "user_name", "ts", "method", "path", "status", "bytes"],
        ["10.0.0.1", "-", "01/Jan/2024:00:00:01", "GET", "/index.html", "200", "512"],
        ["10.0.0.2", "alice", "01/Jan/2024:00:00:02", "POST", "/api", "503", None],
        ["10.0.0.3", "bob", "02/Jan/2024:10:00:00", "get", "/x", "404", "12"],
        [None, None, None, None, None, None, None]]
    assert athena.rows("SELECT status, count(*) FROM weblogs WHERE status >= 400 GROUP BY status "
                       "ORDER BY status") == [["status", "_col1"], ["404", "1"], ["503", "1"]]


def test_regex_serde_case_insensitive_and_errors(athena: Athena, s3: Any, bucket: str, glue: Any) -> None:
    s3.put_object(Bucket=bucket, Key="kv/a.txt", Body=b"KEY=one\nkey=two\nnope\n")
    athena.execute(f"CREATE EXTERNAL TABLE kv (v string) ROW FORMAT SERDE '{_REGEX_SERDE}' "
                   "WITH SERDEPROPERTIES ('input.regex' = 'key=(\\\\w+)', 'input.regex.case.insensitive' = 'true') "
                   f"LOCATION 's3://{bucket}/kv/'")
    assert athena.rows("SELECT v FROM kv ORDER BY v NULLS FIRST") == [["v"], [None], ["one"], ["two"]]
    athena.execute(f"CREATE EXTERNAL TABLE kv_wide (k string, v string) ROW FORMAT SERDE '{_REGEX_SERDE}' "
                   "WITH SERDEPROPERTIES ('input.regex' = '(\\\\w+)') "
                   f"LOCATION 's3://{bucket}/kv/'")
    assert athena.fail("SELECT * FROM kv_wide") == (
        "HIVE_CANNOT_OPEN_SPLIT: Number of matching groups doesn't match the number of columns (1 groups, 2 columns)")
    glue.create_table(DatabaseName=athena.database, TableInput={
        "Name": "kv_bare", "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {"Columns": [{"Name": "v", "Type": "string"}], "Location": f"s3://{bucket}/kv/",
                              "SerdeInfo": {"SerializationLibrary": _REGEX_SERDE}}})
    assert athena.fail("SELECT * FROM kv_bare") == (
        'HIVE_INVALID_METADATA: This table does not have serde property "input.regex"!')
