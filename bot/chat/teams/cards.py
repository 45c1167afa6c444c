"""Adaptive Cards for the neutral views: the alert, the inline reply form, command answers and
notes. Pure functions, no I/O.

Every string that may come from a stranger (a mention's title, text, author, source; people's
names; a reply) is a `TextRun` inside a `RichTextBlock`: Teams renders text runs literally, so
no markdown link, no `<at>` mention and no formatting can come out of them. Only our own fixed
words and numbers go into TextBlocks. Teams shows cards up to schema 1.5 (Universal Actions
need it), and Action.Execute verbs are the shared action ids.

A card can differ per reader: the base card (what everyone sees) offers Unclaim only to whoever
may release the mention, and its `refresh` lists those people so that Teams asks the bot for
their own view (Universal Actions' user-specific views).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bot.chat.commands import USAGE, Detail, Listing, TextAnswer
from bot.chat.teams.ids import COMMAND, Verb
from bot.chat.text import clean, one_line, trim
from bot.chat.views import ACTION_LABELS, AlertView, Line, Link, Person, When
from bot.models import SYSTEM, split_user_key
from bot.workflow import Action

Json = dict[str, Any]

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"  # the highest Teams renders; Action.Execute and refresh need it
LIMITS = {
    "text_run": 2000,  # a readable block; the card as a whole must stay under Teams' 28 KB
    "excerpt": 1200,
    "title": 300,
    "fallback": 1000,
    "summary": 200,  # the notification preview
    "refresh_users": 60,  # Teams refreshes automatically for at most 60 listed users
    "reply_chars": 3000,
    "listing_rows": 15,
}


# --- lines ------------------------------------------------------------------------------------


def run(text: str, **style: Any) -> Json:
    """A text run: shown exactly as written (no markdown, no mentions)."""
    return {"type": "TextRun", "text": text, **style}


def rich(inlines: list[Json], **extra: Any) -> Json:
    return {"type": "RichTextBlock", "inlines": inlines, **extra}


def person(who: Person) -> str:
    """A person by name; a Slack user says so (a Teams reader cannot open their profile)."""
    if who.key == SYSTEM:
        return "mentionbot"
    platform, user_id = split_user_key(who.key)
    name = trim(one_line(who.name), 80) or ("someone" if platform == "teams" else user_id)
    if platform and platform != "teams":
        return f"{name} ({platform.capitalize()})"
    return name or "someone"


def moment(when: When) -> str:
    """An absolute time, correct however long the card stays up (a text run cannot hold
    Teams' local-time functions; a TextBlock that holds only a time can, see `_time_block`)."""
    return when.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def line_runs(line: Line, limit: int = LIMITS["text_run"], **style: Any) -> list[Json]:
    """A neutral line as text runs; links become runs that open the (http/https) URL."""
    runs: list[Json] = []
    budget = limit
    for part in line:
        if isinstance(part, Person):
            text = person(part)
        elif isinstance(part, When):
            text = moment(part)
        elif isinstance(part, Link):
            text = trim(one_line(part.label), max(1, min(300, budget)))
            target = web_url(part.url)
            if text and target:
                runs.append(run(text, **style, selectAction=open_url(target)))
                budget -= len(text)
                continue
        else:
            text = clean(part, strip=False)
        text = trim(text, budget) if budget > 0 else ""
        if text:
            runs.append(run(text, **style))
            budget -= len(text)
    return runs


def line_block(line: Line, **extra: Any) -> Json:
    return rich(line_runs(line) or [run(" ")], **extra)


def plain(line: Line) -> str:
    """A line as plain text (summaries, fallback)."""
    out = []
    for part in line:
        if isinstance(part, Person):
            out.append(person(part))
        elif isinstance(part, When):
            out.append(moment(part))
        elif isinstance(part, Link):
            out.append(one_line(part.label))
        else:
            out.append(part)
    return "".join(out)


def web_url(url: str) -> str:
    url = one_line(url)
    if url.lower().startswith(("https://", "http://")) and len(url) <= 2000:
        return url
    return ""


def open_url(url: str) -> Json:
    return {"type": "Action.OpenUrl", "url": url}


def adaptive_card(body: list[Json], actions: list[Json] | None = None, **extra: Any) -> Json:
    card: Json = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, **extra}
    card["body"] = body
    if actions:
        card["actions"] = actions
    return card


# --- the alert --------------------------------------------------------------------------------


def releasers(owner: str, admins: frozenset[str]) -> frozenset[str]:
    """Who may see Unclaim on a held mention: its holder and the admins."""
    return frozenset({owner, *admins} - {""})


