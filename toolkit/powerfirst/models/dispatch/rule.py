r"""Hourly site dispatch: storage, on-site generation, a flexible grid connection and deferrable load.

For every site, scenario and hour of the typical year, a **rule** decides how the facility load
is served; :func:`dispatch` runs it compiled for thousands of sites at once (site x scenario,
vectorised over scenarios, parallel over sites, lazy over Dask chunks of sites and scenarios)
and returns yearly summaries (hourly flows on request).  :mod:`powerfirst.models.dispatch.lp`
solves the same site-year as a linear program for validation and sizing.

Supply and demand of one hour (all in MW, so MWh per hour)
------------------------------------------------------------
* facility load :math:`L_t = L^{\max} u_t\, \mathrm{PUE}_t / \max \mathrm{PUE}`
  (:mod:`powerfirst.models.dispatch.site_load`; ``load_mw`` = :math:`L^{\max}`);
* on-site renewables :math:`R_t = S\, \mathrm{cf}^{pv}_t + W\, \mathrm{cf}^{w}_t` (energy cube);
* grid import :math:`0 \le g_t \le G_t = F + N (1 - \kappa_t)`: firm limit :math:`F`, non-firm
  connection :math:`N` and its curtailed fraction :math:`\kappa_t` in the BA's curtailment
  events (:mod:`powerfirst.models.dispatch.inputs`);
* storage: power :math:`P`, energy :math:`E`, state of charge within
  :math:`[s^{\min} E, s^{\max} E]`, charge and discharge efficiency :math:`\eta = \sqrt{\mathrm{rte}}`;
* on-site generation: capacity :math:`K`, minimum load :math:`m K` while running, fuel cost,
  emission factor;
* deferrable load: up to :math:`f L_t` may be deferred in an hour, at most
  :math:`f L^{\max} H^{\mathrm{flex}}` MWh owed, made up later within the facility's capacity;
* unserved load, priced at ``unserved_cost``.

The rule
--------
Each hour, with :math:`e_t` the decision signal (``priority='cost'``: price plus carbon price x
intensity; ``'carbon'``: intensity) and the charge / discharge thresholds of the hour's
look-ahead window (``window_hours``, from local midnight: the :math:`k_c`-th cheapest and
:math:`k_d`-th dearest hours, :math:`k` the hours to fill / empty the storage, reduced while the
pair does not pay :math:`e_d - e_c / \mathrm{rte} - c^{deg} > 0`):

1. renewables serve the load;
2. on-site generation runs first when it is cheaper (cleaner) than the grid this hour and its
   minimum load is worth it;
3. storage discharges in a dear hour, above its **reserve**;
4. the grid serves what remains, within the hour's limit;
5. on a shortfall: storage above its reserve, on-site generation, deferral of flexible load
   (an hour's deferral cannot be saved for later, the reserve can), storage below its reserve,
   and what remains is unserved;
6. generation running below its minimum load runs at it: the surplus displaces grid import,
   then discharge;
7. deferred load is made up (surplus first, then the grid) when nothing was short this hour;
8. storage charges (when it did not discharge) from surplus renewables and generation, then
   from the grid within the limit in a cheap hour -- or, whatever the price, up to its
   reserve.

The reserve is the state of charge that rides through the coming shortfalls of the load
beyond renewables and the grid limit: a backward pass
:math:`r_t = \min(E^{use}, \max(0, r_{t+1} + \min(\mathrm{short}_t, P)/\eta - \min(\mathrm{room}_t, P)\,\eta))`,
so that storage is full enough before a curtailment event and free for arbitrage otherwise.
Storage never charges and discharges in the same hour.  The rule is provably optimal without
storage or deferral and with non-negative prices (the hours are independent and each takes the
cheapest source; with a negative price the optimum would also import to spill on-site output);
with storage or deferral it is a heuristic, checked against the linear program.

Outputs (site x scenario)
-------------------------
Facility demand, served and unserved energy and hours, grid import and its peak, curtailment
of the non-firm connection and the part ridden through (by storage, generation or deferral),
storage charge, discharge (throughput) and equivalent full cycles, on-site generation energy
and hours, on-site renewables available, used and self-consumption, spilled energy, deferred
energy, costs (grid, fuel, degradation, deferral, carbon, unserved, total), emissions,
hourly-matched carbon-free share, IT energy served and useful IT MWh per MWh drawn from the
grid.  The grid's carbon-free share of an hour is the energy cube's ``grid_carbon_free_share``
(nuclear, hydro, solar and wind in the generation mix: EIA-930 2022 month x UTC-hour profiles of
``data/derived/carbon_fuel_mix_month_hour.csv``, a proxy BA's, or a European country's annual
share).  Only where the cube lacks it (a cube built without it, or a grid whose mix is unknown)
is it estimated by the fallback formula :math:`1 - \mathrm{CI}_t / \mathrm{CI}^{ref}` (clipped
to [0, 1], ``cfe_reference`` 800 gCO2/kWh, the intensity of an all-fossil mix between gas and
coal), which overstates the share by 13-21 points against the 2022 fuel mix (PJM 0.55 against
0.39; hydro-dominated BPAT +0.5); the result's attrs ``carbon_free_share_source`` say which sites used it.  Storage output
counts clean in the share of clean energy it was charged with over the year.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError
from powerfirst.models.dispatch import _kernel as _k
from powerfirst.models.dispatch.inputs import stylised_curtailment, stylised_price
from powerfirst.models.dispatch.params import (
    _PARAM_COLUMN,
    PRIORITIES,
    dispatch_parameters,
    resolve_parameters,
)
from powerfirst.models.dispatch.site_load import _users_offset, profile_table, site_utc_offset

__all__ = [
    "PRIORITIES", "SUMMARY_VARIABLES", "HOURLY_VARIABLES", "dispatch_parameters", "resolve_parameters",
    "prepare", "dispatch", "run_prepared", "Prepared", "storage_cycles",
]

ENERGY_VARIABLES = ("solar_cf", "wind_cf", "pue", "carbon_intensity")
#: the hourly inputs of the kernel: the energy variables and the grid's carbon-free share
KERNEL_INPUTS = ENERGY_VARIABLES + ("grid_carbon_free_share",)
DEFAULT_CFE_REFERENCE = 800.0

# output name -> (kernel column or None for derived, units, long_name)
SUMMARY_VARIABLES: dict[str, tuple[int | None, str, str]] = {
    "facility_demand": (_k.M_DEMAND, "MWh", "facility energy demanded"),
    "served_energy": (_k.M_SERVED, "MWh", "facility energy served"),
    "unserved_energy": (_k.M_UNSERVED, "MWh", "facility energy not served"),
    "unserved_hours": (_k.M_UNSERVED_H, "h", "hours with unserved load"),
    "unserved_share": (None, "1", "share of demand not served (incl. deferred load never made up)"),
    "grid_import": (_k.M_GRID, "MWh", "grid import"),
    "grid_import_peak": (_k.M_GRID_PEAK, "MW", "peak grid import"),
    "curtailment_energy": (_k.M_CURT, "MWh", "curtailment of the non-firm connection the site faced"),
    "curtailment_hours": (_k.M_CURT_H, "h", "hours the site faced curtailment"),
    "curtailment_ridden_through": (_k.M_RIDDEN, "MWh", "curtailment ridden through by storage, generation or deferral"),
    "storage_charge": (_k.M_CHARGE, "MWh", "storage charge"),
    "storage_discharge": (_k.M_DISCHARGE, "MWh", "storage discharge (throughput)"),
    "storage_cycles": (None, "1", "equivalent full storage cycles"),
    "storage_grid_charge": (_k.M_GRID_CHARGE, "MWh", "storage charge from the grid"),
    "soc_end": (_k.M_SOC_END, "MWh", "state of charge at the end of the year"),
    "generation_energy": (_k.M_GEN, "MWh", "on-site generation"),
    "generation_hours": (_k.M_GEN_H, "h", "hours on-site generation runs"),
    "renewable_energy": (_k.M_RENEW, "MWh", "on-site renewable energy available"),
    "renewable_used": (_k.M_RENEW_USED, "MWh", "on-site renewable energy used on site"),
    "renewable_self_consumption": (None, "1", "share of on-site renewable energy used on site"),
    "spilled_energy": (_k.M_SPILL, "MWh", "on-site energy spilled (renewables and generation above need)"),
    "deferred_energy": (_k.M_DEFER, "MWh", "flexible load deferred"),
    "made_up_energy": (_k.M_REPAY, "MWh", "deferred load made up later"),
    "deferred_backlog_end": (_k.M_BACKLOG_END, "MWh", "deferred load still owed at the end of the year"),
    "grid_energy_cost": (_k.M_GRID_COST, "USD", "cost of grid energy"),
    "fuel_cost": (_k.M_FUEL_COST, "USD", "fuel and variable cost of on-site generation"),
    "storage_degradation_cost": (_k.M_DEG_COST, "USD", "storage degradation cost"),
    "deferred_load_cost": (_k.M_DEFER_COST, "USD", "cost of deferred load"),
    "energy_cost": (None, "USD", "energy cost (grid, fuel, degradation, deferral)"),
    "carbon_cost": (_k.M_CARBON_COST, "USD", "carbon cost"),
    "unserved_penalty": (_k.M_UNSERVED_COST, "USD", "penalty of unserved load (incl. deferred load never made up)"),
    "total_cost": (None, "USD", "total cost (energy, carbon and unserved penalty)"),
    "emissions": (_k.M_EMISSIONS, "tCO2", "CO2 emissions of grid import and on-site generation"),
    "carbon_free_energy": (_k.M_CFE, "MWh", "hourly-matched carbon-free energy served"),
    "carbon_free_share": (None, "1", "hourly-matched carbon-free share of the energy served"),
    "it_energy_served": (_k.M_IT_SERVED, "MWh", "IT energy served"),
    "it_energy_per_grid_energy": (None, "1", "useful IT MWh per MWh drawn from the grid"),
}

# hourly name -> (kernel row, units, long_name)
HOURLY_VARIABLES: dict[str, tuple[int, str, str]] = {
    "facility_load": (_k.H_DEMAND, "MW", "facility load"),
    "renewable": (_k.H_RENEW, "MW", "on-site renewable output"),
    "spill": (_k.H_SPILL, "MW", "on-site output spilled"),
    "grid": (_k.H_GRID, "MW", "grid import"),
    "grid_limit": (_k.H_GRID_LIMIT, "MW", "grid import limit of the hour"),
    "charge": (_k.H_CHARGE, "MW", "storage charge"),
    "discharge": (_k.H_DISCHARGE, "MW", "storage discharge"),
    "soc": (_k.H_SOC, "MWh", "state of charge at the end of the hour"),
    "onsite_generation": (_k.H_GEN, "MW", "on-site generation"),
    "defer": (_k.H_DEFER, "MW", "load deferred"),
    "make_up": (_k.H_REPAY, "MW", "deferred load made up"),
    "backlog": (_k.H_BACKLOG, "MWh", "deferred load owed at the end of the hour"),
    "unserved": (_k.H_UNSERVED, "MW", "load not served"),
    "curtailment": (_k.H_CURT, "MW", "curtailment of the non-firm connection faced"),
}

# ---------------------------------------------------------------------------
# inputs


@dataclass
class Prepared:
    """Everything the kernel, the reference loop and the LP need (arrays as the kernel takes them)."""

    site: np.ndarray
    scenario: np.ndarray
    time: pd.DatetimeIndex
    hourly: dict  # name -> (site, time) array, numpy or Dask (KERNEL_INPUTS)
    util: np.ndarray
    util_idx: np.ndarray
    price: np.ndarray
    price_idx: np.ndarray
    curt: np.ndarray
    curt_idx: np.ndarray
    offset: np.ndarray
    params: xr.Dataset
    window: int
    cfe_reference: float
    coords: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)

    def param_array(self) -> np.ndarray:
        """Parameters as the kernel takes them, float64 (site, scenario, N_PARAMS)."""
        p = self.params
        arr = np.zeros((self.site.size, self.scenario.size, _k.N_PARAMS))
        for name, col in _PARAM_COLUMN.items():
            if name == "priority":
                arr[..., col] = (p[name].values == "carbon").astype(float)
            else:
                arr[..., col] = p[name].values
        return arr


def _check_time(da: xr.DataArray, time: pd.DatetimeIndex, name: str) -> list[Problem]:
    if "time" not in da.dims:
        return [Problem(f"no 'time' dimension (dims {da.dims})", variable=name)]
    t = pd.DatetimeIndex(da.indexes["time"])
    if t.equals(time):
        return []
    how = (f"{len(t)} hours {t[0]} .. {t[-1]}" if len(t) else "no hours")
    return [Problem(f"time axis does not match the energy cube's ({len(time)} hours {time[0]} .. {time[-1]}); "
                    f"found {how}; align it first (powerfirst.models.dispatch.inputs.align_to_typical_year)",
                    variable=name)]


def _table_input(value, name: str, time: pd.DatetimeIndex, site_labels: np.ndarray, site_ba: np.ndarray,
                 default_rows, problems: list[Problem], lo=None, hi=None, units: str = ""):
    """(rows float32 (n, T), index per site, source text) from None / number / DataArray."""
    n = site_labels.size
    if value is None:
        rows, idx, src = default_rows()
        return rows, idx, src
    if isinstance(value, (int, float, np.number)):
        v = float(value)
        if not np.isfinite(v):
            problems.append(Problem(f"must be a finite number, found {value!r}", variable=name))
            return None
        return np.full((1, len(time)), v, np.float32), np.zeros(n, np.int64), f"constant {v:g} {units}".strip()
    if not isinstance(value, xr.DataArray):
        problems.append(Problem(f"expected None, a number or a DataArray on time (and ba or site), found "
                                f"{type(value).__name__}", variable=name))
        return None
    tp = _check_time(value, time, name)
    extra = [d for d in value.dims if d not in ("time", "ba", "site")]
    if extra:
        tp.append(Problem(f"unexpected dimensions {extra}; expected time and optionally ba or site", variable=name))
    if tp:
        problems.extend(tp)
        return None
    arr = value.transpose(*[d for d in ("site", "ba") if d in value.dims], "time")
    vals = np.asarray(arr.values, dtype=float)
    if "site" in arr.dims:
        keys = np.asarray(arr["site"].values).astype(str)
        want = site_labels
    elif "ba" in arr.dims:
        keys = np.asarray(arr["ba"].values).astype(str)
        want = site_ba
    else:
        keys, want, vals = np.array(["*"]), np.full(n, "*"), vals[None, :]
    pos = pd.Index(keys).get_indexer(want)
    for w in sorted({str(x) for x in want[pos < 0]})[:20]:
        problems.append(Problem(f"no {name} series for {'site' if 'site' in arr.dims else 'balancing authority'} "
                                f"{w!r}", variable=name, site=str(w)))
    bad = ~np.isfinite(vals).all(axis=1)
    for r in np.flatnonzero(bad)[:20]:
        nn = int((~np.isfinite(vals[r])).sum())
        t0 = time[np.flatnonzero(~np.isfinite(vals[r]))[0]]
        problems.append(Problem(f"{nn} NaN or infinite hours, first {t0}", variable=name, site=str(keys[r])))
    if lo is not None and np.nanmin(vals) < lo - 1e-12 or hi is not None and np.nanmax(vals) > hi + 1e-12:
        problems.append(Problem(f"values outside [{lo}, {hi}] (found {np.nanmin(vals):g} .. {np.nanmax(vals):g})",
                                variable=name))
    if (pos < 0).any() or bad.any():
        return None
    return vals.astype(np.float32), pos.astype(np.int64), value.attrs.get("source", "user series")


def _ba_offset(bas: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Standard-time UTC offset of each BA's time zone [h] (the site's solar offset when unknown)."""
    from powerfirst.schema.tables import _grids

    g = _grids()
    out = site_utc_offset(lon).astype(float)
    cache: dict[str, float] = {}
    for i, b in enumerate(bas):
        if b in g.index and isinstance(g.at[b, "timezone"], str):
            if b not in cache:
                tz = g.at[b, "timezone"]
                cache[b] = pd.Timestamp("2023-01-15").tz_localize(tz).utcoffset().total_seconds() / 3600
            out[i] = cache[b]
    return out


