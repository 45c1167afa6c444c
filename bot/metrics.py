"""Prometheus metrics. `mentionbot run` serves them at /metrics on the web front (bot/web.py),
or, when METRICS_PORT is set, only on 127.0.0.1:METRICS_PORT (`serve`)."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram, start_http_server

log = logging.getLogger(__name__)

POLLS = Counter("mentionbot_polls_total", "Source polls", ["source", "outcome"])
ENTRIES = Counter("mentionbot_entries_total", "Entries fetched from sources", ["source"])
MENTIONS = Counter(
    "mentionbot_mentions_total", "Mentions stored, by verdict", ["brand", "sentiment", "alerted"]
)
ALERTS_DELIVERED = Counter("mentionbot_alerts_delivered_total", "Alerts posted to chat")
ALERT_FAILURES = Counter(
    "mentionbot_alert_failures_total", "Failed alert deliveries (kept queued)", ["kind"]
)
ALERT_DELAY = Histogram(
    "mentionbot_alert_delay_seconds",
    "From a mention's publication to its alert being posted",
    ["source"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400),
)
CHAT_API_SECONDS = Histogram("mentionbot_chat_api_seconds", "Latency of chat API calls", ["method"])
CHAT_RATE_LIMITED = Counter(
    "mentionbot_chat_rate_limited_total", "Chat API answers of 429 (rate limited)"
)


def serve(port: int, host: str = "127.0.0.1") -> None:
    if port:
        start_http_server(port, addr=host)
        log.info("metrics at http://%s:%d/metrics", host, port)