def alert_card(
    view: AlertView,
    *,
    viewer: str = "",
    admins: frozenset[str] = frozenset(),
    refresh_ids: tuple[str, ...] = (),
) -> Json:
    """The alert as `viewer` (a user key) sees it; "" is the base card everyone sees.
    `refresh_ids`: the Teams ids of the people whose view differs, so Teams asks for it."""
    may_release = bool(viewer) and viewer in releasers(view.owner, admins)
    steps = [s for s in view.actions if s != Action.UNCLAIM or may_release or not view.owner]
    body: list[Json] = [
        rich(
            [
                run(
                    trim(f"{view.icon} {one_line(view.headline)}", 150),
                    weight="Bolder",
                    size="Medium",
                )
            ]
        ),
        rich(_title_runs(view.title, view.url)),
    ]
    excerpt = trim(clean(view.excerpt), LIMITS["excerpt"])
    if excerpt:
        body.append(rich([run(excerpt)], spacing="Small"))
    for name, value in view.fields:
        if len(value) == 1 and isinstance(value[0], When):
            body.append(_time_block(name, value[0]))
        else:
            body.append(
                rich([run(f"{name}: ", weight="Bolder"), *line_runs(value, 300)], spacing="None")
            )
    if view.reason:
        reason = trim(one_line(" · ".join(view.reason)), 1000)
        body.append(rich([run(reason, isSubtle=True, size="Small")]))
    body.append(line_block(view.state, separator=True))
    if view.timing:
        body.append(line_block(view.timing, spacing="Small"))
    for reply in view.replies:
        head, text = reply[:-1], str(reply[-1])
        body.append(
            rich([*line_runs(head, 300, isSubtle=True), run("\n"), run(trim(clean(text), 1000))])
        )
    actions = [_step(step, view.mention_id) for step in steps]
    if view.undo is not None:
        actions.append(_undo(view))
    url = web_url(view.url)
    if url:
        actions.append({"type": "Action.OpenUrl", "title": "Open", "url": url})
    actions.append(_corrections(view))
    if view.more:
        actions.append(_more(view))
    extra: Json = {"fallbackText": trim(one_line(view.fallback), LIMITS["fallback"])}
    ids = list(dict.fromkeys(i for i in refresh_ids if i))[: LIMITS["refresh_users"]]
    if ids:
        extra["refresh"] = {"action": _refresh(view.mention_id), "userIds": ids}
    extra["msteams"] = {"width": "Full"}
    return adaptive_card(body, actions, **extra)


def alert_summary(view: AlertView) -> str:
    """The notification preview of an alert (plain text)."""
    return trim(one_line(view.fallback), LIMITS["summary"])


def _title_runs(title: str, url: str) -> list[Json]:
    text = trim(one_line(title), LIMITS["title"]) or "(untitled)"
    target = web_url(url)
    style: Json = {"weight": "Bolder"}
    if target:
        style["selectAction"] = open_url(target)
    return [run(text, **style)]


def _time_block(name: str, when: When) -> Json:
    """A field that is only a time: Teams' DATE/TIME functions show it in the reader's zone."""
    iso = when.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "type": "TextBlock",
        "text": f"**{name}:** {{{{DATE({iso}, SHORT)}}}} {{{{TIME({iso})}}}}",
        "wrap": True,
        "spacing": "None",
    }


def _step(step: Action, mention_id: int) -> Json:
    action: Json = {
        "type": "Action.Execute",
        "title": ACTION_LABELS[step],
        "verb": step.value,
        "data": {"mention": mention_id},
    }
    if step == Action.CLAIM:
        action["style"] = "positive"
    if step == Action.DISMISS:
        # Dismissing hides a complaint from the team: worth one more click, as on Slack.
        action["style"] = "destructive"
        return {
            "type": "Action.ShowCard",
            "title": ACTION_LABELS[step],
            "card": adaptive_card(
                [
                    {
                        "type": "TextBlock",
                        "text": "Dismiss this mention? It leaves the open list; "
                        "Reopen brings it back.",
                        "wrap": True,
                    }
                ],
                [action],
            ),
        }
    return action


def _undo(view: AlertView) -> Json:
    """Delete a public reply, behind a confirmation as on Slack."""
    undo = view.undo
    assert undo is not None
    delete: Json = {
        "type": "Action.Execute",
        "title": "Delete",
        "verb": Verb.DELETE_REPLY.value,
        "data": {"mention": view.mention_id, "reply": undo.reply_id},
        "style": "destructive",
    }
    question = (
        f"Delete the public reply? It is removed from {undo.platform}; the alert keeps a record."
    )
    return {
        "type": "Action.ShowCard",
        "title": undo.label,
        "card": adaptive_card([{"type": "TextBlock", "text": question, "wrap": True}], [delete]),
    }


