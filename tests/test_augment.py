"""Tests for skvae.augment: conventions, randomness, dtypes and validation."""

import pytest
import torch
from sklearn.base import clone

from skvae.augment import RandomAffine, affine_transform

NO_AUG = {"degrees": 0.0, "width_shift": 0.0, "height_shift": 0.0}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def asymmetric(h: int, w: int, n: int = 2, c: int = 1) -> torch.Tensor:
    # Distinct values everywhere: no rotation or flip maps it onto itself.
    x = torch.arange(n * c * h * w, dtype=torch.float32).reshape(n, c, h, w)
    return x / x.numel()


def bright_pixel(h: int, w: int, row: int, col: int) -> torch.Tensor:
    x = torch.zeros(1, 1, h, w)
    x[0, 0, row, col] = 1.0
    return x


def position(y: torch.Tensor) -> list[list[int]]:
    return (y[0, 0] > 0.5).nonzero().tolist()


# --- identity -----------------------------------------------------------


def test_zero_ranges_return_input_exactly():
    x = asymmetric(7, 9)
    before = torch.get_rng_state()
    for scale in (None, (1.0, 1.0)):
        out = RandomAffine(**NO_AUG, scale=scale, shear=0.0)(x)
        assert out is x
        assert torch.equal(out, asymmetric(7, 9))
    # Short-circuit: no random numbers drawn.
    assert torch.equal(torch.get_rng_state(), before)


def test_functional_zero_params_is_identity():
    x = asymmetric(6, 8)
    out = affine_transform(x, 0.0, 0.0, 0.0)
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)
    out = affine_transform(x, 0.0, 0.0, 0.0, interpolation="nearest")
    assert torch.equal(out, x)


# --- known transforms ---------------------------------------------------


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize(("k", "size"), [(1, 8), (3, 8), (-2, 7), (2, 10)])
def test_integer_shift_x_moves_right(k, size, interpolation):
    x = asymmetric(size, size)
    out = affine_transform(x, 0.0, k / size, 0.0, interpolation=interpolation)
    expected = torch.zeros_like(x)
    if k > 0:
        expected[..., :, k:] = x[..., :, :-k]
    else:
        expected[..., :, :k] = x[..., :, -k:]
    if interpolation == "nearest":
        assert torch.equal(out, expected)
    else:
        torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize(("k", "h", "w"), [(1, 8, 6), (2, 9, 5), (-3, 8, 8)])
def test_integer_shift_y_moves_down(k, h, w):
    x = asymmetric(h, w)
    out = affine_transform(x, 0.0, 0.0, k / h)
    expected = torch.zeros_like(x)
    if k > 0:
        expected[..., k:, :] = x[..., :-k, :]
    else:
        expected[..., :k, :] = x[..., -k:, :]
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_single_pixel_shift_direction():
    x = bright_pixel(10, 12, row=4, col=5)
    out = affine_transform(x, 0.0, 3 / 12, -2 / 10)  # 3 right, 2 up
    assert position(out) == [[2, 8]]
    torch.testing.assert_close(out.sum(), torch.tensor(1.0))


@pytest.mark.parametrize("size", [7, 8])
def test_rotate_90_is_counter_clockwise_rot90(size):
    x = asymmetric(size, size)
    out = affine_transform(x, 90.0, 0.0, 0.0)
    torch.testing.assert_close(out, torch.rot90(x, 1, dims=(-2, -1)), atol=1e-5, rtol=0)
    out = affine_transform(x, -90.0, 0.0, 0.0, interpolation="nearest")
    assert torch.equal(out, torch.rot90(x, -1, dims=(-2, -1)))


@pytest.mark.parametrize(("h", "w"), [(7, 7), (8, 8), (6, 9)])
def test_rotate_180(h, w):
    x = asymmetric(h, w)
    out = affine_transform(x, 180.0, 0.0, 0.0)
    torch.testing.assert_close(out, torch.flip(x, (-2, -1)), atol=1e-5, rtol=0)


def test_rotate_non_square_keeps_pixel_distances():
    # 3 px right of the centre of a 7x11 image ends 3 px above it.
    x = bright_pixel(7, 11, row=3, col=8)
    assert position(affine_transform(x, 90.0, 0.0, 0.0)) == [[0, 5]]


