"""Fixtures the stream source tests share: settings that let a loopback server through the
URL guard, and a fetcher built from them (the way the bot builds its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings, load_settings
from bot.http import HttpFetcher


@pytest.fixture
def settings() -> Settings:
    return load_settings(allow_private_hosts=["127.0.0.1"], fetch_timeout=5.0)


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[HttpFetcher]:
    f = HttpFetcher.from_settings(settings)
    yield f
    f.close()
