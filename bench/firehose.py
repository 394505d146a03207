"""Firehose part of the Kinesis benchmark: fogbank's buffered delivery into S3, and a probe of the peers'.

fogbank only, because neither peer delivers as Firehose does: ministack 1.5.33 writes every record to S3 as
its own object at once, and moto 5.2.5 writes one object per PutRecord(Batch) call; both store BufferingHints
and CompressionFormat without applying them. `probe_peer` shows that in every run rather than asserting it.

Measured on fogbank, each on delivery streams created for the purpose:
- latency: 1 MiB size hint (interval 900 s, so only the size can trigger), UNCOMPRESSED. The first 1 MiB
  minus one record is put, then one PutRecord fills the hint; the time from sending it until the object is
  listed in S3 (polled every 10 ms) is the latency. The object must hold exactly the records put.
- throughput: `mib` MiB of 256-byte JSON records (a multiple of the 64 MiB size hint) put with PutRecordBatch
  from several threads, delivered as GZIP and then as Parquet (through a Glue table created first);
  MB/s is input bytes over the time from the first put until the last object is listed. Afterwards every
  GZIP object is decompressed and every Parquet object read with pyarrow, and compared with the input.
"""

from __future__ import annotations

import base64
import gzip
import io
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from _client import S3Connection
from _peers import ACCESS_KEY, REGION, SECRET_KEY, JsonConnection, ServiceCallError, log
from _sigv4 import SigV4Signer

MIB = 1 << 20
RECORD = 256
BATCH = 500
HINT_MIB = 64
LATENCY_HINT_MIB = 1
BUCKET = "fogbank-bench-firehose"
ROLE = "arn:aws:iam::000000000000:role/firehose-bench"
DATABASE = "fogbank_bench"
TABLE = "events"
COLUMNS = [("id", "bigint"), ("user", "string"), ("event", "string"), ("ts", "timestamp"), ("value", "double"),
           ("payload", "string")]
EVENTS = ("view", "click", "cart", "buy")
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def record(i: int) -> bytes:
    """JSON document `i` plus a newline, padded to exactly RECORD bytes so size hints fill exactly."""
    sec = i % 86400
    head = (f'{{"id":{i},"user":"u{i % 9973:05d}","event":"{EVENTS[i % 4]}",'
            f'"ts":"2026-01-{1 + i // 86400 % 28:02d} {sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}",'
            f'"value":{i % 1000 * 0.25},"payload":"')
    tail = '"}\n'
    return (head + "x" * (RECORD - len(head) - len(tail)) + tail).encode()


def _firehose(port: int) -> JsonConnection:
    return JsonConnection(port, "firehose", "Firehose_20150804", timeout=120.0)


def _s3(port: int) -> S3Connection:
    return S3Connection("127.0.0.1", port, SigV4Signer(ACCESS_KEY, SECRET_KEY, REGION), timeout=120.0)


def _create_bucket(port: int) -> None:
    conn = _s3(port)
    try:
        response = conn.request("PUT", f"/{BUCKET}")
    finally:
        conn.close()
    if not response.ok and b"BucketAlreadyOwnedByYou" not in response.body:
        raise RuntimeError(f"CreateBucket answered HTTP {response.status}: {response.body[:300]!r}")


def list_objects(conn: S3Connection, prefix: str) -> list[tuple[str, int]]:
    """(key, size) of every object under `prefix`, in key order."""
    out: list[tuple[str, int]] = []
    token = ""
    while True:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        response = conn.request("GET", f"/{BUCKET}", query=query)
        if not response.ok:
            raise RuntimeError(f"ListObjectsV2 answered HTTP {response.status}: {response.body[:300]!r}")
        root = ET.fromstring(response.body)
        for item in root.iter(f"{_S3_NS}Contents"):
            out.append((item.findtext(f"{_S3_NS}Key") or "", int(item.findtext(f"{_S3_NS}Size") or 0)))
        token = root.findtext(f"{_S3_NS}NextContinuationToken") or ""
        if root.findtext(f"{_S3_NS}IsTruncated") != "true" or not token:
            return out


