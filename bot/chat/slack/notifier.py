"""Posts alerts with chat.postMessage and says, on failure, whether retrying can help.

Each alert carries message metadata (`mention_alert`, mention_id), so after an attempt with
an unknown outcome `find_posted` can look for it in the channel instead of posting twice.

Rate limits are *surfaced*, not slept on: the WebClient given here should not carry
slack_sdk's RateLimitErrorRetryHandler, because sleeping inside `post_alert` would stall the
outbox (and the poller sharing its thread). A 429 becomes `DeliveryError(retry_after=...)`,
and the outbox pauses the batch and tries again when Slack said to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.chat.notifier import DeliveryError
from bot.chat.slack.blocks import alert_blocks, alert_text
from bot.chat.slack.ids import Event
from bot.chat.slack.text import escape
from bot.config import ConfigError, Settings
from bot.models import Mention

log = logging.getLogger(__name__)

# Errors that will not go away by trying again: the configuration (channel, token, scopes)
# or our payload must change first. https://api.slack.com/methods/chat.postMessage#errors
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found", "not_in_channel", "is_archived", "channel_is_archived",
        "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
        "no_permission", "missing_scope", "not_allowed_token_type", "restricted_action",
        "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel", "team_access_not_granted",
        "ekm_access_denied", "org_login_required", "invalid_blocks", "invalid_blocks_format",
        "invalid_metadata_format", "invalid_metadata_schema", "msg_too_long", "no_text",
        "too_many_attachments", "invalid_arguments", "invalid_arg_name", "invalid_charset",
        "method_deprecated", "deprecated_endpoint", "two_factor_setup_required",
        "access_denied", "app_missing_action_url", "as_user_not_supported",
        "cannot_reply_to_message", "duplicate_channel_not_found", "duplicate_message_not_found",
        "enterprise_is_restricted", "invalid_post_type", "messages_tab_disabled",
        "slack_connect_file_link_sharing_blocked", "team_not_found",
    }
)  # fmt: skip
DEFAULT_RETRY_AFTER = 30.0  # a 429 without a Retry-After header (Slack always sends one)


HISTORY_PAGES = 5  # how far back find_posted looks: 5 x 200 messages since the mention came


def secret(value: Any, name: str) -> str:
    """A SecretStr's value, or a ConfigError naming the missing setting."""
    text = value.get_secret_value() if value is not None else ""
    if not text:
        raise ConfigError(f"{name} is not set")
    return str(text)


def web_client(settings: Settings) -> WebClient:
    """The delivery client from settings (see `notifier_client`)."""
    return notifier_client(
        secret(settings.slack_bot_token, "SLACK_BOT_TOKEN"), settings.slack_api_url
    )


def notifier_client(token: str, base_url: str, *, timeout: int = 15) -> WebClient:
    """A WebClient for delivery: one quick retry on a dropped connection, no sleeping on 429."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )


class SlackNotifier:
    def __init__(self, client: WebClient, *, clock: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self.clock = clock or (lambda: datetime.now(UTC))

    def post_alert(self, mention: Mention, channel: str) -> str:
        if not channel:
            raise DeliveryError(
                f"brand {mention.brand!r} has no channel in the watch list", permanent=True
            )
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=alert_text(mention),
                blocks=alert_blocks(mention, [], [], self.clock()),
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": Event.MENTION_ALERT.value,
                    "event_payload": {"mention_id": mention.id},
                },
            )
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        except (SlackClientError, OSError) as exc:  # URLError and timeouts are OSErrors
            # A timeout may come after Slack took the message; a refused connection cannot.
            refused = isinstance(exc, ConnectionRefusedError) or isinstance(
                getattr(exc, "reason", None), ConnectionRefusedError
            )
            raise DeliveryError(
                f"cannot reach Slack: {type(exc).__name__}: {exc}",
                permanent=False,
                uncertain=not refused,
            ) from None
        ts = str(response.get("ts") or "")
        if not ts:  # an "ok" without a ts cannot be redrawn later; treat it as a failure
            raise DeliveryError("chat.postMessage answered without a ts", permanent=False)
        return ts

    def post_notice(self, channel: str, text: str) -> None:
        try:
            self.client.chat_postMessage(
                channel=channel, text=escape(text), unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(f"cannot reach Slack: {exc}", permanent=False) from None

    def find_posted(self, mention: Mention, channel: str) -> str | None:
        """The ts of this mention's alert if an earlier attempt posted it, else None.

        Reads the channel since the mention was fetched (the alert cannot be older) and
        matches our message metadata. Needs channels:history (groups:history for private
        channels); without it, or on any error but a rate limit, answers None: posting twice
        is better than never."""
        oldest = (mention.fetched_at - timedelta(minutes=5)).timestamp()
        cursor = ""
        try:
            for _ in range(HISTORY_PAGES):
                response = self.client.conversations_history(
                    channel=channel,
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
                    ) == str(mention.id):
                        return str(message["ts"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
                if not cursor:
                    return None
        except SlackApiError as exc:
            error = delivery_error(exc)
            if error.retry_after:
                raise error from None
            log.warning("cannot check %s for an earlier alert: %s", channel, error)
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(f"cannot reach Slack: {exc}", permanent=False) from None
        return None


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """Classify a Slack API error: rate limited, permanent, or worth retrying."""
    response = exc.response
    status = getattr(response, "status_code", 0)
    error = ""
    if isinstance(getattr(response, "data", None), dict):
        error = str(response.data.get("error") or "")
    if status == 429 or error == "ratelimited":
        retry_after = _retry_after(getattr(response, "headers", {}) or {})
        return DeliveryError(
            f"Slack rate limited chat.postMessage; retry after {retry_after:.0f} s",
            permanent=False,
            retry_after=retry_after,
        )
    if error in PERMANENT_ERRORS:
        return DeliveryError(f"Slack refused the alert: {error}", permanent=True)
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
