"""Batched, seeded affine and elastic image augmentation in pure torch.

This is the "conventional augmentation" baseline of *Data Augmentation via
Variational Auto-Encoders*: the authors trained their CNN on batches passed
through Keras' ``ImageDataGenerator(rotation_range=20, width_shift_range=0.2,
height_shift_range=0.2)``. :class:`RandomAffine` reproduces that with one
``F.affine_grid`` + ``F.grid_sample`` call per batch, so it runs on whatever
device the batch lives on and is reproducible from a ``torch.Generator``.

Conventions (shared by :func:`affine_transform` and :class:`RandomAffine`)
--------------------------------------------------------------------------
Images are ``(N, C, H, W)``; ``x`` indexes columns (left to right) and ``y``
indexes rows, with row 0 displayed at the top.

* A positive ``angle`` (degrees) rotates the content **counter-clockwise** as
  seen on screen, like ``torch.rot90(x, 1, dims=(-2, -1))`` for 90 degrees
  (and like torchvision / ``numpy.rot90``). Rotation, shear and scale are about
  the image centre, ``((W - 1) / 2, (H - 1) / 2)`` in pixel units.
* A positive ``translate_x`` moves the content **right** (towards larger
  column indices) by ``translate_x * W`` pixels; a positive ``translate_y``
  moves it **down** by ``translate_y * H`` pixels.
* ``scale > 1`` enlarges the content (zoom in).
* A positive ``shear`` (degrees) shears along x: a pixel ``d`` rows below the
  centre moves ``d * tan(shear)`` pixels to the right.
* The forward map applied to the content is ``p -> R S Z p + t`` (rotation,
  shear, zoom, then translation); sampling uses its inverse.

Sampling uses ``align_corners=False``, where normalised coordinate 0 is the
image centre, so a shift by an integer number of pixels (``k / W``) and
rotations by multiples of 90 degrees of a square image land exactly on pixel
centres: the result equals the integer shift / ``torch.rot90`` up to floating
point rounding (~1e-6), and exactly with ``interpolation="nearest"``.

Beyond the paper, :class:`ElasticDistortion` applies Simard et al.'s (2003)
elastic distortion, :class:`RandomFlip` mirrors images (an "inexpert"
choice for digits, used by the augmentation-strength study), and
:class:`Compose` chains such transforms, e.g.
``Compose([RandomAffine(), ElasticDistortion()])``.

Differences from Keras: Keras fills with ``"nearest"`` by default while the
default here is ``"constant"`` (zeros; pass ``fill="nearest"`` for the Keras
behaviour); Keras' positive angle turns the image the other way, which does not
matter for the symmetric range ``[-degrees, degrees]``; Keras draws separate x
and y zoom factors, here one isotropic factor is drawn per image.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator

__all__ = ["Compose", "ElasticDistortion", "RandomAffine", "RandomFlip", "affine_transform"]


class _Transform(BaseEstimator):
    """Base of the transforms: one call contract, and a repr that shows the ranges.

    Subclasses implement ``_transform``; ``__call__`` checks the batch first.
    scikit-learn's repr hides parameters left at their defaults, so
    ``RandomAffine(20, 0.2, 0.2)`` printed as ``RandomAffine(degrees=20)`` and a
    ``cv_results_`` table did not say which shifts a transform used.
    """

    #: Parameters shown in the repr whatever their value.
    _shown_always: tuple[str, ...] = ()

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 - scikit-learn's name
        signature = inspect.signature(type(self).__init__).parameters
        params = self.get_params(deep=False)
        shown = [
            f"{name}={params[name]!r}"
            for name, spec in signature.items()
            if name in params
            and (name in self._shown_always or repr(params[name]) != repr(spec.default))
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Transform a batch, each image with its own random draws.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, H, W)
            Image batch, on any device (floating point for the transforms that
            resample).
        generator : torch.Generator, optional
            Source of randomness. When given, torch's global RNG is not
            touched and the same seed gives the same output. None uses the
            global RNG.

        Returns
        -------
        torch.Tensor
            The transformed batch, with the shape, dtype and device of ``x``;
            ``x`` itself when the settings make the transform the identity
            (no copy, no random numbers drawn).
        """
        _check_images(x)
        return self._transform(x, generator)

    def _transform(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Validate the settings and transform ``x``, a checked image batch."""
        raise NotImplementedError


# Public fill names -> grid_sample padding modes.
_FILL_MODES = {
    "constant": "zeros",
    "nearest": "border",
    "border": "border",
    "reflect": "reflection",
}
_INTERPOLATIONS = ("bilinear", "nearest")
# grid_sample on half types is not available everywhere and is imprecise for
# the coordinate arithmetic; compute in float32 and cast back.
_UPCAST = (torch.float16, torch.bfloat16)


def _check_images(x: Any) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}.")
    if x.ndim != 4:
        raise ValueError(
            "x must be a 4-D tensor of shape (N, C, H, W); "
            f"got a {x.ndim}-D tensor of shape {tuple(x.shape)}."
        )
    if not x.is_floating_point():
        raise TypeError(f"x must have a floating point dtype, got {x.dtype}.")


def _check_choice(value: Any, name: str, choices: Any) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}.")


def _check_real(value: Any, name: str, low: float, high: float) -> float:
    # bool is an Integral: reject it so that RandomAffine(degrees=True) fails.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}.")
    return value


def _check_scale(scale: Any) -> tuple[float, float] | None:
    if scale is None:
        return None
    try:
        lo, hi = scale
    except (TypeError, ValueError):
        raise ValueError(f"scale must be None or a pair (min, max), got {scale!r}.") from None
    lo = _check_real(lo, "scale[0]", 0.0, math.inf)
    hi = _check_real(hi, "scale[1]", 0.0, math.inf)
    if not (0.0 < lo <= hi):
        raise ValueError(f"scale must satisfy 0 < scale[0] <= scale[1], got {scale!r}.")
    return lo, hi


def _check_shear(shear: Any) -> float:
    shear = _check_real(shear, "shear", 0.0, math.inf)
    if shear >= 90.0:
        raise ValueError(f"shear must be in [0, 90) degrees, got {shear!r}.")
    return shear


def _as_param(value: Any, n: int, name: str) -> torch.Tensor:
    """Per-image parameter as a float64 CPU tensor of shape (n,)."""
    # The theta matrices are tiny: build them in float64 on the CPU for
    # accuracy (MPS has no float64), then move them to x's device once.
    t = torch.as_tensor(value, dtype=torch.float64)
    t = t.detach().to(device="cpu", dtype=torch.float64)
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] not in (1, n)):
        raise ValueError(
            f"{name} must be a scalar or have shape ({n},), got shape {tuple(t.shape)}."
        )
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite.")
    return t.expand(n)


def _theta(
    angle: torch.Tensor,
    translate_x: torch.Tensor,
    translate_y: torch.Tensor,
    scale: torch.Tensor,
    shear: torch.Tensor,
    height: int,
    width: int,
) -> torch.Tensor:
    """Normalised (N, 2, 3) output->input matrices for ``F.affine_grid``."""
    a = torch.deg2rad(angle)
    cos, sin = torch.cos(a), torch.sin(a)
    k = torch.tan(torch.deg2rad(shear))
    z = scale
    # Forward map in pixel units (x right, y down):
    #   R = [[cos, sin], [-sin, cos]]   counter-clockwise on screen,
    #   S = [[1, k], [0, 1]],  Z = z * I.
    # grid_sample needs the inverse, A = Z^-1 S^-1 R^-1, with
    #   R^-1 = [[cos, -sin], [sin, cos]],  S^-1 = [[1, -k], [0, 1]].
    a00 = (cos - k * sin) / z
    a01 = (-sin - k * cos) / z
    a10 = sin / z
    a11 = cos / z
    # Input point = A (p_out - t). Normalised coordinates are D p with
    # D = diag(2 / W, 2 / H), so the normalised matrix is D A D^-1 and the
    # normalised shift is -D A t = -(D A D^-1)(2 tx, 2 ty).
    r = height / width
    m00, m01, m10, m11 = a00, a01 * r, a10 / r, a11
    tx, ty = 2.0 * translate_x, 2.0 * translate_y
    b0 = -(m00 * tx + m01 * ty)
    b1 = -(m10 * tx + m11 * ty)
    row0 = torch.stack([m00, m01, b0], dim=-1)
    row1 = torch.stack([m10, m11, b1], dim=-1)
    return torch.stack([row0, row1], dim=-2)


def affine_transform(
    x: torch.Tensor,
    angle: torch.Tensor | float,
    translate_x: torch.Tensor | float,
    translate_y: torch.Tensor | float,
    scale: torch.Tensor | float | None = None,
    shear: torch.Tensor | float | None = None,
    fill: str = "constant",
    interpolation: str = "bilinear",
) -> torch.Tensor:
    """Apply a known affine transform to each image of a batch.

    See the module docstring for the sign conventions.

    Parameters
    ----------
    x : torch.Tensor of shape (N, C, H, W)
        Floating point image batch, on any device, any memory format.
    angle : torch.Tensor of shape (N,) or float
        Rotation in degrees; positive is counter-clockwise as displayed
        (row 0 at the top). A scalar applies to every image.
    translate_x : torch.Tensor of shape (N,) or float
        Horizontal shift as a fraction of the width ``W``; positive moves the
        content right. ``k / W`` shifts by exactly ``k`` pixels.
    translate_y : torch.Tensor of shape (N,) or float
        Vertical shift as a fraction of the height ``H``; positive moves the
        content down.
    scale : torch.Tensor of shape (N,) or float, optional
        Zoom factor (> 0); values above 1 enlarge the content. None means 1.
    shear : torch.Tensor of shape (N,) or float, optional
        Shear angle in degrees along x, in (-90, 90). None means 0.
    fill : {"constant", "nearest", "border", "reflect"}, default="constant"
        How points outside the image are filled: zeros, the nearest border
        pixel ("nearest" and "border" are synonyms), or a reflection.
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        Resampling method.

    Returns
    -------
    torch.Tensor
        Transformed batch with the shape, dtype, device of ``x`` (and channels
        last memory format if ``x`` had it).

    Examples
    --------
    >>> import torch
    >>> from skvae.augment import affine_transform
    >>> x = torch.zeros(1, 1, 4, 4)
    >>> x[0, 0, 1, 1] = 1.0
    >>> y = affine_transform(x, angle=0.0, translate_x=1 / 4, translate_y=2 / 4)
    >>> (y[0, 0] > 0.5).nonzero().tolist()  # one pixel right, two down
    [[3, 2]]
    >>> r = affine_transform(x, angle=90.0, translate_x=0.0, translate_y=0.0)
    >>> torch.allclose(r, torch.rot90(x, 1, dims=(-2, -1)), atol=1e-6)
    True
    """
    _check_images(x)
    _check_choice(fill, "fill", _FILL_MODES)
    _check_choice(interpolation, "interpolation", _INTERPOLATIONS)
    n, _, height, width = x.shape
    angle_t = _as_param(angle, n, "angle")
    tx = _as_param(translate_x, n, "translate_x")
    ty = _as_param(translate_y, n, "translate_y")
    scale_t = _as_param(1.0 if scale is None else scale, n, "scale")
    shear_t = _as_param(0.0 if shear is None else shear, n, "shear")
    if not (scale_t > 0).all():
        raise ValueError("scale must be positive.")
    if not (shear_t.abs() < 90).all():
        raise ValueError("shear must be in (-90, 90) degrees.")
    if n == 0:
        return x.clone()

    work_dtype = torch.float32 if x.dtype in _UPCAST else x.dtype
    theta = _theta(angle_t, tx, ty, scale_t, shear_t, height, width)
    theta = theta.to(device=x.device, dtype=work_dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return _resample(x, grid, work_dtype, interpolation, fill)


def _resample(x: torch.Tensor, grid: torch.Tensor, work_dtype, mode: str, fill: str):
    """``grid_sample`` of ``x`` in ``work_dtype``, returned in ``x``'s dtype and layout."""
    out = F.grid_sample(
        x.to(work_dtype),
        grid,
        mode=mode,
        padding_mode=_FILL_MODES[fill],
        align_corners=False,
    )
    out = out.to(x.dtype)
    # grid_sample returns a contiguous tensor; keep channels_last callers
    # (e.g. a CNN trained in channels_last) on their fast path.
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        out = out.contiguous(memory_format=torch.channels_last)
    return out


class RandomAffine(_Transform):
    """Random rotation, shift, zoom and shear of every image in a batch.

    Each image gets its own parameters, drawn uniformly from the ranges below.
    The defaults reproduce the paper's Keras
    ``ImageDataGenerator(rotation_range=20, width_shift_range=0.2,
    height_shift_range=0.2)``; ``scale`` and ``shear`` give a stronger
    baseline. Sign conventions are those of :func:`affine_transform`.

    How many augmented images an epoch sees: the transform is applied online,
    to every training batch afresh, so one epoch sees as many augmented images
    as there are training samples -- each sample once, with new random
    parameters every epoch. The authors' Keras code instead drew ``32 x N``
    augmented images per epoch with ``flow()``; skvae's ``CNNClassifier``
    controls the number of updates (epochs / iterations) instead of inflating
    the epoch.

    Parameters
    ----------
    degrees : float, default=20.0
        Rotation angle drawn uniformly from ``[-degrees, degrees]``.
    width_shift : float, default=0.2
        Horizontal shift drawn uniformly from ``[-width_shift, width_shift]``
        times the width ``W`` (in pixels), as in Keras. Must be in [0, 1].
    height_shift : float, default=0.2
        Vertical shift drawn uniformly from ``[-height_shift, height_shift]``
        times the height ``H``. Must be in [0, 1].
    scale : tuple of (float, float), optional
        Zoom factor range ``(min, max)``, e.g. ``(0.9, 1.1)``; values above 1
        enlarge the content. None (default) means no zoom.
    shear : float, default=0.0
        Shear angle in degrees drawn uniformly from ``[-shear, shear]``;
        must be below 90.
    fill : {"constant", "nearest", "border", "reflect"}, default="constant"
        How points outside the image are filled ("constant" is zeros; Keras'
        default is "nearest").
    interpolation : {"bilinear", "nearest"}, default="bilinear"
        Resampling method.

    Notes
    -----
    Parameters are stored untouched (scikit-learn convention) and validated
    each time the transform is called or parameters are sampled. Random
    numbers are drawn on the generator's device (the CPU for the default
    generator), always five per image in a fixed order, so the same seed gives
    the same parameters whatever the ranges and whatever device ``x`` is on.

    Examples
    --------
    >>> import torch
    >>> from skvae.augment import RandomAffine
    >>> aug = RandomAffine(degrees=20.0, width_shift=0.2, height_shift=0.2)
    >>> x = torch.rand(8, 1, 28, 28)
    >>> y1 = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y2 = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y1.shape, bool(torch.equal(y1, y2))
    (torch.Size([8, 1, 28, 28]), True)
    >>> RandomAffine(degrees=0.0, width_shift=0.0, height_shift=0.0)(x) is x
    True
    """

    _shown_always = ("degrees", "width_shift", "height_shift")

    def __init__(
        self,
        degrees: float = 20.0,
        width_shift: float = 0.2,
        height_shift: float = 0.2,
        scale: tuple[float, float] | None = None,
        shear: float = 0.0,
        fill: str = "constant",
        interpolation: str = "bilinear",
    ) -> None:
        self.degrees = degrees
        self.width_shift = width_shift
        self.height_shift = height_shift
        self.scale = scale
        self.shear = shear
        self.fill = fill
        self.interpolation = interpolation

    def _validated(self) -> dict[str, Any]:
        _check_choice(self.fill, "fill", _FILL_MODES)
        _check_choice(self.interpolation, "interpolation", _INTERPOLATIONS)
        return {
            "degrees": _check_real(self.degrees, "degrees", 0.0, math.inf),
            "width_shift": _check_real(self.width_shift, "width_shift", 0.0, 1.0),
            "height_shift": _check_real(self.height_shift, "height_shift", 0.0, 1.0),
            "scale": _check_scale(self.scale),
            "shear": _check_shear(self.shear),
        }

    @staticmethod
    def _is_identity(p: dict[str, Any]) -> bool:
        no_zoom = p["scale"] is None or p["scale"] == (1.0, 1.0)
        return (
            p["degrees"] == 0.0
            and p["width_shift"] == 0.0
            and p["height_shift"] == 0.0
            and p["shear"] == 0.0
            and no_zoom
        )

    def sample_params(
        self, n: int, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Draw the per-image parameters that ``__call__`` would use.

        Parameters
        ----------
        n : int
            Number of images.
        generator : torch.Generator, optional
            Source of randomness; None uses torch's global RNG.

        Returns
        -------
        dict of str to torch.Tensor
            Keys ``"angle"``, ``"translate_x"``, ``"translate_y"``,
            ``"scale"``, ``"shear"``, each a float64 tensor of shape ``(n,)``
            on the generator's device, ready for :func:`affine_transform`.

        Examples
        --------
        >>> import torch
        >>> from skvae.augment import RandomAffine
        >>> p = RandomAffine(degrees=10.0).sample_params(
        ...     5, generator=torch.Generator().manual_seed(0))
        >>> sorted(p)
        ['angle', 'scale', 'shear', 'translate_x', 'translate_y']
        >>> bool(p["angle"].abs().max() <= 10.0)
        True
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}.")
        p = self._validated()
        device = generator.device if generator is not None else "cpu"
        # Always five draws per image, in a fixed order, so that a seed maps
        # to the same parameters whichever ranges are zero.
        u = torch.rand((int(n), 5), generator=generator, dtype=torch.float64, device=device)

        def symmetric(col: int, half_width: float) -> torch.Tensor:
            return (2.0 * u[:, col] - 1.0) * half_width

        lo, hi = p["scale"] if p["scale"] is not None else (1.0, 1.0)
        return {
            "angle": symmetric(0, p["degrees"]),
            "translate_x": symmetric(1, p["width_shift"]),
            "translate_y": symmetric(2, p["height_shift"]),
            "scale": lo + (hi - lo) * u[:, 3],
            "shear": symmetric(4, p["shear"]),
        }

    def _transform(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self._is_identity(self._validated()):
            return x
        params = self.sample_params(x.shape[0], generator=generator)
        return affine_transform(x, **params, fill=self.fill, interpolation=self.interpolation)


def _gaussian_taps(sigma: float, size: int) -> torch.Tensor:
    """Normalised 1-D Gaussian of radius ``ceil(3 * sigma)`` for ``size`` pixels.

    Taps further than ``size - 1`` from the centre only ever meet the zero
    padding of a same-size convolution, so they are dropped; the weights stay
    normalised over the full radius, so the result equals the untruncated
    filter's. Returns a float64 CPU tensor of odd length.
    """
    reach = 3.0 * sigma
    if reach <= 100_000:
        radius = math.ceil(reach)
        t = torch.arange(-radius, radius + 1, dtype=torch.float64)
        taps = torch.exp(-0.5 * (t / sigma) ** 2)
        taps = taps / taps.sum()
        keep = min(radius, max(size - 1, 0))
        return taps[radius - keep : radius + keep + 1]
    # For such a wide Gaussian the discrete sum over [-radius, radius] equals
    # the integral over [-3 sigma, 3 sigma] to ~1e-5 relative; no need for the
    # (huge) full kernel.
    keep = max(size - 1, 0)
    t = torch.arange(-keep, keep + 1, dtype=torch.float64)
    total = sigma * math.sqrt(2.0 * math.pi) * math.erf(3.0 / math.sqrt(2.0))
    return torch.exp(-0.5 * (t / sigma) ** 2) / total


class ElasticDistortion(_Transform):
    """Random elastic distortion of every image in a batch (Simard et al., 2003).

    Each image gets its own displacement field: a value drawn uniformly from
    ``[-1, 1]`` for every pixel and each of the two directions, smoothed with a
    Gaussian filter of standard deviation ``sigma`` pixels (zero padding,
    radius ``ceil(3 * sigma)``) and scaled by ``alpha`` pixels. Output pixel
    ``(i, j)`` takes the (bilinearly interpolated) input value at row
    ``i + dy[i, j]``, column ``j + dx[i, j]``. All channels of an image share
    its field. The default ``alpha=34, sigma=4`` is the setting Simard et al.
    used on 28 x 28 MNIST digits.

    Parameters
    ----------
    alpha : float, default=34.0
        Scale of the displacement, in pixels (>= 0). ``0`` disables the
        transform.
    sigma : float, default=4.0
        Standard deviation of the Gaussian smoothing the displacement, in
        pixels (> 0). Small values give a noisy, large values a smooth (and
        weaker) field.
    fill : {"constant", "nearest", "border", "reflect"}, default="constant"
        How points outside the image are filled: zeros, the nearest border
        pixel ("nearest" and "border" are synonyms), or a reflection.

    Notes
    -----
    Parameters are stored untouched (scikit-learn convention) and validated
    each time the transform is called. The random numbers are ``2 * H * W``
    float32 uniforms per image, drawn as one ``(N, 2, H, W)`` tensor (x then y
    displacement) on the generator's device (the CPU for the default
    generator) and moved to ``x``'s device, so the same seed gives the same
    field whatever device and dtype ``x`` has. Smoothing and resampling use a
    separable ``F.conv2d`` and ``F.grid_sample``; half precision inputs are
    processed in float32 and cast back; the output keeps a channels-last
    memory format of ``x``.

    References
    ----------
    P. Y. Simard, D. Steinkraus and J. C. Platt, "Best practices for
    convolutional neural networks applied to visual document analysis",
    ICDAR 2003.

    Examples
    --------
    >>> import torch
    >>> from skvae.augment import ElasticDistortion
    >>> aug = ElasticDistortion(alpha=34.0, sigma=4.0)
    >>> x = torch.rand(8, 1, 28, 28)
    >>> y1 = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y2 = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y1.shape, bool(torch.equal(y1, y2))
    (torch.Size([8, 1, 28, 28]), True)
    >>> ElasticDistortion(alpha=0.0)(x) is x
    True
    """

    _shown_always = ("alpha", "sigma")

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0, fill: str = "constant") -> None:
        self.alpha = alpha
        self.sigma = sigma
        self.fill = fill

    def _validated(self) -> tuple[float, float]:
        alpha = _check_real(self.alpha, "alpha", 0.0, math.inf)
        sigma = _check_real(self.sigma, "sigma", 0.0, math.inf)
        if sigma == 0.0:
            raise ValueError(f"sigma must be positive, got {self.sigma!r}.")
        _check_choice(self.fill, "fill", _FILL_MODES)
        return alpha, sigma

    def _transform(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        alpha, sigma = self._validated()
        if alpha == 0.0:
            return x
        n, _, height, width = x.shape
        if x.numel() == 0:
            return x.clone()

        work_dtype = torch.float32 if x.dtype in _UPCAST else x.dtype
        device = generator.device if generator is not None else "cpu"
        noise = torch.rand(
            (n, 2, height, width), generator=generator, dtype=torch.float32, device=device
        )
        field = (2.0 * noise - 1.0).to(device=x.device, dtype=work_dtype)
        # Separable Gaussian smoothing of both displacement maps (zero padding,
        # same size out); the taps are float64 on the CPU, cast once.
        field = field.reshape(n * 2, 1, height, width)
        kx = _gaussian_taps(sigma, width).to(device=x.device, dtype=work_dtype)
        ky = _gaussian_taps(sigma, height).to(device=x.device, dtype=work_dtype)
        field = F.conv2d(field, kx.view(1, 1, 1, -1), padding=(0, kx.numel() // 2))
        field = F.conv2d(field, ky.view(1, 1, -1, 1), padding=(ky.numel() // 2, 0))
        field = field.reshape(n, 2, height, width)
        # Pixels -> normalised coordinates (align_corners=False: 2 / size per
        # pixel), as (N, H, W, 2) offsets (x, y) added to the identity grid.
        scale = torch.tensor(
            [2.0 * alpha / width, 2.0 * alpha / height], dtype=work_dtype, device=x.device
        )
        offset = field.permute(0, 2, 3, 1) * scale
        identity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=work_dtype)
        base = F.affine_grid(identity.to(x.device), [1, 1, height, width], align_corners=False)
        return _resample(x, base + offset, work_dtype, "bilinear", self.fill)


class RandomFlip(_Transform):
    """Mirror each image of a batch left-right and/or upside down at random.

    Harmful for digits (a mirrored 2 is no digit, an upside-down 6 is a 9);
    the augmentation-strength study uses it as the kind of transformation a
    user without knowledge of the domain might pick.

    Parameters
    ----------
    horizontal : float, default=0.5
        Probability that an image is mirrored left-right, in [0, 1].
    vertical : float, default=0.0
        Probability that an image is mirrored upside down, in [0, 1].

    Notes
    -----
    Two uniforms are drawn per image (left-right, then upside down) on the
    generator's device, whatever the probabilities, so a seed gives the same
    flips whatever the settings and whatever device ``x`` is on.

    Examples
    --------
    >>> import torch
    >>> from skvae.augment import RandomFlip
    >>> x = torch.arange(4.0).view(1, 1, 2, 2)
    >>> RandomFlip(horizontal=1.0)(x)[0, 0].tolist()
    [[1.0, 0.0], [3.0, 2.0]]
    >>> RandomFlip(horizontal=0.0)(x) is x
    True
    """

    _shown_always = ("horizontal", "vertical")

    def __init__(self, horizontal: float = 0.5, vertical: float = 0.0) -> None:
        self.horizontal = horizontal
        self.vertical = vertical

    def _transform(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        p_h = _check_real(self.horizontal, "horizontal", 0.0, 1.0)
        p_v = _check_real(self.vertical, "vertical", 0.0, 1.0)
        if p_h == 0.0 and p_v == 0.0:
            return x
        device = generator.device if generator is not None else "cpu"
        u = torch.rand((x.shape[0], 2), generator=generator, dtype=torch.float64, device=device)
        flip = (u < torch.tensor([p_h, p_v], dtype=torch.float64, device=device)).to(x.device)
        shape = (-1, 1, 1, 1)
        out = torch.where(flip[:, 0].view(shape), x.flip(-1), x)
        return torch.where(flip[:, 1].view(shape), out.flip(-2), out)


class Compose(BaseEstimator):
    """Apply several batch transforms in turn, sharing one generator.

    Parameters
    ----------
    transforms : sequence of callables
        Transforms such as :class:`RandomAffine` and :class:`ElasticDistortion`,
        each called as ``transform(x, generator=generator)`` on the previous
        one's output, in order. An empty sequence is the identity.

    Notes
    -----
    ``transforms`` is stored untouched (scikit-learn convention), so
    :func:`sklearn.base.clone` clones the estimators in it, and validated each
    time the composition is called. Since every transform draws from the same
    generator in turn, one seed makes the whole chain reproducible.

    Examples
    --------
    >>> import torch
    >>> from skvae.augment import Compose, ElasticDistortion, RandomAffine
    >>> aug = Compose([RandomAffine(degrees=10.0), ElasticDistortion(alpha=8.0)])
    >>> x = torch.rand(8, 1, 28, 28)
    >>> y1 = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y2 = aug(x, generator=torch.Generator().manual_seed(0))
    >>> y1.shape, bool(torch.equal(y1, y2))
    (torch.Size([8, 1, 28, 28]), True)
    >>> Compose([])(x) is x
    True
    """

    def __init__(self, transforms: Sequence[Any]) -> None:
        self.transforms = transforms

    def _validated(self) -> list[Any]:
        transforms = self.transforms
        if isinstance(transforms, (str, bytes)) or not isinstance(transforms, Sequence):
            raise TypeError(
                "transforms must be a sequence (list or tuple) of callables, "
                f"got {type(transforms).__name__}."
            )
        for i, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(
                    f"transforms[{i}] must be callable, got {transform!r} "
                    f"of type {type(transform).__name__}."
                )
        return list(transforms)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply every transform in order to a batch.

        Parameters
        ----------
        x : torch.Tensor of shape (N, C, H, W)
            Image batch, passed to the first transform.
        generator : torch.Generator, optional
            Source of randomness, passed to every transform. None makes them
            use torch's global RNG.

        Returns
        -------
        torch.Tensor
            The last transform's output; ``x`` itself when ``transforms`` is
            empty.

        Examples
        --------
        >>> import torch
        >>> from skvae.augment import Compose
        >>> double = lambda x, generator=None: 2 * x
        >>> Compose([double, double])(torch.ones(1, 1, 2, 2))[0, 0].tolist()
        [[4.0, 4.0], [4.0, 4.0]]
        """
        for transform in self._validated():
            x = transform(x, generator=generator)
        return x
