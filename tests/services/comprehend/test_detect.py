"""Comprehend's real-time operations through boto3 against a real server and the real offline models."""

from __future__ import annotations

import itertools
import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.support import FogbankServer

TEXT = ("John Smith works at Amazon in Seattle since January 2020 and paid $400 for a laptop. "
        "He loves the city.")


@pytest.fixture(scope="module")
def comprehend(fogbank: FogbankServer) -> Any:
    return fogbank.client("comprehend")


@pytest.fixture(scope="module")
def unchecked(fogbank: FogbankServer) -> Any:
    """A client that sends what the test says, without botocore's own parameter validation."""
    return fogbank.client("comprehend", parameter_validation=False)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_entities_have_aws_types_and_exact_offsets(comprehend: Any) -> None:
    entities = comprehend.detect_entities(Text=TEXT, LanguageCode="en")["Entities"]
    found = [(e["Text"], e["Type"], e["BeginOffset"], e["EndOffset"]) for e in entities]
    assert ("John Smith", "PERSON", 0, 10) in found
    assert ("Amazon", "ORGANIZATION", 20, 26) in found
    assert ("Seattle", "LOCATION", 30, 37) in found
    assert ("January 2020", "DATE", 44, 56) in found
    assert ("$400", "QUANTITY", 66, 70) in found
    for entity in entities:
        assert TEXT[entity["BeginOffset"]:entity["EndOffset"]] == entity["Text"]
        assert 0.5 <= entity["Score"] <= 1.0


def test_sentiment_scores_all_four_classes(comprehend: Any) -> None:
    cases = {
        "I love this product, it is wonderful!": "POSITIVE",
        "This is the worst experience ever, I hate it.": "NEGATIVE",
        "The package arrived on Tuesday.": "NEUTRAL",
        "I love the food but the service was terrible.": "MIXED",
    }
    for text, expected in cases.items():
        out = comprehend.detect_sentiment(Text=text, LanguageCode="en")
        assert out["Sentiment"] == expected, text
        scores = out["SentimentScore"]
        assert set(scores) == {"Positive", "Negative", "Neutral", "Mixed"}
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-3)
        assert max(scores, key=lambda k: scores[k]).upper() == expected


def test_pii_entities_and_contains_pii(comprehend: Any) -> None:
    text = ("Hello Zhang Wei, my email is zhang.wei@example.com and my phone is (206) 555-0100. "
            "Card 4111 1111 1111 1111, CVV: 123. Key AKIAIOSFODNN7EXAMPLE.")
    entities = comprehend.detect_pii_entities(Text=text, LanguageCode="en")["Entities"]
    found = {(text[e["BeginOffset"]:e["EndOffset"]], e["Type"]) for e in entities}
    assert ("Zhang Wei", "NAME") in found
    assert ("zhang.wei@example.com", "EMAIL") in found
    assert ("(206) 555-0100", "PHONE") in found
    assert ("4111 1111 1111 1111", "CREDIT_DEBIT_NUMBER") in found
    assert ("123", "CREDIT_DEBIT_CVV") in found
    assert ("AKIAIOSFODNN7EXAMPLE", "AWS_ACCESS_KEY") in found
    spans = sorted((e["BeginOffset"], e["EndOffset"]) for e in entities)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # no overlaps
    labels = {label["Name"] for label in comprehend.contains_pii_entities(Text=text, LanguageCode="en")["Labels"]}
    assert {"NAME", "EMAIL", "PHONE", "CREDIT_DEBIT_NUMBER", "AWS_ACCESS_KEY"} <= labels
    assert comprehend.contains_pii_entities(Text="The sky is blue today.", LanguageCode="en")["Labels"] == []


