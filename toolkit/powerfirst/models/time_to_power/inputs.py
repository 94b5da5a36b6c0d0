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
    FACILITY_TYPES,
    PATH_GRAPHS,
    PATHS,
    Series,
    Stage,
    Withdrawable,
    firm_equivalent_mw,
    flexible_allowance_mw,
    graph_stages,
    quantile_function,
)
from powerfirst.units import scale as unit_scale

__all__ = [
    "SITE_INPUTS",
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

    Checks: known stage names, size classes, facility types (column ``facility_type``, optional:
    empty = a row for every type) and covered stages; known distributions; durations positive;
    lognormal ``p90 > p50 > 0``;
    triangular ``0 <= low <= mode <= high`` with ``high > 0``; empirical values positive; unit
    a duration.
    """
    from powerfirst.units import UnitError, dimension

    occurrences = [s for g in PATH_GRAPHS.values() for s in graph_stages(g)]
    known = {s.name for s in occurrences}
    coverable = known | {s.key for s in occurrences}  # a stage or one of its occurrences 'stage@tag'
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
        if not size_class_ok(row.get("size_class", "")):
            bad(f"unknown size class {row.get('size_class')!r}; expected '', <100, 100-300, 300-1000, >1000 or "
                "'low-high' [MW]", "size_class")
        if not start_years_ok("" if _blank(row.get("start_years", "")) else row.get("start_years")):
            bad(f"unknown start_years {row.get('start_years')!r}; expected '' (any start), 'YYYY', '-YYYY' (up to "
                "and including), 'YYYY-' (from) or 'YYYY-YYYY'", "start_years")
        ft = row.get("facility_type", "")
        ft = "" if _blank(ft) else str(ft).strip()
        if ft and ft not in FACILITY_TYPES:
            bad(f"unknown facility_type {ft!r}; expected '' (any) or one of {', '.join(FACILITY_TYPES)}",
                "facility_type")
        cov = str(row.get("covers", "") or "").split()
        for c in cov:
            if c not in coverable:
                bad(f"covers names an unknown stage {c!r}; expected a stage or an occurrence 'stage@tag' of "
                    f"the path graphs", "covers")
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


#: Site inputs the model reads: kind, documented default and meaning.  Every one is optional;
#: the default used is reported per site (``input_default`` in the result).
SITE_INPUTS = {
    "ba": ("text", "", "balancing authority or bidding zone (data/time_to_power/regions.csv); default '': "
                       "the national default rows of the stage table"),
    "utility": ("text", "", "electric utility (transmission owner) serving the site, a code of "
                            "data/time_to_power/utilities.csv: its own large-load rows (or its holding group's) "
                            "where it has them, else its BA's; default '': the BA's rows"),
    "target_mw": ("mw", 100.0, "MW the site is developed for; default 100 MW (a regional inference centre, the "
                               "middle tier of the demo sites)"),
    "start_date": ("date", None, "project start, month 0; default the start argument (first day of the current "
                                 "month)"),
    "request_date": ("date", None, "interconnection request; may precede start_date; default start_date (a new "
                                   "request at month 0)"),
    "existing_service_mw": ("mw", 0.0, "utility service already at the site (a substation or feeder; it says nothing "
                                       "about a building, see facility_type); default 0"),
    "upgrade_class": ("text", "substation", "network upgrade for the full target (none, minor, substation, "
                                            "transmission); default substation (schema default)"),
    "firm_headroom_mw": ("mw", 0.0, "firm capacity at the connection point without upgrades; default 0"),
    "colocated_plant_mw": ("mw", 0.0, "capacity of an adjacent plant available to the site (name it in "
                                      "colocated_plant); default 0"),
    "colocated_plant_owner": ("text", "third_party", "who owns the plant of colocated_plant_mw: third_party "
                                                     "(an agreement with its owner is needed) or developer (the "
                                                     "site's developer owns and runs the plant: no agreement); "
                                                     "default third_party"),
    "bridge_mw": ("mw", 0.0, "temporary or mobile generation that can be brought in; default 0"),
    "gas_option_mw": ("mw", 0.0, "permanent on-site gas generation (or fuel cells) that fuel and permits allow; "
                                 "default 0"),
    "solar_option_mw": ("mw", 0.0, "on-site PV (DC); default 0"),
    "storage_option_mw": ("mw", 0.0, "battery power; default 0"),
    "storage_option_mwh": ("mwh", 0.0, "battery energy; default 0"),
    "land_status": ("text", "identified", "owned, optioned, identified, none; default identified"),
    "permitting_status": ("text", "not_started", "approved, in_progress, not_started; default not_started"),
    "facility_type": ("text", "hyperscale", "building the site branch delivers (FACILITY_TYPES): hyperscale "
                                            "(purpose-built multi-storey data hall), modular (prefabricated or "
                                            "containerised halls), light_industrial (steel-frame warehouse-style "
                                            "halls, e.g. crypto-mining or immersion halls), existing_building "
                                            "(conversion of an existing building: brownfield_fitout instead of "
                                            "site_construction); default hyperscale"),
}
ALLOWED = {"upgrade_class": ("none", "minor", "substation", "transmission"),
           "land_status": ("owned", "optioned", "identified", "none"),
           "permitting_status": ("approved", "in_progress", "not_started"),
           "facility_type": FACILITY_TYPES,
           "colocated_plant_owner": ("third_party", "developer")}
MONTH_DAYS = 30.4375


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() in ("", "nan", "NaT", "None")


def _fill_inputs(df: pd.DataFrame, start: pd.Timestamp, regions: pd.DataFrame | None, horizon: float,
                 by_date, utilities: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem]]:
    """Fill every site input with its value or documented default; check values.

    Returns (frame with the inputs filled, bool frame True where the default was used, problems).
    Errors name site, column and value: negative MW, target_mw <= 0, unknown ba or
    upgrade_class (or land/permitting status), dates that do not parse, start_date after
    ``by_date``, request_date later than start_date by more than the horizon,
    colocated_plant_mw > 0 without a plant named in ``colocated_plant``, a ``colocated_plant_owner``
    without a co-located plant.
    """
    df = df.copy()
    problems: list[Problem] = []
    used = pd.DataFrame(False, index=df.index, columns=list(SITE_INPUTS))
    known_ba = set(regions["ba"].astype(str)) if regions is not None else None
    for col, (kind, default, _doc) in SITE_INPUTS.items():
        raw = df[col] if col in df.columns else pd.Series([None] * len(df), index=df.index, dtype=object)
        blank = np.array([_blank(v) for v in raw], bool)
        used[col] = blank
        if kind in ("mw", "mwh"):
            v = pd.to_numeric(raw.where(~blank, np.nan), errors="coerce").to_numpy(float)
            for s, x, b, r in zip(df.index, v, blank, raw, strict=True):
                if not b and not np.isfinite(x):
                    problems.append(Problem(f"not a number: {r!r} [{'MWh' if kind == 'mwh' else 'MW'}]",
                                            column=col, site=s))
                elif not b and x < 0:
                    problems.append(Problem(f"negative ({x:g} {'MWh' if kind == 'mwh' else 'MW'}); expected >= 0",
                                            column=col, site=s))
                elif not b and col == "target_mw" and x <= 0:
                    problems.append(Problem(f"must be positive (found {x:g} MW)", column=col, site=s))
            df[col] = np.where(blank, default, v)
        elif kind == "text":
            vals = raw.astype(object).where(~blank, default).astype(str).str.strip()
            df[col] = vals
            if col in ALLOWED:
                for s, x, b in zip(df.index, vals, blank, strict=True):
                    if not b and x not in ALLOWED[col]:
                        problems.append(Problem(f"unknown {col} {x!r}; expected one of {', '.join(ALLOWED[col])}",
                                                column=col, site=s))
            if col == "ba" and known_ba is not None:
                for s, x, b in zip(df.index, vals, blank, strict=True):
                    if not b and x not in known_ba:
                        problems.append(Problem(f"unknown ba {x!r}: not in data/time_to_power/regions.csv (known: "
                                                f"{', '.join(sorted(known_ba)[:12])}, ...); add a row mapping it to a "
                                                "market", column="ba", site=s))
        else:  # dates
            parsed = pd.to_datetime(raw.where(~blank, None), errors="coerce")
            for s, x, b, r in zip(df.index, parsed, blank, raw, strict=True):
                if not b and pd.isna(x):
                    problems.append(Problem(f"not a date: {r!r} (expected YYYY-MM-DD)", column=col, site=s))
            df[col] = parsed
    if utilities is not None:
        ba_of = dict(zip(utilities["utility"], utilities["ba"], strict=True))
        for s, u, b, ba, ba_blank in zip(df.index, df["utility"], used["utility"], df["ba"], used["ba"], strict=True):
            if b:
                continue
            if u not in ba_of:
                problems.append(Problem(f"unknown utility {u!r}: not in data/time_to_power/utilities.csv (known: "
                                        f"{', '.join(sorted(ba_of))}); add a row with its BA, or leave it blank for "
                                        "the BA's rows", column="utility", site=s))
            elif ba_blank:
                df.loc[s, "ba"] = ba_of[u]  # the utility's BA (not the default: the utility says it)
                used.loc[s, "ba"] = False
            elif ba != ba_of[u]:
                problems.append(Problem(f"utility {u!r} is in ba {ba_of[u]!r} (utilities.csv) but the site's ba is "
                                        f"{ba!r}", column="utility", site=s))
    df["start_date"] = df["start_date"].fillna(start)
    df["request_date"] = df["request_date"].fillna(df["start_date"])
    if by_date is not None:
        by = pd.Timestamp(by_date)
        for s, d in df["start_date"].items():
            if pd.notna(d) and d > by:
                problems.append(Problem(f"start_date {d.date()} is after the date asked about (by_date {by.date()})",
                                        column="start_date", site=s))
    lead = (df["request_date"] - df["start_date"]).dt.days.to_numpy(float) / MONTH_DAYS
    for s, x, d in zip(df.index, lead, df["request_date"], strict=True):
        if np.isfinite(x) and x > horizon:
            problems.append(Problem(f"request_date {d.date()} is {x:.0f} months after start_date, beyond the horizon "
                                    f"({horizon:g} months)", column="request_date", site=s))
    plant = df["colocated_plant"] if "colocated_plant" in df.columns else pd.Series("", index=df.index)
    for s, mw, pl in zip(df.index, pd.to_numeric(df["colocated_plant_mw"], errors="coerce"), plant, strict=True):
        if np.isfinite(mw) and mw > 0 and _blank(pl):
            problems.append(Problem(f"colocated_plant_mw is {mw:g} MW but no plant is named; give the plant (name or "
                                    "EIA plant id) in colocated_plant, or set colocated_plant_mw to 0",
                                    column="colocated_plant_mw", site=s))
    for s, mw, own, b in zip(df.index, pd.to_numeric(df["colocated_plant_mw"], errors="coerce"),
                             df["colocated_plant_owner"], used["colocated_plant_owner"], strict=True):
        if not b and not (np.isfinite(mw) and mw > 0):
            problems.append(Problem(f"colocated_plant_owner is {own!r} but colocated_plant_mw is {mw:g} MW: an owner "
                                    "only describes a co-located plant; give colocated_plant_mw > 0 or leave the "
                                    "owner blank", column="colocated_plant_owner", site=s))
    df["request_elapsed_months"] = np.where(np.isfinite(lead), -lead, 0.0)
    return df, used, problems


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
    dist_params: list = field(default_factory=list)   # (distribution, p50, p90, low, mode, high, values, u_floor)
    nodes: list = field(default_factory=list)          # (path, Stage)
    node_shift: np.ndarray | None = None              # (site, node) float32 [month]
    op_on: np.ndarray | None = None                   # (site, base path) bool: the site can take the path
    available: np.ndarray | None = None               # (site, path) bool
    reason: np.ndarray | None = None                  # (site, path) str: why a path is unavailable
    defaults: pd.DataFrame | None = None              # (site x input) bool: the default was used
    row_used: dict = field(default_factory=dict)      # stage -> (site,) str: region/size of the row used
    covers_used: np.ndarray | None = None             # (site,) str: stages the large-load row covers


#: old stage names still accepted in overrides and rules
STAGE_ALIASES = {"interconnection_queue": "large_load_interconnection"}
#: stages on the request clock (shifted by the time elapsed since request_date)
REQUEST_CLOCK = ("large_load_interconnection", "flexible_interconnection", "withdrawal")


def _parse_paths(paths) -> tuple[list[str], list[list[str]]]:
    from powerfirst.models.time_to_power.graph import NAMED_COMBINATIONS, expand_path

    if isinstance(paths, str):
        paths = [p for p in paths.split(",") if p.strip()]
    paths = [str(p).strip() for p in paths]
    problems, comps = [], []
    for p in paths:
        parts = expand_path(p)
        for c in parts:
            if c not in PATH_GRAPHS:
                problems.append(Problem(f"unknown path {c!r}; expected one of {', '.join(PATH_GRAPHS)}, "
                                        f"{', '.join(NAMED_COMBINATIONS)} or a combination such as "
                                        "'grid_flexible+grid_firm'", variable="path"))
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
    df["stage"] = df["stage"].astype(str).replace(STAGE_ALIASES)
    return df


def _size_match(label: str, mw: float) -> bool:
    """Does a size class label ('' = any, '<100', '100-300', '>1000', 'lo-hi') hold ``mw``?"""
    from powerfirst.models.time_to_power.graph import SIZE_CLASSES

    label = str(label or "").strip()
    if not label:
        return True
    if label in SIZE_CLASSES:
        lo, hi = SIZE_CLASSES[label]
    else:
        lo, _, hi = label.partition("-")
        lo, hi = float(lo), float(hi)
    return lo <= mw < hi


def _years_match(label: str, year: int) -> bool:
    """Does a start-year label ('' = any, '-2021', '2022-2023', '2024-', '2021') hold ``year``?"""
    label = str(label or "").strip()
    if not label:
        return True
    lo, sep, hi = label.partition("-")
    lo = int(lo) if lo.strip() else -10**9
    hi = (int(hi) if hi.strip() else 10**9) if sep else lo
    return lo <= int(year) <= hi


def start_years_ok(label) -> bool:
    """Is ``label`` a start-year range: '', 'YYYY', '-YYYY', 'YYYY-' or 'YYYY-YYYY' (low <= high)?"""
    import re

    label = str(label or "").strip()
    if not label:
        return True
    m = re.fullmatch(r"(\d{4})?(-)?(\d{4})?", label)
    if not m or not (m.group(1) or m.group(3)) or (not m.group(2) and m.group(3)):
        return False
    return not (m.group(1) and m.group(3)) or int(m.group(1)) <= int(m.group(3))


def size_class_ok(label) -> bool:
    from powerfirst.models.time_to_power.graph import SIZE_CLASSES

    label = str(label or "").strip()
    if not label or label in SIZE_CLASSES:
        return True
    lo, _, hi = label.partition("-")
    try:
        return float(lo) < float(hi)
    except ValueError:
        return False


def _cdf_at(params: tuple, x: float) -> float:
    """F(x) of a stage distribution (numerically, from its quantile function)."""
    dist, p50, p90, low, mode, high, vals = params[:7]
    u = np.linspace(0.0005, 0.9995, 2000)
    q = quantile_function(dist, p50=p50, p90=p90, low=low, mode=mode, high=high, values=vals, u=u)
    return float(np.interp(x, q, u, left=0.0, right=1.0))


def prepare(sites, paths: Sequence[str] | str = PATHS, *, stages: pd.DataFrame | None = None,
            rules: pd.DataFrame | None = None, overrides=None, flexible_mw=None,
            bridge_technology: str = "recip_engines", partial_grid: bool = True,
            default_flexible_fraction: float = DEFAULT_FLEXIBLE_FRACTION, start=None,
            regions: pd.DataFrame | None = None, horizon: float = 60.0, by_date=None,
            withdrawal: bool = True) -> Prepared:
    """Validate the inputs and turn sites x stages into the kernels' arrays.

    Parameters
    ----------
    sites : xarray.Dataset or pandas.DataFrame
        Site attributes (see ``schema/site_attributes.csv`` and :data:`SITE_INPUTS`: every input
        is optional with a documented default, reported per site); an optional
        ``bridge_technology`` attribute overrides the argument per site, ``colocated_plant``
        names the plant of ``colocated_plant_mw``.
    paths : list of str or comma-separated str
        Base paths (:data:`BASE_PATHS`), named combinations (``bridge_then_grid``) and ``"a+b"``.
    stages, rules, regions : DataFrame, optional
        Stage, rules and region tables (default: the embedded ones, :mod:`powerfirst.io.stages`).
    overrides : mapping or DataFrame, optional
        Per-scenario ``{stage: {"p50": .., "p90": ..}}`` or rows with ``site`` (``*`` = all),
        ``stage`` and distribution fields, applied on top of the table.
    flexible_mw : see :func:`flexible_allowance_mw`
    bridge_technology : one of :data:`BRIDGE_TECHNOLOGIES`
    partial_grid : bool
        ``solar_storage`` also takes the site's firm headroom through a short grid process.
    start : date-like, optional
        Default ``start_date`` of the sites (default: the first day of the current month).
    horizon : float
        Horizon [month]; a ``request_date`` later than ``start_date`` by more than it is an error.
    by_date : date-like, optional
        A date asked about (MW-months delivered by it); a ``start_date`` after it is an error.
    withdrawal : bool
        Model withdrawn grid requests (competing risk ``withdrawal``); False: every request completes.

    Raises
    ------
    ValidationError
        Every problem found: unknown paths or stages, bad durations (P90 below P50, values
        <= 0), bad site inputs (naming site, column and value).
    """
    from powerfirst.io.stages import (
        read_region_table,
        read_stage_rules,
        read_stage_table,
        read_utility_table,
    )

    paths, comps = _parse_paths(paths)
    base = [p for p in PATH_GRAPHS if any(p in c for c in comps)]
    df = _site_frame(sites)
    if bridge_technology not in BRIDGE_TECHNOLOGIES:
        raise ValidationError([Problem(f"unknown bridge technology {bridge_technology!r}; expected one of "
                                       f"{', '.join(BRIDGE_TECHNOLOGIES)}", variable="bridge_technology")])
    if "bridge_technology" not in df.columns:
        df["bridge_technology"] = bridge_technology
    else:
        df["bridge_technology"] = df["bridge_technology"].fillna("").astype(str).replace("", bridge_technology)
    start = pd.Timestamp(start) if start is not None else pd.Timestamp.today().normalize().replace(day=1)
    regions = read_region_table() if regions is None else regions
    utilities = read_utility_table(regions=regions)
    df, used, problems = _fill_inputs(df, start, regions, float(horizon), by_date, utilities)
    head = pd.to_numeric(df["firm_headroom_mw"], errors="coerce").fillna(0.0)
    df["firm_shortfall_mw"] = (pd.to_numeric(df["target_mw"], errors="coerce") - head).clip(lower=0.0)
    for s, t in df["bridge_technology"].items():
        if t not in BRIDGE_TECHNOLOGIES:
            problems.append(Problem(f"unknown bridge technology {t!r}; expected one of "
                                    f"{', '.join(BRIDGE_TECHNOLOGIES)}", column="bridge_technology", site=s))
    table = read_stage_table() if stages is None else stages.copy()
    table["stage"] = table["stage"].astype(str).replace(STAGE_ALIASES)
    for c in ("size_class", "covers", "region", "facility_type", "start_years"):
        if c not in table.columns:
            table[c] = ""
        table[c] = table[c].fillna("").astype(str).str.strip()
    problems += check_stage_table(table, file=str(table["file"].iloc[0]) if "file" in table and len(table)
                                  else "stages")
    rules = read_stage_rules() if rules is None else rules.copy()
    rules["stage"] = rules["stage"].astype(str).map(
        lambda k: STAGE_ALIASES.get(k.split("@")[0], k.split("@")[0]) + (("@" + k.split("@")[1]) if "@" in k else ""))
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
        if r["path"] not in ("*",) + tuple(PATH_GRAPHS):
            problems.append(Problem(f"unknown path {r['path']!r} in the rules table", row=i + 1, column="path"))
    if problems:
        raise ValidationError(problems, what="time-to-power inputs")

    n = len(df)
    # nodes and programs
    stage_names = sorted({s.name for p in base for s in graph_stages(PATH_GRAPHS[p])})
    s_index = {s: i for i, s in enumerate(stage_names)}
    ops, nodes, out_reg = [], [], {}

    b_index = {p: i for i, p in enumerate(base)}

    def load(node, path):
        nodes.append((path, node))
        r = len(ops)
        ops.append((_k.OP_LOAD, r, s_index[node.name], len(nodes) - 1, b_index[path]))
        return r

    def compile_(node, path):
        if isinstance(node, Stage):
            return load(node, path)
        if isinstance(node, Withdrawable):
            body = compile_(node.part, path)
            clock = load(node.clock, path)
            w = load(node.withdrawal, path)
            r = len(ops)
            ops.append((_k.OP_FAILIF, r, w, clock, b_index[path]))
            r2 = len(ops)
            ops.append((_k.OP_ADD, r2, body, r, b_index[path]))
            return r2
        regs = [compile_(p, path) for p in node.parts]
        acc = regs[0]
        for r2 in regs[1:]:
            r = len(ops)
            ops.append((_k.OP_ADD if isinstance(node, Series) else _k.OP_MAX, r, acc, r2, b_index[path]))
            acc = r
        return acc

    for p in base:
        out_reg[p] = compile_(PATH_GRAPHS[p], p)
    ops = np.array(ops, np.int64)

    # distributions per site and stage: the rows of the site's facility type (else the rows for
    # any type), among them region rows (utility, utility group, ba, market, country, default; size
    # class first), then overrides
    reg_of = regions.set_index("ba")["market"].astype(str).to_dict() if len(regions) else {}
    bas = df["ba"].astype(str).to_numpy()
    uts = df["utility"].astype(str).to_numpy()
    group_of_utility = dict(zip(utilities["utility"], utilities["group"], strict=True))
    ugs = np.array([group_of_utility.get(u, "") for u in uts], object)
    fts = df["facility_type"].astype(str).to_numpy()
    ccs = df["country"].astype(str).to_numpy() if "country" in df else np.full(n, "")
    target = pd.to_numeric(df["target_mw"], errors="coerce").to_numpy(float)
    dist_index: dict[tuple, int] = {}
    dist_params: list[tuple] = []

    def params_of(rec, u_floor: float = 0.0) -> tuple:
        vals = rec.get("values", ())
        vals = tuple(float(x) for x in (vals if isinstance(vals, (tuple, list, np.ndarray)) else str(vals).split()))
        unit = str(rec.get("unit", "") or "month")
        f = 1.0 if unit == "month" else unit_scale(unit, "month")
        nums = (round(_num(rec.get(k)) * f, 9) for k in ("p50", "p90", "low", "mode", "high"))
        # NaN -> None so that equal parameters are equal keys (NaN != NaN)
        return (str(rec["distribution"]), *(None if np.isnan(x) else x for x in nums),
                tuple(v * f for v in vals), float(u_floor))

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
    # sites share their rows by group: (utility, BA, country, facility type, the size classes their target
    # falls in, the periods of its start and request years)
    labels = sorted({c for c in table["size_class"].unique() if c})
    fits = np.array([[_size_match(c, t) for c in labels] for t in target], bool).reshape(n, len(labels))
    # the year of each site's start selects the rows of stages whose durations changed over time
    # (column ``start_years``: equipment lead times of the year the project starts); the stages on the
    # request clock take the year of the request instead: the process a request meets is that of the
    # queue when it was filed
    years = df["start_date"].dt.year.to_numpy(int)
    request_years = df["request_date"].dt.year.to_numpy(int)
    periods = sorted({c for c in table["start_years"].unique() if c})
    yfits = np.array([[_years_match(c, y) for c in periods for y in (ys, yr)]
                      for ys, yr in zip(years, request_years, strict=True)], bool).reshape(n, 2 * len(periods))
    group_of: dict[tuple, int] = {}
    ginv = np.empty(n, np.int64)
    first = []
    for i in range(n):
        g = group_of.setdefault((uts[i], bas[i], ccs[i], fts[i], fits[i].tobytes(), yfits[i].tobytes()),
                                len(group_of))
        if g == len(first):
            first.append(i)
        ginv[i] = g
    chosen: dict[tuple, dict] = {}
    no_row: list[tuple[str, int]] = []   # (stage, group) without a row for the group's facility type
    row_used: dict[str, np.ndarray] = {}
    for name in stage_names:
        rows = rows_by_stage[name]
        by_type: dict[str, dict[str, list[dict]]] = {}
        for rec in rows.to_dict("records"):
            by_type.setdefault(rec["facility_type"], {}).setdefault(rec["region"], []).append(rec)
        lbl = []
        for g, i in enumerate(first):
            by_region = by_type.get(fts[i]) or by_type.get("")
            rec = None
            # utility, its holding group, BA, market, country, then the default row ('')
            chain = [r for r in (uts[i], ugs[i], bas[i], reg_of.get(bas[i], ""), ccs[i]) if r] + [""]
            for region in chain if by_region else ():
                at = by_region.get(region, ())
                # rows for the site's start year first, then rows for any year; size class first in each
                year = request_years[i] if name in REQUEST_CLOCK else years[i]
                at = [r for r in at if r["start_years"] and _years_match(r["start_years"], year)] or \
                    [r for r in at if not r["start_years"]]
                pick = [r for r in at if r["size_class"] and _size_match(r["size_class"], target[i])] or \
                    [r for r in at if not r["size_class"]]
                if pick:
                    rec = dict(pick[0])
                    break
            if rec is None:
                if not by_region:
                    no_row.append((name, g))
                rec = rows.iloc[0].to_dict()
            chosen[(name, g)] = rec
            lbl.append(f"{rec.get('region') or 'default'}/{rec.get('size_class') or 'any size'}"
                       + (f"/{rec['facility_type']}" if rec.get("facility_type") else "")
                       + (f"/{'request' if name in REQUEST_CLOCK else 'start'} {rec['start_years']}"
                          if rec.get("start_years") else ""))
        row_used[name] = np.array(lbl, object)[ginv]

    def rec_of(name, i):
        return chosen[(name, ginv[i])]

    # node scales from the rules, the covers of the large-load rows, request shifts
    node_scale = np.ones((n, len(nodes)), np.float32)
    node_shift = np.zeros((n, len(nodes)), np.float32)
    elapsed = df["request_elapsed_months"].to_numpy(float)
    masks: dict[tuple, np.ndarray] = {}
    for j, (path, st) in enumerate(nodes):
        for r in rules.to_dict("records"):
            if r["stage"] not in (st.name, st.key) or r["path"] not in ("*", path):
                continue
            mk = (r["attribute"], r["op"], r["value"])
            if mk not in masks:
                masks[mk] = _rule_mask(df, r["attribute"], r["op"], r["value"])
            node_scale[masks[mk], j] *= r["scale"]
        if st.name in REQUEST_CLOCK and path in ("grid_firm", "grid_flexible", "solar_storage") \
                and st.tag in ("", "clock", "studies", "flexible", "partial_grid"):
            node_shift[:, j] = elapsed
        if st.name == "withdrawal" and not withdrawal:
            node_scale[:, j] = 0.0
    covers_used = np.full(n, "", object)
    # a row's ``covers``: the stages (``name``) or occurrences (``name@tag``) its figure already
    # includes are dropped from the paths where the covering stage is taken (its scale > 0)
    for name in stage_names:
        cov = [set(str(chosen[(name, g)].get("covers", "")).split()) for g in range(len(first))]
        if name == "large_load_interconnection":
            covers_used = np.array([" ".join(sorted(c)) for c in cov], object)[ginv]
        if not any(cov):
            continue
        for path in base:
            taken = np.zeros(n, bool)
            for j, (p, st) in enumerate(nodes):
                if p == path and st.name == name:
                    taken |= node_scale[:, j] > 0
            if not taken.any():
                continue
            for j, (p, st) in enumerate(nodes):
                if p != path or st.name == name:
                    continue
                hit = np.array([st.name in c or st.key in c for c in cov], bool)[ginv] & taken
                node_scale[hit, j] = 0.0
    active = np.zeros((n, len(stage_names)), bool)
    for j, (_path, st) in enumerate(nodes):
        active[:, s_index[st.name]] |= node_scale[:, j] > 0

    dist_id = np.full((n, len(stage_names)), -1, np.int64)
    site_ov = ov[ov["site"] != "*"] if len(ov) else ov
    all_ov = {r["stage"]: r for r in ov[ov["site"] == "*"].to_dict("records")} if len(ov) else {}
    floors = np.where(elapsed > 0, np.round(np.maximum(elapsed, 0) * 4) / 4, 0.0)
    for s, name in enumerate(stage_names):
        fl = floors if name == "withdrawal" else np.zeros(n)  # a live request is withdrawn (if at all) after start
        key_of: dict[tuple, int] = {}
        for i in np.flatnonzero(active[:, s]):
            key = (ginv[i], fl[i])
            if key not in key_of:
                rec = dict(rec_of(name, i))
                if name in all_ov:
                    rec.update({k: v for k, v in all_ov[name].items()
                                if k != "site" and not (np.isscalar(v) and pd.isna(v))})
                prm = params_of(rec)
                u0 = _cdf_at(prm, fl[i]) if fl[i] > 0 else 0.0
                key_of[key] = dist_of(params_of(rec, min(u0, 0.999)))
            dist_id[i, s] = key_of[key]
    if len(site_ov):
        pos = {s: i for i, s in enumerate(df.index)}
        for r in site_ov.to_dict("records"):
            i, s = pos[r["site"]], s_index.get(r["stage"])
            if s is None:
                continue
            base_rec = dict(zip(("distribution", "p50", "p90", "low", "mode", "high", "values"),
                                dist_params[dist_id[i, s]][:7] if dist_id[i, s] >= 0 else
                                params_of(rows_by_stage[r["stage"]].iloc[0].to_dict())[:7], strict=True))
            base_rec.update({k: v for k, v in r.items() if k not in ("site", "stage") and not (np.isscalar(v) and pd.isna(v))})
            if active[i, s]:
                dist_id[i, s] = dist_of(params_of(base_rec))
    tables = np.empty((len(dist_params), _k.N_LEVELS + 1), np.float32)
    lev = np.clip(np.arange(_k.N_LEVELS + 1) / _k.N_LEVELS, 0.25 / _k.N_LEVELS, 1 - 0.25 / _k.N_LEVELS)
    for j, (dist, p50, p90, low, mode, high, vals, u0) in enumerate(dist_params):
        tables[j] = quantile_function(dist, p50=p50, p90=p90, low=low, mode=mode, high=high, values=vals,
                                      u=u0 + (1 - u0) * lev)

    # MW per path component and availability
    col = {a: pd.to_numeric(df[a], errors="coerce").fillna(0).to_numpy(float)
           for a in ("firm_headroom_mw", "gas_option_mw", "solar_option_mw", "storage_option_mw", "storage_option_mwh",
                     "existing_service_mw", "colocated_plant_mw", "bridge_mw")}
    base_mw, why = {}, {}
    zero = np.zeros(n)

    def need(name, mw, msg):
        why[name] = np.where(mw > 0, "", msg)

    if "grid_firm" in base:
        base_mw["grid_firm"] = (target, zero)
        need("grid_firm", target, "target_mw is 0")
    if "grid_flexible" in base:
        allow = flexible_allowance_mw(target, col["firm_headroom_mw"], bas, flexible_mw, default_flexible_fraction)
        base_mw["grid_flexible"] = (np.minimum(target, col["firm_headroom_mw"] + allow), zero)
        need("grid_flexible", base_mw["grid_flexible"][0], "no firm headroom and no flexible allowance (0 MW)")
    for name, attr in (("onsite_bridge", "gas_option_mw"), ("onsite_generation", "gas_option_mw")):
        if name in base:
            base_mw[name] = (zero, np.minimum(target, col[attr]))
            need(name, col[attr], f"{attr} is 0 (no on-site generation option)")
    if "solar_storage" in base:
        cf = pd.to_numeric(df["solar_cf_mean"], errors="coerce").fillna(DEFAULT_SOLAR_CF).to_numpy(float) \
            if "solar_cf_mean" in df else DEFAULT_SOLAR_CF
        fe = firm_equivalent_mw(col["solar_option_mw"], col["storage_option_mw"], col["storage_option_mwh"], cf)
        grid = np.minimum(target, col["firm_headroom_mw"]) if partial_grid else zero
        base_mw["solar_storage"] = (grid, np.minimum(fe, target))
        need("solar_storage", grid + fe, "no solar or storage option and no firm headroom (0 MW)")
    if "existing_service" in base:
        base_mw["existing_service"] = (np.minimum(target, col["existing_service_mw"]), zero)
        need("existing_service", col["existing_service_mw"], "existing_service_mw is 0 (no service at the site)")
    if "colocation" in base:
        base_mw["colocation"] = (zero, np.minimum(target, col["colocated_plant_mw"]))
        need("colocation", col["colocated_plant_mw"], "colocated_plant_mw is 0 (no adjacent plant)")
    if "mobile_bridge" in base:
        base_mw["mobile_bridge"] = (zero, np.minimum(target, col["bridge_mw"]))
        need("mobile_bridge", col["bridge_mw"], "bridge_mw is 0 (no temporary generation)")
    # a base path the site cannot take (0 MW) is neither drawn nor run
    op_on = np.zeros((n, len(base)), bool)
    for b, name in enumerate(base):
        g, o = base_mw[name]
        op_on[:, b] = (np.asarray(g) + np.asarray(o)) > 0
    for j, (path, _st) in enumerate(nodes):
        node_scale[~op_on[:, b_index[path]], j] = 0.0
    active[:] = False
    for j, (_path, st) in enumerate(nodes):
        active[:, s_index[st.name]] |= node_scale[:, j] > 0
    dist_id[~active] = -1
    missing_type = [Problem(f"no row of stage {name!r} for facility_type {fts[i]!r} (and no row for any facility "
                            f"type) in the stage table; add one or use another facility_type", column="facility_type",
                            site=str(df.index[i]))
                    for name, g in no_row for i in np.flatnonzero((ginv == g) & active[:, s_index[name]])]
    if missing_type:
        raise ValidationError(missing_type, what="stage table")
    ops, out_reg, op_on = _share_ops(ops, out_reg, node_scale, node_shift, op_on)
    max_c = max(len(c) for c in comps)
    comp_reg = np.zeros((len(paths), max_c), np.int64)
    mw_grid = np.zeros((n, len(paths), max_c))
    mw_site = np.zeros((n, len(paths), max_c))
    available = np.zeros((n, len(paths)), bool)
    reason = np.full((n, len(paths)), "", object)
    for p, cs in enumerate(comps):
        msgs = []
        for c, name in enumerate(cs):
            comp_reg[p, c] = out_reg[name]
            mw_grid[:, p, c], mw_site[:, p, c] = base_mw[name]
            msgs.append(why[name])
        available[:, p] = (mw_grid[:, p].max(axis=1) + mw_site[:, p].sum(axis=1)) > 0
        joined = np.array(["; ".join(f"{nm}: {m[i]}" if len(cs) > 1 else m[i] for nm, m in zip(cs, msgs, strict=True)
                                     if m[i]) for i in range(n)], object)
        reason[:, p] = np.where(available[:, p], "", joined)
    mw = np.minimum(target[:, None], mw_grid.max(axis=2) + mw_site.sum(axis=2))
    return Prepared(
        sites=df, paths=paths, components=comps, stages=stage_names, table=tables, dist_id=dist_id,
        site_keys=np.array([_hash64(s) for s in df.index], np.uint64),
        stage_keys=np.array([_hash64(s) for s in stage_names], np.uint64),
        supply_chain=np.array([bool(rows_by_stage[s]["supply_chain"].iloc[0]) for s in stage_names]),
        ops=ops, n_regs=len(ops), node_scale=node_scale, comp_reg=comp_reg,
        n_comp=np.array([len(c) for c in comps], np.int64), mw_grid=mw_grid, mw_site=mw_site, target=target,
        mw=mw, dist_params=dist_params, nodes=nodes, node_shift=node_shift, op_on=op_on, available=available,
        reason=reason,
        defaults=used, row_used=row_used, covers_used=covers_used)



def _share_ops(ops: np.ndarray, out_reg: dict, node_scale: np.ndarray, node_shift: np.ndarray, base_on: np.ndarray):
    """Common subexpressions of the path programs computed once (value numbering).

    Two LOADs of the same stage whose node scale and shift are equal at every site are one
    register; an ADD, MAX or FAILIF of the same registers is one register.  The paths share the
    site branch and the energisation this way.  Each op runs for a site when any path using it
    is open to the site: returns (ops, out_reg, op_on) with ``ops[:, 4]`` indexing the columns of
    ``op_on`` (site, mask).
    """
    canon: dict[tuple, int] = {}
    node_canon = np.empty(node_scale.shape[1], np.int64)
    for j in range(node_scale.shape[1]):
        node_canon[j] = canon.setdefault((node_scale[:, j].tobytes(), node_shift[:, j].tobytes()), j)
    reg_map: dict[int, int] = {}
    vn: dict[tuple, int] = {}
    new: list[list[int]] = []
    users: list[set] = []
    for code, dst, a, b, path in ops.tolist():
        if code == _k.OP_LOAD:
            j = int(node_canon[b])
            key = (code, a, j)
            row = [code, 0, a, j]
        else:
            x, y = reg_map[a], reg_map[b]
            if code in (_k.OP_ADD, _k.OP_MAX) and x > y:
                x, y = y, x
            key = (code, x, y)
            row = [code, 0, x, y]
        if key in vn:
            reg_map[dst] = vn[key]
            users[vn[key]].add(path)
            continue
        r = len(new)
        row[1] = r
        new.append(row)
        users.append({path})
        vn[key] = r
        reg_map[dst] = r
    combos: dict[frozenset, int] = {}
    cols = []
    out = np.empty((len(new), 5), np.int64)
    for k, row in enumerate(new):
        u = frozenset(users[k])
        if u not in combos:
            combos[u] = len(combos)
            cols.append(np.logical_or.reduce([base_on[:, b] for b in sorted(u)]))
        out[k, :4] = row
        out[k, 4] = combos[u]
    op_on = np.stack(cols, axis=1) if cols else np.zeros((base_on.shape[0], 0), bool)
    return out, {p: reg_map[r] for p, r in out_reg.items()}, op_on
