"""`mentionbot check`: validate everything a run needs and say exactly what is wrong."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from bot.config import ConfigError, Settings, WatchList, load_watch_list


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
    report.ok("settings", f"loaded (.env and environment); Slack mode {settings.slack.mode}")

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
            routes = ", ".join(route.key for route in brand.routes)
            report.ok("routes", f"brand {brand.name!r} alerts go to {routes}")
    except ConfigError as exc:
        report.fail("watch list", str(exc))

    _check_store(settings, report)
    _check_scorer(settings, report)
    _check_slack(settings, report)
    if watch is not None and settings.slack.enabled:
        _check_slack_channels(settings, watch, report)
    _check_teams(settings, watch, report)
    if watch is not None:
        _check_public_accounts(settings, watch, report)
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
    if not settings.slack.enabled:
        report.warn("slack", "no SLACK_BOT_TOKEN: alerts are printed to the terminal")
        return
    from slack_sdk.errors import SlackApiError

    from bot.chat.slack.transport import web_client

    slack = settings.slack
    token = slack.bot_token.get_secret_value() if slack.bot_token else ""
    if not token.startswith("xoxb-"):
        report.fail("slack", "SLACK_BOT_TOKEN should be a bot token starting with xoxb-")
    try:
        auth = web_client(settings).auth_test()
        report.ok("slack", f"bot token valid: team {auth.get('team')}, bot {auth.get('user')}")
    except SlackApiError as exc:
        report.fail("slack", f"auth.test refused the bot token: {exc.response.get('error')}")
    except Exception as exc:
        report.fail("slack", f"cannot reach {slack.api_url}: {type(exc).__name__}")
    if slack.mode == "socket":
        app_token = slack.app_token.get_secret_value() if slack.app_token else ""
        if not app_token:
            report.fail("slack", "Socket Mode needs SLACK_APP_TOKEN (xapp-…, connections:write)")
        elif not app_token.startswith("xapp-"):
            report.fail("slack", "SLACK_APP_TOKEN should be an app-level token (xapp-…)")
        else:
            _check_app_token(settings, app_token, report)
    if slack.mode == "http" and not slack.signing_secret:
        report.fail("slack", "HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests")


def _check_app_token(settings: Settings, app_token: str, report: _Report) -> None:
    """Ask Slack for a Socket Mode URL, as `run` does (the URL is left unused)."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    try:
        WebClient(base_url=settings.slack.api_url, timeout=15).apps_connections_open(
            app_token=app_token
        )
        report.ok("slack", "app token valid: Slack opens Socket Mode connections for it")
    except SlackApiError as exc:
        error = exc.response.get("error")
        hint = " (an app-level token with connections:write?)" if error == "invalid_auth" else ""
        report.fail("slack", f"apps.connections.open refused SLACK_APP_TOKEN: {error}{hint}")
    except Exception as exc:
        report.fail("slack", f"cannot reach {settings.slack.api_url}: {type(exc).__name__}")


def _check_slack_channels(settings: Settings, watch: WatchList, report: _Report) -> None:
    """Each Slack channel a brand (or the ops notices) is routed to: does the bot see it, and
    is it in it (it can post only where it was invited)?"""
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.chat.port import DeliveryError
    from bot.chat.slack.channels import ChannelDirectory
    from bot.chat.slack.transport import web_client

    client = web_client(settings)
    directory = ChannelDirectory(client)
    routes = {route for brand in watch.brand for route in brand.routes}
    if settings.ops_route is not None:
        routes.add(settings.ops_route)
    for route in sorted((r for r in routes if r.platform == "slack"), key=lambda r: r.channel):
        what = f"channel {route.channel}"
        try:
            channel_id = directory.resolve(route.channel)
            info = client.conversations_info(channel=channel_id).get("channel") or {}
        except DeliveryError as exc:
            report.fail(what, str(exc))
            continue
        except SlackApiError as exc:
            report.fail(what, f"conversations.info refused: {exc.response.get('error')}")
            continue
        except (SlackClientError, OSError) as exc:
            report.fail(what, f"cannot reach Slack: {type(exc).__name__}")
            continue
        if info.get("is_archived"):
            report.fail(what, f"{channel_id} is archived")
        elif not info.get("is_member", True):
            report.fail(what, f"the bot is not in {channel_id}: /invite @mentionbot there")
        else:
            report.ok(what, f"{channel_id}, the bot can post there")


def _check_teams(settings: Settings, watch: WatchList | None, report: _Report) -> None:
    teams_routes = watch is not None and any(
        r.platform == "teams" for b in watch.brand for r in b.routes
    )
    if not settings.teams.enabled:
        if teams_routes:
            report.fail("teams", "the watch list routes to Teams but TEAMS_APP_ID is not set")
        return
    try:
        from bot.chat.teams.check import check_teams
    except ImportError:
        report.fail("teams", "the Teams SDK is not installed: pip install 'mentionbot[teams]'")
        return
    from bot.store import open_store

    try:
        store = open_store(settings.database_url)
    except Exception as exc:
        report.fail("teams", f"cannot open the database to list Teams channels: {exc}")
        return
    try:
        check_teams(settings, watch, store, report)
    finally:
        store.close()


def _check_public_accounts(settings: Settings, watch: WatchList, report: _Report) -> None:
    """Each brand account for public replies: are its secrets set, who is it, may it post.
    Nothing is posted."""
    from bot.publish.base import PLATFORM_LABELS, PublishError
    from bot.publish.registry import PublicReplies

    public = PublicReplies.from_config(watch, settings)
    try:
        for (brand, platform), why in sorted(public.named_unusable.items()):
            report.fail(f"account {brand} {PLATFORM_LABELS[platform]}", why)
        for (brand, platform), client in sorted(public.named.items()):
            what = f"account {brand} {PLATFORM_LABELS[platform]}"
            try:
                report.ok(what, client.check())
            except PublishError as exc:
                report.fail(what, str(exc))
    finally:
        public.close()


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
