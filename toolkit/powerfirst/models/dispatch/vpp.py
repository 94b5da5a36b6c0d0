r"""Virtual power plant: the storage and flexible load of many sites in one BA cutting its peaks.

The sites of a balancing authority pool their storage (power :math:`P`, usable energy
:math:`E`, efficiency :math:`\eta = \sqrt{\mathrm{rte}}`) and their deferrable load (up to
:math:`F` MW at once, :math:`B^{\max}` MWh owed at most, made up later at up to :math:`F` MW).
To cut the BA's peak load by :math:`\Delta`, the fleet must hold the BA's load
:math:`D_t` at or below :math:`C = \max_t D_t - \Delta` in every hour: discharging, then
deferring, the excess :math:`(D_t - C)^+`, and recharging and making up the deferred load
only in the room :math:`(C - D_t)^+` below the cap.  The largest feasible :math:`\Delta` is found
by bisection on a compiled pass through the hours (storage starting full); the report gives it
in MW, the hours a year the fleet is called (:math:`D_t > C`), the longest call and the
energy it shifts.

Assumptions, stated: the BA's hourly load is a historic year laid onto the typical year
(:func:`powerfirst.models.dispatch.inputs.align_to_typical_year`); the fleet's capability is
that of its parameters (its own load is not added to the BA's, and the storage is assumed free
for the grid in the hours it is called -- the top hours, in which a site on a flexible
connection is also curtailed and rides through on the same storage, which is that very relief).
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = ["peak_shaving", "vpp_peak_reduction", "fleet_by_ba", "shaved_load"]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _feasible(load, cap, P, E, eta, F, bmax):
    """Hold ``load`` at or below ``cap``: (feasible, hours called, longest call, energy shifted)."""
    soc = E
    B = 0.0
    called = 0
    run = 0
    longest = 0
    shifted = 0.0
    for t in range(load.shape[0]):
        x = load[t] - cap
        if x > 1e-9:
            called += 1
            run += 1
            if run > longest:
                longest = run
            shifted += x
            dis = min(x, P, soc * eta)
            soc -= dis / eta
            x -= dis
            dfr = min(x, F, bmax - B)
            if dfr > 0.0:
                B += dfr
                x -= dfr
            if x > 1e-6:
                return False, called, longest, shifted
        else:
            run = 0
            room = -x
            r = min(B, F, room)
            B -= r
            room -= r
            c = min(P, room, (E - soc) / eta)
            if c > 0.0:
                soc += c * eta
    return True, called, longest, shifted


def peak_shaving(load, storage_mw: float, storage_mwh: float, *, flex_mw: float = 0.0, flex_mwh: float = 0.0,
                 round_trip_efficiency: float = 0.85, tol_mw: float = 0.05) -> dict:
    """The largest peak reduction [MW] a fleet can hold through a year of hourly load.

    Parameters
    ----------
    load : array
        Hourly load [MW] of the balancing authority.
    storage_mw, storage_mwh : float
        Fleet storage power [MW] and usable energy [MWh].
    flex_mw : float
        Fleet load that can be deferred at once, and made up at the same rate [MW].
    flex_mwh : float
        Deferred energy owed at most [MWh].
    round_trip_efficiency : float
        In (0, 1].
    tol_mw : float
        Bisection tolerance [MW].

    Returns
    -------
    dict
        ``peak_mw``, ``peak_reduction_mw``, ``new_peak_mw`` [MW], ``hours_called``,
        ``longest_call_hours`` [h], ``energy_shifted_mwh`` [MWh].
    """
    load = np.asarray(load, dtype=float)
    problems = []
    for name, v in (("storage_mw", storage_mw), ("storage_mwh", storage_mwh), ("flex_mw", flex_mw),
                    ("flex_mwh", flex_mwh)):
        if not np.isfinite(v) or v < 0:
            problems.append(Problem(f"must be a non-negative number, found {v!r}", variable=name))
    if not 0 < round_trip_efficiency <= 1:
        problems.append(Problem(f"round_trip_efficiency {round_trip_efficiency!r} outside (0, 1]",
                                variable="round_trip_efficiency"))
    if load.size == 0 or not np.isfinite(load).all():
        problems.append(Problem("the load must be a complete hourly series without NaN", variable="load"))
    if problems:
        raise ValidationError(problems, what="VPP inputs")
    eta = float(np.sqrt(round_trip_efficiency))
    peak = float(load.max())
    lo, hi = 0.0, float(storage_mw + flex_mw)
    best = (True, 0, 0, 0.0)
    top = _feasible(load, peak - hi, storage_mw, storage_mwh, eta, flex_mw, flex_mwh) if hi > 0 else best
    if hi > 0 and top[0]:
        lo, best = hi, top
    else:
        while hi - lo > tol_mw:
            mid = 0.5 * (lo + hi)
            res = _feasible(load, peak - mid, storage_mw, storage_mwh, eta, flex_mw, flex_mwh)
            if res[0]:
                lo, best = mid, res
            else:
                hi = mid
    return {"peak_mw": peak, "peak_reduction_mw": lo, "new_peak_mw": peak - lo, "hours_called": int(best[1]),
            "longest_call_hours": int(best[2]), "energy_shifted_mwh": float(best[3])}


def shaved_load(load, reduction_mw: float) -> np.ndarray:
    """The BA's load with the fleet holding it at ``max(load) - reduction_mw`` [MW] (for plots)."""
    load = np.asarray(load, dtype=float)
    return np.minimum(load, load.max() - float(reduction_mw))


