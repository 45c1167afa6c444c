"""Teams activities → calls on the chat service, answered as Teams expects.

Card buttons are `Action.Execute` (Universal Actions): Teams sends an `adaptiveCard/action`
invoke and shows its answer to the person who clicked, at once. So every step answers with
the card as that person now sees it (and the service updates the posted activity for everyone
else), and a refusal answers with a message only that person sees. Reply swaps the card, for
the person who clicked only, for an inline form holding the same draft as on Slack; posting it
records the reply and notes it in the alert's thread.

Commands (`@mentionbot open`, in a channel or in a personal chat) are answered in the asker's
personal chat with the bot. Teams has no ephemeral messages; a user-specific card would still
put a message in the channel that everyone else sees (with the base content), and it would be
computed when each client views it rather than when asked. The personal chat is private by
construction and keeps the answer for later.

Service calls block (the store, the Bot Connector), so they run on worker threads, never on
the web server's event loop.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

from bot.chat.commands import TextAnswer
from bot.chat.port import DeliveryError
from bot.chat.service import Actor, ChatService, Reaction
from bot.chat.teams.cards import Json, answer_card, answer_summary, plain
from bot.chat.teams.files import consent_attachment, info_attachment, upload
from bot.chat.teams.forms import reply_card
from bot.chat.teams.home import home_card
from bot.chat.teams.ids import REPLY_INPUT, REPLY_WHERE, Verb
from bot.chat.teams.learn import actor_key
from bot.chat.teams.transport import TeamsAdapter
from bot.chat.views import Line
from bot.models import MessageRef
from bot.team.home import build_home
from bot.team.moves import on_choice
from bot.team.reports import ExportFile
from bot.workflow import Action

log = logging.getLogger(__name__)

STEPS = frozenset(a.value for a in Action) - {Action.REPLY.value}
MAX_REPLY_CHARS = 3000
MAX_COMMAND_CHARS = 2000
CARD = "application/vnd.microsoft.card.adaptive"
_AT = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,200}>")


class Listeners:
    def __init__(self, service: ChatService, adapter: TeamsAdapter) -> None:
        self.service = service
        self.adapter = adapter

    # --- the SDK's entry points (async) -----------------------------------------------------
    async def on_execute(self, activity: Mapping[str, Any]) -> Json:
        return await asyncio.to_thread(self.execute, activity)

    async def on_message(self, activity: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self.message, activity)

    async def on_file_consent(self, activity: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self.file_consent, activity)

    # --- card actions -----------------------------------------------------------------------
    def execute(self, activity: Mapping[str, Any]) -> Json:
        """An Action.Execute invoke → the invoke's answer (a card, or a private message)."""
        action = _dict(_dict(activity.get("value")).get("action"))
        verb = str(action.get("verb") or "")
        data = _dict(action.get("data"))
        actor = actor_of(activity)
        mention_id = mention_id_of(data.get("mention"))
        if not actor.key or mention_id is None:
            return message_answer(("That button carries no mention; nothing changed.",))
        # A button on the person's home card names its mention and is theirs alone.
        origin = None if data.get("home") is True else origin_of(activity)
        if verb in STEPS:
            reaction = self.service.on_action(actor, Action(verb), mention_id, origin)
            return self._after(reaction, actor, mention_id)
        if verb == Action.REPLY:
            form = self.service.reply_form(actor, mention_id, origin)
            if isinstance(form, Reaction):
                return message_answer(form.tell)
            dialog = secrets.token_urlsafe(18)
            self.service.dialog_opened(f"teams:{dialog}", actor, form)
            return card_answer(reply_card(form, dialog))
        if verb == Verb.REPLY_SEND:
            text = str(data.get(REPLY_INPUT) or "")
            if not text.strip():
                return message_answer(("Write a reply first; nothing was posted.",))
            token = str(data.get("dialog") or "")[:100]
            where = "public" if data.get(REPLY_WHERE) == "public" else "thread"
            reaction = self.service.on_reply(
                actor, f"teams:{token}", mention_id, text[:MAX_REPLY_CHARS], where=where
            )
            if not reaction.ok and reaction.form is not None:
                # The same form again, with the reason and the text as written: try again.
                return card_answer(reply_card(reaction.form, token))
            return self._after(reaction, actor, mention_id)
        if verb == Verb.MORE:
            choice = str(data.get("choice") or "")[:40]
            reaction = on_choice(self.service, actor, mention_id, choice, origin)
            if not reaction.ok:
                return message_answer(reaction.tell)
            return self._card(actor, mention_id)
        if verb == Verb.DELETE_REPLY:
            reply_id = mention_id_of(data.get("reply"))
            if reply_id is None:
                return message_answer(("That button carries no reply; nothing changed.",))
            reaction = self.service.on_delete_reply(actor, mention_id, reply_id, origin)
            if not reaction.ok:
                return message_answer(reaction.tell)
            return self._card(actor, mention_id)
        if verb == Verb.WRONG_LABEL:
            label = str(data.get("label") or "")[:40]
            reaction = self.service.on_correction(actor, mention_id, label, origin)
            return message_answer(reaction.tell)
        if verb in (Verb.REFRESH, Verb.REPLY_CANCEL):
            if origin is not None and not self._shows(origin, mention_id):
                return message_answer(("That card does not show this mention.",))
            return self._card(actor, mention_id)
        log.info("ignored a Teams card action with verb %r", verb[:40])
        return message_answer(("That button is not one I know; nothing changed.",))

    def _after(self, reaction: Reaction, actor: Actor, mention_id: int) -> Json:
        if not reaction.ok:
            return message_answer(reaction.tell)
        return self._card(actor, mention_id)

    def _card(self, actor: Actor, mention_id: int) -> Json:
        mention = self.service.store.get_mention(mention_id)
        if mention is None:
            return message_answer(("That mention does not exist any more.",))
        view = self.service.view(mention)
        return card_answer(self.adapter.card_for(view, viewer=actor.key))

    def _shows(self, origin: MessageRef, mention_id: int) -> bool:
        delivery = self.service.store.delivery_of_message(origin)
        return delivery is not None and delivery.mention_id == mention_id

    # --- commands ---------------------------------------------------------------------------
    def message(self, activity: Mapping[str, Any]) -> None:
        """`@mentionbot <command>`: answered in the asker's personal chat."""
        actor = actor_of(activity)
        text = command_text(activity)
        if not actor.key:
            return
        conversation = _dict(activity.get("conversation"))
        channel_id = str(conversation.get("id") or "").split(";", 1)[0]
        if text.strip().lower() == "home":
            self._send_home(actor)
            return
        try:
            answer = self.service.answer(actor, "teams", channel_id, text)
            if isinstance(answer, ExportFile):
                self._offer_file(actor, answer, {"command": text[:200], "channel": channel_id})
                return
            card, summary = answer_card(answer), answer_summary(answer)
        except Exception:  # the person gets a sentence; the log gets the trace, not the text
            log.exception("@mentionbot failed")
            card = answer_card(_sorry())
            summary = "Sorry, that did not work."
        try:
            self.adapter.send_privately(actor.key, card, summary)
        except DeliveryError as exc:
            log.warning("could not answer %s privately: %s", actor.key[:40], exc)

    def _offer_file(self, actor: Actor, export: ExportFile, context: dict[str, str]) -> None:
        """Teams gives a person a bot's file only once they accept it: ask."""
        description = f"{export.title} ({export.rows} mentions)"
        attachment = consent_attachment(export.filename, len(export.content), description, context)
        try:
            self.adapter.send_attachment(actor.key, attachment, export.title)
        except DeliveryError as exc:
            log.warning("could not offer %s a file: %s", actor.key[:40], exc)

    def file_consent(self, activity: Mapping[str, Any]) -> None:
        """The person accepted (or declined) the file: make it again for them, upload it to
        where Teams said, and show it."""
        actor = actor_of(activity)
        value = _dict(activity.get("value"))
        context = _dict(value.get("context"))
        if not actor.key:
            return
        if value.get("action") != "accept":
            self._tell(actor, ("No file, then.",))
            return
        info = _dict(value.get("uploadInfo"))
        answer = self.service.answer(actor, "teams", str(context.get("channel") or ""),
                                     str(context.get("command") or "")[:200])  # fmt: skip
        if not isinstance(answer, ExportFile):
            self._tell(actor, ("That export is no longer yours to make; nothing was sent.",))
            return
        try:
            upload(str(info.get("uploadUrl") or ""), answer.content,
                   self.adapter.settings.service_url_prefixes)  # fmt: skip
            self.adapter.send_attachment(actor.key, info_attachment(info), answer.title)
        except DeliveryError as exc:
            log.warning("export for %s not delivered: %s", actor.key[:40], exc)
            self._tell(actor, (f"The file could not be delivered: {exc}",))

    def _tell(self, actor: Actor, line: Line) -> None:
        try:
            self.adapter.send_privately(actor.key, answer_card(TextAnswer((line,))), plain(line))
        except DeliveryError as exc:
            log.warning("could not tell %s: %s", actor.key[:40], exc)

    def _send_home(self, actor: Actor) -> None:
        try:
            card = home_card(build_home(self.service, actor.key))
            self.adapter.send_privately(actor.key, card, "Your mentions")
        except DeliveryError as exc:
            log.warning("could not send %s their home: %s", actor.key[:40], exc)


