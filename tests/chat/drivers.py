"""Drivers for the chat contract suite: each works one platform through its real transport
(signed HTTP requests into the real app, the platform's API faked on loopback) and reads
back what the platform was sent. The scenarios in test_contract.py are written once against
this interface and run for every platform."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Protocol

from bot.chat.slack.ids import Action, Block, Callback
from bot.models import Mention, MessageRef, Route
from bot.store import Store
from tests.chat.conftest import SlackEnv
from tests.chat.teams_env import PEOPLE as TEAMS_PEOPLE
from tests.chat.teams_env import TeamsEnv
from tests.fakes.fake_slack import (
    Call,
    block_actions_body,
    slash_command_body,
    view_submission_body,
)
from tests.fakes.fake_teams import CHANNELS as TEAMS_CHANNELS

PEOPLE = {"alice": "U0ALICE01", "bob": "U0BOB0001", "carol": "U0CAROL01", "admin": "UADMIN"}


class ChatDriver(Protocol):
    name: str
    store: Store

    def user(self, person: str) -> str:
        """The user key of a person ("alice") on this platform."""
        ...

    def shown_as(self, person: str) -> str:
        """How the platform's rendering names this person."""
        ...

    def alert(self, mention: Mention) -> int: ...

    def click(self, mention_id: int, action: str, person: str, *, copy: int = 0) -> None: ...

    def click_on_message_of(self, other_id: int, mention_id: int, action: str, person: str) -> None:
        """A button carrying `mention_id`, clicked on the message that shows `other_id`."""
        ...

    def open_reply(self, mention_id: int, person: str) -> tuple[str, str]:
        """Open the reply dialog; (dialog handle, draft text)."""
        ...

    def submit_reply(self, dialog: str, mention_id: int, text: str, person: str) -> None: ...

    def command(self, text: str, person: str, *, channel: str = "alerts") -> str: ...

    def state(self, mention_id: int, *, copy: int = 0) -> str:
        """The state line as last drawn on the platform."""
        ...

    def buttons(self, mention_id: int, *, copy: int = 0, person: str | None = None) -> list[str]:
        """The workflow buttons of the card as drawn for everyone, or as `person` sees it
        (Teams shows Unclaim only to whoever may release; Slack shows everyone the same)."""
        ...

    def told(self, person: str) -> list[str]:
        """What this person was told privately, oldest first."""
        ...

    def notes(self, mention_id: int) -> list[str]:
        """Messages posted under the alert (its thread), oldest first."""
        ...

    def redraws(self, mention_id: int, *, copy: int = 0) -> int: ...


