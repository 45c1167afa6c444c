"""What a chat message shows, decided once for every platform. Pure: no I/O, no markup.

A view holds *raw* strings (a stranger's words stay exactly as written) and references to
people, times and links; each platform's renderer turns them into its own markup, escaping
every string and drawing people and times in its own way (Slack: `<@U…>` and `<!date…>`;
Teams: plain names and text runs). So nothing here can ping a channel or forge a link, and the
two platforms can only differ in how things look.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.text import duration, one_line, trim
from bot.models import CORRECTIONS, Mention, Reply, ReplyWhere, Sentiment, Status, Transition
from bot.publish.base import PLATFORM_LABELS
from bot.workflow import Action, Outcome, Refusal, allowed_actions


@dataclass(frozen=True, slots=True)
class Person:
    """Someone to show: a user key ("slack:U1", "teams:29:…", "system") and, when known, the
    name their platform gave us (shown where the key's platform is not the reader's)."""

    key: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class When:
    """A moment, drawn so that every reader sees it right in their own time zone. `ago`:
    as a distance from now ("12 minutes ago") where the platform keeps that current."""

    at: datetime
    ago: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    label: str


# A line of text: our words (str, escaped by the renderer all the same), people, times, links.
Part = str | Person | When | Link
Line = tuple[Part, ...]

EXCERPT_CHARS = 1200  # what a reader takes in at a glance; the link has the rest
REPLIES_SHOWN = 3
REPLY_PREVIEW_CHARS = 500

SENTIMENT_ICON = {Sentiment.NEGATIVE: "🔴", Sentiment.NEUTRAL: "⚪", Sentiment.POSITIVE: "🟢"}
ACTION_LABELS = {
    Action.CLAIM: "Claim",
    Action.UNCLAIM: "Unclaim",
    Action.REPLY: "Reply",
    Action.RESOLVE: "Resolve",
    Action.DISMISS: "Dismiss",
    Action.REOPEN: "Reopen",
}
MOVED = {"not_complaint": "Not a complaint"}  # labels from moves, as the reason names them
# (value, label): what an alert's "More" menu offers (bot/team/moves.py acts on them).
MORE_CHOICES: tuple[tuple[str, str], ...] = (
    ("not_complaint", "Not a complaint"),
    ("question", "Move to questions"),
    ("mute_author", "Mute this author (30 days)"),
    ("mute_domain", "Mute this site (30 days)"),
)
REPLY_PLACE = {
    ReplyWhere.THREAD: "a note in the alert's thread; the customer has not seen it",
    ReplyWhere.PUBLIC: "posted publicly",
}


@dataclass(frozen=True, slots=True)
class UndoOffer:
    """A public reply that may still be deleted from its platform, until `until`."""

    reply_id: int
    platform: str  # "Mastodon"
    until: datetime

    @property
    def label(self) -> str:
        return f"Delete reply on {self.platform}"


@dataclass(frozen=True, slots=True)
class AlertView:
    """Everything an alert message shows, for any platform."""

    mention_id: int
    revision: int
    brand: str
    sentiment: Sentiment
    headline: str  # "Acme: negative mention" (the icon is separate)
    icon: str
    title: str
    url: str
    excerpt: str
    fields: tuple[tuple[str, Line], ...]  # (name, value): source, author, sentiment, …
    reason: tuple[str, ...]  # short parts: why it was alerted, language, scorer, corrections
    state: Line  # who holds it and since when
    replies: tuple[Line, ...]  # the last few replies, oldest first
    actions: tuple[Action, ...]  # the buttons, from the workflow's one rule
    corrections: tuple[tuple[str, str], ...] = tuple(CORRECTIONS.items())  # (label, text)
    fallback: str = ""  # one plain line for notifications and screen readers
    owner: str = ""  # the user key holding it (Teams shows Unclaim to them and admins only)
    undo: UndoOffer | None = None  # a public reply that may still be deleted
    timing: Line = ()  # response-time targets: due, overdue or met (bot/team/targets.py)
    more: tuple[tuple[str, str], ...] = ()  # (value, label): moves and mutes (bot/team/moves)


def author_name(author: str) -> str:
    """What to call an author: "Jane Doe" for "jane@example.com (Jane Doe)" or
    "Jane Doe <jane@example.com>", the handle or name otherwise."""
    text = one_line(author)
    match = re.fullmatch(r"\S+@\S+\s+\((.+)\)", text) or re.fullmatch(r"(.+?)\s*<\S+@\S+>", text)
    if match:
        return match.group(1).strip()
    return text


def alert_view(
    mention: Mention,
    history: Sequence[Transition],
    replies: Sequence[Reply],
    names: dict[str, str] | None = None,
    *,
    now: datetime | None = None,
    undo_seconds: float = 0.0,
    timing: Line = (),
) -> AlertView:
    """`now` and `undo_seconds`: offer Delete for a public reply younger than that."""
    assert mention.id is not None, "only stored mentions are alerted"
    names = names or {}
    v = mention.verdict
    fields: list[tuple[str, Line]] = [
        ("Source", (mention.source,)),
        ("Author", (author_name(mention.author) or "unknown",)),
        ("Sentiment", (f"{v.sentiment.value} ({v.score:+.2f}) · attention {v.attention:.2f}",)),
        ("Matched", (f"“{mention.matched_term}”",)),
        ("Published", (When(mention.published_at or mention.fetched_at),)),
    ]
    reason = []
    if v.reason:
        reason.append(f"Why: {v.reason}")
    if v.lang and v.lang != "und":
        reason.append(f"lang {v.lang}")
    if v.scorer:
        reason.append(f"scored by {v.scorer}")
    if mention.labels:
        corrected = ", ".join(
            CORRECTIONS.get(label, MOVED.get(label, label)).lower() for label in mention.labels
        )
        reason.append(f"corrected: {corrected}")
    reason.append(f"mention #{mention.id}")
    shown = list(replies)[-REPLIES_SHOWN:]
    return AlertView(
        mention_id=mention.id,
        revision=mention.revision,
        brand=mention.brand,
        sentiment=v.sentiment,
        headline=f"{one_line(mention.brand)}: {v.sentiment.value} mention",
        icon=SENTIMENT_ICON.get(v.sentiment, "⚪"),
        title=mention.title or "(untitled)",
        url=mention.url,
        excerpt=trim(mention.text, EXCERPT_CHARS),
        fields=tuple(fields),
        reason=tuple(reason),
        state=state_line(mention, history, replies, names),
        replies=tuple(_reply_line(r, names) for r in shown),
        actions=allowed_actions(mention.status),
        fallback=fallback_text(mention),
        owner=mention.owner,
        undo=undo_offer(replies, now, undo_seconds),
        timing=timing,
        more=MORE_CHOICES,
    )


def undo_offer(replies: Sequence[Reply], now: datetime | None, seconds: float) -> UndoOffer | None:
    """The newest public reply still standing, if it is young enough to be taken back."""
    if now is None or seconds <= 0:
        return None
    for reply in reversed(replies):
        if reply.public and reply.id is not None and reply.deleted_at is None:
            until = reply.at + timedelta(seconds=seconds)
            label = PLATFORM_LABELS.get(reply.platform, reply.platform)
            return UndoOffer(reply.id, label, until) if now < until else None
    return None


def fallback_text(mention: Mention) -> str:
    v = mention.verdict
    head = f"{v.sentiment.value.capitalize()} mention of {one_line(mention.brand)}"
    head += f" on {one_line(mention.source)}"
    author = author_name(mention.author)
    if author:
        head += f" by {author}"
    title = trim(one_line(mention.title or mention.text), 300)
    return f"{head}: {title}" if title else head


def state_line(
    mention: Mention,
    history: Sequence[Transition],
    replies: Sequence[Reply] = (),
    names: dict[str, str] | None = None,
) -> Line:
    """Who holds the mention and since when (and, after a reply, where the reply went)."""
    names = names or {}

    def person(key: str) -> Person:
        return Person(key, names.get(key, ""))

    last = _last_into(history, mention.status)
    who = person(last.actor) if last else None
    since: tuple[Part, ...] = (" · ", When(last.at)) if last else ()
    status = mention.status
    if status == Status.CLAIMED:
        holder = person(mention.owner) if mention.owner else who
        return ("👤 Claimed by ", holder or "someone", *since)
    if status == Status.REPLIED:
        standing = [r for r in replies if r.deleted_at is None]
        last_reply = standing[-1] if standing else None
        author = person(last_reply.actor) if last_reply else who
        where = REPLY_PLACE[last_reply.where] if last_reply else REPLY_PLACE[ReplyWhere.THREAD]
        line: tuple[Part, ...] = ("💬 Replied by ", author or "someone", f" ({where})", *since)
        if last_reply is not None and last_reply.public:
            line = (
                "📣 Replied publicly by ",
                author or "someone",
                f" on {PLATFORM_LABELS.get(last_reply.platform, last_reply.platform)}"
                f" as {last_reply.account}",
                *((" · ", Link(last_reply.link, "see the reply")) if last_reply.link else ()),
                *since,
            )
        if mention.owner and (author is None or mention.owner != author.key):
            line += (" · held by ", person(mention.owner))
        return line
    if status == Status.RESOLVED:
        opened = _first_into(history, Status.ALERTED) or _first_into(history, Status.NEW)
        after = ""
        if last and opened:
            after = f" after {duration((last.at - opened.at).total_seconds())}"
        return ("✅ Resolved by ", who or "someone", after, *since)
    if status == Status.DISMISSED:
        return ("🚫 Dismissed by ", who or "someone", *since)
    back_from = last.from_status if last else None
    if status == Status.ALERTED and back_from in (Status.RESOLVED, Status.DISMISSED):
        return ("↩️ Reopened by ", who or "someone", *since, " — nobody owns it yet")
    if status == Status.ALERTED and back_from == Status.CLAIMED:
        return ("🔓 Released by ", who or "someone", *since, " — nobody owns it yet")
    return ("🆕 Open — nobody owns it yet",)


def _reply_line(reply: Reply, names: dict[str, str]) -> Line:
    where: tuple[Part, ...] = ()
    if reply.public:
        label = PLATFORM_LABELS.get(reply.platform, reply.platform)
        where = (f" · public on {label} as {reply.account}",)
        if reply.link:
            where += (" · ", Link(reply.link, "link"))
        if reply.deleted_at is not None:
            who = Person(reply.deleted_by, names.get(reply.deleted_by, ""))
            where += (" · deleted by ", who, " · ", When(reply.deleted_at))
    return (
        "Reply by ",
        Person(reply.actor, names.get(reply.actor, "")),
        " · ",
        When(reply.at),
        *where,
        "\n",
        trim(reply.text, REPLY_PREVIEW_CHARS),
    )


def people_in(
    mention: Mention, history: Sequence[Transition], replies: Sequence[Reply]
) -> set[str]:
    """The user keys a view of this mention may show (to look their names up)."""
    keys = {t.actor for t in history} | {r.actor for r in replies}
    keys |= {r.deleted_by for r in replies if r.deleted_by}
    if mention.owner:
        keys.add(mention.owner)
    return keys


# --- what a person is told after acting --------------------------------------------------------


def outcome_line(outcome: Outcome, names: dict[str, str] | None = None) -> Line:
    """The sentence for the person who acted: what happened, or exactly why not."""
    names = names or {}
    mention = outcome.mention
    if outcome.ok:
        return (_DONE[outcome.action],)
    holder = Person(outcome.holder, names.get(outcome.holder, "")) if outcome.holder else None
    refusal = outcome.refusal
    if refusal == Refusal.NOT_FOUND or mention is None:
        return ("That mention does not exist.",)
    if refusal == Refusal.HELD_BY_OTHER and holder:
        return (holder, " already claimed this mention.")
    if refusal == Refusal.ALREADY_YOURS:
        return ("You already hold this mention.",)
    if refusal == Refusal.NOT_OWNER and holder:
        return ("Only ", holder, " (who claimed it) or an admin can release this mention.")
    verb = ACTION_LABELS[outcome.action].lower()
    return (f"Cannot {verb} a mention that is {mention.status.value}.",)


_DONE = {
    Action.CLAIM: "You claimed this mention.",
    Action.UNCLAIM: "You released this mention.",
    Action.REPLY: "Your reply is recorded and posted as a note in the alert's thread "
    "(the customer has not seen it: answer them on the source).",
    Action.RESOLVE: "Marked resolved.",
    Action.DISMISS: "Dismissed.",
    Action.REOPEN: "Reopened.",
}


def owner_told(outcome: Outcome, actor: str, names: dict[str, str]) -> Line | None:
    """A note for whoever held a mention that someone else resolved or dismissed."""
    if not outcome.ok or outcome.action not in (Action.RESOLVE, Action.DISMISS):
        return None
    owner = outcome.previous_owner
    if not owner or owner == actor:
        return None
    done = "resolved" if outcome.action == Action.RESOLVE else "dismissed"
    return (
        Person(owner, names.get(owner, "")),
        ": ",
        Person(actor, names.get(actor, "")),
        f" {done} this mention, which you held.",
    )


@dataclass(frozen=True, slots=True)
class PublicOption:
    """Posting the reply publicly on the mention's platform, as the brand's account."""

    platform: str  # "mastodon"
    label: str  # "Mastodon"
    account: str  # "@acme@mastodon.social"
    in_reply_to: str  # "@sanne@mastodon.social", "u/sanne"; "" when unknown
    limit: int  # in the platform's own count
    count_rule: str = ""  # how the platform counts ("a link counts as 23")

    @property
    def choice(self) -> str:
        return f"Post publicly on {self.label}"

    @property
    def detail(self) -> str:
        to = f", in reply to {self.in_reply_to}" if self.in_reply_to else ""
        return f"as {self.account}{to}"


@dataclass(frozen=True, slots=True)
class ReplyForm:
    """The reply dialog: the mention quoted, a draft to edit, and where the answer goes.

    With `public`, the dialog offers an explicit choice between posting publicly and a note
    in the thread (nothing is preselected); without it, `note_only_because` says why the
    answer can only be a note, and `url` is where to open the post to answer by hand. After
    a failed attempt, `error` says why and `draft` is the text the person wrote."""

    mention_id: int
    delivery_id: int | None
    title: str
    text: str
    url: str
    source: str
    draft: str
    destination: str = "Posted as a note in the alert's thread and kept with the mention."
    public: PublicOption | None = None
    note_only_because: str = ""
    draft_length: int = 0  # the draft in the platform's count (public only)
    error: str = ""


def _last_into(history: Sequence[Transition], status: Status) -> Transition | None:
    for transition in reversed(history):
        if transition.to_status == status:
            return transition
    return None


def _first_into(history: Sequence[Transition], status: Status) -> Transition | None:
    for transition in history:
        if transition.to_status == status:
            return transition
    return None
