"""A page scanned sideways or upside down: which way is up, and where its text sits on the page as given.

The OCR detector finds text lines at any of the four orientations, but the recogniser reads only upright
(and, for tall crops, one sideways direction of) text. So the page-level decision is made from what the
first OCR pass already shows, and costs a second pass only when the page looks turned:
- most text lines taller than wide: the page is turned by 90 degrees one way or the other; the recogniser
  reads tall crops as if turned clockwise, so a confident reading means the page was turned clockwise
  (undone by turning it 90 degrees back), a poor one the other way round;
- lines wide but read with low confidence: the page may be upside down, and is tried turned by 180.
Each candidate is read again upright and kept only when its reading is better: more characters read with
more confidence (the sum of line confidence times line length). Analysis (tables, forms, layout) then
runs on the upright image; ``to_original`` maps its normalised coordinates back onto the page as given,
which is how AWS reports the geometry of a rotated page (Polygon points keep their reading order, so the
first point is the text's own top-left corner wherever that lies on the page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fogbank.engines.models.ocr import PageText

if TYPE_CHECKING:
    from PIL import Image

# A page is looked at again when more than this share of its text lines stand upright ...
VERTICAL_SHARE = 0.5
# ... or when its character-weighted mean confidence is under this.
LOW_CONFIDENCE = 0.85
_MIN_CHARS = 3


@dataclass
class Oriented:
    """The upright reading of a page; ``turn`` is how far (clockwise, degrees) the given page is turned."""

    image: Image.Image
    text: PageText
    turn: int


def reading_score(text: PageText) -> float:
    return sum(line.confidence * len(line.text.replace(" ", "")) for line in text.lines)


def _mean_confidence(text: PageText) -> float:
    chars = sum(len(line.text.replace(" ", "")) for line in text.lines)
    return reading_score(text) / chars if chars else 1.0


def _vertical_share(text: PageText) -> float:
    lines = [ln for ln in text.lines if len(ln.text.replace(" ", "")) >= _MIN_CHARS]
    if not lines:
        return 0.0
    return sum(1 for ln in lines if ln.box.height > 1.5 * ln.box.width) / len(lines)


def upright(image: Image.Image, turn: int) -> Image.Image:
    """The page turned back by ``turn`` degrees (the given page is the upright one turned clockwise)."""
    from PIL import Image

    ops = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    return image.transpose(ops[turn]) if turn in ops else image


def orient(image: Image.Image, read: Callable[[Image.Image], PageText]) -> Oriented:
    """The page's upright reading, OCR'd with ``read``; the page as given when it is upright already."""
    first = read(image)
    if not first.lines:
        return Oriented(image, first, 0)
    candidates: list[int] = []
    if _vertical_share(first) > VERTICAL_SHARE:
        candidates = [90, 270] if _mean_confidence(first) >= LOW_CONFIDENCE else [270, 90]
    elif _mean_confidence(first) < LOW_CONFIDENCE:
        candidates = [180]
    best = Oriented(image, first, 0)
    best_score = reading_score(first) if not candidates or candidates == [180] else 0.0
    for turn in candidates:
        turned = upright(image, turn)
        text = read(turned)
        score = reading_score(text)
        if score > best_score and _vertical_share(text) <= VERTICAL_SHARE:
            best, best_score = Oriented(turned, text, turn), score
            if _mean_confidence(text) >= LOW_CONFIDENCE:
                break
    return best


def to_original(x: float, y: float, turn: int) -> tuple[float, float]:
    """A point of the upright page (fractions of its width and height) on the page as given."""
    if turn == 90:
        return 1.0 - y, x
    if turn == 180:
        return 1.0 - x, 1.0 - y
    if turn == 270:
        return y, 1.0 - x
    return x, y
