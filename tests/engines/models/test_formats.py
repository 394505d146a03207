"""Local models configured instead of the defaults, built by the tests themselves and really loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.engines.models.tiny_models import text_classifier

from fogbank.engines.models import language_id, nlp, sentiment
from fogbank.engines.models.formats import detect_format, load_text_classifier
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable

SENTIMENT_WORDS = {
    "good": [-2.0, 0.0, 3.0], "great": [-2.0, 0.0, 4.0], "bad": [3.0, 0.0, -2.0],
    "awful": [4.0, 0.0, -2.0], "table": [0.0, 2.0, 0.0],
}


def test_formats_are_told_apart_by_their_files(tmp_path: Path) -> None:
    hf = text_classifier(tmp_path / "hf", SENTIMENT_WORDS, ["negative", "neutral", "positive"])
    bare = text_classifier(tmp_path / "bare", SENTIMENT_WORDS, ["negative", "neutral", "positive"], hf=False)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + bytes(16))
    ct2 = tmp_path / "ct2"
    ct2.mkdir()
    (ct2 / "model.bin").write_bytes(b"\x00" * 8)
    (ct2 / "config.json").write_text(json.dumps({"add_source_bos": False}))
    spacy_dir = tmp_path / "spacy"
    spacy_dir.mkdir()
    (spacy_dir / "meta.json").write_text("{}")
    (spacy_dir / "config.cfg").write_text("")
    assert detect_format(hf) == "huggingface"
    assert detect_format(bare) == "onnx"
    assert detect_format(bare / "model.onnx") == "onnx"
    assert detect_format(gguf) == "gguf"
    assert detect_format(ct2) == "ctranslate2"
    assert detect_format(spacy_dir) == "spacy"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="no model fogbank recognises"):
        detect_format(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelUnavailable, match="not a model file"):
        detect_format(tmp_path / "notes.txt")


def test_onnx_text_classifier_gives_the_probabilities_its_weights_imply(tmp_path: Path) -> None:
    folder = text_classifier(tmp_path / "m", SENTIMENT_WORDS, ["negative", "neutral", "positive"])
    model = load_text_classifier(folder)
    assert model.labels == ["negative", "neutral", "positive"]
    great, awful, table = model.predict(["great", "awful awful", "table"])
    assert max(great, key=lambda k: great[k]) == "positive"
    assert max(awful, key=lambda k: awful[k]) == "negative"
    assert max(table, key=lambda k: table[k]) == "neutral"
    # softmax of [-2, 0, 4]: positive = e^4 / (e^-2 + e^0 + e^4)
    assert great["positive"] == pytest.approx(54.598 / (0.1353 + 1.0 + 54.598), rel=1e-3)
    assert sum(great.values()) == pytest.approx(1.0)
    # padding tokens of the shorter text in a batch do not count
    alone = model.predict(["great"])[0]
    assert alone["positive"] == pytest.approx(great["positive"], rel=1e-6)


def test_hf_folder_with_an_onnx_export_in_a_subfolder(tmp_path: Path) -> None:
    folder = text_classifier(tmp_path / "m", SENTIMENT_WORDS, ["NEG", "NEU", "POS"], onnx_name="onnx/model.onnx")
    assert load_text_classifier(folder).predict(["good"])[0]["POS"] > 0.9


def test_hf_folder_without_onnx_needs_transformers(tmp_path: Path) -> None:
    folder = tmp_path / "pt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "model.safetensors").write_bytes(b"\x00")
    try:
        import transformers  # noqa: F401
    except ImportError:
        with pytest.raises(ModelUnavailable, match="transformers"):
            load_text_classifier(folder)


def test_sentiment_override_through_the_registry(tmp_path: Path) -> None:
    folder = text_classifier(tmp_path / "sent", SENTIMENT_WORDS, ["negative", "neutral", "positive"])
    registry = ModelRegistry(overrides={"sentiment": str(folder)})
    positive, negative, neutral = sentiment.score(registry, ["good", "bad", "table"])
    assert (positive.label, negative.label, neutral.label) == ("POSITIVE", "NEGATIVE", "NEUTRAL")
    # a three-class model with both sides strong is reported as MIXED
    mixed = sentiment.score(registry, ["great awful"])[0]
    assert mixed.label == "MIXED"
    assert registry.status()["sentiment"]["model"] == str(folder)


def test_sentiment_override_with_unmappable_labels_is_refused(tmp_path: Path) -> None:
    folder = text_classifier(tmp_path / "odd", {"x": [1.0, 0.0]}, ["cats", "dogs"])
    registry = ModelRegistry(overrides={"sentiment": str(folder)})
    with pytest.raises(ModelUnavailable, match="cannot map"):
        sentiment.score(registry, ["x"])


def test_language_id_override_with_a_classifier(tmp_path: Path) -> None:
    folder = text_classifier(tmp_path / "lid", {"bonjour": [0.0, 5.0], "hello": [5.0, 0.0]}, ["en", "fr"])
    registry = ModelRegistry(overrides={"language-id": str(folder)})
    assert language_id.detect(registry, "bonjour", k=1)[0][0] == "fr"
    assert language_id.detect(registry, "hello", k=2)[0][0] == "en"


def test_spacy_pipeline_override_for_entities(tmp_path: Path) -> None:
    import spacy

    pipeline = spacy.blank("en")
    ruler: Any = pipeline.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "ORG", "pattern": "Fogbank Labs"}])
    pipeline.to_disk(tmp_path / "pipe")
    registry = ModelRegistry(overrides={"nlp-en": str(tmp_path / "pipe"), "nlp-xx": str(tmp_path / "pipe")})
    analysis = nlp.analyze(registry, "en", ["We met Fogbank Labs today."])[0]
    assert [(e.text, e.label, e.begin, e.end) for e in analysis.entities] == [("Fogbank Labs", "ORG", 7, 19)]
    assert [t.text for t in analysis.tokens][:3] == ["We", "met", "Fogbank"]
    assert nlp.supports(registry, "xx")
    assert not nlp.supports(registry, "de")
    with pytest.raises(ModelUnavailable, match="not a spaCy pipeline"):
        nlp.load_pipeline(text_classifier(tmp_path / "hf", SENTIMENT_WORDS, ["a", "b", "c"]))
