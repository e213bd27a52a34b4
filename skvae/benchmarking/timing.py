"""Timing a benchmark's runs and judging how far other processes disturbed them.

A benchmark on a shared machine cannot rule out that other processes took its
cores, but it can see it: :func:`timed` returns, besides the wall time, the
process's CPU seconds per wall second, which stays near the thread count only
when the cores were its own. :func:`clean_runs` and :func:`interference_notes`
turn those shares into what a results file says about its numbers.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Sequence

import torch

__all__ = [
    "CLEAN_SHARE",
    "clean_runs",
    "interference_notes",
    "median",
    "spread",
    "synchronize",
    "timed",
]

#: A run whose CPU share is below this fraction of the thread count was slowed by
#: other processes (with 2 OpenMP threads on 2 shared cores a step can be 10x slower).
CLEAN_SHARE = 0.85


def synchronize(device: torch.device | str = "cpu") -> None:
    """Wait for the device's queued work, so that a timer sees all of it.

    Parameters
    ----------
    device : torch.device or str, default="cpu"
        A CUDA device is synchronised; on any other device this is a no-op.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Run ``fn()`` once and time it.

    The CPU share counts this process's user + system time (all threads). With
    ``T`` threads an undisturbed compute-bound run shows about ``T``; a clearly
    lower share suggests the cores were shared with other processes.

    Parameters
    ----------
    fn : callable
        Called once without arguments.

    Returns
    -------
    wall : float
        Wall-clock seconds of the call.
    share : float
        CPU seconds of this process per wall second (NaN for a zero wall time).
    result : object
        What ``fn()`` returned.
    """
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu / wall if wall > 0 else float("nan"), result


def clean_runs(shares: Sequence[float], threads: int) -> str:
    """How many runs had the cores to themselves, judged by their CPU share.

    Parameters
    ----------
    shares : sequence of float
        The CPU share of each run, as :func:`timed` returns it.
    threads : int
        Threads the runs used.

    Returns
    -------
    str
        ``"k/n"``: ``k`` of the ``n`` runs had a share of at least
        :data:`CLEAN_SHARE` x ``threads``.
    """
    k = sum(1 for s in shares if s >= CLEAN_SHARE * threads)
    return f"{k}/{len(shares)}"


def interference_notes(
    rows: Sequence[dict],
    threads: int,
    load_start: object,
    load_end: object,
    peak_columns: Sequence[str] = ("% peak",),
) -> list[str]:
    """Notes for a results file on how far its timings can be trusted.

    Parameters
    ----------
    rows : sequence of dict
        Table rows; their ``"clean"`` entries (``"k/n"``, see :func:`clean_runs`)
        are summed.
    threads : int
        Threads the runs used.
    load_start, load_end : object
        The load average before and after the runs, quoted as they are.
    peak_columns : sequence of str, default=("% peak",)
        Columns holding a percentage of the matmul peak; a value above 100 adds
        a note on what that yardstick is.

    Returns
    -------
    list of str
    """
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
    """The median of ``values`` as a Python float."""
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> float:
    """How much repeats disagreed: ``(max - min) / median`` in percent.

    Parameters
    ----------
    values : sequence of float
        One measurement per repeat, e.g. images per second.

    Returns
    -------
    float
        The spread in percent; NaN when the median is 0.
    """
    m = median(values)
    return 100.0 * (max(values) - min(values)) / m if m else float("nan")
