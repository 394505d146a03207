"""Analyze Lending: each page classified by type, then read by the analysis that fits its type.

How far this goes, stated plainly:
- Classification is the phrase-evidence classifier of ``engines/models/lending_classes.py`` over the page's
  OCR text: a page is a W2, PAYSLIPS, BANK_STATEMENT, 1099_*, 1040, INVOICES, RECEIPTS, IDENTITY_DOCUMENT,
  CHECKS, MORTGAGE_STATEMENT or UTILITY_BILLS page only when it prints that form's headings or labels,
  else UNCLASSIFIED. AWS's other classes (1003, 1005, 1008, HUD-1, ...) are never produced.
- Extraction for INVOICES and RECEIPTS is AnalyzeExpense's (``expense.py``), for IDENTITY_DOCUMENT
  AnalyzeID's (``identity.py``). For every other classified page the page's key-value pairs (the FORMS
  analysis) become LendingFields where the key's words match one of AWS's field names for that page type
  ("Employee's social security number" on a W2 -> EMPLOYEE_SSN, "Net Pay" on a pay slip -> NET_PAY); a
  key that matches none is left out, and a value printed without a label is not found. Signatures come from
  the SIGNATURES analysis. UNCLASSIFIED pages have no extractions.
- The summary groups pages by type; a new document of a type starts where the type changes, where a page
  prints "Page 1 of N", or where a one-page form (W2, 1099s, checks, IDs, receipts) follows another of its
  kind with no page numbers. UndetectedDocumentTypes lists the types fogbank can classify that no page had.
"""

from __future__ import annotations

import re
from typing import Any

from fogbank.engines.models.lending_classes import PAGE_TYPES, UNCLASSIFIED, classify, page_number
from fogbank.services.textract.analyzer import AnalyzedPage
from fogbank.services.textract.expense import expense_document
from fogbank.services.textract.identity import identity_document

FEATURES = {"TABLES", "FORMS", "SIGNATURES"}
RESULTS_PAGE_MAX = 30
ONE_PAGE_FORMS = {"W2", "1099_INT", "1099_DIV", "1099_MISC", "1099_NEC", "1099_R", "CHECKS", "IDENTITY_DOCUMENT",
                  "RECEIPTS"}

