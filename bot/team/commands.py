"""The team's `mentions` commands: mute, mutes, unmute, stats and export. A pure parser
(`parse_team_command`, None for any other command) and neutral answers; the chat core's
answer_command hands these over (bot/chat/answers.py)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.chat.commands import Answer, TextAnswer
from bot.chat.views import Line, Person, When
from bot.models import MuteKind
from bot.team.mutes import normalise

if TYPE_CHECKING:
    from bot.chat.answers import Scope
    from bot.chat.service import Actor, ChatService

TEAM_SUBCOMMANDS = ("mute", "mutes", "unmute", "stats", "export")
DEFAULT_MUTE = timedelta(days=30)
_PERIOD = re.compile(r"^(\d{1,4})([hdw])$")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class TeamCommand:
    name: str  # one of TEAM_SUBCOMMANDS, or "help" with an error
    kind: MuteKind | None = None
    value: str = ""
    brand: str = ""
    number: int | None = None
    period: timedelta | None = None
    error: str = ""


def parse_period(text: str) -> timedelta | None:
    match = _PERIOD.match(text.lower())
    if not match or int(match.group(1)) == 0:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def parse_team_command(text: str) -> TeamCommand | None:
    try:
        parts = shlex.split(text or "")
    except ValueError:
        parts = (text or "").split()
    if not parts or parts[0].lower() not in TEAM_SUBCOMMANDS:
        return None
    name, args = parts[0].lower(), parts[1:]
    brand = ""
    for arg in list(args):
        if arg.lower().startswith("brand:"):
            brand = arg.partition(":")[2][:100]
            args.remove(arg)
    if name == "mutes":
        return TeamCommand("mutes", brand=brand) if not args else _error("“mutes” takes no words.")
    if name == "unmute":
        if len(args) != 1 or not args[0].lstrip("#").isdigit() or len(args[0]) > 12:
            return _error("“unmute” needs the mute's number, e.g. “unmute 3” (see “mutes”).")
        return TeamCommand("unmute", number=int(args[0].lstrip("#")))
    if name in ("stats", "export"):
        period = parse_period(args[0]) if args else timedelta(days=7)
        if args and period is None:
            return _error(f"“{name}” takes a period such as 24h, 7d or 4w.")
        rest = args[1:]
        if name == "stats" and len(rest) == 1 and not brand:
            brand = rest[0][:100]
        elif rest:
            return _error(f"“{name}” takes a period and, for stats, a brand.")
        return TeamCommand(name, brand=brand, period=period)
    return _parse_mute(args, brand)


def _parse_mute(args: list[str], brand: str) -> TeamCommand:
    if len(args) < 2 or args[0].lower() not in MuteKind.__members__.values():
        return _error("“mute” needs what to mute: author <name>, domain <site> or phrase <words>.")
    kind = MuteKind(args[0].lower())
    words = args[1:]
    period: timedelta | None = DEFAULT_MUTE
    if len(words) >= 2 and words[-2].lower() == "for":
        if words[-1].lower() == "ever":
            period = None
        else:
            period = parse_period(words[-1])
            if period is None:
                return _error("“for” takes a period such as 24h, 7d or 4w (or “ever”).")
        words = words[:-2]
    try:
        value = normalise(kind, " ".join(words))
    except ValueError as exc:
        return _error(str(exc))
    return TeamCommand("mute", kind=kind, value=value, brand=brand, period=period)


def _error(message: str) -> TeamCommand:
    return TeamCommand("help", error=message)


def answer_team(
    service: ChatService, actor: Actor, scope: Scope, cmd: TeamCommand
) -> Answer | object:
    """The answer to a team command (an `ExportFile` for export)."""
    from bot.team import reports

    if cmd.name == "help":
        return TextAnswer(((cmd.error,),), usage=True)
    if cmd.name in ("stats", "export"):
        return reports.answer(service, actor, scope, cmd)
    store, now = service.store, service.clock()
    if cmd.name == "unmute":
        brands = scope.brands
        mine = [m for m in store.active_mutes(now, brands=brands) if m.id == cmd.number]
        lifted = store.lift_mute(cmd.number or 0, at=now) if mine else None
        if lifted is None:
            return TextAnswer(((f"There is no mute #{cmd.number} in force here.",),))
        return TextAnswer(
            (
                (
                    f"Lifted mute #{lifted.id}: {lifted.kind.value} “{lifted.value}”"
                    f" for {lifted.brand}.",
                ),
            )
        )
    brand = _brand(scope, cmd.brand)
    if cmd.name == "mutes":
        found = store.active_mutes(now, brands=[brand] if cmd.brand else scope.brands)
        if not found:
            return TextAnswer((("No mutes in force here.",),))
        lines: list[Line] = [(f"Mutes in force — {scope.note()}",)]
        for m in found:
            until: tuple[str | When, ...] = (
                (" until ", When(m.until)) if m.until else (" for good",)
            )
            lines.append(
                (f"#{m.id} · {m.brand} · {m.kind.value} “{m.value}” · by ", Person(m.actor), *until)
            )
        lines.append(("Lift one with “unmute <number>”.",))
        return TextAnswer(tuple(lines))
    if not brand:
        return TextAnswer(
            (
                (
                    "Which brand? Say it with brand:<name>; this channel gets alerts for "
                    + (", ".join(scope.here) or "no brand")
                    + ".",
                ),
            )
        )
    until_at = now + cmd.period if cmd.period else None
    assert cmd.kind is not None
    mute = store.add_mute(brand, cmd.kind, cmd.value, actor=actor.key, at=now, until=until_at)
    tail: tuple[str | When, ...] = (" until ", When(until_at)) if until_at else (" for good",)
    return TextAnswer(
        (
            (
                f"Muted {mute.kind.value} “{mute.value}” for {brand}",
                *tail,
                f" (mute #{mute.id}). Its mentions are still stored and searchable, never alerted.",
            ),
        )
    )


def _brand(scope: Scope, asked: str) -> str:
    """The brand a command is about: the one asked for (if this channel may see it), else
    the channel's only brand; "" when that is ambiguous."""
    allowed = None if scope.brands is None else {b.lower(): b for b in scope.brands}
    if asked:
        if allowed is None:
            return asked
        return allowed.get(asked.lower(), "")
    if scope.brands is not None and len(scope.brands) == 1:
        return scope.brands[0]
    return ""
