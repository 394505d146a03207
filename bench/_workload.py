"""The S3 workloads: time-boxed small-object PUT/GET loops and one large streamed object.

Every GET is checked byte for byte against what was PUT, so a server that answers fast but wrong scores
errors, not throughput.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from _client import S3Connection, TransferTimeout

_JOIN_GRACE = 10.0


@dataclass
class PhaseResult:
    op: str
    threads: int
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    first_error: str = ""
    keys: list[str] = field(default_factory=list)

    @property
    def ops_per_s(self) -> float | None:
        return self.ok / self.seconds if self.seconds > 0 and self.ok else None

    @property
    def cpu_us_per_op(self) -> float | None:
        return self.server_cpu / self.ok * 1e6 if self.ok else None


@dataclass
class LargeResult:
    op: str
    size: int
    seconds: float = 0.0
    error: str = ""

    @property
    def mb_per_s(self) -> float | None:
        return self.size / 1e6 / self.seconds if self.seconds > 0 and not self.error else None


def small_payload(base: bytes, key: str) -> bytes:
    """A body that names its key, so a GET that returns another object's bytes is caught."""
    prefix = key.encode() + b"|"
    return prefix + base[len(prefix) :]


class _Worker:
    def __init__(self, conn: S3Connection) -> None:
        self.conn = conn
        self.ok = 0
        self.errors = 0
        self.first_error = ""
        self.keys: list[str] = []
        self.finished = 0.0

    def fail(self, msg: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = msg


def run_small_phase(
    op: str,
    threads: int,
    duration: float,
    connect: Callable[[], S3Connection],
    bucket: str,
    base: bytes,
    get_keys: list[str],
    cpu_probe: Callable[[], float],
) -> PhaseResult:
    """`threads` workers each loop PUT (fresh keys) or GET (cycling over `get_keys`) until the deadline."""
    result = PhaseResult(op, threads)
    if op == "GET" and not get_keys:
        result.first_error = "no objects to read: every PUT failed"
        return result
    workers = [_Worker(connect()) for _ in range(threads)]
    for w in workers:
        w.conn.connect()
    barrier = threading.Barrier(threads + 1)
    start = [0.0]

    def loop(tid: int, w: _Worker) -> None:
        barrier.wait()
        deadline = start[0] + duration
        i = 0
        offset = tid * len(get_keys) // threads if get_keys else 0
        try:
            while time.perf_counter() < deadline:
                if op == "PUT":
                    key = f"small/{threads}t/{tid}/{i:08d}"
                    resp = w.conn.request("PUT", f"/{bucket}/{key}", small_payload(base, key))
                    if resp.ok:
                        w.ok += 1
                        w.keys.append(key)
                    else:
                        w.fail(f"PUT {key}: HTTP {resp.status} {resp.body[:200]!r}")
                else:
                    key = get_keys[(offset + i) % len(get_keys)]
                    resp = w.conn.request("GET", f"/{bucket}/{key}")
                    if not resp.ok:
                        w.fail(f"GET {key}: HTTP {resp.status} {resp.body[:200]!r}")
                    elif resp.body != small_payload(base, key):
                        w.fail(f"GET {key}: {len(resp.body)} bytes that differ from what was PUT")
                    else:
                        w.ok += 1
                i += 1
        except Exception as exc:  # a dead connection ends this worker, not the benchmark
            w.fail(f"{op}: {type(exc).__name__}: {exc}")
        finally:
            w.finished = time.perf_counter()
            w.conn.close()

    pool = [
        threading.Thread(target=loop, args=(t, w), name=f"{op}-{t}", daemon=True)
        for t, w in enumerate(workers)
    ]
    for t in pool:
        t.start()
    cpu0 = cpu_probe()
    start[0] = time.perf_counter()
    barrier.wait()
    hard_stop = start[0] + duration + _JOIN_GRACE
    for t in pool:
        t.join(timeout=max(0.0, hard_stop - time.perf_counter()))
    stuck = [t.name for t in pool if t.is_alive()]
    end = max((w.finished for w in workers), default=start[0]) if not stuck else time.perf_counter()
    result.server_cpu = cpu_probe() - cpu0
    result.seconds = end - start[0]
    for w in workers:
        result.ok += w.ok
        result.errors += w.errors
        result.keys.extend(w.keys)
        if w.first_error and not result.first_error:
            result.first_error = w.first_error
    if stuck:
        result.errors += len(stuck)
        result.first_error = result.first_error or f"{len(stuck)} worker(s) still blocked after the deadline"
    return result


def run_large_put(conn: S3Connection, path: str, source: memoryview, chunk: int, timeout: float) -> LargeResult:
    result = LargeResult("PUT", len(source))
    t0 = time.perf_counter()
    try:
        resp = conn.put_stream(path, source, chunk, deadline=t0 + timeout)
    except (TransferTimeout, OSError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.seconds = time.perf_counter() - t0
    if not resp.ok:
        result.error = f"HTTP {resp.status} {resp.body[:200]!r}"
    return result


def run_large_get(
    conn: S3Connection, path: str, source: memoryview, target: memoryview, chunk: int, timeout: float,
) -> LargeResult:
    """Reads into `target` (pre-filled so it cannot match by accident), then compares with `source`."""
    result = LargeResult("GET", len(source))
    zero = bytes(chunk)
    for off in range(0, len(target), chunk):  # also faults every page in before the clock starts
        n = min(chunk, len(target) - off)
        target[off : off + n] = zero[:n]
    t0 = time.perf_counter()
    try:
        resp, got = conn.get_into(path, target, chunk, deadline=t0 + timeout)
    except (TransferTimeout, OSError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.seconds = time.perf_counter() - t0
    if not resp.ok:
        result.error = f"HTTP {resp.status} {resp.body[:200]!r}"
    elif got != len(source):
        result.error = f"got {got} bytes, expected {len(source)}"
    else:
        for off in range(0, len(source), chunk):
            if target[off : off + chunk].tobytes() != source[off : off + chunk].tobytes():
                result.error = f"bytes differ from what was PUT in the chunk at offset {off}"
                break
    return result
