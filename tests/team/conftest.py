"""The team workflow on the running Slack app (signed requests, the strict fake Slack), with
brand rules written as a watch list is, and time moved by hand."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import WatchList
from bot.models import Mention, Route
from bot.store import Store, open_store
from bot.team.policy import Policies
from bot.team.reminders import Reminders
from bot.team.targets import TargetLines
from tests.chat.conftest import SlackEnv, make_slack_env
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack

ACME = """
[[brand]]
name = "Acme"
terms = ["acme"]
channel = "#alerts"
[brand.targets]
claim_minutes = 15
reply_minutes = 60
timezone = "Europe/Amsterdam"
[brand.escalation]
on_call = "S0ONCALL"
reannounce_minutes = 30
escalate_minutes = 60
escalate_to = "#ops"
remind_owner_hours = 4
"""


def watch(toml: str = ACME) -> WatchList:
    return WatchList.model_validate(tomllib.loads(toml))


@dataclass
class TeamEnv:
    slack: SlackEnv
    policies: Policies
    reminders: Reminders
    clock: Clock

    @property
    def fake(self) -> FakeSlack:
        return self.slack.fake

    @property
    def store(self) -> Store:
        return self.slack.store

    def alert(self, mention: Mention) -> tuple[int, str]:
        return self.slack.alert(mention)

    def tick(self, minutes: float = 0) -> Any:
        """Move time on, run the reminders, and send what they queued."""
        self.clock.advance(minutes * 60)
        report = self.reminders.run_due(self.clock())
        self.slack.outbox.deliver_due()
        return report

    def thread(self, ts: str) -> list[str]:
        return [
            str(c.body.get("text"))
            for c in self.fake.calls_to("chat.postMessage")
            if c.body.get("thread_ts") == ts
        ]


def make_team_env(
    fake: FakeSlack, store: Store, clock: Clock, toml: str = ACME
) -> tuple[TeamEnv, Callable[[], None]]:
    policies = Policies.from_brands(watch(toml).brand)
    routes = {p.brand: p.routes for p in policies}
    env, stop = make_slack_env(fake, store, clock, brand_routes=routes)
    timing = TargetLines(policies, clock, store)
    env.service.timing = timing
    env.service.policies = policies
    env.outbox.timing = timing
    reminders = Reminders(store, policies, env.service.redraw)
    return TeamEnv(env, policies, reminders, clock), stop


@pytest.fixture
def team_env(fake_slack: FakeSlack, tmp_path: Path, clock: Clock) -> Iterator[TeamEnv]:
    store = open_store(f"sqlite:///{tmp_path / 'team.db'}")
    env, stop = make_team_env(fake_slack, store, clock)
    try:
        yield env
    finally:
        stop()
        store.close()


OPS = Route("slack", "#ops")


def save_sample(name: str, data: object) -> None:
    """With MENTIONBOT_SAMPLES=<dir>, keep what a test saw (a digest, a home) for a person to
    look at; otherwise nothing."""
    folder = os.environ.get("MENTIONBOT_SAMPLES")
    if not folder:
        return
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
