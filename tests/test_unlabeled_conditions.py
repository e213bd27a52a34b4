"""The +U conditions: the VAE learns from unlabelled rows that no other part sees."""

import numpy as np
import pytest

from skvae import SemiSupervisedVAEOversampler
from skvae.experiment import conditions, data
from skvae.experiment.cells import Cell, cell_key
from skvae.experiment.conditions import (
    UNLABELED_CONDITIONS,
    Condition,
    WithUnlabeledRows,
    get_condition,
    make_pipeline,
)
from skvae.experiment.config import ExperimentConfig
from skvae.experiment.data import held_out_rows, load_dataset, unlabeled_rows
from skvae.experiment.runner import run_cell

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ExperimentConfig(
    vae_params=dict(max_epochs=2, patience=1),
    cnn_params=dict(updates=40, module__channels=(4, 4, 4, 4), module__hidden=8),
    test_size_per_class=10,
)
FAST_CNN = dict(updates=40, module__channels=(4, 4, 4, 4), module__hidden=8)


def test_unlabelled_rows_avoid_training_development_and_test_rows():
    target = np.repeat(np.arange(3), 500)
    is_test = np.zeros(len(target), dtype=bool)
    is_test[::7] = True
    train = np.array([1, 2, 501, 502, 1001, 1002])
    rows = unlabeled_rows(target, is_test, train, per_class=60)
    dev = held_out_rows(target, is_test, train, data.DEVELOPMENT_PER_CLASS, data.DEVELOPMENT_SEED)
    assert np.bincount(target[rows]).tolist() == [60, 60, 60]
    assert not is_test[rows].any()
    assert not np.intersect1d(rows, train).size and not np.intersect1d(rows, dev).size
    np.testing.assert_array_equal(rows, unlabeled_rows(target, is_test, train, per_class=60))


def test_the_conditions_are_vae_conditions_with_unlabelled_rows():
    assert UNLABELED_CONDITIONS == ("VAE+U", "AUG+VAE+U")
    for name in UNLABELED_CONDITIONS:
        condition = get_condition(name)
        assert condition.uses_latent and condition.unlabeled == 1000
    assert get_condition("AUG+VAE+U").augment == "affine"
    with pytest.raises(ValueError, match="needs X_unlabeled"):
        make_pipeline("VAE+U", 2)
    with pytest.raises(ValueError, match="unlabelled rows need generator='vae'"):
        Condition("AUG+U", "unlabeled", augment="affine", unlabeled=10)


def test_the_vae_sees_unlabelled_rows_and_the_cnn_does_not():
    digits = load_dataset("digits")
    X, y = digits.data[:60], digits.target[:60]
    X_unlabeled = digits.data[1000:1300]
    pipe = make_pipeline(
        "VAE+U",
        2,
        random_state=0,
        image_shape=(1, 8, 8),
        vae_params=dict(max_epochs=2, patience=1),
        cnn_params=FAST_CNN,
        X_unlabeled=X_unlabeled,
    ).fit(X, y)
    cnn = pipe["cnn"]
    assert isinstance(cnn.oversampler_, WithUnlabeledRows)
    sampler = cnn.oversampler_.sampler_
    assert isinstance(sampler, SemiSupervisedVAEOversampler)
    assert sampler.n_unlabeled_ == 300 and sampler.generation == "posterior"
    # The CNN: the 10 digit classes only, one generated row per real one.
    assert cnn.classes_.tolist() == list(range(10))
    assert int(cnn.n_synthetic_.sum()) == int(sum(sampler.sampling_strategy_.values()))
    assert pipe.score(digits.data[1500:1600], digits.target[1500:1600]) >= 0


def test_a_grid_cell_draws_its_unlabelled_rows_and_has_its_own_key(monkeypatch):
    # Digits is too small for MNIST's 1,000 rows per class beside 300 development
    # rows: shrink both for the run.
    monkeypatch.setattr(data, "DEVELOPMENT_PER_CLASS", 20)
    small = Condition("VAE+U", "unlabeled", generator="vae", unlabeled=15)
    monkeypatch.setitem(conditions.REGISTRY, "VAE+U", small)
    drawn = []
    real = SemiSupervisedVAEOversampler._labelled

    def spy(self, X, y):
        out = real(self, X, y)
        drawn.append((len(out[0]), len(out[2])))
        return out

    monkeypatch.setattr(SemiSupervisedVAEOversampler, "_labelled", spy)
    cell = Cell("digits", 50, 2, "VAE+U", 0)
    result = run_cell(cell, TINY)
    assert drawn == [(50, 150)]  # the 50 labelled rows and 15 unlabelled per class
    assert result["row"]["n_generated"] == 50 and result["samples"] is not None
    params = TINY.resolved()
    assert (
        cell_key(cell, params, 10)[-10:]
        != cell_key(Cell("digits", 50, 2, "VAE", 0), params, 10)[-10:]
    )
