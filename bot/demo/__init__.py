"""`mentionbot demo`: the whole pipeline on bundled sample feeds, with no network and no Slack.

The sample feeds (invented posts about a fictional brand, Acme, in English and Dutch) are
served from 127.0.0.1 by a throw-away HTTP server, polled twice through the real fetcher,
parser, pipeline, store and outbox, and the alerts are printed to the terminal.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import as_file, files
from pathlib import Path
from typing import TextIO

from bot.chat.console import ConsoleAdapter
from bot.config import BrandConfig, SourceConfig, WatchList, load_settings

FEEDS = ("news.atom", "forum.rss", "social.rss")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_watch_list(base_url: str) -> WatchList:
    return WatchList(
        brand=[
            BrandConfig(
                name="Acme",
                terms=["acme", '"acme corp"'],
                exclude=["acme markets"],
                channel="#acme-mentions",
                sources=[
                    SourceConfig(name=f"demo-{name.split('.')[0]}", url=f"{base_url}/{name}")
                    for name in FEEDS
                ],
            )
        ]
    )


def run_demo(out: TextIO) -> int:
    from bot.runtime import build_runtime

    # The alerts are the show; routine log lines would only bury them.
    logging.getLogger("bot").setLevel(logging.WARNING)

    with (
        as_file(files("bot.demo") / "feeds") as feeds,
        serve_directory(feeds) as base_url,
        tempfile.TemporaryDirectory(prefix="mentionbot-demo-") as tmp,
    ):
        settings = load_settings(
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            allow_private_hosts=["127.0.0.1"],
            slack_bot_token=None,
        )
        runtime = build_runtime(settings, ConsoleAdapter(out), watch=demo_watch_list(base_url))
        try:
            print(f"mentionbot demo: polling {len(FEEDS)} sample feeds at {base_url}", file=out)
            print(f"scorer: {runtime.scorer.name}\n", file=out)
            first = runtime.poller.poll_once()
            delivered = runtime.outbox.deliver_due()
            second = runtime.poller.poll_once()
            runtime.outbox.deliver_due()
        finally:
            runtime.close()
    p = first.pipeline
    print(
        f"\nfirst poll: {p.entries} entries, {p.matched} matched the brand terms, "
        f"{p.stored} stored ({p.duplicates} duplicate), {delivered.delivered} alert(s) shown above",
        file=out,
    )
    print(
        f"second poll: {second.not_modified} feed(s) answered 304 Not Modified, "
        f"{second.pipeline.stored} new mention(s), {second.pipeline.duplicates} already seen "
        "(each mention is kept exactly once)",
        file=out,
    )
    print(
        "\nNext: copy .env.example to .env, add Slack tokens (see README), and `make run`.",
        file=out,
    )
    return 0 if first.failed == 0 else 1
