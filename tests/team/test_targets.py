"""Response-time targets: working-time arithmetic, and the line every alert shows, kept
current by Slack's own date drawing and by one redraw when a target passes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_watch_list
from bot.models import Mention
from bot.team.hours import Hours, Quiet, parse_days, parse_range
from tests.team.conftest import TeamEnv
from tests.team.test_reminders import click

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = Hours(AMS, parse_days("mon-fri"), time(9), time(17))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (local(2026, 11, 24, 10, 0), 15, local(2026, 11, 24, 10, 15)),  # a Tuesday morning
        (local(2026, 11, 27, 16, 50), 15, local(2026, 11, 30, 9, 5)),  # Friday → Monday
        (local(2026, 11, 28, 12, 0), 60, local(2026, 11, 30, 10, 0)),  # Saturday → Monday
        (local(2026, 11, 24, 7, 0), 15, local(2026, 11, 24, 9, 15)),  # before opening
        (local(2026, 11, 24, 16, 0), 9 * 60 + 30, local(2026, 11, 26, 9, 30)),  # two days
        # Across the spring DST change (Sunday 29 March 2026): the window moves, not the sum.
        (local(2026, 3, 27, 16, 30), 60, local(2026, 3, 30, 9, 30)),
    ],
)
def test_working_time_is_added_across_evenings_weekends_and_dst(
    start: datetime, minutes: int, due: datetime
) -> None:
    assert OFFICE.add(start, minutes * 60) == due
    assert OFFICE.elapsed(start, due) == pytest.approx(minutes * 60)


def test_around_the_clock_is_plain_arithmetic_and_quiet_hours_span_midnight() -> None:
    start = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert Hours().add(start, 900) == start + timedelta(minutes=15)
    quiet = Quiet(AMS, *parse_range("22:00-07:00"))
    assert quiet.contains(local(2026, 11, 24, 23, 0)) and quiet.contains(local(2026, 11, 25, 6, 59))
    assert not quiet.contains(local(2026, 11, 25, 7, 0))
    assert quiet.ends_after(local(2026, 11, 24, 23, 0)) == local(2026, 11, 25, 7, 0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[brand.targets]\ntimezone = "Mars/Olympus"',
            "targets: 'Mars/Olympus' is not a time zone",
        ),
        ('[brand.targets]\nbusiness_hours = "9-17"', "targets: '9-17' is not a range"),
        ("[brand.targets]\nclaim_minutes = 0", "targets.claim_minutes"),
        ("[brand.escalation]\nescalate_minutes = 30", "escalate_minutes needs escalate_to"),
        ('[brand.escalation]\non_call = "@oncall"', "on_call '@oncall'"),
        ('[brand.escalation]\nquiet_hours = "22:00-22:00"', "is empty"),
        ('[brand.digest]\nweekly = "someday 09:00"', "name days as mon"),
        ('[brand.routing]\nquestions = "#Not A Channel"', "is not a Slack channel"),
    ],
)
def test_team_rules_in_the_watch_list_are_checked_by_brand_and_key(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(f'[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "#a"\n{extra}\n')
    with pytest.raises(ConfigError) as err:
        load_watch_list(path)
    assert "brand 'Acme'" in str(err.value) and message in str(err.value)


def _timing(blocks: list[dict[str, object]]) -> str:
    [block] = [b for b in blocks if b.get("block_id") == "mention-alert-timing"]
    return str(block["elements"][0]["text"])  # type: ignore[index]


def _date(at: datetime, tokens: str = "{date_short_pretty} at {time}") -> str:
    return f"<!date^{int(at.timestamp())}^{tokens}|{at.strftime('%Y-%m-%d %H:%M UTC')}>"


def test_every_alert_shows_its_targets_and_turns_overdue_at_the_minute(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    start = team_env.clock()
    mention_id, ts = team_env.alert(make_mention())
    [post] = [c for c in team_env.fake.calls_to("chat.postMessage") if c.body.get("blocks")]
    claim_due, reply_due = start + timedelta(minutes=15), start + timedelta(minutes=60)
    assert _timing(post.body["blocks"]) == (
        f"⏱ Claim by {_date(claim_due)} · first reply by {_date(reply_due)}"
    )
    team_env.tick(14)
    assert team_env.fake.calls_to("chat.update") == []  # nothing changed: no redraw
    assert team_env.tick(1).redrawn == 1
    [update] = team_env.fake.calls_to("chat.update")
    assert update.body["ts"] == ts
    assert _timing(update.body["blocks"]) == (
        f"⏰ Claim overdue since {_date(claim_due)} ({_date(claim_due, '{ago}')})"
        f" · first reply by {_date(reply_due)}"
    )
    assert team_env.tick(1).redrawn == 0  # once per target
    click(team_env, mention_id, "mention-claim")
    latest = team_env.fake.calls_to("chat.update")[-1]
    assert _timing(latest.body["blocks"]) == (
        f"⚠ claimed after 16 min (target 15 min) · first reply by {_date(reply_due)}"
    )
    assert "<!channel>" not in json.dumps(latest.body)


WEEKEND = """
[[brand]]
name = "Acme"
terms = ["acme"]
channel = "#alerts"
[brand.targets]
claim_minutes = 15
timezone = "Europe/Amsterdam"
business_hours = "09:00-17:00"
business_days = "mon-fri"
"""


def test_an_alert_on_friday_evening_is_due_on_monday_morning(
    fake_slack: object, tmp_path: Path, make_mention: Callable[..., Mention]
) -> None:
    from bot.store import open_store
    from tests.conftest import Clock
    from tests.team.conftest import make_team_env

    clock = Clock(local(2026, 11, 27, 18, 0))
    store = open_store(f"sqlite:///{tmp_path / 'weekend.db'}")
    env, stop = make_team_env(fake_slack, store, clock, WEEKEND)  # type: ignore[arg-type]
    try:
        env.alert(make_mention(fetched_at=clock(), published_at=clock()))
        [post] = [c for c in env.fake.calls_to("chat.postMessage") if c.body.get("blocks")]
        assert _timing(post.body["blocks"]).startswith(
            f"⏱ Claim by {_date(local(2026, 11, 30, 9, 15))}"
        )
        assert env.tick(60 * 24).redrawn == 0  # Saturday evening: not yet due
    finally:
        stop()
        store.close()
