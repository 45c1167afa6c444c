"""The baseline: TextBlob's pattern-lexicon polarity. Fast, English-only, no model."""

from __future__ import annotations

from collections.abc import Sequence

from textblob import TextBlob

from bot.analysis.base import register
from bot.analysis.features import guess_en_nl
from bot.models import Sentiment, Verdict

# A polarity at or below this is negative, at or above its mirror positive. TextBlob gives 0.0
# to most neutral text, so a small dead band keeps "ok" from flipping.
NEUTRAL_BAND = 0.05


class TextBlobScorer:
    name = "textblob"

    def score(self, text: str) -> Verdict:
        polarity = float(TextBlob(text or "").sentiment.polarity) if text else 0.0
        if polarity <= -NEUTRAL_BAND:
            sentiment = Sentiment.NEGATIVE
        elif polarity >= NEUTRAL_BAND:
            sentiment = Sentiment.POSITIVE
        else:
            sentiment = Sentiment.NEUTRAL
        p_negative = max(0.0, -polarity)
        p_positive = max(0.0, polarity)
        return Verdict(
            sentiment=sentiment,
            score=polarity,
            p_negative=p_negative,
            p_positive=p_positive,
            p_neutral=1.0 - p_negative - p_positive,
            attention=p_negative,
            lang=guess_en_nl(text or ""),
            question="?" in (text or ""),
            reason=f"TextBlob polarity {polarity:+.2f}",
            scorer=self.name,
        )

    def score_many(self, texts: Sequence[str]) -> list[Verdict]:
        return [self.score(t) for t in texts]


register("textblob", lambda **_: TextBlobScorer())
