"""Tables, checkboxes, key-value pairs, answers and layout from page geometry alone: the page images are
drawn here and the OCR output is written by hand, so each step is checked without a model."""

from __future__ import annotations

from PIL import Image, ImageDraw

from fogbank.engines.models.ocr import Box, Line, PageText, Word
from fogbank.engines.models.vision_analysis import analyze_page
from fogbank.engines.models.vision_forms import find_checkboxes, find_key_values
from fogbank.engines.models.vision_queries import answer
from fogbank.engines.models.vision_tables import find_tables

CHAR_W, TEXT_H = 14.0, 26.0


def line(text: str, x: float, y: float) -> Line:
    """A line of words as OCR would report it, one character = CHAR_W pixels."""
    words = []
    cursor = x
    for token in text.split():
        width = CHAR_W * len(token)
        words.append(Word(token, 0.99, Box(cursor, y, cursor + width, y + TEXT_H).polygon))
        cursor += width + CHAR_W
    return Line(words, 0.99, Box(x, y, cursor - CHAR_W, y + TEXT_H).polygon)


def test_ruled_table_with_merged_cells() -> None:
    image = Image.new("RGB", (900, 500), "white")
    draw = ImageDraw.Draw(image)
    xs, ys = [50, 350, 550, 800], [50, 110, 170, 230, 290]
    for y in ys:
        draw.line([(xs[0], y), (xs[-1], y)], fill="black", width=3)
    for x in xs:
        draw.line([(x, ys[0]), (x, ys[-1])], fill="black", width=3)
    draw.rectangle([xs[0] + 3, ys[0] + 3, xs[-1] - 3, ys[1] - 3], fill="white")  # header row spans all
    draw.line([(xs[0], ys[0]), (xs[-1], ys[0])], fill="black", width=3)
    draw.rectangle([xs[1] - 2, ys[3] + 2, xs[1] + 2, ys[4] - 2], fill="white")  # last row: cols 1-2 merged
    texts = [("Sales by region", 60, 66), ("Region", 60, 126), ("Q1", 360, 126), ("Q2", 560, 126),
             ("North", 60, 186), ("120", 360, 186), ("135", 560, 186), ("Total", 60, 246), ("255", 560, 246)]
    page = PageText(900, 500, [line(t, x, y) for t, x, y in texts])
    tables = find_tables(image, page)
    assert len(tables) == 1
    table = tables[0]
    assert (table.rows, table.cols, table.ruled) == (4, 3, True)
    assert sorted((m.row, m.col, m.row_span, m.col_span) for m in table.merges) == [(1, 1, 1, 3), (4, 1, 1, 2)]
    assert table.grid() == [["Sales by region", "", ""], ["Region", "Q1", "Q2"], ["North", "120", "135"],
                            ["Total", "", "255"]]


def test_borderless_table_from_column_alignment() -> None:
    rows = [["Product", "Units", "Price"], ["Apples", "12", "3.40"], ["Bananas", "7", "1.25"],
            ["Cherries", "30", "9.99"]]
    lines = [line("Quarterly stock summary for the northern depot", 40, 20)]
    for r, row in enumerate(rows):
        lines.extend(line(cell, 60 + c * 300, 100 + r * 50) for c, cell in enumerate(row))
    lines.append(line("Prices include sales tax and are subject to change without notice", 40, 340))
    page = PageText(1000, 420, lines)
    tables = find_tables(Image.new("RGB", (1000, 420), "white"), page)
    assert len(tables) == 1
    assert tables[0].grid() == rows and not tables[0].ruled
    assert [tables[0].cell(1, c).header for c in (1, 2, 3)] == [True, True, True]
    assert not any(tables[0].cell(2, c).header for c in (1, 2, 3))


def test_form_rows_are_not_mistaken_for_a_table() -> None:
    lines = [line("Name: Ada", 60, 40), line("Date: 1 May", 500, 40), line("City: London", 60, 100),
             line("Zip: 1234", 500, 100), line("Phone: 555", 60, 160), line("Fax: 556", 500, 160)]
    page = PageText(900, 260, lines)
    assert find_tables(Image.new("RGB", (900, 260), "white"), page) == []
    pairs = {kv.key_text: kv.value_text for kv in find_key_values(page, [], [])}
    assert pairs == {"Name:": "Ada", "Date:": "1 May", "City:": "London", "Zip:": "1234", "Phone:": "555",
                     "Fax:": "556"}


