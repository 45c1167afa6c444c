"""A running mentionbot Slack app in HTTP mode, talking to the fake Slack Web API, with the
shared chat service and outbox behind it. Channels are configured by name, as users write
them in the watch list; the fake Slack knows "#alerts" as C0ALERTS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_bolt import App

from bot.chat.drafts import Template
from bot.chat.service import ChatService
from bot.chat.slack.app import build_app, listener_client
from bot.chat.slack.channels import ChannelDirectory
from bot.chat.slack.events import EVENTS_PATH, slack_events
from bot.chat.slack.transport import SlackAdapter, delivery_client
from bot.config import Settings, load_settings
from bot.models import Mention, Route
from bot.outbox import Outbox
from bot.publish.registry import PublicReplies
from bot.store import Store, open_store
from bot.web import WebFront, build_web_app
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack, Response, slack_post
from tests.fakes.idle_executor import IdleTrackingExecutor
from tests.fakes.slack_fixtures import fake_slack  # noqa: F401 (fixture)

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
ALERT_ROUTE = Route("slack", "#alerts")  # as the watch list names it
ALERT_CHANNEL = "C0ALERTS"  # the id Slack gives it
ADMIN = "UADMIN"


@dataclass
class SlackEnv:
    fake: FakeSlack
    store: Store
    service: ChatService
    outbox: Outbox
    app: App
    settings: Settings
    clock: Clock
    url: str
    listeners: IdleTrackingExecutor

    def post(self, body: str, **kwargs: object) -> Response:
        """POST to /slack/events signed as Slack signs (unless signing_secret=None is given),
        and wait until the listeners it started have finished."""
        secret = kwargs.pop("signing_secret", SIGNING_SECRET)
        response = slack_post(self.url, body, secret, **kwargs)  # type: ignore[arg-type]
        self.listeners.wait_idle()
        return response

    def socket_mode_app(self) -> App:
        """A Bolt App on the same service, set up for Socket Mode (no signing secret)."""
        settings = load_settings(
            slack_bot_token="xoxb-t", slack_api_url=self.fake.api_url, slack_mode="socket"
        )
        return build_app(settings, self.service)

    def alert(self, mention: Mention) -> tuple[int, str]:
        """Store a mention and deliver its alert through the outbox and the real Slack
        adapter; (id, ts) of its first delivery."""
        mention_id = self.store.add_mention(mention, alert=True)
        assert mention_id is not None
        report = self.outbox.deliver_due()
        assert report.delivered >= 1, report
        delivery = self.store.deliveries(mention_id)[0]
        assert delivery.message is not None
        return mention_id, delivery.message.message_id


def make_slack_env(
    fake: FakeSlack,
    store: Store,
    clock: Clock,
    *,
    brand_routes: dict[str, tuple[Route, ...]] | None = None,
    admins: tuple[str, ...] = (ADMIN,),
    public: PublicReplies | None = None,
    templates: dict[str, list[Template]] | None = None,
) -> tuple[SlackEnv, Callable[[], None]]:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_mode="http",
        slack_api_url=fake.api_url,
        admin_users=list(admins),
    )
    listener = SlackAdapter(listener_client(settings))
    delivery = SlackAdapter(delivery_client(BOT_TOKEN, fake.api_url),
                            directory=ChannelDirectory(listener.client))  # fmt: skip
    service = ChatService(
        store,
        {"slack": listener},
        clock,
        admins=frozenset(settings.admin_users),
        brand_routes=brand_routes or {"Acme": (ALERT_ROUTE,)},
        public=public,
        templates=templates,
    )
    outbox = Outbox(store, {"slack": delivery}, clock)
    executor = IdleTrackingExecutor()
    app = build_app(settings, service, adapter=listener, listener_executor=executor)
    front = WebFront(build_web_app([slack_events(app)])).start()
    env = SlackEnv(fake, store, service, outbox, app, settings, clock,
                   front.url + EVENTS_PATH, executor)  # fmt: skip

    def stop() -> None:
        front.stop()
        executor.shutdown(wait=True)

    return env, stop


@pytest.fixture
def slack_env(
    fake_slack: FakeSlack,  # noqa: F811
    tmp_path: Path,
    clock: Clock,
) -> Iterator[SlackEnv]:
    store = open_store(f"sqlite:///{tmp_path / 'chat.db'}")
    env, stop = make_slack_env(fake_slack, store, clock)
    try:
        yield env
    finally:
        stop()
        store.close()
