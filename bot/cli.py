"""`mentionbot` command line: run | poll --once | check | status | demo | score | labels."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("bot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"mentionbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mentionbot",
        description="Watches the web for mentions of a brand and brings complaints to Slack.",
    )
    parser.add_argument("--version", action="version", version=f"mentionbot {__version__}")
    parser.add_argument("--watch", type=Path, help="watch list (TOML); default $WATCH_LIST")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING; default $LOG_LEVEL")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="poll sources and serve Slack until stopped")
    run.set_defaults(func=cmd_run)

    poll = sub.add_parser("poll", help="poll every source, deliver alerts")
    poll.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    poll.set_defaults(func=cmd_poll_once)

    check = sub.add_parser("check", help="validate settings, watch list, database and tokens")
    check.add_argument("--sources", action="store_true", help="also fetch every source once")
    check.set_defaults(func=cmd_check)

    package = sub.add_parser("teams-package", help="write the Teams app package to side-load")
    package.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("mentionbot-teams.zip"),
        help="zip to write (default mentionbot-teams.zip)",
    )
    package.add_argument(
        "--domain",
        action="append",
        default=[],
        help="a valid domain for the app (the bot's public host); repeatable",
    )
    package.set_defaults(func=cmd_teams_package)

    status = sub.add_parser("status", help="source health and publication-to-alert delay")
    status.set_defaults(func=cmd_status)

    demo = sub.add_parser("demo", help="offline demo: replay bundled sample feeds locally")
    demo.set_defaults(func=cmd_demo)

    labels = sub.add_parser("labels", help="corrections recorded from chat")
    labels_sub = labels.add_subparsers(metavar="ACTION")
    export = labels_sub.add_parser("export", help="write labels as JSONL to stdout or a file")
    export.add_argument("-o", "--output", type=Path, help="file to write (default stdout)")
    export.set_defaults(func=cmd_labels_export)

    from bot.analysis.cli import add_commands

    add_commands(sub)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "watch", None):
        overrides["watch_list"] = args.watch
    settings = load_settings(**overrides)
    level = (getattr(args, "log_level", None) or settings.log_level).upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # slack_sdk logs request bodies at DEBUG; keep it at INFO so no token reaches a log.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLogger().level))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # its start/stop chatter
    from bot.log_redaction import install

    install(settings)  # no secret in any log line, whichever logger writes it
    return settings


def chat_adapters(settings: Settings, store: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(for the outbox, for listeners), per platform. The outbox's never sleeps on a rate
    limit (it pauses the route instead); the listeners' may wait one out, because a click
    was already acknowledged and a late redraw beats a lost one. The console stands in for
    every platform when no chat platform is configured (a first run, the demo)."""
    from bot.chat.console import ConsoleAdapter
    from bot.models import Platform

    delivery: dict[str, Any] = {}
    interactive: dict[str, Any] = {}
    if settings.slack.enabled:
        from bot.chat.slack.app import listener_client
        from bot.chat.slack.channels import ChannelDirectory
        from bot.chat.slack.transport import SlackAdapter, web_client

        client = listener_client(settings)
        directory = ChannelDirectory(client)  # one cache of channel ids for both
        delivery[Platform.SLACK] = SlackAdapter(web_client(settings), directory=directory)
        interactive[Platform.SLACK] = SlackAdapter(client, directory=directory)
    if settings.teams.enabled and store is not None:
        # Teams knows its channels from the store (learnt on install): one adapter serves
        # both, since the SDK client never sleeps on a rate limit.
        from bot.chat.teams.app import teams_adapter

        delivery[Platform.TEAMS] = interactive[Platform.TEAMS] = teams_adapter(settings, store)
    if not delivery:
        console = ConsoleAdapter(sys.stdout)
        delivery = {platform.value: console for platform in Platform}
        interactive = dict(delivery)
    return delivery, interactive


