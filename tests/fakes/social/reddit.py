"""Reddit's OAuth and comment API on loopback, replaying the documented shapes.

POST /api/v1/access_token (HTTP basic auth with the app's id and secret; grant_type=password
for a script app or refresh_token; a wrong password answers 200 {"error": "invalid_grant"}),
POST /api/comment (bearer token; api_type=json, thing_id, text; refusals are 200 with
json.errors triples: DELETED_LINK, TOO_LONG, THREAD_LOCKED, …), POST /api/del, GET
/api/v1/me. `expire_tokens()` makes issued tokens answer 401.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from tests.fakes.social.base import Answer, RecordingApi, Request

CLIENT_ID, CLIENT_SECRET = "brand-app-id", "brand-app-secret"
USERNAME, PASSWORD = "acme_support", "hunter2-reddit-pw"
REFRESH_TOKEN = "reddit-refresh-XYZ"


class FakeReddit(RecordingApi):
    def __init__(self) -> None:
        self.posts: dict[str, dict[str, Any]] = {}  # fullname → {"permalink", "locked", "deleted"}
        self.comments: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.scope = "*"
        self._serial = itertools.count(1)
        super().__init__()

    def add_post(self, fullname: str, permalink: str, **flags: bool) -> None:
        self.posts[fullname] = {"permalink": permalink, **flags}

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def route(self, request: Request) -> Answer:
        if request.path == "/api/v1/access_token" and request.method == "POST":
            return self._token(request)
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or auth[7:] not in self.tokens:
            return Answer(401, {"message": "Unauthorized", "error": 401})
        if request.path == "/api/v1/me" and request.method == "GET":
            return Answer(200, {"name": USERNAME, "is_suspended": False})
        if request.path == "/api/comment" and request.method == "POST":
            return self._comment(request.form)
        if request.path == "/api/del" and request.method == "POST":
            self.comments.pop(request.form.get("id", ""), None)
            return Answer(200, {})
        return Answer(404, {"message": "Not Found", "error": 404})

    def _token(self, request: Request) -> Answer:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Answer(401, {"message": "Unauthorized", "error": 401})
        form = request.form
        grant = form.get("grant_type")
        ok = (
            grant == "password"
            and form.get("username") == USERNAME
            and form.get("password") == PASSWORD
        ) or (grant == "refresh_token" and form.get("refresh_token") == REFRESH_TOKEN)
        if not ok:
            return Answer(200, {"error": "invalid_grant"})
        token = f"reddit-bearer-{next(self._serial)}"
        self.tokens.add(token)
        return Answer(200, {"access_token": token, "token_type": "bearer", "expires_in": 86400,
                            "scope": self.scope})  # fmt: skip

    def _comment(self, form: dict[str, str]) -> Answer:
        if form.get("api_type") != "json":
            return Answer(200, {"jquery": []})  # what Reddit answers without api_type=json
        thing, text = form.get("thing_id", ""), form.get("text", "")
        post = self.posts.get(thing)
        if post is None:
            return _errors("NO_THING_ID", "id not specified", "parent")
        if post.get("deleted"):
            return _errors(
                "DELETED_LINK", "the link you are commenting on has been deleted", "parent"
            )
        if post.get("locked"):
            return _errors("THREAD_LOCKED", "Comments are locked.", "parent")
        if not text.strip():
            return _errors("NO_TEXT", "we need something here", "text")
        if len(text) > 10_000:
            return _errors("TOO_LONG", "this is too long (max: 10000)", "text")
        comment_id = f"k{next(self._serial):05d}"
        name = f"t1_{comment_id}"
        permalink = post["permalink"].rstrip("/") + f"/{comment_id}/"
        data = {"id": comment_id, "name": name, "link_id": thing, "parent_id": thing,
                "body": text, "permalink": permalink, "author": USERNAME}  # fmt: skip
        self.comments[name] = data
        return Answer(
            200, {"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": data}]}}}
        )


def _errors(code: str, message: str, field: str) -> Answer:
    return Answer(200, {"json": {"errors": [[code, message, field]]}})
