"""Tables found from page geometry: ruling lines where a table has borders, column alignment where not.

Ruled tables: ink is binarised, long horizontal and vertical strokes are kept by morphological opening,
and each connected grid of strokes becomes a table. Its row and column separators are the clustered
positions of those strokes; two neighbouring grid cells with no stroke between them are one merged cell.

Borderless tables: OCR lines (already split at wide gaps) are grouped into rows; a run of consecutive rows
that each hold two or more lines, whose lines fall into the same column bands, is a table whose columns
are those bands.

Words go to the cell that holds their centre. Nothing here knows about Textract's block graph.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fogbank.engines.models.ocr import Box, Line, PageText, Word

if TYPE_CHECKING:
    from PIL import Image

# A separator must cover this share of a cell edge to count as drawn.
EDGE_COVERAGE = 0.6


@dataclass
class Cell:
    row: int  # 1-based, as Textract counts
    col: int
    box: Box
    words: list[Word] = field(default_factory=list)
    header: bool = False

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass
class Merge:
    row: int
    col: int
    row_span: int
    col_span: int
    box: Box


@dataclass
class Table:
    box: Box
    rows: int
    cols: int
    cells: list[Cell]
    merges: list[Merge]
    ruled: bool
    confidence: float

    def cell(self, row: int, col: int) -> Cell:
        return self.cells[(row - 1) * self.cols + (col - 1)]

    def grid(self) -> list[list[str]]:
        """Cell texts by row and column; a merged cell's text sits in its top-left position."""
        out = [[self.cell(r, c).text for c in range(1, self.cols + 1)] for r in range(1, self.rows + 1)]
        for merge in self.merges:
            texts = [self.cell(r, c).text for r in range(merge.row, merge.row + merge.row_span)
                     for c in range(merge.col, merge.col + merge.col_span)]
            joined = " ".join(t for t in texts if t)
            for r in range(merge.row, merge.row + merge.row_span):
                for c in range(merge.col, merge.col + merge.col_span):
                    out[r - 1][c - 1] = ""
            out[merge.row - 1][merge.col - 1] = joined
        return out


def find_tables(image: Image.Image, page: PageText) -> list[Table]:
    """Ruled tables first; borderless tables among the lines no ruled table holds."""
    gray = np.asarray(image.convert("L"))
    tables = _ruled_tables(gray, page)
    taken = [t.box for t in tables]
    free_lines = [ln for ln in page.lines if not any(_inside(ln.box, box) for box in taken)]
    tables.extend(_borderless_tables(free_lines, page))
    for table in tables:
        _mark_header(table)
    tables.sort(key=lambda t: (t.box.top, t.box.left))
    return tables


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Dark strokes as 255 on 0, robust to uneven lighting and light noise."""
    import cv2

    inverted = cv2.bitwise_not(gray)
    mask: np.ndarray = cv2.adaptiveThreshold(inverted, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 25, -15)
    return mask


def line_masks(gray: np.ndarray, text_height: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Long horizontal and vertical strokes (ruling lines, underlines, box edges).

    Strokes must be longer than a character is tall, or a column of "1"s and "l"s reads as a rule.
    """
    import cv2

    height, width = gray.shape
    mask = ink_mask(gray)
    h_len = max(25, width // 35, int(2 * text_height))
    v_len = max(15, height // 60, int(1.2 * text_height))
    horizontal = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vertical = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    # Bridge small breaks left by noise or scanning.
    horizontal = cv2.dilate(horizontal, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3)))
    vertical = cv2.dilate(vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 5)))
    return horizontal, vertical


def _ruled_tables(gray: np.ndarray, page: PageText) -> list[Table]:
    import cv2

    text_height = statistics.median([ln.box.height for ln in page.lines]) if page.lines else 0.0
    horizontal, vertical = line_masks(gray, text_height)
    grid = cv2.bitwise_or(horizontal, vertical)
    count, _, stats, _ = cv2.connectedComponentsWithStats(grid, connectivity=8)
    tables: list[Table] = []
    for index in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[index])
        if w < 40 or h < 20:
            continue
        region = (slice(y, y + h), slice(x, x + w))
        rows_y = _separators(horizontal[region], axis=0, min_cover=0.25)
        cols_x = _separators(vertical[region], axis=1, min_cover=0.25)
        if len(rows_y) < 2 or len(cols_x) < 2:
            continue
        rows_y = [y + v for v in rows_y]
        cols_x = [x + v for v in cols_x]
        if len(rows_y) - 1 < 1 or len(cols_x) - 1 < 1 or (len(rows_y) - 1) * (len(cols_x) - 1) < 2:
            continue
        table = _grid_table(rows_y, cols_x, horizontal, vertical, page)
        if table is not None:
            tables.append(table)
    return tables


