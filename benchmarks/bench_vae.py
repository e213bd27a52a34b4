"""Class-VAE training and generation throughput on MNIST at the paper's sizes.

For each number of images per class (default 5, 10, 25, 50, 100) one class's
images are drawn from MNIST's training set and the paper's ConvVAE (latent 3)
is trained on them for a fixed number of optimiser steps, in two ways,
interleaved (A B A B ...) over ``--repeats`` repeats:

``train_vae``
    :func:`skvae.nn.train_vae` exactly as :class:`skvae.VAEOversampler` calls it
    per class: 15% of the class held out for validation, batch 100, RMSprop
    1e-3, ``max_epochs`` fixed so that ``max(--steps, --min-images / training
    rows)`` steps are taken (every measurement sees at least ``--min-images``
    images) and a patience too large to stop. Each epoch also evaluates the
    validation rows and copies the weights when the validation loss improves.
``train_vae bf16``
    The same call with ``precision="bf16"`` (bfloat16 autocast around the
    forward passes; weights, optimiser and loss stay fp32). ``--no-bf16`` skips it.
``step loop``
    The bare optimiser steps on the same training rows (shuffle, loss, backward,
    RMSprop step): what ``train_vae`` costs without its per-epoch bookkeeping.

Training throughput is training images fed to optimiser steps per second of
wall time (the median over repeats). GFLOP/s counts the matmul and convolution
FLOPs of the run (forward and backward of the training steps, plus the forward
of ``train_vae``'s validation passes) with ``FlopCounterMode``; "% peak" relates
it to ``torch.matmul``'s fp32 GFLOP/s in the same process (the best of the
samples timed before and after the run); "% bf16 peak" relates it to the bf16
product's. "vs fp32" is a mode's median time over ``train_vae``'s at that size.

Generation throughput decodes batches of ``--gen-batch`` latent codes with a
fitted class-VAE in inference mode (``VAE.generate``), and also through
``VAEOversampler.sample`` (latent draws and the numpy copy included).

Run ``python benchmarks/bench_vae.py`` (about 3 minutes on 2 idle cores); results go
to ``benchmarks/results/bench_vae.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import math
import sys

import _cli
import numpy as np
import torch

from skvae import VAEOversampler
from skvae import benchmarking as bm
from skvae.datasets import load_mnist
from skvae.nn import ConvVAE, train_vae

IMAGE_SHAPE = bm.MNIST_SHAPE

TRAIN_COLUMNS = [
    "n/class",
    "train rows",
    "valid rows",
    "mode",
    "steps",
    "images",
    "time s",
    "images/s",
    "best images/s",
    "GFLOP/s",
    "% peak",
    "% bf16 peak",
    "vs fp32",
    "spread %",
    "cpu share",
    "clean",
]
GEN_COLUMNS = [
    "path",
    "batch",
    "repeats",
    "time s",
    "images/s",
    "best images/s",
    "GFLOP/s",
    "% peak",
    "spread %",
    "cpu share",
    "clean",
]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--steps", type=int, default=10, help="least optimiser steps per measurement (default: 10)"
    )
    p.add_argument(
        "--min-images",
        type=int,
        default=400,
        help="least training images per measurement: small classes take more steps (default: 400)",
    )
    p.add_argument("--repeats", type=int, default=5, help="repeats per size (default: 5)")
    p.add_argument("--gen-batch", type=int, default=1000, help="codes per generation batch")
    p.add_argument("--gen-repeats", type=int, default=7, help="generation repeats (default: 7)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time train_vae under bf16 autocast (default: on)",
    )
    _cli.add_vae_args(p)
    _cli.add_common_args(p)
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or not args.sizes or min(args.sizes) < 2:
        p.error("--steps and --repeats must be >= 1 and every size >= 2")
    return args


def class_sample(X, y, digit: int, n: int, rng: np.random.RandomState) -> torch.Tensor:
    rows = rng.choice(np.flatnonzero(y == digit), size=n, replace=False)
    return torch.as_tensor(X[rows]).reshape(n, *IMAGE_SHAPE)


def new_vae(latent: int, seed: int) -> ConvVAE:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return ConvVAE(IMAGE_SHAPE, latent)


def run_train_vae(
    X_train, X_valid, *, steps, latent, batch_size, seed, precision: str = "fp32"
) -> dict:
    vae = new_vae(latent, seed)
    steps_per_epoch = math.ceil(len(X_train) / max(1, min(batch_size, len(X_train))))
    epochs = math.ceil(steps / steps_per_epoch)

    def go():
        return train_vae(
            vae,
            X_train,
            X_valid,
            max_epochs=epochs,
            patience=10**9,
            lr=1e-3,
            batch_size=batch_size,
            generator=torch.Generator().manual_seed(seed),
            precision=precision,
        )

    wall, share, result = bm.timed(go)
    n_epochs = len(result.history)
    return {
        "wall": wall,
        "share": share,
        "steps": result.n_steps,
        "images": len(X_train) * n_epochs,
        "valid_images": (0 if X_valid is None else len(X_valid)) * n_epochs,
        "diverged": result.n_divergences,
    }


def run_step_loop(X_train, *, steps, latent, batch_size, seed) -> dict:
    vae = new_vae(latent, seed)
    generator = torch.Generator().manual_seed(seed)
    n = len(X_train)

    def go():
        optimizer = torch.optim.RMSprop(vae.parameters(), lr=1e-3)
        vae.train()
        done = images = 0
        while done < steps:
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                batch = X_train[order[start : start + batch_size]]
                loss = vae.loss(batch, 1.0, generator).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                done += 1
                images += len(batch)
                if done == steps:
                    break
        return images

    wall, share, images = bm.timed(go)
    return {"wall": wall, "share": share, "steps": steps, "images": images, "valid_images": 0}


def summarise(runs: list[dict], fwd_bwd: float, fwd: float, threads: int) -> dict:
    ips = [r["images"] / r["wall"] for r in runs]
    gfs = [(r["images"] * fwd_bwd + r["valid_images"] * fwd) / r["wall"] / 1e9 for r in runs]
    return {
        "steps": runs[0]["steps"],
        "images": runs[0]["images"],
        "time s": bm.median([r["wall"] for r in runs]),
        "images/s": bm.median(ips),
        "best images/s": max(ips),
        "GFLOP/s": bm.median(gfs),
        "spread %": bm.spread(ips),
        "cpu share": bm.median([r["share"] for r in runs]),
        "clean": bm.clean_runs([r["share"] for r in runs], threads),
        "samples images/s": [round(v, 2) for v in ips],
    }


def bench_generation(X, y, args, decode_flops: float) -> list[dict]:
    # A fitted sampler (10 classes x 5 images, one epoch): decoding speed does
    # not depend on how well the VAE is trained. augment_size=1 gives every
    # class rows to generate, hence a VAE.
    rng = np.random.RandomState(args.seed)
    rows = np.concatenate([rng.choice(np.flatnonzero(y == d), 5, replace=False) for d in range(10)])
    sampler = VAEOversampler(
        latent=args.latent, training={"max_epochs": 1}, augment_size=1, random_state=args.seed
    )
    sampler.fit_resample(X[rows], y[rows])
    vae = sampler.vaes_[0]
    z = torch.randn(args.gen_batch, args.latent, generator=torch.Generator().manual_seed(0))
    paths = {
        "VAE.generate (inference mode)": lambda: vae.generate(z),
        "VAEOversampler.sample": lambda: sampler.sample(args.gen_batch, 0, random_state=0),
    }
    out = []
    for name, fn in paths.items():
        for _ in range(2):
            fn()
        runs = [bm.timed(fn)[:2] for _ in range(args.gen_repeats)]
        ips = [args.gen_batch / w for w, _ in runs]
        g = bm.gflops(bm.median(ips), decode_flops)
        out.append(
            {
                "path": name,
                "batch": args.gen_batch,
                "repeats": args.gen_repeats,
                "time s": bm.median([w for w, _ in runs]),
                "images/s": bm.median(ips),
                "best images/s": max(ips),
                "GFLOP/s": g,
                "spread %": bm.spread(ips),
                "cpu share": bm.median([s for _, s in runs]),
                "clean": bm.clean_runs([s for _, s in runs], torch.get_num_threads()),
            }
        )
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    threads = bm.set_threads(args.threads)
    load_start = bm.load_average()
    print(f"threads={threads}  load average at start: {load_start}", flush=True)
    X, y = load_mnist(data_home=str(args.data_home), subset="train", return_X_y=True)

    peak_before = bm.measure_matmul_peak(torch.float32)
    print(f"fp32 matmul peak (before): {peak_before['gflops']:.1f} GFLOP/s", flush=True)
    peak16_before = bm.measure_matmul_peak(torch.bfloat16) if args.bf16 else None
    if peak16_before:
        print(f"bf16 matmul peak (before): {peak16_before['gflops']:.1f} GFLOP/s", flush=True)

    train_flops, fwd_flops, decode_flops = bm.vae_flops_per_image(args.latent, 16)
    print(
        f"ConvVAE FLOPs/image: training step {train_flops / 1e6:.1f} M, "
        f"loss forward {fwd_flops / 1e6:.1f} M, decode {decode_flops / 1e6:.1f} M",
        flush=True,
    )

    rows = []
    for n in args.sizes:
        raw = {"train_vae": [], "step loop": []}
        if args.bf16:
            raw["train_vae bf16"] = []
        n_train = n_valid = 0
        for r in range(args.repeats + 1):  # repeat 0 is the warm-up
            rng = np.random.RandomState(args.seed * 1000 + n * 10 + r)
            Xc = class_sample(X, y, r % 10, n, rng)
            X_train, X_valid = bm.vae_split(Xc, args.validation_fraction, args.seed + r)
            n_train, n_valid = len(X_train), (0 if X_valid is None else len(X_valid))
            steps = 2 if r == 0 else max(args.steps, math.ceil(args.min_images / n_train))
            common = {"steps": steps, "latent": args.latent, "batch_size": args.batch_size}
            a = run_train_vae(X_train, X_valid, seed=args.seed + r, **common)
            b = run_step_loop(X_train, seed=args.seed + r, **common)
            c = (
                run_train_vae(X_train, X_valid, seed=args.seed + r, precision="bf16", **common)
                if args.bf16
                else None
            )
            if r > 0:
                raw["train_vae"].append(a)
                raw["step loop"].append(b)
                if c is not None:
                    raw["train_vae bf16"].append(c)
        for mode, runs in raw.items():
            row = {
                "n/class": n,
                "train rows": n_train,
                "valid rows": n_valid if mode.startswith("train_vae") else 0,
                "mode": mode,
            }
            row.update(summarise(runs, train_flops, fwd_flops, threads))
            rows.append(row)
        base = rows[-len(raw)]["time s"]
        for row in rows[-len(raw) :]:
            row["vs fp32"] = row["time s"] / base
        bm.print_table(rows[-len(raw) :], [c for c in TRAIN_COLUMNS if "peak" not in c])

    gen_rows = bench_generation(X, y, args, decode_flops)

    peak_after = bm.measure_matmul_peak(torch.float32)
    load_end = bm.load_average()
    print(
        f"fp32 matmul peak (after): {peak_after['gflops']:.1f} GFLOP/s; "
        f"load average at end: {load_end}",
        flush=True,
    )
    peak = bm.combine_peaks(peak_before, peak_after)
    peak16 = (
        bm.combine_peaks(peak16_before, bm.measure_matmul_peak(torch.bfloat16))
        if peak16_before
        else None
    )
    for row in rows + gen_rows:
        row["% peak"] = 100.0 * row["GFLOP/s"] / peak["gflops"]
    for row in rows:
        row["% bf16 peak"] = 100.0 * row["GFLOP/s"] / peak16["gflops"] if peak16 else None
    bm.print_table(rows, TRAIN_COLUMNS, title="training")
    bm.print_table(gen_rows, GEN_COLUMNS, title="generation")
    print(f"% peak relative to {peak['gflops']:.1f} GFLOP/s (best fp32 matmul sample)")
    meta = {
        "threads": threads,
        "sizes": args.sizes,
        "steps": args.steps,
        "min_images": args.min_images,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "validation_fraction": args.validation_fraction,
        "latent": args.latent,
        "train_flops_per_image": train_flops,
        "loss_forward_flops_per_image": fwd_flops,
        "decode_flops_per_image": decode_flops,
        "fp32 matmul peak": peak,
        **({"bf16 matmul peak": peak16} if peak16 else {}),
        "load_average_start": load_start,
        "load_average_end": load_end,
    }
    notes = [
        "images/s: training rows fed to optimiser steps per second of wall time, "
        f"median of {args.repeats} repeats after one warm-up; `train_vae` and `step loop` "
        "(and `train_vae bf16`) were interleaved; vs fp32: the mode's median time over "
        "`train_vae`'s at that size.",
        f"ConvVAE FLOPs per image (FlopCounterMode, matmul + conv only): training step "
        f"{train_flops / 1e6:.1f} M, loss forward {fwd_flops / 1e6:.1f} M, "
        f"decode {decode_flops / 1e6:.1f} M.",
        "GFLOP/s of `train_vae` also counts the forward FLOPs of its per-epoch "
        "validation pass; % peak is relative to the fp32 matmul peak: the best of the "
        "torch.matmul samples timed before and after the run in the same process.",
        "spread %: (max - min) / median of the repeats' images/s; cpu share: process CPU "
        f"seconds per wall second (about {threads} when the cores were not shared); clean: "
        f"repeats with a cpu share >= {bm.CLEAN_SHARE} x {threads} threads; best images/s: "
        "the fastest repeat (the least disturbed).",
    ]
    notes += bm.interference_notes(
        rows + gen_rows, threads, load_start, load_end, ("% peak", "% bf16 peak")
    )
    json_path, md_path = bm.write_results(
        "bench_vae",
        {
            "Training throughput": (rows, TRAIN_COLUMNS),
            "Generation throughput": (gen_rows, GEN_COLUMNS),
        },
        meta,
        out_dir=args.out,
        notes=notes,
    )
    print(f"\nwrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
