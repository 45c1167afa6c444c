"""Running a StreamSource in a test: an emit that records each batch and can be waited on, the
source's run() in a thread that is stopped and joined at the end of the test, and the source
run through the real runtime and store (StoredStream)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.chat.console import ConsoleAdapter
from bot.config import BrandConfig, SourceConfig, WatchList, load_settings
from bot.models import RawEntry
from bot.runtime import Runtime, StreamJob, build_runtime, run_stream
from bot.sources.base import Emit


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


class StoredStream:
    """One stream source of a watch list run through the real runtime (brand matcher,
    pipeline, SQLite store, `run_stream` saving the cursor) in a thread. `stored` sees each
    batch after run_stream has stored it; `reopened()` is a fresh runtime on the same store."""

    def __init__(self, tmp_path: Path, config: SourceConfig, stored: Collector) -> None:
        self.settings = load_settings(
            allow_private_hosts=["127.0.0.1"],
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            scorer="lexicon",
        )
        self.watch = WatchList(
            brand=[BrandConfig(name="Acme", terms=["acme"], channel="#alerts", sources=[config])]
        )
        self.runtime = build_runtime(self.settings, ConsoleAdapter(io.StringIO()), watch=self.watch)
        [self.job] = self.runtime.streams
        self.stored = stored
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=run_stream,
            args=(self.runtime, StreamJob(self.job.brand, self), self.stop, threading.Event()),
        )

    @property
    def source(self) -> Any:
        return self.job.source

    @property
    def name(self) -> str:
        return str(self.source.name)

    def run(self, emit: Emit, cursor: str, stop: threading.Event) -> None:
        """What run_stream drives: the real source, with each stored batch copied to `stored`."""

        def observed(entries: Sequence[RawEntry], cursor: str) -> None:
            emit(entries, cursor)
            self.stored(entries, cursor)

        self.source.run(observed, cursor, stop)

    def start(self) -> None:
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.runtime.close()

    @contextmanager
    def reopened(self) -> Iterator[Runtime]:
        runtime = build_runtime(self.settings, ConsoleAdapter(io.StringIO()), watch=self.watch)
        try:
            yield runtime
        finally:
            runtime.close()
