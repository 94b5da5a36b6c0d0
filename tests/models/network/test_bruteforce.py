"""The network MILP equals brute force on instances small enough to enumerate.

The brute force is written independently of ``powerfirst.models.network.optimise``: the
assignment LP of each year is assembled here as sparse matrices from the instance arrays and
solved with ``scipy.optimize.linprog``; the build decisions (modules per site, tier and year,
non-decreasing, within the power available and the BA headroom) are enumerated exhaustively.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from powerfirst.models.network import (
    build_instance,
    evaluate,
    greedy,
    random_network,
    solve_network,
    violations,
)

H = 8766.0
#: one box of ~700 x 450 km (the edge cap, 10 ms, reaches ~340 km): caps bind for some pairs
BOX = (("US", 38.0, 42.0, -82.0, -74.0),)


def _trajectories(ub: int, years: int):
    """Non-decreasing integer sequences of length ``years`` in 0..ub."""
    return [c for c in itertools.combinations_with_replacement(range(ub + 1), years)]


def site_options(inst, s: int) -> list[np.ndarray]:
    """Every module plan (T, Y) of site s within its power in every year."""
    T, Y = len(inst.tiers), inst.n_years
    M = inst.module_mw
    per_tier = []
    for t in range(T):
        ub = int(np.floor(inst.available[s].max() / M[t] + 1e-9)) if inst.hosts[s, t] else 0
        per_tier.append(_trajectories(ub, Y))
    out = []
    for combo in itertools.product(*per_tier):
        n = np.array(combo, dtype=float)  # (T, Y)
        if (M @ n <= inst.available[s] + 1e-9).all():
            out.append(n)
    return out


def assignment_lp(inst, y: int, cap: np.ndarray) -> float:
    """Least energy + unserved cost of year y with capacities cap (S, T) [MW] (exact LP)."""
    cols = []  # (kind, tier, index)
    c = []
    for ti, td in enumerate(inst.tiers):
        for k in range(td.n_pairs):
            cols.append(("x", ti, k))
            c.append(td.node_avg[td.pair_node[k], y] * H * inst.energy_cost[td.pair_site[k]])
        if td.protected:
            for k in range(td.n_pairs):
                cols.append(("r", ti, k))
                c.append(0.0)
        for n in range(td.n_nodes):
            cols.append(("u", ti, n))
            c.append(td.node_avg[n, y] * H * inst.unserved_cost)
    index = {key: i for i, key in enumerate(cols)}
    A_eq, b_eq, A_ub, b_ub = [], [], [], []
    for ti, td in enumerate(inst.tiers):
        for n in range(td.n_nodes):
            row = {index[("u", ti, n)]: 1.0}
            for k in np.flatnonzero(td.pair_node == n):
                row[index[("x", ti, k)]] = 1.0
            A_eq.append(row)
            b_eq.append(1.0)
            if td.protected:  # x_f + r_f <= sum_k r_k for every pair f of the node
                ks = np.flatnonzero(td.pair_node == n)
                for f in ks:
                    row = {index[("r", ti, k)]: -1.0 for k in ks}
                    row[index[("r", ti, f)]] = row[index[("r", ti, f)]] + 1.0
                    row[index[("x", ti, f)]] = 1.0
                    A_ub.append(row)
                    b_ub.append(0.0)
        for s in range(inst.n_sites):
            ks = np.flatnonzero(td.pair_site == s)
            if ks.size == 0:
                continue
            row = {}
            for k in ks:
                p = td.node_peak[td.pair_node[k], y]
                row[index[("x", ti, k)]] = p
                if td.protected:
                    row[index[("r", ti, k)]] = p
            A_ub.append(row)
            b_ub.append(cap[s, ti])

    def mat(rows):
        if not rows:
            return None
        r, cc, v = [], [], []
        for i, row in enumerate(rows):
            for j, val in row.items():
                r.append(i)
                cc.append(j)
                v.append(val)
        return sparse.csr_matrix((v, (r, cc)), shape=(len(rows), len(cols)))

    res = linprog(np.array(c), A_ub=mat(A_ub), b_ub=np.array(b_ub) if A_ub else None, A_eq=mat(A_eq),
                  b_eq=np.array(b_eq), bounds=[(0, 1)] * len(cols), method="highs")
    assert res.status == 0, res.message
    return float(res.fun)


def brute_force(inst) -> tuple[float, np.ndarray, int]:
    """(optimal cost, modules (S, T, Y), number of build plans enumerated)."""
    S, Y = inst.n_sites, inst.n_years
    M = inst.module_mw
    opts = [site_options(inst, s) for s in range(S)]
    cache: dict = {}
    best, best_n, count = np.inf, None, 0
    for combo in itertools.product(*opts):
        n = np.stack(combo)  # (S, T, Y)
        built = np.einsum("t,sty->sy", M, n)
        ok = True
        for b, h in enumerate(inst.headroom):
            if np.isfinite(h):
                flex = np.maximum(built[inst.site_ba == b] - inst.firm[inst.site_ba == b], 0.0).sum(axis=0)
                if (flex > h + 1e-9).any():
                    ok = False
                    break
        if not ok:
            continue
        count += 1
        cost = 0.0
        for y in range(Y):
            key = (y, n[:, :, y].tobytes())
            if key not in cache:
                cache[key] = assignment_lp(inst, y, n[:, :, y] * M[None, :])
            capex = float((inst.capex * M[None, :] * n[:, :, y]).sum())
            cost += inst.year_weight[y] * (capex + cache[key])
        if cost < best:
            best, best_n = cost, n
    return best, best_n, count


def _small(seed: int):
    """6 candidates x 10 points x 3 tiers x 2 years, modules large enough that build plans can be enumerated."""
    dem, sup = random_network(6, 10, (2027, 2029), seed=seed, module_mw=(60.0, 30.0, 15.0), site_mw=(50.0, 130.0),
                              boxes=BOX, headroom_mw=40.0, flexible_share=0.5)
    rng = np.random.default_rng(seed)
    hosts = rng.random((6, 3)) < 0.5
    hosts[np.arange(6), rng.integers(0, 3, 6)] = True
    sup["hosts"] = (("site", "tier"), hosts)
    return build_instance(dem, sup, warn=False)


@pytest.mark.parametrize("seed", [6, 16])
def test_milp_equals_brute_force(seed):
    inst = _small(seed)
    best, best_modules, count = brute_force(inst)
    assert count > 1000  # the enumeration is not trivial
    sol = solve_network(inst, mip_gap=0.0)
    assert sol.status == "Optimal"
    assert violations(inst, sol) == []
    assert evaluate(inst, sol)["objective_cost"] == pytest.approx(best, rel=1e-7)
    assert sol.objective == pytest.approx(best, rel=1e-7)
    # the instance exercises every family: modules of several tiers, N-1 reserve, unserved demand
    assert best_modules.sum() >= 5
    assert sum(r.sum() for r in sol.r) > 0
    assert greedy(inst).objective >= best * (1 - 1e-9)


