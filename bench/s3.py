"""S3 benchmark: fogbank against moto_server and ministack, one after another in a single run.

Each server gets its own free 127.0.0.1 port and temporary data folder, the same raw keep-alive SigV4
client, the same time-boxed workloads, and is stopped before the next one starts so that none competes
with another for the CPU. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import random
import shutil
import sys
import time
from pathlib import Path

import _disk
from _client import S3Connection
from _peers import (
    ACCESS_KEY,
    PEER_REQUIREMENTS,
    REGION,
    SECRET_KEY,
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
from _procwatch import TreeWatcher
from _report import TargetResult, machine, merge_rounds, render, utc_date
from _sigv4 import SigV4Signer
from _workload import run_large_get, run_large_put, run_small_phase

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
TARGETS = ("fogbank", "moto", "ministack")
CHUNK = 1 << 20
SMALL = 4096
BUCKET = "fogbank-bench"
IDLE_SETTLE = 1.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--targets", default=",".join(TARGETS),
                   help="comma-separated subset of: %(default)s (run in this order)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per small-object phase (≤ 300)")
    p.add_argument("--threads", default="1,8", help="client thread counts for the small-object phases")
    p.add_argument("--large-mib", type=int, default=256, help="size of the large object in MiB")
    p.add_argument("--markdown-out", type=Path, help="append the results, date and machine to this file")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="parent folder of the temporary data folders (default: the system temp folder)")
    p.add_argument("--fogbank-bin", type=Path, default=REPO / ".venv" / "bin" / "fogbank")
    p.add_argument("--peers-venv", type=Path, default=BENCH_DIR / ".venv-peers")
    p.add_argument("--start-timeout", type=float, default=60.0, help="seconds for a server to become healthy")
    p.add_argument("--large-timeout", type=float, default=120.0, help="seconds allowed per large transfer")
    p.add_argument("--ministack-memory", action="store_true",
                   help="run ministack without S3_PERSIST (objects only in memory)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run every target this many times, interleaved, and report the median round")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folders and server logs")
    args = p.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown or not args.targets or len(set(args.targets)) != len(args.targets):
        p.error(f"--targets takes distinct names from {', '.join(TARGETS)}")
    try:
        args.threads = sorted({int(t) for t in args.threads.split(",")})
    except ValueError:
        p.error("--threads takes comma-separated integers")
    if not args.threads or min(args.threads) < 1 or max(args.threads) > 64:
        p.error("--threads must be between 1 and 64")
    if not 0 < args.duration <= 300:
        p.error("--duration must be in (0, 300]")
    if not 1 <= args.rounds <= 10:
        p.error("--rounds must be between 1 and 10")
    if not 1 <= args.large_mib <= 4096:
        p.error("--large-mib must be between 1 and 4096")
    for name in ("start_timeout", "large_timeout"):
        if not 0 < getattr(args, name) <= 900:
            p.error(f"--{name.replace('_', '-')} must be in (0, 900]")
    return args


def _spec(name: str, args: argparse.Namespace, port: int, workdir: Path) -> ServerSpec:
    if name == "fogbank":
        return fogbank_spec(args.fogbank_bin, port, workdir)
    if name == "moto":
        return moto_spec(args.peers_venv, port, workdir)
    return ministack_spec(args.peers_venv, port, workdir, persist=not args.ministack_memory)


def run_target(
    name: str, args: argparse.Namespace, workdir: Path, source: memoryview, target: memoryview, base: bytes,
) -> TargetResult:
    """Starts one server, runs every workload against it, and stops it whatever happens."""
    workdir.mkdir()
    port = free_port()
    spec = _spec(name, args, port, workdir)
    result = TargetResult(name, spec.version, list(spec.notes))
    server = Server(spec, workdir / "server.log")
    watcher: TreeWatcher | None = None
    signer = SigV4Signer(ACCESS_KEY, SECRET_KEY, REGION)

    def connect() -> S3Connection:
        return S3Connection("127.0.0.1", port, signer, timeout=30.0)

    log(f"[{name}] starting on 127.0.0.1:{port}")
    try:
        server.start()
        watcher = TreeWatcher(server.pid)
        watcher.start()
        result.startup_s = server.wait_ready(args.start_timeout)
        time.sleep(IDLE_SETTLE)
        result.idle_rss = watcher.sample()
        log(f"[{name}] healthy after {result.startup_s:.2f} s, idle RSS {result.idle_rss / 1e6:.1f} MB")
        ctl = connect()
        created = ctl.request("PUT", f"/{BUCKET}")
        ctl.close()
        if not created.ok:
            raise RuntimeError(f"CreateBucket: HTTP {created.status} {created.body[:300]!r}")
        keys: list[str] = []
        for op in ("PUT", "GET"):
            for threads in args.threads:
                phase = run_small_phase(op, threads, args.duration, connect, BUCKET, base, keys,
                                        watcher.cpu_seconds)
                keys.extend(phase.keys)
                phase.keys = []
                result.phases[(op, threads)] = phase
                rate = f"{phase.ops_per_s:,.0f} ops/s" if phase.ops_per_s else "no successful op"
                log(f"[{name}] 4 KiB {op} x{threads}: {rate}, {phase.errors} error(s)")
        path = f"/{BUCKET}/large/object-{len(source)}"
        conn = connect()
        try:
            result.large["PUT"] = run_large_put(conn, path, source, CHUNK, args.large_timeout)
            if not result.large["PUT"].error:
                result.large["GET"] = run_large_get(conn, path, source, target, CHUNK, args.large_timeout)
        finally:
            conn.close()
        for big in result.large.values():
            shown = f"{big.mb_per_s:,.1f} MB/s" if big.mb_per_s else big.error
            log(f"[{name}] {args.large_mib} MiB {big.op}: {shown}")
    except (ServerStartError, RuntimeError, OSError, http.client.HTTPException) as exc:
        result.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ServerStartError) else str(exc)
        log(f"[{name}] failed: {result.error}")
        tail = server.log_tail()
        if tail and not isinstance(exc, ServerStartError):
            log(f"[{name}] server log tail:\n{tail}")
    finally:
        if watcher is not None:
            watcher.sample()
            watcher.stop()
            result.peak_rss = watcher.peak_rss
        server.stop()
        log(f"[{name}] stopped")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = start_run(args, "fogbank-bench-s3-")
    results: list[TargetResult] = []
    try:
        rng = random.Random(0x5EED)
        size = args.large_mib << 20
        log(f"preparing a {args.large_mib} MiB body in memory")
        body = bytearray(size)
        for off in range(0, size, CHUNK):  # randbytes cannot make 256 MiB in one call
            piece = rng.randbytes(min(CHUNK, size - off))
            body[off : off + len(piece)] = piece
        source = memoryview(body).toreadonly()
        target = memoryview(bytearray(size))
        base = rng.randbytes(SMALL)
        log(f"raw disk in {root}: 3 x {args.large_mib} MiB write+fsync, then {args.duration:g} s of 4 KiB files")
        disk = _disk.measure(root, source, CHUNK, base, args.duration)
        log(f"raw disk: {disk.write_mb_s or 0:,.1f} MB/s, {disk.files_per_s or 0:,.0f} fsync'd files/s")
        runs: dict[str, list[TargetResult]] = {name: [] for name in args.targets}
        for rnd in range(args.rounds):
            if args.rounds > 1:
                log(f"round {rnd + 1} of {args.rounds}")
            for name in args.targets:
                runs[name].append(run_target(name, args, root / f"{name}-{rnd + 1}", source, target, base))
        results = sorted((merge_rounds(r) for r in runs.values()), key=lambda r: TARGETS.index(r.name))
        text = render(results, disk, args.threads, args.large_mib, args.duration, utc_date(), machine(root))
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
