"""A scenario: which sites, which data and which model settings — as data.

A :class:`Scenario` is a ``param.Parameterized`` object (so apps bind widgets to it) with one
nested section per model, and it round-trips through YAML::

    name: pjm-flexible
    seed: 7
    sites:
      source: demo                   # or a site file (.csv, .geojson, .parquet)
    grid:
      source: ../shared/data/eia930  # cleaned releases or EIA-930 files (enables headroom)
      years: [2016, 2024]
    headroom:
      limits: [0.25, 0.5, 1.0, 5.0]
      flexible_limit: 0.5
    time_to_power:
      draws: 2000
    dispatch:
      scenarios: {base: {}, big_battery: {storage_scale: 2}}

Every setting has a documented unit and bounds (``Scenario.param`` and the scenario reference of
the docs list them).  :meth:`Scenario.from_yaml` reports every problem of a file at once, each
with its key path (``dispatch.curtailment_limit: expected a number > 0 and < 100, found 'two'``),
and runs nothing.  :meth:`Scenario.run` (see :mod:`powerfirst.scenarios.run`) runs the sections
and returns an :class:`xarray.DataTree` with one group per model.

The scenario hash covers the canonical YAML of the settings *and* the content of every file the
scenario names (sites, weather, grid), so a changed input file changes the hash.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import param
import yaml

from powerfirst._provenance import file_hash
from powerfirst.errors import Problem, ValidationError

__all__ = [
    "Scenario",
    "Section",
    "SitesSection",
    "WeatherSection",
    "GridSection",
    "HeadroomSection",
    "TimeToPowerSection",
    "DispatchSection",
    "DemandSection",
    "SitingSection",
    "NetworkSection",
    "SECTIONS",
    "check_name",
]

#: the time-to-power paths run by default (:data:`powerfirst.models.time_to_power.ALL_PATHS`)
DEFAULT_TTP_PATHS = ["grid_firm", "grid_flexible", "existing_service", "colocation", "bridge_then_grid",
                     "onsite_bridge", "onsite_generation", "solar_storage"]
#: the demand driver scenarios (see :data:`powerfirst.models.forecast.DRIVER_SCENARIOS`)
DEFAULT_DEMAND_SCENARIOS = ["Base", "Lift-Off", "High Efficiency", "Headwinds"]
BRIDGE_TECHNOLOGIES = ["recip_engines", "aeroderivative_turbines", "frame_turbines", "fuel_cells"]
#: the network plan's sovereignty rules and objectives (:data:`powerfirst.models.network.SOVEREIGNTY_RULES`,
#: :data:`powerfirst.models.network.OBJECTIVES`; a test keeps them equal)
NETWORK_SOVEREIGNTY_RULES = ["none", "eu_residency", "national"]
NETWORK_OBJECTIVES = ["cost", "carbon", "useful_work"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(name: str, *, what: str = "name") -> list[Problem]:
    """Problems of a scenario or result name: it must be a plain name, never a path.

    A name may hold letters, digits, ``.``, ``_`` and ``-`` (1–100 characters, not starting with
    ``.`` or ``-``); no path separators, no ``..``, no absolute paths — so every output named after
    it stays inside the folder the user chose.
    """
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        return [Problem(f"expected a plain name (letters, digits, '.', '_', '-'; no '/', '\\\\' or '..'), "
                        f"found {name!r}", column=what)]
    return []


class Section(param.Parameterized):
    """Base class of a scenario section: its settings as parameters, nothing else."""

    def to_dict(self) -> dict:
        out = {}
        for k in self.param:
            if k == "name":
                continue
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def settings(cls) -> list[str]:
        return [k for k in cls.param if k != "name"]


class SitesSection(Section):
    """The candidate sites."""

    source = param.String(default="demo", doc="'demo' (the embedded illustrative sites) or a site file "
                                              "(.csv, .geojson, .parquet) validated row by row")
    select = param.List(default=[], item_type=str, doc="site ids to keep (default: every site of the file)")


class WeatherSection(Section):
    """Typical-year weather and the energy cube built on it."""

    files = param.List(default=[], item_type=str,
                       doc="typical-year weather files (EPW, TMY2, TMY3, NetCDF); default: the offline stations")
    year = param.Integer(default=2023, bounds=(1900, 2100), doc="calendar year the typical year is laid on [year]")
    max_station_km = param.Number(default=2000.0, bounds=(0, 20_000), inclusive_bounds=(False, True),
                                  doc="farthest weather station a site may use [km]")
    warn_station_km = param.Number(default=300.0, bounds=(0, 20_000),
                                   doc="warn for every site whose station is farther than this [km] (300 km: "
                                       "beyond it the median temperature difference between stations exceeds 2 K)")
    analogue = param.Boolean(default=False,
                             doc="a site beyond max_station_km uses a latitude analogue instead of an error")
    other_hemisphere = param.Selector(default="error", objects=["error", "shift"],
                                      doc="a station across the equator: refuse, or shift its year by six months")
    chunk_sites = param.Integer(default=32, bounds=(1, 100_000), doc="sites per Dask chunk of the energy cube")


class GridSection(Section):
    """Hourly balancing-authority load (the grid cube, :func:`powerfirst.cubes.grid.open_grid`)."""

    source = param.String(default=None, allow_None=True,
                          doc="folder with the cleaned EIA-930 releases, or an EIA-930 file or folder of files; "
                              "none: no grid data (headroom is skipped, dispatch uses stylised curtailment)")
    bas = param.List(default=[], item_type=str,
                     doc="balancing authorities to read (default: those of the sites present in the data)")
    years = param.Range(default=(2016, 2024), bounds=(2015, 2100), doc="first and last year of hourly load [year]")
    screen = param.Boolean(default=True, doc="screen and fill raw demand (anomaly flags)")


class HeadroomSection(Section):
    """Flexible-load headroom of the sites' balancing authorities (Norris et al. 2025 method)."""

    enabled = param.Boolean(default=True, doc="run the headroom model (needs grid.source)")
    limits = param.List(default=[0.25, 0.5, 1.0, 5.0], item_type=float,
                        doc="curtailment limits: mean annual curtailed share of the new load's energy [%]")
    flexible_limit = param.Number(default=0.5, bounds=(0, 100), inclusive_bounds=(False, False),
                                  doc="limit whose BA headroom sizes the grid_flexible path and the dispatch "
                                      "curtailment events [%]")
    rule = param.Selector(default="seasonal", objects=["seasonal", "norris2025"],
                          doc="threshold rule: 'seasonal' = highest summer (Jun-Aug) and winter (Dec-Feb) peak of the "
                              "period, applied Apr-Oct and Nov-Mar, same months for every BA; 'norris2025' = the "
                              "study's rule, with its per-BA exceptions (footnote 20: AZPS, FPL, CISO)")


