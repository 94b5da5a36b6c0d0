"""The hour step of the dispatch rule, three ways: scalar with hourly output (:func:`_full_step`), and
vectorised over lanes, branch-free (:func:`_vec_step`) or without the branches that cannot occur in a
quiet hour (:func:`_lean_step`).  All three are the same rule in the same expressions; the tests hold
them bit-identical to each other and to the plain reference
(:func:`powerfirst.models.dispatch.reference.dispatch_reference`).  See :mod:`._dispatch_kernel`."""

from __future__ import annotations

import numba

from powerfirst.models.dispatch._layout import (
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
    W_P,
    W_PS,
    W_PW,
    W_SOC,
    W_WC,
    W_WP,
)

__all__ = ["_full_step", "_vec_step", "_lean_step"]


@numba.njit(**_JIT)
def _full_step(t, s, lft, sot, wit, p, c, sgt, capt, ipt, cthr_s, dthr_s, ws, gb, req, hourly, hrow):
    """One hour of one lane, every case (shortfall, deferral, make-up)."""
    numba.literally(hourly)
    lmw = ws[W_LMW * LB + s]
    L = lmw * lft
    R = ws[W_PS * LB + s] * sot + ws[W_PW * LB + s] * wit
    G = gb[t, s]
    e = ws[W_WP * LB + s] * p + ws[W_WC * LB + s] * c
    P = ws[W_P * LB + s]
    emin = ws[W_EMIN * LB + s]
    emax = ws[W_EMAX * LB + s]
    eta = ws[W_ETA * LB + s]
    ieta = ws[W_IETA * LB + s]
    K = ws[W_K * LB + s]
    mK = ws[W_MK * LB + s]
    geff = ws[W_GEFF * LB + s]
    soc = ws[W_SOC * LB + s]
    B = ws[W_B * LB + s]
    fl = emin + req[t + 1, s]
    rd = min(R, L)
    need = L - rd
    sur_r = R - rd
    gen = 0.0
    dis = 0.0
    d = 0.0
    u = 0.0
    ex = 0.0
    if need > 0.0 and geff < e and (need >= mK or mK * geff <= need * e):
        gen = min(need, K)
        need = need - gen
    if need > 0.0 and e >= dthr_s:
        af = max(0.0, min(P, (soc - fl) * eta))
        dis = min(need, af)
        need = need - dis
    g = min(need, G)
    need = need - g
    if need > TOL:  # shortfall: storage above its reserve, generation, deferral, the reserve, unserved
        af = max(0.0, min(P, (soc - fl) * eta))
        x = min(need, af - dis)
        if x > 0.0:
            dis = dis + x
            need = need - x
        x = min(need, K - gen)
        if x > 0.0 and need > TOL:
            gen = gen + x
            need = need - x
        x = min(need, min(ws[W_FS * LB + s] * L, ws[W_BMAX * LB + s] - B))
        if x > 0.0 and need > TOL:
            d = x
            need = need - x
        aa = max(0.0, min(P, (soc - emin) * eta))
        x = min(need, aa - dis)
        if x > 0.0 and need > TOL:
            dis = dis + x
            need = need - x
    if need > 0.0:
        u = need
    if gen > 0.0 and gen < mK:  # minimum load: the surplus displaces grid import, then discharge
        ex = mK - gen
        gen = mK
        x = min(ex, g)
        g = g - x
        ex = ex - x
        x = min(ex, dis)
        dis = dis - x
        ex = ex - x
    sur = sur_r + ex
    r = 0.0
    rs_ren = 0.0
    if B > 0.0 and d == 0.0 and u == 0.0:  # make up deferred load within the facility's capacity
        x = min(B, lmw * capt - L)
        if x > 0.0:
            r_s = min(x, sur)
            sur = sur - r_s
            x = x - r_s
            y = max(0.0, min(x, G - g))
            g = g + y
            r = r_s + y
            rs_ren = min(r_s, sur_r)
            sur_r = sur_r - rs_ren
    capc = max(0.0, min(P, (emax - soc) * ieta)) if dis == 0.0 else 0.0
    chs = min(sur, capc)
    sur = sur - chs
    if e <= cthr_s:
        want = capc - chs
    else:
        want = max(0.0, min(capc - chs, (fl - soc) * ieta - chs))
    chg = max(0.0, min(want, G - g))
    g = g + chg
    ch = chs + chg
    ren = min(chs, sur_r)
    soc = soc - dis * ieta if dis > 0.0 else soc + ch * eta
    soc = min(max(soc, emin), emax)
    B = max(0.0, B + d - r)
    ws[W_SOC * LB + s] = soc
    ws[W_B * LB + s] = B
    ws[A_GRID * LB + s] += g
    ws[A_GP * LB + s] += g * p
    ws[A_GC * LB + s] += g * c
    ws[A_GS * LB + s] += g * sgt
    ws[A_PEAK * LB + s] = max(ws[A_PEAK * LB + s], g)
    ws[A_RD * LB + s] += rd
    ws[A_CHS * LB + s] += chs
    ws[A_CHG * LB + s] += chg
    ws[A_CHG_S * LB + s] += chg * sgt
    ws[A_REN_CH * LB + s] += ren
    ws[A_DIS * LB + s] += dis
    ws[A_GEN * LB + s] += gen
    ws[A_GEN_H * LB + s] += 1.0 if gen > 0.0 else 0.0
    ws[A_SPILL * LB + s] += sur
    ws[A_UNS * LB + s] += u
    ws[A_UNS_H * LB + s] += 1.0 if u > 1e-9 else 0.0
    conn = ws[W_CONN * LB + s]
    expo = min(L - R, conn) - G  # curtailment of the non-firm connection the site had to ride through
    if expo > 0.0:
        ws[A_CURT * LB + s] += expo
        ws[A_CURT_H * LB + s] += 1.0
        ws[A_RIDE * LB + s] += max(0.0, expo - u)
    else:
        expo = 0.0
    ws[A_DEFER * LB + s] += d
    ws[A_REPAY * LB + s] += r
    ws[A_RS_REN * LB + s] += rs_ren
    ws[A_IT_LOST * LB + s] += (d - r + u) * ipt
    if hourly:
        hrow[H_DEMAND, t] = L
        hrow[H_RENEW, t] = R
        hrow[H_SPILL, t] = sur
        hrow[H_GRID, t] = g
        hrow[H_GRID_LIMIT, t] = G
        hrow[H_CHARGE, t] = ch
        hrow[H_DISCHARGE, t] = dis
        hrow[H_SOC, t] = soc
        hrow[H_GEN, t] = gen
        hrow[H_DEFER, t] = d
        hrow[H_REPAY, t] = r
        hrow[H_BACKLOG, t] = B
        hrow[H_UNSERVED, t] = u
        hrow[H_CURT, t] = expo
    return 1 if B > 0.0 else 0


