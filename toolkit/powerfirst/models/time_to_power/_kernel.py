r"""Compiled Monte Carlo kernels of the time-to-power model (see :mod:`powerfirst.models.time_to_power`).

Random numbers are counter-based: the uniform of stage ``s``, site ``i`` and draw ``d`` is
SplitMix64 of a key made from the seed, a hash of the site label and a hash of the stage name,
advanced by ``d``.  A site's draws therefore do not depend on which other sites are in the run,
on the chunking over sites, or on the number of threads: seeded runs are reproducible bit for bit.

Each stage duration is drawn by inversion, :math:`x = Q(u)`, with the quantile function
:math:`Q` of the stage's distribution tabulated on ``K + 1`` equally spaced levels of ``u`` and
interpolated linearly (the outermost levels are clipped at ``u = 1/(4K)`` and ``1 - 1/(4K)``,
i.e. tails beyond about 3.9 standard deviations are folded in).  Stages flagged as supply-chain
equipment share a Gaussian-copula factor per draw: :math:`z = \sqrt{\rho}\,c_d +
\sqrt{1-\rho}\,\Phi^{-1}(u)`, then :math:`x = Q(\Phi(z))`, which keeps each stage's marginal
distribution and correlates the equipment lead times by :math:`\rho` (in normal scores).

A path is a small program over registers (``LOAD`` a stage draw times a per-site node scale,
minus a per-site node shift, floored at 0; ``ADD`` = series, ``MAX`` = parallel; ``FAILIF``
= :data:`NEVER` when a latent withdrawal time is positive and earlier than the request's
clock, else 0, added to the path: competing risks); programs run on blocks of draws.
Outputs are accumulated per site without storing the draws: fine histograms of the first-power
time and of the time to the full target (quantiles among the draws that get there, P(energised
by month)), the expected MW available by month, and the expected (and discounted) MW-months
delivered by each site's horizon.
"""

from __future__ import annotations

import math

import numba
import numpy as np

OP_LOAD, OP_ADD, OP_MAX, OP_FAILIF = 0, 1, 2, 3
BLOCK = 128
#: value of a path that never energises (a withdrawn request) [month]
NEVER = 1.0e9

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0
_S52 = np.uint64(52)
_S20 = np.uint64(20)
_MASK32 = np.uint64(0xFFFFFFFF)
#: levels of the tabulated quantile functions (the fast path takes the top 12 bits as the level)
N_LEVELS = 4096


