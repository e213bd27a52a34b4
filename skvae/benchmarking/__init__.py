"""Measuring skvae's speed: timing, the matmul peak, FLOP counts and results files.

The scripts of the repository's ``benchmarks/`` folder are built from these
pieces; they are plain torch (no scikit-learn) and usable in any benchmark.
Not imported by ``import skvae``: ``import skvae.benchmarking``.

Modules
-------
timing
    :func:`timed` (wall time and the process's CPU share, a sign of other
    processes sharing the cores), :func:`clean_runs`,
    :func:`interference_notes`, :func:`median`, :func:`spread`,
    :func:`synchronize`.
peak
    :func:`measure_matmul_peak` (GFLOP/s of ``torch.matmul`` in this process,
    the yardstick of "% of peak") and :func:`combine_peaks`.
flops
    :func:`count_flops` (``FlopCounterMode``: matmuls and convolutions, forward
    and backward, 2 FLOPs per multiply-add), the FLOPs per image of the paper's
    networks and :func:`gflops`.
splits
    :func:`vae_split`, a class's rows split as the VAE fits split them.
machine
    :func:`set_threads`, :func:`load_average`, :func:`cpu_model` and
    :func:`machine_info` (versions, CPU, threads, the command of the run).
results
    :func:`format_table`, :func:`print_table`, :func:`write_table` and
    :func:`write_results` (``<name>.json`` and ``<name>.md``).
"""

from .flops import (
    MNIST_SHAPE,
    cnn_flops_per_image,
    count_flops,
    forward_flops_per_image,
    gflops,
    vae_flops_per_image,
)
from .machine import cpu_model, load_average, machine_info, set_threads
from .peak import combine_peaks, measure_matmul_peak
from .results import format_table, print_table, write_results, write_table
from .splits import vae_split
from .timing import (
    CLEAN_SHARE,
    clean_runs,
    interference_notes,
    median,
    spread,
    synchronize,
    timed,
)

__all__ = [
    "CLEAN_SHARE",
    "MNIST_SHAPE",
    "clean_runs",
    "cnn_flops_per_image",
    "combine_peaks",
    "count_flops",
    "cpu_model",
    "forward_flops_per_image",
    "format_table",
    "gflops",
    "interference_notes",
    "load_average",
    "machine_info",
    "measure_matmul_peak",
    "median",
    "print_table",
    "set_threads",
    "spread",
    "synchronize",
    "timed",
    "vae_flops_per_image",
    "vae_split",
    "write_results",
    "write_table",
]
