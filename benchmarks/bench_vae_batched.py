"""Training the 10 class-VAEs one by one versus together (``train_vaes_batched``).

For each number of images per class (default 5, 10, 25, 50, 100) ten classes'
images are drawn from MNIST's training set, each split as
:class:`skvae.VAEOversampler` splits it (15% held out for validation), and ten
of the paper's ConvVAEs (latent 3) are trained on them in two ways, interleaved
(A B, then B A, ...) over ``--repeats`` repeats after one warm-up:

``loop``
    :func:`skvae.nn.train_vae` once per class, as
    ``skvae.nn.fitting.fit_class_vaes(..., batched=False)`` does (the way
    :class:`skvae.VAEOversampler` trains its class-VAEs).
``batched``
    :func:`skvae.nn.train_vaes_batched` on all ten at once, as
    ``fit_class_vaes(..., batched=True)`` does.

Both do the same work: batch 100, RMSprop 1e-3, ``max_epochs=1`` and
``min_steps=--steps`` (so every class makes at least ``--steps`` optimiser
steps, with a validation pass and a best-weight copy per epoch) and a patience
too large to stop. Building the VAEs is not timed; the warm-up repeat has the
same size as the timed ones (the first run in a process is slower). The table
gives the median wall time of each mode and the speed-up (loop / batched), plus
how far the two modes' best losses lie apart (they agree to rounding, see
:func:`~skvae.nn.train_vaes_batched`).

A second table does the same with the same ConvVAE on scikit-learn's 8x8
digits (``skvae.datasets.load_digits``), a network of 0.2 M instead of 3.4 M
weights, where a step is mostly overhead (``--no-digits`` skips it).

``--profile N`` adds a third table: one run of each mode at ``N`` MNIST images
per class under ``torch.profiler``, the operators that took the most CPU time
(grouped by input shapes), to show where each mode spends a step.

Run ``python benchmarks/bench_vae_batched.py`` (1 thread by default); results
go to ``benchmarks/results/bench_vae_batched.json`` and ``.md``. The default
``--steps 20 --repeats 3`` takes about 25 minutes on one core; ``--repeats 2``
about 18.
"""

from __future__ import annotations

import argparse
import sys

import _cli
import numpy as np
import torch

from skvae import benchmarking as bm
from skvae.datasets import load_mnist
from skvae.nn import ConvVAE, train_vae, train_vaes_batched

MNIST_SHAPE = bm.MNIST_SHAPE
DIGITS_SHAPE = (1, 8, 8)
N_CLASSES = 10

COLUMNS = [
    "data",
    "n/class",
    "train rows",
    "valid rows",
    "steps/model",
    "loop s",
    "batched s",
    "speed-up",
    "best loop s",
    "best batched s",
    "best-loss diff %",
    "cpu share loop",
    "cpu share batched",
    "clean",
    "load avg",
]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--steps", type=int, default=20, help="optimiser steps per class-VAE (default: 20)"
    )
    p.add_argument("--repeats", type=int, default=3, help="repeats per size (default: 3)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--no-digits", action="store_true", help="skip the table on 8x8 digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="also profile one run of each mode at N MNIST images per class",
    )
    p.add_argument(
        "--profile-top", type=int, default=6, help="operators per mode in --profile (default: 6)"
    )
    _cli.add_vae_args(p)
    _cli.add_common_args(p)
    p.set_defaults(threads=1)
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or not args.sizes or min(args.sizes) < 2:
        p.error("--steps and --repeats must be >= 1 and every size >= 2")
    return args


def draw_classes(X, y, shape, n: int, rng: np.random.RandomState, fraction: float, seed: int):
    """Per digit, ``n`` images split into (train, valid) as VAEOversampler splits them."""
    parts = []
    for digit in range(N_CLASSES):
        rows = rng.choice(np.flatnonzero(y == digit), size=n, replace=False)
        Xc = torch.as_tensor(X[rows], dtype=torch.float32).reshape(n, *shape)
        parts.append(bm.vae_split(Xc, fraction, seed + digit))
    return parts


