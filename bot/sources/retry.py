"""The retry policy inside one poll of an API source (tenacity): transient fetch errors are
retried with backoff; a server's short Retry-After is obeyed, a long one ends the poll."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from bot.http import FetchError

log = logging.getLogger(__name__)


def retrying(
    name: str, attempts: int, sleep: Callable[[float], None], max_wait: float = 30.0
) -> Retrying:
    """Retries of a transient FetchError within one poll, as FeedSource does: a server's
    Retry-After is obeyed when it is short; a longer one ends the poll (the poller then waits
    it out) instead of being slept through here."""

    def worth_it(error: BaseException) -> bool:
        return (
            isinstance(error, FetchError)
            and not error.permanent
            and (error.retry_after is None or error.retry_after <= max_wait)
        )

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, FetchError) and error.retry_after is not None:
            return min(error.retry_after, max_wait)
        return min(max_wait, 2.0 ** (state.attempt_number - 1) + random.uniform(0, 1))

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else ""
        log.info("source %s: attempt %d failed (%s); retrying", name, state.attempt_number, error)

    return Retrying(
        retry=retry_if_exception(worth_it),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait,
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )
