"""How long the paper's full MNIST grid takes: cell times and an extrapolation.

``skvae reproduce`` records each finished cell's training and scoring seconds
(``fit_seconds``, ``score_seconds``) in ``<out>/cells``. This script reads them,
takes per (training size, condition) the median over the recorded cells, and
extrapolates to the paper's full grid: sizes 50-1,000, latent sizes 2, 3, 4
and 8, the four conditions (CNN and AUG once per size and seed, VAE and AUG+VAE
once per latent size), for ``--seeds`` seeds on ``--workers`` parallel workers.
The wall time is the makespan of a longest-first schedule of the cells on the
workers (a cell runs on one worker); the worker-hours divided by the workers is
its lower bound. Run::

    python benchmarks/grid_time.py --cells docs/results/mnist --workers 2

``--measure SIZE`` first runs one full Table 2 cell group (one size, latent 3,
the four conditions, one seed) with ``skvae.experiment.run_grid`` on one worker
into ``--work`` (resumable) and reports its wall time and cell times in a table
of their own. On the CPU at fp32 (``--device cpu --precision fp32``, the
defaults) its cells also join the recorded ones; on another device or with
``--precision bf16`` (both networks) they stay out of the extrapolation. With
``--precision bf16 --versus-fp32`` the group runs in both precisions, cell by
cell alternately, and each condition's bf16/fp32 time ratio scales the recorded
cells into an estimate of the full grid in bf16 (with its floor at the bf16
``torch.matmul`` rate)::

    python benchmarks/grid_time.py --cells docs/results/mnist --measure 100 \
        --precision bf16 --versus-fp32 --work /tmp/grid_time_cells

``--shared-vae-fits`` estimates the grid as ``skvae reproduce`` now runs it:
the VAE and AUG+VAE cells of one size, latent size and seed train the same
class-VAEs, and ``run_grid`` trains them once (``share_vae_fits``). Each
recorded AUG+VAE cell (recorded before sharing) loses the class-VAE training
its VAE partner now does for it: its ``vae_epochs`` (the mean epochs per
class-VAE) x 10 classes x the seconds of one class-VAE epoch at its size,
plus the fit's fixed seconds, both measured now on one torch thread (the 10
class-VAEs, latent 3, fitted for 1 and for 5 epochs each with the grid's
settings). With ``--versus-fp32`` ratios, the same in bf16.
``--check-fit SIZE`` fits that sampler at one size with its real early
stopping and sets the time against the model's for the epochs it took::

    python benchmarks/grid_time.py --cells docs/results/mnist --shared-vae-fits \
        --check-fit 500

Assumption, stated in the output: a VAE condition costs the same at every
latent size (its latent layers are a few thousand of the ConvVAE's ~3.4 M
weights); only the recorded latent sizes are measured.

The arithmetic floor: from each recorded cell's epochs, training size, generated
rows and class-VAE epochs, the convolution and matmul FLOPs it ran (PaperCNN and
ConvVAE FLOPs per image counted with ``FlopCounterMode``; the CNN's 20% and the
class-VAEs' 15% validation rows per class, the test images once). The grid's
FLOPs over the machine's fp32 ``torch.matmul`` rate, measured in the same run
with all its cores, is the shortest time the grid could take at fp32 if every
FLOP ran at that rate: how far the schedule is from it, and whether a time goal
can be met at all without changing the settings.

Writes ``benchmarks/results/grid_time.{json,md}``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from skvae import benchmarking as bm
from skvae.experiment.cells import make_cells
from skvae.experiment.conditions import CONDITIONS
from skvae.experiment.config import DEFAULT_GRIDS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cli  # noqa: E402

# The paper's grid, as `skvae reproduce --dataset mnist` runs it by default.
PAPER_SIZES = tuple(DEFAULT_GRIDS["mnist"]["sizes"])
PAPER_LATENTS = tuple(DEFAULT_GRIDS["mnist"]["latents"])
PAPER_CONDITIONS = CONDITIONS


def cell_seconds(rows: Iterable[Mapping]) -> dict[tuple[int, str], list[float]]:
    """Seconds (fit + score) of each recorded cell, grouped by (size, condition)."""
    times: dict[tuple[int, str], list[float]] = defaultdict(list)
    for row in rows:
        seconds = float(row["fit_seconds"]) + float(row.get("score_seconds") or 0.0)
        times[(int(row["size"]), row["condition"])].append(seconds)
    return dict(times)


def cell_work(
    rows: Iterable[Mapping], flops: Mapping[str, float], validation_fraction: float
) -> dict[tuple[int, str], list[float]]:
    """FLOPs (:func:`cell_flops`) of each recorded cell, grouped by (size, condition)."""
    work: dict[tuple[int, str], list[float]] = defaultdict(list)
    for row in rows:
        work[(int(row["size"]), row["condition"])].append(
            cell_flops(row, flops, validation_fraction)
        )
    return dict(work)


def cnn_settings(out_dir: Path) -> dict:
    """The CNN settings of the ``skvae reproduce`` run in ``out_dir`` (its config.json)."""
    return json.loads((Path(out_dir) / "config.json").read_text())["params"]["cnn"]


def cnn_validation_fraction(out_dir: Path) -> float:
    """The CNN's ``validation_fraction`` of the run in ``out_dir``."""
    from skvae import CNNClassifier

    default = CNNClassifier().validation_fraction
    return float(cnn_settings(out_dir).get("validation_fraction", default))