@numba.njit(inline="always")
def _mix64(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def _uniform(key, d):
    """Uniform in (0, 1) of counter ``d`` of stream ``key`` (SplitMix64)."""
    x = _mix64(key + np.uint64(d + 1) * _G)
    return (np.float64(x >> _S11) + 0.5) * _INV53


@numba.njit(inline="always")
def _ndtri(p):
    """Inverse standard-normal CDF (Acklam's rational approximation, |rel. error| < 1.2e-9)."""
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        return (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
                  - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
            ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
              + 3.754408661907416e+00) * q + 1.0)
    if p > 1.0 - 0.02425:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        return -(((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
                   - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
            ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
              + 3.754408661907416e+00) * q + 1.0)
    q = p - 0.5
    r = q * q
    return (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r
              + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q / \
        (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r
           + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1.0)


@numba.njit(inline="always")
def _lerp(table, row, u):
    k = table.shape[1] - 1
    x = u * k
    j = int(x)
    if j >= k:
        j = k - 1
    f = x - j
    a = table[row, j]
    return a + f * (table[row, j + 1] - a)


@numba.njit(inline="always")
def _fast(table, row, key, d):
    """Stage value of counter ``d``: the top 12 bits pick the level, the next 32 the fraction."""
    x = _mix64(key + np.uint64(d + 1) * _G)
    j = np.int64(x >> _S52)
    f = np.float32(np.int64((x >> _S20) & _MASK32)) * np.float32(2.3283064365386963e-10)
    a0 = table[row, j]
    return a0 + f * (table[row, j + 1] - a0)


@numba.njit(cache=True)
def all_stream_keys(seed_key, site_keys, stage_keys):
    """Keys of every (site, stage) stream, ``(site, stage)`` uint64."""
    out = np.empty((site_keys.size, stage_keys.size), np.uint64)
    for i in range(site_keys.size):
        for s in range(stage_keys.size):
            out[i, s] = _mix64(_mix64(seed_key ^ site_keys[i]) + stage_keys[s] * _G)
    return out


@numba.njit(cache=True)
def common_normals(key, n):
    """Standard-normal common factor of each draw (shared by all sites and supply-chain stages)."""
    out = np.empty(n, np.float64)
    for d in range(n):
        out[d] = _ndtri(_uniform(key, d))
    return out


@numba.njit(inline="always")
def _draw(table, row, key, d, w, cz):
    u = _uniform(key, d)
    if w > 0.0:
        z = w * cz + math.sqrt(1.0 - w * w) * _ndtri(u)
        u = 0.5 * math.erfc(-z / math.sqrt(2.0))
    return _lerp(table, row, u)


@numba.njit(cache=True)
def sample_stages(table, dist_id, keys, corr_w, common_z, n_draws, out):
    """Fill ``out[site, stage, draw]`` with stage durations [month] (0 where dist_id < 0)."""
    n_sites, n_stages = dist_id.shape
    for i in range(n_sites):
        for s in range(n_stages):
            row = dist_id[i, s]
            for d in range(n_draws):
                if row < 0:
                    out[i, s, d] = 0.0
                elif corr_w[s] > 0.0:
                    out[i, s, d] = _draw(table, row, keys[i, s], d, corr_w[s], common_z[d])
                else:
                    out[i, s, d] = _fast(table, row, keys[i, s], d)


@numba.njit(inline="always")
def _run_block(i, nb, d0, table, dist_id, keys, corr_w, common_z, ops, node_scale, node_shift, op_on, vals, regs,
               fix_stage, fix_value):
    n_stages = dist_id.shape[1]
    for s in range(n_stages):
        row = dist_id[i, s]
        if row < 0:
            for b in range(nb):
                vals[s, b] = 0.0
        elif s == fix_stage:
            for b in range(nb):
                vals[s, b] = fix_value
        else:
            key = keys[i, s]
            w = corr_w[s]
            if w > 0.0:
                for b in range(nb):
                    vals[s, b] = _draw(table, row, key, d0 + b, w, common_z[d0 + b])
            else:
                for b in range(nb):
                    vals[s, b] = _fast(table, row, key, d0 + b)
    for k in range(ops.shape[0]):
        if not op_on[i, ops[k, 4]]:  # the op belongs to a path the site cannot take
            continue
        code = ops[k, 0]
        dst = ops[k, 1]
        if code == OP_LOAD:
            sc = node_scale[i, ops[k, 3]]
            sh = node_shift[i, ops[k, 3]]
            s = ops[k, 2]
            if sc == 0.0:
                for b in range(nb):
                    regs[dst, b] = 0.0
            elif sh == 0.0:
                for b in range(nb):
                    regs[dst, b] = vals[s, b] * sc
            else:
                for b in range(nb):
                    x = vals[s, b] * sc - sh
                    regs[dst, b] = x if x > 0.0 else 0.0
        elif code == OP_ADD:
            a = ops[k, 2]
            c = ops[k, 3]
            for b in range(nb):
                regs[dst, b] = regs[a, b] + regs[c, b]
        elif code == OP_MAX:
            a = ops[k, 2]
            c = ops[k, 3]
            for b in range(nb):
                x = regs[a, b]
                y = regs[c, b]
                regs[dst, b] = x if x > y else y
        else:  # OP_FAILIF: a = withdrawal, c = clock
            a = ops[k, 2]
            c = ops[k, 3]
            for b in range(nb):
                x = regs[a, b]
                regs[dst, b] = NEVER if (x > 0.0 and x < regs[c, b]) else 0.0


@numba.njit(inline="always")
def _ramp(i, p, b, regs, comp_reg, n_comp, mw_grid, mw_site, target, t_buf, g_buf, o_buf, ev_t, ev_mw):
    """Milestones of path ``p`` in draw ``b``: returns n events (times ev_t, MW increments ev_mw).

    Components that never energise (value >= NEVER / 2) give no event."""
    nc = n_comp[p]
    m = 0
    for c in range(nc):
        g = mw_grid[i, p, c]
        o = mw_site[i, p, c]
        if g > 0.0 or o > 0.0:
            t = regs[comp_reg[p, c], b]
            if t >= 0.5 * NEVER:
                continue
            # insertion sort by time
            j = m
            while j > 0 and t_buf[j - 1] > t:
                t_buf[j] = t_buf[j - 1]
                g_buf[j] = g_buf[j - 1]
                o_buf[j] = o_buf[j - 1]
                j -= 1
            t_buf[j] = t
            g_buf[j] = g
            o_buf[j] = o
            m += 1
    level = 0.0
    gmax = 0.0
    osum = 0.0
    n = 0
    tgt = target[i]
    for k in range(m):
        if g_buf[k] > gmax:
            gmax = g_buf[k]
        osum += o_buf[k]
        new = gmax + osum
        if new > tgt:
            new = tgt
        if new > level:
            ev_t[n] = t_buf[k]
            ev_mw[n] = new - level
            level = new
            n += 1
    return n


@numba.njit(inline="always")
def _live(i, p, n_comp, mw_grid, mw_site):
    """Number of components of path p with MW at site i, and the last of them."""
    nlive = 0
    clive = 0
    for c in range(n_comp[p]):
        if mw_grid[i, p, c] > 0.0 or mw_site[i, p, c] > 0.0:
            nlive += 1
            clive = c
    return nlive, clive


@numba.njit(inline="always")
def _disc_int(t, k):
    """Integral of the discount factor exp(-k s) from 0 to t [month] (t when k = 0)."""
    if k == 0.0:
        return t
    return (1.0 - math.exp(-k * t)) / k


@numba.njit(inline="always")
def _quantiles(hist, n_bins, bins_per_month, quantiles, out_row):
    """Quantiles [month] among the draws counted in hist[:n_bins] (NaN when there are none)."""
    n_ok = 0
    for k in range(n_bins):
        n_ok += hist[k]
    nq = quantiles.size
    cum = 0
    qi = 0
    if n_ok > 0:
        for k in range(n_bins):
            c = hist[k]
            while qi < nq and c > 0 and cum + c >= quantiles[qi] * n_ok:
                frac = (quantiles[qi] * n_ok - cum) / c
                out_row[qi] = (k + frac) / bins_per_month
                qi += 1
            cum += c
    while qi < nq:
        out_row[qi] = np.nan
        qi += 1


@numba.njit(parallel=True, cache=True)
def run_sites(table, dist_id, keys, corr_w, common_z, ops, node_scale, node_shift, op_on, n_regs,
              comp_reg, n_comp, mw_grid, mw_site, target,
              n_draws, bins_per_month, n_bins, n_months, horizon, disc_k, quantiles,
              q_out, qfull_out, prob_out, mw_out, mwm_out, dmwm_out, never_out, never_full_out, keep, draws_out):
    """Monte Carlo of every output path of every site.

    Writes (per site i, path p): quantiles of the first-power time and of the time to the full
    target [month] among the draws that get there within the histogram range (NaN when none
    does), P(energised by month m) over all draws, expected MW available at month m, expected
    MW-months and discounted MW-months by the site's ``horizon[i]`` (discount rate ``disc_k``
    per month, continuous), and P(no first power / not full within the histogram range).
    """
    n_sites = dist_id.shape[0]
    n_stages = dist_id.shape[1]
    n_out = comp_reg.shape[0]
    max_comp = comp_reg.shape[1]
    t_max = n_bins / bins_per_month
    for i in numba.prange(n_sites):
        hist = np.zeros((n_out, n_bins + 1), np.int32)
        hfull = np.zeros((n_out, n_bins + 1), np.int32)
        inc = np.zeros((n_out, n_months + 1), np.float64)
        mwm = np.zeros(n_out, np.float64)
        dmwm = np.zeros(n_out, np.float64)
        vals = np.empty((n_stages, BLOCK), np.float32)
        regs = np.empty((n_regs, BLOCK), np.float32)
        t_buf = np.empty(max_comp, np.float64)
        g_buf = np.empty(max_comp, np.float64)
        o_buf = np.empty(max_comp, np.float64)
        ev_t = np.empty(max_comp, np.float64)
        ev_mw = np.empty(max_comp, np.float64)
        hz = horizon[i]
        d_hz = _disc_int(hz, disc_k)
        for d0 in range(0, n_draws, BLOCK):
            nb = min(BLOCK, n_draws - d0)
            _run_block(i, nb, d0, table, dist_id, keys, corr_w, common_z, ops, node_scale, node_shift, op_on, vals,
                       regs, -1, 0.0)
            for p in range(n_out):
                nlive, clive = _live(i, p, n_comp, mw_grid, mw_site)
                if nlive <= 1:  # one component with MW: no ramp to compose
                    mw1 = min(mw_grid[i, p, clive] + mw_site[i, p, clive], target[i]) if nlive == 1 else 0.0
                    r = comp_reg[p, clive]
                    if mw1 <= 0.0:
                        hist[p, n_bins] += nb
                        if keep:
                            for b in range(nb):
                                draws_out[i, p, d0 + b] = np.nan
                        continue
                    acc = 0.0
                    dacc = 0.0
                    for b in range(nb):
                        t0 = regs[r, b]
                        k = n_bins
                        if t0 >= 0.0 and t0 < t_max:
                            k = int(t0 * bins_per_month)
                            if k > n_bins:
                                k = n_bins
                        hist[p, k] += 1
                        if t0 < hz:
                            acc += hz - t0
                            if disc_k != 0.0:
                                dacc += d_hz - _disc_int(t0, disc_k)
                        if keep:
                            draws_out[i, p, d0 + b] = t0 if t0 < 0.5 * NEVER else np.nan
                    mwm[p] += acc * mw1
                    dmwm[p] += (dacc if disc_k != 0.0 else acc) * mw1
                    continue
                for b in range(nb):
                    n = _ramp(i, p, b, regs, comp_reg, n_comp, mw_grid, mw_site, target,
                              t_buf, g_buf, o_buf, ev_t, ev_mw)
                    if n == 0:
                        hist[p, n_bins] += 1
                        hfull[p, n_bins] += 1
                        if keep:
                            draws_out[i, p, d0 + b] = np.nan
                        continue
                    t0 = ev_t[0]
                    if keep:
                        draws_out[i, p, d0 + b] = t0
                    k = n_bins
                    if t0 >= 0.0 and t0 < t_max:
                        k = int(t0 * bins_per_month)
                    hist[p, k] += 1
                    level = 0.0
                    kf = n_bins
                    for e in range(n):
                        t = ev_t[e]
                        level += ev_mw[e]
                        if kf == n_bins and level >= target[i] * (1.0 - 1e-9) and t >= 0.0 and t < t_max:
                            kf = int(t * bins_per_month)
                        mk = int(math.ceil(t))
                        if mk < 0:
                            mk = 0
                        if mk <= n_months:
                            inc[p, mk] += ev_mw[e]
                        if t < hz:
                            mwm[p] += ev_mw[e] * (hz - t)
                            dmwm[p] += ev_mw[e] * (d_hz - _disc_int(t, disc_k))
                    hfull[p, kf] += 1
        for p in range(n_out):
            nlive, clive = _live(i, p, n_comp, mw_grid, mw_site)
            if nlive <= 1:  # one supply: full power is first power when it covers the target, else never
                mw1 = min(mw_grid[i, p, clive] + mw_site[i, p, clive], target[i]) if nlive == 1 else 0.0
                if mw1 > 0.0 and mw1 >= target[i] * (1.0 - 1e-9):
                    for k in range(n_bins + 1):
                        hfull[p, k] = hist[p, k]
                else:
                    hfull[p, n_bins] = n_draws
            _quantiles(hist[p], n_bins, bins_per_month, quantiles, q_out[i, p])
            _quantiles(hfull[p], n_bins, bins_per_month, quantiles, qfull_out[i, p])
            cum = 0
            for k in range(n_bins):
                if k % bins_per_month == 0:
                    m = k // bins_per_month
                    if m <= n_months:
                        prob_out[i, p, m] = cum / n_draws
                cum += hist[p, k]
            last = n_bins // bins_per_month
            for m in range(last, n_months + 1):
                prob_out[i, p, m] = cum / n_draws
            never_out[i, p] = hist[p, n_bins] / n_draws
            never_full_out[i, p] = hfull[p, n_bins] / n_draws
            nlive, clive = _live(i, p, n_comp, mw_grid, mw_site)
            if nlive <= 1:
                mw1 = mw_grid[i, p, clive] + mw_site[i, p, clive] if nlive == 1 else 0.0
                if mw1 > target[i]:
                    mw1 = target[i]
                for m in range(n_months + 1):
                    mw_out[i, p, m] = mw1 * prob_out[i, p, m] if mw1 > 0.0 else 0.0
            else:
                acc = 0.0
                for m in range(n_months + 1):
                    acc += inc[p, m]
                    mw_out[i, p, m] = acc / n_draws
            mwm_out[i, p] = mwm[p] / n_draws
            dmwm_out[i, p] = dmwm[p] / n_draws


@numba.njit(inline="always")
def _p50_from_hist(h, n_bins, bins_per_month, n_draws):
    """P50 [month] among the draws that energise within the histogram range."""
    n_ok = 0
    for k in range(n_bins):
        n_ok += h[k]
    cum = 0
    half = 0.5 * n_ok
    for k in range(n_bins):
        c = h[k]
        if c > 0 and cum + c >= half:
            return (k + (half - cum) / c) / bins_per_month
        cum += c
    return np.nan


@numba.njit(parallel=True, cache=True)
def tornado_sites(table, dist_id, keys, corr_w, common_z, ops, node_scale, node_shift, op_on, n_regs,
                  comp_reg, n_comp, mw_grid, mw_site, target, n_draws, bins_per_month, n_bins,
                  fix_u, out):
    """P50 first-power time [month] per site, path and stage with that stage fixed at each level
    of ``fix_u`` (e.g. its P10 and P90), the other stages drawn as usual (common random numbers).

    ``out[i, p, s, j]``; column ``j = len(fix_u)`` holds the base P50 on the same draws.  Stages
    absent for a site (dist_id < 0) give NaN.
    """
    n_sites = dist_id.shape[0]
    n_stages = dist_id.shape[1]
    n_out = comp_reg.shape[0]
    max_comp = comp_reg.shape[1]
    nf = fix_u.size
    for i in numba.prange(n_sites):
        vals = np.empty((n_stages, BLOCK), np.float32)
        regs = np.empty((n_regs, BLOCK), np.float32)
        t_buf = np.empty(max_comp, np.float64)
        g_buf = np.empty(max_comp, np.float64)
        o_buf = np.empty(max_comp, np.float64)
        ev_t = np.empty(max_comp, np.float64)
        ev_mw = np.empty(max_comp, np.float64)
        hist = np.zeros((n_out, n_bins + 1), np.int64)
        for s in range(-1, n_stages):
            if s >= 0 and dist_id[i, s] < 0:
                for p in range(n_out):
                    for j in range(nf):
                        out[i, p, s, j] = np.nan
                continue
            for j in range(nf if s >= 0 else 1):
                fixv = 0.0
                if s >= 0:
                    fixv = _lerp(table, dist_id[i, s], fix_u[j])
                hist[:, :] = 0
                for d0 in range(0, n_draws, BLOCK):
                    nb = min(BLOCK, n_draws - d0)
                    _run_block(i, nb, d0, table, dist_id, keys, corr_w, common_z, ops, node_scale, node_shift,
                               op_on, vals, regs, s, fixv)
                    for p in range(n_out):
                        for b in range(nb):
                            n = _ramp(i, p, b, regs, comp_reg, n_comp, mw_grid, mw_site, target,
                                      t_buf, g_buf, o_buf, ev_t, ev_mw)
                            k = n_bins
                            if n > 0 and ev_t[0] >= 0.0 and ev_t[0] < n_bins / bins_per_month:
                                k = int(ev_t[0] * bins_per_month)
                            hist[p, k] += 1
                for p in range(n_out):
                    v = _p50_from_hist(hist[p], n_bins, bins_per_month, n_draws)
                    if s < 0:
                        for s2 in range(n_stages):
                            out[i, p, s2, nf] = v
                    else:
                        out[i, p, s, j] = v


#: the same kernels without threads, for Dask tasks (numba's default threading layer must not be
#: entered from several threads at once)
run_sites_serial = numba.njit(cache=True)(run_sites.py_func)
tornado_sites_serial = numba.njit(cache=True)(tornado_sites.py_func)
