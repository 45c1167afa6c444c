"""PostgreSQL backend (psycopg 3), for teams that run several replicas on one database.

Replicas share work safely: claims are compare-and-set updates, outbox rows are leased with
`FOR UPDATE SKIP LOCKED`, and migrations run under an advisory lock. A lost connection (the
server restarted) is dropped and reopened on next use, waiting for the server to return.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
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
        return self._conn.execute(sql.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]


class PostgresStore(SqlStore):
    def __init__(self, url: str, *, reconnect_seconds: float = 60.0) -> None:
        self.url = url
        self._reconnect_seconds = reconnect_seconds
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._depth = 0
        self.migrate()

    def _dialect(self) -> dict[str, str]:
        return {"id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "bool": "BOOLEAN"}

    def _skip_locked(self, table: str) -> str:
        return f" FOR UPDATE OF {table} SKIP LOCKED"

    def _lock_row(self) -> str:
        return " FOR UPDATE"

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> psycopg.Connection[Any]:
        @retry(
            retry=retry_if_exception_type(psycopg.OperationalError),
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_after_delay(self._reconnect_seconds),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "database unreachable, retrying (attempt %d)", state.attempt_number
            ),
        )
        def connect() -> psycopg.Connection[Any]:
            return psycopg.connect(self.url, autocommit=False, connect_timeout=5)

        return connect()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            if self._depth:
                yield _PgTx(self._connection())
                return
            conn = self._connection()
            self._depth += 1
            try:
                with conn.transaction():
                    yield _PgTx(conn)
            except psycopg.OperationalError:
                # The server went away: forget this connection so the next call reconnects.
                self._drop()
                raise
            finally:
                self._depth -= 1

    def migrate(self) -> int:
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))
            return super().migrate()

    def _drop(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()