def new_vaes(shape, latent: int, seed: int, device) -> list[ConvVAE]:
    vaes = []
    with torch.random.fork_rng():
        for k in range(N_CLASSES):
            torch.manual_seed(seed + k)
            vaes.append(ConvVAE(shape, latent).to(device))
    return vaes


def run(mode: str, parts, shape, args, seed: int) -> dict:
    """Train the ten VAEs in ``mode`` ("loop" or "batched"); time only the training."""
    device = torch.device(args.device)
    vaes = new_vaes(shape, args.latent, seed, device)
    parts = [(a.to(device), None if b is None else b.to(device)) for a, b in parts]
    gens = [torch.Generator().manual_seed(seed + 100 + k) for k in range(N_CLASSES)]
    kw = dict(
        max_epochs=1, min_steps=args.steps, patience=10**9, lr=1e-3, batch_size=args.batch_size
    )

    def go():
        if mode == "loop":
            out = [
                train_vae(vae, a, b, generator=g, **kw) for vae, (a, b), g in zip(vaes, parts, gens)
            ]
        else:
            out = train_vaes_batched(
                vaes, [a for a, _ in parts], [b for _, b in parts], generators=gens, **kw
            )
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return out

    wall, share, results = bm.timed(go)
    return {
        "wall": wall,
        "share": share,
        "load": bm.load_average()[:1],
        "n_steps": [r.n_steps for r in results],
        "best_loss": [r.best_loss for r in results],
    }


def bench(X, y, shape, args, threads: int) -> list[dict]:
    """One table: per size, ``--repeats`` interleaved timings of both modes."""
    rows = []
    for n in args.sizes:
        raw: dict[str, list[dict]] = {"loop": [], "batched": []}
        n_train = n_valid = 0
        for r in range(args.repeats + 1):  # repeat 0 is the warm-up
            rng = np.random.RandomState(args.seed * 1000 + n * 10 + r)
            seed = args.seed * 1000 + r
            parts = draw_classes(X, y, shape, n, rng, args.validation_fraction, seed)
            n_train = len(parts[0][0])
            n_valid = 0 if parts[0][1] is None else len(parts[0][1])
            order = ("loop", "batched") if r % 2 else ("batched", "loop")
            got = {mode: run(mode, parts, shape, args, seed) for mode in order}
            if got["loop"]["n_steps"] != got["batched"]["n_steps"]:
                raise AssertionError(
                    f"the modes took different steps: {got['loop']['n_steps']} "
                    f"vs {got['batched']['n_steps']}"
                )
            if r > 0:
                for mode in raw:
                    raw[mode].append(got[mode])
        loop_s = [m["wall"] for m in raw["loop"]]
        batched_s = [m["wall"] for m in raw["batched"]]
        shares = [m["share"] for mode in raw for m in raw[mode]]
        diffs = [
            100 * abs(a - b) / abs(a)
            for ml, mb in zip(raw["loop"], raw["batched"])
            for a, b in zip(ml["best_loss"], mb["best_loss"])
        ]
        loads = [m["load"][0] for mode in raw for m in raw[mode] if m["load"]]
        rows.append(
            {
                "data": f"{shape[1]}x{shape[2]}",
                "n/class": n,
                "train rows": n_train,
                "valid rows": n_valid,
                "steps/model": raw["loop"][0]["n_steps"][0],
                "loop s": bm.median(loop_s),
                "batched s": bm.median(batched_s),
                "speed-up": bm.median(loop_s) / bm.median(batched_s),
                "best loop s": min(loop_s),
                "best batched s": min(batched_s),
                "best-loss diff %": max(diffs),
                "cpu share loop": bm.median([m["share"] for m in raw["loop"]]),
                "cpu share batched": bm.median([m["share"] for m in raw["batched"]]),
                "clean": bm.clean_runs(shares, threads),
                "load avg": bm.median(loads) if loads else float("nan"),
                "samples loop s": [round(v, 3) for v in loop_s],
                "samples batched s": [round(v, 3) for v in batched_s],
            }
        )
        bm.print_table(rows[-1:], COLUMNS)
    return rows


PROFILE_COLUMNS = ["mode", "operator", "input shapes", "calls", "self ms", "% of mode"]