def prepare(energy: xr.Dataset, sites: xr.Dataset | None = None, scenarios=None, *, price=None, curtailment=None,
            sweep=None, window_hours: int = 24, cfe_reference: float = DEFAULT_CFE_REFERENCE,
            users_utc_offset=None, profiles=None) -> Prepared:
    """Check and assemble the inputs of :func:`dispatch` (see there).  The energy cube stays lazy."""
    problems: list[Problem] = []
    if not isinstance(energy, xr.Dataset) or "site" not in energy.dims or "time" not in energy.dims:
        raise ValidationError([Problem("energy must be an energy cube on (site, time) (build_energy_cube)")],
                              what="dispatch inputs")
    for v in ENERGY_VARIABLES:
        if v not in energy.data_vars:
            problems.append(Problem("energy cube variable missing", variable=v))
    if sites is None:
        sites = energy
    if "site" not in sites.dims:
        problems.append(Problem("sites must be a Dataset on 'site' (read_sites)", variable="site"))
    if problems:
        raise ValidationError(problems, what="dispatch inputs")
    labels = np.asarray(energy["site"].values).astype(str)
    known = set(np.asarray(sites["site"].values).astype(str))
    missing = [s for s in labels if s not in known]
    if missing:
        raise ValidationError([Problem("site of the energy cube not in the site list", site=s) for s in missing[:50]],
                              what="dispatch inputs")
    sites = sites.sel(site=labels)
    time = pd.DatetimeIndex(energy.indexes["time"])
    for v, u in (("solar_cf", "1"), ("wind_cf", "1"), ("pue", "1"), ("carbon_intensity", "gCO2 kWh-1")):
        got = energy[v].attrs.get("units")
        if got is not None and str(got) != u:
            problems.append(Problem(f"units {got!r}; expected {u!r} (convert with powerfirst.units.convert)",
                                    variable=v))
    if len(time) < 24:
        problems.append(Problem(f"the energy cube has {len(time)} hours; at least one day is needed", variable="time"))
    elif len(time) > 1 and not (np.diff(time.values).astype("timedelta64[m]").astype(int) == 60).all():
        problems.append(Problem("the energy cube's time is not hourly", variable="time"))
    if not 1 <= int(window_hours) <= 24 * 14:
        problems.append(Problem(f"window_hours must lie in [1, 336], found {window_hours}", variable="window_hours"))
    if not cfe_reference > 0:
        problems.append(Problem(f"cfe_reference must be positive, found {cfe_reference}", variable="cfe_reference"))
    params = None
    try:
        params = resolve_parameters(sites, scenarios, sweep)
    except ValidationError as exc:
        problems.extend(exc.problems)
    lon = np.asarray(sites["lon"].values if "lon" in sites.variables else energy["lon"].values, dtype=float)
    ba = (np.asarray(sites["ba"].values).astype(str) if "ba" in sites.variables else np.full(labels.size, "?"))
    workload = sites["workload"].values.astype(str) if "workload" in sites.variables else \
        np.full(labels.size, "inference")
    try:
        off_users = _users_offset(sites, users_utc_offset)
        util, util_idx = profile_table(workload, np.where(workload == "inference", off_users,
                                                          site_utc_offset(lon)), time, profiles)
    except ValidationError as exc:
        problems.extend(exc.problems)
        util, util_idx = None, None
    ba_off = _ba_offset(ba, lon)

    def default_price():
        keys = {}
        rows, idx = [], []
        for b, o in zip(ba, ba_off, strict=True):
            if (b, o) not in keys:
                keys[(b, o)] = len(rows)
                rows.append(stylised_price(time, o))
            idx.append(keys[(b, o)])
        return np.asarray(rows, np.float32), np.asarray(idx, np.int64), "stylised default price shape (illustrative)"

    def default_curt():
        keys = {}
        rows, idx = [], []
        for b, o in zip(ba, ba_off, strict=True):
            if (b, o) not in keys:
                keys[(b, o)] = len(rows)
                rows.append(stylised_curtailment(time, o))
            idx.append(keys[(b, o)])
        return np.asarray(rows, np.float32), np.asarray(idx, np.int64), "stylised curtailment events (illustrative)"

    if isinstance(curtailment, str) and curtailment == "none":
        curtailment = 0.0
    pr = _table_input(price, "price", time, labels, ba, default_price, problems, units="USD MWh-1")
    cu = _table_input(curtailment, "curtailment", time, labels, ba, default_curt, problems, lo=0.0, hi=1.0)
    if problems:
        raise ValidationError(problems, what="dispatch inputs")
    hourly = {}
    for v in ENERGY_VARIABLES:
        da = energy[v].transpose("site", "time")
        hourly[v] = da.data
    cfe, cfe_source = _grid_cfe(energy, float(cfe_reference))
    hourly["grid_carbon_free_share"] = cfe
    coords = {c: ("site", np.asarray(energy[c].values)) for c in ("lat", "lon", "name", "ba", "country", "tier",
                                                                  "workload") if c in energy.coords}
    for c in ("name", "ba", "country", "tier", "workload"):
        if c not in coords and c in sites.variables and sites[c].dims == ("site",):
            coords[c] = ("site", np.asarray(sites[c].values))
    n_scen = params.sizes["scenario"]
    return Prepared(
        site=labels, scenario=np.asarray(params["scenario"].values).astype(str), time=time, hourly=hourly,
        util=util, util_idx=util_idx, price=pr[0], price_idx=pr[1], curt=cu[0],
        curt_idx=np.repeat(cu[1][:, None], n_scen, axis=1), offset=site_utc_offset(lon).astype(np.int64),
        params=params, window=int(window_hours), cfe_reference=float(cfe_reference), coords=coords,
        sources={"price_source": pr[2], "curtailment_source": cu[2], "carbon_free_share_source": cfe_source})