def test_scale_and_shear_conventions():
    x = bright_pixel(9, 9, row=4, col=6)  # 2 px right of the centre
    assert position(affine_transform(x, 0.0, 0.0, 0.0, scale=1.5)) == [[4, 7]]
    x = bright_pixel(9, 9, row=6, col=4)  # 2 px below the centre
    assert position(affine_transform(x, 0.0, 0.0, 0.0, shear=45.0)) == [[6, 6]]


def test_fill_modes():
    x = asymmetric(6, 6)
    border = affine_transform(x, 0.0, 2 / 6, 0.0, fill="nearest")
    assert torch.equal(border, affine_transform(x, 0.0, 2 / 6, 0.0, fill="border"))
    # Columns shifted in replicate the first column.
    torch.testing.assert_close(border[..., :2], x[..., :1].expand(-1, -1, -1, 2), atol=1e-6, rtol=0)
    reflect = affine_transform(x, 0.0, 1 / 6, 0.0, fill="reflect")
    torch.testing.assert_close(reflect[..., 0], x[..., 0], atol=1e-6, rtol=0)
    constant = affine_transform(x, 0.0, 2 / 6, 0.0)
    assert torch.all(constant[..., :2].abs() < 1e-6)


# --- randomness ---------------------------------------------------------


def test_sampled_params_lie_in_range():
    aug = RandomAffine(
        degrees=15.0, width_shift=0.1, height_shift=0.3, scale=(0.8, 1.2), shear=10.0
    )
    p = aug.sample_params(2000, generator=gen(0))
    bounds = {
        "angle": (-15.0, 15.0),
        "translate_x": (-0.1, 0.1),
        "translate_y": (-0.3, 0.3),
        "scale": (0.8, 1.2),
        "shear": (-10.0, 10.0),
    }
    for name, (lo, hi) in bounds.items():
        v = p[name]
        assert v.shape == (2000,)
        assert lo <= v.min() and v.max() <= hi
        # Uniform over the whole range, not a corner of it.
        assert v.min() < lo + 0.05 * (hi - lo) and v.max() > hi - 0.05 * (hi - lo)
    default = RandomAffine().sample_params(50, generator=gen(0))
    assert torch.equal(default["scale"], torch.ones(50, dtype=torch.float64))
    assert torch.equal(default["shear"], torch.zeros(50, dtype=torch.float64))


def test_call_matches_functional_with_sampled_params():
    aug = RandomAffine(scale=(0.9, 1.1), shear=5.0, fill="reflect")
    x = asymmetric(12, 12, n=5)
    out = aug(x, generator=gen(3))
    params = aug.sample_params(5, generator=gen(3))
    expected = affine_transform(x, **params, fill="reflect")
    assert torch.equal(out, expected)


def test_shift_only_moves_each_image_within_range():
    # A lone pixel per image: its displacement is the sampled shift.
    n, size = 16, 20
    x = torch.zeros(n, 1, size, size)
    x[:, 0, 10, 10] = 1.0
    aug = RandomAffine(degrees=0.0, width_shift=0.25, height_shift=0.1)
    out = aug(x, generator=gen(5))
    rows = torch.arange(size, dtype=torch.float32)
    mass = out[:, 0].sum(dim=(-2, -1))
    cy = (out[:, 0].sum(-1) * rows).sum(-1) / mass
    cx = (out[:, 0].sum(-2) * rows).sum(-1) / mass
    p = aug.sample_params(n, generator=gen(5))
    torch.testing.assert_close(cx - 10, (p["translate_x"] * size).float(), atol=1e-4, rtol=0)
    torch.testing.assert_close(cy - 10, (p["translate_y"] * size).float(), atol=1e-4, rtol=0)
    assert (cx - 10).abs().max() <= 5.0 and (cy - 10).abs().max() <= 2.0
    assert len(set((cx - 10).round(decimals=3).tolist())) == n  # own params


def test_same_seed_same_output_different_seed_different():
    aug = RandomAffine()
    x = asymmetric(16, 16, n=4)
    a = aug(x, generator=gen(0))
    assert torch.equal(a, aug(x, generator=gen(0)))
    assert not torch.allclose(a, aug(x, generator=gen(1)))


def test_generator_leaves_global_rng_untouched():
    aug = RandomAffine(scale=(0.9, 1.1), shear=5.0)
    x = asymmetric(8, 8, n=3)
    before = torch.get_rng_state()
    aug(x, generator=gen(0))
    aug.sample_params(10, generator=gen(0))
    assert torch.equal(torch.get_rng_state(), before)


