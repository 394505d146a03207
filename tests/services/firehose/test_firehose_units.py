"""The pieces on their own: Java time patterns, prefixes, the jq subset, codecs, KPL, the buffer log, functions."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fogbank.services.firehose import compression, kpl, prefixes
from fogbank.services.firehose.bufferlog import BufferLog, Checkpoint
from fogbank.services.firehose.conversion import Converter
from fogbank.services.firehose.functions import FunctionDirectory, FunctionMissing
from fogbank.services.firehose.jq import JqError, MetadataQuery
from fogbank.services.firehose.processing import Output
from fogbank.services.firehose.timefmt import JavaTimeFormat, PatternError

WHEN = datetime(2018, 8, 3, 9, 5, 7, 123456, tzinfo=UTC)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("yyyy/MM/dd/HH/", "2018/08/03/09/"),
    ("yy-M-d H:m:s", "18-8-3 9:5:7"),
    ("'year='yyyy'/month='MM", "year=2018/month=08"),
    ("yyyy'T'HH:mm:ss.SSS", "2018T09:05:07.123"),
    ("MMM MMMM EEE EEEE a hh", "Aug August Fri Friday AM 09"),
    ("D 'o''clock' ''", "215 o'clock '"),
    ("[yyyy]XXX Z", "2018Z +0000"),
])
def test_java_time_patterns(pattern: str, expected: str) -> None:
    assert JavaTimeFormat(pattern).format(WHEN) == expected


def test_java_time_patterns_follow_the_zone_and_refuse_bad_patterns() -> None:
    tokyo = WHEN.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert JavaTimeFormat("yyyy-MM-dd HH xxx VV").format(tokyo) == "2018-08-03 18 +09:00 Asia/Tokyo"
    for bad in ("yyyy 'unterminated", "yyyy#", "qqqqqq", "ffff"):
        with pytest.raises(PatternError):
            JavaTimeFormat(bad)


def test_prefix_rendering() -> None:
    checked = prefixes.check("a/!{timestamp:yyyy}/!{firehose:random-string}/!{partitionKeyFromQuery:id}/",
                             "e/!{firehose:error-output-type}/!{timestamp:MM}/", True)
    values = prefixes.Values(WHEN, {"id": "42"}, {}, iter(["r1", "r2"]).__next__, "processing-failed")
    assert prefixes.render(checked.prefix, values) == "a/2018/r1/42/"
    assert prefixes.render_error(checked, values) == "e/processing-failed/08/"
    with pytest.raises(prefixes.MissingKey):
        prefixes.render(checked.prefix, prefixes.Values(WHEN, {}, {}, lambda: "r"))
    plain = prefixes.check("myPrefix", None, False)
    values = prefixes.Values(WHEN, {}, {}, lambda: "r", "processing-failed")
    assert prefixes.render(plain.prefix, values) == "myPrefix2018/08/03/09/"
    assert prefixes.render_error(plain, values) == "myPrefixprocessing-failed/2018/08/03/09/"
    literal_error = prefixes.check("", "failures/", False)
    assert prefixes.render_error(literal_error, values) == "failures/processing-failed/2018/08/03/09/"


def test_jq_subset() -> None:
    query = MetadataQuery('{ id: .customer_id, device: .type.device, raw: .a["x y"][1], "quoted": .n | tostring,'
                          ' year: .ts | strftime("%Y"), low: .name | ascii_downcase, n: .n, flag: .f,'
                          ' num: .s | tonumber | floor, trimmed: .name | ltrimstr("Mr. ") }')
    document = {"customer_id": "c-1", "type": {"device": "mobile"}, "a": {"x y": [0, "second"]}, "n": 7.0,
                "ts": 1565382027, "name": "Mr. SMITH", "f": True, "s": "3.9"}
    assert query.extract(document) == {"id": "c-1", "device": "mobile", "raw": "second", "quoted": "7", "year": "2019",
                                       "low": "mr. smith", "n": "7", "flag": "true", "num": "3", "trimmed": "SMITH"}
    assert query.keys == ["id", "device", "raw", "quoted", "year", "low", "n", "flag", "num", "trimmed"]
    with pytest.raises(JqError, match="null"):
        MetadataQuery("{id: .missing}").extract({})
    with pytest.raises(JqError, match="Cannot index"):
        MetadataQuery("{id: .a.b}").extract({"a": "text"})
    assert MetadataQuery("{id: .a.b?}").extract({"a": {"b": 1}}) == {"id": "1"}
    for bad in ("{id: .a | unknown_fn}", ".a", "{id .a}", "{id: .a} trailing", "{}"):
        with pytest.raises(JqError):
            MetadataQuery(bad)


def test_codecs_round_trip() -> None:
    data = os.urandom(70_000) + b"abc" * 200_000
    for fmt in ("GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"):
        assert compression.compress(data, fmt, "entry") != data
    framed = compression.snappy_frame(data)
    assert compression.snappy_unframe(framed) == data
    # The first chunk is incompressible, so it is stored as an uncompressed chunk (type 0x01) after the header.
    assert framed[10] == 0x01 and int.from_bytes(framed[11:14], "little") == 65536 + 4
    hadoop = compression.hadoop_snappy(data)
    assert compression.hadoop_unsnappy(hadoop) == data
    codec = pa.Codec("snappy")
    length = int.from_bytes(hadoop[4:8], "big")
    assert codec.decompress(hadoop[8:8 + length], decompressed_size=256 * 1024, asbytes=True) == data[:256 * 1024]
    with pytest.raises(ValueError, match="checksum"):
        compression.snappy_unframe(framed[:14] + b"\x00\x00\x00\x00" + framed[18:])


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_kpl_aggregates_are_taken_apart() -> None:
    records = [b"first", b"", b"third" * 100]
    body = _field(1, b"pk") + b"".join(
        _field(3, _varint(1 << 3) + _varint(0) + _field(3, r)) for r in records)
    aggregate = kpl.MAGIC + body + hashlib.md5(body).digest()
    assert kpl.is_aggregated(aggregate)
    assert kpl.deaggregate(aggregate) == records
    with pytest.raises(kpl.NotAggregated):
        kpl.deaggregate(aggregate[:-1] + b"\x00")
    assert not kpl.is_aggregated(b'{"json": true}')


def test_buffer_log_recovers_acknowledged_records_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    log = BufferLog(tmp_path / "log", 0, segment_bytes=1000)
    acknowledged: list[bytes] = []
    for i in range(30):
        data = f"record-{i}".encode() * 10
        first, count = log.append([data], 1_000 + i, 1 << 30)
        log.wait_durable(first + count)
        acknowledged.append(data)
    assert len(list((tmp_path / "log").glob("*.seg"))) == 3
    log.close()
    segments = sorted((tmp_path / "log").glob("*.seg"))
    with open(segments[-1], "ab") as torn:
        torn.write(b"\x50\x00\x00\x00garbage")  # a frame header whose body never made it
    reopened = BufferLog(tmp_path / "log", 5, segment_bytes=1000)
    assert reopened.pending()[0] == 25
    assert [data for _, _, data in reopened.read(5, 30)] == acknowledged[5:]
    assert [arrival for _, arrival, _ in reopened.read(5, 7)] == [1005, 1006]
    reopened.release(20)
    assert reopened.pending()[0] == 10
    first, count = reopened.append([b"after"], 2_000, 1 << 30)
    reopened.wait_durable(first + count)
    assert first == 30 and reopened.read(30, 31)[0][2] == b"after"
    remaining = sorted(int(p.name[:20]) for p in (tmp_path / "log").glob("*.seg"))
    assert remaining[0] <= 20 < (remaining[1] if len(remaining) > 1 else 10**9)
    reopened.close()


def test_buffer_log_group_commit_under_concurrent_writers(tmp_path: Path) -> None:
    log = BufferLog(tmp_path / "log", 0, segment_bytes=4096)
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(50):
                first, count = log.append([f"{worker}:{i}".encode()], 1, 1 << 30)
                log.wait_durable(first + count)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert log.plan(1 << 30) == 400
    assert sorted(data for _, _, data in log.read(0, 400)) == sorted(f"{w}:{i}".encode() for w in range(8)
                                                                       for i in range(50))
    log.close()
    assert BufferLog(tmp_path / "log", 0).pending()[0] == 400


def test_checkpoint_is_replaced_atomically(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path)
    checkpoint.save(delivered=10, intent={"batch": 3})
    assert Checkpoint(tmp_path).state["delivered"] == 10 and Checkpoint(tmp_path).intent == {"batch": 3}
    assert not list(tmp_path.glob("*.tmp"))


def test_function_names_never_leave_the_directory(tmp_path: Path) -> None:
    functions = FunctionDirectory(tmp_path / "functions")
    (tmp_path / "functions").mkdir()
    (tmp_path / "secret.py").write_text("def handler(event, context):\n    return {'records': []}\n")
    for arn in ("arn:aws:lambda:us-east-1:000000000000:function:../secret",
                "arn:aws:lambda:us-east-1:000000000000:function:missing", "not-an-arn"):
        with pytest.raises(FunctionMissing):
            functions.invoke(arn, {})
    (tmp_path / "functions" / "echo.py").write_text("def handler(event, context):\n    return {'n': 1}\n")
    arn = "arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST"
    assert functions.invoke(arn, {}) == {"n": 1}
    (tmp_path / "functions" / "echo.py").write_text("def handler(event, context):\n    return {'n': 22}\n")
    assert functions.invoke(arn, {}) == {"n": 22}


def test_converter_keeps_whole_records_out_when_one_value_does_not_fit() -> None:
    def convert(deserializer: dict[str, object], records: list[bytes]) -> tuple[list[dict[str, object]], list[str]]:
        converter = Converter({"InputFormatConfiguration": {"Deserializer": deserializer},
                               "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}})
        columns = converter.columns([("n", "int"), ("price", "double"), ("when", "date")])
        body, failures = converter.convert([Output(r, 1) for r in records], columns)
        rows = pq.read_table(io.BytesIO(body)).to_pylist() if body else []
        return rows, [f.document["lastErrorMessage"] for f in failures]

    rows, errors = convert({"OpenXJsonSerDe": {}}, [b'{"n": 1, "price": 2}', b'{"N": "2", "Price": true}',
                                                    b'{"n": 3, "when": "2024-02-30"}', b'{"n": 4.0}', b"[1]"])
    assert rows == [{"n": 1, "price": 2.0, "when": None}, {"n": 4, "price": None, "when": None}]
    assert errors == ["the record is not a JSON object", "column price: boolean True is not a number",
                      "column when: '2024-02-30' is not a date"]
    rows, errors = convert({"HiveJsonSerDe": {}}, [b'{"n": "5"}', b'{"n": 6}'])
    assert rows == [{"n": 6, "price": None, "when": None}] and errors == ["column n: '5' is not an integer"]
