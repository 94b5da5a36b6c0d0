r"""Supply by site and year: MW a candidate can count on, its BA's flexible headroom, its costs.

MW at a confidence level
------------------------
The time-to-power engine gives, per site, path and month :math:`m`, the probability of first
power :math:`p_{s,k}(m)` (``prob_energised``) and the expected MW available
:math:`\bar w_{s,k}(m)` (``mw_available``, over all draws).  The MW a plan counts on in year
:math:`y` at confidence :math:`c` is

.. math::

    W_{s,k}(y) = \begin{cases} \bar w_{s,k}(m_y) / p_{s,k}(m_y) & p_{s,k}(m_y) \ge c \\ 0 & \text{otherwise} \end{cases}

with :math:`m_y` the month at the end of year :math:`y` counted from the site's start date: the
expected MW *given* energisation, counted once energisation by then is at least :math:`c` likely.
For a path that delivers all its MW at first power this is exactly the :math:`(1 - c)` quantile
of the MW available; for a ramp it is the conditional mean (a quantile of the MW would need the
engine's per-draw ramps).  Energised MW never disappear, so :math:`W` is carried forward as its
running maximum over the years.

The firm MW of a site is the best of its non-flexible paths, :math:`F_s(y) = \max_{k \ne
\text{flex}} W_{s,k}(y)`; the flexible path (``grid_flexible``, already limited by the BA's
headroom in the engine) may add :math:`X_s(y) = W_{s,\text{flex}}(y)`.  The site's available MW
is :math:`A_s(y) = \max(F_s(y), X_s(y))`; what it uses above :math:`F_s(y)` counts against the
flexible headroom of its BA (at the screen's curtailment limit), shared by all its sites.

Costs
-----
Annualised capital cost of one MW of tier :math:`t` at site :math:`s` built on path :math:`k_s`
(the path with the most MW in the last year) [USD MW-1 year-1]:

.. math:: C_{s,t} = \big(c^{fac}_t / \mathrm{PUE}^{design} + c^{conn}_{k_s}\big)\ \frac{r}{1 - (1 + r)^{-n}}

and the energy cost [USD MWh-1] :math:`e_s = p_s + \pi\, \mathrm{CI}_s / 1000` with the site's
electricity price :math:`p_s`, grid carbon intensity :math:`\mathrm{CI}_s` [gCO2 kWh-1] and
carbon price :math:`\pi` [USD tCO2-1].  Every figure is a row of ``data/network/costs.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst._provenance import file_hash, provenance
from powerfirst.errors import DataFormatError, Problem, ValidationError

from .demand import TIERS

__all__ = ["Costs", "read_costs", "capital_recovery_factor", "mw_at_confidence", "site_supply",
           "FLEXIBLE_PATH", "DEFAULT_CONFIDENCE"]

#: the time-to-power path of a flexible (curtailable) connection
FLEXIBLE_PATH = "grid_flexible"
#: default confidence of the MW counted on [1]
DEFAULT_CONFIDENCE = 0.8

_COST_COLUMNS = ("quantity", "tier", "path", "value", "low", "high", "unit", "kind", "source_title", "publisher",
                 "year", "url", "note")
_QUANTITY_UNITS = {"capex_facility": "USD MW-1", "design_pue": "1", "capex_connection": "USD MW-1",
                   "discount_rate": "year-1", "lifetime": "year", "module_mw": "MW", "carbon_price": "USD t-1",
                   "unserved_cost": "USD MWh-1"}
_QUANTITY_RANGE = {"capex_facility": (1e5, 1e8), "design_pue": (1.0, 3.0), "capex_connection": (0.0, 2e7),
                   "discount_rate": (0.0, 0.5), "lifetime": (1.0, 100.0), "module_mw": (0.1, 5000.0),
                   "carbon_price": (0.0, 2000.0), "unserved_cost": (1.0, 1e6)}


@dataclass(frozen=True)
class Costs:
    """The cost figures of a plan (see ``data/network/costs.csv``).

    Attributes
    ----------
    capex_facility : dict
        Tier -> construction cost per MW of critical load [USD MW-1].
    design_pue : float
        PUE of the designs the facility capex refers to [1].
    capex_connection : dict
        Path -> connection or on-site power cost per MW [USD MW-1].
    discount_rate : float
        [1 year-1].
    lifetime : float
        [year].
    module_mw : dict
        Tier -> build module [MW of facility load].
    carbon_price : float
        [USD tCO2-1].
    unserved_cost : float
        [USD MWh-1].
    source : str
        File and hash the figures were read from.
    """

    capex_facility: dict
    design_pue: float
    capex_connection: dict
    discount_rate: float
    lifetime: float
    module_mw: dict
    carbon_price: float
    unserved_cost: float
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def crf(self) -> float:
        """Capital recovery factor [1 year-1]."""
        return capital_recovery_factor(self.discount_rate, self.lifetime)

    def replace(self, **changes) -> Costs:
        """A copy with some figures changed (mappings are merged)."""
        kw = {f: getattr(self, f) for f in self.__dataclass_fields__}
        for k, v in changes.items():
            if k not in kw:
                raise ValidationError(Problem(f"unknown cost {k!r}; expected one of {', '.join(kw)}", variable=k),
                                      what="network costs")
            kw[k] = {**kw[k], **v} if isinstance(kw[k], dict) and isinstance(v, Mapping) else v
        return Costs(**kw)

    def annual_capex(self, tier: str, path: str) -> float:
        """Annualised capital cost of one MW of facility load [USD MW-1 year-1]."""
        if path not in self.capex_connection:
            raise ValidationError(Problem(f"no connection cost for path {path!r}; the costs have "
                                          f"{', '.join(sorted(self.capex_connection))}", variable="path"),
                                  what="network costs")
        return (self.capex_facility[tier] / self.design_pue + self.capex_connection[path]) * self.crf


def capital_recovery_factor(rate: float, years: float) -> float:
    """Capital recovery factor :math:`r / (1 - (1 + r)^{-n})` [1 year-1] (``1 / n`` at ``r = 0``)."""
    r, n = float(rate), float(years)
    if not n > 0 or not r >= 0:
        raise ValidationError(Problem(f"expected rate >= 0 and years > 0, found {rate}, {years}"),
                              what="capital recovery factor")
    return 1.0 / n if r == 0 else r / (1.0 - (1.0 + r) ** -n)


def read_costs(path=None) -> Costs:
    """The validated cost table (default ``data/network/costs.csv``).

    Raises
    ------
    DataFormatError
        The file is missing, empty or not a CSV with the expected columns.
    ValidationError
        Every bad row: unknown quantity or tier, wrong unit, value not a number or out of its
        plausible range, a ``source`` row without title or URL, an ``assumption`` row without a note,
        a quantity missing (each tier for the per-tier ones).
    """
    from powerfirst.paths import data_dir

    p = Path(path) if path is not None else data_dir() / "network" / "costs.csv"
    if not p.is_file():
        raise DataFormatError(f"{p}: cost table not found (expected a CSV with columns {', '.join(_COST_COLUMNS)})")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{p}: not a readable CSV ({exc})") from None
    missing = [c for c in _COST_COLUMNS if c not in df.columns]
    if missing or df.empty:
        raise DataFormatError(f"{p}: expected columns {', '.join(_COST_COLUMNS)} and at least one row; "
                              f"missing {missing}" if missing else f"{p}: no rows")
    probs: list[Problem] = []
    vals: dict = {}
    for i, row in df.iterrows():
        where = {"file": str(p), "row": int(i) + 1, "line": int(i) + 2}
        q = row["quantity"].strip()
        if q not in _QUANTITY_UNITS:
            probs.append(Problem(f"unknown quantity {q!r}; expected one of {', '.join(_QUANTITY_UNITS)}",
                                 column="quantity", **where))
            continue
        if row["unit"].strip() != _QUANTITY_UNITS[q]:
            probs.append(Problem(f"expected unit {_QUANTITY_UNITS[q]!r} for {q}, found {row['unit']!r}",
                                 column="unit", **where))
        tier = row["tier"].strip()
        if tier and tier not in TIERS:
            probs.append(Problem(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)} or empty",
                                 column="tier", **where))
        try:
            v = float(row["value"])
        except ValueError:
            probs.append(Problem(f"expected a number, found {row['value']!r}", column="value", **where))
            continue
        lo, hi = _QUANTITY_RANGE[q]
        if not (np.isfinite(v) and lo <= v <= hi):
            probs.append(Problem(f"expected {q} in [{lo:g}, {hi:g}] {_QUANTITY_UNITS[q]}, found {v:g} "
                                 "(a unit mistake?)", column="value", **where))
        kind = row["kind"].strip()
        if kind not in ("source", "assumption"):
            probs.append(Problem(f"expected kind 'source' or 'assumption', found {kind!r}", column="kind", **where))
        elif kind == "source" and not (row["source_title"].strip() and row["url"].strip()):
            probs.append(Problem("a 'source' row needs source_title and url", column="source_title", **where))
        elif kind == "assumption" and not row["note"].strip():
            probs.append(Problem("an 'assumption' row needs a note saying why", column="note", **where))
        key = (q, tier, row["path"].strip())
        if key in vals:
            probs.append(Problem(f"{q} appears twice for tier {tier!r}, path {row['path']!r}", column="quantity",
                                 **where))
        vals[key] = v
    per_tier = ("capex_facility", "module_mw")
    for q in per_tier:
        for t in TIERS:
            if (q, t, "") not in vals and (q, "", "") not in vals:
                probs.append(Problem(f"missing {q} for tier {t!r}", file=str(p), column="quantity"))
    for q in ("design_pue", "discount_rate", "lifetime", "carbon_price", "unserved_cost"):
        if (q, "", "") not in vals:
            probs.append(Problem(f"missing {q}", file=str(p), column="quantity"))
    conn = {k[2]: v for k, v in vals.items() if k[0] == "capex_connection"}
    if not conn:
        probs.append(Problem("missing capex_connection rows (one per path)", file=str(p), column="quantity"))
    if probs:
        raise ValidationError(probs, what="network cost table")

    def tier_map(q):
        return {t: vals.get((q, t, ""), vals.get((q, "", ""))) for t in TIERS}

    return Costs(capex_facility=tier_map("capex_facility"), design_pue=vals[("design_pue", "", "")],
                 capex_connection=conn, discount_rate=vals[("discount_rate", "", "")],
                 lifetime=vals[("lifetime", "", "")], module_mw=tier_map("module_mw"),
                 carbon_price=vals[("carbon_price", "", "")], unserved_cost=vals[("unserved_cost", "", "")],
                 source=f"{p.name} sha256:{file_hash(p)}")


def _year_end_month(start: np.ndarray, years: Sequence[int]) -> np.ndarray:
    """Months from each start date to the end of each year (site, year), floored; negative before the start."""
    st = pd.to_datetime(pd.Series(start)).to_numpy("datetime64[D]")
    ends = np.array([np.datetime64(f"{int(y) + 1}-01-01") for y in years])
    days = (ends[None, :] - st[:, None]).astype("timedelta64[D]").astype(float)
    return np.floor(days / 30.4375 + 1e-9).astype(int)


def mw_at_confidence(ttp: xr.Dataset, years: Sequence[int], confidence: float = DEFAULT_CONFIDENCE) -> xr.DataArray:
    """MW each site and path can count on by the end of each year at a confidence level (module doc).

    Parameters
    ----------
    ttp : xarray.Dataset
        A :func:`powerfirst.models.time_to_power.time_to_power` result (``prob_energised`` and
        ``mw_available`` on site, path, month; ``start_date`` on site).
    years : sequence of int
    confidence : float
        In (0, 1).

    Returns
    -------
    xarray.DataArray
        (site, path, year) [MW], non-decreasing over the years.
    """
    if not 0 < float(confidence) < 1:
        raise ValidationError(Problem(f"expected a confidence in (0, 1), found {confidence!r}", variable="confidence"),
                              what="mw_at_confidence")
    for v in ("prob_energised", "mw_available"):
        if v not in ttp:
            raise ValidationError(Problem(f"expected a time-to-power result with {v} (site, path, month), found "
                                          f"variables {sorted(ttp.data_vars)}", variable=v), what="mw_at_confidence")
    years = sorted(int(y) for y in years)
    pe = ttp["prob_energised"].transpose("site", "path", "month").values.astype(float)
    mwa = ttp["mw_available"].transpose("site", "path", "month").values.astype(float)
    n_m = pe.shape[2]
    start = ttp["start_date"].values if "start_date" in ttp.coords or "start_date" in ttp else \
        np.full(ttp.sizes["site"], np.datetime64(ttp.attrs.get("start", "2027-01-01")))
    m = _year_end_month(start, years)  # (site, year)
    mi = np.clip(m, 0, n_m - 1)
    rows = np.arange(pe.shape[0])[:, None, None]
    paths = np.arange(pe.shape[1])[None, :, None]
    p_y = pe[rows, paths, mi[:, None, :]]
    w_y = mwa[rows, paths, mi[:, None, :]]
    with np.errstate(invalid="ignore", divide="ignore"):
        cond = np.where(p_y > 0, w_y / p_y, 0.0)
    out = np.where((p_y >= float(confidence)) & (m[:, None, :] >= 0), cond, 0.0)
    out = np.nan_to_num(out, nan=0.0)
    if "mw" in ttp:  # the conditional mean never exceeds the path's MW
        out = np.minimum(out, ttp["mw"].transpose("site", "path").values[:, :, None])
    out = np.maximum.accumulate(out, axis=2)
    return xr.DataArray(out, dims=("site", "path", "year"),
                        coords={"site": ttp["site"].values, "path": ttp["path"].values, "year": years},
                        attrs={"units": "MW", "long_name": f"MW energised by the end of the year with probability "
                                                           f">= {float(confidence):g}",
                               "method": "expected MW given energisation where P(first power) >= confidence, "
                                         "running maximum over the years"})


_CANDIDATE_VARS = ("lat", "lon", "country", "ba", "price", "carbon_intensity", "headroom_mw",
                   "accelerator_hours_per_mwh", "target_mw", "bloc", "rank", "score", "excluded")


def _candidates_frame(candidates, top_n: int | None) -> pd.DataFrame:
    if isinstance(candidates, xr.Dataset):
        if "site" not in candidates.dims:
            raise ValidationError(Problem(f"expected a Dataset on 'site' (a screen), found dims {dict(candidates.sizes)}"),
                                  what="network candidates")
        cols = {"site": candidates["site"].values.astype(str)}
        for v in _CANDIDATE_VARS + ("tiers",):
            if v in candidates and candidates[v].dims == ("site",):
                cols[v] = candidates[v].values
        df = pd.DataFrame(cols)
        if "tier" in candidates.attrs and "tiers" not in df:
            df["screen_tier"] = candidates.attrs["tier"]
    elif isinstance(candidates, pd.DataFrame):
        df = candidates.copy()
        if "site" not in df and "site_id" in df:
            df = df.rename(columns={"site_id": "site"})
    else:
        raise ValidationError(Problem(f"expected a screen Dataset or a DataFrame of candidates, found "
                                      f"{type(candidates).__name__}"), what="network candidates")
    need = ["site", "lat", "lon", "country", "price", "carbon_intensity"]
    miss = [c for c in need if c not in df]
    if miss:
        raise ValidationError(Problem(f"candidates need columns {need}; missing {miss} (a screen gives them; a user "
                                      "list must carry them)"), what="network candidates")
    df["site"] = df["site"].astype(str)
    dup = df["site"].duplicated()
    if dup.any():
        raise ValidationError([Problem("site appears more than once", site=s) for s in df.loc[dup, "site"].unique()[:20]],
                              what="network candidates")
    if "excluded" in df:
        df = df[~df["excluded"].astype(bool)]
    if top_n is not None:
        if int(top_n) < 1:
            raise ValidationError(Problem(f"expected top_n >= 1, found {top_n}", variable="top_n"),
                                  what="network candidates")
        if "rank" in df:
            df = df[np.isfinite(df["rank"].astype(float))].sort_values("rank", kind="stable")
        df = df.head(int(top_n))
    if df.empty:
        raise ValidationError(Problem("no candidates left (all excluded or none given)"), what="network candidates")
    return df.reset_index(drop=True)


def _check_numbers(df: pd.DataFrame, col: str, lo: float, hi: float, unit: str, probs: list, required: bool = True):
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(float) if col in df else np.full(len(df), np.nan)
    bad = ~np.isfinite(v) if required else np.zeros(len(df), bool)
    bad |= np.isfinite(v) & ((v < lo) | (v > hi))
    for i in np.flatnonzero(bad)[:20]:
        probs.append(Problem(f"expected {col} in [{lo:g}, {hi:g}] {unit}, found {df[col].iloc[i] if col in df else 'nothing'!r}",
                             row=int(i) + 1, column=col, site=str(df["site"].iloc[i])))
    if bad.sum() > 20:
        probs.append(Problem(f"... and {int(bad.sum()) - 20} more sites with a bad {col}", column=col))
    return v


def _tier_mask(df: pd.DataFrame, tiers) -> np.ndarray:
    if tiers is not None:
        tiers = [tiers] if isinstance(tiers, str) else list(tiers)
        bad = [t for t in tiers if t not in TIERS]
        if bad:
            raise ValidationError(Problem(f"unknown tiers {bad}; expected some of {', '.join(TIERS)}", variable="tiers"),
                                  what="network candidates")
        return np.array([[t in tiers for t in TIERS]] * len(df), dtype=bool)
    if "tiers" in df:
        out = np.zeros((len(df), len(TIERS)), bool)
        probs = []
        for i, s in enumerate(df["tiers"].astype(str)):
            names = [x.strip() for x in s.replace(";", ",").split(",") if x.strip()]
            if not names:
                out[i] = True
            for n in names:
                if n not in TIERS:
                    probs.append(Problem(f"unknown tier {n!r}; expected some of {', '.join(TIERS)}", row=i + 1,
                                         column="tiers", site=str(df["site"].iloc[i])))
                else:
                    out[i, TIERS.index(n)] = True
        if probs:
            raise ValidationError(probs, what="network candidates")
        return out
    return np.ones((len(df), len(TIERS)), bool)


def site_supply(candidates, years: Sequence[int], *, ttp: xr.Dataset | None = None,
                confidence: float = DEFAULT_CONFIDENCE, top_n: int | None = None, tiers=None,
                costs: Costs | None = None, carbon_price: float | None = None,
                headroom: Mapping[str, float] | None = None, paths: Sequence[str] | None = None,
                start: str = "2027-01-01", ttp_draws: int = 2000, seed: int = 0) -> xr.Dataset:
    """MW available by year, flexible headroom and costs of every candidate.

    Parameters
    ----------
    candidates : xarray.Dataset or pandas.DataFrame
        A screen (:func:`powerfirst.models.siting.screen`; excluded candidates are dropped) or a
        user list with ``site``, ``lat``, ``lon``, ``country``, ``price`` [USD MWh-1],
        ``carbon_intensity`` [gCO2 kWh-1] and optionally ``ba``, ``headroom_mw`` [MW, the BA's
        flexible headroom], ``accelerator_hours_per_mwh`` [h MWh-1], ``target_mw`` [MW] and
        ``tiers`` (comma-separated tiers the site may host; default all).
    years : sequence of int
        Years of the plan.
    ttp : xarray.Dataset, optional
        Time-to-power results of the candidates (every candidate must be in it); default: run
        :func:`powerfirst.models.time_to_power.time_to_power` on them (``paths``, ``start``,
        ``ttp_draws``, ``seed``).
    confidence : float
        Confidence of the MW counted on (:func:`mw_at_confidence`).
    top_n : int, optional
        Keep the ``top_n`` best-ranked candidates of a screen.
    tiers : str or sequence, optional
        Tiers every candidate may host (default: the ``tiers`` column, else all).
    costs : Costs, optional
        Default :func:`read_costs`.
    carbon_price : float, optional
        Overrides the cost table's carbon price [USD tCO2-1].
    headroom : mapping, optional
        BA -> flexible headroom [MW]; default the candidates' ``headroom_mw`` (the BA's value).

    Returns
    -------
    xarray.Dataset
        On ``site``, ``year``, ``tier`` (and ``ba``): ``available_mw``, ``firm_mw``, ``flexible_mw``
        (site, year) [MW]; ``capex_annual`` (site, tier) [USD MW-1 year-1]; ``price``,
        ``carbon_intensity``, ``energy_cost`` [USD MWh-1], ``work_per_mwh`` [h MWh-1] (site);
        ``path`` (site); ``hosts`` (site, tier); ``ba_headroom_mw`` (ba) [MW]; coordinates
        ``lat``, ``lon``, ``country``, ``site_ba``.  Attrs: confidence, cost source, provenance.

    Raises
    ------
    ValidationError
        Missing columns or bad values (naming the site and column), candidates without
        time-to-power results, no path with a connection cost.
    """
    what = "network supply"
    years = sorted(int(y) for y in years)
    if not years:
        raise ValidationError(Problem("expected at least one year", variable="years"), what=what)
    df = _candidates_frame(candidates, top_n)
    probs: list[Problem] = []
    lat = _check_numbers(df, "lat", -90, 90, "degrees_north", probs)
    lon = _check_numbers(df, "lon", -180, 180, "degrees_east", probs)
    price = _check_numbers(df, "price", -500, 2000, "USD MWh-1", probs)
    ci = _check_numbers(df, "carbon_intensity", 0, 1500, "gCO2 kWh-1", probs)
    work = _check_numbers(df, "accelerator_hours_per_mwh", 0, 1e4, "h MWh-1", probs, required=False)
    if probs:
        raise ValidationError(probs, what=f"{what} (candidates)")
    hosts = _tier_mask(df, tiers)
    costs = costs or read_costs()
    if carbon_price is not None:
        if not 0 <= float(carbon_price) <= 2000:
            raise ValidationError(Problem(f"expected a carbon price in [0, 2000] USD t-1, found {carbon_price!r}",
                                          variable="carbon_price"), what=what)
        costs = costs.replace(carbon_price=float(carbon_price))
    if ttp is None:
        from powerfirst.models.siting import SCREEN_PATHS
        from powerfirst.models.time_to_power import time_to_power

        run = pd.DataFrame({"site_id": df["site"], "country": df["country"].astype(str)})
        for c in ("ba", "target_mw", "existing_service_mw", "colocated_plant_mw", "colocated_plant_owner",
                  "upgrade_class", "land_status", "permitting_status", "start_date", "request_date", "facility_type"):
            if c in df:
                run[c] = df[c].replace({"": None, "nan": None})
        # each BA's flexible headroom where known; elsewhere the engine's default share of the
        # sites' MW (as the siting screen does)
        from powerfirst.models.time_to_power import DEFAULT_FLEXIBLE_FRACTION

        hr = headroom if headroom is not None else _headroom_from(df)
        flex: dict[str, float] = {}
        tmw = pd.to_numeric(run["target_mw"], errors="coerce").fillna(100.0) if "target_mw" in run else \
            pd.Series(100.0, index=run.index)
        for b, mw in zip(run["ba"].fillna("").astype(str) if "ba" in run else [""] * len(run), tmw, strict=True):
            if hr and b in hr:
                flex[b] = float(hr[b])
            else:
                flex[b] = flex.get(b, 0.0) + DEFAULT_FLEXIBLE_FRACTION * float(mw)
        ttp = time_to_power(run, list(paths or SCREEN_PATHS), draws=int(ttp_draws), seed=int(seed), start=start,
                            tornado=False, flexible_mw=flex)
    ttp_sites = set(map(str, ttp["site"].values))
    lacking = [s for s in df["site"] if s not in ttp_sites]
    if lacking:
        raise ValidationError([Problem("candidate has no time-to-power result (run time_to_power on it, or drop it)",
                                       site=s) for s in lacking[:50]]
                              + ([Problem(f"... and {len(lacking) - 50} more")] if len(lacking) > 50 else []),
                              what=f"{what} (time to power)")
    sub = ttp.sel(site=df["site"].to_numpy())
    w = mw_at_confidence(sub, years, confidence)  # site, path, year
    path_names = [str(p) for p in w["path"].values]
    no_cost = [p for p in path_names if p not in costs.capex_connection]
    if no_cost:
        raise ValidationError(Problem(f"paths {no_cost} have no capex_connection row in {costs.source}"),
                              what=what)
    wv = w.values
    is_flex = np.array([p == FLEXIBLE_PATH for p in path_names])
    firm = wv[:, ~is_flex, :].max(axis=1) if (~is_flex).any() else np.zeros((len(df), len(years)))
    flexmw = wv[:, is_flex, :].max(axis=1) if is_flex.any() else np.zeros_like(firm)
    avail = np.maximum(firm, flexmw)
    best = np.where(wv[:, :, -1].max(axis=1) > 0, wv[:, :, -1].argmax(axis=1), 0)
    path = np.array(path_names, dtype=object)[best]
    capex = np.array([[costs.annual_capex(t, p) for t in TIERS] for p in path])
    ecost = price + costs.carbon_price * ci / 1000.0
    no_power = avail[:, -1] <= 0
    hr = headroom if headroom is not None else _headroom_from(df)
    ba = df["ba"].astype(str).replace({"nan": "", "None": ""}).to_numpy() if "ba" in df else np.full(len(df), "")
    bas = sorted({b for b in ba if b})
    ba_h = np.array([float(hr[b]) if hr and b in hr and np.isfinite(float(hr[b])) else np.inf for b in bas])
    ds = xr.Dataset(coords={"site": df["site"].to_numpy(str), "year": years, "tier": list(TIERS),
                            "ba": np.array(bas, dtype=str)})
    ds.coords["lat"] = ("site", lat, {"units": "degrees_north"})
    ds.coords["lon"] = ("site", lon, {"units": "degrees_east"})
    ds.coords["country"] = ("site", df["country"].astype(str).to_numpy())
    ds.coords["site_ba"] = ("site", ba.astype(str))
    sy = ("site", "year")
    ds["available_mw"] = (sy, avail, {"units": "MW", "long_name": f"MW available at confidence {confidence:g}"})
    ds["firm_mw"] = (sy, firm, {"units": "MW", "long_name": "MW of the firm paths at that confidence"})
    ds["flexible_mw"] = (sy, flexmw, {"units": "MW", "long_name": "MW of the flexible path at that confidence"})
    ds["path_mw"] = (("site", "path", "year"), wv, {"units": "MW", "long_name": "MW of each path at that confidence"})
    ds = ds.assign_coords(path=path_names)
    ds["energisation_path"] = ("site", path.astype(str), {"long_name": "path with the most MW in the last year "
                                                                       "(its connection cost is charged)"})
    ds["capex_annual"] = (("site", "tier"), capex, {"units": "USD MW-1 year-1",
                                                    "long_name": "annualised capital cost per MW of facility load"})
    ds["price"] = ("site", price, {"units": "USD MWh-1", "long_name": "electricity price"})
    ds["carbon_intensity"] = ("site", ci, {"units": "gCO2 kWh-1", "long_name": "grid carbon intensity"})
    ds["energy_cost"] = ("site", ecost, {"units": "USD MWh-1",
                                         "long_name": f"price + carbon price ({costs.carbon_price:g} USD/t) x intensity"})
    ds["work_per_mwh"] = ("site", work, {"units": "h MWh-1", "long_name": "accelerator-hours per MWh of facility energy"})
    ds["hosts"] = (("site", "tier"), hosts, {"long_name": "tiers the site may host"})
    ds["ba_headroom_mw"] = ("ba", ba_h, {"units": "MW", "long_name": "flexible headroom of the BA (inf: no figure)"})
    ds["module_mw"] = ("tier", [costs.module_mw[t] for t in TIERS], {"units": "MW", "long_name": "build module"})
    ds.attrs.update(provenance(
        title="network supply by site and year", confidence=float(confidence), costs=costs.source,
        carbon_price_usd_per_t=float(costs.carbon_price), unserved_cost_usd_per_mwh=float(costs.unserved_cost),
        discount_rate=float(costs.discount_rate), lifetime_years=float(costs.lifetime),
        crf=round(costs.crf, 6), ttp_created=ttp.attrs.get("created", ""),
        sites_without_power=",".join(df["site"].to_numpy(str)[no_power][:50]),
        bas_without_headroom=",".join(b for b, h in zip(bas, ba_h, strict=True) if not np.isfinite(h))))
    return ds


def _headroom_from(df: pd.DataFrame) -> dict:
    if "headroom_mw" not in df or "ba" not in df:
        return {}
    h = pd.to_numeric(df["headroom_mw"], errors="coerce")
    out = {}
    for b, v in zip(df["ba"].astype(str), h, strict=True):
        if b and b not in ("nan", "None") and np.isfinite(v) and v >= 0:
            out[b] = max(out.get(b, 0.0), float(v))
    return out
