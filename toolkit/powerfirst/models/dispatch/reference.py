"""The plain reference of the dispatch rule: one site-scenario in Python, hour by hour.

It restates :mod:`powerfirst.models.dispatch`'s rule for reading and checking (the tests compare
the compiled kernel with it, the benchmark times it): the same expressions in the same order,
no vectorisation, no shortcuts.
"""

from __future__ import annotations

import math

import numpy as np

from powerfirst.models.dispatch import _kernel as _k
from powerfirst.models.dispatch.params import _PARAM_COLUMN
from powerfirst.models.dispatch.rule import ENERGY_VARIABLES, HOURLY_VARIABLES, Prepared

__all__ = ["site_series", "dispatch_reference"]


def site_series(prep: Prepared, site: int | str, scenario: int | str = 0) -> dict:
    """The hourly inputs of one site-scenario as float64 arrays, as the kernel derives them.

    Keys: ``lf`` (facility load per MW of design load), ``capf`` (PUE / max PUE), ``ipue``
    (1 / PUE), ``solar``, ``wind`` (capacity factors), ``price`` [USD MWh-1], ``ci``
    [gCO2 kWh-1], ``clean`` (grid carbon-free share), ``curt`` (curtailed fraction), ``load``
    [MW], ``renewable`` [MW], ``grid_limit`` [MW], ``offset`` [h] and ``params`` (a dict).
    """
    i = int(np.flatnonzero(prep.site == str(site))[0]) if isinstance(site, str) else int(site)
    s = int(np.flatnonzero(prep.scenario == str(scenario))[0]) if isinstance(scenario, str) else int(scenario)
    row = {v: np.asarray(prep.hourly[v][i], dtype=np.float32).astype(float) for v in ENERGY_VARIABLES}
    u = prep.util[prep.util_idx[i]].astype(float)
    pue = row["pue"]
    pmax = float(pue.max())
    inv = 1.0 / pmax
    capf = pue * inv
    lf = u * capf
    ci = row["carbon_intensity"]
    clean = np.clip(np.asarray(prep.hourly["grid_carbon_free_share"][i], dtype=np.float32).astype(float), 0.0, 1.0)
    prm = {name: (prep.params[name].values[i, s]) for name in _PARAM_COLUMN}
    prm = {k: (v if k == "priority" else float(v)) for k, v in prm.items()}
    curt = prep.curt[prep.curt_idx[i, s]].astype(float)
    conn = prm["firm_mw"] + prm["nonfirm_mw"]
    return {
        "lf": lf, "capf": capf, "ipue": 1.0 / pue, "solar": row["solar_cf"], "wind": row["wind_cf"],
        "price": prep.price[prep.price_idx[i]].astype(float), "ci": ci, "clean": clean, "curt": curt,
        "load": prm["load_mw"] * lf, "renewable": prm["solar_mw"] * row["solar_cf"] + prm["wind_mw"] * row["wind_cf"],
        "grid_limit": conn - prm["nonfirm_mw"] * curt, "offset": int(prep.offset[i]), "util": u, "pmax": pmax,
        "params": prm, "window": prep.window, "cfe_reference": prep.cfe_reference,
        "sums_u": float(u.sum()),
    }


def _windows(T: int, b0: int, W: int) -> list[tuple[int, int]]:
    out, start = [], 0
    end = b0 if b0 > 0 else min(W, T)
    while start < T:
        out.append((start, end))
        start, end = end, min(end + W, T)
    return out


