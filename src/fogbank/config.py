"""The one place that reads the environment: flags and FOGBANK_* variables become a frozen Config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

AuthMode = Literal["open", "strict"]

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
_REPO_NODE_DIR = Path(__file__).resolve().parents[2] / "node"


@dataclass(frozen=True)
class Config:
    """Everything a store, engine or provider may be configured by, passed down explicitly."""

    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: Path = field(default_factory=lambda: Path(".fogbank"))
    auth: AuthMode = "open"
    default_region: str = DEFAULT_REGION
    log_level: str = "info"
    # Requests whose body is at most this many bytes are read whole before dispatch; larger ones stream.
    inline_body_limit: int = 1024 * 1024
    # Worker threads that run provider operations (blocking I/O: SQLite, fsync, models).
    worker_threads: int = 64
    # Allowed clock skew for signed requests in strict mode, in seconds (AWS allows 15 minutes).
    max_clock_skew: int = 900
    # Kinesis per-shard throughput limits (1 MB/s, 1,000 records/s in; 2 MB/s out), as AWS enforces them.
    kinesis_limits: bool = True
    # Local models that replace a default, by capability ("sentiment", "language-id", "nlp-en", ...):
    # a Hugging Face, ONNX or CTranslate2 folder, or a GGUF file. Never downloaded.
    model_overrides: dict[str, str] = field(default_factory=dict)
    # The folder of the models that run under Node.js (object detection): detect.mjs with its node_modules,
    # installed by scripts/setup.sh. Defaults to the repository's node/ folder.
    node_dir: Path = _REPO_NODE_DIR
    # Seconds one object-detection request may take before its worker is presumed stuck and restarted.
    object_detection_timeout: float = 30.0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def service_dir(self, service: str) -> Path:
        path = self.data_dir / service
        path.mkdir(parents=True, exist_ok=True)
        return path

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_config(flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Builds the Config: defaults, then FOGBANK_* variables, then command-line flags."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if "FOGBANK_HOST" in env:
        values["host"] = env["FOGBANK_HOST"]
    if "FOGBANK_PORT" in env:
        values["port"] = int(env["FOGBANK_PORT"])
    if "FOGBANK_DATA_DIR" in env:
        values["data_dir"] = Path(env["FOGBANK_DATA_DIR"])
    if "FOGBANK_AUTH" in env:
        values["auth"] = env["FOGBANK_AUTH"]
    if "FOGBANK_REGION" in env:
        values["default_region"] = env["FOGBANK_REGION"]
    if "FOGBANK_KINESIS_LIMITS" in env:
        values["kinesis_limits"] = env["FOGBANK_KINESIS_LIMITS"].lower() not in ("0", "false", "off", "no")
    if "FOGBANK_LOG_LEVEL" in env:
        values["log_level"] = env["FOGBANK_LOG_LEVEL"]
    if "FOGBANK_NODE_MODELS" in env:
        values["node_dir"] = Path(env["FOGBANK_NODE_MODELS"]).expanduser()
    if "FOGBANK_OBJECT_DETECTION_TIMEOUT" in env:
        values["object_detection_timeout"] = float(env["FOGBANK_OBJECT_DETECTION_TIMEOUT"])
    overrides = {name[len("FOGBANK_MODEL_"):].lower().replace("_", "-"): path
                 for name, path in env.items() if name.startswith("FOGBANK_MODEL_") and path}
    if overrides:
        values["model_overrides"] = overrides
    for key, value in (flags or {}).items():
        if value is not None:
            values[key] = Path(value) if key == "data_dir" else value
    if values.get("auth", "open") not in ("open", "strict"):
        raise ValueError(f"auth must be 'open' or 'strict', not {values['auth']!r}")
    config = Config(**values)
    return replace(config, data_dir=config.data_dir.expanduser().resolve())
