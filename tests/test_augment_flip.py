"""Tests for skvae.augment.RandomFlip."""

import pytest
import torch
from sklearn.base import clone

from skvae import RandomFlip


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_certain_flips_equal_torch_flip():
    x = torch.rand(5, 2, 6, 7)
    assert torch.equal(RandomFlip(horizontal=1.0)(x, gen(0)), x.flip(-1))
    assert torch.equal(RandomFlip(horizontal=0.0, vertical=1.0)(x, gen(0)), x.flip(-2))
    assert torch.equal(RandomFlip(horizontal=1.0, vertical=1.0)(x, gen(0)), x.flip(-1).flip(-2))


def test_zero_probabilities_return_input_without_drawing():
    x = torch.rand(3, 1, 4, 4)
    g = gen(0)
    state = g.get_state()
    assert RandomFlip(horizontal=0.0, vertical=0.0)(x, g) is x
    assert torch.equal(g.get_state(), state)


def test_each_image_is_either_kept_or_mirrored_at_the_given_rate():
    x = torch.rand(4000, 1, 5, 5)
    y = RandomFlip(horizontal=0.3)(x, gen(1))
    mirrored = (y == x.flip(-1)).flatten(1).all(1)
    kept = (y == x).flatten(1).all(1)
    assert bool((mirrored | kept).all())
    assert abs(mirrored.float().mean().item() - 0.3) < 0.03


def test_seeded_and_global_rng_untouched():
    x = torch.rand(16, 1, 8, 8)
    before = torch.get_rng_state()
    a = RandomFlip(0.5, 0.5)(x, gen(3))
    b = RandomFlip(0.5, 0.5)(x, gen(3))
    assert torch.equal(a, b)
    assert torch.equal(torch.get_rng_state(), before)
    assert not torch.equal(a, RandomFlip(0.5, 0.5)(x, gen(4)))


def test_keeps_dtype_and_clones():
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    assert RandomFlip(1.0)(x).dtype == torch.float64
    flip = RandomFlip(0.2, 0.7)
    assert clone(flip).get_params() == {"horizontal": 0.2, "vertical": 0.7}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(horizontal=1.5), "horizontal must be in"),
        (dict(vertical=-0.1), "vertical must be in"),
        (dict(horizontal="yes"), "horizontal must be a real number"),
    ],
)
def test_bad_probabilities(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        RandomFlip(**kwargs)(torch.rand(1, 1, 2, 2))


def test_bad_images():
    with pytest.raises(ValueError, match="4-D"):
        RandomFlip()(torch.rand(2, 4, 4))