def fleet_by_ba(params: xr.Dataset, facility_demand: xr.DataArray | None = None) -> xr.Dataset:
    """Pooled storage and flexible load of the sites of each BA, per scenario.

    Parameters
    ----------
    params : xarray.Dataset
        Dispatch parameters or a dispatch result (``storage_mw``, ``storage_mwh``, ``soc_min``,
        ``soc_max``, ``round_trip_efficiency``, ``flex_share``, ``flex_hours``, ``load_mw``) on
        (site, scenario) with a ``ba`` coordinate on ``site``.
    facility_demand : xarray.DataArray, optional
        Yearly facility demand [MWh] (site, scenario): the flexible MW is ``flex_share`` x the
        mean load; default ``flex_share`` x ``load_mw`` x 0.9.
    """
    if "ba" not in params.coords:
        raise ValidationError([Problem("the sites need a 'ba' coordinate", variable="ba")], what="VPP fleet")
    usable = params["storage_mwh"] * (params["soc_max"] - params["soc_min"])
    mean_load = facility_demand / 8760.0 if facility_demand is not None else params["load_mw"] * 0.9
    flex = params["flex_share"] * mean_load
    owed = params["flex_share"] * params["load_mw"] * params["flex_hours"]
    sums = xr.Dataset({"storage_mw": params["storage_mw"], "storage_mwh": usable, "flex_mw": flex,
                       "flex_mwh": owed}).groupby("ba").sum()
    rte = (params["round_trip_efficiency"] * params["storage_mw"]).groupby("ba").sum() / \
        params["storage_mw"].groupby("ba").sum().where(lambda x: x > 0)
    sums["round_trip_efficiency"] = rte.fillna(0.85)
    sums["n_sites"] = params["storage_mw"].groupby("ba").count()
    units = {"storage_mw": "MW", "storage_mwh": "MWh", "flex_mw": "MW", "flex_mwh": "MWh",
             "round_trip_efficiency": "1", "n_sites": "count"}
    for k, u in units.items():
        sums[k].attrs["units"] = u
    return sums


def vpp_peak_reduction(fleet: xr.Dataset, ba_load: xr.DataArray, *, scenario=None) -> xr.Dataset:
    """Peak reduction of each BA by its fleet (:func:`fleet_by_ba`), per scenario.

    Parameters
    ----------
    fleet : xarray.Dataset
        From :func:`fleet_by_ba` (``ba`` x ``scenario``).
    ba_load : xarray.DataArray
        Hourly load [MW] on (``ba``, ``time``), one (typical) year.
    scenario : label, optional
        Only this scenario.

    Returns
    -------
    xarray.Dataset
        On (``ba``, ``scenario``): ``peak_mw``, ``peak_reduction_mw``, ``new_peak_mw`` [MW],
        ``peak_reduction_share`` [1], ``hours_called``, ``longest_call_hours`` [h],
        ``energy_shifted`` [MWh] and the fleet's ``storage_mw``, ``storage_mwh``, ``flex_mw``.
    """
    if scenario is not None:
        fleet = fleet.sel(scenario=[scenario])
    bas = [str(b) for b in fleet["ba"].values]
    have = set(map(str, ba_load["ba"].values))
    missing = [b for b in bas if b not in have]
    if missing:
        raise ValidationError([Problem("no hourly load for this balancing authority in the grid cube", site=b)
                               for b in missing], what="VPP inputs")
    scen = list(fleet["scenario"].values) if "scenario" in fleet.dims else [None]
    keys = ("peak_mw", "peak_reduction_mw", "new_peak_mw", "hours_called", "longest_call_hours",
            "energy_shifted_mwh")
    out = {k: np.zeros((len(bas), len(scen))) for k in keys}
    for i, b in enumerate(bas):
        load = np.asarray(ba_load.sel(ba=b).values, dtype=float)
        for j, s in enumerate(scen):
            f = fleet.sel(ba=b) if s is None else fleet.sel(ba=b, scenario=s)
            res = peak_shaving(load, float(f["storage_mw"]), float(f["storage_mwh"]), flex_mw=float(f["flex_mw"]),
                               flex_mwh=float(f["flex_mwh"]), round_trip_efficiency=float(f["round_trip_efficiency"]))
            for k in keys:
                out[k][i, j] = res[k]
    dims = ("ba", "scenario")
    coords = {"ba": bas, "scenario": [str(s) for s in scen] if scen != [None] else ["-"]}
    ds = xr.Dataset(coords=coords)
    meta = {"peak_mw": ("MW", "peak load of the BA"), "peak_reduction_mw": ("MW", "peak reduction the fleet holds"),
            "new_peak_mw": ("MW", "peak load with the fleet"), "hours_called": ("h", "hours a year the fleet is called"),
            "longest_call_hours": ("h", "longest call"), "energy_shifted_mwh": ("MWh", "energy shifted off the peak")}
    for k, (u, ln) in meta.items():
        name = "energy_shifted" if k == "energy_shifted_mwh" else k
        ds[name] = (dims, out[k], {"units": u, "long_name": ln})
    ds["peak_reduction_share"] = (ds["peak_reduction_mw"] / ds["peak_mw"]).assign_attrs(
        units="1", long_name="peak reduction as a share of the peak")
    for k in ("storage_mw", "storage_mwh", "flex_mw", "n_sites"):
        ds[f"fleet_{k}"] = (dims, np.asarray(fleet[k].transpose("ba", ...).values).reshape(len(bas), len(scen)),
                            {"units": fleet[k].attrs.get("units", ""), "long_name": f"fleet {k.replace('_', ' ')}"})
    ds.attrs["method"] = __doc__.split("\n\n", 1)[1].strip()
    ds.attrs["time_convention"] = (f"{ba_load.sizes['time']} hours from "
                                   f"{pd.Timestamp(ba_load['time'].values[0])}")
    return ds
