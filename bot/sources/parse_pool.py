"""Feed documents parsed in worker processes, each under a time budget, so that no document
can stall the poller's event loop or hold the CPU for long.

`parse_feed` is linear in its input (tests/sources/test_linear_time.py), but it runs
third-party parsers too, and a 10 MB document still takes a while. A thread cannot be
stopped; a process can. Two lanes of workers:
- quick: documents up to `quick_bytes` from sources that have parsed quickly so far, with a
  budget of `quick_budget` seconds. Healthy feeds never wait behind a hostile one for longer.
- slow: everything else, one worker, with the full `budget`. A document that ran over the
  quick budget is parsed again here (its source stays here until it parses quickly again).
A document over the full budget is refused for that poll (SourceError, shown by `mentionbot
status`; the source backs off) and its worker is killed and replaced. A worker that dies
(memory limit, crash) is replaced the same way. A worker is a fresh interpreter
(bot/sources/parse_worker.py), started on first use and after a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import select
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import IO, Protocol

from bot.models import RawEntry
from bot.sources.base import SourceError

log = logging.getLogger(__name__)


STARTUP_SECONDS = 60.0  # a worker's imports, on a busy machine
READY = b"ready"


class OverBudget(Exception):
    """The document took longer than the lane's budget (its worker is gone)."""


class OverBudgetError(SourceError):
    """A document refused for this poll because it took longer than the whole budget."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class Parser(Protocol):
    """Turns a feed document into entries (bot.sources.feeds.parse_feed's contract)."""

    async def parse(self, source: str, body: bytes, content_type: str) -> list[RawEntry]: ...

    def close(self) -> None: ...


class InlineParser:
    """`parse_feed` in a thread beside the event loop: no budget (tests, one-off polls)."""

    async def parse(self, source: str, body: bytes, content_type: str) -> list[RawEntry]:
        from bot.sources.feeds import parse_feed

        return await asyncio.to_thread(parse_feed, source, body, content_type)

    def close(self) -> None:
        pass


class ParsePool:
    def __init__(
        self,
        *,
        workers: int = 1,
        budget: float = 10.0,
        quick_budget: float = 1.0,
        quick_bytes: int = 1_000_000,
    ) -> None:
        self.budget = budget
        self.quick_budget = min(quick_budget, budget)
        self.quick_bytes = quick_bytes
        self._quick = _Lane(max(1, workers), "quick")
        self._slow = _Lane(1, "slow")
        self._slow_sources: set[str] = set()
        self._lock = threading.Lock()
        # Threads that wait for the workers' answers (a pipe read releases the GIL).
        self._waiters = ThreadPoolExecutor(max(1, workers) + 4, thread_name_prefix="parse-wait")

    @classmethod
    def from_settings(cls, settings: object) -> ParsePool:
        return cls(
            workers=getattr(settings, "parse_workers", 1),
            budget=getattr(settings, "parse_budget_seconds", 10.0),
            quick_budget=getattr(settings, "parse_quick_budget_seconds", 1.0),
        )

    async def parse(self, source: str, body: bytes, content_type: str) -> list[RawEntry]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._waiters, self.parse_blocking, source, body, content_type
        )

    def parse_blocking(self, source: str, body: bytes, content_type: str) -> list[RawEntry]:
        with self._lock:
            slow = source in self._slow_sources
        if not slow and len(body) <= self.quick_bytes:
            try:
                return self._quick.run(source, body, content_type, self.quick_budget)
            except OverBudget:
                log.info("source %s: a document took over %.1f s to parse; parsing it apart "
                         "from the quick ones", source, self.quick_budget)  # fmt: skip
                with self._lock:
                    self._slow_sources.add(source)
        started = time.monotonic()
        try:
            entries = self._slow.run(source, body, content_type, self.budget)
        except OverBudget:
            raise OverBudgetError(
                f"refused: the document took over {self.budget:g} s to parse "
                f"({len(body):,} bytes; PARSE_BUDGET_SECONDS)"
            ) from None
        if time.monotonic() - started < self.quick_budget / 2:
            with self._lock:
                self._slow_sources.discard(source)
        return entries

    def close(self) -> None:
        self._quick.close()
        self._slow.close()
        self._waiters.shutdown(wait=False)


