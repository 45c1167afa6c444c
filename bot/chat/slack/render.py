"""Block Kit for the neutral views: the alert, the reply modal, command answers and notes.
Pure functions, no I/O.

Every string is escaped and every text object that carries one is `verbatim`, so a stranger's
words cannot ping, link or mention anything. People become `<@U…>` when they are Slack users
(their name otherwise), and times use Slack's date formatting, so every reader sees a correct
time in their own zone however long the message stays up. Slack's limits are data (`LIMITS`)
enforced here, not left to an `invalid_blocks` error at delivery time.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bot.chat.commands import USAGE, Detail, Listing, TextAnswer
from bot.chat.slack.ids import COMMAND, Action, Block, Callback
from bot.chat.slack.text import escape, escape_trim, link, quote
from bot.chat.text import one_line, trim
from bot.chat.views import ACTION_LABELS, AlertView, Line, Link, Person, ReplyForm, When
from bot.models import SYSTEM, split_user_key
from bot.workflow import Action as Step

Json = dict[str, Any]

# https://api.slack.com/reference/block-kit/blocks (and /composition-objects)
LIMITS = {
    "blocks": 50,  # per message
    "section_text": 3000,
    "section_field": 2000,
    "section_fields": 10,
    "header_text": 150,
    "button_text": 75,
    "button_value": 2000,
    "context_elements": 10,
    "fallback_text": 4000,  # chat.postMessage truncates text at 40k; 4k keeps notifications sane
    "modal_title": 24,
    "modal_button": 24,
    "input_value": 3000,
    "private_metadata": 3000,
}


# --- lines ------------------------------------------------------------------------------------


def mrkdwn(line: Line, limit: int = LIMITS["section_text"]) -> str:
    """A neutral line as Slack mrkdwn: strings escaped, people and times drawn by Slack."""
    out: list[str] = []
    budget = limit
    for part in line:
        if isinstance(part, Person):
            piece = person(part)
        elif isinstance(part, When):
            piece = date(part)
        elif isinstance(part, Link):
            piece = link(part.url, part.label, limit=max(1, min(300, budget)))
        else:  # cut strangers' text before escaping, so no entity or token is cut in half
            piece = escape_trim(part, budget, strip=False) if budget > 0 else ""
        out.append(piece)
        budget -= len(piece)
    return "".join(out)


def person(who: Person) -> str:
    platform, user_id = split_user_key(who.key)
    if platform == "slack" and user_id and user_id.isalnum():
        # S…: a user group (an on-call rota), which Slack pings as a subteam.
        return f"<!subteam^{user_id}>" if user_id.startswith("S") else f"<@{user_id}>"
    if who.key == SYSTEM:
        return "mentionbot"
    name = escape_trim(who.name or user_id or who.key, 80, single_line=True) or "someone"
    return f"{name} ({platform.capitalize()})" if platform else name


def date(when: When) -> str:
    """`<!date^…>`: Slack shows it in each reader's time zone; the fallback is UTC."""
    at = when.at.astimezone(UTC)
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    tokens = "{ago}" if when.ago else "{date_short_pretty} at {time}"
    return f"<!date^{int(at.timestamp())}^{tokens}|{fallback}>"


def plain(line: Line) -> str:
    """A line as plain text (notifications): people by name, times in UTC."""
    out = []
    for part in line:
        if isinstance(part, Person):
            out.append(one_line(part.name) or split_user_key(part.key)[1])
        elif isinstance(part, When):
            out.append(part.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))
        elif isinstance(part, Link):
            out.append(one_line(part.label))
        else:
            out.append(part)
    return "".join(out)


