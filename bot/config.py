"""Settings from the environment and `.env` (pydantic-settings), and the TOML watch list.

Both are validated at start; a mistake is reported as one readable `ConfigError` naming the
setting or the watch-list entry at fault, never as a stack trace.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

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

from bot.models import Route
from bot.team import hours


class ConfigError(Exception):
    """Configuration that cannot work; the message says what to change."""


# Lists arrive from the environment as "a,b,c", not JSON; `_split_commas` parses them.
CommaList = Annotated[list[str], NoDecode]


class SlackSettings(BaseModel):
    """SLACK_*: the Slack app. Without a bot token, alerts for Slack routes print here."""

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_id: str = ""
    mode: Literal["socket", "http"] = "socket"
    api_url: str = "https://slack.com/api/"  # tests and proxies only

    @field_validator("api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and bool(self.bot_token.get_secret_value())


class TeamsSettings(BaseModel):
    """TEAMS_*: the Microsoft Teams bot (Azure bot registration). The URLs default to
    Microsoft's public cloud; sovereign clouds (and tests) set their own."""

    app_id: str = ""
    app_password: SecretStr | None = None
    tenant_id: str = ""
    # A PEM file with the registration's certificate and its private key, instead of a secret.
    certificate_path: str = ""
    # Where the keys that sign Bot Framework requests are published (OpenID metadata → JWKS).
    openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    # Who signs the requests Teams sends the bot.
    token_issuer: str = "https://api.botframework.com"
    # Where the bot gets its own token for outgoing calls ({tenant} is TEAMS_TENANT_ID).
    token_url: str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    token_scope: str = "https://api.botframework.com/.default"
    # Comma-separated URL prefixes an activity's serviceUrl must start with: the bot sends its
    # token there, so nobody may point it elsewhere.
    allowed_service_urls: str = "https://smba.trafficmanager.net/"
    # Accept requests with no valid token. For a local emulator only: never in production.
    dangerously_accept_unauthenticated_requests: bool = False

    @field_validator("openid_metadata_url", "token_url", "token_issuer")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)

    @property
    def service_url_prefixes(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.allowed_service_urls.split(",") if p.strip())

    @property
    def token_endpoint(self) -> str:
        return self.token_url.replace("{tenant}", self.tenant_id or "botframework.com")


