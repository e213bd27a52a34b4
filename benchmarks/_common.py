"""Shared helpers of the skvae benchmarks.

- :func:`measure_matmul_peak`: GFLOP/s of ``torch.matmul`` on this machine, in
  this process, with the current thread settings (the yardstick for "% of peak").
- :func:`count_flops`: FLOPs of a callable, counted by
  ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and convolutions, forward
  and backward, 2 FLOPs per multiply-add; element-wise ops, pooling and the
  optimiser are not counted).
- :func:`timed`: wall time of a call plus the process's CPU-time share, a cheap
  sign of interference from other processes.
- :func:`held_out_rows`: development / reference rows outside a training
  subset, from MNIST's training set only.
- :func:`machine_info`, :func:`write_results`, :func:`format_table`: results as
  ``benchmarks/results/<name>.json`` and ``.md``.

The scripts are run as ``python benchmarks/bench_*.py``; this module sits next
to them and is imported as ``_common``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_DATA_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
#: (C, H, W) of an MNIST image.
MNIST_SHAPE = (1, 28, 28)


# --------------------------------------------------------------------- setup
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
    parser.add_argument("--batch-size", type=int, default=100, help="VAE batch size (default: 100)")
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=0.15,
        help="held-out share of each class, as VAEOversampler (default: 0.15)",
    )


def vae_split(Xc: torch.Tensor, fraction: float, seed: int):
    """A class's images split into (train, valid) as VAEOversampler splits them.

    ``valid`` is None when ``round(fraction * n)`` would leave no training image.
    """
    n = len(Xc)
    n_valid = int(round(fraction * n))
    if n_valid >= n:
        n_valid = 0
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return Xc[order[n_valid:]], (Xc[order[:n_valid]] if n_valid else None)


def set_threads(threads: int | None) -> int:
    """Apply ``--threads`` (if given) and return the number of threads in use."""
    if threads is not None:
        if threads < 1:
            raise SystemExit(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def load_mnist_train(data_home: Path):
    """MNIST's 60,000 training rows as float32 ``(n, 784)`` in [0, 1] and int64 labels."""
    from skvae.datasets import load_mnist

    return load_mnist(data_home=str(data_home), subset="train", return_X_y=True)


def held_out_rows(target, is_test, train, per_class: int, seed: int):
    """Class-balanced rows of MNIST's official *training* set outside ``train``.

    Development and reference data for the benchmarks: never the test set,
    never a row of the training subset. Returns sorted row indices.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    pool = ~np.asarray(is_test, dtype=bool)
    pool[train] = False
    picks = [
        rng.choice(np.flatnonzero(pool & (target == c)), per_class, replace=False)
        for c in np.unique(target)
    ]
    return np.sort(np.concatenate(picks))


# ------------------------------------------------------------------- timing
def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Run ``fn()`` once; return ``(wall seconds, CPU seconds / wall seconds, result)``.

    The CPU share counts this process's user + system time (all threads). With
    ``T`` threads an undisturbed compute-bound run shows about ``T``; a clearly
    lower share suggests the cores were shared with other processes.
    """
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu / wall if wall > 0 else float("nan"), result


#: A run whose CPU share is below this fraction of the thread count was slowed by
#: other processes (with 2 OpenMP threads on 2 shared cores a step can be 10x slower).
CLEAN_SHARE = 0.85


def clean_runs(shares: Sequence[float], threads: int) -> str:
    """``"k/n"``: how many of ``n`` runs had the cores to themselves (by CPU share)."""
    k = sum(1 for s in shares if s >= CLEAN_SHARE * threads)
    return f"{k}/{len(shares)}"


def interference_notes(
    rows: Sequence[dict], threads: int, load_start, load_end, peak_columns=("% peak",)
) -> list[str]:
    """Notes on how trustworthy the numbers are, for the results file."""
    clean = total = 0
    for row in rows:
        k, n = (int(v) for v in str(row.get("clean", "0/0")).split("/"))
        clean, total = clean + k, total + n
    loads = f"load average at start {load_start}, at end {load_end}"
    if clean == total:
        notes = [
            f"All {total} timed repeats had a CPU share of at least {CLEAN_SHARE} x {threads} "
            f"threads: no sign that other processes shared the cores ({loads})."
        ]
    else:
        notes = [
            f"{total - clean} of {total} timed repeats had a CPU share below {CLEAN_SHARE} x "
            f"{threads} threads: other processes shared the cores ({loads}). Such runs can be "
            "several times slower; trust the best images/s column more, or rerun on an idle "
            "machine or with --threads 1."
        ]
    if any((row.get(c) or 0) > 100 for row in rows for c in peak_columns):
        notes.append(
            "A % peak above 100 means the network's convolutions (oneDNN kernels) ran faster "
            "than torch.matmul's GEMM of that dtype does on this CPU: the matmul figure is a "
            "practical yardstick measured in the same process, not the hardware's peak."
        )
    return notes


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> float:
    """(max - min) / median, in percent: how much the repeats disagreed."""
    m = median(values)
    return 100.0 * (max(values) - min(values)) / m if m else float("nan")