def flops_per_image(latent: int = 3, batch: int = 16) -> dict[str, float]:
    """Convolution and matmul FLOPs per MNIST image of the paper's networks.

    Keys: ``cnn_train`` (PaperCNN forward + backward), ``cnn_forward``,
    ``vae_train`` (ConvVAE loss forward + backward), ``vae_forward`` (its loss
    forward, as in a validation pass) and ``decode``.
    """
    cnn_train, cnn_forward = bm.cnn_flops_per_image(batch)
    vae_train, vae_forward, decode = bm.vae_flops_per_image(latent, batch)
    return dict(
        cnn_train=cnn_train,
        cnn_forward=cnn_forward,
        vae_train=vae_train,
        vae_forward=vae_forward,
        decode=decode,
    )


def cell_flops(
    row: Mapping, flops: Mapping[str, float], validation_fraction: float, n_classes: int = 10
) -> float:
    """Convolution and matmul FLOPs of one recorded cell (``skvae reproduce`` row).

    The CNN trains ``epochs`` times on its training split (``validation_fraction``
    of each class held out, by CNNClassifier's rule) plus the
    generated rows (fresh each epoch), evaluates its validation split once per
    epoch and the test images once; in the VAE conditions each class-VAE also
    trains ``vae_epochs`` times on its class less VAEOversampler's default
    validation rows and evaluates those, and the generated rows are decoded
    once per CNN epoch. Augmentation, losses and optimiser updates are not
    counted: the floor this gives is a lower bound.
    """
    from skvae import VAETraining
    from skvae.nn.early_stopping import n_validation_rows

    n, epochs = int(row["size"]), int(row["epochs"])
    per_class = n // n_classes
    cnn_valid = n_classes * n_validation_rows(per_class, validation_fraction, at_least_one=True)
    generated = int(row.get("n_generated") or 0)
    total = epochs * (n - cnn_valid + generated) * flops["cnn_train"]
    total += epochs * cnn_valid * flops["cnn_forward"]
    total += int(row.get("n_test") or 0) * flops["cnn_forward"]
    if row.get("vae_epochs") not in (None, ""):
        vae_epochs = float(row["vae_epochs"])
        fraction = VAETraining().validation_fraction
        vae_valid = n_classes * n_validation_rows(per_class, fraction)
        total += vae_epochs * (n - vae_valid) * flops["vae_train"]
        total += vae_epochs * vae_valid * flops["vae_forward"]
        total += epochs * generated * flops["decode"]
    return total


def grid_cells(
    sizes: Sequence[int], latents: Sequence[int], conditions: Sequence[str]
) -> list[tuple[int, str, int | None]]:
    """The (size, condition, latent) cells of one seed of the grid (see ``make_cells``)."""
    return [
        (c.size, c.condition, c.latent) for c in make_cells("mnist", sizes, latents, conditions)
    ]


