"""Who may talk to /api/messages: Bot Framework tokens checked as Microsoft specifies, before
the Teams SDK sees the activity.

https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication
The signing keys come from the OpenID metadata document's `jwks_uri` (both URLs are settings,
so sovereign clouds and tests work); they are cached, re-read once a day, and re-read at once
(at most once a minute) when a token names a key id the cache does not know, which is how a
key rotation looks. A token must be RS256, signed by a key endorsed for Teams, issued by the
Bot Framework issuer for our app id, within its validity period (5 minutes of clock skew, as
Microsoft recommends), and carry the activity's own `serviceUrl`; any of that failing is 401.
An authenticated request from another tenant, or naming a service URL the bot would not send
its token to, is 403. Reasons are logged; tokens never are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 300
KEYS_MAX_AGE_SECONDS = 24 * 3600
MIN_REFRESH_SECONDS = 60.0  # an unknown key id re-reads the keys at most this often
CHANNEL = "msteams"


class AuthError(Exception):
    """A refused request: `status` is 401 (not authenticated) or 403 (not allowed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Caller:
    """What an accepted request proved."""

    app_id: str
    service_url: str
    tenant_id: str


class SigningKeys:
    """The Bot Framework's signing keys, as its OpenID metadata says where to find them."""

    def __init__(
        self,
        metadata_url: str,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metadata_url = metadata_url
        self.http = http or httpx.Client(timeout=10.0, follow_redirects=False)
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._endorsements: dict[str, tuple[str, ...]] = {}
        self._read_at: float | None = None  # last successful read
        self._tried_at: float | None = None  # last attempt, successful or not
        self._lock = threading.Lock()
        self.reads = 0  # how often the keys were fetched (tests and metrics read it)

    def key(self, kid: str) -> tuple[jwt.PyJWK, tuple[str, ...]] | None:
        """The key with this id and what it is endorsed for; None when even a fresh read of
        the keys does not have it."""
        with self._lock:
            now = self.clock()
            stale = self._read_at is None or now - self._read_at >= KEYS_MAX_AGE_SECONDS
            may_try = self._tried_at is None or now - self._tried_at >= MIN_REFRESH_SECONDS
            if (stale or kid not in self._keys) and may_try:
                self._read(now)
            found = self._keys.get(kid)
            return (found, self._endorsements.get(kid, ())) if found else None

    def _read(self, now: float) -> None:
        self._tried_at = now
        try:
            metadata = self._json(self.metadata_url)
            jwks_uri = str(metadata.get("jwks_uri") or "")
            if not jwks_uri.startswith(("https://", "http://")):
                raise ValueError("the OpenID metadata has no jwks_uri")
            document = self._json(jwks_uri)
            keys: dict[str, jwt.PyJWK] = {}
            endorsements: dict[str, tuple[str, ...]] = {}
            for entry in document.get("keys") or []:
                if not isinstance(entry, dict) or not entry.get("kid"):
                    continue
                try:
                    keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256")
                except jwt.PyJWTError:
                    continue  # a key of a kind we do not use
                endorsements[str(entry["kid"])] = tuple(
                    str(e) for e in entry.get("endorsements") or ()
                )
        except (httpx.HTTPError, ValueError) as exc:
            # Keep the keys we had: an outage of the metadata host must not lock Teams out.
            log.warning("cannot read the Bot Framework signing keys: %s", type(exc).__name__)
            return
        self._keys, self._endorsements = keys, endorsements
        self._read_at = now
        self.reads += 1

    def _json(self, url: str) -> dict[str, Any]:
        response = self.http.get(url)
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError(f"{url} did not answer with a JSON object")
        return body


class Authenticator:
    def __init__(
        self,
        *,
        app_id: str,
        tenant_id: str,
        issuer: str,
        keys: SigningKeys,
        service_url_prefixes: tuple[str, ...],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.issuer = issuer
        self.keys = keys
        self.service_url_prefixes = service_url_prefixes
        self.clock = clock

    def authenticate(self, authorization: str, activity: Mapping[str, Any]) -> Caller:
        """The caller of a request with this Authorization header and body; AuthError else."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "no bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(401, "the token is not a JWT") from None
        if header.get("alg") != "RS256":
            raise AuthError(401, f"the token is signed with {str(header.get('alg'))[:10]!r}")
        found = self.keys.key(str(header.get("kid") or ""))
        if found is None:
            raise AuthError(401, "the token is signed with a key the Bot Framework does not list")
        key, endorsements = found
        channel = str(activity.get("channelId") or "")
        if endorsements and channel not in endorsements:
            raise AuthError(401, f"the signing key is not endorsed for {channel[:20]!r}")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError(401, "the token is for another app") from None
        except jwt.InvalidIssuerError:
            raise AuthError(401, "the token is from another issuer") from None
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"the token is invalid ({type(exc).__name__})") from None
        service_url = str(activity.get("serviceUrl") or "")
        claimed = str(claims.get("serviceurl") or claims.get("serviceUrl") or "")
        if not service_url or claimed.rstrip("/") != service_url.rstrip("/"):
            raise AuthError(401, "the token's serviceurl is not the activity's")
        if not service_url.startswith(self.service_url_prefixes):
            raise AuthError(403, "the activity's serviceUrl is not an allowed Teams service")
        tenant = tenant_of(activity)
        if self.tenant_id and tenant != self.tenant_id:
            raise AuthError(403, "the activity comes from another tenant")
        return Caller(str(claims.get("aud") or ""), service_url, tenant)


def tenant_of(activity: Mapping[str, Any]) -> str:
    data = activity.get("channelData")
    tenant = data.get("tenant") if isinstance(data, dict) else None
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    conversation = activity.get("conversation")
    if isinstance(conversation, dict):
        return str(conversation.get("tenantId") or "")
    return ""
