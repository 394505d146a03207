"""The local stand-in for Lambda transforms: Python files under `<data_dir>/firehose/functions/`.

A Lambda processor names its function by ARN, `arn:aws:lambda:<region>:<account>:function:<name>` (an
optional `:<qualifier>` is accepted and ignored). fogbank runs `handler(event, context)` from
`<data_dir>/firehose/functions/<name>.py` in-process, with the event and result contract of a Firehose
transform Lambda. The function name is checked against Lambda's name pattern before it becomes a file name,
so no ARN can reach outside that directory. A file is loaded again when it changes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$")
TIMEOUT_MS = 300_000


class FunctionMissing(LookupError):
    """No Python file stands behind the ARN."""


class FunctionFailed(RuntimeError):
    """The handler raised, or returned something that is not JSON."""


def function_name(arn: str) -> str | None:
    match = FUNCTION_ARN.match(arn)
    return match.group(1) if match else None


@dataclass
class InvocationContext:
    """The attributes of Lambda's Python context object that handlers commonly read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    started: float
    function_version: str = "$LATEST"
    memory_limit_in_mb: str = "128"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"fogbank/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, TIMEOUT_MS - int((time.monotonic() - self.started) * 1000))


class FunctionDirectory:
    """Loads and runs handlers from one directory; thread-safe, modules cached by file size and mtime."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[tuple[int, int], Callable[..., Any]]] = {}

    def path_of(self, name: str) -> Path:
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):
            raise FunctionMissing(name)
        return self.root / f"{name}.py"

    def _handler(self, name: str) -> Callable[..., Any]:
        path = self.path_of(name)
        try:
            stat = path.stat()
        except OSError:
            raise FunctionMissing(name) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._loaded.get(name)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            spec = importlib.util.spec_from_file_location(f"fogbank_firehose_function_{name}", path)
            if spec is None or spec.loader is None:
                raise FunctionMissing(name)
            module = types.ModuleType(spec.name)
            module.__file__ = str(path)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise FunctionFailed(f"{type(exc).__name__}: {exc}") from exc
            handler = getattr(module, "handler", None)
            if not callable(handler):
                raise FunctionFailed(f"{path.name} defines no callable handler(event, context)")
            self._loaded[name] = (stamp, handler)
            return handler

    def invoke(self, arn: str, event: dict[str, Any]) -> Any:
        """Runs the handler and returns its result as Lambda would: through JSON."""
        name = function_name(arn)
        if name is None:
            raise FunctionMissing(arn)
        handler = self._handler(name)
        context = InvocationContext(name, arn, str(uuid.uuid4()), time.monotonic())
        try:
            result = handler(event, context)
        except Exception as exc:
            raise FunctionFailed(f"{type(exc).__name__}: {exc}") from exc
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            raise FunctionFailed(f"the handler returned a value that is not JSON: {exc}") from exc
