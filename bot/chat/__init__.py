"""Chat: one platform-neutral core (views, commands, service, the adapter port) and one
adapter per platform (bot/chat/slack, and the console) that only verifies, parses, renders
and sends."""
