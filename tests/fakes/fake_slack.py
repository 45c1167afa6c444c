"""A small fake of the Slack Web API on 127.0.0.1, for the real slack_sdk WebClient.

Point `WebClient(base_url=fake.api_url)` at it. It answers the methods mentionbot calls with
Slack-shaped `{"ok": true, ...}` bodies, records every call (method, parsed body, headers),
and can be told to fail the next N calls of a method (HTTP 429 with Retry-After, an
`{"ok": false, "error": ...}` body, or a 500). `response_url`s handed to the bot in payloads
point here too (`/respond/<n>`), so `respond()` calls are recorded as method "response_url".

It is as strict as Slack where mentionbot could go wrong: every method needs a bot token;
channels exist (`add_channel`) with a name, an id and whether the bot is a member;
chat.postMessage takes a channel id or name and answers with the id, while chat.update,
chat.postEphemeral, conversations.history and conversations.info take ids only (a name is
`channel_not_found`, as on Slack); chat.update needs a message that exists; required
arguments are checked; conversations.list and conversations.history paginate.

Also here: `slack_post`, which POSTs to the bot's `/slack/events` signed exactly as Slack
signs, and builders for block_actions, view_submission and slash-command bodies.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

from tests.fakes.fake_socket_mode import FakeSocketMode

BOT_USER_ID = "UBOT000001"
TEAM_ID = "T0000TEAM"
# Channels every fake starts with: (id, name). The bot is a member of each.
DEFAULT_CHANNELS = (
    ("C0ALERTS", "alerts"),
    ("C0OPS", "ops"),
    ("C0000001", "general"),
    ("C0ACME0001", "acme-mentions"),
)


@dataclass(frozen=True)
class Call:
    method: str  # "chat.postMessage", ... or "response_url"
    body: dict[str, Any]  # JSON body, or form fields (single values)
    headers: dict[str, str]  # lower-case names
    path: str


@dataclass
class _Failure:
    times: int
    status: int = 200
    error: str = ""
    retry_after: float | None = None
    after_effect: bool = False  # do the work (store the message), then answer with the failure
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    def __init__(
        self, *, realtime: bool = False, socket_mode: FakeSocketMode | None = None
    ) -> None:
        """`realtime`: message ts are the posting time, as Slack's are (what a reader of
        conversations.history with `oldest` needs); otherwise fixed, for exact assertions.
        `socket_mode`: the WebSocket server whose URLs `apps.connections.open` hands out."""
        self.realtime = realtime
        self.socket_mode = socket_mode
        self.revoked_tokens: set[str] = set()  # well-formed tokens Slack answers invalid_auth
        self._holds: dict[str, threading.Event] = {}
        self._last_ts = 0.0
        self.calls: list[Call] = []
        self._changed = threading.Condition()
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel id → posted, oldest first
        self.channels: dict[str, dict[str, Any]] = {}  # id → conversation object
        self.list_page_size = 100  # conversations.list page size cap (tests make it small)
        self._views = itertools.count(1)
        # Files (the upload flow of files_upload_v2): id → {filename, length, content, shares}
        self.files: dict[str, dict[str, Any]] = {}
        self._file_ids = itertools.count(1)
        self.homes: dict[str, dict[str, Any]] = {}  # user id → the App Home view published
        for channel_id, name in DEFAULT_CHANNELS:
            self.add_channel(name, channel_id)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval makes shutdown() (waited on by every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.server_address[1]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "1") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def add_channel(
        self,
        name: str,
        channel_id: str | None = None,
        *,
        member: bool = True,
        private: bool = False,
        archived: bool = False,
    ) -> str:
        """A channel that exists in the workspace; returns its id."""
        channel_id = channel_id or f"C{len(self.channels) + 1:08d}X"
        with self._changed:
            self.channels[channel_id] = {
                "id": channel_id,
                "name": name.lstrip("#"),
                "is_channel": True,
                "is_private": private,
                "is_member": member,
                "is_archived": archived,
            }
        return channel_id

    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        name = name.lstrip("#").lower()
        for channel in self.channels.values():
            if channel["name"] == name:
                return channel
        return None

    # --- programming failures ---------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 200,
        error: str = "",
        retry_after: float | None = None,
        after_effect: bool = False,
    ) -> None:
        """The next `times` calls of `method` fail. status=429 sends Retry-After when given;
        status=200 with `error` answers `{"ok": false, "error": error}`. after_effect=True
        does the work first (a message is posted) and then fails: an uncertain outcome."""
        failure = _Failure(
            times=times,
            status=status,
            error=error,
            retry_after=retry_after,
            after_effect=after_effect,
        )
        with self._changed:
            self._failures.setdefault(method, []).append(failure)

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` wait (up to 30 s) until the returned event is set."""
        event = threading.Event()
        self._holds[method] = event
        return event

    def _take_failure(self, method: str) -> _Failure | None:
        with self._changed:
            queue = self._failures.get(method) or []
            if not queue:
                return None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            return failure

    # --- assertions -------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Block until `count` calls of `method` (matching `where`) arrived; return them.
        Listeners run on Bolt's worker threads, so tests wait on this, never on a sleep."""
        deadline = time.monotonic() + timeout

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == method and (where is None or where(c))]

        with self._changed:
            while len(found := matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(
                        f"waited {timeout} s for {count} x {method}; got {len(found)}; "
                        f"calls so far: {seen}"
                    )
                self._changed.wait(left)
            return found

    def clear(self) -> None:
        with self._changed:
            self.calls.clear()

    # --- answers ----------------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _next_ts(self) -> str:
        if self.realtime:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"
        return f"1700000000.{next(self._ts):06d}"

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake Team",
                "user": "mentionbot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": "B0000BOT",
                "is_enterprise_install": False,
            }
        if method == "apps.connections.open":
            if self.socket_mode is None:  # a URL nothing answers on as a WebSocket
                return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket=none"}
            return {"ok": True, "url": self.socket_mode.url_for_ticket()}
        missing = [name for name in REQUIRED.get(method, ()) if not body.get(name)]
        if missing:
            return {"ok": False, "error": "invalid_arguments", "missing": missing}
        if method in NEEDS_TEXT and not (body.get("text") or body.get("blocks")):
            return {"ok": False, "error": "no_text"}
        if method == "chat.postMessage":
            return self._post_message(body)
        if method.startswith("files."):
            return self._files(method, body)
        if method == "views.publish":
            return self._publish_home(body)
        if method == "conversations.open":
            return self._open_dm(body)
        if method == "conversations.list":
            return self._list_channels(body)
        if method == "views.update" and not (body.get("view_id") or body.get("external_id")):
            return {"ok": False, "error": "invalid_arguments", "missing": ["view_id"]}
        if method in ("views.open", "views.update", "views.push"):
            view = body.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            return {"ok": True, "view": {**(view or {}), "id": f"V{next(self._views):08d}"}}
        if not method.startswith(("chat.", "conversations.")):
            return {"ok": True}
        channel = self._by_id(str(body.get("channel", "")))
        if channel is None:  # unknown, or a name where Slack takes only an id
            return {"ok": False, "error": "channel_not_found"}
        if method == "chat.update":
            with self._changed:
                posted = self.messages.get(channel["id"], [])
                found = [m for m in posted if m["ts"] == body.get("ts")]
            if not found:
                return {"ok": False, "error": "message_not_found"}
            found[0]["text"] = body.get("text", "")
            return {
                "ok": True,
                "channel": channel["id"],
                "ts": body["ts"],
                "text": body.get("text", ""),
            }
        if method == "chat.postEphemeral":
            if not channel["is_member"]:
                return {"ok": False, "error": "not_in_channel"}
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.history":
            return self._history(channel, body)
        if method == "conversations.info":
            return {"ok": True, "channel": dict(channel)}
        return {"ok": True}

    def _by_id(self, channel: str) -> dict[str, Any] | None:
        with self._changed:
            return self.channels.get(channel)

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        target = str(body.get("channel", ""))
        channel = self._by_id(target) or (
            self.channel_by_name(target)
            if not target.startswith(("C", "G", "D")) or target.startswith("#")
            else None
        )
        if channel is None or channel["is_archived"]:
            return {"ok": False, "error": "is_archived" if channel else "channel_not_found"}
        if not channel["is_member"]:
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        message = {"type": "message", "ts": ts, "text": body.get("text", ""), "user": BOT_USER_ID}
        if "thread_ts" in body:
            message["thread_ts"] = body["thread_ts"]
        if "metadata" in body:
            message["metadata"] = body["metadata"]
        with self._changed:
            self.messages.setdefault(channel["id"], []).append(message)
        return {"ok": True, "channel": channel["id"], "ts": ts, "message": message}

    # --- files (files.getUploadURLExternal → POST the bytes → files.completeUploadExternal) ---
    def _files(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "files.getUploadURLExternal":
            try:
                length = int(body.get("length") or 0)
            except ValueError:
                length = 0
            if not body.get("filename") or length <= 0:
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._file_ids):09d}"
            with self._changed:
                self.files[file_id] = {
                    "id": file_id,
                    "filename": str(body["filename"]),
                    "length": length,
                    "alt_txt": body.get("alt_txt", ""),
                    "content": None,
                    "shares": [],
                }
            url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
            return {"ok": True, "upload_url": url, "file_id": file_id}
        if method == "files.completeUploadExternal":
            try:
                items = json.loads(str(body.get("files") or "[]"))
            except json.JSONDecodeError:
                return {"ok": False, "error": "invalid_arguments"}
            if not isinstance(items, list) or not items:
                return {"ok": False, "error": "invalid_arguments"}
            channel_id = str(body.get("channel_id") or "")
            if channel_id:
                channel = self._by_id(channel_id)
                if channel is None:
                    return {"ok": False, "error": "channel_not_found"}
                if not channel["is_member"]:
                    return {"ok": False, "error": "not_in_channel"}
            done = []
            with self._changed:
                for item in items:
                    found = self.files.get(str((item or {}).get("id")))
                    if found is None or found["content"] is None:
                        return {"ok": False, "error": "file_not_found"}
                    found["title"] = item.get("title") or found["filename"]
                    if channel_id:
                        found["shares"].append(
                            {"channel": channel_id, "comment": body.get("initial_comment", "")}
                        )
                    done.append({"id": found["id"], "name": found["filename"],
                                 "title": found["title"]})  # fmt: skip
            return {"ok": True, "files": done}
        return {"ok": True}

    def upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        """The upload URL's answer: the declared length must be what arrives."""
        with self._changed:
            found = self.files.get(file_id)
            if found is None:
                return 404, "not found"
            if len(data) != found["length"]:
                return 400, "length mismatch"
            found["content"] = data
            self._changed.notify_all()
        return 200, f"OK - {len(data)}"

    def _publish_home(self, body: dict[str, Any]) -> dict[str, Any]:
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        with self._changed:
            self.homes[str(body["user_id"])] = view
        return {"ok": True, "view": {**view, "id": f"V{next(self._views):08d}"}}

    def _open_dm(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("users") or "")
        if not user or "," in user:
            return {"ok": False, "error": "invalid_arguments"}
        channel_id = f"D{user[1:]}"[:20]
        with self._changed:
            self.channels.setdefault(channel_id, {
                "id": channel_id, "name": "", "is_im": True, "is_channel": False,
                "is_private": True, "is_member": True, "is_archived": False, "user": user,
            })  # fmt: skip
        return {"ok": True, "channel": {"id": channel_id}}

    def _list_channels(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._changed:
            everything = [
                dict(c)
                for c in self.channels.values()
                if not (c["is_private"] and not c["is_member"])  # private: members only
                and not (
                    c["is_archived"] and str(body.get("exclude_archived")).lower() in ("true", "1")
                )
            ]
        return {"ok": True, **_page("channels", everything, body, self.list_page_size)}

    def _history(self, channel: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        oldest = float(body.get("oldest") or 0)
        with self._changed:
            posted = [m for m in self.messages.get(channel["id"], []) if float(m["ts"]) >= oldest]
        with_metadata = str(body.get("include_all_metadata")).lower() in ("true", "1")
        found = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in reversed(posted)  # newest first, as Slack answers
        ]
        answer = _page("messages", found, body, 1000)
        return {"ok": True, "has_more": bool(answer["response_metadata"]["next_cursor"]), **answer}


def _page(key: str, items: list[Any], body: dict[str, Any], cap: int) -> dict[str, Any]:
    """Slack's cursor pagination: `limit` items from `cursor` on, and the next cursor."""
    limit = min(int(body.get("limit") or 100), cap)
    start = int(body.get("cursor") or 0)
    more = start + limit < len(items)
    return {
        key: items[start : start + limit],
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


# Arguments Slack requires, per method (https://api.slack.com/methods).
REQUIRED: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.postEphemeral": ("channel", "user"),
    "conversations.history": ("channel",),
    "conversations.info": ("channel",),
    "views.open": ("trigger_id", "view"),
    "views.update": ("view",),
    "views.publish": ("user_id", "view"),
    "conversations.open": ("users",),
    "files.completeUploadExternal": ("files",),
}
NEEDS_TEXT = ("chat.postMessage", "chat.update", "chat.postEphemeral")


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.path.startswith("/upload/"):  # the file's bytes, not an API call
            status, text = self.owner.upload(self.path.removeprefix("/upload/"),
                                             self.rfile.read(length))  # fmt: skip
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = _parse_body(raw, headers.get("content-type", ""), self.path)
        if self.path.startswith("/respond/"):
            self.owner._record(Call("response_url", body, headers, self.path))
            self._send(200, {"ok": True})
            return
        method = self.path.split("?", 1)[0].removeprefix("/api/")
        held = self.owner._holds.get(method)
        if held is not None:
            held.wait(timeout=30)  # a slow Slack, until the test releases it
        self.owner._record(Call(method, body, headers, self.path))
        auth = headers.get("authorization", "") or f"Bearer {body.get('token', '')}"
        if not auth.removeprefix("Bearer ").startswith(("xoxb-", "xapp-")):
            self._send(200, {"ok": False, "error": "not_authed"})
            return
        refusal = _token_refusal(method, headers, self.owner.revoked_tokens)
        if refusal:
            self._send(200, {"ok": False, "error": refusal})
            return
        failure = self.owner._take_failure(method)
        if failure is not None and failure.after_effect:
            self.owner.answer(method, body)
        if failure is not None:
            extra = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = str(int(failure.retry_after))
            if failure.status == 429:
                self._send(429, {"ok": False, "error": "ratelimited"}, extra)
            elif failure.status >= 500:
                self._send(failure.status, {"ok": False, "error": "fatal_error"}, extra)
            else:
                self._send(failure.status, {"ok": False, "error": failure.error or "fatal_error"})
            return
        self._send(200, self.owner.answer(method, body))

    do_GET = do_POST  # slack_sdk always POSTs, but a stray GET must not hang a test

    def _send(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


# Methods that take an app-level token (xapp-) in the Authorization header and refuse any
# other, as Slack does.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


def _token_refusal(method: str, headers: dict[str, str], revoked: set[str]) -> str:
    """Slack's error for a call whose Authorization header cannot call `method`, or ""."""
    if method not in APP_TOKEN_METHODS:
        return ""
    token = headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token:
        return "not_authed"
    if not token.startswith("xapp-") or token in revoked:
        return "invalid_auth"
    return ""


def _parse_body(raw: str, content_type: str, path: str) -> dict[str, Any]:
    if not raw:
        return dict(parse_qsl(path.split("?", 1)[1])) if "?" in path else {}
    if "json" in content_type:
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return {"_raw": raw}
        return parsed if isinstance(parsed, dict) else {"_json": parsed}
    return dict(parse_qsl(raw, keep_blank_values=True))


# --- signed requests to the bot ---------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def sign(body: str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def slack_post(
    url: str,
    body: str,
    signing_secret: str | None,
    *,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Response:
    """POST like Slack does. signing_secret=None sends it unsigned."""
    all_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if body.startswith("{"):
        all_headers["Content-Type"] = "application/json"
    if signing_secret is not None:
        all_headers.update(sign(body, signing_secret, timestamp))
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=body.encode(), headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, reply.read().decode(), dict(reply.headers.items()))
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read().decode(), dict(exc.headers.items()))


# --- Slack-shaped payloads ---------------------------------------------------------------------


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user: str = "U0000001",
    channel: str = "C0000001",
    message_ts: str = "1700000000.000001",
    block_id: str = "mention-alert-actions",
    response_url: str = "",
    trigger_id: str = "1111.2222.abcdef",
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0000APP",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "alerts"},
        "message": {"type": "message", "ts": message_ts, "user": BOT_USER_ID, "text": "alert"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user: str = "U0000001",
    view_id: str = "V00000001",
) -> str:
    """`values` as Slack nests them: {block_id: {action_id: {"type": ..., "value": ...}}}.
    `view_id` is the id views.open answered with (the fake numbers them V00000001, …)."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0000APP",
        "token": "legacy-verification-token",
        "trigger_id": "3333.4444.abcdef",
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1.abc",
            "app_id": "A0000APP",
            "bot_id": "B0000BOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }
    return urlencode({"payload": json.dumps(payload)})


def slash_command_body(
    text: str,
    *,
    user: str = "U0000001",
    channel: str = "C0000001",
    response_url: str = "",
    command: str = "/mentions",
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "alerts",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0000APP",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "5555.6666.abcdef",
        }
    )
