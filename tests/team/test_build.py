"""The runtime starts the team's jobs, and a platform without a renderer of its own (the
console now; Teams until it has one) gets digests and spikes as plain notes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from bot.chat.console import ConsoleAdapter
from bot.config import load_settings
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
