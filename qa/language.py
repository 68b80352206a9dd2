"""The writing system of a question or an article: the reader understands English only, so a
question or an article written mostly in another script gets a sentence saying so, rather than a
silent "the article doesn't say". (Languages written in Latin letters are not told apart here.)

>>> dominant_script("Who is the US Secretary of Defence?"), dominant_script("美国国防部长是谁？"), dominant_script("?!")
('Latin', 'Chinese or Japanese', None)
"""

from __future__ import annotations

import unicodedata
from collections import Counter

# Characters read to tell a text's script: its beginning is enough, and the article panel asks on
# every answer (20,000 characters took 5 ms; 2,000 take 0.5).
SAMPLE_CHARS = 2_000
# Unicode's names for scripts, as a reader says them.
_SCRIPT_NAMES = {
    "LATIN": "Latin", "CJK": "Chinese or Japanese", "HIRAGANA": "Japanese", "KATAKANA": "Japanese",
    "HANGUL": "Korean", "ARABIC": "Arabic", "HEBREW": "Hebrew", "CYRILLIC": "Cyrillic", "GREEK": "Greek",
    "DEVANAGARI": "Devanagari", "BENGALI": "Bengali", "TAMIL": "Tamil", "THAI": "Thai", "ARMENIAN": "Armenian",
    "GEORGIAN": "Georgian", "ETHIOPIC": "Ethiopic", "GUJARATI": "Gujarati", "GURMUKHI": "Gurmukhi",
    "TELUGU": "Telugu", "KANNADA": "Kannada", "MALAYALAM": "Malayalam", "SINHALA": "Sinhala", "KHMER": "Khmer",
    "LAO": "Lao", "MYANMAR": "Myanmar", "TIBETAN": "Tibetan", "MONGOLIAN": "Mongolian",
}


def dominant_script(text: str) -> str | None:
    """The script most of ``text``'s letters (of its first ``SAMPLE_CHARS`` characters) are written
    in, or None when it has no letter."""
    counts: Counter[str] = Counter()
    for character in text[:SAMPLE_CHARS]:
        if character.isalpha():
            name = unicodedata.name(character, "")
            counts[name.split(" ", 1)[0] if name else "?"] += 1
    if not counts:
        return None
    script = counts.most_common(1)[0][0]
    return _SCRIPT_NAMES.get(script, script.title())


def not_english_note(text: str) -> str | None:
    """A sentence for text written mostly in a script other than Latin, else None.

    >>> not_english_note("מי כתב את הכתבה?")
    'This is written in Hebrew script: the reader understands English only.'
    """
    script = dominant_script(text)
    if script in (None, "Latin"):
        return None
    return f"This is written in {script} script: the reader understands English only."
