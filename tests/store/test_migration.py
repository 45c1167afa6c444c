"""Upgrading a database made by the previous release (schema 2: one outbox row per mention,
Slack user ids without a platform, alerts posted to a channel the watch list named
"#acme-mentions") keeps every alert working: its buttons act and its message is redrawn.

tests/fixtures/store/schema-v2.db was written by that release's own code (the script beside
it says how). The PostgreSQL test rebuilds the same rows on schema 2 there.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from bot.chat.service import Actor
from bot.models import MessageRef, Route, Status
from bot.store import open_store
from bot.store.schema import MIGRATIONS, SCHEMA_VERSION
from tests.chat.conftest import make_slack_env
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack, block_actions_body

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store" / "schema-v2.db"
ROUTE = Route("slack", "#acme-mentions")


@pytest.fixture
def old_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "upgraded.db"
    shutil.copy(FIXTURE, path)
    return f"sqlite:///{path}"


def _assert_upgraded(database_url: str) -> None:
    store = open_store(database_url)
    try:
        assert store.migrate() == SCHEMA_VERSION >= 3  # type: ignore[attr-defined]
        statuses = {m: store.get_mention(m).status for m in range(1, 7)}  # type: ignore[union-attr]
        assert statuses == {1: Status.ALERTED, 2: Status.CLAIMED, 3: Status.CLAIMED,
                            4: Status.REPLIED, 5: Status.RESOLVED, 6: Status.NEW}  # fmt: skip
        # Identities now carry their platform, everywhere they are kept.
        assert store.get_mention(2).owner == "slack:U0CLAIMER1"  # type: ignore[union-attr]
        assert [t.actor for t in store.history(2)] == ["system", "slack:U0CLAIMER1"]
        [reply] = store.replies(4)
        assert (reply.actor, reply.text) == ("slack:U0REPLIER1", "Sorry, we are on it")
        assert store.labels()[0]["labelled_by"] == "slack:U0LABELLER"
        # One delivery per old outbox row, with the message it had; the channel is known by
        # the name it was configured with until Slack says its id.
        [delivery] = store.deliveries(2)
        assert delivery.route == ROUTE
        assert (delivery.channel_id, delivery.message_id) == ("", "1764493200.000002")
        [by_id] = store.deliveries(3)
        assert by_id.route == Route("slack", "C0ACME0001")
        # The queued one is still queued, and nothing else is.
        [due] = store.due_deliveries(store.get_mention(6).fetched_at, 10)  # type: ignore[union-attr]
        assert due.mention_id == 6 and due.route == ROUTE
    finally:
        store.close()


def test_a_schema_2_sqlite_file_is_upgraded_in_place(old_sqlite: str) -> None:
    _assert_upgraded(old_sqlite)


def test_after_the_upgrade_old_alerts_act_and_redraw_by_channel_id(
    old_sqlite: str, fake_slack: FakeSlack, clock: Clock
) -> None:
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # after the old release's alerts
    store = open_store(old_sqlite)
    # The messages the old release posted are in the channel (by id, as Slack keeps them).
    for n in range(1, 6):
        fake_slack.messages.setdefault("C0ACME0001", []).append(
            {"type": "message", "ts": f"1764493200.{n:06d}", "text": "old alert"}
        )
    env, stop = make_slack_env(fake_slack, store, clock, brand_routes={"Acme": (ROUTE,)})
    try:
        # A click on an alert posted before the upgrade, from the channel Slack names by id.
        body = block_actions_body("mention-claim", "1", user="U0NEWCOMER",
                                  channel="C0ACME0001", message_ts="1764493200.000001")  # fmt: skip
        assert env.post(body).status == 200
        [update] = fake_slack.calls_to("chat.update")
        assert (update.body["channel"], update.body["ts"]) == ("C0ACME0001", "1764493200.000001")
        assert "Claimed by <@U0NEWCOMER>" in str(update.body["blocks"])
        [delivery] = store.deliveries(1)
        assert delivery.message == MessageRef("slack", "C0ACME0001", "1764493200.000001")
        # A claimed one, released by its owner from before the upgrade.
        body = block_actions_body("mention-unclaim", "2", user="U0CLAIMER1",
                                  channel="C0ACME0001", message_ts="1764493200.000002")  # fmt: skip
        assert env.post(body).status == 200
        assert store.get_mention(2).status == Status.ALERTED  # type: ignore[union-attr]
        # A command redraws too, by id.
        answer = env.service.answer(Actor("slack:U0CLAIMER2"), "slack", "C0ACME0001",
                                    "resolve 3")  # fmt: skip
        assert "Marked resolved" in str(answer)
        channels = {c.body["channel"] for c in fake_slack.calls_to("chat.update")}
        assert channels == {"C0ACME0001"}
        # And the alert that was still queued goes out to the channel's id.
        assert env.outbox.deliver_due().delivered == 1
        [post] = fake_slack.calls_to("chat.postMessage")
        assert post.body["channel"] == "C0ACME0001"
    finally:
        stop()
        store.close()


# --- PostgreSQL ---------------------------------------------------------------------------

BOOLEAN_COLUMNS = {"flagged", "question", "praise", "in_flight"}


@pytest.fixture
def old_postgres(pg_url: str) -> Iterator[str]:
    """Schema 2 on PostgreSQL, holding the fixture's rows."""
    dialect = {"id": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "bool": "BOOLEAN"}
    source = sqlite3.connect(FIXTURE)
    with psycopg.connect(pg_url, autocommit=False) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statements in MIGRATIONS[:2]:
            for statement in statements:
                conn.execute(statement.format(**dialect).encode())
        conn.execute("INSERT INTO schema_version (version) VALUES (1), (2)")
        for table in ("mentions", "transitions", "replies", "outbox", "labels"):
            cursor = source.execute(f"SELECT * FROM {table} ORDER BY id")
            names = [d[0] for d in cursor.description]
            for row in cursor:
                values = [
                    bool(v) if n in BOOLEAN_COLUMNS else v for n, v in zip(names, row, strict=True)
                ]
                marks = ", ".join("%s" for _ in names)
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})".encode(), values
                )
        conn.commit()
    source.close()
    yield pg_url


@pytest.mark.postgres
def test_a_schema_2_postgres_database_is_upgraded_in_place(old_postgres: str) -> None:
    _assert_upgraded(old_postgres)


def test_an_upgraded_app_without_channels_read_still_acts_on_old_alerts(
    old_sqlite: str, fake_slack: FakeSlack, clock: Clock
) -> None:
    """Installed from the old manifest (no channels:read): the click's own channel, verified
    as Slack's, is what the migrated delivery learns, and the redraw goes there by id."""
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    store = open_store(old_sqlite)
    fake_slack.messages.setdefault("C0ACME0001", []).append(
        {"type": "message", "ts": "1764493200.000001", "text": "old alert"}
    )
    fake_slack.fail_next("conversations.list", times=10, error="missing_scope")
    env, stop = make_slack_env(fake_slack, store, clock, brand_routes={"Acme": (ROUTE,)})
    try:
        body = block_actions_body("mention-claim", "1", user="U0NEWCOMER",
                                  channel="C0ACME0001", message_ts="1764493200.000001")  # fmt: skip
        assert env.post(body).status == 200
        [update] = fake_slack.calls_to("chat.update")
        assert update.body["channel"] == "C0ACME0001"
        assert store.get_mention(1).status == Status.CLAIMED  # type: ignore[union-attr]
    finally:
        stop()
        store.close()
