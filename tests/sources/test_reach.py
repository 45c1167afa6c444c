"""Reach, where a platform gives it (bot/team/spread.py reads it): Hacker News points and
comments, Mastodon boosts, favourites and replies (of the boosted post for a boost), Reddit
score and comments; none where the platform says nothing."""

from __future__ import annotations

import pytest

from bot.sources.base import reach_of
from bot.sources.mastodon_api import status_to_entry
from bot.sources.reddit_posts import post_to_entry

STATUS = {
    "uri": "https://m.example/users/a/statuses/1", "url": "https://m.example/@a/1",
    "content": "<p>Acme!</p>", "created_at": "2026-11-24T09:00:00Z", "account": {"acct": "a"},
    "reblogs_count": 12, "favourites_count": 30, "replies_count": 4,
}  # fmt: skip


def test_a_mastodon_status_and_a_boost_carry_the_original_posts_reach() -> None:
    assert status_to_entry("m", STATUS).reach == 46
    boost = {"uri": "https://m.example/b", "reblog": STATUS, "reblogs_count": 0}
    assert status_to_entry("m", boost).reach == 46


def test_a_reddit_post_carries_score_and_comments() -> None:
    post = {"kind": "t3", "data": {"id": "abc", "title": "Acme", "selftext": "x", "score": 57,
                                   "num_comments": 9, "created_utc": 1764493200,
                                   "permalink": "/r/a/comments/abc/acme/"}}  # fmt: skip
    assert post_to_entry("r", post).reach == 66


@pytest.mark.parametrize(
    ("data", "expected"),
    [({}, None), ({"points": None}, None), ({"points": True}, None), ({"points": -5}, 0),
     ({"points": 3, "num_comments": "7"}, 3), ({"points": 3, "num_comments": 7}, 10)],
)  # fmt: skip
def test_reach_counts_only_what_the_platform_gave_as_numbers(
    data: dict[str, object], expected: int | None
) -> None:
    assert reach_of(data, "points", "num_comments") == expected
