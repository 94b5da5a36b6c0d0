"""Running a :class:`~powerfirst.scenarios.Scenario`: every model, wired once.

:func:`run` reads the scenario's inputs (sites, weather, grid), runs each enabled section in
order and returns an :class:`xarray.DataTree` with one group per model:

========================  ============================================================
``/energy``               the energy cube of the sites (site x hourly typical year; lazy)
``/headroom``             flexible-load headroom of the sites' BAs (``ba`` x ``limit``)
``/time_to_power``        time to power per site and path, ``grid_flexible`` sized by
                          the BA headroom at ``headroom.flexible_limit``
``/dispatch``             dispatch summary per site and dispatch scenario, curtailment
                          events from the BA's hourly load where the grid has it
``/demand``               data-centre electricity by region, year and driver scenario
``/network``              the network plan (site x tier x year, point x tier x year) on the
                          siting screen's best candidates (:func:`run_network`)
========================  ============================================================

A group whose model could not run (no grid source for the headroom, a section disabled) is
present, empty, with a ``status`` attribute saying why.  Every group carries the provenance of
the run: powerfirst version, scenario name and hash, seed and the content hashes of the input
files (``input_hashes``, JSON).

This is the one place where the models are wired together; the CLI, the apps and the
notebooks call it (or the helpers below) instead of wiring them by hand.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence

import numpy as np
import xarray as xr

from powerfirst._provenance import provenance

__all__ = ["run", "run_siting", "run_network", "network_candidates", "siting_candidates", "GROUPS", "load_sites", "load_energy", "uses_demo_energy", "load_grid", "flexible_mw_by_ba", "dispatch_curtailment"]

#: result groups, in run order
GROUPS = ("energy", "headroom", "time_to_power", "dispatch", "demand", "siting", "network")


def load_sites(sc) -> xr.Dataset:
    """The scenario's site Dataset (``sites.source``, then ``sites.select``)."""
    from powerfirst.io.sites import read_sites
    from powerfirst.paths import demo_sites_path

    sites = read_sites(demo_sites_path() if sc.sites.source == "demo" else sc.sites.source)
    if sc.sites.select:
        have = set(map(str, sites["site"].values))
        missing = [s for s in sc.sites.select if s not in have]
        if missing:
            raise KeyError(f"sites.select: sites not in {sc.sites.source}: {', '.join(missing[:10])}")
        sites = sites.sel(site=list(sc.sites.select))
    return sites


def uses_demo_energy(sc) -> bool:
    """True when the scenario's energy cube is the cached demo cube: the demo sites with the default
    weather settings (no files, default year and station distance)."""
    w = sc.weather
    defaults = type(w)()
    return sc.sites.source == "demo" and not w.files and all(
        getattr(w, k) == getattr(defaults, k) for k in ("year", "max_station_km", "warn_station_km", "analogue",
                                                        "other_hemisphere"))


def load_energy(sc, sites: xr.Dataset) -> xr.Dataset:
    """The energy cube of ``sites`` (lazy): the cached demo cube for the demo sites with default
    weather, else built from the scenario's weather settings."""
    from powerfirst.cubes.energy import build_energy_cube

    if uses_demo_energy(sc):
        from powerfirst.cubes.default import load_demo_cubes

        _s, energy = load_demo_cubes()
        return energy.sel(site=sites["site"].values) if sc.sites.select else energy
    from powerfirst.io.weather import read_weather

    wx = read_weather(sc.weather.files) if sc.weather.files else None
    w = sc.weather
    return build_energy_cube(sites, wx, year=w.year, chunk_sites=w.chunk_sites, max_station_km=w.max_station_km,
                             warn_station_km=w.warn_station_km, analogue=w.analogue,
                             other_hemisphere=w.other_hemisphere)


def load_grid(sc, bas: Sequence[str] | None = None, *, progress: bool = False) -> xr.Dataset | None:
    """The grid cube of the scenario (``grid.source``) for ``bas`` (default ``grid.bas``), or None
    without a grid source.  BAs that the data does not hold are left out (the callers say so)."""
    if not sc.grid.source:
        return None
    from powerfirst.cubes.grid import open_grid

    want = list(sc.grid.bas) or (list(bas) if bas is not None else None)
    grid = open_grid(sc.grid.source, None, tuple(sc.grid.years), progress=progress, screen=sc.grid.screen) \
        if want is None else _open_some(sc, want, progress)
    return grid


