"""Class-VAEs trained once for all the cells of a grid run that need the same ones.

The VAE and AUG+VAE cells of one (data set, size, latent size, seed) fit the
same :class:`~skvae.VAEOversampler` on the same rows with the same seed, so
they train the same class-VAEs (on the CPU, bit for bit). :class:`SharedFits`
is the ``memory`` their samplers get: the first cell to reach a key trains and
stores the VAEs, the others wait for it if it is still training and then load
them, and the last reader deletes the stored copy (ten MNIST ConvVAEs take
136 MB).

Its key is the sampler's own cache key (settings, rows, random stream), so a
wrong guess of which cells share VAEs costs time, never correctness.
:func:`plan_shared_fits` makes that guess for the cells of a run and orders them.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import joblib

from .cells import Cell
from .conditions import get_condition
from .store import atomic_write

try:  # POSIX; elsewhere two cells may both train, with the same result
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class SharedFits:
    """A ``joblib.Memory`` stand-in whose entries live until ``readers`` calls read them.

    Parameters
    ----------
    location : path-like
        Folder of the entries (created on first use), on a file system that
        every worker of the run sees.
    readers : int
        Calls expected per key; the entry is deleted after the last. With 1
        nothing is stored.
    """

    def __init__(self, location: str | os.PathLike, readers: int) -> None:
        self.location = str(location)
        self.readers = int(readers)

    def cache(self, func: Callable, ignore: tuple | list = ()) -> Callable:
        """``func`` computed once per key (arguments but ``ignore``) for ``readers`` calls."""
        return _SharedCall(self, func, tuple(ignore))

    def __repr__(self) -> str:
        return f"SharedFits({self.location!r}, readers={self.readers})"


def plan_shared_fits(
    todo: list[Cell], out_dir: Path, gap: int
) -> tuple[list[Cell], dict[Cell, SharedFits], Path | None]:
    """Order ``todo`` and give each cell that shares class-VAEs its ``memory``.

    A cell that loads another's VAEs moves ``gap`` places (the number of
    workers) behind it, so that it is mostly taken up when they are trained,
    not while. Returns the new order, the memories and their folder (None if
    no cell shares).
    """

    def group(cell: Cell):
        condition = get_condition(cell.condition)
        if not condition.uses_latent:  # no class-VAEs to share
            return None
        # The +U conditions' VAE also learns from unlabelled rows: a fit of its own.
        return (cell.dataset, cell.size, cell.latent, cell.seed, condition.unlabeled)

    readers: dict[Any, int] = {}  # cells per group
    for cell in todo:
        if group(cell) is not None:
            readers[group(cell)] = readers.get(group(cell), 0) + 1
    if not any(n > 1 for n in readers.values()):
        return todo, {}, None
    folder = Path(tempfile.mkdtemp(prefix=".shared-vae-fits-", dir=out_dir))
    memories = {
        cell: SharedFits(folder, readers[group(cell)])
        for cell in todo
        if group(cell) is not None and readers[group(cell)] > 1
    }
    order: list[Cell] = []
    waiting: list[tuple[int, int, Cell]] = []  # (earliest place, arrival, cell)
    first: dict[Any, int] = {}
    for arrival, cell in enumerate(todo):
        while waiting and waiting[0][0] <= len(order):
            order.append(waiting.pop(0)[2])
        key = group(cell)
        if key in first:
            waiting.append((first[key] + max(1, gap), arrival, cell))
            waiting.sort()
        else:
            if key is not None:
                first[key] = len(order)
            order.append(cell)
    order += [cell for _, _, cell in waiting]
    return order, memories, folder


class _SharedCall:
    def __init__(self, shared: SharedFits, func: Callable, ignore: tuple) -> None:
        self.shared, self.func, self.ignore = shared, func, ignore

    def _key(self, args: tuple, kwargs: dict) -> str:
        bound = inspect.signature(self.func).bind(*args, **kwargs)
        bound.apply_defaults()
        kept = {k: v for k, v in bound.arguments.items() if k not in self.ignore}
        return joblib.hash((self.func.__module__, self.func.__qualname__, kept))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.shared.readers <= 1:
            return self.func(*args, **kwargs)
        folder = Path(self.shared.location)
        folder.mkdir(parents=True, exist_ok=True)
        key = self._key(args, kwargs)
        data, reads = folder / f"{key}.pkl", folder / f"{key}.reads"
        # One cell at a time per key: a second one waits for the first to
        # finish training instead of training the same VAEs beside it.
        with _locked(folder / f"{key}.lock"):
            if data.exists():
                result = joblib.load(data)
            else:
                result = self.func(*args, **kwargs)
                # Atomically, so a reader never sees half an entry.
                atomic_write(data, lambda f: joblib.dump(result, f))
            count = int(reads.read_text()) + 1 if reads.exists() else 1
            if count >= self.shared.readers:
                data.unlink(missing_ok=True)
                reads.unlink(missing_ok=True)
            else:
                reads.write_text(str(count))
        return result


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (released by the OS if the holder dies)."""
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
