"""Answers to natural-language questions about a page, from its key-value pairs and lines.

There is no generative model here: a question is answered only when the page holds a labelled value that
matches it. The question is reduced to its content words ("What is the invoice number?" -> invoice,
number), each key-value pair and each "Label: value" line is scored by word overlap with light stemming,
and the best value above a threshold is the answer. A table row whose first cell matches the question
answers with its last cell ("Total ... 50.25"). A question nothing on the page matches gets no answer,
as Textract returns a QUERY without QUERY_RESULT when it finds none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fogbank.engines.models.ocr import Box, Line
from fogbank.engines.models.vision_forms import KeyValue
from fogbank.engines.models.vision_tables import Table

_STOP_WORDS = ("a an and are as at be by did do does for from has have how in is it its of on or the their this to "
               "was what whats when where which who whom whose why with your you i me my our please")
_STOP = frozenset(_STOP_WORDS.split(" "))
_TOKEN = re.compile(r"[a-z0-9]+")
THRESHOLD = 0.6
# Abbreviations forms print, read as the words questions use.
_SYNONYMS = {"no": "number", "num": "number", "nbr": "number", "qty": "quantity", "dob": "birth", "amt": "amount",
             "addr": "address", "tel": "phone", "telephone": "phone", "acct": "account", "ref": "reference"}


@dataclass
class Answer:
    text: str
    confidence: float  # 0..1
    box: Box | None


def _stem(token: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if len(token) > len(suffix) + 2 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


def _content(text: str) -> set[str]:
    return {_stem(_SYNONYMS.get(t, t)) for t in _TOKEN.findall(text.lower().replace("#", " number ")) if t not in _STOP}


def _score(question: set[str], label: str) -> float:
    words = _content(label)
    if not question or not words:
        return 0.0
    shared = len(question & words)
    return shared / len(question) * 0.7 + shared / len(words) * 0.3


def answer(question: str, key_values: list[KeyValue], lines: list[Line],
           tables: list[Table] | None = None) -> Answer | None:
    wanted = _content(question) or {_stem(t) for t in _TOKEN.findall(question.lower())}
    best: tuple[float, Answer] | None = None
    for kv in key_values:
        if kv.checkbox is not None:
            text = "SELECTED" if kv.checkbox.selected else "NOT_SELECTED"
            box: Box | None = kv.checkbox.box
        else:
            text = kv.value_text
            box = kv.value_box if kv.value else None
        if not text:
            continue
        score = _score(wanted, kv.key_text)
        if best is None or score > best[0]:
            best = (score, Answer(text, kv.confidence * min(1.0, score + 0.1), box))
    for line in lines:
        label, sep, value = line.text.partition(":")
        if not sep or not value.strip():
            continue
        score = _score(wanted, label) * 0.95
        if best is None or score > best[0]:
            best = (score, Answer(value.strip(), line.confidence * min(1.0, score + 0.1), None))
    for table in tables or []:
        for row in range(1, table.rows + 1):
            cells = [table.cell(row, col) for col in range(1, table.cols + 1) if table.cell(row, col).text]
            if len(cells) < 2:
                continue
            score = _score(wanted, cells[0].text) * 0.95
            if best is None or score > best[0]:
                confidence = table.confidence * min(1.0, score + 0.1)
                best = (score, Answer(cells[-1].text, confidence, cells[-1].box))
    if best is None or best[0] < THRESHOLD:
        return None
    return best[1]
