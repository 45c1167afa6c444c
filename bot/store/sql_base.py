"""What every SQL mixin of the store shares: a transaction of tuples, and epoch times.

Statements use `?` placeholders; a backend whose driver wants `%s` rewrites them. Times are
stored as UTC epoch seconds so both backends compare and sort them the same way.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from bot.store.base import Store


class Tx(abc.ABC):
    """One open transaction: run statements, read rows as tuples."""

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the affected row count."""

    @abc.abstractmethod
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None


IN_CHUNK = 500  # keys per `IN (…)` list: well under every backend's parameter limit


def rows_in(tx: Tx, sql: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """Run `sql` (whose one `{marks}` is an IN list) for all `keys`, a chunk at a time."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), IN_CHUNK):
        chunk = list(keys[start : start + IN_CHUNK])
        rows.extend(tx.all(sql.format(marks=", ".join("?" for _ in chunk)), chunk))
    return rows


def to_epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


class SqlBase(Store):
    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """A write transaction that commits on success and rolls back on error."""

    def _lock_row(self) -> str:
        """What makes a SELECT lock the row it reads until the transaction ends."""
        return ""
