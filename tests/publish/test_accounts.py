"""Accounts in the watch list (secrets named, never held), `mentionbot check` against each
platform without posting, which mentions can be answered and why not, and brand templates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.chat.drafts import Template, draft_reply
from bot.config import ConfigError, load_settings, load_watch_list
from bot.models import Mention
from bot.publish.registry import PublicReplies
from tests.conftest import make_verdict
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.social import bluesky as pds_fake
from tests.fakes.social import reddit as reddit_fake
from tests.fakes.social.bluesky import FakePds
from tests.fakes.social.mastodon import TOKEN, FakeMastodon
from tests.fakes.social.reddit import FakeReddit
from tests.test_cli import mentionbot

BRAND = '[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "C0ALERTS"\n'


def accounts_toml(mastodon: str, pds: str) -> str:
    return (
        BRAND
        + f"""
[[brand.sources]]
name = "acme-bsky"
kind = "bluesky"

[[brand.account]]
platform = "mastodon"
instance = "{mastodon}"
token_env = "ACME_MASTODON_TOKEN"

[[brand.account]]
platform = "bluesky"
handle = "{pds_fake.HANDLE}"
service = "{pds}"
password_env = "ACME_BSKY_PASSWORD"

[[brand.account]]
platform = "reddit"
username = "{reddit_fake.USERNAME}"
password_env = "ACME_REDDIT_PASSWORD"
client_id_env = "ACME_REDDIT_ID"
client_secret_env = "ACME_REDDIT_SECRET"
"""
    )


def test_check_verifies_each_account_posts_nothing_and_prints_no_secret(
    tmp_path: Path,
    fake_slack: FakeSlack,
    mastodon: FakeMastodon,
    pds: FakePds,
    reddit: FakeReddit,
) -> None:
    watch = tmp_path / "watch.toml"
    watch.write_text(accounts_toml(mastodon.base_url, pds.base_url))
    env = {
        "WATCH_LIST": str(watch), "SCORER": "lexicon",
        "SLACK_BOT_TOKEN": "xoxb-good", "SLACK_APP_TOKEN": "xapp-good",
        "SLACK_API_URL": fake_slack.api_url,
        "REDDIT_AUTH_URL": reddit.base_url, "REDDIT_API_URL": reddit.base_url,
        "ACME_MASTODON_TOKEN": TOKEN, "ACME_BSKY_PASSWORD": "not-the-password",
        "ACME_REDDIT_ID": reddit_fake.CLIENT_ID, "ACME_REDDIT_SECRET": reddit_fake.CLIENT_SECRET,
    }  # fmt: skip
    result = mentionbot("check", cwd=tmp_path, env=env)
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "ok    account Acme Mastodon: @acme@127.0.0.1 may post; replies up to 500" in out
    assert (
        "FAIL  account Acme Bluesky: Bluesky refused to sign in as @acme.bsky.social: Invalid "
        "identifier or password. Check the app password in ACME_BSKY_PASSWORD"
    ) in out
    assert "FAIL  account Acme Reddit: Acme's Reddit account cannot be used: " in out
    assert "ACME_REDDIT_PASSWORD not set" in out
    for secret in (TOKEN, "not-the-password", reddit_fake.CLIENT_SECRET):
        assert secret not in out
    assert mastodon.statuses == {} and pds.records == {} and reddit.comments == {}


def test_a_secret_pasted_into_the_watch_list_is_refused_without_repeating_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "watch.toml"
    pasted = 'token_env = "Zx9-kQ.secret/token"\n'
    path.write_text(BRAND + '[[brand.account]]\nplatform = "mastodon"\n'
                    'instance = "https://m.example"\n' + pasted)  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        load_watch_list(path)
    message = str(raised.value)
    assert "brand 'Acme' account[1].token_env: must name an environment variable" in message
    assert "Zx9-kQ.secret/token" not in message


@pytest.mark.parametrize(
    ("account", "says"),
    [
        ('platform = "mastodon"\ninstance = "https://m.example"',
         "a mastodon account needs token_env"),
        ('platform = "bluesky"\npassword_env = "P"', "a bluesky account needs handle"),
        ('platform = "reddit"\nusername = "x"',
         "a reddit account needs password_env or refresh_token_env"),
        ('platform = "twitter"', "account[1].platform"),
    ],
)  # fmt: skip
def test_an_incomplete_account_names_what_is_missing(
    tmp_path: Path, account: str, says: str
) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(BRAND + "[[brand.account]]\n" + account + "\n")
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace(".", r"\.")):
        load_watch_list(path)


def test_reach_says_why_a_mention_cannot_be_answered_in_public(
    tmp_path: Path, make_mention: Callable[..., Mention]
) -> None:
    path = tmp_path / "watch.toml"
    path.write_text(
        BRAND + '[[brand.sources]]\nname = "hn"\nkind = "hackernews"\n'
        '[[brand.sources]]\nname = "bsky"\nkind = "bluesky"\n'
        '[[brand.sources]]\nname = "news"\nurl = "https://news.example/feed"\n'
        '[[brand.account]]\nplatform = "bluesky"\nhandle = "acme.example"\npassword_env = "P"\n'
    )
    public = PublicReplies.from_config(load_watch_list(path), load_settings(), environ={})
    why = {
        source: public.reach(make_mention(source=source)).why_not
        for source in ("hn", "bsky", "news")
    }
    assert why == {
        "hn": "Hacker News has no API for replies",
        "bsky": "Acme's Bluesky account cannot be used: P not set",
        "news": "news sites, blogs and feeds have no API for replies",
    }
    reddit = make_mention(source="gone-source", external_id="reddit:t3_x")
    assert public.reach(reddit).why_not == "Acme has no Reddit account in the watch list"


def test_a_brand_template_fits_language_and_kind_and_names_stay_data(
    make_mention: Callable[..., Mention],
) -> None:
    templates = [
        Template("de", "Hallo {name}, das tut uns leid. — {brand}", "complaint"),
        Template("de", "Danke {name}! — {brand}"),
    ]
    german = make_mention(verdict=make_verdict(lang="de"), author="Jörg {brand} {0}")
    assert draft_reply(german, templates=templates) == ("Hallo Jörg, das tut uns leid. — Acme"), (
        "first name only, as our own drafts greet"
    )
    named = draft_reply(german, addressee="@x{brand}@m.example", templates=templates)
    assert named == "Hallo @x{brand}@m.example, das tut uns leid. — Acme"
    anonymous = make_mention(verdict=make_verdict(lang="de"), author="")
    assert draft_reply(anonymous, templates=templates) == "Hallo, das tut uns leid. — Acme"
    english = make_mention(author="Jane Doe")
    assert draft_reply(english, templates=templates).startswith("Hi Jane,")
