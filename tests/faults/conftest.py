"""What the fault tests share: a fake Slack whose message ts are real posting times (the
outbox reads a channel back by time after a crash)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(realtime=True).start()
    try:
        yield fake
    finally:
        fake.stop()