def _section(text: str, block_id: str | None = None) -> Json:
    block: Json = {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
    if block_id:
        block["block_id"] = block_id
    return block


# --- the alert --------------------------------------------------------------------------------


def alert_blocks(view: AlertView) -> list[Json]:
    """The alert message: what was said, where, how bad, and where the team stands on it."""
    text = f"*{link(view.url, view.title, limit=300)}*"
    excerpt = quote(view.excerpt, LIMITS["section_text"] - len(text) - 1)
    if excerpt:
        text += "\n" + excerpt
    blocks: list[Json] = [
        {
            "type": "header",
            "block_id": Block.HEADER,
            # plain_text is never parsed for mentions or links: cleaning is enough.
            "text": {
                "type": "plain_text",
                "emoji": True,
                "text": trim(f"{view.icon} {one_line(view.headline)}", LIMITS["header_text"]),
            },
        },
        _section(trim(text, LIMITS["section_text"]), Block.BODY),
        {
            "type": "section",
            "block_id": Block.FIELDS,
            "fields": [
                {
                    "type": "mrkdwn",
                    "verbatim": True,
                    "text": trim(f"*{name}*\n{mrkdwn(value, 200)}", LIMITS["section_field"]),
                }
                for name, value in view.fields[: LIMITS["section_fields"]]
            ],
        },
    ]
    if view.reason:
        reason = escape_trim(" · ".join(view.reason), 3000, single_line=True)
        blocks.append(
            {
                "type": "context",
                "block_id": Block.REASON,
                "elements": [{"type": "mrkdwn", "text": reason, "verbatim": True}],
            }
        )
    blocks.append({"type": "divider"})
    blocks.append(_section(mrkdwn(view.state), Block.STATE))
    if view.timing:
        blocks.append(
            {
                "type": "context",
                "block_id": Block.TIMING,
                "elements": [{"type": "mrkdwn", "text": mrkdwn(view.timing), "verbatim": True}],
            }
        )
    for index, reply in enumerate(view.replies):
        head, body = reply[:-1], reply[-1]
        text = mrkdwn(head, 500) + quote(str(body), 2400)
        blocks.append(
            {
                "type": "context",
                "block_id": f"{Block.REPLIES}-{index}",
                "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}],
            }
        )
    actions = _actions(view)
    # The buttons must survive any trimming: drop reply previews first, never the actions.
    blocks = blocks[: LIMITS["blocks"] - 1]
    blocks.append(actions)
    return blocks


def alert_text(view: AlertView) -> str:
    """Fallback text: notifications, screen readers, and clients that cannot draw blocks."""
    text = escape(one_line(view.fallback))
    url = link(view.url, "", limit=0)
    if url:
        text = trim(text, LIMITS["fallback_text"] - len(url) - 1) + f" {url}"
    return trim(text, LIMITS["fallback_text"])


def _actions(view: AlertView) -> Json:
    elements = [_button(step, view.mention_id) for step in view.actions]
    if view.undo is not None:
        elements.append(_undo_button(view))
    link_button = _link_button(view.url)
    if link_button:
        elements.append(link_button)
    elements.append(
        {
            "type": "overflow",
            "action_id": Action.WRONG_LABEL,
            "options": [
                {
                    "text": {"type": "plain_text", "text": f"Wrong label: {text}"},
                    "value": f"{label}|{view.mention_id}",
                }
                for label, text in view.corrections
            ],
        }
    )
    if view.more:
        elements.append(
            {
                "type": "overflow",
                "action_id": Action.MORE,
                "options": [
                    {
                        "text": {"type": "plain_text", "text": trim(text, 75)},
                        "value": f"{value}|{view.mention_id}",
                    }
                    for value, text in view.more[:5]  # Slack's limit per overflow menu
                ],
            }
        )
    return {"type": "actions", "block_id": Block.ACTIONS, "elements": elements}


def _button(step: Step, mention_id: int) -> Json:
    button: Json = {
        "type": "button",
        "action_id": Action(step.value),
        "text": {"type": "plain_text", "text": trim(ACTION_LABELS[step], LIMITS["button_text"])},
        "value": str(mention_id),
    }
    if step == Step.CLAIM:
        button["style"] = "primary"
    if step == Step.DISMISS:
        # Dismissing hides a complaint from the team: worth one more click.
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Dismiss this mention?"},
            "text": {
                "type": "plain_text",
                "text": "It leaves the open list; Reopen brings it back.",
            },
            "confirm": {"type": "plain_text", "text": "Dismiss"},
            "deny": {"type": "plain_text", "text": "Keep"},
            "style": "danger",
        }
    return button


