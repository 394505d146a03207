"""Pages scanned sideways or upside down: the text is read, and its geometry is reported on the page as
given, which is checked against the same page read upright and against where the ink really is."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw
from tests.services.textract import lending_pages, render

from fogbank.engines.models.orientation import to_original, upright


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_mapping_follows_the_ink(turn: int) -> None:
    """A dot drawn on the upright page is found on the turned page where ``to_original`` says it is."""
    page = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(page).rectangle([60, 40, 70, 50], fill=0)
    given = lending_pages.turned(page.convert("RGB"), turn).convert("L")
    ys, xs = np.nonzero(np.asarray(given) < 128)
    found = (xs.mean() + 0.5) / given.width, (ys.mean() + 0.5) / given.height
    expected = to_original(65.5 / 400, 45.5 / 300, turn)
    assert found == pytest.approx(expected, abs=0.01)
    assert upright(given.convert("RGB"), turn).size == page.size


def _lines(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in response["Blocks"] if b["BlockType"] == "LINE"]


@pytest.fixture(scope="module")
def upright_response(textract: Any) -> dict[str, Any]:
    response: dict[str, Any] = textract.detect_document_text(
        Document={"Bytes": render.png(lending_pages.upright_text_page())})
    return response


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_turned_page_is_read_with_geometry_on_the_given_page(textract: Any, upright_response: dict[str, Any],
                                                             turn: int) -> None:
    given = lending_pages.turned(lending_pages.upright_text_page(), turn)
    response = textract.detect_document_text(Document={"Bytes": render.png(given)})
    lines = _lines(response)
    assert [b["Text"] for b in lines] == lending_pages.ROTATION_LINES
    for line, reference in zip(lines, _lines(upright_response), strict=True):
        for point, ref in zip(line["Geometry"]["Polygon"], reference["Geometry"]["Polygon"], strict=True):
            assert (point["X"], point["Y"]) == pytest.approx(to_original(ref["X"], ref["Y"], turn), abs=0.02)
        box = line["Geometry"]["BoundingBox"]
        xs = [p["X"] for p in line["Geometry"]["Polygon"]]
        assert box["Left"] == pytest.approx(min(xs)) and box["Width"] == pytest.approx(max(xs) - min(xs))
        if turn in (90, 270):
            assert box["Height"] > 4 * box["Width"]  # a text line stands upright on a sideways page
    words = [b for b in response["Blocks"] if b["BlockType"] == "WORD"]
    assert words[0]["Text"] == "Quarterly" and {w["TextType"] for w in words} == {"PRINTED"}
