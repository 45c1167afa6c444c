"""The Slack adapter's transport: post, find, update and note through the Web API, and say,
on failure, whether retrying can help.

Each alert carries message metadata (`mention_alert`, mention_id), so after an attempt with
an unknown outcome `find_alert` can look for it in the channel instead of posting twice.
Every message is addressed by the channel *id* Slack returned or listed, never by the name
in the watch list: chat.update, chat.postEphemeral and conversations.history refuse names.

Rate limits are *surfaced*, not slept on: the WebClient given here should not carry
slack_sdk's RateLimitErrorRetryHandler, because sleeping inside a post would stall the
outbox. A 429 becomes `DeliveryError(retry_after=...)`, and the outbox pauses the route and
tries again when Slack said to.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.chat.port import Capabilities, DeliveryError, Limits
from bot.chat.slack.channels import ChannelDirectory
from bot.chat.slack.ids import Event
from bot.chat.slack.render import LIMITS, alert_blocks, alert_text, mrkdwn
from bot.chat.views import AlertView, Line
from bot.config import ConfigError, Settings
from bot.models import MessageRef, Route

log = logging.getLogger(__name__)

# Errors that will not go away by trying again: the configuration (channel, token, scopes)
# or our payload must change first. https://api.slack.com/methods/chat.postMessage#errors
# fmt: off
# About one message (its blocks, its size): the route itself is fine.
MESSAGE_ERRORS = frozenset({
    "invalid_blocks", "invalid_blocks_format", "invalid_metadata_format",
    "invalid_metadata_schema", "msg_too_long", "no_text", "too_many_attachments",
    "invalid_arguments", "invalid_arg_name", "invalid_charset", "cannot_reply_to_message",
    "message_not_found", "cant_update_message", "edit_window_closed",
})
# About the channel, the token or the app: every message to the route would fail.
ROUTE_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "channel_is_archived",
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "no_permission", "missing_scope", "not_allowed_token_type", "restricted_action",
    "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel", "team_access_not_granted",
    "ekm_access_denied", "org_login_required", "method_deprecated", "deprecated_endpoint",
    "two_factor_setup_required", "access_denied", "app_missing_action_url",
    "as_user_not_supported", "duplicate_channel_not_found", "duplicate_message_not_found",
    "enterprise_is_restricted", "invalid_post_type", "messages_tab_disabled",
    "slack_connect_file_link_sharing_blocked", "team_not_found", "user_not_in_channel",
})
# fmt: on
PERMANENT_ERRORS = MESSAGE_ERRORS | ROUTE_ERRORS
DEFAULT_RETRY_AFTER = 30.0  # a 429 without a Retry-After header (Slack always sends one)


HISTORY_PAGES = 5  # how far back find_posted looks: 5 x 200 messages since the mention came


def secret(value: Any, name: str) -> str:
    """A SecretStr's value, or a ConfigError naming the missing setting."""
    text = value.get_secret_value() if value is not None else ""
    if not text:
        raise ConfigError(f"{name} is not set")
    return str(text)


def web_client(settings: Settings) -> WebClient:
    """The delivery client from settings (see `delivery_client`)."""
    return delivery_client(
        secret(settings.slack.bot_token, "SLACK_BOT_TOKEN"), settings.slack.api_url
    )


