"""The Store written once in portable SQL: schema, mentions and their workflow here; the
outbox (sql_outbox.py) and sources and labels (sql_sources.py) mixed in. Backends supply
connections and dialect details."""

from __future__ import annotations

import abc
import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.models import (
    Mention,
    Reply,
    Sentiment,
    Status,
    Transition,
    Verdict,
    routes_from_text,
    routes_text,
)
from bot.store.base import MentionQuery, OwnerRule, Stats, TransitionResult
from bot.store.schema import MIGRATIONS
from bot.store.sql_base import Tx, from_epoch, to_epoch
from bot.store.sql_chat import ChatSql
from bot.store.sql_deliveries import DeliveriesSql
from bot.store.sql_replies import RepliesSql
from bot.store.sql_sources import SourcesSql
from bot.store.sql_team import TeamSql
from bot.store.sql_teams import TeamsSql
from bot.store.sql_volume import VolumeSql

MENTION_COLUMNS = (
    "id, brand, source, external_id, url, canonical_url, text_key, title, body, author, "
    "published_at, fetched_at, matched_term, channel, flagged, sentiment, score, p_negative, "
    "p_neutral, p_positive, p_complaint, attention, question, praise, lang, reason, scorer, "
    "status, owner, revision, muted_by"
)


class SqlStore(DeliveriesSql, ChatSql, RepliesSql, SourcesSql, TeamsSql, TeamSql, VolumeSql):
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
            "?, ?, 0, ?) ON CONFLICT DO NOTHING RETURNING id",
            (
                mention.brand,
                mention.source,
                mention.external_id,
                mention.url,
                mention.canonical_url,
                mention.text_key,
                mention.title,
                mention.text,
                mention.author,
                to_epoch(mention.published_at),
                to_epoch(mention.fetched_at),
                mention.matched_term,
                routes_text(mention.routes),
                alert,
                v.sentiment.value,
                v.score,
                v.p_negative,
                v.p_neutral,
                v.p_positive,
                v.p_complaint,
                v.attention,
                v.question,
                v.praise,
                v.lang,
                v.reason,
                v.scorer,
                Status.NEW.value,
                "",
                mention.muted_by,
            ),
        )
        if row is None:
            return None
        mention_id = int(row[0])
        if alert if queue is None else queue:
            for route in dict.fromkeys(mention.routes):
                tx.execute(
                    "INSERT INTO deliveries (mention_id, platform, target, next_attempt_at)"
                    " VALUES (?, ?, ?, ?)",
                    (mention_id, route.platform, route.channel, to_epoch(mention.fetched_at)),
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
        if query.brands is not None:
            where.append(_brands_clause(query.brands, params))
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
        owner: OwnerRule = OwnerRule.KEEP,
        note: str = "",
        owner_must_be: str | None = None,
        reply: Reply | None = None,
    ) -> TransitionResult:
        allowed = {s.value for s in allowed_from}
        with self.transaction() as tx:
            # Locked (PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE holds the write lock):
            # a concurrent click waits here and then sees this one's outcome, so the status
            # we record as `from` and the owner we compute are the ones that really were.
            before = tx.one(
                "SELECT status, owner FROM mentions WHERE id = ?" + self._lock_row(),
                (mention_id,),
            )
            if before is None:
                return TransitionResult(False, None)
            status, holder = before[0], before[1]
            if status not in allowed or (
                owner_must_be is not None and holder not in ("", owner_must_be)
            ):
                return TransitionResult(False, self._read_mention(tx, mention_id))
            new_owner = {
                OwnerRule.KEEP: holder,
                OwnerRule.CLEAR: "",
                OwnerRule.ACTOR: actor,
                OwnerRule.ACTOR_IF_FREE: holder or actor,
            }[owner]
            tx.execute(
                "UPDATE mentions SET status = ?, owner = ?, revision = revision + 1 WHERE id = ?",
                (to.value, new_owner, mention_id),
            )
            tx.execute(
                "INSERT INTO transitions (mention_id, from_status, to_status, actor, at, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (mention_id, status, to.value, actor, to_epoch(at), note),
            )
            if reply is not None:
                self._insert_reply(tx, mention_id, reply)
            return TransitionResult(True, self._read_mention(tx, mention_id), holder)

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

    def stats(self, since: datetime | None, *, brands: Sequence[str] | None = None) -> Stats:
        cutoff = to_epoch(since) if since is not None else float("-inf")
        params: list[Any] = [cutoff]
        scope = "" if brands is None else " AND " + _brands_clause(brands, params, "m.")
        with self.transaction() as tx:
            by_sentiment = dict(
                tx.all(
                    f"SELECT sentiment, COUNT(*) FROM mentions m WHERE fetched_at >= ?{scope}"
                    " GROUP BY sentiment",
                    params,
                )
            )
            by_status = dict(
                tx.all(
                    f"SELECT status, COUNT(*) FROM mentions m WHERE fetched_at >= ?{scope}"
                    " GROUP BY status",
                    params,
                )
            )
            events = tx.all(
                "SELECT t.mention_id, t.to_status, MIN(t.at) FROM transitions t"
                f" JOIN mentions m ON m.id = t.mention_id WHERE m.fetched_at >= ?{scope}"
                " GROUP BY t.mention_id, t.to_status",
                params,
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
        routes=routes_from_text(r[13]),
        verdict=verdict,
        status=Status(r[27]),
        owner=r[28],
        revision=int(r[29]),
        muted_by=None if r[30] is None else int(r[30]),
    )


def _brands_clause(brands: Sequence[str], params: list[Any], prefix: str = "") -> str:
    """`brand IN (...)`, case-insensitive; an empty list matches nothing."""
    if not brands:
        return "1 = 0"
    params.extend(b.lower() for b in brands)
    return f"LOWER({prefix}brand) IN (" + ", ".join("?" for _ in brands) + ")"
