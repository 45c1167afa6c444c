"""What every public-reply client shares: what it replies to, what it returns, how it fails,
and the HTTP call that turns a platform's answer into one of those.

A failure says exactly why in words a person can act on ("Mastodon says the post was
deleted"), carries a `reason` the caller can branch on, and never includes a secret: clients
put tokens in headers only, and nothing here logs a request's headers or body.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)

PLATFORM_LABELS = {"mastodon": "Mastodon", "bluesky": "Bluesky", "reddit": "Reddit"}
# Calls made while a person waits for a dialog to open (Slack's trigger_id lasts 3 s): who
# the author is, the instance's limit. Slower answers fall back to defaults.
QUICK_TIMEOUT = 1.5
MAX_ANSWER_BYTES = 2_000_000  # a post, a session or an instance document is a few kB


class Reason(enum.StrEnum):
    """Why a public reply (or its deletion) did not happen."""

    RATE_LIMITED = "rate_limited"  # try again later (retry_after says when, if known)
    GONE = "gone"  # the post we answer was deleted, or cannot be found
    AUTH = "auth"  # the brand's credentials were refused or have expired for good
    TOO_LONG = "too_long"
    REFUSED = "refused"  # the platform said no for another reason (locked thread, banned)
    UNREACHABLE = "unreachable"  # network error, timeout, 5xx: nothing known to be posted
    NOT_CONFIGURED = "not_configured"  # a secret is missing from the environment


class PublishError(Exception):
    """A public reply was not posted (or not deleted). `str()` is the sentence to show."""

    def __init__(self, message: str, reason: Reason, *, retry_after: float | None = None):
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Target:
    """The post to answer, as the source recorded it."""

    external_id: str  # Mastodon: the status URI; Bluesky: at:// URI; Reddit: "reddit:t3_…"
    url: str
    author: str  # Mastodon: acct as the watched instance shows it; Bluesky: a DID; Reddit: name
    lang: str = "und"
    source_instance: str = ""  # Mastodon: the instance the source watched


@dataclass(frozen=True, slots=True)
class Posted:
    """A public reply as its platform names it: an id to delete it by and a link to show."""

    remote_id: str
    url: str


class PublicClient(Protocol):
    """One brand account on one platform."""

    platform: str  # "mastodon", "bluesky", "reddit"
    label: str  # "Mastodon", for sentences

    @property
    def account(self) -> str:
        """How the account is shown: "@acme@mastodon.social", "u/acme_support"."""
        ...

    def limit(self) -> int:
        """How long a reply may be, in the unit `length` counts (the platform's own rule)."""
        ...

    def length(self, text: str) -> int: ...

    def addressee(self, target: Target) -> str:
        """How the reply addresses the author ("@sanne@mastodon.social"), "" if it need not."""
        ...

    def post_reply(self, target: Target, text: str) -> Posted:
        """Post `text` as a reply to `target`. Raises PublishError."""
        ...

    def delete(self, remote_id: str) -> None:
        """Delete a reply this account posted; a reply already gone counts as deleted.
        Raises PublishError."""
        ...

    def check(self) -> str:
        """Who the account is and whether it may post, without posting. Raises PublishError."""
        ...

    def warm(self) -> None:
        """Sign in and read limits ahead of the first dialog; failures are silent."""
        ...

    def close(self) -> None: ...


def http_client(base_url: str, *, timeout: float, user_agent: str) -> httpx.Client:
    """A client for one platform API: no redirects (an API that redirects a POST is not the
    one configured), bounded time, our User-Agent."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        headers={"User-Agent": user_agent},
    )


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON (None when the body was empty or not JSON)
    text: str  # the first 300 characters of the body, for messages


def call(client: httpx.Client, label: str, method: str, path: str, **kwargs: Any) -> Answer:
    """One request. Network failures and oversized answers become PublishError
    (UNREACHABLE); every HTTP answer is returned for the platform's client to read."""
    try:
        with client.stream(method, path, **kwargs) as response:
            raw = b""
            for chunk in response.iter_bytes():
                raw += chunk
                if len(raw) > MAX_ANSWER_BYTES:
                    raise PublishError(f"{label} answered an oversized body", Reason.UNREACHABLE)
    except httpx.TimeoutException:
        raise PublishError(
            f"{label} did not answer in time; nothing is known to be posted", Reason.UNREACHABLE
        ) from None
    except httpx.HTTPError as exc:
        raise PublishError(
            f"cannot reach {label} ({type(exc).__name__})", Reason.UNREACHABLE
        ) from None
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    return Answer(response.status_code, response.headers, body, text[:300])


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds until a rate limit lifts, from Retry-After (seconds or a date), Mastodon's
    X-RateLimit-Reset (an ISO time) or atproto's RateLimit-Reset (epoch seconds)."""
    now = now or datetime.now(UTC)
    value = headers.get("retry-after", "").strip()
    if value:
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
        except (TypeError, ValueError):
            pass
    reset = (headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset") or "").strip()
    if not reset:
        return None
    try:
        if reset.replace(".", "", 1).isdigit():
            seconds = float(reset)
            # atproto gives an epoch time; Reddit gives seconds left in the window.
            return max(0.0, seconds - now.timestamp()) if seconds > 1e9 else seconds
        when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        return max(0.0, (when - now).total_seconds())
    except ValueError:
        return None


def wait_words(seconds: float | None) -> str:
    """ "try again in 4 minutes" for a person."""
    if seconds is None:
        return "try again in a few minutes"
    if seconds < 1.5:
        return "try again in a second"
    if seconds < 90:
        return f"try again in {round(seconds)} seconds"
    if seconds < 5400:
        return f"try again in {round(seconds / 60)} minutes"
    return f"try again in {round(seconds / 3600)} hours"


def error_text(answer: Answer, *keys: str) -> str:
    """The platform's own error message from a JSON body, cut short; the status otherwise."""
    body = answer.body if isinstance(answer.body, dict) else {}
    for key in keys or ("error", "message"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:200]
    return f"HTTP {answer.status}"