def _grid_cfe(energy: xr.Dataset, cfe_reference: float):
    """The grid's hourly carbon-free share [1] (site, time) and a text saying where it came from.

    The energy cube's ``grid_carbon_free_share`` where present; in its NaN hours (grids whose mix
    is unknown, coordinate ``carbon_free_share_source`` 'unknown ...') and for cubes without it, the
    fallback :math:`1 - CI / CI^{ref}`.  Stays lazy on a Dask-backed cube."""
    ci = energy["carbon_intensity"].transpose("site", "time")
    formula = (1.0 - ci / cfe_reference).clip(0.0, 1.0)
    fb = f"fallback 1 - CI/{cfe_reference:g} (overstates the share against the fuel mix)"
    if "grid_carbon_free_share" not in energy.data_vars:
        return formula.data, f"{fb} for every site: the energy cube has no grid_carbon_free_share"
    cfe = energy["grid_carbon_free_share"].transpose("site", "time")
    src = (np.asarray(energy["carbon_free_share_source"].values).astype(str)
           if "carbon_free_share_source" in energy.coords else np.full(energy.sizes["site"], ""))
    unknown = [str(s) for s, x in zip(energy["site"].values, src, strict=True) if x.startswith("unknown")]
    text = "energy cube grid_carbon_free_share (generation fuel mix)"
    if unknown:
        text += (f"; {fb} for {len(unknown)} site(s) whose grid mix is unknown: "
                 f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
    return cfe.fillna(formula).data, text


# ---------------------------------------------------------------------------
# running


@functools.lru_cache(maxsize=1)
def _valid_ranges() -> dict[str, tuple[float, float, str]]:
    from powerfirst.schema.tables import _variables

    table = _variables()
    return {v: (float(table.at[v, "valid_min"]) if pd.notna(table.at[v, "valid_min"]) else -np.inf,
                float(table.at[v, "valid_max"]) if pd.notna(table.at[v, "valid_max"]) else np.inf,
                str(table.at[v, "units"]))
            for v in ("solar_cf", "wind_cf", "pue", "carbon_intensity", "grid_carbon_free_share") if v in table.index}


def _check_block_ranges(arrays: dict[str, np.ndarray], site_labels) -> None:
    """Refuse energy-cube values outside the schema's valid range (the cube need not have been validated;
    checked block by block, so a lazy cube stays lazy until it is computed)."""
    problems = []
    for name, arr in arrays.items():
        if name not in _valid_ranges():
            continue
        lo, hi, units = _valid_ranges()[name]
        with np.errstate(invalid="ignore"):
            low, high = arr < lo, arr > hi
        for j in np.flatnonzero(low.any(axis=1) | high.any(axis=1))[:20]:
            if high[j].any():
                problems.append(Problem(f"{int(high[j].sum())} hours above the valid maximum {hi:g} [{units}] "
                                        f"(maximum {float(np.nanmax(arr[j])):g})", variable=name,
                                        site=str(site_labels[j])))
            if low[j].any():
                problems.append(Problem(f"{int(low[j].sum())} hours below the valid minimum {lo:g} [{units}] "
                                        f"(minimum {float(np.nanmin(arr[j])):g})", variable=name,
                                        site=str(site_labels[j])))
    if problems:
        raise ValidationError(problems, what="dispatch inputs (energy cube values)")


def _block(solar, wind, pue, ci, cfe, site_pos, curt_idx, params, *, prep_tables, hourly: bool, parallel: bool):
    """The kernel on one block of sites x scenarios (numpy in, numpy out; called by apply_ufunc)."""
    util, util_idx, price, price_idx, curt, offset, window, labels = prep_tables
    pos = np.asarray(site_pos).reshape(-1) if np.ndim(site_pos) else np.array([int(site_pos)])
    solar = np.ascontiguousarray(np.asarray(solar).reshape(pos.size, -1), dtype=np.float32)
    wind = np.ascontiguousarray(np.asarray(wind).reshape(pos.size, -1), dtype=np.float32)
    pue = np.ascontiguousarray(np.asarray(pue).reshape(pos.size, -1), dtype=np.float32)
    ci = np.ascontiguousarray(np.asarray(ci).reshape(pos.size, -1), dtype=np.float32)
    cfe = np.ascontiguousarray(np.asarray(cfe).reshape(pos.size, -1), dtype=np.float32)
    params = np.ascontiguousarray(params, dtype=np.float64)
    _check_block_ranges({"solar_cf": solar, "wind_cf": wind, "pue": pue, "carbon_intensity": ci,
                         "grid_carbon_free_share": cfe}, labels[pos])
    n, T = solar.shape
    n_scen = params.shape[1]
    cidx = np.ascontiguousarray(np.broadcast_to(np.asarray(curt_idx, dtype=np.int64).reshape(n, -1), (n, n_scen)))
    ptr, hrs = _k.curtailment_hours(curt)
    out = np.empty((n, n_scen, _k.N_METRICS))
    flags = np.zeros(n, np.int64)
    hout = np.empty((n, n_scen, _k.N_HOURLY, T)) if hourly else np.empty((1, 1, _k.N_HOURLY, 1))
    import numba

    run = _k.run_sites if parallel else _k.run_sites_serial
    run(solar, wind, pue, ci, cfe, util, np.ascontiguousarray(util_idx[pos]), price,
        np.ascontiguousarray(price_idx[pos]), curt, cidx, ptr, hrs, np.ascontiguousarray(offset[pos]), _k.row_keys(ci),
        int(window), params,
        out, flags, bool(hourly), hout, 4 * numba.get_num_threads() if parallel else 1)
    if flags.any():
        problems = []
        for j in np.flatnonzero(flags):
            site = str(labels[pos[j]])
            for name, arr in (("solar_cf", solar[j]), ("wind_cf", wind[j]), ("pue", pue[j]),
                              ("carbon_intensity", ci[j]), ("grid_carbon_free_share", cfe[j])):
                bad = ~np.isfinite(arr)
                if bad.any():
                    problems.append(Problem(f"{int(bad.sum())} NaN or infinite hours in the energy cube",
                                            variable=name, site=site))
            if flags[j] == _k.F_PUE:
                problems.append(Problem("PUE must be positive in every hour", variable="pue", site=site))
            if not np.isfinite(util[util_idx[pos[j]]]).all():
                problems.append(Problem("NaN in the IT utilisation profile", variable="utilisation", site=site))
            if not np.isfinite(price[price_idx[pos[j]]]).all():
                problems.append(Problem("NaN in the price series", variable="price", site=site))
        raise ValidationError(problems or [Problem("invalid inputs", site=str(labels[pos[j]]))],
                              what="dispatch inputs")
    if hourly:
        return out, hout
    return out


def dispatch(energy: xr.Dataset, sites: xr.Dataset | None = None, scenarios=None, *, price=None,
             curtailment=None, sweep: Mapping[str, Sequence] | None = None, hourly: bool = False,
             chunks: Mapping[str, int] | None = None, window_hours: int = 24,
             cfe_reference: float = DEFAULT_CFE_REFERENCE, users_utc_offset=None, profiles=None) -> xr.Dataset:
    """Rule-based hourly dispatch of every site and scenario over the energy cube's typical year.

    Parameters
    ----------
    energy : xarray.Dataset
        Energy cube (``solar_cf``, ``wind_cf``, ``pue`` [1], ``carbon_intensity`` [gCO2 kWh-1] on
        site x time), in memory or lazy (Dask).
    sites : xarray.Dataset, optional
        Site Dataset (defaults of the parameters; default ``energy`` itself).
    scenarios : see :func:`resolve_parameters`
    price : None, number or DataArray on time (and ``ba`` or ``site``) [USD MWh-1]
        Default: :func:`powerfirst.models.dispatch.inputs.stylised_price` per BA (illustrative).
    curtailment : None, 'none', number or DataArray on time (and ``ba`` or ``site``) [1]
        Curtailed fraction of the non-firm connection (e.g.
        :func:`powerfirst.models.dispatch.inputs.curtailment_profiles` of a grid cube).
        Default: :func:`~powerfirst.models.dispatch.inputs.stylised_curtailment` (illustrative).
    sweep : mapping parameter -> values, optional
        Sizing sweep: each value becomes a coordinate of a new dimension of the result.
    hourly : bool
        Also return the hourly flows (site x scenario x time; memory grows with it).
    chunks : mapping, optional
        ``{"site": n, "scenario": m}``: a lazy result, one task per block (Dask), each running
        the kernel on one thread.  Default: computed now, sites spread over numba's threads.
    window_hours : int
        Look-ahead window of the arbitrage thresholds [h], from local midnight.
    cfe_reference : float
        Intensity of an all-fossil grid [gCO2 kWh-1] for the fallback carbon-free share
        :math:`1 - CI / CI^{ref}`, used only where the energy cube has no
        ``grid_carbon_free_share`` (see the module docstring).
    users_utc_offset : mapping site -> hours, optional
        Users' time zone of inference sites (default the site's own).
    profiles : mapping workload -> profile, optional
        Utilisation shape parameters (:mod:`powerfirst.models.dispatch.site_load`).

    Returns
    -------
    xarray.Dataset
        The summaries of :data:`SUMMARY_VARIABLES` on (``site``, ``scenario``, sweep dims), the
        parameters used, and with ``hourly`` the flows of :data:`HOURLY_VARIABLES`; units on every
        variable, provenance in ``attrs``.

    Raises
    ------
    ValidationError
        Bad parameters, a price or curtailment series off the energy cube's hours, NaN in the
        profiles -- every problem at once, naming the variable and the site.
    """
    prep = prepare(energy, sites, scenarios, price=price, curtailment=curtailment, sweep=sweep,
                   window_hours=window_hours, cfe_reference=cfe_reference, users_utc_offset=users_utc_offset,
                   profiles=profiles)
    from powerfirst._provenance import input_hashes

    out = run_prepared(prep, hourly=hourly, chunks=chunks)
    out.attrs["input_hashes"] = input_hashes(sites=sites, energy=energy)
    return out


def run_prepared(prep: Prepared, *, hourly: bool = False, chunks: Mapping[str, int] | None = None) -> xr.Dataset:
    """Run the kernel on prepared inputs (see :func:`dispatch`)."""
    n, n_scen = prep.site.size, prep.scenario.size
    T = len(prep.time)
    params = xr.DataArray(prep.param_array(), dims=("site", "scenario", "param"),
                          coords={"site": prep.site, "scenario": prep.scenario})
    site_pos = xr.DataArray(np.arange(n), dims="site", coords={"site": prep.site})
    curt_idx = xr.DataArray(prep.curt_idx, dims=("site", "scenario"), coords={"site": prep.site,
                                                                               "scenario": prep.scenario})
    if hourly and n * n_scen * T * _k.N_HOURLY * 8 > 4e9:
        raise ValidationError([Problem(
            f"hourly output of {n} sites x {n_scen} scenarios x {T} h would need "
            f"{n * n_scen * T * _k.N_HOURLY * 8 / 1e9:.1f} GB; select fewer sites or scenarios "
            "(hourly flows are for a few sites; summaries cover thousands)", variable="hourly")],
            what="dispatch request")
    hourly_in = [xr.DataArray(prep.hourly[v], dims=("site", "time"), coords={"site": prep.site})
                 for v in KERNEL_INPUTS]
    lazy = chunks is not None or any(hasattr(a.data, "dask") for a in hourly_in)
    if lazy:
        ch = dict(chunks or {})
        cs = int(ch.get("site", 256))
        cc = int(ch.get("scenario", n_scen))
        import uuid

        tok = uuid.uuid4().hex  # names for in-memory inputs, instead of hashing hundreds of MB
        hourly_in = [a.chunk({"site": cs, "time": -1}, token=None if hasattr(a.data, "dask") else f"{tok}-{j}")
                     for j, a in enumerate(hourly_in)]
        params = params.chunk({"site": cs, "scenario": cc, "param": -1}, token=f"{tok}-p")
        site_pos = site_pos.chunk({"site": cs}, token=f"{tok}-s")
        curt_idx = curt_idx.chunk({"site": cs, "scenario": cc}, token=f"{tok}-c")
    tables = (prep.util, prep.util_idx, prep.price, prep.price_idx, prep.curt, prep.offset, prep.window,
              prep.site)
    out_core = [["metric"]] + ([["hvar", "time"]] if hourly else [])
    sizes = {"metric": _k.N_METRICS, **({"hvar": _k.N_HOURLY} if hourly else {})}
    res = xr.apply_ufunc(
        _block, *hourly_in, site_pos, curt_idx, params,
        input_core_dims=[["time"]] * len(KERNEL_INPUTS) + [[], [], ["param"]],
        output_core_dims=out_core,
        kwargs={"prep_tables": tables, "hourly": hourly, "parallel": not lazy},
        dask="parallelized", output_dtypes=[np.float64] * len(out_core),
        dask_gufunc_kwargs={"output_sizes": sizes, "allow_rechunk": False},
    )
    if hourly:
        summ, hours = res
    else:
        summ, hours = res, None
    return _result(prep, summ, hours)


def storage_cycles(discharge, storage_mwh, soc_min, soc_max):
    """Equivalent full cycles [1]: discharge over the usable energy (0 without storage)."""
    usable = storage_mwh * (soc_max - soc_min)
    return xr.where(usable > 0, discharge / usable.where(usable > 0), 0.0)


def _result(prep: Prepared, summ: xr.DataArray, hours: xr.DataArray | None) -> xr.Dataset:
    """The result Dataset, assembled in one go (lazy when the kernel ran on Dask chunks)."""
    from powerfirst._provenance import provenance

    p = prep.params
    dims = ("site", "scenario")
    data = summ.data  # (site, scenario, metric), numpy or Dask
    v = {name: data[..., col] for name, (col, _u, _ln) in SUMMARY_VARIABLES.items() if col is not None}
    xp = np if isinstance(data, np.ndarray) else __import__("dask.array", fromlist=["where"])

    def ratio(a, b):
        return xp.where(b > 0, a / xp.where(b > 0, b, 1.0), np.nan)

    v["energy_cost"] = v["grid_energy_cost"] + v["fuel_cost"] + v["storage_degradation_cost"] + v["deferred_load_cost"]
    v["total_cost"] = v["energy_cost"] + v["carbon_cost"] + v["unserved_penalty"]
    v["unserved_share"] = ratio(v["unserved_energy"] + v["deferred_backlog_end"], v["facility_demand"])
    usable = np.asarray(p["storage_mwh"].values * (p["soc_max"].values - p["soc_min"].values), dtype=float)
    v["storage_cycles"] = xp.where(usable > 0, v["storage_discharge"] / np.where(usable > 0, usable, 1.0), 0.0)
    # shares are at most 1; sums of hourly terms can exceed it by rounding
    v["renewable_self_consumption"] = xp.minimum(ratio(v["renewable_used"], v["renewable_energy"]), 1.0)
    v["carbon_free_share"] = xp.minimum(ratio(v["carbon_free_energy"], v["served_energy"]), 1.0)
    v["it_energy_per_grid_energy"] = ratio(v["it_energy_served"], v["grid_import"])
    data_vars = {name: (dims, v[name], {"units": u, "long_name": ln}) for name, (_c, u, ln) in SUMMARY_VARIABLES.items()}
    coords = {"site": prep.site, "scenario": prep.scenario}
    if hours is not None:
        coords["time"] = prep.time
        h = hours.transpose("site", "scenario", "hvar", "time").data
        for name, (row, units, long_name) in HOURLY_VARIABLES.items():
            data_vars[name] = (dims + ("time",), h[:, :, row, :], {"units": units, "long_name": long_name})
    for name, da in p.data_vars.items():
        data_vars[name] = (dims, da.values, dict(da.attrs))
    coords.update({c: (cv.dims, cv.values) for c, cv in p.coords.items() if c not in ("site", "scenario")})
    coords.update(prep.coords)
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = {
        "pf_kind": "dispatch", "title": "rule-based hourly site dispatch",
        "time_convention": f"typical year of {len(prep.time)} hours from {prep.time[0]} (UTC)",
        "window_hours": prep.window, "cfe_reference_gco2_kwh": prep.cfe_reference,
        **prep.sources,
        **provenance(method="compiled rule-based dispatch (powerfirst.models.dispatch)"),
    }
    sweep = [k for k in str(p.attrs.get("sweep", "")).split(",") if k]
    return _unstack_sweep(ds, sweep) if sweep else ds


def _unstack_sweep(ds: xr.Dataset, keys: list[str]) -> xr.Dataset:
    """(site, scenario) with sweep coordinates -> (site, scenario, *keys)."""
    base = pd.unique(np.asarray(ds["scenario_base"].values))
    values = [pd.unique(np.asarray(ds[f"sweep_{k}"].values)) for k in keys]
    shape = (len(base),) + tuple(len(v) for v in values)
    table = dispatch_parameters()
    out = xr.Dataset(coords={"site": ds["site"], "scenario": base,
                             **{k: (k, np.asarray(v, dtype=float),
                                    {"units": table.at[k, "units"] if k in table.index else "h",
                                     "long_name": f"{k.replace('_', ' ')} (swept)"})
                                for k, v in zip(keys, values, strict=True)}})
    for c, v in ds.coords.items():
        if v.dims == ("site",):
            out = out.assign_coords({c: v})
        elif c == "time":
            out = out.assign_coords(time=v)
    for name, da in ds.data_vars.items():
        if name in keys:  # a swept parameter is its dimension's coordinate
            continue
        dims = da.dims
        j = dims.index("scenario")
        new_shape = da.shape[:j] + shape + da.shape[j + 1:]
        data = da.data.reshape(new_shape)
        out[name] = (dims[:j] + ("scenario",) + tuple(keys) + dims[j + 1:], data, da.attrs)
    out.attrs = {**ds.attrs, "sweep": ",".join(keys)}
    return out

