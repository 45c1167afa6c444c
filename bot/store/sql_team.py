"""The team workflow in SQL (bot/team): things done once across replicas, extra deliveries,
the open alerts a scheduler looks at, and response-time events for figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import Mention, Mute, MuteKind, Route, Sentiment, Status
from bot.store.base import NoticeDraft, WorkflowRow
from bot.store.sql_base import SqlBase, Tx, from_epoch, to_epoch
from bot.store.sql_deliveries import insert_notice


class TeamSql(SqlBase):
    def _lock_row(self) -> str:
        return ""

    def once(
        self,
        key: str,
        *,
        at: datetime,
        mention_id: int | None = None,
        while_status: Sequence[Status] = (),
        owner: str | None = None,
        notices: Sequence[NoticeDraft] = (),
        deliver_to: Route | None = None,
    ) -> bool:
        with self.transaction() as tx:
            if mention_id is not None and (while_status or owner is not None):
                row = tx.one(
                    "SELECT status, owner FROM mentions WHERE id = ?" + self._lock_row(),
                    (mention_id,),
                )
                if row is None or (while_status and row[0] not in {s.value for s in while_status}):
                    return False
                if owner is not None and row[1] != owner:
                    return False
            won = tx.one(
                "INSERT INTO team_once (key, mention_id, at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING key",
                (key[:500], mention_id, to_epoch(at)),
            )
            if won is None:
                return False
            delivery_id = None
            if deliver_to is not None and mention_id is not None:
                delivery_id = _add_delivery(tx, mention_id, deliver_to, at)
            for draft in notices:
                thread = delivery_id if draft.under_new_delivery else draft.thread_of
                insert_notice(
                    tx, draft.route, draft.text, at, thread, draft.ping, mention_id, while_status
                )
            return True

    def add_mute(
        self,
        brand: str,
        kind: MuteKind,
        value: str,
        *,
        actor: str,
        at: datetime,
        until: datetime | None,
    ) -> Mute:
        with self.transaction() as tx:
            row = tx.one(
                "INSERT INTO mutes (brand, kind, value, actor, created_at, until)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (brand, kind.value, value, actor, to_epoch(at), to_epoch(until)),
            )
        assert row is not None
        return Mute(int(row[0]), brand, kind, value, actor, at, until)

    def active_mutes(self, now: datetime, *, brands: Sequence[str] | None = None) -> list[Mute]:
        params: list[Any] = [to_epoch(now)]
        scope = ""
        if brands is not None:
            if not brands:
                return []
            scope = " AND LOWER(brand) IN (" + ", ".join("?" for _ in brands) + ")"
            params += [b.lower() for b in brands]
        with self.transaction() as tx:
            rows = tx.all(
                f"SELECT {MUTE_COLUMNS} FROM mutes WHERE lifted_at IS NULL"
                " AND (until IS NULL OR until > ?)" + scope + " ORDER BY id",
                params,
            )
        return [_mute(r) for r in rows]

    def lift_mute(self, mute_id: int, *, at: datetime) -> Mute | None:
        with self.transaction() as tx:
            row = tx.one(
                f"SELECT {MUTE_COLUMNS} FROM mutes WHERE id = ? AND lifted_at IS NULL",
                (mute_id,),
            )
            if row is None:
                return None
            tx.execute("UPDATE mutes SET lifted_at = ? WHERE id = ?", (to_epoch(at), mute_id))
        return _mute(row)

    def done_once(self, key: str) -> bool:
        with self.transaction() as tx:
            return tx.one("SELECT 1 FROM team_once WHERE key = ?", (key[:500],)) is not None

    def add_delivery(self, mention_id: int, route: Route, *, at: datetime) -> int | None:
        with self.transaction() as tx:
            return _add_delivery(tx, mention_id, route, at)

    def record_reach(self, mention_id: int, value: int, *, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO reach (mention_id, at, value) VALUES (?, ?, ?)",
                (mention_id, to_epoch(at), max(0, int(value))),
            )

    def reach_history(self, mention_id: int) -> list[tuple[datetime, int]]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT at, value FROM reach WHERE mention_id = ? ORDER BY at", (mention_id,)
            )
        return [(from_epoch(r[0]), int(r[1])) for r in rows]  # type: ignore[misc]

    def fetch_times(self, brand: str, sentiment: Sentiment, since: datetime) -> list[datetime]:
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT fetched_at FROM mentions WHERE LOWER(brand) = ? AND sentiment = ?"
                " AND fetched_at >= ? ORDER BY fetched_at",
                (brand.lower(), sentiment.value, to_epoch(since)),
            )
        return [from_epoch(r[0]) for r in rows]  # type: ignore[misc]

    def first_seen(self, brand: str) -> datetime | None:
        with self.transaction() as tx:
            row = tx.one("SELECT MIN(fetched_at) FROM mentions WHERE LOWER(brand) = ?",
                         (brand.lower(),))  # fmt: skip
        return from_epoch(row[0]) if row and row[0] is not None else None

    def open_alerts(self, limit: int = 2000) -> list[Mention]:
        from bot.store.sql import MENTION_COLUMNS, _mention_from_row  # the store's one reader

        with self.transaction() as tx:
            rows = tx.all(
                f"SELECT {MENTION_COLUMNS} FROM mentions WHERE flagged = ? AND status IN (?, ?, ?)"
                " ORDER BY fetched_at, id LIMIT ?",
                (True, Status.ALERTED.value, Status.CLAIMED.value, Status.REPLIED.value, limit),
            )
        return [_mention_from_row(r) for r in rows]

    def workflow_rows(
        self, since: datetime, until: datetime, *, brands: Sequence[str] | None = None
    ) -> list[WorkflowRow]:
        params: list[Any] = [to_epoch(since), to_epoch(until)]
        scope = ""
        if brands is not None:
            if not brands:
                return []
            scope = " AND LOWER(m.brand) IN (" + ", ".join("?" for _ in brands) + ")"
            params += [b.lower() for b in brands]
        with self.transaction() as tx:
            rows = tx.all(
                "SELECT m.id, m.brand, m.source, m.sentiment, m.flagged, m.status, m.owner,"
                " m.fetched_at, m.question, m.praise, m.attention, m.title, m.body, m.url,"
                " m.muted_by FROM mentions m WHERE m.fetched_at >= ? AND m.fetched_at < ?"
                + scope
                + " ORDER BY m.fetched_at, m.id",
                params,
            )
            ids = [int(r[0]) for r in rows]
            firsts = _first_times(tx, ids)
        out = []
        for r in rows:
            f = firsts.get(int(r[0]), {})
            out.append(
                WorkflowRow(
                    mention_id=int(r[0]),
                    brand=r[1],
                    source=r[2],
                    sentiment=r[3],
                    flagged=bool(r[4]),
                    status=Status(r[5]),
                    owner=r[6],
                    fetched_at=from_epoch(r[7]),  # type: ignore[arg-type]
                    question=bool(r[8]),
                    praise=bool(r[9]),
                    attention=float(r[10]),
                    title=r[11] or r[12][:200],
                    url=r[13],
                    muted=r[14] is not None,
                    alerted_at=f.get("alerted"),
                    claimed_at=f.get("claimed"),
                    replied_at=f.get("reply"),
                    resolved_at=f.get("resolved"),
                    claimed_by=f.get("claimer", ""),
                    replied_by=f.get("replier", ""),
                    resolved_by=f.get("resolver", ""),
                )
            )
        return out


MUTE_COLUMNS = "id, brand, kind, value, actor, created_at, until"


def _mute(r: Sequence[Any]) -> Mute:
    return Mute(
        int(r[0]),
        r[1],
        MuteKind(r[2]),
        r[3],
        r[4],
        from_epoch(r[5]) or datetime.min,
        from_epoch(r[6]),
    )


def _add_delivery(tx: Tx, mention_id: int, route: Route, at: datetime) -> int | None:
    row = tx.one(
        "INSERT INTO deliveries (mention_id, platform, target, next_attempt_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (mention_id, route.platform, route.channel, to_epoch(at)),
    )
    if row is not None:
        return int(row[0])
    found = tx.one(
        "SELECT id FROM deliveries WHERE mention_id = ? AND platform = ? AND target = ?",
        (mention_id, route.platform, route.channel),
    )
    return None if found is None else int(found[0])


def _first_times(tx: Tx, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per mention: the first time it was alerted, claimed (or replied to without a claim),
    first replied to and resolved, and who claimed it."""
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for mention_id, to_status, actor, at in tx.all(
            "SELECT mention_id, to_status, actor, at FROM transitions"
            f" WHERE mention_id IN ({marks}) ORDER BY at, id",
            chunk,
        ):
            times = found.setdefault(int(mention_id), {})
            moment = from_epoch(at)
            if to_status == Status.ALERTED.value:
                times.setdefault("alerted", moment)
            elif to_status in (Status.CLAIMED.value, Status.REPLIED.value):
                if "claimed" not in times:
                    times["claimed"], times["claimer"] = moment, actor
            elif to_status == Status.RESOLVED.value and "resolved" not in times:
                times["resolved"], times["resolver"] = moment, actor
        for mention_id, actor, at in tx.all(
            f"SELECT mention_id, actor, at FROM replies WHERE mention_id IN ({marks})"
            " ORDER BY at, id",
            chunk,
        ):
            times = found.setdefault(int(mention_id), {})
            if "reply" not in times:
                times["reply"], times["replier"] = from_epoch(at), actor
    return found
