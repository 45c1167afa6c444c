"""Slack transport for the team workflow: files (an export to the person who asked, a
digest's chart), and the App Home. Failures become DeliveryError, as for alerts."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

from bot.chat.port import DeliveryError
from bot.chat.slack.render import mrkdwn
from bot.chat.slack.transport import SlackAdapter, delivery_error
from bot.chat.views import Line
from bot.team.reports import ExportFile

log = logging.getLogger(__name__)


def upload(
    adapter: SlackAdapter,
    channel_id: str,
    *,
    filename: str,
    content: bytes,
    title: str,
    comment: Line = (),
    alt_text: str = "",
    thread_ts: str | None = None,
) -> str:
    """Upload a file and share it in a channel (files_upload_v2: get an upload URL, send
    the bytes, complete); returns the file id."""
    arguments: dict[str, Any] = {
        "channel": channel_id,
        "content": content,
        "filename": filename,
        "title": title,
    }
    if comment:
        arguments["initial_comment"] = mrkdwn(comment, 3000)
    if alt_text:
        arguments["alt_txt"] = alt_text[:1000]
    if thread_ts:
        arguments["thread_ts"] = thread_ts
    try:
        response = adapter.client.files_upload_v2(**arguments)
    except SlackApiError as exc:
        raise delivery_error(exc, "files_upload_v2") from None
    except (SlackRequestError, SlackClientError, OSError) as exc:
        raise DeliveryError(f"file upload failed: {type(exc).__name__}", permanent=False) from None
    return str((response.get("file") or {}).get("id") or "")


def direct_channel(adapter: SlackAdapter, user_id: str) -> str:
    """The id of the bot's direct-message channel with a person."""
    try:
        response = adapter.client.conversations_open(users=user_id)
    except SlackApiError as exc:
        raise delivery_error(exc, "conversations_open") from None
    return str((response.get("channel") or {}).get("id") or "")


def send_export(adapter: SlackAdapter, user_id: str, export: ExportFile) -> None:
    """The CSV goes to the person's direct messages: only they see it."""
    upload(
        adapter,
        direct_channel(adapter, user_id),
        filename=export.filename,
        content=export.content,
        title=export.title,
        comment=export.comment,
    )


def publish_home(adapter: SlackAdapter, user_id: str, view: dict[str, Any]) -> None:
    try:
        adapter.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        raise delivery_error(exc, "views_publish") from None
