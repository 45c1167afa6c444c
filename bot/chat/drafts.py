"""A first draft of a reply, in the mention's spirit, for a person to edit before sending.

Deliberately plain and short: it acknowledges, apologises where the author is unhappy, says
what happens next, and never promises what only a person can promise. Dutch when the scorer
says the mention is Dutch; English otherwise.

The author's name and the brand are strangers' text: they are put into the phrases by one
plain replacement each, never through a format string, so "{0}" or "{brand}" in a name is
just text.
"""

from __future__ import annotations

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


def draft_reply(mention: Mention) -> str:
    v = mention.verdict
    words = _PHRASES["nl" if v.lang == "nl" else "en"]
    brand = one_line(mention.brand) or "us"
    name = _display_name(mention.author)
    greet = words["greet"].replace("{name}", name) if name else words["greet_anon"]
    complaint = v.sentiment == Sentiment.NEGATIVE or v.p_complaint >= COMPLAINT_P
    if complaint:
        body = [words["sorry"], words["next"]]
    elif v.question:
        body = [words["question"]]
    elif v.praise or v.sentiment == Sentiment.POSITIVE:
        body = [words["praise"]]
    else:
        body = [words["neutral"]]
    # The brand goes into our phrases only (never into the greeting that holds the name).
    body = [phrase.replace("{brand}", brand) for phrase in [*body, words["sign"]]]
    return "\n\n".join([greet, *body])


def _display_name(author: str) -> str:
    """A first name or handle to greet; "" when the author is unknown or looks like a URL."""
    name = author_name(author)
    if not name or "://" in name or ("@" in name.strip("@") and "." in name):
        return ""
    if name.startswith("@") or name.startswith("u/"):
        return trim(name, 40)
    return trim(name.split(" ")[0], 40)
