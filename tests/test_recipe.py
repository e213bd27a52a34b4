"""The CNN training recipe's parts (issue #31): update budget, schedule, refit, no test rows."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

import skvae.classifier
from skvae import CNNClassifier, RandomAffine, VAEOversampler
from skvae.datasets import load_digits
from skvae.experiment import CONDITIONS, Cell, ExperimentConfig, run_cell
from skvae.experiment.data import load_dataset, make_cv
from skvae.nn import PaperCNN

TINY = dict(module__channels=(4, 4, 4, 4), module__hidden=8, random_state=0)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rows(n_per_class: int, classes: int = 3):
    X, y = load_digits(return_X_y=True)
    rows = np.concatenate([np.flatnonzero(y == c)[:n_per_class] for c in range(classes)])
    return X[rows], y[rows]


def _n_training_batches(clf: CNNClassifier) -> int:
    return int(sum(clf.history[:, "train_batch_count"]))


@pytest.mark.parametrize("n_per_class", [10, 30])
def test_auto_budget_grows_with_the_training_rows_as_documented(monkeypatch, n_per_class):
    monkeypatch.setattr(skvae.classifier, "AUTO_UPDATES", (7, 2))
    X, y = _rows(n_per_class)
    n = len(y)
    clf = CNNClassifier(updates="auto", validation_fraction=0.0, **TINY).fit(X, y)
    budget, per_epoch = 7 + 2 * n, math.ceil(n / clf.batch_size)
    # Whole epochs: at least the budget, less than one epoch more.
    assert budget <= clf.n_updates_planned_ < budget + per_epoch
    assert _n_training_batches(clf) == clf.n_updates_planned_
    assert clf.n_epochs_ == clf.n_updates_planned_ // per_epoch


def test_auto_budget_of_augmented_training_adds_the_extra(monkeypatch):
    monkeypatch.setattr(skvae.classifier, "AUTO_UPDATES", (7, 2))
    monkeypatch.setattr(skvae.classifier, "AUTO_AUGMENTED_EXTRA", 11)
    X, y = _rows(10)
    plain = CNNClassifier(updates="auto", validation_fraction=0.0, **TINY).fit(X, y)
    augmented = CNNClassifier(
        updates="auto", validation_fraction=0.0, augment=RandomAffine(10.0), **TINY
    ).fit(X, y)
    per_epoch = math.ceil(len(y) / plain.batch_size)
    assert plain.n_updates_planned_ == per_epoch * math.ceil((7 + 2 * len(y)) / per_epoch)
    assert augmented.n_updates_planned_ == per_epoch * math.ceil((18 + 2 * len(y)) / per_epoch)
    assert _n_training_batches(augmented) == augmented.n_updates_planned_


def test_auto_budget_counts_real_rows_only(monkeypatch):
    """Generated rows add rows per epoch, not updates: a VAE condition gets the CNN's budget."""
    monkeypatch.setattr(skvae.classifier, "AUTO_UPDATES", (7, 2))
    X, y = _rows(10)
    sampler = VAEOversampler(latent=2, training={"max_epochs": 2}, random_state=0)
    clf = CNNClassifier(updates="auto", validation_fraction=0.0, oversampler=sampler, **TINY).fit(
        X, y
    )
    budget = 7 + 2 * len(y)
    per_epoch = math.ceil((len(y) + int(clf.n_synthetic_.sum())) / clf.batch_size)
    assert budget <= clf.n_updates_planned_ < budget + per_epoch
    assert _n_training_batches(clf) == clf.n_updates_planned_


def test_the_cosine_schedule_reaches_the_optimizer():
    X, y = _rows(10)
    clf = CNNClassifier(updates=30, validation_fraction=0.0, lr=2e-3, **TINY).fit(X, y)
    lrs = [batch["event_lr"] for epoch in clf.history[:, "batches"] for batch in epoch]
    assert len(lrs) == clf.n_updates_planned_
    assert lrs[0] == pytest.approx(2e-3)
    assert all(b <= a for a, b in zip(lrs, lrs[1:]))
    # Half a cosine: the mid-point at half the rate, the end at eta_min = 0.
    mid = len(lrs) // 2
    assert lrs[mid] == pytest.approx(1e-3 * (1 + math.cos(math.pi * mid / len(lrs))), rel=1e-6)
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_the_schedule_can_be_dropped_or_tuned_by_name():
    X, y = _rows(10)
    flat = CNNClassifier(
        updates=10, validation_fraction=0.0, callbacks__lr_scheduler=None, **TINY
    ).fit(X, y)
    assert flat.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3)
    floor = CNNClassifier(
        updates=10, validation_fraction=0.0, callbacks__lr_scheduler__eta_min=1e-4, **TINY
    ).fit(X, y)
    assert floor.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-4)


class CountingCNN(PaperCNN):
    """PaperCNN that records the rows of each training forward pass."""

    seen: list[int] = []

    def forward(self, x):
        if self.training:
            CountingCNN.seen.append(len(x))
        return super().forward(x)


def test_without_validation_every_labelled_row_trains_for_the_chosen_updates(monkeypatch):
    monkeypatch.setattr(CountingCNN, "seen", [])
    X, y = _rows(10)
    params = dict(TINY, module=CountingCNN)
    clf = CNNClassifier(updates=12, validation_fraction=0.0, **params).fit(X, y)
    assert len(clf.validation_indices_) == 0
    assert _n_training_batches(clf) == clf.n_updates_planned_ == 12
    # 30 rows in one batch of 32: 12 updates are 12 epochs, each over every row.
    assert CountingCNN.seen == [len(y)] * 12
    assert clf.best_epoch_ == clf.n_epochs_ == 12  # the last weights are kept


