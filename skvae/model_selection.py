"""Cross-validation splitters for small-labelled-subset experiments."""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import indexable
from sklearn.utils.validation import _num_samples

__all__ = ["BalancedSubsetSplit"]

RandomStateLike = int | np.random.Generator | np.random.RandomState | None


class BalancedSubsetSplit(BaseCrossValidator):
    """Repeated class-balanced small training subsets with a fixed test subset.

    Each of the ``n_splits`` repeats draws a new training subset of
    ``train_size`` samples with exactly ``train_size / n_classes`` samples of
    every class. The test subset is drawn once per call to :meth:`split` and
    is the same for every repeat, so scores of different repeats differ only
    by the training subset. Train and test subsets are always disjoint.

    This reproduces the usual semi-supervised protocol, e.g. on MNIST: train
    on 100 labelled images (10 per class), evaluate on a fixed, balanced test
    subset of 700 images per class, repeat with new training subsets.

    **Test pool.** By default the test subset is drawn from all samples and
    the training subsets from the remaining ones. To draw the test subset
    from a designated pool only (e.g. the official MNIST test set) pass
    ``test_mask``, a boolean array aligned with the ``X`` given to
    :meth:`split`: test samples are then drawn only where ``test_mask`` is
    True and training samples only where it is False. A mask is a
    constructor argument (rather than ``groups``) so that the splitter works
    unchanged as ``cv=`` in :func:`~sklearn.model_selection.cross_validate`
    or :class:`~sklearn.model_selection.GridSearchCV`.

    Parameters
    ----------
    n_splits : int, default=5
        Number of repeats, i.e. of (train, test) pairs yielded.
    train_size : int
        Total number of training samples of each repeat. Must be divisible by
        the number of classes in ``y``.
    test_size_per_class : int or None, default=None
        Number of test samples drawn from each class. If None, ``test_mask``
        must be given and the whole test pool is the test subset (which is
        then not necessarily balanced).
    test_mask : array-like of bool of shape (n_samples,) or None, default=None
        True for samples forming the test pool (see above). None means that
        every sample may be drawn for testing.
    random_state : int, numpy.random.Generator, numpy.random.RandomState \
            or None, default=None
        Controls the randomness of the subsets. Pass an int for the same
        splits at every call of :meth:`split`. None draws fresh entropy from
        the operating system; numpy's global random state is never used.
    test_random_state : int, numpy.random.Generator, numpy.random.RandomState \
            or None, default=None
        If not None, the test subset is drawn with this seed instead of with
        ``random_state``, so that splitters with different ``random_state``
        (e.g. one per seed of an experiment) share the same test subset.

    See Also
    --------
    sklearn.model_selection.StratifiedShuffleSplit : Stratified, not balanced,
        random splits with a new test set at every repeat.

    Notes
    -----
    Training indices are yielded in random order (like
    :class:`~sklearn.model_selection.ShuffleSplit`); test indices sorted.
    A class present in ``y`` but absent from the training pool raises an
    error, since the training subset could not be balanced.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.model_selection import BalancedSubsetSplit
    >>> y = np.repeat([0, 1, 2], 10)
    >>> X = np.zeros((30, 2))
    >>> cv = BalancedSubsetSplit(
    ...     n_splits=3, train_size=6, test_size_per_class=4, random_state=0
    ... )
    >>> for train, test in cv.split(X, y):
    ...     print(np.bincount(y[train]), np.bincount(y[test]))
    [2 2 2] [4 4 4]
    [2 2 2] [4 4 4]
    [2 2 2] [4 4 4]

    Drawing the test subset from a designated pool only:

    >>> is_test = np.tile([False, True], 15)
    >>> cv = BalancedSubsetSplit(
    ...     n_splits=2, train_size=3, test_size_per_class=2,
    ...     test_mask=is_test, random_state=0,
    ... )
    >>> train, test = next(cv.split(X, y))
    >>> bool(is_test[test].all()), bool(is_test[train].any())
    (True, False)
    """

    def __init__(
        self,
        n_splits: int = 5,
        *,
        train_size: int,
        test_size_per_class: int | None = None,
        test_mask: ArrayLike | None = None,
        random_state: RandomStateLike = None,
        test_random_state: RandomStateLike = None,
    ) -> None:
        _check_int(n_splits, "n_splits", minimum=1)
        _check_int(train_size, "train_size", minimum=1)
        if test_size_per_class is not None:
            _check_int(test_size_per_class, "test_size_per_class", minimum=1)
        elif test_mask is None:
            raise ValueError(
                "test_size_per_class=None requires a test_mask (the whole test "
                "pool is then the test subset); pass test_size_per_class, "
                "e.g. test_size_per_class=700, or a test_mask."
            )
        _check_random_state_type(random_state, "random_state")
        _check_random_state_type(test_random_state, "test_random_state")
        self.n_splits = n_splits
        self.train_size = train_size
        self.test_size_per_class = test_size_per_class
        self.test_mask = test_mask
        self.random_state = random_state
        self.test_random_state = test_random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Return the number of splitting iterations (``n_splits``).

        Parameters
        ----------
        X, y, groups : object
            Always ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
            Number of (train, test) pairs yielded by :meth:`split`.
        """
        return self.n_splits

    def split(
        self, X: ArrayLike, y: ArrayLike | None = None, groups: ArrayLike | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate indices of balanced training subsets and the test subset.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; only its number of samples is used.
        y : array-like of shape (n_samples,)
            Class labels used to balance the subsets.
        groups : object
            Always ignored, exists for API compatibility.

        Yields
        ------
        train : ndarray of int
            Training indices of this repeat, in random order.
        test : ndarray of int
            Test indices, sorted; identical for every repeat of this call.

        Raises
        ------
        ValueError
            If ``y`` is missing or not 1-D, if ``train_size`` is not divisible
            by the number of classes, if a class has too few samples in the
            training or test pool, or if ``test_mask`` is invalid.
        """
        # All validation and drawing happen before the first yield, so that
        # errors surface on the first ``next()``.
        train_subsets, test = self._draw(X, y, groups)
        for train in train_subsets:
            yield train, test

    def _draw(self, X, y, groups) -> tuple[list[np.ndarray], np.ndarray]:
        if y is None:
            raise ValueError(f"{type(self).__name__}.split requires the class labels y.")
        X, y, groups = indexable(X, y, groups)
        n_samples = _num_samples(X)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D class labels, got an array of shape {y.shape}.")
        classes, y_idx = np.unique(y, return_inverse=True)
        n_classes = len(classes)

        train_per_class, remainder = divmod(self.train_size, n_classes)
        if remainder or train_per_class == 0:
            raise ValueError(
                f"train_size={self.train_size} must be a positive multiple of "
                f"the number of classes ({n_classes}) for a class-balanced "
                f"training subset."
            )

        test_pool = self._test_pool(n_samples)
        rng = _make_rng(self.random_state)
        test_rng = rng if self.test_random_state is None else _make_rng(self.test_random_state)
        test = self._draw_test(classes, y_idx, test_pool, test_rng)
        pools = self._train_pools(classes, y_idx, test_pool, test, train_per_class)

        train_subsets = []
        for _ in range(self.n_splits):
            train = np.concatenate(
                [rng.choice(pool, size=train_per_class, replace=False) for pool in pools]
            )
            train_subsets.append(rng.permutation(train))
        return train_subsets, test

    def _test_pool(self, n_samples: int) -> np.ndarray:
        """Boolean mask of the samples the test subset may come from."""
        if self.test_mask is None:
            return np.ones(n_samples, dtype=bool)
        test_pool = np.asarray(self.test_mask)
        if test_pool.dtype != bool:
            raise ValueError(f"test_mask must be a boolean array, got dtype {test_pool.dtype}.")
        if test_pool.shape != (n_samples,):
            raise ValueError(
                f"test_mask has shape {test_pool.shape}, but X has "
                f"{n_samples} samples; expected shape ({n_samples},)."
            )
        return test_pool

    def _draw_test(self, classes, y_idx, test_pool: np.ndarray, rng) -> np.ndarray:
        """The fixed test subset: sorted indices drawn from ``test_pool`` with ``rng``."""
        if self.test_size_per_class is None:
            test = np.flatnonzero(test_pool)
        else:
            chosen = []
            for k, label in enumerate(classes):
                pool = np.flatnonzero(test_pool & (y_idx == k))
                if len(pool) < self.test_size_per_class:
                    where = "" if self.test_mask is None else " in the test pool"
                    raise ValueError(
                        f"Class {_label(label)} has only {len(pool)} samples{where}, "
                        f"fewer than test_size_per_class="
                        f"{self.test_size_per_class}."
                    )
                chosen.append(rng.choice(pool, size=self.test_size_per_class, replace=False))
            test = np.sort(np.concatenate(chosen))
        if len(test) == 0:
            raise ValueError("The test pool (test_mask) selects no sample.")
        return test

    def _train_pools(
        self, classes, y_idx, test_pool: np.ndarray, test: np.ndarray, train_per_class: int
    ) -> list[np.ndarray]:
        """Per class, the indices training subsets are drawn from, disjoint from ``test``."""
        if self.test_mask is None:
            train_pool = np.ones(len(y_idx), dtype=bool)
            train_pool[test] = False
        else:
            train_pool = ~test_pool
        pools = []
        for k, label in enumerate(classes):
            pool = np.flatnonzero(train_pool & (y_idx == k))
            if len(pool) < train_per_class:
                where = (
                    "left for training after drawing the test subset"
                    if self.test_mask is None
                    else "outside the test pool (test_mask)"
                )
                raise ValueError(
                    f"Class {_label(label)} has only {len(pool)} samples {where}, "
                    f"fewer than the {train_per_class} per class required by "
                    f"train_size={self.train_size} with {len(classes)} classes."
                )
            pools.append(pool)
        return pools


def _label(label) -> str:
    """Readable class label for messages (``2``, not ``np.int64(2)``)."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _check_int(value, name: str, *, minimum: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")


def _check_random_state_type(value, name: str) -> None:
    if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)):
        return
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}.")
        return
    raise TypeError(
        f"{name} must be None, an int, a numpy Generator or RandomState, got {value!r}."
    )


def _make_rng(random_state: RandomStateLike):
    """Return a generator; never numpy's global random state."""
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    return np.random.default_rng(random_state)