class SlackDriver:
    name = "slack"

    def __init__(self, env: SlackEnv) -> None:
        self.env = env
        self.store = env.store
        self.fake = env.fake

    def user(self, person: str) -> str:
        return f"slack:{PEOPLE[person]}"

    def shown_as(self, person: str) -> str:
        return f"<@{PEOPLE[person]}>"

    def alert(self, mention: Mention) -> int:
        mention_id, _ = self.env.alert(mention)
        return mention_id

    def _message(self, mention_id: int, copy: int = 0) -> MessageRef:
        found = [
            d.message
            for d in self.store.deliveries(mention_id)
            if d.route.platform == "slack" and d.message
        ]
        return found[copy]  # type: ignore[return-value]

    def click(self, mention_id: int, action: str, person: str, *, copy: int = 0) -> None:
        message = self._message(mention_id, copy)
        body = block_actions_body(
            action,
            str(mention_id),
            user=PEOPLE[person],
            channel=message.channel_id,
            message_ts=message.message_id,
        )
        assert self.env.post(body).status == 200

    def click_on_message_of(self, other_id: int, mention_id: int, action: str, person: str) -> None:
        message = self._message(other_id)
        body = block_actions_body(
            action,
            str(mention_id),
            user=PEOPLE[person],
            channel=message.channel_id,
            message_ts=message.message_id,
        )
        assert self.env.post(body).status == 200

    def open_reply(self, mention_id: int, person: str) -> tuple[str, str]:
        before = len(self.fake.calls_to("views.open"))
        self.click(mention_id, Action.REPLY, person)
        opened = self.fake.calls_to("views.open")
        if len(opened) == before:
            return "", ""
        view = opened[-1].body["view"]
        [field] = [b for b in view["blocks"] if b.get("block_id") == Block.REPLY_INPUT]
        # The fake numbers views in order; its answer gave the bot the same id.
        return f"V{len(opened):08d}", field["element"]["initial_value"]

    def submit_reply(self, dialog: str, mention_id: int, text: str, person: str) -> None:
        values = {
            Block.REPLY_INPUT: {Action.REPLY_TEXT: {"type": "plain_text_input", "value": text}}
        }
        body = view_submission_body(
            Callback.REPLY_MODAL, str(mention_id), values, user=PEOPLE[person], view_id=dialog
        )
        response = self.env.post(body)
        assert response.status == 200

    def command(self, text: str, person: str, *, channel: str = "alerts") -> str:
        found = self.fake.channel_by_name(channel)
        channel_id = found["id"] if found else "D0DIRECT1"
        name = f"cmd-{len(self.fake.calls)}"
        body = slash_command_body(
            text, user=PEOPLE[person], channel=channel_id, response_url=self.fake.response_url(name)
        )
        assert self.env.post(body).status == 200
        [answer] = self.fake.wait_for("response_url", where=lambda c: c.path.endswith(name))
        assert answer.body["response_type"] == "ephemeral"
        shown = json.dumps(answer.body.get("blocks") or answer.body["text"], ensure_ascii=False)
        # As a reader sees it: Slack shows its three escapes as the characters.
        return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _updates(self, mention_id: int, copy: int) -> list[Call]:
        message = self._message(mention_id, copy)
        return [
            c
            for c in self.fake.calls_to("chat.update")
            if c.body.get("ts") == message.message_id
            and c.body.get("channel") == message.channel_id
        ]

    def _latest(self, mention_id: int, copy: int) -> dict[str, Any]:
        updates = self._updates(mention_id, copy)
        if updates:
            return updates[-1].body
        message = self._message(mention_id, copy)
        [post] = [
            c
            for c in self.fake.calls_to("chat.postMessage")
            if (c.body.get("metadata") or {}).get("event_payload", {}).get("mention_id")
            == mention_id
            and self._posted_to(c, message)
        ]
        return post.body

    def _posted_to(self, call: Call, message: MessageRef) -> bool:
        channel = call.body.get("channel", "")
        found = self.fake.channel_by_name(channel)
        return channel == message.channel_id or (
            found is not None and found["id"] == message.channel_id
        )

    def state(self, mention_id: int, *, copy: int = 0) -> str:
        blocks = self._latest(mention_id, copy)["blocks"]
        [state] = [b for b in blocks if b.get("block_id") == Block.STATE]
        return str(state["text"]["text"])

    def buttons(self, mention_id: int, *, copy: int = 0, person: str | None = None) -> list[str]:
        blocks = self._latest(mention_id, copy)["blocks"]
        [actions] = [b for b in blocks if b["type"] == "actions"]
        return [
            e["action_id"]
            for e in actions["elements"]
            if e["action_id"] not in (Action.OPEN_LINK, Action.WRONG_LABEL, Action.MORE)
        ]

    def told(self, person: str) -> list[str]:
        return [
            str(c.body.get("text"))
            for c in self.fake.calls_to("chat.postEphemeral")
            if c.body.get("user") == PEOPLE[person]
        ]

    def notes(self, mention_id: int) -> list[str]:
        ts = {d.message.message_id for d in self.store.deliveries(mention_id) if d.message}
        return [
            str(c.body.get("text"))
            for c in self.fake.calls_to("chat.postMessage")
            if c.body.get("thread_ts") in ts
        ]

    def redraws(self, mention_id: int, *, copy: int = 0) -> int:
        return len(self._updates(mention_id, copy))


