"""The outbox in SQL: deliveries (one alert on one route) and notices, leased to one replica
at a time, and routes paused as a whole so that what waited goes out in order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.models import SYSTEM, Delivery, MessageRef, Notice, Platform, Route, Status
from bot.store.base import RouteHealth
from bot.store.sql_base import SqlBase, Tx, from_epoch, to_epoch

DELIVERY_COLUMNS = (
    "d.id, d.mention_id, d.platform, d.target, d.attempts, d.channel_id, d.message_id,"
    " d.delivered_at, d.last_error, d.in_flight"
)
# A route that is paused holds back all it would carry (NOT EXISTS keeps FOR UPDATE legal).
NOT_PAUSED = (
    " AND NOT EXISTS (SELECT 1 FROM route_health r WHERE r.platform = {t}.platform"
    " AND r.target = {t}.target AND r.paused_until > ?)"
)


class DeliveriesSql(SqlBase):
    def _skip_locked(self, table: str) -> str:
        """PostgreSQL: lock the leased rows and skip those another replica is leasing."""
        return ""

    def _lease_due(
        self,
        table: str,
        select: str,
        order: str,
        now: datetime,
        limit: int,
        platforms: Iterable[str],
        lease_seconds: float,
    ) -> list[tuple[Any, ...]]:
        """Lease up to `limit` rows of `table` (aliased by its first letter in `select`) that
        are due, undelivered, for these platforms and on routes that are not paused."""
        names = list(platforms)
        if not names:
            return []
        alias, t = table[0], now.timestamp()
        marks = ", ".join("?" for _ in names)
        with self.transaction() as tx:
            rows = tx.all(
                f"{select} WHERE {alias}.delivered_at IS NULL AND {alias}.platform IN ({marks})"
                f" AND {alias}.next_attempt_at <= ? AND {alias}.lease_until <= ?"
                + NOT_PAUSED.format(t=alias)
                + f" ORDER BY {order} LIMIT ?"
                + self._skip_locked(alias),
                (*names, t, t, t, limit),
            )
            _lease(tx, table, [r[0] for r in rows], t + lease_seconds)
        return rows

    # --- deliveries -------------------------------------------------------------------------
    def due_deliveries(
        self,
        now: datetime,
        limit: int,
        *,
        platforms: Iterable[str] = tuple(Platform),
        lease_seconds: float = 120.0,
    ) -> list[Delivery]:
        """Oldest mention first (by publication, else fetch time): after an outage the team
        reads what waited in the order it was said."""
        rows = self._lease_due(
            "deliveries",
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN mentions m ON m.id = d.mention_id",
            "COALESCE(m.published_at, m.fetched_at), d.id",
            now, limit, platforms, lease_seconds,
        )  # fmt: skip
        return [_delivery_from_row(r) for r in rows]

    def mark_delivered(self, delivery_id: int, *, message: MessageRef, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE deliveries SET delivered_at = ?, channel_id = ?, message_id = ?,"
                " attempts = attempts + 1, last_error = '', lease_until = 0, in_flight = FALSE"
                " WHERE id = ?",
                (to_epoch(at), message.channel_id, message.message_id, delivery_id),
            )
            row = tx.one(
                "SELECT mention_id, platform, target FROM deliveries WHERE id = ?", (delivery_id,)
            )
            if row is None:
                return
            _route_works(tx, row[1], row[2])
            if tx.execute(
                "UPDATE mentions SET status = ?, revision = revision + 1"
                " WHERE id = ? AND status = ?",
                (Status.ALERTED.value, row[0], Status.NEW.value),
            ):
                tx.execute(
                    "INSERT INTO transitions (mention_id, from_status, to_status, actor, at, note)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (row[0], Status.NEW.value, Status.ALERTED.value, SYSTEM, to_epoch(at), ""),
                )

    def mark_failed(
        self, delivery_id: int, *, error: str, retry_at: datetime, uncertain: bool = False
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?,"
                " next_attempt_at = ?, lease_until = 0, in_flight = ? WHERE id = ?",
                (error[:1000], to_epoch(retry_at), uncertain, delivery_id),
            )

    def pause_route(self, route: Route, *, until: datetime, error: str, at: datetime) -> None:
        with self.transaction() as tx:
            updated = tx.execute(
                "UPDATE route_health SET paused_until = ?, last_error = ?, last_error_at = ?,"
                " consecutive_failures = consecutive_failures + 1"
                " WHERE platform = ? AND target = ?",
                (to_epoch(until), error[:1000], to_epoch(at), route.platform, route.channel),
            )
            if not updated:
                tx.execute(
                    "INSERT INTO route_health (platform, target, paused_until,"
                    " consecutive_failures, last_error, last_error_at) VALUES (?, ?, ?, 1, ?, ?)",
                    (route.platform, route.channel, to_epoch(until), error[:1000], to_epoch(at)),
                )

    def route_health(self) -> list[RouteHealth]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT platform, target, paused_until, consecutive_failures, last_error,"
                " last_error_at FROM route_health WHERE consecutive_failures > 0"
                " ORDER BY platform, target"
            )
        return [
            RouteHealth(
                Route(r[0], r[1]), from_epoch(r[2] or None), int(r[3]), r[4], from_epoch(r[5])
            )
            for r in rows
        ]

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        with self.transaction() as tx:
            row = tx.one(
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.id = ?", (delivery_id,)
            )
        return None if row is None else _delivery_from_row(row)

    def deliveries(self, mention_id: int) -> list[Delivery]:
        with self.transaction() as tx:
            rows = tx.all(
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.mention_id = ? ORDER BY d.id",
                (mention_id,),
            )
        return [_delivery_from_row(r) for r in rows]

    def delivery_of_message(self, message: MessageRef) -> Delivery | None:
        with self.transaction() as tx:
            rows = tx.all(
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.platform = ?"
                " AND d.message_id = ? AND d.channel_id IN (?, '') ORDER BY d.channel_id DESC",
                (message.platform, message.message_id, message.channel_id),
            )
        return _delivery_from_row(rows[0]) if rows else None

    def set_delivery_channel(self, delivery_id: int, channel_id: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE deliveries SET channel_id = ? WHERE id = ? AND channel_id = ''",
                (channel_id, delivery_id),
            )

    def release_deliveries(self, delivery_ids: Iterable[int]) -> None:
        ids = list(delivery_ids)
        if ids:
            with self.transaction() as tx:
                marks = ", ".join("?" for _ in ids)
                tx.execute(
                    "UPDATE deliveries SET lease_until = 0, in_flight = FALSE"
                    f" WHERE id IN ({marks})",
                    ids,
                )

    def pending_count(self) -> int:
        with self.transaction() as tx:
            row = tx.one("SELECT COUNT(*) FROM deliveries WHERE delivered_at IS NULL")
        return int(row[0]) if row else 0

    # --- notices ----------------------------------------------------------------------------
    def add_notice(
        self,
        route: Route,
        text: str,
        *,
        at: datetime,
        thread_of: int | None = None,
        ping: Sequence[str] = (),
        for_mention: int | None = None,
        while_status: Sequence[Status] = (),
    ) -> int:
        with self.transaction() as tx:
            return insert_notice(tx, route, text, at, thread_of, ping, for_mention, while_status)

    def due_notices(
        self,
        now: datetime,
        limit: int,
        *,
        platforms: Iterable[str] = tuple(Platform),
        lease_seconds: float = 120.0,
    ) -> list[Notice]:
        rows = self._lease_due(
            "notices",
            "SELECT n.id, n.platform, n.target, n.body, n.attempts, n.thread_of, n.ping,"
            " n.for_mention, n.while_status FROM notices n",
            "n.id",
            now, limit, platforms, lease_seconds,
        )  # fmt: skip
        return [
            Notice(
                int(r[0]),
                Route(r[1], r[2]),
                r[3],
                int(r[4]),
                None if r[5] is None else int(r[5]),
                ping=tuple(p for p in r[6].split("\n") if p),
                for_mention=None if r[7] is None else int(r[7]),
                while_status=tuple(Status(s) for s in r[8].split(",") if s),
            )
            for r in rows
        ]

    def mark_notice_sent(self, notice_id: int, *, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE notices SET delivered_at = ?, attempts = attempts + 1, last_error = '',"
                " lease_until = 0 WHERE id = ?",
                (to_epoch(at), notice_id),
            )
            row = tx.one("SELECT platform, target FROM notices WHERE id = ?", (notice_id,))
            if row is not None:
                _route_works(tx, row[0], row[1])

    def mark_notice_failed(self, notice_id: int, *, error: str, retry_at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE notices SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                " lease_until = 0 WHERE id = ?",
                (error[:1000], to_epoch(retry_at), notice_id),
            )


def insert_notice(
    tx: Tx,
    route: Route,
    text: str,
    at: datetime,
    thread_of: int | None = None,
    ping: Sequence[str] = (),
    for_mention: int | None = None,
    while_status: Sequence[Status] = (),
) -> int:
    row = tx.one(
        "INSERT INTO notices (platform, target, body, thread_of, created_at,"
        " next_attempt_at, ping, for_mention, while_status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            route.platform,
            route.channel,
            text,
            thread_of,
            to_epoch(at),
            to_epoch(at),
            "\n".join(ping),
            for_mention,
            ",".join(s.value for s in while_status),
        ),
    )
    assert row is not None
    return int(row[0])


def _lease(tx: Tx, table: str, ids: Sequence[int], until: float) -> None:
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    in_flight = ", in_flight = TRUE" if table == "deliveries" else ""
    tx.execute(
        f"UPDATE {table} SET lease_until = ?{in_flight} WHERE id IN ({marks})", (until, *ids)
    )


def _route_works(tx: Tx, platform: str, target: str) -> None:
    tx.execute(
        "UPDATE route_health SET paused_until = 0, consecutive_failures = 0"
        " WHERE platform = ? AND target = ? AND consecutive_failures > 0",
        (platform, target),
    )


def _delivery_from_row(r: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(r[0]),
        mention_id=int(r[1]),
        route=Route(r[2], r[3]),
        attempts=int(r[4]),
        channel_id=r[5],
        message_id=r[6],
        delivered_at=from_epoch(r[7]),
        last_error=r[8],
        maybe_posted=bool(r[9]) and r[7] is None,
    )
