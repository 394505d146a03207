"""The servers under test: how each is installed, configured, started, probed and stopped.

Peers live in their own virtualenv (bench/.venv-peers) so they never leak into fogbank's dependencies.
Every server binds 127.0.0.1 on its own free port, keeps its state in its own temporary folder, and runs
in its own process group so that stopping it also stops anything it spawned.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from _client import S3Connection
from _sigv4 import SigV4Signer

# Pinned so that figures from different days compare like with like.
PEER_REQUIREMENTS: dict[str, str] = {
    "moto": "moto[server]==5.2.5",
    "ministack": "ministack==1.5.33",
}
PEER_DISTRIBUTIONS = {"moto": "moto", "ministack": "ministack"}
_INSTALL_TIMEOUT = 1800.0
_MARKER = ".fogbank-bench-requirements"

ACCESS_KEY = "test"
SECRET_KEY = "test"
REGION = "us-east-1"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1; released at once for the server to take."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_run(args: Any, prefix: str, fogbank: str = "fogbank") -> Path:
    """What every benchmark does first: SIGTERM leaves the way Ctrl-C does (so servers are stopped and
    temporary data removed), the peers' virtualenv exists when a peer is measured, and the run's own
    temporary folder is made (under --work-dir when given)."""
    signal.signal(signal.SIGTERM, _interrupt)
    if any(t != fogbank for t in args.targets):
        args.peers_venv = args.peers_venv.resolve()
        ensure_peer_venv(args.peers_venv)
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=args.work_dir))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def ensure_peer_venv(venv: Path) -> Path:
    """Creates the peers' virtualenv and installs the pinned peers, unless that was already done."""
    wanted = "\n".join(sorted(PEER_REQUIREMENTS.values())) + "\n"
    python = venv / "bin" / "python"
    marker = venv / _MARKER
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"installing peers into {venv} (first use only): {', '.join(PEER_REQUIREMENTS.values())}")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # The peers' virtualenv is a local build artefact: keep it out of version control.
    (venv / ".gitignore").write_text("*\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
         *PEER_REQUIREMENTS.values()],
        check=True, timeout=_INSTALL_TIMEOUT,
    )
    marker.write_text(wanted)
    return python


