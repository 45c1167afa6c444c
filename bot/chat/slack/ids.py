"""Every action_id, block_id and callback_id the Slack adapter uses, in one place.

Kebab-case with a feature prefix, so a payload in a log says which feature it belongs to.
The mention id travels in a button's `value` (and a modal's `private_metadata`), never in an
id: ids stay constant so listeners can match them exactly.
"""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    """action_id of interactive elements on the alert message and in the reply modal."""

    CLAIM = "mention-claim"
    UNCLAIM = "mention-unclaim"
    REPLY = "mention-reply"
    RESOLVE = "mention-resolve"
    REOPEN = "mention-reopen"
    DISMISS = "mention-dismiss"
    WRONG_LABEL = "mention-wrong-label"  # the overflow menu of corrections
    MORE = "mention-more"  # the overflow menu of moves and mutes (bot/team/moves.py)
    OPEN_LINK = "mention-open-link"  # a URL button: Slack sends an action we only ack
    REPLY_TEXT = "mention-reply-text"  # the plain_text_input inside the reply modal
    REPLY_WHERE = "mention-reply-where"  # the modal's choice: post publicly or a note
    DELETE_REPLY = "mention-delete-reply"  # take a public reply back (for a short while)


class Block(enum.StrEnum):
    """block_id of the alert message's blocks and of the reply modal's input."""

    HEADER = "mention-alert-header"
    BODY = "mention-alert-body"
    FIELDS = "mention-alert-fields"
    REASON = "mention-alert-reason"
    STATE = "mention-alert-state"
    TIMING = "mention-alert-timing"
    REPLIES = "mention-alert-replies"
    ACTIONS = "mention-alert-actions"
    REPLY_INPUT = "mention-reply-input"
    REPLY_CONTEXT = "mention-reply-context"
    REPLY_WHERE = "mention-reply-where"
    REPLY_ERROR = "mention-reply-error"


class Callback(enum.StrEnum):
    """callback_id of views."""

    REPLY_MODAL = "mention-reply-modal"


class Event(enum.StrEnum):
    """event_type of message metadata, so tools can find our alerts in a channel."""

    MENTION_ALERT = "mention_alert"


COMMAND = "/mentions"
