"""The model layer: which model backs which capability, loaded lazily once, run with bounded concurrency.

Every AI service shares one ``ModelRegistry`` built by ``build_providers`` and handed to its provider.

API (kept small and stable on purpose)::

    registry = ModelRegistry(config, overrides={"sentiment": "/models/my-hf-folder"})
    registry.register("sentiment", "vaderSentiment 3.3.2", load_vader, "lexicon sentiment, English",
                      override=load_sentiment_override, concurrency=2)
    model = registry.get("sentiment")              # loads on first call, once, thread-safe
    scores = registry.run("sentiment", score, text)  # calls score(model, text) under the capability's semaphore
    registry.status()                               # {"sentiment": {"model": ..., "loaded": ..., ...}}
    registry.unregister("endpoint:x")               # for per-resource models that go away

- ``loader()`` builds the default model, which must ship inside an installed package: nothing is downloaded.
- ``overrides`` maps a capability to a local path (a Hugging Face folder, an ONNX or CTranslate2 folder, a
  GGUF file). When a capability is overridden, ``override(path)`` builds the model instead of ``loader()``;
  ``fogbank.engines.models.formats`` tells those formats apart and loads them with network access disabled.
  The model's name then becomes the path, so logs and ``fogbank status`` say which model answered.
- ``run`` exists because providers already execute in worker threads: what matters is that a slow batch
  cannot take every core, so each capability has a semaphore (``concurrency``, default 2).
- A failed load is remembered in ``status()`` and raised as ``ModelUnavailable``; the next ``get`` retries.
- ``close()`` calls ``close()`` on every loaded model that has one (subprocess-backed engines need it).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fogbank.config import Config

log = logging.getLogger("fogbank.models")

R = TypeVar("R")

DEFAULT_CONCURRENCY = 2


class ModelUnavailable(RuntimeError):
    """A capability has no model, or its model could not be loaded (the message says why)."""


@dataclass
class _Entry:
    capability: str
    name: str
    loader: Callable[[], Any]
    describe: str
    override: Callable[[Path], Any] | None
    override_path: Path | None
    semaphore: threading.BoundedSemaphore
    concurrency: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    model: Any = None
    loaded: bool = False
    load_seconds: float | None = None
    memory_bytes: int | None = None
    error: str | None = None
    calls: int = 0
    busy_seconds: float = 0.0


class ModelRegistry:
    """Holds every capability's model; one instance per server."""

    def __init__(self, config: Config | None = None, overrides: dict[str, str] | None = None) -> None:
        self.config = config
        self.overrides = {k: Path(v).expanduser() for k, v in (overrides or {}).items() if v}
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        # Bytes loaded by nested loads (a PII engine loading the spaCy pipeline it wraps), per thread, so
        # that each capability reports only its own share of memory.
        self._nested = threading.local()

    # ------------------------------------------------------------------ registration

    def register(self, capability: str, name: str, loader: Callable[[], Any], describe: str = "", *,
                 override: Callable[[Path], Any] | None = None, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        """Declares the default model of a capability; registering the same capability again is a no-op
        so that two providers sharing a capability (language id) need not coordinate."""
        with self._lock:
            if capability in self._entries:
                return
            path = self.overrides.get(capability)
            if path is not None:
                name = str(path)
            self._entries[capability] = _Entry(capability, name, loader, describe, override, path,
                                               threading.BoundedSemaphore(max(1, concurrency)), max(1, concurrency))

    def unregister(self, capability: str) -> None:
        """Forgets a capability and closes its model (per-resource models: a deleted endpoint's classifier)."""
        with self._lock:
            entry = self._entries.pop(capability, None)
        if entry is not None and entry.loaded:
            closer = getattr(entry.model, "close", None)
            if callable(closer):
                closer()

    def has(self, capability: str) -> bool:
        return capability in self._entries

    def name(self, capability: str) -> str:
        """The model's name as logs and status show it (the override path when overridden)."""
        return self._entry(capability).name

    def _entry(self, capability: str) -> _Entry:
        entry = self._entries.get(capability)
        if entry is None:
            raise ModelUnavailable(f"no model is registered for capability {capability!r}")
        return entry

    # ------------------------------------------------------------------ loading and running

    def get(self, capability: str) -> Any:
        """The capability's model, loaded on first use (once, even when many threads ask at the same time)."""
        entry = self._entry(capability)
        if entry.loaded:
            return entry.model
        with entry.lock:
            if entry.loaded:
                return entry.model
            before = _rss_bytes()
            started = time.perf_counter()
            outer_nested = getattr(self._nested, "bytes", 0)
            self._nested.bytes = 0
            try:
                if entry.override_path is not None:
                    if entry.override is None:
                        raise ModelUnavailable(f"capability {capability!r} cannot be replaced by a local model")
                    if not entry.override_path.exists():
                        raise ModelUnavailable(f"the model configured for {capability!r} does not exist: "
                                               f"{entry.override_path}")
                    model = entry.override(entry.override_path)
                else:
                    model = entry.loader()
            except Exception as exc:
                self._nested.bytes = outer_nested
                entry.error = f"{type(exc).__name__}: {exc}"
                log.exception("loading model %s for %s failed", entry.name, capability)
                if isinstance(exc, ModelUnavailable):
                    raise
                raise ModelUnavailable(f"the model {entry.name} for {capability} could not be loaded: {exc}") from exc
            entry.load_seconds = round(time.perf_counter() - started, 3)
            after = _rss_bytes()
            inner = self._nested.bytes
            total = max(0, after - before) if before is not None and after is not None else 0
            entry.memory_bytes = max(0, total - inner) if before is not None and after is not None else None
            self._nested.bytes = outer_nested + total
            entry.model = model
            entry.error = None
            entry.loaded = True
            log.info("model %s loaded for %s in %.2f s", entry.name, capability, entry.load_seconds)
            return model

    def run(self, capability: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Calls ``fn(model, *args, **kwargs)`` while holding one of the capability's inference slots."""
        model = self.get(capability)
        entry = self._entries[capability]
        with entry.semaphore:
            started = time.perf_counter()
            try:
                return fn(model, *args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                with self._stats_lock:
                    entry.calls += 1
                    entry.busy_seconds += elapsed

    # ------------------------------------------------------------------ reporting and lifecycle

    def status(self) -> dict[str, dict[str, Any]]:
        """Which model backs which capability, whether it is loaded, and roughly what it costs in memory."""
        report: dict[str, dict[str, Any]] = {}
        for capability, entry in sorted(self._entries.items()):
            item: dict[str, Any] = {"model": entry.name, "loaded": entry.loaded, "concurrency": entry.concurrency}
            if entry.describe:
                item["describe"] = entry.describe
            if entry.override_path is not None:
                item["source"] = "override"
            if entry.loaded:
                item["load_seconds"] = entry.load_seconds
                if entry.memory_bytes is not None:
                    item["memory_mb"] = round(entry.memory_bytes / (1024 * 1024), 1)
                item["inferences"] = entry.calls
                item["busy_seconds"] = round(entry.busy_seconds, 3)
            if entry.error:
                item["error"] = entry.error
            report[capability] = item
        return report

    def close(self) -> None:
        for entry in self._entries.values():
            closer = getattr(entry.model, "close", None) if entry.loaded else None
            if callable(closer):
                try:
                    closer()
                except Exception:
                    log.exception("closing model %s failed", entry.name)
            entry.model = None
            entry.loaded = False


def _rss_bytes() -> int | None:
    """Resident memory of this process; the delta around a load approximates the model's size."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
