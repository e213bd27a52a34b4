"""The tabular benchmark script runs end to end on a tiny problem."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import load_benchmark
from sklearn.datasets import load_wine


@pytest.fixture(scope="module")
def tabular():
    """benchmarks/tabular.py imported as a module."""
    return load_benchmark("tabular.py", "bench_tabular")


def _tiny_wine(seed):
    """Wine, 3 classes, made imbalanced: 30 / 15 / 12 rows (SMOTE needs 6 per fold)."""
    X, y = load_wine(return_X_y=True)
    rng = np.random.RandomState(seed)
    rows = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[:n] for c, n in zip(range(3), (30, 15, 12))]
    )
    return X[rows], y[rows]


def test_run_benchmark_tiny(tabular, one_torch_thread):
    records = tabular.run_benchmark(
        ["tiny"],
        seeds=[0],
        classifiers=["logreg"],
        n_folds=2,
        vae_params={"max_epochs": 3, "batch_size": 16},
        data={"tiny": _tiny_wine},
        log=None,
    )
    assert [r["sampler"] for r in records] == list(tabular.SAMPLERS)
    for r in records:
        assert r["failed"] == 0, r["error"]
        for key in ("f1", "bacc"):
            assert math.isfinite(r[key]) and 0.0 <= r[key] <= 1.0, (r["sampler"], key, r[key])
        assert r["fit_s"] >= 0

    tables = tabular.summary_tables(records)
    (rows,) = tables.values()
    assert [row["sampler"] for row in rows] == list(tabular.SAMPLERS)
    for row in rows:
        assert 0.0 <= row["f1_mean"] <= 1.0 and 0.0 <= row["bacc_mean"] <= 1.0

    tests = tabular.wilcoxon_rows(records)
    assert {t["comparison"] for t in tests} == {"vae vs smote", "vae vs none"}
    assert all(t["pairs"] == 1 for t in tests)


def test_datasets_are_imbalanced(tabular):
    X, y = tabular.DATASETS["wine"](0)
    assert np.bincount(y).tolist() == [59, 20, 8]
    X, y = tabular.DATASETS["breast_cancer"](0)
    assert np.bincount(y).tolist() == [40, 357]
    X, y = tabular.DATASETS["digits"](0)
    counts = np.bincount(y)
    assert X.shape[1] == 64 and counts[[3, 5, 8]].max() <= 19 and counts.min() >= 17