def makespan(durations: Iterable[float], workers: int) -> float:
    """Finish time of ``durations`` scheduled longest first on ``workers`` workers."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}.")
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + d)
    return max(loads)


def extrapolate(
    times: Mapping[tuple[int, str], Sequence[float]],
    *,
    sizes: Sequence[int] = PAPER_SIZES,
    latents: Sequence[int] = PAPER_LATENTS,
    conditions: Sequence[str] = PAPER_CONDITIONS,
    seeds: int = 1,
    workers: int = 2,
    work: Mapping[tuple[int, str], Sequence[float]] | None = None,
    peak_gflops: float | None = None,
) -> tuple[list[dict], dict]:
    """Per-size rows and grid totals from the median recorded cell times.

    With ``work`` (FLOPs per recorded cell, as ``times``) each row also gets the
    GFLOP/s of its cells (median FLOPs over median seconds, per worker) and the
    totals the grid's TFLOP; with ``peak_gflops`` too (the machine's rate, all
    cores), the arithmetic floor ``floor_hours`` and the share of it the
    schedule reaches (``floor_hours / wall_hours``).

    Raises ``ValueError`` naming the (size, condition) pairs without a
    recorded cell: an extrapolation would have to guess them.
    """
    missing = [(s, c) for s in sizes for c in conditions if not times.get((s, c))]
    if missing:
        raise ValueError(f"No recorded cell for (size, condition) {missing}.")
    median = {key: statistics.median(values) for key, values in times.items()}
    rows = []
    for size in sizes:
        cells = grid_cells([size], latents, conditions)
        row = {"size": size}
        for condition in conditions:
            row[f"{condition} min"] = median[(size, condition)] / 60
            row[f"{condition} n"] = len(times[(size, condition)])
        row["cells/seed"] = len(cells)
        row["worker h/seed"] = sum(median[(s, c)] for s, c, _ in cells) / 3600
        if work is not None:
            flops = sum(statistics.median(work[(s, c)]) for s, c, _ in cells)
            row["TFLOP/seed"] = flops / 1e12
            row["GFLOP/s per worker"] = flops / (row["worker h/seed"] * 3600) / 1e9
        rows.append(row)
    all_cells = grid_cells(sizes, latents, conditions)
    durations = [median[(s, c)] for s, c, _ in all_cells]
    totals = {
        "cells": len(durations) * seeds,
        "worker_hours": sum(durations) * seeds / 3600,
        "workers": workers,
        "seeds": seeds,
        "wall_hours": makespan(durations * seeds, workers) / 3600,
        "wall_hours_lower_bound": sum(durations) * seeds / workers / 3600,
    }
    if work is not None:
        grid_flops = seeds * sum(statistics.median(work[(s, c)]) for s, c, _ in all_cells)
        totals["grid_tflop"] = grid_flops / 1e12
        if peak_gflops:
            totals["peak_gflops"] = peak_gflops
            totals["floor_hours"] = grid_flops / (peak_gflops * 1e9) / 3600
            totals["floor_share"] = totals["floor_hours"] / totals["wall_hours"]
    return rows, totals


def measure_group(
    size: int,
    seed: int,
    data_home: Path,
    work: Path,
    device: str = "cpu",
    precision: str = "fp32",
    conditions: Sequence[str] = PAPER_CONDITIONS,
) -> float:
    """Wall seconds of one cell group (four conditions, latent 3) run now, one worker.

    ``precision`` is passed to both networks (``"bf16"``: bfloat16 autocast);
    ``conditions`` restricts the group to some of its cells. Each cell trains
    its own class-VAEs, as when the recorded cells ran, so that the measured
    cells compare with them.
    """
    from skvae.experiment.config import ExperimentConfig
    from skvae.experiment.runner import run_grid

    cells = make_cells("mnist", [size], [3], conditions, [seed])
    on = {"device": device, "precision": precision}
    config = ExperimentConfig(vae_params=on, cnn_params=on, data_home=str(data_home))
    start = time.perf_counter()
    run_grid(cells, work, config, n_jobs=1, progress=False, share_vae_fits=False)
    return time.perf_counter() - start


def _grid_sampler_fit(size: int, seed: int, data_home: Path, **overrides):
    """Fit the VAE conditions' sampler on the grid's training subset; (seconds, sampler).

    Latent 3, ``VAE_DEFAULTS`` with ``overrides``, one torch thread (as each
    worker of the recorded runs).
    """
    from skvae import VAEOversampler
    from skvae.experiment.config import VAE_DEFAULTS, oversampler_params
    from skvae.experiment.data import DATASETS, load_dataset, make_cv

    data = load_dataset("mnist", str(data_home))
    cv = make_cv(
        size,
        seed,
        test_size_per_class=DATASETS["mnist"].test_size_per_class,
        test_mask=data.test_mask,
    )
    train, _ = next(cv.split(data.data, data.target))
    params = oversampler_params({**VAE_DEFAULTS, **overrides})
    sampler = VAEOversampler(3, image_shape=tuple(data.image_shape), random_state=seed, **params)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        sampler.fit_resample(data.data[train], data.target[train])
        return time.perf_counter() - start, sampler
    finally:
        torch.set_num_threads(threads)


def vae_fit_model(size: int, seed: int, data_home: Path, epochs: int = 5) -> tuple[float, float]:
    """Seconds of the grid's class-VAE training at ``size`` images: (per class-epoch, fixed).

    Fits the VAE conditions' :class:`~skvae.VAEOversampler` (patience too long
    to stop) once for one epoch per class-VAE (after a warm-up fit) and once
    for ``epochs``. The difference over ``n_classes x (epochs - 1)`` is the
    time of one class-VAE epoch; what the one-epoch fit takes beyond
    ``n_classes`` such epochs is the fixed part (building the VAEs, encoding,
    generating the new rows).
    """

    def fit(n_epochs: int) -> tuple[float, int]:
        seconds, sampler = _grid_sampler_fit(
            size, seed, data_home, max_epochs=n_epochs, patience=n_epochs, min_steps=0
        )
        if any(len(h.history) != n_epochs for h in sampler.histories_.values()):
            raise RuntimeError(f"a class-VAE did not train {n_epochs} epochs")
        return seconds, len(sampler.vaes_)

    fit(1)  # warm-up
    (one, n_classes), (many, _) = fit(1), fit(epochs)
    per_epoch = max(many - one, 0.0) / (n_classes * (epochs - 1))
    return per_epoch, max(one - n_classes * per_epoch, 0.0)


def time_vae_fit(size: int, seed: int, data_home: Path) -> tuple[float, float]:
    """Minutes of the grid's class-VAE fit at ``size`` images, and its mean epochs per VAE."""
    seconds, sampler = _grid_sampler_fit(size, seed, data_home)
    epochs = np.mean([len(h.history) for h in sampler.histories_.values()])
    return seconds / 60, float(epochs)