def _open_some(sc, want, progress):
    from powerfirst.cubes.grid import open_grid
    from powerfirst.io.eia930_releases import NORRIS_BAS, is_release_folder

    # the releases hold a known set of BAs; read only those the sites need and the data has
    if is_release_folder(sc.grid.source):
        want = [b for b in want if b in NORRIS_BAS] or list(NORRIS_BAS)
        return open_grid(sc.grid.source, want, tuple(sc.grid.years), progress=progress, screen=sc.grid.screen)
    grid = open_grid(sc.grid.source, None, tuple(sc.grid.years), progress=progress, screen=sc.grid.screen)
    keep = [b for b in want if b in set(map(str, grid["ba"].values))]
    return grid.sel(ba=keep) if keep else grid


def flexible_mw_by_ba(headroom: xr.Dataset | None, sites: xr.Dataset, limit: float,
                      default_fraction: float | None = None) -> dict[str, float] | None:
    """Flexible MW shared by the sites of each BA for the ``grid_flexible`` path [MW]: the BA's
    headroom at ``limit`` where the headroom has the BA, else the default share of the sites'
    unmet MW (:data:`powerfirst.models.time_to_power.DEFAULT_FLEXIBLE_FRACTION`)."""
    if headroom is None:
        return None
    from powerfirst.models.time_to_power import DEFAULT_FLEXIBLE_FRACTION

    frac = DEFAULT_FLEXIBLE_FRACTION if default_fraction is None else default_fraction
    site_bas = np.asarray(sites["ba"].values).astype(str)
    have = set(map(str, headroom["ba"].values))
    unmet = np.maximum(sites["target_mw"].values - sites["firm_headroom_mw"].values, 0.0)
    out = {b: float(headroom["headroom"].sel(ba=b, limit=limit)) for b in sorted(set(site_bas) & have)}
    for b in sorted(set(site_bas) - have):
        out[b] = float(frac * unmet[site_bas == b].sum())
    return out


def dispatch_curtailment(grid: xr.Dataset | None, bas, time, *, limit: float, fill: str = "stylised"):
    """Curtailed fraction [1] of every BA on the typical year: the BA's real curtailment events
    where the grid cube has its load, else stylised events (``fill='stylised'``, illustrative) or
    none (``fill='none'``); see :func:`powerfirst.models.dispatch.curtailment_for`."""
    from powerfirst.models.dispatch import curtailment_for

    return curtailment_for(bas, time, None if grid is None else grid["demand"], limit=limit, fill=fill)


def _skipped(reason: str) -> xr.Dataset:
    return xr.Dataset(attrs={"status": f"skipped: {reason}"})


@contextlib.contextmanager
def _stage(name: str, bar):
    if bar is not None:
        bar.set_description(f"{name:<14}")
    yield
    if bar is not None:
        bar.update(1)


def run(sc, client=None, progress: bool = True, *, only: Sequence[str] | None = None) -> xr.DataTree:
    """Run the scenario's models; return their results as one DataTree (see the module docstring).

    Parameters
    ----------
    sc : Scenario
        The scenario.
    client : dask.distributed.Client, optional
        Run the Dask computations on this client (e.g. :func:`powerfirst.compute.client`).
    progress : bool
        A progress bar on stderr, one step per model.
    only : list of str, optional
        Groups to run (default all of :data:`GROUPS`); the others are present and marked skipped.

    Returns
    -------
    xarray.DataTree
        Groups ``/energy``, ``/headroom``, ``/time_to_power``, ``/dispatch``, ``/demand``; the root
        holds the scenario YAML (attr ``scenario_yaml``) and the provenance.
    """
    only = set(GROUPS if only is None else only)
    unknown = only - set(GROUPS)
    if unknown:
        raise KeyError(f"unknown result groups {sorted(unknown)}; expected some of {', '.join(GROUPS)}")
    label = provenance(scenario=sc.name, scenario_hash=sc.hash, seed=sc.seed,
                       input_hashes=json.dumps(sc.input_hashes(), sort_keys=True))
    ctx = client.as_current() if client is not None else contextlib.nullcontext()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(GROUPS), file=sys.stderr, unit="model", leave=True)
    out: dict[str, xr.Dataset] = {}
    try:
        with ctx:
            out = _run_groups(sc, only, bar)
    finally:
        if bar is not None:
            bar.close()
    tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs={**label, "scenario_yaml": sc.to_yaml(),
                                                         "title": f"powerfirst results of scenario {sc.name}"})}
                                 | {f"/{k}": _labelled(out[k], label) for k in GROUPS})
    return tree


