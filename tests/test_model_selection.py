"""Tests for skvae.model_selection.BalancedSubsetSplit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate

from skvae.datasets import load_digits
from skvae.model_selection import BalancedSubsetSplit


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def _splits(cv, X, y):
    return [(train.copy(), test.copy()) for train, test in cv.split(X, y)]


def test_sizes_balance_and_disjoint(digits):
    X, y = digits
    cv = BalancedSubsetSplit(n_splits=4, train_size=50, test_size_per_class=30, random_state=0)
    assert cv.get_n_splits() == 4
    splits = _splits(cv, X, y)
    assert len(splits) == 4
    for train, test in splits:
        assert train.dtype.kind == "i" and test.dtype.kind == "i"
        assert len(train) == 50 and len(np.unique(train)) == 50
        assert len(test) == 300 and len(np.unique(test)) == 300
        np.testing.assert_array_equal(np.bincount(y[train], minlength=10), 5)
        np.testing.assert_array_equal(np.bincount(y[test], minlength=10), 30)
        assert np.intersect1d(train, test).size == 0
        assert np.all(np.diff(test) > 0)  # sorted


def test_test_subset_fixed_across_repeats_train_varies(digits):
    X, y = digits
    cv = BalancedSubsetSplit(n_splits=5, train_size=20, test_size_per_class=50, random_state=1)
    splits = _splits(cv, X, y)
    for _, test in splits[1:]:
        np.testing.assert_array_equal(test, splits[0][1])
    trains = {tuple(np.sort(train)) for train, _ in splits}
    assert len(trains) == 5


def test_determinism_and_seeds(digits):
    X, y = digits

    def make(seed, test_seed=None):
        return BalancedSubsetSplit(
            n_splits=3,
            train_size=30,
            test_size_per_class=40,
            random_state=seed,
            test_random_state=test_seed,
        )

    a, b = _splits(make(7), X, y), _splits(make(7), X, y)
    for (tr_a, te_a), (tr_b, te_b) in zip(a, b, strict=True):
        np.testing.assert_array_equal(tr_a, tr_b)
        np.testing.assert_array_equal(te_a, te_b)
    # repeated calls on the same object give the same splits for an int seed
    cv = make(7)
    first, second = _splits(cv, X, y), _splits(cv, X, y)
    np.testing.assert_array_equal(first[2][0], second[2][0])

    c = _splits(make(8), X, y)
    assert not np.array_equal(a[0][0], c[0][0])
    assert not np.array_equal(a[0][1], c[0][1])

    # test_random_state decouples the test subset from random_state
    d, e = _splits(make(1, test_seed=0), X, y), _splits(make(2, test_seed=0), X, y)
    np.testing.assert_array_equal(d[0][1], e[0][1])
    assert not np.array_equal(np.sort(d[0][0]), np.sort(e[0][0]))


def test_global_rng_untouched(digits):
    X, y = digits
    np.random.seed(123)  # noqa: NPY002 - the global state is under test
    state = np.random.get_state()  # noqa: NPY002
    for seed in (None, 0):
        cv = BalancedSubsetSplit(
            n_splits=2, train_size=10, test_size_per_class=5, random_state=seed
        )
        _splits(cv, X, y)
    after = np.random.get_state()  # noqa: NPY002
    assert state[0] == after[0]
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2:] == after[2:]


def test_random_state_instances(digits):
    X, y = digits
    for rng in (np.random.default_rng(0), np.random.RandomState(0)):
        cv = BalancedSubsetSplit(n_splits=2, train_size=10, test_size_per_class=5, random_state=rng)
        for train, test in cv.split(X, y):
            assert len(train) == 10 and len(test) == 50


def test_test_mask_pools(digits):
    X, y = digits
    rng = np.random.default_rng(0)
    is_test = rng.random(len(y)) < 0.4
    cv = BalancedSubsetSplit(
        n_splits=3,
        train_size=40,
        test_size_per_class=20,
        test_mask=is_test,
        random_state=0,
    )
    for train, test in cv.split(X, y):
        assert is_test[test].all()
        assert not is_test[train].any()
        np.testing.assert_array_equal(np.bincount(y[test]), 20)
        np.testing.assert_array_equal(np.bincount(y[train]), 4)

    # test_size_per_class=None: the whole test pool is the test subset
    cv = BalancedSubsetSplit(n_splits=2, train_size=10, test_mask=is_test)
    for train, test in cv.split(X, y):
        np.testing.assert_array_equal(test, np.flatnonzero(is_test))
        assert not is_test[train].any()


def test_cross_validate_and_grid_search(digits):
    X, y = digits
    cv = BalancedSubsetSplit(n_splits=3, train_size=100, test_size_per_class=50, random_state=0)
    clf = LogisticRegression(max_iter=300)
    result = cross_validate(clf, X, y, cv=cv, return_indices=True)
    assert len(result["test_score"]) == 3
    assert np.all(result["test_score"] > 0.7)
    assert all(len(t) == 100 for t in result["indices"]["train"])

    search = GridSearchCV(clf, {"C": [0.1, 1.0]}, cv=cv, refit=False).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_repr_mentions_params():
    cv = BalancedSubsetSplit(n_splits=2, train_size=10, test_size_per_class=5)
    text = repr(cv)
    assert text.startswith("BalancedSubsetSplit(")
    assert "train_size=10" in text and "test_size_per_class=5" in text


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"train_size": 0, "test_size_per_class": 5}, ValueError, "train_size"),
        ({"train_size": 10.0, "test_size_per_class": 5}, TypeError, "train_size"),
        ({"train_size": 10, "test_size_per_class": 0}, ValueError, "test_size_per"),
        ({"train_size": 10}, ValueError, "test_mask"),
        (
            {"train_size": 10, "test_size_per_class": 5, "n_splits": 0},
            ValueError,
            "n_splits",
        ),
        (
            {"train_size": 10, "test_size_per_class": 5, "random_state": "x"},
            TypeError,
            "random_state",
        ),
        (
            {"train_size": 10, "test_size_per_class": 5, "test_random_state": -1},
            ValueError,
            "test_random_state",
        ),
    ],
)
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        BalancedSubsetSplit(**kwargs)


def test_split_errors():
    y = np.repeat([0, 1, 2], [10, 10, 4])
    X = np.zeros((len(y), 1))

    def split(**kwargs):
        kwargs.setdefault("random_state", 0)
        return next(BalancedSubsetSplit(**kwargs).split(X, y))

    with pytest.raises(ValueError, match=r"train_size=10 .*3\b"):
        split(train_size=10, test_size_per_class=2)
    with pytest.raises(ValueError, match=r"Class 2 has only 4 samples.*=5"):
        split(train_size=3, test_size_per_class=5)
    # 4 samples of class 2, 3 for testing -> 1 left, 2 needed for training
    with pytest.raises(ValueError, match=r"Class 2 has only 1 samples.*2 per class"):
        split(train_size=6, test_size_per_class=3)
    with pytest.raises(ValueError, match="requires the class labels y"):
        next(BalancedSubsetSplit(train_size=3, test_size_per_class=1).split(X))
    with pytest.raises(ValueError, match="1-D"):
        next(BalancedSubsetSplit(train_size=3, test_size_per_class=1).split(X, y[:, None]))
    with pytest.raises(ValueError, match="boolean"):
        split(train_size=3, test_size_per_class=1, test_mask=np.zeros(len(y), int))
    with pytest.raises(ValueError, match=r"shape \(3,\).*24 samples"):
        split(train_size=3, test_size_per_class=1, test_mask=np.ones(3, bool))
    mask = np.zeros(len(y), bool)
    with pytest.raises(ValueError, match="in the test pool"):
        split(train_size=3, test_size_per_class=1, test_mask=mask)
    with pytest.raises(ValueError, match="selects no sample"):
        split(train_size=3, test_mask=mask)
    with pytest.raises(ValueError, match="outside the test pool"):
        split(train_size=3, test_mask=~mask)
