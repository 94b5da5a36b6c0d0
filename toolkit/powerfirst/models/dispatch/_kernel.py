"""The compiled rule-based dispatch (numba): site x scenario x hour.

Called by :func:`powerfirst.models.dispatch.dispatch`, which documents the rule; the plain
reference of the same rule is :func:`powerfirst.models.dispatch.dispatch_reference`.

Layout of the arguments
-----------------------
* hourly site inputs ``solar``, ``wind``, ``pue``, ``ci``, ``cfe`` (the grid's carbon-free share) --
  float32 (site, time);
* tables shared by many sites -- ``util`` (IT utilisation profiles), ``price`` (grid price),
  ``curt`` (curtailed fraction of the non-firm connection) -- float32 (row, time), with a row
  index per site (``util_idx``, ``price_idx``) or per site and scenario (``curt_idx``);
* ``offset`` -- each site's local-time offset from UTC [h] (look-ahead windows start at local
  midnight), ``W`` the window length [h];
* parameters -- float64 (site, scenario, N_PARAMS), columns ``P_*``;
* outputs -- float64 (site, scenario, N_METRICS) summaries (columns ``M_*``), and with
  ``hourly`` the flows (site, scenario, N_HOURLY, time), rows ``H_*``; ``flags`` per site.

How it runs
-----------
Scenarios of a site are processed together as *lanes* (blocks of ``LB``): their parameters,
state and running sums live in one array with the lanes contiguous (``ws[row * LB + lane]``),
so that LLVM vectorises each hour across lanes.  Per site the kernel converts the inputs to
float64 once, then per block of lanes it

1. sorts the decision signal (price, or carbon) of every look-ahead window -- once per
   distinct signal, and only once for all sites of a grid thanks to a small per-thread cache
   keyed by a checksum -- and derives each lane's charge and discharge thresholds;
2. computes each lane's grid limit and the state-of-charge **reserve** by a backward pass
   (sparse: back from curtailed hours only while the reserve is positive), and flags the hours
   in which a lane may run short (its load above its grid limit);
3. walks forward through the hours.  Lanes that may run short in most hours are ordered first,
   so that they share a vector group (``GW`` lanes); an hour in which no lane of a group can run
   short and none owes deferred load takes the *lean* step (:func:`_lean_step`), any other the
   full branch-free step (:func:`_vec_step`), both vectorised over the group's lanes.  The lean
   step is the full step without the branches that cannot occur, written with the same
   expressions, so both give bit-identical flows.  With ``hourly`` every hour takes the scalar
   :func:`_full_step`, which writes the flows (and is tested bit-identical to the vector steps).

Only the summaries leave the kernel unless hourly outputs are asked for.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from powerfirst.models.dispatch._layout import (  # noqa: F401  (the layout, re-exported for the callers)
    _FIRST_ACC,
    _JIT,
    A_CHG,
    A_CHG_S,
    A_CHS,
    A_CURT,
    A_CURT_H,
    A_DEFER,
    A_DIS,
    A_GC,
    A_GEN,
    A_GEN_H,
    A_GP,
    A_GRID,
    A_GS,
    A_IT_LOST,
    A_PEAK,
    A_RD,
    A_REN_CH,
    A_REPAY,
    A_RIDE,
    A_RS_REN,
    A_SPILL,
    A_UNS,
    A_UNS_H,
    EPS,
    F_NAN,
    F_OK,
    F_PUE,
    GW,
    H_BACKLOG,
    H_CHARGE,
    H_CURT,
    H_DEFER,
    H_DEMAND,
    H_DISCHARGE,
    H_GEN,
    H_GRID,
    H_GRID_LIMIT,
    H_RENEW,
    H_REPAY,
    H_SOC,
    H_SPILL,
    H_UNSERVED,
    LB,
    M_BACKLOG_END,
    M_CARBON_COST,
    M_CFE,
    M_CHARGE,
    M_CURT,
    M_CURT_H,
    M_DEFER,
    M_DEFER_COST,
    M_DEG_COST,
    M_DEMAND,
    M_DISCHARGE,
    M_EMISSIONS,
    M_FUEL_COST,
    M_GEN,
    M_GEN_H,
    M_GRID,
    M_GRID_CHARGE,
    M_GRID_COST,
    M_GRID_PEAK,
    M_IT_SERVED,
    M_RENEW,
    M_RENEW_USED,
    M_REPAY,
    M_RIDDEN,
    M_SERVED,
    M_SOC_END,
    M_SPILL,
    M_UNSERVED,
    M_UNSERVED_COST,
    M_UNSERVED_H,
    N_HOURLY,
    N_METRICS,
    N_PARAMS,
    NW,
    P_ARBITRAGE,
    P_CARBON_PRICE,
    P_DEFER_COST,
    P_DEG,
    P_FIRM,
    P_FLEX,
    P_FLEX_H,
    P_GAS_COST,
    P_GAS_EF,
    P_GAS_MIN,
    P_GAS_MW,
    P_LOAD,
    P_NONFIRM,
    P_PRIORITY,
    P_RTE,
    P_SOC_INIT,
    P_SOC_MAX,
    P_SOC_MIN,
    P_SOLAR,
    P_STO_MW,
    P_STO_MWH,
    P_VOLL,
    P_WIND,
    TOL,
    W_B,
    W_BMAX,
    W_CONN,
    W_EMAX,
    W_EMIN,
    W_ETA,
    W_FS,
    W_GEFF,
    W_IETA,
    W_K,
    W_LMW,
    W_MK,
    W_NONFIRM,
    W_P,
    W_PS,
    W_PW,
    W_SOC,
    W_WC,
    W_WP,
)
from powerfirst.models.dispatch._steps import _full_step, _lean_step, _vec_step


@numba.njit(**_JIT)
def _prepare_site(solar, wind, pue, ci, cfe, util, price, buf, sums):
    """Convert one site's inputs to float64 rows of ``buf`` and derive its load factors.

    Rows: 0 lf = u pue / max pue, 1 solar, 2 wind, 3 price, 4 carbon, 5 grid clean share (``cfe``, clipped to [0, 1]),
    6 capf = pue / max pue, 7 1 / pue.  ``sums`` = [sum lf, sum u / max pue, max lf, sum solar,
    sum wind].  Returns a flag (F_OK, F_NAN, F_PUE)."""
    T = solar.shape[0]
    pmax = 0.0
    tot = 0.0
    for t in range(T):
        p = np.float64(pue[t])
        tot += p + np.float64(solar[t]) + np.float64(wind[t]) + np.float64(ci[t]) + np.float64(util[t]) \
            + np.float64(price[t]) + np.float64(cfe[t])
        if p > pmax:
            pmax = p
    if not math.isfinite(tot):
        return F_NAN
    if not pmax > 0.0:
        return F_PUE
    inv = 1.0 / pmax
    s_lf = 0.0
    s_u = 0.0
    m_lf = 0.0
    s_s = 0.0
    s_w = 0.0
    for t in range(T):
        pv = np.float64(pue[t])
        if not pv > 0.0:
            return F_PUE
        u = np.float64(util[t])
        x = u * (pv * inv)
        buf[0, t] = x
        a = np.float64(solar[t])
        b = np.float64(wind[t])
        buf[1, t] = a
        buf[2, t] = b
        buf[3, t] = price[t]
        c = np.float64(ci[t])
        buf[4, t] = c
        cs = np.float64(cfe[t])
        buf[5, t] = 0.0 if cs < 0.0 else (1.0 if cs > 1.0 else cs)
        buf[6, t] = pv * inv
        buf[7, t] = 1.0 / pv
        s_lf += x
        s_u += u
        s_s += a
        s_w += b
        if x > m_lf:
            m_lf = x
    sums[0] = s_lf
    sums[1] = s_u * inv
    sums[2] = m_lf
    sums[3] = s_s
    sums[4] = s_w
    return F_OK


@numba.njit(**_JIT)
def _window_bounds(b0, W, T, starts):
    """Start hour of each look-ahead window (first window [0, b0) when b0 > 0); returns the count."""
    n = 0
    start = 0
    end = b0 if b0 > 0 else min(W, T)
    while start < T:
        starts[n] = start
        n += 1
        start = end
        end = min(end + W, T)
    starts[n] = T
    return n


@numba.njit(**_JIT)
def _sort_windows(ev, starts, nwin, srt):
    """Sort the signal ascending within each window, by rank counting (branch-free, stable)."""
    for w in range(nwin):
        a = starts[w]
        b = starts[w + 1]
        for i in range(a, b):
            v = ev[i]
            r = 0
            for j in range(a, b):
                x = ev[j]
                r += (x < v) | ((x == v) & (j < i))
            srt[a + r] = v


N_CACHE = 16  # sorted signals kept per thread (sites of one grid share them)


@numba.njit(**_JIT)
def _sorted_signal(pr, ci, mode, cpk, pkey, ckey, ev, starts, nwin, b0, W, csrt, ckeys, ccp):
    """The decision signal (price + carbon price x intensity, or intensity) with each window sorted ascending,
    from the thread's cache when it was sorted before for the same price row ``pkey``, carbon row ``ckey``
    (identical rows share a key), mode, carbon price and windows -- sites of one grid share them -- else
    computed and sorted now."""
    if mode == 0.0 and cpk == 0.0:
        ckey = -1  # price only
    elif mode != 0.0:
        pkey = -1  # carbon only
        cpk = 0.0
    for k in range(N_CACHE):
        if ckeys[k, 0] == pkey and ckeys[k, 1] == ckey and ckeys[k, 2] == int(mode) and ckeys[k, 3] == b0 \
                and ckeys[k, 4] == W and ccp[k] == cpk:
            return csrt[k]
    k = ckeys[N_CACHE, 0]
    ckeys[N_CACHE, 0] = (k + 1) % N_CACHE
    for t in range(ev.shape[0]):
        ev[t] = pr[t] + cpk * ci[t] if mode == 0.0 else ci[t]
    _sort_windows(ev, starts, nwin, csrt[k])
    ckeys[k, 0] = pkey
    ckeys[k, 1] = ckey
    ckeys[k, 2] = int(mode)
    ckeys[k, 3] = b0
    ckeys[k, 4] = W
    ccp[k] = cpk
    return csrt[k]


@numba.njit(**_JIT)
def _thresholds(srt, starts, nwin, k_dis, k_ch, rte, deg, lane, cthr, dthr):
    """Each window's charge / discharge threshold of one lane: the signal of its ``k_ch``-th cheapest
    and ``k_dis``-th dearest hour, with k reduced while that pair does not pay
    (p_dis - p_ch / rte - deg <= 0); no arbitrage (-inf, +inf) when none does."""
    for w in range(nwin):
        a = starts[w]
        b = starts[w + 1]
        n = b - a
        cthr[w * LB + lane] = -np.inf
        dthr[w * LB + lane] = np.inf
        k = min(k_dis, n // 2)
        while k >= 1:
            kc = min(n - k, max(1, int(math.ceil(k * k_ch / k_dis - 1e-9))))
            pc = srt[a + kc - 1]
            pd = srt[b - k]
            if pd - pc / rte - deg > 1e-9:
                cthr[w * LB + lane] = pc
                dthr[w * LB + lane] = pd
                break
            k -= 1


@numba.njit(**_JIT)
def _reserve(lf, so, wi, gb, lane, hours, sparse, lmw, ps, pw, conn, P, eta, ieta, usable, req):
    """req[(t) * LB + lane]: energy above the floor the lane must hold at the start of hour t to ride
    through the shortfalls (load - renewables - grid limit, at most P) of hours t.., recharging at most
    min(P, room) in between; a backward recursion capped at the usable energy.  ``sparse``: shortfalls
    can only occur in the curtailed ``hours`` (ascending), so walk back from them only while the
    reserve is positive."""
    T = lf.shape[0]
    req[T, lane] = 0.0
    acc = 0.0
    if not sparse:
        for t in range(T - 1, -1, -1):
            net = lmw * lf[t] - ps * so[t] - pw * wi[t] - gb[t, lane]
            if net > 0.0:
                acc = acc + min(net, P) * ieta
            else:
                acc = acc - min(-net, P) * eta
            if acc < 0.0:
                acc = 0.0
            elif acc > usable:
                acc = usable
            req[t, lane] = acc
        return
    t = T - 1  # req is all zeros on entry (zeroed per block)
    for j in range(hours.shape[0] - 1, -1, -1):
        h = hours[j]
        while t > h and acc > 0.0:  # uncurtailed hour: grid limit = connection, no shortfall
            net = lmw * lf[t] - ps * so[t] - pw * wi[t] - conn
            acc = acc - min(-net, P) * eta
            if acc < 0.0:
                acc = 0.0
            req[t, lane] = acc
            t -= 1
        t = h
        net = lmw * lf[t] - ps * so[t] - pw * wi[t] - gb[t, lane]
        if net > 0.0:
            acc = acc + min(net, P) * ieta
        else:
            acc = acc - min(-net, P) * eta
        if acc < 0.0:
            acc = 0.0
        elif acc > usable:
            acc = usable
        req[t, lane] = acc
        t -= 1
    while t >= 0 and acc > 0.0:
        net = lmw * lf[t] - ps * so[t] - pw * wi[t] - conn
        acc = acc - min(-net, P) * eta
        if acc < 0.0:
            acc = 0.0
        req[t, lane] = acc
        t -= 1


@numba.njit(**_JIT)
def _run_block(i, s0, nl, buf, sums, b0, W, params, curt, curt_idx, curt_ptr, curt_hours, out, hourly, hout,
               ws, gb, req, cthr, dthr, ev, csrt, ckeys, ccp, starts, fany, pkey, ckey):
    """Dispatch lanes s0 .. s0 + nl - 1 of site i."""
    numba.literally(hourly)
    T = buf.shape[1]
    lf = buf[0]
    so = buf[1]
    wi = buf[2]
    pr = buf[3]
    ci = buf[4]
    sg = buf[5]
    capf = buf[6]
    ipue = buf[7]
    ws[:] = 0.0
    nwin = _window_bounds(b0, W, T, starts)
    # lanes that may run short in any hour first, so that they share a vector group
    perm = np.empty(LB, np.int64)
    j = 0
    for pass_ in range(2):
        for s in range(nl):
            prm = params[i, s0 + s]
            chronic = prm[P_LOAD] * sums[2] > prm[P_FIRM] + prm[P_NONFIRM]
            if chronic == (pass_ == 0):
                perm[j] = s
                j += 1
    n_groups = (nl + GW - 1) // GW
    # ---- lane parameters and grid limits
    for s in range(nl):
        prm = params[i, s0 + perm[s]]
        lmw = prm[P_LOAD]
        E = prm[P_STO_MWH]
        eta = math.sqrt(prm[P_RTE])
        cp = prm[P_CARBON_PRICE]
        mode = prm[P_PRIORITY]
        ws[W_LMW * LB + s] = lmw
        ws[W_PS * LB + s] = prm[P_SOLAR]
        ws[W_PW * LB + s] = prm[P_WIND]
        ws[W_CONN * LB + s] = prm[P_FIRM] + prm[P_NONFIRM]
        ws[W_NONFIRM * LB + s] = prm[P_NONFIRM]
        ws[W_P * LB + s] = prm[P_STO_MW]
        ws[W_EMIN * LB + s] = prm[P_SOC_MIN] * E
        ws[W_EMAX * LB + s] = prm[P_SOC_MAX] * E
        ws[W_ETA * LB + s] = eta
        ws[W_IETA * LB + s] = 1.0 / eta
        ws[W_K * LB + s] = prm[P_GAS_MW]
        ws[W_MK * LB + s] = prm[P_GAS_MIN] * prm[P_GAS_MW]
        ws[W_GEFF * LB + s] = prm[P_GAS_COST] + cp * prm[P_GAS_EF] if mode == 0.0 else prm[P_GAS_EF] * 1e3
        ws[W_WP * LB + s] = 1.0 if mode == 0.0 else 0.0
        ws[W_WC * LB + s] = cp * 1e-3 if mode == 0.0 else 1.0
        ws[W_FS * LB + s] = prm[P_FLEX]
        ws[W_BMAX * LB + s] = prm[P_FLEX] * lmw * prm[P_FLEX_H]
        has_sto = prm[P_STO_MW] > EPS and (prm[P_SOC_MAX] - prm[P_SOC_MIN]) * E > EPS
        ws[W_SOC * LB + s] = prm[P_SOC_INIT] * E if has_sto else 0.0

    k0 = curt_idx[i, s0 + perm[0]]
    shared = True
    for s in range(nl):
        shared = shared and curt_idx[i, s0 + perm[s]] == k0
    if shared:  # grid limit of each lane and hour, all lanes on one curtailment profile (the usual case)
        crow = curt[k0]
        for t in range(T):
            cu = np.float64(crow[t])
            for s in range(nl):
                gb[t, s] = ws[W_CONN * LB + s] - ws[W_NONFIRM * LB + s] * cu
    else:
        for t in range(T):
            for s in range(nl):
                gb[t, s] = ws[W_CONN * LB + s] - ws[W_NONFIRM * LB + s] * np.float64(curt[curt_idx[i, s0 + perm[s]], t])
    # ---- thresholds, one sort per distinct signal
    for s in range(nl):
        for w in range(nwin):
            cthr[w * LB + s] = -np.inf
            dthr[w * LB + s] = np.inf
    done = np.zeros(LB, np.bool_)
    for s in range(nl):
        prm = params[i, s0 + perm[s]]
        arb = prm[P_ARBITRAGE] > 0.5 and prm[P_STO_MW] > EPS and \
            (prm[P_SOC_MAX] - prm[P_SOC_MIN]) * prm[P_STO_MWH] > EPS
        if done[s] or not arb:
            continue
        mode = prm[P_PRIORITY]
        cpk = prm[P_CARBON_PRICE] * 1e-3
        srt = _sorted_signal(pr, ci, mode, cpk, pkey, ckey, ev, starts, nwin, b0, W, csrt, ckeys, ccp)
        for s2 in range(s, nl):
            q = params[i, s0 + perm[s2]]
            arb2 = q[P_ARBITRAGE] > 0.5 and q[P_STO_MW] > EPS and \
                (q[P_SOC_MAX] - q[P_SOC_MIN]) * q[P_STO_MWH] > EPS
            if done[s2] or not arb2 or q[P_PRIORITY] != mode or (mode == 0.0 and q[P_CARBON_PRICE] != prm[P_CARBON_PRICE]):
                continue
            P = q[P_STO_MW]
            usable = (q[P_SOC_MAX] - q[P_SOC_MIN]) * q[P_STO_MWH]
            eta = math.sqrt(q[P_RTE])
            k_dis = max(1, int(math.ceil(usable * eta / P - 1e-9)))
            k_ch = max(1, int(math.ceil(usable / eta / P - 1e-9)))
            _thresholds(srt, starts, nwin, k_dis, k_ch, q[P_RTE], q[P_DEG] if mode == 0.0 else 0.0, s2, cthr, dthr)
            done[s2] = True
    # ---- reserves, and the hours in which some lane may run short (they take the full vectorised step)
    req[:, :] = 0.0
    for t in range(T):
        for g in range(n_groups):
            fany[t, g] = hourly
    for s in range(nl):
        prm = params[i, s0 + perm[s]]
        lmw = prm[P_LOAD]
        conn = prm[P_FIRM] + prm[P_NONFIRM]
        k = curt_idx[i, s0 + perm[s]]
        hours = curt_hours[curt_ptr[k]:curt_ptr[k + 1]]
        sparse = lmw * sums[2] <= conn  # shortfalls only where the non-firm share is curtailed
        g = s // GW
        if sparse:
            for j in range(hours.shape[0]):
                h = hours[j]
                if lmw * lf[h] > gb[h, s]:
                    fany[h, g] = True
        else:
            for t in range(T):
                if lmw * lf[t] > gb[t, s]:
                    fany[t, g] = True
        P = prm[P_STO_MW]
        usable = (prm[P_SOC_MAX] - prm[P_SOC_MIN]) * prm[P_STO_MWH]
        if P > EPS and usable > EPS:
            eta = ws[W_ETA * LB + s]
            _reserve(lf, so, wi, gb, s, hours, sparse, lmw, prm[P_SOLAR], prm[P_WIND], conn, P, eta, 1.0 / eta,
                     usable, req)
    # ---- forward
    w = 0
    next_w = starts[1]
    owing = np.zeros(n_groups, np.bool_)
    thr = np.empty(2 * LB)
    for s in range(LB):
        thr[s] = cthr[s]
        thr[LB + s] = dthr[s]
    for t in range(T):
        if t == next_w:
            w += 1
            next_w = starts[w + 1]
            for s in range(LB):
                thr[s] = cthr[w * LB + s]
                thr[LB + s] = dthr[w * LB + s]
        if hourly:
            for s in range(nl):
                _full_step(t, s, lf[t], so[t], wi[t], pr[t], ci[t], sg[t], capf[t], ipue[t], thr[s], thr[LB + s],
                           ws, gb, req, hourly, hout[i, s0 + perm[s]])
        else:
            quiet = True
            for g in range(n_groups):
                quiet = quiet and not (fany[t, g] or owing[g])
            if quiet:  # the usual hour: every lane takes the lean step, in one loop
                _lean_step(nl, lf[t], so[t], wi[t], pr[t], ci[t], sg[t], thr, ws, gb[t], req[t + 1])
                continue
            for g in range(n_groups):
                lo = g * GW
                hi = min(lo + GW, nl)
                # views from the group's first lane: the lane loops keep non-negative constant offsets and vectorise
                if fany[t, g] or owing[g]:
                    _vec_step(hi - lo, lf[t], so[t], wi[t], pr[t], ci[t], sg[t], capf[t], ipue[t], thr[lo:], ws[lo:],
                              gb[t, lo:], req[t + 1, lo:])
                    ow = False
                    for s in range(lo, hi):
                        ow |= ws[W_B * LB + s] > 0.0
                    owing[g] = ow
                else:
                    _lean_step(hi - lo, lf[t], so[t], wi[t], pr[t], ci[t], sg[t], thr[lo:], ws[lo:], gb[t, lo:],
                               req[t + 1, lo:])
    # ---- summaries
    for s in range(nl):
        prm = params[i, s0 + perm[s]]
        o = out[i, s0 + perm[s]]
        lmw = prm[P_LOAD]
        demand = lmw * sums[0]
        a_ch = ws[A_CHS * LB + s] + ws[A_CHG * LB + s]
        a_dis = ws[A_DIS * LB + s]
        a_gen = ws[A_GEN * LB + s]
        a_uns = ws[A_UNS * LB + s]
        a_def = ws[A_DEFER * LB + s]
        B = ws[W_B * LB + s]
        o[M_DEMAND] = demand
        o[M_SERVED] = demand - a_def - a_uns + ws[A_REPAY * LB + s]
        o[M_UNSERVED] = a_uns
        o[M_UNSERVED_H] = ws[A_UNS_H * LB + s]
        o[M_GRID] = ws[A_GRID * LB + s]
        o[M_GRID_PEAK] = ws[A_PEAK * LB + s]
        o[M_CURT] = ws[A_CURT * LB + s]
        o[M_CURT_H] = ws[A_CURT_H * LB + s]
        o[M_RIDDEN] = ws[A_RIDE * LB + s]
        o[M_CHARGE] = a_ch
        o[M_DISCHARGE] = a_dis
        o[M_GEN] = a_gen
        o[M_GEN_H] = ws[A_GEN_H * LB + s]
        o[M_RENEW] = prm[P_SOLAR] * sums[3] + prm[P_WIND] * sums[4]
        o[M_RENEW_USED] = ws[A_RD * LB + s] + ws[A_RS_REN * LB + s] + ws[A_REN_CH * LB + s]
        o[M_SPILL] = ws[A_SPILL * LB + s]
        o[M_DEFER] = a_def
        o[M_REPAY] = ws[A_REPAY * LB + s]
        o[M_BACKLOG_END] = B
        o[M_GRID_COST] = ws[A_GP * LB + s]
        o[M_FUEL_COST] = a_gen * prm[P_GAS_COST]
        o[M_DEG_COST] = a_dis * prm[P_DEG]
        o[M_DEFER_COST] = a_def * prm[P_DEFER_COST]
        o[M_UNSERVED_COST] = (a_uns + B) * prm[P_VOLL]
        emis = ws[A_GC * LB + s] * 1e-3 + a_gen * prm[P_GAS_EF]
        o[M_EMISSIONS] = emis
        o[M_CARBON_COST] = prm[P_CARBON_PRICE] * emis
        # storage output is clean in the share of clean energy it was charged with over the year
        clean_sto = (ws[A_REN_CH * LB + s] + ws[A_CHG_S * LB + s]) / a_ch if a_ch > EPS else 0.0
        o[M_CFE] = ws[A_RD * LB + s] + ws[A_RS_REN * LB + s] + (ws[A_GS * LB + s] - ws[A_CHG_S * LB + s]) \
            + a_dis * clean_sto
        o[M_IT_SERVED] = lmw * sums[1] - ws[A_IT_LOST * LB + s]
        o[M_GRID_CHARGE] = ws[A_CHG * LB + s]
        o[M_SOC_END] = ws[W_SOC * LB + s]


@numba.njit(**_JIT)
def _run_site(i, solar, wind, pue, ci, cfe, util, util_idx, price, price_idx, curt, curt_idx, curt_ptr, curt_hours,
              offset, ci_key, W, params, out, flags, hourly, hout, buf, sums, ws, gb, req, cthr, dthr, ev,
              csrt, ckeys, ccp, starts, fany):
    numba.literally(hourly)
    flag = _prepare_site(solar[i], wind[i], pue[i], ci[i], cfe[i], util[util_idx[i]], price[price_idx[i]], buf,
                         sums)
    flags[i] = flag
    if flag != F_OK:
        out[i, :, :] = np.nan
        return
    b0 = int((-int(offset[i])) % 24)
    n_scen = params.shape[1]
    for s0 in range(0, n_scen, LB):
        nl = min(LB, n_scen - s0)
        _run_block(i, s0, nl, buf, sums, b0, W, params, curt, curt_idx, curt_ptr, curt_hours, out, hourly, hout,
                   ws, gb, req, cthr, dthr, ev, csrt, ckeys, ccp, starts, fany, price_idx[i], ci_key[i])


@numba.njit(**_JIT)
def _run_range(lo, hi, solar, wind, pue, ci, cfe, util, util_idx, price, price_idx, curt, curt_idx, curt_ptr,
               curt_hours, offset, ci_key, W, params, out, flags, hourly, hout):
    numba.literally(hourly)
    T = solar.shape[1]
    buf = np.empty((8, T))
    sums = np.empty(5)
    ws = np.empty(NW * LB)
    gb = np.empty((T, LB))
    req = np.empty((T + 1, LB))
    nmax = T + 2
    cthr = np.empty(nmax * LB)
    dthr = np.empty(nmax * LB)
    ev = np.empty(T)
    csrt = np.empty((N_CACHE, T))
    ckeys = np.full((N_CACHE + 1, 5), -2, np.int64)
    ckeys[N_CACHE, 0] = 0
    ccp = np.zeros(N_CACHE)
    starts = np.empty(nmax + 1, np.int64)
    fany = np.empty((T, (LB + GW - 1) // GW), np.bool_)
    for i in range(lo, hi):
        _run_site(i, solar, wind, pue, ci, cfe, util, util_idx, price, price_idx, curt, curt_idx, curt_ptr, curt_hours,
                  offset, ci_key, W, params, out, flags, hourly, hout, buf, sums, ws, gb, req, cthr, dthr, ev,
                  csrt, ckeys, ccp, starts, fany)


@numba.njit(parallel=True, **_JIT)
def run_sites(solar, wind, pue, ci, cfe, util, util_idx, price, price_idx, curt, curt_idx, curt_ptr, curt_hours,
              offset, ci_key, W, params, out, flags, hourly, hout, n_chunks):
    """Dispatch every site x scenario, sites spread over numba's threads in ``n_chunks`` chunks (see the
    module docstring)."""
    numba.literally(hourly)
    n_site = solar.shape[0]
    n_chunks = max(1, min(n_site, n_chunks))
    for c in numba.prange(n_chunks):
        lo = c * n_site // n_chunks
        hi = (c + 1) * n_site // n_chunks
        _run_range(lo, hi, solar, wind, pue, ci, cfe, util, util_idx, price, price_idx, curt, curt_idx, curt_ptr,
                   curt_hours, offset, ci_key, W, params, out, flags, hourly, hout)


@numba.njit(**_JIT)
def run_sites_serial(solar, wind, pue, ci, cfe, util, util_idx, price, price_idx, curt, curt_idx, curt_ptr, curt_hours,
                     offset, ci_key, W, params, out, flags, hourly, hout, n_chunks=1):
    """As :func:`run_sites`, on the calling thread (for Dask tasks: no nested thread pools)."""
    numba.literally(hourly)
    _run_range(0, solar.shape[0], solar, wind, pue, ci, cfe, util, util_idx, price, price_idx, curt, curt_idx, curt_ptr,
               curt_hours, offset, ci_key, W, params, out, flags, hourly, hout)


def row_keys(rows: np.ndarray) -> np.ndarray:
    """One integer per row, equal for identical rows only: a hash groups the rows, an exact comparison
    with each group's first row confirms (a row that differs gets a key of its own)."""
    rows = np.asarray(rows)
    n = rows.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    w = np.random.default_rng(12345).random(rows.shape[1]).astype(rows.dtype if rows.dtype.kind == "f" else float)
    h = rows @ w
    _, first, keys = np.unique(h, return_index=True, return_inverse=True)
    keys = keys.astype(np.int64).reshape(-1)
    same = (rows == rows[first[keys]]).all(axis=1) | np.isnan(h)
    nxt = int(keys.max()) + 1
    for i in np.flatnonzero(~same):  # a hash collision (or NaN rows): keys of their own
        keys[i] = nxt
        nxt += 1
    return keys


def curtailment_hours(curt: np.ndarray):
    """The curtailed hours of each row of ``curt`` as a CSR list: (ptr, hours)."""
    curt = np.asarray(curt)
    rows, hours = np.nonzero(curt > 0)
    ptr = np.zeros(curt.shape[0] + 1, np.int64)
    np.add.at(ptr, rows + 1, 1)
    return np.cumsum(ptr), hours.astype(np.int64)
