"""Time-to-power app: every site x path at a glance (sortable, fastest path highlighted, the reason
for a path a site cannot take), then one site: its energisation-date fan, P(first power by date),
its MW ramp per path and the tornado of the stages; and the withdrawal fit per market.

The grid_flexible path is sized as :func:`powerfirst.scenarios.run.run` sizes it: the scenario's
BA headroom (:func:`powerfirst.models.headroom.flexible_headroom` of the grid data at
``headroom.flexible_limit``) through :func:`powerfirst.scenarios.run.flexible_mw_by_ba`, so the app
and ``powerfirst run`` give the same numbers for the same scenario.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.apps._data import SharedResults, default_scenario, grid_cube, inputs_key, sites_note
from powerfirst.apps._format import formatted
from powerfirst.apps._template import page
from powerfirst.errors import Problem, ValidationError
from powerfirst.models.time_to_power import ALL_PATHS, DEFAULT_FLEXIBLE_FRACTION, time_to_power
from powerfirst.scenarios.run import flexible_mw_by_ba, load_sites
from powerfirst.scenarios.spec import Scenario
from powerfirst.viz.time_to_power import (
    METRICS,
    all_sites_frame,
    all_sites_styles,
    energisation_cdf,
    energisation_fan,
    mw_ramp,
    path_column,
    site_frame,
    sort_sites,
    tornado_chart,
    withdrawal_fit_frame,
)

__app__ = ("time_to_power", "TimeToPower")

#: the paths of the app's default scenario: every path of the model (mobile_bridge alone aside, as
#: in ``powerfirst ttp``) and two ramps
DEFAULT_PATHS = (*ALL_PATHS, "grid_flexible+grid_firm", "onsite_bridge+grid_firm")
#: most draws the draws input offers (the model allows more; the served app stays responsive)
MAX_APP_DRAWS = 20_000
#: the scenario settings the result depends on
SETTINGS = ("scenario.seed", "scenario.time_to_power.draws", "scenario.time_to_power.correlation",
            "scenario.time_to_power.bridge_technology", "scenario.time_to_power.paths",
            "scenario.time_to_power.start", "scenario.time_to_power.months", "scenario.time_to_power.horizon",
            "scenario.time_to_power.withdrawal", "scenario.headroom.flexible_limit", "scenario.headroom.enabled",
            "scenario.headroom.rule")
#: the summary columns of the all-sites table (besides the paths) it can be sorted by
SORT_COLUMNS = ("fastest P50 [month]", "P(never), fastest [1]", "MW-months, that path [MW-month]", "site", "ba",
                "MW reachable [MW]")
#: columns of data/time_to_power/queue_fit.csv the app reads
QUEUE_FIT_COLUMNS = ("region", "quantity", "cohort", "n", "n_withdrawn", "p50", "p90", "cif_withdrawn_fit_36",
                     "cif_withdrawn_empirical_36", "cif_withdrawn_fit_60", "cif_withdrawn_empirical_60",
                     "cif_withdrawn_fit_72", "cif_withdrawn_empirical_72")


def queue_fit_path() -> Path:
    """``data/time_to_power/queue_fit.csv`` (written by ``data/time_to_power/derive_queue_fit.py``)."""
    from powerfirst.paths import data_dir

    return data_dir() / "time_to_power" / "queue_fit.csv"


def read_queue_fit(path=None) -> pd.DataFrame:
    """Read the queue calibration table (default :func:`queue_fit_path`) and check every row.

    Returns
    -------
    pandas.DataFrame
        One row per (region, quantity, cohort): counts ``n``, ``n_withdrawn`` [1], ``p50``, ``p90``
        [month] and the fitted / empirical withdrawn shares ``cif_withdrawn_{fit,empirical}_<m>``
        [1] at m = 36, 60, 72 months (NaN beyond the follow-up or for the duration rows).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValidationError
        A column is missing, a number is not a number, a share lies outside [0, 1], p90 < p50, or
        n_withdrawn exceeds n; each problem names file, row and column.
    """
    path = Path(path) if path is not None else queue_fit_path()
    if not path.exists():
        raise FileNotFoundError(f"queue fit table not found: {path} (run data/time_to_power/derive_queue_fit.py)")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = [Problem("required column missing", file=str(path), column=c) for c in QUEUE_FIT_COLUMNS
                if c not in df.columns]
    if problems:
        raise ValidationError(problems, what=str(path))
    for c in ("region", "quantity", "cohort"):
        df[c] = df[c].str.strip()
        for i in np.flatnonzero(df[c].eq("").to_numpy()):
            problems.append(Problem("required value is empty", file=str(path), row=int(i) + 1, line=int(i) + 2,
                                    column=c))
    for c in [c for c in df.columns if c not in ("region", "quantity", "cohort", "note", "identified", "truncated")]:
        text = df[c].str.strip()
        v = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        for i in np.flatnonzero((v.isna() & text.ne("")).to_numpy()):
            problems.append(Problem(f"expected a number, found {text.iloc[i]!r}", file=str(path), row=int(i) + 1,
                                    line=int(i) + 2, column=c))
        if c.startswith("cif_"):
            for i in np.flatnonzero(((v < 0) | (v > 1)).to_numpy()):
                problems.append(Problem(f"expected a share in [0, 1], found {v.iloc[i]:g}", file=str(path),
                                        row=int(i) + 1, line=int(i) + 2, column=c))
        if c in ("n", "n_withdrawn", "p50", "p90"):
            for i in np.flatnonzero((v < 0).to_numpy()):
                problems.append(Problem(f"expected a number >= 0, found {v.iloc[i]:g}", file=str(path),
                                        row=int(i) + 1, line=int(i) + 2, column=c))
        df[c] = v
    if not problems:
        for i in np.flatnonzero((df["p90"] < df["p50"]).to_numpy()):
            problems.append(Problem(f"p90 {df['p90'].iloc[i]:g} is below p50 {df['p50'].iloc[i]:g} [month]",
                                    file=str(path), row=int(i) + 1, line=int(i) + 2, column="p90"))
        for i in np.flatnonzero((df["n_withdrawn"] > df["n"]).to_numpy()):
            problems.append(Problem(f"n_withdrawn {df['n_withdrawn'].iloc[i]:g} exceeds n {df['n'].iloc[i]:g}",
                                    file=str(path), row=int(i) + 1, line=int(i) + 2, column="n_withdrawn"))
    if problems:
        raise ValidationError(problems, what=str(path))
    return df


def flexible_mw(scenario: Scenario, sites: xr.Dataset) -> tuple[dict[str, float] | None, str]:
    """Flexible MW per BA [MW] for the grid_flexible path, as :func:`powerfirst.scenarios.run.run`
    sizes it, and a sentence saying how.

    With grid data (``grid.source``) and ``headroom.enabled``: the headroom model
    (:func:`powerfirst.models.headroom.flexible_headroom`, ``headroom.rule``) on the hourly load of
    the sites' BAs at ``headroom.flexible_limit``, shared among each BA's sites pro rata to their
    unmet MW (:func:`~powerfirst.scenarios.run.flexible_mw_by_ba`; BAs the data lacks get the
    model's default share of their unmet MW).  Without: ``None`` (the model's default,
    :data:`~powerfirst.models.time_to_power.DEFAULT_FLEXIBLE_FRACTION` of each site's unmet MW).
    The grid is read once per server (:func:`powerfirst.apps._data.grid_cube`).
    """
    from powerfirst.models.headroom import flexible_headroom

    h = scenario.headroom
    default = (f"grid_flexible: no BA headroom ({{why}}), so each site gets the model's default "
               f"{DEFAULT_FLEXIBLE_FRACTION:.0%} of its unmet MW (target - firm headroom).")
    if not h.enabled:
        return None, default.format(why="headroom.enabled is false")
    if not scenario.grid.source:
        return None, default.format(why="no grid data: set grid.source")
    site_bas = sorted(set(np.asarray(sites["ba"].values).astype(str)))
    grid = grid_cube(scenario, bas=list(scenario.grid.bas) or site_bas)
    have = set(map(str, grid["ba"].values))
    bas = [b for b in site_bas if b in have]
    if not bas:
        return None, default.format(why=f"the grid data holds none of the sites' BAs ({', '.join(site_bas)})")
    limits = sorted(set(map(float, h.limits)) | {float(h.flexible_limit)})
    headroom = flexible_headroom(grid["demand"].sel(ba=bas), limits, threshold=h.rule)
    out = flexible_mw_by_ba(headroom, sites, h.flexible_limit)
    missing = sorted(set(site_bas) - set(bas))
    note = (f"grid_flexible: each BA's headroom at {h.flexible_limit:g} % curtailment (Norris et al. 2025 method, "
            f"'{h.rule}' threshold, {scenario.grid.years[0]}-{scenario.grid.years[1]} load), shared among its sites "
            "pro rata to their unmet MW, as in powerfirst run.")
    if missing:
        note += (f" BAs without grid data ({', '.join(missing)}) get the default {DEFAULT_FLEXIBLE_FRACTION:.0%} of "
                 "their unmet MW.")
    return out, note


class TimeToPowerState(param.Parameterized):
    """State of the app (no panel here): the scenario holds the model's settings (``time_to_power``,
    ``headroom`` and ``seed``), the state the site and path on show, how the all-sites table is shown
    and sorted, and how the best path is chosen.

    ``sites`` (a site Dataset) replaces the scenario's sites.
    """

    scenario = param.ClassSelector(class_=Scenario, doc="the scenario: sites and time-to-power settings")
    site = param.Selector(default=None, objects=[], doc="site shown")
    path = param.Selector(default="grid_firm", objects=list(DEFAULT_PATHS), doc="path of the tornado")
    criterion = param.Selector(default="mw_months", objects=["p50", "mw_months", "prob_by_horizon"],
                               doc="how the best path is chosen")
    metric = param.Selector(default="p50", objects=list(METRICS), doc="what the path cells of the all-sites table hold")
    sort_by = param.Selector(default=SORT_COLUMNS[0], objects=list(SORT_COLUMNS), doc="column the sites are sorted by")
    ascending = param.Boolean(default=True, doc="sort ascending (text cells always last)")

    def __init__(self, scenario: Scenario | None = None, *, sites: xr.Dataset | None = None, **params):
        if scenario is None:
            scenario = default_scenario(**{"time_to_power.paths": list(DEFAULT_PATHS)})
        self.sites = load_sites(scenario) if sites is None else sites
        self._cache = SharedResults("time_to_power", inputs_key(scenario, self.sites))
        # the file hash of the inputs key is the same for every selection of the file's sites
        self._sites_key = hashlib.sha256("\n".join(self.sites["site"].values.astype(str)).encode()).hexdigest()
        self.param.site.objects = list(self.sites["site"].values.astype(str))
        self.param.path.objects = list(scenario.time_to_power.paths)
        self.param.sort_by.objects = [*SORT_COLUMNS, *scenario.time_to_power.paths]
        params.setdefault("site", self.param.site.objects[0])
        params.setdefault("path", self.param.path.objects[0])
        super().__init__(scenario=scenario, **params)

    @property
    def paths(self) -> list[str]:
        return list(self.scenario.time_to_power.paths)

    @param.depends("scenario.time_to_power.paths", watch=True)
    def _paths_changed(self):
        self.param.path.objects = self.paths
        self.param.sort_by.objects = [*SORT_COLUMNS, *self.paths]
        if self.path not in self.paths:
            self.path = self.paths[0]
        if self.sort_by not in self.param.sort_by.objects:
            self.sort_by = SORT_COLUMNS[0]

    def _grid_key(self) -> tuple:
        g, h = self.scenario.grid, self.scenario.headroom
        return (self._sites_key, g.source, tuple(g.years), tuple(g.bas), g.screen, h.enabled, tuple(h.limits),
                h.flexible_limit, h.rule)

    def flexible(self) -> tuple[dict[str, float] | None, str]:
        """Flexible MW per BA [MW] of the grid_flexible path and how it was sized (:func:`flexible_mw`)."""
        key = ("flexible", self._grid_key())
        if key not in self._cache:
            self._cache[key] = flexible_mw(self.scenario, self.sites)
        return self._cache[key]

    def _result_key(self) -> tuple:
        t = self.scenario.time_to_power
        return (t.draws, self.scenario.seed, t.correlation, t.bridge_technology, tuple(t.paths), t.start, t.months,
                t.horizon, t.withdrawal, self.criterion, self._grid_key())

    @param.depends(*SETTINGS, "criterion")
    def result(self) -> xr.Dataset:
        """The model result for every site (cached per setting)."""
        t, seed = self.scenario.time_to_power, self.scenario.seed
        key = self._result_key()
        if key not in self._cache:
            flex, _note = self.flexible()
            self._cache[key] = time_to_power(self.sites, list(t.paths), draws=t.draws, seed=seed,
                                             correlation=t.correlation, bridge_technology=t.bridge_technology,
                                             start=t.start, months=t.months, horizon=t.horizon,
                                             withdrawal=t.withdrawal, criterion=self.criterion, flexible_mw=flex,
                                             tornado=True, tornado_draws=min(t.draws, 500))
        return self._cache[key]

    def all_sites(self) -> pd.DataFrame:
        """Every site x path (:func:`powerfirst.viz.time_to_power.all_sites_frame` of ``metric``),
        sorted by ``sort_by`` (a path name sorts by that path's column)."""
        df = all_sites_frame(self.result(), self.metric)
        by = path_column(self.sort_by, self.metric) if self.sort_by in self.paths else self.sort_by
        return sort_sites(df, by, self.ascending)

    def summary(self) -> pd.DataFrame:
        """The site on show, one row per path (:func:`powerfirst.viz.time_to_power.site_frame`)."""
        return site_frame(self.result(), self.site)

    def withdrawal(self) -> pd.DataFrame:
        """Fitted vs empirical withdrawal share per market of the sites (``data/time_to_power/queue_fit.csv``)."""
        key = ("withdrawal", self._result_key())
        if key not in self._cache:
            self._cache[key] = withdrawal_fit_frame(self.result(), read_queue_fit())
        return self._cache[key]


class TimeToPower(pn.viewable.Viewer):
    """The time-to-power dashboard (served, or shown inline in a notebook)."""

    def __init__(self, state: TimeToPowerState | None = None, *, scenario: Scenario | None = None, **params):
        super().__init__(**params)
        self.state = s = state if state is not None else TimeToPowerState(scenario)
        t = s.scenario.time_to_power
        self.site_select = pn.widgets.Select.from_param(s.param.site, name="Site")
        self.path_select = pn.widgets.Select.from_param(s.param.path, name="Tornado of path")
        self.metric_select = pn.widgets.Select.from_param(
            s.param.metric, name="Path cells show", options={v[1] + f" [{v[2]}]": k for k, v in METRICS.items()})
        self.sort_select = pn.widgets.Select.from_param(s.param.sort_by, name="Sort sites by")
        self.ascending_box = pn.widgets.Checkbox.from_param(s.param.ascending, name="ascending")
        self.draws_input = pn.widgets.IntInput.from_param(t.param.draws, name="Draws per site",
                                                          end=max(MAX_APP_DRAWS, t.draws))
        # the seed may be any 63-bit integer; the browser's numbers are exact to 2**53 only
        self.seed_input = pn.widgets.IntInput.from_param(s.scenario.param.seed, name="Seed", end=2**53 - 1)
        self.corr_slider = pn.widgets.FloatSlider.from_param(t.param.correlation, name="Supply-chain correlation",
                                                             start=0.0, end=0.95, step=0.05)
        self.bridge_select = pn.widgets.Select.from_param(t.param.bridge_technology, name="Bridge technology")
        deps = (s.param.site, t.param.draws, s.scenario.param.seed, t.param.correlation, t.param.bridge_technology,
                t.param.paths)
        every = (t.param.draws, s.scenario.param.seed, t.param.correlation, t.param.bridge_technology, t.param.paths)
        self.sites_table = pn.widgets.Tabulator(
            pn.bind(self._all_sites, *every, s.param.metric, s.param.sort_by, s.param.ascending), show_index=False,
            disabled=True, frozen_columns=["site"], pagination="local", page_size=25, sizing_mode="stretch_width",
            sortable=False, widths={path_column(p, m): 150 for p in s.paths for m in METRICS},
            header_tooltips={path_column(p, m): path_column(p, m) for p in s.paths for m in METRICS},
            configuration={"columnDefaults": {"tooltip": True}})  # a reason cut short shows in full on hover
        self.sites_table.style.apply(all_sites_styles, axis=None)
        self.sites_caption = pn.pane.Markdown(pn.bind(self._caption, *every, s.param.metric),
                                              sizing_mode="stretch_width")
        self.fan = pn.pane.HoloViews(pn.bind(self._fan, *deps), sizing_mode="stretch_width")
        self.cdf = pn.pane.HoloViews(pn.bind(self._cdf, *deps), sizing_mode="stretch_width")
        self.ramp = pn.pane.HoloViews(pn.bind(self._ramp, *deps), sizing_mode="stretch_width")
        self.tornado = pn.pane.HoloViews(pn.bind(self._tornado, *deps, s.param.path), sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(pn.bind(self._table, *deps), show_index=False, disabled=True,
                                          sortable=False, sizing_mode="stretch_width")
        self.withdrawal_table = pn.widgets.Tabulator(pn.bind(self._withdrawal, *every), show_index=False,
                                                     disabled=True, sortable=False, sizing_mode="stretch_width")
        for table in (self.sites_table, self.table, self.withdrawal_table):
            formatted(table)

    def _all_sites(self, *_):
        return self.state.all_sites()

    def _caption(self, *_):
        s = self.state
        ds = s.result()
        _var, label, unit = METRICS[s.metric]
        hz = np.unique(ds["horizon"].values.round(1))
        _flex, note = s.flexible()
        return (f"**All sites x paths** — cells: {label} [{unit}]; a path a site cannot take shows why. "
                "Green: the fastest path (P50 first power); blue underline: the path with the most MW-months "
                f"within the horizon ({', '.join(f'{h:g}' for h in hz)} months). Sorted by the selector in the "
                f"sidebar (text cells last). {note}")

    def _fan(self, site, *_):
        return energisation_fan(self.state.result(), site)

    def _cdf(self, site, *_):
        return energisation_cdf(self.state.result(), site)

    def _ramp(self, site, *_):
        return mw_ramp(self.state.result(), site)

    def _tornado(self, site, *args):
        return tornado_chart(self.state.result(), site, args[-1])

    def _table(self, *_):
        return self.state.summary()

    def _withdrawal(self, *_):
        return self.state.withdrawal()

    def __panel__(self):
        note = sites_note(self.state.scenario, self.state.sites)
        sidebar = pn.Column(
            pn.pane.Markdown("## Time to power\nWhen is power live at each site, by which path, and how sure are "
                             f"we? Months from each site's start date. {note}"),
            self.site_select, self.path_select, self.metric_select, self.sort_select, self.ascending_box,
            self.bridge_select, self.corr_slider, self.draws_input, self.seed_input, width=320)
        site = pn.Column(self.table, self.fan, pn.Tabs(("MW ramp", self.ramp), ("Tornado", self.tornado),
                                                       ("P(energised by date)", self.cdf), dynamic=False),
                         sizing_mode="stretch_width")
        fit = pn.Column(pn.pane.Markdown(
            "**Withdrawal of grid requests** — share withdrawn by 36/60/72 months under each market's fitted "
            "row (lognormal latent time to withdrawal) next to the empirical share (Aalen-Johansen) where a queue "
            "with withdrawals is public: only PJM's transition cycles (generators; `data/time_to_power/"
            "queue_fit.csv`). Every other market uses the PJM fit (ASSUMPTION)."), self.withdrawal_table,
            sizing_mode="stretch_width")
        main = pn.Column(pn.Tabs(("All sites", pn.Column(self.sites_caption, self.sites_table,
                                                         sizing_mode="stretch_width")),
                                 ("Site", site), ("Withdrawal fit", fit), dynamic=False),
                         sizing_mode="stretch_width")
        return page("powerfirst · Time to power", sidebar=[sidebar], main=[main])
