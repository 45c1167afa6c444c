"""Replies on Bluesky as a brand's account, through the AT Protocol's server endpoints.

A session is created with the handle and an app password (com.atproto.server.createSession)
and refreshed with its refresh token when the access token expires (refreshSession), then
created anew if the refresh token has expired too. Calls go to the account's PDS (from the
session's DID document, when it names one on the same scheme as the configured service).

A reply is an app.bsky.feed.post record (com.atproto.repo.createRecord) whose `reply.parent`
is the post answered and `reply.root` the root of its thread (the parent's own root when the
parent is itself a reply), both strong references (uri + cid) read through
app.bsky.feed.getPosts; `@handle` of the author and links in the text get facets, with
UTF-8 byte offsets, so they are a real mention and real links.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.publish.base import (
    QUICK_TIMEOUT,
    Answer,
    Posted,
    PublishError,
    Reason,
    Target,
    call,
    error_text,
    http_client,
    retry_after,
    wait_words,
)
from bot.publish.length import graphemes, utf8_bytes

POST = "app.bsky.feed.post"
LIMIT_GRAPHEMES = 300
LIMIT_BYTES = 3000
WEB = "https://bsky.app"
_AT_URI = re.compile(r"^at://(did:[a-z]+:[A-Za-z0-9._:%-]+)/([a-z0-9.]+)/([A-Za-z0-9._:~-]+)$")
_LINK = re.compile(r"https?://[^\s<>\"]+[^\s<>\"\.,;:!?\)\]'”’]")


def facets(text: str, handles: dict[str, str]) -> list[dict[str, Any]]:
    """Mention facets for each `@handle` in `handles` (handle → DID) and link facets for
    each http(s) URL, as UTF-8 byte ranges of `text`."""
    found: list[tuple[int, int, dict[str, Any]]] = []
    for handle, did in handles.items():
        for match in re.finditer(r"(?<![\w@])@" + re.escape(handle) + r"(?![\w.-]*\w)", text):
            found.append(
                (match.start(), match.end(),
                 {"$type": "app.bsky.richtext.facet#mention", "did": did})
            )  # fmt: skip
    for match in _LINK.finditer(text):
        found.append(
            (match.start(), match.end(),
             {"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)})
        )  # fmt: skip
    out = []
    for start, end, feature in sorted(found, key=lambda f: f[0]):
        out.append(
            {
                "index": {
                    "byteStart": utf8_bytes(text[:start]),
                    "byteEnd": utf8_bytes(text[:end]),
                },
                "features": [feature],
            }
        )
    return out


def reply_refs(parent: dict[str, Any]) -> dict[str, Any]:
    """`reply` of a post answering `parent` (a PostView): parent is it, root is its root."""
    ref = {"uri": parent["uri"], "cid": parent["cid"]}
    record = parent.get("record") if isinstance(parent.get("record"), dict) else {}
    root = (record.get("reply") or {}).get("root") if isinstance(record, dict) else None
    if isinstance(root, dict) and all(isinstance(root.get(k), str) for k in ("uri", "cid")):
        return {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": ref}
    return {"root": ref, "parent": ref}


class BlueskyPublisher:
    platform = "bluesky"
    label = "Bluesky"

    def __init__(
        self,
        service: str,
        handle: str,
        password: str,
        *,
        password_env: str = "",
        user_agent: str = "mentionbot",
        timeout: float = 15.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.service = service.rstrip("/")
        self.handle = handle
        self._password = password
        self._password_env = password_env or "the app password"
        self._user_agent = user_agent
        self._timeout = timeout
        self._clock = clock
        self._entry = http_client(self.service, timeout=timeout, user_agent=user_agent)
        self._pds = self._entry
        self._lock = threading.Lock()
        self._did = ""
        self._access = ""
        self._refresh = ""
        self._handles: dict[str, str] = {}  # DID → handle, learnt from posts and profiles

    @property
    def account(self) -> str:
        return f"@{self.handle}"

    def warm(self) -> None:
        with contextlib.suppress(PublishError):
            self._session()

    def limit(self) -> int:
        return LIMIT_GRAPHEMES

    def length(self, text: str) -> int:
        return graphemes(text)

    def addressee(self, target: Target) -> str:
        """@handle of the author (a profile read through the PDS, cached); "" when unknown."""
        did = target.author
        if did in self._handles:
            return "@" + self._handles[did]
        if not did.startswith("did:"):
            return ""
        try:
            answer = self._xrpc(
                "GET", "app.bsky.actor.getProfile", params={"actor": did}, timeout=QUICK_TIMEOUT
            )
        except PublishError:
            return ""
        handle = answer.body.get("handle") if isinstance(answer.body, dict) else None
        if answer.status != 200 or not isinstance(handle, str) or handle == "handle.invalid":
            return ""
        self._handles[did] = handle
        return "@" + handle

    # --- posting ----------------------------------------------------------------------------
    def post_reply(self, target: Target, text: str) -> Posted:
        if graphemes(text) > LIMIT_GRAPHEMES or utf8_bytes(text) > LIMIT_BYTES:
            raise PublishError(
                f"Bluesky allows {LIMIT_GRAPHEMES} characters; the reply has {graphemes(text)}",
                Reason.TOO_LONG,
            )
        if not _AT_URI.match(target.external_id):
            raise PublishError("the mention has no Bluesky post id to answer", Reason.GONE)
        parent = self._parent(target.external_id)
        found = parent.get("author")
        author: dict[str, Any] = found if isinstance(found, dict) else {}
        handles: dict[str, str] = {}
        if isinstance(author.get("handle"), str) and isinstance(author.get("did"), str):
            handles[author["handle"]] = author["did"]
            self._handles[author["did"]] = author["handle"]
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": self._clock().astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "reply": reply_refs(parent),
        }
        found = facets(text, handles)
        if found:
            record["facets"] = found
        if len(target.lang) == 2 and target.lang.isalpha():
            record["langs"] = [target.lang]
        answer = self._xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            json={"repo": self._did, "collection": POST, "record": record},
        )
        uri = answer.body.get("uri") if isinstance(answer.body, dict) else None
        if answer.status != 200 or not isinstance(uri, str) or not _AT_URI.match(uri):
            raise self._failure(answer)
        rkey = uri.rsplit("/", 1)[-1]
        return Posted(uri, f"{WEB}/profile/{self.handle}/post/{rkey}")

    def delete(self, remote_id: str) -> None:
        match = _AT_URI.match(remote_id)
        if not match:
            raise PublishError("that is not a Bluesky post id", Reason.REFUSED)
        self._session()
        repo, collection, rkey = match.groups()
        if repo != self._did:
            raise PublishError("that post belongs to another account", Reason.REFUSED)
        answer = self._xrpc(
            "POST",
            "com.atproto.repo.deleteRecord",
            json={"repo": repo, "collection": collection, "rkey": rkey},
        )
        if answer.status != 200:  # deleting a record that is gone already succeeds
            raise self._failure(answer)

    def check(self) -> str:
        with self._lock:
            self._access = ""
        session = self._create_session()
        if session.get("active") is False:
            status = str(session.get("status") or "inactive")
            raise PublishError(f"Bluesky: @{self.handle} is {status}; it cannot post", Reason.AUTH)
        return f"@{self.handle} ({self._did}) signed in through {self.service}; may post"

    # --- session and calls ------------------------------------------------------------------
    def _parent(self, uri: str) -> dict[str, Any]:
        answer = self._xrpc("GET", "app.bsky.feed.getPosts", params={"uris": uri})
        if answer.status != 200:
            raise self._failure(answer)
        posts = answer.body.get("posts") if isinstance(answer.body, dict) else None
        post = posts[0] if isinstance(posts, list) and posts else None
        cid = post.get("cid") if isinstance(post, dict) else None
        if not isinstance(post, dict) or post.get("uri") != uri or not isinstance(cid, str):
            raise PublishError(
                "Bluesky says the post no longer exists: it was deleted (or its author "
                "blocks the brand's account)",
                Reason.GONE,
            )
        return post

    def _session(self) -> str:
        with self._lock:
            if self._access:
                return self._access
        self._create_session()
        return self._access

    def _create_session(self) -> dict[str, Any]:
        answer = call(
            self._entry,
            "Bluesky",
            "POST",
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": self.handle, "password": self._password},
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status != 200 or not body.get("accessJwt"):
            if answer.status in (400, 401):
                raise PublishError(
                    f"Bluesky refused to sign in as @{self.handle}: "
                    f"{error_text(answer, 'message', 'error')}. "
                    f"Check the app password in {self._password_env}",
                    Reason.AUTH,
                )
            raise self._failure(answer)
        self._adopt(body)
        return body

    def _refresh_session(self) -> bool:
        with self._lock:
            refresh = self._refresh
        if not refresh:
            return False
        answer = call(
            self._pds,
            "Bluesky",
            "POST",
            "/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {refresh}"},
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status != 200 or not body.get("accessJwt"):
            return False
        self._adopt(body)
        return True

    def _adopt(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._access = str(body.get("accessJwt") or "")
            self._refresh = str(body.get("refreshJwt") or "")
            self._did = str(body.get("did") or self._did)
            self.handle = str(body.get("handle") or self.handle)
            pds = _pds_of(body.get("didDoc"))
            same_scheme = urlsplit(pds).scheme == urlsplit(self.service).scheme
            if pds and same_scheme and pds.rstrip("/") != str(self._pds.base_url).rstrip("/"):
                self._pds = http_client(pds, timeout=self._timeout, user_agent=self._user_agent)

    def _xrpc(self, method: str, nsid: str, **kwargs: Any) -> Answer:
        """A call with the session's access token; once more after refreshing (or creating) the
        session when the token has expired."""
        for attempt in range(2):
            token = self._session()
            answer = call(
                self._pds,
                "Bluesky",
                method,
                f"/xrpc/{nsid}",
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,
            )
            error = answer.body.get("error") if isinstance(answer.body, dict) else None
            expired = answer.status in (400, 401) and error in ("ExpiredToken", "InvalidToken")
            if not expired or attempt:
                return answer
            with self._lock:
                self._access = ""
            if not self._refresh_session():
                with self._lock:
                    self._refresh = ""
                self._create_session()
        raise AssertionError("unreachable")

    def _failure(self, answer: Answer) -> PublishError:
        said = error_text(answer, "message", "error")
        error = answer.body.get("error") if isinstance(answer.body, dict) else ""
        if answer.status == 429 or error == "RateLimitExceeded":
            wait = retry_after(answer.headers)
            return PublishError(
                f"Bluesky's rate limit for the brand's account is reached; {wait_words(wait)}",
                Reason.RATE_LIMITED,
                retry_after=wait,
            )
        if answer.status == 401 or error in ("AuthRequired", "InvalidToken", "ExpiredToken"):
            return PublishError(
                f"Bluesky refused the brand's session: {said}. Check {self._password_env}",
                Reason.AUTH,
            )
        if "grapheme" in said.lower() or "too long" in said.lower():
            return PublishError(f"Bluesky says the reply is too long: {said}", Reason.TOO_LONG)
        if error in ("NotFound", "RecordNotFound") or answer.status == 404:
            return PublishError("Bluesky says the post no longer exists", Reason.GONE)
        if answer.status >= 500:
            return PublishError(
                f"Bluesky had an error (HTTP {answer.status}); nothing was posted",
                Reason.UNREACHABLE,
            )
        return PublishError(f"Bluesky refused: {said}", Reason.REFUSED)

    def close(self) -> None:
        self._entry.close()
        if self._pds is not self._entry:
            self._pds.close()


def _pds_of(did_doc: object) -> str:
    """The #atproto_pds service endpoint of a DID document, or ""."""
    services = did_doc.get("service") if isinstance(did_doc, dict) else None
    for service in services if isinstance(services, list) else []:
        if (
            isinstance(service, dict)
            and str(service.get("id", "")).endswith("#atproto_pds")
            and isinstance(service.get("serviceEndpoint"), str)
            and service["serviceEndpoint"].startswith(("https://", "http://"))
        ):
            return str(service["serviceEndpoint"])
    return ""
