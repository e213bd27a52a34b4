"""Tests for skvae.augment.ElasticDistortion and skvae.augment.Compose."""

import pickle

import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.base import clone

from skvae.augment import Compose, ElasticDistortion, RandomAffine


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def blob(n: int = 16, size: int = 28, width: float = 3.0) -> torch.Tensor:
    rows, cols = torch.meshgrid(
        torch.arange(size, dtype=torch.float32),
        torch.arange(size, dtype=torch.float32),
        indexing="ij",
    )
    centre = (size - 1) / 2
    image = torch.exp(-((rows - centre) ** 2 + (cols - centre) ** 2) / (2 * width**2))
    return image.expand(n, 1, size, size).clone()


def simard_reference(x: torch.Tensor, alpha: float, sigma: float, seed: int) -> np.ndarray:
    """The recipe of the docstring, written with scipy, from the same draws."""
    n, c, h, w = x.shape
    noise = torch.rand((n, 2, h, w), generator=gen(seed), dtype=torch.float32)
    noise = 2.0 * noise.double().numpy() - 1.0
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    out = np.zeros((n, c, h, w))
    for i in range(n):
        # truncate=3 gives scipy's radius int(3 sigma + 0.5) == ceil(3 sigma)
        # for the sigmas used below.
        dx, dy = (
            alpha * ndimage.gaussian_filter(noise[i, k], sigma, mode="constant", truncate=3.0)
            for k in (0, 1)
        )
        for k in range(c):
            out[i, k] = ndimage.map_coordinates(
                x[i, k].double().numpy(), [rows + dy, cols + dx], order=1, mode="grid-constant"
            )
    return out


# --- basic behaviour ----------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 1, 8, 8), (3, 1, 28, 28), (2, 3, 7, 11), (1, 1, 1, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_shape_and_dtype_preserved(shape, dtype):
    x = torch.rand(shape).to(dtype)
    y = ElasticDistortion(alpha=8.0, sigma=2.0)(x, generator=gen(0))
    assert y.shape == x.shape
    assert y.dtype == dtype
    assert torch.isfinite(y.float()).all()


def test_empty_batch():
    x = torch.rand(0, 1, 8, 8)
    y = ElasticDistortion()(x, generator=gen(0))
    assert y.shape == x.shape and y is not x


def test_channels_last_kept():
    x = torch.rand(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    y = ElasticDistortion()(x, generator=gen(0))
    assert y.is_contiguous(memory_format=torch.channels_last)


def test_alpha_zero_is_identity_without_drawing():
    x = torch.rand(3, 1, 8, 8)
    before = torch.get_rng_state()
    assert ElasticDistortion(alpha=0.0)(x) is x
    assert ElasticDistortion(alpha=0)(x, generator=gen(0)) is x
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(("h", "w", "sigma"), [(8, 8, 4.0), (28, 28, 4.0), (7, 11, 2.0)])
def test_matches_simard_recipe(h, w, sigma):
    # The 8x8 and 7x11 cases also exercise the kernel cut to the image size.
    x = torch.rand(3, 2, h, w, dtype=torch.float64)
    y = ElasticDistortion(alpha=20.0, sigma=sigma)(x, generator=gen(3))
    np.testing.assert_allclose(y.numpy(), simard_reference(x, 20.0, sigma, 3), atol=1e-10)


def test_huge_sigma_gives_vanishing_displacement():
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    y = ElasticDistortion(alpha=34.0, sigma=1e7)(x, generator=gen(0))
    torch.testing.assert_close(y, x)


# --- randomness ---------------------------------------------------------


def test_same_seed_same_output_other_seed_differs():
    x = blob(8)
    aug = ElasticDistortion()
    y0 = aug(x, generator=gen(0))
    assert torch.equal(y0, aug(x, generator=gen(0)))
    assert not torch.allclose(y0, aug(x, generator=gen(1)))


def test_generator_leaves_global_rng_alone():
    before = torch.get_rng_state()
    ElasticDistortion()(blob(2), generator=gen(0))
    assert torch.equal(torch.get_rng_state(), before)


def test_each_image_gets_its_own_field_channels_share_it():
    x = blob(4).expand(4, 3, 28, 28).clone()
    y = ElasticDistortion()(x, generator=gen(0))
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 0], y[:, 2])
    assert not torch.allclose(y[0], y[1])


def test_same_field_for_float32_and_float64():
    x = blob(4)
    y32 = ElasticDistortion()(x, generator=gen(0))
    y64 = ElasticDistortion()(x.double(), generator=gen(0))
    torch.testing.assert_close(y32.double(), y64, atol=1e-5, rtol=0)


# --- geometry -----------------------------------------------------------


def roughness(sigma: float) -> float:
    # Bilinear sampling of a horizontal ramp is exact, so away from the
    # borders the output minus the ramp is the x displacement itself.
    ramp = torch.arange(28, dtype=torch.float64).expand(16, 1, 28, 28).clone()
    y = ElasticDistortion(alpha=34.0, sigma=sigma, fill="nearest")(ramp, generator=gen(0))
    d = (y - ramp)[..., 8:20, 8:20]
    return float((d[..., 1:] - d[..., :-1]).abs().mean() / d.abs().mean())


