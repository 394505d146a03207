"""Which kind of lending document a page is, from the phrases its printed text contains.

There is no trained page classifier here. Each page type lists the phrases its forms print ("Wage and Tax
Statement" and "Form W-2" on a W-2, "Earnings Statement" and "Pay Period" on a pay slip, "Beginning
Balance" on a bank statement), each with a weight: how sure one would be of the type from that phrase
alone. A page's evidence for a type combines the weights of the distinct phrases found as independent
clues (noisy-OR: 1 - prod(1 - w)), and is discounted by the evidence for the strongest competing type.
A page whose best evidence stays under ``THRESHOLD`` is UNCLASSIFIED. Every decision carries the phrases
that made it, so it can be explained and tested; a form that prints none of its type's phrases (a
hand-made pay slip with no headings, a scan too poor to read) is not recognised.

Page numbers printed as "Page 2 of 5" or "2/5" at a line's end are read as the page's number in its
document; without one the number is "undetected", as AWS reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNCLASSIFIED = "UNCLASSIFIED"
THRESHOLD = 0.6

# (type, [(phrase pattern, weight)]). Patterns run on lowercased text with runs of white space collapsed.
_EVIDENCE: list[tuple[str, list[tuple[str, float]]]] = [
    ("W2", [(r"wage and tax statement", 0.9), (r"\bform\s*w-?2\b", 0.8), (r"\bw-2\b", 0.6),
            (r"wages,? tips,? (and )?other comp", 0.7), (r"social security wages", 0.5),
            (r"medicare wages", 0.5), (r"employer identification number", 0.3),
            (r"employee'?s social security number", 0.4), (r"federal income tax withheld", 0.3)]),
    ("PAYSLIPS", [(r"earnings statement", 0.8), (r"\bpay ?(stub|slip)\b|\bpayslip\b", 0.85),
                  (r"pay period", 0.6), (r"\bpay date\b", 0.4), (r"gross pay", 0.5), (r"net pay", 0.6),
                  (r"year to date|\bytd\b", 0.3), (r"\bdeductions\b", 0.2)]),
    ("BANK_STATEMENT", [(r"bank statement", 0.85), (r"statement period", 0.5),
                        (r"(beginning|opening) balance", 0.6), (r"(ending|closing) balance", 0.6),
                        (r"account summary", 0.3), (r"\bwithdrawals\b", 0.3), (r"\bdeposits\b", 0.2)]),
    ("1099_INT", [(r"\b1099-?int\b", 0.95), (r"interest income", 0.5)]),
    ("1099_DIV", [(r"\b1099-?div\b", 0.95), (r"dividends and distributions", 0.7)]),
    ("1099_MISC", [(r"\b1099-?misc\b", 0.95), (r"miscellaneous (income|information)", 0.7)]),
    ("1099_NEC", [(r"\b1099-?nec\b", 0.95), (r"nonemployee compensation", 0.8)]),
    ("1099_R", [(r"\b1099-?r\b", 0.95), (r"distributions from pensions", 0.8)]),
    ("1040", [(r"individual income tax return", 0.9), (r"\bform\s*1040\b", 0.8), (r"filing status", 0.4),
              (r"adjusted gross income", 0.4)]),
    ("INVOICES", [(r"\binvoice\b", 0.5), (r"invoice (number|no|#|date)", 0.8), (r"\bbill to\b", 0.4),
                  (r"amount due", 0.3)]),
    ("RECEIPTS", [(r"\breceipt\b", 0.55), (r"thank you for (shopping|your purchase)", 0.5), (r"\bchange due\b", 0.5),
                  (r"\bsubtotal\b", 0.2)]),
    ("IDENTITY_DOCUMENT", [(r"driver'?s? licen[cs]e", 0.85), (r"\bpassport\b", 0.8), (r"identification card", 0.8),
                           (r"date of birth|\bdob\b", 0.3)]),
    ("CHECKS", [(r"pay to the order of", 0.9), (r"\bdollars\b", 0.2), (r"\bmemo\b", 0.2)]),
    ("MORTGAGE_STATEMENT", [(r"mortgage statement", 0.9), (r"escrow balance", 0.6), (r"principal balance", 0.4),
                            (r"loan number", 0.3)]),
    ("UTILITY_BILLS", [(r"utility bill", 0.8), (r"\bkwh\b", 0.7), (r"\bmeter\b", 0.5), (r"service address", 0.4),
                       (r"\belectric(ity)?\b", 0.3)]),
]
# OCR sometimes runs two printed words together ("WageandTax"), so a space in a phrase is optional.
_COMPILED = [(kind, [(re.compile(p.replace(" ", r"\s*")), w) for p, w in clues]) for kind, clues in _EVIDENCE]
PAGE_TYPES: tuple[str, ...] = tuple(kind for kind, _ in _EVIDENCE)
_PAGE_NUMBER = re.compile(r"\bpage\s*(\d{1,4})\s*(?:of|/)\s*\d{1,4}\b|(?:^|\s)(\d{1,4})\s*/\s*\d{1,4}$")


@dataclass
class Classification:
    page_type: str
    confidence: float  # 0..1
    evidence: list[str] = field(default_factory=list)  # the phrases found for the chosen type
    scores: dict[str, float] = field(default_factory=dict)  # combined evidence per type that had any


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2014", "-").lower()).strip()


def classify(lines: list[str]) -> Classification:
    """The page type best supported by the page's printed phrases, or UNCLASSIFIED."""
    text = normalise("\n".join(lines))
    scores: dict[str, float] = {}
    found: dict[str, list[str]] = {}
    for kind, clues in _COMPILED:
        missing = 1.0
        hits: list[str] = []
        for pattern, weight in clues:
            match = pattern.search(text)
            if match:
                missing *= 1.0 - weight
                hits.append(match.group(0))
        if hits:
            scores[kind] = 1.0 - missing
            found[kind] = hits
    if not scores:
        return Classification(UNCLASSIFIED, 1.0)
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = best_score * (1.0 - 0.5 * runner_up)
    if confidence < THRESHOLD:
        return Classification(UNCLASSIFIED, 1.0 - confidence, [], scores)
    return Classification(best, confidence, found[best], scores)


def page_number(lines: list[str]) -> str | None:
    """The page's number within its document when the page prints one ("Page 2 of 5")."""
    for line in lines:
        match = _PAGE_NUMBER.search(normalise(line))
        if match:
            return match.group(1) or match.group(2)
    return None
