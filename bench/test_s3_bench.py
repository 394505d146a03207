"""Checks of the S3 benchmark's own parts: signing, the raw client, verification, watching, reporting.

Run with `.venv/bin/pytest bench/test_s3_bench.py`. Everything here talks only to servers the tests
start on 127.0.0.1 and stop again.
"""

from __future__ import annotations

import datetime
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _client import S3Connection, TransferTimeout
from _disk import DiskResult, sequential_write, small_file_creates
from _peers import Server, ServerSpec, ServerStartError
from _procwatch import TreeWatcher, descendants
from _report import TargetResult, goals_table, merge_rounds, render, results_table
from _sigv4 import SigV4Signer
from _workload import LargeResult, PhaseResult, run_large_get, run_large_put, run_small_phase, small_payload
from s3 import parse_args

SIGNER = SigV4Signer("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1")


# -- signing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("PUT", "/bucket/small/8t/3/00000042", None),
        ("GET", "/bucket/a key/with+odd=chars~ü", None),
        ("GET", "/bucket", {"list-type": "2", "prefix": "a/b c", "max-keys": "10"}),
    ],
)
def test_signature_matches_botocore(
    method: str, path: str, query: dict[str, str] | None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials

    when = datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when)
    from urllib.parse import quote

    url = "https://127.0.0.1:4566" + quote(path, safe="/~")
    req = AWSRequest(method=method, url=url, params=query or {})
    req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    auth = botocore.auth.S3SigV4Auth(Credentials(SIGNER.access_key, SIGNER.secret_key), "s3", "eu-west-1")
    auth.add_auth(req)

    ours = SIGNER.sign(method, "127.0.0.1:4566", path, query, amz_date="20260304T050607Z")
    assert req.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert ours["Authorization"] == req.headers["Authorization"]


def test_signature_changes_with_path() -> None:
    a = SIGNER.sign("GET", "h:1", "/b/k1", amz_date="20260304T050607Z")["Authorization"]
    b = SIGNER.sign("GET", "h:1", "/b/k2", amz_date="20260304T050607Z")["Authorization"]
    assert a != b


# -- an in-memory S3 stand-in ------------------------------------------------------------------------


class _Store:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.corrupt = False
        self.chunked = False
        self.lock = threading.Lock()
        self.requests = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: _Store

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_PUT(self) -> None:
        assert self.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        length = int(self.headers["Content-Length"])
        parts = []
        while length:
            piece = self.rfile.read(min(length, 1 << 20))
            parts.append(piece)
            length -= len(piece)
        with self.store.lock:
            self.store.objects[self.path] = b"".join(parts)
            self.store.requests += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        with self.store.lock:
            self.store.requests += 1
            body = self.store.objects.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"NoSuchKey")
            return
        if self.store.corrupt:
            body = body[:-1] + bytes([body[-1] ^ 1])
        self.send_response(200)
        if self.store.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for off in range(0, len(body), 1000):
                piece = body[off : off + 1000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def fake_s3() -> Iterator[tuple[int, _Store]]:
    store = _Store()
    handler = type("H", (_Handler,), {"store": store})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], store
    finally:
        server.shutdown()
        server.server_close()


def test_client_round_trip_keeps_connection(fake_s3: tuple[int, _Store]) -> None:
    port, store = fake_s3
    conn = S3Connection("127.0.0.1", port, SIGNER)
    assert conn.request("PUT", "/b/k", b"hello").status == 200
    sock = conn.sock
    got = conn.request("GET", "/b/k")
    assert (got.status, got.body) == (200, b"hello")
    missing = conn.request("GET", "/b/none")
    assert (missing.status, missing.body) == (404, b"NoSuchKey")
    assert conn.sock is sock  # one connection reused for all three
    store.chunked = True
    assert conn.request("GET", "/b/k").body == b"hello"
    conn.close()


def test_client_refuses_non_loopback() -> None:
    with pytest.raises(ValueError):
        S3Connection("192.0.2.1", 80, SIGNER)