def _labelled(ds: xr.Dataset, label: dict) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs.update(label)
    return ds


def _run_groups(sc, only: set, bar) -> dict[str, xr.Dataset]:
    out: dict[str, xr.Dataset] = {}
    sites = load_sites(sc) if only & {"energy", "headroom", "time_to_power", "dispatch"} else None
    energy = None
    with _stage("energy", bar):
        if only & {"energy", "dispatch"}:
            energy = load_energy(sc, sites)
        out["energy"] = energy if "energy" in only else _skipped("not requested")

    site_bas = sorted(set(np.asarray(sites["ba"].values).astype(str))) if sites is not None else []
    grid = None
    with _stage("headroom", bar):
        headroom = None
        if "headroom" not in only:
            out["headroom"] = _skipped("not requested")
        elif not sc.headroom.enabled:
            out["headroom"] = _skipped("headroom.enabled is false")
        elif not sc.grid.source:
            out["headroom"] = _skipped("no grid data (set grid.source to EIA-930 files or the cleaned releases)")
        else:
            from powerfirst.models.headroom import flexible_headroom

            grid = load_grid(sc, site_bas)
            bas = [b for b in site_bas if b in set(map(str, grid["ba"].values))]
            if not bas:
                out["headroom"] = _skipped(f"the grid data holds none of the sites' BAs ({', '.join(site_bas)})")
            else:
                limits = sorted(set(map(float, sc.headroom.limits)) | {float(sc.headroom.flexible_limit)})
                headroom = flexible_headroom(grid["demand"].sel(ba=bas), limits, threshold=sc.headroom.rule)
                missing = sorted(set(site_bas) - set(bas))
                headroom.attrs["bas_without_grid_data"] = ", ".join(missing)
                out["headroom"] = headroom

    with _stage("time to power", bar):
        if "time_to_power" not in only:
            out["time_to_power"] = _skipped("not requested")
        elif not sc.time_to_power.enabled:
            out["time_to_power"] = _skipped("time_to_power.enabled is false")
        else:
            from powerfirst.models.time_to_power import time_to_power

            t = sc.time_to_power
            out["time_to_power"] = time_to_power(
                sites, t.paths, draws=t.draws, seed=sc.seed, correlation=t.correlation, start=t.start,
                months=t.months, horizon=t.horizon, bridge_technology=t.bridge_technology, tornado=False,
                by_date=t.by_date, value_per_mw_month=t.value_per_mw_month, discount_rate=t.discount_rate,
                withdrawal=t.withdrawal,
                flexible_mw=flexible_mw_by_ba(headroom, sites, sc.headroom.flexible_limit))

    with _stage("dispatch", bar):
        if "dispatch" not in only:
            out["dispatch"] = _skipped("not requested")
        elif not sc.dispatch.enabled:
            out["dispatch"] = _skipped("dispatch.enabled is false")
        else:
            from powerfirst.models.dispatch import dispatch

            if grid is None and sc.grid.source:
                grid = load_grid(sc, site_bas)
            e = energy[["solar_cf", "wind_cf", "pue", "carbon_intensity"]].load()
            bas = sorted(set(map(str, e["ba"].values))) if "ba" in e.coords else site_bas
            curt = dispatch_curtailment(grid, bas, e.indexes["time"], limit=sc.headroom.flexible_limit)
            ds = dispatch(e, sites, dict(sc.dispatch.scenarios), curtailment=curt, hourly=sc.dispatch.hourly,
                          window_hours=sc.dispatch.window_hours)
            ds = ds.assign_coords(curtailment_source=("ba", curt["curtailment_source"].values)) \
                if "ba" in ds.dims else ds
            out["dispatch"] = ds

    with _stage("demand", bar):
        if "demand" not in only:
            out["demand"] = _skipped("not requested")
        elif not sc.demand.enabled:
            out["demand"] = _skipped("demand.enabled is false")
        else:
            from powerfirst.models.forecast import demand_cube
            from powerfirst.models.forecast.annual import REGIONS

            d = sc.demand
            regions = list(d.regions) or list(REGIONS)
            out["demand"] = demand_cube(list(d.scenarios), regions, tuple(range(d.years[0], d.years[1] + 1)))

    with _stage("siting", bar):
        if "siting" not in only:
            out["siting"] = _skipped("not requested")
        elif not sc.siting.enabled:
            out["siting"] = _skipped("siting.enabled is false")
        else:
            out["siting"] = run_siting(sc, headroom, sites=sites)

    with _stage("network", bar):
        if "network" not in only:
            out["network"] = _skipped("not requested")
        elif not sc.network.enabled:
            out["network"] = _skipped("network.enabled is false")
        else:
            scr = out.get("siting")
            out["network"] = run_network(sc, scr if scr is not None and "site" in scr.dims else None,
                                         headroom=headroom, sites=sites)
    return out


