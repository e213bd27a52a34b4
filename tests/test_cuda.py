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
from skvae.nn import ConvVAE
from skvae.nn.fitting import VAETraining, fit_class_vaes
from skvae.synthetic import SyntheticRows

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

FAST_VAE = dict(latent=2, training={"max_epochs": 3, "patience": 2}, random_state=0)
FAST_CNN = dict(
    max_epochs=3,
    batch_size=16,
    module__channels=(8, 8, 8, 8),
    random_state=0,
)


def test_oversampler_on_cuda_matches_cpu_closely(small_digits):
    X, y = small_digits
    gpu = VAEOversampler(device="cuda", **FAST_VAE)
    X_gpu, y_gpu = gpu.fit_resample(X, y)
    cpu = VAEOversampler(**FAST_VAE)
    X_cpu, y_cpu = cpu.fit_resample(X, y)
    np.testing.assert_array_equal(y_gpu, y_cpu)
    assert np.isfinite(X_gpu).all() and X_gpu.min() >= 0 and X_gpu.max() <= 1
    # Fitted VAEs come back to the CPU: the sampler pickles and samples anywhere.
    assert all(p.device.type == "cpu" for vae in gpu.vaes_.values() for p in vae.parameters())
    assert pickle.loads(pickle.dumps(gpu)).sample(4, 0).shape == (4, X.shape[1])
    # Same initialisation and noise (drawn on the CPU), other kernels (TF32
    # convolutions among them): the fits and generated rows differ by rounding
    # drift only. Single weights can differ more (RMSprop's first steps move a
    # weight by about 10 x lr whatever the size of its gradient, so a rounding
    # sign flip of a tiny gradient shows), hence losses and rows are compared.
    for label in gpu.vaes_:
        best_gpu, best_cpu = gpu.histories_[label].best_loss, cpu.histories_[label].best_loss
        assert best_gpu == pytest.approx(best_cpu, rel=0.05), label
    assert np.abs(X_gpu[len(X) :] - X_cpu[len(X) :]).mean() < 0.05


@pytest.mark.parametrize("batched", [False, True])
def test_class_vaes_on_cuda_match_cpu_closely(small_digits, batched):
    X, y = small_digits
    seeds = {label: 10 + label for label in range(10)}
    training = VAETraining(max_epochs=3, patience=2)
    fits = {
        device: fit_class_vaes(
            lambda: ConvVAE((1, 8, 8), 2), X, y, seeds, training, device=device, batched=batched
        )
        for device in ("cuda", "cpu")
    }
    for label in seeds:
        gpu, cpu = fits["cuda"][label], fits["cpu"][label]
        assert all(p.device.type == "cpu" for p in gpu.vae.parameters())
        # Other kernels (TF32 convolutions among them), the same initialisation
        # and noise: rounding drift only, as above.
        assert gpu.result.best_loss == pytest.approx(cpu.result.best_loss, rel=0.05), label


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
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.n_epochs_ >= 1


def test_classifier_with_oversampler_on_cuda(small_digits):
    X, y = small_digits
    clf = CNNClassifier(
        device="cuda",
        oversampler=SyntheticRows(VAEOversampler(device="cuda", **FAST_VAE), weight=0.5),
        **FAST_CNN,
    ).fit(X, y)
    assert clf.predict(X).shape == (len(X),)


def test_grid_cell_on_cuda():
    on = {"device": "cuda"}
    config = ExperimentConfig(
        vae_params={**on, "max_epochs": 2},
        cnn_params={**on, "max_epochs": 2, "module__channels": (8, 8, 8, 8)},
    )
    out = run_cell(Cell("digits", 50, 2, "AUG+VAE", 0), config)
    assert 0 <= out["row"]["f1"] <= 100 and out["samples"]["X"].dtype == np.uint8
