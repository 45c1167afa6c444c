"""Sources and corrections in SQL: feed state and leases, source health, labels."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from bot.sources.base import FeedState
from bot.store.base import PollRecord, SourceStatus
from bot.store.sql_base import SqlBase, Tx, from_epoch, to_epoch

IN_CHUNK = 500  # ids per IN (...): under SQLite's variable limit


def in_chunks(values: Sequence[str] | Sequence[int]) -> Iterator[tuple[list[Any], str]]:
    """The values without repeats, a chunk at a time, with the "?, ?, ..." of its IN (...)."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start : start + IN_CHUNK]
        yield chunk, ", ".join("?" for _ in chunk)


class SourcesSql(SqlBase):
    def feed_state(self, source: str) -> FeedState:
        with self.transaction() as tx:
            row = tx.one(
                "SELECT etag, last_modified, cursor FROM feed_state WHERE source = ?", (source,)
            )
        if row is None:
            return FeedState()
        return FeedState(etag=row[0], last_modified=row[1], cursor=row[2])

    def save_feed_state(self, source: str, state: FeedState, *, at: datetime) -> None:
        with self.transaction() as tx:
            _save_state(tx, source, state, at)

    def feed_states(self, sources: Sequence[str]) -> dict[str, FeedState]:
        """The state of each of `sources` that has one, in one transaction."""
        states: dict[str, FeedState] = {}
        with self.transaction() as tx:
            for chunk, marks in in_chunks(sources):
                for row in tx.all(
                    "SELECT source, etag, last_modified, cursor FROM feed_state"
                    f" WHERE source IN ({marks})",
                    chunk,
                ):
                    states[row[0]] = FeedState(etag=row[1], last_modified=row[2], cursor=row[3])
        return states

    def lease_feed(self, source: str, *, holder: str, now: datetime, until: datetime) -> bool:
        with self.transaction() as tx:
            return _lease(tx, source, holder, now, until)

    def lease_feeds(
        self, sources: Sequence[str], *, holder: str, now: datetime, until: datetime
    ) -> set[str]:
        """`lease_feed` for many sources in one transaction; returns those we now hold."""
        with self.transaction() as tx:
            return {s for s in dict.fromkeys(sources) if _lease(tx, s, holder, now, until)}

    def renew_feed_leases(
        self, sources: Sequence[str], *, holder: str, until: datetime
    ) -> set[str]:
        held: set[str] = set()
        with self.transaction() as tx:
            for chunk, marks in in_chunks(sources):
                tx.execute(
                    "UPDATE feed_leases SET lease_until = ?"
                    f" WHERE holder = ? AND source IN ({marks})",
                    (to_epoch(until), holder, *chunk),
                )
                rows = tx.all(
                    f"SELECT source FROM feed_leases WHERE holder = ? AND source IN ({marks})",
                    (holder, *chunk),
                )
                held.update(r[0] for r in rows)
        return held

    def lease_expiries(self, sources: Sequence[str]) -> dict[str, datetime]:
        expiries: dict[str, datetime] = {}
        with self.transaction() as tx:
            for chunk, marks in in_chunks(sources):
                for source, until in tx.all(
                    f"SELECT source, lease_until FROM feed_leases WHERE source IN ({marks})", chunk
                ):
                    expiries[source] = from_epoch(until)  # type: ignore[assignment]
        return expiries

    def release_feed(self, source: str, *, holder: str, next_due: datetime) -> None:
        with self.transaction() as tx:
            _release(tx, source, holder, next_due)

    def finish_polls(self, records: Sequence[PollRecord], *, holder: str) -> None:
        """Save the state, count the poll and give back the lease of each record, all in
        one transaction (a commit per feed is most of a poll's cost otherwise)."""
        with self.transaction() as tx:
            for r in records:
                if r.state is not None:
                    _save_state(tx, r.source, r.state, r.at)
                _record(tx, r.source, r.at, r.interval, r.items, r.error)
                _release(tx, r.source, holder, r.next_due)

    def record_poll(
        self, source: str, *, at: datetime, interval: float, items: int = 0, error: str = ""
    ) -> None:
        with self.transaction() as tx:
            _record(tx, source, at, interval, items, error)

    def source_statuses(self) -> list[SourceStatus]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT source, interval_seconds, polls, errors, items_seen, consecutive_failures,"
                " last_success_at, last_error, last_error_at, failing_since, ops_alerted_at"
                " FROM source_health ORDER BY source"
            )
        return [
            SourceStatus(
                source=r[0],
                interval=r[1],
                polls=int(r[2]),
                errors=int(r[3]),
                items_seen=int(r[4]),
                consecutive_failures=int(r[5]),
                last_success_at=from_epoch(r[6]),
                last_error=r[7],
                last_error_at=from_epoch(r[8]),
                failing_since=from_epoch(r[9]),
                ops_alerted_at=from_epoch(r[10]),
            )
            for r in rows
        ]

    def mark_ops_alerted(self, source: str, *, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE source_health SET ops_alerted_at = ? WHERE source = ?",
                (to_epoch(at), source),
            )

    def alert_delays(self, since: datetime) -> dict[str, list[float]]:
        with self.transaction() as tx:
            rows = tx.all(
                # A mention delivered to several routes counts once, at its first delivery.
                "SELECT m.source, MIN(d.delivered_at) - COALESCE(m.published_at, m.fetched_at)"
                " FROM deliveries d JOIN mentions m ON m.id = d.mention_id"
                " WHERE d.delivered_at >= ?"
                " GROUP BY m.id, m.source, m.published_at, m.fetched_at"
                " ORDER BY MIN(d.delivered_at)",
                (to_epoch(since),),
            )
        delays: dict[str, list[float]] = {}
        for source, delay in rows:
            delays.setdefault(source, []).append(max(0.0, float(delay)))
        return delays

    # --- labels ---------------------------------------------------------------------------
    def add_label(self, mention_id: int, *, label: str, actor: str, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO labels (mention_id, label, actor, at) VALUES (?, ?, ?, ?)",
                (mention_id, label, actor, to_epoch(at)),
            )
            tx.execute("UPDATE mentions SET revision = revision + 1 WHERE id = ?", (mention_id,))

    def labels(self) -> list[dict[str, object]]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT l.mention_id, l.label, l.actor, l.at, m.title, m.body, m.lang, m.brand"
                " FROM labels l JOIN mentions m ON m.id = l.mention_id ORDER BY l.at, l.id"
            )
        return [
            {
                "id": f"mention-{r[0]}",
                "text": (r[4] + "\n" + r[5]).strip() if r[4] else r[5],
                "label": r[1],
                "lang": r[6],
                "brand": r[7],
                "labelled_by": r[2],
                "labelled_at": from_epoch(r[3]).isoformat(),  # type: ignore[union-attr]
            }
            for r in rows
        ]


