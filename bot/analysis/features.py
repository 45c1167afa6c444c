"""Text clean-up and the hand-made cues (English and Dutch) that the scorers share. Pure functions.

The cues are the domain knowledge the embedding does not carry well: a complaint is often polite
("my order *still* hasn't arrived, any news?"), so it is the persistence words ("still", "again",
"3 days", "nog steeds", "alweer"), negation and a second person addressed to the brand that give
it away, not negative words.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A mention longer than this is cut before any regex runs, so a 1 MB page costs no more than a
# long post. Far above the 1,000 characters the embedding reads.
MAX_INPUT_CHARS = 5000

_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w{1,30}")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-zà-ÿ']+|\d+|[^\w\s]", re.IGNORECASE)


def normalise(text: str) -> str:
    """Plain text a scorer can trust: HTML leftovers, URLs and handles replaced."""
    text = (text or "")[:MAX_INPUT_CHARS]
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    text = _URL.sub(" http ", text)
    text = _HANDLE.sub("@user", text)
    return _SPACE.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# --- cue lists: (English, Dutch) in one set each, lower case -------------------------------
QUESTION_START = _words(
    "how what when where why who which can could is are do does did will would should may "
    "anyone any hoe wat wanneer waar waarom wie welke kan kunt kun kunnen is zijn heeft "
    "hebben wordt worden mag moet weet iemand"
)
NEGATION = _words(
    "not no never nothing nobody none cannot can't don't doesn't didn't won't isn't aren't "
    "wasn't weren't haven't hasn't hadn't couldn't wouldn't shouldn't niet geen nooit niks "
    "niets niemand nergens"
)
STILL = _words("still yet steeds altijd nog")
AGAIN = _words("again another alweer weer opnieuw nogmaals")
DURATION = _words(
    "days day weeks week hours hour hrs hr minutes mins months month dagen dag weken week uur "
    "uren minuten maanden maand"
)
SECOND_PERSON = _words("you your you're youre yours u ur jij je jou jouw jullie uw")
THANKS = _words("thanks thank thx ty bedankt dank dankjewel dankje merci")
COMPLAINT_WORDS = _words(
    "delayed delay cancelled canceled refund waiting wait broken worst terrible awful "
    "horrible lost rude unacceptable disappointed disappointing fail failed failure "
    "ridiculous stuck charged overcharged complaint problem issue error missing late hold "
    "useless poor vertraagd vertraging geannuleerd terugbetaling wachten wacht kapot "
    "slechtste slecht vreselijk verschrikkelijk verloren onbeleefd onacceptabel teleurgesteld "
    "teleurstellend probleem fout klacht ontbreekt ontbreken laat traag duur lauw koud vies "
    "belachelijk onvriendelijk matig"
)
PRAISE_WORDS = _words(
    "love loved great amazing awesome excellent best fantastic wonderful brilliant perfect "
    "superb thanks thank kudos impressed happy delicious friendly helpful heerlijk lekker top "
    "geweldig super fantastisch prima uitstekend perfect vriendelijk aanrader toppie gezellig "
    "fijn mooi leuk goed subliem voortreffelijk"
)
NEG_EMOJI = frozenset("😡😠😤😞😢😭👎💩🙄😒😩😫🤬😑😕☹🙁")
POS_EMOJI = frozenset("😀😃😄😁😊😍🥰❤👍🙏🎉✨💯😂🤩👏💕♥😎🙂")
DUTCH_HINTS = _words(
    "de het een en van ik je niet dat is op te zijn met voor maar ook wel heel erg was nog we "
    "er hebben bij geen naar deze dit"
)
# Function words that settle an English text (none is a Dutch word), and the hints both share.
ENGLISH_HINTS = _words(
    "the a an and of i you it that to my your with for but this have has had are were be been "
    "they he she his her our their what not no will would can could should from at by about "
    "just very there when which who"
)
SHARED_HINTS = _words("is we was op")

# Names of the rule features, in the order `rule_features` returns them (also stored in the
# weights file, so a mismatch between code and weights is caught at load time).
RULE_NAMES = (
    "question_mark",
    "question_start",
    "negation",
    "still",
    "again",
    "duration",
    "second_person",
    "thanks",
    "complaint_words",
    "praise_words",
    "neg_emoji",
    "pos_emoji",
    "exclaim",
    "handle",
    "url",
    "caps",
    "digits",
    "log_len",
)


@dataclass(frozen=True, slots=True)
class Cues:
    """What the rules saw in one text: the feature vector and the phrases worth quoting."""

    vector: np.ndarray
    question: bool
    matched: tuple[str, ...]
    tokens: tuple[str, ...] = ()


def _still_phrase(toks: list[str]) -> str:
    for i, t in enumerate(toks):
        if t == "still":
            return "still"
        if t == "nog" and i + 1 < len(toks) and toks[i + 1] in {"steeds", "altijd", "niet", "geen"}:
            return f"nog {toks[i + 1]}"
    return ""


def cues(text: str) -> Cues:
    """Rule features of an already normalised text."""
    toks = tokens(text)
    lowered = text.lower()
    n_tok = max(len(toks), 1)
    words = [t for t in toks if t[0].isalpha()]
    matched: list[str] = []

    q_mark = text.count("?")
    q_start = 1 if words and words[0] in QUESTION_START and q_mark == 0 else 0
    # "@user how do I ..." starts after the handle
    if not q_start and len(words) > 1 and words[0] == "user" and words[1] in QUESTION_START:
        q_start = 1 if q_mark == 0 else 0
    question = q_mark > 0 or bool(q_start)

    negation = sum(1 for t in toks if t in NEGATION or t.endswith("n't"))
    still_phrase = _still_phrase(toks)
    still = 1 if still_phrase else 0
    if still_phrase:
        matched.append(still_phrase)
    again = sum(1 for t in toks if t in AGAIN)
    if again:
        matched.append(next(t for t in toks if t in AGAIN))
    duration = 0
    for i, t in enumerate(toks):
        if (
            t in DURATION
            and i > 0
            and (
                toks[i - 1].isdigit()
                or toks[i - 1] in {"few", "two", "three", "paar", "twee", "drie"}
            )
        ):
            duration += 1
            matched.append(f"{toks[i - 1]} {t}")
    second = sum(1 for t in toks if t in SECOND_PERSON)
    thanks = sum(1 for t in toks if t in THANKS)
    complaint = [t for t in toks if t in COMPLAINT_WORDS]
    matched.extend(complaint[:2])
    praise = [t for t in toks if t in PRAISE_WORDS]
    neg_emoji = sum(1 for c in text if c in NEG_EMOJI)
    pos_emoji = sum(1 for c in text if c in POS_EMOJI)
    caps = sum(1 for w in text.split() if len(w) > 2 and w.isupper())

    vec = np.array(
        [
            min(q_mark, 3),
            q_start,
            math.log1p(negation),
            still,
            math.log1p(again),
            math.log1p(duration),
            math.log1p(second),
            math.log1p(thanks),
            math.log1p(len(complaint)),
            math.log1p(len(praise)),
            math.log1p(neg_emoji),
            math.log1p(pos_emoji),
            math.log1p(text.count("!")),
            math.log1p(lowered.count("@user")),
            1.0 if " http " in f" {lowered} " else 0.0,
            caps / n_tok,
            math.log1p(sum(1 for t in toks if t.isdigit())),
            math.log1p(n_tok) / 5.0,
        ],
        dtype=np.float32,
    )
    return Cues(vec, question, tuple(dict.fromkeys(matched)), tuple(toks))


def guess_en_nl(text: str, toks: Sequence[str] | None = None) -> str:
    """A cheap en/nl/und guess from function words, for the fast path only."""
    toks = tokens(text) if toks is None else toks
    if not any(t[0].isalpha() for t in toks):
        return "und"
    nl = sum(1 for t in toks if t in DUTCH_HINTS and t not in SHARED_HINTS)
    en = sum(1 for t in toks if t in ENGLISH_HINTS)
    if en:  # "The support was terrible.": English function words outvote one Dutch-looking one
        return "nl" if nl > en else "en"
    return "nl" if nl >= 2 or (nl == 1 and len(toks) <= 6) else "en"


# --- hashed bag of words ---------------------------------------------------------------------
HASH_BITS = 16
HASH_DIM = 1 << HASH_BITS


def hashed_ngrams(text: str, toks: Sequence[str] | None = None) -> np.ndarray:
    """Bucket ids of the text's word unigrams and bigrams (crc32: stable across runs and hosts).
    `toks`: the text's `tokens`, where the caller has them already (the cues do)."""
    toks = [t for t in (tokens(text) if toks is None else toks) if t[0].isalnum() or t in "!?"]
    grams = toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]
    if not grams:
        return np.zeros(0, dtype=np.int64)
    ids = {zlib.crc32(g.encode("utf-8", "replace")) & (HASH_DIM - 1) for g in grams}
    return np.fromiter(sorted(ids), dtype=np.int64, count=len(ids))
