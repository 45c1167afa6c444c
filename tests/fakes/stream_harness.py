"""Running a StreamSource in a test: an emit that records each batch and can be waited on, and
the source's run() in a thread that is stopped and joined at the end of the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from bot.models import RawEntry


class Collector:
    """An emit that records each batch and lets a test wait for what it expects."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[RawEntry], str]] = []
        self._cond = threading.Condition()

    def __call__(self, entries: Sequence[RawEntry], cursor: str) -> None:
        with self._cond:
            self.batches.append((list(entries), cursor))
            self._cond.notify_all()

    @property
    def entries(self) -> list[RawEntry]:
        return [e for batch, _ in self.batches for e in batch]

    @property
    def cursor(self) -> Any:
        return self.batches[-1][1] if self.batches else ""

    def ids(self) -> list[str]:
        return [e.external_id for e in self.entries]

    def wait(self, done: Callable[[Any], bool], timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: done(self), timeout)


class Running:
    """A source's run() in a thread, stopped (and joined) at the end of the test."""

    def __init__(self, source: Any, cursor: str = "", emit: Collector | None = None) -> None:
        self.stop = threading.Event()
        self.emit = emit if emit is not None else Collector()
        self.thread = threading.Thread(target=source.run, args=(self.emit, cursor, self.stop))
        self.thread.start()

    def end(self) -> float:
        """Stop the source; the seconds it took to return."""
        started = time.monotonic()
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        return time.monotonic() - started


def running_fixture(collector: type[Collector] = Collector) -> Any:
    """A `running` fixture: `running(source, cursor)` starts it; all are ended after the test."""

    @pytest.fixture
    def running() -> Iterator[Callable[..., Running]]:
        started: list[Running] = []

        def start(source: Any, cursor: str = "") -> Running:
            started.append(Running(source, cursor, collector()))
            return started[-1]

        yield start
        for run in started:
            run.end()

    return running
