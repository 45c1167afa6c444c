"""HTML to text: time per KB at several sizes, for ordinary and for hostile markup.

Linear code costs the same per KB at every size; quadratic code costs more per KB the larger
the input. Measured in the same run: the project's `html_to_text` (the length cap lifted, so
the sizes really grow; in use it reads at most 80,000 characters), the regex version it
replaced (issue 11: quadratic on unclosed comments and scripts; cut off when a call takes
more than --cutoff seconds), and two well-kept parsers as alternatives, lxml.html
(`text_content()`) and the standard library's html.parser. Ordinary markup is real feed
descriptions from ../shared/feeds, repeated.

    python bench/text.py [--sizes 0.3,1,8,80,800] [--cutoff 2]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lxml.html  # noqa: E402

from bot.sources.text import html_to_text  # noqa: E402

FEEDS = ROOT.parent / "shared" / "feeds"
HOSTILE = {
    "unclosed <!--": "<!--",
    "unclosed <script>": "<script>",
    "<br runs, no >": "<br",
    "deep nesting": "<div><span>",
    "attribute run": 'x="y" ',
    "<!----> runs": "<!---->",
}


def old_html_to_text(markup: str, limit: int = 10**7) -> str:
    """The regex version before issue 11, for comparison."""
    drop = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
    comment = re.compile(r"<!--.*?-->", re.DOTALL)
    brk = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|p|div|li)\b[^>]*>", re.IGNORECASE)
    tag = re.compile(r"<[^>]{0,2000}>")
    text = markup[: limit * 4]
    text = tag.sub("", brk.sub(" ", drop.sub(" ", comment.sub(" ", text))))
    return " ".join(html.unescape(text).split())[:limit]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def stdlib_parser(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def lxml_text(markup: str) -> str:
    try:
        return " ".join(lxml.html.fromstring(markup).text_content().split())
    except Exception:  # lxml refuses empty or markup-free documents
        return markup


CONTENDERS: dict[str, Callable[[str], str]] = {
    "html_to_text": lambda m: html_to_text(m, limit=10**7),
    "old regexes": old_html_to_text,
    "lxml.html": lxml_text,
    "html.parser": stdlib_parser,
}


def ordinary_markup() -> str:
    """Entry texts as feeds hold them, before html_to_text (real samples, joined)."""
    import feedparser

    parts: list[str] = []
    paths = sorted((FEEDS / "google-alerts").iterdir()) + sorted((FEEDS / "generated").iterdir())
    for path in paths:
        if path.suffix in (".xml", ".rss", ".atom"):
            parsed = feedparser.parse(path.read_bytes(), sanitize_html=False)
            parts += [e.get("summary", "") for e in parsed.entries if e.get("summary")]
    return "".join(parts) or "<p>Acme <b>broke</b> my order &amp; nobody answers.</p>"


def per_kb(function: Callable[[str], str], markup: str, cutoff: float) -> float | None:
    """Microseconds per KB of the fastest of a few calls; None when one call is over cutoff."""
    best = float("inf")
    deadline = time.perf_counter() + 1.0
    while True:
        started = time.perf_counter()
        function(markup)
        spent = time.perf_counter() - started
        best = min(best, spent)
        if spent > cutoff:
            return None
        if time.perf_counter() > deadline and best < float("inf"):
            break
    return best * 1e6 / (len(markup) / 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.3,1,8,80,800", help="input sizes in KB")
    parser.add_argument("--cutoff", type=float, default=2.0, help="seconds; a slower call stops")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    ordinary = ordinary_markup() if FEEDS.is_dir() else "<p>Acme <b>broke</b> my order.</p>"
    inputs = {"ordinary feed markup": ordinary, **HOSTILE}
    print("microseconds per KB (lower is faster; the same at every size means linear)")
    header = f"{'input':<22} {'contender':<14}" + "".join(f"{f'{s:g} KB':>11}" for s in sizes)
    print(header)
    for name, unit in inputs.items():
        for contender, function in CONTENDERS.items():
            row = f"{name:<22} {contender:<14}"
            stopped = False
            for size in sizes:
                if stopped:
                    row += f"{'-':>11}"
                    continue
                length = int(size * 1000)
                markup = (unit * (length // len(unit) + 1))[:length]
                cost = per_kb(function, markup, args.cutoff)
                if cost is None:
                    row += f"{'>' + str(args.cutoff) + ' s':>11}"
                    stopped = True
                else:
                    row += f"{cost:>11,.1f}"
            print(row, flush=True)
    print(f"(ordinary markup: {len(ordinary):,} characters of real feed descriptions, cut or "
          "repeated to each size; 0.3 KB is about one description)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