def test_displacement_is_smooth():
    smooth = roughness(4.0)
    assert smooth < 0.3
    assert roughness(0.5) > 3 * smooth


def test_change_grows_with_alpha():
    x = blob(16)
    change = [
        float((ElasticDistortion(alpha=a)(x, generator=gen(0)) - x).abs().mean())
        for a in (1.0, 8.0)
    ]
    assert 0 < change[0] < change[1]


def test_small_alpha_roughly_preserves_mass():
    x = blob(16)
    y = ElasticDistortion(alpha=4.0)(x, generator=gen(0))
    ratio = y.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert ((ratio - 1).abs() < 0.1).all()


# --- validation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -2.0}, "sigma"),
        ({"sigma": float("inf")}, "sigma"),
        ({"fill": "wrap"}, "fill"),
    ],
)
def test_bad_parameters(params, name):
    with pytest.raises(ValueError, match=name):
        ElasticDistortion(**params)(torch.rand(1, 1, 8, 8))


def test_bad_parameter_types():
    with pytest.raises(TypeError, match="alpha"):
        ElasticDistortion(alpha="1")(torch.rand(1, 1, 8, 8))


def test_bad_input():
    with pytest.raises(ValueError, match="4-D"):
        ElasticDistortion()(torch.rand(1, 8, 8))
    with pytest.raises(TypeError, match="floating point"):
        ElasticDistortion()(torch.ones(1, 1, 8, 8, dtype=torch.int64))


# --- Compose ------------------------------------------------------------


class Recorder:
    def __init__(self, name, log, add):
        self.name, self.log, self.add = name, log, add

    def __call__(self, x, generator=None):
        self.log.append((self.name, generator))
        return x + self.add


def test_compose_applies_in_order_and_passes_generator():
    log = []
    g = gen(0)
    x = torch.zeros(1, 1, 2, 2)
    doubler_seen = []

    def double(x, generator=None):
        doubler_seen.append(generator)
        return 2 * x

    y = Compose([Recorder("a", log, 1.0), double, Recorder("b", log, 3.0)])(x, generator=g)
    assert [name for name, _ in log] == ["a", "b"]
    assert all(seen is g for _, seen in log) and doubler_seen == [g]
    assert torch.equal(y, torch.full_like(x, 5.0))  # (0 + 1) * 2 + 3, not (0 + 3) * 2 + 1


def test_compose_matches_sequential_calls():
    x = blob(4)
    affine, elastic = RandomAffine(), ElasticDistortion()
    g = gen(0)
    expected = elastic(affine(x, generator=g), generator=g)
    torch.testing.assert_close(Compose([affine, elastic])(x, generator=gen(0)), expected)


def test_empty_compose_is_identity():
    x = torch.rand(2, 1, 4, 4)
    assert Compose([])(x) is x
    assert Compose(())(x, generator=gen(0)) is x


def test_compose_rejects_non_callables():
    with pytest.raises(TypeError, match=r"transforms\[1\]"):
        Compose([ElasticDistortion(), 3])(torch.rand(1, 1, 4, 4))
    with pytest.raises(TypeError, match="transforms"):
        Compose(ElasticDistortion())(torch.rand(1, 1, 4, 4))


# --- scikit-learn and pickle --------------------------------------------


def test_clone_and_params():
    aug = ElasticDistortion(alpha=10.0, sigma=3.0, fill="reflect")
    assert clone(aug).get_params() == {"alpha": 10.0, "sigma": 3.0, "fill": "reflect"}
    inner = [RandomAffine(degrees=5.0), aug]
    comp = Compose(inner)
    assert comp.get_params()["transforms"] is inner  # stored untouched
    cloned = clone(comp)
    assert cloned.transforms is not inner
    assert [type(t) for t in cloned.transforms] == [RandomAffine, ElasticDistortion]
    assert cloned.transforms[0].get_params() == inner[0].get_params()
    assert cloned.transforms[1].get_params() == aug.get_params()


def test_pickle_round_trip():
    x = blob(4)
    for aug in (ElasticDistortion(alpha=8.0), Compose([RandomAffine(), ElasticDistortion()])):
        restored = pickle.loads(pickle.dumps(aug))
        assert torch.equal(restored(x, generator=gen(0)), aug(x, generator=gen(0)))


def test_as_cnn_classifier_augment():
    from skvae import CNNClassifier
    from skvae.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:60], y[:60]
    for augment in (ElasticDistortion(), Compose([RandomAffine(), ElasticDistortion(alpha=8.0)])):
        clf = CNNClassifier(
            augment=augment,
            module__channels=(4, 4, 4, 4),
            module__hidden=8,
            max_epochs=1,
            random_state=0,
        ).fit(X, y)
        assert clf.predict(X).shape == (60,)
        pickle.loads(pickle.dumps(clf))
