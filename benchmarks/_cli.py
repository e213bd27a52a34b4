"""The benchmark scripts' command-line plumbing: shared options and default folders.

Only argument parsing lives here; what the scripts measure and write comes from
:mod:`skvae.benchmarking`. Imported by the scripts as a sibling module (``_cli``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from skvae.nn.fitting import VAETraining

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_DATA_HOME = BENCH_DIR.parent.parent / "shared" / "data" / "mnist"


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--threads``, ``--data-home`` and ``--out``, shared by the scripts."""
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads value (default: torch's default, "
        f"{torch.get_num_threads()} here)",
    )
    parser.add_argument(
        "--data-home",
        type=Path,
        default=DEFAULT_DATA_HOME,
        help=f"folder holding the MNIST files (default: {DEFAULT_DATA_HOME})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR,
        help=f"folder for the .json and .md results (default: {RESULTS_DIR})",
    )


def add_vae_args(parser: argparse.ArgumentParser) -> None:
    """``--sizes``, ``--latent``, ``--batch-size`` and ``--validation-fraction`` of the
    class-VAE benchmarks, with VAEOversampler's defaults."""
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(v) for v in s.split(",") if v],
        default=[5, 10, 25, 50, 100],
        help="images per class, comma separated (default: 5,10,25,50,100)",
    )
    parser.add_argument("--latent", type=int, default=3, help="latent size (default: 3)")
    defaults = VAETraining()  # the VAE estimators' own, not a copy of them
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help=f"VAE batch size (default: {defaults.batch_size})",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=defaults.validation_fraction,
        help=f"held-out share of each class, as VAEOversampler (default: "
        f"{defaults.validation_fraction})",
    )
