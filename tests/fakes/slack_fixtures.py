"""pytest fixtures for the fake Slack Web API (list in `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running fake Slack Web API on 127.0.0.1; `fake_slack.api_url` is the WebClient base."""
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()
