"""AnalyzeID from OCR'd labels: the identity fields a document prints beside a label.

Limits, stated plainly: there is no identity-document model. A field is filled only where the document
prints a recognisable label next to its value ("DOB 01/02/1990", "Last Name: Doe", "4d DLN 123") and
is returned empty otherwise, as AWS returns every field type with an empty value when it finds none.
Dates are normalised to ISO 8601 when they parse unambiguously (month first for US-style dates, as
AWS's documents are US licences and passports). MRZ lines are recognised by their shape.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fogbank.engines.models.ocr import Line
from fogbank.services.textract.analyzer import AnalyzedPage

FIELDS = ("FIRST_NAME", "LAST_NAME", "MIDDLE_NAME", "SUFFIX", "CITY_IN_ADDRESS", "ZIP_CODE_IN_ADDRESS",
          "STATE_IN_ADDRESS", "STATE_NAME", "DOCUMENT_NUMBER", "EXPIRATION_DATE", "DATE_OF_BIRTH", "DATE_OF_ISSUE",
          "ID_TYPE", "ENDORSEMENTS", "VETERAN", "RESTRICTIONS", "CLASS", "ADDRESS", "COUNTY", "PLACE_OF_BIRTH",
          "MRZ_CODE")
DATE_FIELDS = ("EXPIRATION_DATE", "DATE_OF_BIRTH", "DATE_OF_ISSUE")
_LABELS: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.IGNORECASE), t) for p, t in [
    (r"^(first\s*name|given\s*names?|fn)$", "FIRST_NAME"),
    (r"^(last\s*name|surname|family\s*name|ln)$", "LAST_NAME"),
    (r"^(middle\s*name)$", "MIDDLE_NAME"),
    (r"^(suffix)$", "SUFFIX"),
    (r"^(dob|date\s*of\s*birth|birth\s*date|born)$", "DATE_OF_BIRTH"),
    (r"^(exp|expires|expiry|expiration(\s*date)?|date\s*of\s*expiry|valid\s*until)$", "EXPIRATION_DATE"),
    (r"^(iss|issued|issue\s*date|date\s*of\s*issue)$", "DATE_OF_ISSUE"),
    (r"^((dl|dln|lic(ense)?|id|document|passport)\s*(no|number|#)?|no)$", "DOCUMENT_NUMBER"),
    (r"^(class)$", "CLASS"),
    (r"^(end|endorsements?)$", "ENDORSEMENTS"),
    (r"^(rstr|restrictions?)$", "RESTRICTIONS"),
    (r"^(address|addr)$", "ADDRESS"),
    (r"^(city)$", "CITY_IN_ADDRESS"),
    (r"^(zip|zip\s*code|postal\s*code)$", "ZIP_CODE_IN_ADDRESS"),
    (r"^(state)$", "STATE_IN_ADDRESS"),
    (r"^(county)$", "COUNTY"),
    (r"^(place\s*of\s*birth|pob)$", "PLACE_OF_BIRTH"),
    (r"^(veteran)$", "VETERAN"),
]]
_MRZ = re.compile(r"^[A-Z0-9<]{30,44}$")
_DATE_FORMATS = ("%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%m/%d/%y",
                 "%d.%m.%Y")


def _normalise_label(text: str) -> str:
    cleaned = re.sub(r"^\d{1,2}[a-z]?\s+", "", text.strip().rstrip(":").strip())  # "4d DLN" -> "DLN"
    return cleaned.replace(".", "").strip()


def field_type(label: str) -> str | None:
    text = _normalise_label(label)
    for pattern, kind in _LABELS:
        if pattern.match(text):
            return kind
    return None


def iso_date(text: str) -> str | None:
    candidate = re.sub(r"\s+", " ", text.strip().replace(",", ""))
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(candidate, fmt).strftime("%Y-%m-%dT%H:%M:%S")
        except ValueError:
            continue
    return None


def _label_value_lines(lines: list[Line]) -> list[tuple[str, str, float]]:
    """Lines that read "LABEL value" with no colon (ID cards print "DOB 01/02/1990")."""
    out = []
    for line in lines:
        words = [w.text for w in line.words]
        for cut in range(1, min(4, len(words))):
            label = " ".join(words[:cut])
            if field_type(label) is not None:
                out.append((label, " ".join(words[cut:]), line.confidence))
                break
    return out


def identity_document(index: int, page: AnalyzedPage) -> dict[str, Any]:
    found: dict[str, tuple[str, float]] = {}
    analysis = page.analysis
    for pair in analysis.key_values:
        kind = field_type(pair.key_text)
        if kind is not None and pair.value and kind not in found:
            found[kind] = (pair.value_text, pair.confidence)
    for label, value, confidence in _label_value_lines(analysis.text.lines):
        kind = field_type(label)
        if kind is not None and value and kind not in found:
            found[kind] = (value, confidence)
    mrz = [ln.text.replace(" ", "") for ln in analysis.text.lines if _MRZ.match(ln.text.replace(" ", ""))]
    if mrz:
        found["MRZ_CODE"] = ("\n".join(mrz), 0.9)
    all_text = " ".join(ln.text for ln in analysis.text.lines).lower()
    if "passport" in all_text:
        found["ID_TYPE"] = ("PASSPORT", 0.9)
    elif "driver" in all_text or "license" in all_text or "licence" in all_text:
        found["ID_TYPE"] = ("DRIVER LICENSE FRONT", 0.9)
    fields = []
    for kind in FIELDS:
        text, confidence = found.get(kind, ("", 0.0))
        detection: dict[str, Any] = {"Text": text, "Confidence": round(confidence * 100, 4)}
        if kind in DATE_FIELDS and text:
            normalised = iso_date(text)
            if normalised:
                detection["NormalizedValue"] = {"Value": normalised, "ValueType": "DATE"}
        fields.append({"Type": {"Text": kind}, "ValueDetection": detection})
    blocks = [b for b in page.blocks if b["BlockType"] in ("PAGE", "LINE", "WORD")]
    return {"DocumentIndex": index, "IdentityDocumentFields": fields, "Blocks": blocks}
