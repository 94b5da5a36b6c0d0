r"""Annual data-centre electricity demand: history, a bottom-up driver model, trend estimators,
published projections as reference bands, and the demand cube.

History and projections come from the facts tables (``data/facts/datacentre_electricity.csv``),
each figure with its source: the LBNL 2024 US series (2014, 2016, 2018, 2023 — the years the
facts hold), the IEA *Energy and AI* 2024 estimates (world, and the regional split read from a
graphic of IEA data), the IEA 2025 world estimate of its 2026 update, and the EPRI 2023 baseline.

Driver model
------------
For each region, with :math:`y_0` the base year and :math:`y` the target year:

.. math::

    N(y) &= N_0 \prod_{s=y_0+1}^{y} (1 + g_s)\ (1 - e)^{\,y - y_0}, \qquad g_s = g_0 (1 - d)^{\,s - y_0 - 1} \\
    P(y) &= P_0 (1 + p)^{\,y - y_0} \\
    E_{acc}(y) &= N(y)\, P(y)\, u\, \mathrm{PUE}_{acc}(y) \times 8.766\ \mathrm{TWh\,GW^{-1}\,yr^{-1}} \\
    E_{conv}(y) &= E_{conv}(y_0)\,(1 + c)^{\,y - y_0}\ \mathrm{PUE}_{conv}(y) / \mathrm{PUE}_{conv}(y_0)

with :math:`N` the installed accelerators [million units], :math:`g` their capacity growth with
decay :math:`d`, :math:`e` the yearly efficiency gain (fewer units for the same work),
:math:`P` the IT power per accelerator including its host share [kW], :math:`u` the average
utilisation, PUE the power usage effectiveness (accelerated and conventional halls), and
:math:`c` the growth of conventional IT energy.  :math:`N_0` is *calibrated* so that the base
year reproduces the facts: :math:`E_{acc}(y_0) = a\,E(y_0)` with :math:`a` the accelerated share of
the base year, :math:`E_{conv}(y_0) = (1 - a) E(y_0)`.  Accelerated energy is split into the
``training``, ``inference`` and ``edge`` workloads by shares that drift towards inference.
Because :math:`N_0` absorbs the base-year level, :math:`P_0`, :math:`u` and
:math:`\mathrm{PUE}_{acc}(y_0)` set the installed fleet (``accelerators_million``) but not the
energy path; the path moves with the growth, efficiency and trend drivers and with the
accelerated share.
Every driver is a field of :class:`GrowthDrivers`; :data:`DRIVER_SCENARIOS` holds the four
presets named after the IEA cases (their knobs were set by hand so that the world path lands
near the IEA 2035 figure of the case; the check below says how near).

Regional drivers
----------------
``World`` runs on :class:`GrowthDrivers` itself.  Each other region takes the drivers the facts
give it (``data/facts/datacentre_drivers.csv``, rows ``driver_<name>``, read by
:func:`regional_driver_table`; every row says whether its value is read from a source, derived, or
an assumption) and the world values for the rest.  A scenario preset moves a regional driver by the
ratio it moves the world one (:func:`regional_drivers`).  The rows and how they were obtained:

* PUE (``pue_accelerated``, ``pue_conventional``): the world values (1.3 for new large halls and
  1.56 survey average, Uptime 2024) times Deloitte's 2023 PUE of the region relative to the world
  (*Powering artificial intelligence*, companion report, Table 4): North America 0.96 (US), Western
  and Eastern Europe 0.92, Asia Pacific 1.06, Latin America 1.11 and Middle East and Africa 1.13
  (Rest of world: their mean, 1.12).  China: its policy limits, PUE below 1.3 for new large data
  centres (MIIT action plan 2022) and a national average below 1.5 by 2025 (NDRC action plan 2024).
* ``utilisation``: 0.6 everywhere.  China's 60 % floor for new data centres is the one regional
  source; elsewhere the world value (Deloitte Table 3, AI hyperscale data centres) is an assumption.
  Utilisation only sets the installed fleet here, not the energy path.
* ``efficiency_gain``: no regional source; the world assumption (5 % a year) everywhere.
* ``accelerator_growth``: derived.  With the region's other drivers fixed, the growth that carries
  the region's facts 2024 figure to its IEA 2030 Base figure (the IEA *Energy and AI* regional split
  as charted by Graphic News: US 183 → 426 TWh, China 102 → 277, Europe 68 → 113, Asia Pacific excl.
  China 48 → 101, Rest of world 15 → 29; the IEA's text gives US +130 %, China +170 %, Europe +70 %)
  is found by :func:`calibrate_regional_growth` (a Brent root of :func:`driver_projection`) and stored
  rounded to 0.001: US 0.760, China 0.869, Europe 0.495, Asia Pacific excl. China 0.682, Rest of
  world 0.614 (world 0.75).  The regional 2030 figures are therefore calibration targets, met by
  construction; the independent checks are the sum of the regions against the IEA world figures
  (2030 Base 946 vs 945 TWh; 2035 Base 1 214 vs 1 200; 2035 Lift-Off, High Efficiency, Headwinds
  1 687, 966, 700 vs 1 700, 970, 700) and the cross-checks in the rows' notes (EPRI, LBNL, China's
  own growth expectation).

Each region keeps the world ``accelerated_share`` (0.2), so the regional differences in growth all
land on accelerator growth; a sourced regional share of accelerated servers would move part of
them to the base-year mix.

Trend estimators
----------------
:class:`GrowthRegressor` is a scikit-learn regressor of :math:`\log E` on features (year, region
indicators) with prediction intervals: Student-t intervals of the linear model in log space
(default), or jackknife+ conformal intervals (Barber et al. 2021), which need at least
:math:`1/\alpha - 1` points to be finite.  :func:`make_growth_pipeline` pools the regions
(one intercept per region, one growth rate), so a region with a single observed year still gets
a projection.  With the handful of published points, the intervals are wide: that is the honest
answer.

References
----------
Shehabi, A. et al. (2024). *2024 United States Data Center Energy Usage Report*. LBNL.
International Energy Agency (2025). *Energy and AI*. https://www.iea.org/reports/energy-and-ai
EPRI (2024). *Powering Intelligence*.
Deloitte (2024). *Powering artificial intelligence: a study of AI's footprint, today and tomorrow*
(and its companion report). https://www.deloitte.com/global/en/issues/climate/powering-ai.html
Uptime Institute (2025). *Mapping PUE trends by data center region, age and size* (UII Update 420).
Barber, R. F., Candès, E. J., Ramdas, A. & Tibshirani, R. J. (2021). Predictive inference with the
jackknife+. *Annals of Statistics* 49(1), 486–507. https://doi.org/10.1214/20-AOS1965
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from sklearn.utils.validation import check_is_fitted, validate_data

from powerfirst._provenance import provenance
from powerfirst.errors import Problem, ValidationError

__all__ = [
    "REGIONS",
    "WORKLOADS",
    "HOURS_PER_YEAR",
    "GrowthDrivers",
    "DRIVER_SCENARIOS",
    "REGIONAL_DRIVER_UNITS",
    "regional_driver_table",
    "regional_drivers",
    "calibrate_regional_growth",
    "history",
    "history_series",
    "published_projections",
    "reference_bands",
    "driver_projection",
    "calibrate_driver",
    "base_year_electricity",
    "GrowthRegressor",
    "make_growth_pipeline",
    "trend_projection",
    "check_against_published",
    "demand_cube",
]

REGIONS = ("World", "US", "China", "Europe", "Asia Pacific excl. China", "Rest of world")
WORKLOADS = ("conventional", "training", "inference", "edge")
#: 1 GW for a year of 8 766 h [TWh]
HOURS_PER_YEAR = 8766.0
#: preferred publishers when two figures describe the same region and year (first wins)
PUBLISHER_PREFERENCE = ("Lawrence Berkeley National Laboratory", "International Energy Agency", "Graphic News",
                        "Electric Power Research Institute")


def _facts(facts):
    if facts is None:
        from powerfirst.io.facts import read_facts

        facts = read_facts()
    return facts


def _source(row) -> str:
    return f"{row['publisher']} ({row['year']}), {row['source_title']}"


# ---------------------------------------------------------------------------
# history and published projections


def history(facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every historical data-centre electricity figure of the facts tables.

    Returns
    -------
    pandas.DataFrame
        ``region, year, electricity_twh, publisher, source, note`` (one row per figure; a region
        and year may have figures from several publishers).
    """
    f = _facts(facts)
    d = f[(f["quantity"] == "datacentre_electricity") & (f["scenario"] == "historical") & (f["unit"] == "TWh")]
    out = pd.DataFrame({
        "region": d["region"].astype(str).to_numpy(),
        "year": d["period"].astype(int).to_numpy(),
        "electricity_twh": d["value"].astype(float).to_numpy(),
        "publisher": d["publisher"].astype(str).to_numpy(),
        "source": [_source(r) for _, r in d.iterrows()],
        "note": d["note"].astype(str).to_numpy(),
    })
    return out.sort_values(["region", "year", "publisher"]).reset_index(drop=True)


