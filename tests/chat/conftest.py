"""A running mentionbot Slack app in HTTP mode, talking to the fake Slack Web API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_bolt import App

from bot.chat.slack.app import build_app
from bot.chat.slack.events import EVENTS_PATH, slack_events
from bot.chat.slack.notifier import SlackNotifier, notifier_client
from bot.config import Settings, load_settings
from bot.models import Mention
from bot.store import Store, open_store
from bot.web import WebFront, build_web_app
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack, Response, slack_post
from tests.fakes.slack_fixtures import fake_slack  # noqa: F401 (fixture)

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
ALERT_CHANNEL = "C0ALERTS"


@dataclass
class SlackEnv:
    fake: FakeSlack
    store: Store
    app: App
    settings: Settings
    clock: Clock
    url: str

    def post(self, body: str, **kwargs: object) -> Response:
        """POST to /slack/events signed as Slack signs (unless signing_secret=None is given)."""
        secret = kwargs.pop("signing_secret", SIGNING_SECRET)
        return slack_post(self.url, body, secret, **kwargs)  # type: ignore[arg-type]

    def alert(self, mention: Mention) -> tuple[int, str]:
        """Store a mention and deliver its alert through the real notifier; (id, ts)."""
        mention_id = self.store.add_mention(mention, alert=True)
        assert mention_id is not None
        notifier = SlackNotifier(notifier_client(BOT_TOKEN, self.fake.api_url), clock=self.clock)
        [due] = self.store.due_alerts(self.clock(), 10)
        stored = self.store.get_mention(mention_id)
        assert stored is not None
        ts = notifier.post_alert(stored, due.channel)
        self.store.mark_delivered(due.id, chat_ts=ts, at=self.clock())
        return mention_id, ts


@pytest.fixture
def slack_env(
    fake_slack: FakeSlack,  # noqa: F811
    tmp_path: Path,
    clock: Clock,
    make_mention: Callable[..., Mention],
) -> Iterator[SlackEnv]:
    store = open_store(f"sqlite:///{tmp_path / 'chat.db'}")
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_mode="http",
        slack_api_url=fake_slack.api_url,
        admin_users=["UADMIN"],
    )
    app = build_app(settings, store, clock=clock)
    front = WebFront(build_web_app([slack_events(app)])).start()
    try:
        yield SlackEnv(fake_slack, store, app, settings, clock, front.url + EVENTS_PATH)
    finally:
        front.stop()
        store.close()
