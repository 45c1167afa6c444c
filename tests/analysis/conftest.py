from __future__ import annotations

import pytest

from bot.analysis import data


@pytest.fixture(scope="session")
def e5():
    from bot.analysis import get_scorer

    return get_scorer("e5")


@pytest.fixture(scope="session")
def lexicon():
    from bot.analysis import get_scorer

    return get_scorer("lexicon")


def require_shared_data() -> None:
    if not (data.data_dir() / "complaints" / "train.jsonl").exists():
        pytest.skip(f"shared labelled data not found at {data.data_dir()} (../shared/data)")
