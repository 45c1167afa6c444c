"""A Bluesky PDS on loopback, replaying the AT Protocol's documented shapes.

com.atproto.server.createSession (identifier + app password → accessJwt, refreshJwt, did,
handle, didDoc naming this PDS, active), refreshSession (Bearer refreshJwt; the old one is
spent), app.bsky.feed.getPosts and app.bsky.actor.getProfile (proxied to the AppView by a
real PDS; answered here), com.atproto.repo.createRecord (an app.bsky.feed.post checked as
the lexicon and the AppView would: $type, createdAt, at most 300 graphemes, reply.root and
reply.parent strong refs that match real posts, facets on UTF-8 byte ranges that fall on
the text they claim), deleteRecord. `expire_access()` / `expire_refresh()` make the issued
tokens stale, as they become after their lifetime.
"""

from __future__ import annotations

import itertools
from typing import Any

from bot.publish.length import graphemes
from tests.fakes.social.base import Answer, RecordingApi, Request

HANDLE = "acme.bsky.social"
DID = "did:plc:acmebrand0000000000000"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


class FakePds(RecordingApi):
    def __init__(self) -> None:
        self.handle, self.did, self.password = HANDLE, DID, APP_PASSWORD
        self.active = True
        self.posts: dict[str, dict[str, Any]] = {}  # uri → PostView
        self.profiles: dict[str, str] = {}  # did → handle
        self.records: dict[str, dict[str, Any]] = {}  # our repo: uri → record
        self._serial = itertools.count(1)
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.stale_access: set[str] = set()
        self.stale_refresh: set[str] = set()
        super().__init__()

    # --- test setup -------------------------------------------------------------------------
    def add_post(
        self, uri: str, *, handle: str, text: str = "", reply: dict[str, Any] | None = None
    ) -> str:
        did = uri.split("/")[2]
        cid = f"bafyreicid{next(self._serial):04d}"
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text,
                                  "createdAt": "2026-11-24T08:55:00.000Z"}  # fmt: skip
        if reply:
            record["reply"] = reply
        self.posts[uri] = {
            "uri": uri,
            "cid": cid,
            "author": {"did": did, "handle": handle},
            "record": record,
            "indexedAt": "2026-11-24T08:55:01.000Z",
        }
        self.profiles[did] = handle
        return cid

    def expire_access(self) -> None:
        with self.lock:
            self.stale_access |= self.access
            self.access.clear()

    def expire_refresh(self) -> None:
        with self.lock:
            self.stale_refresh |= self.refresh
            self.refresh.clear()

    # --- the API ----------------------------------------------------------------------------
    def route(self, request: Request) -> Answer:
        nsid = request.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession":
            return self._create_session(request)
        if nsid == "com.atproto.server.refreshSession":
            token = _bearer(request)
            if token in self.stale_refresh:
                return Answer(400, {"error": "ExpiredToken", "message": "Token has expired"})
            if token not in self.refresh:
                return Answer(
                    400, {"error": "InvalidToken", "message": "Token could not be verified"}
                )
            self.refresh.discard(token)
            return Answer(200, self._session())
        token = _bearer(request)
        if not token:
            return Answer(401, {"error": "AuthMissing", "message": "Authentication Required"})
        if token in self.stale_access:
            return Answer(400, {"error": "ExpiredToken", "message": "Token has expired"})
        if token not in self.access:
            return Answer(400, {"error": "InvalidToken", "message": "Token could not be verified"})
        if nsid == "app.bsky.feed.getPosts" and request.method == "GET":
            uri = request.query.get("uris", "")
            return Answer(200, {"posts": [self.posts[uri]] if uri in self.posts else []})
        if nsid == "app.bsky.actor.getProfile" and request.method == "GET":
            actor = request.query.get("actor", "")
            if actor not in self.profiles:
                return Answer(400, {"error": "InvalidRequest", "message": "Profile not found"})
            return Answer(200, {"did": actor, "handle": self.profiles[actor]})
        if nsid == "com.atproto.repo.createRecord" and request.method == "POST":
            return self._create_record(request.json or {})
        if nsid == "com.atproto.repo.deleteRecord" and request.method == "POST":
            body = request.json or {}
            if body.get("repo") != self.did:
                return Answer(401, {"error": "AuthRequired", "message": "Not your repo"})
            uri = f"at://{self.did}/{body.get('collection')}/{body.get('rkey')}"
            self.records.pop(uri, None)
            return Answer(200, {"commit": {"cid": "bafycommit", "rev": "3l"}})
        return Answer(501, {"error": "MethodNotImplemented", "message": f"{nsid}"})

    def _create_session(self, request: Request) -> Answer:
        body = request.json or {}
        if (
            body.get("identifier") not in (self.handle, self.did)
            or body.get("password") != self.password
        ):
            return Answer(
                401,
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            )
        return Answer(200, self._session())

    def _session(self) -> dict[str, Any]:
        n = next(self._serial)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self.access.add(access)
        self.refresh.add(refresh)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.handle,
            "did": self.did,
            "didDoc": {
                "id": self.did,
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self.base_url,
                    }
                ],
            },
            "active": self.active,
        }

    def _create_record(self, body: dict[str, Any]) -> Answer:
        if body.get("repo") != self.did:
            return Answer(400, {"error": "InvalidRequest", "message": "Invalid repo"})
        record = body.get("record") or {}
        if (
            body.get("collection") != "app.bsky.feed.post"
            or record.get("$type") != "app.bsky.feed.post"
        ):
            return Answer(
                400, {"error": "InvalidRequest", "message": "Invalid collection or $type"}
            )
        text = record.get("text")
        if not isinstance(text, str) or not isinstance(record.get("createdAt"), str):
            return _invalid('Record must have the property "text" and "createdAt"')
        if graphemes(text) > 300:
            return _invalid("Record/text must not be longer than 300 graphemes")
        reply = record.get("reply")
        if reply is not None:
            for which in ("root", "parent"):
                ref = reply.get(which) or {}
                post = self.posts.get(ref.get("uri", ""))
                if post is None or post["cid"] != ref.get("cid"):
                    return _invalid(f"Record/reply/{which} must be a strong ref to a post")
        raw = text.encode("utf-8")
        for facet in record.get("facets") or []:
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (
                isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw)
            ):
                return _invalid("Record/facets/index out of range")
        rkey = f"3lbq{next(self._serial):09d}"
        uri = f"at://{self.did}/app.bsky.feed.post/{rkey}"
        self.records[uri] = record
        return Answer(200, {"uri": uri, "cid": f"bafyreinew{rkey}",
                            "commit": {"cid": "bafycommit", "rev": rkey},
                            "validationStatus": "valid"})  # fmt: skip


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    return value.removeprefix("Bearer ") if value.startswith("Bearer ") else ""


def _invalid(message: str) -> Answer:
    return Answer(
        400, {"error": "InvalidRequest", "message": f"Invalid app.bsky.feed.post record: {message}"}
    )
