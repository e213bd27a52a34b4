"""Baselines beyond the paper: SMOTE on pixels, AUG+ and AUG++VAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skvae import CNNClassifier, RandomAffine
from skvae.augment import Compose, ElasticDistortion
from skvae.experiment.baselines import STRONG_AUGMENT_DEFAULTS, pixel_smote, strong_augment
from skvae.experiment.cells import Cell, cell_key, make_cells
from skvae.experiment.conditions import (
    ALL_CONDITIONS,
    CONDITIONS,
    EXTRA_CONDITIONS,
    make_pipeline,
)
from skvae.experiment.config import ExperimentConfig
from skvae.experiment.report import wilcoxon_tests
from skvae.experiment.runner import run_grid

TINY = ExperimentConfig(
    vae_params=dict(max_epochs=2, patience=1),
    cnn_params=dict(max_epochs=3, module__channels=(4, 4, 4, 4), module__hidden=8),
    test_size_per_class=10,
)


def test_pixel_smote_doubles_each_class_and_keeps_originals_first():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 6)), np.repeat([0, 1, 2], 10)
    X_res, y_res = pixel_smote(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(X_res[:30], X)
    assert np.bincount(y_res).tolist() == [20, 20, 20]
    # New rows lie on segments between rows of their own class: inside its bounding box.
    for c in range(3):
        new = X_res[30:][y_res[30:] == c]
        own = X[y == c]
        assert (new >= own.min(0) - 1e-12).all() and (new <= own.max(0) + 1e-12).all()
    again, _ = pixel_smote(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(again, X_res)


def test_pixel_smote_shrinks_k_for_tiny_classes():
    X, y = np.random.default_rng(1).random((8, 3)), np.repeat([0, 1], 4)
    X_res, y_res = pixel_smote(random_state=0, k_neighbors=5).fit_resample(X, y)
    assert len(X_res) == 16
    with pytest.raises(ValueError, match="at least 2 samples per class"):
        pixel_smote().fit_resample(X[[0, 4, 5, 6]], np.array([0, 1, 1, 1]))


def test_strong_augment_composes_affine_and_elastic():
    aug = strong_augment()
    affine, elastic = aug.transforms
    assert isinstance(aug, Compose) and isinstance(affine, RandomAffine)
    assert isinstance(elastic, ElasticDistortion)
    assert affine.shear == STRONG_AUGMENT_DEFAULTS["shear"]
    assert elastic.alpha == STRONG_AUGMENT_DEFAULTS["elastic_alpha"]
    x = torch.rand(3, 1, 28, 28)
    out = aug(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)
    with pytest.raises(ValueError, match="Unknown AUG\\+ parameter"):
        strong_augment(zoom=2)


def test_extra_conditions_pipelines():
    paper_and_extra = CONDITIONS + EXTRA_CONDITIONS
    assert ALL_CONDITIONS[: len(paper_and_extra)] == paper_and_extra
    smote = make_pipeline("SMOTE", random_state=0)["cnn"]
    assert isinstance(smote, CNNClassifier) and smote.oversampler.refresh is False
    assert type(smote.oversampler.sampler).__name__ == "_ClassSizeSMOTE"
    assert [n for n, _ in make_pipeline("SMOTE", synthetic_params={"form": "pipeline"}).steps] == [
        "smote",
        "cnn",
    ]
    assert isinstance(make_pipeline("AUG+")["cnn"].augment, Compose)
    both = make_pipeline("AUG++VAE", latent=2)["cnn"]
    assert isinstance(both.augment, Compose) and both.oversampler.sampler.latent == 2
    with pytest.raises(ValueError, match="Unknown condition"):
        make_pipeline("MIXUP")
    with pytest.raises(ValueError, match="latent"):
        Cell("digits", 50, 2, "SMOTE", 0)


def test_extra_conditions_have_their_own_cell_keys():
    params = TINY.resolved()
    keys = {c: cell_key(Cell("digits", 50, None, c, 0), params, 10) for c in ("AUG", "AUG+")}
    assert keys["AUG"].split("-")[-1] != keys["AUG+"].split("-")[-1]


def test_grid_runs_extra_conditions_and_tests_them(tmp_path):
    cells = make_cells("digits", [50], [2], seeds=2, conditions=["CNN", *EXTRA_CONDITIONS])
    run = run_grid(cells, tmp_path, TINY, n_jobs=1, progress=False)
    rows = run.rows
    assert {r["condition"] for r in rows} == {"CNN", *EXTRA_CONDITIONS}
    smote = [r for r in rows if r["condition"] == "SMOTE"]
    assert all(r["n_generated"] == 50 for r in smote)  # one per real image
    tests = {(t["a"], t["b"]) for t in wilcoxon_tests(rows)}
    assert {("SMOTE", "CNN"), ("AUG++VAE", "AUG+")} <= tests
