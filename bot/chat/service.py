"""The chat service: one place where a click, a dialog or a command from any platform becomes
a workflow step, and where every delivered copy of the alert is redrawn afterwards.

Adapters call it with neutral values (who acted, on what, from which message) and render what
it returns. It checks that a click acts on the mention its message shows (the message must be
the delivery of that mention) and that a dialog's submission acts only on the mention it was
opened for, by the person who opened it; anything else is refused and logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot import workflow
from bot.chat import answers
from bot.chat.commands import Answer
from bot.chat.drafts import Template, draft_reply
from bot.chat.port import ChatAdapter, DeliveryError
from bot.chat.public import Problem, PublicReplyFlow
from bot.chat.views import (
    AlertView,
    Line,
    Person,
    ReplyForm,
    alert_view,
    outcome_line,
    owner_told,
    people_in,
)
from bot.models import CORRECTIONS, Delivery, Mention, MessageRef, Reply, Route, Transition
from bot.publish.registry import PublicReplies
from bot.store.base import Dialog, Store
from bot.team.policy import Policies
from bot.workflow import Action, Outcome

log = logging.getLogger(__name__)

REDRAW_ROUNDS = 3  # redraw again while the mention changed under us (another replica acted)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: their user key and, when the platform said, their display name."""

    key: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Reaction:
    """What to tell the person who acted (privately where the platform can), if anything."""

    ok: bool
    tell: Line | None = None
    outcome: Outcome | None = None
    form: ReplyForm | None = None  # a reply dialog to show again (with the draft kept)


# Draws the response-time line of an alert (bot/team/targets.py: TargetLines).
TimingFn = Callable[[Mention, Sequence[Transition], Sequence[Reply]], Line]


def load_view(
    store: Store,
    mention: Mention,
    timing: TimingFn | None = None,
    *,
    now: datetime | None = None,
    undo_seconds: float = 0.0,
) -> AlertView:
    """The alert as the store says it is now: mention, history, replies and names (with its
    response-time line from `timing`, and, given `now`, Delete for a public reply younger
    than `undo_seconds`)."""
    assert mention.id is not None
    history = store.history(mention.id)
    replies = store.replies(mention.id)
    names = store.names(people_in(mention, history, replies))
    line = timing(mention, history, replies) if timing is not None else ()
    return alert_view(
        mention, history, replies, names, now=now, undo_seconds=undo_seconds, timing=line
    )


