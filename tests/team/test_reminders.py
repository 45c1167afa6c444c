"""Reminders and escalation through the real Slack transport, time injected: each at its
minute, once across a restart and across two replicas, waiting out quiet hours, and stopped
by a state change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.models import Mention, Status
from bot.store import open_store
from bot.team.policy import Policies
from bot.team.reminders import Reminders
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack, block_actions_body
from tests.team.conftest import ACME, TeamEnv, make_team_env, save_sample, watch


def click(env: TeamEnv, mention_id: int, action: str, user: str = "U0ALICE01") -> None:
    [delivery] = [d for d in env.store.deliveries(mention_id) if d.route.channel == "#alerts"]
    assert delivery.message is not None
    body = block_actions_body(
        action,
        str(mention_id),
        user=user,
        channel=delivery.message.channel_id,
        message_ts=delivery.message.message_id,
    )
    assert env.slack.post(body).status == 200


def test_an_unclaimed_alert_is_reannounced_then_escalated_each_at_its_minute(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = team_env.alert(make_mention())
    assert team_env.tick(29).reannounced == 0
    assert team_env.thread(ts) == []
    assert team_env.tick(1).reannounced == 1
    [note] = team_env.thread(ts)
    # The on-call group is pinged, as Slack pings a user group.
    assert note.startswith("<!subteam^S0ONCALL> ⏰ Still unclaimed after 30 min")
    assert team_env.tick(29).escalated == 0
    assert team_env.tick(1).escalated == 1
    # The alert itself goes to the escalation route, with its buttons, and a note under it.
    ops = [d for d in team_env.store.deliveries(mention_id) if d.route.channel == "#ops"]
    assert len(ops) == 1 and ops[0].channel_id == "C0OPS" and ops[0].message_id
    [escalation] = team_env.thread(ops[0].message_id)
    posted = [c.body for c in team_env.fake.calls_to("chat.postMessage")]
    save_sample("escalation.json", [b for b in posted if b.get("channel") in ("C0OPS", "#ops")]
                + [b for b in posted if b.get("thread_ts")])  # fmt: skip
    assert escalation.startswith("<!subteam^S0ONCALL> 🚨 Escalated: nobody has claimed")
    assert "in 1 h" in escalation
    # Nothing more, however long it waits.
    team_env.tick(120)
    assert len(team_env.thread(ts)) == 1 and len(team_env.thread(ops[0].message_id)) == 1


def test_a_claim_stops_the_reminders_even_one_already_queued(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = team_env.alert(make_mention())
    team_env.clock.advance(30 * 60)
    assert team_env.reminders.run_due(team_env.clock()).reannounced == 1  # queued, not sent
    click(team_env, mention_id, "mention-claim")
    team_env.slack.outbox.deliver_due()
    assert team_env.thread(ts) == []  # the outbox dropped it: the alert moved on
    assert team_env.tick(60).escalated == 0
    assert all(d.route.channel != "#ops" for d in team_env.store.deliveries(mention_id))


def test_the_owner_is_reminded_once_after_k_hours_and_a_new_claim_restarts_the_clock(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = team_env.alert(make_mention())
    click(team_env, mention_id, "mention-claim")
    assert team_env.tick(239).owners_reminded == 0
    assert team_env.tick(1).owners_reminded == 1
    [note] = team_env.thread(ts)
    assert note.startswith("<@U0ALICE01> ⏰ Reminder: you claimed this 4 h ago")
    assert team_env.tick(60).owners_reminded == 0
    click(team_env, mention_id, "mention-unclaim")
    click(team_env, mention_id, "mention-claim", user="U0BOB0001")
    assert team_env.tick(239).owners_reminded == 0
    assert team_env.tick(1).owners_reminded == 1
    assert team_env.thread(ts)[-1].startswith("<@U0BOB0001> ⏰ Reminder")


def test_no_reminder_is_sent_twice_across_a_restart(
    fake_slack: FakeSlack, tmp_path: Path, clock: Clock, make_mention: Callable[..., Mention]
) -> None:
    path = f"sqlite:///{tmp_path / 'restart.db'}"
    store = open_store(path)
    env, stop = make_team_env(fake_slack, store, clock)
    try:
        _, ts = env.alert(make_mention())
        assert env.tick(30).reannounced == 1
    finally:
        stop()
        store.close()
    # A new process on the same database, the same minute and later.
    store = open_store(path)
    env, stop = make_team_env(fake_slack, store, clock)
    try:
        assert env.tick(0).reannounced == 0
        assert env.tick(5).reannounced == 0
        assert len(env.thread(ts)) == 1
    finally:
        stop()
        store.close()


def test_two_replicas_send_each_reminder_once(
    fake_slack: FakeSlack, database_url: str, clock: Clock, make_mention: Callable[..., Mention]
) -> None:
    first, second = open_store(database_url), open_store(database_url)
    env, stop = make_team_env(fake_slack, first, clock)
    try:
        mention_id, ts = env.alert(make_mention())
        clock.advance(60 * 60)  # re-announcement and escalation both due
        policies = Policies.from_brands(watch(ACME).brand)
        replicas = [
            Reminders(store, policies, env.slack.service.redraw) for store in (first, second)
        ]
        start = threading.Barrier(len(replicas))
        reports = []

        def run(replica: Reminders) -> None:
            start.wait(timeout=5)
            reports.append(replica.run_due(clock()))

        threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sum(r.reannounced for r in reports) == 1
        assert sum(r.escalated for r in reports) == 1
        env.slack.outbox.deliver_due()
        env.slack.outbox.deliver_due()  # the escalation note waits for its alert
        assert len(env.thread(ts)) == 1
        ops = [d for d in first.deliveries(mention_id) if d.route.channel == "#ops"]
        assert len(ops) == 1 and len(env.thread(ops[0].message_id)) == 1
    finally:
        stop()
        first.close()
        second.close()


QUIET = ACME + 'quiet_hours = "22:00-07:00"\n'


def test_quiet_hours_hold_a_due_reminder_until_they_end(
    fake_slack: FakeSlack, tmp_path: Path, make_mention: Callable[..., Mention]
) -> None:
    # 20:50 UTC is 21:50 in Amsterdam (winter): due at 22:20, inside the quiet hours.
    from datetime import UTC, datetime

    clock = Clock(datetime(2026, 11, 24, 20, 50, tzinfo=UTC))
    store = open_store(f"sqlite:///{tmp_path / 'quiet.db'}")
    env, stop = make_team_env(fake_slack, store, clock, QUIET)
    try:
        _, ts = env.alert(make_mention(fetched_at=clock(), published_at=clock()))
        report = env.tick(30)
        assert (report.reannounced, report.waiting_for_quiet) == (0, 1)
        assert env.tick(8 * 60 + 39).reannounced == 0  # 06:59 local: still quiet
        assert env.thread(ts) == []
        report = env.tick(1)  # 07:00 local
        assert report.reannounced == 1
        # The clock kept running: it says how long it really waited.
        assert "Still unclaimed after 9 h 10 min" in env.thread(ts)[0]
    finally:
        stop()
        store.close()


def test_a_reopened_alert_is_reminded_again(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = team_env.alert(make_mention())
    assert team_env.tick(30).reannounced == 1
    click(team_env, mention_id, "mention-resolve")
    click(team_env, mention_id, "mention-reopen")
    assert team_env.tick(29).reannounced == 0
    assert team_env.tick(1).reannounced == 1
    assert len(team_env.thread(ts)) == 2
    assert team_env.store.get_mention(mention_id).status == Status.ALERTED  # type: ignore[union-attr]


@pytest.mark.parametrize("quiet", [False])
def test_no_escalation_without_a_rule(
    fake_slack: FakeSlack,
    tmp_path: Path,
    clock: Clock,
    make_mention: Callable[..., Mention],
    quiet: bool,
) -> None:
    toml = '[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "#alerts"\n'
    store = open_store(f"sqlite:///{tmp_path / 'plain.db'}")
    env, stop = make_team_env(fake_slack, store, clock, toml)
    try:
        _, ts = env.alert(make_mention())
        report = env.tick(24 * 60)
        # Defaults: re-announced after 30 min (nobody to ping), never escalated.
        assert (report.reannounced, report.escalated) == (1, 0)
        assert env.thread(ts)[0].startswith("⏰ Still unclaimed")
    finally:
        stop()
        store.close()
