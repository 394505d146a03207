"""Personally identifiable information: Microsoft Presidio's recognizers on the shared spaCy pipeline.

Presidio (``presidio-analyzer``, MIT) finds names and places through spaCy's entities and everything
with a shape (cards with a Luhn check, IBANs, phone numbers, e-mail, IP and MAC addresses, SSNs...) through
validated patterns. Two things are changed so that it runs offline and shares memory:

- its spaCy engine is handed the already loaded ``nlp-en`` pipeline instead of loading (or downloading) one;
- e-mail validation uses tldextract's bundled suffix snapshot instead of fetching the public suffix list.

Recognizers are added for what Presidio lacks: values announced by a keyword (PIN, password, user name,
CVV, expiry, routing and account numbers, passport and driver ids, licence plates, SWIFT codes), AWS access
keys and secrets, vehicle identification numbers, and street addresses. Labels are Presidio's entity names
(PERSON, EMAIL_ADDRESS, ...) or, for the added recognizers, the names given below.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from fogbank.engines.models import nlp as nlp_models
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable

CAPABILITY = "pii-en"

# (label, regex with a named group "value", score): the value is what is reported, the rest is context.
_KEYWORD_PATTERNS: list[tuple[str, str, float]] = [
    ("PIN", r"\b(?:pin|pin code|pin number)\s*(?:is|:|#|=)?\s*(?P<value>\d{4,8})\b", 0.9),
    ("PASSWORD", r"\b(?:password|passwd|pwd|passcode)\s*(?:is|:|=)\s*(?P<value>[^\s,;]{4,64})", 0.9),
    ("USERNAME", r"\b(?:user\s?name|username|user id|login|handle)\s*(?:is|:|=)\s*(?P<value>@?[\w.\-]{3,64})", 0.85),
    ("CREDIT_DEBIT_CVV", r"\b(?:cvv2?|cvc2?|cid|security code)\s*(?:is|:|#|=)?\s*(?P<value>\d{3,4})\b", 0.9),
    ("CREDIT_DEBIT_EXPIRY",
     r"\b(?:exp(?:iry|iration)?(?:\s+date)?|expires|valid thru|good thru)\s*(?:is|on|:)?\s*"
     r"(?P<value>(?:0[1-9]|1[0-2])\s*/\s*(?:\d{4}|\d{2}))\b", 0.9),
    ("BANK_ROUTING", r"\b(?:routing|aba|transit)(?:\s+(?:number|no\.?|#))?\s*(?:is|:|#)?\s*(?P<value>[\dX]{9})\b",
     0.9),
    ("BANK_ACCOUNT_NUMBER",
     r"\b(?:bank\s+)?account(?:\s+(?:number|no\.?|#))\s*(?:is|:|#)?\s*(?P<value>[\dX]{6,17})\b", 0.85),
    ("PASSPORT_NUMBER", r"\bpassport(?:\s+(?:number|no\.?|#))?\s*(?:is|:|#)?\s*(?P<value>[A-Z0-9]{6,9})\b", 0.9),
    ("DRIVER_ID",
     r"\bdriver'?s?\s+licen[cs]e(?:\s+(?:number|no\.?|#|id))?\s*(?:is|:|#)?\s*(?P<value>[A-Z0-9\-]{5,16})\b", 0.9),
    ("LICENSE_PLATE", r"\b(?:license|licence|number)\s+plate(?:\s+(?:number|no\.?))?\s*(?:is|:|#)?\s*"
                      r"(?P<value>[A-Z0-9][A-Z0-9 \-]{1,8}[A-Z0-9])\b", 0.85),
    ("SWIFT_CODE", r"\b(?:swift|bic)(?:\s+code)?\s*(?:is|:|#)?\s*(?P<value>[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b",
     0.9),
    ("AGE", r"\b(?:aged?|age of)\s*(?:is|:)?\s*(?P<value>\d{1,3})\b", 0.9),
    ("AGE", r"\b(?P<value>\d{1,3})[\s-]+years?[\s-]+old\b", 0.9),
]
_PLAIN_PATTERNS: list[tuple[str, str, float]] = [
    ("AWS_ACCESS_KEY", r"\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b", 0.95),
    ("AWS_SECRET_KEY", r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]{0,39}[0-9])(?=[A-Za-z0-9/+=]{0,39}[a-z])"
                       r"(?=[A-Za-z0-9/+=]{0,39}[A-Z])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])", 0.7),
    ("VEHICLE_IDENTIFICATION_NUMBER", r"\b(?=[A-HJ-NPR-Z0-9]{0,16}\d)(?=[A-HJ-NPR-Z0-9]{0,16}[A-HJ-NPR-Z])"
                                      r"[A-HJ-NPR-Z0-9]{17}\b", 0.75),
    ("STREET_ADDRESS", r"\b\d{1,6}\s+(?:[A-Z][A-Za-z]+\.?\s+){1,4}(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|"
                       r"Drive|Ln|Lane|Way|Ct|Court|Pl|Place|Sq|Square|Pkwy|Parkway|Hwy|Highway|Terrace|Ter)\b\.?",
     0.85),
]


@dataclass(frozen=True)
class PiiSpan:
    begin: int
    end: int
    label: str
    score: float


@dataclass
class PiiModel:
    name: str
    analyzer: Any

    def detect(self, text: str, threshold: float = 0.35) -> list[PiiSpan]:
        results = self.analyzer.analyze(text, language="en", score_threshold=threshold)
        spans = [PiiSpan(r.start, r.end, r.entity_type, float(r.score)) for r in results]
        return _join_addresses(text, _without_overlaps(spans))


def _without_overlaps(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Keeps the surest of overlapping findings (an e-mail beats the URL and name found inside it)."""
    chosen: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (-s.score, -(s.end - s.begin), s.begin)):
        if all(span.end <= c.begin or span.begin >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.begin)


