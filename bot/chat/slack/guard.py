"""Refuse requests that are correctly signed but not meant for us.

The signature (checked by Bolt before this runs) proves a request came from Slack for an app
holding our signing secret. It does not prove it is about our workspace or our app: a
payload from another workspace or app is answered 403 and logged, and no listener runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

log = logging.getLogger(__name__)


def foreign_request_guard(
    team_id: str, app_id: str = ""
) -> Callable[[BoltRequest, BoltResponse, Callable[[], Any]], Any]:
    """A Bolt global middleware; `team_id` from auth.test, `app_id` from settings (optional)."""

    def guard(req: BoltRequest, resp: BoltResponse, next: Callable[[], Any]) -> Any:
        body = req.body if isinstance(req.body, dict) else {}
        their_team = req.context.team_id or _team(body)
        their_app = str(body.get("api_app_id") or "")
        if team_id and their_team and their_team != team_id:
            log.warning("refused a request from another workspace (%s)", their_team[:20])
            return BoltResponse(status=403, body="")
        if app_id and their_app and their_app != app_id:
            log.warning("refused a request for another app (%s)", their_app[:20])
            return BoltResponse(status=403, body="")
        return next()

    return guard


def _team(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict):
        return str(team.get("id") or "")
    return str(body.get("team_id") or "")
