"""`mentionbot run` and `mentionbot check` as a user runs them, against the fake Slack and its
Socket Mode server: both tokens are verified, a rejected one is one line naming the setting
and Slack's error (never the token), and a good setup serves /healthz beside Socket Mode."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.fake_slack import FakeSlack, slack_post
from tests.fakes.fake_socket_mode import FakeSocketMode, socket_mode_server  # noqa: F401
from tests.test_cli import ROOT, mentionbot, write_watch

GOOD_APP_TOKEN = "xapp-1-A0000APP-1-good"
REVOKED_APP_TOKEN = "xapp-1-A0000APP-2-revoked"


def run_env(tmp_path: Path, fake_slack: FakeSlack, app_token: str) -> dict[str, str]:
    return {
        "WATCH_LIST": str(write_watch(tmp_path / "watch.toml", "http://127.0.0.1:9/feed")),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": "xoxb-good",
        "SLACK_APP_TOKEN": app_token,
        "SLACK_API_URL": fake_slack.api_url,
        "SCORER": "lexicon",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
    }


def test_run_with_a_rejected_app_token_ends_with_one_line(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.revoked_tokens.add(REVOKED_APP_TOKEN)
    result = mentionbot("run", cwd=tmp_path, env=run_env(tmp_path, fake_slack, REVOKED_APP_TOKEN))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "SLACK_APP_TOKEN" in line]
    assert said == [
        "mentionbot: configuration error: "
        "Slack refused SLACK_APP_TOKEN (apps.connections.open: invalid_auth)"
    ]
    assert REVOKED_APP_TOKEN not in result.stdout + result.stderr
    assert fake_slack.calls_to("chat.postMessage") == []


def test_run_in_socket_mode_serves_healthz_and_stops_cleanly(
    tmp_path: Path,
    fake_slack: FakeSlack,
    socket_mode_server: FakeSocketMode,  # noqa: F811
) -> None:
    fake_slack.socket_mode = socket_mode_server
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env.update(PYTHONPATH=str(ROOT), **run_env(tmp_path, fake_slack, GOOD_APP_TOKEN))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    log: list[str] = []
    try:
        assert proc.stderr is not None
        port = 0
        for line in proc.stderr:  # until the web front says where it listens
            log.append(line)
            if found := re.search(r"web front on http://127\.0\.0\.1:(\d+)", line):
                port = int(found.group(1))
                break
        assert port, "".join(log)
        threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
        socket_mode_server.wait_for_connections(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            assert (reply.status, reply.read()) == (200, b"ok")
        # Socket Mode: no /slack/events to attack on the web front
        assert slack_post(f"http://127.0.0.1:{port}/slack/events", "a=b", "x").status == 404
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, "".join(log)
        assert socket_mode_server.wait_for_close(0).close_frame  # said goodbye to Slack
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in "".join(log)
    assert GOOD_APP_TOKEN not in "".join(log)


@pytest.mark.parametrize(
    ("app_token", "expected"),
    [
        (GOOD_APP_TOKEN, "ok    slack: app token valid"),
        (REVOKED_APP_TOKEN, "FAIL  slack: apps.connections.open refused SLACK_APP_TOKEN: "
                            "invalid_auth"),
    ],
)  # fmt: skip
def test_check_verifies_the_app_token_with_slack(
    tmp_path: Path, fake_slack: FakeSlack, app_token: str, expected: str
) -> None:
    fake_slack.revoked_tokens.add(REVOKED_APP_TOKEN)
    result = mentionbot("check", cwd=tmp_path, env=run_env(tmp_path, fake_slack, app_token))
    assert expected in result.stdout, result.stdout
    assert "ok    slack: bot token valid" in result.stdout
    assert result.returncode == (0 if app_token == GOOD_APP_TOKEN else 1)
    assert app_token not in result.stdout + result.stderr
    [call] = fake_slack.calls_to("apps.connections.open")
    assert call.headers["authorization"] == f"Bearer {app_token}"  # a header, as Slack wants
