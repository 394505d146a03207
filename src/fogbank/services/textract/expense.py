"""AnalyzeExpense from the same page analysis: labelled fields become summary fields, tables line items.

Limits, stated plainly: there is no invoice model. A summary field exists only where the page prints a
label beside its value ("Invoice Number: 123", "Total  27.50" in a table's last rows); its Type comes from
the label's words (INVOICE_RECEIPT_ID, TOTAL, TAX, ...), else OTHER. A vendor printed without a label is
not recognised. Line items are the rows of tables whose header names an item, a quantity or a price.
"""

from __future__ import annotations

import re
from typing import Any

from fogbank.engines.models.ocr import Box
from fogbank.engines.models.vision_tables import Table
from fogbank.services.textract.analyzer import AnalyzedPage
from fogbank.services.textract.blocks import PageGeometry

_SUMMARY_TYPES: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.IGNORECASE), t) for p, t in [
    (r"\bsub\s*-?\s*total\b", "SUBTOTAL"),
    (r"\b(amount|balance)\s+due\b", "AMOUNT_DUE"),
    (r"\b(grand\s+)?total\b", "TOTAL"),
    (r"\b(sales\s+)?(tax|vat|gst|hst)\b", "TAX"),
    (r"\bdue\s+date\b|\bpayment\s+due\b", "DUE_DATE"),
    (r"\b(invoice|receipt|bill)\s*(number|no\.?|num|#|id)\b", "INVOICE_RECEIPT_ID"),
    (r"\b(invoice|receipt|order)?\s*date\b", "INVOICE_RECEIPT_DATE"),
    (r"\b(p\.?\s*o\.?|purchase\s+order)\s*(number|no\.?|#)?\b", "PO_NUMBER"),
    (r"\b(order)\s*(number|no\.?|#)\b", "ORDER_ID"),
    (r"\b(account)\s*(number|no\.?|#)\b", "ACCOUNT_NUMBER"),
    (r"\b(customer|client)\s*(number|no\.?|#|id)\b", "CUSTOMER_NUMBER"),
    (r"\b(bill\s+to|sold\s+to|customer(\s+name)?|client(\s+name)?|ship\s+to)\b", "RECEIVER_NAME"),
    (r"\b(vendor|seller|supplier|merchant)(\s+name)?\b", "VENDOR_NAME"),
    (r"\b(payment\s+)?terms\b", "PAYMENT_TERMS"),
    (r"\bdiscount\b", "DISCOUNT"),
    (r"\b(shipping|delivery|freight)\b", "SHIPPING_HANDLING_CHARGE"),
    (r"\b(phone|tel|telephone)\b", "VENDOR_PHONE"),
    (r"\baddress\b", "ADDRESS"),
]]
_COLUMN_TYPES: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.IGNORECASE), t) for p, t in [
    (r"\b(qty|quantity|units?|hours|hrs)\b", "QUANTITY"),
    (r"\bunit\s*(price|cost)\b|\brate\b|\bprice\s+each\b", "UNIT_PRICE"),
    (r"\b(amount|total|line\s+total|price|cost|subtotal)\b", "PRICE"),
    (r"\b(sku|code|product\s+code|item\s+(no|number|#)|part\s+(no|number))\b", "PRODUCT_CODE"),
    (r"\b(item|description|product|service|details|article|name)\b", "ITEM"),
]]
_SUMMARY_ROW = re.compile(r"^\s*(sub\s*-?\s*total|total|grand\s+total|tax|vat|gst|amount\s+due|balance\s+due|"
                          r"discount|shipping)\b", re.IGNORECASE)
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}


def summary_type(label: str) -> str:
    for pattern, kind in _SUMMARY_TYPES:
        if pattern.search(label):
            return kind
    return "OTHER"


def _column_type(label: str) -> str:
    for pattern, kind in _COLUMN_TYPES:
        if pattern.search(label):
            return kind
    return "OTHER"


def _detection(geo: PageGeometry, text: str, box: Box | None, confidence: float) -> dict[str, Any]:
    out: dict[str, Any] = {"Text": text, "Confidence": round(confidence * 100, 4)}
    if box is not None:
        out["Geometry"] = geo.geometry(box)
    return out


def _field(geo: PageGeometry, page: int, kind: str, type_conf: float, label: tuple[str, Box | None] | None,
           value: tuple[str, Box | None], conf: float) -> dict[str, Any]:
    field: dict[str, Any] = {"Type": {"Text": kind, "Confidence": round(type_conf * 100, 4)},
                             "ValueDetection": _detection(geo, value[0], value[1], conf), "PageNumber": page}
    if label is not None:
        field["LabelDetection"] = _detection(geo, label[0], label[1], conf)
    symbol = next((s for s in _CURRENCY if s in value[0]), None)
    if symbol is not None:
        field["Currency"] = {"Code": _CURRENCY[symbol], "Confidence": 90.0}
    return field


def _is_item_table(table: Table) -> bool:
    if table.rows < 2:
        return False
    kinds = {_column_type(table.cell(1, c).text) for c in range(1, table.cols + 1)}
    return bool(kinds & {"ITEM", "QUANTITY", "UNIT_PRICE", "PRICE"}) and len(kinds - {"OTHER"}) >= 2


def expense_document(pages: list[AnalyzedPage]) -> dict[str, Any]:
    summary: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for page in pages:
        geo = page.geometry()
        for pair in page.analysis.key_values:
            if pair.checkbox is not None or not pair.value:
                continue
            label = pair.key_text.rstrip(":").strip()
            kind = summary_type(label)
            summary.append(_field(geo, page.number, kind, 0.9 if kind != "OTHER" else 0.7,
                                  (label, pair.key_box), (pair.value_text, pair.value_box), pair.confidence))
        for table in page.analysis.tables:
            if not _is_item_table(table):
                continue
            headers = [table.cell(1, c) for c in range(1, table.cols + 1)]
            kinds = [_column_type(h.text) for h in headers]
            rows: list[dict[str, Any]] = []
            for r in range(2, table.rows + 1):
                cells = [table.cell(r, c) for c in range(1, table.cols + 1)]
                texts = [c.text for c in cells]
                first = next((t for t in texts if t), "")
                if _SUMMARY_ROW.match(first):
                    value_cell = next((c for c in reversed(cells) if c.text and c.text != first), None)
                    if value_cell is not None:
                        label_cell = next(c for c in cells if c.text == first)
                        summary.append(_field(geo, page.number, summary_type(first), 0.9,
                                              (first, label_cell.box), (value_cell.text, value_cell.box),
                                              table.confidence))
                    continue
                if not any(texts):
                    continue
                fields = []
                for header, kind, cell in zip(headers, kinds, cells, strict=True):
                    if not cell.text:
                        continue
                    fields.append(_field(geo, page.number, kind, 0.9 if kind != "OTHER" else 0.6,
                                         (header.text, header.box) if header.text else None,
                                         (cell.text, cell.box), table.confidence))
                row_box = Box.cover([c.box for c in cells])
                fields.append(_field(geo, page.number, "EXPENSE_ROW", 0.95, None,
                                     (" ".join(t for t in texts if t), row_box), table.confidence))
                rows.append({"LineItemExpenseFields": fields})
            if rows:
                items.append({"LineItemGroupIndex": len(items) + 1, "LineItems": rows})
    blocks = [b for p in pages for b in p.blocks if b["BlockType"] in ("PAGE", "LINE", "WORD")]
    return {"ExpenseIndex": 1, "SummaryFields": summary, "LineItemGroups": items, "Blocks": blocks}
