"""Flexibility app: a site's hourly dispatch for a chosen week, the sizing trade-off between MW
connected early on a flexible connection and the storage or generation it needs, and the VPP
peak reduction of each BA's sites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.models.dispatch import dispatch
from powerfirst.models.dispatch.inputs import curtailment_for
from powerfirst.models.dispatch.sizing import sizing_tradeoff
from powerfirst.models.dispatch.vpp import fleet_by_ba, vpp_peak_reduction
from powerfirst.viz.dispatch import (
    dispatch_stack,
    sizing_tradeoff_plot,
    summary_frame,
    vpp_bars,
    vpp_duration_curve,
)

__app__ = ("flexibility", "Flexibility")

ENERGY_VARS = ["solar_cf", "wind_cf", "pue", "carbon_intensity"]


class FlexibilityState(param.Parameterized):
    """The model's settings and what is on show (no panel here)."""

    site = param.Selector(default=None, objects=[], doc="site shown")
    scenario = param.Selector(default="custom", objects=["base", "no storage", "custom"],
                              doc="scenario of the dispatch stack")
    week = param.Integer(default=28, bounds=(0, 51), doc="week of the year shown")
    storage_scale = param.Number(default=1.0, bounds=(0.0, 4.0), step=0.25, doc="storage x the site's option (custom)")
    gas_scale = param.Number(default=1.0, bounds=(0.0, 4.0), step=0.25, doc="generation x the site's option (custom)")
    flex_share = param.Number(default=0.2, bounds=(0.0, 0.5), step=0.05,
                              doc="deferrable share of training load (custom)")
    priority = param.Selector(default="cost", objects=["cost", "carbon"], doc="what the rule minimises (custom)")
    carbon_price = param.Number(default=0.0, bounds=(0.0, 300.0), step=10.0, doc="carbon price [USD/tCO2] (custom)")
    unserved_target = param.Number(default=0.0001, bounds=(0.0, 0.05), step=0.0001,
                                   doc="unserved share of demand the sizing must meet [1]")
    ba = param.Selector(default=None, objects=[], doc="balancing authority of the VPP view")

    def __init__(self, sites: xr.Dataset, energy: xr.Dataset, *, price=None, curtailment=None,
                 ba_load: xr.DataArray | None = None, flexible_mw=(0, 50, 100, 200, 400), **params):
        self.sites = sites
        self.energy = energy[ENERGY_VARS].load()
        self.price = price
        self.curtailment = curtailment
        self.ba_load = ba_load
        self.flexible_mw = list(flexible_mw)
        self._cache: dict = {}
        self.param.site.objects = [str(s) for s in self.energy["site"].values]
        bas = sorted(set(map(str, self.energy["ba"].values))) if "ba" in self.energy.coords else []
        if ba_load is not None:
            bas = [b for b in bas if b in set(map(str, ba_load["ba"].values))]
        self.param.ba.objects = bas
        params.setdefault("site", self.param.site.objects[0])
        if bas:
            params.setdefault("ba", bas[0])
        super().__init__(**params)

    @classmethod
    def from_default(cls, **params) -> FlexibilityState:
        """The demo sites and energy cube; real BA curtailment and load when the shared EIA-930 data is present."""
        from powerfirst.apps.headroom import default_grid_load
        from powerfirst.cubes.default import load_demo_cubes

        sites, energy = load_demo_cubes()
        load = default_grid_load()
        ba_load, curt = None, None
        if load is not None:
            from powerfirst.models.dispatch.inputs import align_to_typical_year

            time = energy.indexes["time"]
            curt = curtailment_for(energy["ba"].values, time, load)
            ba_load = align_to_typical_year(load, time, name="BA load")
        return cls(sites, energy, curtailment=curt, ba_load=ba_load, **params)

    def scenarios(self) -> dict:
        return {"base": {}, "no storage": {"storage_mw": 0, "gas_mw": 0, "flex_share": 0},
                "custom": {"storage_scale": self.storage_scale, "gas_mw_scale": self.gas_scale,
                           "priority": self.priority, "carbon_price": self.carbon_price,
                           "flex_share": _flex(self.sites, self.energy, self.flex_share)}}

    def _key(self):
        return (self.storage_scale, self.gas_scale, self.flex_share, self.priority, self.carbon_price)

    @param.depends("storage_scale", "gas_scale", "flex_share", "priority", "carbon_price")
    def result(self) -> xr.Dataset:
        """Summaries of every site and scenario (cached per setting)."""
        key = ("result",) + self._key()
        if key not in self._cache:
            self._cache[key] = dispatch(self.energy, self.sites, self.scenarios(), price=self.price,
                                        curtailment=self.curtailment)
        return self._cache[key]

    @param.depends("site", "storage_scale", "gas_scale", "flex_share", "priority", "carbon_price")
    def hourly(self) -> xr.Dataset:
        """Hourly flows of the site on show, every scenario."""
        key = ("hourly", self.site) + self._key()
        if key not in self._cache:
            self._cache[key] = dispatch(self.energy.sel(site=[self.site]), self.sites, self.scenarios(),
                                        price=self.price, curtailment=self.curtailment, hourly=True)
        return self._cache[key]

    @param.depends("site", "unserved_target")
    def tradeoff(self) -> xr.Dataset:
        """Storage and generation needed per MW connected flexibly, for the site on show."""
        key = ("tradeoff", self.site, self.unserved_target)
        if key not in self._cache:
            self._cache[key] = sizing_tradeoff(self.energy.sel(site=[self.site]), self.sites,
                                               flexible_mw=self.flexible_mw, unserved_target=self.unserved_target,
                                               price=self.price, curtailment=self.curtailment)
        return self._cache[key]

    @param.depends("storage_scale", "gas_scale", "flex_share", "priority", "carbon_price")
    def vpp(self) -> xr.Dataset | None:
        """Peak reduction of each BA by its sites' storage and flexible load (None without BA load)."""
        if self.ba_load is None or not self.param.ba.objects:
            return None
        key = ("vpp",) + self._key()
        if key not in self._cache:
            res = self.result()
            bas = list(self.param.ba.objects)
            fleet = fleet_by_ba(res, res["facility_demand"]).sel(ba=bas)
            self._cache[key] = vpp_peak_reduction(fleet, self.ba_load.sel(ba=bas))
        return self._cache[key]

    def summary(self) -> pd.DataFrame:
        """Headline figures of the site on show, one row per scenario."""
        return summary_frame(self.result(), self.site)


