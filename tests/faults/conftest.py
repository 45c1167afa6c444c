"""What the fault tests share: a fake Slack whose message ts are real posting times (the
outbox reads a channel back by time after a crash)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """Message ts are real posting times here: the outbox reads the channel back by time.
    The trials' watch lists name their channel "#faults", as users name channels."""
    fake = FakeSlack(realtime=True).start()
    fake.add_channel("faults", "C0FAULTS")
    try:
        yield fake
    finally:
        fake.stop()
