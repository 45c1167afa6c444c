"""The Teams adapter's transport: post, update and note through the Bot Connector with the
Teams SDK's API client, and say, on failure, whether retrying can help.

A route names a channel as people do ("Support/Customer care", or "Customer care" when only
one team has it, or the channel's conversation id "19:…"); the bot can post there once it has
learnt the channel's conversation reference (service URL, tenant), which Teams gives it when
the app is installed in the team or first @mentioned in the channel (bot/chat/teams/learn.py).

The SDK's client is asynchronous; the outbox and the chat service are not. Every call runs on
one private event loop thread and the caller waits for it (never from that thread itself).

Teams cannot list a channel's messages without extra Graph permissions, so after an attempt
with an unknown outcome (a timeout, a 5xx after the request was sent) the alert is posted
again: at least once. The window is one request timeout (`TIMEOUT_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from microsoft_teams.api import ApiClient
from microsoft_teams.api.activities import MessageActivityInput
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.api.clients.conversation import CreateConversationParams
from microsoft_teams.api.models import Account
from microsoft_teams.common import ClientOptions

from bot.chat.port import Capabilities, DeliveryError, Limits
from bot.chat.teams.cards import LIMITS, Json, alert_card, alert_summary, note_card, releasers
from bot.chat.teams.tokens import BotTokens, TokenError
from bot.chat.views import AlertView, Line
from bot.config import TeamsSettings
from bot.models import MessageRef, Route
from bot.store.base import Store, TeamsConversation

log = logging.getLogger(__name__)

CARD = "application/vnd.microsoft.card.adaptive"
TIMEOUT_SECONDS = 15.0
DEFAULT_RETRY_AFTER = 30.0  # a 429 without Retry-After
T = TypeVar("T")


class TeamsAdapter:
    platform = "teams"
    capabilities = Capabilities(
        finds_posted=False, answers_privately=True, updates_in_place=True, threads=True
    )
    # https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit: 7 messages
    # per second per conversation at the most; one a second leaves room for redraws.
    limits = Limits(
        text_chars=LIMITS["text_run"],
        message_elements=100,
        fallback_chars=LIMITS["fallback"],
        posts_per_second=1.0,
    )

    def __init__(
        self,
        store: Store,
        settings: TeamsSettings,
        tokens: BotTokens,
        *,
        admins: frozenset[str] = frozenset(),
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.store = store
        self.settings = settings
        self.tokens = tokens
        self.admins = admins
        self.timeout = timeout
        self._cloud = with_overrides(PUBLIC, bot_scope=settings.token_scope)
        self._clients: dict[str, ApiClient] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="teams-connector", daemon=True
        )
        self._thread.start()

    # --- the port -------------------------------------------------------------------------
    def channel_id(self, route: Route) -> str:
        return self.conversation_for(route).conversation_id

    def post_alert(self, route: Route, view: AlertView) -> MessageRef:
        conversation = self.conversation_for(route)
        card = self.card_for(view)
        activity = _card_activity(card, alert_summary(view))
        sent = self._call(
            conversation,
            lambda api: api.conversations.create_activity(conversation.conversation_id, activity),
            "post",
        )
        if not sent.id or not sent.id.isdigit():  # cannot be redrawn later: treat as failed
            raise DeliveryError(
                "Teams answered without an activity id", permanent=False, uncertain=True
            )
        return MessageRef(self.platform, conversation.conversation_id, sent.id)

    def update_alert(self, message: MessageRef, view: AlertView) -> None:
        conversation = self._known(message.channel_id)
        activity = _card_activity(self.card_for(view), alert_summary(view))
        self._call(
            conversation,
            lambda api: api.conversations.update_activity(
                conversation.conversation_id, message.message_id, activity
            ),
            "update",
        )

    def post_note(self, route: Route, lines: tuple[Line, ...], thread: MessageRef | None) -> None:
        conversation = (
            self._known(thread.channel_id) if thread is not None else self.conversation_for(route)
        )
        target = conversation.conversation_id
        if thread is not None and conversation.kind == "channel":
            target = f"{target};messageid={thread.message_id}"  # a reply in the alert's thread
        activity = _card_activity(note_card(lines), "")
        self._call(
            conversation, lambda api: api.conversations.create_activity(target, activity), "note"
        )

    def find_alert(self, route: Route, mention_id: int, since: datetime) -> MessageRef | None:
        return None  # see the module docstring: at least once

    # --- beyond the port: cards per reader, private answers ---------------------------------
    def card_for(self, view: AlertView, viewer: str = "") -> Json:
        """The alert card for one reader ("" = everyone), with the refresh that makes Teams
        ask for the view of those who see more (the holder and the admins: Unclaim)."""
        ids: tuple[str, ...] = ()
        if view.owner:
            people = self.store.teams_users(sorted(releasers(view.owner, self.admins)))
            ids = tuple(user.teams_id for _, user in sorted(people.items()))
        return alert_card(view, viewer=viewer, admins=self.admins, refresh_ids=ids)

    def post_card(self, route: Route, card: Json, summary: str) -> None:
        """A card of our own (a digest, a spike alert) in a route's channel. Raises
        DeliveryError."""
        conversation = self.conversation_for(route)
        activity = _card_activity(card, summary)
        target = conversation.conversation_id
        self._call(
            conversation, lambda api: api.conversations.create_activity(target, activity), "post"
        )

    def send_privately(self, user_key: str, card: Json, summary: str) -> None:
        """A card in the person's own chat with the bot (created if need be). Raises
        DeliveryError."""
        self.send_attachment(user_key, {"contentType": CARD, "content": card}, summary)

    def send_attachment(self, user_key: str, attachment: Json, summary: str = "") -> None:
        """Any attachment (a card, a file-consent card, a file) in the person's own chat."""
        conversation = self._personal_chat(user_key)
        fields: Json = {"type": "message", "attachments": [attachment]}
        if summary:
            fields["summary"] = summary
        activity = MessageActivityInput.model_validate(fields)
        self._call(
            conversation,
            lambda api: api.conversations.create_activity(conversation.conversation_id, activity),
            "post",
        )

    def team_channels(self, team: TeamsConversation) -> list[tuple[str, str]]:
        """(conversation id, name) of each channel of a team; the General channel's name is
        "" (Teams gives it none). Raises DeliveryError."""
        channels = self._call(team, lambda api: api.teams.get_conversations(team.team_id), "read")
        return [(str(c.id), str(c.name or "")) for c in channels if c.id]

    def conversation_for(self, route: Route) -> TeamsConversation:
        """The learnt channel a route names. DeliveryError (permanent) when it is unknown,
        ambiguous, or the bot was removed from it."""
        wanted = route.channel.strip()
        channels = [c for c in self.store.teams_conversations() if c.kind == "channel"]
        if wanted.startswith("19:"):
            found = [c for c in channels if c.conversation_id == wanted.split(";", 1)[0]]
        elif "/" in wanted:
            team, _, channel = (part.strip().lower() for part in wanted.partition("/"))
            found = [
                c
                for c in channels
                if c.team_name.lower() == team and (c.channel_name or "General").lower() == channel
            ]
        else:
            found = [c for c in channels if (c.channel_name or "General").lower() == wanted.lower()]
        live = [c for c in found if c.removed_at is None]
        if len(live) == 1:
            return live[0]
        if len(live) > 1:
            raise DeliveryError(
                f"Teams channel {wanted!r} is in several teams: write it as Team/Channel",
                permanent=True,
            )
        if found:
            raise DeliveryError(
                f"mentionbot was removed from Teams channel {wanted!r}: add the app to the team "
                "again",
                permanent=True,
            )
        raise DeliveryError(
            f"Teams channel {wanted!r} is not known yet: add mentionbot to the team (or "
            "@mention it in the channel) so that it learns where to post",
            permanent=True,
        )

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # --- plumbing -----------------------------------------------------------------------------
    def _known(self, conversation_id: str) -> TeamsConversation:
        found = self.store.teams_conversation(conversation_id.split(";", 1)[0])
        if found is None:
            raise DeliveryError(
                "that Teams conversation is not known", permanent=True, route_wide=False
            )
        return found

    def _personal_chat(self, user_key: str) -> TeamsConversation:
        for conversation in self.store.teams_conversations():
            if conversation.kind == "personal" and conversation.user_key == user_key:
                return conversation
        user = self.store.teams_users([user_key]).get(user_key)
        if user is None or not user.service_url:
            raise DeliveryError(f"no Teams chat with {user_key[:40]}", permanent=True)
        params = CreateConversationParams(
            members=[Account(id=user.teams_id)],
            tenant_id=user.tenant_id or None,
            channel_data={"tenant": {"id": user.tenant_id}} if user.tenant_id else None,
        )
        chat = TeamsConversation("", "personal", user.service_url, user.tenant_id)
        created = self._call(chat, lambda api: api.conversations.create(params), "chat")
        conversation = TeamsConversation(
            str(created.id), "personal", user.service_url, user.tenant_id, user_key=user_key
        )
        self.store.remember_teams_conversation(conversation, at=_now())
        return conversation

    def _call(self, conversation: TeamsConversation, call: Any, what: str) -> Any:
        """Run one SDK call for `conversation`'s service URL on the private loop."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a Teams call cannot wait for itself on the connector loop")
        service_url = conversation.service_url
        if not service_url.startswith(self.settings.service_url_prefixes):
            raise DeliveryError(
                f"{service_url[:60]!r} is not an allowed Teams service URL "
                "(TEAMS_ALLOWED_SERVICE_URLS)",
                permanent=True,
            )

        async def run() -> Any:
            return await call(self._client(service_url))

        try:
            return self._run(run())
        except (TokenError, httpx.HTTPError, TimeoutError) as exc:
            raise delivery_error(exc, what) from None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=self.timeout + 5)
        except TimeoutError:
            future.cancel()
            raise

    def _client(self, service_url: str) -> ApiClient:
        """One API client per service URL (made and used on the connector loop only)."""
        client = self._clients.get(service_url)
        if client is None:
            tokens = self.tokens

            class Provider:
                async def get_app_token(self, scope: str | None, tenant_id: str | None) -> str:
                    return await asyncio.to_thread(tokens.token)

            client = ApiClient(
                service_url,
                ClientOptions(timeout=self.timeout),
                cloud=self._cloud,
                token_provider=Provider(),
            )
            self._clients[service_url] = client
        return client


def _card_activity(card: Json, summary: str) -> MessageActivityInput:
    """A message carrying one card; `summary` is the notification preview (an activity field
    the SDK passes through as given)."""
    fields: Json = {"type": "message", "attachments": [{"contentType": CARD, "content": card}]}
    if summary:
        fields["summary"] = summary
    return MessageActivityInput.model_validate(fields)


def _now() -> datetime:
    return datetime.now(UTC)


def delivery_error(exc: Exception, what: str) -> DeliveryError:
    """Classify a failed call: rate limited, permanent (for the channel, or for this message),
    or worth retrying, and whether the message may have been posted all the same."""
    if isinstance(exc, TokenError):
        return DeliveryError(
            f"no Teams token: {exc}", permanent=exc.permanent, retry_after=exc.retry_after
        )
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        status = response.status_code
        code = _error_code(response)
        said = f"HTTP {status}" + (f" {code}" if code else "")
        if status == 429:
            retry = _retry_after(response.headers.get("retry-after"))
            return DeliveryError(
                f"Teams rate limited the bot; retry after {retry:.0f} s",
                permanent=False,
                retry_after=retry,
            )
        if status in (401, 403):
            return DeliveryError(
                f"Teams refused the bot ({said}): it was removed from the conversation, or its "
                "credentials are wrong",
                permanent=True,
            )
        if status == 404:
            # Posting: the conversation is gone. Updating: that one message is.
            return DeliveryError(
                f"Teams cannot find the {'message' if what == 'update' else 'conversation'} "
                f"({said})",
                permanent=True,
                route_wide=what != "update",
            )
        if status in (400, 413):
            return DeliveryError(
                f"Teams refused the message ({said})", permanent=True, route_wide=False
            )
        return DeliveryError(f"Teams error ({said})", permanent=False, uncertain=what != "update")
    if isinstance(exc, httpx.ConnectError):  # never reached Teams: nothing was posted
        return DeliveryError(f"cannot reach Teams: {type(exc).__name__}", permanent=False)
    return DeliveryError(
        f"no answer from Teams: {type(exc).__name__}",
        permanent=False,
        uncertain=what != "update",
    )


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code") or "")[:60] if isinstance(error, dict) else ""


def _retry_after(value: str | None) -> float:
    try:
        return max(1.0, float(value)) if value else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
