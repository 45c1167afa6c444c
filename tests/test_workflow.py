"""The claim / reply / resolve state machine: allowed and refused transitions, who and when,
and structured refusals (never chat markup)."""

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
    assert workflow.claim(sqlite_store, alerted, "slack:U1", clock.advance(60)).ok
    assert workflow.reply(sqlite_store, alerted, "slack:U1", "Sorry!", clock.advance(60)).ok
    assert workflow.resolve(sqlite_store, alerted, "slack:U1", clock.advance(60)).ok
    history = sqlite_store.history(alerted)
    assert [(t.from_status, t.to_status, t.actor) for t in history] == [
        (Status.NEW, Status.ALERTED, "system"),
        (Status.ALERTED, Status.CLAIMED, "slack:U1"),
        (Status.CLAIMED, Status.REPLIED, "slack:U1"),
        (Status.REPLIED, Status.RESOLVED, "slack:U1"),
    ]
    assert [t.at for t in history] == sorted(t.at for t in history)
    [reply] = sqlite_store.replies(alerted)
    assert (reply.actor, reply.text) == ("slack:U1", "Sorry!")


def test_second_claim_is_refused_naming_the_owner(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    assert workflow.claim(sqlite_store, alerted, "slack:U1", clock()).ok
    outcome = workflow.claim(sqlite_store, alerted, "slack:U2", clock())
    assert not outcome.ok
    assert (outcome.refusal, outcome.holder) == (workflow.Refusal.HELD_BY_OTHER, "slack:U1")
    assert outcome.mention is not None and outcome.mention.owner == "slack:U1"
    again = workflow.claim(sqlite_store, alerted, "slack:U1", clock())
    assert again.refusal == workflow.Refusal.ALREADY_YOURS


def test_only_the_owner_or_an_admin_can_unclaim(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    workflow.claim(sqlite_store, alerted, "slack:U1", clock())
    refused = workflow.unclaim(sqlite_store, alerted, "slack:U2", clock())
    assert not refused.ok
    assert (refused.refusal, refused.holder) == (workflow.Refusal.NOT_OWNER, "slack:U1")
    admin = workflow.unclaim(
        sqlite_store, alerted, "slack:UADMIN", clock(), admins=frozenset({"slack:UADMIN"})
    )
    assert admin.ok and admin.mention is not None
    assert admin.mention.status == Status.ALERTED and admin.mention.owner == ""


def test_reply_without_claim_makes_the_replier_owner(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    outcome = workflow.reply(sqlite_store, alerted, "slack:U3", "On it", clock())
    assert outcome.ok and outcome.mention is not None
    assert outcome.mention.owner == "slack:U3" and outcome.mention.status == Status.REPLIED


def test_reply_to_someone_elses_claim_keeps_their_ownership(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    workflow.claim(sqlite_store, alerted, "slack:U1", clock())
    outcome = workflow.reply(sqlite_store, alerted, "slack:U2", "Helping out", clock())
    assert outcome.ok and outcome.mention is not None and outcome.mention.owner == "slack:U1"


@pytest.mark.parametrize("action", [workflow.claim, workflow.resolve, workflow.dismiss])
def test_actions_on_a_resolved_mention_are_refused(
    sqlite_store: Store, alerted: int, clock: Clock, action: Callable[..., workflow.Outcome]
) -> None:
    workflow.resolve(sqlite_store, alerted, "slack:U1", clock())
    outcome = action(sqlite_store, alerted, "slack:U2", clock())
    assert not outcome.ok and outcome.refusal == workflow.Refusal.WRONG_STATUS
    assert outcome.mention is not None and outcome.mention.status == Status.RESOLVED


def test_reopen_brings_a_resolved_mention_back_unowned(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    workflow.claim(sqlite_store, alerted, "slack:U1", clock())
    workflow.resolve(sqlite_store, alerted, "slack:U1", clock() + timedelta(hours=1))
    outcome = workflow.reopen(sqlite_store, alerted, "slack:U2", clock())
    assert outcome.ok and outcome.mention is not None
    assert (outcome.mention.status, outcome.mention.owner) == (Status.ALERTED, "")


def test_unknown_mention_is_refused_cleanly(sqlite_store: Store, clock: Clock) -> None:
    outcome = workflow.claim(sqlite_store, 999, "slack:U1", clock())
    assert not outcome.ok and outcome.mention is None
    assert outcome.refusal == workflow.Refusal.NOT_FOUND


def test_a_slack_user_and_a_teams_user_with_the_same_id_never_collide(
    sqlite_store: Store, alerted: int, clock: Clock
) -> None:
    assert workflow.claim(sqlite_store, alerted, "slack:U1", clock()).ok
    refused = workflow.unclaim(sqlite_store, alerted, "teams:U1", clock())
    assert refused.refusal == workflow.Refusal.NOT_OWNER


def test_the_workflow_refuses_exactly_what_the_buttons_do_not_offer(
    sqlite_store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    """One rule (workflow.ALLOWED) says which actions a status allows: every action is
    tried from every status, and succeeds exactly when the rule offers it."""
    for status, allowed in workflow.ALLOWED.items():
        for action in workflow.Action:
            mention_id = sqlite_store.add_mention(make_mention(), alert=False)
            assert mention_id is not None
            if status != Status.NEW:
                sqlite_store.transition(mention_id, allowed_from=(Status.NEW,), to=status,
                                        actor="slack:U1", at=clock())  # fmt: skip
            outcome = workflow.act(sqlite_store, action, mention_id, "slack:U1", clock(),
                                   reply_text="x")  # fmt: skip
            assert outcome.ok == (action in allowed), (status, action)
