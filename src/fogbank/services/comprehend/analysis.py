"""The built-in Comprehend analyses: model output from engines/models shaped as Comprehend answers.

Each analysis takes a language and a list of texts and gives one result dict per text, so the single,
batch and asynchronous operations share one code path. Size limits and language support are checked by
the caller (limits.py); this module maps labels: OntoNotes entity labels to Comprehend's entity types,
Presidio's PII labels to Comprehend's PII types, Universal Dependencies tags to Comprehend's tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fogbank.engines.models import keyphrases, language_id, nlp, pii, sentiment
from fogbank.engines.models.registry import ModelRegistry

Result = dict[str, Any]

ENTITY_TYPES = {
    "PERSON": "PERSON", "NORP": "OTHER", "FAC": "LOCATION", "ORG": "ORGANIZATION", "GPE": "LOCATION",
    "LOC": "LOCATION", "PRODUCT": "COMMERCIAL_ITEM", "EVENT": "EVENT", "WORK_OF_ART": "TITLE", "LAW": "OTHER",
    "LANGUAGE": "OTHER", "DATE": "DATE", "TIME": "DATE", "PERCENT": "QUANTITY", "MONEY": "QUANTITY",
    "QUANTITY": "QUANTITY", "ORDINAL": "QUANTITY", "CARDINAL": "QUANTITY",
    # Labels of other spaCy pipelines (WikiNER: PER, LOC, ORG, MISC) that a configured model may use.
    "PER": "PERSON", "MISC": "OTHER",
}
TARGETED_TYPES = {
    "PERSON": "PERSON", "PER": "PERSON", "NORP": "OTHER", "FAC": "FACILITY", "ORG": "ORGANIZATION",
    "GPE": "LOCATION", "LOC": "LOCATION", "PRODUCT": "COMMERCIAL_ITEM", "EVENT": "EVENT", "WORK_OF_ART": "OTHER",
    "LAW": "OTHER", "LANGUAGE": "OTHER", "DATE": "DATE", "TIME": "DATE", "PERCENT": "QUANTITY",
    "MONEY": "QUANTITY", "QUANTITY": "QUANTITY", "ORDINAL": "QUANTITY", "CARDINAL": "QUANTITY", "MISC": "OTHER",
}
PII_TYPES = {
    "PERSON": "NAME", "LOCATION": "ADDRESS", "STREET_ADDRESS": "ADDRESS", "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE", "US_SSN": "SSN", "CREDIT_CARD": "CREDIT_DEBIT_NUMBER", "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL", "DATE_TIME": "DATE_TIME", "US_PASSPORT": "PASSPORT_NUMBER", "US_DRIVER_LICENSE": "DRIVER_ID",
    "US_BANK_NUMBER": "BANK_ACCOUNT_NUMBER", "IBAN_CODE": "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "US_ITIN": "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "UK_NHS": "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NINO": "UK_NATIONAL_INSURANCE_NUMBER", "IN_PAN": "IN_PERMANENT_ACCOUNT_NUMBER", "IN_AADHAAR": "IN_AADHAAR",
    "IN_VOTER": "IN_VOTER_NUMBER", "AGE": "AGE", "MAC_ADDRESS": "MAC_ADDRESS",
    # fogbank's own recognizers already use Comprehend's names.
    "PIN": "PIN", "PASSWORD": "PASSWORD", "USERNAME": "USERNAME", "CREDIT_DEBIT_CVV": "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY": "CREDIT_DEBIT_EXPIRY", "BANK_ROUTING": "BANK_ROUTING",
    "BANK_ACCOUNT_NUMBER": "BANK_ACCOUNT_NUMBER", "PASSPORT_NUMBER": "PASSPORT_NUMBER", "DRIVER_ID": "DRIVER_ID",
    "LICENSE_PLATE": "LICENSE_PLATE", "SWIFT_CODE": "SWIFT_CODE", "AWS_ACCESS_KEY": "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY": "AWS_SECRET_KEY", "VEHICLE_IDENTIFICATION_NUMBER": "VEHICLE_IDENTIFICATION_NUMBER",
}
POS_TAGS = {"ADJ", "ADP", "ADV", "AUX", "CONJ", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
            "PUNCT", "SCONJ", "SYM", "VERB"}
_CURRENCY = "$€£¥₹₩"
_PRONOUN_GROUPS = {
    "i": "first", "me": "first", "my": "first", "mine": "first", "myself": "first",
    "we": "we", "us": "we", "our": "we", "ours": "we", "ourselves": "we",
    "you": "you", "your": "you", "yours": "you", "yourself": "you",
    "he": "he", "him": "he", "his": "he", "himself": "he",
    "she": "she", "her": "she", "hers": "she", "herself": "she",
    "they": "they", "them": "they", "their": "they", "theirs": "they",
}
_HOLDERS = {"first", "we"}
_DATE_WORD = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b",
                        re.IGNORECASE)
_TURN = re.compile(r"[.!?;]+\s+|,?\s+\b(?:but|however|although|though|whereas|yet|because)\b\s*", re.IGNORECASE)


def _scores(s: sentiment.Sentiment) -> dict[str, float]:
    return {"Positive": s.positive, "Negative": s.negative, "Neutral": s.neutral, "Mixed": s.mixed}


class Analyzer:
    """The built-in analyses, over the shared model registry."""

    def __init__(self, models: ModelRegistry) -> None:
        self.models = models

    # ------------------------------------------------------------------ one per operation

    def dominant_language(self, language: str, texts: list[str]) -> list[Result]:
        out = []
        for text in texts:
            found = language_id.detect(self.models, text, k=3)
            languages = [{"LanguageCode": code, "Score": score} for code, score in found if score >= 0.05]
            out.append({"Languages": languages or [{"LanguageCode": c, "Score": s} for c, s in found[:1]]})
        return out

    def sentiment(self, language: str, texts: list[str]) -> list[Result]:
        return [{"Sentiment": s.label, "SentimentScore": _scores(s)} for s in sentiment.score(self.models, texts)]

    def key_phrases(self, language: str, texts: list[str]) -> list[Result]:
        return [{"KeyPhrases": [{"Score": p.score, "Text": p.text, "BeginOffset": p.begin, "EndOffset": p.end}
                                for p in phrases]}
                for phrases in keyphrases.extract(self.models, language, texts)]

    def entities(self, language: str, texts: list[str]) -> list[Result]:
        out = []
        for text, analysis in zip(texts, nlp.analyze(self.models, language, texts), strict=True):
            entities = []
            for ent in analysis.entities:
                begin = ent.begin
                if ent.label == "MONEY" and begin > 0 and text[begin - 1] in _CURRENCY:
                    begin -= 1
                entities.append({"Score": ent.score, "Type": ENTITY_TYPES.get(ent.label, "OTHER"),
                                 "Text": text[begin:ent.end], "BeginOffset": begin, "EndOffset": ent.end})
            out.append({"Entities": entities})
        return out

    def pii_entities(self, language: str, texts: list[str]) -> list[Result]:
        out = []
        for text, spans in zip(texts, pii.detect(self.models, language, texts), strict=True):
            out.append({"Entities": [{"Score": s.score, "Type": PII_TYPES[s.label], "BeginOffset": s.begin,
                                      "EndOffset": s.end} for s in spans
                                     if s.label in PII_TYPES and not _vague_date(s.label, text[s.begin:s.end])]})
        return out

    def contains_pii(self, language: str, texts: list[str]) -> list[Result]:
        out = []
        for result in self.pii_entities(language, texts):
            best: dict[str, float] = {}
            for entity in result["Entities"]:
                best[entity["Type"]] = max(best.get(entity["Type"], 0.0), entity["Score"])
            out.append({"Labels": [{"Name": name, "Score": score} for name, score in sorted(best.items())]})
        return out

    def syntax(self, language: str, texts: list[str]) -> list[Result]:
        out = []
        for analysis in nlp.analyze(self.models, language, texts, tag_scores=True):
            tokens: list[Result] = []
            for tok in analysis.tokens:
                if tok.is_space or not tok.text.strip():
                    continue
                tag = tok.pos if tok.pos in POS_TAGS else "O"
                tokens.append({"TokenId": len(tokens) + 1, "Text": tok.text, "BeginOffset": tok.begin,
                               "EndOffset": tok.end, "PartOfSpeech": {"Tag": tag, "Score": tok.score}})
            out.append({"SyntaxTokens": tokens})
        return out

    def targeted_sentiment(self, language: str, texts: list[str]) -> list[Result]:
        analyses = nlp.analyze(self.models, language, texts)
        return [{"Entities": self._targets(text, analysis)} for text, analysis in zip(texts, analyses, strict=True)]

    # ------------------------------------------------------------------ targeted sentiment

    def _targets(self, text: str, analysis: nlp.Analysis) -> list[Result]:
        """Mentions (entities, people by pronoun, nouns of noun phrases), each with its clause's sentiment,
        grouped by what they refer to (same words, or the same pronoun person)."""
        clauses = _clauses(text, analysis.sentences)
        clause_scores = sentiment.score(self.models, [text[b:e] for b, e in clauses]) if clauses else []
        mentions: list[tuple[str, Result]] = []
        covered: list[tuple[int, int]] = []
        for ent in analysis.entities:
            covered.append((ent.begin, ent.end))
            mentions.append((ent.text.lower(), self._mention(ent.text, ent.begin, ent.end,
                                                             TARGETED_TYPES.get(ent.label, "OTHER"), ent.score)))
        for tok in analysis.tokens:
            if any(b <= tok.begin < e for b, e in covered):
                continue
            group = _PRONOUN_GROUPS.get(tok.text.lower()) if tok.pos == "PRON" else None
            if group is not None:
                mentions.append((f"pronoun:{group}", self._mention(tok.text, tok.begin, tok.end, "PERSON", 0.99)))
            elif tok.pos in ("NOUN", "PROPN") and tok.text[:1].isalpha():
                mentions.append((tok.lemma.lower(), self._mention(tok.text, tok.begin, tok.end, "ATTRIBUTE", 0.9)))
        groups: dict[str, list[Result]] = {}
        for key, mention in sorted(mentions, key=lambda item: item[1]["BeginOffset"]):
            holder = key.startswith("pronoun:") and key.split(":", 1)[1] in _HOLDERS
            mention["MentionSentiment"] = _neutral() if holder else _clause_sentiment(
                mention["BeginOffset"], clauses, clause_scores)
            groups.setdefault(key, []).append(mention)
        entities = []
        for members in groups.values():
            for m in members:
                m["GroupScore"] = 1.0 if len(members) == 1 else 0.95
            descriptive = max(range(len(members)), key=lambda i: (members[i]["Type"] != "PERSON"
                                                                   or members[i]["Text"][:1].isupper(),
                                                                   len(members[i]["Text"])))
            entities.append({"DescriptiveMentionIndex": [descriptive], "Mentions": members})
        return entities

    @staticmethod
    def _mention(text: str, begin: int, end: int, kind: str, score: float) -> Result:
        return {"Score": score, "GroupScore": 1.0, "Text": text, "Type": kind, "BeginOffset": begin, "EndOffset": end}


def _vague_date(label: str, text: str) -> bool:
    """"today" or "this week" identify nobody: a date is PII when it names a day, month or year."""
    return label == "DATE_TIME" and not _DATE_WORD.search(text)


def _neutral() -> Result:
    return {"Sentiment": "NEUTRAL", "SentimentScore": {"Positive": 0.0, "Negative": 0.0, "Neutral": 1.0, "Mixed": 0.0}}


def _clauses(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for begin, end in sentences or [(0, len(text))]:
        start = begin
        for match in _TURN.finditer(text, begin, end):
            if match.start() > start:
                spans.append((start, match.start()))
            start = match.end()
        if end > start:
            spans.append((start, end))
    return [(b, e) for b, e in spans if text[b:e].strip()]


def _clause_sentiment(offset: int, clauses: list[tuple[int, int]], scores: list[sentiment.Sentiment]) -> Result:
    for (begin, end), s in zip(clauses, scores, strict=True):
        if begin <= offset < end:
            return {"Sentiment": s.label, "SentimentScore": _scores(s)}
    return _neutral()


Analysis = Callable[[Analyzer, str, list[str]], list[Result]]
