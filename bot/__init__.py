"""mentionbot: brings web mentions of a brand that need a human into Slack."""

from __future__ import annotations

__version__ = "0.1.0"