def siting_candidates(sc, sites=None):
    """The candidates of the scenario's siting section (annotated with country, state, county, BA)."""
    from powerfirst.models import siting

    s = sc.siting
    if s.candidates == "region":
        cands = siting.grid_candidates(s.region, s.resolution, max_candidates=s.max_candidates)
    elif s.candidates == "plants":
        cands = siting.plant_candidates(s.min_plant_mw)
    elif s.candidates == "datacentres":
        cands = siting.datacentre_candidates()
    else:
        cands = siting.site_candidates(sites if sites is not None else load_sites(sc))
    return siting.annotate(cands)


def run_siting(sc, headroom: xr.Dataset | None = None, *, sites=None, client=None, progress: bool = False,
               should_stop=None) -> xr.Dataset:
    """The siting screen of a scenario: the headroom model's BA headroom at ``headroom.flexible_limit``
    where the scenario has grid data, else the published headroom (Norris et al. 2025).
    ``should_stop``: the screen's stop and progress hook (:func:`powerfirst.models.siting.screen`)."""
    from powerfirst.models import siting

    s = sc.siting
    settings = siting.ScreenSettings(tier=s.tier, curtailment_limit=float(sc.headroom.flexible_limit), draws=s.draws,
                                     seed=sc.seed, top_k=s.top_k, horizon=float(sc.time_to_power.horizon),
                                     start=s.start, target_mw=s.target_mw, weight_range=s.weight_range,
                                     paths=tuple(siting.SCREEN_PATHS))
    ctx = siting.load_context(float(sc.headroom.flexible_limit))
    if headroom is not None and "headroom" in headroom:
        import dataclasses

        computed = {str(b): float(headroom["headroom"].sel(ba=b, limit=float(sc.headroom.flexible_limit)))
                    for b in headroom["ba"].values}
        ctx = dataclasses.replace(ctx, headroom={**ctx.headroom, **computed})
    return siting.screen(siting_candidates(sc, sites), settings=settings, weights=s.weights, client=client,
                         chunk=s.chunk, ctx=ctx, progress=progress, should_stop=should_stop)


# ---------------------------------------------------------------------------------------------- network

#: per-site variables of a screen the network plan keeps as site coordinates (screen name -> plan name)
_SCREEN_COORDS = {"rank": "site_screen_rank", "score": "site_screen_score",
                  "score_time_to_power": "site_score_time_to_power", "candidate_region": "site_candidate_region"}


def _screen_frame(ds: xr.Dataset):
    """The per-site variables and coordinates of a screen as a frame (one row per candidate)."""
    import pandas as pd

    cols = {"site": ds["site"].values.astype(str)}
    for v in list(ds.coords) + list(ds.data_vars):
        if v != "site" and ds[v].dims == ("site",):
            cols[v] = ds[v].values
    return pd.DataFrame(cols)


