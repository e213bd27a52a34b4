"""The experiment's data sets: which ones, their fixed test subset and a cell's split.

A cell trains on a balanced training subset drawn by its seed and is scored
on a test subset that is the same for every seed, size and condition
(:data:`TEST_SUBSET_SEED`); :func:`make_cv` builds that one split as a
scikit-learn ``cv``. :func:`held_out_rows` draws development and reference rows
outside a training subset, from MNIST's training set only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..datasets import load_digits, load_mnist
from ..model_selection import BalancedSubsetSplit

__all__ = [
    "DATASETS",
    "DEVELOPMENT_PER_CLASS",
    "DEVELOPMENT_SEED",
    "TEST_SUBSET_SEED",
    "UNLABELED_SEED",
    "held_out_rows",
    "load_dataset",
    "make_cv",
    "unlabeled_rows",
]


@dataclass(frozen=True)
class _DatasetSpec:
    test_size_per_class: int
    description: str


#: Supported data sets and their fixed test subset size per class.
DATASETS: dict[str, _DatasetSpec] = {
    "digits": _DatasetSpec(50, "scikit-learn's 8x8 digits, test subset drawn from all images"),
    "mnist": _DatasetSpec(
        700,
        "MNIST, training subsets from the official training set, test subset from "
        "the official test set (as the paper)",
    ),
}

#: Seed of the test subset, the same for every seed and size.
TEST_SUBSET_SEED = 2019

#: The development rows ``benchmarks/ablation.py`` chooses settings on:
#: ``held_out_rows(target, is_test, train, DEVELOPMENT_PER_CLASS, DEVELOPMENT_SEED)``.
DEVELOPMENT_SEED, DEVELOPMENT_PER_CLASS = 20190, 300

#: Seed of the unlabelled rows of the ``+U`` conditions (:func:`unlabeled_rows`).
UNLABELED_SEED = 20191


@functools.lru_cache(maxsize=4)
def load_dataset(name: str, data_home: str | None = None):
    """Load a data set of :data:`DATASETS` as a Bunch with a ``test_mask``.

    Cached per process, so a worker loads MNIST once for all its cells.

    Parameters
    ----------
    name : {"digits", "mnist"}
    data_home : str, optional
        Folder of the MNIST files.

    Returns
    -------
    sklearn.utils.Bunch
        ``data``, ``target``, ``image_shape`` and ``test_mask`` (the official
        test set of MNIST; None for digits, whose test subset is drawn from
        all images).
    """
    if name == "digits":
        bunch = load_digits()
        bunch.test_mask = None
    elif name == "mnist":
        bunch = load_mnist(data_home, subset="all")
        bunch.test_mask = bunch.is_test
    else:
        raise ValueError(f"Unknown dataset {name!r}; use one of {sorted(DATASETS)}.")
    return bunch


def make_cv(
    size: int,
    seed: int,
    *,
    test_size_per_class: int,
    test_mask: np.ndarray | None = None,
) -> BalancedSubsetSplit:
    """The one-split ``cv`` of a cell: training subset ``seed``, fixed test subset.

    Parameters
    ----------
    size : int
        Training images, balanced over the classes.
    seed : int
        Picks the training subset; the same for every condition.
    test_size_per_class : int
        Test images per class; the test subset is the same for every seed.
    test_mask : ndarray of bool, optional
        Pool of the test subset (e.g. MNIST's official test set).

    Returns
    -------
    BalancedSubsetSplit
    """
    return BalancedSubsetSplit(
        n_splits=1,
        train_size=int(size),
        test_size_per_class=int(test_size_per_class),
        test_mask=test_mask,
        random_state=int(seed),
        test_random_state=TEST_SUBSET_SEED,
    )


def held_out_rows(
    target: np.ndarray,
    is_test: np.ndarray,
    train: np.ndarray,
    per_class: int,
    seed: int,
) -> np.ndarray:
    """Class-balanced rows of the official *training* set outside a training subset.

    Development and reference data (e.g. to tune on, or real images to compare
    generated ones with): never a test row, never a row of ``train``. Each class
    of ``target`` gives ``per_class`` rows, drawn without replacement by
    ``numpy.random.default_rng(seed)``, class by class in sorted label order.

    Parameters
    ----------
    target : ndarray of shape (n_samples,)
        Labels of all rows.
    is_test : array-like of bool of shape (n_samples,)
        True for the rows of the official test set (e.g. ``test_mask`` of
        :func:`load_dataset`); not modified.
    train : array-like of int
        Row indices of the training subset.
    per_class : int
        Rows drawn from each class.
    seed : int
        Seed of the draw; the same seed gives the same rows.

    Returns
    -------
    ndarray of int
        Sorted row indices.

    Raises
    ------
    ValueError
        If a class has fewer than ``per_class`` rows left to draw from.

    Examples
    --------
    >>> import numpy as np
    >>> target = np.repeat([0, 1], 4)
    >>> is_test = np.array([True, False, False, False] * 2)
    >>> held_out_rows(target, is_test, train=[1, 5], per_class=2, seed=0).tolist()
    [2, 3, 6, 7]
    """
    rng = np.random.default_rng(seed)
    pool = ~np.asarray(is_test, dtype=bool)
    pool[train] = False
    picks = [
        rng.choice(np.flatnonzero(pool & (target == c)), per_class, replace=False)
        for c in np.unique(target)
    ]
    return np.sort(np.concatenate(picks))


def unlabeled_rows(
    target: np.ndarray,
    is_test: np.ndarray,
    train: np.ndarray,
    per_class: int,
    seed: int = UNLABELED_SEED,
) -> np.ndarray:
    """Rows of the official *training* set the ``+U`` conditions give without labels.

    :func:`held_out_rows` outside the training subset ``train`` *and* the
    development rows of that subset (``DEVELOPMENT_PER_CLASS`` per class drawn
    with ``DEVELOPMENT_SEED``), so no unlabelled row is ever a test, training or
    development row.

    Parameters
    ----------
    target, is_test, train
        As for :func:`held_out_rows`.
    per_class : int
        Rows drawn from each class (their labels are then withheld).
    seed : int, default=UNLABELED_SEED
        Seed of the draw.

    Returns
    -------
    ndarray of int
        Sorted row indices.

    Examples
    --------
    >>> import numpy as np
    >>> target = np.repeat([0, 1], 400)
    >>> rows = unlabeled_rows(target, np.zeros(800, bool), train=[0, 400], per_class=50)
    >>> len(rows), bool(np.isin([0, 400], rows).any())
    (100, False)
    """
    dev = held_out_rows(target, is_test, train, DEVELOPMENT_PER_CLASS, DEVELOPMENT_SEED)
    return held_out_rows(target, is_test, np.union1d(train, dev), per_class, seed)
