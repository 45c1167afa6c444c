"""Choices on an alert beyond the workflow's buttons: "Not a complaint", "Move to
questions", and muting its author or site. Each is recorded (the moves as correction labels,
so `mentionbot labels export` carries them to the next model) and answered in neutral lines.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from bot.chat.service import Actor, ChatService, Reaction
from bot.chat.views import MORE_CHOICES, When, author_name
from bot.models import MessageRef, MuteKind
from bot.team.mutes import normalise
from bot.workflow import Action

MUTE_FOR = timedelta(days=30)

CHOICES = MORE_CHOICES


def on_choice(
    service: ChatService, actor: Actor, mention_id: int, choice: str, origin: MessageRef | None
) -> Reaction:
    service.remember(actor)
    if choice not in dict(CHOICES):
        return Reaction(False, ("That choice is not one I know; nothing changed.",))
    refused = service.allowed_origin(mention_id, origin)
    if refused is not None:
        return refused
    mention = service.store.get_mention(mention_id)
    if mention is None:
        return Reaction(False, (f"Mention {mention_id} does not exist.",))
    now = service.clock()
    if choice in ("mute_author", "mute_domain"):
        kind = MuteKind.AUTHOR if choice == "mute_author" else MuteKind.DOMAIN
        raw = author_name(mention.author) if kind == MuteKind.AUTHOR else mention.url
        try:
            value = normalise(kind, raw or "")
        except ValueError:
            what = "author" if kind == MuteKind.AUTHOR else "site"
            return Reaction(False, (f"This mention has no {what} I can mute.",))
        if kind == MuteKind.DOMAIN:
            value = normalise(kind, urlsplit(mention.url).hostname or "")
        mute = service.store.add_mute(
            mention.brand, kind, value, actor=actor.key, at=now, until=now + MUTE_FOR
        )
        return Reaction(
            True,
            (
                f"Muted {kind.value} “{value}” for {mention.brand} until ",
                When(mute.until or now),
                f" (mute #{mute.id}). Its mentions are still stored and searchable; "
                "“mutes” lists mutes and lifts one.",
            ),
        )
    service.store.add_label(mention_id, label=choice, actor=actor.key, at=now)
    if choice == "not_complaint":
        reaction = service.on_action(actor, Action.DISMISS, mention_id, origin)
        done = " and dismissed it" if reaction.ok else ""
        service.redraw(mention_id)
        return Reaction(True, (f"Recorded #{mention_id} as not a complaint{done}.",))
    routes = service.policies(mention.brand).routing.questions
    service.redraw(mention_id)
    if not routes:
        return Reaction(
            True,
            (
                f"Recorded #{mention_id} as a question. {mention.brand} has no questions "
                "channel, so questions go to its digest.",
            ),
        )
    for route in routes:
        service.store.add_delivery(mention_id, route, at=now)
    where = ", ".join(r.channel for r in routes)
    return Reaction(True, (f"Recorded #{mention_id} as a question and moved it to {where}.",))