def get_object(conn: S3Connection, key: str) -> bytes:
    response = conn.request("GET", f"/{BUCKET}/{key}")
    if not response.ok:
        raise RuntimeError(f"GetObject {key} answered HTTP {response.status}: {response.body[:300]!r}")
    return response.body


def _destination(prefix: str, hint_mib: int, compression: str) -> dict[str, Any]:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}", "Prefix": prefix,
            "ErrorOutputPrefix": f"errors/{prefix}",
            "BufferingHints": {"SizeInMBs": hint_mib, "IntervalInSeconds": 900}, "CompressionFormat": compression}


def _create_stream(conn: JsonConnection, name: str, destination: dict[str, Any]) -> None:
    conn.call("CreateDeliveryStream", {"DeliveryStreamName": name, "DeliveryStreamType": "DirectPut",
                                       "ExtendedS3DestinationConfiguration": destination})
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        described = conn.call("DescribeDeliveryStream", {"DeliveryStreamName": name})
        if described["DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise RuntimeError(f"delivery stream {name} did not become ACTIVE within 30 s")


def _batch_body(stream: str, records: list[bytes]) -> bytes:
    items = ",".join(f'{{"Data":"{base64.b64encode(r).decode()}"}}' for r in records)
    return f'{{"DeliveryStreamName":"{stream}","Records":[{items}]}}'.encode()


def _put_all(conn: JsonConnection, stream: str, records: list[bytes], deadline: float) -> None:
    """PutRecordBatch until every record is acknowledged, resending only the ones that failed."""
    while records:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"time box reached with {len(records)} records not acknowledged")
        response = conn.call("PutRecordBatch", _batch_body(stream, records))
        if not response.get("FailedPutCount"):
            return
        records = [r for r, e in zip(records, response["RequestResponses"], strict=True) if e.get("ErrorCode")]
        time.sleep(0.05)


# -- results -------------------------------------------------------------------------------------------


@dataclass
class ThroughputRun:
    fmt: str
    input_bytes: int = 0
    records: int = 0
    hint_mib: int = HINT_MIB
    put_seconds: float | None = None
    total_seconds: float | None = None
    objects: int = 0
    expected_objects: int = 0
    stored_bytes: int = 0
    verified: bool | None = None
    detail: str = ""
    error: str = ""

    @property
    def put_mb_s(self) -> float | None:
        return self.input_bytes / self.put_seconds / 1e6 if self.put_seconds else None

    @property
    def mb_s(self) -> float | None:
        return self.input_bytes / self.total_seconds / 1e6 if self.total_seconds else None


