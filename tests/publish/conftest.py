"""Fake Mastodon, Bluesky (PDS) and Reddit write APIs on loopback, and the bot's clients
pointed at them with the secrets a brand would put in its environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.publish.bluesky import BlueskyPublisher
from bot.publish.mastodon import MastodonPublisher
from bot.publish.reddit import RedditPublisher
from tests.conftest import Clock
from tests.fakes.social import bluesky as pds_fake
from tests.fakes.social import reddit as reddit_fake
from tests.fakes.social.bluesky import FakePds
from tests.fakes.social.mastodon import TOKEN, FakeMastodon
from tests.fakes.social.reddit import FakeReddit

UA = "mentionbot-test/1.0 (by /u/acme_support)"


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    server = FakeMastodon().start()
    yield server
    server.stop()


@pytest.fixture
def pds() -> Iterator[FakePds]:
    server = FakePds().start()
    yield server
    server.stop()


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    server = FakeReddit().start()
    yield server
    server.stop()


@pytest.fixture
def mastodon_client(mastodon: FakeMastodon) -> Iterator[MastodonPublisher]:
    client = MastodonPublisher(
        mastodon.base_url, TOKEN, token_env="ACME_MASTODON_TOKEN", user_agent=UA, timeout=5
    )
    yield client
    client.close()


@pytest.fixture
def bluesky_client(pds: FakePds, clock: Clock) -> Iterator[BlueskyPublisher]:
    client = BlueskyPublisher(
        pds.base_url,
        pds_fake.HANDLE,
        pds_fake.APP_PASSWORD,
        password_env="ACME_BLUESKY_APP_PASSWORD",
        user_agent=UA,
        timeout=5,
        clock=clock,
    )
    yield client
    client.close()


@pytest.fixture
def reddit_client(reddit: FakeReddit) -> Iterator[RedditPublisher]:
    client = RedditPublisher(
        reddit_fake.USERNAME,
        reddit_fake.CLIENT_ID,
        reddit_fake.CLIENT_SECRET,
        password=reddit_fake.PASSWORD,
        secret_names="ACME_REDDIT_ID, ACME_REDDIT_SECRET and ACME_REDDIT_PASSWORD",
        auth_url=reddit.base_url,
        api_url=reddit.base_url,
        user_agent=UA,
        timeout=5,
    )
    yield client
    client.close()
