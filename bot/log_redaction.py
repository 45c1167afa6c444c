"""No secret in any log line, at any level, from any logger (ours, and the HTTP and WebSocket
clients', which at DEBUG print request and response headers: a server that reflects
Authorization would otherwise put a token in the log).

`install(settings)` puts a filter on every handler of the root logger, which every record of
every logger passes through: it removes the values of the secrets the settings hold (and their
base64 forms, as HTTP basic auth sends them), and whatever looks like a credential, wherever it
stands: Authorization and Cookie header values, Bearer/Basic credentials, Slack tokens, URL
user info and token-like query parameters. Tracebacks are cleaned as well. The chattiest
transport loggers (httpcore, h11, h2, hpack) are also kept at WARNING.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
QUIET_LOGGERS = ("httpcore", "h11", "h2", "hpack")
_HEADER = re.compile(
    r"""((?:proxy-)?authorization|cookie|set-cookie|x-api-key|x-auth-token|api-key)"""
    r"""(['"]?\s*[:=,]\s*(?:(?-i:b)(?=['"]))?['"]?)[^'"\r\n]{1,4096}""",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
_SLACK = re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{6,}")
_QUERY = re.compile(
    r"([?&;](?:access_token|token|api_key|apikey|key|secret|client_secret|password|passwd|"
    r"sig|signature|auth|code)=)[^&\s'\"#]{1,4096}",
    re.IGNORECASE,
)
_USERINFO = re.compile(
    r"\b((?:https?|wss?|postgres(?:ql)?)://)[^/\s:@'\"]{0,256}:[^/\s@'\"]{1,256}@"
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secrets and anything credential-like replaced."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if not _maybe_secret(text):
        return text
    text = _HEADER.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _SLACK.sub(REDACTED, text)
    text = _QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)


def _maybe_secret(text: str) -> bool:
    """A cheap look first: most log lines hold none of the words the patterns start with."""
    lowered = text.lower()
    return any(
        word in lowered
        for word in ("auth", "cookie", "key", "bearer", "basic", "token", "xox", "xapp",
                     "secret", "pass", "sig", "code", "@")
    )  # fmt: skip


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = _variants(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def secrets_of(settings: object) -> list[str]:
    """The secret values the settings hold, and the tokens sources read from the
    environment (their names end in TOKEN, SECRET, PASSWORD or KEY)."""
    values = []
    for name in getattr(type(settings), "model_fields", {}):
        value = getattr(settings, name, None)
        if hasattr(value, "get_secret_value"):
            values.append(str(value.get_secret_value()))  # type: ignore[union-attr]
    for name, value in os.environ.items():
        if name.upper().endswith(("TOKEN", "SECRET", "PASSWORD", "_KEY")):
            values.append(value)
    client_id = str(getattr(settings, "reddit_client_id", "") or "")
    secret = getattr(settings, "reddit_client_secret", None)
    if client_id and secret is not None:
        values.append(f"{client_id}:{secret.get_secret_value()}")
    return values


def install(settings: object, logger: logging.Logger | None = None) -> RedactSecrets:
    """Filter every handler of `logger` (the root) with the settings' secrets; keep the
    transport loggers quiet."""
    target = logger or logging.getLogger()
    redactor = RedactSecrets(secrets_of(settings))
    for handler in target.handlers:
        handler.addFilter(redactor)
    for name in QUIET_LOGGERS:
        quiet = logging.getLogger(name)
        quiet.setLevel(max(logging.WARNING, quiet.level))
    return redactor


def _variants(secrets: Iterable[str]) -> list[str]:
    """Each secret long enough to be one, and its base64 form; longest first."""
    found = set()
    for secret in secrets:
        if len(secret) >= 6:
            found.add(secret)
            found.add(base64.b64encode(secret.encode()).decode())
    return sorted(found, key=len, reverse=True)
