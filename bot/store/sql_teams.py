"""What the Teams adapter learns and must remember: the conversations it was installed in
(where it may post, at which service URL) and each Teams user's id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.store.base import TeamsConversation, TeamsUser
from bot.store.sql_base import SqlBase, from_epoch, rows_in, to_epoch

CONVERSATION_COLUMNS = (
    "conversation_id, kind, service_url, tenant_id, team_id, team_name, channel_name,"
    " user_key, removed_at"
)


class TeamsSql(SqlBase):
    def remember_teams_conversation(self, conversation: TeamsConversation, *, at: datetime) -> None:
        c = conversation
        with self.transaction() as tx:
            updated = tx.execute(
                "UPDATE teams_conversations SET kind = ?, service_url = ?, removed_at = NULL,"
                " updated_at = ?,"
                " tenant_id = CASE WHEN ? <> '' THEN ? ELSE tenant_id END,"
                " team_id = CASE WHEN ? <> '' THEN ? ELSE team_id END,"
                " team_name = CASE WHEN ? <> '' THEN ? ELSE team_name END,"
                " channel_name = CASE WHEN ? <> '' THEN ? ELSE channel_name END,"
                " user_key = CASE WHEN ? <> '' THEN ? ELSE user_key END"
                " WHERE conversation_id = ?",
                (
                    c.kind, c.service_url, to_epoch(at),
                    c.tenant_id, c.tenant_id, c.team_id, c.team_id, c.team_name[:200],
                    c.team_name[:200], c.channel_name[:200], c.channel_name[:200],
                    c.user_key, c.user_key, c.conversation_id,
                ),
            )  # fmt: skip
            if not updated:
                tx.execute(
                    f"INSERT INTO teams_conversations ({CONVERSATION_COLUMNS}, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING",
                    (
                        c.conversation_id, c.kind, c.service_url, c.tenant_id, c.team_id,
                        c.team_name[:200], c.channel_name[:200], c.user_key, to_epoch(at),
                    ),
                )  # fmt: skip

    def teams_conversations(self) -> list[TeamsConversation]:
        with self.transaction() as tx:
            rows = tx.all(
                f"SELECT {CONVERSATION_COLUMNS} FROM teams_conversations"
                " ORDER BY CASE WHEN kind = 'channel' THEN 0 ELSE 1 END, team_name,"
                " channel_name, conversation_id"
            )
        return [_conversation(r) for r in rows]

    def teams_conversation(self, conversation_id: str) -> TeamsConversation | None:
        with self.transaction() as tx:
            row = tx.one(
                f"SELECT {CONVERSATION_COLUMNS} FROM teams_conversations WHERE conversation_id = ?",
                (conversation_id,),
            )
        return _conversation(row) if row else None

    def forget_teams_team(self, team_id: str, *, at: datetime) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE teams_conversations SET removed_at = ?, updated_at = ?"
                " WHERE team_id = ? OR conversation_id = ?",
                (to_epoch(at), to_epoch(at), team_id, team_id),
            )

    def remember_teams_user(self, user: TeamsUser, *, at: datetime) -> None:
        with self.transaction() as tx:
            if not tx.execute(
                "UPDATE teams_users SET teams_id = ?, tenant_id = ?, service_url = ?,"
                " updated_at = ? WHERE user_key = ?",
                (user.teams_id, user.tenant_id, user.service_url, to_epoch(at), user.user_key),
            ):
                tx.execute(
                    "INSERT INTO teams_users (user_key, teams_id, tenant_id, service_url,"
                    " updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (user.user_key, user.teams_id, user.tenant_id, user.service_url,
                     to_epoch(at)),
                )  # fmt: skip

    def teams_users(self, user_keys: Iterable[str]) -> dict[str, TeamsUser]:
        keys = [k for k in dict.fromkeys(user_keys) if k]
        with self.transaction() as tx:
            rows = rows_in(
                tx,
                "SELECT user_key, teams_id, tenant_id, service_url FROM teams_users"
                " WHERE user_key IN ({marks})",
                keys,
            )
        return {r[0]: TeamsUser(r[0], r[1], r[2], r[3]) for r in rows}


def _conversation(row: tuple[Any, ...]) -> TeamsConversation:
    return TeamsConversation(
        conversation_id=row[0],
        kind=row[1],
        service_url=row[2],
        tenant_id=row[3],
        team_id=row[4],
        team_name=row[5],
        channel_name=row[6],
        user_key=row[7],
        removed_at=from_epoch(row[8]),
    )