# Field types by page type: (key pattern, AWS field name); the first pattern that matches a key wins.
_FIELDS: dict[str, list[tuple[str, str]]] = {
    "W2": [
        (r"employee'?s? (social security|ssa?) (number|no)|\bssn\b", "EMPLOYEE_SSN"),
        (r"employer identification number|\bein\b", "EMPLOYER_EIN"),
        (r"employer'?s? name", "EMPLOYER_NAME"),
        (r"employer'?s? address", "EMPLOYER_ADDRESS"),
        (r"employee'?s? (first )?name", "EMPLOYEE_NAME"),
        (r"employee'?s? address", "EMPLOYEE_ADDRESS"),
        (r"control number", "CONTROL_NUMBER"),
        (r"wages,? tips,? (and )?other comp", "WAGES_TIPS_OTHER_COMPENSATION"),
        (r"federal income tax withheld", "FEDERAL_INCOME_TAX_WITHHELD"),
        (r"social security wages", "SOCIAL_SECURITY_WAGES"),
        (r"social security tax withheld", "SOCIAL_SECURITY_TAX_WITHHELD"),
        (r"medicare wages", "MEDICARE_WAGES_AND_TIPS"),
        (r"medicare tax withheld", "MEDICARE_TAX_WITHHELD"),
        (r"social security tips", "SOCIAL_SECURITY_TIPS"),
        (r"allocated tips", "ALLOCATED_TIPS"),
        (r"dependent care", "DEPENDENT_CARE_BENEFITS"),
        (r"state wages", "STATE_WAGES_TIPS_ETC"),
        (r"state income tax", "STATE_INCOME_TAX"),
        (r"\btax year\b|\byear\b", "TAX_YEAR"),
    ],
    "PAYSLIPS": [
        (r"pay period (start|begin(ning)?|from)|period (start|begin(ning)?)", "PAY_PERIOD_START_DATE"),
        (r"pay period end|period end(ing)?|\bthrough\b|\bto\b$", "PAY_PERIOD_END_DATE"),
        (r"\bpay date\b|\bcheck date\b|\bpaid on\b", "PAY_DATE"),
        (r"employee'?s? name|^employee$|^name$", "EMPLOYEE_NAME"),
        (r"employee (id|number|no)", "EMPLOYEE_NUMBER"),
        (r"employer'?s? name|^employer$|^company$", "EMPLOYER_NAME"),
        (r"employer'?s? address|company address", "EMPLOYER_ADDRESS"),
        (r"employee'?s? address", "EMPLOYEE_ADDRESS"),
        (r"(ytd|year to date) gross", "YTD_GROSS_PAY"),
        (r"(ytd|year to date) net", "YTD_NET_PAY"),
        (r"gross (pay|earnings|wages)", "GROSS_PAY"),
        (r"net (pay|amount|earnings)|take home", "NET_PAY"),
        (r"total deductions", "TOTAL_DEDUCTIONS"),
        (r"federal (income )?tax", "FEDERAL_TAX"),
        (r"state (income )?tax", "STATE_TAX"),
        (r"social security", "SOCIAL_SECURITY_TAX"),
        (r"medicare", "MEDICARE_TAX"),
        (r"(regular )?hours", "HOURS"),
        (r"(pay |hourly )?rate", "PAY_RATE"),
        (r"\bssn\b|social security number", "EMPLOYEE_SSN"),
    ],
    "BANK_STATEMENT": [
        (r"statement period|statement date", "STATEMENT_PERIOD"),
        (r"(beginning|opening|previous) balance", "BEGINNING_BALANCE"),
        (r"(ending|closing|new) balance", "ENDING_BALANCE"),
        (r"account (number|no|#)", "ACCOUNT_NUMBER"),
        (r"account (holder|name)|^name$", "ACCOUNT_HOLDER_NAME"),
        (r"account type", "ACCOUNT_TYPE"),
        (r"bank name|^bank$", "BANK_NAME"),
        (r"(total )?deposits", "TOTAL_DEPOSITS"),
        (r"(total )?withdrawals", "TOTAL_WITHDRAWALS"),
        (r"routing (number|no)", "ROUTING_NUMBER"),
    ],
    "MORTGAGE_STATEMENT": [
        (r"loan (number|no|#)", "LOAN_NUMBER"),
        (r"principal balance", "PRINCIPAL_BALANCE"),
        (r"escrow balance", "ESCROW_BALANCE"),
        (r"interest rate", "INTEREST_RATE"),
        (r"(payment )?due date", "PAYMENT_DUE_DATE"),
        (r"amount due|total (payment|amount) due", "AMOUNT_DUE"),
        (r"property address", "PROPERTY_ADDRESS"),
        (r"borrower", "BORROWER_NAME"),
    ],
    "UTILITY_BILLS": [
        (r"account (number|no|#)", "ACCOUNT_NUMBER"),
        (r"service address", "SERVICE_ADDRESS"),
        (r"(bill|statement) date", "BILL_DATE"),
        (r"due date", "DUE_DATE"),
        (r"amount due|total due", "AMOUNT_DUE"),
        (r"customer name|^name$", "CUSTOMER_NAME"),
    ],
    "CHECKS": [
        (r"pay to the order of", "PAYEE_NAME"),
        (r"\bdate\b", "CHECK_DATE"),
        (r"\bmemo\b", "MEMO"),
        (r"amount|\$", "AMOUNT"),
    ],
    "1040": [
        (r"(your )?first name", "TAXPAYER_NAME"),
        (r"social security number|\bssn\b", "TAXPAYER_SSN"),
        (r"filing status", "FILING_STATUS"),
        (r"adjusted gross income", "ADJUSTED_GROSS_INCOME"),
        (r"taxable income", "TAXABLE_INCOME"),
        (r"total tax", "TOTAL_TAX"),
        (r"wages", "WAGES"),
    ],
}
_1099 = [
    (r"payer'?s? (tin|federal identification)", "PAYER_TIN"),
    (r"recipient'?s? (tin|identification)", "RECIPIENT_TIN"),
    (r"payer'?s? name", "PAYER_NAME"),
    (r"recipient'?s? name", "RECIPIENT_NAME"),
    (r"account (number|no)", "ACCOUNT_NUMBER"),
    (r"interest income", "INTEREST_INCOME"),
    (r"ordinary dividends", "TOTAL_ORDINARY_DIVIDENDS"),
    (r"qualified dividends", "QUALIFIED_DIVIDENDS"),
    (r"nonemployee compensation", "NONEMPLOYEE_COMPENSATION"),
    (r"gross distribution", "GROSS_DISTRIBUTION"),
    (r"taxable amount", "TAXABLE_AMOUNT"),
    (r"\brents\b", "RENTS"),
    (r"\broyalties\b", "ROYALTIES"),
    (r"other income", "OTHER_INCOME"),
    (r"federal income tax withheld", "FEDERAL_INCOME_TAX_WITHHELD"),
]
for _kind in ("1099_INT", "1099_DIV", "1099_MISC", "1099_NEC", "1099_R"):
    _FIELDS[_kind] = _1099
