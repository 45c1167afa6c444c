"""The scorer interface and the registry that picks one by name (the `SCORER` setting)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from bot.models import Verdict


@runtime_checkable
class Scorer(Protocol):
    """Scores texts. Must never raise on any string (empty, huge, emoji, HTML leftovers)."""

    name: str

    def score(self, text: str) -> Verdict: ...

    def score_many(self, texts: Sequence[str]) -> list[Verdict]: ...


_FACTORIES: dict[str, Callable[..., Scorer]] = {}


def register(name: str, factory: Callable[..., Scorer]) -> None:
    """`factory(**options)` builds the scorer; it takes the options it knows and ignores the
    rest (the runtime passes every scorer setting, e.g. `cascade_share`)."""
    _FACTORIES[name] = factory


def available_scorers() -> list[str]:
    _load_builtin()
    return sorted(_FACTORIES)


def get_scorer(name: str, **options: object) -> Scorer:
    """Build the scorer called `name`; raise ValueError naming the valid choices."""
    _load_builtin()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown scorer {name!r}; choose one of: {', '.join(sorted(_FACTORIES))}"
        ) from None
    return factory(**options)


def _load_builtin() -> None:
    # Imported lazily so that `import bot.analysis` stays cheap and model files load on demand.
    from bot.analysis import cascade, textblob_scorer, trained  # noqa: F401
