"""Kinesis benchmark: fogbank against ministack and moto_server, then fogbank's Firehose, in one run.

Each server runs alone on its own free 127.0.0.1 port with its own temporary folder and is stopped before
the next one starts. All get the same raw keep-alive JSON client. Workload per server: PutRecords of
`--batch` records of `--size` bytes from `--threads` threads for `--duration` seconds into a stream of
`--shards` shards, then every shard read back with GetRecords (Limit 10,000), each record checked against
what was acknowledged. fogbank runs with its Kinesis limits off (FOGBANK_KINESIS_LIMITS=0) and acknowledges
a record only once it is fsynced. See bench/README.md.

    .venv/bin/python bench/kinesis.py                                   # the full run, about 8 minutes
    .venv/bin/python bench/kinesis.py --targets fogbank --duration 20 --no-firehose
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import re
import shutil
import statistics
import struct
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import firehose
from _peers import (
    PEER_REQUIREMENTS,
    JsonConnection,
    Server,
    ServerSpec,
    ServerStartError,
    fogbank_spec,
    free_port,
    log,
    ministack_spec,
    moto_spec,
    start_run,
)
from _procwatch import cpu_seconds, descendants, rss_bytes
from _report import machine, utc_date

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
TARGETS = ("fogbank", "ministack", "moto")
FOGBANK = "fogbank"
STREAM = "bench"
GET_LIMIT = 10_000

# Every record starts with (magic, writer, serial): 12 bytes, a multiple of 3, so its base64 is the base64 of
# the head followed by the base64 of the fixed tail, and both can be built and checked without decoding.
HEAD = struct.Struct(">HHQ")
HEAD_B64 = 16
MAGIC = 0xFB0C

# The targets.
WRITE_TARGET = 50_000.0
PEER_FACTOR = 3.0
WINDOW_TOLERANCE = 0.10
READ_TARGET = 200_000.0
RSS_TOLERANCE = 0.10


def kinesis_connection(port: int, timeout: float = 120.0) -> JsonConnection:
    return JsonConnection(port, "kinesis", "Kinesis_20131202", timeout)


# -- records -------------------------------------------------------------------------------------------


class Batches:
    """PutRecords bodies whose every record names its writer and serial, built from pre-encoded pieces."""

    def __init__(self, size: int, batch: int) -> None:
        self.batch = batch
        self.tail = bytes((i * 7 + 11) % 251 for i in range(size - HEAD.size))
        self.tail_b64 = base64.b64encode(self.tail).decode()
        self._suffixes = [f'{self.tail_b64}","PartitionKey":"pk-{i}"}}' for i in range(batch)]
        self._prefix = f'{{"StreamName":"{STREAM}","Records":['

    def body(self, writer: int, first_serial: int) -> bytes:
        heads = base64.b64encode(b"".join(HEAD.pack(MAGIC, writer, first_serial + i)
                                          for i in range(self.batch))).decode()
        items = ",".join([f'{{"Data":"{heads[i * HEAD_B64:(i + 1) * HEAD_B64]}{self._suffixes[i]}'
                          for i in range(self.batch)])
        return (self._prefix + items + "]}").encode()

    def record(self, writer: int, serial: int) -> bytes:
        return HEAD.pack(MAGIC, writer, serial) + self.tail


ACKED, FAILED, IN_DOUBT = 1, 0, 2


@dataclass
class Check:
    """What the read-back found against what PutRecords acknowledged."""

    acked: int = 0
    in_doubt: int = 0
    read: int = 0
    missing: int = 0
    duplicates: int = 0
    phantoms: int = 0
    foreign: int = 0
    bad_tails: int = 0

    def problems(self) -> list[str]:
        out = []
        if self.missing:
            out.append(f"{self.missing:,} acknowledged records not read back")
        if self.phantoms:
            out.append(f"{self.phantoms:,} records read back that PutRecords had reported as failed")
        if self.foreign or self.bad_tails:
            out.append(f"{self.foreign + self.bad_tails:,} records read back with bytes that were never written")
        return out


def verify(acks: list[bytearray], heads: bytes, bad_tails: int) -> Check:
    """Marks every record read back in a bitmap per writer and compares it with the acknowledgements."""
    check = Check(bad_tails=bad_tails)
    seen = [bytearray(len(a)) for a in acks]
    raw = base64.b64decode(heads)
    check.read = len(raw) // HEAD.size
    for magic, writer, serial in HEAD.iter_unpack(raw):
        if magic != MAGIC or writer >= len(seen) or serial >= len(seen[writer]):
            check.foreign += 1
        elif seen[writer][serial]:
            check.duplicates += 1
        else:
            seen[writer][serial] = 1
    for acked, got in zip(acks, seen, strict=True):
        check.acked += acked.count(ACKED)
        check.in_doubt += acked.count(IN_DOUBT)
        for state, there in zip(acked, got, strict=True):
            if state == ACKED and not there:
                check.missing += 1
            elif state == FAILED and there:
                check.phantoms += 1
    return check


# -- responses -----------------------------------------------------------------------------------------
#
# json.loads costs the client about 2 µs per record of a GetRecords page, as much as a fast server spends on
# it. Pages without escapes are therefore read with regular expressions that run in C, and checked against
# a count of their records; any other page is parsed as JSON. Both give the same values.

_DATA = re.compile(rb'"Data": ?"([^"\\]*)"')
_SHARD_ID = re.compile(rb'"ShardId": ?"([^"\\]*)"')
_NONE_FAILED = re.compile(rb'"FailedRecordCount": ?0[,}\s]')
_NEXT = re.compile(rb'"NextShardIterator": ?"([^"\\]*)"')
_BEHIND = re.compile(rb'"MillisBehindLatest": ?(\d+)')


@dataclass
class Page:
    datas: list[bytes]
    next_iterator: str | None
    behind: int


def _last(body: bytes, name: bytes, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
    """The member `name` of the top-level object; it follows the records, so it is searched from the end."""
    at = body.rfind(name)
    return pattern.match(body, at) if at >= 0 else None


def parse_get_records(body: bytes) -> Page:
    if b"\\" not in body:
        datas = _DATA.findall(body)
        if len(datas) == body.count(b'"SequenceNumber"'):
            found = _last(body, b'"NextShardIterator"', _NEXT)
            behind = _last(body, b'"MillisBehindLatest"', _BEHIND)
            return Page(datas, found.group(1).decode() if found else None, int(behind.group(1)) if behind else 0)
    parsed = json.loads(body)
    return Page([r["Data"].encode() for r in parsed.get("Records") or ()], parsed.get("NextShardIterator"),
                int(parsed.get("MillisBehindLatest") or 0))


@dataclass
class Acks:
    flags: bytes
    shards: Counter[str]
    error: str = ""


def parse_put_records(body: bytes, batch: int) -> Acks:
    """Which of the call's records were acknowledged (ACKED / FAILED per record) and on which shards."""
    if b"\\" not in body and _NONE_FAILED.search(body):
        ids = _SHARD_ID.findall(body)
        if len(ids) == batch:
            return Acks(bytes([ACKED]) * batch, Counter({sid.decode(): ids.count(sid) for sid in set(ids)}))
    entries = json.loads(body).get("Records") or []
    if len(entries) != batch:
        return Acks(bytes([IN_DOUBT]) * batch, Counter(), f"PutRecords answered {len(entries)} entries for {batch}")
    flags = bytes(ACKED if e.get("SequenceNumber") and not e.get("ErrorCode") else FAILED for e in entries)
    shards = Counter(e["ShardId"] for e, f in zip(entries, flags, strict=True) if f == ACKED)
    codes = Counter(str(e.get("ErrorCode")) for e in entries if e.get("ErrorCode"))
    error = (f"{flags.count(FAILED)} of {batch} records failed in one PutRecords call: "
             + ", ".join(f"{c} x{n}" for c, n in codes.items())) if flags.count(FAILED) else ""
    return Acks(flags, shards, error)