@numba.njit(inline="always", **_JIT)
def _vec_step(nl, lft, sot, wit, p, c, sgt, capt, ipt, thr, ws, gbt, rqt):
    """One hour of ``nl`` lanes, branch-free so that the lane loop vectorises: the same rule and the same
    expressions as :func:`_full_step`, each ``if`` a select.  The arrays are the lanes' views (``ws``,
    ``thr`` from the group's first lane; ``gbt``, ``rqt`` the hour's grid limits and next-hour reserves)."""
    for s in range(nl):
        # every load unconditional
        lmw = ws[W_LMW * LB + s]
        L = lmw * lft
        R = ws[W_PS * LB + s] * sot + ws[W_PW * LB + s] * wit
        e = ws[W_WP * LB + s] * p + ws[W_WC * LB + s] * c
        P = ws[W_P * LB + s]
        emin = ws[W_EMIN * LB + s]
        emax = ws[W_EMAX * LB + s]
        eta = ws[W_ETA * LB + s]
        ieta = ws[W_IETA * LB + s]
        K = ws[W_K * LB + s]
        mK = ws[W_MK * LB + s]
        geff = ws[W_GEFF * LB + s]
        fs = ws[W_FS * LB + s]
        bmax = ws[W_BMAX * LB + s]
        conn = ws[W_CONN * LB + s]
        soc = ws[W_SOC * LB + s]
        B = ws[W_B * LB + s]
        G = gbt[s]
        fl = emin + rqt[s]
        ct = thr[s]
        dt = thr[LB + s]
        rd = min(R, L)
        need = L - rd
        sur_r = R - rd
        econ = (need > 0.0) & (geff < e) & ((need >= mK) | (mK * geff <= need * e))
        gen = min(need, K) if econ else 0.0
        need = need - gen
        af = max(0.0, min(P, (soc - fl) * eta))
        dis = min(need, af) if ((need > 0.0) & (e >= dt)) else 0.0
        need = need - dis
        g = min(need, G)
        need = need - g
        short = need > TOL
        x = min(need, af - dis)
        k1 = short & (x > 0.0)
        dis = dis + x if k1 else dis
        need = need - x if k1 else need
        x = min(need, K - gen)
        k2 = short & (x > 0.0) & (need > TOL)
        gen = gen + x if k2 else gen
        need = need - x if k2 else need
        x = min(need, min(fs * L, bmax - B))
        k3 = short & (x > 0.0) & (need > TOL)
        d = x if k3 else 0.0
        need = need - x if k3 else need
        aa = max(0.0, min(P, (soc - emin) * eta))
        x = min(need, aa - dis)
        k4 = short & (x > 0.0) & (need > TOL)
        dis = dis + x if k4 else dis
        need = need - x if k4 else need
        u = need if need > 0.0 else 0.0
        low = (gen > 0.0) & (gen < mK)
        ex = mK - gen if low else 0.0
        gen = mK if low else gen
        x = min(ex, g)
        g = g - x
        ex = ex - x
        x = min(ex, dis)
        dis = dis - x
        ex = ex - x
        sur = sur_r + ex
        xr = min(B, lmw * capt - L)
        rp = (B > 0.0) & (d == 0.0) & (u == 0.0) & (xr > 0.0)
        r_s = min(xr, sur) if rp else 0.0
        sur = sur - r_s
        y = max(0.0, min(xr - r_s, G - g)) if rp else 0.0
        g = g + y
        r = r_s + y
        rs_ren = min(r_s, sur_r) if rp else 0.0
        sur_r = sur_r - rs_ren
        cf = max(0.0, min(P, (emax - soc) * ieta))
        capc = cf if dis == 0.0 else 0.0
        chs = min(sur, capc)
        sur = sur - chs
        w1 = capc - chs
        w2 = max(0.0, min(capc - chs, (fl - soc) * ieta - chs))
        want = w1 if e <= ct else w2
        chg = max(0.0, min(want, G - g))
        g = g + chg
        ch = chs + chg
        ren = min(chs, sur_r)
        soc = soc - dis * ieta if dis > 0.0 else soc + ch * eta
        ws[W_SOC * LB + s] = min(max(soc, emin), emax)
        ws[W_B * LB + s] = max(0.0, B + d - r)
        expo = min(L - R, conn) - G
        ws[A_GRID * LB + s] += g
        ws[A_GP * LB + s] += g * p
        ws[A_GC * LB + s] += g * c
        ws[A_GS * LB + s] += g * sgt
        ws[A_PEAK * LB + s] = max(ws[A_PEAK * LB + s], g)
        ws[A_RD * LB + s] += rd
        ws[A_CHS * LB + s] += chs
        ws[A_CHG * LB + s] += chg
        ws[A_CHG_S * LB + s] += chg * sgt
        ws[A_REN_CH * LB + s] += ren
        ws[A_DIS * LB + s] += dis
        ws[A_GEN * LB + s] += gen
        ws[A_GEN_H * LB + s] += 1.0 if gen > 0.0 else 0.0
        ws[A_SPILL * LB + s] += sur
        ws[A_UNS * LB + s] += u
        ws[A_UNS_H * LB + s] += 1.0 if u > 1e-9 else 0.0
        ws[A_CURT * LB + s] += max(expo, 0.0)
        ws[A_CURT_H * LB + s] += 1.0 if expo > 0.0 else 0.0
        ws[A_RIDE * LB + s] += max(0.0, expo - u)  # 0 unless expo > 0 (u >= 0)
        ws[A_DEFER * LB + s] += d
        ws[A_REPAY * LB + s] += r
        ws[A_RS_REN * LB + s] += rs_ren
        ws[A_IT_LOST * LB + s] += (d - r + u) * ipt


