"""Seeded torch randomness that leaves the caller's global RNG state alone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A private torch generator seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


@contextlib.contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Seed torch's global RNG inside the block and restore it afterwards.

    Layer initialisation and dropout draw from torch's global generator; forking
    it keeps fits reproducible without changing the caller's RNG state.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield
