"""Daily and weekly digests per brand, at a local time: volume by sentiment and source, the
top mentions, open complaints, response times against the targets, each person's count, and
a chart of the sentiment trend (with the same numbers as a table, for where an image cannot
be shown). `build_digest` makes the neutral view; `Digests.run_due` sends each digest once
across replicas (`Store.once`), and a digest that cannot be posted goes out as a queued
notice with its text, so it is retried."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.chat.views import Line, Link, Person
from bot.models import Route
from bot.store.base import Store, WorkflowRow
from bot.team.chart import sentiment_chart, trend_table
from bot.team.figures import Figures, compute, open_complaints
from bot.team.policy import BrandPolicy, Policies
from bot.team.reports import figures_table, people_lines
from bot.team.scheduler import send_or_queue

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=2)  # a digest missed by longer (the bot was down) is skipped
OPEN_SHOWN = 10


@dataclass(frozen=True, slots=True)
class DigestView:
    brand: str
    kind: str  # "daily" or "weekly"
    since: datetime
    until: datetime
    headline: str
    summary: tuple[Line, ...]
    table: str  # figures and the trend, as aligned text
    top: tuple[Line, ...]
    open_complaints: tuple[Line, ...]
    people: tuple[Line, ...]
    chart_png: bytes
    chart_name: str
    chart_alt: str
    figures: Figures


class DigestSender(Protocol):
    """What a platform does with a digest (bot/chat/slack/team.py: SlackTeamSender)."""

    def post_digest(self, route: Route, view: DigestView) -> None: ...


def build_digest(
    store: Store, policy: BrandPolicy, kind: str, since: datetime, until: datetime
) -> DigestView:
    rows = store.workflow_rows(since, until, brands=[policy.brand])
    hourly = until - since <= timedelta(days=2)
    bucket = timedelta(hours=2) if hourly else timedelta(days=1)
    fig = compute(rows, since, until, lambda _: policy.targets, bucket=bucket)
    local = since.astimezone(policy.zone)
    when = local.strftime("%a %d %b %Y") if kind == "daily" else f"week of {local:%d %b %Y}"
    sentiments = ", ".join(f"{v} {k}" for k, v in fig.by_sentiment.items()) or "none"
    still_open = open_complaints(
        [r for r in store.workflow_rows(until - timedelta(days=90), until, brands=[policy.brand])]
    )
    trend = trend_table(fig.trend, hourly=hourly, zone=policy.zone)
    return DigestView(
        brand=policy.brand,
        kind=kind,
        since=since,
        until=until,
        headline=f"📊 {policy.brand} — {kind} digest, {when}",
        summary=(
            (f"{fig.total} mentions ({sentiments}); {fig.alerted} alerted, {fig.muted} muted.",),
            (f"Open complaints now: {len(still_open)}.",),
        ),
        table=figures_table(fig) + "\n\nSentiment trend\n" + trend,
        top=tuple(_item(r) for r in fig.top),
        open_complaints=tuple(_open(r) for r in still_open[:OPEN_SHOWN]),
        people=people_lines(fig),
        chart_png=sentiment_chart(
            fig.trend,
            f"{policy.brand} — sentiment, {kind} digest",
            hourly=hourly,
            zone=policy.zone,
        ),
        chart_name=f"{policy.brand.lower().replace(' ', '-')}-{kind}-{local:%Y%m%d}.png",
        chart_alt=f"Mentions of {policy.brand} per {'two hours' if hourly else 'day'} "
        f"by sentiment: {sentiments}.",
        figures=fig,
    )


def _item(r: WorkflowRow) -> Line:
    return (
        Link(r.url, r.title or "(untitled)"),
        f" · {r.sentiment} · {r.source} · #{r.mention_id}",
    )


def _open(r: WorkflowRow) -> Line:
    held: tuple[str | Person, ...] = (" · held by ", Person(r.owner)) if r.owner else ()
    return (
        f"#{r.mention_id} ",
        Link(r.url, r.title or "(untitled)"),
        f" · {r.status.value}",
        *held,
    )


def digest_text(view: DigestView) -> str:
    """The digest as plain text (a queued notice when posting failed)."""
    lines = ("".join(p for p in line if isinstance(p, str)) for line in view.summary)
    return "\n".join((view.headline, *lines))


def last_slot(policy: BrandPolicy, kind: str, now: datetime) -> datetime | None:
    """The latest scheduled moment of this digest at or before `now` (UTC), if any."""
    local = now.astimezone(policy.zone)
    if kind == "daily" and policy.digest.daily is not None:
        at = local.replace(
            hour=policy.digest.daily.hour, minute=policy.digest.daily.minute, second=0,
            microsecond=0,
        )  # fmt: skip
        return (at if at <= local else at - timedelta(days=1)).astimezone(now.tzinfo)
    if kind == "weekly" and policy.digest.weekly is not None:
        weekday, clock = policy.digest.weekly
        at = local.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
        at -= timedelta(days=(local.weekday() - weekday) % 7)
        if at > local:
            at -= timedelta(days=7)
        return at.astimezone(now.tzinfo)
    return None


class Digests:
    def __init__(
        self,
        store: Store,
        policies: Policies,
        senders: Mapping[str, DigestSender],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.policies = policies
        self.senders = dict(senders)
        self.clock = clock

    def run_due(self, now: datetime) -> int:
        sent = 0
        for policy in self.policies:
            route = policy.digest_route
            if route is None:
                continue
            for kind, period in (("daily", timedelta(days=1)), ("weekly", timedelta(days=7))):
                slot = last_slot(policy, kind, now)
                if slot is None or now - slot > CATCH_UP:
                    continue
                key = f"digest:{policy.brand.lower()}:{kind}:{int(slot.timestamp())}"
                if self.store.done_once(key) or not self.store.once(key, at=now):
                    continue
                self._send(route, build_digest(self.store, policy, kind, slot - period, slot))
                sent += 1
        return sent

    def _send(self, route: Route, view: DigestView) -> None:
        text = digest_text(view)
        if send_or_queue(self.store, self.senders, route, "post_digest", view, text, self.clock()):
            log.info("posted the %s digest of %s to %s", view.kind, view.brand, route.key)
