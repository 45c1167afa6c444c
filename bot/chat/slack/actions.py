"""Button clicks and the reply modal: ack, call bot.workflow, redraw the alert from the store.

Listeners never change a status themselves and never patch a message: after every action the
alert is drawn again from the mention, its history and its replies (`redraw`), so what the
channel shows is what the store holds, whichever click won a race.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import workflow
from bot.chat.drafts import draft_reply
from bot.chat.slack.blocks import alert_blocks, alert_text, reply_modal
from bot.chat.slack.ids import Action, Block, Callback
from bot.chat.slack.text import escape_trim, user
from bot.models import CORRECTIONS
from bot.store.base import Store
from bot.workflow import Outcome

log = logging.getLogger(__name__)

REPLY_POST_CHARS = 3500  # a reply is posted as plain message text (limit 40k); keep it readable

# Two clicks on one alert redraw it from two worker threads. Reading the store and sending
# chat.update under one lock per mention means the update Slack gets last was read last, so
# a slow thread can never paint an older state over a newer one. Striped: memory stays fixed.
_REDRAW_LOCKS = tuple(threading.Lock() for _ in range(64))


@dataclass(frozen=True)
class Deps:
    """What every listener needs; passed in so tests control the store and the clock."""

    store: Store
    clock: Callable[[], datetime]
    admins: frozenset[str] = frozenset()
    allowed_channels: frozenset[str] = frozenset()


def register_actions(app: App, deps: Deps) -> None:
    simple: dict[Action, Callable[[str, int, datetime], Outcome]] = {
        Action.CLAIM: lambda u, m, now: workflow.claim(deps.store, m, u, now),
        Action.UNCLAIM: lambda u, m, now: workflow.unclaim(
            deps.store, m, u, now, admins=deps.admins
        ),
        Action.RESOLVE: lambda u, m, now: workflow.resolve(deps.store, m, u, now),
        Action.DISMISS: lambda u, m, now: workflow.dismiss(deps.store, m, u, now),
        Action.REOPEN: lambda u, m, now: workflow.reopen(deps.store, m, u, now),
    }
    for action_id, step in simple.items():
        app.action(action_id)(_workflow_listener(deps, step))
    app.action(Action.REPLY)(_open_reply_modal(deps))
    app.action(Action.WRONG_LABEL)(_record_correction(deps))
    app.view(Callback.REPLY_MODAL)(_submit_reply(deps))
    # Registered last: Bolt runs the first matching listener, so this only sees ids nobody
    # else handles (the Open link button, stale buttons from an older version). Without it
    # Bolt would answer 404 and Slack would show the user an error.
    app.action(re.compile(".*"))(_ignore_action)


def _workflow_listener(
    deps: Deps, step: Callable[[str, int, datetime], Outcome]
) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = body["user"]["id"]
        mention_id = _mention_id_from_action(body)
        if mention_id is None:
            _tell(client, body, actor, "That button carries no mention id; nothing changed.")
            return
        outcome = step(actor, mention_id, deps.clock())
        _container_redraw(client, deps, body, mention_id)
        if not outcome.ok:
            _tell(client, body, actor, outcome.message)

    return listener


def _record_correction(deps: Deps) -> Callable[..., None]:
    """A "Wrong label" choice: record who said what, when; redraw; thank them."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = body["user"]["id"]
        actions = body.get("actions") or [{}]
        value = str((actions[0].get("selected_option") or {}).get("value", ""))
        label, _, raw_id = value.partition("|")
        mention_id = _parse_id(raw_id)
        if label not in CORRECTIONS or mention_id is None:
            _tell(client, body, actor, "That choice is not one I know; nothing changed.")
            return
        if deps.store.get_mention(mention_id) is None:
            _tell(client, body, actor, f"Mention {mention_id} does not exist.")
            return
        deps.store.add_label(mention_id, label=label, actor=actor, at=deps.clock())
        _container_redraw(client, deps, body, mention_id)
        _tell(
            client, body, actor,
            f"Thanks: recorded “{CORRECTIONS[label].lower()}” for mention #{mention_id}. "
            "Corrections train the next model (`mentionbot labels export`).",
        )  # fmt: skip

    return listener


def _open_reply_modal(deps: Deps) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = body["user"]["id"]
        mention_id = _mention_id_from_action(body)
        mention = deps.store.get_mention(mention_id) if mention_id is not None else None
        if mention is None:
            _tell(client, body, actor, "That mention does not exist any more.")
            return
        if mention.status not in workflow.REPLYABLE:
            _tell(client, body, actor, f"Cannot reply to a mention that is {mention.status}.")
            return
        # trigger_id is valid for 3 s after the click: open the modal before anything slow.
        try:
            client.views_open(
                trigger_id=body["trigger_id"], view=reply_modal(mention, draft_reply(mention))
            )
        except SlackApiError as exc:  # e.g. expired_trigger_id after a very slow network
            error = exc.response.get("error")
            log.warning("views.open for mention %d failed: %s", mention.id, error)
            _tell(client, body, actor, f"Could not open the reply form ({error}); try again.")

    return listener