def _join_addresses(text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
    """A street address followed by ", City" (", State"...) is one address, as a person reads it."""
    out: list[PiiSpan] = []
    for span in spans:
        last = out[-1] if out else None
        if (last is not None and last.label == "STREET_ADDRESS" and span.label == "LOCATION"
                and re.fullmatch(r",?\s*", text[last.end:span.begin])):
            out[-1] = PiiSpan(last.begin, span.end, "STREET_ADDRESS", max(last.score, span.score))
        else:
            out.append(span)
    return out


def _build(nlp_model: nlp_models.NlpModel) -> PiiModel:
    import tldextract
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer import RecognizerResult as Result
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    class PreloadedSpacyEngine(SpacyNlpEngine):
        """Presidio's spaCy engine over a pipeline that is already loaded (never spacy.load / download)."""

        def __init__(self, nlp: Any) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "preloaded"}])
            self.nlp = {"en": nlp}  # type: ignore[assignment]

        def load(self) -> None:
            return None

    offline_tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline_tld(pattern_text).fqdn != ""

    class KeywordValueRecognizer(EntityRecognizer):
        """A value that a keyword announces ("PIN: 1234"): only the value is reported."""

        def __init__(self, label: str, regex: str, score: float) -> None:
            self.regex = re.compile(regex, re.IGNORECASE)
            self.score = score
            super().__init__(supported_entities=[label], name=f"fogbank {label} {len(regex)}",
                             supported_language="en")

        def load(self) -> None:
            return None

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            found = []
            for match in self.regex.finditer(text):
                start, end = match.span("value")
                found.append(Result(self.supported_entities[0], start, end, self.score))
            return found

    # Presidio warns about every recognizer of a language not asked for; only errors are worth a log line.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    engine = PreloadedSpacyEngine(nlp_model.nlp)
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    for label, regex, score in _KEYWORD_PATTERNS:
        registry.add_recognizer(KeywordValueRecognizer(label, regex, score))
    for label, regex, score in _PLAIN_PATTERNS:
        registry.add_recognizer(PatternRecognizer(supported_entity=label, name=f"fogbank {label}",
                                                  patterns=[Pattern(label, regex, score)]))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
    return PiiModel(f"presidio-analyzer on {nlp_model.name}", analyzer)


def register(registry: ModelRegistry) -> None:
    nlp_models.register(registry, "en")

    def load() -> PiiModel:
        return _build(registry.get(nlp_models.capability("en")))

    registry.register(CAPABILITY, "presidio-analyzer 2.2 on spaCy en_core_web_sm", load,
                      "PII: Presidio recognizers and fogbank patterns, English")


def detect(registry: ModelRegistry, language: str, texts: list[str]) -> list[list[PiiSpan]]:
    if language != "en":
        raise ModelUnavailable(f"no PII model is installed for {language}")
    register(registry)
    return registry.run(CAPABILITY, lambda model, ts: [model.detect(t) for t in ts], texts)
