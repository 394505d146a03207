"""Translation quality and throughput: chrF of Apertium on ``data.EN_ES`` (English -> Spanish, references
written for fogbank), plus the pivot route English -> Spanish -> English as a round-trip check, and
sentences per second. Appends to bench/RESULTS.md with --record.

    .venv/bin/python bench/quality/translation.py [--record]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).resolve().parent)]

from data import EN_ES  # noqa: E402
from metrics import chrf  # noqa: E402

from fogbank.engines.models.translation import load_default  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()
    engine = load_default()
    sources = [en for en, _ in EN_ES]
    references = [es for _, es in EN_ES]
    forward, back = engine.route("en", "es"), engine.route("es", "en")
    assert forward and back
    started = time.perf_counter()
    one_by_one = [engine.translate(text, forward) for text in sources]
    per_call = time.perf_counter() - started
    started = time.perf_counter()
    batched = engine.translate("\n".join(sources), forward).split("\n")
    per_batch = time.perf_counter() - started
    round_trip = [engine.translate(text, back) for text in one_by_one]
    lines = [
        "",
        f"## Translation (Apertium {', '.join(forward)}), {time.strftime('%Y-%m-%d')}",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| sentences (bench/quality/data.py EN_ES) | {len(sources)} |",
        f"| chrF en -> es | {chrf(references, one_by_one):.1f} |",
        f"| chrF en -> es -> en against the English source | {chrf(sources, round_trip):.1f} |",
        f"| sentences/s, one TranslateText-sized call each | {len(sources) / per_call:.1f} |",
        f"| sentences/s, one document of all sentences | {len(sources) / per_batch:.1f} |",
        f"| batched output identical to one-by-one | {batched == one_by_one} |",
    ]
    print("\n".join(lines))
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
