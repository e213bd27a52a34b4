"""Finished cells on disk: written once, atomically, read back to resume and report.

A finished cell is ``<out>/cells/<key>.json`` (its row, its inputs and when it
finished), plus ``<key>.samples.npz`` for the VAE conditions. Every file is
written through a temporary file and ``os.replace`` (:func:`atomic_write`), the
JSON last, so an interrupted run leaves either a finished cell or none, and a
rerun computes only the missing ones. ``results.csv`` gathers their rows.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .conditions import ALL_CONDITIONS

__all__ = [
    "RESULT_COLUMNS",
    "atomic_write",
    "cell_paths",
    "load_cell",
    "read_cells",
    "results_from_cells",
    "row_order",
    "save_cell",
    "write_results",
]

#: Columns of ``results.csv``, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "dataset",
    "size",
    "latent",
    "condition",
    "seed",
    "f1",
    "accuracy",
    "epochs",
    "best_epoch",
    "vae_epochs",
    "fit_seconds",
    "score_seconds",
    "n_train",
    "n_generated",
    "n_test",
    "key",
)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """Write a file through a temporary file in the same folder, then ``os.replace``.

    A reader, or a rerun after a crash, sees the old file or the whole new
    one, never part of it.

    Parameters
    ----------
    path : path-like
        The file; its folder is created if missing.
    write : callable
        Called with the temporary file, open for writing bytes.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "sub" / "a.txt"
    ...     atomic_write(path, lambda f: f.write(b"done"))
    ...     path.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide results from other users
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def cell_paths(out_dir: str | os.PathLike, key: str) -> tuple[Path, Path]:
    """Where the cell ``key`` of ``out_dir`` is stored.

    Parameters
    ----------
    out_dir : path-like
    key : str
        The cell's :func:`~skvae.experiment.cells.cell_key`.

    Returns
    -------
    tuple of pathlib.Path
        ``(cells/<key>.json, cells/<key>.samples.npz)``.
    """
    folder = Path(out_dir) / "cells"
    return folder / f"{key}.json", folder / f"{key}.samples.npz"


def save_cell(
    out_dir: str | os.PathLike, key: str, result: Mapping[str, Any], inputs: Mapping
) -> dict:
    """Write a finished cell: samples first, the JSON (the "done" mark) last.

    Parameters
    ----------
    out_dir : path-like
    key : str
        The cell's :func:`~skvae.experiment.cells.cell_key`.
    result : mapping
        What :func:`~skvae.experiment.run_cell` returned: ``row`` and
        ``samples`` (None if the cell has none).
    inputs : mapping
        The cell's :func:`~skvae.experiment.cells.cell_inputs`, stored beside
        its row.

    Returns
    -------
    dict
        The row, with its ``key``.
    """
    json_path, samples_path = cell_paths(out_dir, key)
    row = {**result["row"], "key": key}
    if result.get("samples") is not None:
        atomic_write(samples_path, lambda f: np.savez_compressed(f, **result["samples"]))
    record = {"row": row, "inputs": inputs, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    text = json.dumps(record, indent=1, sort_keys=True, default=repr)
    atomic_write(json_path, lambda f: f.write(text.encode()))
    return row


def load_cell(out_dir: str | os.PathLike, key: str) -> dict | None:
    """The row of a finished cell, or None if it is missing or unreadable.

    Parameters
    ----------
    out_dir : path-like
    key : str

    Returns
    -------
    dict or None
    """
    json_path, _ = cell_paths(out_dir, key)
    try:
        record = json.loads(json_path.read_text())
        return dict(record["row"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_cells(out_dir: str | os.PathLike) -> list[dict]:
    """Rows of every finished cell in ``out_dir/cells``, whatever its grid.

    Parameters
    ----------
    out_dir : path-like

    Returns
    -------
    list of dict
    """
    rows = []
    for path in sorted((Path(out_dir) / "cells").glob("*.json")):
        row = load_cell(out_dir, path.stem)
        if row is not None:
            rows.append(row)
    return rows


def results_from_cells(out_dir: str | os.PathLike) -> int:
    """Rewrite ``out_dir/results.csv`` from every finished cell in ``out_dir/cells``.

    ``skvae reproduce`` writes the rows of its own grid only; this gathers the
    cells of several runs into one folder's tables (``skvae report
    --from-cells``).

    Parameters
    ----------
    out_dir : path-like

    Returns
    -------
    int
        Number of rows written.

    Raises
    ------
    ValueError
        If there is no finished cell, or two cells share a grid point
        (dataset, size, latent, condition, seed): cells of runs with other
        settings, which one table must not mix.
    """
    rows = read_cells(out_dir)
    if not rows:
        raise ValueError(f"No finished cell in {Path(out_dir) / 'cells'}.")
    seen: dict[tuple, str] = {}
    for row in rows:
        point = tuple(row[k] for k in ("dataset", "size", "latent", "condition", "seed"))
        if point in seen:
            raise ValueError(
                f"Cells {seen[point]} and {row['key']} are the same grid point with other "
                "settings (runs with different parameters in one folder); move one "
                "run's cells elsewhere."
            )
        seen[point] = row["key"]
    write_results(rows, Path(out_dir) / "results.csv")
    return len(rows)


def row_order(row: Mapping[str, Any]) -> tuple:
    """Sort key of a row: data set, size, condition (reports' order), latent, seed.

    Parameters
    ----------
    row : mapping
        A row with the :data:`RESULT_COLUMNS` (``latent`` None or empty
        for the latent-free conditions, which come first).

    Returns
    -------
    tuple
    """
    condition = row["condition"]
    order = ALL_CONDITIONS.index(condition) if condition in ALL_CONDITIONS else len(ALL_CONDITIONS)
    latent = row.get("latent")
    return (
        row["dataset"],
        int(row["size"]),
        order,
        -1 if latent in (None, "") else int(latent),
        int(row["seed"]),
    )


def write_results(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write rows to a CSV file (atomically), sorted, latent NA as empty.

    Parameters
    ----------
    rows : iterable of dict
        Rows with the :data:`RESULT_COLUMNS`.
    path : path-like

    Returns
    -------
    pathlib.Path
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in sorted(rows, key=row_order):
        writer.writerow({k: _csv_value(row.get(k)) for k in RESULT_COLUMNS})
    path = Path(path)
    atomic_write(path, lambda f: f.write(buffer.getvalue().encode()))
    return path


def _csv_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value