def test_no_generator_uses_global_rng():
    aug = RandomAffine()
    x = asymmetric(8, 8, n=3)
    torch.manual_seed(123)
    a = aug(x)
    torch.manual_seed(123)
    assert torch.equal(a, aug(x))


# --- dtypes, layout, devices --------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_dtype_and_shape_preserved(dtype):
    x = asymmetric(10, 14, n=3, c=2).to(dtype)
    out = RandomAffine(scale=(0.9, 1.1))(x, generator=gen(0))
    assert out.dtype == dtype and out.shape == x.shape
    assert torch.isfinite(out.float()).all()
    # Half types are computed in float32: close to the float32 result.
    ref = RandomAffine(scale=(0.9, 1.1))(x.float(), generator=gen(0))
    torch.testing.assert_close(out.float(), ref, atol=2e-2, rtol=0)


def test_channels_last_preserved():
    x = asymmetric(8, 8, n=2, c=3)
    xcl = x.contiguous(memory_format=torch.channels_last)
    out = RandomAffine()(xcl, generator=gen(0))
    assert out.is_contiguous(memory_format=torch.channels_last)
    # Another memory layout may take another grid_sample kernel: the same draws and
    # bilinear weights on values in [0, 1], equal to float32 rounding (a few ulps of
    # 1, < 1e-6); other draws would move pixels by ~0.1.
    torch.testing.assert_close(out, RandomAffine()(x, generator=gen(0)), atol=1e-6, rtol=0)


def test_empty_batch():
    x = torch.zeros(0, 1, 5, 5)
    assert RandomAffine()(x, generator=gen(0)).shape == (0, 1, 5, 5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    x = asymmetric(16, 16, n=4)
    aug = RandomAffine(scale=(0.9, 1.1), shear=5.0)
    out = aug(x.cuda(), generator=gen(0))
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), aug(x, generator=gen(0)), atol=1e-5, rtol=0)


# --- validation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"degrees": -1.0}, "degrees must be in"),
        ({"degrees": float("nan")}, "degrees must be in"),
        ({"degrees": "20"}, "degrees must be a real number"),
        ({"width_shift": 1.5}, "width_shift must be in"),
        ({"height_shift": -0.1}, "height_shift must be in"),
        ({"shear": 90.0}, "shear must be in"),
        ({"scale": (1.2, 0.8)}, "scale must satisfy"),
        ({"scale": (0.0, 1.0)}, "scale must satisfy"),
        ({"scale": 1.1}, "scale must be None or a pair"),
        ({"fill": "wrap"}, "fill must be one of"),
        ({"interpolation": "bicubic"}, "interpolation must be one of"),
    ],
)
def test_bad_parameters_raise_at_call_time(kwargs, match):
    aug = RandomAffine(**kwargs)  # construction never validates
    with pytest.raises((ValueError, TypeError), match=match):
        aug(asymmetric(4, 4))


def test_bad_input_raises():
    aug = RandomAffine()
    with pytest.raises(ValueError, match="4-D tensor of shape"):
        aug(torch.zeros(1, 8, 8))
    with pytest.raises(TypeError, match="floating point dtype"):
        aug(torch.zeros(1, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        aug([[1.0]])
    with pytest.raises(ValueError, match="4-D tensor"):
        RandomAffine(**NO_AUG)(torch.zeros(8, 8))  # checked before short-circuit
    with pytest.raises(ValueError, match="angle must be a scalar or have shape"):
        affine_transform(torch.zeros(2, 1, 4, 4), torch.zeros(3), 0.0, 0.0)
    with pytest.raises(ValueError, match="fill must be one of"):
        affine_transform(torch.zeros(2, 1, 4, 4), 0.0, 0.0, 0.0, fill="zeros")
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        aug.sample_params(-1)


# --- scikit-learn integration -------------------------------------------


def test_sklearn_clone_and_params_round_trip():
    aug = RandomAffine(degrees=10.0, scale=(0.9, 1.1), shear=3.0, fill="reflect")
    params = aug.get_params()
    assert params == {
        "degrees": 10.0,
        "width_shift": 0.2,
        "height_shift": 0.2,
        "scale": (0.9, 1.1),
        "shear": 3.0,
        "fill": "reflect",
        "interpolation": "bilinear",
    }
    cloned = clone(aug)
    assert cloned is not aug and cloned.get_params() == params
    assert RandomAffine().set_params(**params).get_params() == params
    assert "degrees=10.0" in repr(aug)
    x = asymmetric(8, 8)
    assert torch.equal(cloned(x, generator=gen(0)), aug(x, generator=gen(0)))