class TimeToPowerSection(Section):
    """Time to power per site and energisation path (Monte Carlo)."""

    enabled = param.Boolean(default=True, doc="run the time-to-power model")
    paths = param.List(default=list(DEFAULT_TTP_PATHS), item_type=str,
                       doc="energisation paths and combinations 'a+b' (see powerfirst.models.time_to_power.PATHS)")
    draws = param.Integer(default=2000, bounds=(100, 1_000_000), doc="Monte Carlo draws per site")
    correlation = param.Number(default=0.0, bounds=(0, 1), inclusive_bounds=(True, False),
                               doc="correlation of the equipment lead times (supply-chain shock) [1]")
    bridge_technology = param.Selector(default="recip_engines", objects=BRIDGE_TECHNOLOGIES,
                                       doc="on-site bridge generation technology")
    months = param.Integer(default=120, bounds=(12, 240), doc="months of the MW-by-month ramp [month]")
    horizon = param.Number(default=60.0, bounds=(1, 240), doc="horizon of the MW-months criterion [month]")
    start = param.String(default=None, allow_None=True,
                         doc="project start, month 0 (YYYY-MM-DD) of sites without their own start_date; default: "
                             "the first day of the current month")
    by_date = param.String(default=None, allow_None=True,
                           doc="date (YYYY-MM-DD) by which MW-months are counted and valued; default: the horizon")
    value_per_mw_month = param.Number(default=None, allow_None=True, bounds=(0, None),
                                      doc="value of one MW available for one month [USD MW-1 month-1]")
    discount_rate = param.Number(default=0.0, bounds=(0, 1), inclusive_bounds=(True, False),
                                 doc="annual discount rate of the MW-months' value [1 year-1]")
    withdrawal = param.Boolean(default=True,
                               doc="grid requests can be withdrawn before they energise (competing risk)")


