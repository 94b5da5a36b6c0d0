"""Compiled breakpoint scan of the exact headroom solver (see :mod:`.solver`)."""

from __future__ import annotations

import numba
import numpy as np


def _weights(year_codes: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """w_t = s_t / (Y * sum_{u in year(t)} s_u) for (ba, time) shape and year codes on time."""
    n_years = int(year_codes.max()) + 1
    sums = np.zeros(shape.shape[:-1] + (n_years,))
    for k in range(n_years):
        sums[..., k] = shape[..., year_codes == k].sum(-1)
    present = sums > 0
    y = present.sum(-1, keepdims=True)
    denom = sums[..., year_codes] * y
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, shape / denom, 0.0)


@numba.njit(cache=True)
def _scan_sorted(bs, ws, limits, out):
    """Scan sorted breakpoints ``bs`` with weights ``ws``; write L* per limit into ``out``.

    Walks the groups of equal breakpoints in order, keeping W and S of the
    breakpoints already passed.  At the group at ``b`` the rate is
    ``R(b) = (W b - S) / b`` (``W`` at ``b = 0``); the first group where it
    exceeds ``rho`` closes the segment, on which ``L* = S / (W - rho)`` with W
    and S of the breakpoints before the group (0 when the crossing is at
    ``0+``).  Returns False when the largest limit is not crossed within the
    breakpoints given and they do not carry all the weight (the caller then
    passes all breakpoints).
    """
    n = bs.size
    nl = limits.size
    w_prev = 0.0
    s_prev = 0.0
    n_done = 0
    done = np.zeros(nl, np.bool_)
    i = 0
    while i < n and n_done < nl:
        b = bs[i]
        w_grp = 0.0
        s_grp = 0.0
        j = i
        while j < n and bs[j] == b:
            w_grp += ws[j]
            s_grp += ws[j] * b
            j += 1
        w_now = w_prev + w_grp
        rate = w_now if b <= 0.0 else (w_now * b - (s_prev + s_grp)) / b
        for m in range(nl):
            if not done[m] and rate > limits[m]:
                if b <= 0.0 or w_prev <= limits[m]:
                    out[m] = 0.0
                else:
                    out[m] = s_prev / (w_prev - limits[m])
                done[m] = True
                n_done += 1
        w_prev = w_now
        s_prev += s_grp
        i = j
    if n_done == nl:
        return True
    if w_prev < 1.0 - 1e-9:
        return False
    for m in range(nl):  # beyond the last breakpoint: every hour curtailed
        if not done[m]:
            out[m] = s_prev / (w_prev - limits[m])
    return True


def _solve_kernel(room: np.ndarray, shape: np.ndarray, year_codes: np.ndarray, limits: np.ndarray):
    """Exact headroom for each row of ``room`` (h_t^+) and each limit (fractions).

    Sorts the breakpoints :math:`b_t = h_t^+ / s_t` with their weights and
    scans them (compiled) accumulating :math:`W` and :math:`S`; the first
    breakpoint whose rate exceeds :math:`\rho` closes the segment holding
    :math:`L^* = S / (W - \rho)`.  Only breakpoints that can matter are
    sorted: :math:`L^* \\le 2 b_q` where :math:`b_q` is the breakpoint below
    which lies a weight of :math:`2\rho_{max}` (then :math:`R(2 b_q) \\ge
    \rho_{max}`), so for a flat load only the lowest ~:math:`3\rho_{max}`
    share of hours is sorted; if the scan runs out, all are sorted.

    Returns headroom [MW] with shape room.shape[:-1] + (n_limits,).
    """
    room = np.maximum(np.asarray(room, dtype=float), 0.0)
    shape = np.broadcast_to(np.asarray(shape, dtype=float), room.shape)
    w = _weights(year_codes, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(shape > 0, room / shape, np.inf)
    lead = room.shape[:-1]
    b2 = b.reshape(-1, b.shape[-1])
    w2 = w.reshape(b2.shape)
    n = b2.shape[-1]
    rho_max = float(limits.max())
    wmax_ratio = float(w2.max() * n / max(w2.sum(-1).max(), 1e-300))
    q = min(1.0, 2.0 * rho_max * wmax_ratio * 1.1)
    kq = min(n - 1, int(np.ceil(q * n)))
    res = np.empty((b2.shape[0], limits.size))
    lim = np.asarray(limits, dtype=float)
    for r in range(b2.shape[0]):
        br, wr = b2[r], w2[r]
        ok = False
        if kq < n - 1:
            cut = 2.0 * np.partition(br, kq)[kq]
            sel = np.flatnonzero(br <= cut)
            o = sel[np.argsort(br[sel])]
            ok = _scan_sorted(br[o], wr[o], lim, res[r])
        if not ok:
            o = np.argsort(br)
            if not _scan_sorted(br[o], wr[o], lim, res[r]):
                res[r] = np.inf
    return res.reshape(lead + (limits.size,))


def _stats_kernel(room, shape, year_codes, peak_mw):
    """Curtailment statistics for one new-load peak per row: (rate per year, hours/yr, events...)."""
    room = np.maximum(room, 0.0)
    load = peak_mw[..., None] * shape
    c = np.maximum(0.0, load - room)
    curtailed = c > 1e-9 * np.maximum(peak_mw[..., None], 1.0)
    n_years = int(year_codes.max()) + 1
    rates = np.full(room.shape[:-1] + (n_years,), np.nan)
    hours = np.zeros(room.shape[:-1] + (n_years,))
    for k in range(n_years):
        m = year_codes == k
        energy = load[..., m].sum(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rates[..., k] = np.where(energy > 0, c[..., m].sum(-1) / energy, np.nan)
        hours[..., k] = curtailed[..., m].sum(-1)
    half = curtailed & (c <= 0.5 * load + 1e-9)
    n_curt = curtailed.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_half = np.where(n_curt > 0, half.sum(-1) / n_curt, np.nan)
    # events: runs of consecutive curtailed hours
    starts = curtailed & ~np.concatenate([np.zeros(curtailed.shape[:-1] + (1,), bool), curtailed[..., :-1]], -1)
    n_events = starts.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_event = np.where(n_events > 0, n_curt / n_events, np.nan)
    run_id = np.cumsum(starts, -1) * curtailed
    max_event = np.zeros(room.shape[:-1])
    flat_ids = run_id.reshape(-1, run_id.shape[-1])
    flat_max = max_event.reshape(-1)
    for r in range(flat_ids.shape[0]):
        ids = flat_ids[r]
        flat_max[r] = np.bincount(ids[ids > 0]).max() if (ids > 0).any() else 0
    return rates, hours, mean_event, max_event, share_half, n_events
