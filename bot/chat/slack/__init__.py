"""Slack: Block Kit builders (pure), the Bolt app and its listeners, and the notifier."""
