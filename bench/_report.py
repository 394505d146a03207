"""Turns one run's measurements into markdown: per-target figures, fogbank/best-peer ratios, and goals.

Ratios taken within one run on one machine are the figures that count; absolute numbers on a shared
machine are context only.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from _disk import DiskResult
from _workload import LargeResult, PhaseResult

FOGBANK = "fogbank"
T = TypeVar("T")


@dataclass
class TargetResult:
    name: str
    version: str = "?"
    notes: list[str] = field(default_factory=list)
    error: str = ""
    startup_s: float | None = None
    idle_rss: int | None = None
    peak_rss: int | None = None
    phases: dict[tuple[str, int], PhaseResult] = field(default_factory=dict)
    large: dict[str, LargeResult] = field(default_factory=dict)
    rounds: int = 1
    round_problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Metric:
    label: str
    value: Callable[[TargetResult], float | None]
    higher_is_better: bool
    digits: int


def _phase(op: str, threads: int, what: str) -> Callable[[TargetResult], float | None]:
    def get(r: TargetResult) -> float | None:
        p = r.phases.get((op, threads))
        if p is None:
            return None
        return p.ops_per_s if what == "ops" else p.cpu_us_per_op
    return get


def _large(op: str) -> Callable[[TargetResult], float | None]:
    def get(r: TargetResult) -> float | None:
        res = r.large.get(op)
        return res.mb_per_s if res else None
    return get


def _mb(v: int | None) -> float | None:
    return v / 1e6 if v else None


def metrics(threads: list[int], large_mib: int) -> list[Metric]:
    rows: list[Metric] = []
    for op in ("PUT", "GET"):
        for t in threads:
            unit = "thread" if t == 1 else "threads"
            rows.append(Metric(f"4 KiB {op}, {t} {unit} (ops/s)", _phase(op, t, "ops"), True, 0))
    for op in ("PUT", "GET"):
        t = max(threads)
        rows.append(Metric(f"server CPU per 4 KiB {op}, {t} threads (µs)", _phase(op, t, "cpu"), False, 0))
    rows.append(Metric(f"{large_mib} MiB PUT (MB/s)", _large("PUT"), True, 1))
    rows.append(Metric(f"{large_mib} MiB GET (MB/s)", _large("GET"), True, 1))
    rows.append(Metric("server RSS when idle (MB)", lambda r: _mb(r.idle_rss), False, 1))
    rows.append(Metric("server RSS peak (MB)", lambda r: _mb(r.peak_rss), False, 1))
    rows.append(Metric("start-up until healthy (s)", lambda r: r.startup_s, False, 2))
    return rows


def _fmt(v: float | None, digits: int) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def best_peer(values: list[float | None], higher_is_better: bool) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return max(present) if higher_is_better else min(present)


def ratio(ours: float | None, best: float | None) -> float | None:
    if ours is None or best is None or best == 0:
        return None
    return ours / best


def results_table(results: list[TargetResult], threads: list[int], large_mib: int) -> str:
    peers = [r for r in results if r.name != FOGBANK]
    ours = next((r for r in results if r.name == FOGBANK), None)
    head = ["metric", *[f"{r.name} {r.version}" for r in results]]
    if ours is not None and peers:
        head.append("fogbank / best peer")
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for m in metrics(threads, large_mib):
        cells = [m.label]
        for r in results:
            cells.append("failed" if r.error else _fmt(m.value(r), m.digits))
        if ours is not None and peers:
            rat = None
            if not ours.error:
                rat = ratio(m.value(ours), best_peer([m.value(p) for p in peers if not p.error],
                                                     m.higher_is_better))
            cells.append("—" if rat is None else f"{rat:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def disk_table(disk: DiskResult) -> str:
    runs = ", ".join(f"{v:,.0f}" for v in disk.write_runs)
    return "\n".join([
        "| raw disk, same filesystem | value |",
        "|---|---:|",
        f"| {disk.write_size / 2**20:.0f} MiB write + fsync, median of {len(disk.write_runs)} runs "
        f"({runs}) (MB/s) | {_fmt(disk.write_mb_s, 1)} |",
        f"| 4 KiB file create + write + fsync (files/s) | {_fmt(disk.files_per_s, 0)} |",
    ])


def goals_table(results: list[TargetResult], disk: DiskResult, threads: list[int], large_mib: int) -> str:
    """The issue's targets, each with the measured figure and PASS/FAIL (n/a when it could not be judged)."""
    ours = next((r for r in results if r.name == FOGBANK and not r.error), None)
    peers = [r for r in results if r.name != FOGBANK and not r.error]
    rows: list[tuple[str, str, float | None, bool | None, str]] = []
    for op in ("PUT", "GET"):
        for t in threads:
            get = _phase(op, t, "ops")
            mine = get(ours) if ours else None
            rat = ratio(mine, best_peer([get(p) for p in peers], True))
            rows.append((f"4 KiB {op}, {t} thread{'s' if t > 1 else ''}: fogbank / better peer", "≥ 2.00x",
                         rat, None if rat is None else rat >= 2.0, "x"))
    get_mb = ours.large["GET"].mb_per_s if ours and "GET" in ours.large else None
    rows.append((f"{large_mib} MiB GET", "≥ 1,000 MB/s", get_mb,
                 None if get_mb is None else get_mb >= 1000.0, " MB/s"))
    put_mb = ours.large["PUT"].mb_per_s if ours and "PUT" in ours.large else None
    put_rat = ratio(put_mb, disk.write_mb_s)
    rows.append((f"{large_mib} MiB PUT / raw disk write+fsync", "≥ 0.80x", put_rat,
                 None if put_rat is None else put_rat >= 0.8, "x"))
    rss = _mb(ours.peak_rss) if ours else None
    rows.append(("fogbank peak RSS", "< 150 MB", rss, None if rss is None else rss < 150.0, " MB"))
    lines = ["| goal | needed | measured | result |", "|---|---|---:|---|"]
    for label, need, value, passed, unit in rows:
        shown = "—" if value is None else (f"{value:.2f}{unit}" if unit == "x" else f"{value:,.1f}{unit}")
        verdict = "n/a" if passed is None else ("PASS" if passed else "FAIL")
        lines.append(f"| {label} | {need} | {shown} | {verdict} |")
    return "\n".join(lines)


