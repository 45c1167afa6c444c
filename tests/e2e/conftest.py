"""The whole bot on loopback: real feed files served over HTTP, the real fetcher, parser,
pipeline, SQLite store and outbox, the real Slack adapter and Bolt app against the fake
Slack Web API, and interactions POSTed to /slack/events signed as Slack signs them. The
alert channel is named in the watch list as users name it ("#acme-alerts")."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest

from bot.chat.slack.app import build_app
from bot.chat.slack.events import EVENTS_PATH, slack_events
from bot.chat.slack.transport import SlackAdapter, delivery_client
from bot.config import BrandConfig, Settings, SourceConfig, WatchList, load_settings
from bot.demo import serve_directory
from bot.runtime import Runtime, build_runtime
from bot.web import WebFront, build_web_app
from tests.conftest import Clock, shared_path
from tests.fakes.fake_slack import FakeSlack, Response, slack_post
from tests.fakes.idle_executor import IdleTrackingExecutor

SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-e2e-token"
CHANNEL = "#acme-alerts"  # as the watch list names it
CHANNEL_ID = "C0ACMEALERTS"  # as Slack knows it
SHARED_FEEDS = ("reddit-search.atom", "hnrss-newest-q-acme.xml", "mastodon-tag-acme.rss",
                "bluesky-profile.rss", "google-news-search-acme.rss")  # fmt: skip
DEMO_FEEDS = ("news.atom", "forum.rss", "social.rss")


@pytest.fixture
def feed_dir(tmp_path: Path) -> Path:
    """Real feed files: the shared generated platform samples and the bundled demo feeds."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    generated = shared_path("feeds", "generated")
    for name in SHARED_FEEDS:
        shutil.copy(generated / name, folder / name)
    for name in DEMO_FEEDS:
        (folder / name).write_bytes((files("bot.demo") / "feeds" / name).read_bytes())
    return folder


@pytest.fixture
def feed_url(feed_dir: Path) -> Iterator[str]:
    with serve_directory(feed_dir) as base_url:
        yield base_url


def watch_list(base_url: str, names: tuple[str, ...] = SHARED_FEEDS + DEMO_FEEDS) -> WatchList:
    return WatchList(
        brand=[
            BrandConfig(
                name="Acme",
                terms=["acme"],
                exclude=["acme markets"],
                channel=CHANNEL,
                sources=[
                    SourceConfig(name=name.split(".")[0], url=f"{base_url}/{name}")
                    for name in names
                ],
            )
        ]
    )


def e2e_settings(fake: FakeSlack, database_url: str) -> Settings:
    return load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_mode="http",
        slack_api_url=fake.api_url,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        fetch_retries=2,
    )


@dataclass
class Bot:
    runtime: Runtime
    fake: FakeSlack
    url: str
    listeners: IdleTrackingExecutor

    def post(self, body: str, **kwargs: object) -> Response:
        """Signed as Slack signs; returns once the listeners it started have finished."""
        secret = kwargs.pop("signing_secret", SIGNING_SECRET)
        response = slack_post(self.url, body, secret, **kwargs)  # type: ignore[arg-type]
        self.listeners.wait_idle()
        return response


@pytest.fixture
def bot(fake_slack: FakeSlack, feed_url: str, tmp_path: Path, clock: Clock) -> Iterator[Bot]:
    fake_slack.add_channel(CHANNEL, CHANNEL_ID)
    settings = e2e_settings(fake_slack, f"sqlite:///{tmp_path / 'bot.db'}")
    adapter = SlackAdapter(delivery_client(BOT_TOKEN, fake_slack.api_url))
    runtime = build_runtime(settings, {"slack": adapter}, clock=clock, watch=watch_list(feed_url))
    executor = IdleTrackingExecutor()
    app = build_app(settings, runtime.service, listener_executor=executor)
    front = WebFront(build_web_app([slack_events(app)])).start()
    try:
        yield Bot(runtime, fake_slack, front.url + EVENTS_PATH, executor)
    finally:
        front.stop()
        executor.shutdown(wait=True)
        runtime.close()
