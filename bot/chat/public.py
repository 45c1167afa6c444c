"""Public replies from the chat: the dialog's choice, the checks before posting, the post
through the brand's account, and its undo. The chat service (service.py) delegates here, so
every platform offers the same choice and says the same things.

Posting is ordered so that nothing is half-recorded: every check that needs no network runs
first (the dialog is this person's, they may post publicly for this brand, the text fits
the platform, the mention can still be replied to); the dialog is then taken atomically (a
double submission posts once); only a post the platform confirmed is recorded, with its
link, in one transaction with the status change. A refusal gives the dialog back, keeps the
draft and says exactly why. Should recording fail after the post, the post is deleted again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from prometheus_client import Counter

from bot import workflow
from bot.chat.drafts import Template, draft_reply
from bot.chat.views import Line, Link, Person, PublicOption, ReplyForm
from bot.models import Mention, Reply, ReplyWhere
from bot.publish.base import PLATFORM_LABELS, Posted, PublicClient, PublishError
from bot.publish.registry import PublicReplies, Reach
from bot.store.base import Dialog, Store
from bot.workflow import Action, Outcome

log = logging.getLogger(__name__)

PUBLIC_REPLIES = Counter(
    "mentionbot_public_replies_total", "Public replies attempted", ["platform", "result"]
)
COUNT_RULES = {
    "mastodon": "Mastodon counts a link as 23 and @user@server as @user",
    "bluesky": "Bluesky counts characters as people see them (emoji count once)",
    "reddit": "",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a dialog cannot be submitted as it is: which field, and what to change."""

    field: str  # "text" or "where"
    message: str


@dataclass(frozen=True, slots=True)
class Published:
    ok: bool
    tell: Line
    outcome: Outcome | None = None
    form: ReplyForm | None = None  # after a failure: the dialog again, with the draft kept
    link: str = ""


