"""A running mentionbot Teams endpoint: a FastAPI app with /api/messages mounted by
`mount_teams`, served by uvicorn on 127.0.0.1, authenticating against the fake Bot Framework's
keys and posting to its fake Bot Connector. Activities are built and signed as Teams sends them.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from bot.chat.service import ChatService
from bot.chat.teams.app import MESSAGES_PATH, TeamsMount, mount_teams, teams_adapter
from bot.config import Settings, load_settings
from bot.models import Route
from bot.outbox import Outbox
from bot.store import Store
from tests.conftest import Clock
from tests.fakes.fake_teams import (
    APP_ID,
    APP_PASSWORD,
    BOT_ID,
    TEAM_ID,
    TEAM_NAME,
    TENANT_ID,
    FakeBotFramework,
    Signer,
)

# People on Teams: (Entra object id, Teams id, display name).
PEOPLE = {
    "alice": ("aad-alice", "29:alice", "Alice Jansen"),
    "bob": ("aad-bob", "29:bob", "Bob de Boer"),
    "carol": ("aad-carol", "29:carol", "Carol Smit"),
    "admin": ("aad-admin", "29:admin", "Ada Admin"),
}
ADMIN = "teams:aad-admin"


def teams_settings(fake: FakeBotFramework, **extra: object) -> Settings:
    values: dict[str, object] = {
        "teams_app_id": APP_ID,
        "teams_app_password": APP_PASSWORD,
        "teams_tenant_id": TENANT_ID,
        "teams_openid_metadata_url": fake.metadata_url,
        "teams_token_url": fake.token_url,
        "teams_allowed_service_urls": fake.service_url,
        "admin_users": [ADMIN],
    }
    values.update(extra)
    return load_settings(**values)


@dataclass
class TeamsEnv:
    fake: FakeBotFramework
    store: Store
    service: ChatService
    outbox: Outbox
    mount: TeamsMount
    settings: Settings
    clock: Clock
    url: str
    http: httpx.Client
    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (person, body)

    @property
    def adapter(self) -> Any:
        return self.mount.adapter

    def post(self, activity: dict[str, Any], *, token: str | None = "sign",
             signer: Signer | None = None) -> httpx.Response:  # fmt: skip
        """POST an activity to /api/messages, signed as the Bot Framework signs (unless a
        token is given, or None for no Authorization header)."""
        headers = {}
        if token == "sign":
            token = (signer or self.fake.signers[0]).token(str(activity.get("serviceUrl")))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.post(self.url, json=activity, headers=headers)

    def invoke(self, person: str, verb: str, data: dict[str, Any], conversation: str,
               message_id: str) -> dict[str, Any]:  # fmt: skip
        """Click an Action.Execute button as `person` on the card of message `message_id`."""
        activity = base_activity(self.fake, person, conversation, message_id)
        activity.update({
            "type": "invoke", "name": "adaptiveCard/action", "replyToId": message_id,
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data},
                      "trigger": "manual"},
        })  # fmt: skip
        response = self.post(activity)
        assert response.status_code == 200, response.text
        body = response.json()
        self.answers.append((person, body))
        return body

    def say(self, person: str, text: str, conversation: str) -> httpx.Response:
        """`@mentionbot <text>` typed by `person` in a channel (or their personal chat)."""
        activity = base_activity(self.fake, person, conversation, "")
        activity.update({
            "type": "message", "text": f"<at>mentionbot</at> {text}",
            "entities": [{"type": "mention", "text": "<at>mentionbot</at>",
                          "mentioned": {"id": BOT_ID, "name": "mentionbot"}}],
        })  # fmt: skip
        return self.post(activity)

    def install(self) -> None:
        """The app is added to the team: Teams tells the bot, which learns the channels."""
        activity = base_activity(self.fake, "admin", TEAM_ID, "")
        activity.update({"type": "conversationUpdate", "membersAdded": [{"id": BOT_ID}]})
        activity["channelData"]["eventType"] = "teamMemberAdded"
        assert self.post(activity).status_code == 200


def base_activity(fake: FakeBotFramework, person: str, conversation: str,
                  message_id: str) -> dict[str, Any]:  # fmt: skip
    aad, teams_id, name = PEOPLE[person]
    personal = conversation.startswith("a:")
    channel_data: dict[str, Any] = {"tenant": {"id": TENANT_ID}}
    if not personal:
        channel_data.update({"team": {"id": TEAM_ID, "name": TEAM_NAME},
                             "channel": {"id": conversation}})  # fmt: skip
    return {
        "id": f"act-{person}-{message_id or 'x'}",
        "channelId": "msteams",
        "serviceUrl": fake.service_url,
        "from": {"id": teams_id, "aadObjectId": aad, "name": name},
        "recipient": {"id": BOT_ID, "name": "mentionbot"},
        "conversation": {
            "id": f"{conversation};messageid={message_id}"
            if message_id and not personal
            else conversation,
            "conversationType": "personal" if personal else "channel",
            "tenantId": TENANT_ID,
        },
        "channelData": channel_data,
    }


def make_teams_env(
    fake: FakeBotFramework,
    store: Store,
    clock: Clock,
    *,
    brand_routes: dict[str, tuple[Route, ...]] | None = None,
    join: tuple[ChatService, Outbox] | None = None,
    settings: Settings | None = None,
) -> tuple[TeamsEnv, Callable[[], None]]:
    """A Teams endpoint on its own service and outbox, or joining an existing pair (`join`:
    one process serving Slack and Teams from one store)."""
    settings = settings or teams_settings(fake)
    adapter = teams_adapter(settings, store)
    if join is None:
        service = ChatService(store, {"teams": adapter}, clock,
                              admins=frozenset(settings.admin_users),
                              brand_routes=brand_routes or {})  # fmt: skip
        outbox = Outbox(store, {"teams": adapter}, clock)
    else:
        service, outbox = join
        service.adapters["teams"] = adapter
        outbox.adapters["teams"] = adapter
    web = FastAPI()
    mount = mount_teams(web, settings, service, adapter, clock=clock)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    # The socket is listening before uvicorn runs: requests wait in its backlog, no polling.
    server = uvicorn.Server(uvicorn.Config(web, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    http = httpx.Client(timeout=30.0)
    env = TeamsEnv(fake, store, service, outbox, mount, settings, clock,
                   f"http://127.0.0.1:{port}{MESSAGES_PATH}", http)  # fmt: skip

    def stop() -> None:
        http.close()
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        mount.close()

    return env, stop


@pytest.fixture
def fake_teams() -> Iterator[FakeBotFramework]:
    """A running fake Bot Framework (keys, token endpoint, Bot Connector) on 127.0.0.1."""
    fake = FakeBotFramework().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def teams_env(fake_teams: FakeBotFramework, tmp_path: Path, clock: Clock) -> Iterator[TeamsEnv]:
    """The Teams endpoint, installed in the Support team; Acme's alerts go to Support/alerts."""
    from bot.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'teams.db'}")
    routes = {"Acme": (Route("teams", "Support/alerts"),)}
    env, stop = make_teams_env(fake_teams, store, clock, brand_routes=routes)
    try:
        env.install()
        yield env
    finally:
        stop()
        store.close()
