"""The one background thread per server that delivers every delivery stream's due batches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fogbank.services.firehose.runtime import StreamRuntime

log = logging.getLogger("fogbank.firehose")


class Flusher:
    """Visits every stream each tick (or at once when woken); keeps going while any stream has batches due."""

    def __init__(self, streams: Callable[[], list[StreamRuntime]], deliver: Callable[[StreamRuntime], bool],
                 tick: float = 0.1) -> None:
        self._streams = streams
        self._deliver = deliver
        self._tick = tick
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fogbank-firehose-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        worked = False
        while not self._stop.is_set():
            if not worked:
                self._wake.wait(self._tick)
                self._wake.clear()
            worked = False
            for stream in self._streams():
                if self._stop.is_set():
                    return
                try:
                    worked = self._deliver(stream) or worked
                except Exception:
                    log.exception("firehose flusher failed on delivery stream %s", stream.meta.name)
