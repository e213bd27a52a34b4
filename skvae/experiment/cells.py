"""Cells, the experiment's unit of work, and the key a finished cell is stored under.

One *cell* = (dataset, size, latent, condition, seed) is the unit of work, of
caching and of resumption. Its key (:func:`cell_key`) holds a hash of every
parameter the cell depends on (:func:`cell_inputs`), so changing e.g. a VAE
parameter recomputes the VAE cells and keeps the CNN ones. Committed result
folders are keyed by it: a change that alters the key of an unchanged cell
makes every run recompute it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..classifier import AUTO_AUGMENTED_EXTRA, AUTO_UPDATES
from .baselines import AUGMENT_LEVELS, STRONG_AUGMENT_DEFAULTS
from .conditions import CONDITIONS, LATENT_FREE, get_condition
from .config import SYNTHETIC_DEFAULTS
from .data import (
    DATASETS,
    DEVELOPMENT_PER_CLASS,
    DEVELOPMENT_SEED,
    TEST_SUBSET_SEED,
    UNLABELED_SEED,
)

__all__ = ["Cell", "cell_inputs", "cell_key", "make_cells"]

# Bump when a change of code alters what a cell computes: old cells are then
# not reused (their key differs). 2: the CNN restores only epochs after min_steps.
_CELL_VERSION = 2
# Bump when a change of code alters what a VAE cell computes (2: Keras-like
# initialisation of the VAEs, whose encoders were often dead before).
_VAE_CODE_VERSION = 2
# Parameters that change neither what is computed nor its result.
_UNHASHED = frozenset({"device", "verbose"})


@dataclass(frozen=True)
class Cell:
    """One unit of work: a condition at one training size, latent size and seed.

    Parameters
    ----------
    dataset : str
        A key of :data:`~skvae.experiment.data.DATASETS`.
    size : int
        Number of training images (balanced over the classes).
    latent : int or None
        Latent size of the VAEs; None for the conditions in
        :data:`~skvae.experiment.conditions.LATENT_FREE`.
    condition : str
        One of :data:`~skvae.experiment.conditions.ALL_CONDITIONS`.
    seed : int
        Picks the training subset and seeds every estimator.
    """

    dataset: str
    size: int
    latent: int | None
    condition: str
    seed: int

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"Unknown dataset {self.dataset!r}; use one of {sorted(DATASETS)}.")
        latent_free = not get_condition(self.condition).uses_latent
        if (self.latent is None) != latent_free:
            raise ValueError(
                f"Condition {self.condition!r} takes "
                f"{'no latent size' if latent_free else 'a latent size'}, "
                f"got latent={self.latent!r}."
            )

    @property
    def name(self) -> str:
        """Readable, file-name safe identifier, e.g. ``digits-n50-AUG_VAE-z2-s0``."""
        latent = "NA" if self.latent is None else str(self.latent)
        condition = self.condition.replace("+", "_")
        return f"{self.dataset}-n{self.size}-{condition}-z{latent}-s{self.seed}"


def make_cells(
    dataset: str,
    sizes: Iterable[int],
    latents: Iterable[int],
    conditions: Iterable[str] = CONDITIONS,
    seeds: int | Iterable[int] = 1,
) -> list[Cell]:
    """List the cells of a grid, latent-free conditions once per (size, seed).

    Parameters
    ----------
    dataset : str
        A key of :data:`~skvae.experiment.data.DATASETS`.
    sizes : iterable of int
        Training sizes.
    latents : iterable of int
        Latent sizes of the VAE conditions.
    conditions : iterable of str, default=CONDITIONS
        Conditions to run.
    seeds : int or iterable of int, default=1
        An int ``n`` means seeds ``0 .. n-1``.

    Returns
    -------
    list of Cell
        Seed by seed, so that early results cover the whole table.

    Examples
    --------
    >>> cells = make_cells("digits", [50], [2, 3], ["CNN", "VAE"], seeds=2)
    >>> len(cells), cells[0].name
    (6, 'digits-n50-CNN-zNA-s0')
    """
    given = seeds
    seeds = range(int(seeds)) if isinstance(seeds, (int, np.integer)) else seeds
    if not len(seeds):
        raise ValueError(f"seeds must be a positive count or a non-empty list, got {given!r}.")
    conditions = list(dict.fromkeys(conditions))
    latents = list(dict.fromkeys(int(z) for z in latents))
    cells = []
    for seed in seeds:
        for size in dict.fromkeys(int(s) for s in sizes):
            for condition in conditions:
                for latent in [None] if condition in LATENT_FREE else latents:
                    cells.append(Cell(dataset, size, latent, condition, int(seed)))
    return cells


def cell_inputs(cell: Cell, params: Mapping[str, Mapping[str, Any]], test_size: int) -> dict:
    """Everything a cell's result depends on, besides the code.

    Parameters
    ----------
    cell : Cell
    params : mapping
        Resolved estimator parameters
        (:meth:`~skvae.experiment.ExperimentConfig.resolved`); only those the
        cell's condition uses are kept, less ``device`` and ``verbose``.
    test_size : int
        Test images per class.

    Returns
    -------
    dict
        Stored with the finished cell; its hash is part of :func:`cell_key`.
    """
    condition = get_condition(cell.condition)

    def keep(p: Mapping[str, Any]) -> dict:
        return {k: v for k, v in sorted(p.items()) if k not in _UNHASHED}

    cnn = keep(params["cnn"])
    unlabeled = [condition.unlabeled, UNLABELED_SEED, DEVELOPMENT_SEED, DEVELOPMENT_PER_CLASS]
    if cnn.get("updates") == "auto":
        # "auto" names a rule that lives in code: record the rule, so that changing
        # it recomputes the cells trained by it (cells without "auto" keep their key).
        extra = [AUTO_AUGMENTED_EXTRA] if condition.augment is not None else []
        cnn["auto_updates"] = [*AUTO_UPDATES, *extra]

    # Every entry is hashed into the key: adding or renaming one changes the key of
    # every cell that has it (and makes runs recompute those cells).
    return {
        "version": _CELL_VERSION,
        "cell": [cell.dataset, cell.size, cell.latent, cell.condition, cell.seed],
        "test_size_per_class": test_size,
        "test_subset_seed": TEST_SUBSET_SEED,
        "cnn": cnn,
        "vae": keep(params["vae"]) if condition.uses_latent else None,
        "augment": keep(params["augment"]) if condition.augment == "affine" else None,
        "strong_augment": STRONG_AUGMENT_DEFAULTS if condition.augment == "strong" else None,
        **(
            {"augment_level": AUGMENT_LEVELS[condition.level]}
            if condition.augment == "level"
            else {}
        ),
        "synthetic": (
            keep(params.get("synthetic", SYNTHETIC_DEFAULTS)) if condition.uses_generated else None
        ),
        "vae_code": _VAE_CODE_VERSION if condition.uses_latent else None,
        # Only the +U conditions have the entry: the keys of the others stay as they were.
        **({"unlabeled": unlabeled} if condition.unlabeled else {}),
    }


def cell_key(cell: Cell, params: Mapping[str, Mapping[str, Any]], test_size: int) -> str:
    """The name a finished cell is stored under: its name and a hash of its inputs.

    Parameters
    ----------
    cell : Cell
    params : mapping
        Resolved estimator parameters, as for :func:`cell_inputs`.
    test_size : int
        Test images per class.

    Returns
    -------
    str
        ``<Cell.name>-<10 hex digits>``.

    Examples
    --------
    >>> from skvae.experiment import ExperimentConfig
    >>> key = cell_key(Cell("digits", 50, 2, "VAE", 0), ExperimentConfig().resolved(), 50)
    >>> key[:-11], len(key.rsplit("-", 1)[1])
    ('digits-n50-VAE-z2-s0', 10)
    """
    blob = json.dumps(cell_inputs(cell, params, test_size), sort_keys=True, default=repr)
    return f"{cell.name}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"
