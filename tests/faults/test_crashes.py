"""SIGKILL in the middle of polls and deliveries, one process or three replicas: after
restarts every negative mention is posted exactly once, none lost, none twice."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import serve_directory
from tests.fakes.fake_slack import FakeSlack
from tests.faults.harness import Replicas, crash_trial, replica_env, write_feeds, write_watch_list

CHANNEL = "#faults"  # named as users name it; the replicas resolve it to Slack's id
SEED = int(os.environ.get("CRASH_SEED", "20261125"))


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[tuple[str, int]]:
    expected = write_feeds(tmp_path / "feeds", feeds=4, per_feed=6)
    with serve_directory(tmp_path / "feeds") as base_url:
        yield base_url, expected


def run_trial(
    fake: FakeSlack, tmp_path: Path, database_url: str, base_url: str, expected: int,
    *, replicas: int, kills: int, seed: int,
) -> None:  # fmt: skip
    workdir = tmp_path / f"run-{seed}"
    workdir.mkdir()
    watch = workdir / "watch.toml"
    write_watch_list(watch, base_url, feeds=4, channel=CHANNEL)
    group = Replicas(replica_env(fake, database_url, watch), workdir)
    group.start(replicas)
    try:
        posted = crash_trial(
            fake, group, expected, random.Random(seed), kills=kills, database_url=database_url
        )
    except AssertionError:
        group.stop()
        raise AssertionError(f"not every alert arrived\n{group.logs()}") from None
    finally:
        group.stop()
    twice = {m: n for m, n in Counter(posted).items() if n > 1}
    assert not twice, f"posted more than once: {twice}\n{group.logs()}"
    assert len(set(posted)) == expected


def test_single_process_killed_mid_poll_and_mid_delivery_loses_and_repeats_nothing(
    fake_slack: FakeSlack, tmp_path: Path, feeds: tuple[str, int]
) -> None:
    base_url, expected = feeds
    run_trial(
        fake_slack, tmp_path, f"sqlite:///{tmp_path / 'bot.db'}", base_url, expected,
        replicas=1, kills=3, seed=SEED,
    )  # fmt: skip


@pytest.mark.postgres
def test_three_replicas_on_postgres_with_one_killed_at_random_post_each_alert_once(
    fake_slack: FakeSlack, tmp_path: Path, feeds: tuple[str, int], pg_url: str
) -> None:
    base_url, expected = feeds
    run_trial(fake_slack, tmp_path, pg_url, base_url, expected, replicas=3, kills=3, seed=SEED + 1)


@pytest.mark.stress
@pytest.mark.parametrize("trial", range(50))
def test_stress_crash_trials(
    fake_slack: FakeSlack, tmp_path: Path, feeds: tuple[str, int], trial: int
) -> None:
    """On demand: `pytest -m stress tests/faults` runs 50 single-process trials."""
    base_url, expected = feeds
    run_trial(
        fake_slack, tmp_path, f"sqlite:///{tmp_path / 'bot.db'}", base_url, expected,
        replicas=1, kills=4, seed=SEED + 100 + trial,
    )  # fmt: skip