class Settings(BaseSettings):
    """Every setting is listed, with a comment, in `.env.example`.

    Each chat platform's settings are a group of their own (`settings.slack.bot_token` reads
    SLACK_BOT_TOKEN); the rest are grouped below by concern."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # SLACK_BOT_TOKEN → slack.bot_token: one split, at the first underscore, for the
        # nested platform groups only; flat settings keep their whole name.
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

    # Chat platforms
    slack: SlackSettings = Field(default_factory=SlackSettings)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)

    # Chat, whatever the platform
    admin_users: CommaList = Field(default_factory=list)  # user keys ("slack:U1", "teams:…")
    allowed_channels: CommaList = Field(default_factory=list)
    ops_channel: str = ""  # a route: "#ops" (Slack) or "teams:Ops"
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=3000, ge=0, le=65535)

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

    # Isolation and volume (issue 11): what one source or document may cost the others.
    # Worker processes that parse feed documents, beside one for slow documents.
    parse_workers: int = Field(default=1, ge=1, le=16)
    # The most seconds one document may take to parse; over it, refused for that poll.
    parse_budget_seconds: float = Field(default=10.0, gt=0)
    # A document slower than this is parsed apart from the others from then on.
    parse_quick_budget_seconds: float = Field(default=1.0, gt=0)
    # New mentions one poll of a source may score and alert; the rest are stored, held back.
    max_new_mentions_per_poll: int = Field(default=200, ge=0)
    # Alerts one brand may queue in any minute, all replicas together; 0: no bound.
    max_alerts_per_brand_per_minute: int = Field(default=30, ge=0)

    # Delivery and replicas: how long one may hold a feed it polls (renewed every third of it
    # while the poll runs, so a dead replica's feeds are taken over within it) / an alert it
    # delivers before another takes over (longer than the slowest chat call).
    poll_lease_seconds: float = Field(default=15.0, gt=0)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_batch: int = Field(default=20, ge=1)
    outbox_max_backoff: float = Field(default=600.0, gt=0)

    # Public replies (bot/publish): how long the alert offers Delete after a public reply, and
    # how long one call to Mastodon, Bluesky or Reddit may take.
    public_reply_undo_seconds: float = Field(default=300.0, ge=0)
    public_reply_timeout: float = Field(default=15.0, gt=0)

    metrics_port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "INFO"

    @field_validator("admin_users", "allowed_channels", "allow_private_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("admin_users")
    @classmethod
    def _user_keys(cls, value: list[str]) -> list[str]:
        """A bare id is a Slack user (as before platforms were named); "teams:<id>" is a
        Teams user. Stored and compared as user keys, so the two never collide."""
        return user_keys(value)

    @field_validator("ops_channel")
    @classmethod
    def _ops_route(cls, value: str) -> str:
        if value.strip():
            parse_route(value)  # raises ValueError with the reason
        return value.strip()

    @property
    def ops_route(self) -> Route | None:
        return parse_route(self.ops_channel) if self.ops_channel else None

    @property
    def slack_enabled(self) -> bool:
        return self.slack.enabled


# Flat override names (as in the environment) for the nested platform groups, so callers
# and tests can say load_settings(slack_bot_token=...) just as they would write the variable.
_GROUPS = ("slack", "teams")


def load_settings(**overrides: object) -> Settings:
    """Read settings; overrides (used by tests and the CLI) win over the environment. They
    are named as the variables are: `slack_bot_token=` sets SLACK_BOT_TOKEN."""
    grouped: dict[str, object] = {}
    nested: dict[str, dict[str, object]] = {}
    for name, value in overrides.items():
        group, _, rest = name.partition("_")
        if group in _GROUPS and rest:
            nested.setdefault(group, {})[rest] = value
        else:
            grouped[name] = value
    grouped.update(nested)  # pydantic-settings merges each group with the environment's
    try:
        return Settings(**grouped)  # type: ignore[arg-type]
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
        return _with_host(value)

    @model_validator(mode="after")
    def _needs(self) -> SourceConfig:
        if self.kind == "feed" and not self.url.startswith(("http://", "https://")):
            raise ValueError("a feed source needs a url starting with http:// or https://")
        if self.kind == "mastodon" and not (self.instance and self.tag):
            raise ValueError("a mastodon source needs instance and tag")
        return self


def _with_host(url: str) -> str:
    """The URL, or ValueError when it has no host or an invalid port."""
    if url:
        parts = urlsplit(url)
        if not parts.hostname:
            raise ValueError(f"{url!r} has no host")
        try:
            parts.port  # noqa: B018 (raises ValueError for a port out of range)
        except ValueError:
            raise ValueError(f"{url!r} has an invalid port") from None
    return url


# Slack channel ids (C…, G… for old private channels) and names as Slack allows them.
_SLACK_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")
_SLACK_NAME = re.compile(r"^#?[a-z0-9][a-z0-9._\-]{0,79}$")


def parse_route(text: str) -> Route:
    """ "#acme" or "C0123ABCD" → a Slack route; "teams:Customer care" → a Teams route."""
    platform, sep, channel = text.partition(":")
    name = platform.strip().lower()
    if sep and name in ("slack", "teams"):
        return RouteConfig(
            platform="teams" if name == "teams" else "slack", channel=channel
        ).as_route()
    return RouteConfig(platform="slack", channel=text).as_route()


def check_channel(platform: str, channel: str) -> str:
    """The channel, stripped; ValueError saying what is wrong with it."""
    channel = channel.strip()
    if not channel:
        raise ValueError("is empty: name the channel alerts go to")
    if len(channel) > 200 or any(ord(c) < 32 for c in channel):
        raise ValueError(f"{channel[:40]!r} is not a channel name")
    if platform == "slack" and not (_SLACK_ID.match(channel) or _SLACK_NAME.match(channel.lower())):
        raise ValueError(
            f"{channel!r} is not a Slack channel: write its name (#acme-mentions) or id (C0123ABCD)"
        )
    return channel


class RouteConfig(BaseModel):
    """`[[brand.route]]`: one place a brand's alerts go."""

    model_config = ConfigDict(extra="forbid")

    platform: Literal["slack", "teams"] = "slack"
    channel: str

    @model_validator(mode="after")
    def _valid_channel(self) -> RouteConfig:
        self.channel = check_channel(self.platform, self.channel)
        return self

    def as_route(self) -> Route:
        return Route(self.platform, self.channel)


# --- public replies: a brand's own accounts, who may post, its reply templates -----------------

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
AccountPlatform = Literal["mastodon", "bluesky", "reddit"]


def _env_name(value: str) -> str:
    value = value.strip()
    if value and not _ENV_NAME.match(value):
        # Someone pasted the secret itself: say so without repeating it.
        raise ValueError(
            "must name an environment variable (like ACME_MASTODON_TOKEN) that holds the "
            "secret, never the secret itself"
        )
    return value


