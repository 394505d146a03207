"""Kinesis benchmark: fogbank against moto_server (and the raw disk), one after another in a single run.

Each server gets its own free 127.0.0.1 port and temporary folder and the same raw keep-alive JSON client
(requests are not signed: neither server checks signatures here, and signing would measure the client).
Workload: PutRecords of `--batch` records of `--size` bytes from `--threads` threads for `--duration`
seconds into an ON_DEMAND stream of 4 shards, then every shard read back with GetRecords (Limit 10,000)
from TRIM_HORIZON, every record checked. Before the servers, the raw disk ceiling for the same batches is
measured: one append of the whole batch and one fdatasync per call.

    .venv/bin/python bench/kinesis.py                      # fogbank and moto (installed on first use)
    .venv/bin/python bench/kinesis.py --targets fogbank --duration 10 --threads 8
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from _peers import Server, ServerSpec, ServerStartError, ensure_peer_venv, fogbank_spec, free_port, log, moto_spec
from _procwatch import TreeWatcher

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
TARGETS = ("fogbank", "moto")
STREAM = "bench"
AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64)


class KinesisConnection:
    """One keep-alive connection speaking Kinesis's JSON protocol."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, operation: str, body: dict[str, object] | bytes) -> dict[str, object]:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.conn.request("POST", "/", body=payload, headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Kinesis_20131202.{operation}",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), "Authorization": AUTH})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{operation} answered {response.status}: {data[:300]!r}")
        result: dict[str, object] = json.loads(data) if data else {}
        return result

    def close(self) -> None:
        self.conn.close()


@dataclass
class Result:
    target: str
    version: str = ""
    written: int = 0
    write_seconds: float = 0.0
    write_cpu: float = 0.0
    read: int = 0
    read_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def write_rate(self) -> float:
        return self.written / self.write_seconds if self.write_seconds else 0.0

    @property
    def read_rate(self) -> float:
        return self.read / self.read_seconds if self.read_seconds else 0.0


def batch_body(worker: int, number: int, batch: int, size: int) -> tuple[bytes, list[bytes]]:
    """A PutRecords body whose every record names itself, so a reader can check what it gets back."""
    records = []
    datas = []
    for i in range(batch):
        head = b"%d:%d:%d:" % (worker, number, i)
        data = head + b"x" * max(0, size - len(head))
        datas.append(data)
        records.append({"Data": base64.b64encode(data).decode(), "PartitionKey": f"{worker}-{i}"})
    return json.dumps({"StreamName": STREAM, "Records": records}).encode(), datas


def write_phase(port: int, threads: int, duration: float, batch: int, size: int,
                result: Result) -> set[bytes]:
    sent: set[bytes] = set()
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def worker(n: int) -> None:
        conn = KinesisConnection(port)
        number = 0
        try:
            while time.perf_counter() < deadline:
                body, datas = batch_body(n, number, batch, size)
                number += 1
                response = conn.call("PutRecords", body)
                if response.get("FailedRecordCount"):
                    with lock:
                        result.errors.append(f"{response['FailedRecordCount']} records failed")
                    continue
                with lock:
                    sent.update(datas)
        except Exception as exc:  # a broken server is a result, not a crash of the benchmark
            with lock:
                result.errors.append(f"writer {n}: {exc}")
        finally:
            conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    result.write_seconds = time.perf_counter() - started
    result.written = len(sent)
    return sent


