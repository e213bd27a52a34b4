"""The GPU path end to end (``device="cuda"``): run where CUDA is present.

Skipped, with the reason shown, on machines without CUDA (as CI's);
``benchmarks/gpu_check.sh`` runs this module on a GPU machine.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from skvae import CNNClassifier, RandomAffine, VAEOversampler
from skvae.experiment import Cell, ExperimentConfig, run_cell

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

FAST_VAE = dict(latent=2, max_epochs=3, patience=2, random_state=0)
FAST_CNN = dict(
    max_epochs=3,
    patience=2,
    min_steps=0,
    batch_size=16,
    module__channels=(8, 8, 8, 8),
    random_state=0,
)


@pytest.mark.parametrize("batched", [False, True])
def test_oversampler_on_cuda_matches_cpu_closely(small_digits, batched):
    X, y = small_digits
    gpu = VAEOversampler(device="cuda", batched=batched, **FAST_VAE)
    X_gpu, y_gpu = gpu.fit_resample(X, y)
    X_cpu, y_cpu = VAEOversampler(batched=batched, **FAST_VAE).fit_resample(X, y)
    np.testing.assert_array_equal(y_gpu, y_cpu)
    assert np.isfinite(X_gpu).all() and X_gpu.min() >= 0 and X_gpu.max() <= 1
    # Fitted VAEs come back to the CPU: the sampler pickles and samples anywhere.
    assert all(p.device.type == "cpu" for vae in gpu.vaes_.values() for p in vae.parameters())
    assert pickle.loads(pickle.dumps(gpu)).sample(4, 0).shape == (4, X.shape[1])
    # Same seeds, other kernels: the two devices' outputs stay close, not equal.
    assert np.abs(X_gpu - X_cpu).mean() < 0.1


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_classifier_on_cuda(small_digits, precision):
    X, y = small_digits
    clf = CNNClassifier(
        device="cuda", precision=precision, augment=RandomAffine(20, 0.2, 0.2), **FAST_CNN
    )
    clf.fit(X, y)
    assert next(clf.module_.parameters()).device.type == "cuda"
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10) and np.allclose(proba.sum(1), 1, atol=1e-4)
    assert set(clf.predict(X)) <= set(range(10))
    assert clf.n_epochs_ >= 1


def test_classifier_with_oversampler_on_cuda(small_digits):
    X, y = small_digits
    clf = CNNClassifier(
        device="cuda",
        oversampler=VAEOversampler(device="cuda", **FAST_VAE),
        synthetic_weight=0.5,
        **FAST_CNN,
    ).fit(X, y)
    assert clf.predict(X).shape == (len(X),)


def test_grid_cell_on_cuda():
    on = {"device": "cuda"}
    config = ExperimentConfig(
        vae_params={**on, "max_epochs": 2},
        cnn_params={**on, "max_epochs": 2, "min_steps": 0, "module__channels": (8, 8, 8, 8)},
    )
    out = run_cell(Cell("digits", 50, 2, "AUG+VAE", 0), config)
    assert 0 <= out["row"]["f1"] <= 100 and out["samples"]["X"].dtype == np.uint8