@numba.njit(inline="always", **_JIT)
def _lean_step(nl, lft, sot, wit, p, c, sgt, thr, ws, gbt, rqt):
    """One hour of every lane when no lane can run short (load within its grid limit) and none owes deferred
    load: :func:`_vec_step` without the branches that cannot occur (bit-identical flows), vectorised."""
    for s in range(nl):
        L = ws[W_LMW * LB + s] * lft
        R = ws[W_PS * LB + s] * sot + ws[W_PW * LB + s] * wit
        e = ws[W_WP * LB + s] * p + ws[W_WC * LB + s] * c
        P = ws[W_P * LB + s]
        emin = ws[W_EMIN * LB + s]
        emax = ws[W_EMAX * LB + s]
        eta = ws[W_ETA * LB + s]
        ieta = ws[W_IETA * LB + s]
        K = ws[W_K * LB + s]
        mK = ws[W_MK * LB + s]
        geff = ws[W_GEFF * LB + s]
        soc = ws[W_SOC * LB + s]
        G = gbt[s]
        fl = emin + rqt[s]
        ct = thr[s]
        dt = thr[LB + s]
        rd = min(R, L)
        need = L - rd
        sur_r = R - rd
        econ = (need > 0.0) & (geff < e) & ((need >= mK) | (mK * geff <= need * e))
        gen = min(need, K) if econ else 0.0
        need = need - gen
        af = max(0.0, min(P, (soc - fl) * eta))
        dis = min(need, af) if ((need > 0.0) & (e >= dt)) else 0.0
        g = need - dis
        low = (gen > 0.0) & (gen < mK)
        ex = mK - gen if low else 0.0
        gen = mK if low else gen
        sur = sur_r + ex
        cf = max(0.0, min(P, (emax - soc) * ieta))
        capc = cf if dis == 0.0 else 0.0
        chs = min(sur, capc)
        sur = sur - chs
        w1 = capc - chs
        w2 = max(0.0, min(capc - chs, (fl - soc) * ieta - chs))
        want = w1 if e <= ct else w2
        chg = max(0.0, min(want, G - g))
        g = g + chg
        ch = chs + chg
        ren = min(chs, sur_r)
        soc = soc - dis * ieta if dis > 0.0 else soc + ch * eta
        ws[W_SOC * LB + s] = min(max(soc, emin), emax)
        ws[A_GRID * LB + s] += g
        ws[A_GP * LB + s] += g * p
        ws[A_GC * LB + s] += g * c
        ws[A_GS * LB + s] += g * sgt
        ws[A_PEAK * LB + s] = max(ws[A_PEAK * LB + s], g)
        ws[A_RD * LB + s] += rd
        ws[A_CHS * LB + s] += chs
        ws[A_CHG * LB + s] += chg
        ws[A_CHG_S * LB + s] += chg * sgt
        ws[A_REN_CH * LB + s] += ren
        ws[A_DIS * LB + s] += dis
        ws[A_GEN * LB + s] += gen
        ws[A_GEN_H * LB + s] += 1.0 if gen > 0.0 else 0.0
        ws[A_SPILL * LB + s] += sur
