"""`mentionbot run` with Slack (HTTP mode) and Teams: one process, one web front, one port.
Slack's signed requests reach /slack/events and Teams' signed activities /api/messages; each
refuses what the other's credentials sign, and /healthz answers for both."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.chat.teams_env import base_activity, fake_teams  # noqa: F401 (fixture)
from tests.fakes.fake_slack import FakeSlack, slack_post, slash_command_body
from tests.fakes.fake_teams import APP_ID, APP_PASSWORD, TENANT_ID, FakeBotFramework
from tests.test_cli import ROOT, write_watch

SIGNING_SECRET = "one-front-signing-secret-0123456789"


def test_slack_and_teams_share_one_web_front(
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_teams: FakeBotFramework,  # noqa: F811
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        WATCH_LIST=str(write_watch(tmp_path / "watch.toml", "http://127.0.0.1:9/feed")),
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        SCORER="lexicon",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT="0",
        SLACK_BOT_TOKEN="xoxb-one-front",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_MODE="http",
        SLACK_API_URL=fake_slack.api_url,
        TEAMS_APP_ID=APP_ID,
        TEAMS_APP_PASSWORD=APP_PASSWORD,
        TEAMS_TENANT_ID=TENANT_ID,
        TEAMS_OPENID_METADATA_URL=fake_teams.metadata_url,
        TEAMS_TOKEN_URL=fake_teams.token_url,
        TEAMS_ALLOWED_SERVICE_URLS=fake_teams.service_url,
    )
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
        assert "/slack/events" in log[-1] and "/api/messages" in log[-1]
        threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").text == "ok"

        command = slash_command_body("help", response_url=fake_slack.response_url("help"))
        assert slack_post(f"{base}/slack/events", command, SIGNING_SECRET).status == 200
        [answer] = fake_slack.wait_for("response_url")
        assert "/mentions" in answer.body["text"]
        assert slack_post(f"{base}/slack/events", command, "wrong").status == 401

        activity = base_activity(fake_teams, "alice", "a:personal-alice", "")
        activity.update({"type": "message", "text": "help"})
        token = fake_teams.signers[0].token(fake_teams.service_url)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.post(f"{base}/api/messages", json=activity, headers=headers).status_code in (
            200, 201, 202,
        )  # fmt: skip
        assert httpx.post(f"{base}/api/messages", json=activity).status_code == 401
        forged = {"Authorization": f"Bearer {SIGNING_SECRET}"}
        assert httpx.post(f"{base}/api/messages", json=activity, headers=forged).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, "".join(log)
    text = "".join(log)
    assert "Traceback" not in text and SIGNING_SECRET not in text and APP_PASSWORD not in text