def _flex(sites: xr.Dataset, energy: xr.Dataset, share: float) -> xr.DataArray:
    """The deferrable share per site [1]: ``share`` for training sites, 0 for the others."""
    s = sites.sel(site=energy["site"].values)
    w = s["workload"].values.astype(str) if "workload" in s.variables else np.full(s.sizes["site"], "inference")
    return xr.DataArray(np.where(w == "training", float(share), 0.0), dims="site", coords={"site": s["site"].values})


class Flexibility(pn.viewable.Viewer):
    """The flexibility dashboard (served, or shown inline in a notebook)."""

    def __init__(self, state: FlexibilityState | None = None, **params):
        super().__init__(**params)
        self.state = s = state or FlexibilityState.from_default()
        self.widgets = pn.Column(
            pn.widgets.Select.from_param(s.param.site, name="Site"),
            pn.widgets.Select.from_param(s.param.scenario, name="Scenario of the stack"),
            pn.widgets.IntSlider.from_param(s.param.week, name="Week of the year"),
            pn.pane.Markdown("**Custom scenario**"),
            pn.widgets.FloatSlider.from_param(s.param.storage_scale, name="Storage x site option"),
            pn.widgets.FloatSlider.from_param(s.param.gas_scale, name="Generation x site option"),
            pn.widgets.FloatSlider.from_param(s.param.flex_share, name="Deferrable share of training load"),
            pn.widgets.RadioButtonGroup.from_param(s.param.priority, name="Priority"),
            pn.widgets.FloatSlider.from_param(s.param.carbon_price, name="Carbon price [USD/tCO2]"),
            pn.widgets.FloatInput.from_param(s.param.unserved_target, name="Unserved target [share]"),
            pn.widgets.Select.from_param(s.param.ba, name="BA of the VPP"),
        )
        knobs = (s.param.storage_scale, s.param.gas_scale, s.param.flex_share, s.param.priority, s.param.carbon_price)
        self.stack = pn.pane.HoloViews(pn.bind(self._stack, s.param.site, s.param.scenario, s.param.week, *knobs),
                                       sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator(pn.bind(self._table, s.param.site, *knobs), show_index=False, disabled=True,
                                          sizing_mode="stretch_width")
        self.tradeoff = pn.pane.HoloViews(pn.bind(self._tradeoff, s.param.site, s.param.unserved_target),
                                          sizing_mode="stretch_width")
        self.vpp_curve = pn.panel(pn.bind(self._vpp_curve, s.param.ba, *knobs), sizing_mode="stretch_width")
        self.vpp_bars = pn.panel(pn.bind(self._vpp_bars, *knobs), sizing_mode="stretch_width")

    def _stack(self, site, scenario, week, *_):
        return dispatch_stack(self.state.hourly(), site, scenario, week)

    def _table(self, *_):
        return self.state.summary()

    def _tradeoff(self, site, *_):
        return sizing_tradeoff_plot(self.state.tradeoff(), site)

    def _vpp_curve(self, ba, *_):
        v = self.state.vpp()
        if v is None or ba is None:
            return pn.pane.Markdown("No BA load available (the VPP view needs the EIA-930 grid cube).")
        red = float(v["peak_reduction_mw"].sel(ba=ba, scenario="custom"))
        return pn.pane.HoloViews(vpp_duration_curve(self.state.ba_load.sel(ba=ba).values, red, ba=ba),
                                 sizing_mode="stretch_width")

    def _vpp_bars(self, *_):
        v = self.state.vpp()
        if v is None:
            return pn.pane.Markdown("")
        return pn.pane.HoloViews(vpp_bars(v, "custom"), sizing_mode="stretch_width")

    def __panel__(self):
        sidebar = pn.Column(
            pn.pane.Markdown("## Flexibility\nStorage, on-site generation, a flexible grid connection and deferrable "
                             "training load, hour by hour. Demo sites are illustrative; see each result's price and "
                             "curtailment sources."),
            self.widgets, width=320)
        main = pn.Column(self.table, self.stack,
                         pn.Tabs(("Sizing trade-off", self.tradeoff), ("VPP", pn.Column(self.vpp_curve, self.vpp_bars)),
                                 dynamic=False),
                         sizing_mode="stretch_width")
        return pn.template.FastListTemplate(title="powerfirst · Flexibility", sidebar=[sidebar], main=[main])
