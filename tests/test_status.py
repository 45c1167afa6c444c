"""`mentionbot status`: health and delay figures read back from the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.models import Mention, MessageRef
from bot.status import format_table, gather_status, percentile
from bot.store import Store
from tests.conftest import Clock


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([1.0], 0.95, 1.0), ([1.0, 2.0], 0.5, 1.0), (list(map(float, range(1, 101))), 0.95, 95.0)],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_status_shows_each_source_its_state_and_delays(
    sqlite_store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    sqlite_store.record_poll("test-feed", at=clock(), interval=300, items=3)
    sqlite_store.record_poll("broken", at=clock(), interval=60, error="HTTP 503 from host")
    for seconds in (10, 20, 30):
        sqlite_store.add_mention(
            make_mention(published_at=clock() - timedelta(seconds=seconds)), alert=True
        )
    for alert in sqlite_store.due_deliveries(clock(), 10):
        sqlite_store.mark_delivered(
            alert.id, message=MessageRef("slack", "C0ALERTS", "1.0"), at=clock()
        )
    report = gather_status(sqlite_store, clock.advance(5))
    by_source = {r.status.source: r for r in report.sources}
    assert by_source["test-feed"].delay_median == pytest.approx(20)
    assert by_source["test-feed"].delay_p95 == pytest.approx(30)
    table = format_table(report)
    assert "failing ×1" in table and "HTTP 503 from host" in table
    assert "20 s / 30 s" in table
    assert "alerts waiting for delivery: 0" in table


def test_status_names_a_chat_route_that_is_failing(sqlite_store: Store, clock: Clock) -> None:
    from bot.models import Route

    route = Route("slack", "#gone")
    error = "Slack refused chat.postMessage: channel_not_found"
    until = clock() + timedelta(minutes=10)
    sqlite_store.pause_route(route, until=until, error=error, at=clock())
    table = format_table(gather_status(sqlite_store, clock()))
    assert "route slack:#gone failing ×1, retried in 10 min" in table
    assert "channel_not_found" in table
