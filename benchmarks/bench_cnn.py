"""CNNClassifier training throughput against a plain PyTorch loop, side by side.

Both train the paper's CNN (:class:`skvae.nn.PaperCNN`, 28x28 MNIST, batch 32,
Adam 1e-3, cross-entropy, dropout on) from scratch on the same ``--n-images``
MNIST training rows for ``--epochs`` epochs, starting from the same float32
numpy arrays:

``plain loop``
    Build the network and Adam, turn the arrays into tensors, then per epoch:
    ``randperm``, slice mini-batches, forward, loss, backward, step.
``CNNClassifier``
    ``CNNClassifier(updates=None, validation_fraction=0, max_epochs=epochs).fit(X, y)``: no
    validation split and no early stopping, so the same work plus whatever the
    wrapper (scikit-learn input checks, skorch's loop and callbacks) adds.
``plain loop bf16``, ``CNNClassifier bf16`` (``--no-bf16`` to skip)
    The plain loop with forward and loss under
    ``torch.autocast("cpu", dtype=torch.bfloat16)``, and
    ``CNNClassifier(precision="bf16")``; "vs plain" of the latter is against
    the fp32 plain loop, so it is the speed-up of bf16 through the wrapper.

The variants run interleaved (A B C, C B A, ...) ``--repeats`` times after one
short warm-up each; the table gives the median images/s (training images per
second of wall time, set-up included) and the wrapper's overhead, both as the
ratio of the medians and as the median of the per-repeat ratios of adjacent
runs (robust to slow drift). The network's FLOPs per training image
(forward + backward, matmul and convolution only) are counted with
``FlopCounterMode``; GFLOP/s and "% peak" relate images/s to ``torch.matmul``'s
GFLOP/s measured in the same process.

Run ``python benchmarks/bench_cnn.py`` (about 1 minute on 2 idle cores); results go
to ``benchmarks/results/bench_cnn.json`` and ``.md``. ``--profile`` also prints
a cProfile of one CNNClassifier fit next to one plain-loop fit.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import pstats
import sys

import _cli
import numpy as np
import torch
import torch.nn.functional as F

from skvae import CNNClassifier
from skvae import benchmarking as bm
from skvae.datasets import load_mnist
from skvae.nn import PaperCNN

IMAGE_SHAPE = bm.MNIST_SHAPE
N_CLASSES = 10

COLUMNS = [
    "variant",
    "images",
    "time s",
    "images/s",
    "best images/s",
    "GFLOP/s",
    "% fp32 peak",
    "% bf16 peak",
    "vs plain",
    "spread %",
    "cpu share",
    "clean",
]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-images", type=int, default=1280, help="training rows (default: 1280)")
    p.add_argument("--epochs", type=int, default=1, help="epochs per fit (default: 1)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats (default: 5)")
    p.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default: 32)")
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the plain loop under bf16 autocast (default: on)",
    )
    p.add_argument("--profile", action="store_true", help="print a cProfile of both fits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: cpu)")
    _cli.add_common_args(p)
    args = p.parse_args(argv)
    if min(args.n_images, args.epochs, args.repeats, args.batch_size) < 1:
        p.error("--n-images, --epochs, --repeats and --batch-size must be >= 1")
    return args


def plain_fit(X, y, *, epochs, batch_size, seed, bf16=False, device="cpu") -> PaperCNN:
    """The reference loop: what a PyTorch user would write by hand."""
    device = torch.device(device)
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    )
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices):  # initialisation and dropout, as CNNClassifier seeds
        torch.manual_seed(seed)
        module = PaperCNN(IMAGE_SHAPE, N_CLASSES).to(device)
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
        Xt = torch.as_tensor(X, dtype=torch.float32).reshape(len(X), *IMAGE_SHAPE).to(device)
        yt = torch.as_tensor(y, dtype=torch.int64).to(device)
        generator = torch.Generator().manual_seed(seed)
        n = len(Xt)
        module.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                with autocast:
                    loss = F.cross_entropy(module(Xt[idx]), yt[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        bm.synchronize(device)
    return module


def wrapper_fit(X, y, *, epochs, batch_size, seed, bf16=False, device="cpu") -> CNNClassifier:
    model = CNNClassifier(
        updates=None,  # epochs at a constant rate, as the plain loop trains
        max_epochs=epochs,
        validation_fraction=0,
        batch_size=batch_size,
        lr=1e-3,
        random_state=seed,
        precision="bf16" if bf16 else "fp32",
        device=device,
    ).fit(X, y)
    bm.synchronize(device)
    return model


def profile_fits(X, y, args) -> None:
    for name, fn in (
        ("CNNClassifier", lambda: wrapper_fit(X, y, epochs=1, batch_size=args.batch_size, seed=0)),
        ("plain loop", lambda: plain_fit(X, y, epochs=1, batch_size=args.batch_size, seed=0)),
    ):
        prof = cProfile.Profile()
        prof.runcall(fn)
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        print(f"\n===== cProfile: {name} =====\n{buf.getvalue()}", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    threads = bm.set_threads(args.threads)
    load_start = bm.load_average()
    print(f"threads={threads}  load average at start: {load_start}", flush=True)
    X_all, y_all = load_mnist(data_home=str(args.data_home), subset="train", return_X_y=True)
    rows_idx = np.random.RandomState(args.seed).choice(len(X_all), args.n_images, replace=False)
    X, y = np.ascontiguousarray(X_all[rows_idx]), y_all[rows_idx]

    dev = args.device
    # A 2048^3 product takes ~20 us on a data-centre GPU: launch-bound, not a peak.
    peak_n = 8192 if torch.device(dev).type == "cuda" else 2048
    measure_peak = functools.partial(bm.measure_matmul_peak, n=peak_n, device=dev)
    peak32_before = measure_peak(torch.float32)
    print(f"fp32 matmul peak (before): {peak32_before['gflops']:.1f} GFLOP/s", flush=True)
    peak16_before = measure_peak(torch.bfloat16) if args.bf16 else None
    if peak16_before:
        print(f"bf16 matmul peak (before): {peak16_before['gflops']:.1f} GFLOP/s", flush=True)
    flops, fwd = bm.cnn_flops_per_image(args.batch_size)
    print(
        f"PaperCNN FLOPs/image: forward {fwd / 1e6:.1f} M, training step {flops / 1e6:.1f} M",
        flush=True,
    )

    common = {"epochs": args.epochs, "batch_size": args.batch_size, "device": dev}
    variants = {
        "plain loop": lambda s: plain_fit(X, y, seed=s, **common),
        "CNNClassifier": lambda s: wrapper_fit(X, y, seed=s, **common),
    }
    if args.bf16:
        variants["plain loop bf16"] = lambda s: plain_fit(X, y, seed=s, bf16=True, **common)
        variants["CNNClassifier bf16"] = lambda s: wrapper_fit(X, y, seed=s, bf16=True, **common)

    # Warm-up: every variant once on a few batches (oneDNN primitives, skorch imports).
    few = min(len(X), 4 * args.batch_size)
    for name in variants:
        fit = wrapper_fit if name.startswith("CNNClassifier") else plain_fit
        fit(X[:few], y[:few], **{**common, "epochs": 1}, seed=0, bf16=name.endswith("bf16"))

    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(args.repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            wall, share, _ = bm.timed(lambda name=name, s=args.seed + r: variants[name](s))
            runs[name].append((wall, share))
            print(
                f"repeat {r + 1}/{args.repeats} {name:16s} {wall:7.2f} s "
                f"{len(X) * args.epochs / wall:7.1f} images/s (cpu share {share:.2f})",
                flush=True,
            )

    peak32 = bm.combine_peaks(peak32_before, measure_peak(torch.float32))
    peak16 = (
        bm.combine_peaks(peak16_before, measure_peak(torch.bfloat16)) if peak16_before else None
    )
    print(
        f"fp32 matmul peak: {peak32['gflops']:.1f} GFLOP/s (best sample, before and after)"
        + (f"; bf16: {peak16['gflops']:.1f} GFLOP/s" if peak16 else ""),
        flush=True,
    )
    n_img = len(X) * args.epochs
    plain_times = [w for w, _ in runs["plain loop"]]
    rows = []
    for name in names:
        times = [w for w, _ in runs[name]]
        ips = [n_img / t for t in times]
        g = bm.gflops(bm.median(ips), flops)
        rows.append(
            {
                "variant": name,
                "images": n_img,
                "time s": bm.median(times),
                "images/s": bm.median(ips),
                "best images/s": max(ips),
                "GFLOP/s": g,
                "% fp32 peak": 100.0 * g / peak32["gflops"],
                "% bf16 peak": 100.0 * g / peak16["gflops"] if peak16 else None,
                "vs plain": bm.median(times) / bm.median(plain_times),
                "spread %": bm.spread(ips),
                "cpu share": bm.median([s for _, s in runs[name]]),
                "clean": bm.clean_runs([s for _, s in runs[name]], threads),
                "samples images/s": [round(v, 2) for v in ips],
            }
        )
    wrapper_times = [w for w, _ in runs["CNNClassifier"]]
    # In every repeat the CNNClassifier fit runs right after or right before the
    # plain-loop fit (A B C, then C B A), so their ratio sees the same conditions.
    paired = [w / p for w, p in zip(wrapper_times, plain_times)]
    clean = [
        w / p
        for (w, ws), (p, ps) in zip(runs["CNNClassifier"], runs["plain loop"])
        if min(ws, ps) >= bm.CLEAN_SHARE * threads
    ]
    estimates = {
        "ratio of medians": bm.median(wrapper_times) / bm.median(plain_times),
        "median of paired ratios": bm.median(paired),
        "ratio of best runs": min(wrapper_times) / min(plain_times),
        f"median of clean paired ratios ({len(clean)} pairs)": (
            bm.median(clean) if clean else float("nan")
        ),
    }
    over_rows = [
        {
            "estimate": key,
            "wrapper overhead %": 100.0 * (ratio - 1),
            "within 10% goal": ratio <= 1.10 if ratio == ratio else None,
        }
        for key, ratio in estimates.items()
    ]
    overhead = {
        **{row["estimate"]: row["wrapper overhead %"] for row in over_rows},
        "paired ratios": [round(v, 4) for v in paired],
        "goal %": 10.0,
    }
    bm.print_table(rows, COLUMNS, title="training throughput")
    bm.print_table(over_rows, title="CNNClassifier overhead over the plain loop")

    load_end = bm.load_average()
    print(f"load average at end: {load_end}", flush=True)
    meta = {
        "threads": threads,
        "device": dev,
        "n_images": args.n_images,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "forward_flops_per_image": fwd,
        "train_flops_per_image": flops,
        "fp32 matmul peak": peak32,
        "overhead": overhead,
        "load_average_start": load_start,
        "load_average_end": load_end,
    }
    if peak16:
        meta["bf16 matmul peak"] = peak16
    notes = [
        f"images/s: {n_img} training images per fit divided by the fit's wall time (network "
        f"and optimiser construction and tensor conversion included), median of "
        f"{args.repeats} interleaved repeats after a warm-up.",
        f"PaperCNN FLOPs per image (FlopCounterMode, matmul + conv only): forward "
        f"{fwd / 1e6:.1f} M, training step (forward + backward) {flops / 1e6:.1f} M.",
        "vs plain: median fit time over the plain loop's; the wrapper overhead is that "
        "ratio minus 1 (goal: at most 10%). The paired figure is the median over repeats "
        "of each CNNClassifier fit's time over the adjacent plain-loop fit's.",
        "% fp32 / bf16 peak: GFLOP/s over the best torch.matmul sample of that dtype, "
        "timed before and after the runs in the same process.",
        "spread %: (max - min) / median of the repeats' images/s; cpu share: process CPU "
        f"seconds per wall second (about {threads} when the cores were not shared); clean: "
        f"repeats with a cpu share >= {bm.CLEAN_SHARE} x {threads} threads; best images/s: "
        "the fastest repeat (the least disturbed).",
    ]
    notes += bm.interference_notes(
        rows, threads, load_start, load_end, ("% fp32 peak", "% bf16 peak")
    )
    json_path, md_path = bm.write_results(
        "bench_cnn",
        {
            "Training throughput": (rows, COLUMNS),
            "CNNClassifier overhead over the plain loop": (over_rows, list(over_rows[0])),
        },
        meta,
        out_dir=args.out,
        notes=notes,
    )
    print(f"\nwrote {json_path} and {md_path}")
    if args.profile:
        profile_fits(X, y, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