def cmd_run(args: argparse.Namespace) -> int:
    from bot.metrics import serve
    from bot.runtime import build_runtime, start_background
    from bot.store import open_store
    from bot.web import Inbound, WebFront, build_web_app

    settings = _settings(args)
    store = open_store(settings.database_url)
    delivery, interactive = chat_adapters(settings, store)
    runtime = build_runtime(settings, delivery, interactive=interactive, store=store)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    platforms = [name for name, on in (("Slack", settings.slack.enabled),
                                       ("Teams", settings.teams.enabled)) if on]  # fmt: skip
    log.info(
        "watching %d brand(s), %d polled and %d streamed source(s); store %s; scorer %s; "
        "alerts to %s",
        len(runtime.watch.brand), len(runtime.poller.jobs), len(runtime.streams),
        _safe_url(settings.database_url),
        runtime.scorer.name, " and ".join(platforms) or "this terminal",
    )  # fmt: skip
    chat, front, threads = Inbound(), None, []
    try:
        if settings.slack.enabled:
            from bot.chat.slack.app import build_app
            from bot.chat.slack.inbound import start_inbound

            # Before any polling: a rejected token ends the start with one line.
            app = build_app(settings, runtime.service, adapter=interactive["slack"])
            chat = start_inbound(app, settings)
        if settings.teams.enabled:
            from bot.chat.teams.app import teams_inbound

            chat = chat + teams_inbound(settings, runtime.service, interactive["teams"])
        if platforms:
            web = build_web_app(chat.routes, health=chat.health, metrics=not settings.metrics_port)
            front = WebFront(web, settings.http_host, settings.http_port).start()
            log.info(
                "web front on http://%s:%d: /healthz%s%s%s", settings.http_host, front.port,
                "" if settings.metrics_port else ", /metrics",
                ", /slack/events" if settings.slack.enabled and settings.slack.mode == "http"
                else "",
                ", /api/messages" if settings.teams.enabled else "",
            )  # fmt: skip
        serve(settings.metrics_port)
        threads = start_background(runtime, stop)
        if not platforms:
            log.info("no chat platform configured: printing alerts here. Ctrl-C to stop.")
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        chat.close()
        if front is not None:
            front.stop()
        for thread in threads:
            thread.join(timeout=10)
        runtime.close()
    return 0


def cmd_poll_once(args: argparse.Namespace) -> int:
    from bot.runtime import build_runtime
    from bot.store import open_store

    settings = _settings(args)
    store = open_store(settings.database_url)
    runtime = build_runtime(settings, chat_adapters(settings, store)[0], store=store)
    try:
        report = runtime.poller.poll_once()
        delivery = runtime.outbox.deliver_due()
    finally:
        runtime.close()
    p = report.pipeline
    print(
        f"polled {report.polled} source(s): {report.failed} failed, {report.not_modified} "
        f"unchanged; {p.entries} entries, {p.matched} matched, {p.stored} new, "
        f"{p.duplicates} already seen; {delivery.delivered} alert(s) delivered, "
        f"{delivery.failed} failed (kept queued)"
    )
    if runtime.streams:
        names = ", ".join(job.source.name for job in runtime.streams)
        print(f"not polled: {names} (pushed live; they run with `mentionbot run`)")
    return 1 if report.polled and report.failed == report.polled else 0


def cmd_teams_package(args: argparse.Namespace) -> int:
    from bot.chat.teams.package import write_package

    settings = _settings(args)
    try:
        path = write_package(args.output, settings.teams.app_id, domains=tuple(args.domain))
    except ConfigError as exc:
        print(f"mentionbot: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}: upload it in Teams (Apps → Manage your apps → Upload an app)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.checks import run_checks

    return run_checks(args, _settings)


def cmd_status(args: argparse.Namespace) -> int:
    from bot.runtime import utcnow
    from bot.status import format_table, gather_status
    from bot.store import open_store

    settings = _settings(args)
    store = open_store(settings.database_url)
    try:
        print(format_table(gather_status(store, utcnow())))
    finally:
        store.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    _settings(args)  # logging as configured
    return run_demo(sys.stdout)


def cmd_labels_export(args: argparse.Namespace) -> int:
    from bot.store import open_store

    settings = _settings(args)
    store = open_store(settings.database_url)
    try:
        rows = store.labels()
    finally:
        store.close()
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.output:
        args.output.write_text(lines, encoding="utf-8")
        print(f"wrote {len(rows)} label(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(lines)
    return 0


def _safe_url(url: str) -> str:
    """A database URL fit for a log: no password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url
