"""The machine a benchmark runs on: its threads, CPU, load and software versions."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from pathlib import Path

import torch

__all__ = ["cpu_model", "load_average", "machine_info", "set_threads"]


def set_threads(threads: int | None) -> int:
    """Apply a ``--threads`` setting, if given, and return the threads torch uses.

    Parameters
    ----------
    threads : int or None
        ``torch.set_num_threads`` value; None keeps torch's setting.

    Returns
    -------
    int
        ``torch.get_num_threads()`` afterwards.

    Raises
    ------
    SystemExit
        If ``threads`` is below 1.
    """
    if threads is not None:
        if threads < 1:
            raise SystemExit(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded; empty where unavailable."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info(script_dir: str = "benchmarks") -> dict:
    """Versions, threads, CPU and date of this run, and the command that reruns it.

    Parameters
    ----------
    script_dir : str, default="benchmarks"
        Folder of the running script relative to the repository root, for the
        ``command`` entry.

    Returns
    -------
    dict
        ``date`` (UTC), ``cpu``, ``logical_cpus``, ``torch_threads``,
        ``torch_interop_threads``, the versions of ``torch``, ``numpy``,
        ``skvae`` and ``python``, ``mkldnn``, ``platform`` and ``command``
        (``python <script_dir>/<script> <arguments>``).
    """
    import numpy as np

    import skvae

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "numpy": np.__version__,
        "skvae": getattr(skvae, "__version__", "unknown"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": " ".join(["python", f"{script_dir}/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
    }
