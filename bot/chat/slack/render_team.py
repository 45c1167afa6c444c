"""Block Kit for the team workflow's neutral views: the digest, the spike alert and the App
Home. Pure functions; the same escaping and limits as the alert (render.py)."""

from __future__ import annotations

from typing import Any

from bot.chat.slack.render import LIMITS, alert_blocks, mrkdwn, preformatted
from bot.chat.slack.text import escape_trim
from bot.chat.text import one_line, trim
from bot.chat.views import Line

Json = dict[str, Any]
HOME_BLOCKS = 100  # views.publish allows 100 blocks in a home tab


def header(text: str) -> Json:
    return {
        "type": "header",
        "text": {"type": "plain_text", "emoji": True, "text": trim(one_line(text), 150)},
    }


def section(text: str) -> Json:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": trim(text, LIMITS["section_text"]), "verbatim": True},
    }


def lines_section(title: str, lines: tuple[Line, ...], empty: str = "none") -> Json:
    """*Title* and one bullet per line, within a section's 3,000 characters."""
    head = f"*{escape_trim(title, 200, single_line=True)}*"
    out, budget = [head], LIMITS["section_text"] - len(head) - 1
    for line in lines or ((empty,),):
        text = "• " + mrkdwn(line, min(600, budget))
        if len(text) + 1 > budget:
            out.append("…")
            break
        out.append(text)
        budget -= len(text) + 1
    return section("\n".join(out))


def table(text: str) -> Json:
    return section("```" + preformatted(text, LIMITS["section_text"] - 6) + "```")


def digest_blocks(view: Any) -> list[Json]:  # DigestView (bot/team/digest.py)
    blocks = [
        header(view.headline),
        section("\n".join(mrkdwn(line, 1000) for line in view.summary)),
        table(view.table),
        lines_section("Top mentions", view.top),
        lines_section("Open complaints", view.open_complaints, "none: every complaint is handled"),
    ]
    if view.people:
        blocks.append(section("\n".join(mrkdwn(line, 500) for line in view.people)))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "verbatim": True,
                    "text": "The sentiment chart follows as an image; the table above has "
                    "the same numbers.",
                }
            ],
        }
    )
    return blocks[: LIMITS["blocks"]]


def spike_blocks(view: Any) -> list[Json]:  # SpikeView (bot/team/spikes.py)
    return [
        header(view.headline),
        section("\n".join(mrkdwn(line, 1000) for line in view.summary)),
        lines_section("Top mentions", view.top),
        lines_section("Common phrases", tuple((f"“{p}” × {n}",) for p, n in view.phrases)),
    ]


def home_view(view: Any) -> Json:  # HomeView (bot/team/home.py)
    """The App Home tab: the person's claimed mentions and the open queue as alerts with
    their buttons (clicks from here act without a message to check), and the week's
    figures."""
    blocks: list[Json] = [header(view.headline)]
    for title, alerts, empty in (
        ("Yours", view.mine, "Nothing claimed by you."),
        ("Open queue (nobody owns these)", view.queue, "The queue is empty."),
    ):
        blocks.append(section(f"*{title}* ({len(alerts)}{'+' if len(alerts) >= 5 else ''})"))
        if not alerts:
            blocks.append(section(empty))
        for alert in alerts:
            # The alert as in its channel (without its header), with the same buttons.
            kept = [b for b in alert_blocks(alert) if b.get("type") != "header"]
            for block in kept:  # block ids are unique per view: one alert's, then another's
                if "block_id" in block:
                    block["block_id"] = f"{block['block_id']}-{alert.mention_id}"
            blocks.extend(kept)
            blocks.append({"type": "divider"})
    blocks.append(section("*This week*"))
    blocks.append(table(view.table))
    if view.people:
        blocks.append(section("\n".join(mrkdwn(line, 500) for line in view.people)))
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS]}