def test_key_phrases_are_noun_phrases_with_offsets(comprehend: Any) -> None:
    phrases = comprehend.detect_key_phrases(Text=TEXT, LanguageCode="en")["KeyPhrases"]
    texts = [p["Text"] for p in phrases]
    assert "John Smith" in texts
    assert "a laptop" in texts
    assert "the city" in texts
    for phrase in phrases:
        assert TEXT[phrase["BeginOffset"]:phrase["EndOffset"]] == phrase["Text"]
    spanish = comprehend.detect_key_phrases(
        Text="El gobierno de España anunció nuevas medidas económicas para las pequeñas empresas.",
        LanguageCode="es")["KeyPhrases"]
    assert "gobierno" in [p["Text"] for p in spanish]
    assert any(p["Text"].startswith("España anunció") for p in spanish)
    for phrase in spanish:
        assert phrase["Text"] and 0.5 < phrase["Score"] <= 1.0


def test_syntax_tokens_have_aws_part_of_speech_tags(comprehend: Any) -> None:
    tokens = comprehend.detect_syntax(Text="I can't believe it's not butter!", LanguageCode="en")["SyntaxTokens"]
    assert [(t["TokenId"], t["Text"], t["PartOfSpeech"]["Tag"]) for t in tokens] == [
        (1, "I", "PRON"), (2, "ca", "AUX"), (3, "n't", "PART"), (4, "believe", "VERB"), (5, "it", "PRON"),
        (6, "'s", "AUX"), (7, "not", "PART"), (8, "butter", "NOUN"), (9, "!", "PUNCT")]
    assert [(t["BeginOffset"], t["EndOffset"]) for t in tokens][:3] == [(0, 1), (2, 4), (4, 7)]
    assert all(0.0 < t["PartOfSpeech"]["Score"] <= 1.0 for t in tokens)


def test_dominant_language(comprehend: Any) -> None:
    cases = {"Bonjour tout le monde, comment allez-vous aujourd'hui ?": "fr",
             "Das ist ein schöner Tag, und wir gehen spazieren.": "de",
             "It is raining in Seattle again this morning.": "en",
             "我們今天學習中文這個問題很難": "zh-TW",
             "我们今天学习中文这个问题很难": "zh"}
    for text, code in cases.items():
        languages = comprehend.detect_dominant_language(Text=text)["Languages"]
        assert languages[0]["LanguageCode"] == code, text
        assert languages[0]["Score"] > 0.5


def test_targeted_sentiment_per_mention(comprehend: Any) -> None:
    text = "I do not enjoy January because it is too cold but August is the perfect temperature"
    entities = comprehend.detect_targeted_sentiment(Text=text, LanguageCode="en")["Entities"]
    mentions = {m["Text"]: m for e in entities for m in e["Mentions"]}
    assert mentions["January"]["Type"] == "DATE"
    assert mentions["January"]["MentionSentiment"]["Sentiment"] == "NEGATIVE"
    assert mentions["August"]["MentionSentiment"]["Sentiment"] == "POSITIVE"
    assert mentions["temperature"]["MentionSentiment"]["Sentiment"] == "POSITIVE"
    assert mentions["I"]["Type"] == "PERSON"
    assert mentions["I"]["MentionSentiment"]["Sentiment"] == "NEUTRAL"
    assert (mentions["August"]["BeginOffset"], mentions["August"]["EndOffset"]) == (50, 56)
    assert all(e["DescriptiveMentionIndex"] == [0] for e in entities)


def test_batch_operations_answer_per_document_with_errors(comprehend: Any) -> None:
    texts = ["What a great day!", "é" * 2501, "This is awful."]  # the middle one is 5,002 UTF-8 bytes
    out = comprehend.batch_detect_sentiment(TextList=texts, LanguageCode="en")
    assert [(r["Index"], r["Sentiment"]) for r in out["ResultList"]] == [(0, "POSITIVE"), (2, "NEGATIVE")]
    assert [(e["Index"], e["ErrorCode"]) for e in out["ErrorList"]] == [(1, "TEXT_SIZE_LIMIT_EXCEEDED")]
    assert "5002 bytes" in out["ErrorList"][0]["ErrorMessage"]
    docs = ["John lives in Paris.", "Maria works for Google."]
    entities = comprehend.batch_detect_entities(TextList=docs, LanguageCode="en")["ResultList"]
    assert [[e["Text"] for e in r["Entities"]] for r in entities] == [["John", "Paris"], ["Maria", "Google"]]
    phrases = comprehend.batch_detect_key_phrases(TextList=docs, LanguageCode="en")["ResultList"]
    assert [r["Index"] for r in phrases] == [0, 1]
    syntax = comprehend.batch_detect_syntax(TextList=docs, LanguageCode="en")["ResultList"]
    assert syntax[1]["SyntaxTokens"][0]["Text"] == "Maria"
    languages = comprehend.batch_detect_dominant_language(
        TextList=["Hello there, my friend.", "Hola amigo, ¿cómo estás?"])
    assert [r["Languages"][0]["LanguageCode"] for r in languages["ResultList"]] == ["en", "es"]
    targeted = comprehend.batch_detect_targeted_sentiment(TextList=["The pizza was great."], LanguageCode="en")
    assert targeted["ResultList"][0]["Entities"][0]["Mentions"][0]["Text"] == "pizza"


