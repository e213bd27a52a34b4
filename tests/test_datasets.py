"""Tests for skvae.datasets (MNIST reading, verification, download; digits)."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from skvae.datasets import get_data_home, load_digits, load_mnist

# The shared data folder sits beside the repository root (also in CI, where the
# repository is cloned elsewhere with ../shared next to it).
MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"

TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
ALL_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    *TEST_FILES,
)


def _source(name: str) -> Path:
    """The shared copy of ``name`` (gzipped or raw)."""
    for candidate in (MNIST_DIR / f"{name}.gz", MNIST_DIR / name):
        if candidate.is_file():
            return candidate
    pytest.fail(f"MNIST file {name} missing from the shared folder {MNIST_DIR}")


def _raw_bytes(name: str) -> bytes:
    path = _source(name)
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _gz_bytes(name: str) -> bytes:
    path = _source(name)
    data = path.read_bytes()
    return data if path.suffix == ".gz" else gzip.compress(data, compresslevel=1)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture(scope="module")
def mnist():
    assert MNIST_DIR.is_dir(), f"shared MNIST folder missing: {MNIST_DIR}"
    return load_mnist(MNIST_DIR, download=False)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def serve() -> Iterator:
    """Start loopback HTTP servers for folders; yields ``serve(folder) -> url``."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _mirror_folder(root: Path, names=ALL_FILES, corrupt=None) -> Path:
    """A folder with the .gz files of ``names``; ``corrupt`` maps name->bytes."""
    root.mkdir()
    for name in names:
        content = (corrupt or {}).get(name)
        if content is None:
            content = _gz_bytes(name)
        (root / f"{name}.gz").write_bytes(content)
    return root


def _closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ----------------------------------------------------------------------------
# Reading the shared copy
# ----------------------------------------------------------------------------


def test_load_mnist_shared_folder(mnist):
    assert mnist.data.shape == (70_000, 784)
    assert mnist.data.dtype == np.float32
    assert mnist.data.min() == 0.0 and mnist.data.max() == 1.0
    assert mnist.target.dtype == np.int64
    assert mnist.target.shape == (70_000,)
    assert set(np.unique(mnist.target)) == set(range(10))
    assert mnist.images.shape == (70_000, 28, 28)
    assert np.shares_memory(mnist.images, mnist.data)
    assert mnist.image_shape == (1, 28, 28)
    assert mnist.is_test.dtype == bool
    assert mnist.is_test.sum() == 10_000 and not mnist.is_test[:60_000].any()
    assert mnist.X_train.shape == (60_000, 784)
    assert mnist.y_train.shape == (60_000,)
    assert mnist.X_test.shape == (10_000, 784)
    assert mnist.y_test.shape == (10_000,)
    np.testing.assert_array_equal(mnist.X_test, mnist.data[mnist.is_test])
    # well-known first labels of the official files
    np.testing.assert_array_equal(mnist.y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(mnist.y_test[:5], [7, 2, 1, 0, 4])
    assert mnist.data_home == str(MNIST_DIR)


def test_load_mnist_subsets_and_return_X_y(mnist):
    test = load_mnist(MNIST_DIR, subset="test", download=False)
    assert test.data.shape == (10_000, 784)
    assert test.is_test.all()
    assert "X_train" not in test and test.X_test.shape == (10_000, 784)
    np.testing.assert_array_equal(test.data, mnist.X_test)
    np.testing.assert_array_equal(test.target, mnist.y_test)

    X, y = load_mnist(MNIST_DIR, subset="train", download=False, return_X_y=True)
    assert X.shape == (60_000, 784) and y.shape == (60_000,)
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, mnist.y_train)


def test_load_mnist_env_var_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("SKVAE_DATA_HOME", str(MNIST_DIR))
    X, y = load_mnist(subset="test", download=False, return_X_y=True)
    assert X.shape == (10_000, 784)

    monkeypatch.delenv("SKVAE_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / ".skvae_data" / "mnist"
    assert get_data_home(tmp_path / "x") == tmp_path / "x"


def test_load_mnist_raw_files(tmp_path):
    # Raw (uncompressed) files are accepted, also mixed with gzipped ones.
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_raw_bytes("t10k-labels-idx1-ubyte"))
    (tmp_path / "t10k-images-idx3-ubyte.gz").symlink_to(_source("t10k-images-idx3-ubyte"))
    bunch = load_mnist(tmp_path, subset="test", download=False)
    assert bunch.data.shape == (10_000, 784)
    np.testing.assert_array_equal(bunch.target[:5], [7, 2, 1, 0, 4])


# ----------------------------------------------------------------------------
# Local errors
# ----------------------------------------------------------------------------


def test_missing_without_download_names_folder(tmp_path, monkeypatch):
    folder = tmp_path / "nothing here"
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte") as info:
        load_mnist(folder, subset="test", download=False)
    assert str(folder) in str(info.value)
    assert not folder.exists()  # nothing created without download

    monkeypatch.setenv("SKVAE_DATA_HOME", str(folder))
    with pytest.raises(FileNotFoundError, match="nothing here"):
        load_mnist(download=False)


