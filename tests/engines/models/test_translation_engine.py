"""Apertium pair discovery and routing on a modes folder the test writes, and real translation when installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fogbank.engines.models.translation import ApertiumEngine, load_default


def _engine(tmp_path: Path, modes: list[str]) -> ApertiumEngine:
    folder = tmp_path / "modes"
    folder.mkdir()
    for mode in modes:
        (folder / f"{mode}.mode").write_text("cat\n")
    return ApertiumEngine(folder, binary="/bin/cat")


def test_discovers_pairs_with_translate_codes(tmp_path: Path) -> None:
    engine = _engine(tmp_path, ["eng-spa", "spa-eng", "fr-es", "es-fr", "es-pt", "es-pt_BR", "eng-cat_valencia",
                                "eco-es-fr"])
    assert engine.pairs == {("en", "es"): "eng-spa", ("es", "en"): "spa-eng", ("fr", "es"): "fr-es",
                            ("es", "fr"): "es-fr", ("es", "pt"): "es-pt_BR", ("es", "pt-PT"): "es-pt"}
    assert engine.languages() == {"en", "es", "fr", "pt", "pt-PT"}


def test_routes_direct_then_through_english_then_shortest(tmp_path: Path) -> None:
    engine = _engine(tmp_path, ["eng-spa", "spa-eng", "eng-cat", "cat-eng", "fr-es", "es-fr"])
    assert engine.route("en", "es") == ["eng-spa"]
    assert engine.route("ca", "es") == ["cat-eng", "eng-spa"]
    assert engine.route("fr", "en") == ["fr-es", "spa-eng"]
    assert engine.route("fr", "ca") == ["fr-es", "spa-eng", "eng-cat"]
    assert engine.route("en", "de") is None
    assert engine.route("en", "es-MX") == ["eng-spa"]


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_real_pairs_translate() -> None:
    engine = load_default()
    route = engine.route("en", "es")
    assert route is not None
    assert engine.translate("The house is big.", route) == "La casa es grande."
    assert engine.translate("<p>The house is <b>big</b>.</p>", route, "html") == "<p>La casa es <b>grande</b>.</p>"
