"""The outbox in SQL: leasing due alerts, recording their outcome."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.models import Alert, Status
from bot.store.sql_base import SqlBase, from_epoch, to_epoch

ALERT_COLUMNS = "id, mention_id, channel, attempts, chat_ts, delivered_at, last_error, in_flight"


class OutboxSql(SqlBase):
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
