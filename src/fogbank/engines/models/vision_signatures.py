"""Handwritten signatures found as ink that OCR could not read, where a form asks for a signature.

No signature model ships offline, so this is geometry with a guard against false alarms: a candidate is a
connected ink area, wider than tall, of thin strokes (low ink density), holding no recognised words, not a
ruling line, table or checkbox, and placed where signatures go: just above a signature rule, or beside or
just below a label such as "Signature", "Signed" or "Sign here". Scribbles elsewhere are not reported.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fogbank.engines.models.ocr import Box, PageText
from fogbank.engines.models.vision_tables import ink_mask, line_masks

if TYPE_CHECKING:
    from PIL import Image

_LABEL = re.compile(r"\b(sign(ed|ature)?|autograph)\b", re.IGNORECASE)


@dataclass
class Signature:
    box: Box
    confidence: float  # 0..1


def find_signatures(image: Image.Image, page: PageText, taken: list[Box]) -> list[Signature]:
    import cv2

    labels = [ln.box for ln in page.lines if _LABEL.search(ln.text)]
    if not labels:
        return []
    gray = np.asarray(image.convert("L"))
    mask = ink_mask(gray)
    text_h = statistics.median([ln.box.height for ln in page.lines])
    horizontal, vertical = line_masks(gray, text_h)
    strokes = cv2.bitwise_and(mask, cv2.bitwise_not(cv2.bitwise_or(horizontal, vertical)))
    for word in page.words:  # what OCR read is text, not a signature
        b = word.box
        strokes[int(max(0, b.top)):int(b.bottom) + 1, int(max(0, b.left)):int(b.right) + 1] = 0
    joined = cv2.dilate(strokes, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(text_h * 0.6)),
                                                                             max(3, int(text_h * 0.4)))))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    found: list[Signature] = []
    for index in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[index])
        box = Box(float(x), float(y), float(x + w), float(y + h))
        if w < 2.5 * text_h or h < 0.6 * text_h or h > 6 * text_h or w < 1.3 * h:
            continue
        if any(t.overlap_x(box) * t.overlap_y(box) > 0.3 * w * h for t in taken):
            continue
        density = float((strokes[y:y + h, x:x + w] > 0).mean())
        if not 0.02 <= density <= 0.3:
            continue
        if not any(_near_label(box, label, text_h) for label in labels):
            continue
        found.append(Signature(box, 0.8))
    return found


def _near_label(box: Box, label: Box, text_h: float) -> bool:
    beside = box.overlap_y(label) > 0 and 0 <= box.left - label.right <= 12 * text_h
    below = 0 <= box.top - label.bottom <= 3 * text_h and box.overlap_x(label) > 0
    above = 0 <= label.top - box.bottom <= 2.5 * text_h and (box.overlap_x(label) > 0 or
                                                              abs(box.left - label.left) <= 6 * text_h)
    return beside or below or above