def delivery_client(token: str, base_url: str, *, timeout: int = 15) -> WebClient:
    """A WebClient for delivery: one quick retry on a dropped connection, no sleeping on 429."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )


class SlackAdapter:
    platform = "slack"
    capabilities = Capabilities(
        finds_posted=True, answers_privately=True, updates_in_place=True, threads=True
    )
    # https://api.slack.com/docs/rate-limits: about one message a second per channel.
    limits = Limits(
        text_chars=LIMITS["section_text"],
        message_elements=LIMITS["blocks"],
        fallback_chars=LIMITS["fallback_text"],
        posts_per_second=1.0,
    )

    def __init__(self, client: WebClient, *, directory: ChannelDirectory | None = None) -> None:
        self.client = client
        self.directory = directory or ChannelDirectory(client)

    def channel_id(self, route: Route) -> str:
        return self.directory.resolve(route.channel)

    def post_alert(self, route: Route, view: AlertView) -> MessageRef:
        if not route.channel:
            raise DeliveryError("the route has no channel", permanent=True)
        response = self._call(
            "chat_postMessage",
            channel=self._address(route),
            text=alert_text(view),
            blocks=alert_blocks(view),
            unfurl_links=False,
            unfurl_media=False,
            metadata={
                "event_type": Event.MENTION_ALERT.value,
                "event_payload": {"mention_id": view.mention_id},
            },
        )
        ts = str(response.get("ts") or "")
        channel_id = str(response.get("channel") or "")
        if not ts or not channel_id:  # cannot be redrawn later; treat it as a failure
            raise DeliveryError(
                "chat.postMessage answered without a channel and ts",
                permanent=False,
                uncertain=True,
            )
        self.directory.learn(route.channel, channel_id)
        return MessageRef(self.platform, channel_id, ts)

    def update_alert(self, message: MessageRef, view: AlertView) -> None:
        self._call(
            "chat_update",
            channel=message.channel_id,
            ts=message.message_id,
            text=alert_text(view),
            blocks=alert_blocks(view),
        )

    def post_note(self, route: Route, lines: tuple[Line, ...], thread: MessageRef | None) -> None:
        text = mrkdwn(tuple(part for line in lines for part in (*line, "\n")), 3900).rstrip()
        self._call(
            "chat_postMessage",
            channel=thread.channel_id if thread is not None else self._address(route),
            thread_ts=thread.message_id if thread is not None else None,
            text=text,
            unfurl_links=False,
            unfurl_media=False,
        )

    def tell(self, channel_id: str, user_id: str, line: Line) -> None:
        """An ephemeral answer for one person in a channel; logged, never raised."""
        try:
            self._call(
                "chat_postEphemeral", channel=channel_id, user=user_id, text=mrkdwn(line, 3000)
            )
        except DeliveryError as exc:
            log.warning("could not tell %s: %s", user_id[:20], exc)

    def find_alert(self, route: Route, mention_id: int, since: datetime) -> MessageRef | None:
        """This mention's alert if an earlier attempt posted it, else None.

        Reads the channel since the mention was fetched (the alert cannot be older) and
        matches our message metadata. Needs channels:history (groups:history for private
        channels); without it, or on any error but a rate limit, answers None: posting twice
        is better than never."""
        oldest = (since - timedelta(minutes=5)).timestamp()
        cursor = ""
        try:
            channel_id = self.channel_id(route)
            for _ in range(HISTORY_PAGES):
                response = self._call(
                    "conversations_history",
                    channel=channel_id,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor or None,
                )
                for message in response.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if metadata.get("event_type") == Event.MENTION_ALERT and str(
                        payload.get("mention_id")
                    ) == str(mention_id):
                        return MessageRef(self.platform, channel_id, str(message["ts"]))
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
                if not cursor:
                    return None
        except DeliveryError as exc:
            if exc.retry_after or not exc.permanent:
                raise
            log.warning("cannot check %s for an earlier alert: %s", route.key, exc)
        return None

    def _address(self, route: Route) -> str:
        """The channel id when Slack lets us list channels; the name otherwise (chat.postMessage
        accepts one, and its answer tells us the id)."""
        try:
            return self.channel_id(route)
        except DeliveryError as exc:
            if "missing_scope" in str(exc) or not exc.permanent:
                return route.channel
            raise

    def _call(self, method: str, **arguments: Any) -> Any:
        arguments = {k: v for k, v in arguments.items() if v is not None}
        try:
            return getattr(self.client, method)(**arguments)
        except SlackApiError as exc:
            raise delivery_error(exc, method) from None
        except (SlackClientError, OSError) as exc:  # URLError and timeouts are OSErrors
            # A timeout may come after Slack took the message; a refused connection cannot.
            refused = isinstance(exc, ConnectionRefusedError) or isinstance(
                getattr(exc, "reason", None), ConnectionRefusedError
            )
            raise DeliveryError(
                f"cannot reach Slack: {type(exc).__name__}",
                permanent=False,
                uncertain=not refused,
            ) from None


def delivery_error(exc: SlackApiError, method: str = "chat_postMessage") -> DeliveryError:
    """Classify a Slack API error: rate limited, permanent, or worth retrying; and whether it
    concerns the channel (every message to it would fail) or this one message."""
    response = exc.response
    status = getattr(response, "status_code", 0)
    error = ""
    if isinstance(getattr(response, "data", None), dict):
        error = str(response.data.get("error") or "")
    if status == 429 or error == "ratelimited":
        retry_after = _retry_after(getattr(response, "headers", {}) or {})
        return DeliveryError(
            f"Slack rate limited {method.replace('_', '.')}; retry after {retry_after:.0f} s",
            permanent=False,
            retry_after=retry_after,
        )
    if error in PERMANENT_ERRORS:
        return DeliveryError(
            f"Slack refused {method.replace('_', '.')}: {error}",
            permanent=True,
            route_wide=error not in MESSAGE_ERRORS,
        )
    # A 5xx may come after the message was stored: say so, so no second copy is posted.
    return DeliveryError(
        f"Slack error: {error or f'HTTP {status}'}",
        permanent=False,
        uncertain=status >= 500 or error in ("internal_error", "fatal_error", "request_timeout"),
    )


def _retry_after(headers: dict[str, object]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            if isinstance(value, list):
                value = value[0] if value else ""
            try:
                return max(1.0, float(str(value)))
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER
