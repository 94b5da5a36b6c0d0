r"""Time to power: a probabilistic energisation model for every site and path.

"Time to power" is the time from a site's ``start_date`` (month 0) until its load can draw
power.  Each energisation **path** is a graph of **stages** with uncertain durations, composed in
series (durations add) and in parallel (the slowest branch sets the pace):

* ``grid_firm`` — the utility's or ISO's *large-load* process (``large_load_interconnection``:
  load-service and facility studies, the transmission owner's substation; rows by region and
  size class, each saying which stages its figure already covers, which are then not added),
  the upgrades of the site's ``upgrade_class`` the figure does not cover (after its studies),
  in parallel with the site branch (land, permits, and the construction of the site's
  ``facility_type``: hyperscale, modular or light-industrial halls, or the fit-out of an
  existing building); then energisation.  The request runs on its own clock from
  ``request_date`` and may be withdrawn (competing risk ``withdrawal``, fitted on queue data).
  MW: the full ``target_mw``.
* ``grid_flexible`` — a non-firm, curtailable connection (``flexible_interconnection`` then
  breakers and bays); MW limited to ``firm_headroom_mw`` plus a flexible allowance (a per-BA
  flexible headroom, e.g. from :func:`powerfirst.models.headroom.flexible_headroom`, shared
  among the BA's sites pro rata to their unmet MW; without one,
  :data:`DEFAULT_FLEXIBLE_FRACTION` of the site's unmet MW).
* ``existing_service`` — capacity already at the site (``existing_service_mw``).
* ``colocation`` — next to or behind the meter of an existing plant (``colocated_plant_mw``).
* ``mobile_bridge`` — temporary or mobile generation (``bridge_mw``); ``bridge_then_grid`` is
  ``mobile_bridge+grid_firm``.
* ``onsite_generation`` — permanent engines, turbines or fuel cells (``bridge_technology``)
  with their own switchgear and substation; ``onsite_bridge`` the same without them (earlier
  versions' path).
* ``solar_storage`` — on-site PV plus batteries (plus the existing firm headroom as a partial
  grid connection); MW = the firm-equivalent of PV + storage (:func:`firm_equivalent_mw`) plus
  the firm headroom.
* combinations ``"a+b"`` — MW ramps over time: at time :math:`t` the site has
  :math:`\min(\mathrm{target}, \max_{c\ \mathrm{grid}} M_c 1[T_c \le t] + \sum_{c\ \mathrm{on\ site}} M_c 1[T_c \le t])`
  (grid connections nest, on-site supplies add); first power is the first component live.

A path a site cannot take (0 MW) is reported in ``available`` / ``unavailable_reason``.

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
P10 or P90).  See :mod:`powerfirst.models.time_to_power._kernel` for the sampler.

References
----------
The sources of every stage row are in ``data/time_to_power/stages.csv`` and its README.
Rand, J. et al. (2025). *Queued Up: 2025 Edition.* Lawrence Berkeley National Laboratory (the
generator queues; context for the withdrawal hazard).
President's National Infrastructure Advisory Council (2024). *Addressing the Critical Shortage
of Power Transformers to Ensure Reliability of the U.S. Grid.*
Norris, T. H. et al. (2025). *Rethinking Load Growth.* Nicholas Institute, Duke University.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.models.time_to_power import _kernel as _k
from powerfirst.models.time_to_power.graph import (
    ALL_PATHS,
    CRITERIA,
    DEFAULT_FLEXIBLE_FRACTION,
    NEVER,
    PATH_GRAPHS,
    evaluate_graph,
    quantile_function,
)
from powerfirst.models.time_to_power.inputs import Prepared, _hash64, prepare

__all__ = ["time_to_power", "sample_stage_durations", "first_power_reference", "best_path", "prob_energised_by",
           "tornado_top_stage", "fastest_path", "most_mw_months_path", "BY_MONTHS"]

#: months of the reported P(first power by month)
BY_MONTHS = (12, 24, 36, 60)


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


def _run_chunk(prep: Prepared, keys, corr_w, common_z, lo, hi, n_draws, months, horizon, disc_k, quantiles,
               max_months, bins_per_month, keep, tornado_draws, serial):
    """Kernel outputs for sites lo:hi (a dict of numpy arrays); ``horizon`` is per site [month]."""
    n = hi - lo
    n_out = len(prep.paths)
    sl = slice(lo, hi)
    q = np.empty((n, n_out, len(quantiles)), np.float32)
    qf = np.empty((n, n_out, len(quantiles)), np.float32)
    prob = np.empty((n, n_out, months + 1), np.float32)
    mwa = np.empty((n, n_out, months + 1), np.float32)
    mwm = np.empty((n, n_out), np.float64)
    dmwm = np.empty((n, n_out), np.float64)
    never = np.empty((n, n_out), np.float64)
    never_full = np.empty((n, n_out), np.float64)
    draws = np.empty((n, n_out, n_draws) if keep else (1, 1, 1), np.float32)
    n_bins = int(max_months * bins_per_month)
    run = _k.run_sites_serial if serial else _k.run_sites
    args = (prep.table, prep.dist_id[sl], keys[sl], corr_w, common_z, prep.ops, prep.node_scale[sl],
            prep.node_shift[sl], prep.op_on[sl], prep.n_regs, prep.comp_reg, prep.n_comp, prep.mw_grid[sl], prep.mw_site[sl],
            prep.target[sl])
    run(*args, int(n_draws), int(bins_per_month), n_bins, int(months), np.ascontiguousarray(horizon[sl], float),
        float(disc_k), np.asarray(quantiles, float), q, qf, prob, mwa, mwm, dmwm, never, never_full, bool(keep), draws)
    out = {"q": q, "qf": qf, "prob": prob, "mwa": mwa, "mwm": mwm, "dmwm": dmwm, "never": never,
           "never_full": never_full}
    if keep:
        out["draws"] = draws
    if tornado_draws:
        tor = np.empty((n, n_out, len(prep.stages), 3), np.float64)
        (_k.tornado_sites_serial if serial else _k.tornado_sites)(
            *args, int(tornado_draws), int(bins_per_month), n_bins, np.array([0.1, 0.9]), tor)
        out["tornado"] = tor
    return out


def time_to_power(sites, paths: Sequence[str] | str = ALL_PATHS, *, draws: int = 10_000, seed: int = 0,
                  start=None, months: int = 120, horizon: float = 60.0, quantiles: Sequence[float] = (0.1, 0.5, 0.9),
                  correlation: float = 0.0, criterion: str = "mw_months", tornado: bool = True,
                  tornado_draws: int | None = None, keep_draws: bool = False, chunks: int | None = None,
                  max_months: int = 240, stages: pd.DataFrame | None = None, rules: pd.DataFrame | None = None,
                  overrides=None, flexible_mw=None, bridge_technology: str = "recip_engines",
                  partial_grid: bool = True, default_flexible_fraction: float = DEFAULT_FLEXIBLE_FRACTION,
                  by_date=None, value_per_mw_month: float | None = None, discount_rate: float = 0.0,
                  withdrawal: bool = True, regions: pd.DataFrame | None = None) -> xr.Dataset:
    """Energisation dates and MW ramps of every site and path, by Monte Carlo.

    Parameters
    ----------
    sites : xarray.Dataset or pandas.DataFrame
        Candidate sites (:func:`powerfirst.read_sites`); the inputs read are
        :data:`~powerfirst.models.time_to_power.inputs.SITE_INPUTS` (each optional; the default
        used is reported per site in ``input_default``).
    paths : list of str
        Base paths (:data:`BASE_PATHS`), ``bridge_then_grid`` and combinations such as
        ``"grid_flexible+grid_firm"``; default :data:`ALL_PATHS`.
    draws : int
        Monte Carlo draws per site.
    seed : int
        Seed; a site's draws depend only on the seed, its label and the stage names.
    start : date-like, optional
        Default ``start_date`` of the sites (default: the first day of the current month);
        gives the ``date`` coordinate (dates of the month axis for sites starting then).
        Month 0 of each site is its own ``start_date``.
    months : int
        Months reported on the ``month`` axis (0..months) [month].
    horizon : float
        Horizon of the MW-months and of P(never) [month]; with ``by_date``, each site's horizon
        is the months from its start_date to that date.
    quantiles : sequence of float
        Quantiles of the first-power and full-power times.
    correlation : float
        Correlation in [0, 1) of the supply-chain stages (Gaussian copula, one common factor per
        draw shared by every site).
    criterion : {'mw_months', 'p50', 'prob_by_horizon'}
        How ``best_path`` ranks paths.
    tornado : bool
        Compute the tornado (``tornado_p10``, ``tornado_p90``) with ``tornado_draws`` draws
        (default ``min(draws, 2000)``).
    keep_draws : bool
        Also return ``first_power_draws`` (site, path, draw) — for small runs.
    chunks : int, optional
        Sites per Dask chunk: the result is then lazy, one task per chunk (identical numbers).
    max_months : int
        Range of the histograms [month]; later energisation counts as "not within".
    by_date : date-like, optional
        Date by which MW-months are counted (per-site horizon); a start_date after it is an error.
    value_per_mw_month : float, optional
        Value of one MW available for one month [USD MW-1 month-1]; gives ``value``.
    discount_rate : float
        Annual discount rate [1 / year] of the value (continuous within the year: factor
        ``(1 + r) ** (-t / 12)`` at month t).
    withdrawal : bool
        Model withdrawn grid requests (default True).
    stages, rules, regions, overrides, flexible_mw, bridge_technology, partial_grid, default_flexible_fraction
        See :func:`prepare`.

    Returns
    -------
    xarray.Dataset
        On ``site``, ``path``, ``quantile``, ``month``, ``by_month``, ``input`` (and ``stage``,
        ``draw``): ``first_power`` [month] (quantiles of months from start_date to first power
        among the draws that energise; NaN when none does or the path is unavailable),
        ``full_power`` [month] (to the full target_mw, among the draws that reach it),
        ``prob_energised`` [1] P(first power by month) over all draws, ``prob_by`` [1] at
        12/24/36/60 months, ``prob_never`` [1] P(no first power within the horizon),
        ``prob_not_energised`` [1] P(no power within ``max_months``: withdrawn or later),
        ``prob_full_never`` [1], ``mw_available`` [MW] expected MW by month, ``mw`` [MW] the
        path's final MW, ``mw_months`` and ``mw_months_discounted`` [MW-month] by the horizon,
        ``value`` [USD] (with ``value_per_mw_month``), ``available`` and ``unavailable_reason``,
        ``best_path``, ``fastest_path``, ``most_mw_months_path`` (site), tornado variables,
        ``stage_duration`` [month] (site, stage, quantile), ``stage_row`` (site, stage) the
        region/size row used, ``input_default`` (site, input) and ``start_date``,
        ``request_date`` (site).
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
    if not discount_rate > -1:
        raise ValueError(f"discount_rate must be above -1 (per year), found {discount_rate}")
    rho = _check_correlation(correlation)
    start = pd.Timestamp(start) if start is not None else pd.Timestamp.today().normalize().replace(day=1)
    prep = prepare(sites, paths, stages=stages, rules=rules, overrides=overrides, flexible_mw=flexible_mw,
                   bridge_technology=bridge_technology, partial_grid=partial_grid,
                   default_flexible_fraction=default_flexible_fraction, start=start, regions=regions,
                   horizon=horizon, by_date=by_date, withdrawal=withdrawal)
    n, n_out = len(prep.sites), len(prep.paths)
    if by_date is not None:
        hz = ((pd.Timestamp(by_date) - prep.sites["start_date"]).dt.days.to_numpy(float) / 30.4375)
    else:
        hz = np.full(n, float(horizon))
    disc_k = float(np.log1p(discount_rate) / 12.0)
    draws = int(draws)
    t_draws = (min(draws, 2000) if tornado_draws is None else int(tornado_draws)) if tornado else 0
    keys = _keys(prep, seed)
    corr_w = np.where(prep.supply_chain, np.sqrt(rho), 0.0)
    common_z = _common_z(seed, max(draws, t_draws))
    kw = dict(n_draws=draws, months=int(months), horizon=hz, disc_k=disc_k, quantiles=quantiles,
              max_months=int(max_months), bins_per_month=16, keep=keep_draws, tornado_draws=t_draws)
    if chunks:
        import dask
        import dask.array as dska

        bounds = [(a, min(a + int(chunks), n)) for a in range(0, n, int(chunks))]
        parts = [dask.delayed(_run_chunk)(prep, keys, corr_w, common_z, a, b, serial=True, **kw) for a, b in bounds]
        shapes = {"q": (len(quantiles),), "qf": (len(quantiles),), "prob": (months + 1,), "mwa": (months + 1,),
                  "mwm": (), "dmwm": (), "never": (), "never_full": ()}
        dtypes = {"q": np.float32, "qf": np.float32, "prob": np.float32, "mwa": np.float32, "mwm": np.float64,
                  "dmwm": np.float64, "never": np.float64, "never_full": np.float64}
        if keep_draws:
            shapes["draws"], dtypes["draws"] = (draws,), np.float32
        if t_draws:
            shapes["tornado"], dtypes["tornado"] = (len(prep.stages), 3), np.float64
        res = {k: dska.concatenate([dska.from_delayed(dask.delayed(lambda o, k=k: o[k])(p), (b - a, n_out) + shp,
                                                      dtype=dtypes[k]) for p, (a, b) in zip(parts, bounds, strict=True)])
               for k, shp in shapes.items()}
    else:
        res = _run_chunk(prep, keys, corr_w, common_z, 0, n, serial=False, **kw)
    ds = _dataset(prep, res, quantiles=quantiles, months=int(months), start=start, horizon=float(horizon),
                  criterion=criterion, seed=seed, draws=draws, rho=rho, t_draws=t_draws, site_horizon=hz,
                  value_per_mw_month=value_per_mw_month, discount_rate=float(discount_rate), by_date=by_date)
    from powerfirst._provenance import input_hashes

    ds.attrs["input_hashes"] = input_hashes(sites=sites if isinstance(sites, xr.Dataset) else None)
    return ds


