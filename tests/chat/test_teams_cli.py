"""`mentionbot teams-package` and `mentionbot check` for Teams, against the fake Bot Framework."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from bot.cli import main
from tests.chat.teams_env import TeamsEnv, fake_teams, teams_env  # noqa: F401
from tests.fakes.fake_teams import APP_ID, APP_PASSWORD, TENANT_ID, FakeBotFramework


def test_teams_package_is_a_manifest_and_two_icons_of_the_right_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMS_APP_ID", APP_ID)
    out = tmp_path / "app.zip"
    assert main(["teams-package", "-o", str(out), "--domain", "bot.example.com"]) == 0
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        sizes = {name: struct.unpack(">II", archive.read(name)[16:24])
                 for name in ("color.png", "outline.png")}  # fmt: skip
    assert sizes == {"color.png": (192, 192), "outline.png": (32, 32)}
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["bot.example.com"]
    commands = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    assert commands[:3] == ["open", "mine", "search"] and "help" in commands
    assert set(manifest["bots"][0]["scopes"]) == {"team", "personal"}


def test_teams_package_refuses_a_wrong_app_id_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEAMS_APP_ID", "my-bot")
    assert main(["teams-package", "-o", str(tmp_path / "x.zip")]) == 2
    assert "is not the registration's application (client) id" in capsys.readouterr().err


def test_check_lists_learnt_channels_and_says_which_teams_route_is_unknown(
    teams_env: TeamsEnv,  # noqa: F811
    fake_teams: FakeBotFramework,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = str(teams_env.store.path)  # type: ignore[attr-defined]
    watch = tmp_path / "watch.toml"
    watch.write_text(
        '[[brand]]\nname = "Acme"\nterms = ["acme"]\n'
        '[[brand.route]]\nplatform = "teams"\nchannel = "Support/alerts"\n'
        '[[brand.route]]\nplatform = "teams"\nchannel = "Sales/leads"\n'
    )
    for name, value in {
        "TEAMS_APP_ID": APP_ID, "TEAMS_APP_PASSWORD": APP_PASSWORD, "TEAMS_TENANT_ID": TENANT_ID,
        "TEAMS_TOKEN_URL": fake_teams.token_url,
        "TEAMS_ALLOWED_SERVICE_URLS": fake_teams.service_url,
        "DATABASE_URL": f"sqlite:///{database}", "WATCH_LIST": str(watch), "SCORER": "lexicon",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "ok    teams: app " in out and "the token endpoint issued a token" in out
    assert "Support/General, Support/acme-mentions, Support/alerts, Support/ops" in out
    assert "ok    teams channel Support/alerts: Support/alerts" in out
    assert "FAIL  teams channel Sales/leads: Teams channel 'Sales/leads' is not known yet" in out
    monkeypatch.setenv("TEAMS_DANGEROUSLY_ACCEPT_UNAUTHENTICATED_REQUESTS", "true")
    main(["check"])
    assert "FAIL  teams: TEAMS_DANGEROUSLY_ACCEPT_UNAUTHENTICATED_REQUESTS is on" in (
        capsys.readouterr().out
    )