# --- parsing ----------------------------------------------------------------------------------


def actor_of(activity: Mapping[str, Any]) -> Actor:
    sender = _dict(activity.get("from"))
    return Actor(actor_key(sender), str(sender.get("name") or "")[:200])


def origin_of(activity: Mapping[str, Any]) -> MessageRef | None:
    """The posted message a card action came from: its conversation (without the thread
    suffix) and the activity id Teams gave the message."""
    conversation = str(_dict(activity.get("conversation")).get("id") or "")
    base, _, thread = conversation.partition(";messageid=")
    message_id = str(activity.get("replyToId") or thread or "")
    if not base or not message_id:
        return None
    return MessageRef("teams", base, message_id)


def mention_id_of(value: object) -> int | None:
    text = str(value if value is not None else "").strip().lstrip("#")
    return int(text) if text.isdigit() and len(text) < 19 else None


def command_text(activity: Mapping[str, Any]) -> str:
    """The command typed after @mentionbot: mentions and markup removed, entities decoded."""
    text = str(activity.get("text") or "")[:MAX_COMMAND_CHARS]
    text = _TAG.sub(" ", _AT.sub(" ", text))
    return " ".join(html.unescape(text).split())


def card_answer(card: Json) -> Json:
    return {"statusCode": 200, "type": CARD, "value": card}


def message_answer(line: Line | None) -> Json:
    """A message only the person who clicked sees."""
    text = plain(line) if line else "Done."
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}


def _sorry() -> Any:
    from bot.chat.commands import TextAnswer

    return TextAnswer((("Sorry, that did not work. The error is in the bot's log.",),))


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
