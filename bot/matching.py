"""Brand terms, exclusions, canonical URLs and dedup keys. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from bot.text_fold import fold, variants

# Query parameters that only say how a reader arrived; two URLs that differ only in these are
# the same page. Prefixes end with "_".
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid",
        "mc_eid", "_hsenc", "_hsmi", "ref", "ref_src", "ref_url", "referrer", "cmpid", "ocid",
        "spm", "share", "si", "feature", "smid", "partner", "cid", "s_cid", "oly_enc_id",
        "oly_anon_id", "vero_id", "rss", "src",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_")
REDIRECTORS = {("www.google.com", "/url"), ("google.com", "/url"), ("news.google.com", "/url")}


@dataclass(frozen=True, slots=True)
class TermSet:
    """A brand's search terms: any include phrase matches unless an exclude phrase does."""

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    @classmethod
    def parse(cls, terms: list[str], exclude: list[str] | None = None) -> TermSet:
        """`terms` may hold exclusions too, written `-"united states"` or `-word`."""
        include: list[str] = []
        excluded = [_unquote(e) for e in exclude or []]
        for term in terms:
            term = term.strip()
            if term.startswith("-") and len(term) > 1:
                excluded.append(_unquote(term[1:]))
            elif term:
                include.append(_unquote(term))
        return cls(tuple(t for t in include if t), tuple(e for e in excluded if e))

    def match(self, text: str) -> str | None:
        """The first include phrase found in `text` (as written in the watch list), or None.
        Text and phrases are compared folded (bot/text_fold.py), in every reading of the
        text, so invisible characters, lookalike letters and compatibility forms cannot hide
        a mention; an exclusion found in any reading excludes it."""
        if not text:
            return None
        readings = variants(text)
        for phrase in self.exclude:
            pattern = _pattern(phrase)
            if any(pattern.search(reading) for reading in readings):
                return None
        for term in self.include:
            pattern = _pattern(term)
            if any(pattern.search(reading) for reading in readings):
                return term
        return None


def _unquote(term: str) -> str:
    term = term.strip()
    if len(term) >= 2 and term[0] == term[-1] and term[0] in "\"'":
        term = term[1:-1]
    return " ".join(term.split())


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(phrase: str) -> re.Pattern[str]:
    # Whole words, case-insensitive, any run of whitespace between words; "acme" matches
    # "Acme's" and "#acme" but not "acmeville". The phrase is folded as the text is.
    pattern = _PATTERNS.get(phrase)
    if pattern is None:
        words = [re.escape(w) for w in fold(phrase).split()]
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
        _PATTERNS[phrase] = pattern
    return pattern


def unwrap_redirect(url: str) -> str:
    """Google's redirect links (google.com/url?...&url=TARGET, as in Google Alerts) → TARGET;
    any other URL unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if ((parts.hostname or "").lower(), parts.path) in REDIRECTORS:
        query = dict(parse_qsl(parts.query))
        target = query.get("url") or query.get("q") or ""
        if target.startswith(("http://", "https://")):
            return target
    return url


def canonical_url(url: str) -> str:
    """The URL two copies of one page share: lower-case host without `www.` or default
    port, no fragment, no tracking parameters, sorted query, no trailing slash. Google's
    redirect links are unwrapped to their target first."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    target = unwrap_redirect(url)
    if target != url:
        return canonical_url(target)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url
    if host.startswith("www."):
        host = host[4:]
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    )
    path = unquote(parts.path).rstrip("/") or "/"
    # http and https copies of a page are one page.
    return urlunsplit(("https", netloc, path, urlencode(query), ""))


_URL_RE = re.compile(r"https?://\S+")
_NON_WORD = re.compile(r"[^\w]+")

# Below this many words a text is too generic to say two posts are one ("acme is down").
MIN_KEY_WORDS = 6


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = _URL_RE.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def text_key(title: str, text: str, author: str) -> str:
    """A key equal for the same story syndicated twice, and for the same post cross-posted.

    A titled item (an article) is keyed by its title alone: syndication changes the site,
    author and snippet but keeps the headline. An untitled post is keyed by author and text,
    so two people writing the same words remain two mentions. Short texts get no key.
    """
    title_words = normalise_text(title)
    if len(title_words.split()) >= MIN_KEY_WORDS:
        basis = "t:" + title_words
    else:
        body = normalise_text(text)[:500]
        if len(body.split()) < MIN_KEY_WORDS:
            return ""
        basis = "p:" + normalise_text(author) + ":" + body
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
