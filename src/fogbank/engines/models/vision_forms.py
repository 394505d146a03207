"""Form fields from page geometry: checkboxes from drawn squares, key-value pairs from OCR lines.

Checkboxes: small closed squares of about text height, found as contours of the binarised page whose
four edges are inked; a box whose inside carries ink (a tick, a cross, a fill) is selected.

Key-value pairs, in the order a form is usually read:
- a checkbox and the label beside it (right, else left) are a key whose value is the checkbox;
- "Label: value" on one line is split at the colon;
- a line ending with a colon takes as value the next line to its right on the same row, else the line
  just below it, else nothing (an empty field, whose value area is the blank space after the label).
A line that is itself a key is never another key's value. Lines inside tables are left to the tables.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fogbank.engines.models.ocr import Box, Line, PageText, Word
from fogbank.engines.models.vision_tables import Table, ink_mask

if TYPE_CHECKING:
    from PIL import Image

SELECTED_FILL = 0.10
_KEY_WORDS_MAX = 6
_TIME = re.compile(r"^\d{1,2}:\d{2}")


@dataclass
class Checkbox:
    box: Box
    selected: bool
    confidence: float  # 0..1
    fill: float = 0.0


@dataclass
class KeyValue:
    key: list[Word]
    value: list[Word]
    value_box: Box
    checkbox: Checkbox | None = None
    confidence: float = 0.9
    key_line: Line | None = field(default=None, repr=False)

    @property
    def key_box(self) -> Box:
        return Box.cover([w.box for w in self.key])

    @property
    def key_text(self) -> str:
        return " ".join(w.text for w in self.key)

    @property
    def value_text(self) -> str:
        if self.checkbox is not None:
            return "SELECTED" if self.checkbox.selected else "NOT_SELECTED"
        return " ".join(w.text for w in self.value)


def find_checkboxes(image: Image.Image, page: PageText, tables: list[Table] | None = None) -> list[Checkbox]:
    """Drawn squares of roughly text size, each marked selected or not."""
    import cv2

    gray = np.asarray(image.convert("L"))
    mask = ink_mask(gray)
    heights = [ln.box.height for ln in page.lines] or [24.0]
    text_h = statistics.median(heights)
    low, high = max(8.0, 0.45 * text_h), max(24.0, 2.2 * text_h)
    # Outer boundaries only (a ring's inner edge would look like a box full of ink), largest first so that
    # a box is seen before any mark drawn inside it.
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    outer = [c for i, c in enumerate(contours) if hierarchy is not None and hierarchy[0][i][3] == -1]
    rects = sorted((cv2.boundingRect(c) for c in outer), key=lambda r: -(r[2] * r[3]))
    found: list[Checkbox] = []
    for x, y, w, h in rects:
        if not (low <= w <= high and low <= h <= high) or not 0.75 <= w / h <= 1.33:
            continue
        if not _is_square_outline(mask, x, y, w, h):
            continue
        box = Box(float(x), float(y), float(x + w), float(y + h))
        if any(_iou(box, c.box) > 0.4 or c.box.contains_point(box.cx, box.cy) for c in found):
            continue
        if any(len(wd.text) > 2 and wd.box.contains_point(box.cx, box.cy) for wd in page.words):
            continue  # a closed glyph ("O", "D") inside a word, not a drawn box
        if tables and any(_iou(box, cell.box) > 0.6 for t in tables for cell in t.cells):
            continue
        fill = _fill(mask, x, y, w, h)
        selected = fill > SELECTED_FILL
        margin = abs(fill - SELECTED_FILL) / SELECTED_FILL
        found.append(Checkbox(box, selected, min(0.999, 0.85 + 0.15 * min(1.0, margin)), fill))
    found.sort(key=lambda c: (c.box.top, c.box.left))
    return found


def remove_checkbox_words(page: PageText, boxes: list[Checkbox]) -> None:
    """OCR sometimes reads a drawn box as a glyph ("口", "O", "X"); such words are not text."""
    if not boxes:
        return
    kept_lines: list[Line] = []
    for line in page.lines:
        words = [_clip(w, boxes) for w in line.words
                 if not (len(w.text) <= 2 and any(_iou(w.box, c.box) > 0.3 or c.box.contains_point(w.box.cx, w.box.cy)
                                                 for c in boxes))]
        touches = any(line.box.overlap_x(c.box) > 0 and line.box.overlap_y(c.box) > 0 for c in boxes)
        if words == line.words and not touches:
            kept_lines.append(line)
        elif words:
            box = Box.cover([w.box for w in words])
            kept_lines.append(Line(words, line.confidence, box.polygon))
    page.lines[:] = kept_lines


def _clip(word: Word, boxes: list[Checkbox]) -> Word:
    """A word whose box swallowed a neighbouring checkbox, cut back to its own letters."""
    box = word.box
    for check in boxes:
        if box.overlap_x(check.box) <= 0 or box.overlap_y(check.box) <= 0:
            continue
        if check.box.cx < box.cx:
            box = Box(max(box.left, check.box.right + 1), box.top, box.right, box.bottom)
        else:
            box = Box(box.left, box.top, min(box.right, check.box.left - 1), box.bottom)
    return word if box == word.box else Word(word.text, word.confidence, box.polygon)


def _is_square_outline(mask: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    band = max(2, round(min(w, h) * 0.15))
    region = mask[y:y + h, x:x + w] > 0
    if region.shape[0] < 4 or region.shape[1] < 4:
        return False
    top = region[:band, :].any(axis=0).mean()
    bottom = region[-band:, :].any(axis=0).mean()
    left = region[:, :band].any(axis=1).mean()
    right = region[:, -band:].any(axis=1).mean()
    # A drawn box has inked corners; round glyphs ("O", "0") fill their edges but not their corners.
    corner = max(2, band // 2 + 1)
    corners = [region[:corner, :corner], region[:corner, -corner:], region[-corner:, :corner],
               region[-corner:, -corner:]]
    return bool(min(top, bottom, left, right) >= 0.9 and all(c.any() for c in corners))


def _fill(mask: np.ndarray, x: int, y: int, w: int, h: int) -> float:
    inset_x, inset_y = max(2, round(w * 0.22)), max(2, round(h * 0.22))
    inner = mask[y + inset_y:y + h - inset_y, x + inset_x:x + w - inset_x]
    return float((inner > 0).mean()) if inner.size else 0.0


def _iou(a: Box, b: Box) -> float:
    inter = a.overlap_x(b) * a.overlap_y(b)
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------------------------- key-value pairs


def _key_split(line: Line) -> int | None:
    """Index of the word that ends a "Label:" in the line, or None."""
    for index, word in enumerate(line.words[:_KEY_WORDS_MAX]):
        text = word.text
        if ":" not in text or _TIME.match(text):
            continue
        head = " ".join(w.text for w in line.words[:index]) + " " + text.split(":", 1)[0]
        if not any(ch.isalpha() for ch in head):
            continue
        return index
    return None


def _is_key_line(line: Line) -> bool:
    return _key_split(line) is not None


def find_key_values(page: PageText, checkboxes: list[Checkbox], tables: list[Table]) -> list[KeyValue]:
    lines = [ln for ln in page.lines if not any(t.box.contains_point(ln.box.cx, ln.box.cy) for t in tables)]
    heights = [ln.box.height for ln in lines] or [24.0]
    text_h = statistics.median(heights)
    used: set[int] = set()
    pairs: list[KeyValue] = []

    # Checkboxes and their labels.
    for box in checkboxes:
        if any(t.box.contains_point(box.box.cx, box.box.cy) for t in tables):
            continue
        label = _label_of(box, lines, used, text_h)
        if label is None:
            continue
        used.add(id(label))
        conf = min(box.confidence, label.confidence)
        pairs.append(KeyValue(label.words, [], box.box, box, conf, label))

    # "Label: value" and "Label:" followed by a value.
    for line in lines:
        if id(line) in used:
            continue
        split = _key_split(line)
        if split is None:
            continue
        key_words, rest = line.words[:split + 1], line.words[split + 1:]
        last = key_words[-1]
        if not last.text.endswith(":") and ":" in last.text:
            key_text, value_text = last.text.split(":", 1)
            key_words, rest = _split_word(key_words, last, key_text + ":", value_text, rest)
        used.add(id(line))
        key_box = Box.cover([w.box for w in key_words])
        if rest:
            value_box = Box.cover([w.box for w in rest])
            conf = min(line.confidence, min(w.confidence for w in rest))
            pairs.append(KeyValue(key_words, rest, value_box, None, conf * 0.97, line))
            continue
        if _checkbox_right_of(key_box, checkboxes, text_h):
            continue  # the options beside it are keys of their own
        value_line = _value_right(line, lines, used, text_h) or _value_below(line, lines, used, text_h)
        if value_line is not None:
            used.add(id(value_line))
            conf = min(line.confidence, value_line.confidence)
            pairs.append(KeyValue(key_words, value_line.words, value_line.box, None, conf * 0.95, line))
        else:
            blank = Box(key_box.right + 0.3 * text_h, key_box.top, key_box.right + 8 * text_h, key_box.bottom)
            pairs.append(KeyValue(key_words, [], blank, None, line.confidence * 0.8, line))
    pairs.sort(key=lambda kv: (kv.key_box.top, kv.key_box.left))
    return pairs


def _split_word(key_words: list[Word], last: Word, key_text: str, value_text: str,
                rest: list[Word]) -> tuple[list[Word], list[Word]]:
    """'Date:12/03' read as one word becomes a key word and a value word, split by character share."""
    box = last.box
    share = len(key_text) / max(1, len(last.text))
    cut = box.left + box.width * share
    key_word = Word(key_text, last.confidence, Box(box.left, box.top, cut, box.bottom).polygon)
    out_rest = list(rest)
    if value_text.strip():
        out_rest.insert(0, Word(value_text.strip(), last.confidence, Box(cut, box.top, box.right, box.bottom).polygon))
    return [*key_words[:-1], key_word], out_rest


def _same_row(a: Box, b: Box) -> bool:
    return a.overlap_y(b) > 0.5 * min(a.height, b.height)


def _label_of(box: Checkbox, lines: list[Line], used: set[int], text_h: float) -> Line | None:
    right = [ln for ln in lines if id(ln) not in used and _same_row(ln.box, box.box)
             and -0.5 * text_h <= ln.box.left - box.box.right <= 3 * text_h and ln.box.right > box.box.right]
    if right:
        return min(right, key=lambda ln: ln.box.left)
    left = [ln for ln in lines if id(ln) not in used and _same_row(ln.box, box.box)
            and -0.5 * text_h <= box.box.left - ln.box.right <= 2 * text_h and ln.box.left < box.box.left
            and not ln.text.rstrip().endswith(":")]
    if left:
        return max(left, key=lambda ln: ln.box.right)
    return None


def _checkbox_right_of(key_box: Box, checkboxes: list[Checkbox], text_h: float) -> bool:
    return any(_same_row(key_box, c.box) and 0 <= c.box.left - key_box.right <= 4 * text_h for c in checkboxes)


def _value_right(line: Line, lines: list[Line], used: set[int], text_h: float) -> Line | None:
    box = line.box
    right = [ln for ln in lines if ln is not line and id(ln) not in used and _same_row(ln.box, box)
             and ln.box.left >= box.right - 2 and ln.box.left - box.right <= 20 * text_h]
    if not right:
        return None
    nearest = min(right, key=lambda ln: ln.box.left)
    return None if _is_key_line(nearest) else nearest


def _value_below(line: Line, lines: list[Line], used: set[int], text_h: float) -> Line | None:
    box = line.box
    below = [ln for ln in lines if ln is not line and id(ln) not in used
             and 0 <= ln.box.top - box.bottom <= 1.0 * text_h
             and (abs(ln.box.left - box.left) <= 2 * text_h or ln.box.overlap_x(box) > 0)]
    if not below:
        return None
    nearest = min(below, key=lambda ln: (ln.box.top, abs(ln.box.left - box.left)))
    return None if _is_key_line(nearest) else nearest