@dataclass
class FirehoseResult:
    version: str = "?"
    latency: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    latency_ok: bool | None = None
    runs: list[ThroughputRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def table(self) -> str:
        lines = [f"Firehose, fogbank {self.version} only (see the peers' probe below):", "",
                 "| Firehose metric | fogbank |", "|---|---:|"]
        if self.latency:
            lines.append(f"| PutRecord that fills a {LATENCY_HINT_MIB} MiB size hint → object listed in S3, median of "
                         f"{len(self.latency)} (ms) | {median(self.latency) * 1000:,.0f} |")
            lines.append(f"| same, slowest (ms) | {max(self.latency) * 1000:,.0f} |")
            lines.append(f"| PutRecord round trip, fsynced before the answer, median (ms) | "
                         f"{median(self.ack) * 1000:,.1f} |")
        else:
            lines.append("| size-hint latency | failed |")
        for run in self.runs:
            label = f"{run.fmt}, {run.input_bytes / MIB:,.0f} MiB of {RECORD} B JSON records, {run.hint_mib} MiB hint"
            if run.error and run.mb_s is None:
                lines.append(f"| {label} | failed |")
                continue
            lines.append(f"| {label}: delivered into S3, first put → last object listed (MB/s) | "
                         f"{_fmt(run.mb_s, 1)} |")
            lines.append(f"| {run.fmt}: accepted by PutRecordBatch, durable (MB/s) | {_fmt(run.put_mb_s, 1)} |")
            lines.append(f"| {run.fmt}: objects / stored MB (input {run.input_bytes / 1e6:,.1f} MB) | "
                         f"{run.objects} / {run.stored_bytes / 1e6:,.1f} |")
        return "\n".join(lines)

    def goal_rows(self) -> list[tuple[str, str, str, bool | None]]:
        rows: list[tuple[str, str, str, bool | None]] = [
            (f"Firehose: the object appears when the {LATENCY_HINT_MIB} MiB hint is reached, with exactly the "
             "records put", "yes", "yes" if self.latency_ok else ("no" if self.latency_ok is False else "—"),
             self.latency_ok)]
        for run in self.runs:
            shown = f"{run.objects} of {run.expected_objects} objects"
            rows.append((f"Firehose {run.fmt}: one object per size hint, content equal to the input",
                         "exact", shown + (", exact" if run.verified else ""), run.verified))
        return rows

    def notes(self) -> str:
        out = [f"- fogbank Firehose {run.fmt}: {run.detail}" for run in self.runs if run.detail]
        out += [f"- fogbank Firehose {run.fmt}: {run.error}" for run in self.runs if run.error]
        out += [f"- fogbank Firehose: {e.splitlines()[0][:300]}" for e in self.errors]
        return "\n".join(out)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _fmt(v: float | None, digits: int) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


# -- fogbank -------------------------------------------------------------------------------------------


def _latency(port: int, rounds: int, timeout: float, result: FirehoseResult) -> None:
    stream = "bench-latency"
    per_object = LATENCY_HINT_MIB * MIB // RECORD
    conn = _firehose(port)
    s3 = _s3(port)
    try:
        _create_stream(conn, stream, _destination("latency/", LATENCY_HINT_MIB, "UNCOMPRESSED"))
        ok = True
        seen: set[str] = set()
        for r in range(rounds):
            records = [record(r * per_object + i) for i in range(per_object)]
            deadline = time.perf_counter() + timeout
            for at in range(0, per_object - 1, BATCH):
                _put_all(conn, stream, records[at:min(at + BATCH, per_object - 1)], deadline)
            if len(list_objects(s3, "latency/")) != r:
                ok = False
                result.errors.append(f"latency round {r + 1}: an object appeared before the size hint was reached")
            last = base64.b64encode(records[-1]).decode()
            t0 = time.perf_counter()
            conn.call("PutRecord", {"DeliveryStreamName": stream, "Record": {"Data": last}})
            result.ack.append(time.perf_counter() - t0)
            while True:
                listed = list_objects(s3, "latency/")
                if len(listed) > r:
                    result.latency.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"latency round {r + 1}: no object within {timeout:g} s of filling the hint")
                time.sleep(0.01)
            fresh = sorted({k for k, _ in listed} - seen)
            seen.update(fresh)
            body = b"".join(get_object(s3, k) for k in fresh)
            if body != b"".join(records):
                ok = False
                result.errors.append(f"latency round {r + 1}: the object does not hold exactly the records put "
                                     f"({len(body):,} bytes, expected {per_object * RECORD:,})")
        result.latency_ok = ok
    finally:
        conn.close()
        s3.close()


