"""The Store written once in portable SQL; backends supply connections and dialect details.

Statements use `?` placeholders; a backend whose driver wants `%s` rewrites them. Times are
stored as UTC epoch seconds so both backends compare and sort them the same way.
"""

from __future__ import annotations

import abc
import statistics
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from bot.models import Alert, Mention, Sentiment, Status, Transition, Verdict
from bot.sources.base import FeedState
from bot.store.base import MentionQuery, SourceStatus, Stats, Store, TransitionResult
from bot.store.schema import MIGRATIONS

MENTION_COLUMNS = (
    "id, brand, source, external_id, url, canonical_url, text_key, title, body, author, "
    "published_at, fetched_at, matched_term, channel, flagged, sentiment, score, p_negative, "
    "p_neutral, p_positive, p_complaint, attention, question, praise, lang, reason, scorer, "
    "status, owner"
)


ALERT_COLUMNS = "id, mention_id, channel, attempts, chat_ts, delivered_at, last_error, in_flight"


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


def to_epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


class SqlStore(Store):
    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """A write transaction that commits on success and rolls back on error."""

    @abc.abstractmethod
    def _dialect(self) -> dict[str, str]:
        """DDL fragments: {"id": ..., "bool": ...}."""

    # --- schema ---------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply every migration newer than the database's version; return the version."""
        with self.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = tx.one("SELECT MAX(version) FROM schema_version")
            current = int(row[0]) if row and row[0] is not None else 0
            for version, statements in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    tx.execute(statement.format(**self._dialect()))
                tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            return max(current, len(MIGRATIONS))

    # --- mentions -------------------------------------------------------------------------
    def add_mention(self, mention: Mention, *, alert: bool) -> int | None:
        return self.add_mentions([(mention, alert)])[0]

    def add_mentions(self, items: Sequence[tuple[Mention, bool]]) -> list[int | None]:
        ids: list[int | None] = []
        with self.transaction() as tx:
            for mention, alert in items:
                ids.append(self._insert_mention(tx, mention, alert))
        return ids

    def _insert_mention(self, tx: Tx, mention: Mention, alert: bool) -> int | None:
        v = mention.verdict
        row = tx.one(
            f"INSERT INTO mentions ({MENTION_COLUMNS.removeprefix('id, ')}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (
                mention.brand, mention.source, mention.external_id, mention.url,
                mention.canonical_url, mention.text_key, mention.title, mention.text,
                mention.author, to_epoch(mention.published_at), to_epoch(mention.fetched_at),
                mention.matched_term, mention.channel, alert, v.sentiment.value, v.score,
                v.p_negative, v.p_neutral, v.p_positive, v.p_complaint, v.attention,
                v.question, v.praise, v.lang, v.reason, v.scorer, Status.NEW.value, "",
            ),
        )  # fmt: skip
        if row is None:
            return None
        mention_id = int(row[0])
        if alert:
            tx.execute(
                "INSERT INTO outbox (mention_id, channel, next_attempt_at) VALUES (?, ?, ?)",
                (mention_id, mention.channel, to_epoch(mention.fetched_at)),
            )
        return mention_id

    def known_ids(self, source: str, external_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(external_ids))
        found: set[str] = set()
        with self.transaction() as tx:
            for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                rows = tx.all(
                    "SELECT external_id FROM mentions"
                    f" WHERE source = ? AND external_id IN ({marks})",
                    (source, *chunk),
                )
                found.update(r[0] for r in rows)
        return found

    def get_mention(self, mention_id: int) -> Mention | None:
        with self.transaction() as tx:
            return self._read_mention(tx, mention_id)

    def _read_mention(self, tx: Tx, mention_id: int) -> Mention | None:
        row = tx.one(f"SELECT {MENTION_COLUMNS} FROM mentions WHERE id = ?", (mention_id,))
        return None if row is None else _mention_from_row(row)

    def find_mentions(self, query: MentionQuery) -> list[Mention]:
        where: list[str] = []
        params: list[Any] = []
        for word in query.words:
            where.append("(LOWER(title) LIKE ? OR LOWER(body) LIKE ? OR LOWER(author) LIKE ?)")
            pattern = "%" + word.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            params += [pattern, pattern, pattern]
        if query.source:
            where.append("source = ?")
            params.append(query.source)
        if query.brand:
            where.append("LOWER(brand) = ?")
            params.append(query.brand.lower())
        if query.sentiment is not None:
            where.append("sentiment = ?")
            params.append(query.sentiment.value)
        if query.statuses:
            where.append("status IN (" + ", ".join("?" for _ in query.statuses) + ")")
            params += [s.value for s in query.statuses]
        if query.owner:
            where.append("owner = ?")
            params.append(query.owner)
        if query.since is not None:
            where.append("fetched_at >= ?")
            params.append(to_epoch(query.since))
        if query.flagged_only:
            where.append("flagged = ?")
            params.append(True)
        sql = f"SELECT {MENTION_COLUMNS} FROM mentions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY fetched_at DESC, id DESC LIMIT ?"
        params.append(query.limit)
        with self.transaction() as tx:
            return [_mention_from_row(r) for r in tx.all(sql, params)]

    def transition(
        self,
        mention_id: int,
        *,
        allowed_from: Iterable[Status],
        to: Status,
        actor: str,
        at: datetime,
        owner: str | None = None,
        note: str = "",
        owner_must_be: str | None = None,
    ) -> TransitionResult:
        allowed = [s.value for s in allowed_from]
        with self.transaction() as tx:
            before = tx.one("SELECT status FROM mentions WHERE id = ?", (mention_id,))
            if before is None:
                return TransitionResult(False, None)
            # The compare-and-set: of two racing writers exactly one sees its WHERE hold.
            sql = "UPDATE mentions SET status = ?"
            params: list[Any] = [to.value]
            if owner is not None:
                sql += ", owner = ?"
                params.append(owner)
            sql += " WHERE id = ? AND status IN (" + ", ".join("?" for _ in allowed) + ")"
            params += [mention_id, *allowed]
            if owner_must_be is not None:
                sql += " AND owner = ?"
                params.append(owner_must_be)
            if tx.execute(sql, params) == 1:
                tx.execute(
                    "INSERT INTO transitions (mention_id, from_status, to_status, actor, at, note)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (mention_id, before[0], to.value, actor, to_epoch(at), note),
                )
                return TransitionResult(True, self._read_mention(tx, mention_id))
            return TransitionResult(False, self._read_mention(tx, mention_id))

    def history(self, mention_id: int) -> list[Transition]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT mention_id, from_status, to_status, actor, at, note FROM transitions"
                " WHERE mention_id = ? ORDER BY at, id",
                (mention_id,),
            )
        return [
            Transition(r[0], Status(r[1]), Status(r[2]), r[3], from_epoch(r[4]), r[5])  # type: ignore[arg-type]
            for r in rows
        ]

    def add_reply(self, mention_id: int, *, actor: str, text: str, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO replies (mention_id, actor, body, at) VALUES (?, ?, ?, ?)",
                (mention_id, actor, text, to_epoch(at)),
            )

    def replies(self, mention_id: int) -> list[tuple[str, str, datetime]]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT actor, body, at FROM replies WHERE mention_id = ? ORDER BY at, id",
                (mention_id,),
            )
        return [(r[0], r[1], from_epoch(r[2])) for r in rows]  # type: ignore[misc]

    def stats(self, since: datetime | None) -> Stats:
        cutoff = to_epoch(since) if since is not None else float("-inf")
        with self.transaction() as tx:
            by_sentiment = dict(
                tx.all(
                    "SELECT sentiment, COUNT(*) FROM mentions WHERE fetched_at >= ?"
                    " GROUP BY sentiment",
                    (cutoff,),
                )
            )
            by_status = dict(
                tx.all(
                    "SELECT status, COUNT(*) FROM mentions WHERE fetched_at >= ? GROUP BY status",
                    (cutoff,),
                )
            )
            events = tx.all(
                "SELECT t.mention_id, t.to_status, MIN(t.at) FROM transitions t"
                " JOIN mentions m ON m.id = t.mention_id WHERE m.fetched_at >= ?"
                " GROUP BY t.mention_id, t.to_status",
                (cutoff,),
            )
        first: dict[int, dict[str, float]] = {}
        for mention_id, status, at in events:
            first.setdefault(mention_id, {})[status] = at
        to_claim = [
            e["claimed"] - e["alerted"] for e in first.values() if "claimed" in e and "alerted" in e
        ]
        to_resolve = [
            e["resolved"] - e["alerted"]
            for e in first.values()
            if "resolved" in e and "alerted" in e
        ]
        return Stats(
            by_sentiment={k: int(v) for k, v in by_sentiment.items()},
            by_status={k: int(v) for k, v in by_status.items()},
            median_seconds_to_claim=statistics.median(to_claim) if to_claim else None,
            median_seconds_to_resolve=statistics.median(to_resolve) if to_resolve else None,
            total=sum(int(v) for v in by_sentiment.values()),
        )

    # --- outbox ---------------------------------------------------------------------------
    def due_alerts(self, now: datetime, limit: int, *, lease_seconds: float = 120.0) -> list[Alert]:
        """Lease up to `limit` due alerts to this caller, so replicas never deliver one twice
        at once; an expired lease (a replica that died mid-delivery) is taken over."""
        t = to_epoch(now)
        with self.transaction() as tx:
            rows = tx.all(
                f"SELECT {ALERT_COLUMNS} FROM outbox WHERE delivered_at IS NULL"
                " AND next_attempt_at <= ? AND lease_until <= ? ORDER BY id LIMIT ?"
                + self._skip_locked(),
                (t, t, limit),
            )
            if not rows:
                return []
            ids = [r[0] for r in rows]
            marks = ", ".join("?" for _ in ids)
            tx.execute(
                f"UPDATE outbox SET lease_until = ?, in_flight = ? WHERE id IN ({marks})",
                (t + lease_seconds, True, *ids),  # type: ignore[operator]
            )
        return [_alert_from_row(r) for r in rows]

    def _skip_locked(self) -> str:
        return ""

    def mark_delivered(self, alert_id: int, *, chat_ts: str, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE outbox SET delivered_at = ?, chat_ts = ?, attempts = attempts + 1,"
                " last_error = '', lease_until = 0, in_flight = FALSE WHERE id = ?",
                (to_epoch(at), chat_ts, alert_id),
            )
            row = tx.one("SELECT mention_id FROM outbox WHERE id = ?", (alert_id,))
            if row is None:
                return
            if tx.execute(
                "UPDATE mentions SET status = ? WHERE id = ? AND status = ?",
                (Status.ALERTED.value, row[0], Status.NEW.value),
            ):
                tx.execute(
                    "INSERT INTO transitions (mention_id, from_status, to_status, actor, at, note)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (row[0], Status.NEW.value, Status.ALERTED.value, "system", to_epoch(at), ""),
                )

    def mark_failed(
        self, alert_id: int, *, error: str, retry_at: datetime, uncertain: bool = False
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                " lease_until = 0, in_flight = ? WHERE id = ?",
                (error[:1000], to_epoch(retry_at), uncertain, alert_id),
            )

    def alert_for(self, mention_id: int) -> Alert | None:
        with self.transaction() as tx:
            row = tx.one(f"SELECT {ALERT_COLUMNS} FROM outbox WHERE mention_id = ?", (mention_id,))
        return None if row is None else _alert_from_row(row)

    def release_alerts(self, alert_ids: Iterable[int]) -> None:
        ids = list(alert_ids)
        if not ids:
            return
        with self.transaction() as tx:
            marks = ", ".join("?" for _ in ids)
            tx.execute(
                f"UPDATE outbox SET lease_until = 0, in_flight = FALSE WHERE id IN ({marks})", ids
            )

    def pending_count(self) -> int:
        with self.transaction() as tx:
            row = tx.one("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
        return int(row[0]) if row else 0

    # --- sources --------------------------------------------------------------------------
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
            tx.execute(
                "INSERT INTO feed_state (source, etag, last_modified, cursor, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET etag = excluded.etag,"
                " last_modified = excluded.last_modified, cursor = excluded.cursor,"
                " updated_at = excluded.updated_at",
                (source, state.etag, state.last_modified, state.cursor, to_epoch(at)),
            )

    def lease_feed(self, source: str, *, holder: str, now: datetime, until: datetime) -> bool:
        with self.transaction() as tx:
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

    def release_feed(self, source: str, *, holder: str, next_due: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE feed_leases SET lease_until = ? WHERE source = ? AND holder = ?",
                (to_epoch(next_due), source, holder),
            )

    def record_poll(
        self, source: str, *, at: datetime, interval: float, items: int = 0, error: str = ""
    ) -> None:
        t = to_epoch(at)
        with self.transaction() as tx:
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
                "SELECT m.source, o.delivered_at - COALESCE(m.published_at, m.fetched_at)"
                " FROM outbox o JOIN mentions m ON m.id = o.mention_id"
                " WHERE o.delivered_at >= ? ORDER BY o.delivered_at",
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


def _mention_from_row(r: Sequence[Any]) -> Mention:
    verdict = Verdict(
        sentiment=Sentiment(r[15]),
        score=r[16],
        p_negative=r[17],
        p_neutral=r[18],
        p_positive=r[19],
        p_complaint=r[20],
        attention=r[21],
        question=bool(r[22]),
        praise=bool(r[23]),
        lang=r[24],
        reason=r[25],
        scorer=r[26],
    )
    return Mention(
        id=int(r[0]),
        brand=r[1],
        source=r[2],
        external_id=r[3],
        url=r[4],
        canonical_url=r[5],
        text_key=r[6],
        title=r[7],
        text=r[8],
        author=r[9],
        published_at=from_epoch(r[10]),
        fetched_at=from_epoch(r[11]),  # type: ignore[arg-type]
        matched_term=r[12],
        channel=r[13],
        verdict=verdict,
        status=Status(r[27]),
        owner=r[28],
    )


def _alert_from_row(r: Sequence[Any]) -> Alert:
    return Alert(
        id=int(r[0]),
        mention_id=int(r[1]),
        channel=r[2],
        attempts=int(r[3]),
        chat_ts=r[4],
        delivered_at=from_epoch(r[5]),
        last_error=r[6],
        maybe_posted=bool(r[7]) and r[5] is None,
    )
