"""Public replies in the store, on SQLite and PostgreSQL: recorded with their link and id in
one transaction with the status change, deleted once, and dialogs taken once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot import workflow
from bot.models import Mention, Reply, ReplyWhere, Status
from bot.store import Store
from bot.store.base import Dialog
from tests.conftest import Clock


def public_reply(clock: Clock, actor: str = "slack:U1") -> Reply:
    link = "https://m.example/@acme/9"
    return Reply(actor, "Sorry!", clock(), ReplyWhere.PUBLIC, platform="mastodon",
                 account="@acme@m.example", link=link, remote_id="9")  # fmt: skip


def test_a_public_reply_is_recorded_with_its_link_even_if_resolved_meanwhile(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=False)
    assert mention_id is not None
    workflow.resolve(store, mention_id, "slack:U2", clock())
    outcome = workflow.record_public_reply(store, mention_id, public_reply(clock))
    assert outcome.ok and outcome.mention is not None
    # Whoever resolved it held it, and keeps holding it.
    assert (outcome.mention.status, outcome.mention.owner) == (Status.REPLIED, "slack:U2")
    [reply] = store.replies(mention_id)
    assert (reply.public, reply.platform, reply.account, reply.link, reply.remote_id) == (
        True, "mastodon", "@acme@m.example", "https://m.example/@acme/9", "9",
    )  # fmt: skip
    assert store.history(mention_id)[-1].from_status == Status.RESOLVED


def test_deleting_the_only_reply_goes_back_to_claimed_once(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=False)
    assert mention_id is not None
    workflow.record_public_reply(store, mention_id, public_reply(clock))
    [reply] = store.replies(mention_id)
    assert reply.id is not None
    later = clock() + timedelta(seconds=30)
    note = "deleted the public reply on Mastodon"
    assert workflow.public_reply_deleted(store, reply.id, "slack:U1", later, note=note)
    assert not workflow.public_reply_deleted(store, reply.id, "slack:U1", later, note=note)
    [reply] = store.replies(mention_id)
    assert (reply.deleted_at, reply.deleted_by) == (later, "slack:U1")
    mention = store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.CLAIMED
    history = store.history(mention_id)
    assert [(t.to_status, t.note) for t in history[-1:]] == [(Status.CLAIMED, note)]
    assert len(history) == 2


def test_deleting_one_of_two_replies_keeps_the_mention_replied(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=False)
    assert mention_id is not None
    workflow.reply(store, mention_id, "slack:U1", "a note", clock())
    workflow.record_public_reply(store, mention_id, public_reply(clock))
    public = store.replies(mention_id)[-1]
    assert public.id is not None
    workflow.public_reply_deleted(store, public.id, "slack:U1", clock(), note="deleted")
    mention = store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.REPLIED


def test_a_dialog_is_taken_once_and_can_be_given_back(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=False)
    assert mention_id is not None
    dialog = Dialog("slack:V1", mention_id, None, "slack:U1", clock())
    store.open_dialog(dialog)
    assert store.take_dialog("slack:V1") == dialog
    assert store.take_dialog("slack:V1") is None
    store.open_dialog(dialog)
    assert store.dialog("slack:V1") == dialog
