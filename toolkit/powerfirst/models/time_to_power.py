r"""Time to power: a probabilistic energisation model for every site and path.

"Time to power" is the time from a start date (the interconnection request, or today) until a
site's load can draw power.  Each energisation **path** is a graph of **stages** with uncertain
durations, composed in series (durations add) and in parallel (the slowest branch sets the
pace):

* ``grid_firm`` — the interconnection queue (request to energisation of the grid connection)
  in parallel with the network upgrades of the site's ``upgrade_class`` (large transformer,
  breakers and switchgear, substation build, transmission line), which start once studies are
  done, and in parallel with the site branch (land, permits, construction); then energisation.
  MW: the full ``target_mw``.
* ``grid_flexible`` — a non-firm, curtailable connection: shorter studies and only breakers and
  bays; MW limited to ``firm_headroom_mw`` plus a flexible allowance (a per-BA flexible
  headroom, e.g. from :func:`powerfirst.models.headroom.flexible_headroom`, shared among the
  BA's sites pro rata to their unmet MW; without one, :data:`DEFAULT_FLEXIBLE_FRACTION` of the
  site's unmet MW).
* ``onsite_bridge`` — on-site gas generation (reciprocating engines, aeroderivative or frame
  turbines, fuel cells: ``bridge_technology``) with its equipment lead time and air permit;
  MW limited to ``gas_option_mw``.
* ``solar_storage`` — on-site PV plus batteries (plus the existing firm headroom as a partial
  grid connection); MW = the firm-equivalent of PV + storage (:func:`firm_equivalent_mw`) plus
  the firm headroom.
* combinations ``"a+b"`` (e.g. ``"grid_flexible+grid_firm"``, ``"onsite_bridge+grid_firm"``) —
  MW ramps over time: at time :math:`t` the site has
  :math:`\min(\mathrm{target}, \max_{c\ \mathrm{grid}} M_c 1[T_c \le t] + \sum_{c\ \mathrm{on\ site}} M_c 1[T_c \le t])`
  (grid connections nest, on-site supplies add); first power is the first component live.

Stage durations are distributions (lognormal from P50/P90, triangular, empirical, fixed) from
the stage table ``data/time_to_power/stages.csv`` (defaults from the facts tables, with
sources; unsourced ones are labelled assumptions) scaled per site by the rules table
``data/time_to_power/rules.csv`` (a scale of 0 drops a stage: no transformer for
``upgrade_class = minor``, no permits once approved, ...).  Rows may be region-specific (a BA
or country code) and overridden per scenario or per site.  Equipment lead times can move
together (a supply-chain shock): a Gaussian copula with correlation :math:`\rho` in normal
scores, which keeps each stage's own distribution.

The Monte Carlo runs compiled (numba) over sites x draws, with every path of a site evaluated
on the same stage draws (common random numbers), streaming over sites without storing draws:
quantiles of the first-power time, P(energised by month), expected MW available by month and
expected MW-months by a horizon, plus a tornado (the P50 shift when one stage is held at its
P10 or P90).  See :mod:`powerfirst.models._ttp_kernel` for the sampler.

References
----------
Rand, J. et al. (2025). *Queued Up: 2025 Edition. Characteristics of Power Plants Seeking
Transmission Interconnection as of the End of 2024.* Lawrence Berkeley National Laboratory.
President's National Infrastructure Advisory Council (2024). *Addressing the Critical Shortage
of Power Transformers to Ensure Reliability of the U.S. Grid.*
Norris, T. H. et al. (2025). *Rethinking Load Growth.* Nicholas Institute, Duke University.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from powerfirst.errors import Problem, ValidationError
from powerfirst.models import _ttp_kernel as _k
from powerfirst.units import scale as unit_scale

__all__ = [
    "PATHS", "BRIDGE_TECHNOLOGIES", "DISTRIBUTIONS", "DEFAULT_FLEXIBLE_FRACTION", "Stage", "Series", "Parallel",
    "series", "parallel", "PATH_GRAPHS", "PATH_REQUIRES", "lognormal_sigma", "quantile_function",
    "evaluate_graph", "firm_equivalent_mw", "flexible_allowance_mw", "check_stage_table", "prepare",
    "time_to_power", "sample_stage_durations", "first_power_reference", "best_path", "prob_energised_by",
    "fit_stage_durations",
]

PATHS = ("grid_firm", "grid_flexible", "onsite_bridge", "solar_storage")
BRIDGE_TECHNOLOGIES = ("recip_engines", "aeroderivative_turbines", "frame_turbines", "fuel_cells")
DISTRIBUTIONS = ("lognormal", "triangular", "empirical", "fixed")
CRITERIA = ("p50", "mw_months", "prob_by_horizon")
Z90 = float(stats.norm.ppf(0.9))

#: ASSUMPTION: without a per-BA flexible headroom, a flexible connection unlocks this share of
#: the MW a site's firm headroom does not cover.
DEFAULT_FLEXIBLE_FRACTION = 0.5
#: ASSUMPTION: PV capacity factor (AC per DC nameplate) when the site has no ``solar_cf_mean``.
DEFAULT_SOLAR_CF = 0.20
#: ASSUMPTION: battery round-trip efficiency.
ROUND_TRIP_EFFICIENCY = 0.85
#: ASSUMPTION: hours of a day without useful PV output, served from storage.
NIGHT_HOURS = 14.0


# ---------------------------------------------------------------------------
# path graphs


@dataclass(frozen=True)
class Stage:
    """One occurrence of a stage in a path graph; ``tag`` tells occurrences apart for the rules."""

    name: str
    tag: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}@{self.tag}" if self.tag else self.name


@dataclass(frozen=True)
class Series:
    """Stages one after another: durations add."""

    parts: tuple


@dataclass(frozen=True)
class Parallel:
    """Branches side by side: the slowest sets the pace (maximum)."""

    parts: tuple


def series(*parts) -> Series:
    return Series(tuple(parts))


def parallel(*parts) -> Parallel:
    return Parallel(tuple(parts))


def graph_stages(node) -> list[Stage]:
    """Every stage occurrence of a graph, in order."""
    if isinstance(node, Stage):
        return [node]
    return [s for p in node.parts for s in graph_stages(p)]


_SITE = series(Stage("land_acquisition"), Stage("site_permitting"), Stage("site_construction"))
_UPGRADES = parallel(Stage("large_transformer"), Stage("breakers_switchgear"), Stage("substation_build"),
                     Stage("transmission_line"))

#: The graphs of the base paths.
PATH_GRAPHS = {
    "grid_firm": series(parallel(Stage("interconnection_queue"),
                                 series(Stage("interconnection_queue", "studies"), _UPGRADES), _SITE),
                        Stage("energisation")),
    "grid_flexible": series(parallel(series(Stage("interconnection_queue", "flexible"), Stage("breakers_switchgear")),
                                     _SITE), Stage("energisation")),
    "onsite_bridge": series(parallel(parallel(*(Stage(t) for t in BRIDGE_TECHNOLOGIES)), Stage("air_permit"),
                                     _SITE), Stage("energisation")),
    "solar_storage": series(parallel(Stage("solar_epc"), Stage("battery_delivery"),
                                     Stage("interconnection_queue", "partial_grid"), _SITE), Stage("energisation")),
}

_RULE_ATTRS = ("land_status", "permitting_status")
#: Site attributes each path needs.
PATH_REQUIRES = {
    "grid_firm": ("target_mw", "upgrade_class") + _RULE_ATTRS,
    "grid_flexible": ("target_mw", "firm_headroom_mw", "upgrade_class", "ba") + _RULE_ATTRS,
    "onsite_bridge": ("target_mw", "gas_option_mw") + _RULE_ATTRS,
    "solar_storage": ("target_mw", "solar_option_mw", "storage_option_mw", "storage_option_mwh",
                      "firm_headroom_mw") + _RULE_ATTRS,
}
_TEXT_ATTRS = ("upgrade_class", "ba", "land_status", "permitting_status", "bridge_technology", "country")


# ---------------------------------------------------------------------------
# pure array functions


def lognormal_sigma(p50, p90):
    """Log-space standard deviation of a lognormal with median ``p50`` and 90th percentile ``p90`` [same unit]."""
    return np.log(np.asarray(p90, float) / np.asarray(p50, float)) / Z90


def quantile_function(distribution: str, *, p50=np.nan, p90=np.nan, low=np.nan, mode=np.nan, high=np.nan,
                      values=(), u=None) -> np.ndarray:
    r"""Quantiles :math:`Q(u)` [month] of a stage distribution.

    Parameters
    ----------
    distribution : {'lognormal', 'triangular', 'empirical', 'fixed'}
        ``lognormal``: median ``p50`` and 90th percentile ``p90``,
        :math:`Q(u) = p_{50} \exp(\sigma \Phi^{-1}(u))`, :math:`\sigma = \ln(p_{90}/p_{50}) / z_{0.9}`;
        ``triangular``: ``low``, ``mode``, ``high``; ``empirical``: linear interpolation of the
        sample quantiles of ``values``; ``fixed``: ``p50`` everywhere.
    u : array, optional
        Probability levels; default the sampler's table levels (``N_LEVELS + 1`` points, the
        outermost clipped to 1/(4 N) and 1 - 1/(4 N)).
    """
    if u is None:
        n = _k.N_LEVELS
        u = np.clip(np.arange(n + 1) / n, 0.25 / n, 1 - 0.25 / n)
    u = np.asarray(u, float)
    if distribution == "lognormal":
        return p50 * np.exp(lognormal_sigma(p50, p90) * stats.norm.ppf(u))
    if distribution == "triangular":
        c = (mode - low) / (high - low) if high > low else 0.5
        return stats.triang.ppf(u, c, loc=low, scale=high - low) if high > low else np.full_like(u, low)
    if distribution == "empirical":
        return np.quantile(np.asarray(values, float), u)
    if distribution == "fixed":
        return np.full_like(u, p50)
    raise ValueError(f"unknown distribution {distribution!r}; expected one of {', '.join(DISTRIBUTIONS)}")


def evaluate_graph(node, durations: Mapping[str, np.ndarray], scales: Mapping[str, float | np.ndarray] | None = None):
    """Duration [month] of a path graph from stage durations (plain numpy; the reference).

    Parameters
    ----------
    node : Stage, Series or Parallel
    durations : mapping stage name -> array of durations [month] (all broadcastable)
    scales : mapping stage occurrence key (``name`` or ``name@tag``) -> scale [1], default 1
    """
    scales = scales or {}
    if isinstance(node, Stage):
        return np.asarray(durations[node.name]) * scales.get(node.key, 1.0)
    parts = [evaluate_graph(p, durations, scales) for p in node.parts]
    if isinstance(node, Series):
        return sum(parts[1:], parts[0])
    return np.maximum.reduce(np.broadcast_arrays(*parts))


def firm_equivalent_mw(solar_mw, storage_mw, storage_mwh, solar_cf=DEFAULT_SOLAR_CF, *,
                       round_trip=ROUND_TRIP_EFFICIENCY, night_hours=NIGHT_HOURS):
    r"""Constant power [MW] that on-site PV plus storage can serve around the clock on an average day.

    .. math:: P = \min\Bigl(S_{mw},\ \frac{S_{mwh}}{H_n},\ \frac{24\, cf\, PV}{(24 - H_n) + H_n / \eta}\Bigr)

    with PV nameplate :math:`PV` [MW DC], capacity factor :math:`cf` [1] (AC per DC), storage
    power :math:`S_{mw}` [MW] and energy :math:`S_{mwh}` [MWh], night hours :math:`H_n` [h] and
    round-trip efficiency :math:`\eta` [1]: the day's PV energy serves the load directly for
    :math:`24 - H_n` hours and through storage for :math:`H_n` hours.  An average-day figure:
    it is *not* firm through multi-day cloudy spells (a capacity-credit study would derate it).
    """
    solar = np.asarray(solar_mw, float)
    energy = 24.0 * np.asarray(solar_cf, float) * solar / ((24.0 - night_hours) + night_hours / round_trip)
    return np.maximum(np.minimum.reduce([np.asarray(storage_mw, float), np.asarray(storage_mwh, float) / night_hours,
                                         energy]), 0.0)


def flexible_allowance_mw(target_mw, firm_headroom_mw, ba, flexible_mw=None,
                          default_fraction: float = DEFAULT_FLEXIBLE_FRACTION):
    """Flexible MW [MW] each site gets on top of its firm headroom.

    Parameters
    ----------
    target_mw, firm_headroom_mw : array [MW]
    ba : array of str
    flexible_mw : None, float, mapping {ba: MW} or DataArray on ``ba`` [MW]
        Flexible headroom of each BA, shared among the BA's sites pro rata to their unmet MW
        (``target - firm headroom``), each capped at its unmet MW.  ``None``: each site gets
        ``default_fraction`` of its unmet MW.

    Raises
    ------
    ValidationError
        A site whose BA has no flexible headroom in ``flexible_mw`` (names the site's BA).
    """
    need = np.maximum(np.asarray(target_mw, float) - np.asarray(firm_headroom_mw, float), 0.0)
    ba = np.asarray(ba).astype(str)
    if flexible_mw is None:
        return default_fraction * need
    if isinstance(flexible_mw, xr.DataArray):
        flexible_mw = dict(zip(flexible_mw["ba"].values.astype(str), np.asarray(flexible_mw.values, float), strict=True))
    elif np.isscalar(flexible_mw):
        flexible_mw = dict.fromkeys(np.unique(ba), float(flexible_mw))
    out = np.zeros_like(need)
    missing = sorted(str(b) for b in set(ba) - set(flexible_mw))
    if missing:
        raise ValidationError([Problem(f"no flexible headroom for BA {b!r}; pass it in flexible_mw (a {{ba: MW}} "
                                       "mapping or flexible_headroom(...)['headroom'].sel(limit=...))",
                                       column="ba", site=b) for b in missing], what="flexible headroom")
    for b in np.unique(ba):
        m = ba == b
        total = need[m].sum()
        avail = max(float(flexible_mw[b]), 0.0)
        if total > 0:
            out[m] = np.minimum(need[m], avail * need[m] / total)
    return out


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
    if stages is not None:
        problems += check_stage_table(table, file="stages")
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


# ---------------------------------------------------------------------------
# running


def _keys(prep: Prepared, seed: int) -> np.ndarray:
    seed_key = _hash64(f"powerfirst-ttp-{int(seed)}")
    return _k.all_stream_keys(seed_key, prep.site_keys, prep.stage_keys)


def _common_z(seed: int, n_draws: int) -> np.ndarray:
    return _k.common_normals(_hash64(f"powerfirst-ttp-common-{int(seed)}"), n_draws)


def sample_stage_durations(prep: Prepared, draws: int = 1000, seed: int = 0, correlation: float = 0.0) -> np.ndarray:
    """The stage durations the Monte Carlo uses, ``(site, stage, draw)`` [month] (0 for absent stages).

    Unscaled by the rules (the path graphs apply the node scales); for tests and small studies.
    """
    corr_w = np.where(prep.supply_chain, np.sqrt(_check_correlation(correlation)), 0.0)
    out = np.empty((len(prep.sites), len(prep.stages), int(draws)), np.float64)
    _k.sample_stages(prep.table, prep.dist_id, _keys(prep, seed), corr_w, _common_z(seed, draws), int(draws), out)
    return out


def _check_correlation(rho: float) -> float:
    rho = float(rho)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"correlation must lie in [0, 1), found {rho}")
    return rho


def _run_chunk(prep: Prepared, keys, corr_w, common_z, lo, hi, n_draws, months, horizon, quantiles, max_months,
               bins_per_month, keep, tornado_draws, serial):
    """Kernel outputs for sites lo:hi (a dict of numpy arrays)."""
    n = hi - lo
    n_out = len(prep.paths)
    sl = slice(lo, hi)
    q = np.empty((n, n_out, len(quantiles)), np.float32)
    prob = np.empty((n, n_out, months + 1), np.float32)
    mwa = np.empty((n, n_out, months + 1), np.float32)
    mwm = np.empty((n, n_out), np.float64)
    never = np.empty((n, n_out), np.float64)
    draws = np.empty((n, n_out, n_draws) if keep else (1, 1, 1), np.float32)
    n_bins = int(max_months * bins_per_month)
    run = _k.run_sites_serial if serial else _k.run_sites
    args = (prep.table, prep.dist_id[sl], keys[sl], corr_w, common_z, prep.ops, prep.node_scale[sl], prep.n_regs,
            prep.comp_reg, prep.n_comp, prep.mw_grid[sl], prep.mw_site[sl], prep.target[sl])
    run(*args, int(n_draws), int(bins_per_month), n_bins, int(months), float(horizon),
        np.asarray(quantiles, float), q, prob, mwa, mwm, never, bool(keep), draws)
    out = {"q": q, "prob": prob, "mwa": mwa, "mwm": mwm, "never": never}
    if keep:
        out["draws"] = draws
    if tornado_draws:
        tor = np.empty((n, n_out, len(prep.stages), 3), np.float64)
        (_k.tornado_sites_serial if serial else _k.tornado_sites)(
            *args, int(tornado_draws), int(bins_per_month), n_bins, np.array([0.1, 0.9]), tor)
        out["tornado"] = tor
    return out


def time_to_power(sites, paths: Sequence[str] | str = PATHS, *, draws: int = 10_000, seed: int = 0,
                  start=None, months: int = 120, horizon: float = 60.0, quantiles: Sequence[float] = (0.1, 0.5, 0.9),
                  correlation: float = 0.0, criterion: str = "mw_months", tornado: bool = True,
                  tornado_draws: int | None = None, keep_draws: bool = False, chunks: int | None = None,
                  max_months: int = 240, stages: pd.DataFrame | None = None, rules: pd.DataFrame | None = None,
                  overrides=None, flexible_mw=None, bridge_technology: str = "recip_engines",
                  partial_grid: bool = True, default_flexible_fraction: float = DEFAULT_FLEXIBLE_FRACTION
                  ) -> xr.Dataset:
    """Energisation dates and MW ramps of every site and path, by Monte Carlo.

    Parameters
    ----------
    sites : xarray.Dataset or pandas.DataFrame
        Candidate sites (:func:`powerfirst.read_sites`).
    paths : list of str
        Base paths (:data:`PATHS`) and combinations such as ``"grid_flexible+grid_firm"``.
    draws : int
        Monte Carlo draws per site.
    seed : int
        Seed; a site's draws depend only on the seed, its label and the stage names.
    start : date-like, optional
        Month 0 (default: the first day of the current month); gives the ``date`` coordinate.
    months : int
        Months reported on the ``month`` axis (0..months) [month].
    horizon : float
        Horizon of the expected MW-months delivered [month].
    quantiles : sequence of float
        Quantiles of the first-power time.
    correlation : float
        Correlation in [0, 1) of the supply-chain stages (Gaussian copula, one common factor per
        draw shared by every site).
    criterion : {'mw_months', 'p50', 'prob_by_horizon'}
        How ``best_path`` ranks paths: most expected MW-months by the horizon (default: MW soon
        beats more MW late), earliest P50 first power, or highest P(energised by the horizon).
    tornado : bool
        Compute the tornado (``tornado_p10``, ``tornado_p90``) with ``tornado_draws`` draws
        (default ``min(draws, 2000)``; the same draws with and without the stage held fixed).
    keep_draws : bool
        Also return ``first_power_draws`` (site, path, draw) — for small runs.
    chunks : int, optional
        Sites per Dask chunk: the result is then lazy, one task per chunk (identical numbers).
    max_months : int
        Range of the first-power histogram [month]; later energisation counts as "not within".
    stages, rules, overrides, flexible_mw, bridge_technology, partial_grid, default_flexible_fraction
        See :func:`prepare`.

    Returns
    -------
    xarray.Dataset
        On ``site``, ``path``, ``quantile``, ``month`` (and ``stage``, ``draw``):
        ``first_power`` [month] (quantiles of months from ``start`` to first power; NaN when not
        reached within ``max_months`` at that quantile), ``prob_energised`` [1] P(first power
        by month), ``mw_available`` [MW] expected MW by month, ``mw`` [MW] the path's final MW,
        ``mw_months`` [MW-month] expected MW-months by ``horizon``, ``prob_not_energised`` [1],
        ``best_path`` (site), ``tornado_p10`` / ``tornado_p90`` [month] P50 shift with the stage
        at its P10 / P90, ``tornado_swing`` [month], ``tornado_top_stage`` (site, path),
        ``stage_duration`` [month] (site, stage, quantile) of each stage's own distribution.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; expected one of {', '.join(CRITERIA)}")
    if int(draws) < 1:
        raise ValueError(f"draws must be positive, found {draws}")
    if not 0 < months <= max_months:
        raise ValueError(f"months must lie in (0, max_months={max_months}], found {months}")
    quantiles = np.asarray(quantiles, float)
    if ((quantiles <= 0) | (quantiles >= 1)).any():
        raise ValueError(f"quantiles must lie in (0, 1), found {quantiles.tolist()}")
    rho = _check_correlation(correlation)
    prep = prepare(sites, paths, stages=stages, rules=rules, overrides=overrides, flexible_mw=flexible_mw,
                   bridge_technology=bridge_technology, partial_grid=partial_grid,
                   default_flexible_fraction=default_flexible_fraction)
    draws = int(draws)
    t_draws = (min(draws, 2000) if tornado_draws is None else int(tornado_draws)) if tornado else 0
    keys = _keys(prep, seed)
    corr_w = np.where(prep.supply_chain, np.sqrt(rho), 0.0)
    common_z = _common_z(seed, max(draws, t_draws))
    n, n_out = len(prep.sites), len(prep.paths)
    kw = dict(n_draws=draws, months=int(months), horizon=float(horizon), quantiles=quantiles,
              max_months=int(max_months), bins_per_month=16, keep=keep_draws, tornado_draws=t_draws)
    if chunks:
        import dask
        import dask.array as dska

        bounds = [(a, min(a + int(chunks), n)) for a in range(0, n, int(chunks))]
        parts = [dask.delayed(_run_chunk)(prep, keys, corr_w, common_z, a, b, serial=True, **kw) for a, b in bounds]
        shapes = {"q": (len(quantiles),), "prob": (months + 1,), "mwa": (months + 1,), "mwm": (), "never": ()}
        dtypes = {"q": np.float32, "prob": np.float32, "mwa": np.float32, "mwm": np.float64, "never": np.float64}
        if keep_draws:
            shapes["draws"], dtypes["draws"] = (draws,), np.float32
        if t_draws:
            shapes["tornado"], dtypes["tornado"] = (len(prep.stages), 3), np.float64
        res = {k: dska.concatenate([dska.from_delayed(dask.delayed(lambda o, k=k: o[k])(p), (b - a, n_out) + shp,
                                                      dtype=dtypes[k]) for p, (a, b) in zip(parts, bounds, strict=True)])
               for k, shp in shapes.items()}
    else:
        res = _run_chunk(prep, keys, corr_w, common_z, 0, n, serial=False, **kw)
    return _dataset(prep, res, quantiles=quantiles, months=int(months), start=start, horizon=float(horizon),
                    criterion=criterion, seed=seed, draws=draws, rho=rho, t_draws=t_draws)


def _dataset(prep: Prepared, res: dict, *, quantiles, months, start, horizon, criterion, seed, draws, rho,
             t_draws) -> xr.Dataset:
    from powerfirst._provenance import provenance, text_hash

    df = prep.sites
    start = pd.Timestamp(start) if start is not None else pd.Timestamp.today().normalize().replace(day=1)
    month = np.arange(months + 1)
    coords = {
        "site": ("site", df.index.to_numpy(str)),
        "path": ("path", np.array(prep.paths, dtype=str)),
        "quantile": ("quantile", quantiles),
        "month": ("month", month, {"units": "month", "long_name": "months from the start date"}),
        "date": ("month", np.array([start + pd.DateOffset(months=int(m)) for m in month], "datetime64[ns]")),
        "stage": ("stage", np.array(prep.stages, dtype=str)),
    }
    for c in ("name", "ba", "country", "tier", "upgrade_class", "lat", "lon"):
        if c in df.columns:
            coords[c] = ("site", df[c].to_numpy())
    sp = ("site", "path")
    ds = xr.Dataset(coords=coords)
    ds["first_power"] = (sp + ("quantile",), res["q"], {"units": "month", "long_name": "months to first power"})
    ds["prob_energised"] = (sp + ("month",), res["prob"], {"units": "1", "long_name": "probability of first power by month"})
    ds["mw_available"] = (sp + ("month",), res["mwa"], {"units": "MW", "long_name": "expected MW available by month"})
    ds["mw"] = (sp, prep.mw, {"units": "MW", "long_name": "MW the path delivers once complete"})
    ds["mw_months"] = (sp, res["mwm"], {"units": "MW-month",
                                         "long_name": f"expected MW-months delivered by month {horizon:g}"})
    ds["prob_not_energised"] = (sp, res["never"], {"units": "1",
                                                   "long_name": "probability of no power within the histogram range"})
    sd = np.full((len(df), len(prep.stages), len(quantiles)), np.nan)
    for j, (dist, p50, p90, low, mode, high, vals) in enumerate(prep.dist_params):
        qv = quantile_function(dist, p50=p50, p90=p90, low=low, mode=mode, high=high, values=vals, u=quantiles)
        sd[prep.dist_id == j] = qv
    ds["stage_duration"] = (("site", "stage", "quantile"), sd,
                            {"units": "month", "long_name": "quantiles of each stage's duration (before site rules)"})
    if "draws" in res:
        ds = ds.assign_coords(draw=np.arange(draws))
        ds["first_power_draws"] = (sp + ("draw",), res["draws"], {"units": "month", "long_name": "months to first power"})
    if "tornado" in res:
        tor = res["tornado"]
        base = tor[..., 2]
        lo, hi = tor[..., 0] - base, tor[..., 1] - base
        ds["tornado_p10"] = (sp + ("stage",), lo, {"units": "month",
                                                  "long_name": "shift of the P50 first power with the stage at its P10"})
        ds["tornado_p90"] = (sp + ("stage",), hi, {"units": "month",
                                                  "long_name": "shift of the P50 first power with the stage at its P90"})
        ds["tornado_swing"] = np.abs(ds["tornado_p90"] - ds["tornado_p10"]).assign_attrs(
            units="month", long_name="P50 swing between the stage at its P10 and its P90")
        if isinstance(tor, np.ndarray):  # lazy results: call tornado_top_stage(ds.compute())
            ds["tornado_top_stage"] = tornado_top_stage(ds)
    ds["best_path"] = best_path(ds, criterion, horizon=horizon) if not _lazy(ds) else \
        xr.DataArray(np.full(len(df), "", object), dims="site").assign_attrs(units="1", criterion=criterion,
                                                                              note="call best_path(ds.compute())")
    ds.attrs.update({"title": "time to power", "start": str(start.date()), "horizon_months": horizon,
                     "criterion": criterion, "correlation": rho, "tornado_draws": t_draws,
                     "stage_table_hash": text_hash(repr(prep.dist_params))})
    ds.attrs.update(provenance(seed=int(seed), draws=draws, method="Monte Carlo, counter-based RNG, stage graphs"))
    return ds


def _lazy(ds: xr.Dataset) -> bool:
    return any(v.chunks is not None for v in ds.data_vars.values())


def tornado_top_stage(ds: xr.Dataset) -> xr.DataArray:
    """The stage whose P10-P90 swing moves the P50 first power most, per site and path ('' if none)."""
    sw = ds["tornado_swing"].fillna(-1.0).values
    idx = sw.argmax(axis=-1)
    top = np.asarray(ds["stage"].values)[idx].astype(object)
    top[sw.max(axis=-1) <= 0] = ""
    return xr.DataArray(top, dims=("site", "path"), coords={"site": ds["site"].values, "path": ds["path"].values},
                        attrs={"units": "1", "long_name": "stage with the largest tornado swing"})


def best_path(ds: xr.Dataset, criterion: str = "p50", *, horizon: float | None = None) -> xr.DataArray:
    """Best path per site: earliest P50 first power (``'p50'``), most expected MW-months by the horizon
    (``'mw_months'``) or highest P(energised by the horizon) (``'prob_by_horizon'``).  '' when no path
    delivers MW."""
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; expected one of {', '.join(CRITERIA)}")
    avail = ds["mw"].values > 0
    if criterion == "p50":
        score = -np.nan_to_num(ds["first_power"].sel(quantile=0.5, method="nearest").values, nan=np.inf)
    elif criterion == "mw_months":
        score = ds["mw_months"].values.astype(float)
    else:
        h = float(horizon if horizon is not None else ds.attrs.get("horizon_months", 60))
        score = ds["prob_energised"].sel(month=min(int(h), int(ds["month"].max()))).values.astype(float)
    score = np.where(avail, score, -np.inf)
    idx = score.argmax(axis=1)
    out = np.asarray(ds["path"].values)[idx].astype(object)
    out[~avail.any(axis=1)] = ""
    return xr.DataArray(out, dims="site", coords={"site": ds["site"].values},
                        attrs={"units": "1", "long_name": "best energisation path",
                                                 "criterion": criterion})


def prob_energised_by(ds: xr.Dataset, months) -> xr.DataArray:
    """P(first power by each of ``months``) [1], interpolated on the monthly curve."""
    m = xr.DataArray(np.atleast_1d(np.asarray(months, float)), dims="by_month")
    out = ds["prob_energised"].interp(month=m)
    return out.assign_coords(by_month=m.values).assign_attrs(units="1", long_name="probability of first power by month")


# ---------------------------------------------------------------------------
# the plain reference: one site at a time in Python and numpy


def first_power_reference(prep: Prepared, draws: int = 10_000, seed: int = 0,
                          quantiles: Sequence[float] = (0.1, 0.5, 0.9), sites: slice | None = None) -> np.ndarray:
    """First-power quantiles [month] ``(site, path, quantile)`` by a plain per-site loop.

    Exact inverse-CDF draws with numpy's Generator (its own random numbers, so it agrees with
    :func:`time_to_power` within Monte Carlo error, not draw by draw), :func:`evaluate_graph`
    for each path and ``np.quantile``.  Uncorrelated stages only.  The benchmark's baseline.
    """
    idx = range(len(prep.sites))[sites or slice(None)]
    out = np.full((len(idx), len(prep.paths), len(quantiles)), np.nan)
    node_keys = [(p, st.key) for p, st in prep.nodes]
    for k, i in enumerate(idx):
        rng = np.random.default_rng([int(seed), int(prep.site_keys[i] % np.uint64(2**62))])
        dur = {}
        for s, name in enumerate(prep.stages):
            j = prep.dist_id[i, s]
            if j < 0:
                dur[name] = np.zeros(draws)
                continue
            dist, p50, p90, low, mode, high, vals = prep.dist_params[j]
            u = rng.random(draws)
            dur[name] = quantile_function(dist, p50=p50, p90=p90, low=low, mode=mode, high=high, values=vals, u=u)
        times = {}
        for p in PATHS:
            if any(p in c for c in prep.components):
                scales = {key: float(prep.node_scale[i, j]) for j, (pp, key) in enumerate(node_keys) if pp == p}
                times[p] = evaluate_graph(PATH_GRAPHS[p], dur, scales)
        for p, comps in enumerate(prep.components):
            live = [times[name] for c, name in enumerate(comps) if prep.mw_grid[i, p, c] + prep.mw_site[i, p, c] > 0]
            if live:
                out[k, p] = np.quantile(np.minimum.reduce(live), quantiles)
    return out


def fit_stage_durations(*args, **kwargs):
    """See :func:`powerfirst.models.queue_durations.fit_stage_durations`."""
    from powerfirst.models.queue_durations import fit_stage_durations as fit

    return fit(*args, **kwargs)
