"""Slack's HTTP transport: POST /slack/events on the web front (bot/web.py).

Bolt does the signature check (RequestVerification middleware): an unsigned, stale or forged
request gets 401 before any listener runs; the foreign-request guard answers 403 for another
workspace or app. The App is sync, so each dispatch runs in Starlette's thread pool: a slow
request never holds up the event loop or the requests beside it. The body cap (413) is the
web front's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request, Response
from prometheus_client import Counter
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from starlette.concurrency import run_in_threadpool

from bot.web import RouteProvider

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MALFORMED_REQUESTS = Counter(
    "mentionbot_slack_malformed_requests_total", "Requests to /slack/events that did not parse"
)


def slack_events(app: App) -> RouteProvider:
    """The route provider for the web front: POST /slack/events dispatched to `app`."""

    async def events(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        headers: dict[str, str | Sequence[str]] = {}
        for name in request.headers:  # every value of a repeated header
            headers[name] = request.headers.getlist(name)
        try:
            # Bolt parses the body while building the request and trips over payloads that
            # are not JSON objects; such a request is not Slack's, whoever signed it.
            bolt_request = BoltRequest(body=body, query=request.url.query, headers=headers)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            MALFORMED_REQUESTS.inc()
            log.warning("refused a malformed request (%s)", type(exc).__name__)
            return Response("malformed request", status_code=400, media_type="text/plain")
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    def provide(web: FastAPI) -> None:
        web.add_api_route(EVENTS_PATH, events, methods=["POST"], include_in_schema=False)

    return provide
