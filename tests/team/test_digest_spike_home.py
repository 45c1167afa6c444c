"""Digests (at the local time, once, with a chart uploaded through Slack's file flow and a
table with the same numbers), spike alerts on a synthetic history with daily and weekly
seasonality, and the App Home, all through the real Slack transport against the fake."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.slack.team import SlackTeamSender
from bot.models import Mention, Sentiment
from bot.store import open_store
from bot.team.chart import HEIGHT_PX, WIDTH_PX
from bot.team.digest import Digests
from bot.team.spikes import Spikes, common_phrases
from tests.conftest import Clock, make_verdict
from tests.fakes.fake_slack import FakeSlack, block_actions_body
from tests.team.conftest import ACME, TeamEnv, make_team_env, save_sample
from tests.team.limits import check_blocks

DIGEST = ACME + '[brand.digest]\ndaily = "09:00"\nweekly = "mon 09:00"\n'


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])  # type: ignore[return-value]


@pytest.fixture
def digest_env(
    fake_slack: FakeSlack, tmp_path: Path, make_mention: Callable[..., Mention]
) -> TeamEnv:
    # Monday 30 November 2026, 08:00 in Amsterdam (07:00 UTC).
    clock = Clock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    store = open_store(f"sqlite:///{tmp_path / 'digest.db'}")
    env, stop = make_team_env(fake_slack, store, clock, DIGEST)
    env.stop = stop  # type: ignore[attr-defined]
    yield env  # type: ignore[misc]
    stop()
    store.close()


def digests(env: TeamEnv) -> Digests:
    sender = SlackTeamSender(env.slack.outbox.adapters["slack"])  # type: ignore[arg-type]
    return Digests(env.store, env.policies, {"slack": sender}, env.clock)


def test_the_daily_and_weekly_digests_go_out_once_at_the_local_time_with_chart_and_table(
    digest_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    env = digest_env
    env.clock.advance(-3600 * 12)  # Sunday evening: three complaints, one praise
    for n in range(3):
        mention_id, _ = env.alert(
            make_mention(
                title=f"Broken <!channel> order {n}",
                fetched_at=env.clock(),
                published_at=env.clock(),
            )
        )
        if n == 0:
            from bot import workflow

            workflow.claim(env.store, mention_id, "slack:U0ALICE01",
                           env.clock() + timedelta(minutes=10))  # fmt: skip
    env.store.add_mention(
        make_mention(verdict=make_verdict(Sentiment.POSITIVE, 0.2), fetched_at=env.clock()),
        alert=False,
    )
    env.clock.advance(3600 * 12 + 59 * 60)  # 08:59 local
    job = digests(env)
    assert job.run_due(env.clock()) == 0
    env.clock.advance(60)  # 09:00 local: the daily and, on a Monday, the weekly
    assert job.run_due(env.clock()) == 2
    assert job.run_due(env.clock() + timedelta(minutes=1)) == 0  # once
    second = Digests(env.store, env.policies, job.senders, env.clock)  # another replica
    assert second.run_due(env.clock()) == 0
    posts = [c for c in env.fake.calls_to("chat.postMessage") if "digest" in c.body["text"]]
    assert [p.body["text"] for p in posts] == [
        "📊 Acme — daily digest, Sun 29 Nov 2026",
        "📊 Acme — weekly digest, week of 23 Nov 2026",
    ]
    daily = posts[0].body["blocks"]
    check_blocks(daily)
    text = json.dumps(daily, ensure_ascii=False)
    assert "4 mentions (3 negative, 1 positive); 3 alerted, 0 muted." in text
    assert "Open complaints now: 3." in text
    assert "  to claim         1      10 min      10 min  1/1 (target 15 min)" in text
    assert "Broken &lt;!channel&gt; order 0" in text and "<!channel>" not in text
    assert "• <@U0ALICE01>: 1 · 0 · 0" in text
    # Each digest's chart: uploaded and shared in the channel, a PNG of the planned size.
    charts = list(env.fake.files.values())
    assert [c["filename"] for c in charts] == [
        "acme-daily-20261129.png",
        "acme-weekly-20261123.png",
    ]
    for chart in charts:
        assert png_size(chart["content"]) == (WIDTH_PX, HEIGHT_PX)
        assert chart["shares"] == [{"channel": "C0ALERTS", "comment": ""}]
        assert chart["alt_txt"].startswith("Mentions of Acme per")
    save_sample("digest-weekly.png", charts[1]["content"])
    save_sample("digest-daily.json", posts[0].body)


def test_a_digest_whose_chart_cannot_be_uploaded_still_has_its_table(
    digest_env: TeamEnv,
) -> None:
    env = digest_env
    env.fake.fail_next("files.getUploadURLExternal", error="missing_scope")
    env.clock.advance(2 * 3600)
    assert digests(env).run_due(env.clock()) == 2
    [first, _] = [c for c in env.fake.calls_to("chat.postMessage") if "digest" in c.body["text"]]
    assert "Sentiment trend" in json.dumps(first.body["blocks"])
    assert len(env.fake.files) == 1  # the weekly one's chart went up


def test_a_digest_missed_by_hours_is_skipped_not_sent_late(digest_env: TeamEnv) -> None:
    digest_env.clock.advance(5 * 3600)  # 13:00 local: the bot was down at 09:00
    assert digests(digest_env).run_due(digest_env.clock()) == 0


# --- spikes -----------------------------------------------------------------------------------

START = datetime(2026, 10, 26, 0, 0, tzinfo=UTC)  # a Monday, five weeks before the test


def usual(at: datetime) -> int:
    """Negative mentions an hour: quiet nights, busy office hours, and Monday mornings the
    busiest of all (the weekly backlog)."""
    hour, monday = at.hour, at.weekday() == 0
    if 8 <= hour < 12:
        return 24 if monday else 8
    if 12 <= hour < 18:
        return 5
    return 1


def seed(store: object, make_mention: Callable[..., Mention], until: datetime) -> None:
    items = []
    at, n = START, 0
    while at < until:
        for k in range(usual(at)):
            n += 1
            moment = at + timedelta(minutes=(k * 7) % 60)
            items.append((make_mention(external_id=f"h{n}", text=f"late parcel {n}",
                                       fetched_at=moment, published_at=moment,
                                       url=f"https://x.example/{n}"), False))  # fmt: skip
        at += timedelta(hours=1)
    store.add_mentions(items)  # type: ignore[attr-defined]


def spikes(env: TeamEnv) -> Spikes:
    sender = SlackTeamSender(env.slack.outbox.adapters["slack"])  # type: ignore[arg-type]
    return Spikes(env.store, env.policies, {"slack": sender}, env.clock, terms={"Acme": ["acme"]})


@pytest.fixture
def spike_env(fake_slack: FakeSlack, tmp_path: Path) -> TeamEnv:
    clock = Clock(datetime(2026, 11, 30, 11, 0, tzinfo=UTC))  # Monday 11:00 UTC
    store = open_store(f"sqlite:///{tmp_path / 'spike.db'}")
    env, stop = make_team_env(fake_slack, store, clock)
    yield env  # type: ignore[misc]
    stop()
    store.close()


def test_no_spike_on_a_normal_monday_morning_and_one_alert_on_a_real_spike(
    spike_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    env = spike_env
    now = env.clock()
    seed(env.store, make_mention, now - timedelta(hours=1))
    # A normal Monday 10:00-11:00: 24 complaints, three times a weekday morning.
    seed_hour = [
        (make_mention(external_id=f"m{k}", text=f"late parcel again {k}",
                      fetched_at=now - timedelta(minutes=59 - k * 2),
                      url=f"https://m.example/{k}"), False)
        for k in range(24)
    ]  # fmt: skip
    env.store.add_mentions(seed_hour)
    job = spikes(env)
    assert job.check("Acme", now) is None
    assert job.run_due(now) == 0
    # The next hour (still Monday morning, usually 24): 100 complaints about one thing.
    env.clock.advance(3600)
    later = env.clock()
    burst = [
        (make_mention(external_id=f"s{k}", title=f"Acme app charged me twice #{k}",
                      text="The Acme app charged me twice, refund please",
                      fetched_at=later - timedelta(seconds=35 * (k + 1)),
                      url=f"https://s.example/{k}",
                      verdict=make_verdict(attention=0.5 + k / 200)), False)
        for k in range(100)
    ]  # fmt: skip
    env.store.add_mentions(burst)
    assert job.run_due(later) == 1
    assert job.run_due(later + timedelta(minutes=30)) == 0  # cooldown
    [post] = [c for c in env.fake.calls_to("chat.postMessage") if "Spike" in c.body["text"]]
    assert post.body["channel"] == "C0ALERTS"
    assert post.body["text"] == (
        "📈 Spike: 100 negative mentions of Acme in the last hour (usually about 24)"
    )
    check_blocks(post.body["blocks"])
    text = json.dumps(post.body["blocks"], ensure_ascii=False)
    assert "“charged twice” × 100" in text and "acme" not in text.split("Common phrases")[1]
    save_sample("spike.json", post.body)

    # The flood goes on: through the real pipeline, its complaints are stored and flagged but
    # not posted one by one; one notice a minute later says how many, and why.
    from bot.analysis import get_scorer
    from bot.matching import TermSet
    from bot.models import RawEntry, Route
    from bot.pipeline import BrandRule, Pipeline
    from bot.runtime import queue_held_back_summaries

    env.clock.advance(60)
    rule = BrandRule("Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), 0.05)
    flood = [
        RawEntry(
            "flood", f"f{k}", f"https://f.example/{k}", "", f"Acme charged me twice {k}, awful"
        )
        for k in range(20)
    ]
    report = Pipeline(env.store, get_scorer("lexicon"), env.clock).process(rule, flood)
    assert (report.stored, report.alerts, report.held_back) == (20, 0, 20)
    assert env.store.pending_count() == 0
    env.clock.advance(61)
    assert queue_held_back_summaries(env.store, env.clock())
    [notice] = env.store.due_notices(env.clock(), 10)
    assert notice.text.startswith("20 more mentions of Acme")
    assert "a spike alert for Acme covers them" in notice.text
    # An hour after the spike alert, single alerts go out again.
    env.clock.advance(3600)
    later = [RawEntry("flood", "g1", "https://f.example/g1", "", "Acme charged me twice, awful")]
    assert Pipeline(env.store, get_scorer("lexicon"), env.clock).process(rule, later).alerts == 1


def test_a_new_brand_never_spikes(spike_env: TeamEnv, make_mention: Callable[..., Mention]) -> None:
    now = spike_env.clock()
    burst = [
        (make_mention(external_id=f"n{k}", fetched_at=now - timedelta(minutes=k % 59),
                      url=f"https://n.example/{k}"), False)
        for k in range(200)
    ]  # fmt: skip
    spike_env.store.add_mentions(burst)
    assert spikes(spike_env).run_due(now) == 0


def test_common_phrases_skip_the_brand_and_stopwords() -> None:
    texts = ["Acme lost my parcel", "the parcel was lost by Acme", "lost parcel, Acme!"]
    assert common_phrases(texts, ["acme"]) == [("lost parcel", 2)]


# --- the App Home -----------------------------------------------------------------------------


def home_opened(env: TeamEnv, user: str) -> None:
    body = json.dumps({
        "token": "legacy", "team_id": "T0000TEAM", "api_app_id": "A0000APP",
        "type": "event_callback", "event_id": "Ev0001", "event_time": 1700000000,
        "event": {"type": "app_home_opened", "user": user, "channel": "D0" + user[1:],
                  "tab": "home", "event_ts": "1700000000.000100"},
    })  # fmt: skip
    assert env.slack.post(body).status == 200


def test_the_app_home_shows_mine_the_queue_and_the_week_and_its_buttons_act(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    mine, _ = team_env.alert(make_mention(title="Mine to answer"))
    other, _ = team_env.alert(make_mention(title="Nobody's yet"))
    from bot import workflow

    workflow.claim(team_env.store, mine, "slack:U0ALICE01", team_env.clock())
    home_opened(team_env, "U0ALICE01")
    home = team_env.fake.homes["U0ALICE01"]
    check_blocks(home["blocks"], max_blocks=100)
    text = json.dumps(home, ensure_ascii=False)
    assert text.index("Mine to answer") < text.index("Open queue") < text.index("Nobody's yet")
    assert "This week" in text and "Mentions 2 (alerted 2, muted 0)" in text
    # A click on the queue's Claim button, from the home tab: acts, redraws, republishes.
    payload = json.loads(
        __import__("urllib.parse").parse.parse_qs(
            block_actions_body("mention-claim", str(other), user="U0ALICE01")
        )["payload"][0]
    )
    payload["container"] = {"type": "view", "view_id": "V1"}
    payload["view"] = {"id": "V1", "type": "home"}
    payload.pop("channel")
    from urllib.parse import urlencode

    assert team_env.slack.post(urlencode({"payload": json.dumps(payload)})).status == 200
    assert team_env.store.get_mention(other).owner == "slack:U0ALICE01"  # type: ignore[union-attr]
    republished = json.dumps(team_env.fake.homes["U0ALICE01"], ensure_ascii=False)
    assert "Open queue (nobody owns these)* (0)" in republished
    save_sample("home.json", team_env.fake.homes["U0ALICE01"])


def test_a_digest_slack_refuses_is_queued_as_text_and_sent_by_the_outbox(
    digest_env: TeamEnv,
) -> None:
    env = digest_env
    env.fake.fail_next("chat.postMessage", times=2, error="channel_not_found")
    env.clock.advance(2 * 3600)
    assert digests(env).run_due(env.clock()) == 2
    env.slack.outbox.deliver_due()
    texts = [c.body.get("text", "") for c in env.fake.calls_to("chat.postMessage")]
    assert texts[-2:] == [
        "📊 Acme — daily digest, Sun 29 Nov 2026\n0 mentions (none); 0 alerted, 0 muted.\n"
        "Open complaints now: 0.",
        "📊 Acme — weekly digest, week of 23 Nov 2026\n0 mentions (none); 0 alerted, 0 muted.\n"
        "Open complaints now: 0.",
    ]