# -------------------------------------------------------------- matmul peak
def synchronize(device: torch.device | str = "cpu") -> None:
    """Wait for the device's queued work (a no-op on the CPU), so a timer sees it all."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_matmul_peak(
    dtype: torch.dtype = torch.float32,
    n: int = 2048,
    repeats: int = 5,
    min_seconds: float = 0.3,
    warmup: int = 2,
    device: torch.device | str = "cpu",
) -> dict:
    """GFLOP/s of ``torch.matmul`` of two ``n x n`` matrices of ``dtype`` on ``device``.

    Runs in the calling process with its thread settings. Each repeat times
    enough back-to-back products to last at least ``min_seconds``; the result
    holds the median (``gflops``), the best (``gflops_max``) and every repeat.
    A product of two ``n x n`` matrices counts ``2 n^3`` FLOPs.
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device, dtype)
    b = torch.randn(n, n, generator=gen).to(device, dtype)
    out = torch.empty(n, n, dtype=dtype, device=device)
    flops = 2.0 * n**3
    for _ in range(warmup):
        torch.matmul(a, b, out=out)
    synchronize(device)
    start = time.perf_counter()
    torch.matmul(a, b, out=out)
    synchronize(device)
    one = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(min_seconds / one))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            torch.matmul(a, b, out=out)
        synchronize(device)
        samples.append(flops * inner / (time.perf_counter() - start) / 1e9)
    return {
        "dtype": str(dtype).replace("torch.", ""),
        "n": n,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "gflops": median(samples),
        "gflops_max": max(samples),
        "samples": [round(s, 2) for s in samples],
    }


def combine_peaks(*peaks: dict) -> dict:
    """One peak from several measurements (e.g. before and after a benchmark).

    ``gflops`` becomes the best sample of all: other processes sharing the cores
    can only slow a measurement down, so the best one is the closest to what the
    machine can do. The per-measurement medians are kept to show drift.
    """
    samples = [s for p in peaks for s in p["samples"]]
    out = dict(peaks[0])
    out["samples"] = samples
    out["gflops"] = max(samples)
    out["gflops_median"] = median(samples)
    out["gflops_max"] = max(samples)
    out["medians_per_measurement"] = [round(p["gflops"], 2) for p in peaks]
    return out


