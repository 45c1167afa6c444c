"""The fast path ("lexicon"): word polarities plus the complaint cues, no model, ~10,000 texts/s.

English polarities come from TextBlob's own pattern lexicon (read once from the installed
package), Dutch ones from the small hand-made list below (the `pattern` package that has a Dutch
lexicon does not install on current Python). The language is a function-word guess (en/nl/und),
which is all the lexicon choice needs and costs nothing.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from pathlib import Path

from bot.analysis import features, verdicts
from bot.analysis.base import register
from bot.models import Verdict

# Hand-made Dutch polarities (-1..1): the words that carry restaurant, delivery and service
# reviews. Small on purpose: each entry was checked by a Dutch reader, not translated in bulk.
DUTCH = {
    "goed": 0.6, "lekker": 0.8, "heerlijk": 0.9, "top": 0.8, "toppie": 0.8, "super": 0.8,
    "geweldig": 0.9, "fantastisch": 0.9, "prima": 0.5, "uitstekend": 0.9, "perfect": 1.0,
    "vriendelijk": 0.6, "gezellig": 0.6, "fijn": 0.6, "mooi": 0.6, "leuk": 0.5, "aanrader": 0.8,
    "aanbevolen": 0.7, "vers": 0.4, "verse": 0.4, "snel": 0.3, "attent": 0.6, "behulpzaam": 0.6,
    "smaakvol": 0.7, "subliem": 1.0, "voortreffelijk": 1.0, "tevreden": 0.6, "blij": 0.6,
    "gastvrij": 0.7, "sfeervol": 0.6, "knap": 0.5, "zalig": 0.9, "bedankt": 0.4, "dank": 0.4,
    "correct": 0.3, "ruim": 0.3, "gezond": 0.3, "genieten": 0.7, "genoten": 0.7, "best": 0.6,
    "slecht": -0.8, "slechte": -0.8, "slechtste": -1.0, "vies": -0.8, "vieze": -0.8,
    "koud": -0.5, "lauw": -0.5, "traag": -0.6, "trage": -0.6, "duur": -0.4, "dure": -0.4,
    "onvriendelijk": -0.8, "onbeleefd": -0.8, "teleurgesteld": -0.8, "teleurstellend": -0.8,
    "teleurstelling": -0.8, "vreselijk": -1.0, "verschrikkelijk": -1.0, "belachelijk": -0.8,
    "matig": -0.5, "matige": -0.5, "klein": -0.2, "kleine": -0.2, "lang": -0.2, "lange": -0.3,
    "wachten": -0.4, "wachttijd": -0.5, "kapot": -0.7, "fout": -0.6, "probleem": -0.5,
    "klacht": -0.7, "jammer": -0.5, "helaas": -0.5, "spijtig": -0.5, "zout": -0.3,
    "zouteloos": -0.6, "droog": -0.4, "taai": -0.5, "smakeloos": -0.7, "flauw": -0.5,
    "ongeïnteresseerd": -0.7, "rommelig": -0.5, "lawaaierig": -0.5, "vuil": -0.8,
    "nooit": -0.3, "geannuleerd": -0.6, "vertraagd": -0.6, "vertraging": -0.6, "boos": -0.8,
    "waardeloos": -1.0, "bagger": -1.0, "ontevreden": -0.8, "ondermaats": -0.8,
    "onacceptabel": -0.9,
    "overdreven": -0.4, "overprijsd": -0.6, "ondermaatse": -0.8, "middelmatig": -0.5,
}  # fmt: skip
NEGATORS = features.NEGATION
CLAUSE_ENDS = frozenset(".,;:!?")
INTENSIFIERS = frozenset("very really so too extremely super zeer erg heel echt zo te".split())  # noqa: SIM905
_WORD_FORM = re.compile(r'<word form="([^"]+)"[^>]*?polarity="([-0-9.]+)"')

_lock = threading.Lock()
_english: dict[str, float] | None = None


def english_lexicon() -> dict[str, float]:
    """TextBlob's pattern lexicon, averaged over a word's senses (as TextBlob does)."""
    global _english
    with _lock:
        if _english is None:
            import textblob

            path = Path(textblob.__file__).with_name("en") / "en-sentiment.xml"
            senses: dict[str, list[float]] = {}
            for form, pol in _WORD_FORM.findall(path.read_text(encoding="utf-8")):
                senses.setdefault(form.lower(), []).append(float(pol))
            _english = {w: sum(v) / len(v) for w, v in senses.items() if any(v)}
        return _english


def polarity(toks: list[str], lexicon: dict[str, float]) -> float:
    """Mean polarity of the words that carry one; a negation just before flips and dampens it."""
    total, count = 0.0, 0
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
    return total / count if count else 0.0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


# Hand-set weights of the complaint cues (order of features.RULE_NAMES). Persistence and
# negation weigh most; thanks and praise pull down. Set by reading the cue definitions, then
# checked once against the complaints set (docs/detection.md has the figure).
COMPLAINT_WEIGHTS = {
    "question_mark": 0.1, "negation": 0.9, "still": 1.2, "again": 0.7, "duration": 1.0,
    "second_person": 0.3, "thanks": -0.8, "complaint_words": 1.4, "praise_words": -1.0,
    "neg_emoji": 0.8, "pos_emoji": -0.8, "handle": 0.3, "url": -0.6,
}  # fmt: skip
COMPLAINT_BIAS = -1.6
_W = [COMPLAINT_WEIGHTS.get(n, 0.0) for n in features.RULE_NAMES]


class LexiconScorer:
    name = "lexicon"

    def __init__(self) -> None:
        self._en = english_lexicon()

    def score(self, text: str) -> Verdict:
        try:
            return self._score(text)
        except Exception:
            return verdicts.build(
                scorer=self.name, lang="und", p_neg=0.0, p_neu=1.0, p_pos=0.0, p_complaint=0.0,
                cues=features.Cues(vector=features.np.zeros(len(features.RULE_NAMES)),
                                   question=False, matched=()),
            )  # fmt: skip

    def _score(self, text: str) -> Verdict:
        clean = features.normalise(text)
        cue = features.cues(clean)
        toks = list(cue.tokens)
        lang = features.guess_en_nl(clean, toks)
        if lang == "en" and sum(t in DUTCH for t in toks) > sum(t in self._en for t in toks):
            lang = "nl"  # "Heerlijk gegeten, super vriendelijke bediening" has no function word
        pol = polarity(toks, DUTCH if lang == "nl" else self._en)
        emoji = float(cue.vector[11] - cue.vector[10])
        pol = max(-1.0, min(1.0, pol + 0.3 * emoji))
        # Polarity to three probabilities: a soft split around a small dead band, so that
        # "p_negative >= 0.5" means roughly "polarity below -0.05".
        p_neg = _sigmoid(-20.0 * (pol + 0.06))
        p_pos = _sigmoid(20.0 * (pol - 0.1))
        p_neu = max(0.0, 1.0 - p_neg - p_pos)
        z = COMPLAINT_BIAS + sum(w * float(v) for w, v in zip(_W, cue.vector, strict=True))
        p_complaint = _sigmoid(z + 1.5 * (p_neg - 0.5))
        total = p_neg + p_neu + p_pos
        return verdicts.build(
            scorer=self.name, lang=lang, p_neg=p_neg / total, p_neu=p_neu / total,
            p_pos=p_pos / total, p_complaint=p_complaint, cues=cue,
        )  # fmt: skip

    def score_many(self, texts: Sequence[str]) -> list[Verdict]:
        return [self.score(t) for t in texts]


register("lexicon", LexiconScorer)