def _submit_reply(deps: Deps) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        actor = body["user"]["id"]
        text = _reply_text(view)
        mention_id = _parse_id(view.get("private_metadata", ""))
        mention = deps.store.get_mention(mention_id) if mention_id is not None else None
        # Checked before ack so the person sees the problem in the modal they are typing in.
        if not text.strip():
            ack(response_action="errors", errors={Block.REPLY_INPUT: "Write a reply first."})
            return
        if mention is None or mention_id is None:
            ack(response_action="errors", errors={Block.REPLY_INPUT: "That mention is gone."})
            return
        if mention.status not in workflow.REPLYABLE:
            message = f"This mention is {mention.status} now; reopen it to reply."
            ack(response_action="errors", errors={Block.REPLY_INPUT: message})
            return
        ack()
        outcome = workflow.reply(deps.store, mention_id, actor, text, deps.clock())
        alert = deps.store.alert_for(mention_id)
        if not outcome.ok:
            if alert is not None:
                _ephemeral(client, alert.channel, actor, outcome.message)
            return
        if alert is not None and alert.chat_ts:
            try:
                client.chat_postMessage(
                    channel=alert.channel,
                    thread_ts=alert.chat_ts,
                    text=f"💬 Reply by {user(actor)}:\n{escape_trim(text, REPLY_POST_CHARS)}",
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as exc:  # the reply is stored; the redraw below still shows it
                log.warning("reply to mention %d not posted in thread: %s", mention_id,
                            exc.response.get("error"))  # fmt: skip
        redraw(client, deps, mention_id)

    return listener


def _ignore_action(ack: Ack, body: dict[str, Any]) -> None:
    ack()
    ids = [a.get("action_id") for a in body.get("actions", [])]
    if ids != [Action.OPEN_LINK]:
        log.info("ignored Slack action %s (no listener)", ids)


# --- redrawing --------------------------------------------------------------------------------


def redraw(
    client: WebClient, deps: Deps, mention_id: int, *, channel: str = "", ts: str = ""
) -> bool:
    """chat.update the mention's alert from the store. False when there is nothing to update
    (never posted) or Slack refused; a failed redraw is logged, never raised: the state change
    it reflects has already happened."""
    mention = deps.store.get_mention(mention_id)
    if mention is None:
        return False
    if not (channel and ts):
        alert = deps.store.alert_for(mention_id)
        if alert is None or not alert.chat_ts:
            return False
        channel, ts = alert.channel, alert.chat_ts
    with _REDRAW_LOCKS[mention_id % len(_REDRAW_LOCKS)]:
        mention = deps.store.get_mention(mention_id) or mention  # the latest, under the lock
        history = deps.store.history(mention_id)
        blocks = alert_blocks(mention, history, deps.store.replies(mention_id), deps.clock())
        try:
            client.chat_update(channel=channel, ts=ts, text=alert_text(mention), blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not redraw mention %d: %s", mention_id, exc.response.get("error"))
            return False
    return True


def _container_redraw(client: WebClient, deps: Deps, body: dict[str, Any], mention_id: int) -> None:
    container = body.get("container") or {}
    if container.get("type") == "message" and not container.get("is_ephemeral"):
        # The click came from the alert itself: update exactly that message.
        redraw(
            client,
            deps,
            mention_id,
            channel=container.get("channel_id", ""),
            ts=container.get("message_ts", ""),
        )
    else:
        redraw(client, deps, mention_id)


# --- small helpers ----------------------------------------------------------------------------


def _tell(client: WebClient, body: dict[str, Any], actor: str, text: str) -> None:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    if channel:
        _ephemeral(client, channel, actor, text)


def _ephemeral(client: WebClient, channel: str, actor: str, text: str) -> None:
    try:
        client.chat_postEphemeral(channel=channel, user=actor, text=text)
    except SlackApiError as exc:
        log.warning("could not tell %s: %s", actor, exc.response.get("error"))


def _mention_id_from_action(body: dict[str, Any]) -> int | None:
    actions = body.get("actions") or [{}]
    return _parse_id(str(actions[0].get("value", "")))


def _parse_id(value: str) -> int | None:
    value = value.strip().lstrip("#")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _reply_text(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    field = values.get(Block.REPLY_INPUT, {}).get(Action.REPLY_TEXT, {})
    return str(field.get("value") or "")
