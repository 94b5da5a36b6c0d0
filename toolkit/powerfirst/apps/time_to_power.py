"""Time-to-power app: pick a site, see the energisation-date fan per path, the probability of first
power by date, the expected MW ramp and the tornado of the stages."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.models.time_to_power import BRIDGE_TECHNOLOGIES, time_to_power
from powerfirst.viz.time_to_power import (
    energisation_cdf,
    energisation_fan,
    fan_frame,
    mw_ramp,
    tornado_chart,
)

__app__ = ("time_to_power", "TimeToPower")

DEFAULT_PATHS = ("grid_firm", "grid_flexible", "onsite_bridge", "solar_storage", "grid_flexible+grid_firm",
                 "onsite_bridge+grid_firm")


class TimeToPowerState(param.Parameterized):
    """State of the app: the model's settings and the site and path on show (no panel here)."""

    site = param.Selector(default=None, objects=[], doc="site shown")
    path = param.Selector(default="grid_firm", objects=list(DEFAULT_PATHS), doc="path of the tornado")
    draws = param.Integer(default=2000, bounds=(100, 20_000), doc="Monte Carlo draws per site")
    seed = param.Integer(default=0, bounds=(0, None), doc="random seed")
    correlation = param.Number(default=0.0, bounds=(0.0, 0.95), step=0.05,
                               doc="correlation of equipment lead times (supply-chain shock)")
    bridge_technology = param.Selector(default="recip_engines", objects=list(BRIDGE_TECHNOLOGIES),
                                       doc="on-site bridge technology")
    criterion = param.Selector(default="mw_months", objects=["p50", "mw_months", "prob_by_horizon"],
                               doc="how the best path is chosen")

    def __init__(self, sites: xr.Dataset, paths=DEFAULT_PATHS, **params):
        self.sites = sites
        self.paths = list(paths)
        self._cache: dict = {}
        self.param.site.objects = list(sites["site"].values.astype(str))
        self.param.path.objects = self.paths
        params.setdefault("site", self.param.site.objects[0])
        params.setdefault("path", self.paths[0])
        super().__init__(**params)

    @classmethod
    def from_default(cls, **params) -> TimeToPowerState:
        from powerfirst import demo_sites

        return cls(demo_sites(), **params)

    @param.depends("draws", "seed", "correlation", "bridge_technology", "criterion")
    def result(self) -> xr.Dataset:
        """The model result for every site (cached per setting)."""
        key = (self.draws, self.seed, self.correlation, self.bridge_technology, self.criterion)
        if key not in self._cache:
            self._cache = {key: time_to_power(self.sites, self.paths, draws=self.draws, seed=self.seed,
                                              correlation=self.correlation, bridge_technology=self.bridge_technology,
                                              criterion=self.criterion, tornado=True,
                                              tornado_draws=min(self.draws, 500))}
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

    def __init__(self, state: TimeToPowerState | None = None, **params):
        super().__init__(**params)
        self.state = s = state or TimeToPowerState.from_default()
        self.site_select = pn.widgets.Select.from_param(s.param.site, name="Site")
        self.path_select = pn.widgets.Select.from_param(s.param.path, name="Tornado of path")
        self.draws_input = pn.widgets.IntInput.from_param(s.param.draws, name="Draws per site")
        self.seed_input = pn.widgets.IntInput.from_param(s.param.seed, name="Seed")
        self.corr_slider = pn.widgets.FloatSlider.from_param(s.param.correlation, name="Supply-chain correlation")
        self.bridge_select = pn.widgets.Select.from_param(s.param.bridge_technology, name="Bridge technology")
        deps = (s.param.site, s.param.draws, s.param.seed, s.param.correlation, s.param.bridge_technology)
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
        sidebar = pn.Column(
            pn.pane.Markdown("## Time to power\nWhen is power live at each site, by which path, and how sure are "
                             "we? Months from the start date; demo sites are illustrative."),
            self.site_select, self.path_select, self.bridge_select, self.corr_slider, self.draws_input,
            self.seed_input, width=320)
        main = pn.Column(self.table, self.fan, pn.Tabs(("P(energised by date)", self.cdf), ("MW ramp", self.ramp),
                                                       ("Tornado", self.tornado), dynamic=False),
                         sizing_mode="stretch_width")
        return pn.template.FastListTemplate(title="powerfirst · Time to power", sidebar=[sidebar], main=[main])
