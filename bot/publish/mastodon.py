"""Replies on Mastodon as a brand's account: POST /api/v1/statuses with `in_reply_to_id`.

The status to answer is known by its URI (ActivityPub id) and its web URL on the instance
the source watched. On the brand's own instance it has an id of its own: the one in its URL
when that URL is on the brand's instance, else the one `GET /api/v2/search?resolve=true`
gives after fetching it. The character limit is read from the instance (/api/v2/instance,
`configuration.statuses.max_characters`; 500 when it does not say).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
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
from bot.publish.length import MASTODON_URL_CHARS, mastodon_length

DEFAULT_LIMIT = 500
INFO_TTL = 24 * 3600.0  # the instance's limits change rarely
INFO_RETRY = 300.0  # after a failed read, use the default for this long


class MastodonPublisher:
    platform = "mastodon"
    label = "Mastodon"

    def __init__(
        self,
        instance: str,
        token: str,
        *,
        token_env: str = "",
        user_agent: str = "mentionbot",
        timeout: float = 15.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.instance = instance.rstrip("/")
        self.host = (urlsplit(self.instance).hostname or "").lower()
        self._token = token
        self._token_env = token_env or "the access token"
        self._http = http_client(self.instance, timeout=timeout, user_agent=user_agent)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._username = ""
        self._limit = DEFAULT_LIMIT
        self._url_chars = MASTODON_URL_CHARS
        self._info_until = 0.0
        self._who_until = 0.0

    def warm(self) -> None:
        """Read who the account is and the instance's limits now (at start), so the first
        dialog does not wait for them."""
        self._whoami()
        self._instance_info()

    # --- what the dialog shows --------------------------------------------------------------
    @property
    def account(self) -> str:
        self._whoami()
        return f"@{self._username}@{self.host}" if self._username else f"the account on {self.host}"

    def limit(self) -> int:
        self._instance_info()
        return self._limit

    def length(self, text: str) -> int:
        return mastodon_length(text, self._url_chars)

    def addressee(self, target: Target) -> str:
        """@user@domain of the author, so the reply notifies them (Mastodon notifies the
        accounts a status mentions)."""
        acct = target.author.strip().lstrip("@")
        if not acct or " " in acct:
            return ""
        if "@" not in acct:
            host = urlsplit(target.source_instance or target.url).hostname or ""
            acct = f"{acct}@{host}" if host else acct
        return "@" + acct

    # --- posting ----------------------------------------------------------------------------
    def post_reply(self, target: Target, text: str) -> Posted:
        status_id = self._local_id(target)
        payload: dict[str, Any] = {
            "status": text,
            "in_reply_to_id": status_id,
            "visibility": "public",
        }
        if len(target.lang) == 2 and target.lang.isalpha():
            payload["language"] = target.lang
        # The same reply to the same post within Mastodon's hour is posted once, should a
        # timeout make us (or the person) send it again.
        key = hashlib.sha256(f"{status_id}\n{text}".encode()).hexdigest()[:40]
        answer = self._call(
            "POST", "/api/v1/statuses", json=payload, headers={"Idempotency-Key": key}
        )
        if answer.status == 200 and isinstance(answer.body, dict):
            remote_id = str(answer.body.get("id") or "")
            link = str(answer.body.get("url") or answer.body.get("uri") or "")
            if remote_id:
                return Posted(remote_id, link)
        raise self._failure(answer, posting=True)

    def delete(self, remote_id: str) -> None:
        if not remote_id.isalnum():
            raise PublishError("that is not a Mastodon status id", Reason.REFUSED)
        answer = self._call("DELETE", f"/api/v1/statuses/{remote_id}")
        if answer.status in (200, 404):  # 404: already gone, which is what we wanted
            return
        raise self._failure(answer, posting=False)

    def check(self) -> str:
        """Who the token belongs to, and whether it may post: an empty status is refused with
        403 when the token lacks write:statuses and with 422 (blank text) when it has it, so
        nothing is posted."""
        who = self._call("GET", "/api/v1/accounts/verify_credentials")
        if who.status != 200 or not isinstance(who.body, dict):
            raise self._failure(who, posting=False)
        self._username = str(who.body.get("username") or who.body.get("acct") or "")
        probe = self._call("POST", "/api/v1/statuses", json={})
        if probe.status == 403:
            raise PublishError(
                f"Mastodon: the token in {self._token_env} may not post "
                "(it needs the write:statuses scope)",
                Reason.AUTH,
            )
        if probe.status not in (400, 422):
            raise self._failure(probe, posting=False)
        self._info_until = 0.0
        return f"{self.account} may post; replies up to {self.limit()} characters"

    # --- helpers ----------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        return call(self._http, f"Mastodon ({self.host})", method, path, headers=headers, **kwargs)

    def _local_id(self, target: Target) -> str:
        """The status's id on the brand's instance."""
        url_host = (urlsplit(target.url).hostname or "").lower()
        last = urlsplit(target.url).path.rstrip("/").rsplit("/", 1)[-1]
        if url_host == self.host and last.isdigit():
            return last
        answer = self._call(
            "GET",
            "/api/v2/search",
            params={"q": target.external_id, "type": "statuses", "resolve": "true", "limit": 1},
        )
        if answer.status != 200:
            raise self._failure(answer, posting=True)
        statuses = answer.body.get("statuses") if isinstance(answer.body, dict) else None
        found = statuses[0] if isinstance(statuses, list) and statuses else None
        status_id = str(found.get("id") or "") if isinstance(found, dict) else ""
        if not status_id.isalnum():
            raise PublishError(
                f"Mastodon ({self.host}) cannot find the post any more: it was probably "
                "deleted, or its server does not answer",
                Reason.GONE,
            )
        return status_id

    def _failure(self, answer: Answer, *, posting: bool) -> PublishError:
        said = error_text(answer)
        status = answer.status
        if status == 429:
            wait = retry_after(answer.headers)
            return PublishError(
                f"Mastodon's rate limit for the brand's account is reached; {wait_words(wait)}",
                Reason.RATE_LIMITED,
                retry_after=wait,
            )
        if status == 401:
            return PublishError(
                f"Mastodon refused the brand's access token ({self._token_env}): {said}. "
                "It may have been revoked; create a new one with write:statuses",
                Reason.AUTH,
            )
        if status == 403:
            return PublishError(f"Mastodon refused: {said}", Reason.AUTH)
        if status == 404 and posting:
            return PublishError(
                "Mastodon says the post no longer exists: it was deleted", Reason.GONE
            )
        if status == 422 and ("character" in said.lower() or "limit" in said.lower()):
            return PublishError(f"Mastodon says the reply is too long: {said}", Reason.TOO_LONG)
        if status >= 500:
            return PublishError(
                f"Mastodon ({self.host}) had an error (HTTP {status}); nothing was posted",
                Reason.UNREACHABLE,
            )
        return PublishError(f"Mastodon refused: {said}", Reason.REFUSED)

    def _whoami(self) -> None:
        now = self._monotonic()
        with self._lock:
            if self._username or now < self._who_until:
                return
            self._who_until = now + INFO_RETRY
        try:
            who = self._call("GET", "/api/v1/accounts/verify_credentials", timeout=QUICK_TIMEOUT)
        except PublishError:
            return
        if who.status == 200 and isinstance(who.body, dict):
            with self._lock:
                self._username = str(who.body.get("username") or "")

    def _instance_info(self) -> None:
        now = self._monotonic()
        with self._lock:
            if now < self._info_until:
                return
            self._info_until = now + INFO_RETRY
        try:
            label = f"Mastodon ({self.host})"
            answer = call(self._http, label, "GET", "/api/v2/instance", timeout=QUICK_TIMEOUT)
            if answer.status == 404:  # before Mastodon 4.0
                answer = call(self._http, label, "GET", "/api/v1/instance", timeout=QUICK_TIMEOUT)
        except PublishError:
            return
        info = answer.body if answer.status == 200 and isinstance(answer.body, dict) else {}
        statuses = (info.get("configuration") or {}).get("statuses") or {}
        limit = statuses.get("max_characters") or info.get("max_toot_chars")
        url_chars = statuses.get("characters_reserved_per_url")
        with self._lock:
            if isinstance(limit, int) and 0 < limit <= 1_000_000:
                self._limit = limit
            if isinstance(url_chars, int) and 0 <= url_chars <= 1000:
                self._url_chars = url_chars
            if info:
                self._info_until = now + INFO_TTL

    def close(self) -> None:
        self._http.close()