class DispatchSection(Section):
    """Hourly dispatch of every site: storage, on-site generation and a flexible connection."""

    enabled = param.Boolean(default=True, doc="run the dispatch model")
    scenarios = param.Dict(default={"base": {}},
                           doc="dispatch scenarios: name -> parameter overrides (keys of "
                               "schema/dispatch_parameters.csv, e.g. storage_scale, priority, carbon_price)")
    hourly = param.Boolean(default=False, doc="keep the hourly flows (site x scenario x 8,760 h)")
    window_hours = param.Integer(default=24, bounds=(1, 168), doc="look-ahead window of the rule [h]")


class DemandSection(Section):
    """Data-centre electricity demand by region, year and scenario (driver model)."""

    enabled = param.Boolean(default=True, doc="run the demand model")
    scenarios = param.List(default=list(DEFAULT_DEMAND_SCENARIOS), item_type=str,
                           doc="driver scenarios (Base, Lift-Off, High Efficiency, Headwinds)")
    regions = param.List(default=[], item_type=str, doc="regions (default: all of the model)")
    years = param.Range(default=(2014, 2035), bounds=(2000, 2100), doc="first and last year [year]")


class SitingSection(Section):
    """The siting screen: candidates, scorecard and Monte Carlo (:func:`powerfirst.models.siting.screen`)."""

    enabled = param.Boolean(default=False, doc="run the siting screen (needs the public datasets for the grid, "
                                               "plant, population, water and hazard layers)")
    candidates = param.Selector(default="sites", objects=["sites", "region", "plants", "datacentres"],
                                doc="what to screen: the scenario's sites, an H3 grid of `region`, US power plants "
                                    ">= min_plant_mw, or existing US data-centre clusters")
    region = param.String(default="US-48", doc="region of the grid: US-48, US-<state>, an ISO country code or EU27")
    resolution = param.Integer(default=5, bounds=(0, 9), doc="H3 resolution of the grid (5: ~253 km2 cells)")
    max_candidates = param.Integer(default=250_000, bounds=(1, 10_000_000),
                                   doc="refuse a grid expected to exceed this many cells")
    min_plant_mw = param.Number(default=100.0, bounds=(0, None), doc="smallest plant of the plant candidates [MW]")
    tier = param.Selector(default="training", objects=["training", "regional", "edge"],
                          doc="tier whose weights, size, voltage and latency cap apply")
    weights = param.String(default=None, allow_None=True,
                           doc="scorecard YAML merged over data/siting/scorecard.yaml (weights, normalisation, "
                               "exclusions)")
    target_mw = param.Number(default=None, allow_None=True, bounds=(0, 10_000), inclusive_bounds=(False, True),
                             doc="size of every candidate without its own target_mw [MW]; default the tier's")
    draws = param.Integer(default=200, bounds=(1, 5000), doc="Monte Carlo draws of the uncertain layers and weights")
    top_k = param.Integer(default=50, bounds=(1, None), doc="k of P(top-k)")
    weight_range = param.Number(default=0.25, bounds=(0, 1), inclusive_bounds=(True, False),
                                doc="each weight x U(1 - r, 1 + r) in the Monte Carlo [1]")
    start = param.String(default="2027-01-01", doc="project start of every candidate without a start_date")
    chunk = param.Integer(default=4096, bounds=(1, 1_000_000), doc="candidates per Dask task")


def _tier_mapping_problems(name: str, value, lo: float, hi: float, lo_open: bool, file: str, where: str) -> list[Problem]:
    """Problems of a per-tier mapping (``{training: x, regional: y, edge: z}``) with values in its bounds."""
    from powerfirst.models.network import TIERS

    if value is None:
        return []
    probs = []
    for k, v in value.items():
        if k not in TIERS:
            probs.append(Problem(f"unknown tier {k!r}; expected some of {', '.join(TIERS)}", file=file,
                                 column=f"{where}.{k}"))
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                (v > lo if lo_open else v >= lo) and v <= hi):
            upper = f" and <= {hi:g}" if hi < float("inf") else ""
            probs.append(Problem(f"expected a number {'>' if lo_open else '>='} {lo:g}{upper}, found {v!r}",
                                 file=file, column=f"{where}.{k}"))
    return probs


