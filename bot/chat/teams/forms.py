"""The inline reply form: an Adaptive Card shown to the one person who clicked Reply, with the
same draft as on Slack and, where the brand has an account on the mention's platform, an
explicit choice between posting publicly and a note in the thread."""

from __future__ import annotations

from bot.chat.teams.cards import LIMITS, Json, adaptive_card, open_url, rich, run, web_url
from bot.chat.teams.ids import REPLY_INPUT, REPLY_WHERE, Verb
from bot.chat.text import clean, one_line, trim
from bot.chat.views import ReplyForm


def reply_card(form: ReplyForm, dialog: str) -> Json:
    """The inline reply form shown to the one person who clicked Reply: the mention quoted, the
    same draft as on Slack, where the answer goes. `dialog` binds the submission to them."""
    source = trim(one_line(form.source), 200) or "the original site"
    where = web_url(form.url)
    answer_on: list[Json] = [run(f"Answer the customer on {source}: ", isSubtle=True)]
    answer_on.append(
        run(where, isSubtle=True, selectAction=open_url(where))
        if where
        else run("(no link)", isSubtle=True)
    )
    data = {"mention": form.mention_id, "dialog": dialog}
    return adaptive_card(
        [
            {"type": "TextBlock", "text": "Reply to mention", "weight": "Bolder", "wrap": True},
            rich([run(trim(one_line(form.title), LIMITS["title"]) or "Mention", weight="Bolder")]),
            rich([run(trim(clean(form.text), LIMITS["excerpt"]), italic=True)]),
            {
                "type": "Input.Text",
                "id": REPLY_INPUT,
                "label": "Your reply",
                "isMultiline": True,
                "isRequired": True,
                "errorMessage": "Write a reply first.",
                "maxLength": LIMITS["reply_chars"],
                "value": trim(form.draft, LIMITS["reply_chars"]),
            },
            *_destination(form),
            rich(answer_on),
        ],
        [
            {
                "type": "Action.Execute",
                "title": "Post reply",
                "verb": Verb.REPLY_SEND.value,
                "data": data,
                "associatedInputs": "auto",
                "style": "positive",
            },
            {
                "type": "Action.Execute",
                "title": "Cancel",
                "verb": Verb.REPLY_CANCEL.value,
                "data": {"mention": form.mention_id},
                "associatedInputs": "none",
            },
        ],
    )


def _destination(form: ReplyForm) -> list[Json]:
    """Where the answer goes: with a brand account, an explicit choice (nothing preselected)
    between posting publicly and a note; otherwise a note, and why."""
    blocks: list[Json] = []
    if form.error:
        blocks.append(rich([run(form.error, color="Attention", weight="Bolder")]))
    public = form.public
    if public is None:
        note = form.note_only_because or form.destination
        blocks.append(rich([run(note, isSubtle=True, size="Small")]))
        return blocks
    limit = f"{public.label}: at most {public.limit:,} characters"
    if public.count_rule:
        limit += f" ({public.count_rule})"
    blocks.append(
        {
            "type": "Input.ChoiceSet",
            "id": REPLY_WHERE,
            "label": "Where does the answer go?",
            "style": "expanded",
            "isRequired": True,
            "errorMessage": "Choose where the answer goes.",
            "choices": [
                {"title": f"{public.choice} {public.detail}", "value": "public"},
                {"title": "Note in this thread only", "value": "thread"},
            ],
        }
    )
    blocks.append(rich([run(limit, isSubtle=True, size="Small")]))
    return blocks