def test_checkboxes_selected_and_not_and_round_glyphs_ignored() -> None:
    image = Image.new("RGB", (700, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([60, 60, 88, 88], outline="black", width=3)
    draw.line([(65, 74), (72, 83), (84, 64)], fill="black", width=4)
    draw.rectangle([260, 60, 288, 88], outline="black", width=3)
    draw.rectangle([460, 60, 488, 88], outline="black", width=3)
    draw.rectangle([467, 67, 481, 81], fill="black")
    draw.ellipse([600, 60, 628, 88], outline="black", width=4)  # an "O", not a box
    page = PageText(700, 200, [line("Yes", 100, 61), line("No", 300, 61), line("Maybe", 500, 61)])
    boxes = find_checkboxes(image, page)
    assert [(round(b.box.left), b.selected) for b in boxes] == [(60, True), (260, False), (460, True)]
    pairs = {kv.key_text: kv.value_text for kv in find_key_values(page, boxes, [])}
    assert pairs == {"Yes": "SELECTED", "No": "NOT_SELECTED", "Maybe": "SELECTED"}


def test_values_beside_and_below_labels_and_empty_fields() -> None:
    lines = [line("Employer:", 60, 40), line("Acme Corporation", 400, 40), line("Address:", 60, 100),
             line("12 Harbour Road", 60, 132), line("Signature:", 60, 220), line("Date:", 500, 220)]
    page = PageText(900, 300, lines)
    pairs = {kv.key_text: kv for kv in find_key_values(page, [], [])}
    assert {k: v.value_text for k, v in pairs.items()} == {"Employer:": "Acme Corporation",
                                                           "Address:": "12 Harbour Road", "Signature:": "",
                                                           "Date:": ""}
    assert pairs["Signature:"].value_box.left > pairs["Signature:"].key_box.right


def test_answers_come_from_labels_and_table_rows_only() -> None:
    image = Image.new("RGB", (1000, 420), "white")
    rows = [["Item", "Amount"], ["Coffee", "4.50"], ["Cake", "3.20"], ["Total", "7.70"]]
    lines = [line("Invoice No: A-17", 60, 20), line("Due Date: 30 June", 60, 60)]
    for r, row in enumerate(rows):
        lines.extend(line(cell, 60 + c * 400, 140 + r * 50) for c, cell in enumerate(row))
    page = PageText(1000, 420, lines)
    result = analyze_page(image, page, {"TABLES", "FORMS", "QUERIES"},
                          ["What is the invoice number?", "When is the due date?", "What is the total amount?",
                           "What is the tracking code?"])
    assert {i: a.text for i, a in result.answers.items()} == {0: "A-17", 1: "30 June", 2: "7.70"}
    assert answer("Who signed?", result.key_values, page.lines, result.tables) is None


def test_layout_names_title_text_list_and_page_number() -> None:
    big = Line([Word("Annual", 0.99, Box(60, 40, 200, 90).polygon),
                Word("Report", 0.99, Box(215, 40, 360, 90).polygon)], 0.99, Box(60, 40, 360, 90).polygon)
    lines = [big, line("This year the cooperative grew its membership and opened", 60, 140),
             line("two new bakeries in the old harbour district of the town.", 60, 172),
             line("- Membership rose by a fifth", 60, 240), line("- Two bakeries opened", 60, 280),
             line("7", 480, 1150)]
    page = PageText(1000, 1200, lines)
    result = analyze_page(Image.new("RGB", (1000, 1200), "white"), page, {"LAYOUT"})
    kinds = [(item.kind, [ln.text for ln in item.lines]) for item in result.layout]
    assert kinds[0] == ("TITLE", ["Annual Report"])
    assert kinds[1] == ("TEXT", [lines[1].text, lines[2].text])
    assert kinds[2][0] == "LIST" and [c.kind for c in result.layout[2].children] == ["TEXT", "TEXT"]
    assert kinds[3] == ("PAGE_NUMBER", ["7"])
