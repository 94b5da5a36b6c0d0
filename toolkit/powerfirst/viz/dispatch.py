"""Views of the site dispatch: a site's dispatch stack for a week, the sizing trade-off, the VPP.

Each takes the Datasets of :mod:`powerfirst.models.dispatch`, :mod:`~powerfirst.models.dispatch.sizing`
or :mod:`~powerfirst.models.dispatch.vpp` and returns a HoloViews object; none holds state.
"""

from __future__ import annotations

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot)
import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["week_frame", "dispatch_stack", "tradeoff_frame", "sizing_tradeoff_plot", "vpp_duration_curve",
           "vpp_bars", "summary_frame", "summary_table", "SUMMARY_FIGURES", "SUPPLY_ORDER"]

#: stacked supply, bottom to top, with colours
SUPPLY_ORDER = {
    "renewables used": "#f2b701", "grid": "#5b8db8", "storage discharge": "#3aa655",
    "on-site generation": "#c4512d", "deferred": "#a77bca", "unserved": "#222222",
}


def week_frame(ds: xr.Dataset, site: str, scenario: str, week: int = 0) -> pd.DataFrame:
    """Hourly supply of one site, scenario and week [MW] (``ds`` from ``dispatch(..., hourly=True)``)."""
    h = ds.sel(site=site, scenario=scenario)
    T = h.sizes["time"]
    a = int(np.clip(week, 0, max(T // 168 - 1, 0))) * 168
    sl = slice(a, min(a + 168, T))

    def v(name):
        return np.asarray(h[name].values[sl], dtype=float)

    # the stack sums to what the site consumes: load + storage charging + deferred load made up
    df = pd.DataFrame({
        "time": pd.DatetimeIndex(h["time"].values[sl]),
        "renewables used": v("renewable") - v("spill"),
        "grid": v("grid"), "storage discharge": v("discharge"), "on-site generation": v("onsite_generation"),
        "deferred": v("defer"), "unserved": v("unserved"),
        "facility load": v("facility_load"), "load + charging": v("facility_load") + v("charge") + v("make_up"),
        "grid limit": v("grid_limit"), "state of charge": v("soc"),
    })
    return df


def dispatch_stack(ds: xr.Dataset, site: str, scenario: str, week: int = 0, *, height: int = 340) -> hv.Overlay:
    """Stacked supply of one site for a week (renewables, grid, storage, generation, deferral, unserved) [MW], with
    the facility load, load plus storage charging (what the stack adds up to) and the grid limit, whose dips are
    the curtailment events."""
    df = week_frame(ds, site, scenario, week)
    cols = list(SUPPLY_ORDER)
    area = df.hvplot.area(x="time", y=cols, stacked=True, color=list(SUPPLY_ORDER.values()), alpha=0.85,
                          line_width=0, height=height, responsive=True, ylabel="MW", xlabel="",
                          legend="right")
    kw = dict(x="time", height=height, responsive=True)
    charge = df.hvplot.line(y="load + charging", label="load + charging", color="#3aa655", line_dash="dotted",
                            line_width=1.5, **kw)
    load = df.hvplot.line(y="facility load", label="facility load", color="black", line_width=1.5, **kw)
    limit = df.hvplot.step(y="grid limit", label="grid limit", color="#5b8db8", line_dash="dashed", line_width=1.2,
                           **kw)
    first = pd.Timestamp(df["time"].iloc[0]).date()
    return (area * charge * load * limit).opts(title=f"{site} / {scenario}: dispatch, week of {first}",
                                               show_legend=True, legend_position="right")


#: the headline figures of a site and scenario: variable -> (label with unit, factor); the figures and
#: units of ``powerfirst dispatch`` (:func:`powerfirst.scenarios.report.dispatch_records`)
SUMMARY_FIGURES = {
    "facility_demand": ("facility demand [MWh]", 1), "unserved_energy": ("unserved [MWh]", 1),
    "unserved_hours": ("unserved [h]", 1), "grid_import": ("grid [MWh]", 1), "grid_import_peak": ("grid peak [MW]", 1),
    "curtailment_energy": ("curtailed [MWh]", 1), "curtailment_ridden_through": ("curtailment ridden through [MWh]", 1),
    "storage_cycles": ("storage cycles [1]", 1), "generation_energy": ("generation [MWh]", 1),
    "generation_hours": ("generation [h]", 1), "renewable_self_consumption": ("self-consumption [1]", 1),
    "total_cost": ("total cost [MUSD]", 1e-6), "emissions": ("emissions [ktCO2]", 1e-3),
    "carbon_free_share": ("carbon-free share [1]", 1), "it_energy_per_grid_energy": ("IT MWh per grid MWh [1]", 1),
}


def summary_frame(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """Headline figures of one site, one row per scenario, with units in the column names: every figure
    of ``powerfirst dispatch`` (:data:`SUMMARY_FIGURES`), rounded to 3 decimals."""
    sub = ds.sel(site=site)
    rows = {"scenario": [str(s) for s in sub["scenario"].values]}
    for k, (label, f) in SUMMARY_FIGURES.items():
        if k in sub:
            rows[label] = np.round(np.asarray(sub[k].values, dtype=float) * f, 3)
    return pd.DataFrame(rows)


def summary_table(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """The figures of :func:`summary_frame` turned for reading: one row per figure (``figure``, unit in
    its name), one column per scenario, each row written to about three significant figures of its
    values with thousands separators (:func:`powerfirst.viz._format.format_number`)."""
    from powerfirst.viz._format import decimals, format_number

    df = summary_frame(ds, site).set_index("scenario")
    out = {"figure": list(df.columns)}
    n = {c: decimals(df[c].to_numpy()) for c in df.columns}
    for sc in df.index:
        out[str(sc)] = [format_number(df.loc[sc, c], n[c]) for c in df.columns]
    return pd.DataFrame(out)


def tradeoff_frame(tr: xr.Dataset, site: str) -> pd.DataFrame:
    """The sizing trade-off of one site: MW connected flexibly against storage and generation needed."""
    sub = tr.sel(site=site)
    return pd.DataFrame({
        "flexible MW": sub["flexible_mw"].values, "connected MW": sub["connected_mw"].values,
        "storage MWh needed": sub["storage_mwh_needed"].values, "storage MW needed": sub["storage_mw_needed"].values,
        "generation MW needed": sub["gas_mw_needed"].values,
    })


def sizing_tradeoff_plot(tr: xr.Dataset, site: str, *, height: int = 300) -> hv.Overlay:
    """MW connected earlier on a flexible connection against the storage (MWh) or on-site generation (MW) that
    keeps unserved energy under the target (missing points: none of the sizes tried does).

    The x-axis runs over the flexible MW tried for the site (0 to the largest, so a 19 MW site is drawn
    on 0-19 MW); the legend sits right of the plot, off the curves."""
    df = tradeoff_frame(tr, site)
    x = df["flexible MW"].to_numpy(float)
    x0, x1 = (float(np.nanmin(x)), float(np.nanmax(x))) if np.isfinite(x).any() else (0.0, 1.0)
    if x1 <= x0:
        x1 = x0 + max(abs(x0), 1.0)
    target = tr.attrs.get("unserved_target", float("nan"))
    kw = dict(x="flexible MW", height=height, responsive=True)
    sto = df.hvplot.line(y="storage MWh needed", label="storage MWh needed", color="#3aa655", **kw)
    gas = df.hvplot.line(y="generation MW needed", label="generation MW needed", color="#c4512d", **kw)
    pts = (df.hvplot.scatter(y="storage MWh needed", color="#3aa655", size=40, **kw)
           * df.hvplot.scatter(y="generation MW needed", color="#c4512d", marker="square", size=40, **kw))
    return (sto * gas * pts).opts(title=f"{site}: flexible MW against what keeps unserved energy under {target:.2%}",
                            ylabel="storage MWh / generation MW", xlabel="MW connected on a flexible connection [MW]",
                            legend_position="right", xlim=(x0, x1), framewise=True)


def vpp_duration_curve(load: np.ndarray, reduction_mw: float, *, top: int = 300, ba: str = "",
                       height: int = 300) -> hv.Overlay:
    """The BA's top hours (load duration curve) and the cap the fleet holds [MW]."""
    srt = np.sort(np.asarray(load, dtype=float))[::-1][:top]
    df = pd.DataFrame({"hour rank": np.arange(1, srt.size + 1), "BA load [MW]": srt,
                       "with the VPP [MW]": np.minimum(srt, srt[0] - reduction_mw)})
    called = int((srt > srt[0] - reduction_mw + 1e-9).sum())
    kw = dict(x="hour rank", height=height, responsive=True)
    a = df.hvplot.line(y="BA load [MW]", color="#555555", **kw)
    b = df.hvplot.line(y="with the VPP [MW]", color="#3aa655", line_width=2.5, **kw)
    return (a * b).opts(title=f"{ba}: peak cut by {reduction_mw:,.0f} MW, fleet called {called} h a year",
                         ylabel="MW", xlabel="hours of the year, highest load first")


def vpp_bars(vpp: xr.Dataset, scenario: str | None = None, *, height: int = 300) -> hv.Bars:
    """Peak reduction [MW] each BA's fleet holds (``vpp`` from :func:`powerfirst.models.dispatch.vpp.vpp_peak_reduction`)."""
    sub = vpp.isel(scenario=0) if scenario is None else vpp.sel(scenario=scenario)
    df = pd.DataFrame({"BA": [str(b) for b in sub["ba"].values], "peak reduction [MW]": sub["peak_reduction_mw"].values,
                       "hours called": sub["hours_called"].values, "share of peak": sub["peak_reduction_share"].values})
    return df.sort_values("peak reduction [MW]").hvplot.barh(
        x="BA", y="peak reduction [MW]", hover_cols=["hours called", "share of peak"], height=height,
        responsive=True, title="VPP: peak reduction each BA's sites can hold", xlabel="")
