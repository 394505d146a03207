"""Quality metrics written out in full so the numbers are reproducible without extra packages.

- ``wer``: word error rate, word-level Levenshtein distance over the reference length (lower case, punctuation
  dropped, numerals up to ninety read as words).
- ``chrf``: chrF (Popović 2015) with character n-grams 1..6 and beta 2, over whitespace-free text, computed
  at corpus level from summed n-gram statistics, as sacreBLEU's default chrF does.
"""

from __future__ import annotations

import re
from collections import Counter

_NUMBERS = dict(enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                            "nineteen"]))
_NUMBERS.update({10 * n: word for n, word in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy",
                                                         "eighty", "ninety"], start=2)})


def _words(text: str) -> list[str]:
    """Lower-case words; numerals a recogniser writes as digits ("20") are read as the words they stand for."""
    words = []
    for word in re.findall(r"[a-z0-9']+", text.lower()):
        words.append(_NUMBERS.get(int(word), word) if word.isdigit() else word)
    return words


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, other in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return previous[-1]


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER: total edits over total reference words."""
    edits = sum(edit_distance(_words(r), _words(h)) for r, h in zip(references, hypotheses, strict=True))
    return edits / max(1, sum(len(_words(r)) for r in references))


def _ngrams(text: str, n: int) -> Counter[str]:
    flat = "".join(text.split())
    return Counter(flat[i:i + n] for i in range(len(flat) - n + 1))


def chrf(references: list[str], hypotheses: list[str], order: int = 6, beta: float = 2.0) -> float:
    """Corpus chrF on a 0-100 scale."""
    matches = [0] * order
    hyp_totals = [0] * order
    ref_totals = [0] * order
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        for n in range(1, order + 1):
            ref, hyp = _ngrams(reference, n), _ngrams(hypothesis, n)
            matches[n - 1] += sum((ref & hyp).values())
            hyp_totals[n - 1] += sum(hyp.values())
            ref_totals[n - 1] += sum(ref.values())
    precision = sum(m / h if h else 0.0 for m, h in zip(matches, hyp_totals, strict=True)) / order
    recall = sum(m / r if r else 0.0 for m, r in zip(matches, ref_totals, strict=True)) / order
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