def class_vae_seconds(
    fit_model: tuple[float, float], vae_epochs: float, n_classes: int = 10
) -> float:
    """Seconds of a cell's class-VAE training by :func:`vae_fit_model`'s model.

    ``fit_model`` is (seconds per class-VAE epoch, fixed seconds); the training
    is the fixed part plus ``vae_epochs`` (mean epochs per class-VAE) x
    ``n_classes`` epochs.
    """
    per_epoch, fixed = fit_model
    return fixed + vae_epochs * n_classes * per_epoch


def shared_fit_seconds(
    rows: Iterable[Mapping], fit_model: Mapping[int, tuple[float, float]], n_classes: int = 10
) -> dict[tuple[int, str], list[float]]:
    """:func:`cell_seconds` with each AUG+VAE cell less the class-VAE training it now shares.

    ``fit_model`` maps a size to :func:`vae_fit_model`'s (seconds per
    class-VAE epoch, fixed seconds); a cell's class-VAE training is
    :func:`class_vae_seconds` of its ``vae_epochs``. A cell recorded with
    ``shared_vae_fit`` true ran with sharing already and is left as it is.
    Raises ``ValueError``
    for an AUG+VAE cell of a size without a model, or without ``vae_epochs``.
    """
    times: dict[tuple[int, str], list[float]] = defaultdict(list)
    for row in rows:
        key = (int(row["size"]), row["condition"])
        (seconds,) = cell_seconds([row])[key]
        if row["condition"] == "AUG+VAE" and not row.get("shared_vae_fit"):
            if key[0] not in fit_model or row.get("vae_epochs") in (None, ""):
                raise ValueError(f"No class-VAE fit model or vae_epochs for {key}.")
            training = class_vae_seconds(fit_model[key[0]], float(row["vae_epochs"]), n_classes)
            seconds = max(seconds - training, 0.0)
        times[key].append(seconds)
    return dict(times)


