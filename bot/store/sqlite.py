"""SQLite backend: the embedded default, one file, safe for threads and for a second process."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.store.sql import SqlStore
from bot.store.sql_base import Tx

# A writer waits this long for another process's lock before giving up with "database is
# locked"; the poller and outbox then retry on their next cycle.
BUSY_TIMEOUT_MS = 30_000


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()


class SqliteStore(SqlStore):
    def __init__(self, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN ourselves so every write is one explicit
        # transaction (BEGIN IMMEDIATE takes the write lock up front: no upgrade deadlocks).
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._lock = threading.RLock()
        self._depth = 0
        self.migrate()

    def _dialect(self) -> dict[str, str]:
        return {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "bool": "INTEGER"}

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            if self._depth:  # nested use joins the open transaction
                yield _SqliteTx(self._conn)
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield _SqliteTx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth -= 1

    def close(self) -> None:
        with self._lock:
            self._conn.close()