class NetworkSection(Section):
    """The network plan: which candidate sites to build, for which tier, in which year
    (:func:`powerfirst.models.network.plan_network`).

    Candidates are the siting screen's: the ``siting`` group's result (or the screen the siting
    section describes), or, with ``candidate_regions``, one screen of the H3 grids of those regions
    with the siting section's settings, keeping the ``top_n`` best of each region.  Demand is the
    demand cube's regional electricity of ``demand_scenario`` spread over population.  ``enabled``
    decides whether ``powerfirst run`` plans the network; ``powerfirst plan`` always does.
    """

    enabled = param.Boolean(default=False, doc="plan the network in `powerfirst run` (needs the public datasets "
                                               "of the siting screen and the population points)")
    regions = param.List(default=["US", "Europe"], item_type=str,
                         doc="regions of the demand cube whose demand the network serves (US, China, Europe, "
                             "Asia Pacific excl. China, Rest of world)")
    countries = param.List(default=[], item_type=str,
                           doc="keep only the demand points of these countries (ISO 3166-1 alpha-2); each region's "
                               "demand is scaled by their population share (default: every country of the regions)")
    years = param.List(default=[2026, 2028, 2030], item_type=int,
                       doc="years of the plan [year]; each must be a projection year of the demand cube")
    demand_scenario = param.Selector(default="Base", objects=list(DEFAULT_DEMAND_SCENARIOS),
                                     doc="driver scenario of the demand cube (its demand path)")
    resolution = param.Integer(default=3, bounds=(0, 7),
                               doc="H3 resolution of the demand points (3: cells of ~12,400 km2; 2: ~86,700 km2)")
    market_share = param.Number(default=1.0, bounds=(0, 1), inclusive_bounds=(False, True),
                                doc="share of each region's AI data-centre demand the planned network serves [1]")
    split = param.Dict(default=None, allow_None=True,
                       doc="shares of the accelerated energy by tier, {training, regional, edge} summing to 1 [1]; "
                           "default the demand cube's workload split")
    peak_to_average = param.Dict(default=None, allow_None=True,
                                 doc="peak-to-average factor per tier, each in [1, 3] [1]; default the demand cube's")
    conventional_tier = param.Selector(default=None, objects=[None, "training", "regional", "edge"],
                                       doc="tier that also serves the conventional (non-AI) data-centre load "
                                           "(default: left out)")
    candidate_regions = param.List(default=[], item_type=str,
                                   doc="siting regions (US-48, US-<state>, an ISO country code, EU27) whose H3 grids "
                                       "at siting.resolution are screened as the candidates, top_n of each; "
                                       "default: the siting section's candidates")
    top_n = param.Integer(default=50, bounds=(1, 100_000),
                          doc="best-ranked candidates kept (of each of candidate_regions, else of the screen)")
    confidence = param.Number(default=0.8, bounds=(0, 1), inclusive_bounds=(False, False),
                              doc="confidence of the MW a site counts on: MW energised by the end of the year with "
                                  "probability >= this [1]")
    start = param.String(default=None, allow_None=True,
                         doc="project start of every candidate (YYYY-MM-DD) for its time to power; default "
                             "siting.start")
    ttp_draws = param.Integer(default=2000, bounds=(100, 1_000_000),
                              doc="Monte Carlo draws of the time to power of the kept candidates")
    carbon_price = param.Number(default=None, allow_None=True, bounds=(0, 2000),
                                doc="carbon price [USD tCO2-1]; default the cost table's (data/network/costs.csv)")
    caps = param.Dict(default=None, allow_None=True,
                      doc="round-trip time cap per tier [ms], e.g. {edge: 10, regional: 30}; default "
                          "powerfirst.geo.TIER_RTT_CAP_MS (training uncapped)")
    sovereignty = param.Selector(default="none", objects=list(NETWORK_SOVEREIGNTY_RULES),
                                 doc="sovereignty rule: none; eu_residency (EU demand only from EU sites); national "
                                     "(every point only from its own country)")
    sovereignty_infeasible = param.Selector(default="error", objects=["error", "unserved"],
                                            doc="demand the candidates could serve without the sovereignty rule "
                                                "and cannot under it: an error naming it, or planned as unserved "
                                                "(reported in unserved_reason)")
    max_sites_per_point = param.Integer(default=None, allow_None=True, bounds=(2, None),
                                        doc="keep only this many allowed sites per demand point (a heuristic that "
                                            "shrinks the MILP; default all, exact)")
    objective = param.Selector(default="cost", objects=list(NETWORK_OBJECTIVES),
                               doc="minimise annualised cost, emissions, or maximise useful work")
    carbon_cap = param.Number(default=None, allow_None=True, bounds=(0, None),
                              doc="emissions cap of every plan year [tCO2]")
    min_work_per_kwh = param.Number(default=None, allow_None=True, bounds=(0, 10),
                                    doc="floor of useful work per kWh served [h kWh-1]")
    method = param.Selector(default="milp", objects=["milp", "greedy"],
                            doc="the MILP (linopy + HiGHS, greedy start) or the greedy baseline alone")
    mip_gap = param.Number(default=0.01, bounds=(0, 1), inclusive_bounds=(True, False),
                           doc="relative MIP gap at which the solver stops [1]")
    time_limit = param.Number(default=600.0, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                              doc="wall time of the solve [s]; null: no limit")
    threads = param.Integer(default=1, bounds=(1, 256), doc="solver threads")

    @classmethod
    def value_problems(cls, values: dict, file: str, key: str) -> list[Problem]:
        """Problems of the mapping-valued settings (split, peak_to_average, caps), with their key paths."""
        probs = _tier_mapping_problems("split", values.get("split"), 0.0, 1.0, False, file, f"{key}.split")
        if values.get("split") is not None and not probs:
            from powerfirst.models.network import TIERS

            s = values["split"]
            if set(s) != set(TIERS) or abs(sum(float(v) for v in s.values()) - 1.0) > 1e-6:
                probs.append(Problem(f"expected shares of all three tiers ({', '.join(TIERS)}) summing to 1, "
                                     f"found {s}", file=file, column=f"{key}.split"))
        probs += _tier_mapping_problems("peak_to_average", values.get("peak_to_average"), 1.0, 3.0, False, file,
                                        f"{key}.peak_to_average")
        probs += _tier_mapping_problems("caps", values.get("caps"), 0.0, float("inf"), True, file, f"{key}.caps")
        years = values.get("years")
        if years is not None:
            if not years:
                probs.append(Problem("expected at least one year", file=file, column=f"{key}.years"))
            elif len(set(years)) != len(years) or list(years) != sorted(years):
                probs.append(Problem(f"expected distinct years in increasing order, found {list(years)}", file=file,
                                     column=f"{key}.years"))
        start = values.get("start")
        if start is not None:
            try:
                import pandas as pd

                pd.Timestamp(start)
            except (ValueError, TypeError):
                probs.append(Problem(f"expected a date YYYY-MM-DD, found {start!r}", file=file, column=f"{key}.start"))
        return probs


