"""The volume bounds in SQL: alerts per brand per minute counted across replicas, the
mentions held back recorded, and their records handed out exactly once for the notices."""

from __future__ import annotations

import abc
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.models import Mention, routes_text
from bot.store.base import HeldBack
from bot.store.sql_base import SqlBase, Tx, from_epoch, to_epoch
from bot.store.sql_sources import in_chunks

HELD_COLUMNS = "id, brand, channel, source, reason, limit_value, mentions, hosts, first_at, last_at"


class VolumeSql(SqlBase):
    @abc.abstractmethod
    def _insert_mention(
        self, tx: Tx, mention: Mention, alert: bool, *, queue: bool | None = None
    ) -> int | None: ...

    def add_mentions_within(
        self,
        items: Sequence[tuple[Mention, bool]],
        *,
        brand: str,
        limit: int,
        window: timedelta,
        now: datetime,
        hold: str = "",
    ) -> list[tuple[int | None, bool]]:
        results: list[tuple[int | None, bool]] = []
        held: list[Mention] = []
        with self.transaction() as tx:
            left = _alerts_left(tx, brand, limit, now - window) if limit > 0 and not hold else None
            if left is not None and not any(alert for _, alert in items):
                left = None  # nothing to count: no lock needed
            for mention, alert in items:
                queue = alert and not hold and (left is None or left > 0)
                mention_id = self._insert_mention(tx, mention, alert, queue=queue)
                if mention_id is not None and alert:
                    if queue and left is not None:
                        left -= 1
                        tx.execute(
                            "INSERT INTO brand_alerts (brand, at) VALUES (?, ?)",
                            (brand, to_epoch(now)),
                        )
                    elif not queue:
                        held.append(mention)
                results.append((mention_id, mention_id is not None and queue))
            if held:
                _record(tx, held, hold or "per_minute", limit, now)
        return results

    def hold_back(
        self, mentions: Sequence[Mention], *, reason: str, limit: int, at: datetime
    ) -> list[int | None]:
        with self.transaction() as tx:
            ids = [self._insert_mention(tx, m, False) for m in mentions]
            stored = [m for m, i in zip(mentions, ids, strict=True) if i is not None]
            if stored:
                _record(tx, stored, reason, limit, at)
        return ids

    def take_held_back(self, *, now: datetime, settle: timedelta) -> list[HeldBack]:
        # One UPDATE ... RETURNING: a replica running it at the same moment waits for our
        # row locks, then finds notified_at set and takes nothing.
        with self.transaction() as tx:
            rows = tx.all(
                "UPDATE held_back SET notified_at = ? WHERE notified_at IS NULL"
                " AND (brand, channel) IN (SELECT brand, channel FROM held_back"
                " WHERE notified_at IS NULL GROUP BY brand, channel HAVING MIN(first_at) <= ?)"
                f" RETURNING {HELD_COLUMNS}",
                (to_epoch(now), to_epoch(now - settle)),
            )
        return sorted((_held(r) for r in rows), key=lambda h: h.id)

    def release_held_back(self, ids: Iterable[int]) -> None:
        with self.transaction() as tx:
            for chunk, marks in in_chunks(list(ids)):
                tx.execute(f"UPDATE held_back SET notified_at = NULL WHERE id IN ({marks})", chunk)


def _alerts_left(tx: Tx, brand: str, limit: int, since: datetime) -> int:
    """How many more alerts `brand` may have in the window, under a lock on the brand's
    row, held to the end of the transaction: PostgreSQL's UPDATE locks it (another replica
    waits, then counts what we added); SQLite's transactions take the whole write lock."""
    tx.execute(
        "INSERT INTO brand_alert_locks (brand) VALUES (?) ON CONFLICT (brand) DO NOTHING",
        (brand,),
    )
    tx.execute("UPDATE brand_alert_locks SET brand = brand WHERE brand = ?", (brand,))
    tx.execute("DELETE FROM brand_alerts WHERE brand = ? AND at < ?", (brand, to_epoch(since)))
    row = tx.one("SELECT COUNT(*) FROM brand_alerts WHERE brand = ?", (brand,))
    return max(0, limit - int(row[0] if row else 0))


def _record(tx: Tx, mentions: Sequence[Mention], reason: str, limit: int, at: datetime) -> None:
    """One held-back record per brand, channel and source among `mentions`."""
    groups: dict[tuple[str, str, str], list[Mention]] = {}
    for m in mentions:
        groups.setdefault((m.brand, routes_text(m.routes), m.source), []).append(m)
    for (brand, channel, source), group in groups.items():
        hosts = Counter(host_of(m.url) or source for m in group)
        tx.execute(
            "INSERT INTO held_back (brand, channel, source, reason, limit_value, mentions,"
            " hosts, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (brand, channel, source, reason, limit, len(group),
             json.dumps(dict(hosts.most_common(20))), to_epoch(at), to_epoch(at)),
        )  # fmt: skip


def host_of(url: str) -> str:
    """The site a mention's URL is on, as a reader names it (no "www.")."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _held(row: tuple[object, ...]) -> HeldBack:
    try:
        hosts = {str(k): int(v) for k, v in json.loads(str(row[7])).items()}
    except (ValueError, AttributeError, TypeError):
        hosts = {}
    return HeldBack(
        id=int(row[0]),  # type: ignore[call-overload]
        brand=str(row[1]),
        channel=str(row[2]),
        source=str(row[3]),
        reason=str(row[4]),
        limit=int(row[5]),  # type: ignore[call-overload]
        mentions=int(row[6]),  # type: ignore[call-overload]
        hosts=hosts,
        first_at=from_epoch(row[8]),  # type: ignore[arg-type]
        last_at=from_epoch(row[9]),  # type: ignore[arg-type]
    )