def _glue_table(port: int) -> None:
    glue = JsonConnection(port, "glue", "AWSGlue", timeout=60.0)
    try:
        glue.call("CreateDatabase", {"DatabaseInput": {"Name": DATABASE}})
        glue.call("CreateTable", {"DatabaseName": DATABASE, "TableInput": {
            "Name": TABLE, "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in COLUMNS],
                "Location": f"s3://{BUCKET}/parquet/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {"SerializationLibrary":
                              "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}}})
    finally:
        glue.close()


def _throughput(port: int, fmt: str, threads: int, mib: int, first_id: int, timeout: float) -> ThroughputRun:
    run = ThroughputRun(fmt, hint_mib=HINT_MIB)
    stream = f"bench-{fmt.lower()}"
    prefix = f"{fmt.lower()}/"
    if fmt == "Parquet":
        destination = _destination(prefix, HINT_MIB, "UNCOMPRESSED")
        destination["DataFormatConversionConfiguration"] = {
            "Enabled": True,
            "SchemaConfiguration": {"DatabaseName": DATABASE, "TableName": TABLE, "RoleARN": ROLE, "Region": REGION},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}
    else:
        destination = _destination(prefix, HINT_MIB, fmt)
    count = mib * MIB // RECORD
    run.records = count
    run.input_bytes = count * RECORD
    run.expected_objects = mib // HINT_MIB
    ctl = _firehose(port)
    try:
        _create_stream(ctl, stream, destination)
    finally:
        ctl.close()
    batches = [[record(first_id + i) for i in range(at, min(at + BATCH, count))] for at in range(0, count, BATCH)]
    next_batch = iter(range(len(batches)))
    lock = threading.Lock()
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + timeout

    def writer() -> None:
        conn = _firehose(port)
        try:
            while not errors:
                with lock:
                    n = next(next_batch, None)
                if n is None:
                    return
                _put_all(conn, stream, batches[n], deadline)
        except (ServiceCallError, RuntimeError, OSError) as exc:
            with lock:
                errors.append(f"PutRecordBatch: {exc}")
        finally:
            conn.close()

    workers = [threading.Thread(target=writer, name=f"firehose-writer-{n}") for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    run.put_seconds = time.perf_counter() - started
    if errors:
        run.error = errors[0]
        return run
    s3 = _s3(port)
    try:
        while True:
            listed = list_objects(s3, prefix)
            if len(listed) >= run.expected_objects:
                run.total_seconds = time.perf_counter() - started
                break
            if time.perf_counter() > deadline:
                run.objects = len(listed)
                run.error = f"{len(listed)} of {run.expected_objects} objects delivered within {timeout:g} s"
                return run
            time.sleep(0.05)
        time.sleep(0.5)  # anything delivered beyond the expected objects shows up now and is reported
        listed = list_objects(s3, prefix)
        failed = list_objects(s3, f"errors/{prefix}")
        run.objects = len(listed)
        run.stored_bytes = sum(size for _, size in listed)
        bodies = [get_object(s3, key) for key, _ in listed]
    finally:
        s3.close()
    expected = [b for batch in batches for b in batch]
    run.verified, run.detail = (_check_gzip(bodies, expected) if fmt == "GZIP"
                                else _check_parquet(bodies, first_id, count))
    if failed:
        run.verified = False
        run.detail += f"; {len(failed)} objects under the error prefix"
    if run.objects != run.expected_objects:
        run.verified = False
    return run


def _check_gzip(bodies: list[bytes], expected: list[bytes]) -> tuple[bool, str]:
    try:
        data = b"".join(gzip.decompress(b) for b in bodies)
    except (OSError, EOFError) as exc:
        return False, f"an object is not valid GZIP: {exc}"
    got = sorted(data.splitlines(keepends=True))
    if got != sorted(expected):
        return False, f"decompressed {len(data):,} bytes that are not the {len(expected):,} records put"
    return True, f"{len(bodies)} objects decompress to exactly the {len(expected):,} records put"


def _check_parquet(bodies: list[bytes], first_id: int, count: int) -> tuple[bool, str]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return False, "not verified: pyarrow is not installed in the benchmark's Python"
    ids: list[int] = []
    for body in bodies:
        try:
            table = pq.read_table(io.BytesIO(body))
        except Exception as exc:  # whatever pyarrow raises, the object is not usable Parquet
            return False, f"an object is not readable Parquet: {exc}"
        names = [f.name for f in table.schema]
        if names != [n for n, _ in COLUMNS]:
            return False, f"columns {names} are not the Glue table's"
        ids.extend(table.column("id").to_pylist())
    if sorted(ids) != list(range(first_id, first_id + count)):
        return False, f"{len(ids):,} rows read, not the {count:,} records put, each once"
    return True, f"{len(bodies)} objects read by pyarrow hold the {count:,} records put, with the table's columns"


def run_fogbank(port: int, threads: int, mib: int, rounds: int, timeout: float, version: str) -> FirehoseResult:
    result = FirehoseResult(version)
    try:
        _create_bucket(port)
        _latency(port, rounds, timeout, result)
    except (ServiceCallError, RuntimeError, OSError, KeyError) as exc:
        result.errors.append(f"latency: {exc}")
    from_id = 10_000_000
    for fmt in ("GZIP", "Parquet"):
        try:
            if fmt == "Parquet":
                _glue_table(port)
            run = _throughput(port, fmt, threads, mib, from_id, timeout)
        except (ServiceCallError, RuntimeError, OSError, KeyError) as exc:
            run = ThroughputRun(fmt, error=f"{type(exc).__name__}: {exc}")
        from_id += mib * MIB // RECORD
        result.runs.append(run)
        log(f"[fogbank firehose] {fmt}: {_fmt(run.mb_s, 1)} MB/s delivered, {run.objects} objects"
            f"{', ' + run.error if run.error else ''}")
    return result


# -- peers ---------------------------------------------------------------------------------------------


def probe_peer(port: int, records: int = 10) -> str:
    """What a peer does with a few records under a 1 MiB / 900 s GZIP hint (Firehose would deliver nothing)."""
    try:
        _create_bucket(port)
        conn = _firehose(port)
        try:
            _create_stream(conn, "bench-probe", _destination("probe/", LATENCY_HINT_MIB, "GZIP"))
            conn.call("PutRecordBatch", _batch_body("bench-probe", [record(i) for i in range(records)]))
        finally:
            conn.close()
        time.sleep(1.0)
        s3 = _s3(port)
        try:
            listed = list_objects(s3, "probe/")
            first = get_object(s3, listed[0][0]) if listed else b""
        finally:
            s3.close()
    except (ServiceCallError, RuntimeError, OSError, KeyError, ET.ParseError) as exc:
        return f"failed: {exc}"
    gz = "" if not listed else ("; objects are GZIP" if first[:2] == b"\x1f\x8b" else "; objects are not GZIP")
    return (f"{records} records ({records * RECORD:,} B) under a {LATENCY_HINT_MIB} MiB / 900 s GZIP hint: "
            f"{len(listed)} object(s) in S3 after 1 s{gz} (Firehose delivers none before the hint is reached), "
            "so its Firehose is not measured")


# -- Firehose alone ------------------------------------------------------------------------------------


def main() -> int:
    """fogbank's Firehose alone, on a fresh server (or one already running with --port), for quick looks."""
    import argparse
    import tempfile
    from pathlib import Path

    from _peers import Server, ServerStartError, fogbank_spec, free_port

    repo = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=128, help="MiB per throughput run, a multiple of 64")
    p.add_argument("--threads", type=int, default=4, help="writer threads")
    p.add_argument("--rounds", type=int, default=3, help="repetitions of the latency probe")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per run")
    p.add_argument("--port", type=int, default=0, help="use a fogbank already listening on this port")
    p.add_argument("--fogbank-bin", type=Path, default=repo / ".venv" / "bin" / "fogbank")
    args = p.parse_args()
    if args.mib < HINT_MIB or args.mib % HINT_MIB:
        p.error(f"--mib must be a positive multiple of {HINT_MIB}")
    if args.port:
        result = run_fogbank(args.port, args.threads, args.mib, args.rounds, args.timeout, "?")
    else:
        with tempfile.TemporaryDirectory(prefix="fogbank-bench-firehose-") as tmp:
            port = free_port()
            spec = fogbank_spec(args.fogbank_bin, port, Path(tmp))
            server = Server(spec, Path(tmp) / "server.log")
            result = FirehoseResult(spec.version)
            try:
                server.start()
                server.wait_ready(60.0)
                result = run_fogbank(port, args.threads, args.mib, args.rounds, args.timeout, spec.version)
            except (ServerStartError, OSError) as exc:
                result.errors.append(str(exc))
            finally:
                if result.errors:
                    log(server.log_tail())
                server.stop()
    print(result.table())
    print(result.notes())
    return 0 if not result.errors and all(r.verified for r in result.runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
