"""Each brand's team rules, read once from the watch list: response-time targets, escalation,
routing of questions and praise, and digest times. Plain data; the rest of bot/team reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import time, timedelta

from bot.config import ROUTE_TO_DIGEST, BrandConfig, on_call_key, parse_route
from bot.models import Route
from bot.team import hours
from bot.team.hours import Hours, Quiet


@dataclass(frozen=True, slots=True)
class Targets:
    claim: timedelta = timedelta(minutes=15)
    reply: timedelta = timedelta(minutes=60)
    hours: Hours = field(default_factory=Hours)


@dataclass(frozen=True, slots=True)
class Escalation:
    on_call: str = ""  # user or group key
    reannounce_after: timedelta | None = timedelta(minutes=30)
    escalate_after: timedelta | None = None
    escalate_to: Route | None = None
    remind_owner_after: timedelta | None = timedelta(hours=4)
    quiet: Quiet | None = None


@dataclass(frozen=True, slots=True)
class Routing:
    """None: the brand's own routes; () : no alert (the digest); else these routes."""

    questions: tuple[Route, ...] | None = None
    praise: tuple[Route, ...] | None = None
    everything: Route | None = None


@dataclass(frozen=True, slots=True)
class DigestTimes:
    daily: time | None = None
    weekly: tuple[int, time] | None = None  # (weekday, local time)
    route: Route | None = None


@dataclass(frozen=True, slots=True)
class BrandPolicy:
    brand: str
    routes: tuple[Route, ...] = ()
    targets: Targets = field(default_factory=Targets)
    escalation: Escalation = field(default_factory=Escalation)
    routing: Routing = field(default_factory=Routing)
    digest: DigestTimes = field(default_factory=DigestTimes)

    @property
    def zone(self) -> hours.ZoneInfo:
        return self.targets.hours.zone

    @property
    def digest_route(self) -> Route | None:
        return self.digest.route or (self.routes[0] if self.routes else None)

    @classmethod
    def from_config(cls, brand: BrandConfig) -> BrandPolicy:
        t, e, r, d = brand.targets, brand.escalation, brand.routing, brand.digest
        zone = hours.parse_zone(t.timezone)
        if t.business_hours:
            start, end = hours.parse_range(t.business_hours)
            work = Hours(zone, hours.parse_days(t.business_days), start, end)
        else:
            work = Hours(zone)
        quiet = None
        if e.quiet_hours:
            q_start, q_end = hours.parse_range(e.quiet_hours)
            quiet = Quiet(zone, q_start, q_end)
        weekly = None
        if d.weekly:
            day, _, at = d.weekly.strip().partition(" ")
            weekly = (min(hours.parse_days(day)), hours.parse_clock(at))
        return cls(
            brand=brand.name,
            routes=brand.routes,
            targets=Targets(
                timedelta(minutes=t.claim_minutes), timedelta(minutes=t.reply_minutes), work
            ),
            escalation=Escalation(
                on_call=on_call_key(e.on_call) if e.on_call else "",
                reannounce_after=_minutes(e.reannounce_minutes),
                escalate_after=_minutes(e.escalate_minutes),
                escalate_to=parse_route(e.escalate_to) if e.escalate_to else None,
                remind_owner_after=_minutes(
                    e.remind_owner_hours * 60 if e.remind_owner_hours else None
                ),
                quiet=quiet,
            ),
            routing=Routing(
                questions=_routed(r.questions),
                praise=_routed(r.praise),
                everything=parse_route(r.everything) if r.everything else None,
            ),
            digest=DigestTimes(
                daily=hours.parse_clock(d.daily) if d.daily else None,
                weekly=weekly,
                route=parse_route(d.route) if d.route else None,
            ),
        )


class Policies:
    """Brand name (any case) → its policy; a brand no longer in the watch list gets the
    defaults, so its old alerts still show targets."""

    def __init__(self, policies: Iterable[BrandPolicy] = ()) -> None:
        self._by_name = {p.brand.lower(): p for p in policies}

    @classmethod
    def from_brands(cls, brands: Iterable[BrandConfig]) -> Policies:
        return cls(BrandPolicy.from_config(b) for b in brands)

    def __call__(self, brand: str) -> BrandPolicy:
        return self._by_name.get(brand.lower()) or BrandPolicy(brand)

    def __iter__(self) -> Iterator[BrandPolicy]:
        return iter(self._by_name.values())


def _minutes(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _routed(value: str) -> tuple[Route, ...] | None:
    if not value:
        return None
    if value == ROUTE_TO_DIGEST:
        return ()
    return (parse_route(value),)