def _undo_button(view: AlertView) -> Json:
    undo = view.undo
    assert undo is not None
    return {
        "type": "button",
        "action_id": Action.DELETE_REPLY,
        "text": {"type": "plain_text", "text": trim(undo.label, LIMITS["button_text"])},
        "value": f"{view.mention_id}:{undo.reply_id}",
        "style": "danger",
        "confirm": {
            "title": {"type": "plain_text", "text": "Delete the public reply?"},
            "text": {
                "type": "plain_text",
                "text": f"It is removed from {undo.platform}; the alert keeps a record.",
            },
            "confirm": {"type": "plain_text", "text": "Delete"},
            "deny": {"type": "plain_text", "text": "Keep"},
            "style": "danger",
        },
    }


def _link_button(url: str) -> Json | None:
    url = one_line(url)
    # Button URLs are not mrkdwn, but Slack rejects anything longer than 3000 or not http(s).
    if not url.lower().startswith(("http://", "https://")) or len(url) > 3000:
        return None
    return {
        "type": "button",
        "action_id": Action.OPEN_LINK,
        "text": {"type": "plain_text", "text": "Open"},
        "url": url,
    }


# --- the reply modal --------------------------------------------------------------------------


def reply_modal(form: ReplyForm) -> Json:
    """The Reply view: the mention quoted, a prefilled draft, and where the answer goes: an
    explicit choice (nothing preselected) between posting publicly as the brand's account and
    a note in the thread, or, where the source cannot be answered, a note and a link to open
    the post. After a failed attempt, why it failed, above the text that was kept."""
    title = escape_trim(form.title, 300, single_line=True)
    blocks: list[Json] = []
    if form.error:
        blocks.append(_section("⚠️ " + escape_trim(form.error, 2900), Block.REPLY_ERROR))
    blocks.append(
        _section(f"*{title or 'Mention'}*\n" + quote(form.text, LIMITS["section_text"] - 400))
    )
    public = form.public
    limit = LIMITS["input_value"]
    hint = form.destination
    if public is not None:
        hint = (
            f"{public.label}: at most {public.limit:,} characters; the draft has "
            f"{form.draft_length:,}." + (f" {public.count_rule}." if public.count_rule else "")
        )
    blocks.append(
        {
            "type": "input",
            "block_id": Block.REPLY_INPUT,
            "label": {"type": "plain_text", "text": "Your reply"},
            "hint": {"type": "plain_text", "text": trim(hint, 150)},
            "element": {
                "type": "plain_text_input",
                "action_id": Action.REPLY_TEXT,
                "multiline": True,
                "max_length": limit,
                "initial_value": trim(form.draft, limit),
            },
        }
    )
    if public is not None:
        blocks.append(_where_choice(form))
    else:
        source = escape_trim(form.source, 200, single_line=True) or "the source"
        where = link(form.url, f"Open to answer on {source}", limit=500) or "(no link)"
        why = escape_trim(form.note_only_because or "the source has no API for replies", 300)
        blocks.append(
            {
                "type": "context",
                "block_id": Block.REPLY_CONTEXT,
                "elements": [
                    {
                        "type": "mrkdwn",
                        "verbatim": True,
                        "text": f"Note in this thread only: {why}. {where}",
                    }
                ],
            }
        )
    return {
        "type": "modal",
        "callback_id": Callback.REPLY_MODAL,
        "private_metadata": str(form.mention_id),
        "title": {"type": "plain_text", "text": "Reply to mention"},
        "submit": {"type": "plain_text", "text": "Send" if public else "Post note"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _where_choice(form: ReplyForm) -> Json:
    public = form.public
    assert public is not None
    source = escape_trim(form.source, 200, single_line=True) or "the source"
    return {
        "type": "input",
        "block_id": Block.REPLY_WHERE,
        "label": {"type": "plain_text", "text": "Where should the answer go?"},
        "element": {
            "type": "radio_buttons",
            "action_id": Action.REPLY_WHERE,
            # No initial option: posting in public is always a choice someone made.
            "options": [
                {
                    "text": {"type": "plain_text", "text": trim(public.choice, 75)},
                    "description": {"type": "plain_text", "text": trim(public.detail, 75)},
                    "value": "public",
                },
                {
                    "text": {"type": "plain_text", "text": "Note in this thread only"},
                    "description": {
                        "type": "plain_text",
                        "text": trim(
                            f"the customer does not see it; answer on {source} yourself", 75
                        ),
                    },
                    "value": "thread",
                },
            ],
        },
    }


def status_modal(line: Line, *, title: str = "Reply to mention", done: bool = False) -> Json:
    """A modal that only says something: "Posting…" while a public reply is under way, the
    link once it is posted."""
    return {
        "type": "modal",
        "callback_id": Callback.REPLY_MODAL,
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Done" if done else "Close"},
        "blocks": [_section(mrkdwn(line))],
    }


# --- command answers --------------------------------------------------------------------------


def answer_message(answer: Listing | Detail | TextAnswer) -> tuple[str, list[Json]]:
    """(fallback text, blocks) for an ephemeral command answer."""
    if isinstance(answer, Listing):
        return _listing(answer)
    if isinstance(answer, Detail):
        return _detail(answer)
    lines = [mrkdwn(line) for line in answer.lines]
    if answer.usage:
        lines.append(usage())
    if answer.preformatted:
        lines.append("```" + preformatted(answer.preformatted, 2900) + "```")
    text = trim("\n".join(lines), 3000)
    return text, [_section(text)] if text else []


def preformatted(text: str, limit: int) -> str:
    """A table for a code block: escaped, columns kept (runs of spaces are its layout),
    control characters dropped."""
    kept = "".join(ch for ch in text if ch == "\n" or ch.isprintable())
    out = kept.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out if len(out) <= limit else trim(out[: limit - 1].rsplit("\n", 1)[0], limit)


def usage() -> str:
    rows = [f"• `{COMMAND} {escape(args)}` — {escape(what)}" for args, what in USAGE]
    return f"*{COMMAND}* — brand mentions that need a human\n" + "\n".join(rows)


def _listing(answer: Listing) -> tuple[str, list[Json]]:
    scope = f" — {escape(answer.scope)}" if answer.scope else ""
    if not answer.items:
        text = f"*{escape(answer.title)}*: nothing found{scope}."
        return text, [_section(text)]
    count = f"{len(answer.items)}{'+' if answer.more else ''}"
    lines = [f"*{escape(answer.title)}* ({count}){scope}"]
    for item in answer.items:
        owner = f" · {mrkdwn(item.owner, 200)}" if item.owner else ""
        lines.append(
            trim(
                f"`#{item.mention_id}` {escape(one_line(item.brand))} · {item.sentiment}"
                f" {item.score:+.2f} · {escape_trim(item.source, 100, single_line=True)}"
                f" · {link(item.url, item.title, limit=120)} · *{item.status}*{owner}"
                f" · {date(When(item.at))}",
                2900,
            )
        )
    return trim("\n".join(lines), 3000), [_section(line) for line in lines[:49]]


def _detail(answer: Detail) -> tuple[str, list[Json]]:
    blocks = [b for b in alert_blocks(answer.alert) if b["type"] != "actions"]
    names = answer.names
    rows = [
        mrkdwn(
            (
                When(t.at),
                f" · {t.from_status.value} → {t.to_status.value} · ",
                Person(t.actor, names.get(t.actor, "")),
                *((" · " + one_line(t.note)[:200],) if t.note else ()),
            ),
            400,
        )
        for t in answer.history
    ]
    if rows:
        blocks.append(_section(trim("*History*\n" + "\n".join(f"• {r}" for r in rows), 3000)))
    title = escape_trim(answer.alert.title, 200, single_line=True)
    return f"Mention #{answer.alert.mention_id}: {title}", blocks[: LIMITS["blocks"]]
