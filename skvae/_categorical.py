"""Categorical columns of tabular rows as one-hot groups, and back.

:class:`~skvae.VAEOversampler` trains its VAEs on the continuous columns
followed by one one-hot group per categorical column (``categorical_features``,
given as in imbalanced-learn's ``SMOTENC``); generated rows come back in the
original column order, each categorical column holding one category seen in
``X``.
"""

from __future__ import annotations

import numpy as np


def resolve_categorical_features(spec, n_features: int) -> np.ndarray:
    """Sorted column indices from ``categorical_features`` (None, indices or a mask)."""
    if spec is None:
        return np.empty(0, dtype=np.intp)
    values = np.asarray(spec)
    if values.dtype == bool:
        if values.shape != (n_features,):
            raise ValueError(
                f"categorical_features as a boolean mask needs one entry per feature "
                f"({n_features}), got shape {values.shape}."
            )
        return np.flatnonzero(values)
    if values.ndim != 1 or not (values.size == 0 or np.issubdtype(values.dtype, np.integer)):
        raise ValueError(
            "categorical_features must be None, a 1-d array of column indices or a "
            f"boolean mask, got {spec!r}."
        )
    columns = np.where(values < 0, values + n_features, values).astype(np.intp)
    if columns.size and (columns.min() < 0 or columns.max() >= n_features):
        raise ValueError(
            f"categorical_features holds indices outside [-{n_features}, {n_features}) "
            f"for X with {n_features} features: {values.tolist()}."
        )
    if len(np.unique(columns)) != len(columns):
        raise ValueError(f"categorical_features repeats a column: {values.tolist()}.")
    return np.sort(columns)


def fit_categories(X: np.ndarray, columns: np.ndarray) -> list[np.ndarray]:
    """The sorted distinct values of each categorical column."""
    return [np.unique(X[:, j]) for j in columns]


def one_hot_groups(n_features: int, categories: list[np.ndarray]) -> tuple[tuple[int, int], ...]:
    """``[start, stop)`` of each one-hot group in :func:`encode`'s output."""
    start = n_features - len(categories)
    groups = []
    for values in categories:
        groups.append((start, start + len(values)))
        start += len(values)
    return tuple(groups)


def encode(X: np.ndarray, columns: np.ndarray, categories: list[np.ndarray]) -> np.ndarray:
    """The continuous columns of ``X``, then one one-hot group per categorical column."""
    continuous = np.delete(X, columns, axis=1)
    parts = [continuous]
    for j, values in zip(columns, categories):
        index = np.searchsorted(values, X[:, j])
        parts.append(np.eye(len(values), dtype=X.dtype)[index])
    return np.concatenate(parts, axis=1)


def decode(
    rows: np.ndarray, columns: np.ndarray, categories: list[np.ndarray], n_features: int
) -> np.ndarray:
    """Rows of :func:`encode`'s layout back in ``X``'s: each group's largest entry's category."""
    out = np.empty((len(rows), n_features), dtype=rows.dtype)
    continuous = np.setdiff1d(np.arange(n_features), columns)
    out[:, continuous] = rows[:, : len(continuous)]
    for j, (start, stop), values in zip(
        columns, one_hot_groups(n_features, categories), categories
    ):
        out[:, j] = values[np.argmax(rows[:, start:stop], axis=1)]
    return out
