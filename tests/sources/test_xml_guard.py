"""XML that could define entities is refused wherever it stands in the document and in
whatever encoding a parser could read it; a bare external DTD is let through and is never
fetched or read by either parser."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bot.sources import fastparse
from bot.sources.base import SourceError
from bot.sources.feeds import parse_feed
from bot.sources.xml_guard import refuse_dtd
from tests.fakes.tripwire import tripwire

ITEM = "<item><title>Acme &amp; co</title><guid>g1</guid><link>https://e.com/1</link></item>"
BOMB = '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'


def doc(prolog: str = "", declaration: str = '<?xml version="1.0"?>', body: str = "") -> str:
    return f'{declaration}{prolog}<rss version="2.0"><channel>{body or ITEM}</channel></rss>'


@pytest.mark.parametrize(
    "padding",
    [
        "<!--" + "x" * 70_000 + "-->",  # the comment the old 64 KiB prolog check stopped in
        " " * 200_000,
        "<?pi " + "y" * 100_000 + "?>",
    ],
    ids=["70KB-comment", "200KB-whitespace", "100KB-processing-instruction"],
)
def test_a_dtd_after_any_padding_is_refused(padding: str) -> None:
    with pytest.raises(SourceError, match="refused"):
        parse_feed("s", doc(padding + BOMB).encode())


def test_declarations_anywhere_in_the_body_are_refused() -> None:
    late = doc(body=ITEM * 5000 + '<!ENTITY x SYSTEM "file:///etc/passwd">')
    with pytest.raises(SourceError, match="ENTITY"):
        parse_feed("s", late.encode())
    for declaration in ("<!element x ANY>", "<!AttList x y CDATA #IMPLIED>", "<!NOTATION n>"):
        with pytest.raises(SourceError, match="refused"):
            refuse_dtd(doc(body=ITEM + declaration).encode())


ENCODINGS = [
    ("utf-8", b""),
    ("utf-8", codecs.BOM_UTF8),
    ("utf-16-le", b""),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", b""),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", b""),
    ("utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32-be", b""),
    ("utf-32-be", codecs.BOM_UTF32_BE),
]


@pytest.mark.parametrize(("encoding", "bom"), ENCODINGS)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_a_dtd_is_refused_in_every_unicode_encoding_with_or_without_bom(
    encoding: str, bom: bytes, declared: bool
) -> None:
    name = encoding.split("-")[0] + "-" + encoding.split("-")[1]
    declaration = f'<?xml version="1.0" encoding="{name}"?>' if declared else ""
    padded = doc("<!--" + "p" * 70_000 + "-->" + BOMB, declaration)
    with pytest.raises(SourceError, match="refused"):
        parse_feed("s", bom + padded.encode(encoding))
    # The same document without the DTD is not refused by the check.
    refuse_dtd(bom + doc("<!--pad-->", declaration).encode(encoding))


def test_a_dtd_hidden_by_a_declared_or_served_encoding_is_refused() -> None:
    hidden = BOMB.replace("<", "+ADw-").replace("!", "+ACE-")  # "<" and "!" in UTF-7
    utf7 = doc(hidden, '<?xml version="1.0" encoding="UTF-7"?>').encode()
    assert BOMB in utf7.decode("utf-7")
    assert b"<!ENTITY" not in utf7  # invisible to a byte search
    with pytest.raises(SourceError, match="utf-7"):
        parse_feed("s", utf7)
    ebcdic = doc(BOMB, '<?xml version="1.0" encoding="cp037"?>').encode("cp037")
    with pytest.raises(SourceError, match="cp037"):
        parse_feed("s", ebcdic)
    served = doc(BOMB, "").encode("utf-16-le")[2:]  # no "<" first: only the charset tells
    with pytest.raises(SourceError, match="refused"):
        parse_feed("s", served, "application/rss+xml; charset=utf-16le")


def test_an_encoding_that_cannot_be_checked_is_refused() -> None:
    with pytest.raises(SourceError, match="cannot be checked"):
        parse_feed("s", doc(declaration='<?xml version="1.0" encoding="IBM1047"?>').encode())
    with pytest.raises(SourceError, match="UCS-4"):
        refuse_dtd(b"\x00\x00\x3c\x00" + b"\x00" * 8)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
        '<!DOCTYPE rss SYSTEM "a [quoted] bracket > and angle">',
        "<!DOCTYPE rss>",
    ],
)
def test_a_bare_external_doctype_is_let_through(doctype: str) -> None:
    refuse_dtd(doc(doctype).encode())
    refuse_dtd(doc(body=f"<item><description><![CDATA[{doctype}]]></description></item>").encode())


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss SYSTEM "x.dtd" [ ]>',
        "<!doctype rss [",
        '<!DOCTYPE rss SYSTEM "never closed',
        "<!DOCTYPE rss><!DOCTYPE rss>",
    ],
)
def test_an_internal_subset_an_endless_or_a_second_doctype_is_refused(doctype: str) -> None:
    with pytest.raises(SourceError, match="refused"):
        refuse_dtd(doc(doctype).encode())


@pytest.mark.parametrize("fast_path", [True, False], ids=["fastfeedparser", "feedparser"])
def test_an_external_dtd_is_never_fetched_or_read(
    fast_path: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastparse, "ENABLED", fast_path)
    local = tmp_path / "evil.dtd"
    local.write_text('<!ENTITY secret "SECRET-FROM-DISK">', encoding="utf-8")
    with tripwire() as wire:
        for system in (f"http://127.0.0.1:{wire.port}/evil.dtd", local.as_uri()):
            item = "<item><title>Acme &secret;</title><guid>g</guid><link>https://e/1</link></item>"
            body = doc(f'<!DOCTYPE rss SYSTEM "{system}">', body=item).encode()
            try:
                entries = parse_feed("s", body)
            except SourceError:
                continue  # an undefined entity: refusing is fine, reading is not
            assert all("SECRET" not in e.title + e.text for e in entries)
        assert not wire.touched
