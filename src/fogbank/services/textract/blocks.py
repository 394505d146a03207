"""The Textract Block graph built from one page's analysis, as AWS lays it out.

Every block has a random UUID ``Id``, a ``Page`` number, a ``Confidence`` in percent and ``Geometry`` whose
BoundingBox and Polygon are fractions of the page's width and height. Words are shared: the same WORD id
is a child of its LINE, of its table CELL and of its KEY or VALUE, so a client that walks any of those
relationships reaches the same words. The PAGE's children are the page's top-level blocks.

Every WORD's TextType is PRINTED. Telling handwriting from print was tried on word crops (stroke-width,
baseline and edge-orientation features, and HOG with a linear model) against 16 handwriting-style fonts and
63 printed ones, holding each font family out in turn: 77-78% right, far from reliable (bench/RESULTS.md),
and a wrong HANDWRITING would mislead more than a constant PRINTED does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fogbank.engines.models.ocr import Box, Line, Point, Word
from fogbank.engines.models.orientation import to_original
from fogbank.engines.models.vision_analysis import PageAnalysis
from fogbank.engines.models.vision_forms import Checkbox, KeyValue
from fogbank.engines.models.vision_layout import LayoutItem
from fogbank.engines.models.vision_tables import Table


def _pct(value: float) -> float:
    return round(max(0.0, min(1.0, value)) * 100.0, 6)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class PageGeometry:
    """Pixel positions on the analysed (upright) page as fractions of the page as given.

    ``turn`` is how far the given page is turned clockwise from upright; for a turned page the polygon
    keeps the text's reading order and the bounding box is the axis-aligned box around it on the given page.
    """

    width: float
    height: float
    turn: int = 0

    def _point(self, x: float, y: float) -> tuple[float, float]:
        px, py = to_original(min(1.0, max(0.0, x / self.width)), min(1.0, max(0.0, y / self.height)), self.turn)
        return px, py

    def box(self, box: Box) -> dict[str, float]:
        points = [self._point(x, y) for x, y in box.polygon]
        left, right = min(p[0] for p in points), max(p[0] for p in points)
        top, bottom = min(p[1] for p in points), max(p[1] for p in points)
        return {"Width": right - left, "Height": bottom - top, "Left": left, "Top": top}

    def polygon(self, points: list[Point]) -> list[dict[str, float]]:
        out = []
        for x, y in points:
            px, py = self._point(x, y)
            out.append({"X": px, "Y": py})
        return out

    def geometry(self, box: Box, polygon: list[Point] | None = None) -> dict[str, Any]:
        return {"BoundingBox": self.box(box), "Polygon": self.polygon(polygon or box.polygon)}


class PageBlocks:
    """Builds the blocks of one page; ``blocks`` holds them in AWS's order once ``build`` has run."""

    def __init__(self, analysis: PageAnalysis, page_number: int, turn: int = 0) -> None:
        self.analysis = analysis
        self.page = page_number
        self.geo = PageGeometry(float(analysis.text.width), float(analysis.text.height), turn)
        self.blocks: list[dict[str, Any]] = []
        self.word_ids: dict[int, str] = {}
        self.words_by_id: dict[str, Word] = {}
        self.line_ids: dict[int, str] = {}
        self.checkbox_ids: dict[int, str] = {}
        self.page_children: list[str] = []

    def _block(self, block_type: str, **fields: Any) -> dict[str, Any]:
        block: dict[str, Any] = {"BlockType": block_type, "Id": _new_id()}
        block.update({k: v for k, v in fields.items() if v is not None})
        block["Page"] = self.page
        return block

    def build(self, features: set[str], queries: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        text = self.analysis.text
        page_block = self._block("PAGE", Geometry=self.geo.geometry(Box(0, 0, text.width, text.height)))
        self.blocks.append(page_block)
        lines = [self._line(line) for line in text.lines]
        words = [self._word(word) for line in text.lines for word in line.words]
        for line_block, line in zip(lines, text.lines, strict=True):
            line_block["Relationships"] = [{"Type": "CHILD", "Ids": [self.word_ids[id(w)] for w in line.words]}]
        self.blocks.extend(lines)
        self.blocks.extend(words)
        self.page_children.extend(b["Id"] for b in lines)
        if features & {"TABLES", "FORMS"}:
            for box in self.analysis.checkboxes:
                self.blocks.append(self._checkbox(box))
        if "TABLES" in features:
            for table in self.analysis.tables:
                self._table(table)
        if "FORMS" in features:
            for pair in self.analysis.key_values:
                self._key_value(pair)
        if "LAYOUT" in features:
            for item in self.analysis.layout:
                self._layout(item)
        if "SIGNATURES" in features:
            for signature in self.analysis.signatures:
                block = self._block("SIGNATURE", Confidence=_pct(signature.confidence),
                                    Geometry=self.geo.geometry(signature.box))
                self.blocks.append(block)
                self.page_children.append(block["Id"])
        if "QUERIES" in features:
            for index, query in enumerate(queries or []):
                self._query(index, query)
        if self.page_children:
            page_block["Relationships"] = [{"Type": "CHILD", "Ids": list(self.page_children)}]
        return self.blocks

    # ------------------------------------------------------------------ text

    def _word(self, word: Word) -> dict[str, Any]:
        block = self._block("WORD", Confidence=_pct(word.confidence), Text=word.text, TextType="PRINTED",
                            Geometry=self.geo.geometry(word.box, word.polygon))
        self.word_ids[id(word)] = block["Id"]
        self.words_by_id[block["Id"]] = word
        return block

    def _line(self, line: Line) -> dict[str, Any]:
        confidence = min([line.confidence, *(w.confidence for w in line.words)]) if line.words else line.confidence
        block = self._block("LINE", Confidence=_pct(confidence), Text=line.text,
                            Geometry=self.geo.geometry(line.box, line.polygon or None))
        self.line_ids[id(line)] = block["Id"]
        return block

    def _word_id(self, word: Word) -> str | None:
        """The WORD block a word belongs to, also for words split off a longer OCR word ("Date:12/03")."""
        known = self.word_ids.get(id(word))
        if known is not None:
            return known
        box = word.box
        for block_id, candidate in self.words_by_id.items():
            if candidate.box.contains_point(box.cx, box.cy):
                return block_id
        return None

    def _word_children(self, words: list[Word]) -> list[str]:
        out: list[str] = []
        for word in words:
            block_id = self._word_id(word)
            if block_id is not None and block_id not in out:
                out.append(block_id)
        return out

    # ------------------------------------------------------------------ selection elements, tables, forms

    def _checkbox(self, box: Checkbox) -> dict[str, Any]:
        block = self._block("SELECTION_ELEMENT", Confidence=_pct(box.confidence),
                            Geometry=self.geo.geometry(box.box),
                            SelectionStatus="SELECTED" if box.selected else "NOT_SELECTED")
        self.checkbox_ids[id(box)] = block["Id"]
        return block

    def _table(self, table: Table) -> None:
        cell_blocks: list[dict[str, Any]] = []
        cell_ids: dict[tuple[int, int], str] = {}
        for cell in table.cells:
            children = self._word_children(cell.words)
            children += [self.checkbox_ids[id(c)] for c in self.analysis.checkboxes
                         if id(c) in self.checkbox_ids and cell.box.contains_point(c.box.cx, c.box.cy)]
            confidence = table.confidence * (min(w.confidence for w in cell.words) if cell.words else 0.97)
            block = self._block("CELL", Confidence=_pct(confidence), RowIndex=cell.row, ColumnIndex=cell.col,
                                RowSpan=1, ColumnSpan=1, Geometry=self.geo.geometry(cell.box),
                                EntityTypes=["COLUMN_HEADER"] if cell.header else None)
            if children:
                block["Relationships"] = [{"Type": "CHILD", "Ids": children}]
            cell_blocks.append(block)
            cell_ids[(cell.row, cell.col)] = block["Id"]
        merged_blocks: list[dict[str, Any]] = []
        for merge in table.merges:
            ids = [cell_ids[(r, c)] for r in range(merge.row, merge.row + merge.row_span)
                   for c in range(merge.col, merge.col + merge.col_span)]
            merged_blocks.append(self._block(
                "MERGED_CELL", Confidence=_pct(table.confidence), RowIndex=merge.row, ColumnIndex=merge.col,
                RowSpan=merge.row_span, ColumnSpan=merge.col_span, Geometry=self.geo.geometry(merge.box),
                Relationships=[{"Type": "CHILD", "Ids": ids}]))
        relationships = [{"Type": "CHILD", "Ids": [b["Id"] for b in cell_blocks]}]
        if merged_blocks:
            relationships.append({"Type": "MERGED_CELL", "Ids": [b["Id"] for b in merged_blocks]})
        table_block = self._block("TABLE", Confidence=_pct(table.confidence), Geometry=self.geo.geometry(table.box),
                                  Relationships=relationships, EntityTypes=["STRUCTURED_TABLE"])
        self.blocks.append(table_block)
        self.blocks.extend(cell_blocks)
        self.blocks.extend(merged_blocks)
        self.page_children.append(table_block["Id"])

    def _key_value(self, pair: KeyValue) -> None:
        value = self._block("KEY_VALUE_SET", Confidence=_pct(pair.confidence), EntityTypes=["VALUE"],
                            Geometry=self.geo.geometry(pair.value_box))
        value_children = self._word_children(pair.value)
        if pair.checkbox is not None and id(pair.checkbox) in self.checkbox_ids:
            value_children.append(self.checkbox_ids[id(pair.checkbox)])
        if value_children:
            value["Relationships"] = [{"Type": "CHILD", "Ids": value_children}]
        key = self._block("KEY_VALUE_SET", Confidence=_pct(pair.confidence), EntityTypes=["KEY"],
                          Geometry=self.geo.geometry(pair.key_box),
                          Relationships=[{"Type": "VALUE", "Ids": [value["Id"]]},
                                         {"Type": "CHILD", "Ids": self._word_children(pair.key)}])
        self.blocks.extend([key, value])
        self.page_children.extend([key["Id"], value["Id"]])

    # ------------------------------------------------------------------ layout, queries

    def _layout(self, item: LayoutItem) -> None:
        if item.kind == "LIST":
            children = []
            for child in item.children:
                block = self._layout_block("TEXT", child)
                self.blocks.append(block)
                children.append(block["Id"])
                self.page_children.append(block["Id"])
            block = self._block("LAYOUT_LIST", Confidence=_pct(item.confidence), Geometry=self.geo.geometry(item.box))
            if children:
                block["Relationships"] = [{"Type": "CHILD", "Ids": children}]
        else:
            block = self._layout_block(item.kind, item)
        self.blocks.append(block)
        self.page_children.append(block["Id"])

    def _layout_block(self, kind: str, item: LayoutItem) -> dict[str, Any]:
        block = self._block(f"LAYOUT_{kind}", Confidence=_pct(item.confidence), Geometry=self.geo.geometry(item.box))
        ids = [self.line_ids[id(ln)] for ln in item.lines if id(ln) in self.line_ids]
        if ids:
            block["Relationships"] = [{"Type": "CHILD", "Ids": ids}]
        return block

    def _query(self, index: int, query: dict[str, Any]) -> None:
        spec = {k: query[k] for k in ("Text", "Alias", "Pages") if query.get(k)}
        block = self._block("QUERY", Query=spec)
        self.blocks.append(block)
        self.page_children.append(block["Id"])
        found = self.analysis.answers.get(index)
        if found is None:
            return
        result = self._block("QUERY_RESULT", Confidence=_pct(found.confidence), Text=found.text,
                             Geometry=self.geo.geometry(found.box) if found.box is not None else None)
        block["Relationships"] = [{"Type": "ANSWER", "Ids": [result["Id"]]}]
        self.blocks.append(result)
        self.page_children.append(result["Id"])


def page_blocks(analysis: PageAnalysis, page_number: int, features: set[str],
                queries: list[dict[str, Any]] | None = None, turn: int = 0) -> list[dict[str, Any]]:
    return PageBlocks(analysis, page_number, turn).build(features, queries)