def read_phase(port: int, expected: set[bytes], result: Result) -> None:
    conn = KinesisConnection(port)
    shards = [s["ShardId"] for s in conn.call("ListShards", {"StreamName": STREAM})["Shards"]]  # type: ignore
    conn.close()
    seen: list[bytes] = []
    lock = threading.Lock()

    def reader(shard: str) -> None:
        c = KinesisConnection(port)
        mine: list[bytes] = []
        try:
            it = c.call("GetShardIterator", {"StreamName": STREAM, "ShardId": shard,
                                             "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
            while it:
                response = c.call("GetRecords", {"ShardIterator": it, "Limit": 10_000})
                records = response["Records"]
                mine.extend(base64.b64decode(r["Data"]) for r in records)  # type: ignore
                it = response.get("NextShardIterator")
                if not records:
                    break
        except Exception as exc:
            with lock:
                result.errors.append(f"reader {shard}: {exc}")
        finally:
            c.close()
        with lock:
            seen.extend(mine)

    started = time.perf_counter()
    readers = [threading.Thread(target=reader, args=(s,)) for s in shards]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    result.read_seconds = time.perf_counter() - started
    result.read = len(seen)
    missing = len(expected - set(seen))
    if missing:
        result.errors.append(f"{missing} acknowledged records not read back")


def raw_disk(folder: Path, duration: float, batch: int, size: int) -> float:
    """Records per second that one writer gets from append + fdatasync of the same batches."""
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


def run_target(spec: ServerSpec, args: argparse.Namespace, workdir: Path) -> Result:
    result = Result(spec.name, spec.version)
    server = Server(spec, workdir / "server.log")
    server.start()
    try:
        server.wait_ready(args.start_timeout)
        conn = KinesisConnection(spec.port)
        conn.call("CreateStream", {"StreamName": STREAM, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
        for _ in range(100):
            status = conn.call("DescribeStreamSummary", {"StreamName": STREAM})["StreamDescriptionSummary"]
            if status["StreamStatus"] == "ACTIVE":  # type: ignore[index]
                break
            time.sleep(0.1)
        conn.close()
        watcher = TreeWatcher(server.pid)
        watcher.start()
        cpu_before = watcher.cpu_seconds()
        sent = write_phase(spec.port, args.threads, args.duration, args.batch, args.size, result)
        result.write_cpu = watcher.cpu_seconds() - cpu_before
        watcher.stop()
        read_phase(spec.port, sent, result)
    except ServerStartError as exc:
        result.errors.append(str(exc))
    finally:
        server.stop()
    return result


def render(results: list[Result], disk_rate: float, args: argparse.Namespace) -> str:
    ours = next((r for r in results if r.target == "fogbank"), None)
    lines = [f"PutRecords of {args.batch} x {args.size} B from {args.threads} threads for {args.duration:.0f} s, "
             "then GetRecords (Limit 10,000) of every shard", "",
             "| target | version | written rec/s | server CPU µs/rec | read rec/s | errors |",
             "|---|---|---:|---:|---:|---|"]
    for r in results:
        cpu = r.write_cpu / r.written * 1e6 if r.written else 0.0
        lines.append(f"| {r.target} | {r.version} | {r.write_rate:,.0f} | {cpu:.1f} | {r.read_rate:,.0f} | "
                     f"{'; '.join(r.errors[:3]) or '-'} |")
    lines.append(f"| raw disk (append + fdatasync per batch, 1 writer) | - | {disk_rate:,.0f} | - | - | - |")
    if ours is not None:
        lines.append("")
        for r in results:
            if r is not ours and r.write_rate and r.read_rate:
                lines.append(f"fogbank / {r.target}: write {ours.write_rate / r.write_rate:.2f}x, "
                             f"read {ours.read_rate / r.read_rate:.2f}x")
        if disk_rate:
            lines.append(f"fogbank / raw disk: write {ours.write_rate / disk_rate:.2f}x")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of: %(default)s")
    p.add_argument("--duration", type=float, default=5.0, help="seconds of writing per target")
    p.add_argument("--threads", type=int, default=4, help="writer threads")
    p.add_argument("--batch", type=int, default=500, help="records per PutRecords call (≤ 500)")
    p.add_argument("--size", type=int, default=100, help="bytes per record")
    p.add_argument("--fogbank-bin", type=Path, default=REPO / ".venv" / "bin" / "fogbank")
    p.add_argument("--peers-venv", type=Path, default=BENCH_DIR / ".venv-peers")
    p.add_argument("--start-timeout", type=float, default=60.0)
    p.add_argument("--work-dir", type=Path, default=None, help="parent of the temporary folders")
    p.add_argument("--keep", action="store_true", help="keep the temporary folders and server logs")
    args = p.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not args.targets or set(args.targets) - set(TARGETS):
        p.error(f"--targets takes names from {', '.join(TARGETS)}")
    if not 1 <= args.batch <= 500 or args.size < 16 or args.threads < 1:
        p.error("--batch must be 1..500, --size at least 16, --threads at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="fogbank-kinesis-bench-", dir=args.work_dir))
    results: list[Result] = []
    try:
        disk_rate = raw_disk(root, min(args.duration, 3.0), args.batch, args.size)
        log(f"raw disk: {disk_rate:,.0f} records/s")
        for target in args.targets:
            workdir = root / target
            workdir.mkdir()
            if target == "fogbank":
                spec = fogbank_spec(args.fogbank_bin, free_port(), workdir)
            else:
                spec = moto_spec(ensure_peer_venv(args.peers_venv).parent.parent, free_port(), workdir)
            log(f"{target}: running")
            results.append(run_target(spec, args, workdir))
        print(render(results, disk_rate, args))
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if all(not r.errors for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
