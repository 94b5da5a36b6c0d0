"""Dispatch parameters: the table of ``schema/dispatch_parameters.csv`` and the scenarios and sweeps
that override it, resolved to one value per site and scenario and checked all at once."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError
from powerfirst.models.dispatch import _kernel as _k
from powerfirst.models.dispatch.site_load import DEFAULT_FLEX_SHARE

__all__ = ["PRIORITIES", "dispatch_parameters", "resolve_parameters", "override_problems"]

PRIORITIES = ("cost", "carbon")

_PARAM_COLUMN = {
    "load_mw": _k.P_LOAD, "firm_mw": _k.P_FIRM, "nonfirm_mw": _k.P_NONFIRM, "solar_mw": _k.P_SOLAR,
    "wind_mw": _k.P_WIND, "storage_mw": _k.P_STO_MW, "storage_mwh": _k.P_STO_MWH,
    "round_trip_efficiency": _k.P_RTE, "soc_min": _k.P_SOC_MIN, "soc_max": _k.P_SOC_MAX,
    "soc_initial": _k.P_SOC_INIT, "degradation_cost": _k.P_DEG, "gas_mw": _k.P_GAS_MW,
    "gas_min_load": _k.P_GAS_MIN, "gas_fuel_cost": _k.P_GAS_COST, "gas_emission_factor": _k.P_GAS_EF,
    "flex_share": _k.P_FLEX, "flex_hours": _k.P_FLEX_H, "deferral_cost": _k.P_DEFER_COST,
    "unserved_cost": _k.P_VOLL, "carbon_price": _k.P_CARBON_PRICE, "priority": _k.P_PRIORITY,
    "arbitrage": _k.P_ARBITRAGE,
}
_SCALE_GROUPS = {"storage_scale": ("storage_mw", "storage_mwh"), "renewables_scale": ("solar_mw", "wind_mw")}


def dispatch_parameters() -> pd.DataFrame:
    """The parameter table (``schema/dispatch_parameters.csv``): units, default, site attribute,
    valid range and description of every dispatch parameter."""
    from powerfirst.schema.tables import _read

    df = _read("dispatch_parameters.csv", dtype={"units": str, "default": str, "site_attribute": str})
    df["min_exclusive"] = df["min_exclusive"].eq("yes")
    return df.set_index("name")


def override_problems(overrides: Mapping) -> list[tuple[str, str]]:
    """Problems of one scenario's scalar overrides, as (key, message) pairs (empty when valid).

    A scenario file gives plain values: a number per parameter of :func:`dispatch_parameters`
    within its range, ``<parameter>_scale``, ``storage_scale``, ``renewables_scale`` or
    ``storage_hours`` (numbers >= 0), or ``priority`` (one of :data:`PRIORITIES`).  Per-site
    values are given through the Python API (:func:`resolve_parameters`).
    """
    table = dispatch_parameters()
    scales = set(_SCALE_GROUPS) | {f"{p}_scale" for p in table.index} | {"storage_hours"}
    out = []
    for k, v in overrides.items():
        if k == "priority":
            if v not in PRIORITIES:
                out.append((k, f"expected one of {', '.join(PRIORITIES)}, found {v!r}"))
            continue
        if k not in table.index and k not in scales:
            out.append((k, f"unknown dispatch parameter; expected one of {', '.join(table.index)} "
                           "(or <parameter>_scale, storage_scale, renewables_scale, storage_hours)"))
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            out.append((k, f"expected a number, found {v!r}"))
            continue
        if k in scales:
            if v < 0:
                out.append((k, f"expected a number >= 0, found {v!r}"))
            continue
        row = table.loc[k]
        lo, hi = row["min"], row["max"]
        if pd.notna(lo) and (v <= float(lo) if row["min_exclusive"] else v < float(lo)):
            out.append((k, f"expected a number {'>' if row['min_exclusive'] else '>='} {float(lo):g} "
                           f"[{row['units']}], found {v!r}"))
        elif pd.notna(hi) and v > float(hi):
            out.append((k, f"expected a number <= {float(hi):g} [{row['units']}], found {v!r}"))
    return out


def _bad_sites(bad: np.ndarray, values: np.ndarray, labels: np.ndarray, most: int = 20):
    """(index, site label) of the sites failing a check: one entry ``"all N sites"`` when every site fails
    with the same value (a scalar override), else the first ``most`` sites."""
    idx = np.flatnonzero(bad)
    if idx.size > 1 and idx.size == bad.size and np.all(values == values[0]) or (
            idx.size == bad.size > 1 and np.all(np.isnan(values))):
        return [(0, f"all {idx.size} sites")]
    return [(i, labels[i]) for i in idx[:most]]


def _as_site_values(value, labels: np.ndarray, name: str, problems: list[Problem]) -> np.ndarray | None:
    n = labels.size
    if isinstance(value, xr.DataArray):
        if value.dims == ():
            return np.full(n, float(value))
        if value.dims != ("site",):
            problems.append(Problem(f"a per-site value must be on dimension 'site', found {value.dims}",
                                    variable=name))
            return None
        missing = sorted(set(labels) - set(map(str, value["site"].values)))
        if missing:
            problems.append(Problem(f"no value for sites {missing[:5]}", variable=name))
            return None
        return np.asarray(value.sel(site=labels).values, dtype=float)
    if isinstance(value, Mapping):
        unknown = sorted(set(map(str, value)) - set(labels))
        if unknown:
            problems.append(Problem(f"values for sites not in the site list: {unknown[:5]}", variable=name))
            return None
        return np.array([float(value[s]) if s in value else np.nan for s in labels])
    arr = np.asarray(value, dtype=float) if not isinstance(value, str) else None
    if arr is None:
        problems.append(Problem(f"expected a number, found {value!r}", variable=name))
        return None
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        problems.append(Problem(f"expected one value or {n} (one per site), found shape {arr.shape}",
                                variable=name))
        return None
    return arr.astype(float)


def _site_defaults(sites: xr.Dataset, table: pd.DataFrame) -> dict[str, np.ndarray]:
    n = sites.sizes["site"]

    def attr(name, fill=0.0):
        if name in sites.data_vars:
            return np.nan_to_num(np.asarray(sites[name].values, dtype=float), nan=fill)
        return np.full(n, fill)

    out: dict[str, np.ndarray] = {}
    for name, row in table.iterrows():
        if name == "priority":
            continue
        if isinstance(row["site_attribute"], str) and row["site_attribute"]:
            out[name] = attr(row["site_attribute"])
        elif isinstance(row["default"], str) and row["default"]:
            out[name] = np.full(n, float(row["default"]))
    target = attr("target_mw")
    firm = attr("firm_headroom_mw")
    out["nonfirm_mw"] = np.maximum(0.0, target - firm)
    workload = sites["workload"].values.astype(str) if "workload" in sites.variables else np.full(n, "inference")
    out["flex_share"] = np.array([DEFAULT_FLEX_SHARE.get(w, 0.0) for w in workload])
    return out


def _normalise_scenarios(scenarios) -> list[tuple[str, dict]]:
    if scenarios is None:
        return [("base", {})]
    if isinstance(scenarios, Mapping):
        if all(isinstance(v, Mapping) for v in scenarios.values()):
            return [(str(k), dict(v)) for k, v in scenarios.items()]
        return [("scenario", dict(scenarios))]
    out = []
    for i, sc in enumerate(scenarios):
        sc = dict(sc)
        out.append((str(sc.pop("name", f"s{i}")), sc))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValidationError([Problem(f"duplicated scenario names {sorted({n for n in names if names.count(n) > 1})}",
                                       variable="scenario")], what="dispatch scenarios")
    return out


def resolve_parameters(sites: xr.Dataset, scenarios=None, sweep: Mapping[str, Sequence] | None = None) -> xr.Dataset:
    """Every dispatch parameter of every site and scenario, checked, on (``site``, ``scenario``).

    Parameters
    ----------
    sites : xarray.Dataset
        Site Dataset (:func:`powerfirst.read_sites`): the defaults of ``load_mw`` (``target_mw``),
        ``firm_mw``, ``nonfirm_mw``, capacities and ``flex_share`` (by ``workload``).
    scenarios : mapping name -> overrides, or sequence of overrides with a ``name``, optional
        Overrides of :func:`dispatch_parameters`: a number (all sites), a sequence / mapping /
        DataArray on ``site`` (per site), ``'<parameter>_scale'`` (multiply the default),
        ``storage_scale`` / ``renewables_scale`` (both capacities), ``storage_hours``
        (``storage_mwh = storage_mw x hours``).  Default one scenario ``'base'``.
    sweep : mapping parameter -> values, optional
        Values tried for each scenario (their product); become extra dimensions of the result.
        ``storage_hours`` sets the energy from the power.

    Returns
    -------
    xarray.Dataset
        One variable per parameter on (``site``, ``scenario``) with ``units``; ``priority`` as text;
        for sweeps, coordinates on ``scenario`` naming the base scenario and each swept value.

    Raises
    ------
    ValidationError
        Listing every problem: unknown parameters, negative capacities, efficiency outside
        (0, 1], state-of-charge bounds reversed, unknown priority, NaN -- with the site and
        scenario concerned.
    """
    table = dispatch_parameters()
    labels = np.asarray(sites["site"].values).astype(str)
    base = _site_defaults(sites, table)
    named = _normalise_scenarios(scenarios)
    sweep = dict(sweep or {})
    sweep_items = [(k, list(np.atleast_1d(np.asarray(v, dtype=object)))) for k, v in sweep.items()]
    known = set(table.index) | set(_SCALE_GROUPS) | {f"{p}_scale" for p in table.index} | {"storage_hours"}
    problems: list[Problem] = []
    for name, ov in named:
        for k in ov:
            if k not in known:
                problems.append(Problem(f"unknown dispatch parameter {k!r} in scenario {name!r}; expected one of "
                                        f"{', '.join(table.index)} (or <parameter>_scale, storage_hours)",
                                        variable=k))
    for k, vals in sweep_items:
        if k not in known or k.endswith("_scale"):
            problems.append(Problem(f"cannot sweep {k!r}; sweep a parameter of {', '.join(table.index)} or "
                                    "storage_hours", variable=k))
        if len(vals) == 0:
            problems.append(Problem("sweep with no values", variable=k))
    if problems:
        raise ValidationError(problems, what="dispatch scenarios")

    points = list(itertools.product(*[v for _, v in sweep_items])) if sweep_items else [()]
    flat_names, columns, flat_priority, coords_sweep = [], [], [], {k: [] for k, _ in sweep_items}
    base_of = []
    for name, ov in named:
        for pt in points:
            vals = {k: v.copy() for k, v in base.items()}
            prio = ov.get("priority", "cost")
            applied = dict(ov)
            applied.update({k: v for (k, _), v in zip(sweep_items, pt, strict=True)})
            for k, v in applied.items():
                if k == "priority":
                    prio = v
                    continue
                if k == "storage_hours":
                    continue
                if k in _SCALE_GROUPS or k.endswith("_scale"):
                    f = _as_site_values(v, labels, k, problems)
                    if f is not None:
                        for p in _SCALE_GROUPS.get(k, (k[:-6],)):
                            vals[p] = vals[p] * f
                    continue
                arr = _as_site_values(v, labels, k, problems)
                if arr is not None:
                    vals[k] = np.where(np.isnan(arr), vals.get(k, np.nan), arr) if isinstance(v, Mapping) else arr
            if "storage_hours" in applied:
                h = _as_site_values(applied["storage_hours"], labels, "storage_hours", problems)
                if h is not None:
                    vals["storage_mwh"] = vals["storage_mw"] * h
                    if (h < 0).any():
                        problems.append(Problem(f"negative storage_hours in scenario {name!r}", variable="storage_hours"))
            if float(np.nanmax(vals["load_follows_connection"])) > 0.5:
                follow = vals["load_follows_connection"] > 0.5
                vals["load_mw"] = np.where(follow, vals["firm_mw"] + vals["nonfirm_mw"], vals["load_mw"])
            label = name if not sweep_items else name + "".join(f"|{k}={v}" for (k, _), v in zip(sweep_items, pt,
                                                                                                 strict=True))
            flat_names.append(label)
            base_of.append(name)
            columns.append(vals)
            flat_priority.append(prio)
            for (k, _), v in zip(sweep_items, pt, strict=True):
                coords_sweep[k].append(v)
    # ---- checks, all at once
    for label, vals, prio in zip(flat_names, columns, flat_priority, strict=True):
        if prio not in PRIORITIES:
            problems.append(Problem(f"priority {prio!r} in scenario {label!r}; expected one of "
                                    f"{', '.join(PRIORITIES)}", variable="priority"))
        for p, row in table.iterrows():
            if p == "priority" or p not in vals:
                continue
            v = vals[p]
            bad_nan = np.isnan(v)
            for _i, where in _bad_sites(bad_nan, v, labels):
                problems.append(Problem(f"missing (NaN) value in scenario {label!r}", variable=p, site=where))
            lo, hi = row["min"], row["max"]
            if pd.notna(lo):
                lo = float(lo)
                bad = (v <= lo) if row["min_exclusive"] else (v < lo)
                for i, where in _bad_sites(bad & ~bad_nan, v, labels):
                    what = "negative" if (lo == 0 and v[i] < 0) else "too small"
                    rng = f"({lo:g}, {float(hi):g}]" if row["min_exclusive"] and pd.notna(hi) else f">= {lo:g}"
                    problems.append(Problem(f"{what} value {v[i]:g} in scenario {label!r}; expected {rng} "
                                            f"[{row['units']}]", variable=p, site=where))
            if pd.notna(hi):
                for i, where in _bad_sites((v > float(hi)) & ~bad_nan, v, labels):
                    rng = f"({float(lo):g}, {float(hi):g}]" if row["min_exclusive"] else f"[{float(lo):g}, {float(hi):g}]"
                    problems.append(Problem(f"value {v[i]:g} in scenario {label!r} outside {rng} [{row['units']}]",
                                            variable=p, site=where))
        rev = vals["soc_min"] > vals["soc_max"]
        for i, where in _bad_sites(rev, vals["soc_min"] - vals["soc_max"], labels):
            problems.append(Problem(f"state-of-charge bounds reversed in scenario {label!r}: soc_min "
                                    f"{vals['soc_min'][i]:g} > soc_max {vals['soc_max'][i]:g}", variable="soc_min",
                                    site=where))
    if problems:
        raise ValidationError(problems, what="dispatch parameters")
    ds = xr.Dataset(coords={"site": labels, "scenario": flat_names})
    for p, row in table.iterrows():
        if p == "priority":
            ds[p] = (("site", "scenario"), np.tile(np.array(flat_priority, dtype=object), (labels.size, 1)),
                     {"units": "1", "long_name": "dispatch priority", "description": row["description"]})
            continue
        arr = np.stack([c[p] for c in columns], axis=1)
        if p == "soc_initial":
            arr = np.clip(arr, np.stack([c["soc_min"] for c in columns], 1), np.stack([c["soc_max"] for c in columns], 1))
        ds[p] = (("site", "scenario"), arr, {"units": row["units"], "long_name": p.replace("_", " "),
                                             "description": row["description"]})
    ds = ds.assign_coords(scenario_base=("scenario", base_of))
    for k, v in coords_sweep.items():
        ds = ds.assign_coords({f"sweep_{k}": ("scenario", np.asarray(v, dtype=float))})
    ds.attrs["sweep"] = ",".join(k for k, _ in sweep_items)
    ds.attrs["scenarios"] = ",".join(n for n, _ in named)
    return ds


