"""Quality of generated samples: on-class, realistic, useful, not memorised.

Each function is usable alone; :func:`generation_report` runs them together
for one fitted over-sampler. The paper judged generated digits by eye; these
give numbers.

- :func:`class_consistency`: does a classifier trained on *held-out real* data
  recognise generated samples as their intended class?
- :func:`frechet_distance`: distance between the Gaussians fitted to real and
  generated features (FID when the features come from an image classifier;
  :func:`penultimate_features` gives those of a fitted
  :class:`~skvae.CNNClassifier`).
- :func:`train_synthetic_test_real`: score of a model trained on generated data
  only, tested on real data (TSTR).
- :func:`memorisation_rate`: share of generated samples closer to a training
  sample than to any held-out sample of the same distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._utils import plain_label

__all__ = [
    "class_consistency",
    "frechet_distance",
    "generation_report",
    "memorisation_rate",
    "penultimate_features",
    "train_synthetic_test_real",
]


def _rows(X, name: str) -> np.ndarray:
    """2-D float array of ``X`` (images flattened), with a named error."""
    X = np.asarray(X)
    if X.ndim > 2:
        X = X.reshape(len(X), -1)
    return check_array(X, dtype=np.float64, input_name=name)


def class_consistency(reference, X_generated, y_generated) -> float:
    """Accuracy of a real-data classifier on generated samples.

    Parameters
    ----------
    reference : fitted classifier
        Trained on real data *not* used to train the generator, so that it
        judges the generated samples without having seen their sources.
    X_generated : array-like of shape (n_samples, n_features)
        Generated samples.
    y_generated : array-like of shape (n_samples,)
        The classes they were generated for.

    Returns
    -------
    float
        Share of generated samples the reference assigns to their intended
        class (1.0: all on-class; chance level for noise).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skvae.metrics import class_consistency
    >>> X, y = load_iris(return_X_y=True)
    >>> ref = LogisticRegression(max_iter=500).fit(X[::2], y[::2])
    >>> round(class_consistency(ref, X[1::2], y[1::2]), 2)
    0.96
    """
    check_is_fitted(reference)
    # A (n, 1) column would broadcast against predict's (n,) into an n x n match.
    y_generated = column_or_1d(y_generated, warn=True)
    if len(y_generated) != len(X_generated):
        raise ValueError(
            f"X_generated has {len(X_generated)} rows but y_generated has {len(y_generated)}."
        )
    return float(np.mean(reference.predict(X_generated) == y_generated))


def frechet_distance(X_real, X_generated, *, features: Callable | None = None) -> float:
    """Fréchet distance between Gaussians fitted to real and generated features.

    ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``, the Fréchet
    Inception Distance's formula on any feature map.

    Parameters
    ----------
    X_real : array-like of shape (n_real, n_features)
        Real samples (at least 2).
    X_generated : array-like of shape (n_generated, n_features)
        Generated samples (at least 2).
    features : callable, optional
        Maps an array of samples to a 2-D array of features, e.g.
        ``functools.partial(penultimate_features, clf)``. None uses the samples
        themselves.

    Returns
    -------
    float
        0 for identical distributions; grows with the gap in mean and covariance.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.metrics import frechet_distance
    >>> X = np.random.default_rng(0).normal(size=(500, 2))
    >>> round(frechet_distance(X, X), 6)
    0.0
    >>> round(frechet_distance(X, X + [3, 4]), 6)  # only the means differ: 3^2 + 4^2
    25.0
    """
    real = np.asarray(features(X_real) if features else X_real)
    fake = np.asarray(features(X_generated) if features else X_generated)
    real, fake = _rows(real, "X_real"), _rows(fake, "X_generated")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"Real and generated features differ in width: {real.shape[1]} vs {fake.shape[1]}."
        )
    if len(real) < 2 or len(fake) < 2:
        raise ValueError("frechet_distance needs at least 2 real and 2 generated samples.")
    mu_r, mu_g = real.mean(0), fake.mean(0)
    cov_r = np.atleast_2d(np.cov(real, rowvar=False))
    cov_g = np.atleast_2d(np.cov(fake, rowvar=False))
    # Tr((S_r S_g)^1/2) = sum of sqrt eigenvalues of S_r^1/2 S_g S_r^1/2, a
    # symmetric PSD matrix: exact for singular covariances (fewer samples than
    # features), where a general matrix square root is not.
    w, v = np.linalg.eigh(cov_r)
    root_r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    trace_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(root_r @ cov_g @ root_r), 0, None)).sum()
    diff = mu_r - mu_g
    value = diff @ diff + np.trace(cov_r) + np.trace(cov_g) - 2 * trace_covmean
    return float(max(value, 0.0))


def penultimate_features(classifier, X) -> np.ndarray:
    """Inputs of the last linear layer of a fitted torch classifier.

    For :class:`~skvae.nn.PaperCNN` these are the hidden layer's activations
    (128 per image), the usual features of a Fréchet distance.

    Parameters
    ----------
    classifier : fitted CNNClassifier (or skorch net)
        Its ``module_`` must contain a ``torch.nn.Linear``.
    X : array-like
        Samples in any form ``classifier.predict`` accepts.

    Returns
    -------
    ndarray of shape (n_samples, n_features_of_last_linear)
    """
    check_is_fitted(classifier, "module_")
    linears = [m for m in classifier.module_.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ValueError(f"{type(classifier.module_).__name__} has no torch.nn.Linear layer.")
    captured: list[torch.Tensor] = []
    hook = linears[-1].register_forward_hook(lambda m, inputs, out: captured.append(inputs[0]))
    try:
        classifier.predict_proba(X)
    finally:
        hook.remove()
    return torch.cat(captured).float().cpu().numpy()


def train_synthetic_test_real(
    estimator, X_generated, y_generated, X_real, y_real, *, scoring: str = "f1_macro"
) -> float:
    """Score on real data of a model trained on generated data only (TSTR).

    Parameters
    ----------
    estimator : estimator
        Unfitted; a clone is trained.
    X_generated, y_generated : array-like
        Generated training data and their classes.
    X_real, y_real : array-like
        Real test data (not the generator's training data).
    scoring : str, default="f1_macro"
        A scikit-learn scorer name.

    Returns
    -------
    float

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skvae.metrics import train_synthetic_test_real
    >>> X, y = load_iris(return_X_y=True)
    >>> score = train_synthetic_test_real(
    ...     LogisticRegression(max_iter=500), X[::2], y[::2], X[1::2], y[1::2])
    >>> round(score, 2)
    0.96
    """
    model = clone(estimator).fit(X_generated, y_generated)
    return float(get_scorer(scoring)(model, X_real, y_real))


def memorisation_rate(X_generated, X_train, X_heldout) -> float:
    """Share of generated samples nearer to a training sample than to any held-out one.

    A generator that copies its training data scores 1; one that draws new
    samples from the same distribution scores about
    ``n_train / (n_train + n_heldout)`` when both sets are equally large
    (hence 0.5 is "no memorisation"): compare with :func:`memorisation_rate`
    of held-out real samples against the same sets.

    Parameters
    ----------
    X_generated : array-like of shape (n_generated, n_features)
    X_train : array-like of shape (n_train, n_features)
        The generator's training samples.
    X_heldout : array-like of shape (n_heldout, n_features)
        Real samples of the same classes the generator never saw.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.metrics import memorisation_rate
    >>> rng = np.random.default_rng(0)
    >>> train, held = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    >>> memorisation_rate(train + 1e-3, train, held)  # near-copies of training samples
    1.0
    """
    gen = _rows(X_generated, "X_generated")
    train = _rows(X_train, "X_train")
    held = _rows(X_heldout, "X_heldout")
    if not (gen.shape[1] == train.shape[1] == held.shape[1]):
        raise ValueError(
            "X_generated, X_train and X_heldout must have the same number of features, "
            f"got {gen.shape[1]}, {train.shape[1]} and {held.shape[1]}."
        )
    d_train = NearestNeighbors(n_neighbors=1).fit(train).kneighbors(gen)[0][:, 0]
    d_held = NearestNeighbors(n_neighbors=1).fit(held).kneighbors(gen)[0][:, 0]
    return float(np.mean(d_train < d_held))


def generation_report(
    sampler,
    X_train,
    y_train,
    X_heldout,
    y_heldout,
    *,
    reference,
    tstr_estimator=None,
    n_per_class: int = 100,
    features: Callable | None = None,
    random_state: int | None = 0,
) -> dict[str, Any]:
    """All quality numbers of one fitted over-sampler's generated samples.

    Parameters
    ----------
    sampler : fitted VAEOversampler
        Anything with ``sample(n_samples, class_label, random_state=...)`` and
        ``classes_``, with a generator for every class.
    X_train, y_train : array-like
        The sampler's training data.
    X_heldout, y_heldout : array-like
        Real data of the same classes the sampler never saw (for the
        memorisation check and TSTR).
    reference : fitted classifier
        Judge of class consistency, trained on real data the sampler never saw.
    tstr_estimator : estimator, optional
        Trained on the generated samples and scored on ``X_heldout``; skipped
        when None.
    n_per_class : int, default=100
        Generated samples per class.
    features : callable, optional
        Feature map of the Fréchet distance (see :func:`frechet_distance`).
    random_state : int or None, default=0
        Seeds the draws.

    Returns
    -------
    dict
        ``class_consistency``, ``frechet_distance``, ``memorisation_rate``
        (per class, against the class's training samples and half of its
        held-out samples), ``memorisation_rate_real`` (the same check for the
        other half of the held-out samples: the level of a generator that does
        not memorise), and ``tstr`` when ``tstr_estimator`` is given.
    """
    check_is_fitted(sampler, "classes_")
    y_train, y_heldout = np.asarray(y_train), np.asarray(y_heldout)
    X_train, X_heldout = _rows(X_train, "X_train"), _rows(X_heldout, "X_heldout")
    _check_generator_per_class(sampler)
    X_gen, y_gen, memo, memo_real = _generate_per_class(
        sampler, X_train, y_train, X_heldout, y_heldout, n_per_class, random_state
    )
    report = {
        "class_consistency": class_consistency(reference, X_gen, y_gen),
        "frechet_distance": frechet_distance(X_heldout, X_gen, features=features),
        "memorisation_rate": float(np.mean(memo)),
        "memorisation_rate_real": float(np.mean(memo_real)),
    }
    if tstr_estimator is not None:
        report["tstr"] = train_synthetic_test_real(
            tstr_estimator, X_gen, y_gen, X_heldout, y_heldout
        )
    return report


def _check_generator_per_class(sampler) -> None:
    """Refuse a sampler that has no generator for some class."""
    classes = np.asarray(sampler.classes_).tolist()
    missing = [c for c in classes if c not in getattr(sampler, "vaes_", classes)]
    if missing:
        # The Fréchet distance and TSTR compare with every held-out class.
        raise ValueError(
            f"generation_report needs a generator for every class; classes {missing} have "
            "none (their sampling strategy generated nothing). Fit the sampler with "
            "sampling_strategy='augment' and augment_size > 0."
        )


def _generate_per_class(
    sampler, X_train, y_train, X_heldout, y_heldout, n_per_class: int, random_state
) -> tuple[np.ndarray, np.ndarray, list[float], list[float]]:
    """Generated samples and labels of every class, and each class's memorisation rates.

    Returns ``(X_gen, y_gen, memo, memo_real)``: the memorisation rate per
    class of the generated samples and of real held-out queries.
    """
    gen, labels, memo, memo_real = [], [], [], []
    for k, label in enumerate(sampler.classes_):
        seed = None if random_state is None else int(random_state) + k
        g = _rows(sampler.sample(n_per_class, label, random_state=seed), "generated")
        # Half the held-out class is the reference set of both checks, the other
        # half are real queries: the level a memory-free generator would reach.
        held, train = X_heldout[y_heldout == label], X_train[y_train == label]
        half = len(held) // 2
        if half < 1:
            raise ValueError(
                f"Class {plain_label(label)!r} needs at least 2 held-out samples, got {len(held)}."
            )
        memo.append(memorisation_rate(g, train, held[half:]))
        memo_real.append(memorisation_rate(held[:half], train, held[half:]))
        gen.append(g)
        labels.append(np.full(len(g), label))
    return np.concatenate(gen), np.concatenate(labels), memo, memo_real
