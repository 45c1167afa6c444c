"""Socket Mode over a real WebSocket on 127.0.0.1 that behaves as Slack's does: envelopes
acked within Slack's 3 s, a dropped or half-open connection replaced at once, a refresh that
does not wait for the old socket, one-time URLs, and a rejected app token said in one line."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import pytest
from slack_bolt import App

from bot.chat.slack.ids import Action
from bot.chat.slack.socket_mode import CLOSE_TIMEOUT, SocketModeRunner
from bot.config import ConfigError
from bot.models import Mention, Status
from tests.chat.conftest import ALERT_CHANNEL, SlackEnv
from tests.fakes.echo_app import echo_app
from tests.fakes.fake_slack import FakeSlack, block_actions_body, slash_command_body
from tests.fakes.fake_socket_mode import FakeSocketMode, socket_mode_server  # noqa: F401

APP_TOKEN = "xapp-1-A0000APP-1234-socketmodetest"
SLACK_DEADLINE = 3.0  # seconds Slack gives an envelope's ack
PING = 0.3  # keepalive interval and pong deadline in these tests (5 s each in production)


def interactive(action: str, value: str, **where: str) -> dict[str, Any]:
    return json.loads(parse_qs(block_actions_body(action, value, **where))["payload"][0])


def command(text: str) -> dict[str, str]:
    return dict(parse_qsl(slash_command_body(text), keep_blank_values=True))


@pytest.fixture
def slack(
    fake_slack: FakeSlack,
    socket_mode_server: FakeSocketMode,  # noqa: F811
) -> FakeSocketMode:
    fake_slack.socket_mode = socket_mode_server
    return socket_mode_server


@pytest.fixture
def start(
    fake_slack: FakeSlack, slack: FakeSocketMode
) -> Iterator[Callable[..., SocketModeRunner]]:
    runners: list[SocketModeRunner] = []

    def start_runner(app: App, token: str = APP_TOKEN, **options: Any) -> SocketModeRunner:
        options = {"ping_interval": PING, "ping_timeout": PING, **options}
        runner = SocketModeRunner(app, token, api_url=fake_slack.api_url, **options)
        runners.append(runner)
        return runner.start()

    yield start_runner
    for runner in runners:
        runner.close()


def plain_app(fake_slack: FakeSlack) -> App:
    return echo_app(fake_slack.api_url).app


def answered(slack: FakeSocketMode, text: str, connection: int) -> None:
    """Send /mentions `text` on a connection; it must be acked there, with the answer."""
    ack = slack.wait_for_ack(slack.send_envelope("slash_commands", command(text)))
    assert ack.latency < SLACK_DEADLINE
    assert ack.connection == connection
    assert ack.payload == {"text": f"got {text}"}


def test_a_click_over_socket_mode_is_acked_and_acts(
    start: Callable[..., SocketModeRunner],
    slack: FakeSocketMode,
    fake_slack: FakeSlack,
    slack_env: SlackEnv,
    make_mention: Callable[..., Mention],
) -> None:
    start(slack_env.socket_mode_app())
    slack.wait_for_connections(1)
    mention_id, ts = slack_env.alert(make_mention())
    click = interactive(Action.CLAIM, str(mention_id), channel=ALERT_CHANNEL, message_ts=ts)
    assert slack.wait_for_ack(slack.send_envelope("interactive", click)).latency < SLACK_DEADLINE
    fake_slack.wait_for("chat.update")
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.CLAIMED


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_a_connection_dropped_without_a_close_frame_is_replaced_at_once(
    start: Callable[..., SocketModeRunner],
    slack: FakeSocketMode,
    fake_slack: FakeSlack,
    reset: bool,
) -> None:
    """An idle proxy cuts the TCP connection: no close frame, no further pings needed to
    notice it, and no core spinning on the dead socket meanwhile."""
    start(plain_app(fake_slack))
    slack.wait_for_connections(1)
    answered(slack, "before", connection=0)
    cpu = time.process_time()
    slack.drop(reset=reset)
    slack.wait_for_connections(2, timeout=SLACK_DEADLINE)  # the builtin client takes ~50 s
    assert time.process_time() - cpu < 1.0  # the builtin client burns a core here
    assert slack.connections[0].close_frame is False
    answered(slack, "after", connection=1)
    assert len(fake_slack.calls_to("apps.connections.open")) == 2  # a fresh one-time URL


def test_a_half_open_connection_is_given_up_after_an_unanswered_ping(
    start: Callable[..., SocketModeRunner], slack: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    """The far end is gone but no FIN arrives (a NAT forgot the flow): the pong deadline
    ends the connection and a new one is opened."""
    start(plain_app(fake_slack))
    slack.wait_for_connections(1)
    slack.go_silent()
    slack.wait_for_connections(2, timeout=2 * PING + CLOSE_TIMEOUT + SLACK_DEADLINE)
    answered(slack, "after", connection=1)


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
def test_after_a_refresh_an_envelope_right_after_hello_is_acked_in_time(
    start: Callable[..., SocketModeRunner],
    slack: FakeSocketMode,
    fake_slack: FakeSlack,
    reason: str,
) -> None:
    """The old host answers nothing, not even the close: the new connection is read at once
    (the builtin client acked this after 3.06 s, past Slack's deadline)."""
    start(plain_app(fake_slack))
    slack.wait_for_connections(1)
    first = slack.send_after_hello("slash_commands", command("first on the new one"))
    slack.refresh(reason, silent=True)
    slack.wait_for_connections(2)
    ack = slack.wait_for_ack(first)
    assert ack.connection == 1
    assert ack.latency < SLACK_DEADLINE
    answered(slack, "next", connection=1)


def test_a_refresh_closes_the_old_connection_cleanly(
    start: Callable[..., SocketModeRunner], slack: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    start(plain_app(fake_slack))
    slack.wait_for_connections(1)
    slack.refresh()
    slack.wait_for_connections(2)
    assert slack.wait_for_close(0).close_frame  # the client said goodbye on the old one
    answered(slack, "on the new one", connection=1)


def test_a_refused_handshake_is_retried_with_a_fresh_url(
    start: Callable[..., SocketModeRunner], slack: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    """Socket Mode URLs are one-time: retrying the spent one would fail forever."""
    runner = start(plain_app(fake_slack), unhealthy_after=0)
    slack.wait_for_connections(1)
    answered(slack, "before", connection=0)
    assert runner.health() is None
    slack.refuse_next = 1
    slack.drop()
    slack.wait_for_refusals(1)
    assert runner.health() is not None and "disconnected" in str(runner.health())
    slack.wait_for_connections(2)
    answered(slack, "after", connection=1)  # read: the client has taken the connection
    assert runner.health() is None
    assert len(fake_slack.calls_to("apps.connections.open")) == 3
    assert slack.refused == 1  # no spent ticket was tried again


def test_a_first_connection_that_fails_is_retried_in_the_background(
    start: Callable[..., SocketModeRunner], slack: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    slack.refuse_next = 1  # Slack took the token, the WebSocket host is busy
    start(plain_app(fake_slack))
    slack.wait_for_connections(1)
    answered(slack, "late but there", connection=0)


def test_a_slow_listener_does_not_hold_up_other_acks(
    start: Callable[..., SocketModeRunner], slack: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    echo = echo_app(fake_slack.api_url)
    start(echo.app)
    slack.wait_for_connections(1)
    slow = slack.send_envelope("slash_commands", command("slow"))
    try:
        assert echo.held.wait(5)
        answered(slack, "quick", connection=0)
        assert slow not in slack.acks
    finally:
        echo.gate.set()
    assert slack.wait_for_ack(slow).payload == {"text": "got slow"}


def test_close_says_goodbye_and_does_not_reconnect(
    start: Callable[..., SocketModeRunner], slack: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    runner = start(plain_app(fake_slack))
    slack.wait_for_connections(1)
    runner.close()
    assert slack.wait_for_close(0).close_frame
    assert not runner.running
    assert len(slack.connections) == 1
    assert len(fake_slack.calls_to("apps.connections.open")) == 1


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xapp-1-A0000APP-9-revoked", "apps.connections.open: invalid_auth"),
        ("xoxb-a-bot-token", "must be an app-level token"),
    ],
)
def test_a_rejected_app_token_is_one_clear_error_without_the_token(
    start: Callable[..., SocketModeRunner],
    slack: FakeSocketMode,
    fake_slack: FakeSlack,
    token: str,
    error: str,
) -> None:
    fake_slack.revoked_tokens.add("xapp-1-A0000APP-9-revoked")
    with pytest.raises(ConfigError) as rejected:
        start(plain_app(fake_slack), token)
    assert "SLACK_APP_TOKEN" in str(rejected.value) and error in str(rejected.value)
    assert token not in str(rejected.value)
    assert slack.connections == []
    running = [t.name for t in threading.enumerate() if t.name == "slack-socket-mode"]
    assert running == []  # the connection's loop did not outlive the refusal
