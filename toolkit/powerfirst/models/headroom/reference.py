"""Plain reference of the headroom problem: a root finder on the curtailment rate, for checking."""

from __future__ import annotations

import numpy as np

__all__ = ["curtailment_rate", "headroom_reference"]


def curtailment_rate(load: np.ndarray, threshold: np.ndarray, years: np.ndarray, peak_mw: float,
                     shape: np.ndarray | None = None) -> float:
    """Mean annual curtailment rate [1] of a new load of peak ``peak_mw`` [MW] (plain numpy)."""
    shape = np.ones_like(load) if shape is None else shape
    new = peak_mw * shape
    c = np.minimum(new, np.maximum(0.0, load + new - threshold))
    rates = [c[years == y].sum() / new[years == y].sum() for y in np.unique(years) if new[years == y].sum() > 0]
    return float(np.mean(rates))


def headroom_reference(load: np.ndarray, threshold: np.ndarray, years: np.ndarray, limit_pct: float,
                       shape: np.ndarray | None = None, xtol: float = 1e-6) -> float:
    """Headroom [MW] by a root finder on ``curtailment_rate(L) - limit`` (Brent's method).

    The plain check of :func:`flexible_headroom`: no sorting, no breakpoints.
    """
    from scipy.optimize import brentq

    rho = limit_pct / 100.0
    lo = 1e-6
    if curtailment_rate(load, threshold, years, lo, shape) > rho:
        return 0.0
    hi = max(1.0, float(np.nanmax(threshold)))
    while curtailment_rate(load, threshold, years, hi, shape) <= rho:
        hi *= 2
    return brentq(lambda x: curtailment_rate(load, threshold, years, x, shape) - rho, lo, hi, xtol=xtol,
                  rtol=1e-12, maxiter=500)


# ---------------------------------------------------------------------------
# event detail for a chosen new load
