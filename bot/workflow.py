"""The state machine of an alert: the only place that changes a mention's status.

The chat service (bot/chat/service.py) calls these functions for every platform and redraws
the messages from the returned mention; adapters never write status themselves. Outcomes are
structured (what was refused, and who holds the mention), never chat markup: each platform
says it in its own words.

    new ──deliver──► alerted ──claim──► claimed ──reply──► replied ──resolve──► resolved
                        │  ▲              │   │                                   │
                        │  └───unclaim────┘   └──────────resolve──────────────────┤
                        └──resolve / dismiss────────────────────────────────────► │
                                                           reopen ◄───────────────┘

Every step is one transaction with the mention's row locked (bot/store): the owner is
computed from the row as it is when the step runs, and a reply's text is stored with its
status change, so concurrent clicks on several replicas cannot overwrite each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from bot.models import Mention, Reply, ReplyWhere, Status
from bot.store.base import OwnerRule, Store


class Action(enum.StrEnum):
    """What a person can do to an alert. The values double as Slack action ids and Teams
    Action.Execute verbs, so one name travels from the button to the workflow."""

    CLAIM = "mention-claim"
    UNCLAIM = "mention-unclaim"
    REPLY = "mention-reply"
    RESOLVE = "mention-resolve"
    DISMISS = "mention-dismiss"
    REOPEN = "mention-reopen"


OPEN = (Status.NEW, Status.ALERTED)

# The single source of truth for which actions a status allows: the workflow refuses the
# rest, and every platform draws exactly these buttons.
ALLOWED: dict[Status, tuple[Action, ...]] = {
    Status.NEW: (Action.CLAIM, Action.REPLY, Action.RESOLVE, Action.DISMISS),
    Status.ALERTED: (Action.CLAIM, Action.REPLY, Action.RESOLVE, Action.DISMISS),
    Status.CLAIMED: (Action.REPLY, Action.RESOLVE, Action.UNCLAIM, Action.DISMISS),
    Status.REPLIED: (Action.REPLY, Action.RESOLVE),
    Status.RESOLVED: (Action.REOPEN,),
    Status.DISMISSED: (Action.REOPEN,),
}


def allowed_actions(status: Status) -> tuple[Action, ...]:
    return ALLOWED[status]


def statuses_allowing(action: Action) -> tuple[Status, ...]:
    return tuple(status for status, actions in ALLOWED.items() if action in actions)


class Refusal(enum.StrEnum):
    """Why a step did not happen."""

    NOT_FOUND = "not_found"  # no such mention
    HELD_BY_OTHER = "held_by_other"  # someone else claimed it first
    ALREADY_YOURS = "already_yours"  # a second claim by its owner
    NOT_OWNER = "not_owner"  # only the owner (or an admin) may release it
    WRONG_STATUS = "wrong_status"  # the status does not allow this action


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened. On a refusal, `mention` is the state that won and `holder` the user
    key of whoever holds it ("" when nobody does)."""

    ok: bool
    action: Action
    mention: Mention | None
    refusal: Refusal | None = None
    holder: str = ""
    previous_owner: str = ""  # who held it before this step (to tell them it changed)


def act(
    store: Store,
    action: Action,
    mention_id: int,
    actor: str,
    now: datetime,
    *,
    admins: frozenset[str] = frozenset(),
    reply_text: str = "",
    reply_where: ReplyWhere = ReplyWhere.THREAD,
) -> Outcome:
    """Apply one action for `actor` (a user key). A reply needs `reply_text`."""
    owner_rule, owner_must_be = _owner_rules(action, actor, admins)
    result = store.transition(
        mention_id,
        allowed_from=statuses_allowing(action),
        to=_TARGET[action],
        actor=actor,
        at=now,
        owner=owner_rule,
        owner_must_be=owner_must_be,
        reply=Reply(actor, reply_text, now, reply_where) if action == Action.REPLY else None,
    )
    mention = result.mention
    holder = mention.owner if mention else ""
    if result.ok:
        return Outcome(True, action, mention, holder=holder, previous_owner=result.previous_owner)
    return Outcome(False, action, mention, refusal=_refusal(action, mention, actor), holder=holder)