def _scripted_server(replies: list[bytes]) -> tuple[int, threading.Thread]:
    """Answers each connection's first request with the next reply, then closes it without notice."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def run() -> None:
        with listener:
            for reply in replies:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(reply)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return listener.getsockname()[1], t


def test_client_retries_once_on_an_idle_close_and_reads_close_delimited_bodies() -> None:
    port, thread = _scripted_server([
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none",
        b"HTTP/1.0 200 OK\r\n\r\nuntil-close",
    ])
    conn = S3Connection("127.0.0.1", port, SIGNER, timeout=5)
    assert conn.request("GET", "/b/1").body == b"one"
    # The server closed that kept-alive connection; the next request goes out again on a new one.
    second = conn.request("GET", "/b/2")
    assert (second.status, second.body, conn.reconnects) == (200, b"until-close", 1)
    thread.join(timeout=5)
    conn.close()


# -- workloads ---------------------------------------------------------------------------------------


def _connect(port: int) -> S3Connection:
    return S3Connection("127.0.0.1", port, SIGNER, timeout=5)


def test_small_phases_count_and_verify(fake_s3: tuple[int, _Store]) -> None:
    port, store = fake_s3
    base = os.urandom(4096)
    put = run_small_phase("PUT", 3, 0.3, lambda: _connect(port), "b", base, [], lambda: 0.0)
    assert put.ok > 0 and put.errors == 0 and len(put.keys) == put.ok
    key = put.keys[0]
    assert store.objects[f"/b/{key}"] == small_payload(base, key)
    assert len(small_payload(base, key)) == 4096
    get = run_small_phase("GET", 2, 0.3, lambda: _connect(port), "b", base, put.keys, lambda: 0.0)
    assert get.ok > 0 and get.errors == 0 and get.ops_per_s

    store.corrupt = True
    bad = run_small_phase("GET", 2, 0.2, lambda: _connect(port), "b", base, put.keys, lambda: 0.0)
    assert bad.ok == 0 and bad.errors > 0
    assert "differ" in bad.first_error


def test_get_phase_without_objects_reports_instead_of_running() -> None:
    res = run_small_phase("GET", 2, 5.0, lambda: _connect(1), "b", b"x" * 4096, [], lambda: 0.0)
    assert (res.ok, res.ops_per_s) == (0, None)
    assert "every PUT failed" in res.first_error


def test_large_object_round_trip_is_verified(fake_s3: tuple[int, _Store]) -> None:
    port, store = fake_s3
    size, chunk = 3 << 20, 1 << 20
    source = memoryview(os.urandom(size))
    target = memoryview(bytearray(size))
    put = run_large_put(_connect(port), "/b/large", source, chunk, timeout=30)
    assert not put.error and put.mb_per_s and put.mb_per_s > 0
    assert store.objects["/b/large"] == source.tobytes()
    get = run_large_get(_connect(port), "/b/large", source, target, chunk, timeout=30)
    assert not get.error and get.mb_per_s
    assert target.tobytes() == source.tobytes()

    store.corrupt = True
    bad = run_large_get(_connect(port), "/b/large", source, target, chunk, timeout=30)
    assert "differ" in bad.error and bad.mb_per_s is None
    store.corrupt, store.chunked = False, True
    chunked = run_large_get(_connect(port), "/b/large", source, target, chunk, timeout=30)
    assert not chunked.error
    missing = run_large_get(_connect(port), "/b/none", source, target, chunk, timeout=30)
    assert missing.error.startswith("HTTP 404")


def test_large_put_is_time_boxed(fake_s3: tuple[int, _Store]) -> None:
    port, _ = fake_s3
    source = memoryview(bytes(2 << 20))
    res = run_large_put(_connect(port), "/b/late", source, 1 << 20, timeout=-1.0)
    assert res.error.startswith("TransferTimeout")
    conn = _connect(port)
    with pytest.raises(TransferTimeout):
        conn.put_stream("/b/late", source, 1 << 20, deadline=time.perf_counter() - 1)


# -- processes ---------------------------------------------------------------------------------------

_TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "b = bytearray(60_000_000); b[::4096] = b'x' * len(b[::4096]); "
                          "import time; time.sleep(60)"])
print("ready", flush=True)
time.sleep(60)
"""


