"""Textract through boto3 against a real server: text, tables (ruled, borderless, merged cells), forms with
checkboxes, queries, layout and signatures, read back with AWS's own response parsers."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import trp
from tests.services.textract import render
from textractor.parsers import response_parser

QUERIES = [{"Text": "What is the invoice number?", "Alias": "INVOICE_NUMBER"},
           {"Text": "Who is the customer?", "Alias": "CUSTOMER"},
           {"Text": "What is the total?", "Alias": "TOTAL"},
           {"Text": "What is the shipping tracking code?", "Alias": "TRACKING"}]
ALL_FEATURES = ["TABLES", "FORMS", "QUERIES", "LAYOUT", "SIGNATURES"]


@pytest.fixture(scope="module")
def invoice_response(textract: Any) -> dict[str, Any]:
    response: dict[str, Any] = textract.analyze_document(
        Document={"Bytes": render.png(render.invoice())}, FeatureTypes=ALL_FEATURES,
        QueriesConfig={"Queries": QUERIES})
    return response


@pytest.fixture(scope="module")
def form_response(textract: Any) -> dict[str, Any]:
    response: dict[str, Any] = textract.analyze_document(
        Document={"Bytes": render.jpeg(render.form())}, FeatureTypes=["TABLES", "FORMS", "SIGNATURES", "LAYOUT"])
    return response


def _by_id(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["Id"]: b for b in response["Blocks"]}


def _children(block: dict[str, Any], kind: str = "CHILD") -> list[str]:
    return [i for r in block.get("Relationships", []) if r["Type"] == kind for i in r["Ids"]]


def _text(blocks: dict[str, dict[str, Any]], block: dict[str, Any]) -> str:
    parts = []
    for child in _children(block):
        item = blocks[child]
        if item["BlockType"] == "WORD":
            parts.append(item["Text"])
        elif item["BlockType"] == "SELECTION_ELEMENT":
            parts.append(item["SelectionStatus"])
    return " ".join(parts)


def test_detect_document_text_gives_lines_words_and_geometry(textract: Any, s3: Any, bucket: str) -> None:
    lines = ["Quarterly report for the board", "Revenue grew by 12 percent", "Prepared on 3 May 2024"]
    data = render.png(render.text_page(lines))
    s3.put_object(Bucket=bucket, Key="docs/report.png", Body=data)
    for document in ({"Bytes": data}, {"S3Object": {"Bucket": bucket, "Name": "docs/report.png"}}):
        response = textract.detect_document_text(Document=document)
        assert response["DocumentMetadata"] == {"Pages": 1}
        assert response["DetectDocumentTextModelVersion"]
        blocks = _by_id(response)
        kinds = Counter(b["BlockType"] for b in response["Blocks"])
        assert kinds == {"PAGE": 1, "LINE": 3, "WORD": sum(len(line.split()) for line in lines)}
        found = [b for b in response["Blocks"] if b["BlockType"] == "LINE"]
        assert [b["Text"] for b in found] == lines
        page = response["Blocks"][0]
        assert page["BlockType"] == "PAGE" and _children(page) == [b["Id"] for b in found]
        for line in found:
            words = [blocks[i] for i in _children(line)]
            assert " ".join(w["Text"] for w in words) == line["Text"]
            assert all(w["BlockType"] == "WORD" and w["TextType"] == "PRINTED" for w in words)
            box = line["Geometry"]["BoundingBox"]
            assert 0 <= box["Left"] < box["Left"] + box["Width"] <= 1
            assert 0 <= box["Top"] < box["Top"] + box["Height"] <= 1
            assert len(line["Geometry"]["Polygon"]) == 4
            assert 50 < line["Confidence"] <= 100
            # words sit inside their line, left to right
            lefts = [w["Geometry"]["BoundingBox"]["Left"] for w in words]
            assert lefts == sorted(lefts) and lefts[0] >= box["Left"] - 0.01
        assert all(b["Page"] == 1 for b in response["Blocks"])
        tops = [b["Geometry"]["BoundingBox"]["Top"] for b in found]
        assert tops == sorted(tops)


def test_invoice_table_cells_by_row_and_column(invoice_response: dict[str, Any]) -> None:
    blocks = _by_id(invoice_response)
    tables = [b for b in invoice_response["Blocks"] if b["BlockType"] == "TABLE"]
    assert len(tables) == 1
    cells = [blocks[i] for i in _children(tables[0])]
    grid = {(c["RowIndex"], c["ColumnIndex"]): _text(blocks, c) for c in cells}
    expected = [*render.INVOICE_TABLE, [render.INVOICE_TOTAL[0], "", render.INVOICE_TOTAL[1]]]
    assert grid == {(r + 1, c + 1): text for r, row in enumerate(expected) for c, text in enumerate(row)}
    headers = [c for c in cells if "COLUMN_HEADER" in c.get("EntityTypes", [])]
    assert sorted(c["ColumnIndex"] for c in headers) == [1, 2, 3] and {c["RowIndex"] for c in headers} == {1}
    merged = [blocks[i] for i in _children(tables[0], "MERGED_CELL")]
    assert [(m["RowIndex"], m["ColumnIndex"], m["RowSpan"], m["ColumnSpan"]) for m in merged] == [(5, 1, 1, 2)]
    assert sorted((blocks[i]["RowIndex"], blocks[i]["ColumnIndex"]) for i in _children(merged[0])) == [(5, 1), (5, 2)]


def test_invoice_key_values_queries_and_layout(invoice_response: dict[str, Any]) -> None:
    blocks = _by_id(invoice_response)
    pairs = {}
    for block in invoice_response["Blocks"]:
        if block["BlockType"] == "KEY_VALUE_SET" and "KEY" in block["EntityTypes"]:
            value = blocks[_children(block, "VALUE")[0]]
            assert value["EntityTypes"] == ["VALUE"]
            pairs[_text(blocks, block)] = _text(blocks, value)
    assert pairs == render.INVOICE_FIELDS
    answers = {}
    for block in invoice_response["Blocks"]:
        if block["BlockType"] == "QUERY":
            results = [blocks[i] for i in _children(block, "ANSWER")]
            answers[block["Query"]["Alias"]] = results[0]["Text"] if results else None
    assert answers == {"INVOICE_NUMBER": "INV-2024-0042", "CUSTOMER": "Jane Doe", "TOTAL": "50.25",
                       "TRACKING": None}
    layout = [b["BlockType"] for b in invoice_response["Blocks"] if b["BlockType"].startswith("LAYOUT_")]
    assert layout[0] == "LAYOUT_TITLE" and "LAYOUT_TABLE" in layout and "LAYOUT_KEY_VALUE" in layout
    title = next(b for b in invoice_response["Blocks"] if b["BlockType"] == "LAYOUT_TITLE")
    assert [blocks[i]["Text"] for i in _children(title)] == ["INVOICE"]
    assert invoice_response["AnalyzeDocumentModelVersion"]


def test_aws_parsers_read_the_invoice(invoice_response: dict[str, Any]) -> None:
    document = response_parser.parse(invoice_response)
    table = document.tables[0]
    frame = table.to_pandas()
    assert frame.shape == (5, 3)
    assert [str(v).strip() for v in frame.iloc[1].tolist()] == render.INVOICE_TABLE[1]
    found = {kv.key.text.strip(): kv.value.text.strip() for kv in document.key_values}
    assert found == render.INVOICE_FIELDS
    queries = {q.alias: (q.result.answer if q.result else None) for q in document.queries}
    assert queries["INVOICE_NUMBER"] == "INV-2024-0042" and queries["TRACKING"] is None

    parsed = trp.Document(invoice_response)
    page = parsed.pages[0]
    rows = [[cell.text.strip() for cell in row.cells] for row in page.tables[0].rows]
    assert rows[:4] == render.INVOICE_TABLE
    fields = {f.key.text: f.value.text for f in page.form.fields}
    assert fields == render.INVOICE_FIELDS
    assert [line.text for line in page.lines][:2] == ["INVOICE", "Invoice Number: INV-2024-0042"]


def test_form_checkboxes_borderless_table_and_signature(form_response: dict[str, Any]) -> None:
    blocks = _by_id(form_response)
    boxes = [b for b in form_response["Blocks"] if b["BlockType"] == "SELECTION_ELEMENT"]
    assert sorted(b["SelectionStatus"] for b in boxes) == ["NOT_SELECTED", "SELECTED"]
    pairs = {}
    for block in form_response["Blocks"]:
        if block["BlockType"] == "KEY_VALUE_SET" and "KEY" in block["EntityTypes"]:
            pairs[_text(blocks, block)] = _text(blocks, blocks[_children(block, "VALUE")[0]])
    assert pairs == {"Full Name:": "John Smith", "Phone:": "555-0100", "Yes": "SELECTED", "No": "NOT_SELECTED"}
    tables = [b for b in form_response["Blocks"] if b["BlockType"] == "TABLE"]
    assert len(tables) == 1
    grid = {(blocks[i]["RowIndex"], blocks[i]["ColumnIndex"]): _text(blocks, blocks[i]) for i in _children(tables[0])}
    assert grid == {(r + 1, c + 1): t for r, row in enumerate(render.BORDERLESS) for c, t in enumerate(row)}
    signatures = [b for b in form_response["Blocks"] if b["BlockType"] == "SIGNATURE"]
    assert len(signatures) == 1
    box = signatures[0]["Geometry"]["BoundingBox"]
    assert 0.2 < box["Left"] < 0.3 and 0.6 < box["Top"] < 0.7 and box["Width"] > 0.2
    words = {b["Text"] for b in form_response["Blocks"] if b["BlockType"] == "WORD"}
    assert "Signature" in words and not any(w in ("□", "口", "☑") for w in words)


def test_analyze_id_reads_labelled_fields(textract: Any) -> None:
    card = render.text_page(["DRIVER LICENSE", "FIRST NAME: JANE", "LAST NAME: DOE", "DOB: 01/02/1990",
                             "EXP: 03/04/2030", "DL NO: D1234567"], width=800)
    response = textract.analyze_id(DocumentPages=[{"Bytes": render.jpeg(card)}])
    document = response["IdentityDocuments"][0]
    fields = {f["Type"]["Text"]: f["ValueDetection"] for f in document["IdentityDocumentFields"]}
    assert {k: fields[k]["Text"] for k in ("FIRST_NAME", "LAST_NAME", "DOCUMENT_NUMBER", "ID_TYPE")} == {
        "FIRST_NAME": "JANE", "LAST_NAME": "DOE", "DOCUMENT_NUMBER": "D1234567", "ID_TYPE": "DRIVER LICENSE FRONT"}
    assert fields["DATE_OF_BIRTH"]["NormalizedValue"] == {"Value": "1990-01-02T00:00:00", "ValueType": "DATE"}
    assert fields["EXPIRATION_DATE"]["NormalizedValue"]["Value"] == "2030-03-04T00:00:00"
    assert fields["MIDDLE_NAME"]["Text"] == "" and len(fields) == 21
    assert response["DocumentMetadata"] == {"Pages": 1}


def test_analyze_expense_summary_and_line_items(textract: Any) -> None:
    response = textract.analyze_expense(Document={"Bytes": render.png(render.invoice())})
    document = response["ExpenseDocuments"][0]
    summary = {f["Type"]["Text"]: f["ValueDetection"]["Text"] for f in document["SummaryFields"]}
    assert summary["INVOICE_RECEIPT_ID"] == "INV-2024-0042"
    assert summary["INVOICE_RECEIPT_DATE"] == "12/03/2024"
    assert summary["TOTAL"] == "50.25"
    items = document["LineItemGroups"][0]["LineItems"]
    rows = [{f["Type"]["Text"]: f["ValueDetection"]["Text"] for f in item["LineItemExpenseFields"]} for item in items]
    assert [(r["ITEM"], r["QUANTITY"], r["PRICE"]) for r in rows] == [tuple(row) for row in render.INVOICE_TABLE[1:]]
    assert rows[0]["EXPENSE_ROW"] == "Widget 2 10.00"