def measure_precisions(
    size: int, seed: int, data_home: Path, work: Path, device: str = "cpu"
) -> dict[str, float]:
    """Wall seconds of one cell group in fp32 and in bf16, one cell at a time, alternating.

    Each condition runs in fp32 (into ``work / "fp32"``) and then in bf16 (into
    ``work / "bf16"``) before the next condition starts, so that a drift in the
    machine's speed during the run touches both precisions alike. Returns the
    seconds per precision, summed over the conditions.
    """
    wall = {"fp32": 0.0, "bf16": 0.0}
    for condition in PAPER_CONDITIONS:
        for precision in wall:
            wall[precision] += measure_group(
                size, seed, data_home, work / precision, device, precision, [condition]
            )
    return wall


def precision_ratios(
    fp32: Mapping[tuple[int, str], Sequence[float]],
    bf16: Mapping[tuple[int, str], Sequence[float]],
) -> dict[str, float]:
    """Per condition, bf16's median cell seconds over fp32's (``cell_seconds`` mappings).

    Raises ``ValueError`` naming a condition measured in only one precision.
    """
    ratios = {}
    for condition in sorted({c for _, c in fp32} | {c for _, c in bf16}):
        a = [t for (_, c), v in fp32.items() if c == condition for t in v]
        b = [t for (_, c), v in bf16.items() if c == condition for t in v]
        if not a or not b:
            raise ValueError(f"Condition {condition!r} was not measured in both precisions.")
        ratios[condition] = statistics.median(b) / statistics.median(a)
    return ratios