def test_tree_watcher_sums_descendants_and_server_stop_kills_the_group(tmp_path: Path) -> None:
    spec = ServerSpec(
        name="tree", argv=[sys.executable, "-c", _TREE], env=dict(os.environ), cwd=tmp_path,
        healthy=lambda host, port: "ready" in (tmp_path / "log").read_text(), version="0",
    )
    server = Server(spec, tmp_path / "log")
    server.start()
    watcher = TreeWatcher(server.pid, interval=0.05)
    watcher.start()
    try:
        server.wait_ready(20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and watcher.sample() < 60_000_000:
            time.sleep(0.05)
        pids = descendants(server.pid)
        assert len(pids) == 2
        assert watcher.peak_rss >= 60_000_000
        assert watcher.cpu_seconds() >= 0.0
    finally:
        watcher.stop()
        server.stop(grace=2)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_server_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    spec = ServerSpec(
        name="dies", argv=[sys.executable, "-c", "print('boom: port taken'); raise SystemExit(3)"],
        env=dict(os.environ), cwd=tmp_path, healthy=lambda host, port: False, version="0",
    )
    server = Server(spec, tmp_path / "log")
    server.start()
    with pytest.raises(ServerStartError, match=r"exited with code 3(.|\n)*boom: port taken"):
        server.wait_ready(20)
    server.stop()


def test_missing_server_binary_raises_oserror(tmp_path: Path) -> None:
    spec = ServerSpec(name="none", argv=[str(tmp_path / "nope")], env={}, cwd=tmp_path,
                      healthy=lambda host, port: False, version="?")
    with pytest.raises(OSError):
        Server(spec, tmp_path / "log").start()


# -- disk --------------------------------------------------------------------------------------------


def test_raw_disk_measurements_clean_up(tmp_path: Path) -> None:
    written, seconds = sequential_write(tmp_path, memoryview(os.urandom(3 << 20)), 1 << 20, timeout=60)
    assert written == 3 << 20 and seconds > 0
    files, seconds = small_file_creates(tmp_path, b"y" * 4096, 0.2)
    assert files > 0 and seconds >= 0.2
    assert list(tmp_path.iterdir()) == []


# -- report and arguments ----------------------------------------------------------------------------


def _target(name: str, put: float, get: float, rss_mb: float, error: str = "") -> TargetResult:
    r = TargetResult(name, "1.0", error=error)
    r.phases[("PUT", 1)] = PhaseResult("PUT", 1, ok=int(put * 10), seconds=10.0, server_cpu=put / 1000)
    r.phases[("GET", 1)] = PhaseResult("GET", 1, ok=int(get * 10), seconds=10.0, server_cpu=get / 1000)
    r.large["PUT"] = LargeResult("PUT", 1_000_000_000, seconds=2.0)  # 500 MB/s
    r.large["GET"] = LargeResult("GET", 1_000_000_000, seconds=0.8)  # 1250 MB/s
    r.idle_rss = r.peak_rss = int(rss_mb * 1e6)
    return r


def test_goals_compare_against_the_better_peer() -> None:
    results = [_target("fogbank", 1000, 900, 120), _target("moto", 400, 500, 300),
               _target("ministack", 450, 300, 30)]
    disk = DiskResult(write_size=1, write_runs=[700.0, 600.0, 900.0], files_created=10, files_seconds=1.0)
    text = goals_table(results, disk, [1], 256)
    assert "| 4 KiB PUT, 1 thread: fogbank / better peer | ≥ 2.00x | 2.22x | PASS |" in text
    assert "| 4 KiB GET, 1 thread: fogbank / better peer | ≥ 2.00x | 1.80x | FAIL |" in text
    assert "| 256 MiB GET | ≥ 1,000 MB/s | 1,250.0 MB/s | PASS |" in text
    assert "| 256 MiB PUT / raw disk write+fsync | ≥ 0.80x | 0.71x | FAIL |" in text  # 500 / median 700
    assert "| fogbank peak RSS | < 150 MB | 120.0 MB | PASS |" in text
    table = results_table(results, [1], 256)
    # RSS: lower is better, so the ratio is against ministack's 30 MB, not moto's 300 MB.
    assert "| server RSS peak (MB) | 120.0 | 300.0 | 30.0 | 4.00x |" in table


def test_failed_peer_is_shown_and_left_out_of_ratios() -> None:
    results = [_target("fogbank", 1000, 900, 120), _target("moto", 400, 500, 300),
               _target("ministack", 0, 0, 0, error="ServerStartError: no")]
    table = results_table(results, [1], 256)
    assert "| 4 KiB PUT, 1 thread (ops/s) | 1,000 | 400 | failed | 2.50x |" in table
    text = render(results, DiskResult(), [1], 256, 5.0, "today", "a machine")
    assert "- ministack: FAILED: ServerStartError: no" in text
    assert "| 256 MiB PUT / raw disk write+fsync | ≥ 0.80x | — | n/a |" in text


def test_rounds_merge_to_the_median_round_and_keep_every_problem() -> None:
    slow, mid, fast = _target("moto", 100, 300, 50), _target("moto", 200, 100, 90), _target("moto", 300, 200, 70)
    mid.phases[("PUT", 1)].errors, mid.phases[("PUT", 1)].first_error = 2, "HTTP 500"
    broken = _target("moto", 0, 0, 0, error="ServerStartError: port")
    merged = merge_rounds([slow, broken, mid, fast])
    assert merged.phases[("PUT", 1)] is mid.phases[("PUT", 1)]  # 200 is the median of 100, 200, 300
    assert merged.phases[("GET", 1)] is fast.phases[("GET", 1)]  # 200 is the median of 300, 100, 200
    assert merged.peak_rss == 90_000_000 and merged.idle_rss == 70_000_000 and not merged.error
    text = render([merged], DiskResult(), [1], 256, 5.0, "today", "a machine")
    assert "- moto: round 2: FAILED: ServerStartError: port" in text
    assert "- moto: round 3: 4 KiB PUT x1: 2 error(s), first: HTTP 500" in text
    assert "median of 3 successful round(s) out of 4" in text
    assert merge_rounds([broken, broken]).error == "ServerStartError: port"
    assert merge_rounds([slow]) is slow


def test_arguments_are_validated() -> None:
    args = parse_args(["--targets", "moto,ministack", "--threads", "8,1", "--duration", "2"])
    assert args.targets == ["moto", "ministack"] and args.threads == [1, 8]
    for bad in (["--targets", "localstack"], ["--threads", "0"], ["--duration", "0"],
                ["--large-mib", "0"], ["--targets", "moto,moto"], ["--rounds", "0"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_script_runs_end_to_end_against_nothing_and_fails_cleanly(tmp_path: Path) -> None:
    """A target that cannot start is reported, not hung on; temp data is removed; exit code is 1."""
    script = Path(__file__).with_name("s3.py")
    out = subprocess.run(
        [sys.executable, str(script), "--targets", "fogbank", "--fogbank-bin", str(tmp_path / "missing"),
         "--duration", "0.2", "--large-mib", "2", "--work-dir", str(tmp_path / "work"),
         "--markdown-out", str(tmp_path / "out.md")],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 1, out.stderr
    assert "| 4 KiB PUT, 1 thread (ops/s) | failed |" in out.stdout
    assert "- fogbank: FAILED: FileNotFoundError" in out.stdout
    assert list((tmp_path / "work").iterdir()) == []
    appended = (tmp_path / "out.md").read_text()
    assert appended.startswith("\n## S3 benchmark — ") and "nproc" in appended