def problems(r: TargetResult) -> list[str]:
    """Everything that went wrong in one run of a target, one line each."""
    out: list[str] = []
    if r.error:
        out.append(f"FAILED: {r.error.splitlines()[0]}")
    for p in r.phases.values():
        if p.errors:
            out.append(f"4 KiB {p.op} x{p.threads}: {p.errors} error(s), first: {p.first_error}")
        elif not p.ok and p.first_error:
            out.append(f"4 KiB {p.op} x{p.threads}: {p.first_error}")
    out.extend(f"large {big.op}: {big.error}" for big in r.large.values() if big.error)
    return out


def notes(results: list[TargetResult]) -> str:
    """Configuration of each target and anything that went wrong, so no figure is read out of context."""
    out: list[str] = []
    for r in results:
        out.extend(f"- {r.name}: {n}" for n in r.notes)
        out.extend(f"- {r.name}: {p}" for p in (r.round_problems if r.rounds > 1 else problems(r)))
    return "\n".join(out)


def _lower_median(items: list[T], key: Callable[[T], float | None]) -> T:
    ranked = sorted(items, key=lambda x: key(x) or 0.0)
    return ranked[(len(ranked) - 1) // 2]


def merge_rounds(rounds: list[TargetResult]) -> TargetResult:
    """One figure per metric from several rounds of a target: the median round's, so an outlier on a
    shared machine moves nothing; peak RSS is the highest seen in any round."""
    if len(rounds) == 1:
        return rounds[0]
    first = rounds[0]
    good = [r for r in rounds if not r.error]
    merged = TargetResult(first.name, first.version, list(first.notes), rounds=len(rounds))
    merged.notes.append(f"median of {len(good)} successful round(s) out of {len(rounds)}; RSS peak is the highest")
    merged.round_problems = [f"round {i + 1}: {p}" for i, r in enumerate(rounds) for p in problems(r)]
    if not good:
        merged.error = first.error
        return merged
    for key in {k for r in good for k in r.phases}:
        merged.phases[key] = _lower_median([r.phases[key] for r in good if key in r.phases],
                                           lambda p: p.ops_per_s)
    for op in {k for r in good for k in r.large}:
        merged.large[op] = _lower_median([r.large[op] for r in good if op in r.large], lambda b: b.mb_per_s)
    merged.idle_rss = _lower_median(good, lambda r: r.idle_rss).idle_rss
    merged.startup_s = _lower_median(good, lambda r: r.startup_s).startup_s
    merged.peak_rss = max((r.peak_rss or 0 for r in good), default=0) or None
    return merged


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _filesystem(folder: Path) -> str:
    """Type and device of the mount that holds `folder`: the figures depend on it."""
    best = ("", "?", "?")
    target = str(folder.resolve())
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = parts[1]
        if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
            best = (mnt, parts[2], parts[0])
    return f"{best[1]} ({best[2]} on {best[0]})"


def utc_date() -> str:
    try:
        return subprocess.run(["date", "-u"], capture_output=True, text=True, timeout=5,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())


def machine(folder: Path) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem_kib = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                    if line.startswith("MemTotal:")), 0)
    return (f"nproc {len(os.sched_getaffinity(0))}, RAM {mem_kib / 2**20:.1f} GiB, CPU {cpu}, "
            f"kernel {platform.release()}, Python {platform.python_version()}, "
            f"data on {_filesystem(folder)}")


def render(
    results: list[TargetResult], disk: DiskResult, threads: list[int], large_mib: int, duration: float,
    date: str, machine_line: str,
) -> str:
    parts = [
        f"## S3 benchmark — {date}",
        "",
        f"Machine: {machine_line}.",
        f"Small-object phases: {duration:g} s each, 4 KiB bodies, one keep-alive connection per client "
        "thread, SigV4 with UNSIGNED-PAYLOAD. MB = 10^6 bytes.",
        "",
        results_table(results, threads, large_mib),
        "",
        "For server CPU, RSS and start-up lower is better, and the best peer is the lowest.",
        "",
        disk_table(disk),
    ]
    if any(r.name == FOGBANK for r in results):
        parts += ["", goals_table(results, disk, threads, large_mib)]
    extra = notes(results)
    if extra:
        parts += ["", extra]
    return "\n".join(parts) + "\n"
