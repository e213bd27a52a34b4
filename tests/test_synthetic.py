"""Generated rows inside CNNClassifier (oversampler, weights, refresh) and the filter."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from skvae import CNNClassifier, VAEOversampler
from skvae.generation import ClassifierFilter
from skvae.synthetic import LinearDecay, SyntheticRows

SMALL = dict(random_state=0, module__channels=(4, 4, 4, 4), module__hidden=8)
VAE_FAST = dict(latent=2, training={"max_epochs": 2, "patience": 1})


class Spy(CNNClassifier):
    """Records the training rows of every epoch and the weights of every batch."""

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.seen_ = getattr(self, "seen_", [])
        self.seen_.append(
            dict(
                X=dataset_train.X.clone(),
                y=dataset_train.y.clone(),
                n_valid=0 if dataset_valid is None else len(dataset_valid),
            )
        )

    def _weighted_loss(self, y_pred, y_true, weight):
        self.weights_ = getattr(self, "weights_", [])
        self.weights_.append(weight.clone())
        return super()._weighted_loss(y_pred, y_true, weight)


class CopySampler:
    """Duplicates every row once: original rows first (as imblearn samplers do)."""

    def fit_resample(self, X, y):
        return np.concatenate([X, X]), np.concatenate([y, y])

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


class ShuffledSampler(CopySampler):
    def fit_resample(self, X, y):
        X_res, y_res = super().fit_resample(X, y)
        return X_res[::-1], y_res[::-1]


def test_generated_rows_join_training_only(small_digits):
    X, y = small_digits  # 12 rows per class
    sampler = VAEOversampler(augment_size=5, **VAE_FAST)
    clf = Spy(max_epochs=2, validation_fraction=0.2, oversampler=sampler, **SMALL).fit(X, y)
    first = clf.seen_[0]
    n_valid = len(clf.validation_indices_)
    assert first["n_valid"] == n_valid == 10 * round(0.2 * 12)  # validation stays real
    assert len(first["X"]) == len(X) - n_valid + 50
    np.testing.assert_array_equal(clf.n_synthetic_, np.full(10, 5))
    assert clf.oversampler_.random_state is not None  # seeded from the classifier's seed
    # The first epoch's generated rows are the oversampler's own output.
    assert torch.equal(first["y"][-50:], torch.arange(10).repeat_interleave(5))


class RecordingSampler(CopySampler):
    """A CopySampler that keeps the rows it was fitted on."""

    def fit_resample(self, X, y):
        self.fitted_on_ = X.copy()
        return super().fit_resample(X, y)


@pytest.mark.parametrize("wrap", [False, True])
def test_the_sampler_sees_every_row_and_its_rows_join_the_training_split(small_digits, wrap):
    X, y = small_digits
    oversampler = SyntheticRows(RecordingSampler()) if wrap else RecordingSampler()
    clf = Spy(max_epochs=1, oversampler=oversampler, **SMALL).fit(X, y)
    seen = clf.oversampler_.fitted_on_
    valid = clf.validation_indices_
    train = np.setdiff1d(np.arange(len(X)), valid)
    # All rows, as a pipeline step would see them.
    np.testing.assert_array_equal(seen, X.astype(np.float32))
    # Either way the generated rows join the training split only.
    assert clf.seen_[0]["n_valid"] == len(valid)
    assert len(clf.seen_[0]["X"]) == len(train) + len(seen)


def test_fixed_set_without_refresh_fresh_rows_with_refresh(small_digits):
    X, y = small_digits
    sampler = VAEOversampler(augment_size=3, **VAE_FAST)
    fixed = Spy(max_epochs=3, oversampler=sampler, **SMALL).fit(X, y)
    fresh = Spy(max_epochs=3, oversampler=SyntheticRows(sampler, refresh=True), **SMALL).fit(X, y)
    for run in (fixed, fresh):
        assert len(run.seen_) == 3
        assert all(len(s["X"]) == len(run.seen_[0]["X"]) for s in run.seen_)
    n_real = len(X) - len(fixed.validation_indices_)
    gen = [s["X"][n_real:] for s in fresh.seen_]
    assert all(torch.equal(fixed.seen_[0]["X"], s["X"]) for s in fixed.seen_)
    assert not torch.equal(gen[0], gen[1]) and not torch.equal(gen[1], gen[2])
    # Real rows and labels never change; the fresh rows keep their classes.
    assert all(torch.equal(s["X"][:n_real], fresh.seen_[0]["X"][:n_real]) for s in fresh.seen_)
    assert all(torch.equal(s["y"], fresh.seen_[0]["y"]) for s in fresh.seen_)


def test_synthetic_weight_reaches_the_loss(small_digits):
    X, y = small_digits
    clf = Spy(
        max_epochs=1,
        oversampler=SyntheticRows(VAEOversampler(augment_size=4, **VAE_FAST), weight=0.25),
        **SMALL,
    ).fit(X, y)
    weights = torch.cat(clf.weights_)
    n_real = len(X) - len(clf.validation_indices_)
    assert (weights == 1).sum() == n_real and (weights == 0.25).sum() == 40
    # The weighted loss is the weighted mean of the per-row cross-entropies.
    logits, target = torch.randn(6, 10), torch.tensor([0, 1, 2, 3, 4, 5])
    w = torch.tensor([1, 1, 0.25, 0.25, 0, 1.0])
    expected = (torch.nn.functional.cross_entropy(logits, target, reduction="none") * w).sum()
    torch.testing.assert_close(clf._weighted_loss(logits, target, w), expected / w.sum())
    assert clf.criterion_.reduction == "mean"  # restored after the weighted call


class RecordingSchedule:
    """A weight schedule that records the progress it was asked for."""

    def __init__(self):
        self.asked = []

    def __call__(self, progress):
        self.asked.append(progress)
        return 0.5 * (1.0 - progress)


@pytest.mark.parametrize("budget", [dict(updates=None, max_epochs=4), dict(updates=12)])
def test_a_weight_schedule_sets_the_generated_rows_weight_each_epoch(small_digits, budget):
    # 120 real rows and 120 copies in batches of 60 make 4 updates an epoch, so 12
    # updates are 3 epochs: the schedule is asked at 0, 1/3, 2/3 (with 4 epochs by
    # max_epochs, at 0, 1/4, 2/4, 3/4), and every generated row of an epoch's batches
    # carries that epoch's weight while real rows keep 1.
    X, y = small_digits
    schedule = RecordingSchedule()
    clf = Spy(
        oversampler=SyntheticRows(CopySampler(), weight=schedule),
        validation_fraction=0.0,
        batch_size=60,
        **budget,
        **SMALL,
    ).fit(X, y)
    epochs = clf.n_epochs_
    progress = [0.0, *(k / epochs for k in range(epochs))]  # 0 builds the split
    np.testing.assert_allclose(schedule.asked, progress)
    per_epoch = np.split(np.arange(len(clf.weights_)), epochs)
    for k, batches in enumerate(per_epoch):
        weights = torch.cat([clf.weights_[i] for i in batches])
        assert (weights == 1).sum() == len(X)
        expected = torch.full((len(X),), 0.5 * (1 - k / epochs))
        torch.testing.assert_close(weights[weights != 1], expected)


def test_linear_decay_and_bad_weights(small_digits):
    assert [LinearDecay(0.5, 0.1)(p) for p in (0.0, 0.5, 1.0)] == pytest.approx([0.5, 0.3, 0.1])
    X, y = small_digits
    with pytest.raises(ValueError, match="weight must be a number >= 0 or a callable"):
        CNNClassifier(
            max_epochs=1, oversampler=SyntheticRows(CopySampler(), weight=-1), **SMALL
        ).fit(X, y)
    with pytest.raises(ValueError, match=r"weight\(0.000\) must be >= 0, got -1.0"):
        CNNClassifier(
            max_epochs=1,
            oversampler=SyntheticRows(CopySampler(), weight=LinearDecay(-1, 0)),
            **SMALL,
        ).fit(X, y)


def test_weight_zero_hides_generated_rows_from_training(small_digits):
    X, y = small_digits
    base = dict(max_epochs=3, validation_fraction=0.0, **SMALL)
    # Weight 0 on a copy of every row leaves only the real rows' gradients; the
    # run differs from the plain one only through shuffling, so compare losses.
    zero = CNNClassifier(oversampler=SyntheticRows(CopySampler(), weight=0.0), **base).fit(X, y)
    one = CNNClassifier(oversampler=SyntheticRows(CopySampler(), weight=1.0), **base).fit(X, y)
    assert zero.n_epochs_ == one.n_epochs_ == 3
    assert not np.allclose(zero.history[:, "train_loss"], one.history[:, "train_loss"])


def test_oversampler_runs_are_reproducible(small_digits):
    X, y = small_digits
    kw = dict(
        max_epochs=2,
        oversampler=SyntheticRows(VAEOversampler(**VAE_FAST), weight=0.5, refresh=True),
        **SMALL,
    )
    state = np.random.get_state()[1].copy()
    a = CNNClassifier(**kw).fit(X, y).predict_proba(X)
    b = CNNClassifier(**kw).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(state, np.random.get_state()[1])


def test_oversampler_errors(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="original rows first"):
        CNNClassifier(max_epochs=1, oversampler=ShuffledSampler(), **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="sample\\(n_samples"):
        CNNClassifier(
            max_epochs=1, oversampler=SyntheticRows(CopySampler(), refresh=True), **SMALL
        ).fit(X, y)
    with pytest.raises(ValueError, match="train_split=None"):
        CNNClassifier(
            max_epochs=1, oversampler=CopySampler(), train_split=lambda ds, y: (ds, None), **SMALL
        ).fit(X, y)
    with pytest.raises(ValueError, match="weight must be a number >= 0 or a callable, got -1.0"):
        CNNClassifier(oversampler=SyntheticRows(CopySampler(), weight=-1.0), **SMALL).fit(X, y)
    with pytest.raises(TypeError, match="sampler needs fit_resample"):
        CNNClassifier(oversampler=SyntheticRows("smote"), **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="oversampler"):
        CNNClassifier(oversampler="smote", **SMALL).fit(X, y)


def test_partial_fit_keeps_generating(small_digits):
    X, y = small_digits
    clf = Spy(max_epochs=1, oversampler=VAEOversampler(augment_size=2, **VAE_FAST), **SMALL)
    clf.fit(X, y).partial_fit(X, y)
    assert len(clf.seen_) == 2 and len(clf.seen_[1]["X"]) == len(clf.seen_[0]["X"])


# ------------------------------------------------------------------ filter
def test_filter_keeps_only_rows_the_real_data_classifier_accepts(small_digits):
    X, y = small_digits
    s = VAEOversampler(
        augment_size=6,
        filter=ClassifierFilter(threshold=0.3, max_rounds=500),
        random_state=0,
        latent=2,
        training={"max_epochs": 30},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the filter reached its threshold for every class
        X_res, y_res = s.fit_resample(X, y)
    judge = s.filter_.estimator_
    assert isinstance(judge, LogisticRegression)
    new, labels = X_res[len(X) :], y_res[len(X) :]
    assert len(new) == 60  # the requested count, per class
    proba = judge.predict_proba(new)
    accepted = proba[np.arange(len(new)), np.searchsorted(judge.classes_, labels)]
    assert (accepted >= 0.3).all()
    assert all(0 < rate <= 1 for rate in s.filter_acceptance_.values())
    # Without the filter some rows fall below the threshold: the filter did remove rows.
    plain = VAEOversampler(augment_size=6, random_state=0, latent=2, training={"max_epochs": 30})
    X_plain, y_plain = plain.fit_resample(X, y)
    p = judge.predict_proba(X_plain[len(X) :])
    assert (p[np.arange(60), y_plain[len(X) :]] < 0.3).any()
    assert plain.filter_ is None
    # sample() applies the filter too.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = s.sample(20, 3, random_state=1)
    assert (judge.predict_proba(rows)[:, 3] >= 0.3).all()


def test_filter_warns_and_fills_when_threshold_unreachable(small_digits):
    X, y = small_digits
    s = VAEOversampler(
        augment_size=2,
        filter=ClassifierFilter(threshold=1.0, max_rounds=2),
        random_state=0,
        **VAE_FAST,
    )
    with pytest.warns(UserWarning, match="the filter accepted"):
        X_res, _ = s.fit_resample(X, y)
    assert len(X_res) == len(X) + 20 and np.isfinite(X_res).all()


def test_filter_estimator_is_used(small_digits):
    X, y = small_digits

    class Always(LogisticRegression):
        def predict_proba(self, X):
            return np.full((len(X), len(self.classes_)), 1.0)

    always = ClassifierFilter(estimator=Always(), threshold=0.9)
    s = VAEOversampler(filter=always, random_state=0, **VAE_FAST)
    s.fit_resample(X, y)
    assert isinstance(s.filter_.estimator_, Always) and not hasattr(always, "estimator_")
    assert all(rate == 1.0 for rate in s.filter_acceptance_.values())
    bad = VAEOversampler(filter=ClassifierFilter(threshold=1.5), **VAE_FAST)
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\], got 1.5"):
        bad.check_settings()  # the grid's pre-check, before any data
    with pytest.raises(ValueError, match="threshold must lie in"):
        bad.fit_resample(X, y)


def test_check_settings_validates_the_oversampler_before_any_fit():
    from imblearn.over_sampling import SMOTE
    from sklearn.utils._param_validation import InvalidParameterError

    # skvae's samplers through check_settings, imbalanced-learn's through
    # _validate_params; a sampler with neither (the fit/sample protocol) passes.
    with pytest.raises(InvalidParameterError, match="'beta' parameter"):
        CNNClassifier(oversampler=VAEOversampler(training={"beta": -1.0}), **SMALL).check_settings(
            (1, 8, 8), 2
        )
    with pytest.raises(InvalidParameterError, match="'k_neighbors' parameter"):
        CNNClassifier(oversampler=SMOTE(k_neighbors=-1), **SMALL).check_settings((1, 8, 8), 2)

    class ProtocolSampler:
        def fit_resample(self, X, y):
            return X, y

    CNNClassifier(oversampler=ProtocolSampler(), **SMALL).check_settings((1, 8, 8), 2)
    CNNClassifier(**SMALL).check_settings((1, 8, 8), 2)
    # Inside SyntheticRows: its own settings, then its sampler's.
    wrapped = SyntheticRows(VAEOversampler(training={"beta": -1.0}), weight=0.5)
    with pytest.raises(InvalidParameterError, match="'beta' parameter"):
        CNNClassifier(oversampler=wrapped, **SMALL).check_settings((1, 8, 8), 2)
    with pytest.raises(ValueError, match="refresh=True needs a sampler with a sample"):
        CNNClassifier(
            oversampler=SyntheticRows(ProtocolSampler(), refresh=True), **SMALL
        ).check_settings((1, 8, 8), 2)