def scale_times(
    times: Mapping[tuple[int, str], Sequence[float]], ratios: Mapping[str, float]
) -> dict[tuple[int, str], list[float]]:
    """``times`` with every cell of a condition multiplied by that condition's ratio."""
    return {(size, c): [t * ratios[c] for t in v] for (size, c), v in times.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cells",
        type=Path,
        nargs="+",
        required=True,
        help="skvae reproduce output folders whose cells/ to read",
    )
    parser.add_argument("--workers", type=int, default=2, help="parallel cells (default: 2)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the grid (default: 1)")
    parser.add_argument(
        "--measure",
        type=int,
        metavar="SIZE",
        help="first run one cell group of this size now and time it",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --measure (default: 0)")
    parser.add_argument("--device", default="cpu", help="device of --measure (default: cpu)")
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="precision of both networks in --measure (default: fp32)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("grid_time_cells"),
        help="output folder of --measure (default: ./grid_time_cells)",
    )
    parser.add_argument(
        "--shared-vae-fits",
        action="store_true",
        help="also estimate the grid with the class-VAEs shared between the VAE and "
        "AUG+VAE cells (run_grid's default now), from class-VAE epoch times measured now",
    )
    parser.add_argument(
        "--check-fit",
        type=int,
        metavar="SIZE",
        help="with --shared-vae-fits: fit the grid's VAEOversampler at this size (seed "
        "--seed) with its early stopping and set its time against the model's",
    )
    parser.add_argument(
        "--versus-fp32",
        action="store_true",
        help="with --measure and --precision bf16: also run the group in fp32, cell by cell "
        "alternately (into WORK/fp32 and WORK/bf16), and estimate the full grid in bf16",
    )
    _cli.add_common_args(parser)
    args = parser.parse_args(argv)
    if args.versus_fp32 and (args.measure is None or args.precision != "bf16"):
        parser.error("--versus-fp32 needs --measure SIZE and --precision bf16")
    if args.check_fit is not None and not args.shared_vae_fits:
        parser.error("--check-fit needs --shared-vae-fits")

    from skvae.experiment.store import read_cells

    notes = []
    ratios: dict[str, float] = {}  # bf16/fp32 per condition, with --versus-fp32
    meta: dict = {"cells_from": [str(p) for p in args.cells], "workers": args.workers}
    if args.measure is not None:
        threads = bm.set_threads(args.threads)
        if args.versus_fp32:
            walls = measure_precisions(
                args.measure, args.seed, args.data_home, args.work, args.device
            )
            folders = {p: args.work / p for p in walls}
        else:
            walls = {
                args.precision: measure_group(
                    args.measure, args.seed, args.data_home, args.work, args.device, args.precision
                )
            }
            folders = {args.precision: args.work}
        wall = walls[args.precision]
        meta.update(
            measured_size=args.measure,
            measured_seed=args.seed,
            measured_wall_s=round(wall, 1),
            measured_device=args.device,
            measured_precision=args.precision,
            torch_threads=threads,
        )
        for precision, seconds in walls.items():
            notes.append(
                f"Measured now: one cell group at {args.measure} images (seed "
                f"{args.seed}, latent 3, four conditions, one worker, {args.device}, "
                f"{precision}, {threads} torch threads) took {seconds / 60:.1f} min (cells "
                f"already in {folders[precision]} are not rerun)."
            )
        measured = {
            p: cell_seconds(r for r in read_cells(f) if r["size"] == args.measure)
            for p, f in folders.items()
        }
        ratios = precision_ratios(measured["fp32"], measured["bf16"]) if args.versus_fp32 else {}
        measured_rows = [
            {
                "condition": c,
                "device": args.device,
                "precision": p,
                "min": statistics.median(v) / 60,
                **({"bf16/fp32": ratios[c] if p == "bf16" else 1.0} if ratios else {}),
            }
            for p, cells in measured.items()
            for (_, c), v in sorted(cells.items(), key=lambda kv: kv[0][1])
        ]
        if args.versus_fp32:
            meta.update(
                measured_wall_s_fp32=round(walls["fp32"], 1),
                bf16_over_fp32={c: round(r, 3) for c, r in ratios.items()},
            )
        # The measured cells ran with today's CNN_DEFAULTS: they join the recorded
        # ones only where those ran with the same CNN settings, device and precision.
        measured_in = folders[args.precision]
        if (
            args.device == "cpu"
            and args.precision == "fp32"
            and all(cnn_settings(f) == cnn_settings(measured_in) for f in args.cells)
        ):
            args.cells = [*args.cells, measured_in]
        else:
            notes.append(
                f"The cells measured ({args.device}, {args.precision}) are shown on their own "
                "and are not part of the extrapolation, which uses the recorded cells only."
            )
    flops = flops_per_image()
    rows: list[dict] = []
    work: dict[tuple[int, str], list[float]] = defaultdict(list)
    for folder in args.cells:
        found = [r for r in read_cells(folder) if r["dataset"] == "mnist"]
        rows += found
        for key, flops_of_cells in cell_work(found, flops, cnn_validation_fraction(folder)).items():
            work[key] += flops_of_cells
    times = cell_seconds(rows)
    latents = sorted({int(r["latent"]) for r in rows if r.get("latent") not in (None, "")})
    # The whole machine's rate: the grid's cells run side by side on every core.
    peak = bm.measure_matmul_peak(torch.float32)
    meta["fp32 matmul peak"] = peak
    meta["flops_per_image"] = {k: round(v) for k, v in flops.items()}
    table, totals = extrapolate(
        times, seeds=args.seeds, workers=args.workers, work=work, peak_gflops=peak["gflops_max"]
    )
    meta.update(
        recorded_cells=len(rows),
        recorded_latents=latents,
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in totals.items()},
    )
    columns = [
        "size",
        *(f"{c} {k}" for c in PAPER_CONDITIONS for k in ("min", "n")),
        "cells/seed",
        "worker h/seed",
        "TFLOP/seed",
        "GFLOP/s per worker",
    ]
    notes += [
        "X min: median minutes (fit + score) of the recorded cells of condition X at that "
        "size; X n: how many cells. worker h/seed: the size's cells of one seed of the full "
        f"grid (CNN and AUG once, VAE and AUG+VAE once per latent size {PAPER_LATENTS}).",
        f"Full grid, {args.seeds} seed(s): {totals['cells']} cells, "
        f"{totals['worker_hours']:.1f} worker-hours, about {totals['wall_hours']:.1f} h "
        f"on {args.workers} workers (longest-first schedule; lower bound "
        f"{totals['wall_hours_lower_bound']:.1f} h).",
        f"Arithmetic floor: the grid's convolutions and matmuls ({totals['grid_tflop']:.0f} "
        f"TFLOP per {args.seeds} seed(s), estimated from each cell's epochs and sizes) at "
        f"the machine's best fp32 torch.matmul rate ({peak['gflops_max']:.0f} GFLOP/s with "
        f"{peak['threads']} threads, measured in this run) take {totals['floor_hours']:.2f} h; "
        f"the schedule above reaches {100 * totals['floor_share']:.0f}% of that rate. A goal "
        "below the floor cannot be met at fp32 on this machine without changing the "
        "settings (fewer updates) or the precision.",
        "TFLOP/seed: the size's cells of one seed (median FLOPs per condition); GFLOP/s per "
        "worker: those FLOPs over the cells' worker-seconds (one torch thread per worker).",
        f"Only latent size(s) {latents} were recorded; the VAE conditions are assumed "
        "to cost the same at every latent size.",
        "The recorded cells ran as `skvae reproduce` ran them: several at once on the "
        "machine's cores (one torch thread each with --n-jobs equal to the cores), some "
        "beside other jobs, so they are times under load, not best cases.",
    ]
    tables = {"Cell times and the full paper grid": (table, columns)}
    if args.measure is not None:
        tables["Cell group measured now"] = (
            measured_rows,
            ["condition", "device", "precision", "min", *(["bf16/fp32"] if ratios else [])],
        )
    if args.measure is not None and ratios:
        bf16_peak = bm.measure_matmul_peak(torch.bfloat16)
        meta["bf16 matmul peak"] = bf16_peak
        bf16_table, bf16_totals = extrapolate(
            scale_times(times, ratios),
            seeds=args.seeds,
            workers=args.workers,
            work=work,
            peak_gflops=bf16_peak["gflops_max"],
        )
        meta.update(
            bf16_wall_hours=round(bf16_totals["wall_hours"], 2),
            bf16_floor_hours=round(bf16_totals["floor_hours"], 2),
        )
        tables["The full paper grid estimated in bf16"] = (
            bf16_table,
            ["size", *(f"{c} min" for c in PAPER_CONDITIONS), "worker h/seed"],
        )
        shown = ", ".join(f"{c} {r:.2f}" for c, r in ratios.items())
        notes.append(
            f"bf16 estimate: each recorded cell's time multiplied by its condition's bf16/fp32 "
            f"time ratio measured now at {args.measure} images ({shown}), assuming the "
            f"ratio holds at every size: {bf16_totals['worker_hours']:.1f} worker-hours, "
            f"about {bf16_totals['wall_hours']:.1f} h on {args.workers} workers. Its "
            f"arithmetic floor at the best bf16 torch.matmul rate "
            f"({bf16_peak['gflops_max']:.0f} GFLOP/s, measured in this run) is "
            f"{bf16_totals['floor_hours']:.2f} h."
        )
    if args.shared_vae_fits:
        shared_tables, shared_meta, shared_notes = shared_estimate(
            args, rows, times, work, peak, ratios
        )
        tables.update(shared_tables)
        meta.update(shared_meta)
        notes += shared_notes
    for title, (table_rows, table_columns) in tables.items():
        bm.print_table(table_rows, table_columns, title=title)
    bm.write_results(
        "grid_time",
        tables,
        meta,
        out_dir=args.out,
        notes=notes,
    )
    for note in notes:
        print("-", note)


