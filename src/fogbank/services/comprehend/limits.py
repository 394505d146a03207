"""What each built-in analysis accepts: its size limits (as Comprehend enforces them) and its languages.

Comprehend measures documents in UTF-8 bytes: 100 KB for language, entities, key phrases and PII, 5 KB for
sentiment, syntax and targeted sentiment, 5 KB per document in every Batch* call (at most 25 documents),
and 1 MB per document in asynchronous jobs (5 KB for sentiment and targeted sentiment). Languages are the
ones a model is installed for: fogbank says which it lacks instead of answering with a wrong model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fogbank.engines.models import keyphrases, nlp, sentiment
from fogbank.engines.models.registry import ModelRegistry
from fogbank.services.comprehend.errors import TextSizeLimitExceededException, UnsupportedLanguageException

BATCH_DOCUMENT_LIMIT = 5_000
BATCH_SIZE_LIMIT = 25


@dataclass(frozen=True)
class Kind:
    """One built-in analysis: the operation names it answers and what it accepts."""

    name: str              # the Analyzer method
    single_limit: int      # bytes, Detect* operation
    job_limit: int         # bytes per document, asynchronous job
    job_type: str          # the tag in the job's output folder name (ACCOUNT-TAG-JOBID)
    languages: Callable[[ModelRegistry, str], bool]


def _any(models: ModelRegistry, language: str) -> bool:
    return True


def _sentiment(models: ModelRegistry, language: str) -> bool:
    return language == "en" or sentiment.CAPABILITY in models.overrides


def _english(models: ModelRegistry, language: str) -> bool:
    return language == "en"


KINDS: dict[str, Kind] = {
    "dominant_language": Kind("dominant_language", 100_000, 1_000_000, "LANGUAGE", _any),
    "entities": Kind("entities", 100_000, 1_000_000, "NER", nlp.supports),
    "key_phrases": Kind("key_phrases", 100_000, 1_000_000, "KP", keyphrases.supports),
    "sentiment": Kind("sentiment", 5_000, 5_000, "SENTIMENT", _sentiment),
    "targeted_sentiment": Kind("targeted_sentiment", 5_000, 5_000, "TS", _english),
    "syntax": Kind("syntax", 5_000, 5_000, "SYNTAX", nlp.supports),
    "pii_entities": Kind("pii_entities", 100_000, 1_000_000, "PII", _english),
    "contains_pii": Kind("contains_pii", 100_000, 1_000_000, "PII", _english),
}


def size_error(text: str, limit: int) -> str | None:
    size = len(text.encode("utf-8"))
    if size <= limit:
        return None
    return (f"Input text size exceeds limit. Max length of request text allowed is {limit} bytes while in this "
            f"request the text size is {size} bytes")


def check_size(text: str, limit: int) -> None:
    message = size_error(text, limit)
    if message:
        raise TextSizeLimitExceededException(message)


def check_language(models: ModelRegistry, kind: Kind, language: str, operation: str) -> None:
    if not kind.languages(models, language):
        raise UnsupportedLanguageException(
            f"The language code {language} is not supported for {operation}: fogbank has no model installed for "
            "it (configure one with FOGBANK_MODEL_* or use a supported language)")
