"""The paper's experiment: conditions × sizes × latent sizes × seeds, and its reports.

Modules
-------
config
    The tunable defaults (:data:`~skvae.experiment.config.VAE_DEFAULTS`,
    :data:`~skvae.experiment.config.CNN_DEFAULTS`, ...), each data set's default
    grid and a run's overrides (:class:`~skvae.experiment.config.ExperimentConfig`).
conditions
    The registry of conditions, each built as an imbalanced-learn pipeline.
data
    The data sets, their fixed test subsets and a cell's one-split ``cv``.
cells
    Cells, the unit of work, and the key a finished cell is stored under.
store
    Finished cells on disk, written atomically; ``results.csv``.
runner
    The resumable joblib runner (``loky`` or ``dask``).
baselines
    SMOTE on pixels, the strong augmentation and the augmentation levels.
report
    ``results.csv`` -> Table 2, the Wilcoxon Table 3 and the F1-vs-size plot.
figures
    Figure 2, images generated per latent size.
paper
    The paper's published values and their sources.

:func:`reproduce` runs it all, as ``skvae reproduce`` does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cells import Cell, make_cells
from .conditions import ALL_CONDITIONS, CONDITIONS, make_pipeline
from .config import (
    AUGMENT_DEFAULTS,
    CNN_DEFAULTS,
    DEFAULT_GRIDS,
    SYNTHETIC_DEFAULTS,
    VAE_DEFAULTS,
    ExperimentConfig,
)
from .figures import load_cell_samples, plot_generated
from .report import read_results, write_reports
from .runner import GridRun, run_cell, run_grid
from .store import write_results

__all__ = [
    "ALL_CONDITIONS",
    "AUGMENT_DEFAULTS",
    "CNN_DEFAULTS",
    "CONDITIONS",
    "DEFAULT_GRIDS",
    "SYNTHETIC_DEFAULTS",
    "VAE_DEFAULTS",
    "Cell",
    "ExperimentConfig",
    "GridRun",
    "Reproduction",
    "make_cells",
    "make_pipeline",
    "read_results",
    "make_reports",
    "reproduce",
    "run_cell",
    "run_grid",
]


@dataclass
class Reproduction:
    """What :func:`reproduce` did.

    Attributes
    ----------
    run : GridRun
        The grid run (rows, cached / computed counts, failures, interruption).
    paths : dict
        Name -> path of every file written (``results``, ``table2``,
        ``table3``, ``f1_vs_size``, ``fig2`` when a VAE cell finished,
        ``fig3`` when an augmentation-strength cell finished, ``config``).
    """

    run: GridRun
    paths: dict[str, Path] = field(default_factory=dict)


def reproduce(
    out_dir: str | os.PathLike = "skvae-results",
    *,
    dataset: str = "digits",
    sizes: Iterable[int] | None = None,
    latents: Iterable[int] | None = None,
    seeds: int | Iterable[int] | None = None,
    conditions: Iterable[str] = CONDITIONS,
    config: ExperimentConfig | None = None,
    n_jobs: int | None = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
) -> Reproduction:
    """Run (or resume) the experiment and write results, tables and figures.

    Parameters
    ----------
    out_dir : path-like, default="skvae-results"
        Output folder; finished cells in ``out_dir/cells`` are reused.
    dataset : {"digits", "mnist"}, default="digits"
    sizes, latents, seeds : optional
        The grid; None takes the data set's
        :data:`~skvae.experiment.config.DEFAULT_GRIDS` entry, whose estimator
        overrides (if any) always apply under those of ``config``.
        ``seeds=n`` means seeds ``0 .. n-1``.
    conditions : iterable of str, default=CONDITIONS
        The paper's four by default; any of :data:`~skvae.experiment.conditions.ALL_CONDITIONS`.
    config : ExperimentConfig, optional
        Estimator overrides and data location.
    n_jobs, backend, scheduler, progress
        See :func:`~skvae.experiment.runner.run_grid`.

    Returns
    -------
    Reproduction
    """
    grid = DEFAULT_GRIDS[dataset] if dataset in DEFAULT_GRIDS else {}
    sizes = grid.get("sizes", ()) if sizes is None else sizes
    latents = grid.get("latents", ()) if latents is None else latents
    seeds = grid.get("seeds", 1) if seeds is None else seeds
    config = ExperimentConfig() if config is None else config
    config = replace(
        config,
        vae_params={**grid.get("vae_params", {}), **config.vae_params},
        cnn_params={**grid.get("cnn_params", {}), **config.cnn_params},
    )
    cells = make_cells(dataset, sizes, latents, conditions, seeds)
    out_dir = Path(out_dir)
    run = run_grid(
        cells,
        out_dir,
        config,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
    )
    paths = {"config": _write_config(out_dir, cells, config)}
    paths["results"] = write_results(run.rows, out_dir / "results.csv")
    paths.update(make_reports(out_dir, rows=run.rows))
    return Reproduction(run=run, paths=paths)


def make_reports(out_dir: str | os.PathLike, *, rows: list[dict] | None = None) -> dict[str, Path]:
    """(Re)write the tables and figures of ``out_dir`` from its ``results.csv``.

    Parameters
    ----------
    out_dir : path-like
    rows : list of dict, optional
        Rows to report instead of reading ``out_dir/results.csv``.

    Returns
    -------
    dict
        Name -> path of each file written; ``fig2`` only if a VAE cell has
        stored samples, ``fig3`` only with rows of the augmentation-strength
        conditions (an older ``fig2.png`` or ``fig3.png`` is removed otherwise).
    """
    out_dir = Path(out_dir)
    rows = read_results(out_dir / "results.csv") if rows is None else rows
    paths = write_reports(rows, out_dir)
    samples = load_cell_samples(rows, out_dir)
    if samples:
        paths["fig2"] = plot_generated(samples, out_dir / "fig2.png")
    else:  # an earlier grid's figure would pass for this one's
        (out_dir / "fig2.png").unlink(missing_ok=True)
    return paths


def _write_config(out_dir: Path, cells: list[Cell], config: ExperimentConfig) -> Path:
    """Record the grid and the resolved estimator parameters of the last run."""
    record = {
        "cells": len(cells),
        "datasets": sorted({c.dataset for c in cells}),
        "sizes": sorted({c.size for c in cells}),
        "latents": sorted({c.latent for c in cells if c.latent is not None}),
        "conditions": list(dict.fromkeys(c.condition for c in cells)),
        "seeds": sorted({c.seed for c in cells}),
        "params": config.resolved(),
        "data_home": config.data_home,
        "test_size_per_class": {d: config.test_size(d) for d in {c.dataset for c in cells}},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "config.json"
    path.write_text(json.dumps(record, indent=1, default=repr) + "\n")
    return path
