"""Views of the time-to-power result: every site x path at a glance, one site's energisation-date
fan, its MW ramp per path and the tornado of its stages, the stage rows behind a path and the
withdrawal fit per market.

Each takes the result Dataset of :func:`powerfirst.models.time_to_power.time_to_power` (and, for
the tables of sources, the stage and region tables of :mod:`powerfirst.io.stages`) and returns a
HoloViews object or a pandas DataFrame; none holds state.  A path a site cannot take shows the
model's ``unavailable_reason`` where a number would stand, never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv
import hvplot.pandas  # noqa: F401  (loads the Bokeh extension, registers .hvplot)
import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = ["METRICS", "NO_POWER", "NOT_FULL", "all_sites_frame", "path_column", "sort_sites", "all_sites_styles",
           "site_frame", "fan_frame", "energisation_fan", "energisation_cdf", "ramp_frame", "mw_ramp",
           "tornado_frame", "tornado_chart", "stage_row_frame", "withdrawal_share", "withdrawal_fit_frame"]

#: what the path cells of :func:`all_sites_frame` can show: result variable, label, unit
METRICS = {
    "p50": ("first_power", "P50 months from start_date to first power", "month"),
    "prob_never": ("prob_never", "P(no first power within the horizon)", "1"),
    "mw_months": ("mw_months", "expected MW-months delivered by the horizon", "MW-month"),
}
#: text of an available path none of whose draws energises within the histogram range
NO_POWER = "no power in any draw (withdrawn or beyond the histogram range)"
#: text of a path that never reaches the site's full target_mw (its MW are below it, or no draw gets there)
NOT_FULL = "target_mw not reached"
#: cell styles of the all-sites table
FASTEST_STYLE = "background-color: #c7e9c0; font-weight: bold"
MOST_MW_MONTHS_STYLE = "color: #08519c; text-decoration: underline"
REASON_STYLE = "color: #737373; font-style: italic"
#: months per day-count month (the model's convention)
MONTH_DAYS = 30.4375
_DIGITS = {"p50": 1, "prob_never": 3, "mw_months": 0}


# ---------------------------------------------------------------------------------------- checks


def _check_result(ds, need: Sequence[str], what: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise ValidationError([Problem(f"expected the xarray.Dataset of powerfirst.models.time_to_power."
                                       f"time_to_power, found {type(ds).__name__}")], what=what)
    missing = [v for v in need if v not in ds.variables]
    if missing:
        raise ValidationError([Problem(f"the result has no variable {v!r} (expected the Dataset of "
                                       "powerfirst.models.time_to_power.time_to_power)", variable=v)
                               for v in missing], what=what)


def _check_site(ds: xr.Dataset, site, what: str) -> str:
    site = str(site)
    sites = ds["site"].values.astype(str)
    if site not in set(sites):
        raise ValidationError([Problem(f"no site {site!r} in the result; expected one of "
                                       f"{', '.join(sites[:8])}{' ...' if len(sites) > 8 else ''}", site=site)],
                              what=what)
    return site


def _check_path(ds: xr.Dataset, path, what: str) -> str:
    path = str(path)
    paths = ds["path"].values.astype(str)
    if path not in set(paths):
        raise ValidationError([Problem(f"no path {path!r} in the result; expected one of {', '.join(paths)}",
                                       variable="path")], what=what)
    return path


def _check_metric(metric: str, what: str) -> str:
    if metric not in METRICS:
        raise ValidationError([Problem(f"metric: expected one of {', '.join(METRICS)}, found {metric!r}")],
                              what=what)
    return metric


def _reason(ds: xr.Dataset, site: str, path: str) -> str:
    """Why ``path`` is unavailable to ``site`` ('' when it is available)."""
    if "available" in ds and bool(ds["available"].sel(site=site, path=path)):
        return ""
    if "available" not in ds and float(ds["mw"].sel(site=site, path=path)) > 0:
        return ""
    text = str(ds["unavailable_reason"].sel(site=site, path=path).values) if "unavailable_reason" in ds else ""
    return text or "unavailable (0 MW)"


def _start_of(ds: xr.Dataset, site: str) -> pd.Timestamp:
    """The site's month 0: its ``start_date`` (the result's default start for older results)."""
    if "start_date" in ds.coords:
        return pd.Timestamp(ds["start_date"].sel(site=site).values)
    return pd.Timestamp(ds.attrs.get("start", "2026-01-01"))


def _dates(start: pd.Timestamp, months) -> np.ndarray:
    return np.array([start + pd.DateOffset(months=int(m)) for m in months], "datetime64[ns]")


# ------------------------------------------------------------------------------ all sites x paths


def path_column(path: str, metric: str = "p50") -> str:
    """Column of ``path`` in :func:`all_sites_frame` for ``metric``: ``'<path> [<unit>]'``."""
    return f"{path} [{METRICS[_check_metric(metric, 'all-sites table')][2]}]"


def all_sites_frame(ds: xr.Dataset, metric: str = "p50") -> pd.DataFrame:
    """Every site x path: one row per site, one column per path, the fastest path and the path with
    the most MW-months.

    Parameters
    ----------
    ds : xarray.Dataset
        Result of :func:`~powerfirst.models.time_to_power.time_to_power` (computed).
    metric : {'p50', 'prob_never', 'mw_months'}
        What the path cells hold: the P50 months from start_date to first power [month], P(no first
        power within the horizon) [1] or the expected MW-months by the horizon [MW-month].

    Returns
    -------
    pandas.DataFrame
        ``site``, ``ba`` (when the result has it), ``MW reachable [MW]`` (the largest path's MW),
        one column per path (:func:`path_column`) holding a number, or the path's
        ``unavailable_reason`` for a path the site cannot take (and :data:`NO_POWER` for a path
        none of whose draws energises) — never NaN; ``fastest path``, ``fastest P50 [month]``,
        ``P(never), fastest [1]``, ``most MW-months path``, ``MW-months, that path [MW-month]``.
        ``attrs`` hold ``metric``, ``unit`` and ``path_columns`` ({path: column}).
    """
    _check_metric(metric, "all-sites table")
    _check_result(ds, ("first_power", "mw", "mw_months", "prob_never", "fastest_path", "most_mw_months_path"),
                  "all-sites table")
    var, _label, unit = METRICS[metric]
    sites = ds["site"].values.astype(str)
    paths = ds["path"].values.astype(str)
    p50 = ds["first_power"].sel(quantile=0.5, method="nearest").values.astype(float)
    values = p50 if metric == "p50" else ds[var].values.astype(float)
    never = ds["prob_never"].values.astype(float)
    mwm = ds["mw_months"].values.astype(float)
    avail = ds["available"].values.astype(bool) if "available" in ds else ds["mw"].values > 0
    reason = ds["unavailable_reason"].values.astype(str) if "unavailable_reason" in ds else \
        np.full(avail.shape, "", object)
    digits = _DIGITS[metric]
    out = pd.DataFrame({"site": sites})
    if "ba" in ds.coords:
        out["ba"] = ds["ba"].values.astype(str)
    out["MW reachable [MW]"] = ds["mw"].max("path").values.astype(float).round(1)
    cols = {}
    for j, p in enumerate(paths):
        cell = []
        for i in range(len(sites)):
            if not avail[i, j]:
                cell.append(reason[i, j] or "unavailable (0 MW)")
            elif not np.isfinite(values[i, j]):
                cell.append(NO_POWER)
            else:
                cell.append(round(float(values[i, j]), digits))
        cols[p] = path_column(p, metric)
        out[cols[p]] = pd.Series(cell, dtype=object)
    index = {p: j for j, p in enumerate(paths)}
    fastest = ds["fastest_path"].values.astype(str)
    most = ds["most_mw_months_path"].values.astype(str)
    rows = np.arange(len(sites))
    fj = np.array([index.get(f, -1) for f in fastest])
    mj = np.array([index.get(m, -1) for m in most])
    out["fastest path"] = np.where(fj >= 0, fastest, "no available path")
    out["fastest P50 [month]"] = _number_or(p50[rows, np.maximum(fj, 0)], fj >= 0, 1, "no available path")
    out["P(never), fastest [1]"] = _number_or(never[rows, np.maximum(fj, 0)], fj >= 0, 3, "no available path")
    out["most MW-months path"] = np.where(mj >= 0, most, "no available path")
    out["MW-months, that path [MW-month]"] = _number_or(mwm[rows, np.maximum(mj, 0)], mj >= 0, 0,
                                                        "no available path")
    out.attrs.update(metric=metric, unit=unit, path_columns=cols)
    return out


def _number_or(values: np.ndarray, ok: np.ndarray, digits: int, text: str) -> pd.Series:
    """Rounded numbers where ``ok`` and finite, else ``text`` (:data:`NO_POWER` when ok but not finite);
    a float column when every cell is a number."""
    cells = [round(float(v), digits) if k and np.isfinite(v) else (NO_POWER if k else text)
             for v, k in zip(values, ok, strict=True)]
    if all(isinstance(c, float) for c in cells):
        return pd.Series(cells, dtype=float)
    return pd.Series(cells, dtype=object)


def sort_sites(frame: pd.DataFrame, by: str, ascending: bool = True) -> pd.DataFrame:
    """Rows of :func:`all_sites_frame` sorted by column ``by``: numbers in order, the text cells (a
    reason or :data:`NO_POWER`) after every number whatever the direction; text columns
    alphabetically.  Stable (ties keep the site order)."""
    if by not in frame.columns:
        raise ValidationError([Problem(f"sort by: expected one of the table's columns ({', '.join(frame.columns)}), "
                                       f"found {by!r}", column=str(by))], what="all-sites table")
    col = frame[by]
    num = pd.to_numeric(col.where(col.map(lambda v: isinstance(v, (int, float, np.number)))), errors="coerce")
    if num.notna().any():
        key = pd.DataFrame({"text": num.isna().astype(int), "num": num if ascending else -num,
                            "str": col.astype(str)}, index=frame.index)
        order = key.sort_values(["text", "num", "str"], kind="mergesort").index
    else:
        order = col.astype(str).str.lower().sort_values(ascending=ascending, kind="mergesort").index
    out = frame.loc[order].reset_index(drop=True)
    out.attrs.update(frame.attrs)
    return out


def _path_columns(frame: pd.DataFrame) -> dict[str, str]:
    """{path: column} of an all-sites frame: its ``attrs`` or, when a table widget dropped them, the
    columns between ``MW reachable [MW]`` and ``fastest path``."""
    cols = frame.attrs.get("path_columns")
    if cols:
        return {p: c for p, c in cols.items() if c in frame.columns}
    names = list(frame.columns)
    if "MW reachable [MW]" not in names or "fastest path" not in names:
        return {}
    inner = names[names.index("MW reachable [MW]") + 1:names.index("fastest path")]
    return {c.rsplit(" [", 1)[0]: c for c in inner}


def all_sites_styles(frame: pd.DataFrame) -> pd.DataFrame:
    """CSS of every cell of :func:`all_sites_frame` (same shape): the fastest path's cell highlighted
    (:data:`FASTEST_STYLE`), the cell of the path with the most MW-months marked
    (:data:`MOST_MW_MONTHS_STYLE`), reasons greyed (:data:`REASON_STYLE`).  Pure on the frame, so it
    holds after any sort: ``table.style.apply(all_sites_styles, axis=None)``."""
    css = pd.DataFrame("", index=frame.index, columns=frame.columns)
    cols = _path_columns(frame)
    for c in cols.values():
        css.loc[frame[c].map(lambda v: isinstance(v, str)).to_numpy(), c] = REASON_STYLE
    for f, style in (("most MW-months path", MOST_MW_MONTHS_STYLE), ("fastest path", FASTEST_STYLE)):
        if f not in frame:
            continue
        for i, p in zip(frame.index, frame[f].astype(str), strict=True):
            c = cols.get(p)
            if c is not None:
                css.loc[i, c] = "; ".join(x for x in (css.loc[i, c], style) if x)
    return css


# ---------------------------------------------------------------------------------- one site


def site_frame(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """One site, one row per path: status (``available`` or the reason), MW [MW], P10/P50/P90 of
    first power [month], P50 of full power [month], P(first power by 36 months) [1], P(never
    within the horizon) [1], MW-months by the horizon [MW-month], fastest / most MW-months flags.
    The numbers of an unavailable path are '—' (its reason is in ``status``)."""
    _check_result(ds, ("first_power", "full_power", "mw", "mw_months", "prob_never", "prob_energised"), "site table")
    site = _check_site(ds, site, "site table")
    sub = ds.sel(site=site)
    fast = str(sub["fastest_path"].values) if "fastest_path" in sub else ""
    most = str(sub["most_mw_months_path"].values) if "most_mw_months_path" in sub else ""
    p36 = sub["prob_energised"].interp(month=36.0).values if int(ds["month"].max()) >= 36 else None
    rows = []
    for j, p in enumerate(sub["path"].values.astype(str)):
        why = _reason(ds, site, p)
        q = sub["first_power"].sel(path=p).values.astype(float)
        qf = float(sub["full_power"].sel(path=p).sel(quantile=0.5, method="nearest"))

        def num(v, d, why=why):
            return "—" if why else (round(float(v), d) if np.isfinite(v) else NO_POWER)

        rows.append({"path": p, "status": why or "available", "MW [MW]": num(sub["mw"].sel(path=p), 1),
                     "P10 [month]": num(q[0], 1) if len(q) >= 3 else "—",
                     "P50 [month]": num(float(sub["first_power"].sel(path=p).sel(quantile=0.5, method="nearest")), 1),
                     "P90 [month]": num(q[-1], 1) if len(q) >= 3 else "—",
                     "P50 full MW [month]": "—" if why else (round(qf, 1) if np.isfinite(qf) else NOT_FULL),
                     "P(by 36 months) [1]": num(p36[j], 3) if p36 is not None else "—",
                     "P(never) [1]": num(sub["prob_never"].sel(path=p), 3),
                     "MW-months [MW-month]": num(sub["mw_months"].sel(path=p), 0),
                     "fastest": p == fast, "most MW-months": p == most})
    return pd.DataFrame(rows)


def fan_frame(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """P10/P50/P90 first-power months and dates of one site (dates from the site's start_date), one
    row per path; NaN months and NaT dates for a path that is unavailable (``reason``) or never
    energises."""
    site = _check_site(ds, site, "fan")
    sub = ds.sel(site=site)
    start = _start_of(ds, site)
    rows = []
    for p in sub["path"].values.astype(str):
        rec = {"path": p, "mw": float(sub["mw"].sel(path=p)), "reason": _reason(ds, site, p)}
        for k in (0.1, 0.5, 0.9):
            m = float(sub["first_power"].sel(path=p).sel(quantile=k, method="nearest"))
            rec[f"p{int(k * 100)}_months"] = m
            rec[f"p{int(k * 100)}_date"] = start + pd.DateOffset(days=int(round(m * MONTH_DAYS))) \
                if np.isfinite(m) else pd.NaT
        rows.append(rec)
    return pd.DataFrame(rows)


def energisation_fan(ds: xr.Dataset, site: str, *, height: int | None = None) -> hv.Overlay:
    """Energisation-date fan: the P10-P90 range of first power per available path, P50 marked; the
    height grows with the number of paths (one row each, named on the axis: no legend over the bars)."""
    df = fan_frame(ds, site).dropna(subset=["p50_date"]).reset_index(drop=True)
    df["y"] = np.arange(len(df))
    height = height or 90 + 30 * max(len(df), 1)
    seg = hv.Segments(df, kdims=["p10_date", "y", "p90_date", "y"], vdims=["path", "mw"]).opts(
        line_width=10, alpha=0.5, color="path", cmap="Category10", tools=["hover"], show_legend=False)
    pts = hv.Scatter(df, kdims="p50_date", vdims=["y", "path", "p50_months", "mw"]).opts(
        size=12, color="black", marker="diamond", tools=["hover"])
    ticks = list(zip(df["y"], df["path"], strict=True))
    return (seg * pts).opts(
        hv.opts.Overlay(title=f"{site}: first power, P10-P90 (bar) and P50 (diamond)", height=height, responsive=True,
                        yticks=ticks, ylabel="", xlabel="date", ylim=(-0.7, max(len(df) - 0.3, 0.5)),
                        show_legend=False))


def energisation_cdf(ds: xr.Dataset, site: str, *, height: int = 300) -> hv.Overlay:
    """P(first power by date) [1] per available path, dates from the site's start_date."""
    site = _check_site(ds, site, "energisation probability")
    start = _start_of(ds, site)
    dates = _dates(start, ds["month"].values)
    curves = [hv.Curve((dates, ds["prob_energised"].sel(site=site, path=p).values.astype(float)), "date",
                       hv.Dimension("prob_energised", label="P(first power by date) [1]"), label=p)
              for p in ds["path"].values.astype(str) if not _reason(ds, site, p)]
    if not curves:
        return hv.Overlay([hv.Curve([], "date", "prob_energised")]).opts(title=f"{site}: no available path")
    return hv.Overlay(curves).opts(
        hv.opts.Curve(tools=["hover"]),
        hv.opts.Overlay(height=height, responsive=True, ylim=(0, 1.02), legend_position="right", framewise=True,
                        xlabel=f"date (month 0 = start_date {start.date()})",
                        title=f"{site}: probability of first power by date"))


def ramp_frame(ds: xr.Dataset, site: str) -> pd.DataFrame:
    """Expected MW available [MW] by month of one site, one row per (available path, month), with
    the dates of the months from the site's start_date."""
    _check_result(ds, ("mw_available", "mw"), "MW ramp")
    site = _check_site(ds, site, "MW ramp")
    start = _start_of(ds, site)
    months = ds["month"].values
    dates = _dates(start, months)
    parts = [pd.DataFrame({"path": p, "month": months, "date": dates,
                           "mw_available": ds["mw_available"].sel(site=site, path=p).values.astype(float)})
             for p in ds["path"].values.astype(str) if not _reason(ds, site, p)]
    if not parts:
        return pd.DataFrame({"path": [], "month": [], "date": [], "mw_available": []})
    return pd.concat(parts, ignore_index=True)


def mw_ramp(ds: xr.Dataset, site: str, *, height: int = 320) -> hv.Overlay:
    """Expected MW available [MW] by date per available path of one site (``mw_available``).

    The MW axis runs from 0 to 8 % above the most MW any path of the site delivers (its own
    scale, not a fixed range); the dates start at the site's start_date; the legend sits right of
    the plot."""
    df = ramp_frame(ds, site)
    site = str(site)
    start = _start_of(ds, site)
    top = max(float(ds["mw"].sel(site=site).max()), float(df["mw_available"].max()) if len(df) else 0.0)
    ymax = 1.08 * top if top > 0 else 1.0
    ylabel = "expected MW available [MW]"
    if df.empty:
        return hv.Overlay([hv.Curve([], "date", hv.Dimension("mw_available", label=ylabel))]).opts(
            title=f"{site}: no available path, no MW")
    curves = [hv.Curve(g, "date", [hv.Dimension("mw_available", label=ylabel), "month"], label=p)
              for p, g in df.groupby("path", sort=False)]
    return hv.Overlay(curves).opts(
        hv.opts.Curve(tools=["hover"], line_width=2),
        hv.opts.Overlay(height=height, responsive=True, ylim=(0, ymax), framewise=True, legend_position="right",
                        xlabel=f"date (month 0 = start_date {start.date()})", ylabel=ylabel,
                        title=f"{site}: expected MW available by month (largest path {top:,.0f} MW)"))


def tornado_frame(ds: xr.Dataset, site: str, path: str) -> pd.DataFrame:
    """Tornado of one site and path: P50 shift [month] with each stage at its P10 / P90, smallest
    swing first (stages not in the path left out)."""
    _check_result(ds, ("tornado_p10", "tornado_p90", "tornado_swing"), "tornado")
    site, path = _check_site(ds, site, "tornado"), _check_path(ds, path, "tornado")
    sub = ds.sel(site=site, path=path)
    df = pd.DataFrame({"stage": sub["stage"].values.astype(str), "at P10": sub["tornado_p10"].values,
                       "at P90": sub["tornado_p90"].values, "swing": sub["tornado_swing"].values})
    return df.dropna().sort_values("swing", ascending=True, kind="mergesort").reset_index(drop=True)


def tornado_chart(ds: xr.Dataset, site: str, path: str, *, max_stages: int = 12, row_height: int = 30):
    """Horizontal tornado: how far the P50 first power moves [month] with each stage held at its P10
    (bar to the left) and at its P90 (bar to the right), largest swing on top.

    One categorical row per stage that moves the P50 (at most ``max_stages``); the figure is
    ``110 + row_height`` px per stage high, so the stage labels never overlap, and the legend sits
    right of the plot, off the bars.
    """
    if not isinstance(max_stages, (int, np.integer)) or max_stages < 1:
        raise ValidationError([Problem(f"max_stages: expected an integer >= 1, found {max_stages!r}")], what="tornado")
    if not isinstance(row_height, (int, np.integer)) or row_height < 16:
        raise ValidationError([Problem(f"row_height: expected an integer >= 16 [px] (one label per row), found "
                                       f"{row_height!r}")], what="tornado")
    df = tornado_frame(ds, site, path)
    why = _reason(ds, str(site), str(path))
    moving = df[df["swing"] > 0].tail(int(max_stages)).reset_index(drop=True)
    if moving.empty:
        msg = f"path unavailable: {why}" if why else "no stage moves the P50 (or run with tornado=True)"
        return hv.Bars([], "stage", "shift").opts(title=f"{site} / {path}: {msg}", height=140, responsive=True)
    still = int((df["swing"] <= 0).sum())
    cut = int((df["swing"] > 0).sum()) - len(moving)
    notes = [f"{still} stage{'s' if still != 1 else ''} that do{'es' if still == 1 else ''} not move it"] if still else []
    if cut:
        notes.append(f"{cut} with smaller swings")
    shift_label = "shift of the P50 first power [month]" + (f"; not shown: {', '.join(notes)}" if notes else "")
    shift = hv.Dimension("shift", label="shift of the P50 first power [month]")
    stage = hv.Dimension("stage", label="stage")
    lo = hv.Bars(moving.rename(columns={"at P10": "shift"})[["stage", "shift"]], stage, shift,
                 label="stage at its P10")
    hi = hv.Bars(moving.rename(columns={"at P90": "shift"})[["stage", "shift"]], stage, shift,
                 label="stage at its P90")
    base = float(ds["first_power"].sel(site=str(site), path=str(path)).sel(quantile=0.5, method="nearest"))
    return (lo.opts(color="#4292c6") * hi.opts(color="#ef6548")).opts(
        hv.opts.Bars(invert_axes=True, tools=["hover"], bar_width=0.7),
        hv.opts.Overlay(height=110 + int(row_height) * len(moving), responsive=True, legend_position="right",
                        xlabel="", ylabel=shift_label, title=f"{site} / {path}: tornado of first power (P50 {base:.1f} months)"))


# ------------------------------------------------------------------------- sources and the fit


def _parse_row_label(label: str) -> tuple[str, str, str]:
    """``'PJM/<100'`` -> ('PJM', '<100', ''); ``'default/any size/hyperscale'`` -> ('', '', 'hyperscale')."""
    parts = str(label).split("/")
    region = "" if parts[0] == "default" else parts[0]
    size = "" if len(parts) < 2 or parts[1] == "any size" else parts[1]
    ftype = parts[2] if len(parts) > 2 else ""
    return region, size, ftype


def _stage_row(stages: pd.DataFrame, stage: str, label: str) -> pd.Series | None:
    region, size, ftype = _parse_row_label(label)
    t = stages[stages["stage"] == stage]
    ft = t["facility_type"] if "facility_type" in t else pd.Series("", index=t.index)
    hit = t[(t["region"] == region) & (t["size_class"] == size) & (ft == ftype)]
    return hit.iloc[0] if len(hit) else None


def stage_row_frame(ds: xr.Dataset, stage: str = "large_load_interconnection", path: str = "grid_firm", *,
                    stages: pd.DataFrame | None = None) -> pd.DataFrame:
    """The stage-table row each site used for ``stage`` beside the site's P50 on ``path``.

    Parameters
    ----------
    ds : xarray.Dataset
        Result of :func:`~powerfirst.models.time_to_power.time_to_power`.
    stage, path : str
        Stage whose row is shown; path whose P50 first power [month] is shown.
    stages : DataFrame, optional
        The stage table the result was run with (default :func:`powerfirst.io.stages.read_stage_table`).

    Returns
    -------
    pandas.DataFrame
        ``site``, ``ba``, ``MW [MW]`` (the path's MW), ``row used`` (region/size class), the row's
        ``distribution``, ``p50 [month]``, ``p90 [month]``, ``kind``, ``covers`` (the stages its
        figure includes, not added again), ``source``, and ``<path> P50 [month]``.
    """
    _check_result(ds, ("stage_row", "first_power", "mw"), "stage rows")
    path = _check_path(ds, path, "stage rows")
    if stage not in set(ds["stage"].values.astype(str)):
        raise ValidationError([Problem(f"no stage {stage!r} in the result; expected one of "
                                       f"{', '.join(ds['stage'].values.astype(str))}", variable="stage")],
                              what="stage rows")
    if stages is None:
        from powerfirst.io.stages import read_stage_table

        stages = read_stage_table()
    labels = ds["stage_row"].sel(stage=stage).values.astype(str)
    p50 = ds["first_power"].sel(path=path).sel(quantile=0.5, method="nearest").values.astype(float)
    rows = []
    for i, s in enumerate(ds["site"].values.astype(str)):
        r = _stage_row(stages, stage, labels[i])
        rows.append({"site": s, "ba": str(ds["ba"].values[i]) if "ba" in ds.coords else "",
                     "MW [MW]": float(ds["mw"].sel(site=s, path=path)), "row used": labels[i],
                     "distribution": "" if r is None else r["distribution"],
                     "p50 [month]": np.nan if r is None else float(r["p50"]),
                     "p90 [month]": np.nan if r is None else float(r["p90"]),
                     "kind": "" if r is None else r["kind"], "covers": "" if r is None else r["covers"],
                     "source": "row not in the stage table given" if r is None else r["source"],
                     f"{path} P50 [month]": round(float(p50[i]), 1) if np.isfinite(p50[i]) else NO_POWER})
    return pd.DataFrame(rows)


def withdrawal_share(p50, p90, months) -> np.ndarray:
    r"""Share of requests withdrawn by ``months`` [1] under a lognormal latent time to withdrawal.

    :math:`F_W(t) = \Phi\left(\frac{\ln t - \ln p_{50}}{\sigma}\right)`, :math:`\sigma = \ln(p_{90}/p_{50}) / z_{0.9}`
    — the fitted cumulative incidence of :func:`powerfirst.models.time_to_power.fit_withdrawal`
    when no completion hazard is identified (``S_T = 1``, as in the PJM transition cycles).

    Parameters
    ----------
    p50, p90 : float [month]
        Median and 90th percentile of the latent time to withdrawal (p90 > p50 > 0).
    months : float or array [month]
    """
    from scipy.special import ndtr

    from powerfirst.models.time_to_power import lognormal_sigma

    p50, p90 = float(p50), float(p90)
    if not (np.isfinite(p50) and np.isfinite(p90) and 0 < p50 < p90):
        raise ValidationError([Problem(f"expected 0 < p50 < p90 [month] of a lognormal, found p50={p50}, p90={p90}")],
                              what="withdrawal share")
    t = np.asarray(months, float)
    if (t <= 0).any():
        raise ValidationError([Problem(f"months: expected positive [month], found {t.tolist()}")],
                              what="withdrawal share")
    return ndtr((np.log(t) - np.log(p50)) / float(lognormal_sigma(p50, p90)))


def withdrawal_fit_frame(ds: xr.Dataset, fit: pd.DataFrame, *, months: Sequence[float] = (36.0, 60.0, 72.0),
                         fit_region: str = "PJM", stages: pd.DataFrame | None = None,
                         regions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fitted withdrawal share per market (ISO/RTO, utility group or country) of the result's sites,
    next to the empirical share where a queue with withdrawals exists.

    Parameters
    ----------
    ds : xarray.Dataset
        Result of :func:`~powerfirst.models.time_to_power.time_to_power` (its ``stage_row`` of
        ``withdrawal`` says which row each site used).
    fit : DataFrame
        The withdrawal fit: :func:`~powerfirst.models.time_to_power.fit_withdrawal` output, or the
        ``time_to_withdrawal`` rows of ``data/time_to_power/queue_fit.csv`` (with ``region``); its
        pooled row (``cohort == 'all'``) gives ``n``, ``n_withdrawn`` and the empirical
        (Aalen-Johansen) shares ``cif_withdrawn_empirical_<m>``.
    months : sequence of float [month]
        Months of the shares.
    fit_region : str
        Market of ``fit`` when it has no ``region`` column.
    stages, regions : DataFrame, optional
        Stage and region tables (default: the embedded ones).

    Returns
    -------
    pandas.DataFrame
        One row per market: ``market``, ``sites``, per month m ``fitted by m months [1]`` (the
        row's lognormal, :func:`withdrawal_share`) next to ``empirical by m months [1]`` (a number
        where the market has queue data, else the text 'no public queue data'), ``withdrawal
        row`` (region of the row used), ``p50 [month]``, ``p90 [month]``, ``queue data`` (what
        the empirical share is from) and ``BAs``.
    """
    from powerfirst.io.stages import read_region_table, read_stage_table

    _check_result(ds, ("stage_row",), "withdrawal fit")
    if "withdrawal" not in set(ds["stage"].values.astype(str)):
        raise ValidationError([Problem("the result has no stage 'withdrawal' (run with withdrawal=True and a grid "
                                       "path)", variable="stage")], what="withdrawal fit")
    if not isinstance(fit, pd.DataFrame):
        raise ValidationError([Problem(f"fit: expected a DataFrame (fit_withdrawal or queue_fit.csv), found "
                                       f"{type(fit).__name__}")], what="withdrawal fit")
    months = [float(m) for m in months]
    need = ["cohort", "n", "n_withdrawn"] + [f"cif_withdrawn_empirical_{m:g}" for m in months]
    missing = [c for c in need if c not in fit.columns]
    if missing:
        raise ValidationError([Problem(f"the fit has no column {c!r} (fit_withdrawal(..., at_months={months}) "
                                       "or queue_fit.csv)", column=c) for c in missing], what="withdrawal fit")
    fit = fit[fit["quantity"] == "time_to_withdrawal"] if "quantity" in fit else fit
    fit_regions = fit["region"].astype(str) if "region" in fit else pd.Series(fit_region, index=fit.index)
    stages = read_stage_table() if stages is None else stages
    regions = read_region_table() if regions is None else regions
    market_of = dict(zip(regions["ba"], regions["market"], strict=True))
    bas = ds["ba"].values.astype(str) if "ba" in ds.coords else np.full(ds.sizes["site"], "")
    labels = ds["stage_row"].sel(stage="withdrawal").values.astype(str)
    frame = pd.DataFrame({"ba": bas, "market": [market_of.get(b, "(no ba: default rows)") if b else
                                                "(no ba: default rows)" for b in bas], "row": labels})
    rows = []
    for (market, row), g in frame.groupby(["market", "row"], sort=True):
        r = _stage_row(stages, "withdrawal", row)
        rec = {"market": market, "BAs": ", ".join(sorted(set(g["ba"]) - {""})) or "-", "sites": len(g),
               "withdrawal row": row}
        if r is None or r["distribution"] != "lognormal":
            raise ValidationError([Problem(f"withdrawal row {row!r}: expected a lognormal row in the stage table, "
                                           f"found {'none' if r is None else r['distribution']}", column="stage")],
                                  what="withdrawal fit")
        rec["p50 [month]"], rec["p90 [month]"] = float(r["p50"]), float(r["p90"])
        shares = withdrawal_share(r["p50"], r["p90"], months)
        pooled = fit[(fit_regions == market) & (fit["cohort"].astype(str) == "all")]
        if len(pooled):
            q = pooled.iloc[0]
            rec["queue data"] = (f"{market} queue, pooled cohorts: n={int(q['n'])}, withdrawn={int(q['n_withdrawn'])} "
                                 "(Aalen-Johansen)")
        else:
            rec["queue data"] = "no public queue data: the fitted row stands in (ASSUMPTION)"
        for m, s in zip(months, shares, strict=True):
            rec[f"fitted by {m:g} months [1]"] = round(float(s), 3)
            emp = float(pooled.iloc[0][f"cif_withdrawn_empirical_{m:g}"]) if len(pooled) else np.nan
            rec[f"empirical by {m:g} months [1]"] = round(emp, 3) if np.isfinite(emp) else (
                "beyond the follow-up" if len(pooled) else "no public queue data")
        rows.append(rec)
    out = pd.DataFrame(rows)
    shares = [c for m in months for c in (f"fitted by {m:g} months [1]", f"empirical by {m:g} months [1]")]
    return out[["market", "sites", *shares, "withdrawal row", "p50 [month]", "p90 [month]", "queue data", "BAs"]]
