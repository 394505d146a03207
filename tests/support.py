"""Test support: a real fogbank server process the tests own, and boto3 clients for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, TypeVar

import boto3
import uvicorn
from botocore.config import Config as BotoConfig

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FogbankServer:
    """A fogbank process the tests own: start, stop, SIGKILL and restart on the same data dir."""

    def __init__(self, data_dir: Path, auth: str = "open", port: int | None = None) -> None:
        self.data_dir = data_dir
        self.auth = auth
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FogbankServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FOGBANK_", "AWS_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fogbank", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--auth", self.auth, "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fogbank exited at start:\n{self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/_fogbank/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"fogbank did not start:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> FogbankServer:
        self.stop()
        return self.start()

    def client(self, service: str, **kwargs: Any) -> Any:
        return make_client(self.endpoint_url, service, **kwargs)


def make_client(endpoint_url: str, service: str, region: str = "us-east-1", access_key: str = "test",
                secret_key: str = "test", **config: Any) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region,
                        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        config=BotoConfig(retries={"max_attempts": 1}, **config))


P = TypeVar("P")


class InProcessServer:
    """fogbank in this process (uvicorn on a thread), for tests that reach into a provider: a fake clock, a
    smaller page size. The HTTP side is the real server's."""

    def __init__(self, data_dir: Path) -> None:
        from fogbank.app import FogbankApp
        from fogbank.config import Config

        self.port = free_port()
        self.app = FogbankApp(Config(host="127.0.0.1", port=self.port, data_dir=data_dir, worker_threads=8))
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def provider(self, kind: type[P]) -> P:
        return next(p for p in self.app.providers if isinstance(p, kind))

    def start(self) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("in-process fogbank did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def client(self, service: str) -> Any:
        return make_client(f"http://127.0.0.1:{self.port}", service)