class ChatService:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        clock: Callable[[], datetime],
        *,
        admins: frozenset[str] = frozenset(),
        brand_routes: Mapping[str, Sequence[Route]] | None = None,
        allowed_channels: frozenset[str] = frozenset(),
        public: PublicReplies | None = None,
        templates: Mapping[str, Sequence[Template]] | None = None,
        timing: TimingFn | None = None,
        policies: Policies | None = None,
    ) -> None:
        self.store = store
        self.timing = timing
        self.policies = policies or Policies()  # each brand's team rules (bot/team)
        self.adapters = dict(adapters)
        self.clock = clock
        self.admins = admins
        self.brand_routes = {brand: tuple(routes) for brand, routes in (brand_routes or {}).items()}
        self.allowed_channels = allowed_channels
        # Two clicks on one alert redraw it from two threads. Reading the store and sending
        # under one lock per mention means the update a platform gets last was read last.
        # Striped: memory stays fixed. Across replicas, the revision check below converges.
        self._redraw_locks = tuple(threading.Lock() for _ in range(64))
        self._known_names: dict[str, str] = {}
        # Public replies (bot/chat/public.py): without accounts every reply is a note, and
        # the dialog says why.
        self.public = PublicReplyFlow(
            store, public or PublicReplies({}, {}), clock, admins=admins,
            templates=dict(templates or {}),
        )  # fmt: skip

    # --- clicks -----------------------------------------------------------------------------
    def on_action(
        self, actor: Actor, action: Action, mention_id: int, origin: MessageRef | None
    ) -> Reaction:
        """A button: check it belongs to the message it was clicked on, act, redraw all."""
        self.remember(actor)
        refused = self._check_origin(mention_id, origin)
        if refused is not None:
            return refused
        outcome = workflow.act(
            self.store, action, mention_id, actor.key, self.clock(), admins=self.admins
        )
        if outcome.mention is not None:
            self.redraw(mention_id)
        names = self._names_for(outcome.holder, outcome.previous_owner, actor.key)
        note = owner_told(outcome, actor.key, names)
        if note is not None:
            self._tell_owner(mention_id, outcome.previous_owner, note)
        if outcome.ok:
            return Reaction(True, None, outcome)
        return Reaction(False, outcome_line(outcome, names), outcome)

    def on_correction(
        self, actor: Actor, mention_id: int, label: str, origin: MessageRef | None
    ) -> Reaction:
        """A "Wrong label" choice: record who said what, when; redraw; thank them."""
        self.remember(actor)
        if label not in CORRECTIONS:
            return Reaction(False, ("That choice is not one I know; nothing changed.",))
        refused = self._check_origin(mention_id, origin)
        if refused is not None:
            return refused
        if self.store.get_mention(mention_id) is None:
            return Reaction(False, (f"Mention {mention_id} does not exist.",))
        self.store.add_label(mention_id, label=label, actor=actor.key, at=self.clock())
        self.redraw(mention_id)
        return Reaction(
            True,
            (
                f"Thanks: recorded “{CORRECTIONS[label].lower()}” for mention #{mention_id}. "
                "Corrections train the next model (mentionbot labels export).",
            ),
        )

    # --- replies ----------------------------------------------------------------------------
    def reply_form(
        self, actor: Actor, mention_id: int, origin: MessageRef | None
    ) -> ReplyForm | Reaction:
        """The reply dialog to open, or why not."""
        self.remember(actor)
        refused = self._check_origin(mention_id, origin)
        if refused is not None:
            return refused
        mention = self.store.get_mention(mention_id)
        if mention is None:
            return Reaction(False, ("That mention does not exist any more.",))
        if Action.REPLY not in workflow.allowed_actions(mention.status):
            return Reaction(False, (f"Cannot reply to a mention that is {mention.status}.",))
        delivery = self.store.delivery_of_message(origin) if origin is not None else None
        form = ReplyForm(
            mention_id=mention_id,
            delivery_id=delivery.id if delivery is not None else None,
            title=mention.title or mention.text,
            text=mention.text,
            url=mention.url,
            source=mention.source,
            draft=draft_reply(mention),
        )
        return self.public.form(actor.key, mention, form)

    def dialog_opened(self, dialog_id: str, actor: Actor, form: ReplyForm) -> None:
        self.store.open_dialog(
            Dialog(dialog_id, form.mention_id, form.delivery_id, actor.key, self.clock())
        )

    def check_reply(
        self, actor: Actor, dialog_id: str, mention_id: int | None, text: str, where: str
    ) -> Problem | None:
        """What must change in a reply dialog before it can be submitted (the platform shows
        it on the field), checked without the network; None when it may go."""
        dialog = self.store.dialog(dialog_id)
        if (
            dialog is None
            or dialog.user != actor.key
            or mention_id not in (None, dialog.mention_id)
        ):
            return None  # on_reply refuses it and says why
        problem, _, _ = self.public.problem(actor.key, dialog, text, where)
        return problem

    def on_reply(
        self,
        actor: Actor,
        dialog_id: str,
        mention_id: int | None,
        text: str,
        *,
        where: str = "thread",
    ) -> Reaction:
        """A submitted reply dialog. Acts only on the mention it was opened for, by the person
        who opened it. `where`: "thread" for a note, "public" to post it on the mention's
        platform as the brand's account."""
        self.remember(actor)
        dialog = self.store.dialog(dialog_id)
        if (
            dialog is None
            or dialog.user != actor.key
            or (mention_id is not None and mention_id != dialog.mention_id)
        ):
            log.warning(
                "refused a reply submission: dialog %s is %s (mention %s, by %s)",
                dialog_id[:40],
                "unknown" if dialog is None else "another's",
                mention_id,
                actor.key[:40],
            )
            return Reaction(
                False,
                (
                    "This reply form is not one I opened for you; nothing was "
                    "recorded. Click Reply on the alert again.",
                ),
            )
        if where == "public":
            return self._publish(actor, dialog, text)
        problem, _, _ = self.public.problem(actor.key, dialog, text, where)
        if problem is not None:
            return Reaction(False, (problem.message,))
        outcome = workflow.act(
            self.store, Action.REPLY, dialog.mention_id, actor.key, self.clock(), reply_text=text
        )
        if not outcome.ok:
            names = self._names_for(outcome.holder, actor.key)
            return Reaction(False, outcome_line(outcome, names), outcome)
        self.store.close_dialog(dialog_id)
        note: Line = (
            "💬 Reply by ",
            Person(actor.key, actor.name),
            " (not sent to the customer):\n",
            text,
        )
        for delivery in self._thread_targets(dialog):
            self._note_in_thread(delivery, note)
        self.redraw(dialog.mention_id)
        return Reaction(True, outcome_line(outcome), outcome)

    def _publish(self, actor: Actor, dialog: Dialog, text: str) -> Reaction:
        mention = self.store.get_mention(dialog.mention_id)
        if mention is None:
            return Reaction(False, ("That mention does not exist any more.",))
        form = self.reply_form(actor, dialog.mention_id, None)
        if isinstance(form, Reaction):
            return form
        form = replace(form, delivery_id=dialog.delivery_id)
        done = self.public.publish(actor.key, dialog.id, text, form)
        if not done.ok or done.outcome is None:
            return Reaction(False, done.tell, done.outcome, form=done.form)
        note = self.public.thread_note(actor.key, actor.name, text, done.outcome)
        for delivery in self._thread_targets(dialog):
            self._note_in_thread(delivery, note)
        self.redraw(dialog.mention_id)
        return Reaction(True, done.tell, done.outcome)

    def on_delete_reply(
        self, actor: Actor, mention_id: int, reply_id: int, origin: MessageRef | None
    ) -> Reaction:
        """Delete (undo) a public reply from its platform, from the alert's Delete button."""
        self.remember(actor)
        refused = self._check_origin(mention_id, origin)
        if refused is not None:
            return refused
        ok, line = self.public.delete(actor.key, mention_id, reply_id)
        if ok:
            posted = [d for d in self.store.deliveries(mention_id) if d.message_id]
            for delivery in posted[:1]:
                self._note_in_thread(
                    delivery, ("🗑 ", Person(actor.key, actor.name), " deleted the public reply.")
                )
        self.redraw(mention_id)
        return Reaction(ok, line)

    # --- commands ---------------------------------------------------------------------------
    def answer(self, actor: Actor, platform: str, channel_id: str, text: str) -> Answer:
        """A `mentions …` command typed in `channel_id` (or a personal chat)."""
        self.remember(actor)
        return answers.answer_command(self, actor, platform, channel_id, text)

    def brands_here(self, platform: str, channel_id: str) -> list[str]:
        """The brands whose alerts are routed to this channel."""
        adapter = self.adapters.get(platform)
        if adapter is None or not channel_id:
            return []
        found = []
        for brand, routes in self.brand_routes.items():
            for route in routes:
                if route.platform != platform:
                    continue
                try:
                    if adapter.channel_id(route) == channel_id:
                        found.append(brand)
                        break
                except DeliveryError:
                    continue
        return found

    # --- redrawing --------------------------------------------------------------------------
    def view(self, mention: Mention) -> AlertView:
        """The alert as every platform draws it now: targets, and Delete while it may."""
        return load_view(
            self.store,
            mention,
            self.timing,
            now=self.clock(),
            undo_seconds=self.public.registry.undo_seconds,
        )

    def redraw(self, mention_id: int) -> int:
        """Redraw every delivered copy of the mention from the store; returns how many were
        updated. A failed redraw is logged, never raised: the change it shows already
        happened, and the next one will show it."""
        updated = 0
        with self._redraw_locks[mention_id % len(self._redraw_locks)]:
            for _ in range(REDRAW_ROUNDS):
                mention = self.store.get_mention(mention_id)
                if mention is None:
                    return 0
                view = self.view(mention)
                updated = 0
                for delivery in self.store.deliveries(mention_id):
                    message = self._message_of(delivery)
                    adapter = self.adapters.get(delivery.route.platform)
                    if message is None or adapter is None:
                        continue
                    try:
                        adapter.update_alert(message, view)
                        updated += 1
                    except DeliveryError as exc:
                        log.warning(
                            "could not redraw mention %d on %s: %s",
                            mention_id,
                            delivery.route.key,
                            exc,
                        )
                latest = self.store.get_mention(mention_id)
                if latest is None or latest.revision == mention.revision:
                    break
        return updated

    # --- helpers ----------------------------------------------------------------------------
    def allowed_origin(self, mention_id: int, origin: MessageRef | None) -> Reaction | None:
        """None when a choice made on `origin` may act on `mention_id` (see on_action)."""
        return self._check_origin(mention_id, origin)

    def remember(self, actor: Actor) -> None:
        if actor.name and self._known_names.get(actor.key) != actor.name:
            self.store.remember_names({actor.key: actor.name}, at=self.clock())
            self._known_names[actor.key] = actor.name

    def _names_for(self, *keys: str) -> dict[str, str]:
        return self.store.names(k for k in keys if k)

    def _check_origin(self, mention_id: int, origin: MessageRef | None) -> Reaction | None:
        """None when the click may act: it came from no message (a command, a home view) or
        from the delivery of exactly this mention."""
        if origin is None:
            return None
        delivery = self.store.delivery_of_message(origin)
        if delivery is not None and not delivery.channel_id:
            adapter = self.adapters.get(delivery.route.platform)
            try:
                same = (
                    adapter is not None and adapter.channel_id(delivery.route) == origin.channel_id
                )
            except DeliveryError:
                # The platform will not say (an app installed before it was allowed to list
                # channels): the click itself, verified as the platform's, names the channel
                # of the message it matched by id.
                same = True
            if not same:
                delivery = None
            else:
                self.store.set_delivery_channel(delivery.id, origin.channel_id)
        if delivery is None or delivery.mention_id != mention_id:
            log.warning(
                "refused an action on mention %s from message %s/%s, which shows %s",
                mention_id,
                origin.channel_id[:30],
                origin.message_id[:30],
                "no alert" if delivery is None else f"mention {delivery.mention_id}",
            )
            return Reaction(
                False,
                ("That button does not belong to the alert it was clicked on; nothing changed.",),
            )
        return None

    def _message_of(self, delivery: Delivery) -> MessageRef | None:
        """The delivery's message, resolving (once) a channel stored only by name."""
        if not delivery.message_id:
            return None
        if delivery.channel_id:
            return delivery.message
        adapter = self.adapters.get(delivery.route.platform)
        if adapter is None:
            return None
        try:
            channel_id = adapter.channel_id(delivery.route)
        except DeliveryError as exc:
            log.warning("cannot find channel %s: %s", delivery.route.key, exc)
            return None
        self.store.set_delivery_channel(delivery.id, channel_id)
        return MessageRef(delivery.route.platform, channel_id, delivery.message_id)

    def _thread_targets(self, dialog: Dialog) -> list[Delivery]:
        deliveries = [d for d in self.store.deliveries(dialog.mention_id) if d.message_id]
        chosen = [d for d in deliveries if d.id == dialog.delivery_id]
        return chosen or deliveries[:1]

    def _tell_owner(self, mention_id: int, owner: str, note: Line) -> None:
        platform = owner.partition(":")[0]
        for delivery in self.store.deliveries(mention_id):
            if delivery.route.platform == platform and delivery.message_id:
                self._note_in_thread(delivery, note)

    def _note_in_thread(self, delivery: Delivery, note: Line) -> None:
        adapter = self.adapters.get(delivery.route.platform)
        message = self._message_of(delivery)
        if adapter is not None and message is not None:
            try:
                adapter.post_note(delivery.route, (note,), message)
                return
            except DeliveryError as exc:
                log.warning(
                    "note under mention %d not posted now (%s); queued", delivery.mention_id, exc
                )
        # Not now: the outbox retries it (as plain text: nobody is pinged twice).
        text = "".join(
            p if isinstance(p, str) else getattr(p, "name", "") or "someone" for p in note
        )
        self.store.add_notice(delivery.route, text, at=self.clock(), thread_of=delivery.id)