# -- server memory -------------------------------------------------------------------------------------


class RssTrace:
    """The summed VmRSS of the server's process tree, sampled with a timestamp every `interval` seconds."""

    def __init__(self, root: int, interval: float) -> None:
        self.root = root
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-trace-{root}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = descendants(self.root)
            self.samples.append((time.perf_counter(), sum(rss_bytes(p) for p in pids)))
            self._stop.wait(self.interval)

    def between(self, t0: float, t1: float) -> list[int]:
        return [rss for t, rss in list(self.samples) if t0 <= t < t1]

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in descendants(self.root))


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


# -- one target ----------------------------------------------------------------------------------------


@dataclass
class KinesisResult:
    name: str
    version: str = "?"
    notes: list[str] = field(default_factory=list)
    error: str = ""
    errors: list[str] = field(default_factory=list)
    written: int = 0
    write_seconds: float = 0.0
    write_cpu: float = 0.0
    write_client_cpu: float = 0.0
    window: float = 10.0
    window_rates: list[float] = field(default_factory=list)
    window_rss: list[float | None] = field(default_factory=list)
    first_rate: float | None = None
    last_rate: float | None = None
    read: int = 0
    read_seconds: float = 0.0
    read_cpu: float = 0.0
    read_client_cpu: float = 0.0
    read_complete: bool = False
    check: Check | None = None
    rss_first: float | None = None
    rss_last: float | None = None
    rss_peak: int | None = None
    firehose_probe: str = ""

    @property
    def write_rate(self) -> float | None:
        return self.written / self.write_seconds if self.write_seconds and self.written else None

    @property
    def read_rate(self) -> float | None:
        return self.read / self.read_seconds if self.read_seconds and self.read else None


