"""Profanity masking: Translate replaces profane words in its output with ``?$#@$``.

The word lists are short, hand-written lists of common profanities per target language (stems matched at
word starts); they catch the words a person would expect masked, not every variant.
"""

from __future__ import annotations

import re

MASK = "?$#@$"

_STEMS: dict[str, tuple[str, ...]] = {
    "en": ("fuck", "shit", "bitch", "bastard", "asshole", "damn", "crap", "dick", "piss", "cunt", "bollocks",
           "wanker", "motherfuck", "bullshit"),
    "es": ("mierda", "puta", "puto", "joder", "coño", "cabrón", "cabron", "gilipollas", "pendejo", "carajo",
           "hostia", "maldit", "chingar", "culero"),
    "fr": ("merde", "putain", "connard", "connasse", "salaud", "salope", "enculé", "bordel", "foutre", "chier"),
    "it": ("merda", "cazzo", "stronzo", "vaffanculo", "puttana", "troia", "coglion", "fottut"),
    "pt": ("merda", "porra", "caralho", "puta", "foda", "cacete", "filho da puta", "desgraçad"),
    "ca": ("merda", "collons", "puta", "fotut", "cabró", "hòstia"),
}


def mask(text: str, language: str) -> str:
    stems = _STEMS.get(language.split("-")[0], ())
    if not stems:
        return text
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE)
    return pattern.sub(MASK, text)
