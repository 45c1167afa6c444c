"""Replies on Reddit as a brand's account: a comment on the post's (or comment's) fullname.

Authentication is OAuth2 for a script app with the account's password (grant_type=password)
or a refresh token from an installed/web app (grant_type=refresh_token); the bearer token is
renewed before it expires and once more when Reddit answers 401. `POST /api/comment`
(`api_type=json`, `thing_id`, `text`) answers 200 even when it refuses: the reasons are in
`json.errors` as [code, message, field] triples (RATELIMIT, TOO_LONG, DELETED_LINK, TOO_OLD,
THREAD_LOCKED, …), which are turned into the matching failure.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.publish.base import (
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

LIMIT = 10_000
_FULLNAME = re.compile(r"^t[13]_[a-z0-9]{1,16}$")
_MINUTES = re.compile(r"(\d+)\s*(minute|second)", re.I)
_GONE = {"DELETED_LINK", "DELETED_COMMENT", "NO_THING_ID", "INVALID_THING_ID"}
_REFUSED_WHY = {
    "TOO_OLD": "the post is archived (too old to reply to)",
    "THREAD_LOCKED": "the thread is locked",
    "ARCHIVED": "the post is archived",
    "SUBREDDIT_NOTALLOWED": "the brand's account may not comment in this subreddit",
    "USER_BLOCKED": "the author has blocked the brand's account",
}


class RedditPublisher:
    platform = "reddit"
    label = "Reddit"

    def __init__(
        self,
        username: str,
        client_id: str,
        client_secret: str,
        *,
        password: str = "",
        refresh_token: str = "",
        secret_names: str = "",
        auth_url: str = "https://www.reddit.com",
        api_url: str = "https://oauth.reddit.com",
        site_url: str = "https://www.reddit.com",
        user_agent: str = "mentionbot",
        timeout: float = 15.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.username = username
        self._client_id = client_id
        self._client_secret = client_secret
        self._password = password
        self._refresh_token = refresh_token
        self._secret_names = secret_names or "the account's credentials"
        self._site = site_url.rstrip("/")
        self._auth = http_client(auth_url, timeout=timeout, user_agent=user_agent)
        self._api = http_client(api_url, timeout=timeout, user_agent=user_agent)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._token = ""
        self._token_until = 0.0
        self._scope = ""

    @property
    def account(self) -> str:
        return f"u/{self.username}"

    def warm(self) -> None:
        with contextlib.suppress(PublishError):
            self._bearer()

    def limit(self) -> int:
        return LIMIT

    def length(self, text: str) -> int:
        return len(text)

    def addressee(self, target: Target) -> str:
        return ""  # a comment on their post notifies the author

    # --- posting ----------------------------------------------------------------------------
    def post_reply(self, target: Target, text: str) -> Posted:
        thing = target.external_id.removeprefix("reddit:")
        if not _FULLNAME.match(thing):
            raise PublishError("the mention has no Reddit post id to answer", Reason.GONE)
        answer = self._call(
            "POST", "/api/comment", data={"api_type": "json", "thing_id": thing, "text": text}
        )
        if answer.status != 200:
            raise self._failure(answer)
        body = answer.body.get("json") if isinstance(answer.body, dict) else None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            raise self._api_error(errors)
        things = ((body or {}).get("data") or {}).get("things")
        data = things[0].get("data") if isinstance(things, list) and things else None
        name = str(data.get("name") or "") if isinstance(data, dict) else ""
        if not _FULLNAME.match(name):
            raise PublishError("Reddit answered without the new comment", Reason.UNREACHABLE)
        permalink = str(data.get("permalink") or "")  # type: ignore[union-attr]
        link = self._site + permalink if permalink.startswith("/") else ""
        return Posted(name, link)

    def delete(self, remote_id: str) -> None:
        if not _FULLNAME.match(remote_id):
            raise PublishError("that is not a Reddit comment id", Reason.REFUSED)
        answer = self._call("POST", "/api/del", data={"id": remote_id})
        if answer.status != 200:
            raise self._failure(answer)

    def check(self) -> str:
        with self._lock:
            self._token = ""
        self._bearer()
        scopes = set(self._scope.replace(",", " ").split())
        if scopes and not scopes & {"*", "submit"}:
            raise PublishError(
                f"Reddit: the token for u/{self.username} lacks the submit scope "
                f"(it has {', '.join(sorted(scopes))[:100]})",
                Reason.AUTH,
            )
        me = self._call("GET", "/api/v1/me")
        if me.status != 200 or not isinstance(me.body, dict):
            raise self._failure(me)
        name = str(me.body.get("name") or "")
        if name.lower() != self.username.lower():
            raise PublishError(
                f"Reddit: the credentials are u/{name}'s, not u/{self.username}'s", Reason.AUTH
            )
        if me.body.get("is_suspended"):
            raise PublishError(f"Reddit: u/{name} is suspended", Reason.AUTH)
        return f"u/{name} signed in; may comment"

    # --- helpers ----------------------------------------------------------------------------
    def _bearer(self) -> str:
        with self._lock:
            if self._token and self._monotonic() < self._token_until:
                return self._token
        if self._refresh_token:
            form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        else:
            form = {
                "grant_type": "password",
                "username": self.username,
                "password": self._password,
            }
        answer = call(
            self._auth,
            "Reddit",
            "POST",
            "/api/v1/access_token",
            data=form,
            auth=httpx.BasicAuth(self._client_id, self._client_secret),
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        token = body.get("access_token")
        if answer.status == 200 and isinstance(token, str) and token:
            expires = body.get("expires_in")
            life = float(expires) if isinstance(expires, int | float) else 3600.0
            with self._lock:
                self._token = token
                self._token_until = self._monotonic() + max(60.0, life - 60.0)
                self._scope = str(body.get("scope") or "")
            return token
        if answer.status == 429:
            raise self._failure(answer)
        if answer.status in (400, 401, 403) or body.get("error"):
            why = str(body.get("error") or f"HTTP {answer.status}")[:80]
            raise PublishError(
                f"Reddit refused to sign in as u/{self.username} ({why}); check "
                f"{self._secret_names}",
                Reason.AUTH,
            )
        raise self._failure(answer)

    def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        for attempt in range(2):
            token = self._bearer()
            answer = call(
                self._api,
                "Reddit",
                method,
                path,
                headers={"Authorization": f"bearer {token}"},
                params={"raw_json": 1},
                **kwargs,
            )
            if answer.status != 401 or attempt:
                return answer
            with self._lock:  # expired early or revoked: a new token, once
                self._token = ""
        raise AssertionError("unreachable")

    def _api_error(self, errors: list[Any]) -> PublishError:
        first = errors[0] if isinstance(errors[0], list) else [str(errors[0])]
        code = str(first[0]) if first else ""
        said = " ".join(str(first[1]).split())[:200] if len(first) > 1 else code
        if code == "RATELIMIT":
            found = _MINUTES.search(said)
            wait = None
            if found:
                wait = float(found.group(1)) * (60 if found.group(2).lower() == "minute" else 1)
            return PublishError(
                f"Reddit's rate limit for u/{self.username} is reached; {wait_words(wait)}",
                Reason.RATE_LIMITED,
                retry_after=wait,
            )
        if code == "TOO_LONG":
            return PublishError(f"Reddit says the reply is too long: {said}", Reason.TOO_LONG)
        if code in _GONE:
            return PublishError(
                "Reddit says the post no longer exists: it was deleted", Reason.GONE
            )
        if code in _REFUSED_WHY:
            return PublishError(f"Reddit refused: {_REFUSED_WHY[code]}", Reason.REFUSED)
        return PublishError(f"Reddit refused: {said} ({code})", Reason.REFUSED)

    def _failure(self, answer: Answer) -> PublishError:
        if answer.status == 429:
            wait = retry_after(answer.headers)
            return PublishError(
                f"Reddit's rate limit for u/{self.username} is reached; {wait_words(wait)}",
                Reason.RATE_LIMITED,
                retry_after=wait,
            )
        if answer.status == 401:
            return PublishError(
                f"Reddit refused the brand's token for u/{self.username}; check "
                f"{self._secret_names}",
                Reason.AUTH,
            )
        if answer.status == 403:
            return PublishError(
                f"Reddit refused (HTTP 403): u/{self.username} may be banned there, or the "
                "token lacks the submit scope",
                Reason.REFUSED,
            )
        if answer.status == 404:
            return PublishError("Reddit says the post no longer exists", Reason.GONE)
        if answer.status >= 500:
            return PublishError(
                f"Reddit had an error (HTTP {answer.status}); nothing was posted",
                Reason.UNREACHABLE,
            )
        said = error_text(answer, "message", "error")
        return PublishError(f"Reddit refused: {said}", Reason.REFUSED)

    def close(self) -> None:
        self._auth.close()
        self._api.close()