@pytest.mark.parametrize(
    "filename, content",
    [
        # truncated gzip stream
        (
            "t10k-labels-idx1-ubyte.gz",
            lambda: _gz_bytes("t10k-labels-idx1-ubyte")[:-100],
        ),
        # valid gzip, wrong content (one label changed)
        (
            "t10k-labels-idx1-ubyte.gz",
            lambda: gzip.compress(_flip(_raw_bytes("t10k-labels-idx1-ubyte"), 100)),
        ),
        # raw file with one byte changed
        (
            "t10k-labels-idx1-ubyte",
            lambda: _flip(_raw_bytes("t10k-labels-idx1-ubyte"), 5000),
        ),
        # raw file truncated
        ("t10k-labels-idx1-ubyte", lambda: _raw_bytes("t10k-labels-idx1-ubyte")[:-1]),
        # not gzip at all
        ("t10k-labels-idx1-ubyte.gz", lambda: b"<html>Not Found</html>"),
    ],
)
def test_corrupt_local_file_names_file(tmp_path, filename, content):
    (tmp_path / "t10k-images-idx3-ubyte.gz").symlink_to(_source("t10k-images-idx3-ubyte"))
    (tmp_path / filename).write_bytes(content())
    with pytest.raises(ValueError, match="corrupt or truncated") as info:
        load_mnist(tmp_path, subset="test", download=True, mirrors=_closed_port_url())
    assert str(tmp_path / filename) in str(info.value)
    # the corrupt user file is reported, neither replaced nor deleted
    assert (tmp_path / filename).is_file()


def _flip(data: bytes, position: int) -> bytes:
    buf = bytearray(data)
    buf[position] ^= 0xFF
    return bytes(buf)


def test_read_only_folder_is_not_written(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    for name in TEST_FILES:
        shutil.copyfile(_source(name), folder / _source(name).name)
    folder.chmod(0o555)
    try:
        before = sorted(p.name for p in folder.iterdir())
        load_mnist(folder, subset="test")
        assert sorted(p.name for p in folder.iterdir()) == before
    finally:
        folder.chmod(0o755)


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match="subset"):
        load_mnist(tmp_path, subset="validation")
    with pytest.raises(ValueError, match="timeout"):
        load_mnist(tmp_path, timeout=0)
    with pytest.raises(ValueError, match="mirrors"):
        load_mnist(tmp_path, mirrors=[])


# ----------------------------------------------------------------------------
# Download through a real loopback HTTP server
# ----------------------------------------------------------------------------


def test_download_all_files(tmp_path, serve, mnist):
    url = serve(_mirror_folder(tmp_path / "mirror"))
    home = tmp_path / "home" / "mnist"  # created on download
    bunch = load_mnist(home, mirrors=[url], timeout=10)
    assert bunch.data.shape == (70_000, 784)
    np.testing.assert_array_equal(bunch.target, mnist.target)
    np.testing.assert_array_equal(bunch.data[::997], mnist.data[::997])
    assert sorted(p.name for p in home.iterdir()) == sorted(f"{name}.gz" for name in ALL_FILES)
    # a second call reads the downloaded files, even with no mirror reachable
    X, y = load_mnist(home, subset="test", return_X_y=True, mirrors=_closed_port_url())
    np.testing.assert_array_equal(y, mnist.y_test)


def test_download_falls_back_to_next_mirror(tmp_path, serve):
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = serve(empty)  # answers 404
    good = serve(_mirror_folder(tmp_path / "mirror", TEST_FILES))
    home = tmp_path / "home"
    bunch = load_mnist(home, subset="test", mirrors=[_closed_port_url(), bad, good])
    assert bunch.data.shape == (10_000, 784)
    assert _leftovers(home) == []


@pytest.mark.parametrize("kind", ["checksum", "truncated"])
def test_download_corrupt_is_rejected(tmp_path, serve, kind):
    name = "t10k-labels-idx1-ubyte"
    if kind == "checksum":
        bad = gzip.compress(_flip(_raw_bytes(name), 200))
    else:
        bad = _gz_bytes(name)[: len(_gz_bytes(name)) // 2]
    url = serve(_mirror_folder(tmp_path / "mirror", TEST_FILES, corrupt={name: bad}))
    home = tmp_path / "home"
    with pytest.raises(ValueError, match=name) as info:
        load_mnist(home, subset="test", mirrors=[url])
    assert url in str(info.value)
    # nothing is left behind that could later be taken for a valid file
    assert not (home / f"{name}.gz").exists()
    assert not (home / name).exists()
    assert _leftovers(home) == []


def test_download_unreachable_names_folder(tmp_path):
    home = tmp_path / "offline home"
    with pytest.raises(ConnectionError) as info:
        load_mnist(home, subset="test", mirrors=[_closed_port_url()], timeout=5)
    message = str(info.value)
    assert str(home) in message
    assert "t10k-images-idx3-ubyte" in message
    assert not home.exists()  # nothing written when no mirror answers


# ----------------------------------------------------------------------------
# Digits
# ----------------------------------------------------------------------------


def test_load_digits():
    digits = load_digits()
    assert digits.data.shape == (1797, 64)
    assert digits.data.dtype == np.float32
    assert digits.data.min() == 0.0 and digits.data.max() == 1.0
    assert digits.target.shape == (1797,) and digits.target.dtype == np.int64
    assert set(np.unique(digits.target)) == set(range(10))
    assert digits.images.shape == (1797, 8, 8)
    assert digits.image_shape == (1, 8, 8)
    np.testing.assert_array_equal(digits.images[3].ravel(), digits.data[3])

    X, y = load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, digits.data)
    np.testing.assert_array_equal(y, digits.target)


def test_download_interrupted_transfer(tmp_path):
    # A server that announces more bytes than it sends, then closes.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def answer_once():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n"
                + _gz_bytes("t10k-images-idx3-ubyte")[:5000]
            )

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    home = tmp_path / "home"
    try:
        with pytest.raises(ConnectionError, match="incomplete download") as info:
            load_mnist(home, subset="test", mirrors=[f"http://127.0.0.1:{port}/"], timeout=5)
    finally:
        thread.join(timeout=5)
        listener.close()
    assert str(home) in str(info.value)
    assert list(home.iterdir()) == []
