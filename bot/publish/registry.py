"""Which mentions can be answered in public, by which of the brand's accounts, and who may.

Built from the watch list: each source's kind says whether its platform has a write API
(Mastodon, Bluesky and Reddit do; news, blogs, feeds and Hacker News do not), each brand's
`[[brand.account]]` gives a client per platform, with its secrets read from the environment
variables the watch list names, and `public_repliers` says who may post (everyone when unset).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.config import AccountConfig, Settings, WatchList
from bot.models import Mention
from bot.publish.base import PLATFORM_LABELS, PublicClient, Target
from bot.publish.bluesky import BlueskyPublisher
from bot.publish.mastodon import MastodonPublisher
from bot.publish.reddit import RedditPublisher

log = logging.getLogger(__name__)

# Where a source's posts live, for sources that have no API to answer on.
NO_WRITE_API = {
    "hackernews": ("Hacker News", "Hacker News has no API for replies"),
    "feed": ("the source", "news sites, blogs and feeds have no API for replies"),
}


@dataclass(frozen=True, slots=True)
class SourceInfo:
    kind: str
    instance: str = ""  # Mastodon: the instance the source watches


@dataclass(frozen=True, slots=True)
class Reach:
    """Whether a mention can be answered in public: the client and target when it can, the
    reason in words when it cannot."""

    platform: str  # "mastodon", "hackernews", "feed", …
    label: str  # "Mastodon", "Hacker News", "the source"
    client: PublicClient | None = None
    target: Target | None = None
    why_not: str = ""


class PublicReplies:
    def __init__(
        self,
        sources: Mapping[str, SourceInfo],
        accounts: Mapping[tuple[str, str], PublicClient],
        *,
        repliers: Mapping[str, frozenset[str] | None] | None = None,
        unusable: Mapping[tuple[str, str], str] | None = None,
        undo_seconds: float = 300.0,
    ) -> None:
        self.sources = dict(sources)
        self.named = dict(accounts)  # as the watch list names the brands
        self.accounts = {(brand.lower(), platform): c for (brand, platform), c in accounts.items()}
        self.repliers = {b.lower(): people for b, people in (repliers or {}).items()}
        self.named_unusable = dict(unusable or {})
        self.unusable = {(b.lower(), p): why for (b, p), why in self.named_unusable.items()}
        self.undo_seconds = undo_seconds

    @classmethod
    def from_config(
        cls, watch: WatchList, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> PublicReplies:
        environ = os.environ if environ is None else environ
        sources = {
            s.name: SourceInfo(s.kind, s.instance) for _brand, s in watch.sources() if s.name
        }
        accounts: dict[tuple[str, str], PublicClient] = {}
        unusable: dict[tuple[str, str], str] = {}
        for brand in watch.brand:
            for account in brand.account:
                key = (brand.name, account.platform)
                missing = [n for n in _secret_names(account) if not environ.get(n)]
                if missing:
                    unusable[key] = (
                        f"{brand.name}'s {PLATFORM_LABELS[account.platform]} account cannot be "
                        f"used: {', '.join(missing)} not set"
                    )
                    continue
                accounts[key] = build_client(account, settings, environ)
        return cls(
            sources,
            accounts,
            repliers={
                b.name: None if b.public_repliers is None else frozenset(b.public_repliers)
                for b in watch.brand
            },
            unusable=unusable,
            undo_seconds=settings.public_reply_undo_seconds,
        )

    def platform_of(self, mention: Mention) -> tuple[str, str]:
        """(platform, instance) of the mention's source; by the shape of its id when the
        source is no longer in the watch list."""
        info = self.sources.get(mention.source)
        if info is not None:
            return info.kind, info.instance
        if mention.external_id.startswith("at://"):
            return "bluesky", ""
        if mention.external_id.startswith("reddit:"):
            return "reddit", ""
        return "feed", ""

    def reach(self, mention: Mention) -> Reach:
        platform, instance = self.platform_of(mention)
        if platform not in PLATFORM_LABELS:
            label, why = NO_WRITE_API.get(platform, NO_WRITE_API["feed"])
            return Reach(platform, label, why_not=why)
        label = PLATFORM_LABELS[platform]
        key = (mention.brand.lower(), platform)
        client = self.accounts.get(key)
        if client is None:
            why = self.unusable.get(key) or (
                f"{mention.brand} has no {label} account in the watch list"
            )
            return Reach(platform, label, why_not=why)
        target = Target(
            external_id=mention.external_id,
            url=mention.url,
            author=mention.author,
            lang=mention.verdict.lang,
            source_instance=instance,
        )
        return Reach(platform, label, client, target)

    def client(self, brand: str, platform: str) -> PublicClient | None:
        return self.accounts.get((brand.lower(), platform))

    def may_post(self, brand: str, actor: str) -> bool:
        people = self.repliers.get(brand.lower())
        return people is None or actor in people

    def repliers_of(self, brand: str) -> frozenset[str] | None:
        return self.repliers.get(brand.lower())

    def warm(self) -> None:
        """Sign in and read limits now, so the first dialog does not wait (failures are
        logged by `mentionbot check`; here they only mean the defaults are shown)."""
        for client in self.accounts.values():
            try:
                client.warm()
            except Exception:
                log.warning("could not reach %s for %s", client.label, client.platform)

    def close(self) -> None:
        for client in self.accounts.values():
            with contextlib.suppress(Exception):
                client.close()


def _secret_names(account: AccountConfig) -> list[str]:
    if account.platform == "mastodon":
        return [account.token_env]
    if account.platform == "bluesky":
        return [account.password_env]
    login = account.refresh_token_env or account.password_env
    return [account.client_id_env, account.client_secret_env, login]


def build_client(
    account: AccountConfig, settings: Settings, environ: Mapping[str, str]
) -> PublicClient:
    """The client for one account, its secrets read from the variables the watch list names."""
    common = {"user_agent": settings.user_agent, "timeout": settings.public_reply_timeout}
    if account.platform == "mastodon":
        return MastodonPublisher(
            account.instance,
            environ.get(account.token_env, ""),
            token_env=account.token_env,
            **common,  # type: ignore[arg-type]
        )
    if account.platform == "bluesky":
        return BlueskyPublisher(
            account.service,
            account.handle,
            environ.get(account.password_env, ""),
            password_env=account.password_env,
            **common,  # type: ignore[arg-type]
        )
    login = account.refresh_token_env or account.password_env
    return RedditPublisher(
        account.username,
        environ.get(account.client_id_env, ""),
        environ.get(account.client_secret_env, ""),
        password=environ.get(account.password_env, "") if account.password_env else "",
        refresh_token=environ.get(account.refresh_token_env, "")
        if account.refresh_token_env
        else "",
        secret_names=f"{account.client_id_env}, {account.client_secret_env} and {login}",
        auth_url=settings.reddit_auth_url,
        api_url=settings.reddit_api_url,
        site_url=settings.reddit_url,
        **common,  # type: ignore[arg-type]
    )
