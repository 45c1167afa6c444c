"""Settings and watch list: valid files load; mistakes are named, not stack-traced."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, load_watch_list

ROOT = Path(__file__).resolve().parents[1]


def test_example_watch_list_is_valid() -> None:
    watch = load_watch_list(ROOT / "watch.example.toml")
    assert watch.brand and all(b.sources for b in watch.brand)


def test_env_example_lists_every_setting() -> None:
    from pydantic import BaseModel

    from bot.config import Settings

    listed = {
        line.split("=", 1)[0].strip().lower()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    names = set()
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names |= {f"{name}_{inner}" for inner in group.model_fields}
        else:
            names.add(name)
    assert names == listed


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("brand = []", "brand"),
        ('[[brand]]\nname = "A"\nterms = []\nchannel = "#a"', "terms"),
        ('[[brand]]\nname = "A"\nterms = ["a"]\nchannel = "#a"\ncolour = "red"', "colour"),
        (
            '[[brand]]\nname = "A"\nterms = ["a"]\nchannel = "#a"\n[[brand.sources]]\nurl = "ftp://x"',
            "http",
        ),
        (
            '[[brand]]\nname = "A"\nterms = ["a"]\nchannel = "#a"\nalert_threshold = 2',
            "alert_threshold",
        ),
        ("[[brand]\n", "not valid TOML"),
        (
            '[[brand]]\nname = "A"\nterms = ["a"]\nchannel = "#a"\n[[brand.sources]]\nname = "x"'
            '\nurl = "http://a"\n[[brand.sources]]\nname = "x"\nurl = "http://b"',
            "used twice",
        ),
        # Each of these used to pass `check` and start `run`: one line naming brand and key.
        ('[[brand]]\nname = "Acme"\nterms = ["a"]', "brand 'Acme': has no channel for its alerts"),
        ('[[brand]]\nname = "Acme"\nterms = ["a"]\nchannel = ""', "brand 'Acme' channel: is empty"),
        ('[[brand]]\nname = "Acme"\nterms = ["a"]\nchannel = "   "', "is empty"),
        (
            '[[brand]]\nname = "Acme"\nterms = ["a"]\nchannel = "#a"\n[[brand.sources]]\n'
            'url = "http://"',
            "brand 'Acme' sources\\[1\\].url: .*has no host",
        ),
        (
            '[[brand]]\nname = "Acme"\nterms = ["a"]\nchannel = "#a"\n[[brand.sources]]\n'
            'url = "https://example.com:99999/feed"',
            "has an invalid port",
        ),
        (
            '[[brand]]\nname = "Acme"\nterms = ["-acme markets", "  "]\nchannel = "#a"',
            "brand 'Acme' terms: has no term to match",
        ),
        (
            '[[brand]]\nname = "Acme"\nterms = ["a"]\nchannel = "#a"\n[[brand.route]]\n'
            'platform = "irc"\nchannel = "x"',
            "brand 'Acme' route\\[1\\].platform",
        ),
        (
            '[[brand]]\nname = "Acme"\nterms = ["a"]\nchannel = "#Acme Mentions"',
            "not a Slack channel",
        ),
    ],
)
def test_watch_list_mistakes_are_reported_by_name(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_watch_list(path)


def test_a_watch_list_that_is_a_directory_is_named_not_traced(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a file"):
        load_watch_list(tmp_path)


def test_routes_per_brand_and_the_channel_shorthand(tmp_path: Path) -> None:
    from bot.models import Route

    path = tmp_path / "watch.toml"
    path.write_text(
        '[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "#acme-mentions"\n'
        '[[brand.route]]\nplatform = "teams"\nchannel = "Klantenservice"\n'
        '[[brand]]\nname = "Globex"\nterms = ["globex"]\n'
        '[[brand.route]]\nchannel = "C0GLOBEX1"\n'
    )
    acme, globex = load_watch_list(path).brand
    assert acme.routes == (Route("slack", "#acme-mentions"), Route("teams", "Klantenservice"))
    assert globex.routes == (Route("slack", "C0GLOBEX1"),)


def test_missing_watch_list_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy watch\.example\.toml"):
        load_watch_list(tmp_path / "nope.toml")


def test_unnamed_sources_get_stable_names(tmp_path: Path) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(
        '[[brand]]\nname = "Acme Corp"\nterms = ["acme"]\nchannel = "#acme"\n'
        '[[brand.sources]]\nurl = "https://a.example/feed"\n'
        '[[brand.sources]]\nurl = "https://b.example/feed"\n'
    )
    names = [s.name for _, s in load_watch_list(path).sources()]
    assert names == ["acme-corp-1", "acme-corp-2"]


def test_settings_read_comma_lists_and_reject_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USERS", "U1, teams:29:1abc-def")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    monkeypatch.setenv("SLACK_MODE", "http")
    settings = load_settings()
    # A bare id is a Slack user; a Teams user says so. They never collide.
    assert settings.admin_users == ["slack:U1", "teams:29:1abc-def"]
    assert settings.slack.api_url == "http://127.0.0.1:9999/api/"
    assert settings.slack.mode == "http"
    assert load_settings(slack_mode="socket").slack.api_url == "http://127.0.0.1:9999/api/"
    monkeypatch.setenv("ADMIN_USERS", "irc:someone")
    with pytest.raises(ConfigError, match="teams:<user id>"):
        load_settings()
    monkeypatch.setenv("ADMIN_USERS", "")
    monkeypatch.setenv("POLL_INTERVAL", "soon")
    with pytest.raises(ConfigError, match="poll_interval"):
        load_settings()


def test_secrets_do_not_show_in_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings)
    assert settings.slack_enabled


def test_search_sources_default_their_query_to_the_brands_terms(tmp_path: Path) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(
        """
[[brand]]
name = "Acme"
terms = ["acme", "acme rockets", '"road runner"', '-"acme corp"']
channel = "#acme"
[[brand.sources]]
kind = "hackernews"
[[brand.sources]]
kind = "reddit"
query = "acme"
""",
        encoding="utf-8",
    )
    hn, reddit = load_watch_list(path).brand[0].sources
    assert hn.query == 'acme OR "acme rockets" OR "road runner"'
    assert reddit.query == "acme"  # what the watch list says wins


@pytest.mark.parametrize(
    ("kind", "fields", "class_name"),
    [
        ("feed", {"url": "https://example.com/feed.xml"}, "FeedSource"),
        ("hackernews", {"query": "acme"}, "HackerNewsSource"),
        ("reddit", {"query": "acme"}, "RedditSource"),
        ("bluesky", {}, "JetstreamSource"),
        ("mastodon", {"instance": "https://mastodon.example", "tag": "acme"}, "MastodonSource"),
    ],
)
def test_every_source_kind_builds_its_source(
    kind: str, fields: dict[str, str], class_name: str
) -> None:
    from bot.config import SourceConfig
    from bot.http import HttpFetcher
    from bot.sources.base import limits_of
    from bot.sources.registry import build_source, is_stream

    fetcher = HttpFetcher()
    try:
        source = build_source(
            SourceConfig(name=f"acme-{kind}", kind=kind, **fields), fetcher, load_settings()
        )
    finally:
        fetcher.close()
    assert type(source).__name__ == class_name
    assert source.name == f"acme-{kind}"
    assert is_stream(source) == (kind in ("bluesky", "mastodon"))
    assert limits_of(source).min_interval >= 0
