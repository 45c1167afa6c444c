"""A person's home on Teams: a card in their personal chat with the bot (`@mentionbot home`)
holding what they hold, the open queue and the week's figures, with the same buttons as the
alerts. Buttons here act on the mention they name: the card is the person's own view of it,
so they carry `home` and are not bound to a channel message."""

from __future__ import annotations

from bot.chat.teams.cards import (
    LIMITS,
    Json,
    adaptive_card,
    line_block,
    open_url,
    rich,
    run,
    web_url,
)
from bot.chat.text import one_line, trim
from bot.chat.views import ACTION_LABELS, AlertView
from bot.team.home import HomeView
from bot.workflow import Action


def home_card(home: HomeView) -> Json:
    body: list[Json] = [
        {"type": "TextBlock", "text": home.headline, "weight": "Bolder", "size": "Medium",
         "wrap": True},
    ]  # fmt: skip
    for title, views in (("Yours", home.mine), ("Open, nobody holds them", home.queue)):
        body.append(rich([run(f"{title} ({len(views)})", weight="Bolder")], separator=True))
        if not views:
            body.append(rich([run("Nothing here.", isSubtle=True)]))
        for view in views:
            body.extend(_entry(view))
    body.append(rich([run("This week", weight="Bolder")], separator=True))
    body.append(rich([run(trim(home.table, 6000), fontType="Monospace")]))
    body.extend(line_block(line) for line in home.people)
    return adaptive_card(body)


def _entry(view: AlertView) -> list[Json]:
    title = trim(one_line(view.title), LIMITS["title"]) or "(untitled)"
    style: Json = {"weight": "Bolder"}
    target = web_url(view.url)
    if target:
        style["selectAction"] = open_url(target)
    actions = [
        {
            "type": "Action.Execute",
            "title": ACTION_LABELS[step],
            "verb": step.value,
            "data": {"mention": view.mention_id, "home": True},
        }
        for step in view.actions
        if step != Action.DISMISS  # one more click on the alert itself, not from a list
    ]
    entry: list[Json] = [
        rich(
            [
                run(f"#{view.mention_id} {one_line(view.brand)} · ", isSubtle=True),
                run(title, **style),
            ],
            spacing="Medium",
        ),
        line_block(view.state, spacing="None"),
    ]
    if view.timing:
        entry.append(line_block(view.timing, spacing="None"))
    if actions:
        entry.append({"type": "ActionSet", "actions": actions})
    return entry
