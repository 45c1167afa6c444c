"""The claim / reply / resolve state machine: allowed and refused transitions, who and when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot import workflow
from bot.models import Mention, MessageRef, Status
from bot.store import Store
from tests.conftest import Clock


@pytest.fixture
def alerted(sqlite_store: Store, make_mention: Callable[..., Mention], clock: Clock) -> int:
    mention_id = sqlite_store.add_mention(make_mention(), alert=True)
    [alert] = sqlite_store.due_deliveries(clock(), 1)
    sqlite_store.mark_delivered(
        alert.id, message=MessageRef("slack", "C0ALERTS", "1.0"), at=clock()
    )
    assert mention_id is not None
    return mention_id


def test_full_lifecycle_records_every_transition_with_actor_and_time(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    assert workflow.claim(sqlite_store, alerted, "U1", clock.advance(60)).ok
    assert workflow.reply(sqlite_store, alerted, "U1", "Sorry!", clock.advance(60)).ok
    assert workflow.resolve(sqlite_store, alerted, "U1", clock.advance(60)).ok
    history = sqlite_store.history(alerted)
    assert [(t.from_status, t.to_status, t.actor) for t in history] == [
        (Status.NEW, Status.ALERTED, "system"),
        (Status.ALERTED, Status.CLAIMED, "U1"),
        (Status.CLAIMED, Status.REPLIED, "U1"),
        (Status.REPLIED, Status.RESOLVED, "U1"),
    ]
    assert [t.at for t in history] == sorted(t.at for t in history)
    assert sqlite_store.replies(alerted)[0][:2] == ("U1", "Sorry!")


def test_second_claim_is_refused_naming_the_owner(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    assert workflow.claim(sqlite_store, alerted, "U1", clock()).ok
    outcome = workflow.claim(sqlite_store, alerted, "U2", clock())
    assert not outcome.ok
    assert outcome.message == "<@U1> already claimed this mention."
    assert outcome.mention is not None and outcome.mention.owner == "U1"


def test_only_the_owner_or_an_admin_can_unclaim(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    workflow.claim(sqlite_store, alerted, "U1", clock())
    refused = workflow.unclaim(sqlite_store, alerted, "U2", clock())
    assert not refused.ok and "<@U1>" in refused.message
    admin = workflow.unclaim(sqlite_store, alerted, "UADMIN", clock(), admins=frozenset({"UADMIN"}))
    assert admin.ok and admin.mention is not None
    assert admin.mention.status == Status.ALERTED and admin.mention.owner == ""


def test_reply_without_claim_makes_the_replier_owner(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    outcome = workflow.reply(sqlite_store, alerted, "U3", "On it", clock())
    assert outcome.ok and outcome.mention is not None
    assert outcome.mention.owner == "U3" and outcome.mention.status == Status.REPLIED


def test_reply_to_someone_elses_claim_keeps_their_ownership(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    workflow.claim(sqlite_store, alerted, "U1", clock())
    outcome = workflow.reply(sqlite_store, alerted, "U2", "Helping out", clock())
    assert outcome.ok and outcome.mention is not None and outcome.mention.owner == "U1"


@pytest.mark.parametrize("action", [workflow.claim, workflow.resolve, workflow.dismiss])
def test_actions_on_a_resolved_mention_are_refused(
    sqlite_store: Store, alerted: int, clock: Clock, action: Callable[..., workflow.Outcome]
) -> None:
    workflow.resolve(sqlite_store, alerted, "U1", clock())
    outcome = action(sqlite_store, alerted, "U2", clock())
    assert not outcome.ok
    assert "resolved" in outcome.message


def test_reopen_brings_a_resolved_mention_back_unowned(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    workflow.claim(sqlite_store, alerted, "U1", clock())
    workflow.resolve(sqlite_store, alerted, "U1", clock() + timedelta(hours=1))
    outcome = workflow.reopen(sqlite_store, alerted, "U2", clock())
    assert outcome.ok and outcome.mention is not None
    assert (outcome.mention.status, outcome.mention.owner) == (Status.ALERTED, "")


def test_unknown_mention_is_refused_cleanly(sqlite_store: Store, clock: Clock) -> None:
    outcome = workflow.claim(sqlite_store, 999, "U1", clock())
    assert not outcome.ok and outcome.mention is None
    assert "does not exist" in outcome.message
