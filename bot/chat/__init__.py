"""Chat adapters: the outbox hands alerts to a `Notifier`; Slack (and later Teams) turn clicks
and commands into calls on bot.workflow and redraw the alert from the store."""

from __future__ import annotations

from bot.chat.notifier import ConsoleNotifier, DeliveryError, Notifier

__all__ = ["ConsoleNotifier", "DeliveryError", "Notifier"]
