"""Key phrases: the noun phrases a text is about, with character offsets.

English uses the noun chunks of the shared spaCy pipeline (a noun phrase with its determiner and modifiers,
the shape Comprehend answers with). Languages with a configured spaCy pipeline use it the same way. Other
languages use RAKE (rapid automatic keyword extraction: candidate phrases are the runs of words between stop
words and punctuation, scored by word co-occurrence degree over frequency) on spaCy's tokenizer and stop-word
list for the language, which ship with spaCy itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fogbank.engines.models import nlp as nlp_models
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable

CAPABILITY = "keyphrases-rake"
RAKE_LANGUAGES = ("es", "fr", "de", "it", "pt", "ar", "hi", "nl")
MAX_PHRASE_WORDS = 4


@dataclass(frozen=True)
class Phrase:
    text: str
    begin: int
    end: int
    score: float


@dataclass
class RakeModel:
    """spaCy tokenizers (blank pipelines: tokenizer and stop words only) per language, built on demand."""

    name: str
    tokenizers: dict[str, Any]

    def extract(self, language: str, text: str, top: int = 20) -> list[Phrase]:
        tokenizer = self.tokenizers.get(language)
        if tokenizer is None:
            import spacy

            tokenizer = self.tokenizers.setdefault(language, spacy.blank(language))
        doc = tokenizer(text)
        candidates: list[list[Any]] = []
        run: list[Any] = []
        for token in doc:
            if token.is_stop or token.is_punct or token.is_space or not any(ch.isalnum() for ch in token.text):
                if run:
                    candidates.append(run)
                run = []
            else:
                run.append(token)
                if len(run) == MAX_PHRASE_WORDS:
                    candidates.append(run)
                    run = []
        if run:
            candidates.append(run)
        frequency: dict[str, int] = defaultdict(int)
        degree: dict[str, int] = defaultdict(int)
        for phrase in candidates:
            for token in phrase:
                frequency[token.lower_] += 1
                degree[token.lower_] += len(phrase)
        scored = []
        for phrase in candidates:
            raw = sum(degree[t.lower_] / frequency[t.lower_] for t in phrase)
            begin, end = phrase[0].idx, phrase[-1].idx + len(phrase[-1].text)
            scored.append((raw, begin, end))
        best = sorted(scored, key=lambda item: -item[0])[:top]
        high = max((raw for raw, _, _ in best), default=1.0)
        return sorted((Phrase(text[b:e], b, e, round(0.6 + 0.39 * raw / high, 4)) for raw, b, e in best),
                      key=lambda p: p.begin)


def _load_rake() -> RakeModel:
    return RakeModel("RAKE on spaCy tokenizers and stop words", {})


def register(registry: ModelRegistry) -> None:
    registry.register(CAPABILITY, "RAKE on spaCy stop words", _load_rake,
                      "key phrases for languages without a spaCy pipeline", concurrency=2)


def supports(registry: ModelRegistry, language: str) -> bool:
    return language in RAKE_LANGUAGES or nlp_models.supports(registry, language)


def extract(registry: ModelRegistry, language: str, texts: list[str]) -> list[list[Phrase]]:
    if nlp_models.supports(registry, language):
        analyses = nlp_models.analyze(registry, language, texts)
        return [[Phrase(c.text, c.begin, c.end, c.score) for c in a.noun_chunks if c.label != "PRON"]
                for a in analyses]
    if language not in RAKE_LANGUAGES:
        raise ModelUnavailable(f"no key phrase model is installed for {language}")
    register(registry)
    return registry.run(CAPABILITY, lambda model, ts: [model.extract(language, t) for t in ts], texts)
