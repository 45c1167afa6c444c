"""`mentionbot check` for Teams: the registration's settings, a token from the token endpoint,
the channels the bot has learnt, whether each Teams route resolves to one of them, and the
routes whose deliveries fail for good (the bot removed from a team, a channel gone)."""

from __future__ import annotations

from typing import Protocol

from bot.chat.port import DeliveryError
from bot.config import ConfigError, Settings, WatchList
from bot.store.base import Store


class Report(Protocol):
    def ok(self, what: str, detail: str) -> None: ...
    def fail(self, what: str, detail: str) -> None: ...
    def warn(self, what: str, detail: str) -> None: ...


def check_teams(settings: Settings, watch: WatchList | None, store: Store, report: Report) -> None:
    from bot.chat.teams.package import GUID
    from bot.chat.teams.tokens import BotTokens, TokenError
    from bot.chat.teams.transport import TeamsAdapter

    teams = settings.teams
    if teams.dangerously_accept_unauthenticated_requests:
        report.fail(
            "teams",
            "TEAMS_DANGEROUSLY_ACCEPT_UNAUTHENTICATED_REQUESTS is on: anyone who reaches "
            "/api/messages can act as any Teams user. Turn it off outside a local emulator.",
        )
    if not GUID.match(teams.app_id):
        report.fail("teams", "TEAMS_APP_ID is not an application (client) id (a GUID)")
        return
    if not teams.tenant_id:
        report.warn("teams", "TEAMS_TENANT_ID is empty: requests from any tenant are accepted")
    try:
        tokens = BotTokens(teams)
        tokens.token()
        report.ok("teams", f"app {teams.app_id}: the token endpoint issued a token")
    except ConfigError as exc:
        report.fail("teams", str(exc))
        return
    except TokenError as exc:
        report.fail("teams", str(exc))
        return
    conversations = [c for c in store.teams_conversations() if c.kind == "channel"]
    live = [c.label for c in conversations if c.removed_at is None]
    if live:
        report.ok("teams channels", "known: " + ", ".join(live))
    else:
        report.warn(
            "teams channels",
            "none known yet: add the app to a team (mentionbot teams-package) while the bot "
            "runs, and it learns the team's channels",
        )
    adapter = TeamsAdapter(store, teams, tokens)
    try:
        routes = {r for b in (watch.brand if watch else []) for r in b.routes}
        if settings.ops_route is not None:
            routes.add(settings.ops_route)
        for route in sorted((r for r in routes if r.platform == "teams"), key=lambda r: r.key):
            try:
                found = adapter.conversation_for(route)
                report.ok(f"teams channel {route.channel}", found.label)
            except DeliveryError as exc:
                report.fail(f"teams channel {route.channel}", str(exc))
    finally:
        adapter.close()
    for health in store.route_health():
        if health.route.platform == "teams" and health.consecutive_failures:
            report.warn(f"teams route {health.route.channel}", f"failing: {health.last_error}")
