"""Pick a backend from DATABASE_URL."""

from __future__ import annotations

from bot.config import ConfigError
from bot.store.base import Store


def open_store(database_url: str) -> Store:
    """`sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite:///:memory:`, or
    `postgresql://user@host:port/db` (also `postgres://`)."""
    if database_url.startswith("sqlite:///"):
        from bot.store.sqlite import SqliteStore

        return SqliteStore(database_url.removeprefix("sqlite:///"))
    if database_url.startswith(("postgresql://", "postgres://")):
        from bot.store.postgres import PostgresStore

        return PostgresStore(database_url)
    raise ConfigError(
        f"DATABASE_URL {database_url.split('@')[-1]!r} is not supported: use "
        "sqlite:///path.db or postgresql://user@host:5432/dbname"
    )
