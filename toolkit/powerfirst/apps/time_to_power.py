"""Time-to-power app: pick a site, see the energisation-date fan per path, the probability of first
power by date, the expected MW ramp and the tornado of the stages."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.apps._data import SharedResults, default_scenario, inputs_key, sites_note
from powerfirst.apps._template import page
from powerfirst.models.time_to_power import time_to_power
from powerfirst.scenarios.run import load_sites
from powerfirst.scenarios.spec import Scenario
from powerfirst.viz.time_to_power import (
    energisation_cdf,
    energisation_fan,
    fan_frame,
    mw_ramp,
    tornado_chart,
)

__app__ = ("time_to_power", "TimeToPower")

#: the paths of the app's default scenario: the four single paths and two ramps
DEFAULT_PATHS = ("grid_firm", "grid_flexible", "onsite_bridge", "solar_storage", "grid_flexible+grid_firm",
                 "onsite_bridge+grid_firm")
#: most draws the draws input offers (the model allows more; the served app stays responsive)
MAX_APP_DRAWS = 20_000
#: the model settings the result depends on (scenario parameters)
SETTINGS = ("scenario.seed", "scenario.time_to_power.draws", "scenario.time_to_power.correlation",
            "scenario.time_to_power.bridge_technology", "scenario.time_to_power.paths",
            "scenario.time_to_power.start", "scenario.time_to_power.months", "scenario.time_to_power.horizon")


class TimeToPowerState(param.Parameterized):
    """State of the app (no panel here): the scenario holds the model's settings (``time_to_power``
    section and ``seed``), the state the site and path on show and how the best path is chosen.

    ``sites`` (a site Dataset) replaces the scenario's sites.
    """

    scenario = param.ClassSelector(class_=Scenario, doc="the scenario: sites and time-to-power settings")
    site = param.Selector(default=None, objects=[], doc="site shown")
    path = param.Selector(default="grid_firm", objects=list(DEFAULT_PATHS), doc="path of the tornado")
    criterion = param.Selector(default="mw_months", objects=["p50", "mw_months", "prob_by_horizon"],
                               doc="how the best path is chosen")

    def __init__(self, scenario: Scenario | None = None, *, sites: xr.Dataset | None = None, **params):
        if scenario is None:
            scenario = default_scenario(**{"time_to_power.paths": list(DEFAULT_PATHS)})
        self.sites = load_sites(scenario) if sites is None else sites
        self._cache = SharedResults("time_to_power", inputs_key(scenario, self.sites))
        self.param.site.objects = list(self.sites["site"].values.astype(str))
        self.param.path.objects = list(scenario.time_to_power.paths)
        params.setdefault("site", self.param.site.objects[0])
        params.setdefault("path", self.param.path.objects[0])
        super().__init__(scenario=scenario, **params)

    @property
    def paths(self) -> list[str]:
        return list(self.scenario.time_to_power.paths)

    @param.depends("scenario.time_to_power.paths", watch=True)
    def _paths_changed(self):
        self.param.path.objects = self.paths
        if self.path not in self.paths:
            self.path = self.paths[0]

    @param.depends(*SETTINGS, "criterion")
    def result(self) -> xr.Dataset:
        """The model result for every site (cached per setting)."""
        t, seed = self.scenario.time_to_power, self.scenario.seed
        key = (t.draws, seed, t.correlation, t.bridge_technology, tuple(t.paths), t.start, t.months, t.horizon,
               self.criterion)
        if key not in self._cache:
            self._cache[key] = (time_to_power(self.sites, list(t.paths), draws=t.draws, seed=seed,
                                              correlation=t.correlation, bridge_technology=t.bridge_technology,
                                              start=t.start, months=t.months, horizon=t.horizon,
                                              criterion=self.criterion, tornado=True,
                                              tornado_draws=min(t.draws, 500)))
        return self._cache[key]

    def summary(self) -> pd.DataFrame:
        """P10/P50/P90 first-power months and dates, MW and P(by 36 months) of the site, one row per path."""
        ds = self.result()
        df = fan_frame(ds, self.site)
        df["prob_by_36m"] = ds["prob_energised"].sel(site=self.site, month=36).values
        df["best"] = df["path"] == str(ds["best_path"].sel(site=self.site).values)
        return df


class TimeToPower(pn.viewable.Viewer):
    """The time-to-power dashboard (served, or shown inline in a notebook)."""

    def __init__(self, state: TimeToPowerState | None = None, *, scenario: Scenario | None = None, **params):
        super().__init__(**params)
        self.state = s = state if state is not None else TimeToPowerState(scenario)
        t = s.scenario.time_to_power
        self.site_select = pn.widgets.Select.from_param(s.param.site, name="Site")
        self.path_select = pn.widgets.Select.from_param(s.param.path, name="Tornado of path")
        self.draws_input = pn.widgets.IntInput.from_param(t.param.draws, name="Draws per site",
                                                          end=max(MAX_APP_DRAWS, t.draws))
        self.seed_input = pn.widgets.IntInput.from_param(s.scenario.param.seed, name="Seed")
        self.corr_slider = pn.widgets.FloatSlider.from_param(t.param.correlation, name="Supply-chain correlation",
                                                             start=0.0, end=0.95, step=0.05)
        self.bridge_select = pn.widgets.Select.from_param(t.param.bridge_technology, name="Bridge technology")
        deps = (s.param.site, t.param.draws, s.scenario.param.seed, t.param.correlation, t.param.bridge_technology,
                t.param.paths)
        self.fan = pn.pane.HoloViews(pn.bind(self._fan, *deps), sizing_mode="stretch_width")
        self.cdf = pn.pane.HoloViews(pn.bind(self._cdf, *deps), sizing_mode="stretch_width")
        self.ramp = pn.pane.HoloViews(pn.bind(self._ramp, *deps), sizing_mode="stretch_width")
        self.tornado = pn.pane.HoloViews(pn.bind(self._tornado, *deps, s.param.path), sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(pn.bind(self._table, *deps), show_index=False, disabled=True,
                                          sizing_mode="stretch_width")

    def _fan(self, site, *_):
        return energisation_fan(self.state.result(), site)

    def _cdf(self, site, *_):
        return energisation_cdf(self.state.result(), site)

    def _ramp(self, site, *_):
        return mw_ramp(self.state.result(), site)

    def _tornado(self, site, *args):
        return tornado_chart(self.state.result(), site, args[-1])

    def _table(self, *_):
        df = self.state.summary()
        return df[["path", "mw", "p10_months", "p50_months", "p90_months", "prob_by_36m", "best"]].round(2)

    def __panel__(self):
        note = sites_note(self.state.scenario, self.state.sites)
        sidebar = pn.Column(
            pn.pane.Markdown("## Time to power\nWhen is power live at each site, by which path, and how sure are "
                             f"we? Months from the start date. {note}"),
            self.site_select, self.path_select, self.bridge_select, self.corr_slider, self.draws_input,
            self.seed_input, width=320)
        main = pn.Column(self.table, self.fan, pn.Tabs(("P(energised by date)", self.cdf), ("MW ramp", self.ramp),
                                                       ("Tornado", self.tornado), dynamic=False),
                         sizing_mode="stretch_width")
        return page("powerfirst · Time to power", sidebar=[sidebar], main=[main])