def profile_modes(X, y, shape, args, n: int) -> list[dict]:
    """Each mode's costliest operators (self CPU time) in one run at ``n`` images per class.

    Both modes first run once unprofiled (warm-up), then once under
    ``torch.profiler`` on the same classes and seeds.
    """
    from torch.profiler import ProfilerActivity, profile

    rng = np.random.RandomState(args.seed * 1000 + n * 10)
    parts = draw_classes(X, y, shape, n, rng, args.validation_fraction, args.seed)
    rows = []
    for mode in ("loop", "batched"):
        run(mode, parts, shape, args, args.seed)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            run(mode, parts, shape, args, args.seed)
        events = prof.key_averages(group_by_input_shape=True)
        total = sum(e.self_cpu_time_total for e in events)
        for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.profile_top]:
            shapes = [list(t) for t in e.input_shapes if t]
            rows.append(
                {
                    "mode": mode,
                    "operator": e.key,
                    "input shapes": " ".join(str(t).replace(" ", "") for t in shapes[:2]),
                    "calls": e.count,
                    "self ms": e.self_cpu_time_total / 1e3,
                    "% of mode": 100 * e.self_cpu_time_total / total,
                }
            )
    bm.print_table(rows, PROFILE_COLUMNS, title=f"Where the time goes, {n} images per class")
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    threads = bm.set_threads(args.threads)
    load_start = bm.load_average()
    print(f"threads={threads}  load average at start: {load_start}", flush=True)
    X, y = load_mnist(data_home=str(args.data_home), subset="train", return_X_y=True)

    tables = {"MNIST 28x28": bench(X, y, MNIST_SHAPE, args, threads)}
    if not args.no_digits:
        from skvae.datasets import load_digits

        Xd, yd = load_digits(return_X_y=True)  # in [0, 1]
        tables["digits 8x8"] = bench(Xd, yd, DIGITS_SHAPE, args, threads)
    rows = [row for table in tables.values() for row in table]
    profiled = profile_modes(X, y, MNIST_SHAPE, args, args.profile) if args.profile else None

    load_end = bm.load_average()
    print(f"load average at end: {load_end}", flush=True)
    bm.print_table(rows, COLUMNS, title="10 class-VAEs: per-class loop vs batched")
    meta = {
        "threads": threads,
        "device": args.device,
        "sizes": args.sizes,
        "steps": args.steps,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "validation_fraction": args.validation_fraction,
        "latent": args.latent,
        "classes": N_CLASSES,
        "load_average_start": load_start,
        "load_average_end": load_end,
    }
    notes = [
        f"Wall time of training all {N_CLASSES} class-VAEs (ConvVAE, latent {args.latent}), "
        f"median of {args.repeats} repeats after one warm-up; the two modes were interleaved "
        "and alternated in order. speed-up = median loop s / median batched s.",
        "Both modes took the same optimiser steps per class (checked); best-loss diff % is "
        "the largest relative difference between the modes' per-class best losses "
        "(float rounding amplified by training, not a difference in what each VAE saw).",
        "load avg: the machine's 1-minute load average after each measurement (median); "
        f"with {threads} thread(s), a load above the number of logical CPUs "
        f"({bm.machine_info()['logical_cpus']}) means other processes shared the cores.",
    ]
    notes += bm.interference_notes(rows, threads, load_start, load_end, ())
    out_tables = {
        f"Per-class loop vs batched, ConvVAE on {name}": (table, COLUMNS)
        for name, table in tables.items()
    }
    if profiled:
        out_tables[f"Where the time goes, {args.profile} images per class (torch.profiler)"] = (
            profiled,
            PROFILE_COLUMNS,
        )
        notes.append(
            "Where the time goes: one profiled run per mode (after an unprofiled one) at "
            f"{args.profile} MNIST images per class, {args.steps} steps per class-VAE; self "
            "CPU time of the costliest operators, grouped by input shapes (the first two "
            "shown); % of mode: share of all operators' self time in that run."
        )
    json_path, md_path = bm.write_results(
        "bench_vae_batched",
        out_tables,
        meta,
        out_dir=args.out,
        notes=notes,
    )
    print(f"\nwrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