class AccountConfig(BaseModel):
    """`[[brand.account]]`: the brand's own account on a platform, to answer customers there
    in public. Secrets stay in the environment: the `*_env` keys name the variables.

    mastodon: instance, token_env (an access token with write:statuses).
    bluesky:  handle, password_env (an app password); service: the PDS or entryway
              (default https://bsky.social).
    reddit:   username, and password_env (a script app) or refresh_token_env; client_id_env /
              client_secret_env name the app's credentials (default REDDIT_CLIENT_ID/SECRET).
    """

    model_config = ConfigDict(extra="forbid")

    platform: AccountPlatform
    instance: str = ""
    token_env: str = ""
    handle: str = ""
    service: str = "https://bsky.social"
    username: str = ""
    password_env: str = ""
    refresh_token_env: str = ""
    client_id_env: str = "REDDIT_CLIENT_ID"
    client_secret_env: str = "REDDIT_CLIENT_SECRET"

    _names = field_validator(
        "token_env", "password_env", "refresh_token_env", "client_id_env", "client_secret_env"
    )(_env_name)

    @field_validator("instance", "service")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http://)")
        return _with_host(value).rstrip("/")

    @model_validator(mode="after")
    def _complete(self) -> AccountConfig:
        need = {
            "mastodon": ("instance", "token_env"),
            "bluesky": ("handle", "password_env"),
            "reddit": ("username",),
        }[self.platform]
        missing = [name for name in need if not getattr(self, name)]
        if self.platform == "reddit" and not (self.password_env or self.refresh_token_env):
            missing.append("password_env or refresh_token_env")
        if missing:
            raise ValueError(f"a {self.platform} account needs " + ", ".join(missing))
        self.handle = self.handle.strip().lstrip("@")
        self.username = self.username.strip().removeprefix("u/").removeprefix("/u/")
        return self


TemplateKind = Literal["any", "complaint", "question", "praise", "neutral"]


class TemplateConfig(BaseModel):
    """`[[brand.template]]`: a reply draft of the brand's own, for one language (ISO 639-1)
    and, optionally, one kind of mention. {name} and {brand} are replaced as plain text."""

    model_config = ConfigDict(extra="forbid")

    lang: str = Field(min_length=2, max_length=3, pattern=r"^[a-z]{2,3}$")
    kind: TemplateKind = "any"
    text: str = Field(min_length=1, max_length=3000)


def user_keys(value: list[str]) -> list[str]:
    """People as user keys: a bare id is a Slack user; "teams:<id>" a Teams user."""
    keys = []
    for item in value:
        platform, sep, user_id = item.partition(":")
        if sep and platform.lower() in ("slack", "teams") and user_id.strip():
            keys.append(f"{platform.lower()}:{user_id.strip()}")
        elif sep:
            raise ValueError(f"{item!r}: write a Slack user id (U…) or teams:<user id>")
        else:
            keys.append(f"slack:{item.strip()}")
    return keys


# --- team workflow per brand (targets, escalation, routing, digests; see bot/team/) ----------


class TargetsConfig(BaseModel):
    """`[brand.targets]`: how fast the team should claim and first answer, in working time."""

    model_config = ConfigDict(extra="forbid")

    claim_minutes: float = Field(default=15.0, gt=0)
    reply_minutes: float = Field(default=60.0, gt=0)
    timezone: str = "UTC"
    business_hours: str = ""  # "09:00-17:30"; empty: around the clock
    business_days: str = "mon-fri"  # only with business_hours

    @model_validator(mode="after")
    def _valid(self) -> TargetsConfig:
        hours.parse_zone(self.timezone)
        if self.business_hours:
            hours.parse_range(self.business_hours)
            hours.parse_days(self.business_days)
        return self


class EscalationConfig(BaseModel):
    """`[brand.escalation]`: what happens to an alert nobody takes, or nobody answers."""

    model_config = ConfigDict(extra="forbid")

    on_call: str = ""  # a user or group to mention: "U0123" / "S0123" (Slack) or "teams:<id>"
    reannounce_minutes: float | None = Field(default=30.0, gt=0)
    escalate_minutes: float | None = Field(default=None, gt=0)
    escalate_to: str = ""  # a route: "#acme-escalations" or "teams:Escalations"
    remind_owner_hours: float | None = Field(default=4.0, gt=0)
    quiet_hours: str = ""  # "22:00-07:00" in the targets' time zone; reminders wait

    @model_validator(mode="after")
    def _valid(self) -> EscalationConfig:
        if self.escalate_to:
            parse_route(self.escalate_to)
        if self.escalate_minutes is not None and not self.escalate_to:
            raise ValueError("escalate_minutes needs escalate_to (the route to escalate to)")
        if self.quiet_hours:
            hours.parse_range(self.quiet_hours)
        if self.on_call:
            on_call_key(self.on_call)
        return self


ROUTE_TO_DIGEST = "digest"


