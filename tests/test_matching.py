"""Brand terms, exclusions, canonical URLs and dedup keys."""

from __future__ import annotations

import pytest

from bot.matching import TermSet, canonical_url, normalise_text, text_key

ACME = TermSet.parse(["acme", '"acme corp"', '-"united states"'], exclude=["acme markets"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I hate ACME's new app", "acme"),
        ("#acme is down again", "acme"),
        ("@acme why?", "acme"),
        ("Acme\ncorp support", "acme"),
        ("acmeville news", None),
        ("Weekly deals at Acme Markets", None),
        ("Acme in the United  States", None),
        ("", None),
        ("nothing here", None),
    ],
)
def test_terms_match_whole_words_case_insensitively_unless_excluded(
    text: str, expected: str | None
) -> None:
    assert ACME.match(text) == expected


def test_multi_word_phrase_matches_across_any_whitespace() -> None:
    terms = TermSet.parse(['"acme corp"'])
    assert terms.match("Big news from ACME\t Corp today") == "acme corp"
    assert terms.match("acme and corp") is None


def test_exclusion_can_be_written_in_terms_or_exclude() -> None:
    assert TermSet.parse(["x", "-y"]).exclude == ("y",)
    assert TermSet.parse(["x"], exclude=['"y z"']).exclude == ("y z",)


def test_regex_characters_in_terms_are_literal() -> None:
    terms = TermSet.parse(["c++", "a.b"])
    assert terms.match("I love c++ tooling") == "c++"
    assert terms.match("axb") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.Example.com/a/b/?utm_source=x&b=2&a=1#frag",
            "https://example.com/a/b?a=1&b=2",
        ),
        ("http://example.com:80/x?fbclid=1&gclid=2", "https://example.com/x"),
        ("https://example.com:8443/x/", "https://example.com:8443/x"),
        ("https://example.com", "https://example.com/"),
        (
            "https://www.google.com/url?rct=j&sa=t&url=https%3A%2F%2Fnews.example.com%2Fstory%3Futm_medium%3Drss&ct=ga",
            "https://news.example.com/story",
        ),
        ("https://example.com/p?id=7&ref=rss", "https://example.com/p?id=7"),
        ("at://did:plc:abc/app.bsky.feed.post/1", "at://did:plc:abc/app.bsky.feed.post/1"),
        ("", ""),
    ],
)
def test_canonical_url_strips_tracking_and_unwraps_redirects(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_syndicated_story_shares_a_key_across_sites_and_snippets() -> None:
    title = "Acme outage leaves thousands of customers unable to log in"
    a = text_key(title, "Snippet from site A", "Site A")
    b = text_key(title.upper() + "!", "Another snippet entirely", "Site B")
    assert a and a == b


def test_untitled_posts_by_different_authors_stay_distinct() -> None:
    text = "my acme order still has not arrived after two weeks"
    assert text_key("", text, "alice") != text_key("", text, "bob")
    assert text_key("", text, "alice") == text_key("", text + "  https://t.co/x", "alice")


def test_short_texts_get_no_key() -> None:
    assert text_key("Acme down", "acme is down", "x") == ""


def test_normalise_text_folds_case_punctuation_and_urls() -> None:
    assert normalise_text("Héllo, WORLD!! https://x.y/z  ok") == "héllo world ok"
