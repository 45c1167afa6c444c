"""Block Kit builders: escaping, Slack's limits, and what each status shows. Pure, no I/O."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from bot.chat.slack.blocks import LIMITS, alert_blocks, alert_text, reply_modal, state_line

from bot.chat.drafts import draft_reply
from bot.chat.slack.ids import Action, Block, Callback
from bot.chat.slack.text import escape, escape_trim, link, quote
from bot.chat.text import ago, clean, duration, trim
from bot.models import Mention, Sentiment, Status, Transition
from tests.conftest import make_verdict

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(hours=3)


@pytest.fixture
def mention(make_mention: Callable[..., Mention]) -> Callable[..., Mention]:
    def make(**fields: object) -> Mention:
        values: dict[str, object] = {"id": 42, "published_at": T0, "fetched_at": T0}
        values.update(fields)
        return make_mention(**values)

    return make


def transitions(*steps: tuple[Status, Status, str, int]) -> list[Transition]:
    return [Transition(42, a, b, actor, T0 + timedelta(minutes=m)) for a, b, actor, m in steps]


ALERTED = (Status.NEW, Status.ALERTED, "system", 0)


def all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def walk_texts(node: object) -> list[dict]:
    """Every text object ({"type": "mrkdwn"|"plain_text", "text": ...}) in a block tree."""
    found = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            found.append(node)
        for value in node.values():
            found += walk_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += walk_texts(item)
    return found


# --- escaping ---------------------------------------------------------------------------------

HOSTILE = [
    "<!channel> refund now",
    "<!here|here> and <!everyone>",
    "ping <@U012345> please",
    "<https://evil.example|https://acme.com/login>",
    "Tom & Jerry &lt;!channel&gt;",
    "<#C0123|general>",
    "<!subteam^S123|@support>",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_mention_text_can_never_ping_or_link(mention: Callable[..., Mention], hostile: str) -> None:
    m = mention(title=hostile, text=hostile, author=hostile, matched_term=hostile, source=hostile)
    blocks = alert_blocks(m, [], [], NOW)
    for obj in walk_texts(blocks):
        if obj["type"] != "mrkdwn":
            continue
        text = obj["text"]
        # Every "<" in mrkdwn is ours: the title link and nothing else.
        for chunk in text.split("<")[1:]:
            assert chunk.startswith("https://example.com/post/"), text
    assert "<!" not in alert_text(m) and "<@" not in alert_text(m)


def test_escape_handles_the_three_reserved_characters() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&amp;") == "&amp;amp;"  # an entity typed by a stranger stays visible text


def test_control_and_bidi_characters_are_stripped() -> None:
    assert clean("a\x00b\x07c\x1bd\u202egnp.exe\u202c\r\nnext") == "abcdgnp.exe\nnext"
    assert (
        clean("tab\tto space\n\n\n\nblank lines squeezed") == "tab to space\n\nblank lines squeezed"
    )


def test_urls_cannot_break_out_of_a_link() -> None:
    assert link("https://x.test/a|b>c<d e", "label") == "<https://x.test/a%7Cb%3Ec%3Cd%20e|label>"
    assert link("javascript:alert(1)", "label") == "label"
    assert link("https://x.test/?a=1&b=2", "x") == "<https://x.test/?a=1&amp;b=2|x>"


def test_escaped_trim_never_cuts_an_entity_in_half() -> None:
    for limit in range(1, 40):
        out = escape_trim("&" * 50, limit)
        assert len(out) <= limit
        assert out.replace("&amp;", "").replace("…", "") == ""


def test_quote_prefixes_every_line_and_respects_the_limit() -> None:
    out = quote("one\n> two\nthree " * 100, 200)
    assert len(out) <= 200
    assert all(line.startswith(">") for line in out.split("\n"))
    assert "&gt; two" in out


# --- limits -----------------------------------------------------------------------------------

HUGE = "Acme " + "ä&<x> " * 5000


@pytest.mark.parametrize(
    "fields",
    [
        {"text": HUGE},
        {"title": HUGE},
        {"author": HUGE, "source": HUGE, "matched_term": HUGE, "brand": HUGE},
        {"verdict": make_verdict(reason=HUGE, scorer=HUGE, lang=HUGE)},
        {"url": "https://example.com/" + "a" * 5000},
    ],
    ids=["text", "title", "fields", "reason", "url"],
)
def test_huge_mentions_stay_within_slack_limits(
    mention: Callable[..., Mention], fields: dict[str, object]
) -> None:
    m = mention(**fields)
    many_replies = [("U1", HUGE, NOW)] * 100
    history = transitions(ALERTED, (Status.ALERTED, Status.REPLIED, "U1", 5))
    blocks = alert_blocks(m, history, many_replies, NOW)
    assert len(blocks) <= LIMITS["blocks"]
    assert blocks[-1]["type"] == "actions", "buttons survive trimming"
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= LIMITS["section_text"]
        for field in block.get("fields", []):
            assert len(field["text"]) <= LIMITS["section_field"]
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= LIMITS["header_text"]
        if block["type"] == "context":
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "actions":
            for element in block["elements"]:
                if element["type"] == "overflow":
                    assert all(len(o["text"]["text"]) <= 75 for o in element["options"])
                    continue
                assert len(element["text"]["text"]) <= LIMITS["button_text"]
                assert len(element.get("url", "")) <= 3000
    assert len(alert_text(m)) <= LIMITS["fallback_text"]
    modal = reply_modal(m, HUGE)
    assert len(modal["title"]["text"]) <= LIMITS["modal_title"]
    for obj in walk_texts(modal["blocks"]):
        assert len(obj["text"]) <= 3000
    [field] = [b for b in modal["blocks"] if b.get("block_id") == Block.REPLY_INPUT]
    assert len(field["element"]["initial_value"]) <= LIMITS["input_value"]


def test_many_replies_show_only_the_latest_three(mention: Callable[..., Mention]) -> None:
    replies = [("U1", f"reply {n}", NOW) for n in range(10)]
    blocks = alert_blocks(mention(status=Status.REPLIED), [], replies, NOW)
    shown = [b for b in blocks if str(b.get("block_id", "")).startswith(Block.REPLIES)]
    assert [b["elements"][0]["text"].split(">")[-1] for b in shown] == [
        "reply 7", "reply 8", "reply 9"
    ]  # fmt: skip


# --- status → state line and buttons ------------------------------------------------------------

STATES = [
    (Status.ALERTED, "", [ALERTED], "🆕 Open — nobody owns it yet",
     ["mention-claim", "mention-reply", "mention-resolve", "mention-dismiss"]),
    (Status.CLAIMED, "U0CLAIM1", [ALERTED, (Status.ALERTED, Status.CLAIMED, "U0CLAIM1", 175)],
     "👤 Claimed by <@U0CLAIM1> · 5 min ago",
     ["mention-reply", "mention-resolve", "mention-unclaim"]),
    (Status.REPLIED, "U0CLAIM1", [ALERTED, (Status.ALERTED, Status.REPLIED, "U0REPLY1", 120)],
     "💬 Replied by <@U0REPLY1> · 1 h ago", ["mention-reply", "mention-resolve"]),
    (Status.RESOLVED, "U0CLAIM1", [ALERTED, (Status.ALERTED, Status.RESOLVED, "U0RES001", 125)],
     "✅ Resolved by <@U0RES001> after 2 h 5 min · 55 min ago", ["mention-reopen"]),
    (Status.DISMISSED, "", [ALERTED, (Status.ALERTED, Status.DISMISSED, "U0DIS001", 10)],
     "🚫 Dismissed by <@U0DIS001> · 2 h ago", ["mention-reopen"]),
    (Status.ALERTED, "", [ALERTED, (Status.ALERTED, Status.RESOLVED, "U1", 10),
                          (Status.RESOLVED, Status.ALERTED, "U0REOPEN", 170)],
     "↩️ Reopened by <@U0REOPEN> · 10 min ago — nobody owns it yet",
     ["mention-claim", "mention-reply", "mention-resolve", "mention-dismiss"]),
    (Status.ALERTED, "", [ALERTED, (Status.ALERTED, Status.CLAIMED, "U1", 10),
                          (Status.CLAIMED, Status.ALERTED, "U0000001", 150)],
     "🔓 Released by <@U0000001> · 30 min ago — nobody owns it yet",
     ["mention-claim", "mention-reply", "mention-resolve", "mention-dismiss"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "owner", "steps", "line", "button_ids"),
    STATES,
    ids=["alerted", "claimed", "replied", "resolved", "dismissed", "reopened", "released"],
)
def test_state_line_and_buttons_follow_the_status(
    mention: Callable[..., Mention],
    status: Status,
    owner: str,
    steps: list[tuple[Status, Status, str, int]],
    line: str,
    button_ids: list[str],
) -> None:
    m = mention(status=status, owner=owner)
    history = transitions(*steps)
    assert state_line(m, history, NOW) == line
    blocks = alert_blocks(m, history, [], NOW)
    [state] = [b for b in blocks if b.get("block_id") == Block.STATE]
    assert state["text"]["text"] == line
    actions = blocks[-1]
    assert actions["block_id"] == Block.ACTIONS
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [*button_ids, Action.OPEN_LINK, Action.WRONG_LABEL]
    assert all(e["value"] == "42" for e in actions["elements"] if "value" in e)


def test_alert_shows_the_facts_a_reader_needs(mention: Callable[..., Mention]) -> None:
    m = mention(
        title="Acme lost my parcel",
        text="Third time Acme lost a parcel.",
        verdict=make_verdict(reason="complaint about delivery", scorer="textblob", lang="en"),
    )
    blocks = alert_blocks(m, [], [], NOW)
    assert blocks[0] == {
        "type": "header",
        "block_id": "mention-alert-header",
        "text": {"type": "plain_text", "text": "🔴 Acme: negative mention", "emoji": True},
    }
    assert blocks[1]["text"] == {
        "type": "mrkdwn",
        "text": "*<https://example.com/post/1|Acme lost my parcel>*\n"
        ">Third time Acme lost a parcel.",
        "verbatim": True,
    }
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert fields == [
        "*Source*\ntest-feed",
        "*Author*\njdoe",
        "*Sentiment*\nnegative (-0.60) · attention 0.60",
        "*Matched*\n“acme”",
        "*Published*\n3 h ago",
    ]
    assert blocks[3]["elements"][0]["text"] == (
        "Why: complaint about delivery · lang en · scored by textblob · mention #42"
    )


def test_fallback_text_names_brand_source_author_title_and_link(
    mention: Callable[..., Mention],
) -> None:
    text = alert_text(mention(title="Acme & co <lost> it"))
    assert text == (
        "Negative mention of Acme on test-feed by jdoe: Acme &amp; co &lt;lost&gt; it "
        "<https://example.com/post/1>"
    )


# --- reply modal and drafts ----------------------------------------------------------------------


def test_reply_modal_carries_the_id_the_draft_and_the_original_link(
    mention: Callable[..., Mention],
) -> None:
    view = reply_modal(mention(source="reddit-acme"), "Hi there")
    assert view["callback_id"] == Callback.REPLY_MODAL
    assert view["private_metadata"] == "42"
    [field] = [b for b in view["blocks"] if b.get("block_id") == Block.REPLY_INPUT]
    assert field["element"] == {
        "type": "plain_text_input",
        "action_id": "mention-reply-text",
        "multiline": True,
        "max_length": 3000,
        "initial_value": "Hi there",
    }
    assert view["blocks"][-1]["elements"][0]["text"] == (
        "Answer on reddit-acme: <https://example.com/post/1|https://example.com/post/1>"
    )


DRAFTS = [
    ({"verdict": make_verdict(lang="nl"), "author": "Piet Jansen"}, ["Hoi Piet,", "sorry"]),
    ({"verdict": make_verdict(), "author": "@jane"}, ["Hi @jane,", "sorry", "direct message"]),
    ({"verdict": make_verdict(Sentiment.POSITIVE, praise=True)}, ["Thank you for the kind"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL, question=True)}, ["Thanks for asking"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL, p_complaint=0.9)}, ["sorry"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL), "author": ""}, ["Hi,", "Thanks for mentioning"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL, lang="nl", question=True)}, ["Bedankt voor je"]),
]


@pytest.mark.parametrize(("fields", "expected"), DRAFTS)
def test_draft_reply_fits_the_mention(
    mention: Callable[..., Mention], fields: dict[str, object], expected: list[str]
) -> None:
    draft = draft_reply(mention(**fields))
    for part in expected:
        assert part in draft
    assert draft.rstrip().endswith("team")


# --- small text helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"),
     (7500, "2 h 5 min"), (86400, "1 d"), (90000, "1 d 1 h")],
)  # fmt: skip
def test_duration_reads_naturally(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_age_and_trim() -> None:
    assert ago(NOW - timedelta(seconds=30), NOW) == "just now"
    assert ago(NOW - timedelta(hours=3, minutes=7), NOW) == "3 h ago"
    assert ago(None, NOW) == "at an unknown time"
    assert trim("short", 10) == "short"
    assert trim("word " * 10, 12) == "word word…"
    assert len(trim("x" * 100, 10)) == 10