#: section name -> class, in run order
SECTIONS: dict[str, type[Section]] = {
    "sites": SitesSection,
    "weather": WeatherSection,
    "grid": GridSection,
    "headroom": HeadroomSection,
    "time_to_power": TimeToPowerSection,
    "dispatch": DispatchSection,
    "demand": DemandSection,
    "siting": SitingSection,
    "network": NetworkSection,
}
_TOP = ("name", "description", "seed")


def _section_param(cls: type[Section]):
    return param.ClassSelector(class_=cls, default=cls(), instantiate=True, doc=(cls.__doc__ or "").strip())


class Scenario(param.Parameterized):
    """Inputs and settings of one powerfirst run: a few top-level settings and one section per model."""

    name = param.String(default="scenario", doc="scenario name (labels and names the results; a plain name)")
    description = param.String(default="", doc="free text")
    seed = param.Integer(default=0, bounds=(0, 2**63 - 1), doc="random seed of every stochastic model")

    sites = _section_param(SitesSection)
    weather = _section_param(WeatherSection)
    grid = _section_param(GridSection)
    headroom = _section_param(HeadroomSection)
    time_to_power = _section_param(TimeToPowerSection)
    dispatch = _section_param(DispatchSection)
    demand = _section_param(DemandSection)
    siting = _section_param(SitingSection)
    network = _section_param(NetworkSection)

    # ------------------------------------------------------------------ dict / YAML
    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in _TOP}
        for key in SECTIONS:
            out[key] = getattr(self, key).to_dict()
        return out

    def to_yaml(self, path=None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=True)
        if path is not None:
            Path(path).write_text(text)
        return text

    def copy(self, **changes) -> Scenario:
        """A deep copy, with ``changes`` given as ``{'section.key': value}`` or top-level keys."""
        data = self.to_dict()
        for k, v in changes.items():
            sec, _, key = k.partition(".")
            if key:
                data[sec][key] = v
            else:
                data[sec] = v
        return type(self).from_dict(data)

    @classmethod
    def from_dict(cls, data: dict, *, file: str = "<scenario>") -> Scenario:
        """Build a scenario from a mapping; every problem is reported at once with its key path."""
        if not isinstance(data, dict):
            raise ValidationError([Problem(f"expected a mapping of settings, found {type(data).__name__}",
                                           file=file)], what=f"scenario {file}")
        problems: list[Problem] = []
        known = list(_TOP) + list(SECTIONS)
        top: dict = {}
        sections: dict[str, Section] = {}
        for k, v in data.items():
            if k not in known:
                problems.append(Problem(f"unknown section or setting; expected one of {', '.join(known)}",
                                        file=file, column=str(k)))
            elif k in SECTIONS:
                sec, probs = _section_from(SECTIONS[k], k, v, file)
                problems += probs
                if sec is not None:
                    sections[k] = sec
            else:
                msg = _param_problem(cls.param[k], v)
                if msg:
                    problems.append(Problem(msg, file=file, column=k))
                else:
                    top[k] = v
        if "name" in top:
            problems += [Problem(p.message, file=file, column="name") for p in check_name(top["name"])]
        if problems:
            raise ValidationError(problems, what=f"scenario {file}")
        return cls(**top, **sections)

    @classmethod
    def from_yaml(cls, path) -> Scenario:
        """Read a scenario file; relative paths in it are relative to the file.

        Raises
        ------
        FileNotFoundError
            The scenario file does not exist.
        ValidationError
            Every problem: not YAML, YAML tags (``!!python/object`` ...), unknown sections or keys,
            wrong types, values out of bounds, files that do not exist — each with its key path.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"scenario file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.constructor.ConstructorError as exc:
            raise ValidationError([Problem(f"YAML tags are not allowed in a scenario (plain values only): "
                                           f"{exc.problem} {exc.problem_mark}".strip(), file=str(path))],
                                  what=f"scenario {path}") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValidationError([Problem(f"not valid YAML ({exc})", file=str(path))],
                                  what=f"scenario {path}") from None
        sc = cls.from_dict(data, file=str(path))
        sc.resolve_paths(path.parent)
        problems = sc.check_files(file=str(path))
        if problems:
            raise ValidationError(problems, what=f"scenario {path}")
        return sc

    # ------------------------------------------------------------------ files
    def resolve_paths(self, base) -> None:
        """Make the relative file paths of the scenario absolute, relative to ``base``."""
        base = Path(base)

        def res(p):
            return p if not p or Path(p).is_absolute() else str((base / p).resolve())

        if self.sites.source != "demo":
            self.sites.source = res(self.sites.source)
        if self.grid.source:
            self.grid.source = res(self.grid.source)
        self.weather.files = [res(f) for f in self.weather.files]
        if self.siting.weights:
            self.siting.weights = res(self.siting.weights)

    def input_files(self) -> dict[str, list[str]]:
        """Every file the scenario names, by key path."""
        out = {}
        if self.sites.source != "demo":
            out["sites.source"] = [self.sites.source]
        if self.weather.files:
            out["weather.files"] = list(self.weather.files)
        if self.grid.source:
            out["grid.source"] = [self.grid.source]
        if self.siting.weights:
            out["siting.weights"] = [self.siting.weights]
        return out

    def check_files(self, *, file: str = "<scenario>") -> list[Problem]:
        """Problems of the named files: each must exist (no file is read)."""
        return [Problem(f"file or folder not found: {p}", file=file, column=key)
                for key, paths in self.input_files().items() for p in paths if not Path(p).exists()]

    def input_hashes(self) -> dict[str, str]:
        """Content hash of every input file (folders: of every file under them), by key path."""
        return {key: ",".join(_content_hash(p) for p in paths) for key, paths in self.input_files().items()}

    @property
    def hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical YAML and of the input files' contents."""
        h = hashlib.sha256(self.to_yaml().encode())
        for key, digest in sorted(self.input_hashes().items()):
            h.update(f"\n{key}={digest}".encode())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ running
    def run(self, client=None, progress: bool = True, *, only=None):
        """Run every enabled section; see :func:`powerfirst.scenarios.run.run`."""
        from powerfirst.scenarios.run import run

        return run(self, client=client, progress=progress, only=only)


