"""The refusal of XML documents that could define entities, before any parser sees them.

Entities are how the entity-expansion bombs (billion laughs) and external entity reads (XXE)
work, and no real feed needs one. A document is refused when, anywhere in it (the whole
capped body is read, not a prolog), in any encoding a parser might read it in:
- it holds a markup declaration: `<!ENTITY`, `<!ELEMENT`, `<!ATTLIST` or `<!NOTATION`; or
- it holds a document type declaration with an internal subset (`<!DOCTYPE x [ ... ]>`), one
  that never ends, or more than one.
A bare DOCTYPE naming an external DTD (RSS 0.91's Netscape DTD, an XHTML page that wraps a
feed) is let through: it defines nothing unless the DTD is loaded, and neither feedparser nor
lxml loads one (tests/sources/test_xml_guard.py proves no DTD is fetched or read).

The encodings looked at: the bytes as ASCII (every ASCII-compatible encoding), and the text
decoded with each encoding the document could be read in: its byte order mark, the
encoding family its first bytes show (UTF-16/32 without a BOM, EBCDIC), the encoding its XML
declaration names and the charset of its HTTP Content-Type. An encoding Python cannot decode
is refused: a parser that knows it could read declarations this check cannot see.
Case is ignored throughout, and CDATA sections and comments are not exempt (a parser that
recovers from errors may not agree where they end).
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from bot.sources.base import SourceError

# A markup declaration that only a DTD may hold, or the start of a document type declaration.
# Case is ignored by spelling the letters out: with re.IGNORECASE the engine would lose its
# fast search for the literal "<!" (most feeds hold thousands, as "<![CDATA[").
_DECLARATION = re.compile(
    rb"<!(?:([Ee][Nn][Tt][Ii][Tt][Yy]|[Ee][Ll][Ee][Mm][Ee][Nn][Tt]|[Aa][Tt][Tt][Ll][Ii][Ss][Tt]"
    rb"|[Nn][Oo][Tt][Aa][Tt][Ii][Oo][Nn])|[Dd][Oo][Cc][Tt][Yy][Pp][Ee])"
)
_DECLARATION_TEXT = re.compile(_DECLARATION.pattern.decode("ascii"))
# A DOCTYPE's body up to its end or its internal subset. Possessive repeats: nothing is
# ever given back, so a failing match costs one pass.
_DOCTYPE_BODY = re.compile(rb"""(?:[^"'\[>]++|"[^"]*+"|'[^']*+')*+([\[>])""")
_DOCTYPE_BODY_TEXT = re.compile(r"""(?:[^"'\[>]++|"[^"]*+"|'[^']*+')*+([\[>])""")
_XML_ENCODING = re.compile(r"""<\?xml[^<>]{0,200}?encoding\s*=\s*["']([^"'<>]{1,40})["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]{1,40})""", re.IGNORECASE)

# Byte order marks, longest first (UTF-32's LE mark starts with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# The first four bytes of "<?xm" or "<!" and the like in each family, as the XML spec's
# appendix F tells them apart without a BOM.
_FAMILIES = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00", "utf-16-be"),
    (b"\x3c\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # EBCDIC "<?xm"
)
# Orders of UCS-4 no Python codec reads: a document in one cannot be checked.
_UNREADABLE = (b"\x00\x00\x3c\x00", b"\x00\x3c\x00\x00")
# Encodings whose text is the bytes read as ASCII wherever ASCII characters stand, so the
# byte scan already covers them (codec names as codecs.lookup gives them).
_ASCII_VIEW = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252", "latin-1"})


def refuse_dtd(body: bytes, content_type: str = "") -> None:
    """Raise SourceError if the document declares a DTD subset or entities (see above)."""
    if body.startswith(_UNREADABLE):
        raise _refused("it is in a UCS-4 byte order no parser here reads")
    _check_text(body, _DECLARATION, "")
    for encoding in _encodings(body, content_type):
        if encoding in _ASCII_VIEW:
            continue
        try:
            text = body.decode(encoding, errors="replace")
        except LookupError:  # pragma: no cover - _encodings looked every name up already
            raise _refused(f"it is in an encoding ({encoding}) that cannot be checked") from None
        _check_text(text, _DECLARATION_TEXT, f" (read as {encoding})")


def _encodings(body: bytes, content_type: str) -> list[str]:
    """Every encoding the document may be read in, as codec names; SourceError for a named
    encoding that Python does not know."""
    names: list[str] = []
    head = body[:512]
    for bom, name in _BOMS:
        if head.startswith(bom):
            names.append(name)
            break
    else:
        for start, name in _FAMILIES:
            if head.startswith(start):
                names.append(name)
                break
        else:
            if b"\x00" in head:  # NULs in the prolog: some UTF-16 or UTF-32, read as each
                names += ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]
    declared = [head.decode("latin-1")]  # the declaration as ASCII-compatible bytes show it
    declared += [head.decode(name, errors="replace") for name in names]
    for text in declared:
        found = _XML_ENCODING.search(text)
        if found:
            names.append(found.group(1))
    charset = _CHARSET.search(content_type)
    if charset:
        names.append(charset.group(1))
    codec_names = []
    for name in names:
        try:
            codec_names.append(codecs.lookup(name.strip()).name)
        except LookupError:
            why = f"it declares an encoding ({name[:40]!r}) that cannot be checked"
            raise _refused(why) from None
    return list(dict.fromkeys(codec_names))


def _check_text(text: bytes | str, declaration: re.Pattern[Any], where: str) -> None:
    """A DTD-only declaration refuses the document; its DOCTYPE is read to its end (quoted
    literals skipped) and refuses it if an internal subset opens first, or it never ends. A
    document has one DOCTYPE at most: a second refuses it too. Linear: the search resumes
    after the DOCTYPE's end."""
    found = declaration.search(text)
    if found is None:
        return
    if found.group(1):
        raise _refused(f"it declares <!{_name(found.group(1))}>{where}")
    end = (
        _DOCTYPE_BODY_TEXT.match(text, found.end())
        if isinstance(text, str)
        else _DOCTYPE_BODY.match(text, found.end())
    )
    if end is None or end.group(1) in ("[", b"["):
        raise _refused(f"it holds a DOCTYPE with an internal subset, or one that never ends{where}")
    again = declaration.search(text, end.end())
    if again is not None:
        what = f"<!{_name(again.group(1))}>" if again.group(1) else "a second DOCTYPE"
        raise _refused(f"it declares {what}{where}")


def _name(found: bytes | str) -> str:
    return (found.decode("ascii") if isinstance(found, bytes) else found).upper()


def _refused(why: str) -> SourceError:
    return SourceError(
        f"refused: {why}; a feed may not define entities (entity-expansion and XXE attacks)",
        permanent=True,
    )
