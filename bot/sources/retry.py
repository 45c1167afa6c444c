"""The retry policy inside one poll of any HTTP source (tenacity for sync fetches, the same
two rules for the poller's async feed fetches): transient fetch errors are retried with
backoff; a server's short Retry-After is obeyed, a long one ends the poll and rides along on
the SourceError, so the poller waits it out instead of this poll sleeping through it."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from bot.http import FetchError
from bot.sources.base import SourceError

log = logging.getLogger(__name__)

MAX_WAIT = 30.0  # the longest a poll waits between two attempts


def worth_retrying(error: BaseException, max_wait: float = MAX_WAIT) -> bool:
    # Not when the server asked for more than we would wait here: the poller then
    # schedules the next poll after its Retry-After instead of knocking again.
    return (
        isinstance(error, FetchError)
        and not error.permanent
        and (error.retry_after is None or error.retry_after <= max_wait)
    )


def retry_wait(error: BaseException | None, attempt: int, max_wait: float = MAX_WAIT) -> float:
    # A server that says when to come back is obeyed (within reason); else exponential
    # from 1 s with up to 1 s of jitter, as tenacity's wait_exponential_jitter.
    if isinstance(error, FetchError) and error.retry_after is not None:
        return min(error.retry_after, max_wait)
    return min(max_wait, 2.0 ** (attempt - 1) + random.uniform(0, 1))


def log_retry(name: str, attempt: int, error: object) -> None:
    log.info("source %s: attempt %d failed (%s); retrying", name, attempt, error)


def retrying(
    name: str, attempts: int, sleep: Callable[[float], None], max_wait: float = MAX_WAIT
) -> Retrying:
    """tenacity's Retrying with this policy, for a sync fetch."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return retry_wait(error, state.attempt_number, max_wait)

    def before_sleep(state: RetryCallState) -> None:
        log_retry(name, state.attempt_number, state.outcome.exception() if state.outcome else "")

    return Retrying(
        retry=retry_if_exception(lambda error: worth_retrying(error, max_wait)),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait,
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )


def source_error(exc: FetchError) -> SourceError:
    """A fetch error as the poller sees it; a server's Retry-After rides along, so the next
    poll waits at least that long."""
    return SourceError(str(exc), permanent=exc.permanent, retry_after=exc.retry_after)
