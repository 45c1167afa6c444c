"""Turning probabilities and cues into a `Verdict`: the attention rule and the reason line.

attention = the largest of
  p_complaint, p_negative        (something is wrong)
  QUESTION_ATTENTION             (a question deserves an answer, even a polite one)
  PRAISE_ATTENTION               (praise is worth a thank-you, but below the default threshold)
so with the recommended threshold of 0.5 complaints, negative mentions and questions alert and
praise does not, unless a brand lowers its `alert_threshold` to 0.35 or below.
"""

from __future__ import annotations

from bot.analysis.features import Cues
from bot.models import Sentiment, Verdict

DEFAULT_THRESHOLD = 0.5
QUESTION_ATTENTION = 0.55
PRAISE_ATTENTION = 0.35
PRAISE_MIN_POSITIVE = 0.6


def build(
    *,
    scorer: str,
    lang: str,
    p_neg: float,
    p_neu: float,
    p_pos: float,
    p_complaint: float,
    cues: Cues,
) -> Verdict:
    probs = {Sentiment.NEGATIVE: p_neg, Sentiment.NEUTRAL: p_neu, Sentiment.POSITIVE: p_pos}
    sentiment = max(probs, key=lambda s: probs[s])
    praise = p_pos >= PRAISE_MIN_POSITIVE and p_complaint < 0.5 and not cues.question
    attention = max(p_complaint, p_neg)
    if cues.question:
        attention = max(attention, QUESTION_ATTENTION)
    if praise:
        attention = max(attention, PRAISE_ATTENTION)
    return Verdict(
        sentiment=sentiment,
        score=round(p_pos - p_neg, 4),
        p_negative=round(p_neg, 4),
        p_neutral=round(p_neu, 4),
        p_positive=round(p_pos, 4),
        p_complaint=round(p_complaint, 4),
        attention=round(min(max(attention, 0.0), 1.0), 4),
        lang=lang,
        question=cues.question,
        praise=praise,
        reason=reason(lang, p_neg, p_pos, p_complaint, cues, praise),
        scorer=scorer,
    )


def reason(
    lang: str, p_neg: float, p_pos: float, p_complaint: float, cues: Cues, praise: bool
) -> str:
    """A short line a person can check: language, the signals that count, the phrase matched."""
    parts = [lang]
    if p_complaint >= 0.5:
        parts.append(f"complaint {p_complaint:.2f}")
    if p_neg >= 0.5:
        parts.append(f"negative {p_neg:.2f}")
    if cues.question:
        parts.append("question")
    if praise:
        parts.append(f"praise {p_pos:.2f}")
    if len(parts) == 1:
        parts.append(f"nothing to act on (negative {p_neg:.2f}, complaint {p_complaint:.2f})")
    if cues.matched:
        parts.append("matched " + ", ".join(f'"{m}"' for m in cues.matched[:3]))
    return " · ".join(parts)
