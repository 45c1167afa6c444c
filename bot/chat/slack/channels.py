"""Slack channel names → ids, as Slack itself says (conversations.list), cached.

People write channels by name in the watch list ("#acme-mentions"); Slack's chat.update,
chat.postEphemeral and conversations.history take only ids. The directory resolves a name
once and remembers it; a name it does not know triggers one fresh listing (at most every
`refresh_seconds`), so a channel created or renamed while the bot runs is found.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.chat.port import DeliveryError

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,20}$")
LIST_PAGES = 50  # 50 x 1000 channels: every workspace we know of


class ChannelDirectory:
    def __init__(
        self,
        client: WebClient,
        *,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._ids: dict[str, str] = {}  # lower-case name without "#" → id
        self._listed_at: float | None = None
        self._lock = threading.Lock()

    def resolve(self, channel: str) -> str:
        """The id of a channel given by id or name. Raises DeliveryError (permanent) when
        Slack shows the bot no such channel."""
        channel = channel.strip()
        if CHANNEL_ID.match(channel):
            return channel
        name = channel.lstrip("#").lower()
        with self._lock:
            found = self._ids.get(name)
            if found is None and self._may_list():
                self._list()
                found = self._ids.get(name)
        if found is None:
            raise DeliveryError(
                f"channel #{name} not found: create it, or invite the bot (/invite @mentionbot);"
                " a private channel is visible only once the bot is in it",
                permanent=True,
            )
        return found

    def learn(self, name: str, channel_id: str) -> None:
        """Remember what a post to a channel by name said its id was."""
        if CHANNEL_ID.match(channel_id) and not CHANNEL_ID.match(name.strip()):
            with self._lock:
                self._ids[name.strip().lstrip("#").lower()] = channel_id

    def _may_list(self) -> bool:
        return self._listed_at is None or self.clock() - self._listed_at >= self.refresh_seconds

    def _list(self) -> None:
        self._listed_at = self.clock()
        cursor = ""
        try:
            for _ in range(LIST_PAGES):
                response = self.client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=1000,
                    cursor=cursor or None,
                )
                for channel in response.get("channels") or []:
                    if channel.get("name") and channel.get("id"):
                        self._ids[str(channel["name"]).lower()] = str(channel["id"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
                if not cursor:
                    return
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else ""
            if exc.response is not None and exc.response.status_code == 429:
                self._listed_at = None  # try again next time: a rate limit is no answer
                raise DeliveryError(
                    "Slack rate limited conversations.list", permanent=False, retry_after=30.0
                ) from None
            hint = (
                " (add the channels:read and groups:read scopes)"
                if error == "missing_scope"
                else ""
            )
            raise DeliveryError(f"cannot list channels: {error}{hint}", permanent=True) from None
        except (SlackClientError, OSError) as exc:
            self._listed_at = None
            raise DeliveryError(
                f"cannot reach Slack: {type(exc).__name__}", permanent=False
            ) from None
