"""Shared fixtures: stores on both backends, a controllable clock, sample data paths."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Mention, Route, Sentiment, Verdict
from bot.store import Store, open_store

pytest_plugins = ["tests.fakes.slack_fixtures", "tests.fakes.feed_server"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared sample data sits beside the project root")
    return path


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def postgres_available() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1:5432, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=2):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable on 127.0.0.1:5432 ({type(exc).__name__})"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mentions.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'mentions.db'}")
    yield s
    s.close()


def make_verdict(
    sentiment: Sentiment = Sentiment.NEGATIVE, attention: float = 0.6, **extra: object
) -> Verdict:
    score = {Sentiment.NEGATIVE: -attention, Sentiment.POSITIVE: 0.5}.get(sentiment, 0.0)
    return Verdict(
        sentiment=sentiment,
        score=score,
        p_negative=attention if sentiment == Sentiment.NEGATIVE else 0.1,
        attention=attention,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def make_mention(clock: Clock) -> Callable[..., Mention]:
    counter = iter(range(1, 1_000_000))

    def make(**fields: object) -> Mention:
        n = next(counter)
        values: dict[str, object] = {
            "brand": "Acme",
            "source": "test-feed",
            "external_id": f"entry-{n}",
            "url": f"https://example.com/post/{n}",
            "canonical_url": f"https://example.com/post/{n}",
            "title": f"Post number {n} about Acme",
            "text": "Acme broke my order again, terrible service.",
            "author": "jdoe",
            "published_at": clock() - timedelta(minutes=5),
            "fetched_at": clock(),
            "matched_term": "acme",
            "verdict": make_verdict(),
            "routes": (Route("slack", "#alerts"),),
            "text_key": "",
        }
        values.update(fields)
        return Mention(**values)  # type: ignore[arg-type]

    return make
