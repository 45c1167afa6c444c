"""Team workflow on top of the chat core: response-time targets, reminders and escalation,
routing, mutes, digests, spikes and the home view. Platform-neutral: chat adapters render
what these modules decide."""