def distribution_version(python: Path, dist: str) -> str:
    """The installed version of `dist` as seen by the interpreter that will run it."""
    try:
        out = subprocess.run(
            [str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
            capture_output=True, text=True, timeout=60, check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return "?"
    return out.stdout.strip() or "?"


def _base_env(tmp: Path) -> dict[str, str]:
    """A clean environment: no AWS_* or FOGBANK_* settings of the caller may change a server's behaviour."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "TMPDIR": str(tmp),
           "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    return env


class ServiceCallError(RuntimeError):
    """A JSON-protocol call answered with an error status; `code` is the AWS error code when one was sent."""

    def __init__(self, operation: str, status: int, body: bytes) -> None:
        code = ""
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                code = str(parsed.get("__type") or parsed.get("code") or "").rsplit("#", 1)[-1]
        except ValueError:
            pass
        super().__init__(f"{operation} answered HTTP {status} {code}: {body[:300]!r}")
        self.status = status
        self.code = code


class JsonConnection(S3Connection):
    """A keep-alive client for the JSON-protocol services (Kinesis, Firehose, Glue) on the S3 client's socket.

    Same raw socket and response reader as the S3 client, so a JSON call costs the client as little as an S3
    request does. The Authorization header is well-formed and names `service` in its credential scope, so the
    servers route and scope the request as they would a signed one, but its signature is not computed: no
    server under test verifies signatures here, and hashing every multi-megabyte body would measure the client.
    """

    def __init__(self, port: int, service: str, target_prefix: str, timeout: float = 60.0) -> None:
        super().__init__("127.0.0.1", port, SigV4Signer(ACCESS_KEY, SECRET_KEY, REGION, service), timeout)
        self.service = service
        self.target_prefix = target_prefix
        self._target = ""

    def _head(self, method: str, path: str, query: dict[str, str] | None, length: int | None) -> bytes:
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        scope = f"{amz_date[:8]}/{REGION}/{self.service}/aws4_request"
        return (f"{method} {path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
                "Content-Type: application/x-amz-json-1.1\r\n"
                f"X-Amz-Target: {self._target}\r\nX-Amz-Date: {amz_date}\r\n"
                f"Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
                f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={'0' * 64}\r\n"
                f"Content-Length: {length or 0}\r\n\r\n").encode()

    def call_raw(self, operation: str, body: dict[str, Any] | bytes) -> bytes:
        """One operation's response body, unparsed; raises ServiceCallError unless the server answered 2xx."""
        self._target = f"{self.target_prefix}.{operation}"
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = self.request("POST", "/", payload)
        if not response.ok:
            raise ServiceCallError(operation, response.status, response.body)
        return response.body

    def call(self, operation: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
        """One operation, its response parsed; raises ServiceCallError unless the server answered 2xx."""
        raw = self.call_raw(operation, body)
        result: dict[str, Any] = json.loads(raw) if raw else {}
        return result


def _health_fogbank(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/_fogbank/health")
        return conn.getresponse().status == 200
    finally:
        conn.close()


def _health_list_buckets(host: str, port: int) -> bool:
    conn = S3Connection(host, port, SigV4Signer(ACCESS_KEY, SECRET_KEY, REGION), timeout=2)
    try:
        return conn.request("GET", "/").status == 200
    finally:
        conn.close()


@dataclass
class ServerSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    healthy: Callable[[str, int], bool]
    version: str
    host: str = "127.0.0.1"
    port: int = 0
    notes: list[str] = field(default_factory=list)


def fogbank_spec(fogbank_bin: Path, port: int, workdir: Path) -> ServerSpec:
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    python = fogbank_bin.parent / "python"
    return ServerSpec(
        name="fogbank",
        argv=[str(fogbank_bin), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)],
        env=_base_env(workdir),
        cwd=workdir,
        healthy=_health_fogbank,
        version=distribution_version(python, "fogbank") if python.exists() else "?",
        port=port,
        notes=["durable: blobs fsynced before the PUT is acknowledged"],
    )


def moto_spec(venv: Path, port: int, workdir: Path) -> ServerSpec:
    # moto keeps objects in memory, spilling large bodies to temporary files: those go to TMPDIR=workdir.
    return ServerSpec(
        name="moto",
        argv=[str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=_base_env(workdir),
        cwd=workdir,
        healthy=_health_list_buckets,
        version=distribution_version(venv / "bin" / "python", "moto"),
        port=port,
        notes=["in memory (no persistence)"],
    )


def ministack_spec(venv: Path, port: int, workdir: Path, persist: bool) -> ServerSpec:
    env = _base_env(workdir)
    env.update({
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        # Its IoT MQTT and SFTP listeners would bind 0.0.0.0 on fixed ports; S3 needs neither.
        "IOT_MTLS_ENABLED": "0",
        "SFTP_ENABLED": "0",
        "S3_PERSIST": "1" if persist else "0",
        "S3_DATA_DIR": str(workdir / "s3"),
        "STATE_DIR": str(workdir / "state"),
    })
    return ServerSpec(
        name="ministack",
        argv=[str(venv / "bin" / "ministack")],
        env=env,
        cwd=workdir,
        healthy=_health_list_buckets,
        version=distribution_version(venv / "bin" / "python", "ministack"),
        port=port,
        notes=["S3_PERSIST=1: objects written to disk, not fsynced" if persist else "in memory (S3_PERSIST=0)"],
    )


class ServerStartError(Exception):
    """The server exited or never answered its health check in time."""


class Server:
    """A running server subprocess in its own process group, with its output in a log file."""

    def __init__(self, spec: ServerSpec, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(
                self.spec.argv, env=self.spec.env, cwd=self.spec.cwd, stdin=subprocess.DEVNULL,
                stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float) -> float:
        """Polls the health check every 100 ms; returns seconds until it first passed."""
        assert self.proc is not None
        t0 = time.perf_counter()
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.spec.name} exited with code {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if self.spec.healthy(self.spec.host, self.spec.port):
                    return time.perf_counter() - t0
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise ServerStartError(f"{self.spec.name} not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the server's own process group, SIGKILL after `grace` seconds."""
        if self.proc is None or self.proc.returncode is not None:
            return
        pgid = self.proc.pid  # start_new_session=True: the group id is the server's pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Helpers the server left behind in its group must not outlive the run either.
        deadline = time.monotonic() + 5.0
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
            while time.monotonic() < deadline:  # until the kernel has delivered it (zombies still count)
                os.killpg(pgid, 0)
                time.sleep(0.02)
