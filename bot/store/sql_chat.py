"""What the chat service keeps besides mentions: people's display names and open dialogs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.store.base import Dialog
from bot.store.sql_base import SqlBase, from_epoch, rows_in, to_epoch


class ChatSql(SqlBase):
    def remember_names(self, names: dict[str, str], *, at: datetime) -> None:
        if not names:
            return
        with self.transaction() as tx:
            for key, name in names.items():
                if not name:
                    continue
                if not tx.execute(
                    "UPDATE people SET name = ?, updated_at = ? WHERE user_key = ?",
                    (name[:200], to_epoch(at), key),
                ):
                    tx.execute(
                        "INSERT INTO people (user_key, name, updated_at) VALUES (?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        (key, name[:200], to_epoch(at)),
                    )

    def names(self, user_keys: Iterable[str]) -> dict[str, str]:
        keys = [k for k in dict.fromkeys(user_keys) if k]
        with self.transaction() as tx:
            rows = rows_in(
                tx, "SELECT user_key, name FROM people WHERE user_key IN ({marks})", keys
            )
        return {r[0]: r[1] for r in rows}

    def open_dialog(self, dialog: Dialog) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM dialogs WHERE id = ?", (dialog.id,))
            tx.execute(
                "INSERT INTO dialogs (id, mention_id, delivery_id, user_key, opened_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    dialog.id,
                    dialog.mention_id,
                    dialog.delivery_id,
                    dialog.user,
                    to_epoch(dialog.opened_at),
                ),
            )

    def dialog(self, dialog_id: str) -> Dialog | None:
        with self.transaction() as tx:
            row = tx.one(
                "SELECT id, mention_id, delivery_id, user_key, opened_at FROM dialogs WHERE id = ?",
                (dialog_id,),
            )
        return _dialog_from_row(row)

    def close_dialog(self, dialog_id: str) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM dialogs WHERE id = ?", (dialog_id,))

    def take_dialog(self, dialog_id: str) -> Dialog | None:
        with self.transaction() as tx:
            row = tx.one(
                "DELETE FROM dialogs WHERE id = ?"
                " RETURNING id, mention_id, delivery_id, user_key, opened_at",
                (dialog_id,),
            )
        return _dialog_from_row(row)


def _dialog_from_row(row: tuple[Any, ...] | None) -> Dialog | None:
    if row is None:
        return None
    delivery = None if row[2] is None else int(row[2])
    return Dialog(row[0], int(row[1]), delivery, row[3], from_epoch(row[4]))  # type: ignore[arg-type]
