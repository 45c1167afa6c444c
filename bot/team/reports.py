"""`mentions stats [period] [brand]` and `mentions export [period]`: the team's figures as a
text table, and the period's mentions as a CSV file for the person who asked. Neutral: an
adapter renders the TextAnswer and delivers the `ExportFile` its own way."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.chat.commands import TextAnswer
from bot.chat.text import duration
from bot.chat.views import Line, Person
from bot.store.base import WorkflowRow
from bot.team.figures import Figures, Timing, compute

if TYPE_CHECKING:
    from bot.chat.answers import Scope
    from bot.chat.service import Actor, ChatService
    from bot.team.commands import TeamCommand

EXPORT_ROWS = 50_000  # a file anyone can open; the period can be shortened for more


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A file for the person who asked (privately: their direct messages on Slack)."""

    filename: str
    content: bytes
    title: str
    comment: Line
    rows: int


def answer(service: ChatService, actor: Actor, scope: Scope, cmd: TeamCommand) -> object:
    period = cmd.period or timedelta(days=7)
    now = service.clock()
    since, until = now - period, now + timedelta(seconds=1)  # what came this second counts
    brands = scope.brands
    if cmd.brand:
        wanted = cmd.brand.lower()
        if brands is not None and wanted not in {b.lower() for b in brands}:
            return TextAnswer(((f"{cmd.brand} is not a brand this channel gets alerts for.",),))
        brands = (cmd.brand,)
    if brands == ():
        return TextAnswer((scope.nothing_here(),))
    rows = service.store.workflow_rows(since, until, brands=brands)
    label = f"last {duration(period.total_seconds())}"
    if cmd.name == "export":
        return export_file(rows[:EXPORT_ROWS], label, since)
    fig = compute(rows, since, until, lambda b: service.policies(b).targets)
    who = ", ".join(brands) if brands else "all brands (you are an admin)"
    return TextAnswer(((f"{who} — {label}",), *people_lines(fig)), preformatted=figures_table(fig))


def figures_table(fig: Figures) -> str:
    """Volume and response times as aligned plain text (a monospace block)."""
    sentiments = " · ".join(f"{k} {v}" for k, v in fig.by_sentiment.items()) or "none"
    sources = " · ".join(f"{k} {v}" for k, v in list(fig.by_source.items())[:8]) or "none"
    lines = [
        f"Mentions {fig.total} (alerted {fig.alerted}, muted {fig.muted})",
        f"  by sentiment: {sentiments}",
        f"  by source:    {sources}",
        "",
        f"{'Response time':<16}{'n':>4}  {'median':>10}  {'p90':>10}  within target",
    ]
    for name, timing in (
        ("to claim", fig.to_claim),
        ("to first reply", fig.to_reply),
        ("to resolve", fig.to_resolve),
    ):
        lines.append(_timing_row(name, timing))
    return "\n".join(lines)


def _timing_row(name: str, t: Timing) -> str:
    def d(value: float | None) -> str:
        return duration(value) if value is not None else "–"

    if t.target is None:
        within = "–"
    else:
        within = f"{t.within_target}/{t.count} (target {duration(t.target)})"
    return f"  {name:<14}{t.count:>4}  {d(t.median):>10}  {d(t.p90):>10}  {within}"


def people_lines(fig: Figures) -> tuple[Line, ...]:
    if not fig.people:
        return ()
    lines: list[Line] = [("Per person (claimed · first replies · resolved):",)]
    for key, p in fig.people.items():
        lines.append(("• ", Person(key), f": {p.claimed} · {p.replied} · {p.resolved}"))
    return tuple(lines)


COLUMNS = (
    "id", "brand", "source", "sentiment", "alerted", "status", "owner", "fetched_at",
    "alerted_at", "claimed_at", "first_reply_at", "resolved_at", "seconds_to_claim",
    "seconds_to_first_reply", "seconds_to_resolve", "muted", "title", "url",
)  # fmt: skip


def export_file(rows: list[WorkflowRow], label: str, since: datetime) -> ExportFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.mention_id, _cell(r.brand), _cell(r.source), r.sentiment, int(r.flagged),
                r.status.value, r.owner, _iso(r.fetched_at), _iso(r.alerted_at),
                _iso(r.claimed_at), _iso(r.replied_at), _iso(r.resolved_at),
                _took(r.alerted_at, r.claimed_at), _took(r.alerted_at, r.replied_at),
                _took(r.alerted_at, r.resolved_at), int(r.muted), _cell(r.title), _cell(r.url),
            ]
        )  # fmt: skip
    name = f"mentions-{since.strftime('%Y%m%d')}-{label.replace(' ', '-')}.csv"
    return ExportFile(
        filename=name,
        content=out.getvalue().encode("utf-8"),
        title=f"Mentions, {label}",
        comment=(f"Your export: {len(rows)} mentions, {label}.",),
        rows=len(rows),
    )


def _cell(text: str) -> str:
    """A stranger's text, inert in a spreadsheet: no formula can start it."""
    text = text.replace("\r", " ").replace("\n", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else ""


def _took(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return f"{max(0.0, (end - start).total_seconds()):.0f}"
