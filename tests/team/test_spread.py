"""Spread: reach from Hacker News (points and comments) at first sight and refreshed from
its items API while the alert is open; a fast climb says so once in the thread and marks the
alert a priority (first in the open queue), through the real Slack transport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from bot.analysis import get_scorer
from bot.config import load_settings
from bot.http import HttpFetcher
from bot.models import Mention
from bot.pipeline import BrandRule, Pipeline
from bot.sources.base import FeedState
from bot.sources.hackernews import HackerNewsSource, count_replies, hit_to_entry
from bot.team.spread import Climb, Spread
from tests.fakes.fake_slack import slash_command_body
from tests.fakes.platform_api import PlatformApi
from tests.team.conftest import TeamEnv, watch


@pytest.fixture
def hn() -> Iterator[PlatformApi]:
    api = PlatformApi().start()
    yield api
    api.stop()


def story(object_id: str, at: int, points: int, comments: int) -> dict[str, object]:
    return {"_tags": ["story", "author_ann", f"story_{object_id}"], "author": "ann",
            "title": "Acme charged me twice and support will not answer",
            "story_text": "", "url": "https://example.com/acme", "created_at_i": at,
            "objectID": object_id, "points": points, "num_comments": comments}  # fmt: skip


def item(points: int, comments: int) -> dict[str, object]:
    # Half the comments are replies to the other half: the tree is counted whole.
    top = [{"id": n, "children": []} for n in range(comments - comments // 2)]
    for n in range(comments // 2):
        top[n % len(top)]["children"].append({"id": 1000 + n, "children": []})  # type: ignore[attr-defined]
    return {"id": 1, "points": points, "children": top}


def test_reach_is_points_plus_comments() -> None:
    assert hit_to_entry("hn", story("1", 1795510000, 5, 2)).reach == 7
    comment = {"_tags": ["comment"], "comment_text": "acme", "objectID": "2",
               "created_at_i": 1795510000, "points": None, "num_comments": None}  # fmt: skip
    assert hit_to_entry("hn", comment).reach is None
    assert count_replies(item(0, 9)["children"]) == 9
    assert Climb(7, 140, timedelta(minutes=50)).spreading
    assert not Climb(40, 100, timedelta(minutes=50)).spreading  # not three times
    assert not Climb(2, 40, timedelta(minutes=50)).spreading  # too small to matter


def open_listing(env: TeamEnv) -> str:
    """`/mentions open` through Slack, as the answer's blocks."""
    name = f"open-{len(env.fake.calls)}"
    body = slash_command_body("open", user="U0ALICE01", channel="C0ALERTS",
                              response_url=env.fake.response_url(name))  # fmt: skip
    assert env.slack.post(body).status == 200
    [answer] = env.fake.wait_for("response_url", where=lambda c: c.path.endswith(name))
    return json.dumps(answer.body.get("blocks"), ensure_ascii=False)


def test_a_fast_climb_is_said_once_in_the_thread_and_shown_on_the_alert(
    team_env: TeamEnv, hn: PlatformApi, make_mention: Callable[..., Mention]
) -> None:
    fetcher = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"])
    try:
        now = team_env.clock()
        start = int(now.timestamp())
        hn.hits = [story("9001", start - 600, 5, 2)]
        source = HackerNewsSource("hn", hn.base_url + "/api/v1/", "acme", fetcher,
                                  clock=lambda: float(start))  # fmt: skip
        rule = BrandRule.from_config(watch().brand[0], load_settings(alert_threshold=0.3))
        pipeline = Pipeline(team_env.store, get_scorer("lexicon"), team_env.clock)
        [mention_id] = pipeline.process(rule, source.fetch(FeedState()).entries).new_ids
        team_env.slack.outbox.deliver_due()
        [post] = [c for c in team_env.fake.calls_to("chat.postMessage") if c.body.get("blocks")]
        timing = json.dumps(post.body["blocks"], ensure_ascii=False)
        assert "📈 reach 7" in timing
        spread = Spread(team_env.store, {"hn": source}, team_env.slack.service.redraw)

        hn.items["9001"] = item(20, 5)
        team_env.clock.advance(5 * 60)
        assert spread.run_due(team_env.clock()) == 0  # refreshed only every 10 minutes
        assert [v for _, v in team_env.store.reach_history(mention_id)] == [7]
        team_env.clock.advance(5 * 60)
        assert spread.run_due(team_env.clock()) == 0  # 25: climbing, not yet far
        hn.items["9001"] = item(100, 40)
        team_env.clock.advance(40 * 60)
        assert spread.run_due(team_env.clock()) == 1
        team_env.slack.outbox.deliver_due()
        ts = team_env.store.deliveries(mention_id)[0].message_id
        [note] = [c.body["text"] for c in team_env.fake.calls_to("chat.postMessage")
                  if c.body.get("thread_ts") == ts]  # fmt: skip
        assert note == (
            "📣 This is spreading: reach 7 → 140 in 50 min on hn. It is now a priority."
        )
        latest = json.dumps(team_env.fake.calls_to("chat.update")[-1].body["blocks"],
                            ensure_ascii=False)  # fmt: skip
        assert "📈 reach 140 · 🔥 spreading: priority" in latest
        hn.items["9001"] = item(300, 80)
        team_env.clock.advance(15 * 60)
        assert spread.run_due(team_env.clock()) == 0  # said once
        assert [v for _, v in team_env.store.reach_history(mention_id)] == [7, 25, 140, 380]
        # A priority: it heads the open queue, before complaints that came after it.
        team_env.alert(make_mention(title="A newer complaint", fetched_at=team_env.clock()))
        listing = open_listing(team_env)
        assert listing.index("charged me twice") < listing.index("A newer complaint")
    finally:
        fetcher.close()
