"""Persistence: one `Store` interface, SQLite (default) and PostgreSQL backends."""

from __future__ import annotations

from bot.store.base import MentionQuery, SourceStatus, Stats, Store, TransitionResult
from bot.store.open import open_store

__all__ = ["MentionQuery", "SourceStatus", "Stats", "Store", "TransitionResult", "open_store"]
