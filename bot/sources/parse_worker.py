"""A parse worker (bot/sources/parse_pool.py starts it as `python -m
bot.sources.parse_worker`): reads documents from stdin and writes their entries, or the
refusal, to stdout, one framed JSON answer per document, until stdin ends. Its address space
is limited, so a document that would need gigabytes gets a MemoryError here, not the bot."""

from __future__ import annotations

import contextlib
import json
import resource
import sys

from bot.sources.base import SourceError
from bot.sources.feeds import parse_feed
from bot.sources.parse_pool import READY, encode_answer, frame, read_frame

MEMORY_BYTES = 2 << 30


def main() -> None:
    with contextlib.suppress(ValueError, OSError):  # a platform without the limit
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    answers.write(frame(READY))
    answers.flush()
    while True:
        try:
            header, body = read_frame(requests), read_frame(requests)
        except EOFError:
            return  # the bot is gone, or done with us
        assert header is not None and body is not None
        request = json.loads(header)
        try:
            answer = encode_answer(parse_feed(request["source"], body, request["content_type"]))
        except SourceError as exc:
            answer = encode_answer(None, exc)
        except MemoryError:
            answer = encode_answer(
                None, SourceError("refused: the document needs too much memory", permanent=True)
            )
        except Exception as exc:  # a parser bug: this document fails, the worker goes on
            answer = encode_answer(
                None, SourceError(f"could not parse: {type(exc).__name__}: {exc}"[:300])
            )
        answers.write(frame(answer))
        answers.flush()


if __name__ == "__main__":
    main()
