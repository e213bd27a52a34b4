"""The ``skvae`` command.

``skvae reproduce`` runs (or resumes) the paper's experiment and writes
``results.csv``, ``table2.md``, ``table3.md``, ``fig2.png`` and
``f1_vs_size.png``; ``skvae report`` rewrites the tables and figures from an
existing ``results.csv``. With no option, ``skvae reproduce`` runs a quick grid
on scikit-learn's embedded 8x8 digits.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_EPILOG = """\
examples:
  skvae reproduce                                  # quick run on the embedded digits
  skvae reproduce --dataset mnist --data-home ~/mnist --n-jobs 8 --out mnist-results
  skvae reproduce --sizes 50 250 --latents 2 3 --seeds 3 --cnn-param max_epochs=50
  skvae reproduce --augment-strength --conditions CNN VAE   # the paper's Figure 3
  skvae reproduce --backend dask --scheduler tcp://10.0.0.1:8786 --dataset mnist
  skvae report --out mnist-results                 # tables and figures again

A rerun with the same --out computes only the cells not finished yet.
"""


def key_value(text: str) -> tuple[str, Any]:
    """Parse ``key=value``; the value as a Python literal when it is one."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()
    return key.strip(), parsed


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skvae",
        description="Data augmentation with per-class VAEs (Garay-Maestre et al., 2019).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    rep = commands.add_parser(
        "reproduce",
        help="run or resume the paper's experiment and write its tables and figures",
        description="Run (or resume) the experiment: every (dataset, size, latent, "
        "condition, seed) cell is trained and scored once and saved as soon as it "
        "finishes; then results.csv, table2.md, table3.md, fig2.png and f1_vs_size.png "
        "(and fig3.png with --augment-strength) are written into --out.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_grid_arguments(rep)
    _add_setting_arguments(rep)
    _add_run_arguments(rep)
    rpt = commands.add_parser(
        "report",
        help="rewrite the tables and figures from an existing results.csv",
        description="Rewrite the tables and figures from DIR/results.csv, which covers "
        "the grid of the last `skvae reproduce` into DIR. With --from-cells, first "
        "rebuild results.csv from every finished cell in DIR/cells, e.g. after growing "
        "a run size by size or seed by seed.",
    )
    _add_report_arguments(rpt)
    return parser


def _default_grids_text() -> str:
    """The default grid of every data set, as shown in ``--sizes``' help."""
    from .experiment.config import DEFAULT_GRIDS

    return "; ".join(
        f"{name}: sizes {' '.join(map(str, g['sizes']))}, latents "
        f"{' '.join(map(str, g['latents']))}, {g['seeds']} seeds"
        + "".join(
            f", --{kind}-param {k}={repr(v).replace(' ', '')}"
            for kind in ("vae", "cnn")
            for k, v in g.get(f"{kind}_params", {}).items()
        )
        for name, g in DEFAULT_GRIDS.items()
    )


def _add_grid_arguments(rep: argparse.ArgumentParser) -> None:
    """``reproduce``'s options that choose the grid's cells."""
    from .experiment.conditions import ALL_CONDITIONS, CONDITIONS
    from .experiment.data import DATASETS

    grids = _default_grids_text()
    rep.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default="digits",
        help="data set (default: digits, embedded, no download)",
    )
    rep.add_argument(
        "--data-home",
        metavar="DIR",
        default=None,
        help="folder of the MNIST files (default: $SKVAE_DATA_HOME or "
        "~/.skvae_data/mnist; downloaded when missing)",
    )
    rep.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        metavar="N",
        help=f"training sizes, multiples of 10 (default grid: {grids})",
    )
    rep.add_argument(
        "--latents", type=int, nargs="+", metavar="Z", help="latent sizes of the VAE conditions"
    )
    rep.add_argument(
        "--seeds", type=int, metavar="N", help="number of seeds 0..N-1 (training subsets)"
    )
    rep.add_argument(
        "--conditions",
        nargs="+",
        choices=ALL_CONDITIONS,
        default=list(CONDITIONS),
        metavar="C",
        help=f"conditions (default: the paper's {' '.join(CONDITIONS)}; "
        f"also {' '.join(c for c in ALL_CONDITIONS if c not in CONDITIONS)})",
    )
    rep.add_argument(
        "--augment-strength",
        action="store_true",
        help="add the augmentation-strength study (the paper's Figure 3, fig3.png): "
        "AUG and AUG@1 .. AUG@4, from the paper's expert setting to every "
        "transformation, plus the CNN baseline",
    )


def _add_setting_arguments(rep: argparse.ArgumentParser) -> None:
    """``reproduce``'s ``--*-param`` overrides of the estimators' settings."""
    overrides = {
        "--vae-param": "VAEOversampler parameter over VAE_DEFAULTS, e.g. max_epochs=50 "
        "(repeatable)",
        "--cnn-param": "CNNClassifier parameter over CNN_DEFAULTS, e.g. "
        "module__channels=(8,8,8,8) (repeatable)",
        "--aug-param": "RandomAffine parameter over AUGMENT_DEFAULTS, e.g. degrees=10",
        "--synthetic-param": "how VAE conditions use generated images, over "
        "SYNTHETIC_DEFAULTS: form=nested|pipeline, synthetic_weight=W, "
        "synthetic_refresh=True|False",
    }
    for flag, help_text in overrides.items():
        rep.add_argument(
            flag, type=key_value, action="append", default=[], metavar="KEY=VALUE", help=help_text
        )