def _separators(mask: np.ndarray, axis: int, min_cover: float) -> list[int]:
    """Positions of strokes that run along most of a region (rows for axis 0, columns for axis 1)."""
    length = mask.shape[1] if axis == 0 else mask.shape[0]
    profile = (mask > 0).sum(axis=1 if axis == 0 else 0)
    hits = np.flatnonzero(profile >= max(10, min_cover * length))
    if hits.size == 0:
        return []
    groups: list[list[int]] = [[int(hits[0])]]
    for value in hits[1:]:
        if int(value) - groups[-1][-1] <= 6:
            groups[-1].append(int(value))
        else:
            groups.append([int(value)])
    return [round(statistics.mean(g)) for g in groups]


def _coverage(mask: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> float:
    height, width = mask.shape
    x0, x1 = max(0, x0), min(width, x1)
    y0, y1 = max(0, y0), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    band = mask[y0:y1, x0:x1] > 0
    if x1 - x0 >= y1 - y0:  # a horizontal edge: share of columns with ink
        return float(band.any(axis=0).mean())
    return float(band.any(axis=1).mean())


def _grid_table(rows_y: list[int], cols_x: list[int], horizontal: np.ndarray, vertical: np.ndarray,
                page: PageText) -> Table | None:
    n_rows, n_cols = len(rows_y) - 1, len(cols_x) - 1
    parent = list(range(n_rows * n_cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    for r in range(n_rows):
        for c in range(n_cols):
            y0, y1 = rows_y[r], rows_y[r + 1]
            x0, x1 = cols_x[c], cols_x[c + 1]
            inset_y = max(2, (y1 - y0) // 8)
            inset_x = max(2, (x1 - x0) // 8)
            if c + 1 < n_cols:  # the edge to the right neighbour
                xr = cols_x[c + 1]
                if _coverage(vertical, xr - 4, xr + 5, y0 + inset_y, y1 - inset_y) < EDGE_COVERAGE:
                    union(r * n_cols + c, r * n_cols + c + 1)
            if r + 1 < n_rows:  # the edge to the neighbour below
                yb = rows_y[r + 1]
                if _coverage(horizontal, x0 + inset_x, x1 - inset_x, yb - 4, yb + 5) < EDGE_COVERAGE:
                    union(r * n_cols + c, (r + 1) * n_cols + c)
    groups: dict[int, list[int]] = {}
    for i in range(n_rows * n_cols):
        groups.setdefault(find(i), []).append(i)
    if len(groups) < 2:
        return None
    cells = [Cell(r + 1, c + 1, Box(cols_x[c], rows_y[r], cols_x[c + 1], rows_y[r + 1]))
             for r in range(n_rows) for c in range(n_cols)]
    merges: list[Merge] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        rows = [m // n_cols for m in members]
        cols = [m % n_cols for m in members]
        r0, r1, c0, c1 = min(rows), max(rows), min(cols), max(cols)
        if (r1 - r0 + 1) * (c1 - c0 + 1) != len(members):
            continue  # not a rectangle: leave the cells unmerged rather than guess
        merges.append(Merge(r0 + 1, c0 + 1, r1 - r0 + 1, c1 - c0 + 1,
                            Box(cols_x[c0], rows_y[r0], cols_x[c1 + 1], rows_y[r1 + 1])))
    box = Box(cols_x[0], rows_y[0], cols_x[-1], rows_y[-1])
    table = Table(box, n_rows, n_cols, cells, merges, ruled=True, confidence=0.99)
    _assign_words(table, page.words)
    return table


def _assign_words(table: Table, words: list[Word]) -> None:
    for word in words:
        box = word.box
        if not table.box.contains_point(box.cx, box.cy):
            continue
        for cell in table.cells:
            if cell.box.contains_point(box.cx, box.cy):
                cell.words.append(word)
                break
    for cell in table.cells:
        cell.words.sort(key=lambda w: (round(w.box.cy / max(w.box.height, 1.0)), w.box.left))


def _inside(inner: Box, outer: Box) -> bool:
    return outer.contains_point(inner.cx, inner.cy)


# ---------------------------------------------------------------------------------- borderless tables


def _rows_of(lines: list[Line]) -> list[list[Line]]:
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.box.cy, ln.box.left)):
        box = line.box
        for row in rows:
            anchor = Box.cover([ln.box for ln in row])
            if box.overlap_y(anchor) > 0.5 * min(box.height, anchor.height):
                row.append(line)
                break
        else:
            rows.append([line])
    for row in rows:
        row.sort(key=lambda ln: ln.box.left)
    rows.sort(key=lambda r: min(ln.box.top for ln in r))
    return rows


def _bands(rows: list[list[Line]]) -> list[tuple[float, float]]:
    spans = sorted((ln.box.left, ln.box.right) for row in rows for ln in row)
    bands: list[list[float]] = []
    for left, right in spans:
        if bands and left <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], right)
        else:
            bands.append([left, right])
    return [(a, b) for a, b in bands]


def _fits(rows: list[list[Line]]) -> list[tuple[float, float]] | None:
    """The column bands of a run of rows, if every row puts at most one line in each band."""
    bands = _bands(rows)
    if len(bands) < 2:
        return None
    for row in rows:
        used: set[int] = set()
        for line in row:
            index = next(i for i, (a, b) in enumerate(bands) if a <= line.box.cx <= b)
            if index in used:
                return None
            used.add(index)
    return bands


def _borderless_tables(lines: list[Line], page: PageText) -> list[Table]:
    rows = _rows_of(lines)
    tables: list[Table] = []
    index = 0
    while index < len(rows):
        if len(rows[index]) < 2 or _is_form_row(rows[index]):
            index += 1
            continue
        run = [rows[index]]
        bands = _fits(run)
        cursor = index + 1
        while cursor < len(rows) and bands is not None:
            candidate = rows[cursor]
            previous = Box.cover([ln.box for ln in run[-1]])
            current = Box.cover([ln.box for ln in candidate])
            height = statistics.median([ln.box.height for ln in run[-1] + candidate])
            if current.top - previous.bottom > 2.2 * height or _is_form_row(candidate):
                break
            widened = _fits([*run, candidate])
            if widened is None or len(widened) < 2:
                break
            if len(candidate) < 2 and len(widened) != len(bands):
                break
            run.append(candidate)
            bands = widened
            cursor += 1
        while run and len(run[-1]) < 2:  # a table ends on a full row, not on a stray line after it
            run.pop()
        multi = sum(1 for row in run if len(row) >= 2)
        if bands is not None and len(run) >= 3 and multi >= 3 and len(bands) >= 2:
            bands = _bands(run)
            tables.append(_band_table(run, bands, page))
            index += len(run)
        else:
            index += 1
    return tables


def _is_form_row(row: list[Line]) -> bool:
    """'Name: Jane   Date: 3 May' is a row of key-value pairs, not a table row."""
    return any(ln.words[0].text.endswith(":") or ":" in ln.text[:-1] for ln in row if ln.words)


def _band_table(run: list[list[Line]], bands: list[tuple[float, float]], page: PageText) -> Table:
    row_boxes = [Box.cover([ln.box for ln in row]) for row in run]
    tops = [row_boxes[0].top - 2]
    for above, below in itertools.pairwise(row_boxes):
        tops.append((above.bottom + below.top) / 2)
    tops.append(row_boxes[-1].bottom + 2)
    lefts = [bands[0][0] - 2]
    for (_, right), (left, _) in itertools.pairwise(bands):
        lefts.append((right + left) / 2)
    lefts.append(bands[-1][1] + 2)
    n_rows, n_cols = len(run), len(bands)
    cells = [Cell(r + 1, c + 1, Box(lefts[c], tops[r], lefts[c + 1], tops[r + 1]))
             for r in range(n_rows) for c in range(n_cols)]
    table = Table(Box(lefts[0], tops[0], lefts[-1], tops[-1]), n_rows, n_cols, cells, [], ruled=False,
                  confidence=0.9)
    words = [w for row in run for ln in row for w in ln.words]
    _assign_words(table, words)
    return table


def _numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace(".", "").replace("$", "").replace("%", "").replace("-", "").strip()
    return bool(stripped) and stripped.replace(" ", "").isdigit()


def _mark_header(table: Table) -> None:
    """The first row is a column header when it holds only words and some later row holds numbers."""
    if table.rows < 2:
        return
    first = [table.cell(1, c).text for c in range(1, table.cols + 1)]
    if not any(first) or any(_numeric(t) for t in first if t):
        return
    later = [table.cell(r, c).text for r in range(2, table.rows + 1) for c in range(1, table.cols + 1)]
    if any(_numeric(t) for t in later if t) or table.ruled:
        for c in range(1, table.cols + 1):
            table.cell(1, c).header = True
