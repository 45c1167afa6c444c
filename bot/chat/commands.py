"""The `mentions` commands, for every platform: a pure parser and neutral answers.

Parsing is a pure function (`parse_command`) so every input form is a row in a table test.
Anything it does not understand becomes `Command("help", error=...)`: the person gets the
usage with one line saying what was wrong, never a stack trace. Answers are data
(`Listing`, `Detail`, `TextAnswer`); each platform renders them, and its own command prefix
(`/mentions` on Slack, `@mentionbot` on Teams) goes into the usage.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.views import AlertView, Line
from bot.models import Sentiment, Transition

SUBCOMMANDS = ("help", "open", "mine", "search", "show", "claim", "resolve", "stats", "status")
LIST_LIMIT = 15
MAX_SEARCH_WORDS = 8  # more than this is not a search anyone means; the database stays quick
MAX_WORD_CHARS = 60
_SINCE = re.compile(r"^(\d{1,4})([hdw])$")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}

# (arguments, what it does): rendered with the platform's prefix.
USAGE: tuple[tuple[str, str], ...] = (
    ("open", "unclaimed alerts"),
    ("mine", "what you have claimed or replied to"),
    ("search <words> [source:x] [since:7d] [sentiment:negative]", "find mentions"),
    ("show <id>", "one mention in full, with its history"),
    ("claim <id>", "take a mention"),
    ("resolve <id>", "mark it resolved"),
    ("status", "each source's health and publication-to-alert delay"),
    # The team's commands (bot/team/commands.py parses and answers them).
    ("mute author|domain|phrase <what> [for 30d] [brand:Acme]", "stop alerts for it"),
    ("mutes", "the mutes in force, with their numbers"),
    ("unmute <number>", "lift a mute"),
    ("stats [7d] [brand]", "volume and response times against the targets"),
    ("export [7d]", "the period's mentions as a CSV file, sent to you"),
    ("help", "this text"),
)


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
    """Command text → Command. Pure; never raises. The error text names the input in
    backticks: renderers escape it."""
    try:
        parts = shlex.split(text or "")
    except ValueError:  # an unbalanced quote: fall back to plain words
        parts = (text or "").split()
    if not parts:
        return Command("help")
    name, args = parts[0].lower(), parts[1:]
    if name not in SUBCOMMANDS:
        return _error(f"I don't know “{name[:40]}”.")
    if name in ("help", "open", "mine", "status"):
        return Command(name) if not args else _error(f"“{name}” takes no arguments.")
    if name in ("show", "claim", "resolve"):
        if len(args) != 1 or not args[0].lstrip("#").isdigit() or len(args[0]) > 18:
            return _error(f"“{name}” needs one mention number, e.g. “{name} 42”.")
        return Command(name, mention_id=int(args[0].lstrip("#")))
    if name == "stats":
        if not args or (len(args) == 1 and args[0].lower() == "all"):
            return Command("stats")
        since = _since(args[0]) if len(args) == 1 else None
        if since is None:
            return _error("“stats” takes a period such as 24h, 7d or 4w.")
        return Command("stats", since=since)
    return _parse_search(args)


def _parse_search(args: list[str]) -> Command:
    words: list[str] = []
    source, since, sentiment = "", None, None
    for arg in args:
        key, sep, value = arg.partition(":")
        key = key.lower()
        if sep and key == "source" and value:
            source = value[:200]
        elif sep and key == "since":
            since = _since(value)
            if since is None:
                return _error(f"“since:” takes a period such as 24h, 7d or 4w, not “{value[:20]}”.")
        elif sep and key == "sentiment":
            try:
                sentiment = Sentiment(value.lower())
            except ValueError:
                return _error("“sentiment:” is one of negative, neutral, positive.")
        else:
            words.append(arg)
    if len(words) > MAX_SEARCH_WORDS:
        return _error(
            f"search takes at most {MAX_SEARCH_WORDS} words ({len(words)} given); "
            "narrow it with source:, since: or sentiment:."
        )
    if any(len(word) > MAX_WORD_CHARS for word in words):
        return _error(f"search words are at most {MAX_WORD_CHARS} characters long.")
    if not (words or source or since or sentiment):
        return _error("“search” needs words or a filter, e.g. “search refund since:7d”.")
    return Command("search", words=tuple(words), source=source, since=since, sentiment=sentiment)


def _since(value: str) -> timedelta | None:
    match = _SINCE.match(value.lower())
    if not match or int(match.group(1)) == 0:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _error(message: str) -> Command:
    return Command("help", error=message)


# --- answers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MentionLine:
    """One mention in a listing."""

    mention_id: int
    brand: str
    sentiment: str
    score: float
    source: str
    title: str
    url: str
    status: str
    owner: Line  # () when nobody holds it
    at: datetime


@dataclass(frozen=True, slots=True)
class Listing:
    title: str
    items: tuple[MentionLine, ...]
    more: bool  # the list was cut at LIST_LIMIT
    scope: str = ""  # which brands the listing covers, e.g. "Acme (routed to this channel)"


@dataclass(frozen=True, slots=True)
class Detail:
    alert: AlertView
    history: tuple[Transition, ...]
    names: dict[str, str]
    scope: str = ""


@dataclass(frozen=True, slots=True)
class TextAnswer:
    """Lines of text; `usage` adds the command list, `preformatted` keeps columns aligned."""

    lines: tuple[Line, ...]
    usage: bool = False
    preformatted: str = ""


Answer = Listing | Detail | TextAnswer