def test_batch_of_more_than_25_documents_is_refused(comprehend: Any) -> None:
    with pytest.raises(ClientError) as exc:
        comprehend.batch_detect_sentiment(TextList=["ok"] * 26, LanguageCode="en")
    assert _code(exc) == "BatchSizeLimitExceededException"


def test_text_over_the_limit_and_unsupported_languages(comprehend: Any, unchecked: Any) -> None:
    with pytest.raises(ClientError) as exc:
        comprehend.detect_sentiment(Text="é" * 2501, LanguageCode="en")
    assert _code(exc) == "TextSizeLimitExceededException"
    assert "5000 bytes" in str(exc.value) and "5002 bytes" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        comprehend.detect_entities(Text="x" * 100_001, LanguageCode="en")
    assert _code(exc) == "TextSizeLimitExceededException"
    for call in (lambda: comprehend.detect_sentiment(Text="Hola amigo", LanguageCode="es"),
                 lambda: comprehend.detect_entities(Text="今日は", LanguageCode="ja"),
                 lambda: comprehend.detect_targeted_sentiment(Text="Hola", LanguageCode="es"),
                 lambda: comprehend.detect_pii_entities(Text="Hola", LanguageCode="es")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "UnsupportedLanguageException"
    with pytest.raises(ClientError) as exc:
        unchecked.detect_sentiment(Text="", LanguageCode="en")
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        unchecked.detect_syntax(Text="hello", LanguageCode="xx")
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        comprehend.detect_entities(Text="hello")
    assert _code(exc) == "InvalidRequestException"


def test_binary_junk_gets_an_answer_and_the_server_stays_up(comprehend: Any) -> None:
    junk = bytes(range(256)).decode("latin-1") * 3
    assert comprehend.detect_sentiment(Text=junk, LanguageCode="en")["Sentiment"] in (
        "POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
    assert isinstance(comprehend.detect_entities(Text=junk, LanguageCode="en")["Entities"], list)
    assert isinstance(comprehend.detect_pii_entities(Text=junk, LanguageCode="en")["Entities"], list)
    assert comprehend.detect_dominant_language(Text=junk)["Languages"]
    with pytest.raises(ClientError) as exc:
        comprehend.detect_entities(Bytes=b"\xff\xfe\x00junk", LanguageCode="en")
    assert _code(exc) == "InvalidRequestException"
    assert comprehend.detect_entities(Bytes=b"Anna lives in Rome.", LanguageCode="en")["Entities"]
    assert comprehend.detect_sentiment(Text="Still here and happy!", LanguageCode="en")["Sentiment"] == "POSITIVE"


def test_health_names_the_models(fogbank: FogbankServer, comprehend: Any) -> None:
    comprehend.detect_sentiment(Text="fine", LanguageCode="en")
    with urllib.request.urlopen(f"{fogbank.endpoint_url}/_fogbank/health") as response:
        health = json.load(response)
    assert health["models"]["sentiment"]["model"] == "vaderSentiment 3.3.2"
    assert health["models"]["sentiment"]["loaded"] is True
    assert "en_core_web_sm" in health["models"]["nlp-en"]["model"]
    assert "language-id" in health["services"]["comprehend"]["models"]
