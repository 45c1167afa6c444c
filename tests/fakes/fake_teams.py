"""A local fake of what a Teams bot talks to, on 127.0.0.1: the Bot Framework's OpenID metadata
and signing keys, the Entra ID token endpoint, and the Bot Connector service that an
activity's serviceUrl points at. Plus `Signer`, which signs activities as the Bot Framework
does, with an RSA key made for the test.

It is as strict as the real services where mentionbot could go wrong: the token endpoint
checks the grant, client id and secret and issues expiring tokens; every connector call needs
a live token; a post goes only to a conversation that exists (404 ConversationNotFound
otherwise), an update only to an activity that exists there, a thread reply only under a
posted root message; activity ids are numeric, as Teams' are. `fail_next` queues failures
(429 with Retry-After, 403 when the bot was removed, 5xx) and records every call.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.loopback import LoopbackServer, QuietHandler

APP_ID = "00000000-0000-4000-8000-0000000000b1"
APP_PASSWORD = "teams-app-secret"
TENANT_ID = "11111111-2222-4333-8444-555555555555"
ISSUER = "https://api.botframework.com"
BOT_ID = f"28:{APP_ID}"
TEAM_ID = "19:team-support@thread.tacv2"
TEAM_NAME = "Support"
# Channels of the team: (conversation id, name); the General channel's id is the team's.
CHANNELS = (
    (TEAM_ID, ""),
    ("19:alerts@thread.tacv2", "alerts"),
    ("19:ops@thread.tacv2", "ops"),
    ("19:acme@thread.tacv2", "acme-mentions"),
)


class Signer:
    """An RSA key pair made for the test, published as a JWKS, signing tokens."""

    def __init__(self, kid: str = "key-1") -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self, endorsements: tuple[str, ...] = ("msteams",)) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256",
                "endorsements": list(endorsements)}  # fmt: skip

    def token(self, service_url: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": APP_ID, "serviceurl": service_url,
            "nbf": now - 5, "iat": now - 5, "exp": now + 3600,
        }  # fmt: skip
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class _Failure:
    status: int
    retry_after: str | None = None
    code: str = ""
    after_effect: bool = False


@dataclass
class _Activity:
    id: str
    conversation: str  # as addressed, with ";messageid=" for a thread reply
    body: dict[str, Any]
    versions: list[dict[str, Any]] = field(default_factory=list)


class FakeBotFramework(LoopbackServer):
    def __init__(self) -> None:
        self.signers: list[Signer] = [Signer()]
        self.calls: list[Call] = []
        self.key_reads = 0
        self.tokens: dict[str, float] = {}  # issued token → expiry (epoch)
        self.token_lifetime = 3600
        self.conversations: set[str] = {cid for cid, _ in CHANNELS}
        self.activities: dict[str, _Activity] = {}  # activity id → what was posted
        self.removed: set[str] = set()
        self.personal: dict[str, str] = {}  # member id → personal conversation id
        self.uploads: dict[str, str] = {}  # OneDrive upload session → the file, as uploaded
        self._ids = itertools.count(1_700_000_000_001)
        self._failures: dict[str, list[_Failure]] = {}
        self._lock = threading.Condition()
        super().__init__()

    # --- addresses --------------------------------------------------------------------------
    @property
    def service_url(self) -> str:
        return self.url("/teams/")

    @property
    def metadata_url(self) -> str:
        return self.url("/v1/.well-known/openidconfiguration")

    @property
    def token_url(self) -> str:
        return self.url("/{tenant}/oauth2/v2.0/token")

    # --- programming it ---------------------------------------------------------------------
    def fail_next(self, method: str, status: int, *, retry_after: str | None = None,
                  code: str = "", after_effect: bool = False) -> None:  # fmt: skip
        """`method` is "post", "update", "create-chat", "channels" or "token"."""
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(status, retry_after, code, after_effect)
            )

    def remove_bot(self, conversation: str) -> None:
        """The bot was removed: calls there are refused from now on (403)."""
        with self._lock:
            self.removed.add(conversation)

    # --- reading what was sent --------------------------------------------------------------
    def posts(self, conversation: str | None = None) -> list[_Activity]:
        with self._lock:
            return [a for a in self.activities.values()
                    if conversation is None or a.conversation == conversation]  # fmt: skip

    def latest(self, activity_id: str) -> dict[str, Any]:
        with self._lock:
            found = self.activities[activity_id]
            return found.versions[-1] if found.versions else found.body

    def updates(self, activity_id: str) -> int:
        with self._lock:
            return len(self.activities[activity_id].versions)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # --- serving ----------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_PUT(self) -> None:
                fake._serve(self, "PUT")

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, verb: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        path = urlsplit(handler.path).path
        status, answer, extra = self._answer(verb, path, raw, headers)
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, verb: str, path: str, raw: str,
                headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        if verb == "GET" and path == "/v1/.well-known/openidconfiguration":
            return 200, {"issuer": ISSUER, "jwks_uri": self.url("/v1/.well-known/keys"),
                         "id_token_signing_alg_values_supported": ["RS256"]}, {}  # fmt: skip
        if verb == "GET" and path == "/v1/.well-known/keys":
            with self._lock:
                self.key_reads += 1
                return 200, {"keys": [s.jwk() for s in self.signers]}, {}
        if verb == "POST" and path.endswith("/oauth2/v2.0/token"):
            return self._token(raw, headers)
        if verb == "PUT" and path.startswith("/teams/upload/"):
            # A OneDrive upload session (pre-authenticated: no bot token), one range.
            size = len(raw.encode())
            if headers.get("content-range") != f"bytes 0-{max(0, size - 1)}/{size}":
                return 400, {"error": {"code": "invalidRange"}}, {}
            with self._lock:
                self.uploads[path.removeprefix("/teams/upload/")] = raw
            return 201, {"id": "file-1", "name": path.rsplit("/", 1)[-1], "size": size}, {}
        if not path.startswith("/teams/"):
            return 404, {"error": {"code": "NotFound"}}, {}
        return self._connector(verb, path.removeprefix("/teams"), raw, headers)

    def _token(self, raw: str, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        form = dict(parse_qsl(raw))
        self._record(Call("token", "/token", {k: v for k, v in form.items()
                                              if k != "client_secret"}, headers))  # fmt: skip
        failure = self._take("token")
        if failure is not None:
            return failure.status, {"error": failure.code or "temporarily_unavailable"}, {}
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != APP_ID:
            return 400, {"error": "unauthorized_client"}, {}
        if form.get("client_secret") != APP_PASSWORD:
            return 401, {"error": "invalid_client"}, {}
        if form.get("scope") != "https://api.botframework.com/.default":
            return 400, {"error": "invalid_scope"}, {}
        token = f"bot-token-{uuid.uuid4().hex}"
        with self._lock:
            self.tokens[token] = time.time() + self.token_lifetime
        return 200, {"token_type": "Bearer", "expires_in": self.token_lifetime,
                     "access_token": token}, {}  # fmt: skip

    def _connector(self, verb: str, path: str, raw: str,
                   headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        body = json.loads(raw) if raw else None
        parts = path.strip("/").split("/")
        method = _method(verb, parts)
        self._record(Call(method, path, body, headers))
        token = headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            live = self.tokens.get(token, 0) > time.time()
        if not live:
            return 401, {"error": {"code": "Unauthorized", "message": "bad token"}}, {}
        failure = self._take(method)
        if failure is not None and not failure.after_effect:
            return self._failure(failure)
        status, answer = self._do(method, parts, body)
        if failure is not None:
            return self._failure(failure)
        return status, answer, {}

    def _do(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        if method == "channels":
            if parts[2] != TEAM_ID:
                return 404, {"error": {"code": "NotFound"}}
            return 200, {"conversations": [{"id": cid, **({"name": n} if n else {})}
                                           for cid, n in CHANNELS]}  # fmt: skip
        if method == "create-chat":
            member = str(((body or {}).get("members") or [{}])[0].get("id") or "")
            if not member.startswith("29:"):
                return 400, {"error": {"code": "BadArgument"}}
            with self._lock:
                chat = self.personal.setdefault(member, f"a:personal-{member[3:]}")
                self.conversations.add(chat)
            return 201, {"id": chat}
        conversation = parts[2]
        base, _, root = conversation.partition(";messageid=")
        with self._lock:
            if base in self.removed:
                return 403, {"error": {"code": "BotNotInConversationRoster"}}
            if base not in self.conversations:
                return 404, {"error": {"code": "ConversationNotFound"}}
            if root and (root not in self.activities or self.activities[root].conversation != base):
                return 404, {"error": {"code": "MessageNotFound"}}
            if method == "post":
                if not isinstance(body, dict) or body.get("type") != "message":
                    return 400, {"error": {"code": "BadArgument"}}
                activity_id = str(next(self._ids))
                self.activities[activity_id] = _Activity(activity_id, conversation, body)
                self._lock.notify_all()
                return 201, {"id": activity_id}
            found = self.activities.get(parts[4])
            if found is None or found.conversation != base:
                return 404, {"error": {"code": "ActivityNotFound"}}
            found.versions.append(body)
            return 200, {"id": found.id}

    def _failure(self, failure: _Failure) -> tuple[int, Any, dict[str, str]]:
        extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
        return failure.status, {"error": {"code": failure.code or "Failed"}}, extra

    def _take(self, method: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(method) or []
            return queue.pop(0) if queue else None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()


def _method(verb: str, parts: list[str]) -> str:
    if verb == "GET" and len(parts) == 4 and parts[1] == "teams":
        return "channels"
    if verb == "POST" and parts == ["v3", "conversations"]:
        return "create-chat"
    if verb == "POST" and len(parts) == 4 and parts[3] == "activities":
        return "post"
    if verb == "PUT" and len(parts) == 5:
        return "update"
    return f"{verb} {'/'.join(parts)}"
