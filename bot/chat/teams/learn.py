"""What every authenticated activity teaches the bot: where it can post and whom it can reach.

Teams gives a bot no list of channels up front. When the app is added to a team, Teams sends a
conversationUpdate naming the team; the bot then asks the Bot Connector for the team's channels
and keeps each one's conversation reference (id, service URL, tenant), so alerts for a route
such as "Support/Customer care" can be posted proactively from then on. A channel created or
renamed later, or any channel the bot is @mentioned in, is learnt the same way; a team the
bot is removed from is marked removed, and posting there becomes a permanent error that
`mentionbot check` and the outbox report. People are remembered by user key with their Teams
id (what a card's refresh list and a new personal chat need).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import astuple
from datetime import datetime
from typing import Any

from bot.chat.port import DeliveryError
from bot.chat.teams.transport import TeamsAdapter
from bot.models import user_key
from bot.store.base import Store, TeamsConversation, TeamsUser

log = logging.getLogger(__name__)


class Learner:
    def __init__(self, store: Store, adapter: TeamsAdapter, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.adapter = adapter
        self.clock = clock
        self._seen: set[tuple[str, ...]] = set()  # what this process already stored
        self._lock = threading.Lock()

    def learn(self, activity: Mapping[str, Any]) -> None:
        """Remember what this activity says; never raises (a lesson lost is re-learnt)."""
        try:
            self._learn(activity)
        except Exception:
            log.exception(
                "could not learn from a Teams %s activity", str(activity.get("type"))[:30]
            )

    def _learn(self, activity: Mapping[str, Any]) -> None:
        service_url = str(activity.get("serviceUrl") or "")
        data = _dict(activity.get("channelData"))
        tenant = str(_dict(data.get("tenant")).get("id") or "")
        team = _dict(data.get("team"))
        channel = _dict(data.get("channel"))
        conversation = _dict(activity.get("conversation"))
        kind = str(conversation.get("conversationType") or "")
        conversation_id = str(conversation.get("id") or "").split(";", 1)[0]
        sender = _dict(activity.get("from"))
        key = actor_key(sender)
        if key and sender.get("id") and service_url:
            self._remember_user(TeamsUser(key, str(sender["id"]), tenant, service_url))
        if not conversation_id or not service_url:
            return
        if kind == "personal":
            self._remember(
                TeamsConversation(conversation_id, "personal", service_url, tenant, user_key=key)
            )
        elif kind == "channel" or team:
            team_id = str(team.get("id") or "")
            name = str(channel.get("name") or "") if channel.get("id") == conversation_id else ""
            self._remember(
                TeamsConversation(
                    conversation_id,
                    "channel",
                    service_url,
                    tenant,
                    team_id,
                    str(team.get("name") or ""),
                    name,
                )
            )
        self._installation(activity, data, team, channel, service_url, tenant)

    def _installation(
        self,
        activity: Mapping[str, Any],
        data: dict[str, Any],
        team: dict[str, Any],
        channel: dict[str, Any],
        service_url: str,
        tenant: str,
    ) -> None:
        bot_id = str(_dict(activity.get("recipient")).get("id") or "")
        kind = str(activity.get("type") or "")
        event = str(data.get("eventType") or "")
        added = [_dict(m).get("id") for m in activity.get("membersAdded") or []]
        removed = [_dict(m).get("id") for m in activity.get("membersRemoved") or []]
        team_id = str(team.get("id") or "")
        action = str(activity.get("action") or "")
        if (bot_id and bot_id in removed) or (kind == "installationUpdate" and action == "remove"):
            if team_id:
                self.store.forget_teams_team(team_id, at=self.clock())
                log.info("mentionbot was removed from team %s", str(team.get("name"))[:60])
            self._seen.clear()
            return
        if event in ("channelCreated", "channelRenamed", "channelRestored") and channel.get("id"):
            self._remember(
                TeamsConversation(
                    str(channel["id"]),
                    "channel",
                    service_url,
                    tenant,
                    team_id,
                    str(team.get("name") or ""),
                    str(channel.get("name") or ""),
                )
            )
        if event == "channelDeleted" and channel.get("id"):
            self.store.forget_teams_team(str(channel["id"]), at=self.clock())
        installed = (bot_id and bot_id in added) or (
            kind == "installationUpdate" and action == "add"
        )
        if installed and team_id:
            self._learn_team(
                TeamsConversation(
                    team_id, "channel", service_url, tenant, team_id, str(team.get("name") or "")
                )
            )

    def _learn_team(self, team: TeamsConversation) -> None:
        """Every channel of a team the bot was just added to."""
        self._remember(team)  # the General channel's id is the team's
        try:
            channels = self.adapter.team_channels(team)
        except DeliveryError as exc:
            log.warning("cannot list the channels of team %s: %s", team.team_name[:60], exc)
            return
        for channel_id, name in channels:
            self._remember(
                TeamsConversation(
                    channel_id,
                    "channel",
                    team.service_url,
                    team.tenant_id,
                    team.team_id,
                    team.team_name,
                    name,
                )
            )
        log.info("learnt %d channel(s) of team %s", len(channels), team.team_name[:60])

    def _remember(self, conversation: TeamsConversation) -> None:
        mark = ("c", *(str(v) for v in astuple(conversation)))
        with self._lock:
            if mark in self._seen:
                return
            self._seen.add(mark)
        self.store.remember_teams_conversation(conversation, at=self.clock())

    def _remember_user(self, user: TeamsUser) -> None:
        mark = ("u", user.user_key, user.teams_id, user.tenant_id, user.service_url)
        with self._lock:
            if mark in self._seen:
                return
            self._seen.add(mark)
        self.store.remember_teams_user(user, at=self.clock())


def actor_key(sender: Mapping[str, Any]) -> str:
    """A Teams user's key: their Entra object id where Teams gives it (stable across chats and
    what ADMIN_USERS names), else their Teams id."""
    ident = str(sender.get("aadObjectId") or sender.get("id") or "")
    return user_key("teams", ident) if ident else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
