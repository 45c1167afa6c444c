"""A Mastodon instance's write API on loopback, replaying the documented shapes.

GET /api/v1/accounts/verify_credentials, GET /api/v2/instance (configuration.statuses),
GET /api/v2/search?q=<uri>&resolve=true (finds a known remote status by its URI and gives its
local id), POST /api/v1/statuses (status, in_reply_to_id, visibility, language; Idempotency-
Key honoured; 422 for a blank or over-long text, counted as Mastodon counts; 404 for an
unknown in_reply_to_id; 403 when the token lacks write:statuses), DELETE
/api/v1/statuses/:id. Every call needs `Authorization: Bearer <token>` (401 otherwise).
"""

from __future__ import annotations

import re
from typing import Any

from bot.publish.length import mastodon_length
from tests.fakes.social.base import Answer, RecordingApi, Request

TOKEN = "mastodon-token-ABC123"


class FakeMastodon(RecordingApi):
    def __init__(self, *, host_name: str = "", max_characters: int = 500) -> None:
        self.token = TOKEN
        self.scopes = {"read", "write:statuses"}
        self.max_characters = max_characters
        self.username = "acme"
        # Statuses this instance knows: local id → status. Remote ones are known by URI too.
        self.statuses: dict[str, dict[str, Any]] = {}
        self.by_uri: dict[str, str] = {}
        self.idempotent: dict[str, dict[str, Any]] = {}
        self._next = 113600000000000000
        self.host_name = host_name
        super().__init__()

    @property
    def host(self) -> str:
        return self.host_name or "127.0.0.1"

    def add_status(self, *, uri: str, acct: str, local_id: str = "") -> str:
        status_id = local_id or self._new_id()
        status = {"id": status_id, "uri": uri, "url": uri, "account": {"acct": acct}}
        self.statuses[status_id] = status
        self.by_uri[uri] = status_id
        return status_id

    def _new_id(self) -> str:
        self._next += 1
        return str(self._next)

    def route(self, request: Request) -> Answer:
        path, method = request.path, request.method
        if path == "/api/v2/instance" and method == "GET":  # public, as on Mastodon
            statuses = {"max_characters": self.max_characters, "characters_reserved_per_url": 23}
            return Answer(200, {"domain": self.host, "configuration": {"statuses": statuses}})
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, {"error": "The access token is invalid"})
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            return Answer(200, {"id": "1", "username": self.username, "acct": self.username})
        if path == "/api/v2/search" and method == "GET":
            found = self.by_uri.get(request.query.get("q", ""))
            if request.query.get("resolve") != "true" or found is None:
                return Answer(200, {"accounts": [], "statuses": [], "hashtags": []})
            return Answer(200, {"accounts": [], "statuses": [self.statuses[found]], "hashtags": []})
        if path == "/api/v1/statuses" and method == "POST":
            return self._post(request)
        match = re.fullmatch(r"/api/v1/statuses/(\w+)", path)
        if match and method == "DELETE":
            status = self.statuses.pop(match.group(1), None)
            if status is None:
                return Answer(404, {"error": "Record not found"})
            return Answer(200, {**status, "text": status.get("content", "")})
        return Answer(404, {"error": "Not found"})

    def _post(self, request: Request) -> Answer:
        if "write:statuses" not in self.scopes and "write" not in self.scopes:
            return Answer(403, {"error": "This action is outside the authorized scopes"})
        body = request.json if isinstance(request.json, dict) else request.form
        text = str(body.get("status") or "")
        key = request.headers.get("idempotency-key", "")
        if key and key in self.idempotent:
            return Answer(200, self.idempotent[key])
        reply_to = body.get("in_reply_to_id")
        if reply_to is not None and str(reply_to) not in self.statuses:
            return Answer(
                404, {"error": "The post you are trying to reply to does not appear to exist."}
            )
        if not text.strip():
            return Answer(422, {"error": "Validation failed: Text can't be blank"})
        limit = self.max_characters
        if mastodon_length(text) > limit:
            return Answer(
                422,
                {"error": f"Validation failed: Text character limit of {limit} exceeded"},
            )
        status_id = self._new_id()
        url = f"https://{self.host}/@{self.username}/{status_id}"
        status = {
            "id": status_id,
            "uri": f"https://{self.host}/users/{self.username}/statuses/{status_id}",
            "url": url,
            "content": text,
            "in_reply_to_id": reply_to,
            "visibility": body.get("visibility", "public"),
            "language": body.get("language"),
            "account": {"acct": self.username},
        }
        self.statuses[status_id] = status
        if key:
            self.idempotent[key] = status
        return Answer(200, status)
