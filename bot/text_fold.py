"""Text as the brand matcher compares it, so that a mention cannot dodge a term by how it is
written: compatibility forms folded (NFKD: fullwidth, circled and mathematical letters,
ligatures), combining marks and invisible format characters removed (zero-width spaces and
joiners, soft hyphens, bidi controls, tag characters), and letters of other scripts that look
like Latin ones (Cyrillic е, Greek ο, Armenian օ, ...) read as those. Terms are folded the
same way, so "Zеltro" with a Cyrillic е, "Ze\u200bltro", "Ｚｅｌｔｒｏ" and "Zel\u00adtro" all
match the term "zeltro". The text kept and shown is always the text as written.

`variants` gives every reading worth matching: invisible characters removed (they split a
word) and, where there were some, replaced by spaces (they separated two words); text under a
right-to-left override is also read in the order it is displayed.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata

# Latin lookalikes from other scripts (a subset of Unicode's confusables.txt, UTS #39, whose
# prototype is one Latin letter), mapped to that letter. Compatibility forms are left to NFKD.
CONFUSABLES = {
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q", "Ԝ": "W",
    "Һ": "H", "Ӏ": "I", "Ԁ": "D", "Ԍ": "G", "Ɩ": "l",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ү": "y", "ӏ": "l", "ɡ": "g", "ԍ": "g",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    "ο": "o", "α": "a", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "υ": "u", "χ": "x", "ϲ": "c",
    "ϳ": "j", "γ": "y",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "զ": "q", "ա": "w", "Ս": "U", "Օ": "O",
    # Cherokee capitals
    "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C", "Ꭼ": "E", "Ꮐ": "G", "Ꮋ": "H", "Ꭻ": "J", "Ꮶ": "K", "Ꮮ": "L",
    "Ꮇ": "M", "Ꮲ": "P", "Ꮪ": "S", "Ꭲ": "T", "Ꮃ": "W", "Ꮓ": "Z", "Ꮩ": "V",
    # Latin letters that read as plainer ones
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ʋ": "u", "ꞵ": "b",
}  # fmt: skip

RIGHT_TO_LEFT_OVERRIDE = "\u202e"
_OVERRIDE_ENDS = ("\u202c", "\n")  # POP DIRECTIONAL FORMATTING, or the end of the line
_INVISIBLE_CATEGORIES = ("Cf",)  # format characters: zero-width, bidi, soft hyphen, tags
_MARK_CATEGORIES = ("Mn", "Me")  # combining marks
# Stands for a format character until a reading removes it or makes it a space; NUL, which
# html_to_text has already taken out of any text (in a term it would mean nothing).
_MARKER = "\x00"


def fold(text: str) -> str:
    """The text as the matcher reads it, format characters removed. ASCII text is returned
    as it is: there is nothing to fold."""
    if text.isascii():
        return text
    return _folded(text).replace(_MARKER, "")


def variants(text: str) -> list[str]:
    """Every folded reading of `text` a term should be looked for in (see above)."""
    if text.isascii():
        return [text]
    folded = _folded(text)
    readings = [folded.replace(_MARKER, "")]
    if _MARKER in folded:  # format characters were there: they may have separated words
        readings.append(folded.replace(_MARKER, " "))
    if RIGHT_TO_LEFT_OVERRIDE in text:
        readings.append(fold(displayed(text)))
    return readings


def _folded(text: str) -> str:
    """NFKD, marks removed, lookalikes mapped, each format character as _MARKER."""
    return unicodedata.normalize("NFKD", text).translate(_table())


def displayed(text: str) -> str:
    """The text with each run under a right-to-left override in the order it is shown. Each
    run ends at the next POP DIRECTIONAL FORMATTING or line end. Where each end was last
    found is remembered (len(text): none further), so each search goes only forward and the
    text is read once however many overrides it holds."""
    parts, position = [], 0
    found = dict.fromkeys(_OVERRIDE_ENDS, -1)
    start = text.find(RIGHT_TO_LEFT_OVERRIDE)
    while start >= 0:
        for closer, at in found.items():
            if at <= start:
                at = text.find(closer, start + 1)
                found[closer] = len(text) if at < 0 else at
        end = min(found.values())
        parts.append(text[position:start])
        parts.append(text[start + 1 : end][::-1])
        position = end
        start = text.find(RIGHT_TO_LEFT_OVERRIDE, position)
    parts.append(text[position:])
    return "".join(parts)


@functools.cache
def _table() -> dict[int, str | None]:
    """The translation table: marks removed, format characters marked, lookalikes mapped.
    Built once (the code points with marks and format characters lie in planes 0, 1, 14)."""
    table: dict[int, str | None] = {}
    for point in itertools.chain(range(0x80, 0x20000), range(0xE0000, 0xE1000)):
        category = unicodedata.category(chr(point))
        if category in _MARK_CATEGORIES:
            table[point] = None
        elif category in _INVISIBLE_CATEGORIES:
            table[point] = _MARKER
    table.update({ord(k): v for k, v in CONFUSABLES.items()})
    return table