class RoutingConfig(BaseModel):
    """`[brand.routing]`: where questions and praise go (a route, "digest" for no alert, or
    empty for the brand's own routes), and an optional route that gets every mention."""

    model_config = ConfigDict(extra="forbid")

    questions: str = ""
    praise: str = ""
    everything: str = ""

    @model_validator(mode="after")
    def _valid(self) -> RoutingConfig:
        for value in (self.questions, self.praise):
            if value and value != ROUTE_TO_DIGEST:
                parse_route(value)
        if self.everything:
            parse_route(self.everything)
        return self


class DigestConfig(BaseModel):
    """`[brand.digest]`: a daily and/or weekly summary at a local time (targets' zone)."""

    model_config = ConfigDict(extra="forbid")

    daily: str = ""  # "09:00"
    weekly: str = ""  # "mon 09:00"
    route: str = ""  # default: the brand's first route

    @model_validator(mode="after")
    def _valid(self) -> DigestConfig:
        if self.daily:
            hours.parse_clock(self.daily)
        if self.weekly:
            day, _, at = self.weekly.strip().partition(" ")
            hours.parse_days(day)
            hours.parse_clock(at)
        if self.route:
            parse_route(self.route)
        return self


def on_call_key(text: str) -> str:
    """A user or group key from the watch list's on_call: a bare id is Slack's."""
    platform, sep, rest = text.strip().partition(":")
    if sep and platform.lower() in ("slack", "teams") and rest.strip():
        return f"{platform.lower()}:{rest.strip()}"
    if not sep and re.fullmatch(r"[UWS][A-Z0-9]{2,20}", text.strip()):
        return f"slack:{text.strip()}"
    raise ValueError(f"on_call {text!r}: write a Slack user or group id (U…, S…) or teams:<id>")


class BrandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    channel: str | None = None  # shorthand for one Slack route
    route: list[RouteConfig] = Field(default_factory=list)
    alert_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    sources: list[SourceConfig] = Field(default_factory=list)
    account: list[AccountConfig] = Field(default_factory=list)
    # Who may post public replies for this brand (user keys, as ADMIN_USERS); None: everyone.
    public_repliers: list[str] | None = None
    template: list[TemplateConfig] = Field(default_factory=list)

    @field_validator("public_repliers")
    @classmethod
    def _repliers(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else user_keys(value)

    @field_validator("account")
    @classmethod
    def _one_account_per_platform(cls, value: list[AccountConfig]) -> list[AccountConfig]:
        platforms = [a.platform for a in value]
        for platform in dict.fromkeys(platforms):
            if platforms.count(platform) > 1:
                raise ValueError(f"has two {platform} accounts: one per platform")
        return value

    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    digest: DigestConfig = Field(default_factory=DigestConfig)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name is empty")
        return value.strip()

    @field_validator("channel")
    @classmethod
    def _slack_channel(cls, value: str | None) -> str | None:
        return None if value is None else check_channel("slack", value)

    @field_validator("terms")
    @classmethod
    def _some_term(cls, value: list[str]) -> list[str]:
        positive = [t for t in value if t.strip() and not t.strip().startswith("-")]
        if not positive:
            raise ValueError('has no term to match: every term is empty or an exclusion (-"…")')
        return value

    @model_validator(mode="after")
    def _routed(self) -> BrandConfig:
        if self.channel is not None:
            self.route.insert(0, RouteConfig(platform="slack", channel=self.channel))
            self.channel = None
        if not self.route:
            raise ValueError(
                'has no channel for its alerts: set channel = "#name" or add [[brand.route]]'
            )
        return self

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(dict.fromkeys(r.as_route() for r in self.route))


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
    if not path.is_file():
        raise ConfigError(f"watch list {path} is not a file (WATCH_LIST names a TOML file)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"watch list {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"watch list {path} cannot be read: {exc.strerror}") from None
    try:
        watch = WatchList.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"watch list {path}: " + _describe_watch(exc, raw)) from None
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
        lines.append(f"{prefix} {where}: {_message(error['msg'])}")
    return "; ".join(lines)


def _describe_watch(exc: ValidationError, raw: object) -> str:
    """Errors named as a person finds them in the file: `brand "Acme" sources[2].url: …`."""
    brands = raw.get("brand") if isinstance(raw, dict) else None
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc) or "(top level)"
        if len(loc) >= 2 and loc[0] == "brand" and isinstance(loc[1], int):
            entry = brands[loc[1]] if isinstance(brands, list) and loc[1] < len(brands) else {}
            name = entry.get("name") if isinstance(entry, dict) else None
            who = (
                f"brand {name!r}"
                if isinstance(name, str) and name.strip()
                else (f"brand #{loc[1] + 1}")
            )
            rest = loc[2:]
            key = ""
            for part in rest:
                key += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if key else part)
            where = f"{who} {key}".strip() if key else who
        lines.append(f"{where}: {_message(error['msg'])}")
    return "; ".join(lines)


def _message(text: str) -> str:
    return text.removeprefix("Value error, ")
