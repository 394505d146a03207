"""Printed-text OCR: page image in, lines and words with pixel geometry and confidences out.

The default engine is RapidOCR with the PP-OCRv6 detection and recognition models bundled in its wheel,
run by ONNX Runtime (Apache-2.0; no download, no network). Its output is normalised here into ``Line``
and ``Word`` objects that know nothing of Textract or Rekognition. One detected text run may span two
table columns or a label and its value far apart; such runs are split at wide gaps, because both AWS
services report those as separate lines and every layout step after OCR depends on it.

Replacing the model: a folder holding ``*det*.onnx`` and ``*rec*.onnx`` (and optionally ``*cls*.onnx``
and a ``*.txt`` character dictionary) in RapidOCR's PaddleOCR export format.
"""

from __future__ import annotations

import logging
import statistics
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

ENGINE_NAME = "rapidocr 3 (PP-OCRv6 small det/rec; ONNX Runtime)"
# A gap wider than this many line heights between two words starts a new line.
SPLIT_GAP = 1.6

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return max(0.0, self.right - self.left)

    @property
    def height(self) -> float:
        return max(0.0, self.bottom - self.top)

    @property
    def cx(self) -> float:
        return (self.left + self.right) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2

    def union(self, other: Box) -> Box:
        return Box(min(self.left, other.left), min(self.top, other.top),
                   max(self.right, other.right), max(self.bottom, other.bottom))

    def contains_point(self, x: float, y: float, pad: float = 0.0) -> bool:
        return self.left - pad <= x <= self.right + pad and self.top - pad <= y <= self.bottom + pad

    def overlap_x(self, other: Box) -> float:
        return max(0.0, min(self.right, other.right) - max(self.left, other.left))

    def overlap_y(self, other: Box) -> float:
        return max(0.0, min(self.bottom, other.bottom) - max(self.top, other.top))

    @property
    def polygon(self) -> list[Point]:
        return [(self.left, self.top), (self.right, self.top), (self.right, self.bottom), (self.left, self.bottom)]

    @staticmethod
    def around(points: list[Point]) -> Box:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        return Box(min(xs), min(ys), max(xs), max(ys))

    @staticmethod
    def cover(boxes: list[Box]) -> Box:
        out = boxes[0]
        for box in boxes[1:]:
            out = out.union(box)
        return out


@dataclass
class Word:
    text: str
    confidence: float  # 0..1
    polygon: list[Point]

    @property
    def box(self) -> Box:
        return Box.around(self.polygon)


@dataclass
class Line:
    words: list[Word]
    confidence: float  # 0..1
    polygon: list[Point] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> Box:
        return Box.around(self.polygon) if self.polygon else Box.cover([w.box for w in self.words])


@dataclass
class PageText:
    width: int
    height: int
    lines: list[Line]

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]


class OcrEngine:
    """One loaded RapidOCR pipeline; calls are serialised because RapidOCR keeps per-call state."""

    def __init__(self, params: dict[str, Any] | None = None, name: str = ENGINE_NAME) -> None:
        from rapidocr import RapidOCR

        # The 180-degree line classifier is off: on short upright crops ("Q3", "98") it flips them and the
        # recogniser then reads "ε0" and "86". Pages are upright far more often than single lines are not.
        settings: dict[str, Any] = {"Global.log_level": "warning", "Global.use_cls": False}
        settings.update(params or {})
        self.name = name
        self._engine = RapidOCR(params=settings)
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> PageText:
        """Lines in reading order (top to bottom, then left to right), each with its words."""
        rgb = image.convert("RGB")
        with self._lock:
            result = self._engine(rgb, return_word_box=True)
        lines: list[Line] = []
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None) or ()
        scores = getattr(result, "scores", None) or ()
        word_results = getattr(result, "word_results", None) or ()
        if boxes is None:
            return PageText(rgb.width, rgb.height, [])
        for index, text in enumerate(texts):
            polygon = [(float(x), float(y)) for x, y in boxes[index]]
            score = float(scores[index]) if index < len(scores) else 0.0
            words = _words_of(word_results[index] if index < len(word_results) else (), text, polygon, score)
            if not words:
                continue
            lines.extend(_split_at_gaps(Line(words, score, polygon)))
        return PageText(rgb.width, rgb.height, reading_order(lines))


def load_default() -> OcrEngine:
    return OcrEngine()


