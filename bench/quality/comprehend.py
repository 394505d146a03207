"""Comprehend quality and throughput on fogbank's default offline models.

Sentiment accuracy (four classes) on ``comprehend_data.SENTIMENT`` and entity precision/recall/F1 (exact
text and type) on ``comprehend_data.ENTITIES``, both written for fogbank; then documents per second for each
built-in analysis, in process (the same Analyzer the server uses, without HTTP). Reproducible: the models are
deterministic and nothing is downloaded. Appends to bench/RESULTS.md with --record.

    .venv/bin/python bench/quality/comprehend.py [--record]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).resolve().parent)]

from comprehend_data import ENTITIES, SENTIMENT  # noqa: E402

from fogbank.engines.models.registry import ModelRegistry  # noqa: E402
from fogbank.services.comprehend.analysis import Analyzer  # noqa: E402

CLASSES = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")


def sentiment_quality(analyzer: Analyzer) -> tuple[float, dict[str, float], Counter[tuple[str, str]]]:
    texts = [t for t, _ in SENTIMENT]
    predicted = [r["Sentiment"] for r in analyzer.sentiment("en", texts)]
    gold = [g for _, g in SENTIMENT]
    confusion: Counter[tuple[str, str]] = Counter(zip(gold, predicted, strict=True))
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    per_class = {c: confusion[(c, c)] / max(1, sum(v for (g, _), v in confusion.items() if g == c)) for c in CLASSES}
    return accuracy, per_class, confusion


def entity_quality(analyzer: Analyzer) -> tuple[float, float, float]:
    texts = [t for t, _ in ENTITIES]
    results = analyzer.entities("en", texts)
    true_positive = predicted_count = gold_count = 0
    for (text, gold), result in zip(ENTITIES, results, strict=True):
        gold_set = {(text.index(g), text.index(g) + len(g), kind) for g, kind in gold}
        found = {(e["BeginOffset"], e["EndOffset"], e["Type"]) for e in result["Entities"]}
        true_positive += len(gold_set & found)
        predicted_count += len(found)
        gold_count += len(gold_set)
    precision = true_positive / max(1, predicted_count)
    recall = true_positive / max(1, gold_count)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return precision, recall, f1


def throughput(analyzer: Analyzer, repeat: int) -> dict[str, float]:
    docs = [t for t, _ in SENTIMENT] * repeat
    rates = {}
    for name in ("dominant_language", "sentiment", "key_phrases", "entities", "syntax", "pii_entities",
                 "targeted_sentiment"):
        method = getattr(analyzer, name)
        method("en", docs[:2])  # load the model first: throughput is for a warm server
        started = time.perf_counter()
        for start in range(0, len(docs), 25):
            method("en", docs[start:start + 25])
        rates[name] = len(docs) / (time.perf_counter() - started)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    parser.add_argument("--repeat", type=int, default=5, help="copies of the sentiment set for throughput")
    args = parser.parse_args()
    registry = ModelRegistry()
    analyzer = Analyzer(registry)
    accuracy, per_class, confusion = sentiment_quality(analyzer)
    precision, recall, f1 = entity_quality(analyzer)
    rates = throughput(analyzer, args.repeat)
    models = registry.status()
    lines = [
        "",
        f"## Comprehend (built-in offline models), {time.strftime('%Y-%m-%d')}",
        "",
        "Labelled sets: bench/quality/comprehend_data.py, sentences written for fogbank (no external corpus).",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| sentiment accuracy, 4 classes, {len(SENTIMENT)} sentences ({models['sentiment']['model']}) "
        f"| {accuracy:.1%} |",
        *[f"| sentiment recall {c} | {per_class[c]:.1%} |" for c in CLASSES],
        f"| entity precision, exact span and type, {sum(len(g) for _, g in ENTITIES)} entities "
        f"({models['nlp-en']['model']}) | {precision:.1%} |",
        f"| entity recall | {recall:.1%} |",
        f"| entity F1 | {f1:.1%} |",
        *[f"| {name} documents/s (batches of 25, in process) | {rate:,.0f} |" for name, rate in rates.items()],
        "",
        "Sentiment confusion (gold -> predicted): "
        + ", ".join(f"{g}->{p}: {n}" for (g, p), n in sorted(confusion.items()) if g != p),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
