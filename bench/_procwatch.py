"""Memory and CPU of a server process and all its descendants, read from /proc.

A server may fork workers or helpers, so every figure is summed over the whole process tree: a server
that keeps its memory in a child must not look lighter than one that keeps it in-process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> list[int]:
    """`root` and every live process below it (children are listed per thread in /proc)."""
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.append(pid)
        try:
            tasks = list((_PROC / str(pid) / "task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            todo.extend(int(c) for c in children)
    return found


def rss_bytes(pid: int) -> int:
    """VmRSS of one process; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and of its reaped children."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    # fields[0] is field 3 (state) of proc(5); utime, stime, cutime, cstime are fields 14 to 17.
    return sum(int(v) for v in fields[11:15]) / _TICKS


class TreeWatcher:
    """Samples the tree's summed RSS every `interval` seconds in a background thread, keeping the peak."""

    def __init__(self, root: int, interval: float = 0.1, rescan_every: int = 10) -> None:
        self.root = root
        self.interval = interval
        self.rescan_every = rescan_every
        self.peak_rss = 0
        self.samples = 0
        self._pids: list[int] = [root]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{root}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> int:
        """Current summed RSS of the tree (rescanning the tree first); also updates the peak."""
        self._pids = descendants(self.root)
        return self._record()

    def _record(self) -> int:
        total = sum(rss_bytes(p) for p in self._pids)
        self.peak_rss = max(self.peak_rss, total)
        self.samples += 1
        return total

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p) for p in descendants(self.root))

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            if n % self.rescan_every == 0:
                self._pids = descendants(self.root)
            self._record()
            n += 1
            self._stop.wait(self.interval)