def _add_run_arguments(rep: argparse.ArgumentParser) -> None:
    """``reproduce``'s options of how and where the run goes."""
    rep.add_argument(
        "--device", default=None, help="torch device of both estimators: cpu, cuda, cuda:N or auto"
    )
    rep.add_argument(
        "--test-size-per-class",
        type=int,
        metavar="N",
        default=None,
        help="test images per class (default: digits 50, mnist 700)",
    )
    rep.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        metavar="N",
        help="cells run at once (joblib n_jobs; default -1: one per core, or all dask "
        "workers; with --backend dask, 1 also means all workers). Each loky process "
        "gets cores / n_jobs torch threads",
    )
    rep.add_argument(
        "--backend",
        choices=("loky", "dask"),
        default="loky",
        help="joblib backend: local processes (loky, default) or a dask cluster",
    )
    rep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="dask scheduler address (with --backend dask; default: start a local cluster)",
    )
    rep.add_argument(
        "--out",
        metavar="DIR",
        default="skvae-results",
        help="output folder (default: ./skvae-results)",
    )
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_report_arguments(rpt: argparse.ArgumentParser) -> None:
    """``report``'s options."""
    rpt.add_argument(
        "--out",
        metavar="DIR",
        default="skvae-results",
        help="folder holding results.csv (default: ./skvae-results)",
    )
    rpt.add_argument(
        "--from-cells",
        action="store_true",
        help="rebuild results.csv from all finished cells in DIR/cells first (refused "
        "if two cells share a grid point, i.e. runs with other settings were mixed)",
    )


def _reproduce(args: argparse.Namespace) -> int:
    from .experiment import ExperimentConfig, reproduce

    vae_params, cnn_params = dict(args.vae_param), dict(args.cnn_param)
    if args.device is not None:
        vae_params.setdefault("device", args.device)
        cnn_params.setdefault("device", args.device)
    config = ExperimentConfig(
        vae_params=vae_params,
        cnn_params=cnn_params,
        augment_params=dict(args.aug_param),
        synthetic_params=dict(args.synthetic_param),
        data_home=args.data_home,
        test_size_per_class=args.test_size_per_class,
    )
    start = time.perf_counter()
    try:
        result = reproduce(
            args.out,
            dataset=args.dataset,
            sizes=args.sizes,
            latents=args.latents,
            seeds=args.seeds,
            conditions=_conditions(args),
            config=config,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            progress=not args.no_progress,
        )
    except (ValueError, TypeError, OSError) as exc:  # bad grid, parameters or data files
        print(f"skvae reproduce: error: {exc}", file=sys.stderr)
        return 2
    run = result.run
    elapsed = time.perf_counter() - start
    print(
        f"{len(run.keys)} cells: {run.n_computed} computed, {run.n_cached} reused, "
        f"{len(run.failures)} failed ({elapsed:.0f} s)."
    )
    for name, path in result.paths.items():
        print(f"  {name:<11} {path}")
    if "fig2" not in result.paths:
        print("  fig2.png not written: no VAE cell finished.")
    if run.failures:
        print(f"Failed cells (rerun to retry): {', '.join(run.failures)}", file=sys.stderr)
        return 1
    if run.interrupted:
        print(
            f"Interrupted: finished cells are kept in {Path(args.out) / 'cells'}; "
            "rerun the same command to resume.",
            file=sys.stderr,
        )
        return 130
    return 0


def _conditions(args: argparse.Namespace) -> list[str]:
    """``--conditions``, plus the strength study's with ``--augment-strength``."""
    if not args.augment_strength:
        return list(args.conditions)
    from .experiment.conditions import STRENGTH_CONDITIONS

    return list(dict.fromkeys([*args.conditions, "CNN", "AUG", *STRENGTH_CONDITIONS]))


def _report(args: argparse.Namespace) -> int:
    from .experiment import make_reports
    from .experiment.store import results_from_cells

    results = Path(args.out) / "results.csv"
    try:
        if args.from_cells:
            n_cells = results_from_cells(args.out)
            print(f"  results    {results} ({n_cells} cells)")
        elif not results.exists():
            print(f"No {results}; run `skvae reproduce --out {args.out}` first.", file=sys.stderr)
            return 2
        paths = make_reports(args.out)
    except (ValueError, OSError) as exc:  # a malformed results.csv, mixed or missing cells
        print(f"skvae report: error: {exc}", file=sys.stderr)
        return 2
    for name, path in paths.items():
        print(f"  {name:<11} {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skvae`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` if None.

    Returns
    -------
    int
        Exit status: 0 on success, 1 if a cell failed, 2 on a usage error,
        130 if interrupted.
    """
    parser = _build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "reproduce":
        return _reproduce(args)
    return _report(args)


if __name__ == "__main__":
    sys.exit(main())
