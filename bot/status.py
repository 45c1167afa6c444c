"""Source health and alert delay from the store: `mentionbot status` and `/mentions status`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.chat.text import duration as human_duration
from bot.store.base import RouteHealth, SourceStatus, Store

DELAY_WINDOW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SourceReport:
    status: SourceStatus
    delay_median: float | None  # seconds, publication → alert, over the last day
    delay_p95: float | None
    alerts: int


@dataclass(frozen=True, slots=True)
class StatusReport:
    sources: list[SourceReport]
    pending_alerts: int
    now: datetime
    routes: list[RouteHealth] = field(default_factory=list)  # chat routes that are failing


def gather_status(store: Store, now: datetime) -> StatusReport:
    delays = store.alert_delays(now - DELAY_WINDOW)
    sources = []
    for status in store.source_statuses():
        values = sorted(delays.get(status.source, []))
        sources.append(
            SourceReport(
                status=status,
                delay_median=statistics.median(values) if values else None,
                delay_p95=percentile(values, 0.95) if values else None,
                alerts=len(values),
            )
        )
    return StatusReport(sources, store.pending_count(), now, store.route_health())


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    rank = max(1, -(-int(fraction * 100 * len(sorted_values)) // 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def duration(seconds: float | None) -> str:
    return "—" if seconds is None else human_duration(seconds)


def source_line(report: SourceReport, now: datetime) -> tuple[str, ...]:
    s = report.status
    since = (now - s.last_success_at).total_seconds() if s.last_success_at else None
    state = "ok" if s.consecutive_failures == 0 else f"failing ×{s.consecutive_failures}"
    return (
        s.source,
        state,
        duration(s.interval),
        "never" if since is None else duration(since) + " ago",
        f"{s.polls}/{s.errors}",
        str(s.items_seen),
        f"{duration(report.delay_median)} / {duration(report.delay_p95)}",
        s.last_error[:60] if s.consecutive_failures else "",
    )


HEADER = ("source", "state", "every", "last ok", "polls/err", "items", "delay p50/p95", "error")


def format_table(report: StatusReport) -> str:
    rows = [HEADER, *(source_line(r, report.now) for r in report.sources)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]  # fmt: skip
    if not report.sources:
        lines.append("(no source has been polled yet)")
    lines.append(f"alerts waiting for delivery: {report.pending_alerts}")
    for route in report.routes:
        wait = ""
        if route.paused_until is not None and route.paused_until > report.now:
            wait = f", retried in {duration((route.paused_until - report.now).total_seconds())}"
        lines.append(
            f"route {route.route.key} failing ×{route.consecutive_failures}{wait}:"
            f" {route.last_error[:80]}"
        )
    return "\n".join(lines)
