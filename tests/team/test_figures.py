"""The team's figures against hand-computed values, and the export as a file in the
caller's direct messages through Slack's upload flow."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

from bot import workflow
from bot.models import Mention, Sentiment
from bot.team.figures import compute, spread
from bot.team.policy import Targets
from tests.conftest import make_verdict
from tests.team.conftest import TeamEnv
from tests.team.test_routing_mutes import command


def test_median_and_p90_are_the_hand_computed_ones() -> None:
    # Inclusive quantiles: p90 sits at rank (n-1)*0.9 = 3.6, between 480 and 1800.
    assert spread([120, 240, 360, 480, 1800]) == (360, 480 + 0.6 * (1800 - 480))
    assert spread([42.0]) == (42.0, 42.0)
    assert spread([]) == (None, None)


def test_digest_figures_from_the_store_match_a_hand_count(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    store, clock = team_env.store, team_env.clock
    start = clock()
    claim_after = [2, 4, 6, 8, 30]  # minutes
    ids = []
    for n, minutes in enumerate(claim_after):
        mention_id, _ = team_env.alert(make_mention(source="hn" if n % 2 else "reddit"))
        ids.append(mention_id)
        person = "slack:U0ALICE01" if n < 3 else "slack:U0BOB0001"
        workflow.claim(store, mention_id, person, clock() + timedelta(minutes=minutes))
    # Two of them answered after 50 and 70 minutes, one resolved after 2 hours.
    workflow.reply(store, ids[0], "slack:U0ALICE01", "on it", start + timedelta(minutes=50))
    workflow.reply(store, ids[3], "slack:U0BOB0001", "sorry", start + timedelta(minutes=70))
    workflow.resolve(store, ids[0], "slack:U0ALICE01", start + timedelta(hours=2))
    store.add_mention(make_mention(verdict=make_verdict(Sentiment.POSITIVE, 0.2)), alert=False)
    until = start + timedelta(days=1)
    rows = store.workflow_rows(start - timedelta(hours=1), until)
    fig = compute(rows, start - timedelta(hours=1), until, lambda _: Targets())
    assert (fig.total, fig.alerted, fig.muted) == (6, 5, 0)
    assert fig.by_sentiment == {"negative": 5, "positive": 1}
    assert fig.by_source == {"reddit": 3, "hn": 2, "test-feed": 1}
    claim = fig.to_claim
    assert (claim.count, claim.median, claim.within_target, claim.target) == (5, 360, 4, 900)
    assert claim.p90 == 1272
    reply = fig.to_reply
    assert (reply.count, reply.median, reply.p90, reply.within_target) == (2, 3600, 4080, 1)
    assert (fig.to_resolve.count, fig.to_resolve.median, fig.to_resolve.target) == (1, 7200, None)
    assert {k: (p.claimed, p.replied, p.resolved) for k, p in fig.people.items()} == {
        "slack:U0ALICE01": (3, 1, 1),
        "slack:U0BOB0001": (2, 1, 0),
    }
    assert [r.mention_id for r in fig.top][:5] == sorted(ids)


def test_export_sends_a_csv_to_the_callers_direct_messages_with_formulas_made_inert(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    team_env.alert(make_mention(title='=HYPERLINK("http://evil")'))
    said = command(team_env, "export 7d")
    assert said.startswith("Sent you mentions-20261117-last-7-d.csv (1 mentions)")
    methods = [c.method for c in team_env.fake.calls if c.method.startswith(("files.", "conv"))]
    assert methods[-3:] == [
        "conversations.open", "files.getUploadURLExternal", "files.completeUploadExternal"
    ]  # fmt: skip
    [stored] = team_env.fake.files.values()
    assert stored["shares"] == [
        {"channel": "D0ALICE01", "comment": "Your export: 1 mentions, last 7 d."}
    ]
    rows = list(csv.DictReader(io.StringIO(stored["content"].decode())))
    assert len(rows) == 1 and rows[0]["title"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["alerted"] == "1" and rows[0]["status"] == "alerted"