class TeamsDriver:
    """Teams through its real transport: signed activities into /api/messages (uvicorn, the
    Teams SDK), cards read back from the fake Bot Connector. The contract's Slack channels
    ("#alerts", "#ops", …) are the Support team's channels of the same names."""

    name = "teams"

    def __init__(self, env: TeamsEnv) -> None:
        self.env = env
        self.store = env.store
        self.fake = env.fake
        self._dialogs: dict[str, int] = {}

    def user(self, person: str) -> str:
        return f"teams:{TEAMS_PEOPLE[person][0]}"

    def shown_as(self, person: str) -> str:
        return TEAMS_PEOPLE[person][2]

    @staticmethod
    def route(route: Route) -> Route:
        if route.platform == "teams":
            return route
        return Route("teams", f"Support/{route.channel.lstrip('#')}")

    def alert(self, mention: Mention) -> int:
        mention = replace(mention, routes=tuple(self.route(r) for r in mention.routes))
        mention_id = self.store.add_mention(mention, alert=True)
        assert mention_id is not None
        report = self.env.outbox.deliver_due()
        assert report.delivered >= 1, report
        return mention_id

    def _message(self, mention_id: int, copy: int = 0) -> MessageRef:
        found = [
            d.message
            for d in self.store.deliveries(mention_id)
            if d.route.platform == "teams" and d.message
        ]
        return found[copy]  # type: ignore[return-value]

    def _click(self, message: MessageRef, verb: str, data: dict[str, Any],
               person: str) -> dict[str, Any]:  # fmt: skip
        return self.env.invoke(person, verb, data, message.channel_id, message.message_id)

    def click(self, mention_id: int, action: str, person: str, *, copy: int = 0) -> None:
        self._click(self._message(mention_id, copy), action, {"mention": mention_id}, person)

    def click_on_message_of(self, other_id: int, mention_id: int, action: str, person: str) -> None:
        self._click(self._message(other_id), action, {"mention": mention_id}, person)

    def open_reply(self, mention_id: int, person: str) -> tuple[str, str]:
        answer = self._click(self._message(mention_id), "mention-reply",
                             {"mention": mention_id}, person)  # fmt: skip
        if answer["type"] != "application/vnd.microsoft.card.adaptive":
            return "", ""
        card = answer["value"]
        [field] = [b for b in card["body"] if b["type"] == "Input.Text"]
        [send] = [a for a in card["actions"] if a["verb"] == "mention-reply-send"]
        dialog = send["data"]["dialog"]
        self._dialogs[dialog] = mention_id
        return dialog, field["value"]

    def submit_reply(self, dialog: str, mention_id: int, text: str, person: str) -> None:
        shown_on = self._message(self._dialogs.get(dialog, mention_id))
        data = {"mention": mention_id, "dialog": dialog, "mention-reply-text": text}
        self._click(shown_on, "mention-reply-send", data, person)

    def command(self, text: str, person: str, *, channel: str = "alerts") -> str:
        conversation = {cid_name: cid for cid, cid_name in
                        ((c, n or "general") for c, n in TEAMS_CHANNELS)}[channel]  # fmt: skip
        chat = f"a:personal-{TEAMS_PEOPLE[person][1][3:]}"
        before = len(self.fake.posts(chat))
        response = self.env.say(person, text, conversation)
        assert response.status_code == 200, response.text
        answers = self.fake.posts(chat)
        assert len(answers) == before + 1, "one answer, in the asker's personal chat"
        assert not [
            a
            for a in self.fake.posts(conversation)
            if a.body.get("replyToId") or "act-" in str(a.body)
        ], "nothing in the channel"
        return card_text(answers[-1].body["attachments"][0]["content"])

    def _card(self, mention_id: int, copy: int) -> dict[str, Any]:
        activity = self.fake.latest(self._message(mention_id, copy).message_id)
        return activity["attachments"][0]["content"]  # type: ignore[no-any-return]

    def state(self, mention_id: int, *, copy: int = 0) -> str:
        [state] = [b for b in self._card(mention_id, copy)["body"] if b.get("separator")]
        return "".join(r["text"] for r in state["inlines"])

    def buttons(self, mention_id: int, *, copy: int = 0, person: str | None = None) -> list[str]:
        card = self._card(mention_id, copy)
        if person is not None:  # the card Teams shows this person (Universal Actions refresh)
            answer = self._click(self._message(mention_id, copy), "mention-refresh",
                                 {"mention": mention_id}, person)  # fmt: skip
            card = answer["value"]
        return card_verbs(card)

    def told(self, person: str) -> list[str]:
        return [
            str(body["value"])
            for who, body in self.env.answers
            if who == person and body["type"] == "application/vnd.microsoft.activity.message"
        ]

    def notes(self, mention_id: int) -> list[str]:
        threads = {f"{d.channel_id};messageid={d.message_id}"
                   for d in self.store.deliveries(mention_id) if d.message}  # fmt: skip
        return [card_text(a.body["attachments"][0]["content"])
                for a in self.fake.posts() if a.conversation in threads]  # fmt: skip

    def redraws(self, mention_id: int, *, copy: int = 0) -> int:
        return self.fake.updates(self._message(mention_id, copy).message_id)


def card_verbs(card: dict[str, Any]) -> list[str]:
    """The workflow buttons of an alert card, in order (Dismiss sits behind a confirmation)."""
    verbs = []
    for action in card.get("actions", []):
        if action["type"] == "Action.Execute":
            verbs.append(action["verb"])
        elif action["type"] == "Action.ShowCard" and action["title"] == "Dismiss":
            verbs.extend(a["verb"] for a in action["card"]["actions"])
    return verbs


def card_text(card: dict[str, Any]) -> str:
    """Everything a card says, as a reader sees it."""
    out = []
    for block in card.get("body", []):
        if block["type"] == "RichTextBlock":
            out.append("".join(r["text"] for r in block["inlines"]))
        elif "text" in block:
            out.append(str(block["text"]))
    return "\n".join(out)
