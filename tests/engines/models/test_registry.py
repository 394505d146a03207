"""The model registry: lazy single loading, bounded inference, overrides, failures and status."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable


class Counter:
    def __init__(self) -> None:
        self.loads = 0
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_loads_once_lazily_even_when_many_threads_ask_at_once() -> None:
    registry = ModelRegistry()
    loads: list[int] = []
    gate = threading.Event()

    def loader() -> str:
        gate.wait(5)
        loads.append(1)
        return "model"

    registry.register("cap", "tiny", loader, "a test model")
    assert registry.status()["cap"]["loaded"] is False
    assert loads == []
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(registry.get("cap"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert results == ["model"] * 8
    assert loads == [1]
    status = registry.status()["cap"]
    assert status["loaded"] is True
    assert status["model"] == "tiny"
    assert status["describe"] == "a test model"


def test_run_bounds_concurrent_inference_per_capability() -> None:
    registry = ModelRegistry()
    registry.register("cap", "tiny", lambda: "m", concurrency=2)
    lock = threading.Lock()
    active = 0
    peak = 0
    release = threading.Event()
    entered = threading.Semaphore(0)

    def infer(model: str, value: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        entered.release()
        release.wait(5)
        with lock:
            active -= 1
        return value * 2

    out: list[int] = []
    threads = [threading.Thread(target=lambda v=v: out.append(registry.run("cap", infer, v))) for v in range(6)]
    for thread in threads:
        thread.start()
    entered.acquire(timeout=5)
    entered.acquire(timeout=5)
    release.set()
    for thread in threads:
        thread.join()
    assert sorted(out) == [0, 2, 4, 6, 8, 10]
    assert peak == 2
    assert registry.status()["cap"]["inferences"] == 6


def test_override_replaces_the_default_and_is_named_in_status(tmp_path: Path) -> None:
    model_dir = tmp_path / "bigger-model"
    model_dir.mkdir()
    seen: list[Path] = []

    def override(path: Path) -> str:
        seen.append(path)
        return "override"

    registry = ModelRegistry(overrides={"cap": str(model_dir)})
    registry.register("cap", "default", lambda: "default", override=override)
    assert registry.get("cap") == "override"
    assert seen == [model_dir]
    status = registry.status()["cap"]
    assert status["model"] == str(model_dir)
    assert status["source"] == "override"


def test_override_that_does_not_exist_or_cannot_be_used_is_a_clear_error(tmp_path: Path) -> None:
    registry = ModelRegistry(overrides={"cap": str(tmp_path / "missing"), "fixed": str(tmp_path)})
    registry.register("cap", "default", lambda: "default", override=lambda p: "x")
    registry.register("fixed", "default", lambda: "default")
    with pytest.raises(ModelUnavailable, match="does not exist"):
        registry.get("cap")
    with pytest.raises(ModelUnavailable, match="cannot be replaced"):
        registry.get("fixed")
    assert "does not exist" in registry.status()["cap"]["error"]


def test_failed_load_is_reported_then_retried() -> None:
    registry = ModelRegistry()
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return "ok"

    registry.register("cap", "flaky", flaky)
    with pytest.raises(ModelUnavailable, match="disk hiccup"):
        registry.get("cap")
    assert "disk hiccup" in registry.status()["cap"]["error"]
    assert registry.get("cap") == "ok"
    assert "error" not in registry.status()["cap"]


def test_unknown_capability_and_first_registration_wins() -> None:
    registry = ModelRegistry()
    with pytest.raises(ModelUnavailable, match="no model is registered"):
        registry.get("nothing")
    registry.register("cap", "first", lambda: 1)
    registry.register("cap", "second", lambda: 2)
    assert registry.get("cap") == 1
    assert registry.name("cap") == "first"


def test_unregister_and_close_close_loaded_models() -> None:
    registry = ModelRegistry()
    a, b = Counter(), Counter()
    registry.register("a", "a", lambda: a)
    registry.register("b", "b", lambda: b)
    registry.get("a")
    registry.get("b")
    registry.unregister("a")
    assert a.closed and not registry.has("a")
    registry.close()
    assert b.closed
    assert registry.status()["b"]["loaded"] is False


_NESTED_MEMORY = """
import json
from fogbank.engines.models.registry import ModelRegistry
registry = ModelRegistry()
blobs = []
def inner():
    blob = bytearray(64 * 1024 * 1024)
    blob[::4096] = b"x" * len(blob[::4096])  # touch every page so it is resident
    blobs.append(blob)
    return bytes(0)
registry.register("inner", "inner", inner)
registry.register("outer", "outer", lambda: registry.get("inner"))
registry.get("outer")
print(json.dumps(registry.status()))
"""


def test_nested_loads_count_memory_once() -> None:
    # RSS is process-wide: measured in a fresh interpreter, where no other test's memory comes and goes.
    result = subprocess.run([sys.executable, "-c", _NESTED_MEMORY], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["inner"]["memory_mb"] >= 60
    assert status["outer"]["memory_mb"] < 30