#: per-site layers the plan needs of every candidate (its place and its energy cost)
_PLAN_LAYERS = ("lat", "lon", "price", "carbon_intensity")


def _best(df, top_n: int):
    """The ``top_n`` best-ranked candidates that are not excluded and have every layer the plan needs
    (:data:`_PLAN_LAYERS`; ties kept in the screen's order), and the number of better-ranked
    candidates passed over for a missing layer, by layer."""
    import pandas as pd

    ok = ~df["excluded"].astype(bool) if "excluded" in df else pd.Series(True, index=df.index)
    rank = pd.to_numeric(df["rank"], errors="coerce") if "rank" in df else pd.Series(range(len(df)), index=df.index,
                                                                                        dtype=float)
    ranked = df[ok & rank.notna()].assign(_r=rank).sort_values("_r", kind="stable").drop(columns="_r")
    missing = pd.DataFrame({c: ~np.isfinite(pd.to_numeric(ranked[c], errors="coerce").to_numpy(float))
                            if c in ranked else np.ones(len(ranked), bool) for c in _PLAN_LAYERS}, index=ranked.index)
    usable = ~missing.any(axis=1)
    keep = ranked[usable].head(int(top_n))
    if len(keep):
        passed = missing.iloc[:ranked.index.get_loc(keep.index[-1]) + 1] if len(keep) == int(top_n) else missing
        skipped = {c: int(passed[c].sum()) for c in _PLAN_LAYERS if passed[c].any()}
    else:
        skipped = {c: int(missing[c].sum()) for c in _PLAN_LAYERS if missing[c].any()}
    return keep, skipped


def network_candidates(sc, screen: xr.Dataset | None = None, *, headroom: xr.Dataset | None = None, sites=None,
                       progress: bool = False):
    """The candidates of the scenario's network plan, one row per site (the screen's per-site layers).

    With ``network.candidate_regions`` each region's H3 grid (at ``siting.resolution``) is screened
    with the siting section's settings and its ``network.top_n`` best-ranked candidates are kept;
    otherwise the ``top_n`` best of ``screen`` (the siting group's result), or of the screen the
    siting section describes.  Excluded candidates are never kept, nor candidates without a layer the
    plan needs to cost them (a price and a carbon intensity, e.g. a cell the screen placed in no
    BA): they are passed over for the next-ranked, with a warning, and counted in the frame's
    ``attrs["passed_over"]`` (the plan's ``candidates_passed_over``).

    Returns
    -------
    (pandas.DataFrame, dict)
        The kept candidates (column ``candidate_region`` says which screen each comes from) and
        the number of candidates screened per screen.
    """
    import pandas as pd

    from powerfirst.errors import Problem, ValidationError

    n = sc.network
    screens = {}
    if n.candidate_regions:
        for region in n.candidate_regions:
            one = sc.copy(**{"siting.candidates": "region", "siting.region": str(region)})
            screens[str(region)] = run_siting(one, headroom, progress=progress)
    else:
        label = sc.siting.region if sc.siting.candidates == "region" else sc.siting.candidates
        screens[str(label)] = screen if screen is not None else run_siting(sc, headroom, sites=sites,
                                                                          progress=progress)
    frames, screened, skipped = [], {}, {}
    for label, ds in screens.items():
        screened[label] = int(ds.sizes["site"])
        keep, passed = _best(_screen_frame(ds), n.top_n)
        frames.append(keep.assign(candidate_region=label))
        if passed:
            skipped[label] = passed
    if skipped:
        import warnings

        warnings.warn("better-ranked candidates without a layer the plan needs were passed over (the plan costs a "
                      "site by its price and carbon intensity): " + "; ".join(
                          f"{r}: " + ", ".join(f"{v} without {c}" for c, v in d.items()) for r, d in skipped.items()),
                      UserWarning, stacklevel=2)
    df = pd.concat(frames, ignore_index=True)
    if df.empty:
        raise ValidationError(Problem(f"no candidates left to plan: every screened candidate is excluded or unranked "
                                      f"({', '.join(f'{k}: {v:,} screened' for k, v in screened.items())})",
                                      column="network.top_n"), what="network candidates")
    dup = df["site"].duplicated()
    if dup.any():  # a cell on a border of two candidate regions: keep its first screen
        df = df[~dup].reset_index(drop=True)
    df.attrs["screened"] = dict(screened)
    df.attrs["passed_over"] = {r: dict(d) for r, d in skipped.items()}
    return df, screened


