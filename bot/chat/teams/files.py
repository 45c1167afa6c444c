"""Files for one person on Teams (`@mentionbot export`): Teams hands a bot's file to a person
only after they accept a file-consent card in their chat with the bot. Teams then gives an
upload URL in their OneDrive; the bot uploads the bytes there and shows the file.

The consent card carries the command and the channel it was typed in, not the file: on
acceptance the export is made again, for the same person and scope (so nothing needs to be
kept between the two requests, whichever replica gets the second)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.chat.port import DeliveryError

log = logging.getLogger(__name__)

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"
UPLOAD_TIMEOUT = 30.0


def consent_attachment(filename: str, size: int, description: str, context: dict[str, str]) -> Any:
    return {
        "contentType": CONSENT,
        "name": filename,
        "content": {
            "description": description[:200],
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    }


def info_attachment(upload: dict[str, Any]) -> Any:
    """The card that shows the uploaded file in the chat."""
    return {
        "contentType": INFO,
        "contentUrl": str(upload.get("contentUrl") or ""),
        "name": str(upload.get("name") or ""),
        "content": {
            "uniqueId": str(upload.get("uniqueId") or ""),
            "fileType": str(upload.get("fileType") or ""),
        },
    }


def upload(url: str, content: bytes, allowed: tuple[str, ...]) -> None:
    """PUT the bytes to the upload URL Teams gave (one range: the whole file). Only https,
    or a service URL the settings allow (a sovereign cloud, a test server); no redirects.
    Raises DeliveryError."""
    if not (url.startswith("https://") or url.startswith(allowed)):
        raise DeliveryError("Teams gave an upload URL that is not https", permanent=True)
    headers = {
        "Content-Length": str(len(content)),
        "Content-Range": f"bytes 0-{max(0, len(content) - 1)}/{len(content)}",
    }
    try:
        answer = httpx.put(url, content=content, headers=headers, timeout=UPLOAD_TIMEOUT,
                           follow_redirects=False)  # fmt: skip
    except httpx.HTTPError as exc:
        raise DeliveryError(f"the upload did not go through: {type(exc).__name__}",
                            permanent=False) from None  # fmt: skip
    if answer.status_code not in (200, 201):
        raise DeliveryError(f"the upload was refused (HTTP {answer.status_code})",
                            permanent=answer.status_code < 500)  # fmt: skip
