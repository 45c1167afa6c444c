"""Settings from the environment and `.env` (pydantic-settings), and the TOML watch list.

Both are validated at start; a mistake is reported as one readable `ConfigError` naming the
setting or the watch-list entry at fault, never as a stack trace.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError


class ConfigError(Exception):
    """Configuration that cannot work; the message says what to change."""


# Lists arrive from the environment as "a,b,c", not JSON; `_split_commas` parses them.
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting is listed, with a comment, in `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_id: str = ""
    slack_mode: Literal["socket", "http"] = "socket"
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=3000, ge=0, le=65535)
    admin_users: CommaList = Field(default_factory=list)
    allowed_channels: CommaList = Field(default_factory=list)

    # Where and what to watch
    watch_list: Path = Path("watch.toml")
    database_url: str = "sqlite:///mentionbot.db"

    # Detection
    scorer: str = "e5"
    alert_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # The cascade scorer (docs/detection.md): the share of mentions its first stage is least
    # sure of, which go on to e5. 0 = never (USE only), 1 = always (as slow as e5).
    cascade_share: float = Field(default=0.2, ge=0.0, le=1.0)

    # Fetching
    poll_interval: float = Field(default=300.0, gt=0)
    poll_interval_min: float = Field(default=60.0, gt=0)
    poll_interval_max: float = Field(default=1800.0, gt=0)
    fetch_timeout: float = Field(default=20.0, gt=0)
    max_feed_bytes: int = Field(default=10_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    fetch_retries: int = Field(default=3, ge=1)
    user_agent: str = "mentionbot/0.1 (+https://github.com/mentionbot/mentionbot)"
    allow_private_hosts: CommaList = Field(default_factory=list)
    fetch_per_host: int = Field(default=6, ge=1)
    http_async_backend: Literal["", "aiohttp", "httpx"] = ""

    # Platform sources
    jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    reddit_client_id: str = ""
    reddit_client_secret: SecretStr | None = None
    reddit_url: str = "https://www.reddit.com"
    reddit_auth_url: str = "https://www.reddit.com"
    reddit_api_url: str = "https://oauth.reddit.com"
    hackernews_api_url: str = "https://hn.algolia.com/api/v1/"

    # Delivery
    ops_channel: str = ""
    # Replicas: how long one may hold a feed it polls / an alert it delivers before another
    # takes over. Longer than the slowest fetch or Slack call, or two could work at once.
    poll_lease_seconds: float = Field(default=300.0, gt=0)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_batch: int = Field(default=20, ge=1)
    outbox_max_backoff: float = Field(default=600.0, gt=0)

    metrics_port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "INFO"

    @field_validator("admin_users", "allowed_channels", "allow_private_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())


def load_settings(**overrides: object) -> Settings:
    """Read settings; overrides (used by tests and the CLI) win over the environment."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc, prefix="setting")) from None
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None


SourceKind = Literal["feed", "hackernews", "bluesky", "mastodon", "reddit"]


class SourceConfig(BaseModel):
    """One source of a brand. `kind` says which fields it reads:

    feed: url. hackernews: query (default: the brand's terms). bluesky (Jetstream): url of the
    Jetstream WebSocket (optional). mastodon: instance and tag, token_env for instances that
    need a token. reddit: query; OAuth credentials come from REDDIT_CLIENT_ID/SECRET settings.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    kind: SourceKind = "feed"
    url: str = ""
    query: str = ""
    instance: str = ""
    tag: str = ""
    token_env: str = ""
    interval: float | None = Field(default=None, gt=0)

    @field_validator("url", "instance")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must start with http://, https://, ws:// or wss://")
        return value

    @model_validator(mode="after")
    def _needs(self) -> SourceConfig:
        if self.kind == "feed" and not self.url.startswith(("http://", "https://")):
            raise ValueError("a feed source needs a url starting with http:// or https://")
        if self.kind == "mastodon" and not (self.instance and self.tag):
            raise ValueError("a mastodon source needs instance and tag")
        return self


class BrandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    channel: str = ""
    alert_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    sources: list[SourceConfig] = Field(default_factory=list)


class WatchList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: list[BrandConfig] = Field(min_length=1)

    def sources(self) -> list[tuple[BrandConfig, SourceConfig]]:
        return [(b, s) for b in self.brand for s in b.sources]


def load_watch_list(path: Path) -> WatchList:
    """Parse and validate a watch list; name every source that has no name."""
    if not path.exists():
        raise ConfigError(
            f"watch list {path} not found; copy watch.example.toml to {path} "
            "or set WATCH_LIST to its path"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"watch list {path} is not valid TOML: {exc}") from None
    try:
        watch = WatchList.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"watch list {path}: " + _describe(exc, prefix="entry")) from None
    seen: set[str] = set()
    for brand in watch.brand:
        for index, source in enumerate(brand.sources, start=1):
            if not source.name:
                source.name = f"{_slug(brand.name)}-{index}"
            if source.name in seen:
                raise ConfigError(f"watch list {path}: source name {source.name!r} is used twice")
            seen.add(source.name)
            if source.kind in ("hackernews", "reddit") and not source.query:
                source.query = search_query(brand.terms)
    return watch


def search_query(terms: list[str]) -> str:
    """A platform search query from a brand's terms: the positive phrases joined by OR
    (exclusions are applied locally by the matcher, not by the platform)."""
    phrases = [t.strip() for t in terms if t.strip() and not t.strip().startswith("-")]
    return " OR ".join(p if p.startswith('"') or " " not in p else f'"{p}"' for p in phrases)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "brand"


def _describe(exc: ValidationError, *, prefix: str) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{prefix} {where}: {error['msg']}")
    return "; ".join(lines)
