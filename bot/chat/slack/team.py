"""Slack transport for the team workflow: files (an export to the person who asked, a
digest's chart), and the App Home. Failures become DeliveryError, as for alerts."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

from bot.chat.port import DeliveryError
from bot.chat.slack.render import mrkdwn
from bot.chat.slack.transport import SlackAdapter, delivery_error
from bot.chat.text import one_line, trim
from bot.chat.views import Line
from bot.models import Route
from bot.team.digest import DigestView
from bot.team.reports import ExportFile
from bot.team.spikes import SpikeView

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


class SlackTeamSender:
    """Posts the team's digests and spike alerts to Slack routes."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter

    def post_digest(self, route: Route, view: DigestView) -> None:
        from bot.chat.slack.render_team import digest_blocks

        channel_id = self._post(route, digest_blocks(view), view.headline)
        try:
            upload(
                self.adapter,
                channel_id,
                filename=view.chart_name,
                content=view.chart_png,
                title=f"{view.brand}: sentiment trend ({view.kind})",
                alt_text=view.chart_alt,
            )
        except DeliveryError as exc:  # the table in the message has the same numbers
            log.warning("digest chart for %s not uploaded: %s", view.brand, exc)

    def post_spike(self, route: Route, view: SpikeView) -> None:
        from bot.chat.slack.render_team import spike_blocks

        self._post(route, spike_blocks(view), view.headline)

    def _post(self, route: Route, blocks: list[dict[str, Any]], text: str) -> str:
        response = self.adapter._call(
            "chat_postMessage",
            channel=self.adapter._address(route),
            text=trim(one_line(text), 3000),
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response.get("channel") or "")
