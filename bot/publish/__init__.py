"""Answering customers where they spoke: public replies on Mastodon, Bluesky and Reddit under
a brand's own account.

The chat service asks the registry (registry.py) whether a mention can be answered publicly
and by which account; each platform's client (mastodon.py, bluesky.py, reddit.py) posts with
that platform's own reply mechanism and deletes through the same API. Chat code never talks
to these APIs directly, and nothing here knows about chat.
"""
