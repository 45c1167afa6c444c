"""Block Kit builders for the alert message and the reply modal. Pure functions, no I/O.

The alert is always drawn from the whole truth (mention + history + replies), never patched,
so a redraw after any action, from any process, shows the same thing. Slack's limits are data
(`LIMITS`) enforced here, not left to an `invalid_blocks` error at delivery time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.chat.slack.ids import Action, Block, Callback
from bot.chat.slack.text import escape_line, escape_trim, link, quote, user
from bot.chat.text import ago, duration, one_line, trim
from bot.models import CORRECTIONS, Mention, Sentiment, Status, Transition

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
EXCERPT_CHARS = 1200  # what a reader takes in at a glance; the link has the rest
REPLY_PREVIEW_CHARS = 500
REPLIES_SHOWN = 3

SENTIMENT_ICON = {Sentiment.NEGATIVE: "🔴", Sentiment.NEUTRAL: "⚪", Sentiment.POSITIVE: "🟢"}


def alert_blocks(
    mention: Mention,
    history: Sequence[Transition],
    replies: Sequence[tuple[str, str, datetime]],
    now: datetime,
) -> list[Json]:
    """The alert message: what was said, where, how bad, and where the team stands on it."""
    blocks: list[Json] = [
        _header(mention),
        _body(mention),
        _fields(mention, now),
    ]
    reason = _reason(mention)
    if reason:
        blocks.append(reason)
    blocks.append({"type": "divider"})
    blocks.append(_state(mention, history, now))
    blocks.extend(_replies(replies, now))
    actions = _actions(mention)
    # The buttons must survive any trimming: drop reply previews first, never the actions.
    room = LIMITS["blocks"] - (1 if actions else 0)
    blocks = blocks[:room]
    if actions:
        blocks.append(actions)
    return blocks


def alert_text(mention: Mention) -> str:
    """Fallback text: notifications, screen readers, and clients that cannot draw blocks."""
    v = mention.verdict
    head = (
        f"{v.sentiment.value.capitalize()} mention of {escape_line(mention.brand)}"
        f" on {escape_line(mention.source)}"
    )
    if mention.author:
        head += f" by {escape_line(mention.author)}"
    title = escape_trim(mention.title or mention.text, 300, single_line=True)
    text = f"{head}: {title}" if title else head
    url = link(mention.url, "", limit=0)
    if url:
        text += f" {url}"
    return trim(text, LIMITS["fallback_text"])


def state_line(mention: Mention, history: Sequence[Transition], now: datetime) -> str:
    """One mrkdwn line saying who holds the mention and since when."""
    last = _last_into(history, mention.status)
    who = user(last.actor) if last else ""
    when = ago(last.at, now) if last else ""
    status = mention.status
    if status == Status.CLAIMED:
        return f"👤 Claimed by {user(mention.owner) if mention.owner else who} · {when}"
    if status == Status.REPLIED:
        return f"💬 Replied by {who or user(mention.owner)} · {when}"
    if status == Status.RESOLVED:
        opened = _first_into(history, Status.ALERTED) or _first_into(history, Status.NEW)
        after = ""
        if last and opened:
            after = f" after {duration((last.at - opened.at).total_seconds())}"
        return f"✅ Resolved by {who}{after} · {when}"
    if status == Status.DISMISSED:
        return f"🚫 Dismissed by {who} · {when}"
    back_from = last.from_status if last else None
    if status == Status.ALERTED and back_from in (Status.RESOLVED, Status.DISMISSED):
        return f"↩️ Reopened by {who} · {when} — nobody owns it yet"
    if status == Status.ALERTED and back_from == Status.CLAIMED:
        return f"🔓 Released by {who} · {when} — nobody owns it yet"
    return "🆕 Open — nobody owns it yet"


def reply_modal(mention: Mention, draft: str) -> Json:
    """The Reply view: a prefilled draft, and the link to answer where it was said."""
    source = escape_trim(mention.source, 200, single_line=True) or "the original site"
    where = link(mention.url, mention.url, limit=500) or "(no link)"
    title = escape_trim(mention.title or mention.text, 300, single_line=True)
    return {
        "type": "modal",
        "callback_id": Callback.REPLY_MODAL,
        "private_metadata": str(mention.id),
        "title": {"type": "plain_text", "text": "Reply to mention"},
        "submit": {"type": "plain_text", "text": "Post reply"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{title or 'Mention'}*\n"
                    + quote(mention.text, LIMITS["section_text"] - 400),
                    "verbatim": True,
                },
            },
            {
                "type": "input",
                "block_id": Block.REPLY_INPUT,
                "label": {"type": "plain_text", "text": "Your reply"},
                "hint": {
                    "type": "plain_text",
                    "text": "Posted in the alert's thread and kept with the mention.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": Action.REPLY_TEXT,
                    "multiline": True,
                    "max_length": LIMITS["input_value"],
                    "initial_value": trim(draft, LIMITS["input_value"]),
                },
            },
            {
                "type": "context",
                "block_id": Block.REPLY_CONTEXT,
                "elements": [{"type": "mrkdwn", "text": f"Answer on {source}: {where}"}],
            },
        ],
    }


# --- the parts of the alert ------------------------------------------------------------------


def _header(mention: Mention) -> Json:
    icon = SENTIMENT_ICON.get(mention.verdict.sentiment, "⚪")
    # plain_text is never parsed for mentions or links, so it needs cleaning, not escaping.
    text = f"{icon} {one_line(mention.brand)}: {mention.verdict.sentiment.value} mention"
    return {
        "type": "header",
        "block_id": Block.HEADER,
        "text": {"type": "plain_text", "text": trim(text, LIMITS["header_text"]), "emoji": True},
    }


def _body(mention: Mention) -> Json:
    limit = LIMITS["section_text"]
    title = link(mention.url, mention.title or "(untitled)", limit=300)
    text = f"*{title}*"
    excerpt = quote(mention.text, min(EXCERPT_CHARS, limit - len(text) - 1))
    if excerpt:
        text += "\n" + excerpt
    return {
        "type": "section",
        "block_id": Block.BODY,
        "text": {"type": "mrkdwn", "text": trim(text, limit), "verbatim": True},
    }


def _fields(mention: Mention, now: datetime) -> Json:
    v = mention.verdict
    pairs = [
        ("Source", escape_trim(mention.source, 200, single_line=True)),
        ("Author", escape_trim(mention.author, 200, single_line=True) or "unknown"),
        ("Sentiment", f"{v.sentiment.value} ({v.score:+.2f}) · attention {v.attention:.2f}"),
        ("Matched", f"“{escape_trim(mention.matched_term, 200, single_line=True)}”"),
        ("Published", ago(mention.published_at or mention.fetched_at, now)),
    ]
    return {
        "type": "section",
        "block_id": Block.FIELDS,
        "fields": [
            {"type": "mrkdwn", "text": trim(f"*{name}*\n{value}", LIMITS["section_field"])}
            for name, value in pairs[: LIMITS["section_fields"]]
        ],
    }


def _reason(mention: Mention) -> Json | None:
    v = mention.verdict
    parts = []
    if v.reason:
        parts.append(f"Why: {escape_trim(v.reason, 500, single_line=True)}")
    if v.lang and v.lang != "und":
        parts.append(f"lang {escape_line(v.lang)}")
    if v.scorer:
        parts.append(f"scored by {escape_line(v.scorer)}")
    if mention.labels:
        corrected = ", ".join(CORRECTIONS.get(label, label).lower() for label in mention.labels)
        parts.append(f"corrected: {escape_line(corrected)}")
    if mention.id is not None:
        parts.append(f"mention #{mention.id}")
    if not parts:
        return None
    return {
        "type": "context",
        "block_id": Block.REASON,
        "elements": [{"type": "mrkdwn", "text": trim(" · ".join(parts), 3000), "verbatim": True}],
    }


def _state(mention: Mention, history: Sequence[Transition], now: datetime) -> Json:
    return {
        "type": "section",
        "block_id": Block.STATE,
        "text": {"type": "mrkdwn", "text": state_line(mention, history, now)},
    }


def _replies(replies: Sequence[tuple[str, str, datetime]], now: datetime) -> list[Json]:
    shown = list(replies)[-REPLIES_SHOWN:]
    blocks = []
    for index, (actor, text, at) in enumerate(shown):
        body = quote(text, REPLY_PREVIEW_CHARS)
        blocks.append(
            {
                "type": "context",
                # block_ids are unique within a message; the index keeps them so.
                "block_id": f"{Block.REPLIES}-{index}",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Reply by {user(actor)} · {ago(at, now)}\n{body}",
                        "verbatim": True,
                    }
                ],
            }
        )
    return blocks


BUTTONS_BY_STATUS: dict[Status, tuple[Action, ...]] = {
    Status.NEW: (Action.CLAIM, Action.REPLY, Action.RESOLVE, Action.DISMISS),
    Status.ALERTED: (Action.CLAIM, Action.REPLY, Action.RESOLVE, Action.DISMISS),
    Status.CLAIMED: (Action.REPLY, Action.RESOLVE, Action.UNCLAIM),
    Status.REPLIED: (Action.REPLY, Action.RESOLVE),
    Status.RESOLVED: (Action.REOPEN,),
    Status.DISMISSED: (Action.REOPEN,),
}
BUTTON_LABELS = {
    Action.CLAIM: "Claim",
    Action.UNCLAIM: "Unclaim",
    Action.REPLY: "Reply",
    Action.RESOLVE: "Resolve",
    Action.REOPEN: "Reopen",
    Action.DISMISS: "Dismiss",
}


def _actions(mention: Mention) -> Json | None:
    if mention.id is None:
        return None
    elements = [_button(action, mention.id) for action in BUTTONS_BY_STATUS[mention.status]]
    link_button = _link_button(mention.url)
    if link_button:
        elements.append(link_button)
    elements.append(_corrections(mention.id))
    return {"type": "actions", "block_id": Block.ACTIONS, "elements": elements}


def _button(action: Action, mention_id: int) -> Json:
    button: Json = {
        "type": "button",
        "action_id": action,
        "text": {"type": "plain_text", "text": trim(BUTTON_LABELS[action], LIMITS["button_text"])},
        "value": str(mention_id),
    }
    if action == Action.CLAIM:
        button["style"] = "primary"
    if action == Action.DISMISS:
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


def _corrections(mention_id: int) -> Json:
    """The "Wrong label" overflow menu: each option's value is `label|mention id`."""
    return {
        "type": "overflow",
        "action_id": Action.WRONG_LABEL,
        "options": [
            {"text": {"type": "plain_text", "text": f"Wrong label: {text}"},
             "value": f"{label}|{mention_id}"}
            for label, text in CORRECTIONS.items()
        ],
    }  # fmt: skip


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
