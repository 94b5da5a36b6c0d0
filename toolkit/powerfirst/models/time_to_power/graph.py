"""Energisation paths as stage graphs, stage-duration distributions and path MW
(part of :mod:`powerfirst.models.time_to_power`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats

from powerfirst.errors import Problem, ValidationError
from powerfirst.models.time_to_power import _kernel as _k

__all__ = [
    "ALL_PATHS",
    "BASE_PATHS",
    "BRIDGE_TECHNOLOGIES",
    "FACILITY_TYPES",
    "NAMED_COMBINATIONS",
    "SIZE_CLASSES",
    "Withdrawable",
    "CRITERIA",
    "DEFAULT_FLEXIBLE_FRACTION",
    "DISTRIBUTIONS",
    "PATHS",
    "PATH_GRAPHS",
    "PATH_REQUIRES",
    "Parallel",
    "Series",
    "Stage",
    "evaluate_graph",
    "expand_path",
    "firm_equivalent_mw",
    "fit_lognormal",
    "flexible_allowance_mw",
    "graph_stages",
    "lognormal_sigma",
    "parallel",
    "quantile_function",
    "series",
]

#: the four paths of earlier versions (kept as the default of the reference loop and the tests)
PATHS = ("grid_firm", "grid_flexible", "onsite_bridge", "solar_storage")
#: every path with its own stage graph
BASE_PATHS = PATHS + ("existing_service", "colocation", "mobile_bridge", "onsite_generation")
#: named combinations: a name for an 'a+b' ramp
NAMED_COMBINATIONS = {"bridge_then_grid": "mobile_bridge+grid_firm"}
#: the paths :func:`time_to_power` runs by default
ALL_PATHS = ("grid_firm", "grid_flexible", "existing_service", "colocation", "bridge_then_grid", "onsite_bridge",
             "onsite_generation", "solar_storage")
#: size classes of the large-load rows [MW]: label -> [low, high)
SIZE_CLASSES = {"<100": (0.0, 100.0), "100-300": (100.0, 300.0), "300-1000": (300.0, 1000.0),
                ">1000": (1000.0, float("inf"))}
#: a path value [month] that means "never" (a withdrawn request): far beyond any histogram
NEVER = 1.0e9
BRIDGE_TECHNOLOGIES = ("recip_engines", "aeroderivative_turbines", "frame_turbines", "fuel_cells")
#: building types of the site branch (site input ``facility_type``): each selects its own
#: ``site_construction`` row of the stage table (column ``facility_type``), and
#: ``existing_building`` the fit-out of an existing building (``brownfield_fitout``) instead
#: (rules.csv).  ``hyperscale``: a purpose-built multi-storey data hall (the default);
#: ``modular``: prefabricated or containerised halls ("powered shell + modules");
#: ``light_industrial``: steel-frame warehouse-style halls (crypto-mining or immersion halls);
#: ``existing_building``: conversion of an existing industrial or commercial building.
FACILITY_TYPES = ("hyperscale", "modular", "light_industrial", "existing_building")
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


@dataclass(frozen=True)
class Withdrawable:
    """A grid request that may be withdrawn: ``part`` unless ``0 < withdrawal < clock`` (then never).

    ``clock`` and ``withdrawal`` are stage occurrences on the request clock (competing risks:
    the request is withdrawn when its latent time to withdrawal comes before its latent time
    to energisation).
    """

    part: object
    clock: Stage
    withdrawal: Stage

    @property
    def parts(self) -> tuple:
        return (self.part, self.clock, self.withdrawal)


def series(*parts) -> Series:
    return Series(tuple(parts))


def parallel(*parts) -> Parallel:
    return Parallel(tuple(parts))


def graph_stages(node) -> list[Stage]:
    """Every stage occurrence of a graph, in order."""
    if isinstance(node, Stage):
        return [node]
    return [s for p in node.parts for s in graph_stages(p)]


def expand_path(name: str) -> list[str]:
    """Components of a path name: a base path, a named combination or ``'a+b'``."""
    name = NAMED_COMBINATIONS.get(name, name)
    return [c.strip() for c in name.split("+")]


#: the site branch: construction of the site's building (``site_construction``, one row per
#: ``facility_type``), or the fit-out of an existing building (``brownfield_fitout``); the rules
#: pick one from ``facility_type`` (``existing_building`` is fitted out, every other type is built)
_SITE = series(Stage("land_acquisition"), Stage("site_permitting"),
               parallel(Stage("site_construction"), Stage("brownfield_fitout")))
_UPGRADES = parallel(Stage("large_transformer"), Stage("breakers_switchgear"), Stage("substation_build"),
                     Stage("transmission_line"))
_LLI = "large_load_interconnection"
_TECH = parallel(*(Stage(t) for t in BRIDGE_TECHNOLOGIES))


def _ready(power, *, withdrawable=None):
    """Ready for service: the power branch, then commissioning with permanent power, beside the site branch.

    ``max(power + E, site + E_site)``: both occurrences of ``energisation`` share one draw, so it is
    ``max(power, site) + E`` unless the site's building row already covers the commissioning
    (``covers: energisation@site``, the modular and light-industrial rows, whose figures run to the
    first powered rack or to energisation): then ``E_site`` is dropped and the building finishes
    commissioned.  ``withdrawable`` = (clock, withdrawal): the power branch is a grid request that may be
    withdrawn (never energised).
    """
    if withdrawable is not None:
        power = Withdrawable(power, *withdrawable)
    return parallel(series(power, Stage("energisation")), series(_SITE, Stage("energisation", "site")))


#: The graphs of the base paths.  ``large_load_interconnection`` is the utility's or ISO's
#: large-load process from request to energisation; each of its rows says which stages its
#: figure already covers (``covers``), and those are dropped for the sites that use the row, so
#: no stage is added on top of a figure that includes it.  Upgrades not covered follow the
#: figure (they are ordered once the studies it describes are done).  Every path ends ready for
#: service (:func:`_ready`): its power branch and commissioning, beside the site branch.
PATH_GRAPHS = {
    "grid_firm": _ready(parallel(Stage(_LLI), series(Stage(_LLI, "studies"), _UPGRADES)),
                        withdrawable=(Stage(_LLI, "clock"), Stage("withdrawal"))),
    "grid_flexible": _ready(series(Stage("flexible_interconnection"), Stage("breakers_switchgear")),
                            withdrawable=(Stage("flexible_interconnection", "clock"), Stage("withdrawal", "flexible"))),
    "onsite_bridge": _ready(parallel(_TECH, Stage("air_permit"))),
    "solar_storage": _ready(parallel(Stage("solar_epc"), Stage("battery_delivery"), Stage(_LLI, "partial_grid"))),
    "existing_service": _ready(Stage("service_transfer")),
    "colocation": _ready(parallel(Stage("colocation_agreement"),
                                  parallel(Stage("large_transformer", "colocation"),
                                           Stage("breakers_switchgear", "colocation"),
                                           Stage("substation_build", "colocation")))),
    "mobile_bridge": _ready(parallel(Stage("mobile_generation"), Stage("temporary_air_permit"))),
    "onsite_generation": _ready(parallel(parallel(*(Stage(t, "permanent") for t in BRIDGE_TECHNOLOGIES)),
                                         Stage("air_permit"),
                                         parallel(Stage("breakers_switchgear", "own_substation"),
                                                  Stage("substation_build", "own_substation")))),
}

_RULE_ATTRS = ("land_status", "permitting_status", "facility_type")
#: Site attributes each path reads (each has a documented default: ``SITE_INPUTS`` in inputs.py).
PATH_REQUIRES = {
    "grid_firm": ("target_mw", "upgrade_class", "ba", "utility", "request_date") + _RULE_ATTRS,
    "grid_flexible": ("target_mw", "firm_headroom_mw", "upgrade_class", "ba", "utility", "request_date")
    + _RULE_ATTRS,
    "onsite_bridge": ("target_mw", "gas_option_mw") + _RULE_ATTRS,
    "solar_storage": ("target_mw", "solar_option_mw", "storage_option_mw", "storage_option_mwh",
                      "firm_headroom_mw") + _RULE_ATTRS,
    "existing_service": ("target_mw", "existing_service_mw") + _RULE_ATTRS,
    "colocation": ("target_mw", "colocated_plant_mw", "colocated_plant_owner") + _RULE_ATTRS,
    "mobile_bridge": ("target_mw", "bridge_mw") + _RULE_ATTRS,
    "onsite_generation": ("target_mw", "gas_option_mw") + _RULE_ATTRS,
}
_TEXT_ATTRS = ("upgrade_class", "ba", "utility", "land_status", "permitting_status", "bridge_technology", "country",
               "start_date", "request_date", "colocated_plant", "facility_type", "colocated_plant_owner")


# ---------------------------------------------------------------------------
# pure array functions


def lognormal_sigma(p50, p90):
    """Log-space standard deviation of a lognormal with median ``p50`` and 90th percentile ``p90`` [same unit]."""
    return np.log(np.asarray(p90, float) / np.asarray(p50, float)) / Z90


def fit_lognormal(months) -> dict:
    r"""Lognormal fitted in log space to observed durations [month]: the row of a fitted stage.

    :math:`\mu` and :math:`s` are the mean and the sample standard deviation (``ddof=1``) of
    :math:`\ln t`; ``p50`` :math:`= e^{\mu}` and ``p90`` :math:`= e^{\mu + z_{0.9} s}` [month].  At
    least two positive durations are needed.
    """
    t = np.asarray(months, float)
    if t.size < 2 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"fit_lognormal needs at least two positive durations [month], found {t.tolist()}")
    lt = np.log(t)
    mu, s = float(lt.mean()), float(lt.std(ddof=1))
    return {"n": int(t.size), "geometric_mean": float(np.exp(mu)), "log_sd": s, "p50": float(np.exp(mu)),
            "p90": float(np.exp(mu + Z90 * s))}


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


def evaluate_graph(node, durations: Mapping[str, np.ndarray], scales: Mapping[str, float | np.ndarray] | None = None,
                   shifts: Mapping[str, float] | None = None):
    """Duration [month] of a path graph from stage durations (plain numpy; the reference).

    Parameters
    ----------
    node : Stage, Series, Parallel or Withdrawable
    durations : mapping stage name -> array of durations [month] (all broadcastable)
    scales : mapping stage occurrence key (``name`` or ``name@tag``) -> scale [1], default 1
    shifts : mapping stage occurrence key -> months already elapsed at month 0 [month]: the
        occurrence lasts ``max(scale * duration - shift, 0)`` (a request filed before the start
        date; a negative shift delays it)
    """
    scales = scales or {}
    shifts = shifts or {}
    if isinstance(node, Stage):
        sc = scales.get(node.key, 1.0)
        v = np.asarray(durations[node.name]) * sc
        sh = shifts.get(node.key, 0.0)
        return np.where(np.asarray(sc) > 0, np.maximum(v - sh, 0.0), 0.0) if sh else v
    if isinstance(node, Withdrawable):
        body = evaluate_graph(node.part, durations, scales, shifts)
        clock = evaluate_graph(node.clock, durations, scales, shifts)
        w = evaluate_graph(node.withdrawal, durations, scales, shifts)
        return np.where((w > 0) & (w < clock), NEVER, body)
    parts = [evaluate_graph(p, durations, scales, shifts) for p in node.parts]
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


