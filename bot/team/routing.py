"""Where a mention goes beyond the complaints channel: questions and praise to their own
routes (or only to the digest), every mention to an "everything" route, and the mutes that
keep a mention out of chat altogether. Pure: the pipeline asks, the store keeps the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import Route, Sentiment, Verdict
from bot.team.mutes import Mute, matching_mute
from bot.team.policy import Routing


@dataclass(frozen=True, slots=True)
class Decision:
    routes: tuple[Route, ...]  # where its alert goes
    alert: bool  # over the brand's threshold and routed somewhere
    extra: tuple[Route, ...] = ()  # posted there although not alerted (the everything route)
    muted_by: int | None = None


def decide(
    routes: tuple[Route, ...],
    routing: Routing,
    verdict: Verdict,
    flagged: bool,
    *,
    mutes: Sequence[Mute] = (),
    brand: str = "",
    author: str = "",
    url: str = "",
    text: str = "",
) -> Decision:
    """A complaint (anything negative) keeps the brand's routes; a question or praise that is
    not negative goes where the brand sends those; a muted mention goes nowhere."""
    mute = matching_mute(mutes, brand=brand, author=author, url=url, text=text)
    if mute is not None:
        return Decision((), False, muted_by=mute.id)
    chosen: tuple[Route, ...] | None = None
    if verdict.sentiment != Sentiment.NEGATIVE:
        if verdict.question and routing.questions is not None:
            chosen = routing.questions
        elif verdict.praise and routing.praise is not None:
            chosen = routing.praise
    targets = routes if chosen is None else chosen
    alert = flagged and bool(targets)
    everything = routing.everything
    if everything is None:
        return Decision(targets, alert)
    if alert:
        return Decision(tuple(dict.fromkeys((*targets, everything))), True)
    return Decision(targets, False, extra=(everything,))
