"""The state machine of an alert: the only place that changes a mention's status.

Chat adapters (Slack, Teams, the slash command) call these functions and redraw the message
from the returned mention; they never write status themselves.

    new ──deliver──► alerted ──claim──► claimed ──reply──► replied ──resolve──► resolved
                        │  ▲              │   │                                   │
                        │  └───unclaim────┘   └──────────resolve──────────────────┤
                        └──resolve / dismiss────────────────────────────────────► │
                                                           reopen ◄───────────────┘
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.models import Mention, Status
from bot.store.base import Store

SYSTEM = "system"

OPEN = (Status.NEW, Status.ALERTED)
CLAIMABLE = OPEN
REPLYABLE = (Status.NEW, Status.ALERTED, Status.CLAIMED, Status.REPLIED)
RESOLVABLE = (Status.NEW, Status.ALERTED, Status.CLAIMED, Status.REPLIED)
DISMISSABLE = (Status.NEW, Status.ALERTED, Status.CLAIMED)
REOPENABLE = (Status.RESOLVED, Status.DISMISSED)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened. `message` is a sentence for the person who acted (shown ephemerally)."""

    ok: bool
    mention: Mention | None
    message: str


def claim(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    """Atomic: of two simultaneous claims exactly one wins; the other learns who owns it."""
    result = store.transition(
        mention_id, allowed_from=CLAIMABLE, to=Status.CLAIMED, actor=user, at=now, owner=user
    )
    if result.ok:
        return Outcome(True, result.mention, "You claimed this mention.")
    return Outcome(False, result.mention, _refusal(result.mention, user, "claim"))


def unclaim(
    store: Store, mention_id: int, user: str, now: datetime, *, admins: frozenset[str] = frozenset()
) -> Outcome:
    """Only the owner (or an admin) can give a mention back."""
    result = store.transition(
        mention_id,
        allowed_from=(Status.CLAIMED,),
        to=Status.ALERTED,
        actor=user,
        at=now,
        owner="",
        owner_must_be=None if user in admins else user,
    )
    if result.ok:
        return Outcome(True, result.mention, "You released this mention.")
    return Outcome(False, result.mention, _refusal(result.mention, user, "unclaim"))


def reply(store: Store, mention_id: int, user: str, text: str, now: datetime) -> Outcome:
    """Record a reply; whoever replies to an unowned mention becomes its owner."""
    current = store.get_mention(mention_id)
    if current is None:
        return Outcome(False, None, f"Mention {mention_id} does not exist.")
    if current.status == Status.CLAIMED and current.owner and current.owner != user:
        # Someone else holds it: still record the reply (nothing is lost), keep their ownership.
        owner = current.owner
    else:
        owner = current.owner or user
    result = store.transition(
        mention_id, allowed_from=REPLYABLE, to=Status.REPLIED, actor=user, at=now, owner=owner
    )
    if not result.ok:
        return Outcome(False, result.mention, _refusal(result.mention, user, "reply to"))
    store.add_reply(mention_id, actor=user, text=text, at=now)
    return Outcome(True, result.mention, "Your reply is recorded.")


def resolve(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    current = store.get_mention(mention_id)
    owner = (current.owner if current else "") or user
    result = store.transition(
        mention_id, allowed_from=RESOLVABLE, to=Status.RESOLVED, actor=user, at=now, owner=owner
    )
    if result.ok:
        return Outcome(True, result.mention, "Marked resolved.")
    return Outcome(False, result.mention, _refusal(result.mention, user, "resolve"))


def dismiss(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    result = store.transition(
        mention_id, allowed_from=DISMISSABLE, to=Status.DISMISSED, actor=user, at=now
    )
    if result.ok:
        return Outcome(True, result.mention, "Dismissed.")
    return Outcome(False, result.mention, _refusal(result.mention, user, "dismiss"))


def reopen(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    result = store.transition(
        mention_id, allowed_from=REOPENABLE, to=Status.ALERTED, actor=user, at=now, owner=""
    )
    if result.ok:
        return Outcome(True, result.mention, "Reopened.")
    return Outcome(False, result.mention, _refusal(result.mention, user, "reopen"))


def _refusal(mention: Mention | None, user: str, verb: str) -> str:
    if mention is None:
        return "That mention does not exist."
    if mention.status == Status.CLAIMED and mention.owner and mention.owner != user:
        return f"<@{mention.owner}> already claimed this mention."
    if mention.status == Status.CLAIMED and mention.owner == user and verb == "claim":
        return "You already own this mention."
    return f"Cannot {verb} a mention that is {mention.status.value}."
