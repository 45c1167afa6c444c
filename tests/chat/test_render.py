"""Block Kit for the neutral views: escaping, Slack's limits, and what each status shows.
Pure, no I/O."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.chat.drafts import draft_reply
from bot.chat.slack import render
from bot.chat.slack.ids import Action, Block, Callback
from bot.chat.slack.render import LIMITS, mrkdwn
from bot.chat.slack.text import escape, escape_trim, link, quote
from bot.chat.text import ago, clean, duration, trim
from bot.chat.views import ReplyForm, alert_view, state_line
from bot.models import Mention, Reply, Sentiment, Status, Transition
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


def alert_blocks(
    mention: Mention, history: list[Transition], replies: list[Reply], now: datetime = NOW
) -> list[dict]:
    return render.alert_blocks(alert_view(mention, history, replies))


def alert_text(mention: Mention) -> str:
    return render.alert_text(alert_view(mention, [], []))


def reply_modal(mention: Mention, draft: str) -> dict:
    assert mention.id is not None
    form = ReplyForm(mention.id, None, mention.title or mention.text, mention.text, mention.url,
                     mention.source, draft)  # fmt: skip
    return render.reply_modal(form)


def slack_date(at: datetime) -> str:
    return (
        f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{at:%Y-%m-%d %H:%M} UTC>"
    )


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
        # Every "<" in mrkdwn is ours: the title link and dates, nothing else.
        for chunk in text.split("<")[1:]:
            assert chunk.startswith(("https://example.com/post/", "!date^")), text
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
    many_replies = [Reply("slack:U1", HUGE, NOW)] * 100
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
    replies = [Reply("slack:U1", f"reply {n}", NOW) for n in range(10)]
    blocks = alert_blocks(mention(status=Status.REPLIED), [], replies, NOW)
    shown = [b for b in blocks if str(b.get("block_id", "")).startswith(Block.REPLIES)]
    assert [b["elements"][0]["text"].split(">")[-1] for b in shown] == [
        "reply 7", "reply 8", "reply 9"
    ]  # fmt: skip


# --- status → state line and buttons ------------------------------------------------------------


def at(minutes: int) -> str:
    return slack_date(T0 + timedelta(minutes=minutes))


STATES = [
    (Status.ALERTED, "", [ALERTED], "🆕 Open — nobody owns it yet",
     ["mention-claim", "mention-reply", "mention-resolve", "mention-dismiss"]),
    (Status.CLAIMED, "slack:U0CLAIM1",
     [ALERTED, (Status.ALERTED, Status.CLAIMED, "slack:U0CLAIM1", 175)],
     f"👤 Claimed by <@U0CLAIM1> · {at(175)}",
     ["mention-reply", "mention-resolve", "mention-unclaim", "mention-dismiss"]),
    (Status.REPLIED, "slack:U0CLAIM1",
     [ALERTED, (Status.ALERTED, Status.REPLIED, "slack:U0REPLY1", 120)],
     "💬 Replied by <@U0REPLY1> (a note in the alert's thread; the customer has not seen it)"
     f" · {at(120)} · held by <@U0CLAIM1>", ["mention-reply", "mention-resolve"]),
    (Status.RESOLVED, "slack:U0CLAIM1",
     [ALERTED, (Status.ALERTED, Status.RESOLVED, "slack:U0RES001", 125)],
     f"✅ Resolved by <@U0RES001> after 2 h 5 min · {at(125)}", ["mention-reopen"]),
    (Status.DISMISSED, "", [ALERTED, (Status.ALERTED, Status.DISMISSED, "slack:U0DIS001", 10)],
     f"🚫 Dismissed by <@U0DIS001> · {at(10)}", ["mention-reopen"]),
    (Status.ALERTED, "", [ALERTED, (Status.ALERTED, Status.RESOLVED, "slack:U1", 10),
                          (Status.RESOLVED, Status.ALERTED, "slack:U0REOPEN", 170)],
     f"↩️ Reopened by <@U0REOPEN> · {at(170)} — nobody owns it yet",
     ["mention-claim", "mention-reply", "mention-resolve", "mention-dismiss"]),
    (Status.ALERTED, "", [ALERTED, (Status.ALERTED, Status.CLAIMED, "slack:U1", 10),
                          (Status.CLAIMED, Status.ALERTED, "teams:29:1xyz", 150)],
     f"🔓 Released by Jan Jansen (Teams) · {at(150)} — nobody owns it yet",
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
    names = {"teams:29:1xyz": "Jan Jansen"}
    assert mrkdwn(state_line(m, history, [], names)) == line
    blocks = render.alert_blocks(alert_view(m, history, [], names))
    [state] = [b for b in blocks if b.get("block_id") == Block.STATE]
    assert state["text"] == {"type": "mrkdwn", "text": line, "verbatim": True}
    actions = blocks[-1]
    assert actions["block_id"] == Block.ACTIONS
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [*button_ids, Action.OPEN_LINK, Action.WRONG_LABEL, Action.MORE]
    assert all(e["value"] == "42" for e in actions["elements"] if "value" in e)


def test_times_are_drawn_by_slack_for_each_reader_never_frozen_as_an_age(
    mention: Callable[..., Mention],
) -> None:
    m = mention(status=Status.CLAIMED, owner="slack:U1")
    history = transitions(ALERTED, (Status.ALERTED, Status.CLAIMED, "slack:U1", 5))
    replies = [Reply("slack:U1", "on it", T0 + timedelta(minutes=6))]
    text = all_text(alert_blocks(m, history, replies))
    assert "ago" not in text and "just now" not in text
    assert slack_date(T0) in text and slack_date(T0 + timedelta(minutes=6)) in text


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
        f"*Published*\n{slack_date(T0)}",
    ]
    assert all(f["verbatim"] is True for f in blocks[2]["fields"])
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
    assert view["blocks"][-1]["elements"][0] == {
        "type": "mrkdwn",
        "verbatim": True,
        "text": "Note in this thread only: the source has no API for replies. "
        "<https://example.com/post/1|Open to answer on reddit-acme>",
    }
    assert view["submit"]["text"] == "Post note"


DRAFTS = [
    ({"verdict": make_verdict(lang="nl"), "author": "Piet Jansen"}, ["Hoi Piet,", "sorry"]),
    ({"verdict": make_verdict(), "author": "@jane"}, ["Hi @jane,", "sorry", "direct message"]),
    ({"verdict": make_verdict(Sentiment.POSITIVE, praise=True)}, ["Thank you for the kind"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL, question=True)}, ["Thanks for asking"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL, p_complaint=0.9)}, ["sorry"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL), "author": ""}, ["Hi,", "Thanks for mentioning"]),
    ({"verdict": make_verdict(Sentiment.NEUTRAL, lang="nl", question=True)}, ["Bedankt voor je"]),
]


@pytest.mark.parametrize(
    "author",
    ["{brand} {0} {name}", "Jane {", "}}{{", "%(name)s", "Sanne {!r}"],
)
def test_a_draft_is_safe_for_any_author_name(mention: Callable[..., Mention], author: str) -> None:
    draft = draft_reply(mention(author=author))
    assert draft.startswith(f"Hi {author.split(' ')[0]},")
    assert "Acme" in draft and "{brand}" not in draft.split("\n", 1)[1]


def test_an_author_given_as_email_and_name_is_shown_and_greeted_by_name(
    mention: Callable[..., Mention],
) -> None:
    m = mention(author="sanne@example.nl (Sanne de Vries)")
    fields = [f["text"] for f in alert_blocks(m, [], [])[2]["fields"]]
    assert "*Author*\nSanne de Vries" in fields
    assert draft_reply(m).startswith("Hi Sanne,")
    assert "sanne@example.nl" not in alert_text(m)


def test_every_mrkdwn_text_is_verbatim_on_every_surface(mention: Callable[..., Mention]) -> None:
    """@here, @channel and bare links in a stranger's words are never parsed by Slack."""
    m = mention(status=Status.REPLIED, owner="slack:U1", author="@here http://evil.example")
    history = transitions(ALERTED, (Status.ALERTED, Status.REPLIED, "slack:U1", 5))
    replies = [Reply("slack:U1", "@channel see http://evil.example", NOW)]
    surfaces = [alert_blocks(m, history, replies), reply_modal(m, "draft")["blocks"]]
    for blocks in surfaces:
        for obj in walk_texts(blocks):
            if obj["type"] == "mrkdwn":
                assert obj.get("verbatim") is True, obj


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
