"""A first draft of a reply, in the mention's spirit, for a person to edit before sending.

Deliberately plain and short: it acknowledges, apologises where the author is unhappy, says
what happens next, and never promises what only a person can promise. A brand's own template
for the mention's language comes first (watch list `[[brand.template]]`); then Dutch when the
scorer says the mention is Dutch, English otherwise.

The author's name and the brand are strangers' text: they are put into the phrases by one
plain replacement each, never through a format string, so "{0}" or "{brand}" in a name is
just text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.chat.text import one_line, trim
from bot.chat.views import author_name
from bot.models import Mention, Sentiment

COMPLAINT_P = 0.5  # p_complaint above which the author is treated as complaining

_PHRASES = {
    "en": {
        "greet": "Hi {name},",
        "greet_anon": "Hi,",
        "sorry": "Thanks for telling us, and sorry about this — that is not the experience we"
        " want you to have with {brand}.",
        "next": "We are looking into it now. Could you send us a direct message with a few"
        " details (order or account, when it happened), so we can sort it out for you?",
        "question": "Thanks for asking about {brand}! Happy to help — could you send us a direct"
        " message with a bit more detail, so we can give you the right answer?",
        "praise": "Thank you for the kind words about {brand} — it means a lot to the team!",
        "neutral": "Thanks for mentioning {brand}. If there is anything we can help with, just"
        " send us a message.",
        "sign": "— the {brand} team",
    },
    "nl": {
        "greet": "Hoi {name},",
        "greet_anon": "Hoi,",
        "sorry": "Bedankt dat je het laat weten, en sorry hiervoor — zo willen we het bij"
        " {brand} niet.",
        "next": "We zoeken het nu uit. Wil je ons een privébericht sturen met wat details"
        " (bestelling of account, wanneer het gebeurde), zodat we het voor je kunnen oplossen?",
        "question": "Bedankt voor je vraag over {brand}! We helpen je graag — stuur ons een"
        " privébericht met iets meer details, dan geven we je het juiste antwoord.",
        "praise": "Dank je wel voor je mooie woorden over {brand} — het team is er blij mee!",
        "neutral": "Bedankt dat je {brand} noemt. Kunnen we ergens mee helpen? Stuur ons gerust"
        " een bericht.",
        "sign": "— het {brand}-team",
    },
}


@dataclass(frozen=True, slots=True)
class Template:
    """A brand's own draft for one language and kind of mention ("any" fits every kind);
    "{name}" and "{brand}" in it are replaced as plain text, in one pass."""

    lang: str
    text: str
    kind: str = "any"


def mention_kind(mention: Mention) -> str:
    """complaint, question, praise or neutral: which draft fits."""
    v = mention.verdict
    if v.sentiment == Sentiment.NEGATIVE or v.p_complaint >= COMPLAINT_P:
        return "complaint"
    if v.question:
        return "question"
    if v.praise or v.sentiment == Sentiment.POSITIVE:
        return "praise"
    return "neutral"


def draft_reply(
    mention: Mention, *, addressee: str = "", templates: Sequence[Template] = ()
) -> str:
    """The draft in the mention's language: the brand's own template for that language (and
    kind) when it has one, our phrases otherwise (Dutch or English). `addressee` is how a
    public reply names the author ("@sanne@mastodon.social"), used instead of their name."""
    v = mention.verdict
    brand = one_line(mention.brand) or "us"
    name = trim(one_line(addressee), 120) if addressee else _display_name(mention.author)
    kind = mention_kind(mention)
    chosen = _template_for(templates, v.lang, kind)
    if chosen is not None:
        return fill(chosen.text, name=name, brand=brand)
    words = _PHRASES["nl" if v.lang == "nl" else "en"]
    greet = words["greet"].replace("{name}", name) if name else words["greet_anon"]
    body = {
        "complaint": [words["sorry"], words["next"]],
        "question": [words["question"]],
        "praise": [words["praise"]],
        "neutral": [words["neutral"]],
    }[kind]
    # The brand goes into our phrases only (never into the greeting that holds the name).
    body = [phrase.replace("{brand}", brand) for phrase in [*body, words["sign"]]]
    return "\n\n".join([greet, *body])


_PLACEHOLDER = re.compile(r"( ?)\{(name|brand)\}")


def fill(text: str, *, name: str, brand: str) -> str:
    """Put name and brand into a template in one pass, so a name holding "{brand}" (or any
    braces) stays exactly as written; with no name, "{name}" and the space before it go."""

    def value(match: re.Match[str]) -> str:
        if match.group(2) == "name":
            return match.group(1) + name if name else ""
        return match.group(1) + brand

    return _PLACEHOLDER.sub(value, text)


def _template_for(templates: Sequence[Template], lang: str, kind: str) -> Template | None:
    fitting = [t for t in templates if t.lang == lang]
    for template in fitting:
        if template.kind == kind:
            return template
    return next((t for t in fitting if t.kind == "any"), None)


def _display_name(author: str) -> str:
    """A first name or handle to greet; "" when the author is unknown or looks like a URL."""
    name = author_name(author)
    if not name or "://" in name or ("@" in name.strip("@") and "." in name):
        return ""
    if name.startswith("@") or name.startswith("u/"):
        return trim(name, 40)
    return trim(name.split(" ")[0], 40)