def _lease(tx: Tx, source: str, holder: str, now: datetime, until: datetime) -> bool:
    # Upsert that only overwrites an expired lease or our own: rowcount says who won.
    return (
        tx.execute(
            "INSERT INTO feed_leases (source, holder, lease_until) VALUES (?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET holder = excluded.holder,"
            " lease_until = excluded.lease_until"
            " WHERE feed_leases.lease_until <= ? OR feed_leases.holder = excluded.holder",
            (source, holder, to_epoch(until), to_epoch(now)),
        )
        == 1
    )


def _release(tx: Tx, source: str, holder: str, next_due: datetime) -> None:
    tx.execute(
        "UPDATE feed_leases SET lease_until = ? WHERE source = ? AND holder = ?",
        (to_epoch(next_due), source, holder),
    )


def _save_state(tx: Tx, source: str, state: FeedState, at: datetime) -> None:
    tx.execute(
        "INSERT INTO feed_state (source, etag, last_modified, cursor, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET etag = excluded.etag,"
        " last_modified = excluded.last_modified, cursor = excluded.cursor,"
        " updated_at = excluded.updated_at",
        (source, state.etag, state.last_modified, state.cursor, to_epoch(at)),
    )


def _record(tx: Tx, source: str, at: datetime, interval: float, items: int, error: str) -> None:
    t = to_epoch(at)
    tx.execute(
        "INSERT INTO source_health (source, interval_seconds) VALUES (?, ?)"
        " ON CONFLICT (source) DO UPDATE SET interval_seconds = excluded.interval_seconds",
        (source, interval),
    )
    if error:
        tx.execute(
            "UPDATE source_health SET polls = polls + 1, errors = errors + 1,"
            " consecutive_failures = consecutive_failures + 1, last_error = ?,"
            " last_error_at = ?, failing_since = COALESCE(failing_since, ?)"
            " WHERE source = ?",
            (error[:500], t, t, source),
        )
    else:
        tx.execute(
            "UPDATE source_health SET polls = polls + 1, items_seen = items_seen + ?,"
            " consecutive_failures = 0, last_success_at = ?, failing_since = NULL,"
            " ops_alerted_at = NULL WHERE source = ?",
            (items, t, source),
        )
