"""The runtime starts the team's jobs (reach refreshed from every source that can tell), and
a platform without a renderer of its own (the console) gets digests and spikes as plain notes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from bot.chat.console import ConsoleAdapter
from bot.config import load_settings, load_watch_list
from bot.models import Route
from bot.runtime import build_runtime
from bot.team.build import NoteSender
from bot.team.digest import Digests
from bot.team.reminders import Reminders
from bot.team.spikes import Spikes, SpikeView
from bot.team.spread import Spread
from tests.team.conftest import ACME, watch


def test_the_runtime_runs_reminders_digests_and_spikes(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'rt.db'}", scorer="lexicon")
    runtime = build_runtime(settings, ConsoleAdapter(io.StringIO()), watch=watch(ACME))
    try:
        assert runtime.team is not None
        assert [type(j) for j in runtime.team.jobs] == [Reminders, Digests, Spikes, Spread]
        assert runtime.service.timing is runtime.outbox.timing is not None
        assert runtime.team.run_due()[1:] == [0, 0, 0]
    finally:
        runtime.close()


def test_a_platform_without_its_own_renderer_gets_the_spike_as_a_note() -> None:
    out = io.StringIO()
    view = SpikeView(
        brand="Acme", count=40, usual=4.0, since=datetime(2026, 11, 30, tzinfo=UTC),
        headline="📈 Spike: 40 negative mentions of Acme in the last hour (usually about 4)",
        summary=(("Mostly on hn (40).",),), top=(), phrases=(("charged twice", 30),),
    )  # fmt: skip
    NoteSender(ConsoleAdapter(out)).post_spike(Route("teams", "Care"), view)
    text = out.getvalue()
    assert "📈 Spike: 40 negative mentions of Acme" in text
    assert "Common phrases: “charged twice” × 30" in text


def test_every_source_that_can_tell_reach_is_refreshed_streams_included(tmp_path: Path) -> None:
    sources = """
[[brand.sources]]
kind = "hackernews"
name = "acme-hn"
[[brand.sources]]
kind = "reddit"
name = "acme-reddit"
[[brand.sources]]
kind = "mastodon"
name = "acme-mastodon"
instance = "https://mastodon.social"
tag = "acme"
[[brand.sources]]
kind = "feed"
name = "acme-blog"
url = "https://blog.example/feed.xml"
"""
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'rt.db'}", scorer="lexicon")
    path = tmp_path / "watch.toml"
    path.write_text(ACME + sources, encoding="utf-8")
    runtime = build_runtime(settings, ConsoleAdapter(io.StringIO()), watch=load_watch_list(path))
    try:
        assert runtime.team is not None
        [spread] = [j for j in runtime.team.jobs if isinstance(j, Spread)]
        assert set(spread.sources) == {"acme-hn", "acme-reddit", "acme-mastodon"}
    finally:
        runtime.close()