def _sovereignty_problems(ruled, free, rule: str) -> list:
    """Problems naming the demand (by country and tier) that the instance without a rule (``free``)
    could serve and the instance under ``rule`` (``ruled``) cannot, with the reason under the rule."""
    from powerfirst.errors import Problem

    before = set(zip(free.infeasible["point"], free.infeasible["tier"], strict=True))
    rep = ruled.infeasible
    rep = rep[[(p, t) not in before for p, t in zip(rep["point"], rep["tier"], strict=True)]]
    probs = []
    for (tier, reason), g in rep.groupby(["tier", "reason"], sort=True):
        by = g.groupby("country")["peak_mw"].agg(["size", "sum"]).sort_values("sum", ascending=False)
        countries = ", ".join(f"{c} {int(r['size'])}" for c, r in by.iterrows())
        n = len(g)
        probs.append(Problem(f"{tier} demand of {n} point{'s' if n != 1 else ''} ({g['peak_mw'].sum():,.1f} MW peak; "
                             f"points by country: {countries}) could be served without the rule, not under it: "
                             f"{reason}", column="network.sovereignty"))
    return probs


def run_network(sc, screen: xr.Dataset | None = None, *, candidates=None, headroom: xr.Dataset | None = None,
                sites=None, progress: bool = False, cancel=None) -> xr.Dataset:
    """The network plan of a scenario (the ``network`` section).

    Demand (:func:`powerfirst.models.network.demand_points`) is built first, so a year outside
    the demand cube fails before anything is screened; then the candidates
    (:func:`network_candidates`), their supply by year (:func:`powerfirst.models.network.site_supply`,
    time to power from ``network.start``), and the plan
    (:func:`powerfirst.models.network.plan_network`).

    Parameters
    ----------
    sc : Scenario
    screen : xarray.Dataset, optional
        The siting group's screen (default: screened here from the siting section).
    candidates : pandas.DataFrame, optional
        The kept candidates of :func:`network_candidates` (to plan variants of a scenario that
        share its candidates without screening again).
    headroom : xarray.Dataset, optional
        The headroom group's result (the screen's BA headroom where the scenario has grid data).
    cancel : threading.Event, optional
        Set from another thread to stop the plan: checked between the steps and inside the
        solver (:func:`powerfirst.models.network.solve_network`); then
        :class:`~powerfirst.errors.Cancelled` is raised.

    Returns
    -------
    xarray.Dataset
        The plan (:func:`powerfirst.models.network.plan_dataset`) with the average demand of every
        point (``demand_mw``, point x tier x year [MW]), the MW every site can count on
        (``available_mw``, site x year [MW]) and the candidates' screen rank, score and
        time-to-power pillar score as site coordinates; attrs add the scenario, the candidate
        regions and the number of candidates screened and passed over.

    Raises
    ------
    ValidationError
        A year outside the demand cube (or before its projection), no candidate left, no candidate
        with power for one module in any plan year at the confidence, or (``sovereignty_infeasible:
        error``) demand the candidates could serve without the sovereignty rule and cannot under it
        (no allowed site within its cap, none with power for a module of the tier, or a single one
        where N-1 needs two).
    """
    import warnings

    from powerfirst.errors import Cancelled, Problem, ValidationError
    from powerfirst.models.network import build_instance, demand_points, plan_network, site_supply

    n = sc.network
    years = [int(y) for y in n.years]
    dem = demand_points(list(n.regions), years, scenario=n.demand_scenario, resolution=int(n.resolution),
                        split=n.split, peak_to_average=n.peak_to_average, market_share=float(n.market_share),
                        conventional_tier=n.conventional_tier, countries=list(n.countries) or None)
    if candidates is None:
        cands, screened = network_candidates(sc, screen, headroom=headroom, sites=sites, progress=progress)
        skipped = cands.attrs.get("passed_over", {})
    else:
        cands = candidates
        skipped = cands.attrs.get("passed_over", {})
        screened = cands.attrs.get("screened") or (
            cands.groupby("candidate_region", sort=False).size().to_dict() if "candidate_region" in cands
            else {"given": len(cands)})
    Cancelled.check(cancel, "the network plan was cancelled (after the demand points and the candidates)")
    start = n.start or sc.siting.start
    sup = site_supply(cands, years, confidence=float(n.confidence), carbon_price=n.carbon_price, start=start,
                      ttp_draws=int(n.ttp_draws), seed=int(sc.seed))
    module = sup["module_mw"].values.astype(float)
    if not (sup["available_mw"].values >= module.min()).any():
        best = float(sup["available_mw"].values.max())
        raise ValidationError(Problem(
            f"none of the {sup.sizes['site']} candidates has power for one module ({module.min():g} MW) by the end of "
            f"any plan year ({', '.join(map(str, years))}) at confidence {n.confidence:g} from a start on {start} (most "
            f"MW of any candidate: {best:g}); plan later years, start earlier (network.start) or lower "
            "network.confidence", column="network.years"), what="network supply (time to power)")
    if n.sovereignty != "none" and n.sovereignty_infeasible == "error":
        kw = {"caps": n.caps, "max_sites_per_point": n.max_sites_per_point, "warn": False}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ruled = build_instance(dem, sup, sovereignty=n.sovereignty, **kw)
            free = build_instance(dem, sup, sovereignty="none", **kw)
        probs = _sovereignty_problems(ruled, free, n.sovereignty)
        if probs:
            raise ValidationError(probs + [Problem("add candidates in an allowed jurisdiction (network.candidate_regions, "
                                                   "network.top_n), choose another rule, or set "
                                                   "network.sovereignty_infeasible: unserved to plan that demand as "
                                                   "unserved", column="network.sovereignty_infeasible")],
                                  what=f"network plan: the '{n.sovereignty}' sovereignty rule is infeasible")
    Cancelled.check(cancel, "the network plan was cancelled (after the time to power of the candidates)")
    plan = plan_network(dem, sup, sovereignty=n.sovereignty, objective=n.objective, carbon_cap=n.carbon_cap,
                        min_work_per_kwh=n.min_work_per_kwh, caps=n.caps, max_sites_per_point=n.max_sites_per_point,
                        mip_gap=float(n.mip_gap), time_limit=n.time_limit, threads=int(n.threads), method=n.method,
                        cancel=cancel)
    plan["demand_mw"] = (("point", "tier", "year"),
                         dem["average_mw"].sel(point=plan["point"].values, tier=plan["tier"].values,
                                               year=plan["year"].values).transpose("point", "tier", "year").values,
                         {"units": "MW", "long_name": "average demand of the point"})
    plan["available_mw"] = (("site", "year"), sup["available_mw"].sel(site=plan["site"].values,
                                                                     year=plan["year"].values).values,
                            {"units": "MW", "long_name": f"MW available at confidence {n.confidence:g} (supply)"})
    c = cands.set_index("site").reindex(plan["site"].values)
    for col, name in _SCREEN_COORDS.items():
        if col in c:
            vals = c[col].to_numpy()
            plan.coords[name] = ("site", vals.astype(str) if col == "candidate_region" else vals.astype(float))
    if "site_screen_score" in plan.coords:
        plan["site_screen_score"].attrs.update(units="1", long_name=f"siting score, {sc.siting.tier} tier")
    plan.attrs.update(scenario=sc.name, scenario_hash=sc.hash, seed=int(sc.seed), demand_scenario=n.demand_scenario,
                      market_share=float(n.market_share), siting_tier=sc.siting.tier,
                      candidate_regions=",".join(screened), top_n=int(n.top_n),
                      candidates_screened=", ".join(f"{k}: {v}" for k, v in screened.items()), start=str(start),
                      candidates_passed_over="; ".join(f"{r}: " + ", ".join(f"{v} without {c}" for c, v in d.items())
                                                       for r, d in skipped.items()))
    return plan
