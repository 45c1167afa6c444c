"""The bot's own token for calls to the Bot Connector: OAuth 2.0 client credentials against
the configured token endpoint (Entra ID, or a sovereign cloud's), with the registration's
secret or, instead, a certificate (a signed client assertion, RFC 7523). Cached until a minute
before it expires; never logged.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bot.config import ConfigError, TeamsSettings

EARLY_SECONDS = 60  # renew this long before the token expires
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenError(Exception):
    """No token. `permanent`: the credentials are wrong (retrying cannot help)."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class BotTokens:
    def __init__(
        self,
        settings: TeamsSettings,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.app_id:
            raise ConfigError("TEAMS_APP_ID is not set")
        self.app_id = settings.app_id
        self.endpoint = settings.token_endpoint
        self.scope = settings.token_scope
        self.http = http or httpx.Client(timeout=15.0, follow_redirects=False)
        self.clock = clock
        self._secret = settings.app_password.get_secret_value() if settings.app_password else ""
        self._certificate = _load_certificate(settings.certificate_path)
        if not self._secret and self._certificate is None:
            raise ConfigError("set TEAMS_APP_PASSWORD or TEAMS_CERTIFICATE_PATH")
        self._token = ""
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.issued = 0  # tokens fetched (tests read it)

    def token(self) -> str:
        with self._lock:
            if self._token and self.clock() < self._expires_at - EARLY_SECONDS:
                return self._token
            form = {
                "grant_type": "client_credentials",
                "client_id": self.app_id,
                "scope": self.scope,
            }
            if self._certificate is not None:
                form["client_assertion_type"] = ASSERTION_TYPE
                form["client_assertion"] = self._assertion()
            else:
                form["client_secret"] = self._secret
            try:
                response = self.http.post(self.endpoint, data=form)
            except httpx.HTTPError as exc:
                raise TokenError(
                    f"cannot reach the token endpoint: {type(exc).__name__}", permanent=False
                ) from None
            body = _json(response)
            if response.status_code == 429 or response.status_code >= 500:
                raise TokenError(
                    f"the token endpoint answered HTTP {response.status_code}",
                    permanent=False,
                    retry_after=_seconds(response.headers.get("retry-after")),
                )
            if response.status_code != 200 or not body.get("access_token"):
                error = str(body.get("error") or f"HTTP {response.status_code}")[:60]
                raise TokenError(
                    f"the token endpoint refused the bot's credentials ({error}): check "
                    "TEAMS_APP_ID, TEAMS_APP_PASSWORD (or TEAMS_CERTIFICATE_PATH) and "
                    "TEAMS_TENANT_ID",
                    permanent=True,
                )
            self._token = str(body["access_token"])
            self._expires_at = self.clock() + float(str(body.get("expires_in") or 3600))
            self.issued += 1
            return self._token

    def _assertion(self) -> str:
        assert self._certificate is not None
        key, thumbprint = self._certificate
        now = int(self.clock())
        claims = {
            "aud": self.endpoint,
            "iss": self.app_id,
            "sub": self.app_id,
            "jti": str(uuid.uuid4()),
            "nbf": now,
            "exp": now + 600,
        }
        return jwt.encode(claims, key, algorithm="RS256", headers={"x5t#S256": thumbprint})


def _load_certificate(path: str) -> tuple[bytes, str] | None:
    """(private key PEM, base64url SHA-256 thumbprint of the certificate) from a PEM file."""
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"TEAMS_CERTIFICATE_PATH {path}: {exc.strerror}") from None
    try:
        certificate = x509.load_pem_x509_certificate(data)
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        raise ConfigError(
            f"TEAMS_CERTIFICATE_PATH {path} must hold the certificate and its unencrypted "
            "private key, both PEM"
        ) from None
    der = certificate.public_bytes(serialization.Encoding.DER)
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, thumbprint


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return max(1.0, float(value)) if value else None
    except ValueError:
        return None