# OCR sometimes runs two printed words together ("Pay PeriodStart"), so a space in a pattern is optional.
_COMPILED = {kind: [(re.compile(p.replace(" ", r"\s*")), t) for p, t in rules] for kind, rules in _FIELDS.items()}


def _key_words(text: str) -> str:
    """A key as its words: box numbers ("1 Wages", "a Employee's") and trailing colons dropped."""
    cleaned = text.replace("\u2019", "'").lower().strip().rstrip(":").strip()
    cleaned = re.sub(r"^(box\s*)?(\d{1,2}[a-z]?|[a-f])\s+", "", cleaned)
    return re.sub(r"\s+", " ", cleaned)


def field_type(page_type: str, key: str) -> str | None:
    words = _key_words(key)
    for pattern, kind in _COMPILED.get(page_type, []):
        if pattern.search(words):
            return kind
    return None


def _detection(page: AnalyzedPage, text: str, box: Any, confidence: float,
               selection: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Text": text, "Geometry": page.geometry().geometry(box),
                           "Confidence": round(confidence * 100, 4)}
    if selection is not None:
        out["SelectionStatus"] = selection
    return out


def lending_document(page: AnalyzedPage, page_type: str) -> dict[str, Any]:
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for pair in page.analysis.key_values:
        kind = field_type(page_type, pair.key_text)
        if kind is None or kind in seen:
            continue
        seen.add(kind)
        field: dict[str, Any] = {"Type": kind,
                                 "KeyDetection": _detection(page, pair.key_text, pair.key_box, pair.confidence)}
        if pair.checkbox is not None:
            field["ValueDetections"] = [_detection(page, "", pair.checkbox.box, pair.checkbox.confidence,
                                                   "SELECTED" if pair.checkbox.selected else "NOT_SELECTED")]
        elif pair.value:
            field["ValueDetections"] = [_detection(page, pair.value_text, pair.value_box, pair.confidence)]
        else:
            field["ValueDetections"] = []
        fields.append(field)
    signatures = [{"Confidence": round(s.confidence * 100, 4), "Geometry": page.geometry().geometry(s.box)}
                  for s in page.analysis.signatures]
    return {"LendingFields": fields, "SignatureDetections": signatures}


def _extractions(page: AnalyzedPage, page_type: str) -> list[dict[str, Any]]:
    if page_type == UNCLASSIFIED:
        return []
    if page_type in ("INVOICES", "RECEIPTS"):
        return [{"ExpenseDocument": expense_document([page])}]
    if page_type == "IDENTITY_DOCUMENT":
        return [{"IdentityDocument": identity_document(1, page)}]
    return [{"LendingDocument": lending_document(page, page_type)}]


def page_result(page: AnalyzedPage) -> dict[str, Any]:
    lines = [ln.text for ln in page.analysis.text.lines]
    found = classify(lines)
    number = page_number(lines)
    return {
        "Page": page.number,
        "PageClassification": {
            "PageType": [{"Value": found.page_type, "Confidence": round(found.confidence * 100, 4)}],
            "PageNumber": [{"Value": number or "undetected", "Confidence": 95.0 if number else 100.0}],
        },
        "Extractions": _extractions(page, found.page_type),
    }


def summary(results: list[dict[str, Any]], signed_pages: set[int]) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    previous: tuple[str, str] | None = None  # (type, detected page number) of the page before
    for result in results:
        page = int(result["Page"])
        kind = result["PageClassification"]["PageType"][0]["Value"]
        number = result["PageClassification"]["PageNumber"][0]["Value"]
        group = groups.setdefault(kind, {"Type": kind, "SplitDocuments": [], "DetectedSignatures": [],
                                         "UndetectedSignatures": []})
        splits: list[dict[str, Any]] = group["SplitDocuments"]
        starts = (previous is None or previous[0] != kind or number == "1" or not splits
                  or (kind in ONE_PAGE_FORMS and number == "undetected" and previous[1] == "undetected"))
        if starts:
            splits.append({"Index": len(splits) + 1, "Pages": [page]})
        else:
            splits[-1]["Pages"].append(page)
        target = "DetectedSignatures" if page in signed_pages else "UndetectedSignatures"
        group[target].append({"Page": page})
        previous = (kind, number)
    undetected = [kind for kind in PAGE_TYPES if kind not in groups]
    return {"DocumentGroups": list(groups.values()), "UndetectedDocumentTypes": undetected}


def lending_analysis(pages: list[AnalyzedPage]) -> dict[str, Any]:
    """The whole job's result: per-page Results and the Summary, stored together."""
    results = [page_result(page) for page in pages]
    signed = {page.number for page in pages if page.analysis.signatures}
    return {"DocumentMetadata": {"Pages": len(pages)}, "Results": results, "Summary": summary(results, signed)}
