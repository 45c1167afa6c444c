"""Microsoft Teams: Adaptive Cards for the neutral views, the Bot Connector transport, and the
Teams SDK app that turns activities into calls on the chat service. Imported only when Teams
is configured (the SDK is the optional `teams` extra)."""