def _dataset(prep: Prepared, res: dict, *, quantiles, months, start, horizon, criterion, seed, draws, rho,
             t_draws, site_horizon, value_per_mw_month, discount_rate, by_date) -> xr.Dataset:
    from powerfirst._provenance import provenance, text_hash
    from powerfirst.models.time_to_power.inputs import SITE_INPUTS

    df = prep.sites
    month = np.arange(months + 1)
    coords = {
        "site": ("site", df.index.to_numpy(str)),
        "path": ("path", np.array(prep.paths, dtype=str)),
        "quantile": ("quantile", quantiles),
        "month": ("month", month, {"units": "month", "long_name": "months from each site's start_date"}),
        "date": ("month", np.array([start + pd.DateOffset(months=int(m)) for m in month], "datetime64[ns]"),
                 {"long_name": f"dates of the month axis for sites starting on {start.date()}"}),
        "stage": ("stage", np.array(prep.stages, dtype=str)),
        "by_month": ("by_month", np.array(BY_MONTHS, float), {"units": "month"}),
        "input": ("input", np.array(list(SITE_INPUTS), dtype=str)),
    }
    for c in ("name", "ba", "country", "tier", "upgrade_class", "facility_type", "lat", "lon"):
        if c in df.columns:
            coords[c] = ("site", df[c].to_numpy())
    coords["start_date"] = ("site", df["start_date"].to_numpy("datetime64[ns]"))
    coords["request_date"] = ("site", df["request_date"].to_numpy("datetime64[ns]"))
    sp = ("site", "path")
    ds = xr.Dataset(coords=coords)
    ds["first_power"] = (sp + ("quantile",), res["q"], {
        "units": "month", "long_name": "months from start_date to first power (among draws that energise)"})
    ds["full_power"] = (sp + ("quantile",), res["qf"], {
        "units": "month", "long_name": "months from start_date to the full target_mw (among draws that reach it)"})
    ds["prob_energised"] = (sp + ("month",), res["prob"], {"units": "1", "long_name": "probability of first power by month"})
    ds["mw_available"] = (sp + ("month",), res["mwa"], {"units": "MW", "long_name": "expected MW available by month"})
    ds["mw"] = (sp, prep.mw, {"units": "MW", "long_name": "MW the path delivers once complete"})
    ds["horizon"] = ("site", site_horizon, {"units": "month", "long_name": "horizon of the MW-months and P(never)"})
    ds["mw_months"] = (sp, res["mwm"], {"units": "MW-month", "long_name": "expected MW-months delivered by the horizon"})
    ds["mw_months_discounted"] = (sp, res["dmwm"], {
        "units": "MW-month", "long_name": f"expected MW-months by the horizon discounted at {discount_rate:g} per year"})
    if value_per_mw_month is not None:
        ds["value"] = (ds["mw_months_discounted"] * float(value_per_mw_month)).assign_attrs(
            units="USD", long_name=f"value of the MW-months at {value_per_mw_month:g} USD per MW-month, discounted "
                                   f"at {discount_rate:g} per year")
    ds["prob_not_energised"] = (sp, res["never"], {
        "units": "1", "long_name": "probability of no power within the histogram range (withdrawn or later)"})
    ds["prob_full_never"] = (sp, res["never_full"], {
        "units": "1", "long_name": "probability of not reaching the full target within the histogram range"})
    if not _lazy(ds):
        ds["prob_by"] = prob_energised_by(ds, BY_MONTHS).rename(by_month="by_month")
        h = np.clip(np.nan_to_num(site_horizon), 0, months)
        lo_m = np.minimum(np.floor(h).astype(int), months)
        hi_m = np.minimum(lo_m + 1, months)
        pe = ds["prob_energised"].values.astype(float)
        rows = np.arange(len(df))
        frac = (h - lo_m)[:, None]
        p_h = pe[rows, :, lo_m] * (1 - frac) + pe[rows, :, hi_m] * frac
        ds["prob_never"] = (sp, 1.0 - p_h, {"units": "1", "long_name": "probability of no first power within the horizon"})
    ds["available"] = (sp, prep.available, {"units": "1", "long_name": "path available to the site"})
    ds["unavailable_reason"] = (sp, prep.reason.astype(str), {"units": "1", "long_name": "why a path is unavailable"})
    sd = np.full((len(df), len(prep.stages), len(quantiles)), np.nan)
    for j, (dist, p50, p90, low, mode, high, vals, u0) in enumerate(prep.dist_params):
        qv = quantile_function(dist, p50=p50, p90=p90, low=low, mode=mode, high=high, values=vals,
                               u=u0 + (1 - u0) * quantiles)
        sd[prep.dist_id == j] = qv
    ds["stage_duration"] = (("site", "stage", "quantile"), sd,
                            {"units": "month", "long_name": "quantiles of each stage's duration (before site rules)"})
    ds["stage_row"] = (("site", "stage"), np.stack([prep.row_used[s] for s in prep.stages], axis=1).astype(str),
                       {"units": "1", "long_name": "region/size class of the stage-table row used"})
    ds["large_load_covers"] = ("site", prep.covers_used.astype(str),
                               {"units": "1", "long_name": "stages the large-load figure used already covers"})
    ds["input_default"] = (("site", "input"), prep.defaults.to_numpy(bool),
                           {"units": "1", "long_name": "the documented default was used for this input"})
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
    if not _lazy(ds):
        ds["best_path"] = best_path(ds, criterion, horizon=horizon)
        ds["fastest_path"] = fastest_path(ds)
        ds["most_mw_months_path"] = most_mw_months_path(ds)
    else:
        for v in ("best_path", "fastest_path", "most_mw_months_path"):
            ds[v] = xr.DataArray(np.full(len(df), "", object), dims="site").assign_attrs(
                units="1", criterion=criterion, note=f"call {v}(ds.compute())")
    ds.attrs.update({"title": "time to power", "start": str(start.date()), "horizon_months": horizon,
                     "criterion": criterion, "correlation": rho, "tornado_draws": t_draws,
                     "discount_rate_per_year": discount_rate,
                     "by_date": "" if by_date is None else str(pd.Timestamp(by_date).date()),
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
    avail = (ds["mw"].values > 0) & (ds["available"].values if "available" in ds else True)
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


def fastest_path(ds: xr.Dataset) -> xr.DataArray:
    """The available path with the earliest P50 first power, per site ('' if none)."""
    return best_path(ds, "p50").assign_attrs(long_name="fastest path to first power (P50)")


def most_mw_months_path(ds: xr.Dataset) -> xr.DataArray:
    """The available path with the most expected MW-months within the horizon, per site."""
    return best_path(ds, "mw_months").assign_attrs(long_name="path with the most MW-months within the horizon")


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
    for each path and ``np.quantile`` of the draws that energise.  Uncorrelated stages only.  The benchmark's baseline.
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
            dist, p50, p90, low, mode, high, vals, u0 = prep.dist_params[j]
            u = u0 + (1 - u0) * rng.random(draws)
            dur[name] = quantile_function(dist, p50=p50, p90=p90, low=low, mode=mode, high=high, values=vals, u=u)
        times = {}
        for p in PATH_GRAPHS:
            if any(p in c for c in prep.components):
                scales = {key: float(prep.node_scale[i, j]) for j, (pp, key) in enumerate(node_keys) if pp == p}
                shifts = {key: float(prep.node_shift[i, j]) for j, (pp, key) in enumerate(node_keys) if pp == p}
                times[p] = evaluate_graph(PATH_GRAPHS[p], dur, scales, shifts)
        for p, comps in enumerate(prep.components):
            live = [times[name] for c, name in enumerate(comps) if prep.mw_grid[i, p, c] + prep.mw_site[i, p, c] > 0]
            if live:
                t = np.minimum.reduce(live)
                t = t[t < 0.5 * NEVER]
                if t.size:
                    out[k, p] = np.quantile(t, quantiles)
    return out