def test_the_schedule_refuses_a_fit_without_an_update_count():
    from skvae.callbacks import CosineOverFit

    X, y = _rows(5)
    clf = CNNClassifier(updates=None, max_epochs=2, callbacks=[("cos", CosineOverFit())], **TINY)
    with pytest.raises(ValueError, match="updates=None"):
        clf.fit(X, y)


def test_the_defaults_are_the_recipe(monkeypatch):
    """``CNNClassifier()`` trains the auto budget on every labelled row with the cosine."""
    monkeypatch.setattr(skvae.classifier, "AUTO_UPDATES", (5, 1))
    X, y = _rows(10)
    clf = CNNClassifier(**TINY).fit(X, y)
    assert len(clf.validation_indices_) == 0
    per_epoch = math.ceil(len(y) / clf.batch_size)
    assert 5 + len(y) <= clf.n_updates_planned_ < 5 + len(y) + per_epoch
    assert _n_training_batches(clf) == clf.n_updates_planned_
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert clf.best_epoch_ == clf.n_epochs_  # the last weights are kept
    assert "valid_loss" not in clf.history[-1]


def test_max_epochs_caps_the_budget_and_the_cosine_still_ends_at_zero():
    X, y = _rows(10)
    clf = CNNClassifier(updates=1000, max_epochs=3, **TINY).fit(X, y)
    per_epoch = math.ceil(len(y) / clf.batch_size)
    assert clf.n_epochs_ == 3 and clf.n_updates_planned_ == 3 * per_epoch
    assert _n_training_batches(clf) == clf.n_updates_planned_
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    # A cap above what the budget needs changes nothing.
    uncapped = CNNClassifier(updates=4, max_epochs=50, **TINY).fit(X, y)
    assert uncapped.n_epochs_ == math.ceil(4 / per_epoch)


def test_training_by_epochs_needs_max_epochs():
    X, y = _rows(5)
    with pytest.raises(ValueError, match="updates=None.*max_epochs=None"):
        CNNClassifier(updates=None, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="max_epochs=None"):
        CNNClassifier(updates=None, **TINY).check_settings((1, 8, 8), 3)


def test_partial_fit_lays_the_cosine_over_its_own_epochs():
    X, y = _rows(10)
    clf = CNNClassifier(updates=6, **TINY).fit(X, y)
    clf.set_params(max_epochs=2).partial_fit(X, y)
    per_epoch = math.ceil(len(y) / clf.batch_size)
    assert clf.n_updates_planned_ == 2 * per_epoch
    lrs = [batch["event_lr"] for epoch in clf.history[-2:, "batches"] for batch in epoch]
    assert lrs[0] == pytest.approx(1e-3) and len(lrs) == 2 * per_epoch
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_updates_are_validated_in_fit():
    X, y = _rows(5)
    for bad in (0, "many", 2.5):
        with pytest.raises(ValueError, match="updates"):
            CNNClassifier(updates=bad, **TINY).fit(X, y)


def _fingerprints(X: np.ndarray) -> set[str]:
    return {hashlib.sha1(np.ascontiguousarray(row, dtype=np.float64)).hexdigest() for row in X}


@pytest.mark.parametrize("condition", CONDITIONS)
def test_no_test_row_reaches_any_fit_of_a_cell(monkeypatch, condition):
    """Spy on every fit of a cell: no real row it sees may be one of the cell's test rows."""
    data = load_dataset("digits")
    size, seed, test_size = 40, 1, 10
    cv = make_cv(size, seed, test_size_per_class=test_size, test_mask=data.test_mask)
    _, test = next(cv.split(data.data, data.target))
    elsewhere = np.setdiff1d(np.arange(len(data.target)), test)
    # Images that occur among the test rows only (digits holds a few duplicates).
    test_only = _fingerprints(data.data[test]) - _fingerprints(data.data[elsewhere])
    assert test_only
    fitted: list[np.ndarray] = []

    def spy(method):
        def wrapped(self, X, y, **kwargs):
            fitted.append(np.asarray(X, dtype=np.float64).reshape(len(X), -1))
            return method(self, X, y, **kwargs)

        return wrapped

    monkeypatch.setattr(CNNClassifier, "fit", spy(CNNClassifier.fit))
    monkeypatch.setattr(VAEOversampler, "fit_resample", spy(VAEOversampler.fit_resample))
    config = ExperimentConfig(
        vae_params=dict(max_epochs=2, patience=1),
        cnn_params=dict(max_epochs=2, module__channels=(4, 4, 4, 4)),
        test_size_per_class=test_size,
    )
    latent = None if condition in ("CNN", "AUG") else 2
    run_cell(Cell("digits", size, latent, condition, seed), config)
    assert fitted, "the spy saw no fit"
    for X in fitted:
        # The CNN's input may hold generated rows after the real ones; none may be a test row.
        assert not (_fingerprints(X) & test_only)
    # The spy would see a leak: the test rows themselves are fingerprinted as such.
    assert _fingerprints(data.data[test]) & test_only == test_only


def test_the_study_trains_the_cnn_as_cnnclassifier_does():
    """CNN_DEFAULTS spell out the classifier's own defaults (so cell keys record
    them), plus bf16, a speed setting."""
    from skvae.experiment.config import CNN_DEFAULTS

    defaults = CNNClassifier().get_params()
    study = {k: v for k, v in CNN_DEFAULTS.items() if k != "precision"}
    assert study == {"updates": "auto", "validation_fraction": 0.0}
    assert all(defaults[k] == v for k, v in study.items())
    assert CNN_DEFAULTS["precision"] == "bf16" and defaults["precision"] == "fp32"
