"""Text analysis: language, sentiment and intent behind one `Scorer` interface. No I/O."""

from __future__ import annotations

from bot.analysis.base import Scorer, available_scorers, get_scorer

__all__ = ["Scorer", "available_scorers", "get_scorer"]
