"""`mentionbot teams-package`: the Teams app package to side-load (Apps → Manage your apps →
Upload an app): manifest.json naming the bot, its commands and valid domains, and two icons
(192×192 colour, 32×32 white outline on transparent), zipped. Pure standard library: the
icons are drawn here, so the package needs no image files or libraries."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from bot.chat.commands import USAGE
from bot.config import ConfigError

MANIFEST_SCHEMA = (
    "https://developer.microsoft.com/json-schemas/teams/v1.19/MicrosoftTeams.schema.json"
)
MANIFEST_VERSION = "1.19"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DOMAIN = re.compile(
    r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)
BRAND = (0x2C, 0x2D, 0x30)  # the Slack app's background colour


def manifest(
    app_id: str, *, domains: tuple[str, ...] = (), version: str = "1.0.0"
) -> dict[str, Any]:
    if not GUID.match(app_id):
        raise ConfigError(
            f"TEAMS_APP_ID {app_id[:40]!r} is not the registration's application (client) id "
            "(a GUID such as 00000000-0000-0000-0000-000000000000)"
        )
    for domain in domains:
        if not DOMAIN.match(domain):
            raise ConfigError(f"{domain[:60]!r} is not a domain name (no scheme, no path)")
    # Teams shows at most ten suggestions: the everyday ones, "home" (Teams only) and "help".
    wanted = ("open", "mine", "search", "show", "claim", "resolve", "stats", "mute", "help")
    described = {args.split(" ", 1)[0]: what for args, what in USAGE}
    described["home"] = "what you hold, the open queue and the week's figures"
    commands = [
        {"title": name, "description": described[name][:128]}
        for name in (*wanted[:-1], "home", wanted[-1])
    ]
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "mentionbot",
            "websiteUrl": "https://github.com/mentionbot/mentionbot",
            "privacyUrl": "https://github.com/mentionbot/mentionbot#privacy",
            "termsOfUseUrl": "https://github.com/mentionbot/mentionbot/blob/main/LICENSE",
        },
        "name": {"short": "mentionbot", "full": "mentionbot: brand mentions that need a human"},
        "description": {
            "short": "Mentions of your brand that need a human, to claim, answer and resolve.",
            "full": "mentionbot watches feeds (Google Alerts, Reddit, Hacker News, Mastodon, "
            "Bluesky) for your brand. Each negative mention arrives in your team's channel as "
            "a card with Claim, Reply and Resolve, updated in place as the team works on it; "
            "@mentionbot lists, searches and summarises them.",
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#2C2D30",
        "bots": [
            {
                "botId": app_id,
                "scopes": ["team", "personal"],
                "isNotificationOnly": False,
                "supportsFiles": False,
                "commandLists": [
                    {"scopes": ["team", "personal"], "commands": commands[:10]},
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": list(dict.fromkeys(domains)),
        "webApplicationInfo": {"id": app_id, "resource": f"api://botid-{app_id}"},
    }


def write_package(path: Path, app_id: str, *, domains: tuple[str, ...] = ()) -> Path:
    data = manifest(app_id, domains=domains)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("color.png", _icon(192, BRAND, (255, 255, 255, 255)))
        archive.writestr("outline.png", _icon(32, None, (255, 255, 255, 255)))
    path.write_bytes(buffer.getvalue())
    return path


def _icon(size: int, background: tuple[int, int, int] | None,
          ink: tuple[int, int, int, int]) -> bytes:  # fmt: skip
    """A PNG: a speech bubble with an exclamation mark, on `background` (None: transparent)."""
    clear = (0, 0, 0, 0) if background is None else (*background, 255)
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter: none
        for x in range(size):
            u, v = x / size, y / size
            bubble = 0.15 <= u <= 0.85 and 0.18 <= v <= 0.68
            tail = 0.28 <= u <= 0.42 and 0.68 <= v <= 0.82 and (v - 0.68) <= (0.42 - u)
            mark = 0.46 <= u <= 0.54 and (0.26 <= v <= 0.50 or 0.55 <= v <= 0.62)
            inside = (bubble or tail) and not mark
            if background is None:  # outline: the bubble's edge only
                edge = bubble and not (0.19 <= u <= 0.81 and 0.22 <= v <= 0.64)
                inside = edge or tail or mark
            row += bytes(ink if inside else clear)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