def dispatch_reference(prep: Prepared, site: int | str, scenario: int | str = 0) -> tuple[dict, dict]:
    """The rule of :func:`dispatch` for one site-scenario, in plain Python, hour by hour.

    Written for reading and checking, not speed (the benchmark's baseline).  Returns
    ``(summaries, hourly)``: summaries keyed as :data:`SUMMARY_VARIABLES` (the kernel's columns),
    hourly flows keyed as :data:`HOURLY_VARIABLES` (lists).
    """
    x = site_series(prep, site, scenario)
    p = x["params"]
    T = len(x["lf"])
    lmw, firm, nonfirm = p["load_mw"], p["firm_mw"], p["nonfirm_mw"]
    ps, pw = p["solar_mw"], p["wind_mw"]
    P, E = p["storage_mw"], p["storage_mwh"]
    rte = p["round_trip_efficiency"]
    eta = math.sqrt(rte)
    ieta = 1.0 / eta
    emin, emax = p["soc_min"] * E, p["soc_max"] * E
    usable = (p["soc_max"] - p["soc_min"]) * E
    has_sto = P > _k.EPS and usable > _k.EPS
    K = p["gas_mw"]
    mK = p["gas_min_load"] * K
    cp = p["carbon_price"]
    cost_mode = p["priority"] == "cost"
    geff = p["gas_fuel_cost"] + cp * p["gas_emission_factor"] if cost_mode else p["gas_emission_factor"] * 1e3
    fs, bmax = p["flex_share"], p["flex_share"] * lmw * p["flex_hours"]
    conn = firm + nonfirm
    price, ci, clean, lf, capf, ipue = x["price"], x["ci"], x["clean"], x["lf"], x["capf"], x["ipue"]
    so, wi, curt = x["solar"], x["wind"], x["curt"]
    signal = [price[t] + cp * 1e-3 * ci[t] if cost_mode else ci[t] for t in range(T)]

    # thresholds per window
    b0 = (-x["offset"]) % 24
    wins = _windows(T, b0, x["window"])
    cthr = [-math.inf] * len(wins)
    dthr = [math.inf] * len(wins)
    if has_sto and p["arbitrage"] > 0.5:
        k_dis = max(1, math.ceil(usable * eta / P - 1e-9))
        k_ch = max(1, math.ceil(usable / eta / P - 1e-9))
        deg = p["degradation_cost"] if cost_mode else 0.0
        for w, (a, b) in enumerate(wins):
            srt = sorted(signal[a:b])
            n = b - a
            for k in range(min(k_dis, n // 2), 0, -1):
                kc = min(n - k, max(1, math.ceil(k * k_ch / k_dis - 1e-9)))
                if srt[n - k] - srt[kc - 1] / rte - deg > 1e-9:
                    cthr[w], dthr[w] = srt[kc - 1], srt[n - k]
                    break
    win_of = np.empty(T, int)
    for w, (a, b) in enumerate(wins):
        win_of[a:b] = w

    grid_limit = [conn - nonfirm * curt[t] for t in range(T)]
    # reserve: backward
    req = [0.0] * (T + 1)
    if has_sto:
        acc = 0.0
        for t in range(T - 1, -1, -1):
            net = lmw * lf[t] - ps * so[t] - pw * wi[t] - grid_limit[t]
            acc = acc + min(net, P) * ieta if net > 0 else acc - min(-net, P) * eta
            acc = min(max(acc, 0.0), usable)
            req[t] = acc

    soc = p["soc_initial"] * E if has_sto else 0.0
    B = 0.0
    tot = dict.fromkeys(["grid", "gp", "gc", "gs", "peak", "rd", "chs", "chg", "chg_s", "ren_ch", "dis", "gen",
                         "gen_h", "spill", "uns", "uns_h", "curt", "curt_h", "ride", "defer", "repay", "rs_ren",
                         "it_lost"], 0.0)
    hours = {k: [] for k in HOURLY_VARIABLES}
    for t in range(T):
        L = lmw * lf[t]
        R = ps * so[t] + pw * wi[t]
        G = grid_limit[t]
        e = signal[t]
        fl = emin + req[t + 1]
        ct, dt = cthr[win_of[t]], dthr[win_of[t]]
        rd = min(R, L)
        need = L - rd
        sur_r = R - rd
        gen = dis = d = u = ex = 0.0
        # economic generation first
        if need > 0 and geff < e and (need >= mK or mK * geff <= need * e):
            gen = min(need, K)
            need -= gen
        # storage in a dear hour, above its reserve
        if need > 0 and e >= dt:
            dis = min(need, max(0.0, min(P, (soc - fl) * eta)))
            need -= dis
        # the grid
        g = min(need, G)
        need -= g
        if need > _k.TOL:  # shortfall (a residual below TOL MW is left unserved)
            af = max(0.0, min(P, (soc - fl) * eta))
            step = min(need, af - dis)
            if step > 0:
                dis, need = dis + step, need - step
            step = min(need, K - gen)
            if step > 0 and need > _k.TOL:
                gen, need = gen + step, need - step
            step = min(need, min(fs * L, bmax - B))
            if step > 0 and need > _k.TOL:
                d, need = step, need - step
            aa = max(0.0, min(P, (soc - emin) * eta))
            step = min(need, aa - dis)
            if step > 0 and need > _k.TOL:
                dis, need = dis + step, need - step
        if need > 0:
            u = need
        if 0 < gen < mK:  # minimum load
            ex = mK - gen
            gen = mK
            step = min(ex, g)
            g, ex = g - step, ex - step
            step = min(ex, dis)
            dis, ex = dis - step, ex - step
        sur = sur_r + ex
        r = rs_ren = 0.0
        if B > 0 and d == 0 and u == 0:  # make up deferred load
            room_fac = min(B, lmw * capf[t] - L)
            if room_fac > 0:
                r_s = min(room_fac, sur)
                sur -= r_s
                y = max(0.0, min(room_fac - r_s, G - g))
                g += y
                r = r_s + y
                rs_ren = min(r_s, sur_r)
                sur_r -= rs_ren
        capc = max(0.0, min(P, (emax - soc) * ieta)) if dis == 0 else 0.0
        chs = min(sur, capc)
        sur -= chs
        want = capc - chs if e <= ct else max(0.0, min(capc - chs, (fl - soc) * ieta - chs))
        chg = max(0.0, min(want, G - g))
        g += chg
        ch = chs + chg
        soc = soc - dis * ieta if dis > 0 else soc + ch * eta
        soc = min(max(soc, emin), emax)
        B = max(0.0, B + d - r)
        expo = min(L - R, conn) - G
        expo = expo if expo > 0 else 0.0
        tot["grid"] += g
        tot["gp"] += g * price[t]
        tot["gc"] += g * ci[t]
        tot["gs"] += g * clean[t]
        tot["peak"] = max(tot["peak"], g)
        tot["rd"] += rd
        tot["chs"] += chs
        tot["chg"] += chg
        tot["chg_s"] += chg * clean[t]
        tot["ren_ch"] += min(chs, sur_r)
        tot["dis"] += dis
        tot["gen"] += gen
        tot["gen_h"] += gen > 0
        tot["spill"] += sur
        tot["uns"] += u
        tot["uns_h"] += u > 1e-9
        if expo > 0:
            tot["curt"] += expo
            tot["curt_h"] += 1
            tot["ride"] += max(0.0, expo - u)
        tot["defer"] += d
        tot["repay"] += r
        tot["rs_ren"] += rs_ren
        tot["it_lost"] += (d - r + u) * ipue[t]
        for k, v in (("facility_load", L), ("renewable", R), ("spill", sur), ("grid", g), ("grid_limit", G), ("charge", ch),
                     ("discharge", dis), ("soc", soc), ("onsite_generation", gen), ("defer", d), ("make_up", r),
                     ("backlog", B), ("unserved", u), ("curtailment", expo)):
            hours[k].append(v)
    demand = lmw * float(np.sum(lf))
    a_ch = tot["chs"] + tot["chg"]
    emis = tot["gc"] * 1e-3 + tot["gen"] * p["gas_emission_factor"]
    clean_sto = (tot["ren_ch"] + tot["chg_s"]) / a_ch if a_ch > _k.EPS else 0.0
    summ = {
        "facility_demand": demand, "served_energy": demand - tot["defer"] - tot["uns"] + tot["repay"],
        "unserved_energy": tot["uns"], "unserved_hours": tot["uns_h"], "grid_import": tot["grid"],
        "grid_import_peak": tot["peak"], "curtailment_energy": tot["curt"], "curtailment_hours": tot["curt_h"],
        "curtailment_ridden_through": tot["ride"], "storage_charge": a_ch, "storage_discharge": tot["dis"],
        "storage_grid_charge": tot["chg"], "soc_end": soc, "generation_energy": tot["gen"],
        "generation_hours": tot["gen_h"], "renewable_energy": ps * float(np.sum(so)) + pw * float(np.sum(wi)),
        "renewable_used": tot["rd"] + tot["rs_ren"] + tot["ren_ch"], "spilled_energy": tot["spill"],
        "deferred_energy": tot["defer"], "made_up_energy": tot["repay"], "deferred_backlog_end": B,
        "grid_energy_cost": tot["gp"], "fuel_cost": tot["gen"] * p["gas_fuel_cost"],
        "storage_degradation_cost": tot["dis"] * p["degradation_cost"],
        "deferred_load_cost": tot["defer"] * p["deferral_cost"],
        "unserved_penalty": (tot["uns"] + B) * p["unserved_cost"], "carbon_cost": cp * emis, "emissions": emis,
        "carbon_free_energy": tot["rd"] + tot["rs_ren"] + (tot["gs"] - tot["chg_s"]) + tot["dis"] * clean_sto,
        "it_energy_served": lmw * (x["sums_u"] * (1.0 / x["pmax"])) - tot["it_lost"],
    }
    summ["energy_cost"] = (summ["grid_energy_cost"] + summ["fuel_cost"] + summ["storage_degradation_cost"]
                           + summ["deferred_load_cost"])
    summ["total_cost"] = summ["energy_cost"] + summ["carbon_cost"] + summ["unserved_penalty"]
    return summ, hours