def _more(view: AlertView) -> Json:
    """Moves and mutes, as Slack's "More" menu (bot/team/moves.py acts on them)."""
    return {
        "type": "Action.ShowCard",
        "title": "More",
        "card": adaptive_card(
            [{"type": "TextBlock", "text": "Move or mute this mention:", "wrap": True}],
            [
                {
                    "type": "Action.Execute",
                    "title": label,
                    "verb": Verb.MORE.value,
                    "data": {"mention": view.mention_id, "choice": value},
                }
                for value, label in view.more
            ],
        ),
    }


def _refresh(mention_id: int) -> Json:
    return {"type": "Action.Execute", "verb": Verb.REFRESH.value, "data": {"mention": mention_id}}


def _corrections(view: AlertView) -> Json:
    return {
        "type": "Action.ShowCard",
        "title": "Wrong label",
        "card": adaptive_card(
            [{"type": "TextBlock", "text": "What is wrong with this alert?", "wrap": True}],
            [
                {
                    "type": "Action.Execute",
                    "title": text,
                    "verb": Verb.WRONG_LABEL.value,
                    "data": {"mention": view.mention_id, "label": label},
                }
                for label, text in view.corrections
            ],
        ),
    }


# --- notes and answers ------------------------------------------------------------------------


def note_card(lines: tuple[Line, ...]) -> Json:
    return adaptive_card([line_block(line) for line in lines] or [rich([run(" ")])])


def answer_card(answer: Listing | Detail | TextAnswer) -> Json:
    """A command answer (sent to the asker's personal chat with the bot)."""
    if isinstance(answer, Listing):
        return adaptive_card(_listing(answer))
    if isinstance(answer, Detail):
        return _detail(answer)
    body = [line_block(line) for line in answer.lines]
    if answer.usage:
        body.extend(usage())
    if answer.preformatted:
        body.append(rich([run(trim(answer.preformatted, 6000), fontType="Monospace")]))
    return adaptive_card(body or [rich([run(" ")])])


def answer_summary(answer: Listing | Detail | TextAnswer) -> str:
    if isinstance(answer, Listing):
        return trim(one_line(answer.title), LIMITS["summary"])
    if isinstance(answer, Detail):
        return f"Mention #{answer.alert.mention_id}"
    first = plain(answer.lines[0]) if answer.lines else f"{COMMAND} help"
    return trim(one_line(first), LIMITS["summary"])


def usage() -> list[Json]:
    rows = [
        rich([run(f"{COMMAND} {args}", fontType="Monospace"), run(f" — {what}")], spacing="None")
        for args, what in USAGE
    ]
    return [rich([run(f"{COMMAND} — brand mentions that need a human", weight="Bolder")]), *rows]


def _listing(answer: Listing) -> list[Json]:
    scope = f" — {answer.scope}" if answer.scope else ""
    if not answer.items:
        return [rich([run(answer.title, weight="Bolder"), run(f": nothing found{scope}.")])]
    count = f"{len(answer.items)}{'+' if answer.more else ''}"
    body = [rich([run(answer.title, weight="Bolder"), run(f" ({count}){scope}")])]
    for item in answer.items[: LIMITS["listing_rows"]]:
        head = f"#{item.mention_id} {one_line(item.brand)} · {item.sentiment} {item.score:+.2f}"
        runs = [run(head, weight="Bolder"), run(f" · {trim(one_line(item.source), 100)} · ")]
        runs.extend(_title_runs(trim(item.title, 120), item.url))
        runs.append(run(f" · {item.status}"))
        if item.owner:
            runs.extend(line_runs((" · ", *item.owner), 200))
        runs.append(run(f" · {moment(When(item.at))}", isSubtle=True))
        body.append(rich(runs, separator=True))
    return body


def _detail(answer: Detail) -> Json:
    card = alert_card(answer.alert)
    card.pop("actions", None)
    card.pop("refresh", None)
    names = answer.names
    rows = [
        line_block(
            (
                When(t.at),
                f" · {t.from_status.value} → {t.to_status.value} · ",
                Person(t.actor, names.get(t.actor, "")),
                *((" · " + one_line(t.note)[:200],) if t.note else ()),
            ),
            spacing="None",
        )
        for t in answer.history
    ]
    if rows:
        card["body"].append(rich([run("History", weight="Bolder")], separator=True))
        card["body"].extend(rows)
    return card
