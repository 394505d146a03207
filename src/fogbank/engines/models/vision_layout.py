"""Page layout from OCR geometry: titles, headers, paragraphs, lists, tables, key-value areas, figures.

Lines already claimed by tables and form fields become table and key-value areas. The rest are grouped
into paragraphs (consecutive lines, small gaps, shared left edge, similar height) and each group is named
by what it looks like: a line in the top or bottom margin is a page header or footer (a page number if it
says so), a line starting with a bullet or an enumerator is a list item, a short line of larger text is a
title (the first one) or a section header. Large ink areas without text are figures. The kinds are
Textract's LAYOUT_* names without the prefix.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fogbank.engines.models.ocr import Box, Line, PageText, reading_order
from fogbank.engines.models.vision_forms import KeyValue
from fogbank.engines.models.vision_tables import Table, ink_mask

if TYPE_CHECKING:
    from PIL import Image

MARGIN = 0.06
_BULLET = re.compile(r"^(?:[•·▪◦●■\-\u2013*]|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)])(?:\s|$)")
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)


@dataclass
class LayoutItem:
    kind: str  # TITLE, HEADER, FOOTER, SECTION_HEADER, PAGE_NUMBER, LIST, FIGURE, TABLE, KEY_VALUE, TEXT
    box: Box
    lines: list[Line] = field(default_factory=list)
    children: list[LayoutItem] = field(default_factory=list)
    confidence: float = 0.9


def find_layout(image: Image.Image, page: PageText, tables: list[Table],
                key_values: list[KeyValue]) -> list[LayoutItem]:
    items: list[LayoutItem] = []
    claimed: set[int] = set()
    for table in tables:
        inside = [ln for ln in page.lines if table.box.contains_point(ln.box.cx, ln.box.cy)]
        claimed.update(id(ln) for ln in inside)
        items.append(LayoutItem("TABLE", table.box, inside, confidence=table.confidence))
    items.extend(_key_value_areas(page, key_values, claimed))
    free = [ln for ln in page.lines if id(ln) not in claimed]
    body_h = statistics.median([ln.box.height for ln in page.lines]) if page.lines else 0.0
    groups = _paragraphs(free)
    title_taken = False
    pending_list: list[LayoutItem] = []

    def flush_list() -> None:
        if pending_list:
            box = Box.cover([i.box for i in pending_list])
            lines = [ln for i in pending_list for ln in i.lines]
            items.append(LayoutItem("LIST", box, lines, list(pending_list)))
            pending_list.clear()

    for group in groups:
        box = Box.cover([ln.box for ln in group])
        text = " ".join(ln.text for ln in group).strip()
        height = statistics.median([ln.box.height for ln in group])
        if len(group) == 1 and (box.bottom < MARGIN * page.height or box.top > (1 - MARGIN) * page.height):
            flush_list()
            kind = "PAGE_NUMBER" if _PAGE_NUMBER.match(text) else (
                "HEADER" if box.bottom < MARGIN * page.height else "FOOTER")
            items.append(LayoutItem(kind, box, group))
            continue
        if _BULLET.match(group[0].text):
            pending_list.append(LayoutItem("TEXT", box, group))
            continue
        flush_list()
        words = len(text.split())
        larger = body_h > 0 and height >= 1.25 * body_h
        if len(group) <= 2 and words <= 12 and larger and not title_taken and box.top < 0.4 * page.height:
            items.append(LayoutItem("TITLE", box, group))
            title_taken = True
        elif len(group) == 1 and words <= 10 and not text.endswith((".", ",", ";")) and (
                larger or (text.isupper() and words <= 6)):
            items.append(LayoutItem("SECTION_HEADER", box, group))
        else:
            items.append(LayoutItem("TEXT", box, group))
    flush_list()
    items.extend(_figures(image, page, [i.box for i in items]))
    items.sort(key=lambda i: (round(i.box.top / 8), i.box.left))
    return items


def _key_value_areas(page: PageText, key_values: list[KeyValue], claimed: set[int]) -> list[LayoutItem]:
    members: list[Line] = []
    for kv in key_values:
        for line in page.lines:
            if id(line) in claimed:
                continue
            if (kv.key_line is line or kv.value_box.contains_point(line.box.cx, line.box.cy)
                    or kv.key_box.contains_point(line.box.cx, line.box.cy)):
                members.append(line)
                claimed.add(id(line))
    areas: list[list[Line]] = []
    for line in sorted(members, key=lambda ln: ln.box.top):
        if areas:
            last = Box.cover([ln.box for ln in areas[-1]])
            if line.box.top - last.bottom <= 1.5 * max(line.box.height, 1.0):
                areas[-1].append(line)
                continue
        areas.append([line])
    return [LayoutItem("KEY_VALUE", Box.cover([ln.box for ln in area]), reading_order(area)) for area in areas]


def _paragraphs(lines: list[Line]) -> list[list[Line]]:
    ordered = sorted(lines, key=lambda ln: (ln.box.top, ln.box.left))
    groups: list[list[Line]] = []
    for line in ordered:
        box = line.box
        placed = False
        for group in reversed(groups[-4:]):
            last = group[-1].box
            gap = box.top - last.bottom
            similar = 0.75 <= box.height / max(last.height, 1.0) <= 1.33
            aligned = abs(box.left - last.left) <= 1.5 * last.height or (
                box.overlap_x(last) > 0.5 * min(box.width, last.width))
            if -0.3 * last.height <= gap <= 0.8 * last.height and similar and aligned and not _BULLET.match(line.text):
                group.append(line)
                placed = True
                break
        if not placed:
            groups.append([line])
    return groups


def _figures(image: Image.Image, page: PageText, taken: list[Box]) -> list[LayoutItem]:
    """Big ink areas that hold no text: photos, charts, logos."""
    import cv2

    gray = np.asarray(image.convert("L"))
    scale = 4
    small = cv2.resize(gray, (max(1, gray.shape[1] // scale), max(1, gray.shape[0] // scale)),
                       interpolation=cv2.INTER_AREA)
    mask = ink_mask(small)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out: list[LayoutItem] = []
    page_area = float(page.width * page.height)
    words = page.words
    for index in range(1, count):
        x, y, w, h, _ = (int(v) * 1 for v in stats[index])
        box = Box(x * scale, y * scale, (x + w) * scale, (y + h) * scale)
        if box.width * box.height < 0.02 * page_area or box.width < 0.08 * page.width:
            continue
        if any(t.overlap_x(box) * t.overlap_y(box) > 0.3 * box.width * box.height for t in taken):
            continue
        text_area = sum(wd.box.width * wd.box.height for wd in words if box.contains_point(wd.box.cx, wd.box.cy))
        if text_area > 0.15 * box.width * box.height:
            continue
        inside = [ln for ln in page.lines if box.contains_point(ln.box.cx, ln.box.cy)]
        out.append(LayoutItem("FIGURE", box, inside, confidence=0.7))
    return out