def load_override(path: Path) -> OcrEngine:
    """A RapidOCR pipeline from a folder of PaddleOCR ONNX models."""
    if not path.is_dir():
        raise ValueError(f"an OCR model override must be a folder of ONNX models, not {path}")
    params: dict[str, Any] = {}
    for onnx in sorted(path.glob("*.onnx")):
        lower = onnx.name.lower()
        if "det" in lower:
            params["Det.model_path"] = str(onnx)
        elif "rec" in lower:
            params["Rec.model_path"] = str(onnx)
        elif "cls" in lower:
            params["Cls.model_path"] = str(onnx)
    if "Det.model_path" not in params or "Rec.model_path" not in params:
        raise ValueError(f"{path} needs a *det*.onnx and a *rec*.onnx model")
    keys = sorted(path.glob("*.txt"))
    if keys:
        params["Rec.rec_keys_path"] = str(keys[0])
    if "Cls.model_path" in params:
        params["Global.use_cls"] = True
    return OcrEngine(params, name=str(path))


def _words_of(raw: Any, text: str, polygon: list[Point], score: float) -> list[Word]:
    """Words as the line's text spaces them, with boxes from the recogniser's character positions.

    The recogniser's own word pieces can cut a word ("FOR", "M") or join two ("Name:John"); its text is
    what it read, so tokens come from the text and each token's box is the union of its characters' boxes.
    """
    chars: list[tuple[str, float, list[Point]]] = []
    for item in raw or ():
        try:
            piece, piece_score, piece_box = str(item[0]), float(item[1]), item[2]
        except (IndexError, TypeError, ValueError):
            continue
        piece = piece.replace(" ", "")
        if not piece or piece_box is None or len(piece_box) < 4:
            continue
        quad = [(float(p[0]), float(p[1])) for p in piece_box[:4]]
        for index, char in enumerate(piece):
            chars.append((char, piece_score, _slice(quad, index / len(piece), (index + 1) / len(piece))))
    if "".join(c[0] for c in chars) != text.replace(" ", ""):
        return _even_split(text, polygon, score)
    words: list[Word] = []
    cursor = 0
    for token in text.split():
        part = chars[cursor:cursor + len(token)]
        cursor += len(token)
        points = [p for _, _, quad in part for p in quad]
        box = Box.around(points)
        words.append(Word(token, min(c[1] for c in part), box.polygon))
    return words


def _slice(quad: list[Point], a: float, b: float) -> list[Point]:
    """The part of a quadrilateral between fractions a and b of its length."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad
    return [(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b),
            (x3 + (x2 - x3) * b, y3 + (y2 - y3) * b), (x3 + (x2 - x3) * a, y3 + (y2 - y3) * a)]


def _even_split(text: str, polygon: list[Point], score: float) -> list[Word]:
    """Word boxes by character share along the line, for lines whose character positions did not come back."""
    tokens = text.split()
    if not tokens:
        return []
    total = max(1, len(text))
    words: list[Word] = []
    start = 0
    for token in tokens:
        begin = text.index(token, start)
        end = begin + len(token)
        start = end
        words.append(Word(token, score, _slice(polygon[:4], begin / total, end / total)))
    return words


def _split_at_gaps(line: Line) -> list[Line]:
    if len(line.words) < 2:
        return [line]
    height = statistics.median([w.box.height for w in line.words]) or line.box.height
    pieces: list[list[Word]] = [[line.words[0]]]
    for previous, word in zip(line.words, line.words[1:], strict=False):
        if word.box.left - previous.box.right > SPLIT_GAP * height:
            pieces.append([word])
        else:
            pieces[-1].append(word)
    if len(pieces) == 1:
        return [line]
    out = []
    for piece in pieces:
        box = Box.cover([w.box for w in piece])
        confidence = min(line.confidence, *(w.confidence for w in piece)) if piece else line.confidence
        out.append(Line(piece, max(confidence, line.confidence * 0.98), box.polygon))
    return out


def reading_order(lines: list[Line]) -> list[Line]:
    """Top-to-bottom rows of lines that share a vertical band, left to right within a row."""
    remaining = sorted(lines, key=lambda ln: (ln.box.top, ln.box.left))
    rows: list[list[Line]] = []
    for line in remaining:
        box = line.box
        for row in rows:
            anchor = row[0].box
            if box.overlap_y(anchor) > 0.5 * min(box.height, anchor.height):
                row.append(line)
                break
        else:
            rows.append([line])
    ordered: list[Line] = []
    for row in sorted(rows, key=lambda r: min(ln.box.top for ln in r)):
        ordered.extend(sorted(row, key=lambda ln: ln.box.left))
    return ordered
