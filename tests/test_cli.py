"""The `mentionbot` command as a user runs it: a subprocess, settings from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.fake_slack import FakeSlack
from tests.fakes.feed_server import FeedServer

ROOT = Path(__file__).resolve().parents[1]
COMPLAINTS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>forum</title>
<item><title>Acme charged me twice, terrible service</title><link>https://f.example/1</link>
<guid>1</guid><description>The worst support ever. Awful.</description></item>
<item><title>Acme opened an office</title><link>https://f.example/2</link><guid>2</guid>
<description>They will hire people.</description></item></channel></rss>"""


def mentionbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    clean.update(PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd, env=clean, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def write_watch(path: Path, url: str, channel: str = "C0ALERTS") -> Path:
    path.write_text(
        f'[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "{channel}"\n'
        f'[[brand.sources]]\nname = "forum"\nurl = "{url}"\n'
    )
    return path


def test_poll_once_delivers_negative_mentions_to_slack_once(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack
) -> None:
    watch = write_watch(tmp_path / "watch.toml", feed_server.add("/feed.rss", body=COMPLAINTS))
    env = {
        "WATCH_LIST": str(watch),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": "xoxb-cli-test",
        "SLACK_API_URL": fake_slack.api_url,
        "ALLOW_PRIVATE_HOSTS": "127.0.0.1",
    }
    first = mentionbot("poll", "--once", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "2 matched, 2 new" in first.stdout and "1 alert(s) delivered" in first.stdout
    second = mentionbot("poll", "--once", cwd=tmp_path, env=env)
    assert "0 new" in second.stdout and "0 alert(s) delivered" in second.stdout
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.body["channel"] == "C0ALERTS" and "charged me twice" in post.body["text"]
    assert "xoxb-cli-test" not in first.stdout + first.stderr + second.stderr

    status = mentionbot("status", cwd=tmp_path, env=env)
    assert status.returncode == 0 and "forum" in status.stdout


def test_without_slack_tokens_alerts_print_to_the_terminal(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    watch = write_watch(tmp_path / "watch.toml", feed_server.add("/feed.rss", body=COMPLAINTS))
    env = {"WATCH_LIST": str(watch), "ALLOW_PRIVATE_HOSTS": "127.0.0.1"}
    result = mentionbot("poll", "--once", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "Acme charged me twice, terrible service" in result.stdout
    assert "https://f.example/1" in result.stdout
    assert (tmp_path / "mentionbot.db").exists()  # the default store: a file right here


def test_check_names_every_problem_and_fails(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("auth.test", error="invalid_auth")
    env = {
        "WATCH_LIST": str(tmp_path / "missing.toml"),
        "SLACK_BOT_TOKEN": "xoxb-wrong",
        "SLACK_API_URL": fake_slack.api_url,
        "SCORER": "nonexistent",
    }
    result = mentionbot("check", cwd=tmp_path, env=env)
    assert result.returncode == 1
    out = result.stdout
    assert "FAIL  watch list" in out and "copy watch.example.toml" in out
    assert "FAIL  scorer" in out and "unknown scorer 'nonexistent'" in out
    assert "FAIL  slack" in out and "invalid_auth" in out
    assert "SLACK_APP_TOKEN" in out  # Socket Mode is the default and needs it
    assert "xoxb-wrong" not in out + result.stderr


def test_check_passes_on_a_good_setup(tmp_path: Path, fake_slack: FakeSlack) -> None:
    env = {
        "WATCH_LIST": str(write_watch(tmp_path / "watch.toml", "https://example.com/feed")),
        "SLACK_BOT_TOKEN": "xoxb-good",
        "SLACK_APP_TOKEN": "xapp-good",
        "SLACK_API_URL": fake_slack.api_url,
    }
    result = mentionbot("check", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout
    assert "all good" in result.stdout


def test_check_reports_a_channel_the_bot_cannot_see_or_is_not_in(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("quiet", "C0QUIET01", member=False)
    watch = tmp_path / "watch.toml"
    watch.write_text(
        '[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "#alerts"\n'
        '[[brand.route]]\nchannel = "#nowhere"\n[[brand.route]]\nchannel = "#quiet"\n'
    )
    env = {"WATCH_LIST": str(watch), "SLACK_BOT_TOKEN": "xoxb-good",
           "SLACK_APP_TOKEN": "xapp-good", "SLACK_API_URL": fake_slack.api_url}  # fmt: skip
    result = mentionbot("check", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "ok    channel #alerts: C0ALERTS, the bot can post there" in result.stdout
    assert "FAIL  channel #nowhere: channel #nowhere not found" in result.stdout
    assert "FAIL  channel #quiet: the bot is not in C0QUIET01: /invite @mentionbot" in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("watch", "expected"),
    [
        ('[[brand]]\nname = "Acme"\nterms = ["acme"]\n', "brand 'Acme': has no channel"),
        ('[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = ""\n',
         "brand 'Acme' channel: is empty"),
        ('[[brand]]\nname = "Acme"\nterms = ["-acme markets"]\nchannel = "#a"\n',
         "brand 'Acme' terms: has no term to match"),
        ('[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "#a"\n[[brand.sources]]\n'
         'url = "https://:443/feed"\n', "brand 'Acme' sources[1].url:"),
    ],
)  # fmt: skip
def test_a_broken_watch_list_stops_check_and_run_with_one_line(
    tmp_path: Path, watch: str, expected: str
) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(watch)
    checked = mentionbot("check", cwd=tmp_path, env={"WATCH_LIST": str(path), "SCORER": "lexicon"})
    assert checked.returncode == 1 and expected in checked.stdout
    assert "all good" not in checked.stdout
    ran = mentionbot("run", cwd=tmp_path, env={"WATCH_LIST": str(path), "SCORER": "lexicon"})
    assert ran.returncode == 2 and expected in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1 and "Traceback" not in ran.stderr


def test_a_watch_list_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    ran = mentionbot("run", cwd=tmp_path, env={"WATCH_LIST": str(tmp_path), "SCORER": "lexicon"})
    assert ran.returncode == 2 and "is not a file" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_bad_settings_are_one_readable_line(tmp_path: Path) -> None:
    result = mentionbot("poll", "--once", cwd=tmp_path, env={"POLL_INTERVAL": "often"})
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "poll_interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_score_prints_the_verdict(tmp_path: Path) -> None:
    result = mentionbot("score", "This is terrible, my order never arrived.", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["sentiment"] == "negative" and verdict["lang"] == "en"


def test_demo_runs_offline_and_shows_alerts(tmp_path: Path) -> None:
    result = mentionbot("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("⚠ Acme") >= 2
    assert "each mention is kept exactly once" in result.stdout


@pytest.mark.parametrize("args", [["frobnicate"], []])
def test_unknown_commands_get_usage(tmp_path: Path, args: list[str]) -> None:
    result = mentionbot(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: mentionbot" in result.stdout + result.stderr
