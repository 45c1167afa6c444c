"""Server-sent events (text/event-stream) decoding: bytes in, events out, with size caps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    oversized: bool = False


class SseDecoder:
    """Bytes in, events out (server-sent events): `event:` and `data:` fields, a blank line ends
    an event, lines starting with ':' are comments (Mastodon's `:thump` heartbeat). A line or
    event over the caps is dropped whole and reported as oversized."""

    def __init__(self, max_line: int, max_event: int) -> None:
        self.max_line, self.max_event = max_line, max_event
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line: drop bytes until its end
        self.lines = 0  # complete lines read (heartbeats included): the stream is alive
        self._reset()

    def _reset(self) -> None:
        self._data: list[str] = []
        self._name, self._size, self._oversized = "", 0, False

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += chunk
        events: list[SseEvent] = []
        start = 0
        while (end := self._buffer.find(b"\n", start)) >= 0:
            line = bytes(self._buffer[start:end])
            start = end + 1
            self.lines += 1
            if self._skipping:
                self._skipping = False
            elif len(line) > self.max_line:
                self._oversized = True
            elif (event := self._line(line.rstrip(b"\r"))) is not None:
                events.append(event)
        del self._buffer[:start]
        if len(self._buffer) > self.max_line:
            self._buffer.clear()
            self._skipping = self._oversized = True
        return events

    def _line(self, line: bytes) -> SseEvent | None:
        if not line:
            event = None
            if self._oversized:
                event = SseEvent(self._name or "message", "", oversized=True)
            elif self._data or self._name:
                event = SseEvent(self._name or "message", "\n".join(self._data))
            self._reset()
            return event
        if line.startswith(b":"):
            return None
        field, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if field == b"event":
            self._name = value.decode("utf-8", "replace")
        elif field == b"data":
            self._size += len(value)
            if self._size > self.max_event:
                self._oversized, self._data = True, []
            elif not self._oversized:
                self._data.append(value.decode("utf-8", "replace"))
        return None  # `id` and `retry`: Mastodon sends neither
