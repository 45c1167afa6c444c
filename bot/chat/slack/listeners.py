"""Bolt listeners: parse Slack's payloads into neutral calls on the chat service, render what
it answers. `ack()` first, then work (Slack wants an answer within 3 s).

Nothing here changes a status or patches a message: the service does the workflow step and
redraws every delivered copy of the alert from the store.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chat.commands import TextAnswer
from bot.chat.port import DeliveryError
from bot.chat.service import Actor, ChatService, Reaction
from bot.chat.slack.ids import COMMAND, Action, Block, Callback
from bot.chat.slack.render import answer_message, reply_modal, status_modal
from bot.chat.slack.render_team import home_view
from bot.chat.slack.team import publish_home, send_export
from bot.chat.slack.transport import SlackAdapter
from bot.chat.views import Line, ReplyForm
from bot.models import MessageRef, user_key
from bot.team.home import build_home
from bot.team.moves import on_choice
from bot.team.reports import ExportFile
from bot.workflow import Action as Step

log = logging.getLogger(__name__)

STEPS = (Step.CLAIM, Step.UNCLAIM, Step.RESOLVE, Step.DISMISS, Step.REOPEN)
MAX_REPLY_CHARS = 3000  # the modal's own limit; a forged longer text is cut, not stored whole


def register(app: App, service: ChatService, adapter: SlackAdapter) -> None:
    for step in STEPS:
        app.action(Action(step.value))(_step_listener(service, adapter, step))
    app.action(Action.REPLY)(_open_reply(service, adapter))
    app.action(Action.WRONG_LABEL)(_correction(service, adapter))
    app.action(Action.DELETE_REPLY)(_delete_reply(service, adapter))
    app.action(Action.MORE)(_more(service, adapter))
    app.view(Callback.REPLY_MODAL)(_submit_reply(service, adapter))
    app.command(COMMAND)(_command(service, adapter))
    app.event("app_home_opened")(_home_opened(service, adapter))
    # Registered last: Bolt runs the first matching listener, so this only sees ids nobody
    # else handles (the Open link button, stale buttons from an older version). Without it
    # Bolt would answer 404 and Slack would show the user an error.
    app.action(re.compile(".*"))(_ignore_action)


# --- parsing ----------------------------------------------------------------------------------


def actor_of(body: dict[str, Any]) -> Actor:
    user = body.get("user") or {}
    name = str(user.get("name") or user.get("username") or "")
    return Actor(user_key("slack", str(user.get("id") or "")), name)


def origin_of(body: dict[str, Any]) -> MessageRef | None:
    """The alert message a click came from; None from anywhere else (a modal, App Home)."""
    container = body.get("container") or {}
    if container.get("type") != "message" or container.get("is_ephemeral"):
        return None
    channel, ts = str(container.get("channel_id") or ""), str(container.get("message_ts") or "")
    return MessageRef("slack", channel, ts) if channel and ts else None


def mention_id_of(value: object) -> int | None:
    text = str(value or "").strip().lstrip("#")
    return int(text) if text.isdigit() and len(text) < 19 else None


def _first_action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return actions[0] if isinstance(actions[0], dict) else {}


def _channel_of(body: dict[str, Any]) -> str:
    return str(
        (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or ""
    )


def _tell(adapter: SlackAdapter, body: dict[str, Any], line: Line | None) -> None:
    channel = _channel_of(body)
    user = str((body.get("user") or {}).get("id") or "")
    if line is not None and channel and user:
        adapter.tell(channel, user, line)


# --- listeners --------------------------------------------------------------------------------


def _step_listener(service: ChatService, adapter: SlackAdapter, step: Step) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        mention_id = mention_id_of(_first_action(body).get("value"))
        if mention_id is None:
            _tell(adapter, body, ("That button carries no mention id; nothing changed.",))
            return
        reaction = service.on_action(actor_of(body), step, mention_id, origin_of(body))
        _tell(adapter, body, reaction.tell)
        if _from_home(body):  # the home shows the new state (and any refusal) at once
            _publish_home(service, adapter, str((body.get("user") or {}).get("id") or ""))

    return listener


def _correction(service: ChatService, adapter: SlackAdapter) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        value = str((_first_action(body).get("selected_option") or {}).get("value", ""))
        label, _, raw_id = value.partition("|")
        mention_id = mention_id_of(raw_id)
        if mention_id is None:
            _tell(adapter, body, ("That choice is not one I know; nothing changed.",))
            return
        reaction = service.on_correction(actor_of(body), mention_id, label, origin_of(body))
        _tell(adapter, body, reaction.tell)

    return listener


def _more(service: ChatService, adapter: SlackAdapter) -> Callable[..., None]:
    """The "More" menu: moves and mutes (bot/team/moves.py)."""

    def listener(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        value = str((_first_action(body).get("selected_option") or {}).get("value", ""))
        choice, _, raw_id = value.partition("|")
        mention_id = mention_id_of(raw_id)
        if mention_id is None:
            _tell(adapter, body, ("That choice is not one I know; nothing changed.",))
            return
        reaction = on_choice(service, actor_of(body), mention_id, choice, origin_of(body))
        _tell(adapter, body, reaction.tell)

    return listener


def _open_reply(service: ChatService, adapter: SlackAdapter) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = actor_of(body)
        mention_id = mention_id_of(_first_action(body).get("value"))
        if mention_id is None:
            _tell(adapter, body, ("That button carries no mention id; nothing changed.",))
            return
        form = service.reply_form(actor, mention_id, origin_of(body))
        if isinstance(form, Reaction):
            _tell(adapter, body, form.tell)
            return
        _open_modal(service, adapter, client, body, actor, form)

    return listener


def _open_modal(
    service: ChatService,
    adapter: SlackAdapter,
    client: WebClient,
    body: dict[str, Any],
    actor: Actor,
    form: ReplyForm,
) -> None:
    # trigger_id is valid for 3 s after the click: open the modal before anything slow.
    try:
        response = client.views_open(trigger_id=body.get("trigger_id", ""), view=reply_modal(form))
    except SlackApiError as exc:  # e.g. expired_trigger_id after a very slow network
        error = exc.response.get("error")
        log.warning("views.open for mention %d failed: %s", form.mention_id, error)
        _tell(adapter, body, (f"Could not open the reply form ({error}); try again.",))
        return
    view_id = str((response.get("view") or {}).get("id") or "")
    if view_id:
        service.dialog_opened(f"slack:{view_id}", actor, form)


def _submit_reply(service: ChatService, adapter: SlackAdapter) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        text = _reply_text(view)[:MAX_REPLY_CHARS]
        if not text.strip():
            ack(response_action="errors", errors={Block.REPLY_INPUT: "Write a reply first."})
            return
        actor = actor_of(body)
        dialog_id = f"slack:{view.get('id', '')}"
        mention_id = mention_id_of(view.get("private_metadata"))
        where = _reply_where(view)
        # Checks that need no network answer on the field itself; the modal stays open with
        # what the person wrote.
        problem = service.check_reply(actor, dialog_id, mention_id, text, where)
        if problem is not None:
            field = Block.REPLY_WHERE if problem.field == "where" else Block.REPLY_INPUT
            ack(response_action="errors", errors={field: problem.message[:150]})
            return
        if where != "public":
            ack()
            reaction = service.on_reply(actor, dialog_id, mention_id, text)
            if not reaction.ok and reaction.tell is not None:
                _tell_after_modal(service, adapter, actor, reaction)
            return
        # Posting on another platform may take longer than Slack's 3 s: say so in the modal
        # now (it has no submit button meanwhile, so it cannot be sent twice), then show the
        # outcome in the same modal.
        ack(response_action="update", view=status_modal(("⏳ Posting your reply…",)))
        reaction = service.on_reply(actor, dialog_id, mention_id, text, where="public")
        if reaction.ok:
            shown = status_modal(("✅ ", *(reaction.tell or ())), done=True)
        elif reaction.form is not None:
            shown = reply_modal(reaction.form)
        else:
            shown = status_modal(reaction.tell or ("Nothing was posted.",))
        try:
            client.views_update(view_id=str(view.get("id") or ""), view=shown)
        except SlackApiError as exc:  # closed meanwhile: say it where the alert is
            log.info("views.update after a public reply failed: %s", exc.response.get("error"))
            if reaction.tell is not None:
                _tell_after_modal(service, adapter, actor, reaction)

    return listener


def _delete_reply(service: ChatService, adapter: SlackAdapter) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        raw_mention, _, raw_reply = str(_first_action(body).get("value") or "").partition(":")
        mention_id, reply_id = mention_id_of(raw_mention), mention_id_of(raw_reply)
        if mention_id is None or reply_id is None:
            _tell(adapter, body, ("That button carries no reply id; nothing changed.",))
            return
        reaction = service.on_delete_reply(actor_of(body), mention_id, reply_id, origin_of(body))
        _tell(adapter, body, reaction.tell)

    return listener


def _tell_after_modal(
    service: ChatService, adapter: SlackAdapter, actor: Actor, reaction: Reaction
) -> None:
    """A modal has no channel: say it where the alert is, privately."""
    mention = reaction.outcome.mention if reaction.outcome else None
    for delivery in service.store.deliveries(mention.id) if mention and mention.id else []:
        if delivery.route.platform == "slack" and delivery.channel_id and reaction.tell:
            adapter.tell(delivery.channel_id, actor.key.partition(":")[2], reaction.tell)
            return


def _command(service: ChatService, adapter: SlackAdapter) -> Callable[..., None]:
    def listener(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        actor = Actor(
            user_key("slack", str(command.get("user_id") or "")),
            str(command.get("user_name") or ""),
        )
        try:
            answer = service.answer(
                actor, "slack", str(command.get("channel_id") or ""), str(command.get("text") or "")
            )
            if isinstance(answer, ExportFile):  # sent privately, as a file
                answer = _send_export(adapter, actor, answer)
            text, blocks = answer_message(answer)
        except Exception:  # the person gets a sentence; the log gets the trace, not the text
            log.exception("%s failed", COMMAND)
            text, blocks = "Sorry, that did not work. The error is in the bot's log.", []
        respond(text=text, blocks=blocks or None, response_type="ephemeral")

    return listener


def _send_export(adapter: SlackAdapter, actor: Actor, export: ExportFile) -> TextAnswer:
    try:
        send_export(adapter, actor.key.partition(":")[2], export)
    except DeliveryError as exc:
        log.warning("export to %s failed: %s", actor.key[:40], exc)
        return TextAnswer((("Could not send the export; the reason is in the bot's log.",),))
    return TextAnswer(
        ((f"Sent you {export.filename} ({export.rows} mentions) in a direct message.",),)
    )


def _from_home(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view" and (
        (body.get("view") or {}).get("type") == "home"
    )


def _home_opened(service: ChatService, adapter: SlackAdapter) -> Callable[..., None]:
    def listener(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            _publish_home(service, adapter, str(event.get("user") or ""))

    return listener


def _publish_home(service: ChatService, adapter: SlackAdapter, user_id: str) -> None:
    if not user_id:
        return
    try:
        publish_home(adapter, user_id, home_view(build_home(service, user_key("slack", user_id))))
    except DeliveryError as exc:
        log.warning("could not publish the home of %s: %s", user_id[:20], exc)


def _ignore_action(ack: Ack, body: dict[str, Any]) -> None:
    ack()
    ids = [str(a.get("action_id"))[:60] for a in body.get("actions", []) if isinstance(a, dict)]
    if ids != [Action.OPEN_LINK]:
        log.info("ignored Slack action %s (no listener)", ids)


def _reply_where(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    field = values.get(Block.REPLY_WHERE, {}).get(Action.REPLY_WHERE, {})
    return str((field.get("selected_option") or {}).get("value") or "")


def _reply_text(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    field = values.get(Block.REPLY_INPUT, {}).get(Action.REPLY_TEXT, {})
    return str(field.get("value") or "")
