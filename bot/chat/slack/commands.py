"""The `/mentions` slash command: a pure parser, and answers sent ephemerally.

Parsing is a pure function (`parse_command`) so every input form is a row in a table test.
Anything it does not understand becomes a `Command("help", error=...)`: the person gets the
usage text with one line saying what was wrong, never a stack trace.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import workflow
from bot.chat.slack.actions import Deps, redraw
from bot.chat.slack.blocks import alert_blocks
from bot.chat.slack.ids import COMMAND
from bot.chat.slack.text import escape_line, escape_trim, link, user
from bot.chat.text import ago, duration, trim
from bot.models import Mention, Sentiment, Status
from bot.status import format_table, gather_status
from bot.store.base import MentionQuery

log = logging.getLogger(__name__)

USAGE = f"""*{COMMAND}* — brand mentions that need a human
• `{COMMAND} open` — unclaimed alerts
• `{COMMAND} mine` — what you have claimed or replied to
• `{COMMAND} search <words> [source:x] [since:7d] [sentiment:negative]`
• `{COMMAND} show <id>` — one mention in full, with its history
• `{COMMAND} claim <id>` · `{COMMAND} resolve <id>`
• `{COMMAND} stats [7d]` — counts, median time to claim and to resolve
• `{COMMAND} status` — each source's health and publication-to-alert delay
• `{COMMAND} help` — this text"""

SUBCOMMANDS = ("help", "open", "mine", "search", "show", "claim", "resolve", "stats", "status")
LIST_LIMIT = 15
_SINCE = re.compile(r"^(\d{1,4})([hdw])$")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Command:
    name: str  # one of SUBCOMMANDS
    mention_id: int | None = None
    words: tuple[str, ...] = ()
    source: str = ""
    since: timedelta | None = None
    sentiment: Sentiment | None = None
    error: str = ""  # set with name == "help" when the input was not understood


def parse_command(text: str) -> Command:
    """`/mentions` text → Command. Pure; never raises."""
    try:
        parts = shlex.split(text or "")
    except ValueError:  # an unbalanced quote: fall back to plain words
        parts = (text or "").split()
    if not parts:
        return Command("help")
    name, args = parts[0].lower(), parts[1:]
    if name not in SUBCOMMANDS:
        return Command("help", error=f"I don't know `{escape_trim(name, 40)}`.")
    if name in ("help", "open", "mine", "status"):
        return Command(name) if not args else _error(f"`{name}` takes no arguments.")
    if name in ("show", "claim", "resolve"):
        if len(args) != 1 or not args[0].lstrip("#").isdigit() or len(args[0]) > 18:
            return _error(f"`{name}` needs one mention number, e.g. `{COMMAND} {name} 42`.")
        return Command(name, mention_id=int(args[0].lstrip("#")))
    if name == "stats":
        if not args:
            return Command("stats")
        if len(args) == 1 and args[0].lower() == "all":
            return Command("stats")
        since = _since(args[0]) if len(args) == 1 else None
        if since is None:
            return _error("`stats` takes a period such as `24h`, `7d` or `4w`.")
        return Command("stats", since=since)
    return _parse_search(args)


def _parse_search(args: list[str]) -> Command:
    words: list[str] = []
    source, since, sentiment = "", None, None
    for arg in args:
        key, sep, value = arg.partition(":")
        key = key.lower()
        if sep and key == "source" and value:
            source = value
        elif sep and key == "since":
            since = _since(value)
            if since is None:
                return _error(
                    "`since:` takes a period such as `24h`, `7d` or `4w`,"
                    f" not `{escape_trim(value, 20)}`."
                )
        elif sep and key == "sentiment":
            try:
                sentiment = Sentiment(value.lower())
            except ValueError:
                return _error("`sentiment:` is one of negative, neutral, positive.")
        else:
            words.append(arg)
    if not (words or source or since or sentiment):
        return _error("`search` needs words or a filter, e.g. `search refund since:7d`.")
    return Command("search", words=tuple(words), source=source, since=since, sentiment=sentiment)


def _since(value: str) -> timedelta | None:
    match = _SINCE.match(value.lower())
    if not match or int(match.group(1)) == 0:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _error(message: str) -> Command:
    return Command("help", error=message)


# --- answering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    text: str
    blocks: list[dict[str, Any]] | None = None


def register_commands(app: App, deps: Deps) -> None:
    @app.command(COMMAND)
    def on_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        try:
            answer = answer_command(command, deps, client)
        except Exception:  # the person gets a sentence; the log gets the trace
            log.exception("/mentions %r failed", command.get("text", ""))
            answer = Answer("Sorry, that did not work. The error is in the bot's log.")
        respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral")


def answer_command(command: dict[str, Any], deps: Deps, client: WebClient) -> Answer:
    channel = command.get("channel_id", "")
    if deps.allowed_channels and channel not in deps.allowed_channels:
        where = ", ".join(f"<#{c}>" for c in sorted(deps.allowed_channels))
        return Answer(f"{COMMAND} works only in {where}.")
    actor = command.get("user_id", "")
    cmd = parse_command(command.get("text", ""))
    now = deps.clock()
    store = deps.store
    if cmd.name == "help":
        return Answer(f"{cmd.error}\n\n{USAGE}" if cmd.error else USAGE)
    if cmd.name == "open":
        found = store.find_mentions(
            MentionQuery(statuses=workflow.OPEN, flagged_only=True, limit=LIST_LIMIT)
        )
        return _listing("Open alerts (nobody owns them yet)", found, now)
    if cmd.name == "mine":
        query = MentionQuery(
            owner=actor, statuses=(Status.CLAIMED, Status.REPLIED), limit=LIST_LIMIT
        )
        return _listing("Yours (claimed or replied)", store.find_mentions(query), now)
    if cmd.name == "search":
        query = MentionQuery(
            words=cmd.words,
            source=cmd.source,
            sentiment=cmd.sentiment,
            since=now - cmd.since if cmd.since else None,
            limit=LIST_LIMIT,
        )
        return _listing("Search results", store.find_mentions(query), now)
    if cmd.name == "stats":
        return _stats(deps, cmd.since, now)
    if cmd.name == "status":
        table = format_table(gather_status(store, now))
        # A code block keeps the columns aligned; source names and errors are escaped.
        return Answer("*Sources*\n```" + escape_trim(table, 2900) + "```")
    assert cmd.mention_id is not None
    if cmd.name == "show":
        return _show(deps, cmd.mention_id, now)
    step = workflow.claim if cmd.name == "claim" else workflow.resolve
    outcome = step(store, cmd.mention_id, actor, now)
    if outcome.mention is not None:
        redraw(client, deps, cmd.mention_id)
    prefix = f"#{cmd.mention_id}: " if outcome.mention is not None else ""
    return Answer(prefix + outcome.message)


def _listing(title: str, mentions: list[Mention], now: datetime) -> Answer:
    if not mentions:
        return Answer(f"*{title}*: nothing found.")
    lines = [f"*{title}* ({len(mentions)}{'+' if len(mentions) >= LIST_LIMIT else ''})"]
    lines += [_summary(m, now) for m in mentions]
    text = trim("\n".join(lines), 3000)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": line, "verbatim": True}}
              for line in lines[:49]]  # fmt: skip
    return Answer(text, blocks)


def _summary(m: Mention, now: datetime) -> str:
    title = link(m.url, m.title or m.text or "(untitled)", limit=120)
    owner = f" · {user(m.owner)}" if m.owner else ""
    return trim(
        f"`#{m.id}` {escape_line(m.brand)} · {m.verdict.sentiment.value} {m.verdict.score:+.2f}"
        f" · {escape_line(m.source)} · {title} · *{m.status.value}*{owner}"
        f" · {ago(m.published_at or m.fetched_at, now)}",
        2900,
    )


def _show(deps: Deps, mention_id: int, now: datetime) -> Answer:
    mention = deps.store.get_mention(mention_id)
    if mention is None:
        return Answer(f"There is no mention #{mention_id}.")
    history = deps.store.history(mention_id)
    replies = deps.store.replies(mention_id)
    # The alert's own rendering, without its buttons (they belong on the channel message).
    blocks = [b for b in alert_blocks(mention, history, replies, now) if b["type"] != "actions"]
    lines = [
        f"• {t.at:%Y-%m-%d %H:%M} UTC · {t.from_status.value} → {t.to_status.value}"
        f" · {user(t.actor)}"
        + (f" · {escape_trim(t.note, 200, single_line=True)}" if t.note else "")
        for t in history[-30:]
    ]
    if lines:
        history_text = trim("*History*\n" + "\n".join(lines), 3000)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": history_text}})
    return Answer(
        f"Mention #{mention_id}: {escape_trim(mention.title, 200, single_line=True)}", blocks[:50]
    )


def _stats(deps: Deps, since: timedelta | None, now: datetime) -> Answer:
    stats = deps.store.stats(now - since if since else None)
    period = f"last {duration(since.total_seconds())}" if since else "all time"
    by_sentiment = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_sentiment.items())) or "none"
    by_status = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_status.items())) or "none"

    def median(value: float | None) -> str:
        return duration(value) if value is not None else "n/a"

    text = (
        f"*Mentions, {period}*: {stats.total}\n"
        f"• by sentiment: {by_sentiment}\n"
        f"• by status: {by_status}\n"
        f"• median time to claim: {median(stats.median_seconds_to_claim)}\n"
        f"• median time to resolve: {median(stats.median_seconds_to_resolve)}"
    )
    return Answer(text)
