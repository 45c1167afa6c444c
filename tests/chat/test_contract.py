"""The chat contract: the same workflow scenarios, through each platform's real transport.

Every scenario drives a platform as its users do (signed requests into the running app) and
checks what the platform was sent and what the store holds. A platform joins by adding a
driver (tests/chat/drivers.py) to `driver`'s params.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.models import Mention, Route, Status
from bot.store import open_store
from tests.chat.conftest import ALERT_ROUTE, make_slack_env
from tests.chat.drivers import ChatDriver, SlackDriver, TeamsDriver
from tests.chat.teams_env import fake_teams, make_teams_env  # noqa: F401 (fixture)
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_teams import FakeBotFramework
from tests.fakes.slack_fixtures import fake_slack  # noqa: F401 (fixture)

SECOND_ROUTE = Route("slack", "#acme-mentions")


@pytest.fixture(params=["slack", "teams"])
def driver(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[ChatDriver]:
    store = open_store(f"sqlite:///{tmp_path / 'contract.db'}")
    routes = {"Acme": (ALERT_ROUTE, SECOND_ROUTE), "Globex": (Route("slack", "#ops"),)}
    try:
        if request.param == "slack":
            fake: FakeSlack = request.getfixturevalue("fake_slack")
            env, stop = make_slack_env(fake, store, clock, brand_routes=routes)
            yield SlackDriver(env)
        else:
            bot_framework: FakeBotFramework = request.getfixturevalue("fake_teams")
            teams_routes = {b: tuple(map(TeamsDriver.route, r)) for b, r in routes.items()}
            teams, stop = make_teams_env(bot_framework, store, clock, brand_routes=teams_routes)
            teams.install()
            yield TeamsDriver(teams)
        stop()
    finally:
        store.close()


def test_alert_arrives_open_with_the_buttons_its_status_allows(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    mention_id = driver.alert(make_mention())
    assert "Open — nobody owns it yet" in driver.state(mention_id)
    assert driver.buttons(mention_id) == [
        "mention-claim", "mention-reply", "mention-resolve", "mention-dismiss"
    ]  # fmt: skip
    stored = driver.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.ALERTED


def test_claim_redraws_in_place_and_records_the_owner_with_their_platform(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    mention_id = driver.alert(make_mention())
    driver.click(mention_id, "mention-claim", "alice")
    assert f"Claimed by {driver.shown_as('alice')}" in driver.state(mention_id)
    assert driver.buttons(mention_id, person="alice") == [
        "mention-reply", "mention-resolve", "mention-unclaim", "mention-dismiss"
    ]  # fmt: skip
    stored = driver.store.get_mention(mention_id)
    assert stored is not None
    assert (stored.status, stored.owner) == (Status.CLAIMED, driver.user("alice"))
    assert driver.told("alice") == []


def test_a_claim_race_has_one_winner_and_the_other_is_told_who(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    mention_id = driver.alert(make_mention())
    start = threading.Barrier(2)

    def claim_as(person: str) -> None:
        start.wait(timeout=5)
        driver.click(mention_id, "mention-claim", person)

    threads = [threading.Thread(target=claim_as, args=(p,)) for p in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    stored = driver.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.CLAIMED
    winner = "alice" if stored.owner == driver.user("alice") else "bob"
    loser = "bob" if winner == "alice" else "alice"
    assert driver.told(winner) == []
    [told] = driver.told(loser)
    assert told == f"{driver.shown_as(winner)} already claimed this mention."
    claims = [t for t in driver.store.history(mention_id) if t.to_status == Status.CLAIMED]
    assert len(claims) == 1
    assert f"Claimed by {driver.shown_as(winner)}" in driver.state(mention_id)


def test_reply_through_the_dialog_is_noted_in_the_thread_and_says_where_it_went(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    mention_id = driver.alert(make_mention(author="sanne@example.nl (Sanne de Vries)"))
    dialog, draft = driver.open_reply(mention_id, "bob")
    assert dialog and draft.startswith("Hi Sanne,")
    driver.submit_reply(dialog, mention_id, "Sorry! DM us & we fix it", "bob")
    [note] = driver.notes(mention_id)
    assert "DM us" in note and driver.shown_as("bob") in note
    state = driver.state(mention_id)
    assert f"Replied by {driver.shown_as('bob')}" in state
    assert "the customer has not seen it" in state
    [reply] = driver.store.replies(mention_id)
    assert (reply.actor, reply.text) == (driver.user("bob"), "Sorry! DM us & we fix it")
    stored = driver.store.get_mention(mention_id)
    assert stored is not None and stored.owner == driver.user("bob")


def test_resolve_then_reopen(driver: ChatDriver, make_mention: Callable[..., Mention]) -> None:
    mention_id = driver.alert(make_mention())
    driver.click(mention_id, "mention-resolve", "carol")
    assert f"Resolved by {driver.shown_as('carol')}" in driver.state(mention_id)
    assert driver.buttons(mention_id) == ["mention-reopen"]
    driver.click(mention_id, "mention-reopen", "alice")
    assert f"Reopened by {driver.shown_as('alice')}" in driver.state(mention_id)
    assert "mention-claim" in driver.buttons(mention_id)


def test_unclaim_by_someone_else_is_refused_with_the_real_reason(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    mention_id = driver.alert(make_mention())
    driver.click(mention_id, "mention-claim", "alice")
    driver.click(mention_id, "mention-unclaim", "bob")
    [told] = driver.told("bob")
    assert told == (
        f"Only {driver.shown_as('alice')} (who claimed it) or an admin can release this mention."
    )
    stored = driver.store.get_mention(mention_id)
    assert stored is not None and stored.owner == driver.user("alice")
    driver.click(mention_id, "mention-unclaim", "admin")  # an admin may
    stored = driver.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.ALERTED and stored.owner == ""


def test_resolving_what_someone_else_holds_tells_the_owner_in_the_thread(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    mention_id = driver.alert(make_mention())
    driver.click(mention_id, "mention-claim", "alice")
    driver.click(mention_id, "mention-resolve", "bob")
    notes = driver.notes(mention_id)
    assert len(notes) == 1, "one note, in the thread of the copy on the owner's platform"
    assert driver.shown_as("alice") in notes[0] and "resolved this mention" in notes[0]


def test_a_refused_step_says_why(driver: ChatDriver, make_mention: Callable[..., Mention]) -> None:
    mention_id = driver.alert(make_mention())
    driver.click(mention_id, "mention-resolve", "alice")
    dialog, _ = driver.open_reply(mention_id, "bob")
    assert dialog == ""
    assert driver.told("bob") == ["Cannot reply to a mention that is resolved."]


def test_every_delivered_copy_is_redrawn_whichever_was_clicked(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    mention_id = driver.alert(make_mention(routes=(ALERT_ROUTE, SECOND_ROUTE)))
    assert len(driver.store.deliveries(mention_id)) == 2
    driver.click(mention_id, "mention-claim", "alice", copy=1)
    for copy in (0, 1):
        assert f"Claimed by {driver.shown_as('alice')}" in driver.state(mention_id, copy=copy)


def test_a_button_acts_only_on_the_mention_its_message_shows(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    shown = driver.alert(make_mention())
    other = driver.alert(make_mention())
    driver.click_on_message_of(shown, other, "mention-resolve", "alice")
    for mention_id in (shown, other):
        stored = driver.store.get_mention(mention_id)
        assert stored is not None and stored.status == Status.ALERTED
    [told] = driver.told("alice")
    assert "does not belong to the alert" in told


def test_a_dialog_submission_acts_only_on_the_mention_it_was_opened_for(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    opened_for = driver.alert(make_mention())
    other = driver.alert(make_mention())
    dialog, _ = driver.open_reply(opened_for, "alice")
    driver.submit_reply(dialog, other, "forged", "alice")
    assert driver.store.replies(other) == [] and driver.store.replies(opened_for) == []
    driver.submit_reply(dialog, opened_for, "hijacked", "bob")  # another person's dialog
    assert driver.store.replies(opened_for) == []
    driver.submit_reply(dialog, opened_for, "the real one", "alice")
    assert [r.text for r in driver.store.replies(opened_for)] == ["the real one"]


def test_commands_list_claim_and_show_within_the_channels_brands(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    acme = driver.alert(make_mention(title="Acme lost my parcel"))
    globex = driver.alert(make_mention(brand="Globex", title="Globex overcharged me",
                                       routes=(Route("slack", "#ops"),)))  # fmt: skip
    listing = driver.command("open", "alice")
    assert f"#{acme}" in listing and f"#{globex}" not in listing
    assert "Acme (routed to this channel)" in listing
    assert "Globex overcharged me" in driver.command("open", "alice", channel="ops")
    assert "You claimed this mention." in driver.command(f"claim {acme}", "alice")
    assert f"Claimed by {driver.shown_as('alice')}" in driver.state(acme)
    assert "Acme lost my parcel" in driver.command("mine", "alice")
    assert "Acme lost my parcel" not in driver.command("mine", "bob")
    shown = driver.command(f"show {acme}", "bob")
    assert "History" in shown and "claimed" in shown
    assert f"no mention #{globex} here" in driver.command(f"show {globex}", "bob")
    everything = driver.command("open", "admin", channel="general")
    assert "Globex overcharged me" in everything and "you are an admin" in everything
    assert "No brand sends its alerts to this channel" in driver.command(
        "open", "bob", channel="general"
    )
    assert "already claimed" in driver.command(f"claim {acme}", "bob")


def test_help_and_bad_commands_answer_with_the_usage(
    driver: ChatDriver, make_mention: Callable[..., Mention]
) -> None:
    assert "search <words>" in driver.command("help", "alice")
    answer = driver.command("frobnicate now", "alice")
    assert "I don't know “frobnicate”" in answer and "search <words>" in answer
    many = " ".join(f"word{n}" for n in range(300))
    answer = driver.command(f"search {many}", "alice")
    assert "at most 8 words" in answer


def test_a_mention_routed_to_slack_and_teams_is_one_mention_and_either_click_redraws_both(
    fake_slack: FakeSlack,  # noqa: F811
    fake_teams: FakeBotFramework,  # noqa: F811
    tmp_path: Path,
    clock: Clock,
    make_mention: Callable[..., Mention],
) -> None:
    """One process, one store, one service: Slack and Teams side by side."""
    store = open_store(f"sqlite:///{tmp_path / 'both.db'}")
    teams_route = Route("teams", "Support/alerts")
    routes = {"Acme": (ALERT_ROUTE, teams_route)}
    slack_env, stop_slack = make_slack_env(fake_slack, store, clock, brand_routes=routes)
    teams_env, stop_teams = make_teams_env(
        fake_teams, store, clock, join=(slack_env.service, slack_env.outbox)
    )
    try:
        teams_env.install()
        slack, teams = SlackDriver(slack_env), TeamsDriver(teams_env)
        mention_id = slack.alert(make_mention(routes=(ALERT_ROUTE, teams_route)))
        assert [d.route.platform for d in store.deliveries(mention_id)] == ["slack", "teams"]
        teams.click(mention_id, "mention-claim", "alice")  # on Teams
        assert f"Claimed by {teams.shown_as('alice')}" in teams.state(mention_id)
        assert "Claimed by Alice Jansen (Teams)" in slack.state(mention_id)
        slack.click(mention_id, "mention-resolve", "bob")  # on Slack
        assert "Resolved by" in teams.state(mention_id) and "(Slack)" in teams.state(mention_id)
        assert f"Resolved by {slack.shown_as('bob')}" in slack.state(mention_id)
        assert teams.buttons(mention_id) == slack.buttons(mention_id) == ["mention-reopen"]
        assert teams.redraws(mention_id) == 2 and slack.redraws(mention_id) == 2
        [note] = teams.notes(mention_id)  # Alice held it: told where she works
        assert "Alice Jansen" in note and "resolved this mention, which you held" in note
    finally:
        stop_teams()
        stop_slack()
        store.close()
