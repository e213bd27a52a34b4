"""Dataset loaders returning scikit-learn style :class:`~sklearn.utils.Bunch` objects.

Two loaders are provided:

* :func:`load_mnist` reads (and, if needed, downloads) the MNIST handwritten
  digits from the four official IDX files, verifying the SHA-256 checksum of
  their decompressed content.
* :func:`load_digits` wraps scikit-learn's bundled 8x8 digits in the same
  format, for fast offline experiments and tests.

Both return images as ``float32`` in ``[0, 1]``, flattened to a 2-D ``data``
array of shape ``(n_samples, n_features)`` as scikit-learn expects, together
with ``images`` (the same pixels as 2-D images) and ``image_shape``
(``(channels, height, width)``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import logging
import numbers
import os
import shutil
import tempfile
import urllib.request
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from sklearn.utils import Bunch

__all__ = ["MNIST_MIRRORS", "get_data_home", "load_digits", "load_mnist"]

logger = logging.getLogger(__name__)

#: Public mirrors of the four MNIST ``.gz`` files, tried in order.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Environment variable naming the folder that directly holds the MNIST files.
DATA_HOME_ENV = "SKVAE_DATA_HOME"

# base file name -> SHA-256 of the *decompressed* IDX content.
_MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

# subset part -> (images file, labels file, number of samples)
_MNIST_PARTS: dict[str, tuple[str, str, int]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}

_MNIST_SIDE = 28
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_CHUNK = 1 << 20

_MNIST_DESCR = """\
MNIST handwritten digits (LeCun, Cortes and Burges).

70,000 grey-scale 28x28 images of the digits 0-9: 60,000 in the official
training set and 10,000 in the official test set. Pixels are scaled to
float32 in [0, 1] (raw byte / 255). ``data`` holds the flattened images
(n_samples, 784); ``images`` the same pixels as (n_samples, 28, 28).
With ``subset="all"`` the training images come first, followed by the test
images; ``is_test`` marks the latter.
"""

_DIGITS_DESCR = """\
scikit-learn's bundled optical recognition of handwritten digits (8x8).

1,797 images of the digits 0-9 with 17 grey levels, scaled to float32 in
[0, 1] (raw value / 16). ``data`` holds the flattened images (n_samples, 64);
``images`` the same pixels as (n_samples, 8, 8).
"""


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder that holds (or will hold) the MNIST files.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that directly holds the MNIST files. If None, the environment
        variable ``SKVAE_DATA_HOME`` is used (it also names the folder that
        directly holds the files); if that is unset or empty,
        ``~/.skvae_data/mnist``.

    Returns
    -------
    path : pathlib.Path
        The absolute folder path. The folder is not created and may not exist.

    Examples
    --------
    >>> from skvae.datasets import get_data_home
    >>> str(get_data_home("/data/mnist"))
    '/data/mnist'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or None
    if data_home is None:
        data_home = Path("~") / ".skvae_data" / "mnist"
    return Path(data_home).expanduser().absolute()


def load_mnist(
    data_home: str | os.PathLike[str] | None = None,
    *,
    subset: Literal["all", "train", "test"] = "all",
    download: bool = True,
    return_X_y: bool = False,
    mirrors: str | Iterable[str] | None = None,
    timeout: float = 60.0,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the MNIST handwritten digits, downloading missing files.

    Reads the four official IDX files (gzipped or raw) and verifies their SHA-256;
    the *Data sets* page of the documentation tells where, how and what it returns.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that directly holds the files; None: :func:`~skvae.datasets.get_data_home`.
    subset : {"all", "train", "test"}, default="all"
        Official split to load; ``"all"``: the training images, then the test images.
    download : bool, default=True
        Whether to download missing files from ``mirrors``.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    mirrors : str or iterable of str, default=None
        Base URLs tried in order; None: :data:`~skvae.datasets.MNIST_MIRRORS`.
    timeout : float, default=60.0
        Socket timeout in seconds of each download attempt.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch` or tuple of ndarray
        ``data`` (n_samples, 784) and ``images`` (n_samples, 28, 28), float32 in
        [0, 1]; ``target``; ``is_test``; the subset's ``X_train``, ``y_train``,
        ``X_test``, ``y_test``; ``image_shape``, ``target_names``, ``subset``,
        ``data_home``, ``DESCR``. Only ``(data, target)`` if ``return_X_y``.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download=False``.
    ConnectionError
        If a missing file could not be downloaded from any mirror.
    ValueError
        If a file is corrupt or fails its checksum, or an argument is invalid.
    TypeError
        If ``timeout`` is not a number.
    PermissionError
        If a download is needed but ``data_home`` is not writable.

    Examples
    --------
    >>> X, y = load_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
    """
    _check_load_args(subset, timeout)
    mirror_list = _normalize_mirrors(mirrors)
    folder = get_data_home(data_home)
    parts = ["train", "test"] if subset == "all" else [subset]
    paths = _locate_mnist(folder, parts, download, mirror_list, timeout)
    data, target = _read_mnist(paths, parts)
    if return_X_y:
        return data, target
    return _mnist_bunch(data, target, subset, folder)


