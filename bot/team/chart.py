"""The sentiment trend as a PNG: stacked bars of negative, neutral and positive mentions per
day (or hour), drawn headless with matplotlib's Agg canvas. No pyplot: a Figure of our own
per call, so digests drawn on two threads never share state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

WIDTH_PX, HEIGHT_PX, DPI = 800, 400, 100
COLOURS = {"negative": "#d64545", "neutral": "#9aa5b1", "positive": "#3f9142"}


def sentiment_chart(
    trend: Sequence[tuple[datetime, dict[str, int]]],
    title: str,
    *,
    hourly: bool = False,
    zone: tzinfo = UTC,
) -> bytes:
    """PNG bytes, exactly WIDTH_PX × HEIGHT_PX."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [_label(at, hourly, zone) for at, _ in trend]
    positions = list(range(len(trend)))
    bottom = [0] * len(trend)
    for sentiment, colour in COLOURS.items():
        values = [counts.get(sentiment, 0) for _, counts in trend]
        axes.bar(positions, values, bottom=bottom, color=colour, label=sentiment, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title(title[:120], fontsize=12)
    axes.set_ylabel("mentions")
    step = max(1, len(labels) // 10)
    axes.set_xticks(positions[::step], labels[::step], rotation=0, fontsize=8)
    axes.set_ylim(0, max([*bottom, 1]) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=3)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    # No bbox_inches="tight": the size stays exactly what chat clients lay out for.
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _label(at: datetime, hourly: bool, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%H:%M" if hourly else "%a %d %b")


def trend_table(
    trend: Sequence[tuple[datetime, dict[str, int]]], *, hourly: bool = False, zone: tzinfo = UTC
) -> str:
    """The same numbers as text, for where an image cannot be shown."""
    rows = [f"{'':<12}{'neg':>5}{'neu':>5}{'pos':>5}"]
    for at, counts in trend:
        label = _label(at, hourly, zone)
        rows.append(
            f"{label:<12}{counts.get('negative', 0):>5}{counts.get('neutral', 0):>5}"
            f"{counts.get('positive', 0):>5}"
        )
    return "\n".join(rows)
