"""PostgreSQL backend (psycopg 3), for teams that run several replicas on one database.

Replicas share work safely: every workflow step locks its mention's row (`FOR UPDATE`),
outbox rows are leased with `FOR UPDATE SKIP LOCKED`, and migrations run under an advisory
lock. Connections come from a pool (psycopg_pool); a lost one (the server restarted) is
discarded and replaced, waiting for the server to return.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from bot.store.sql import SqlStore
from bot.store.sql_base import Tx

log = logging.getLogger(__name__)

MIGRATION_LOCK_KEY = 0x6D656E74  # "ment": any constant shared by all replicas


class _PgTx(Tx):
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._run(sql, params).rowcount

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._run(sql, params)
        return cur.fetchall() if cur.description else []

    def _run(self, sql: str, params: Sequence[Any]) -> psycopg.Cursor[Any]:
        if not params:  # no placeholders to fill: a literal % (as in LIKE '%:%') stays as is
            return self._conn.execute(sql.encode())
        return self._conn.execute(sql.replace("?", "%s"), tuple(params))


class PostgresStore(SqlStore):
    """One pool of connections per process, so the poller, the outbox and chat handlers of a
    replica each get a connection of their own instead of queueing behind one lock.

    A transaction holds one pooled connection; a nested use on the same thread joins it.
    A connection the server dropped (a restart) fails the call in flight and is discarded
    by the pool, which opens a new one for the next call, waiting up to `reconnect_seconds`
    for the server to come back."""

    def __init__(
        self, url: str, *, reconnect_seconds: float = 60.0, max_connections: int = 8
    ) -> None:
        self.url = url
        self._reconnect_seconds = reconnect_seconds
        self._local = threading.local()  # the connection this thread's transaction holds
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": False, "connect_timeout": 5},
            # A connection is checked before it is handed out: after a server restart the
            # dead ones are replaced instead of failing the next caller.
            check=ConnectionPool.check_connection,
            timeout=reconnect_seconds,
            reconnect_timeout=max(reconnect_seconds, 1.0),
            open=False,
            name="mentionbot",
        )
        self._open_pool()
        self.migrate()

    def _open_pool(self) -> None:
        @retry(
            retry=retry_if_exception_type((psycopg.OperationalError, PoolTimeout)),
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_after_delay(self._reconnect_seconds),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "database unreachable, retrying (attempt %d)", state.attempt_number
            ),
        )
        def open_pool() -> None:
            self._pool.open(wait=True, timeout=min(10.0, self._reconnect_seconds))

        try:
            open_pool()
        except PoolTimeout as exc:
            self._pool.close()
            raise psycopg.OperationalError(f"cannot connect to the database: {exc}") from None

    def _dialect(self) -> dict[str, str]:
        return {"id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "bool": "BOOLEAN"}

    def _skip_locked(self, table: str) -> str:
        return f" FOR UPDATE OF {table} SKIP LOCKED"

    def _lock_row(self) -> str:
        return " FOR UPDATE"

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        held: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if held is not None:  # nested use joins the open transaction
            yield _PgTx(held)
            return
        try:
            with self._pool.connection() as conn:
                self._local.conn = conn
                try:
                    with conn.transaction():
                        yield _PgTx(conn)
                finally:
                    self._local.conn = None
        except PoolTimeout as exc:
            raise psycopg.OperationalError(f"no database connection: {exc}") from None

    def migrate(self) -> int:
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))
            return super().migrate()

    def close(self) -> None:
        with suppress(Exception):
            self._pool.close()