class PublicReplyFlow:
    def __init__(
        self,
        store: Store,
        registry: PublicReplies,
        clock: Callable[[], datetime],
        *,
        admins: frozenset[str] = frozenset(),
        templates: dict[str, Sequence[Template]] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.admins = admins
        self.templates = {b.lower(): tuple(t) for b, t in (templates or {}).items()}

    # --- the dialog -------------------------------------------------------------------------
    def form(self, actor: str, mention: Mention, form: ReplyForm) -> ReplyForm:
        """The neutral form with where the answer can go, and the draft in the mention's
        language, addressed as the platform needs."""
        reach = self.registry.reach(mention)
        templates = self.templates.get(mention.brand.lower(), ())
        if reach.client is None or reach.target is None:
            why = reach.why_not
            return replace(
                form,
                draft=draft_reply(mention, templates=templates),
                note_only_because=why,
                destination=f"Note in this thread only: {why}. Open the post to answer there.",
            )
        if not self.registry.may_post(mention.brand, actor):
            why = f"only the people named in public_repliers may post publicly for {mention.brand}"
            return replace(
                form,
                draft=draft_reply(mention, templates=templates),
                note_only_because=why,
                destination=f"Note in this thread only: {why}.",
            )
        client = reach.client
        addressee = client.addressee(reach.target)
        draft = draft_reply(mention, addressee=addressee, templates=templates)
        option = PublicOption(
            platform=reach.platform,
            label=reach.label,
            account=client.account,
            in_reply_to=addressee or _author_shown(mention, reach),
            limit=client.limit(),
            count_rule=COUNT_RULES.get(reach.platform, ""),
        )
        return replace(
            form,
            draft=draft,
            public=option,
            draft_length=client.length(draft),
            destination="Choose: post publicly, or a note in this thread only.",
        )

    def problem(
        self, actor: str, dialog: Dialog, text: str, where: str
    ) -> tuple[Problem | None, Reach | None, Mention | None]:
        """What must change before this submission can go out, checked without the network."""
        mention = self.store.get_mention(dialog.mention_id)
        if mention is None:
            return Problem("text", "That mention does not exist any more."), None, None
        reach = self.registry.reach(mention)
        offered = reach.client is not None and self.registry.may_post(mention.brand, actor)
        if where == "public" and reach.client is None:
            return Problem("where", f"Cannot post publicly: {reach.why_not}."), reach, mention
        if where == "public" and not offered:
            return (
                Problem("where", f"You may not post publicly for {mention.brand}."),
                reach,
                mention,
            )
        if offered and where not in ("public", "thread"):
            return Problem("where", "Choose where the answer goes."), reach, mention
        if where == "public" and reach.client is not None:
            limit, length = reach.client.limit(), reach.client.length(text)
            if length > limit:
                return (
                    Problem(
                        "text",
                        f"{reach.label} allows {limit} characters; this has {length} "
                        f"({length - limit} too many).",
                    ),
                    reach,
                    mention,
                )
            if Action.REPLY not in workflow.allowed_actions(mention.status):
                return (
                    Problem("text", f"Cannot reply to a mention that is {mention.status}."),
                    reach,
                    mention,
                )
        return None, reach, mention

    # --- posting ----------------------------------------------------------------------------
    def publish(self, actor: str, dialog_id: str, text: str, form: ReplyForm) -> Published:
        """Post `text` publicly for the dialog `dialog_id`; record it only once posted."""
        dialog = self.store.dialog(dialog_id)
        if dialog is None or dialog.user != actor:
            return Published(
                False, ("This reply form is not one I opened for you; nothing was posted.",)
            )
        problem, reach, mention = self.problem(actor, dialog, text, "public")
        if problem is not None or reach is None or mention is None:
            message = problem.message if problem else "Nothing was posted."
            return Published(False, (message,), form=replace(form, draft=text, error=message))
        client, target = reach.client, reach.target
        assert client is not None and target is not None
        taken = self.store.take_dialog(dialog_id)
        if taken is None:  # another submission of this dialog is posting it
            return Published(False, ("This reply is already being posted.",))
        log.info("posting a public reply to mention %d on %s", mention.id, reach.platform)
        try:
            posted = client.post_reply(target, text)
        except PublishError as exc:
            self.store.open_dialog(taken)  # the same dialog can try again
            PUBLIC_REPLIES.labels(reach.platform, exc.reason.value).inc()
            log.warning(
                "public reply to mention %d on %s not posted: %s (%s)",
                mention.id, reach.platform, exc.reason.value, exc,
            )  # fmt: skip
            message = f"Not posted: {exc}."
            return Published(False, (message,), form=replace(form, draft=text, error=message))
        reply = Reply(
            actor,
            text,
            self.clock(),
            ReplyWhere.PUBLIC,
            platform=reach.platform,
            account=client.account,
            link=posted.url,
            remote_id=posted.remote_id,
        )
        try:
            assert mention.id is not None
            outcome = workflow.record_public_reply(self.store, mention.id, reply)
        except Exception:
            log.exception("posted a reply on %s but could not record it", reach.platform)
            return self._take_back(client, posted, taken, form, text)
        PUBLIC_REPLIES.labels(reach.platform, "posted").inc()
        tell: Line = (
            f"Posted publicly on {reach.label} as {client.account}: ",
            Link(posted.url, "see the reply"),
        )
        return Published(True, tell, outcome, link=posted.url)

    def thread_note(self, actor: str, name: str, reply_text: str, outcome: Outcome) -> Line:
        mention = outcome.mention
        replies = self.store.replies(mention.id) if mention and mention.id else []
        last = replies[-1] if replies else None
        label = PLATFORM_LABELS.get(last.platform, "") if last else ""
        account = last.account if last else ""
        link: tuple[Link, ...] = (Link(last.link, "see the reply"),) if last and last.link else ()
        return (
            "📣 Reply by ",
            Person(actor, name),
            f", posted publicly on {label} as {account}: ",
            *link,
            "\n",
            reply_text,
        )

    def _take_back(
        self,
        client: PublicClient,
        posted: Posted,
        dialog: Dialog,
        form: ReplyForm,
        text: str,
    ) -> Published:
        """A reply was posted but could not be recorded: delete it, so that the platform and
        the store agree again, and let the same dialog try once more."""
        remote_id, url = posted.remote_id, posted.url
        try:
            client.delete(remote_id)
        except PublishError as exc:
            log.error("public reply %s could not be recorded nor deleted (%s)", url, exc.reason)
            message = f"Posted ({url}) but not recorded, and deleting it failed: delete it by hand."
            return Published(False, (message,))
        self.store.open_dialog(dialog)
        message = "Not posted: the reply could not be recorded, so it was deleted again; try again."
        return Published(False, (message,), form=replace(form, draft=text, error=message))

    # --- undo -------------------------------------------------------------------------------
    def delete(self, actor: str, mention_id: int, reply_id: int) -> tuple[bool, Line]:
        """Delete a public reply from its platform (within the undo window, by whoever posted
        it or an admin) and record that it was."""
        found = self.store.get_reply(reply_id)
        if found is None or found[0] != mention_id or not found[1].public:
            return False, ("That reply is not a public reply of this mention; nothing changed.",)
        reply = found[1]
        label = PLATFORM_LABELS.get(reply.platform, reply.platform)
        if reply.deleted_at is not None:
            return False, (f"That reply was already deleted from {label}.",)
        if actor != reply.actor and actor not in self.admins:
            return False, (
                "Only ",
                Person(reply.actor),
                " (who posted it) or an admin can delete it.",
            )
        window = self.registry.undo_seconds
        if self.clock() >= reply.at + timedelta(seconds=window):
            return False, (
                f"The {_minutes(window)} to delete it from here have passed; delete it on "
                f"{label} itself: ",
                Link(reply.link, "the reply"),
            )
        mention = self.store.get_mention(mention_id)
        client = self.registry.client(mention.brand, reply.platform) if mention else None
        if client is None:
            return False, (
                f"The brand's {label} account is no longer configured; nothing changed.",
            )
        try:
            client.delete(reply.remote_id)
        except PublishError as exc:
            log.warning(
                "deleting reply %d on %s failed: %s", reply_id, reply.platform, exc.reason.value
            )
            return False, (f"Not deleted: {exc}.",)
        workflow.public_reply_deleted(
            self.store, reply_id, actor, self.clock(), note=f"deleted the public reply on {label}"
        )
        PUBLIC_REPLIES.labels(reply.platform, "deleted").inc()
        return True, (f"Deleted your reply from {label}.",)


def _author_shown(mention: Mention, reach: Reach) -> str:
    author = mention.author.strip()
    if not author or author.startswith("did:"):
        return ""
    return f"u/{author}" if reach.platform == "reddit" else author


def _minutes(seconds: float) -> str:
    return f"{round(seconds / 60)} minutes" if seconds >= 90 else f"{round(seconds)} seconds"