# ------------------------------------------------------------ FLOP counting
def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of ``fn()`` as counted by ``FlopCounterMode``.

    Counts matmuls and convolutions (transposed ones included), forward and, if
    ``fn`` calls ``backward``, backward (only the gradients autograd actually
    computes). 2 FLOPs per multiply-add.
    """
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def forward_flops_per_image(
    module: torch.nn.Module, image_shape: Sequence[int], batch: int = 8
) -> float:
    """FLOPs of one forward pass of ``module`` per input image."""
    x = torch.zeros(batch, *image_shape)
    with torch.no_grad():
        return count_flops(lambda: module(x)) / batch


def cnn_flops_per_image(batch: int = 16) -> tuple[float, float]:
    """(training step, forward) FLOPs per MNIST image of the paper's CNN (10 classes).

    The training step is forward + backward of the cross-entropy loss with an
    Adam update (which adds no matmul or convolution FLOPs).
    """
    import torch.nn.functional as F

    from skvae.nn import PaperCNN

    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = PaperCNN(MNIST_SHAPE, 10)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    x = torch.rand(batch, *MNIST_SHAPE)
    t = torch.randint(0, 10, (batch,))

    def step():
        loss = F.cross_entropy(module(x), t)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return count_flops(step) / batch, forward_flops_per_image(module, MNIST_SHAPE, batch)


def vae_flops_per_image(latent: int = 3, batch: int = 16) -> tuple[float, float, float]:
    """(training step, loss forward, decode) FLOPs per MNIST image of the ConvVAE.

    The training step is forward + backward of the VAE loss with an RMSprop
    update; the loss forward is a validation pass; decode is ``VAE.generate``.
    """
    from skvae.nn import ConvVAE

    with torch.random.fork_rng():
        torch.manual_seed(0)
        vae = ConvVAE(MNIST_SHAPE, latent)
    x = torch.rand(batch, *MNIST_SHAPE)
    optimizer = torch.optim.RMSprop(vae.parameters(), lr=1e-3)

    def step():
        loss = vae.loss(x).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    train = count_flops(step) / batch
    with torch.no_grad():
        forward = count_flops(lambda: vae.loss(x)) / batch
    z = torch.randn(batch, latent)
    decode = count_flops(lambda: vae.generate(z)) / batch
    return train, forward, decode


def gflops(images_per_s: float, flops_per_image: float) -> float:
    return images_per_s * flops_per_image / 1e9


# ----------------------------------------------------------------- results
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info() -> dict:
    """Versions, threads, CPU and date of this run."""
    import numpy as np

    import skvae

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "numpy": np.__version__,
        "skvae": getattr(skvae, "__version__", "unknown"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # A command that reruns this benchmark from the repository root.
        "command": " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
    }


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if value is None:
        return "-"
    return str(value)


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A GitHub markdown table of ``rows`` (dicts), in ``columns`` order."""
    if not rows:
        return "(no rows)"
    if columns is None:
        columns = list(rows[0])
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for row, r in zip(rows, cells):
        lines.append(
            "| "
            + " | ".join(
                v.ljust(w) if isinstance(row.get(c), str) else v.rjust(w)
                for c, v, w in zip(columns, r, widths)
            )
            + " |"
        )
    return "\n".join(lines)


def print_table(rows: Sequence[dict], columns: Sequence[str] | None = None, title=None) -> None:
    if title:
        print(f"\n{title}")
    print(format_table(rows, columns), flush=True)


def write_table(
    name: str,
    title: str,
    rows: Sequence[dict],
    columns: Sequence[str],
    meta: dict,
    *,
    out_dir: Path = RESULTS_DIR,
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Print one table and write it with :func:`write_results`; say where."""
    print_table(rows, columns, title=title)
    paths = write_results(name, {title: (rows, columns)}, meta, out_dir=out_dir, notes=notes)
    print("wrote", *paths)
    return paths


def write_results(
    name: str,
    tables: dict[str, tuple[Sequence[dict], Sequence[str]]],
    meta: dict,
    *,
    out_dir: Path = RESULTS_DIR,
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.json`` and ``<name>.md``.

    ``tables`` maps a title to ``(rows, columns)``; ``meta`` is merged over
    :func:`machine_info`. Returns the two paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = {**machine_info(), **meta}
    payload = {
        "benchmark": name,
        "meta": info,
        "tables": {title: list(rows) for title, (rows, _) in tables.items()},
        "notes": list(notes),
    }
    json_path = out_dir / f"{name}.json"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")

    md = [f"# {name}", ""]
    for key in ("date", "cpu", "logical_cpus", "torch_threads", "torch", "skvae", "command"):
        md.append(f"- {key}: `{info.get(key)}`")
    for key, value in meta.items():
        if key in ("date", "command") or isinstance(value, dict):
            continue
        if isinstance(value, (list, tuple)):  # e.g. temperatures: one line, not dropped
            if any(isinstance(v, (dict, list, tuple)) for v in value):
                continue
            value = ", ".join(map(str, value)) or "none"
        md.append(f"- {key}: `{value}`")
    for key, value in meta.items():
        if isinstance(value, dict) and "medians_per_measurement" in value:
            medians = ", ".join(f"{m:.1f}" for m in value["medians_per_measurement"])
            md.append(
                f"- {key}: {value['gflops']:.1f} GFLOP/s, the best of "
                f"{len(value['samples'])} samples ({value['dtype']} {value['n']}x{value['n']} "
                f"torch.matmul; medians of the measurements before and after the run: "
                f"{medians})"
            )
    md.append("")
    for title, (rows, columns) in tables.items():
        md += [f"## {title}", "", format_table(rows, columns), ""]
    if notes:
        md += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    md_path = out_dir / f"{name}.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    return json_path, md_path
