"""Builds the source a watch-list entry describes, by its `kind`."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bot.config import Settings, SourceConfig
from bot.http import HttpFetcher
from bot.sources.base import Source, StreamSource
from bot.sources.parse_pool import Parser

# kind → module under bot.sources whose `build(config, settings, fetcher, matches=)` makes it
PLATFORM_MODULES = {
    "hackernews": "bot.sources.hackernews",
    "bluesky": "bot.sources.bluesky",
    "mastodon": "bot.sources.mastodon",
    "reddit": "bot.sources.reddit",
}


def build_source(
    config: SourceConfig,
    fetcher: HttpFetcher,
    settings: Settings,
    *,
    matches: Callable[[str], bool] | None = None,
    parser: Parser | None = None,
) -> Source | StreamSource:
    """`matches` lets a firehose source (Bluesky) drop what cannot match before queueing it;
    `parser` parses feed documents (bot/sources/parse_pool.py; default: in a thread)."""
    if config.kind == "feed":
        from bot.sources.feeds import build_source as build_feed

        return build_feed(config, fetcher, settings, parser)
    module = importlib.import_module(PLATFORM_MODULES[config.kind])
    source: Source = module.build(config, settings, fetcher, matches=matches)
    return source


def is_stream(source: Source | StreamSource) -> bool:
    return callable(getattr(source, "run", None)) and not callable(getattr(source, "fetch", None))
