"""A database that goes away or is locked: the failing call raises cleanly, the next works."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.models import Mention
from bot.outbox import Outbox
from bot.store import open_store
from bot.store.sqlite import SqliteStore
from tests.conftest import PG_URL, Clock
from tests.test_outbox import ScriptedAdapter


@pytest.mark.postgres
def test_postgres_connection_killed_like_a_restart_is_reopened(
    pg_url: str, make_mention: Callable[..., Mention]
) -> None:
    import uuid

    import psycopg

    name = f"victim_{uuid.uuid4().hex[:8]}"  # so only this store's connection is killed
    store = open_store(f"{pg_url}&application_name={name}")
    try:
        first = store.add_mention(make_mention(), alert=True)
        assert first is not None
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            # What a server restart looks like from the client: its backend disappears.
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            ).fetchall()
        assert killed
        # The call in flight fails (or reconnects at once); nothing half-written survives.
        try:
            during = store.add_mention(make_mention(external_id="during"), alert=True)
        except psycopg.OperationalError:
            during = None
        second = store.add_mention(make_mention(external_id="after"), alert=True)
        assert second is not None
        assert store.get_mention(first) is not None
        assert store.known_ids("test-feed", ["during"]) == ({"during"} if during else set())
        assert store.pending_count() == (3 if during else 2)
    finally:
        store.close()


def test_sqlite_locked_by_another_process_fails_the_call_then_recovers(
    tmp_path: Path, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    path = tmp_path / "locked.db"
    store = SqliteStore(path, busy_timeout_ms=50)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.add_mention(make_mention(), alert=True)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.add_mention(make_mention(), alert=True) is not None
    assert store.pending_count() == 1
    store.close()


def test_outbox_cycle_that_hits_a_locked_database_leaves_alerts_queued(
    tmp_path: Path, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    path = tmp_path / "locked.db"
    store = SqliteStore(path, busy_timeout_ms=50)
    store.add_mention(make_mention(), alert=True)
    adapter = ScriptedAdapter()
    outbox = Outbox(store, {"slack": adapter}, clock)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError):
        outbox.deliver_due()
    other.execute("ROLLBACK")
    other.close()
    assert outbox.deliver_due().delivered == 1
    assert len(adapter.posted) == 1
    store.close()
