"""`mentionbot check`: validate everything a run needs and say exactly what is wrong."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from bot.config import ConfigError, Settings, load_watch_list


class _Report:
    def __init__(self) -> None:
        self.failures = 0

    def ok(self, what: str, detail: str) -> None:
        print(f"  ok    {what}: {detail}")

    def fail(self, what: str, detail: str) -> None:
        self.failures += 1
        print(f"  FAIL  {what}: {detail}")

    def warn(self, what: str, detail: str) -> None:
        print(f"  warn  {what}: {detail}")


def run_checks(args: argparse.Namespace, load: Callable[[argparse.Namespace], Settings]) -> int:
    report = _Report()
    print("mentionbot check")
    try:
        settings = load(args)
    except ConfigError as exc:
        report.fail("settings", str(exc))
        return 1
    report.ok("settings", f"loaded (.env and environment); Slack mode {settings.slack_mode}")

    watch = None
    try:
        watch = load_watch_list(settings.watch_list)
        report.ok(
            "watch list",
            f"{settings.watch_list}: {len(watch.brand)} brand(s), {len(watch.sources())} source(s)",
        )
        for brand in watch.brand:
            if not brand.sources:
                report.warn("watch list", f"brand {brand.name!r} has no sources")
            if settings.slack_enabled and not brand.channel:
                report.fail("watch list", f"brand {brand.name!r} has no channel for its alerts")
    except ConfigError as exc:
        report.fail("watch list", str(exc))

    _check_store(settings, report)
    _check_scorer(settings, report)
    _check_slack(settings, report)
    if args.sources and watch is not None:
        _check_sources(settings, watch, report)

    print("all good" if not report.failures else f"{report.failures} problem(s) found")
    return 0 if not report.failures else 1


def _check_store(settings: Settings, report: _Report) -> None:
    from bot.cli import _safe_url
    from bot.store import open_store
    from bot.store.schema import SCHEMA_VERSION

    try:
        store = open_store(settings.database_url)
    except ConfigError as exc:
        report.fail("database", str(exc))
        return
    except Exception as exc:
        report.fail("database", f"cannot open {_safe_url(settings.database_url)}: {exc}")
        return
    try:
        report.ok(
            "database",
            f"{_safe_url(settings.database_url)} at schema version {SCHEMA_VERSION}, "
            f"{store.pending_count()} alert(s) waiting",
        )
    finally:
        store.close()


def _check_scorer(settings: Settings, report: _Report) -> None:
    from bot.analysis.base import get_scorer

    try:
        scorer = get_scorer(settings.scorer, cascade_share=settings.cascade_share)
        verdict = scorer.score("This is terrible, my order never arrived.")
        report.ok(
            "scorer",
            f"{scorer.name} active (test sentence: {verdict.sentiment.value}, "
            f"attention {verdict.attention:.2f}; alert threshold {settings.alert_threshold})",
        )
    except Exception as exc:
        report.fail("scorer", f"{settings.scorer!r} does not load: {exc}")


def _check_slack(settings: Settings, report: _Report) -> None:
    if not settings.slack_enabled:
        report.warn("slack", "no SLACK_BOT_TOKEN: alerts are printed to the terminal")
        return
    from slack_sdk.errors import SlackApiError

    from bot.chat.slack.notifier import web_client

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if not token.startswith("xoxb-"):
        report.fail("slack", "SLACK_BOT_TOKEN should be a bot token starting with xoxb-")
    try:
        auth = web_client(settings).auth_test()
        report.ok("slack", f"bot token valid: team {auth.get('team')}, bot {auth.get('user')}")
    except SlackApiError as exc:
        report.fail("slack", f"auth.test refused the bot token: {exc.response.get('error')}")
    except Exception as exc:
        report.fail("slack", f"cannot reach {settings.slack_api_url}: {type(exc).__name__}")
    if settings.slack_mode == "socket":
        app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
        if not app_token:
            report.fail("slack", "Socket Mode needs SLACK_APP_TOKEN (xapp-…, connections:write)")
        elif not app_token.startswith("xapp-"):
            report.fail("slack", "SLACK_APP_TOKEN should be an app-level token (xapp-…)")
        else:
            report.ok("slack", "app-level token present for Socket Mode")
    if settings.slack_mode == "http" and not settings.slack_signing_secret:
        report.fail("slack", "HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests")


def _check_sources(settings: Settings, watch: object, report: _Report) -> None:
    from bot.http import HttpFetcher
    from bot.sources.base import FeedState, SourceError, limits_of
    from bot.sources.registry import build_source, is_stream

    fetcher = HttpFetcher.from_settings(settings)
    try:
        for _brand, source_config in watch.sources():  # type: ignore[attr-defined]
            try:
                source = build_source(source_config, fetcher, settings)
            except ConfigError as exc:
                report.fail(f"source {source_config.name}", str(exc))
                continue
            limits = limits_of(source)
            missing = [name for name in limits.needs if not _setting_present(settings, name)]
            if missing:
                report.warn(f"source {source.name}", "not set: " + ", ".join(missing))
            try:
                if callable(getattr(source, "check", None)):
                    # A source that knows how to test itself (a stream connects and reads
                    # one message; an API source authenticates) says what it found.
                    report.ok(f"source {source.name}", source.check())  # type: ignore[union-attr]
                elif is_stream(source):
                    report.ok(f"source {source.name}", "a stream: connects when the bot runs")
                else:
                    result = source.fetch(FeedState())  # type: ignore[union-attr]
                    report.ok(f"source {source.name}", f"{len(result.entries)} entries")
            except SourceError as exc:
                report.fail(f"source {source.name}", str(exc))
    finally:
        fetcher.close()


def _setting_present(settings: Settings, env_name: str) -> bool:
    """Whether a setting (by its environment name) or an environment variable has a value."""
    value = getattr(settings, env_name.lower(), None)
    if value is None:
        return bool(os.environ.get(env_name))
    secret = getattr(value, "get_secret_value", None)
    return bool(secret() if callable(secret) else value)