class _Writers:
    """The write phase's shared state: acknowledgements per writer, completions in time, per-shard counts."""

    def __init__(self, threads: int) -> None:
        self.acks = [bytearray() for _ in range(threads)]
        self.done: list[list[tuple[float, int]]] = [[] for _ in range(threads)]
        self.per_shard: Counter[str] = Counter()
        self.errors: list[str] = []
        self.error_count = 0
        self.lock = threading.Lock()

    def error(self, message: str) -> None:
        """Keeps the first few messages and counts the rest, so a server failing every call costs no memory."""
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 5:
                self.errors.append(message)


def write_phase(port: int, args: argparse.Namespace, batches: Batches, result: KinesisResult) -> _Writers:
    """`--threads` writers, each on its own connection, send PutRecords until the deadline."""
    state = _Writers(args.threads)
    started = time.perf_counter()
    deadline = started + args.duration

    def writer(n: int) -> None:
        conn = kinesis_connection(port)
        acked = state.acks[n]
        done = state.done[n]
        shards: Counter[str] = Counter()
        failures = 0
        try:
            while time.perf_counter() < deadline:
                body = batches.body(n, len(acked))
                try:
                    acks = parse_put_records(conn.call_raw("PutRecords", body), batches.batch)
                except Exception as exc:  # a failing server is a result, not a crash of the benchmark
                    acked.extend(bytes([IN_DOUBT]) * batches.batch)
                    conn.close()
                    failures += 1
                    state.error(f"PutRecords (writer {n}): {exc}")
                    if failures >= 5:
                        return
                    continue
                now = time.perf_counter()
                acked.extend(acks.flags)
                shards.update(acks.shards)
                if acks.error:
                    state.error(acks.error)
                if now <= deadline:
                    done.append((now, acks.flags.count(ACKED)))
        finally:
            conn.close()
            with state.lock:
                state.per_shard.update(shards)

    workers = [threading.Thread(target=writer, args=(n,), name=f"writer-{n}") for n in range(args.threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    result.write_seconds = min(time.perf_counter(), deadline) - started
    # Calls that came back after the deadline are acknowledged (and read back) but not counted in the rate.
    result.written = sum(count for done in state.done for _, count in done)
    result.window = min(args.window, args.duration / 2)
    edges = [started + i * result.window for i in range(int(args.duration / result.window + 1e-9) + 1)]
    if edges[-1] < deadline - 1e-6:
        edges.append(deadline)
    for lo, hi in itertools.pairwise(edges):
        count = sum(c for done in state.done for t, c in done if lo <= t < hi)
        result.window_rates.append(count / (hi - lo))
    result.first_rate = sum(c for done in state.done for t, c in done if t < started + result.window) / result.window
    result.last_rate = sum(c for done in state.done for t, c in done
                           if t >= deadline - result.window) / result.window
    result.errors.extend(state.errors)
    if state.error_count > len(state.errors):
        result.errors.append(f"{state.error_count:,} failed or partly failed PutRecords calls in all")
    return state


def read_phase(port: int, args: argparse.Namespace, batches: Batches, expected: Counter[str],
               result: KinesisResult) -> tuple[bytes, int]:
    """Every shard from TRIM_HORIZON in its own thread, until it has given back what was acknowledged on it.

    Per record only its head is kept and its tail compared, so the client stays light while it is timed;
    returns the base64 heads of every record read and how many tails were wrong.
    """
    conn = kinesis_connection(port)
    try:
        shards = [s["ShardId"] for s in conn.call("ListShards", {"StreamName": STREAM}).get("Shards", [])]
    finally:
        conn.close()
    heads: list[bytes] = []
    counts: list[int] = []
    lock = threading.Lock()
    tail = batches.tail_b64.encode()
    deadline = time.perf_counter() + args.read_timeout
    complete = []

    def reader(shard: str) -> None:
        c = kinesis_connection(port)
        mine: list[bytes] = []
        got = bad = empties = 0
        want = expected.get(shard, 0)
        try:
            it = c.call("GetShardIterator", {"StreamName": STREAM, "ShardId": shard,
                                             "ShardIteratorType": "TRIM_HORIZON"}).get("ShardIterator")
            while it and got < want and time.perf_counter() < deadline:
                page = parse_get_records(c.call_raw("GetRecords", {"ShardIterator": it, "Limit": GET_LIMIT}))
                datas = page.datas
                if datas:
                    empties = 0
                    mine.append(b"".join([d[:HEAD_B64] for d in datas]))
                    if b"".join([d[HEAD_B64:] for d in datas]) != tail * len(datas):
                        bad += sum(1 for d in datas if d[HEAD_B64:] != tail)
                    got += len(datas)
                elif page.behind == 0:
                    empties += 1
                    if empties >= 5:
                        break
                it = page.next_iterator
            if got >= want:
                complete.append(shard)
        except Exception as exc:
            with lock:
                result.errors.append(f"GetRecords ({shard}): {exc}")
        finally:
            c.close()
            with lock:
                heads.extend(mine)
                counts.append(bad)

    started = time.perf_counter()
    readers = [threading.Thread(target=reader, args=(s,), name=f"reader-{s}") for s in shards]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    result.read_seconds = time.perf_counter() - started
    joined = b"".join(heads)
    result.read = len(joined) // HEAD_B64
    result.read_complete = len(complete) == len(shards) and bool(shards)
    if not result.read_complete:
        result.errors.append(f"read-back stopped before every shard was read ({len(complete)} of {len(shards)} "
                             f"complete{', time box reached' if time.perf_counter() >= deadline else ''})")
    return joined, sum(counts)


def raw_disk(folder: Path, duration: float, batch: int, size: int) -> float:
    """Records per second that one writer gets from append + fdatasync of the same batches: the ceiling."""
    path = folder / "raw-disk.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    record = b"x" * size
    frames = b"".join(len(record).to_bytes(4, "little") + zlib.crc32(record).to_bytes(4, "little") + record
                      for _ in range(batch))
    done = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < duration:
            os.write(fd, frames)
            os.fdatasync(fd)
            done += batch
    finally:
        os.close(fd)
        path.unlink()
    return done / (time.perf_counter() - started)


def _spec(name: str, args: argparse.Namespace, port: int, workdir: Path) -> ServerSpec:
    if name == FOGBANK:
        spec = fogbank_spec(args.fogbank_bin, port, workdir)
        spec.env["FOGBANK_KINESIS_LIMITS"] = "0"
        spec.notes = ["FOGBANK_KINESIS_LIMITS=0; a PutRecords is acknowledged once its records are fsynced "
                      "(group commit per shard)"]
    elif name == "moto":
        spec = moto_spec(args.peers_venv, port, workdir)
        spec.notes = ["streams in memory (no persistence)"]
    else:
        spec = ministack_spec(args.peers_venv, port, workdir, persist=False)
        spec.notes = ["streams in memory (no persistence)"]
    return spec


def _create_stream(conn: JsonConnection, shards: int) -> None:
    conn.call("CreateStream", {"StreamName": STREAM, "ShardCount": shards})
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        summary = conn.call("DescribeStreamSummary", {"StreamName": STREAM})["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.1)
    raise RuntimeError("the stream did not become ACTIVE within 30 s")


def run_target(name: str, args: argparse.Namespace, workdir: Path) -> KinesisResult:
    """Starts one server, writes, reads back, probes its Firehose (peers), and stops it whatever happens."""
    workdir.mkdir()
    port = free_port()
    spec = _spec(name, args, port, workdir)
    result = KinesisResult(name, spec.version, list(spec.notes))
    server = Server(spec, workdir / "server.log")
    trace: RssTrace | None = None
    batches = Batches(args.size, args.batch)
    log(f"[{name}] starting on 127.0.0.1:{port}")
    try:
        server.start()
        trace = RssTrace(server.pid, args.rss_interval)
        trace.start()
        server.wait_ready(args.start_timeout)
        conn = kinesis_connection(port)
        try:
            _create_stream(conn, args.shards)
        finally:
            conn.close()
        log(f"[{name}] PutRecords for {args.duration:g} s from {args.threads} threads")
        cpu0, client0 = trace.cpu(), time.process_time()
        t0 = time.perf_counter()
        writers = write_phase(port, args, batches, result)
        result.write_cpu, result.write_client_cpu = trace.cpu() - cpu0, time.process_time() - client0
        edges = [t0 + i * result.window for i in range(len(result.window_rates) + 1)]
        result.window_rss = [_median(trace.between(lo, hi)) for lo, hi in itertools.pairwise(edges)]
        result.rss_first = _median(trace.between(t0, t0 + result.window))
        result.rss_last = _median(trace.between(t0 + args.duration - result.window, t0 + args.duration))
        log(f"[{name}] wrote {result.write_rate or 0:,.0f} records/s "
            f"(first {result.window:g} s {result.first_rate or 0:,.0f}, last {result.last_rate or 0:,.0f}); reading")
        cpu0, client0 = trace.cpu(), time.process_time()
        heads, bad_tails = read_phase(port, args, batches, writers.per_shard, result)
        result.read_cpu, result.read_client_cpu = trace.cpu() - cpu0, time.process_time() - client0
        result.check = verify(writers.acks, heads, bad_tails)
        result.errors.extend(result.check.problems())
        log(f"[{name}] read back {result.read_rate or 0:,.0f} records/s; {result.check.read:,} read, "
            f"{result.check.acked:,} acknowledged, {result.check.missing:,} missing")
        if name != FOGBANK and not args.no_firehose:
            result.firehose_probe = firehose.probe_peer(port)
            log(f"[{name}] Firehose: {result.firehose_probe}")
    except (ServerStartError, RuntimeError, OSError, KeyError) as exc:
        result.error = str(exc) if isinstance(exc, ServerStartError) else f"{type(exc).__name__}: {exc}"
        log(f"[{name}] failed: {result.error}")
        tail = server.log_tail()
        if tail and not isinstance(exc, ServerStartError):
            log(f"[{name}] server log tail:\n{tail}")
    finally:
        if trace is not None:
            trace.stop()
            result.rss_peak = max((rss for _, rss in trace.samples), default=0) or None
        server.stop()
        log(f"[{name}] stopped")
    return result


def run_firehose(args: argparse.Namespace, workdir: Path) -> firehose.FirehoseResult:
    """fogbank's Firehose on a fresh server of its own, so the Kinesis data of the first run weighs nothing."""
    workdir.mkdir()
    port = free_port()
    spec = fogbank_spec(args.fogbank_bin, port, workdir)
    server = Server(spec, workdir / "server.log")
    log(f"[fogbank firehose] starting on 127.0.0.1:{port}")
    result = firehose.FirehoseResult(spec.version)
    try:
        server.start()
        server.wait_ready(args.start_timeout)
        result = firehose.run_fogbank(port, args.threads, args.firehose_mib, args.firehose_rounds,
                                      args.firehose_timeout, spec.version)
    except (ServerStartError, OSError) as exc:
        result.errors.append(str(exc))
    finally:
        if result.errors:
            tail = server.log_tail()
            if tail:
                log(f"[fogbank firehose] server log tail:\n{tail}")
        server.stop()
        log("[fogbank firehose] stopped")
    return result


# -- report --------------------------------------------------------------------------------------------


def _fmt(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def _mb(v: float | int | None) -> float | None:
    return v / 1e6 if v else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _drift(r: KinesisResult) -> float | None:
    return _ratio(r.last_rate, r.first_rate)


def _rss_growth(r: KinesisResult) -> float | None:
    return _ratio(r.rss_last, r.rss_first)


Getter = Callable[[KinesisResult], float | None]


def results_table(results: list[KinesisResult], window: float) -> str:
    w = f"{window:g} s"
    rows: list[tuple[str, Getter, bool, int]] = [
        ("PutRecords written (records/s)", lambda r: r.write_rate, True, 0),
        (f"written in the first {w} (records/s)", lambda r: r.first_rate, True, 0),
        (f"written in the last {w} (records/s)", lambda r: r.last_rate, True, 0),
        (f"last {w} / first {w}", _drift, True, 2),
        ("server CPU per record written (µs)", lambda r: r.write_cpu / r.written * 1e6 if r.written else None,
         False, 1),
        ("benchmark client CPU per record written (µs)",
         lambda r: r.write_client_cpu / r.written * 1e6 if r.written else None, False, 1),
        ("GetRecords read-back (records/s)", lambda r: r.read_rate, True, 0),
        ("server CPU per record read (µs)", lambda r: r.read_cpu / r.read * 1e6 if r.read else None, False, 1),
        ("benchmark client CPU per record read (µs)",
         lambda r: r.read_client_cpu / r.read * 1e6 if r.read else None, False, 1),
        (f"server RSS, median of the first {w} (MB)", lambda r: _mb(r.rss_first), False, 1),
        (f"server RSS, median of the last {w} (MB)", lambda r: _mb(r.rss_last), False, 1),
        ("server RSS peak, whole run (MB)", lambda r: _mb(r.rss_peak), False, 1),
        ("records acknowledged", lambda r: float(r.check.acked) if r.check else None, True, 0),
        ("records read back", lambda r: float(r.check.read) if r.check else None, True, 0),
    ]
    ours = next((r for r in results if r.name == FOGBANK and not r.error), None)
    peers = [r for r in results if r.name != FOGBANK and not r.error]
    head = ["metric", *[f"{r.name} {r.version}" for r in results]]
    with_ratio = ours is not None and bool(peers)
    if with_ratio:
        head.append("fogbank / best peer")
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for label, value, higher, digits in rows:
        cells = [label] + ["failed" if r.error else _fmt(value(r), digits) for r in results]
        if ours is not None and peers and not label.startswith("records"):
            mine = value(ours)
            theirs = [v for v in (value(p) for p in peers) if v is not None]
            best = (max(theirs) if higher else min(theirs)) if theirs else None
            rat = _ratio(mine, best)
            cells.append("—" if rat is None else f"{rat:.2f}x")
        elif with_ratio:
            cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _shown(value: float | None, digits: int, unit: str) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def goals(results: list[KinesisResult], fh: firehose.FirehoseResult | None) -> str:
    """The issue's targets with PASS / FAIL, or n/a when fogbank did not run or the figure is missing."""
    ours = next((r for r in results if r.name == FOGBANK and not r.error), None)
    peers = [r.write_rate for r in results if r.name != FOGBANK and not r.error and r.write_rate]
    complete = bool(ours and ours.read_complete)
    rows: list[tuple[str, str, str, bool | None]] = []
    rate = ours.write_rate if ours else None
    rows.append(("fogbank PutRecords, acknowledged only once fsynced", f"≥ {WRITE_TARGET:,.0f} records/s",
                 _shown(rate, 0, " records/s"), None if rate is None else rate >= WRITE_TARGET))
    rat = _ratio(rate, max(peers) if peers else None)
    rows.append(("fogbank / better peer, PutRecords records/s", f"≥ {PEER_FACTOR:.2f}x", _shown(rat, 2, "x"),
                 None if rat is None else rat >= PEER_FACTOR))
    drift = _drift(ours) if ours else None
    rows.append(("fogbank records/s, last window / first window", f"within ±{WINDOW_TOLERANCE:.0%}",
                 _shown(drift, 2, "x"), None if drift is None else abs(drift - 1) <= WINDOW_TOLERANCE))
    read = ours.read_rate if ours else None
    rows.append(("fogbank GetRecords read-back", f"≥ {READ_TARGET:,.0f} records/s", _shown(read, 0, " records/s"),
                 None if read is None else read >= READ_TARGET and complete))
    growth = _rss_growth(ours) if ours else None
    rows.append(("fogbank RSS flat: median of the last window / of the first", f"≤ {1 + RSS_TOLERANCE:.2f}x",
                 _shown(growth, 2, "x"), None if growth is None else growth <= 1 + RSS_TOLERANCE))
    check = ours.check if ours else None
    wrong = None if check is None else check.missing + check.phantoms + check.foreign + check.bad_tails
    rows.append(("fogbank read-back: every acknowledged record, nothing else", "0 wrong",
                 _shown(None if wrong is None else float(wrong), 0, " wrong"),
                 None if wrong is None else wrong == 0 and complete))
    if fh is not None:
        rows.extend(fh.goal_rows())
    lines = ["| goal | needed | measured | result |", "|---|---|---:|---|"]
    for label, need, shown, passed in rows:
        verdict = "n/a" if passed is None else ("PASS" if passed else "FAIL")
        lines.append(f"| {label} | {need} | {shown} | {verdict} |")
    return "\n".join(lines)


def notes(results: list[KinesisResult], disk_rate: float) -> str:
    out = [f"- raw disk, same filesystem, one writer appending a whole batch + fdatasync per call: "
           f"{disk_rate:,.0f} records/s (the ceiling of one durable writer without group commit)"]
    for r in results:
        out.extend(f"- {r.name}: {n}" for n in r.notes)
        if r.window_rates:
            rates = ", ".join(f"{v / 1000:,.1f}k" for v in r.window_rates)
            rss = ", ".join("—" if v is None else f"{v / 1e6:,.0f}" for v in r.window_rss)
            out.append(f"- {r.name}: records/s per {r.window:g} s window: {rates}; RSS (MB) per window: {rss}")
        if r.check and (r.check.duplicates or r.check.in_doubt):
            out.append(f"- {r.name}: {r.check.duplicates:,} duplicates read back, {r.check.in_doubt:,} records in "
                       "doubt (their call failed without an answer)")
        if r.firehose_probe:
            out.append(f"- {r.name}: Firehose probe: {r.firehose_probe}")
        if r.error:
            out.append(f"- {r.name}: FAILED: {r.error.splitlines()[0]}")
        out.extend(f"- {r.name}: {e.splitlines()[0][:300]}" for e in r.errors)
    return "\n".join(out)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how much else was competing for the CPU during the run."""
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def render(results: list[KinesisResult], fh: firehose.FirehoseResult | None, disk_rate: float,
           args: argparse.Namespace, date: str, machine_line: str, load: tuple[str, str]) -> str:
    window = min(args.window, args.duration / 2)
    parts = [
        f"## Kinesis and Firehose benchmark — {date}",
        "",
        f"Machine: {machine_line}. Load average (1 / 5 / 15 min) at the start {load[0]}, at the end {load[1]}.",
        f"PutRecords of {args.batch} x {args.size} B records from {args.threads} threads (one keep-alive "
        f"connection each) for {args.duration:g} s into a stream of {args.shards} shards, then every shard read "
        f"back with GetRecords (Limit {GET_LIMIT:,}), one thread per shard, every record checked. Records/s count "
        "acknowledged records only. MB = 10^6 bytes.",
        "",
        results_table(results, window),
        "",
        "For server CPU and RSS lower is better, and the best peer is the lowest.",
    ]
    if fh is not None:
        parts += ["", fh.table()]
    parts += ["", goals(results, fh), "", notes(results, disk_rate)]
    if fh is not None:
        parts += [fh.notes()]
    return "\n".join(p for p in parts if p is not None) + "\n"


# -- command line --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of: %(default)s")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of PutRecords per target (≤ 900)")
    p.add_argument("--window", type=float, default=10.0, help="seconds of the first and last windows compared")
    p.add_argument("--threads", type=int, default=4, help="writer threads")
    p.add_argument("--shards", type=int, default=4, help="shards of the stream")
    p.add_argument("--batch", type=int, default=500, help="records per PutRecords call (≤ 500)")
    p.add_argument("--size", type=int, default=100, help="bytes per record")
    p.add_argument("--read-timeout", type=float, default=300.0, help="seconds allowed for the read-back")
    p.add_argument("--rss-interval", type=float, default=0.25, help="seconds between RSS samples")
    p.add_argument("--no-firehose", action="store_true", help="skip Firehose (fogbank's run and the peer probes)")
    p.add_argument("--firehose-mib", type=int, default=128,
                   help="MiB put through each Firehose throughput run (a multiple of 64)")
    p.add_argument("--firehose-rounds", type=int, default=3, help="repetitions of the Firehose latency probe")
    p.add_argument("--firehose-timeout", type=float, default=300.0, help="seconds allowed per Firehose run")
    p.add_argument("--markdown-out", type=Path, help="append the results, date and machine to this file")
    p.add_argument("--fogbank-bin", type=Path, default=REPO / ".venv" / "bin" / "fogbank")
    p.add_argument("--peers-venv", type=Path, default=BENCH_DIR / ".venv-peers")
    p.add_argument("--start-timeout", type=float, default=60.0)
    p.add_argument("--work-dir", type=Path, default=None, help="parent of the temporary folders")
    p.add_argument("--keep", action="store_true", help="keep the temporary folders and server logs")
    args = p.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not args.targets or set(args.targets) - set(TARGETS) or len(set(args.targets)) != len(args.targets):
        p.error(f"--targets takes distinct names from {', '.join(TARGETS)}")
    if not 1 <= args.batch <= 500 or not HEAD.size + 1 <= args.size <= 1_048_576:
        p.error(f"--batch must be 1..500 and --size {HEAD.size + 1}..1048576")
    if not 1 <= args.threads <= 64 or not 1 <= args.shards <= 64:
        p.error("--threads and --shards must be 1..64")
    if not 0 < args.duration <= 900 or args.window <= 0 or not 0 < args.read_timeout <= 3600:
        p.error("--duration must be in (0, 900], --window positive, --read-timeout in (0, 3600]")
    if not 0.05 <= args.rss_interval <= 10:
        p.error("--rss-interval must be 0.05..10")
    if args.firehose_mib < 64 or args.firehose_mib % 64 or not 1 <= args.firehose_rounds <= 20:
        p.error("--firehose-mib must be a positive multiple of 64, --firehose-rounds 1..20")
    if not 0 < args.firehose_timeout <= 3600 or not 0 < args.start_timeout <= 900:
        p.error("--firehose-timeout must be in (0, 3600], --start-timeout in (0, 900]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = start_run(args, "fogbank-bench-kinesis-")
    results: list[KinesisResult] = []
    fh: firehose.FirehoseResult | None = None
    load_at_start = load_average()
    try:
        disk_rate = raw_disk(root, min(args.duration, 3.0), args.batch, args.size)
        log(f"raw disk: {disk_rate:,.0f} records/s (append + fdatasync of whole batches)")
        for name in args.targets:
            results.append(run_target(name, args, root / name))
        if FOGBANK in args.targets and not args.no_firehose:
            fh = run_firehose(args, root / "fogbank-firehose")
        text = render(results, fh, disk_rate, args, utc_date(), machine(root), (load_at_start, load_average()))
        print(text)
        if args.markdown_out is not None:
            with open(args.markdown_out, "a", encoding="utf-8") as out:
                out.write("\n" + text)
            log(f"appended to {args.markdown_out}")
    except KeyboardInterrupt:
        log("interrupted: servers stopped")
        return 130
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    peers_used = ", ".join(PEER_REQUIREMENTS[t] for t in args.targets if t in PEER_REQUIREMENTS)
    if peers_used:
        log(f"peers: {peers_used} (from {args.peers_venv})")
    return 0 if any(not r.error for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