class _Lane:
    """Workers of one lane: an idle worker is taken for each document (waiting, without a
    budget running, while all are busy) and given back after."""

    def __init__(self, size: int, name: str) -> None:
        self.name = name
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._idle.put(None)  # started on first use
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(self, source: str, body: bytes, content_type: str, budget: float) -> list[RawEntry]:
        worker = self._idle.get() or self._start()
        try:
            entries = worker.parse(source, body, content_type, budget)
        except BaseException:
            self._retire(worker)
            self._idle.put(None)  # a fresh one next time
            raise
        self._idle.put(worker)
        return entries

    def _start(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise SourceError("the parser is closed")
            worker = _Worker(self.name)
            self._all.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._closed = list(self._all), set(), True
        for worker in workers:
            worker.kill()


class _Worker:
    """One worker process (`python -m bot.sources.parse_worker`): a fresh interpreter, not
    a fork of this threaded one. Documents go in and entries come out as length-prefixed
    JSON over its stdin and stdout; nothing it sends back is ever unpickled."""

    def __init__(self, lane: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.sources.parse_worker", lane],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        # It says so once its imports are done: a budget counts parsing, not starting up.
        try:
            ready = read_frame(self.process.stdout, time.monotonic() + STARTUP_SECONDS)  # type: ignore[arg-type]
        except (OSError, EOFError):
            ready = None
        if ready != READY:
            self.kill()
            raise SourceError("the parser process did not start")

    def parse(self, source: str, body: bytes, content_type: str, budget: float) -> list[RawEntry]:
        """The entries, SourceError for a document the parser refuses, OverBudget when it
        takes longer than `budget` (the worker is then unusable: the caller kills it)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        header = json.dumps({"source": source, "content_type": content_type}).encode()
        try:
            self.process.stdin.write(frame(header) + frame(body))
            deadline = time.monotonic() + budget
            answer = read_frame(self.process.stdout, deadline)
        except (OSError, EOFError, ValueError):
            raise SourceError("the parser process died on this document") from None
        if answer is None:
            raise OverBudget
        return decode_answer(answer)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


# --- the wire: a 4-byte big-endian length, then that many bytes ----------------------------
def frame(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def read_frame(stream: IO[bytes], deadline: float | None = None) -> bytes | None:
    """One frame; None if `deadline` (time.monotonic) passes first; EOFError at the end."""
    head = _read(stream, 4, deadline)
    if head is None:
        return None
    return _read(stream, int.from_bytes(head, "big"), deadline)


def _read(stream: IO[bytes], size: int, deadline: float | None) -> bytes | None:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([stream], [], [], wait)[0]:
                return None
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the worker closed its output")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def encode_answer(entries: list[RawEntry] | None, error: SourceError | None = None) -> bytes:
    if error is not None:
        return json.dumps({"error": [str(error), error.permanent, error.retry_after]}).encode()
    rows = [
        [e.source, e.external_id, e.url, e.title, e.text, e.author,
         e.published_at.isoformat() if e.published_at else None]
        for e in entries or []
    ]  # fmt: skip
    return json.dumps({"ok": rows}, ensure_ascii=False).encode()


def _entry(row: list[str | None]) -> RawEntry:
    source, external_id, url, title, text, author, published = row
    return RawEntry(
        source=str(source), external_id=str(external_id), url=str(url), title=str(title),
        text=str(text), author=str(author),
        published_at=datetime.fromisoformat(published) if published else None,
    )  # fmt: skip


def decode_answer(answer: bytes) -> list[RawEntry]:
    try:
        document = json.loads(answer)
        if "error" in document:
            message, permanent, retry_after = document["error"]
            raise SourceError(str(message), permanent=bool(permanent), retry_after=retry_after)
        return [_entry(row) for row in document["ok"]]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise SourceError(f"the parser process answered nonsense: {exc}") from None
