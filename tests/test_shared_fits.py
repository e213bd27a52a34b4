"""SharedFits: the grid's memory that trains class-VAEs once for the cells that share them."""

import threading
import time

import pytest

from skvae.experiment._shared_fits import SharedFits, plan_shared_fits
from skvae.experiment.cells import Cell


def _counting(calls):
    def square(x, verbose=0):
        calls.append(x)
        time.sleep(0.3)  # long enough for a second caller to arrive meanwhile
        return {"value": x * x}

    return square


def test_computed_once_loaded_by_the_others_then_deleted(tmp_path):
    calls = []
    shared = SharedFits(tmp_path, readers=3)
    func = shared.cache(_counting(calls), ignore=["verbose"])
    assert func(4) == {"value": 16}
    assert list(tmp_path.glob("*.pkl"))  # kept for the two readers to come
    assert func(4, verbose=1) == {"value": 16}  # ignored argument: same key
    assert func(5) == {"value": 25}  # another key computes
    assert calls == [4, 5]
    assert func(4) == {"value": 16}
    assert calls == [4, 5]
    stored = {p.name.split(".")[0] for p in tmp_path.glob("*.pkl")}
    assert len(stored) == 1  # key 4 had its 3 readers and is gone, key 5 waits for 2 more


def test_one_reader_stores_nothing(tmp_path):
    calls = []
    func = SharedFits(tmp_path / "fits", readers=1).cache(_counting(calls))
    assert func(3) == {"value": 9} and func(3) == {"value": 9}
    assert calls == [3, 3] and not (tmp_path / "fits").exists()


def test_a_second_caller_waits_instead_of_computing(tmp_path):
    calls, results = [], []
    func = SharedFits(tmp_path, readers=2).cache(_counting(calls))
    threads = [threading.Thread(target=lambda: results.append(func(7))) for _ in range(2)]
    threads[0].start()
    time.sleep(0.05)
    threads[1].start()
    for t in threads:
        t.join()
    assert calls == [7] and results == [{"value": 49}] * 2
    assert not list(tmp_path.glob("*.pkl"))


def test_share_order_and_readers(tmp_path):
    cells = [
        Cell("digits", 20, None, "CNN", 0),
        Cell("digits", 20, 2, "VAE", 0),
        Cell("digits", 20, 2, "AUG+VAE", 0),
        Cell("digits", 20, 3, "VAE", 0),
        Cell("digits", 20, None, "SMOTE", 0),
        Cell("digits", 20, None, "AUG", 0),
    ]
    order, memories, folder = plan_shared_fits(cells, tmp_path, gap=2)
    assert sorted(order, key=str) == sorted(cells, key=str)
    # AUG+VAE loads VAE's class-VAEs: at least 2 places (workers) behind it.
    assert order.index(cells[2]) - order.index(cells[1]) >= 2
    assert set(memories) == {cells[1], cells[2]}  # z3 and SMOTE share with nobody
    assert all(m.readers == 2 and m.location == str(folder) for m in memories.values())
    assert folder.parent == tmp_path and folder.name.startswith(".shared-vae-fits-")


def test_nothing_to_share_makes_no_folder(tmp_path):
    cells = [Cell("digits", 20, 2, "VAE", s) for s in range(3)]
    assert plan_shared_fits(cells, tmp_path, gap=2) == (cells, {}, None)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("readers", [2, 5])
def test_repr_and_pickle(tmp_path, readers):
    import pickle

    shared = SharedFits(tmp_path, readers)
    copy = pickle.loads(pickle.dumps(shared))
    assert (copy.location, copy.readers) == (str(tmp_path), readers)
    assert repr(shared) == f"SharedFits({str(tmp_path)!r}, readers={readers})"
