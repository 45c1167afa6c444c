"""The splits every reported figure rests on: no report row ever reaches a model that saw it."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis import data
from tests.analysis.conftest import require_shared_data

pytest.importorskip("sklearn", reason="the report folds need the train extra (scikit-learn)")
from bot.analysis import protocol  # needs scipy and scikit-learn: imported after the skip


@pytest.fixture(scope="module", params=list(data.DATASETS))
def dataset(request) -> data.Dataset:
    require_shared_data()
    return data.load(request.param)


def test_the_development_split_is_a_quarter_and_keeps_a_review_on_one_side(dataset):
    dev = protocol.dev_mask(dataset)
    assert 0.2 < dev.mean() < 0.3
    sides: dict[str, set[bool]] = {}
    for group, is_dev in zip(dataset.groups, dev, strict=True):
        sides.setdefault(group, set()).add(bool(is_dev))
    assert all(len(s) == 1 for s in sides.values())


def test_no_report_fold_is_scored_through_an_adapter_that_trained_on_it(dataset):
    folds = protocol.report_folds(dataset)
    halves = [protocol.adapter_rows(dataset, f"half{h}") for h in (0, 1)]
    for k in range(int(folds.max()) + 1):
        in_fold = folds == k
        assert in_fold.any()
        assert not (in_fold & halves[protocol.unseen_half(k)]).any()
        assert in_fold[halves[1 - protocol.unseen_half(k)]].sum() == in_fold.sum()
    # Between them the halves cover every row; both hold the development split and only it.
    dev = protocol.dev_mask(dataset)
    assert (halves[0] | halves[1]).all()
    assert np.array_equal(halves[0] & halves[1], dev)
    assert np.array_equal(protocol.adapter_rows(dataset, "dev"), dev)
    assert np.array_equal(protocol.adapter_rows(dataset, "outside-dev"), ~dev)


def test_an_unknown_row_choice_is_refused_by_name(dataset):
    with pytest.raises(ValueError, match=r"half0.*'everything'"):
        protocol.adapter_rows(dataset, "everything")
