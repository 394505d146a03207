"""Document sentiment as four probabilities: positive, negative, neutral and mixed.

The default is VADER (``vaderSentiment``, a lexicon and rule model for English, MIT). VADER scores one
polarity; the four classes are derived from it clause by clause, so that a text with a strongly positive
clause and a strongly negative one ("I love the food but the service was terrible") is MIXED rather than
averaging out to neutral. A configured Hugging Face / ONNX sentiment classifier replaces it; its labels are
mapped by name (positive / negative / neutral / mixed, star ratings, or the usual LABEL_0..2 order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fogbank.engines.models.formats import TextClassifier, load_text_classifier
from fogbank.engines.models.registry import ModelRegistry

CAPABILITY = "sentiment"
CLASSES = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")

# Where a text turns: sentence ends and contrastive conjunctions start a new clause.
_CLAUSE_BREAK = re.compile(r"(?<=[.!?;])\s+|\s*[,;]?\s+\b(?:but|however|although|though|whereas|yet|except)\b\s*",
                           re.IGNORECASE)
_STRONG = 0.25
_SHARPNESS = 6.0
# Below this polarity a text reads as neutral (VADER's own 0.05 threshold calls nearly everything polar).
_NEUTRAL_BAND = 0.6


@dataclass(frozen=True)
class Sentiment:
    positive: float
    negative: float
    neutral: float
    mixed: float

    @property
    def label(self) -> str:
        scores = dict(zip(CLASSES, (self.positive, self.negative, self.neutral, self.mixed), strict=True))
        return max(scores, key=lambda k: scores[k])


@dataclass
class SentimentModel:
    """A loaded sentiment model: ``score`` gives the four probabilities of each text."""

    name: str
    _score: Callable[[list[str]], list[Sentiment]]

    def score(self, texts: list[str]) -> list[Sentiment]:
        return self._score(texts)


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp((v - top) * _SHARPNESS) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def clauses(text: str) -> list[str]:
    return [part.strip() for part in _CLAUSE_BREAK.split(text) if part and part.strip()]


def load_vader() -> SentimentModel:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def one(text: str) -> Sentiment:
        overall = float(analyzer.polarity_scores(text)["compound"])
        parts = [float(analyzer.polarity_scores(c)["compound"]) for c in clauses(text)] or [overall]
        strongest_pos = max(0.0, *parts)
        strongest_neg = max(0.0, *(-p for p in parts))
        both = min(strongest_pos, strongest_neg)
        mixed = 2.0 * both if both >= _STRONG else 0.5 * both
        positive = max(overall, 0.0) + 0.3 * strongest_pos
        negative = max(-overall, 0.0) + 0.3 * strongest_neg
        neutral = max(0.0, _NEUTRAL_BAND - max(strongest_pos, strongest_neg, abs(overall)))
        pos, neg, neu, mix = _softmax([positive, negative, neutral, mixed])
        return Sentiment(pos, neg, neu, mix)

    return SentimentModel("vaderSentiment 3.3.2", lambda texts: [one(t) for t in texts])


def _class_of(label: str, index: int, count: int) -> str | None:
    low = label.lower().replace("_", " ").strip()
    if "mix" in low:
        return "MIXED"
    if low.startswith("pos") or low in ("good", "4 stars", "5 stars"):
        return "POSITIVE"
    if low.startswith("neg") or low in ("bad", "1 star", "2 stars"):
        return "NEGATIVE"
    if low.startswith("neu") or low == "3 stars":
        return "NEUTRAL"
    if low.startswith("label "):
        order = {2: ("NEGATIVE", "POSITIVE"), 3: ("NEGATIVE", "NEUTRAL", "POSITIVE")}.get(count)
        if order is not None and index < len(order):
            return order[index]
    return None


def from_classifier(classifier: TextClassifier) -> SentimentModel:
    mapping = {label: _class_of(label, i, len(classifier.labels)) for i, label in enumerate(classifier.labels)}
    unknown = [label for label, cls in mapping.items() if cls is None]
    if unknown:
        from fogbank.engines.models.registry import ModelUnavailable

        raise ModelUnavailable(f"the sentiment model {classifier.name} has labels fogbank cannot map: {unknown}")

    def score(texts: list[str]) -> list[Sentiment]:
        out = []
        for probs in classifier.predict(texts):
            totals = dict.fromkeys(CLASSES, 0.0)
            for label, p in probs.items():
                totals[mapping[label] or "NEUTRAL"] += p
            if "MIXED" not in mapping.values() and min(totals["POSITIVE"], totals["NEGATIVE"]) >= 0.3:
                shift = min(totals["POSITIVE"], totals["NEGATIVE"])
                totals["MIXED"] = 2 * shift
                totals["POSITIVE"] -= shift
                totals["NEGATIVE"] -= shift
            total = sum(totals.values()) or 1.0
            out.append(Sentiment(*(totals[c] / total for c in CLASSES)))
        return out

    return SentimentModel(classifier.name, score)


def load_override(path: Path) -> SentimentModel:
    return from_classifier(load_text_classifier(path))


def register(registry: ModelRegistry) -> None:
    registry.register(CAPABILITY, "vaderSentiment 3.3.2", load_vader, "sentiment, English (lexicon and rules)",
                      override=load_override, concurrency=4)


def score(registry: ModelRegistry, texts: list[str]) -> list[Sentiment]:
    register(registry)
    return registry.run(CAPABILITY, lambda model, t: model.score(t), texts)
