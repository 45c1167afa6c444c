"""Every request to /api/messages is authenticated as the Bot Framework specifies: tokens signed
with an RSA key made here, its JWKS and OpenID metadata served from loopback, POSTed to the
running endpoint (uvicorn, the Teams SDK). Each refusal must leave the store untouched."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.models import Mention, Status
from tests.chat.teams_env import TeamsEnv, base_activity, fake_teams, teams_env  # noqa: F401
from tests.fakes.fake_teams import TEAM_ID, FakeBotFramework, Signer


def _claim_activity(env: TeamsEnv, mention_id: int) -> dict[str, Any]:
    [delivery] = env.store.deliveries(mention_id)
    activity = base_activity(env.fake, "alice", delivery.channel_id, delivery.message_id)
    activity.update({
        "type": "invoke", "name": "adaptiveCard/action", "replyToId": delivery.message_id,
        "value": {"action": {"type": "Action.Execute", "verb": "mention-claim",
                             "data": {"mention": mention_id}}},
    })  # fmt: skip
    return activity


@pytest.fixture
def alerted(teams_env: TeamsEnv, make_mention: Callable[..., Mention]) -> int:  # noqa: F811
    from bot.models import Route

    mention_id = teams_env.store.add_mention(
        make_mention(routes=(Route("teams", "Support/alerts"),)), alert=True
    )
    assert mention_id is not None
    assert teams_env.outbox.deliver_due().delivered == 1
    return mention_id


def _unclaimed(env: TeamsEnv, mention_id: int) -> bool:
    mention = env.store.get_mention(mention_id)
    return mention is not None and mention.status == Status.ALERTED


def test_a_valid_signed_activity_is_accepted(teams_env: TeamsEnv, alerted: int) -> None:  # noqa: F811
    response = teams_env.post(_claim_activity(teams_env, alerted))
    assert response.status_code == 200
    assert response.json()["type"] == "application/vnd.microsoft.card.adaptive"
    assert not _unclaimed(teams_env, alerted)


def _service(env: TeamsEnv) -> str:
    return env.fake.service_url


# (case, how the token is made from the env) → 401, and nothing happens.
UNAUTHENTICATED: dict[str, Callable[[TeamsEnv], str | None]] = {
    "unsigned (no Authorization header)": lambda env: None,
    "not a JWT": lambda env: "not-a-token",
    "signed with alg none": lambda env: __import__("jwt").encode(
        {"iss": "https://api.botframework.com", "aud": "x"}, None, algorithm="none"
    ),
    "expired (beyond the 5 min skew)": lambda env: env.fake.signers[0].token(
        _service(env),
        exp=int(time.time()) - 600,
        iat=int(time.time()) - 4000,
        nbf=int(time.time()) - 4000,
    ),
    "another issuer": lambda env: env.fake.signers[0].token(
        _service(env), iss="https://evil.example.com"
    ),
    "another audience": lambda env: env.fake.signers[0].token(_service(env), aud="another-app"),
    "no expiry": lambda env: env.fake.signers[0].token(_service(env), exp=None),
    "an unknown signing key": lambda env: Signer("key-unknown").token(_service(env)),
    "a mismatched serviceUrl claim": lambda env: env.fake.signers[0].token(
        "https://smba.trafficmanager.net/emea/"
    ),
    "no serviceUrl claim": lambda env: env.fake.signers[0].token(_service(env), serviceurl=None),
}


@pytest.mark.parametrize("case", list(UNAUTHENTICATED))
def test_a_request_that_fails_authentication_is_refused_401(
    teams_env: TeamsEnv,  # noqa: F811
    alerted: int,
    case: str,
) -> None:
    token = UNAUTHENTICATED[case](teams_env)
    response = teams_env.post(_claim_activity(teams_env, alerted), token=token)
    assert response.status_code == 401, response.text
    assert _unclaimed(teams_env, alerted)


def test_a_request_from_another_tenant_is_refused_403(teams_env: TeamsEnv, alerted: int) -> None:  # noqa: F811
    activity = _claim_activity(teams_env, alerted)
    activity["channelData"]["tenant"]["id"] = "99999999-0000-4000-8000-000000000000"
    response = teams_env.post(activity)
    assert response.status_code == 403
    assert _unclaimed(teams_env, alerted)


def test_a_service_url_outside_the_allowed_ones_is_refused_403(
    teams_env: TeamsEnv,  # noqa: F811
    alerted: int,
) -> None:
    """The bot would send its token to an activity's serviceUrl: only allowed hosts pass,
    even when the Bot Framework signed the claim."""
    activity = _claim_activity(teams_env, alerted)
    activity["serviceUrl"] = "https://attacker.example.com/teams/"
    response = teams_env.post(activity)
    assert response.status_code == 403
    assert _unclaimed(teams_env, alerted)


def test_a_key_not_endorsed_for_teams_is_refused(
    teams_env: TeamsEnv,  # noqa: F811
    alerted: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = Signer("key-skype")
    monkeypatch.setattr(other, "jwk", lambda endorsements=("skype",): Signer.jwk(other, ("skype",)))
    teams_env.fake.signers.append(other)
    response = teams_env.post(_claim_activity(teams_env, alerted), signer=other)
    assert response.status_code == 401
    assert _unclaimed(teams_env, alerted)


def test_keys_are_cached_and_reread_when_a_new_key_id_appears(
    teams_env: TeamsEnv,  # noqa: F811
    alerted: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key rotation: a token signed with a key id the cache does not know makes the bot
    read the keys again (at most once a minute), and then it is accepted."""
    keys = teams_env.mount.keys
    reads = keys.reads
    for _ in range(3):
        assert teams_env.post(_claim_activity(teams_env, alerted)).status_code == 200
    assert keys.reads == reads, "known keys are served from the cache"
    rotated = Signer("key-2")
    teams_env.fake.signers.append(rotated)
    now = [time.monotonic() + 120]
    monkeypatch.setattr(keys, "clock", lambda: now[0])
    response = teams_env.post(_claim_activity(teams_env, alerted), signer=rotated)
    assert response.status_code == 200
    assert keys.reads == reads + 1
    # A flood of unknown key ids does not become a flood of key reads.
    for n in range(5):
        assert teams_env.post(_claim_activity(teams_env, alerted),
                              signer=Signer(f"junk-{n}")).status_code == 401  # fmt: skip
    assert keys.reads == reads + 1


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1, 2]", 400), (b"{" + b" " * 1_100_000 + b"}", 413)],
)
def test_malformed_or_huge_bodies_are_refused_before_anything_else(
    teams_env: TeamsEnv,  # noqa: F811
    body: bytes,
    status: int,
) -> None:
    response = teams_env.http.post(teams_env.url, content=body,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == status


def test_no_token_reaches_the_log(
    teams_env: TeamsEnv,  # noqa: F811
    alerted: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = teams_env.fake.signers[0].token(_service(teams_env), aud="another-app")
    with caplog.at_level("DEBUG"):
        teams_env.post(_claim_activity(teams_env, alerted), token=token)
        teams_env.post(_claim_activity(teams_env, alerted))
    assert "refused a Teams request (401): the token is for another app" in caplog.text
    for issued in [*teams_env.fake.tokens, token]:
        assert issued not in caplog.text
    assert token.split(".")[1] not in caplog.text


def test_unauthenticated_development_is_possible_only_behind_the_loud_setting(
    fake_teams: FakeBotFramework,  # noqa: F811
    tmp_path: Any,
    clock: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.store import open_store
    from tests.chat.teams_env import make_teams_env, teams_settings

    store = open_store(f"sqlite:///{tmp_path / 'dev.db'}")
    settings = teams_settings(fake_teams, teams_dangerously_accept_unauthenticated_requests=True)
    with caplog.at_level("ERROR"):
        env, stop = make_teams_env(fake_teams, store, clock, settings=settings)
    try:
        assert "TEAMS_DANGEROUSLY_ACCEPT_UNAUTHENTICATED_REQUESTS is on" in caplog.text
        activity = base_activity(fake_teams, "alice", TEAM_ID, "")
        activity.update({"type": "message", "text": "<at>mentionbot</at> help"})
        assert env.post(activity, token=None).status_code == 200
    finally:
        stop()
        store.close()
