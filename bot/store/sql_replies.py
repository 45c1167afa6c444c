"""Replies: notes in a chat thread and public replies posted on the mention's platform, and
the deletion (undo) of a public reply, recorded with the status change it brings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import Reply, ReplyWhere, Status
from bot.store.sql_base import SqlBase, Tx, from_epoch, to_epoch

REPLY_COLUMNS = (
    "id, actor, body, at, destination, platform, account, link, remote_id, deleted_at, deleted_by"
)


class RepliesSql(SqlBase):
    def _insert_reply(self, tx: Tx, mention_id: int, reply: Reply) -> None:
        tx.execute(
            "INSERT INTO replies (mention_id, actor, body, at, destination, platform, account,"
            " link, remote_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mention_id,
                reply.actor,
                reply.text,
                to_epoch(reply.at),
                reply.where.value,
                reply.platform,
                reply.account,
                reply.link,
                reply.remote_id,
            ),
        )

    def replies(self, mention_id: int) -> list[Reply]:
        with self.transaction() as tx:
            rows = tx.all(
                f"SELECT {REPLY_COLUMNS} FROM replies WHERE mention_id = ? ORDER BY at, id",
                (mention_id,),
            )
        return [_reply_from_row(r) for r in rows]

    def get_reply(self, reply_id: int) -> tuple[int, Reply] | None:
        with self.transaction() as tx:
            row = tx.one(
                f"SELECT {REPLY_COLUMNS}, mention_id FROM replies WHERE id = ?", (reply_id,)
            )
        return None if row is None else (int(row[-1]), _reply_from_row(row))

    def mark_reply_deleted(
        self,
        reply_id: int,
        *,
        actor: str,
        at: datetime,
        note: str,
        reopen_to: Status,
        reopen_from: Status,
    ) -> bool:
        """In one transaction, with the mention's row locked: mark the reply deleted (unless it
        already is: False then, nothing written), record a transition with `note`, and move
        the mention from `reopen_from` to `reopen_to` when no reply is left standing."""
        with self.transaction() as tx:
            found = tx.one("SELECT mention_id FROM replies WHERE id = ?", (reply_id,))
            if found is None:
                return False
            mention_id = int(found[0])
            row = tx.one(
                "SELECT status FROM mentions WHERE id = ?" + self._lock_row(), (mention_id,)
            )
            if row is None or not tx.execute(
                "UPDATE replies SET deleted_at = ?, deleted_by = ? WHERE id = ?"
                " AND deleted_at IS NULL",
                (to_epoch(at), actor, reply_id),
            ):
                return False
            status = row[0]
            left = tx.one(
                "SELECT COUNT(*) FROM replies WHERE mention_id = ? AND deleted_at IS NULL",
                (mention_id,),
            )
            to = reopen_to.value if status == reopen_from.value and left and not left[0] else status
            tx.execute(
                "UPDATE mentions SET status = ?, revision = revision + 1 WHERE id = ?",
                (to, mention_id),
            )
            tx.execute(
                "INSERT INTO transitions (mention_id, from_status, to_status, actor, at, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (mention_id, status, to, actor, to_epoch(at), note),
            )
            return True


def _reply_from_row(r: Sequence[Any]) -> Reply:
    return Reply(
        actor=r[1],
        text=r[2],
        at=from_epoch(r[3]),  # type: ignore[arg-type]
        where=ReplyWhere(r[4]),
        platform=r[5],
        account=r[6],
        link=r[7],
        remote_id=r[8],
        id=int(r[0]),
        deleted_at=from_epoch(r[9]),
        deleted_by=r[10],
    )
