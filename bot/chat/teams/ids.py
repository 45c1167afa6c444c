"""Every Action.Execute verb and input id the Teams cards use, in one place.

The workflow's steps use the shared action ids (bot/workflow.py `Action`: "mention-claim", …)
as their verbs, so one name travels from a Slack button or a Teams card to the workflow. The
mention id travels in the action's `data`, never in a verb.
"""

from __future__ import annotations

import enum


class Verb(enum.StrEnum):
    """Verbs of the Teams-only actions (the steps use bot.workflow.Action values)."""

    REFRESH = "mention-refresh"  # Universal Actions refresh: the card as this user sees it
    REPLY_SEND = "mention-reply-send"  # the inline reply form's "Post reply"
    REPLY_CANCEL = "mention-reply-cancel"
    WRONG_LABEL = "mention-wrong-label"
    DELETE_REPLY = "mention-delete-reply"  # take a public reply back (for a short while)
    MORE = "mention-more"  # moves and mutes (bot/team/moves.py)


REPLY_INPUT = "mention-reply-text"  # the Input.Text of the reply form
REPLY_WHERE = "mention-reply-where"  # the Input.ChoiceSet: "public" or "thread"
COMMAND = "@mentionbot"  # how a person addresses the bot in Teams