def shared_estimate(
    args: argparse.Namespace,
    rows: list[dict],
    times: Mapping[tuple[int, str], Sequence[float]],
    work: Mapping[tuple[int, str], Sequence[float]],
    peak: dict,
    ratios: Mapping[str, float],
) -> tuple[dict, dict, list]:
    """Tables, metadata and notes of ``--shared-vae-fits`` (see the module docstring)."""
    model = {size: vae_fit_model(size, args.seed, args.data_home) for size in PAPER_SIZES}
    shared = shared_fit_seconds(rows, model)
    table, totals = extrapolate(
        shared, seeds=args.seeds, workers=args.workers, work=work, peak_gflops=peak["gflops_max"]
    )
    per_size = []
    for size in PAPER_SIZES:
        epochs = [
            float(r["vae_epochs"])
            for r in rows
            if int(r["size"]) == size and r["condition"] == "AUG+VAE"
        ]
        per_size.append(
            {
                "size": size,
                "s per class-VAE epoch": model[size][0],
                "fixed s": model[size][1],
                "vae_epochs (median)": statistics.median(epochs),
                "class-VAE training min": class_vae_seconds(model[size], statistics.median(epochs))
                / 60,
                "AUG+VAE min recorded": statistics.median(times[(size, "AUG+VAE")]) / 60,
                "AUG+VAE min shared": statistics.median(shared[(size, "AUG+VAE")]) / 60,
            }
        )
    meta = {
        "vae_fit_model": {size: [round(t, 4) for t in m] for size, m in model.items()},
        "shared_worker_hours": round(totals["worker_hours"], 2),
        "shared_wall_hours": round(totals["wall_hours"], 2),
    }
    notes = [
        "Shared class-VAEs: each recorded AUG+VAE cell less the class-VAE training its VAE "
        "partner now does for it, estimated as the fixed seconds plus vae_epochs x 10 x the "
        "seconds of one class-VAE epoch at its size (both measured now, one torch thread, "
        "from fits of 1 and 5 epochs per class-VAE); the "
        f"full grid then takes {totals['worker_hours']:.1f} worker-hours, about "
        f"{totals['wall_hours']:.1f} h on {args.workers} workers (fp32).",
    ]
    tables = {
        "Class-VAEs trained once for VAE and AUG+VAE": (per_size, list(per_size[0])),
        "The full paper grid with shared class-VAEs (fp32)": (
            table,
            ["size", *(f"{c} min" for c in PAPER_CONDITIONS), "worker h/seed"],
        ),
    }
    if ratios:
        bf16_table, bf16_totals = extrapolate(
            scale_times(shared, ratios), seeds=args.seeds, workers=args.workers
        )
        meta["shared_bf16_wall_hours"] = round(bf16_totals["wall_hours"], 2)
        tables["The full paper grid with shared class-VAEs, bf16"] = (
            bf16_table,
            ["size", *(f"{c} min" for c in PAPER_CONDITIONS), "worker h/seed"],
        )
        notes.append(
            "Shared class-VAEs in bf16: the cells above times the bf16/fp32 ratios measured "
            f"now (the AUG+VAE ratio for the shared AUG+VAE cell): "
            f"{bf16_totals['worker_hours']:.1f} worker-hours, about "
            f"{bf16_totals['wall_hours']:.1f} h on {args.workers} workers."
        )
    if args.check_fit is not None:
        size = args.check_fit
        minutes, epochs = time_vae_fit(size, args.seed, args.data_home)
        fit_model = model.get(size) or vae_fit_model(size, args.seed, args.data_home)
        predicted = class_vae_seconds(fit_model, epochs) / 60
        meta.update(check_fit={"size": size, "minutes": round(minutes, 2), "model": predicted})
        notes.append(
            f"Check of the class-VAE time model at {size} images (seed {args.seed}): the "
            f"grid's VAEOversampler fitted now with early stopping on one torch thread took "
            f"{minutes:.2f} min for a mean of {epochs:.1f} epochs per class-VAE; the model "
            f"gives {predicted:.2f} min for those epochs."
        )
    return tables, meta, notes


if __name__ == "__main__":
    main()
