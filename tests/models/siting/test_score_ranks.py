"""The per-draw ranks and quantiles of the siting screen's assembly against the plain NumPy
definitions (stable argsort, np.quantile), with the ties float32 draws have."""

import sys

import numpy as np
import pytest

import powerfirst.models.siting  # noqa: F401 - loads the module below

screen_mod = sys.modules["powerfirst.models.siting.screen"]


def _stable_ranks(filled):
    by = np.argsort(-filled, axis=0, kind="stable")
    out = np.empty(filled.shape)
    np.put_along_axis(out, by, np.arange(1, filled.shape[0] + 1, dtype=float)[:, None], axis=0)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 3])
def test_draw_ranks_are_those_of_a_stable_sort_with_ties_by_candidate_order(dtype, threads, monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.random((3000, 7)).astype(dtype)
    x[:, 1] = np.round(x[:, 1], 2)  # many ties: candidate order must break them
    x[rng.random(x.shape) < 0.05] = -np.inf  # excluded candidates
    x[10, 2], x[11, 2], x[12, 2], x[13, 2] = -0.0, 0.0, -1e-30, -2.5  # signed zeros tie; negatives order
    monkeypatch.setattr(screen_mod, "_threads", lambda: threads)
    ranks = screen_mod._draw_ranks(x)
    np.testing.assert_array_equal(ranks, _stable_ranks(x))
    assert ranks[11, 2] == ranks[10, 2] + 1  # -0.0 and +0.0 are one score: the earlier candidate first
    assert ranks[12, 2] > ranks[11, 2] and ranks[13, 2] > ranks[12, 2]


@pytest.mark.parametrize("layout", ["site-major", "draw-major"])
def test_row_quantiles_are_numpy_quantiles_of_the_valid_candidates(layout, monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.random((500, 40))
    valid = rng.random(500) > 0.1
    x[~valid] = np.nan
    arr = x if layout == "site-major" else np.asfortranarray(x)
    monkeypatch.setattr(screen_mod, "_threads", lambda: 2)
    got = screen_mod._row_quantile(arr, (0.1, 0.9), valid)
    want = np.quantile(x[valid], (0.1, 0.9), axis=1)
    np.testing.assert_array_equal(got[:, valid], want)
    assert np.isnan(got[:, ~valid]).all()