def record_public_reply(store: Store, mention_id: int, reply: Reply) -> Outcome:
    """Record a reply that is already public on the mention's platform, with its status
    change. A public post is a fact: it is recorded whatever the status became while it was
    being posted (someone resolved the mention meanwhile), so the alert never hides an answer
    the customer can see. Whoever posts to an unowned mention becomes its owner."""
    result = store.transition(
        mention_id,
        allowed_from=tuple(Status),
        to=Status.REPLIED,
        actor=reply.actor,
        at=reply.at,
        owner=OwnerRule.ACTOR_IF_FREE,
        reply=reply,
    )
    mention = result.mention
    holder = mention.owner if mention else ""
    if result.ok:
        return Outcome(True, Action.REPLY, mention, holder=holder)
    return Outcome(False, Action.REPLY, mention, refusal=Refusal.NOT_FOUND, holder=holder)


def public_reply_deleted(
    store: Store, reply_id: int, actor: str, now: datetime, *, note: str
) -> bool:
    """Record that a public reply was deleted from its platform. A mention whose only reply
    that was goes back from replied to claimed (its owner keeps it): nobody has answered the
    customer now. False when the deletion was already recorded."""
    return store.mark_reply_deleted(
        reply_id,
        actor=actor,
        at=now,
        note=note,
        reopen_to=Status.CLAIMED,
        reopen_from=Status.REPLIED,
    )


# The convenience names the rest of the code (and tests) read best with.
def claim(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    """Atomic: of two simultaneous claims exactly one wins; the other learns who holds it."""
    return act(store, Action.CLAIM, mention_id, user, now)


def unclaim(
    store: Store, mention_id: int, user: str, now: datetime, *, admins: frozenset[str] = frozenset()
) -> Outcome:
    """Only the owner (or an admin) can give a mention back."""
    return act(store, Action.UNCLAIM, mention_id, user, now, admins=admins)


def reply(store: Store, mention_id: int, user: str, text: str, now: datetime) -> Outcome:
    """Record a reply with its status change; whoever replies to an unowned mention becomes
    its owner, and someone else's claim is kept."""
    return act(store, Action.REPLY, mention_id, user, now, reply_text=text)


def resolve(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    return act(store, Action.RESOLVE, mention_id, user, now)


def dismiss(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    return act(store, Action.DISMISS, mention_id, user, now)


def reopen(store: Store, mention_id: int, user: str, now: datetime) -> Outcome:
    return act(store, Action.REOPEN, mention_id, user, now)


_TARGET = {
    Action.CLAIM: Status.CLAIMED,
    Action.UNCLAIM: Status.ALERTED,
    Action.REPLY: Status.REPLIED,
    Action.RESOLVE: Status.RESOLVED,
    Action.DISMISS: Status.DISMISSED,
    Action.REOPEN: Status.ALERTED,
}


def _owner_rules(
    action: Action, actor: str, admins: frozenset[str]
) -> tuple[OwnerRule, str | None]:
    if action == Action.CLAIM:
        return OwnerRule.ACTOR, None
    if action == Action.UNCLAIM:
        return OwnerRule.CLEAR, None if actor in admins else actor
    if action in (Action.REPLY, Action.RESOLVE):
        return OwnerRule.ACTOR_IF_FREE, None
    if action == Action.REOPEN:
        return OwnerRule.CLEAR, None
    return OwnerRule.KEEP, None


def _refusal(action: Action, mention: Mention | None, actor: str) -> Refusal:
    if mention is None:
        return Refusal.NOT_FOUND
    held_by_other = bool(mention.owner) and mention.owner != actor
    if action == Action.CLAIM and mention.status == Status.CLAIMED:
        return Refusal.HELD_BY_OTHER if held_by_other else Refusal.ALREADY_YOURS
    if action == Action.UNCLAIM and mention.status == Status.CLAIMED and held_by_other:
        return Refusal.NOT_OWNER
    return Refusal.WRONG_STATUS