def _section_from(cls: type[Section], key: str, value, file: str) -> tuple[Section | None, list[Problem]]:
    if value is None:
        return cls(), []
    if not isinstance(value, dict):
        return None, [Problem(f"expected a mapping of settings, found {type(value).__name__} {value!r}",
                              file=file, column=key)]
    problems, values = [], {}
    for k, v in value.items():
        where = f"{key}.{k}"
        if k not in cls.settings():
            problems.append(Problem(f"unknown setting; expected one of {', '.join(cls.settings())}", file=file,
                                    column=where))
            continue
        p = cls.param[k]
        if isinstance(p, param.Range) and isinstance(v, list):
            v = tuple(v)
        if isinstance(p, param.List) and p.item_type is float and isinstance(v, list):
            v = [float(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in v]
        msg = _param_problem(p, v)
        if msg:
            problems.append(Problem(msg, file=file, column=where))
        else:
            values[k] = v
    if key == "dispatch" and "scenarios" in values:
        problems += _dispatch_scenario_problems(values["scenarios"], file)
    if hasattr(cls, "value_problems"):  # sections with mapping-valued settings check them here
        problems += cls.value_problems(values, file, key)
    if problems:
        return None, problems
    return cls(**values), []


def _describe(p: param.Parameter) -> str:
    lo, hi = getattr(p, "bounds", None) or (None, None)
    inc = getattr(p, "inclusive_bounds", (True, True))
    if isinstance(p, param.Boolean):
        return "true or false"
    if isinstance(p, param.Selector):
        return "one of " + ", ".join(map(str, p.objects))
    if isinstance(p, param.Range):
        return f"two years [first, last]{_bounds_text(lo, hi, inc)}"
    if isinstance(p, param.Integer):
        return "an integer" + _bounds_text(lo, hi, inc)
    if isinstance(p, param.Number):
        return "a number" + _bounds_text(lo, hi, inc)
    if isinstance(p, param.List):
        item = {float: "numbers", str: "strings", int: "integers"}.get(p.item_type, "values")
        return f"a list of {item}"
    if isinstance(p, param.Dict):
        return "a mapping"
    if isinstance(p, param.String):
        return "a string" + (" or null" if p.allow_None else "")
    return type(p).__name__


def _bounds_text(lo, hi, inc) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>=' if inc[0] else '>'} {lo:g}")
    if hi is not None:
        parts.append(f"{'<=' if inc[1] else '<'} {hi:g}")
    return (" " + " and ".join(parts)) if parts else ""


def _param_problem(p: param.Parameter, v) -> str | None:
    """None when ``v`` is a valid value of ``p``, else 'expected ..., found ...'."""
    bad = isinstance(v, bool) and isinstance(p, param.Number) and not isinstance(p, param.Boolean)
    if isinstance(p, param.List) and isinstance(v, list) and p.item_type is float:
        bad = bad or any(isinstance(x, bool) for x in v)
    if not bad:
        try:
            p._validate(v)
            return None
        except (ValueError, TypeError):
            pass
    return f"expected {_describe(p)}, found {v!r}"


def _dispatch_scenario_problems(scenarios: dict, file: str) -> list[Problem]:
    from powerfirst.models.dispatch.params import override_problems

    problems = []
    for name, overrides in scenarios.items():
        where = f"dispatch.scenarios.{name}"
        problems += [Problem(p.message, file=file, column=where) for p in check_name(str(name))]
        if not isinstance(overrides, dict):
            problems.append(Problem(f"expected a mapping of parameter overrides, found {overrides!r}", file=file,
                                    column=where))
            continue
        problems += [Problem(msg, file=file, column=f"{where}.{k}") for k, msg in override_problems(overrides)]
    return problems


_HASHES: dict[tuple, str] = {}


def _content_hash(path: str) -> str:
    """Hash of a file's bytes, or of every file under a folder (relative names and contents); cached per
    (path, size, modification time) within the process."""
    p = Path(path)
    if not p.exists():
        return "missing"
    files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
    h = hashlib.sha256()
    for q in files:
        st = os.stat(q)
        key = (str(q), st.st_size, st.st_mtime_ns)
        if key not in _HASHES:
            _HASHES[key] = file_hash(q)
        h.update(f"{q.relative_to(p) if p.is_dir() else q.name}:{_HASHES[key]}\n".encode())
    return h.hexdigest()[:16]