def history_series(region: str = "US", facts: pd.DataFrame | None = None,
                   preference: Sequence[str] = PUBLISHER_PREFERENCE) -> pd.DataFrame:
    """One historical figure per year for ``region`` [TWh], choosing publishers by ``preference``."""
    h = history(facts)
    h = h[h["region"] == region]
    if h.empty:
        raise KeyError(f"no historical data-centre electricity for region {region!r}; regions with history: "
                       f"{sorted(history(facts)['region'].unique())}")
    rank = {p: i for i, p in enumerate(preference)}
    h = h.assign(_rank=h["publisher"].map(lambda p: rank.get(p, len(rank))))
    h = h.sort_values(["year", "_rank"]).drop_duplicates("year").drop(columns="_rank")
    return h.reset_index(drop=True)


def published_projections(facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published projections of data-centre electricity [TWh], one row per figure.

    IEA 2030/2035 by case (world; 2030 Base by region from the regional split), LBNL's 2028 US
    range, and EPRI's four 2030 US scenarios.  EPRI publishes growth rates from its 2023 baseline,
    converted here as :math:`E_{2030} = E_{2023} (1 + g)^7` (the ``note`` says so).

    Returns
    -------
    pandas.DataFrame
        ``region, year, publisher, scenario, electricity_twh, low_twh, high_twh, source, note``.
    """
    f = _facts(facts)
    rows = []
    d = f[(f["quantity"] == "datacentre_electricity") & (f["scenario"] != "historical") & (f["unit"] == "TWh")]
    for _, r in d.iterrows():
        rows.append({"region": str(r["region"]), "year": int(r["period"]), "publisher": str(r["publisher"]),
                     "scenario": str(r["scenario"]) or "range", "electricity_twh": float(r["value"]),
                     "low_twh": float(r["low"]) if pd.notna(r["low"]) else float(r["value"]),
                     "high_twh": float(r["high"]) if pd.notna(r["high"]) else float(r["value"]),
                     "source": _source(r), "note": str(r["note"])})
    g = f[(f["quantity"] == "datacentre_electricity_growth_rate") & (f["publisher"] == "Electric Power Research Institute")]
    base = f[(f["quantity"] == "datacentre_electricity") & (f["publisher"] == "Electric Power Research Institute")
             & (f["scenario"] == "historical")]
    if len(base) and len(g):
        b = base.iloc[0]
        for _, r in g.iterrows():
            years = int(r["period"]) - int(b["period"])
            v = float(b["value"]) * (1 + float(r["value"])) ** years
            rows.append({"region": str(r["region"]), "year": int(r["period"]), "publisher": str(r["publisher"]),
                         "scenario": str(r["scenario"]), "electricity_twh": round(v, 1), "low_twh": round(v, 1),
                         "high_twh": round(v, 1), "source": _source(r),
                         "note": f"derived: {float(b['value']):g} TWh ({int(b['period'])} baseline) x "
                                 f"(1 + {float(r['value']):g})^{years}"})
    return pd.DataFrame(rows).sort_values(["region", "year", "publisher", "scenario"]).reset_index(drop=True)


def reference_bands(region: str, facts: pd.DataFrame | None = None, point_tolerance: float = 0.1) -> pd.DataFrame:
    """Published range per year and publisher for ``region`` [TWh].

    A single published figure, or a range narrower than that, becomes a band of
    ± ``point_tolerance`` (10 %) around its midpoint.

    Returns
    -------
    pandas.DataFrame
        ``year, publisher, low_twh, high_twh, scenarios``.
    """
    p = published_projections(facts)
    p = p[p["region"] == region]
    out = []
    for (year, pub), g in p.groupby(["year", "publisher"], sort=True):
        lo, hi = float(g["low_twh"].min()), float(g["high_twh"].max())
        mid = (lo + hi) / 2
        lo, hi = min(lo, mid * (1 - point_tolerance)), max(hi, mid * (1 + point_tolerance))
        out.append({"year": int(year), "publisher": pub, "low_twh": lo, "high_twh": hi,
                    "scenarios": ", ".join(sorted(set(g["scenario"])))})
    return pd.DataFrame(out, columns=["year", "publisher", "low_twh", "high_twh", "scenarios"])


def check_against_published(values: pd.DataFrame, facts: pd.DataFrame | None = None,
                            point_tolerance: float = 0.1) -> pd.DataFrame:
    """Flag forecasts that leave *every* published range for their region and year.

    Parameters
    ----------
    values : pandas.DataFrame
        Columns ``region, year, electricity_twh`` (more columns, e.g. ``scenario``, are kept).

    Returns
    -------
    pandas.DataFrame
        The rows of ``values`` that have published figures for their region and year, with
        ``published_low_twh, published_high_twh, sources, outside_all`` and a ``message``.
    """
    out = []
    for region, g in values.groupby("region", sort=False):
        bands = reference_bands(str(region), facts, point_tolerance)
        if bands.empty:
            continue
        for _, row in g.iterrows():
            b = bands[bands["year"] == int(row["year"])]
            if b.empty:
                continue
            v = float(row["electricity_twh"])
            inside = ((v >= b["low_twh"]) & (v <= b["high_twh"])).any()
            rec = row.to_dict()
            rec.update({"published_low_twh": float(b["low_twh"].min()), "published_high_twh": float(b["high_twh"].max()),
                        "sources": "; ".join(f"{r.publisher} {r.low_twh:.0f}-{r.high_twh:.0f}" for r in b.itertuples()),
                        "outside_all": not bool(inside)})
            rec["message"] = ("" if inside else
                              f"{region} {int(row['year'])}: {v:.0f} TWh lies outside every published range "
                              f"({rec['sources']} TWh)")
            out.append(rec)
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------
# bottom-up driver model


@dataclass(frozen=True)
class GrowthDrivers:
    """The knobs of the bottom-up model (see the module docstring for the equations).

    Every field is a documented, overridable driver: ``GrowthDrivers(accelerator_growth=0.4)`` or
    ``drivers.replace(pue_accelerated=1.2)``.  Values are assumptions for illustration unless the
    comment names a fact; the base-year total always comes from the facts.  These are the world
    drivers; a region's own values come from the facts (:func:`regional_drivers`).
    """

    #: base year whose electricity comes from the facts tables
    base_year: int = 2024
    #: growth of installed accelerator capacity in the first projected year [1 per year]
    #: (with growth_decay, set so the world path meets the IEA Base Case: 945 TWh in 2030, 1 200 in 2035)
    accelerator_growth: float = 0.75
    #: relative decline of that growth rate per year [1 per year] (0 = constant growth)
    growth_decay: float = 0.24
    #: IT power per accelerator including its host share, base year [kW] (a DGX H100: 10.2 kW / 8 GPUs)
    power_per_unit_kw: float = 1.275
    #: change of power per accelerator per year [1 per year]
    power_trend: float = 0.04
    #: average utilisation of installed accelerators [1] (60 % for AI hyperscale data centres, Deloitte 2024)
    utilisation: float = 0.6
    #: PUE of accelerated (AI) halls, base year [1] (new large facilities about 1.3, Uptime 2024)
    pue_accelerated: float = 1.3
    #: PUE of conventional halls, base year [1] (survey average 1.56, Uptime 2024)
    pue_conventional: float = 1.56
    #: yearly change of both PUEs [1 per year], floored at 1.05
    pue_trend: float = -0.01
    #: yearly efficiency gain: fewer accelerators for the same work [1 per year]
    efficiency_gain: float = 0.05
    #: share of base-year data-centre electricity used by accelerated servers [1] (assumption)
    accelerated_share: float = 0.2
    #: growth of conventional IT energy [1 per year]
    conventional_growth: float = 0.03
    #: base-year split of accelerated energy: training, inference, edge [1]
    workload_split: tuple[float, float, float] = (0.55, 0.40, 0.05)
    #: yearly shift of the accelerated share from training to inference [1 per year]
    inference_shift: float = 0.03
    #: ratio of peak to average power [1]
    peak_to_average: float = 1.15

    def replace(self, **changes) -> GrowthDrivers:
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown drivers {sorted(unknown)}; drivers: {[f.name for f in fields(self)]}")
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        problems = []
        for name in ("utilisation", "accelerated_share"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                problems.append(Problem(f"{name} must lie in [0, 1], found {v}", variable=name))
        for name in ("pue_accelerated", "pue_conventional"):
            if getattr(self, name) < 1:
                problems.append(Problem(f"{name} must be at least 1, found {getattr(self, name)}", variable=name))
        if self.power_per_unit_kw <= 0 or self.peak_to_average < 1:
            problems.append(Problem("power_per_unit_kw must be > 0 and peak_to_average >= 1"))
        s = self.workload_split
        if len(s) != 3 or min(s) < 0 or abs(sum(s) - 1) > 1e-6:
            problems.append(Problem(f"workload_split must be three shares summing to 1, found {s}",
                                    variable="workload_split"))
        if problems:
            raise ValidationError(problems, what="growth drivers")


#: presets named after the IEA cases; overrides of the default (world) drivers.  Each preset moves
#: one knob, set (with :func:`calibrate_driver`, rounded) so that the world path meets the IEA 2035
#: figure of the case: Lift-Off 1 700 TWh (faster capacity growth), High Efficiency 970 TWh
#: (faster efficiency gains, PUE falling 0.02 a year), Headwinds 700 TWh (slower capacity growth).
#: A region with its own value of a knob moves it by the same ratio (see :func:`regional_drivers`).
DRIVER_SCENARIOS: dict[str, dict] = {
    "Base": {},
    "Lift-Off": {"accelerator_growth": 0.92},
    "High Efficiency": {"efficiency_gain": 0.07, "pue_trend": -0.02},
    "Headwinds": {"accelerator_growth": 0.40},
}

#: the world Base drivers the presets and the regional values are stated against
_WORLD_BASE = GrowthDrivers()

#: drivers a facts row may set for a region (quantity ``driver_<name>``), with the unit the row must carry
REGIONAL_DRIVER_UNITS = {
    "accelerator_growth": "year-1", "growth_decay": "year-1", "power_per_unit_kw": "kW", "power_trend": "year-1",
    "utilisation": "1", "pue_accelerated": "1", "pue_conventional": "1", "pue_trend": "year-1",
    "efficiency_gain": "year-1", "accelerated_share": "1", "conventional_growth": "year-1",
    "inference_shift": "year-1", "peak_to_average": "1",
}


def regional_driver_table(facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The regional driver values of the facts tables (``data/facts/datacentre_drivers.csv``).

    A row of quantity ``driver_<name>`` (scenario ``Base``) gives region ``region`` its Base value of
    driver ``<name>`` (a field of :class:`GrowthDrivers`, unit as in :data:`REGIONAL_DRIVER_UNITS`).

    Returns
    -------
    pandas.DataFrame
        ``region, driver, value, unit, kind, source, note``; ``kind`` is the first word of the note
        (``source``, ``derived`` or ``assumption``).

    Raises
    ------
    ValidationError
        Every row with an unknown region, driver, unit or scenario, and every second row for one
        region and driver, with file and line.
    """
    f = _facts(facts)
    # line numbers hold for a frame as read_facts returns it (each file's rows in order, a RangeIndex)
    whole = "file" in f.columns and isinstance(f.index, pd.RangeIndex) and f["file"].notna().all()
    line = (f.groupby("file").cumcount() + 2).to_numpy() if whole else np.full(len(f), np.nan)
    mask = f["quantity"].astype(str).str.startswith("driver_").to_numpy()
    problems, rows, seen = [], [], {}
    for (_, r), ln in zip(f[mask].iterrows(), line[mask], strict=True):
        where = {"file": str(r["file"]) if "file" in f.columns and pd.notna(r["file"]) else "facts",
                 "line": None if np.isnan(ln) else int(ln)}
        name, region, unit = str(r["quantity"])[len("driver_"):], str(r["region"]), str(r["unit"])
        if name not in REGIONAL_DRIVER_UNITS:
            problems.append(Problem(f"unknown driver {name!r}; drivers a region may set: "
                                    f"{sorted(REGIONAL_DRIVER_UNITS)}", column="quantity", **where))
            continue
        if region not in REGIONS:
            problems.append(Problem(f"unknown region {region!r}; regions: {list(REGIONS)}", column="region", **where))
        if unit != REGIONAL_DRIVER_UNITS[name]:
            problems.append(Problem(f"driver {name!r} is in {REGIONAL_DRIVER_UNITS[name]!r}, found {unit!r}",
                                    column="unit", **where))
        if str(r["scenario"]) != "Base":
            problems.append(Problem(f"driver rows hold Base values (presets move them), found scenario "
                                    f"{r['scenario']!r}", column="scenario", **where))
        if (region, name) in seen:
            first = f" (first at line {seen[region, name]})" if seen[region, name] else ""
            problems.append(Problem(f"second value of {name!r} for {region!r}{first}", column="value", **where))
        seen.setdefault((region, name), where["line"])
        note = str(r["note"])
        rows.append({"region": region, "driver": name, "value": float(r["value"]), "unit": unit,
                     "kind": note.split(":", 1)[0].strip() if ":" in note else "", "source": _source(r),
                     "note": note})
    if problems:
        raise ValidationError(problems, what="regional growth drivers")
    return pd.DataFrame(rows, columns=["region", "driver", "value", "unit", "kind", "source", "note"])


def _regional_values(table: pd.DataFrame, region: str) -> dict[str, float]:
    t = table[table["region"] == region]
    return dict(zip(t["driver"], t["value"].astype(float), strict=True))


def _check_region_overrides(region_overrides: Mapping | None) -> dict:
    ro = dict(region_overrides or {})
    unknown = [r for r in ro if r not in REGIONS]
    if unknown:
        raise KeyError(f"unknown region {unknown[0]!r} in region_overrides; regions: {list(REGIONS)}")
    for r, o in ro.items():
        if not isinstance(o, Mapping):
            raise TypeError(f"region_overrides[{r!r}] must map driver names to values, found {o!r}")
    return ro


def _drivers_for(scenario: str, drivers: GrowthDrivers | None, overrides: Mapping | None,
                 regional: Mapping[str, float] | None = None, region_override: Mapping | None = None) -> GrowthDrivers:
    d = drivers or GrowthDrivers()
    if scenario in DRIVER_SCENARIOS:
        d = d.replace(**DRIVER_SCENARIOS[scenario])
    elif drivers is None:
        raise KeyError(f"unknown scenario {scenario!r}; presets: {list(DRIVER_SCENARIOS)} (or pass drivers=)")
    if regional:  # the region's ratio to the world Base, applied to the world value of this scenario
        scaled = {}
        for k, v in regional.items():
            ref = getattr(_WORLD_BASE, k)
            scaled[k] = v * (getattr(d, k) / ref) if ref else v + getattr(d, k)
        d = d.replace(**scaled)
    if overrides:
        d = d.replace(**dict(overrides))
    if region_override:
        d = d.replace(**dict(region_override))
    d.check()
    return d


def regional_drivers(region: str, scenario: str = "Base", facts: pd.DataFrame | None = None, *,
                     drivers: GrowthDrivers | None = None, overrides: Mapping | None = None,
                     region_overrides: Mapping[str, Mapping] | None = None) -> GrowthDrivers:
    r"""The driver set of ``region`` in ``scenario``.

    Start from the world drivers (``drivers``, default :class:`GrowthDrivers`) with the scenario
    preset applied; each driver the facts give for the region (:func:`regional_driver_table`) is
    the world value scaled by the region's Base ratio to the world Base,
    :math:`x_r = x_{world} \cdot x_{r,Base} / x_{world,Base}` (so in Base, with default drivers, it
    is the facts value; a preset that raises world accelerator growth by 23 % raises every
    region's by 23 %).  Then ``overrides`` set a driver in every region and
    ``region_overrides[region]`` in that region only.
    """
    ro = _check_region_overrides(region_overrides)
    return _drivers_for(scenario, drivers, overrides, _regional_values(regional_driver_table(facts), region),
                        ro.get(region))


def driver_projection(base_twh: float, years: Sequence[int], drivers: GrowthDrivers | None = None) -> pd.DataFrame:
    """Bottom-up projection of one region from its base-year electricity [TWh].

    Years before the base year are NaN (the model projects forward; history comes from the facts).

    Returns
    -------
    pandas.DataFrame
        Indexed by year: ``accelerators_million`` [1e6 units], ``power_per_unit_kw`` [kW],
        ``pue_accelerated`` [1], the electricity of each workload [TWh] (``conventional``,
        ``training``, ``inference``, ``edge``), ``total`` [TWh], ``average_gw`` and ``peak_gw`` [GW].
    """
    d = drivers or GrowthDrivers()
    d.check()
    if not base_twh > 0:
        raise ValueError(f"base-year electricity must be positive, found {base_twh}")
    years = np.asarray(sorted(int(y) for y in years))
    n = years - d.base_year
    acc0 = d.accelerated_share * base_twh
    conv0 = base_twh - acc0
    # N0 from E_acc(y0) = N0 P0 u PUE0 x 8.766
    n0 = acc0 / (d.power_per_unit_kw * d.utilisation * d.pue_accelerated * HOURS_PER_YEAR / 1000)
    growth = np.ones(len(years))
    for i, k in enumerate(n):
        steps = np.arange(1, max(k, 0) + 1)
        rates = d.accelerator_growth * (1 - d.growth_decay) ** (steps - 1)
        growth[i] = np.prod(1 + rates) if k >= 0 else np.nan
    units = n0 * growth * (1 - d.efficiency_gain) ** n
    power = d.power_per_unit_kw * (1 + d.power_trend) ** n
    pue_a = np.maximum(d.pue_accelerated + d.pue_trend * n, 1.05)
    pue_c = np.maximum(d.pue_conventional + d.pue_trend * n, 1.05)
    acc = units * power * d.utilisation * pue_a * HOURS_PER_YEAR / 1000
    conv = conv0 * (1 + d.conventional_growth) ** n * pue_c / d.pue_conventional
    tr0, inf0, edge0 = d.workload_split
    shift = np.clip(d.inference_shift * n, -inf0, tr0)
    split = np.stack([tr0 - shift, inf0 + shift, np.full(len(n), edge0)], axis=1)
    out = pd.DataFrame({"accelerators_million": units, "power_per_unit_kw": power, "pue_accelerated": pue_a,
                        "conventional": conv, "training": acc * split[:, 0], "inference": acc * split[:, 1],
                        "edge": acc * split[:, 2]}, index=pd.Index(years, name="year"))
    out["total"] = out[list(WORKLOADS)].sum(axis=1, min_count=len(WORKLOADS))
    out.loc[n < 0, :] = np.nan
    out["average_gw"] = out["total"] / (HOURS_PER_YEAR / 1000)
    out["peak_gw"] = out["average_gw"] * d.peak_to_average
    return out


def base_year_electricity(region: str, base_year: int = 2024, facts: pd.DataFrame | None = None) -> tuple[float, str]:
    """The facts' electricity of ``region`` in ``base_year`` [TWh] and its source."""
    h = history_series(region, facts)
    row = h[h["year"] == base_year]
    if row.empty:
        raise KeyError(f"the facts hold no {base_year} figure for {region!r}; years: {h['year'].tolist()}")
    return float(row["electricity_twh"].iloc[0]), str(row["source"].iloc[0])


def calibrate_driver(name: str, target_twh: float, target_year: int, base_twh: float,
                     drivers: GrowthDrivers | None = None, bounds=(0.0, 3.0)) -> float:
    """Value of driver ``name`` that makes the projection reach ``target_twh`` in ``target_year``.

    A scalar root search (Brent) over ``bounds``; the other drivers stay as given.
    """
    from scipy.optimize import brentq

    d = drivers or GrowthDrivers()

    def gap(x):
        return float(driver_projection(base_twh, [target_year], d.replace(**{name: x}))["total"].iloc[0]) - target_twh

    return float(brentq(gap, *bounds))


def calibrate_regional_growth(region: str, target_year: int = 2030, facts: pd.DataFrame | None = None,
                              publisher: str = "Graphic News") -> float:
    """Base accelerator growth of ``region`` [1 per year] that makes its driver path meet the published
    Base figure of ``target_year`` (the derivation of the ``driver_accelerator_growth`` facts rows).

    The region's other drivers are its facts values (world values where it has none); the base year
    is the facts' 2024 figure.  With ``publisher`` "Graphic News" the target is the IEA *Energy and
    AI* regional Base Case as charted by Graphic News (the regional rows of the facts).
    """
    f = _facts(facts)
    d = regional_drivers(region, "Base", f)
    base, _ = base_year_electricity(region, d.base_year, f)
    p = published_projections(f)
    t = p[(p["region"] == region) & (p["year"] == target_year) & (p["scenario"] == "Base") & (p["publisher"] == publisher)]
    if len(t) != 1:
        raise KeyError(f"{len(t)} Base figures of {publisher} for {region!r} in {target_year}; published:\n"
                       f"{p[p['region'] == region][['year', 'publisher', 'scenario', 'electricity_twh']].to_string(index=False)}")
    return calibrate_driver("accelerator_growth", float(t["electricity_twh"].iloc[0]), target_year, base, d)


# ---------------------------------------------------------------------------
# scikit-learn trend estimators


class GrowthRegressor(RegressorMixin, BaseEstimator):
    """Exponential-growth regressor with prediction intervals.

    Fits :math:`\\log y = X\\beta + \\varepsilon` by (ridge) least squares, so a ``year`` feature's
    coefficient is the log growth rate; ``predict`` returns :math:`\\exp(X\\hat\\beta)`, the median
    under log-normal errors.

    Parameters
    ----------
    log_target : bool
        Fit on log y (needs y > 0); False fits y itself (a linear trend).
    alpha : float
        Ridge penalty on the coefficients (0: ordinary least squares).
    fit_intercept : bool
    interval : {'student-t', 'jackknife+'}
        Student-t prediction intervals of the linear model, or jackknife+ conformal intervals
        (infinite where there are too few points for the level asked).
    quantiles : tuple of float
        Default levels of :meth:`predict_quantiles`.
    """

    def __init__(self, log_target=True, alpha=0.0, fit_intercept=True, interval="student-t",
                 quantiles=(0.1, 0.5, 0.9)):
        self.log_target = log_target
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.interval = interval
        self.quantiles = quantiles

    def _design(self, X):
        return np.column_stack([np.ones(len(X)), X]) if self.fit_intercept else X

    def _solve(self, A, z):
        p = A.shape[1]
        pen = self.alpha * np.eye(p)
        if self.fit_intercept:
            pen[0, 0] = 0.0
        return np.linalg.lstsq(A.T @ A + pen, A.T @ z, rcond=None)[0] if self.alpha else np.linalg.lstsq(A, z, rcond=None)[0]

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.interval not in ("student-t", "jackknife+"):
            raise ValueError(f"interval must be 'student-t' or 'jackknife+', found {self.interval!r}")
        y = np.asarray(y, dtype=float)
        if self.log_target and not (y > 0).all():
            raise ValueError("log_target=True needs positive targets (electricity [TWh]); found values <= 0")
        z = np.log(y) if self.log_target else y
        A = self._design(X)
        beta = self._solve(A, z)
        self.coef_ = beta[1:] if self.fit_intercept else beta
        self.intercept_ = float(beta[0]) if self.fit_intercept else 0.0
        resid = z - A @ beta
        n, p = A.shape
        self.dof_ = max(n - np.linalg.matrix_rank(A), 1)
        self.sigma_ = float(np.sqrt(np.sum(resid**2) / self.dof_))
        self.xtx_inv_ = np.linalg.pinv(A.T @ A + (self.alpha * np.eye(p) if self.alpha else 0))
        if self.interval == "jackknife+" and n >= 2:
            loo_beta, loo_res = [], []
            for i in range(n):
                keep = np.arange(n) != i
                b = self._solve(A[keep], z[keep])
                loo_beta.append(b)
                loo_res.append(abs(z[i] - A[i] @ b))
            self.loo_beta_ = np.array(loo_beta)
            self.loo_residuals_ = np.array(loo_res)
        return self

    def _mean(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        A = self._design(X)
        return A, A @ np.concatenate([[self.intercept_], self.coef_]) if self.fit_intercept else A @ self.coef_

    def _back(self, z):
        return np.exp(z) if self.log_target else z

    def predict(self, X):
        """Median projection [units of y]."""
        _, m = self._mean(X)
        return self._back(m)

    def predict_quantiles(self, X, quantiles=None):
        """Projection quantiles [units of y], shape (n_rows, n_quantiles)."""
        q = np.atleast_1d(np.asarray(self.quantiles if quantiles is None else quantiles, dtype=float))
        if ((q <= 0) | (q >= 1)).any():
            raise ValueError(f"quantiles must lie strictly between 0 and 1, found {q.tolist()}")
        A, m = self._mean(X)
        if self.interval == "student-t" or not hasattr(self, "loo_beta_"):
            se = self.sigma_ * np.sqrt(1 + np.einsum("ij,jk,ik->i", A, self.xtx_inv_, A))
            z = m[:, None] + stats.t.ppf(q, self.dof_)[None, :] * se[:, None]
        else:
            mu = A @ self.loo_beta_.T  # (rows, n)
            n = mu.shape[1]
            z = np.empty((len(A), len(q)))
            for j, level in enumerate(q):
                if level >= 0.5:
                    k = int(np.ceil((n + 1) * level))
                    vals = np.sort(mu + self.loo_residuals_[None, :], axis=1)
                    z[:, j] = vals[:, k - 1] if k <= n else np.inf
                else:
                    k = int(np.floor((n + 1) * level))
                    vals = np.sort(mu - self.loo_residuals_[None, :], axis=1)
                    z[:, j] = vals[:, k - 1] if k >= 1 else -np.inf
            z[:, np.isclose(q, 0.5)] = m[:, None]
        return np.maximum.accumulate(self._back(z), axis=1)

    @property
    def growth_rate_(self) -> float:
        """Yearly growth implied by the last coefficient (the year feature) [1 per year]."""
        check_is_fitted(self, "coef_")
        return float(np.expm1(self.coef_[-1])) if self.log_target else float("nan")


def make_growth_pipeline(reference_year: int = 2024, **params) -> Pipeline:
    """Pooled trend model: one intercept per region, one growth rate.

    Input: a frame with ``region`` and ``year`` columns; target electricity [TWh].
    """
    features = ColumnTransformer([
        ("region", OneHotEncoder(handle_unknown="error", sparse_output=False), ["region"]),
        ("year", FunctionTransformer(lambda x: np.asarray(x, float) - reference_year,
                                     feature_names_out="one-to-one"), ["year"]),
    ])
    return Pipeline([("features", features), ("model", GrowthRegressor(fit_intercept=False, **params))])


def trend_projection(years: Sequence[int], regions: Sequence[str] = REGIONS, quantiles=(0.1, 0.5, 0.9),
                     facts: pd.DataFrame | None = None, **params) -> tuple[pd.DataFrame, Pipeline]:
    """Project regions with the pooled :func:`make_growth_pipeline` fitted on the history of every
    region the facts hold (so a region's projection does not depend on which others are asked for).

    Returns
    -------
    (pandas.DataFrame, Pipeline)
        ``region, year, electricity_twh`` (median) and one column per quantile (``q0.1`` …) [TWh],
        and the fitted pipeline.
    """
    facts = _facts(facts)
    known = sorted(set(history(facts)["region"]) | set(regions))
    h = pd.concat([history_series(r, facts) for r in known], ignore_index=True)
    pipe = make_growth_pipeline(**params).fit(h[["region", "year"]], h["electricity_twh"])
    grid = pd.DataFrame([(r, int(y)) for r in regions for y in years], columns=["region", "year"])
    grid["electricity_twh"] = pipe.predict(grid[["region", "year"]])
    Xt = pipe[:-1].transform(grid[["region", "year"]])
    Q = pipe[-1].predict_quantiles(Xt, quantiles)
    for j, q in enumerate(quantiles):
        grid[f"q{q:g}"] = Q[:, j]
    return grid, pipe


# ---------------------------------------------------------------------------
# the demand cube

_ATTRS = {
    "dc_electricity": ("TWh", "data-centre electricity consumption"),
    "dc_average_power": ("GW", "data-centre average power demand"),
    "dc_peak_power": ("GW", "data-centre peak power demand"),
    "dc_electricity_trend": ("TWh", "data-centre electricity, trend projection quantiles"),
    "dc_electricity_history": ("TWh", "data-centre electricity, published historical figure"),
    "dc_electricity_published_low": ("TWh", "lowest published projection of data-centre electricity"),
    "dc_electricity_published_high": ("TWh", "highest published projection of data-centre electricity"),
}


def demand_cube(scenarios: Sequence[str] = tuple(DRIVER_SCENARIOS), regions: Sequence[str] = REGIONS,
                years: Sequence[int] = tuple(range(2014, 2036)), *, drivers: GrowthDrivers | None = None,
                overrides: Mapping | None = None, region_overrides: Mapping[str, Mapping] | None = None,
                quantiles=(0.1, 0.5, 0.9), facts: pd.DataFrame | None = None,
                point_tolerance: float = 0.1) -> xr.Dataset:
    """The demand cube: ``region`` × ``year`` × ``scenario`` × ``workload``.

    ``dc_electricity`` [TWh], ``dc_average_power`` and ``dc_peak_power`` [GW] from the driver model
    (each region its own driver set, :func:`regional_drivers`: a preset of :data:`DRIVER_SCENARIOS`
    applied to ``drivers``, the region's facts values, then ``overrides`` in every region and
    ``region_overrides[region]`` in one); ``dc_electricity_trend`` [TWh] on ``quantile`` from the pooled trend
    estimator; ``dc_electricity_history`` [TWh] where the facts hold a figure, and the published
    projection range ``dc_electricity_published_low`` / ``_high`` [TWh].  Years before the base
    year are driver-model back-casts (compare them with the history).

    The result validates with ``powerfirst.schema.validate(ds, "demand")``.
    """
    f = _facts(facts)
    years = [int(y) for y in years]
    ro = _check_region_overrides(region_overrides)
    table = regional_driver_table(f)
    elec = np.zeros((len(regions), len(years), len(scenarios), len(WORKLOADS)))
    peak_ratio = np.zeros((len(regions), len(scenarios)))
    sources = {}
    for si, sc in enumerate(scenarios):
        for ri, r in enumerate(regions):
            d = _drivers_for(sc, drivers, overrides, _regional_values(table, r), ro.get(r))
            peak_ratio[ri, si] = d.peak_to_average
            base, src = base_year_electricity(r, d.base_year, f)
            sources[r] = src
            proj = driver_projection(base, years, d)
            elec[ri, :, si, :] = proj[list(WORKLOADS)].to_numpy()
    coords = {"region": list(regions), "year": years, "scenario": list(scenarios), "workload": list(WORKLOADS)}
    dims = ("region", "year", "scenario", "workload")
    avg = elec / (HOURS_PER_YEAR / 1000)
    ds = xr.Dataset(coords=coords)
    ds["dc_electricity"] = (dims, elec)
    ds["dc_average_power"] = (dims, avg)
    ds["dc_peak_power"] = (dims, avg * peak_ratio[:, None, :, None])
    trend, pipe = trend_projection(years, regions, quantiles, f)
    tq = np.stack([trend.pivot(index="region", columns="year", values=f"q{q:g}").loc[list(regions), years].to_numpy()
                   for q in quantiles], axis=-1)
    ds = ds.assign_coords(quantile=list(quantiles))
    ds["dc_electricity_trend"] = (("region", "year", "quantile"), tq)
    hist = np.full((len(regions), len(years)), np.nan)
    for ri, r in enumerate(regions):
        for _, row in history_series(r, f).iterrows():
            if int(row["year"]) in years:
                hist[ri, years.index(int(row["year"]))] = row["electricity_twh"]
    ds["dc_electricity_history"] = (("region", "year"), hist)
    lo = np.full((len(regions), len(years)), np.nan)
    hi = np.full_like(lo, np.nan)
    for ri, r in enumerate(regions):
        b = reference_bands(r, f, point_tolerance)
        for y, g in b.groupby("year"):
            if int(y) in years:
                lo[ri, years.index(int(y))] = g["low_twh"].min()
                hi[ri, years.index(int(y))] = g["high_twh"].max()
    ds["dc_electricity_published_low"] = (("region", "year"), lo)
    ds["dc_electricity_published_high"] = (("region", "year"), hi)
    for name, (units, long_name) in _ATTRS.items():
        ds[name].attrs.update(units=units, long_name=long_name)
    ds["workload"].attrs["long_name"] = "data-centre workload"
    ds["quantile"].attrs.update(long_name="quantile level", units="1")
    ds["year"].attrs["long_name"] = "calendar year"
    ds.attrs.update(provenance(
        pf_kind="demand", title="data-centre electricity demand by region, year, scenario and workload",
        drivers="; ".join(f"{sc}: {_drivers_for(sc, drivers, overrides).as_dict()}" for sc in scenarios),
        base_sources="; ".join(f"{r}: {s}" for r, s in sources.items()),
        regional_drivers="; ".join(f"{t.region}: {t.driver}={t.value:g} ({t.kind}, {t.source})"
                                   for t in table[table["region"].isin(list(regions))].itertuples()),
        region_overrides=str(ro),
        trend_growth_rate=round(pipe[-1].growth_rate_, 4),
        published_band_tolerance=point_tolerance))
    return ds
