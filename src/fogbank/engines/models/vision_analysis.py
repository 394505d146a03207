"""One page's document analysis: OCR output plus the tables, form fields, layout, signatures and answers
that were asked for. The OCR itself is done by the caller (through the model registry's slots); this runs
the geometry steps that follow it, which need no model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fogbank.engines.models.ocr import Box, PageText
from fogbank.engines.models.vision_forms import (
    Checkbox,
    KeyValue,
    find_checkboxes,
    find_key_values,
    remove_checkbox_words,
)
from fogbank.engines.models.vision_layout import LayoutItem, find_layout
from fogbank.engines.models.vision_queries import Answer, answer
from fogbank.engines.models.vision_signatures import Signature, find_signatures
from fogbank.engines.models.vision_tables import Table, find_tables

if TYPE_CHECKING:
    from PIL import Image

FEATURES = ("TABLES", "FORMS", "QUERIES", "SIGNATURES", "LAYOUT")


@dataclass
class PageAnalysis:
    text: PageText
    tables: list[Table] = field(default_factory=list)
    checkboxes: list[Checkbox] = field(default_factory=list)
    key_values: list[KeyValue] = field(default_factory=list)
    layout: list[LayoutItem] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    answers: dict[int, Answer] = field(default_factory=dict)  # index of the question -> its answer


def analyze_page(image: Image.Image, text: PageText, features: set[str],
                 questions: list[str] | None = None) -> PageAnalysis:
    result = PageAnalysis(text)
    wants_fields = bool(features & {"FORMS", "QUERIES", "LAYOUT"})
    if not features & set(FEATURES):
        return result
    # Drawn boxes first, so that OCR's reading of a box as a glyph is gone before words go into cells.
    checkboxes = find_checkboxes(image, text)
    remove_checkbox_words(text, checkboxes)
    # Tables are found whenever form fields are, so that fields are not looked for inside table cells.
    result.tables = find_tables(image, text)
    result.checkboxes = [c for c in checkboxes if not any(_iou(c.box, cell.box) > 0.6 for t in result.tables
                                                          for cell in t.cells)]
    if wants_fields:
        result.key_values = find_key_values(text, result.checkboxes, result.tables)
    if "LAYOUT" in features:
        result.layout = find_layout(image, text, result.tables, result.key_values)
    if "SIGNATURES" in features:
        taken = [t.box for t in result.tables] + [c.box for c in result.checkboxes]
        result.signatures = find_signatures(image, text, taken)
    for index, question in enumerate(questions or []):
        found = answer(question, result.key_values, text.lines, result.tables)
        if found is not None:
            result.answers[index] = found
    return result


def _iou(a: Box, b: Box) -> float:
    inter = a.overlap_x(b) * a.overlap_y(b)
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0
