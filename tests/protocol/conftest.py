"""Prints the AWS protocol compliance tally (from the test reports, so it also works under xdist)."""

from __future__ import annotations

import re

import pytest

_CASE = re.compile(r"test_compliance\.py::test_(input|output)_case\[([^:\]]+):")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tally: dict[str, dict[str, dict[str, int]]] = {}
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            match = _CASE.search(getattr(report, "nodeid", ""))
            if match is None or (outcome == "passed" and getattr(report, "when", "call") != "call"):
                continue
            kind, stem = match.groups()
            counts = tally.setdefault(kind, {}).setdefault(stem, {"passed": 0, "failed": 0, "skipped": 0})
            counts[outcome] += 1
    if not tally:
        return
    terminalreporter.section("AWS protocol compliance (fogbank parses requests, botocore reads responses)")
    for kind in ("input", "output"):
        stems = tally.get(kind, {})
        totals = {k: sum(c[k] for c in stems.values()) for k in ("passed", "failed", "skipped")}
        terminalreporter.write_line(f"{kind}: {totals['passed']} passed, {totals['failed']} failed, "
                                    f"{totals['skipped']} skipped")
        for stem, counts in sorted(stems.items()):
            terminalreporter.write_line(f"  {stem:42} {counts['passed']:4} passed {counts['failed']:3} failed "
                                        f"{counts['skipped']:3} skipped")
