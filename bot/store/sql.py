"""The Store written once in portable SQL: schema, mentions and their workflow here; the
outbox (sql_outbox.py) and sources and labels (sql_sources.py) mixed in. Backends supply
connections and dialect details."""

from __future__ import annotations

import abc
import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.models import Mention, Sentiment, Status, Transition, Verdict
from bot.store.base import MentionQuery, Stats, TransitionResult
from bot.store.schema import MIGRATIONS
from bot.store.sql_base import Tx, from_epoch, to_epoch
from bot.store.sql_outbox import OutboxSql
from bot.store.sql_sources import SourcesSql
from bot.store.sql_volume import VolumeSql

MENTION_COLUMNS = (
    "id, brand, source, external_id, url, canonical_url, text_key, title, body, author, "
    "published_at, fetched_at, matched_term, channel, flagged, sentiment, score, p_negative, "
    "p_neutral, p_positive, p_complaint, attention, question, praise, lang, reason, scorer, "
    "status, owner"
)


class SqlStore(OutboxSql, SourcesSql, VolumeSql):
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

    def _insert_mention(
        self, tx: Tx, mention: Mention, alert: bool, *, queue: bool | None = None
    ) -> int | None:
        """Insert a mention, flagged (over the threshold) when `alert`; its alert is queued
        when `queue` (default: `alert`; a volume bound may hold a flagged one back)."""
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
        if alert if queue is None else queue:
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
        if row is None:
            return None
        mention = _mention_from_row(row)
        labels = tx.all(
            "SELECT label FROM labels WHERE mention_id = ? ORDER BY at, id", (mention_id,)
        )
        mention.labels = tuple(dict.fromkeys(r[0] for r in labels))
        return mention

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
