"""Custom terminology: CSV/TSV/TMX parsing, and applying terms around a rule-based translation.

A term found in the source (whole words, case-insensitive) is swapped for a placeholder token that Apertium
passes through untouched as an unknown word, and the placeholder becomes the target term afterwards, so the
term is never re-translated.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from defusedxml import ElementTree

MAX_TERMS = 10_000


class TerminologyError(Exception):
    """The file is not a terminology Translate accepts."""


@dataclass(frozen=True)
class Terminology:
    """Terms by language: ``terms[i][lang]`` is the i-th entry's text in ``lang``."""

    languages: tuple[str, ...]
    terms: tuple[dict[str, str], ...]
    directionality: str

    @property
    def source_language(self) -> str:
        return self.languages[0]

    def pairs(self, source: str, target: str) -> list[tuple[str, str]]:
        """(source term, target term) for a translation direction, longest source first."""
        if self.directionality == "UNI" and source != self.source_language:
            return []
        found = [(t[source], t[target]) for t in self.terms if t.get(source) and t.get(target)]
        return sorted(found, key=lambda pair: -len(pair[0]))


def parse(data: bytes, fmt: str, directionality: str) -> Terminology:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TerminologyError("The terminology file must be UTF-8 encoded.") from None
    if fmt in ("CSV", "TSV"):
        rows = [row for row in csv.reader(io.StringIO(text), delimiter="," if fmt == "CSV" else "\t") if row]
        if len(rows) < 2:
            raise TerminologyError("The terminology file needs a header of language codes and at least one term.")
        languages = tuple(code.strip() for code in rows[0])
        if len(set(languages)) != len(languages) or not all(languages) or len(languages) < 2:
            raise TerminologyError("The header must name two or more distinct language codes.")
        terms = tuple({languages[i]: cell.strip() for i, cell in enumerate(row[:len(languages)]) if cell.strip()}
                      for row in rows[1:])
    elif fmt == "TMX":
        try:
            root = ElementTree.fromstring(data)
        except Exception as exc:
            raise TerminologyError(f"The TMX file is not valid XML: {exc}") from None
        entries: list[dict[str, str]] = []
        seen: list[str] = []
        for unit in root.iter("tu"):
            entry: dict[str, str] = {}
            for variant in unit.iter("tuv"):
                lang = variant.get("{http://www.w3.org/XML/1998/namespace}lang") or variant.get("lang") or ""
                segment = variant.find("seg")
                if lang and segment is not None and (segment.text or "").strip():
                    entry[lang] = (segment.text or "").strip()
                    if lang not in seen:
                        seen.append(lang)
            if entry:
                entries.append(entry)
        header = root.find("header")
        source = header.get("srclang") if header is not None else None
        if source in seen:
            seen.remove(source)
            seen.insert(0, source)
        if len(seen) < 2 or not entries:
            raise TerminologyError("The TMX file needs translation units in two or more languages.")
        languages, terms = tuple(seen), tuple(entries)
    else:
        raise TerminologyError(f"Unsupported terminology format {fmt}.")
    if len(terms) > MAX_TERMS:
        raise TerminologyError(f"A terminology holds at most {MAX_TERMS} terms.")
    return Terminology(languages, terms, directionality)


def to_csv(terminology: Terminology) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(terminology.languages)
    for term in terminology.terms:
        writer.writerow([term.get(lang, "") for lang in terminology.languages])
    return buffer.getvalue().encode("utf-8")


def protect(text: str, pairs: list[tuple[str, str]]) -> tuple[str, dict[str, tuple[str, str]]]:
    """Replaces source terms by placeholders; returns the text and placeholder -> (source, target)."""
    found: dict[str, tuple[str, str]] = {}
    for source, target in pairs:
        pattern = re.compile(rf"(?<!\w){re.escape(source)}(?!\w)", re.IGNORECASE)

        def swap(match: re.Match[str], source: str = source, target: str = target) -> str:
            token = f"Zqterm{len(found)}qZ"
            found[token] = (source, target)
            return token

        text = pattern.sub(swap, text)
    return text, found


def restore(text: str, found: dict[str, tuple[str, str]]) -> str:
    for token, (_, target) in found.items():
        text = re.sub(re.escape(token), target.replace("\\", "\\\\"), text, flags=re.IGNORECASE)
    return text