def load_digits(*, return_X_y: bool = False) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's bundled 8x8 handwritten digits in skvae's format.

    Same layout as :func:`load_mnist`, but small (1,797 samples) and always
    available offline; see the *Data sets* page of the documentation.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch` or tuple of ndarray
        ``data`` (1797, 64) and ``images`` (1797, 8, 8), float32 in [0, 1] (the
        0-16 grey levels divided by 16); ``target`` (int64); ``image_shape``
        ``(1, 8, 8)``; ``target_names``; ``DESCR``. Only ``(data, target)`` if
        ``return_X_y``.

    Examples
    --------
    >>> from skvae.datasets import load_digits
    >>> digits = load_digits()
    >>> digits.data.shape, digits.data.dtype
    ((1797, 64), dtype('float32'))
    >>> digits.images.shape, digits.image_shape
    ((1797, 8, 8), (1, 8, 8))
    >>> float(digits.data.min()), float(digits.data.max())
    (0.0, 1.0)
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    raw = _sk_load_digits()
    data = np.asarray(raw.data, dtype=np.float32) / np.float32(16)
    target = np.asarray(raw.target, dtype=np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=data.reshape(-1, 8, 8),
        image_shape=(1, 8, 8),
        target_names=np.arange(10),
        DESCR=_DIGITS_DESCR,
    )


# ----------------------------------------------------------------------------
# private helpers
# ----------------------------------------------------------------------------


def _check_load_args(subset: str, timeout: float) -> None:
    """Validate :func:`load_mnist`'s ``subset`` and ``timeout``."""
    if subset not in ("all", "train", "test"):
        raise ValueError(f"subset must be one of 'all', 'train' or 'test', got {subset!r}.")
    if not isinstance(timeout, numbers.Real) or isinstance(timeout, bool):
        raise TypeError(f"timeout must be a number, got {timeout!r}.")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}.")


def _locate_mnist(
    folder: Path, parts: list[str], download: bool, mirrors: list[str], timeout: float
) -> dict[str, Path]:
    """Path of every file ``parts`` need, downloading the missing ones if allowed.

    Every file is located first, so that a missing one is reported (or
    downloaded) before any expensive parsing.
    """
    names = [name for part in parts for name in _MNIST_PARTS[part][:2]]
    paths = {name: _find_local(folder, name) for name in names}
    missing = [name for name in names if paths[name] is None]
    if missing and not download:
        raise FileNotFoundError(
            f"MNIST file(s) {', '.join(missing)} not found in the folder "
            f"'{folder}' and download=False. Put the files there (each either "
            f"gzipped with a '.gz' suffix or raw), point data_home or the "
            f"{DATA_HOME_ENV} environment variable at the folder that holds "
            f"them, or pass download=True."
        )
    for name in missing:
        paths[name] = _download(folder, name, mirrors, timeout)
    return paths


def _read_mnist(paths: dict[str, Path], parts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(data, target)`` of ``parts`` in order: float32 pixels in [0, 1], int64 labels."""
    images_parts = []
    labels_parts = []
    for part in parts:
        images_name, labels_name, n_samples = _MNIST_PARTS[part]
        images = _load_idx_file(paths[images_name], images_name)
        labels = _load_idx_file(paths[labels_name], labels_name)
        for arr, name, path in (
            (images, images_name, paths[images_name]),
            (labels, labels_name, paths[labels_name]),
        ):
            if arr.shape[0] != n_samples:  # pragma: no cover - checksum guards
                raise ValueError(
                    f"MNIST file '{path}' holds {arr.shape[0]} samples, "
                    f"expected {n_samples} for {name}."
                )
        images_parts.append(images)
        labels_parts.append(labels)

    raw = images_parts[0] if len(images_parts) == 1 else np.concatenate(images_parts)
    n_total = raw.shape[0]
    data = np.empty((n_total, _MNIST_SIDE * _MNIST_SIDE), dtype=np.float32)
    np.divide(raw.reshape(n_total, -1), np.float32(255), out=data, dtype=np.float32)
    target = np.concatenate(labels_parts).astype(np.int64)
    return data, target


def _mnist_bunch(data: np.ndarray, target: np.ndarray, subset: str, folder: Path) -> Bunch:
    """The :class:`~sklearn.utils.Bunch` :func:`load_mnist` returns."""
    n_total = data.shape[0]
    is_test = np.zeros(n_total, dtype=bool)
    if subset != "train":
        is_test[n_total - _MNIST_PARTS["test"][2] :] = True

    bunch = Bunch(
        data=data,
        target=target,
        images=data.reshape(n_total, _MNIST_SIDE, _MNIST_SIDE),
        is_test=is_test,
        image_shape=(1, _MNIST_SIDE, _MNIST_SIDE),
        target_names=np.arange(10),
        subset=subset,
        data_home=str(folder),
        DESCR=_MNIST_DESCR,
    )
    n_train = _MNIST_PARTS["train"][2] if subset in ("all", "train") else 0
    if subset in ("all", "train"):
        bunch.X_train, bunch.y_train = data[:n_train], target[:n_train]
    if subset in ("all", "test"):
        bunch.X_test, bunch.y_test = data[n_train:], target[n_train:]
    return bunch


def _normalize_mirrors(mirrors: str | Iterable[str] | None) -> list[str]:
    if mirrors is None:
        return list(MNIST_MIRRORS)
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    result = list(mirrors)
    if not result or not all(isinstance(m, str) and m for m in result):
        raise ValueError(f"mirrors must be a non-empty list of base URL strings, got {mirrors!r}.")
    return result


def _find_local(folder: Path, name: str) -> Path | None:
    """Return the raw or gzipped file for ``name`` in ``folder``, if any."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_verified(
    path: Path,
    name: str,
    *,
    compressed: bool | None = None,
    display: str | None = None,
) -> bytes:
    """Read ``path``, decompress it if gzipped, check its SHA-256.

    Returns the decompressed content. ``compressed`` defaults to whether the
    file name ends in ``.gz``. ``display`` is how the file is named in error
    messages (defaults to the path).
    """
    if compressed is None:
        compressed = path.name.endswith(".gz")
    shown = display if display is not None else f"'{path}'"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OSError(f"Could not read MNIST file {shown}: {exc}") from exc
    if compressed:
        try:
            content = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"MNIST file {shown} is corrupt or truncated (gzip decoding "
                f"failed: {exc}). Delete it and download or copy it again."
            ) from exc
    else:
        content = raw
    digest = hashlib.sha256(content).hexdigest()
    expected = _MNIST_SHA256[name]
    if digest != expected:
        raise ValueError(
            f"MNIST file {shown} is corrupt or truncated: the SHA-256 of its "
            f"decompressed content ({len(content)} bytes) is {digest}, "
            f"expected {expected}. Delete it and download or copy it again."
        )
    return content


def _parse_idx(content: bytes, name: str, path: Path) -> np.ndarray:
    """Parse IDX bytes into a uint8 array (images: (n, 28, 28); labels: (n,))."""
    is_images = "images" in name
    n_dims = 3 if is_images else 1
    header_len = 4 * (1 + n_dims)
    if len(content) < header_len:
        raise ValueError(f"MNIST file '{path}' is too short to be an IDX file.")
    header = np.frombuffer(content, dtype=">u4", count=1 + n_dims)
    magic = int(header[0])
    expected_magic = _IDX_IMAGES_MAGIC if is_images else _IDX_LABELS_MAGIC
    if magic != expected_magic:
        raise ValueError(
            f"MNIST file '{path}' has IDX magic number {magic:#010x}, "
            f"expected {expected_magic:#010x}."
        )
    shape = tuple(int(d) for d in header[1:])
    if len(content) != header_len + int(np.prod(shape)):
        raise ValueError(
            f"MNIST file '{path}' has {len(content)} bytes, inconsistent with "
            f"its IDX header shape {shape}."
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_len).reshape(shape)


@functools.lru_cache(maxsize=8)
def _load_idx_cached(path_str: str, size: int, mtime_ns: int, name: str) -> np.ndarray:
    # ``size`` and ``mtime_ns`` are part of the cache key only, so that a
    # replaced file is read again.
    path = Path(path_str)
    arr = _parse_idx(_read_verified(path, name), name, path)
    arr.flags.writeable = False  # shared between calls: never mutate
    return arr


def _load_idx_file(path: Path, name: str) -> np.ndarray:
    """Verified uint8 array of one IDX file, cached in memory per file version."""
    stat = path.stat()
    return _load_idx_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns, name)


def _make_temp_file(folder: Path, filename: str) -> Path:
    """Create ``folder`` if needed and an empty temporary file in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise PermissionError(
            f"Cannot write to the MNIST folder '{folder}' to download {filename} "
            f"({exc}). Put the MNIST files there yourself or choose a writable "
            f"data_home."
        ) from exc
    os.close(fd)
    return Path(tmp_name)


def _download(folder: Path, name: str, mirrors: list[str], timeout: float) -> Path:
    """Download ``name + '.gz'`` into ``folder`` from the first working mirror.

    The folder is created (and written to) only once a mirror answers. The
    file is streamed to a temporary file in ``folder``, verified, then renamed
    into place, so an interrupted or corrupt download never leaves a file that
    could be taken for a valid one.
    """
    filename = f"{name}.gz"
    target = folder / filename
    failures: list[str] = []
    corrupt: list[str] = []
    for mirror in mirrors:
        url = (mirror if mirror.endswith("/") else mirror + "/") + filename
        logger.info("Downloading %s to %s", url, target)
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{url}: {exc}")
            continue
        with response:
            tmp_path = _make_temp_file(folder, filename)
            try:
                try:
                    with tmp_path.open("wb") as out:
                        shutil.copyfileobj(response, out, _CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    failures.append(f"{url}: {exc}")
                    continue
                missing = getattr(response, "length", None)
                if missing:  # connection closed before Content-Length bytes
                    failures.append(f"{url}: incomplete download, {missing} bytes missing")
                    continue
                try:
                    _read_verified(
                        tmp_path,
                        name,
                        compressed=True,
                        display=f"{filename} downloaded from {url}",
                    )
                except ValueError as exc:
                    corrupt.append(str(exc))
                    continue
                os.replace(tmp_path, target)
                return target
            finally:
                if tmp_path.exists():
                    tmp_path.unlink()

    if corrupt:
        raise ValueError(
            f"Could not obtain a valid {filename}: every copy that downloaded "
            f"failed verification and was discarded. "
            + " ".join(corrupt)
            + (f" Failed downloads: {'; '.join(failures)}." if failures else "")
        )
    raise ConnectionError(
        f"Could not download MNIST file {filename} from any mirror "
        f"({'; '.join(failures)}). If this machine is offline, copy the MNIST "
        f"files ({', '.join(f'{n}.gz' for n in _MNIST_SHA256)}; gzipped or "
        f"raw) into the folder '{folder}', or point data_home or the "
        f"{DATA_HOME_ENV} environment variable at a folder that holds them."
    )
