"""Inputs of the time-to-power Monte Carlo: the stage table checks, the site rules and
:func:`prepare` (part of :mod:`powerfirst.models.time_to_power`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError
from powerfirst.models.time_to_power import _kernel as _k
from powerfirst.models.time_to_power.graph import (
    _TEXT_ATTRS,
    BRIDGE_TECHNOLOGIES,
    DEFAULT_FLEXIBLE_FRACTION,
    DEFAULT_SOLAR_CF,
    DISTRIBUTIONS,
    PATH_GRAPHS,
    PATH_REQUIRES,
    PATHS,
    Series,
    Stage,
    firm_equivalent_mw,
    flexible_allowance_mw,
    graph_stages,
    quantile_function,
)
from powerfirst.units import scale as unit_scale

__all__ = [
    "Prepared",
    "check_stage_table",
    "prepare",
]

# ---------------------------------------------------------------------------
# checks


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def check_stage_table(table: pd.DataFrame, *, file: str = "<stage table>", site_column: str | None = None
                      ) -> list[Problem]:
    """Problems of a stage table or of override rows (empty list when valid).

    Checks: known stage names and distributions; durations positive; lognormal ``p90 > p50 > 0``;
    triangular ``0 <= low <= mode <= high`` with ``high > 0``; empirical values positive; unit
    a duration.
    """
    from powerfirst.units import UnitError, dimension

    known = {s.name for g in PATH_GRAPHS.values() for s in graph_stages(g)}
    problems = []
    for i, row in enumerate(table.to_dict("records")):
        stage = str(row.get("stage", "")).strip()
        site = str(row.get(site_column)) if site_column and row.get(site_column) not in (None, "", "*") else None
        where = {"file": file, "row": i + 1, "site": site}

        def bad(msg, col, stage=stage, where=where):
            problems.append(Problem(f"stage {stage!r}: {msg}", column=col, **where))

        if stage not in known:
            problems.append(Problem(f"unknown stage {stage!r}; expected one of {', '.join(sorted(known))}",
                                    column="stage", **where))
            continue
        dist = str(row.get("distribution", "")).strip()
        if dist not in DISTRIBUTIONS:
            bad(f"unknown distribution {dist!r}; expected one of {', '.join(DISTRIBUTIONS)}", "distribution")
            continue
        unit = str(row.get("unit", "") or "month").strip()
        try:
            if dimension(unit) != "duration":
                bad(f"unit {unit!r} is not a duration; expected month", "unit")
        except UnitError:
            bad(f"unknown unit {unit!r}; expected month", "unit")
        p50, p90 = _num(row.get("p50")), _num(row.get("p90"))
        low, mode, high = _num(row.get("low")), _num(row.get("mode")), _num(row.get("high"))
        if dist in ("lognormal", "fixed"):
            if not np.isfinite(p50):
                bad("p50 is missing", "p50")
            elif p50 <= 0:
                bad(f"durations must be positive; p50 is {p50:g}", "p50")
        if dist == "lognormal" and np.isfinite(p50) and p50 > 0:
            if not np.isfinite(p90):
                bad("p90 is missing", "p90")
            elif p90 <= 0:
                bad(f"durations must be positive; p90 is {p90:g}", "p90")
            elif p90 <= p50:
                bad(f"p90 ({p90:g}) must be above p50 ({p50:g})", "p90")
        if dist == "triangular":
            if not all(np.isfinite([low, mode, high])):
                bad("triangular needs low, mode and high", "low")
            elif low < 0 or high <= 0:
                bad(f"durations must be positive; low {low:g}, high {high:g}", "low" if low < 0 else "high")
            elif not low <= mode <= high:
                bad(f"expected low <= mode <= high, found {low:g}, {mode:g}, {high:g}", "mode")
        if dist == "empirical":
            vals = np.asarray(row.get("values", ()) or (), float)
            if vals.size < 2:
                bad("empirical needs at least two values", "values")
            elif (vals <= 0).any() or not np.isfinite(vals).all():
                bad("durations must be positive; empirical values include values <= 0", "values")
    return problems


# ---------------------------------------------------------------------------
# preparation: sites x stages -> arrays for the kernels


def _hash64(text: str) -> np.uint64:
    return np.frombuffer(hashlib.blake2b(text.encode(), digest_size=8).digest(), dtype=np.uint64)[0]


def _site_frame(sites) -> pd.DataFrame:
    """Site attributes as a frame indexed by site label (from a site Dataset or a frame)."""
    if isinstance(sites, xr.Dataset):
        if "site" not in sites.dims:
            raise ValidationError([Problem("no 'site' dimension in the site Dataset")], what="sites")
        cols = {}
        for name in list(sites.data_vars) + list(sites.coords):
            da = sites[name]
            if da.dims == ("site",) and name != "site":
                cols[name] = da.values
        df = pd.DataFrame(cols, index=pd.Index(sites["site"].values.astype(str), name="site"))
    elif isinstance(sites, pd.DataFrame):
        df = sites.copy()
        key = "site_id" if "site_id" in df.columns else "site" if "site" in df.columns else None
        if key is None:
            raise ValidationError([Problem("expected a 'site_id' column", column="site_id")], what="sites")
        df.index = pd.Index(df.pop(key).astype(str), name="site")
    else:
        raise TypeError(f"sites must be a site Dataset (read_sites) or a DataFrame, found {type(sites).__name__}")
    if df.index.has_duplicates:
        dup = sorted(set(df.index[df.index.duplicated()]))[:5]
        raise ValidationError([Problem(f"duplicated site labels {dup}", column="site_id")], what="sites")
    return df


def _check_sites(df: pd.DataFrame, paths: Sequence[str]) -> list[Problem]:
    problems = []
    needed: dict[str, list[str]] = {}
    for p in paths:
        for a in PATH_REQUIRES[p]:
            needed.setdefault(a, []).append(p)
    for attr, ps in needed.items():
        which = f"path{'s' if len(ps) > 1 else ''} {', '.join(ps)}"
        if attr not in df.columns:
            problems.append(Problem(f"attribute missing for every site; {which} need{'s' if len(ps) == 1 else ''} "
                                    f"it", column=attr))
            continue
        col = df[attr]
        if attr in _TEXT_ATTRS:
            empty = col.isna() | col.astype(str).str.strip().isin(["", "nan", "None"])
            for s in df.index[empty.to_numpy()]:
                problems.append(Problem(f"empty; {which} need it", column=attr, site=s))
        else:
            v = pd.to_numeric(col, errors="coerce").to_numpy(float)
            for s, x in zip(df.index, v, strict=True):
                if not np.isfinite(x):
                    problems.append(Problem(f"missing or not a number; {which} need it [MW]", column=attr, site=s))
                elif x < 0 or (attr == "target_mw" and x <= 0):
                    problems.append(Problem(f"{'must be positive' if attr == 'target_mw' else 'negative'} "
                                            f"({x:g} MW)", column=attr, site=s))
    return problems


def _rule_mask(df: pd.DataFrame, attr: str, op: str, value: str) -> np.ndarray:
    n = len(df)
    if attr == "*":
        return np.ones(n, bool)
    if attr not in df.columns:
        return np.zeros(n, bool)
    col = df[attr]
    if op in ("in", "not_in"):
        m = col.astype(str).isin(value.split("|")).to_numpy()
        return m if op == "in" else ~m
    if op in ("==", "!=") and attr in _TEXT_ATTRS:
        m = (col.astype(str) == value).to_numpy()
        return m if op == "==" else ~m
    x = pd.to_numeric(col, errors="coerce").to_numpy(float)
    v = float(value)
    with np.errstate(invalid="ignore"):
        return {"==": x == v, "!=": x != v, "<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[op]


@dataclass
class Prepared:
    """Everything the kernels need, as arrays (see :func:`prepare`)."""

    sites: pd.DataFrame
    paths: list[str]
    components: list[list[str]]
    stages: list[str]
    table: np.ndarray            # (n_dist, N_LEVELS + 1) float32 quantile tables [month]
    dist_id: np.ndarray          # (site, stage) int64, -1 = stage absent
    site_keys: np.ndarray        # (site,) uint64
    stage_keys: np.ndarray       # (stage,) uint64
    supply_chain: np.ndarray     # (stage,) bool
    ops: np.ndarray              # (n_ops, 4) int64
    n_regs: int
    node_scale: np.ndarray       # (site, node) float32
    comp_reg: np.ndarray         # (path, component) int64
    n_comp: np.ndarray           # (path,) int64
    mw_grid: np.ndarray          # (site, path, component) float64 [MW]
    mw_site: np.ndarray          # (site, path, component) float64 [MW]
    target: np.ndarray           # (site,) float64 [MW]
    mw: np.ndarray               # (site, path) final MW [MW]
    dist_params: list = field(default_factory=list)   # (distribution, p50, p90, low, mode, high, values)
    nodes: list = field(default_factory=list)          # (path, Stage)


def _parse_paths(paths) -> tuple[list[str], list[list[str]]]:
    if isinstance(paths, str):
        paths = [p for p in paths.split(",") if p.strip()]
    paths = [str(p).strip() for p in paths]
    problems, comps = [], []
    for p in paths:
        parts = [c.strip() for c in p.split("+")]
        for c in parts:
            if c not in PATH_GRAPHS:
                problems.append(Problem(f"unknown path {c!r}; expected one of {', '.join(PATHS)} or a combination "
                                        "such as 'grid_flexible+grid_firm'", variable="path"))
        comps.append(parts)
    if len(set(paths)) != len(paths):
        problems.append(Problem(f"paths repeated: {paths}", variable="path"))
    if not paths:
        problems.append(Problem("no paths given", variable="path"))
    if problems:
        raise ValidationError(problems, what="paths")
    return paths, comps


def _override_frame(overrides) -> pd.DataFrame:
    if overrides is None:
        return pd.DataFrame(columns=["site", "stage"])
    if isinstance(overrides, Mapping):
        overrides = [{"stage": k, **v} for k, v in overrides.items()]
    df = pd.DataFrame(overrides)
    if "site" not in df.columns:
        df["site"] = "*"
    df["site"] = df["site"].fillna("*").astype(str)
    return df


def prepare(sites, paths: Sequence[str] | str = PATHS, *, stages: pd.DataFrame | None = None,
            rules: pd.DataFrame | None = None, overrides=None, flexible_mw=None,
            bridge_technology: str = "recip_engines", partial_grid: bool = True,
            default_flexible_fraction: float = DEFAULT_FLEXIBLE_FRACTION) -> Prepared:
    """Validate the inputs and turn sites x stages into the kernels' arrays.

    Parameters
    ----------
    sites : xarray.Dataset or pandas.DataFrame
        Site attributes (see ``schema/site_attributes.csv``); an optional ``bridge_technology``
        attribute overrides the argument per site.
    paths : list of str or comma-separated str
        Base paths (:data:`PATHS`) and combinations ``"a+b"``.
    stages, rules : DataFrame, optional
        Stage and rules tables (default: the embedded ones, :mod:`powerfirst.io.stages`).
    overrides : mapping or DataFrame, optional
        Per-scenario ``{stage: {"p50": .., "p90": ..}}`` or rows with ``site`` (``*`` = all),
        ``stage`` and distribution fields, applied on top of the table.
    flexible_mw : see :func:`flexible_allowance_mw`
    bridge_technology : one of :data:`BRIDGE_TECHNOLOGIES`
    partial_grid : bool
        ``solar_storage`` also takes the site's firm headroom through a short grid process.

    Raises
    ------
    ValidationError
        Every problem found: unknown paths or stages, bad durations (P90 below P50, values
        <= 0), sites without the attributes a path needs (naming site and field).
    """
    from powerfirst.io.stages import read_stage_rules, read_stage_table

    paths, comps = _parse_paths(paths)
    base = [p for p in PATHS if any(p in c for c in comps)]
    df = _site_frame(sites)
    if bridge_technology not in BRIDGE_TECHNOLOGIES:
        raise ValidationError([Problem(f"unknown bridge technology {bridge_technology!r}; expected one of "
                                       f"{', '.join(BRIDGE_TECHNOLOGIES)}", variable="bridge_technology")])
    if "bridge_technology" not in df.columns:
        df["bridge_technology"] = bridge_technology
    else:
        df["bridge_technology"] = df["bridge_technology"].fillna("").astype(str).replace("", bridge_technology)
    problems = _check_sites(df, base)
    if "target_mw" in df.columns:  # derived attribute for the rules: MW the firm headroom does not cover
        head = pd.to_numeric(df["firm_headroom_mw"], errors="coerce").fillna(0.0) if "firm_headroom_mw" in df \
            else 0.0
        df["firm_shortfall_mw"] = (pd.to_numeric(df["target_mw"], errors="coerce") - head).clip(lower=0.0)
    for s, t in df["bridge_technology"].items():
        if t not in BRIDGE_TECHNOLOGIES:
            problems.append(Problem(f"unknown bridge technology {t!r}; expected one of "
                                    f"{', '.join(BRIDGE_TECHNOLOGIES)}", column="bridge_technology", site=s))
    table = read_stage_table() if stages is None else stages.copy()
    problems += check_stage_table(table, file=str(table["file"].iloc[0]) if "file" in table and len(table)
                                  else "stages")
    rules = read_stage_rules() if rules is None else rules
    ov = _override_frame(overrides)
    if len(ov):
        merged = []
        for rec in ov.to_dict("records"):
            rows = table[table["stage"] == rec["stage"]]
            basis = rows.iloc[0].to_dict() if len(rows) else {"stage": rec["stage"], "distribution": "lognormal"}
            merged.append({**basis, **{k: v for k, v in rec.items() if not (np.isscalar(v) and pd.isna(v))}})
        problems += check_stage_table(pd.DataFrame(merged), file="overrides", site_column="site")
        unknown_sites = sorted(set(ov["site"]) - set(df.index) - {"*"})
        problems += [Problem("override for a site not in the site list", column="site", site=s) for s in unknown_sites]
    known_stages = {s.name for g in PATH_GRAPHS.values() for s in graph_stages(g)}
    for i, r in enumerate(rules.to_dict("records")):
        if r["stage"].split("@")[0] not in known_stages:
            problems.append(Problem(f"unknown stage {r['stage']!r} in the rules table", row=i + 1, column="stage"))
        if r["path"] not in ("*",) + PATHS:
            problems.append(Problem(f"unknown path {r['path']!r} in the rules table", row=i + 1, column="path"))
    if problems:
        raise ValidationError(problems, what="time-to-power inputs")

    n = len(df)
    # nodes and programs
    stage_names = sorted({s.name for p in base for s in graph_stages(PATH_GRAPHS[p])})
    s_index = {s: i for i, s in enumerate(stage_names)}
    ops, nodes, out_reg = [], [], {}

    def compile_(node, path):
        if isinstance(node, Stage):
            nodes.append((path, node))
            r = len(ops)
            ops.append((_k.OP_LOAD, r, s_index[node.name], len(nodes) - 1))
            return r
        regs = [compile_(p, path) for p in node.parts]
        acc = regs[0]
        for r2 in regs[1:]:
            r = len(ops)
            ops.append((_k.OP_ADD if isinstance(node, Series) else _k.OP_MAX, r, acc, r2))
            acc = r
        return acc

    for p in base:
        out_reg[p] = compile_(PATH_GRAPHS[p], p)
    ops = np.array(ops, np.int64)

    # node scales from the rules
    node_scale = np.ones((n, len(nodes)), np.float32)
    for j, (path, st) in enumerate(nodes):
        for r in rules.to_dict("records"):
            if r["stage"] not in (st.name, st.key) or r["path"] not in ("*", path):
                continue
            m = _rule_mask(df, r["attribute"], r["op"], r["value"])
            node_scale[m, j] *= r["scale"]
    active = np.zeros((n, len(stage_names)), bool)
    for j, (_path, st) in enumerate(nodes):
        active[:, s_index[st.name]] |= node_scale[:, j] > 0

    # distributions per site and stage: region rows, then overrides
    region = table["region"].fillna("").astype(str) if "region" in table else pd.Series("", index=table.index)
    dist_index: dict[tuple, int] = {}
    dist_params: list[tuple] = []

    def params_of(rec) -> tuple:
        vals = rec.get("values", ())
        vals = tuple(float(x) for x in (vals if isinstance(vals, (tuple, list, np.ndarray)) else str(vals).split()))
        unit = str(rec.get("unit", "") or "month")
        f = 1.0 if unit == "month" else unit_scale(unit, "month")
        return (str(rec["distribution"]), *(round(_num(rec.get(k)) * f, 9) for k in ("p50", "p90", "low", "mode", "high")),
                tuple(v * f for v in vals))

    def dist_of(params) -> int:
        if params not in dist_index:
            dist_index[params] = len(dist_params)
            dist_params.append(params)
        return dist_index[params]

    rows_by_stage = {s: table[table["stage"] == s] for s in stage_names}
    missing = [s for s in stage_names if rows_by_stage[s].empty]
    if missing:
        raise ValidationError([Problem(f"no row for stage {s!r} in the stage table", column="stage") for s in missing],
                              what="stage table")
    bas = df["ba"].astype(str).to_numpy() if "ba" in df else np.full(n, "")
    ccs = df["country"].astype(str).to_numpy() if "country" in df else np.full(n, "")
    dist_id = np.full((n, len(stage_names)), -1, np.int64)
    cache: dict[tuple, int] = {}
    site_ov = ov[ov["site"] != "*"] if len(ov) else ov
    all_ov = {r["stage"]: r for r in ov[ov["site"] == "*"].to_dict("records")} if len(ov) else {}
    for s, name in enumerate(stage_names):
        rows = rows_by_stage[name]
        reg = region.loc[rows.index]
        for i in range(n):
            if not active[i, s]:
                continue
            key = (name, bas[i], ccs[i])
            if key not in cache:
                pick = rows[reg == bas[i]]
                if pick.empty:
                    pick = rows[reg == ccs[i]]
                if pick.empty:
                    pick = rows[reg == ""]
                if pick.empty:
                    pick = rows.iloc[:1]
                rec = pick.iloc[0].to_dict()
                if name in all_ov:
                    rec.update({k: v for k, v in all_ov[name].items() if k != "site" and not (np.isscalar(v) and pd.isna(v))})
                cache[key] = dist_of(params_of(rec))
            dist_id[i, s] = cache[key]
    if len(site_ov):
        pos = {s: i for i, s in enumerate(df.index)}
        for r in site_ov.to_dict("records"):
            i, s = pos[r["site"]], s_index.get(r["stage"])
            if s is None:
                continue
            base_rec = dict(zip(("distribution", "p50", "p90", "low", "mode", "high", "values"),
                                dist_params[dist_id[i, s]] if dist_id[i, s] >= 0 else
                                params_of(rows_by_stage[r["stage"]].iloc[0].to_dict()), strict=True))
            base_rec.update({k: v for k, v in r.items() if k not in ("site", "stage") and not (np.isscalar(v) and pd.isna(v))})
            if active[i, s]:
                dist_id[i, s] = dist_of(params_of(base_rec))
    tables = np.empty((len(dist_params), _k.N_LEVELS + 1), np.float32)
    for j, (dist, p50, p90, low, mode, high, vals) in enumerate(dist_params):
        tables[j] = quantile_function(dist, p50=p50, p90=p90, low=low, mode=mode, high=high, values=vals)

    # MW per path component
    target = pd.to_numeric(df["target_mw"], errors="coerce").to_numpy(float)
    col = {a: pd.to_numeric(df[a], errors="coerce").fillna(0).to_numpy(float) if a in df else np.zeros(n)
           for a in ("firm_headroom_mw", "gas_option_mw", "solar_option_mw", "storage_option_mw", "storage_option_mwh")}
    base_mw = {}
    if "grid_firm" in base:
        base_mw["grid_firm"] = (target, np.zeros(n))
    if "grid_flexible" in base:
        allow = flexible_allowance_mw(target, col["firm_headroom_mw"], bas, flexible_mw, default_flexible_fraction)
        base_mw["grid_flexible"] = (np.minimum(target, col["firm_headroom_mw"] + allow), np.zeros(n))
    if "onsite_bridge" in base:
        base_mw["onsite_bridge"] = (np.zeros(n), np.minimum(target, col["gas_option_mw"]))
    if "solar_storage" in base:
        cf = pd.to_numeric(df["solar_cf_mean"], errors="coerce").fillna(DEFAULT_SOLAR_CF).to_numpy(float) \
            if "solar_cf_mean" in df else DEFAULT_SOLAR_CF
        fe = firm_equivalent_mw(col["solar_option_mw"], col["storage_option_mw"], col["storage_option_mwh"], cf)
        grid = np.minimum(target, col["firm_headroom_mw"]) if partial_grid else np.zeros(n)
        base_mw["solar_storage"] = (grid, np.minimum(fe, target))
    max_c = max(len(c) for c in comps)
    comp_reg = np.zeros((len(paths), max_c), np.int64)
    mw_grid = np.zeros((n, len(paths), max_c))
    mw_site = np.zeros((n, len(paths), max_c))
    for p, cs in enumerate(comps):
        for c, name in enumerate(cs):
            comp_reg[p, c] = out_reg[name]
            mw_grid[:, p, c], mw_site[:, p, c] = base_mw[name]
    mw = np.minimum(target[:, None], mw_grid.max(axis=2) + mw_site.sum(axis=2))
    return Prepared(
        sites=df, paths=paths, components=comps, stages=stage_names, table=tables, dist_id=dist_id,
        site_keys=np.array([_hash64(s) for s in df.index], np.uint64),
        stage_keys=np.array([_hash64(s) for s in stage_names], np.uint64),
        supply_chain=np.array([bool(rows_by_stage[s]["supply_chain"].iloc[0]) for s in stage_names]),
        ops=ops, n_regs=len(ops), node_scale=node_scale, comp_reg=comp_reg,
        n_comp=np.array([len(c) for c in comps], np.int64), mw_grid=mw_grid, mw_site=mw_site, target=target,
        mw=mw, dist_params=dist_params, nodes=nodes)


