"""Flexibility app: a site's hourly dispatch for a chosen week, the sizing trade-off between MW
connected early on a flexible connection and the storage or generation it needs, and the VPP
peak reduction of each BA's sites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.apps._data import (
    SharedResults,
    default_scenario,
    grid_cube,
    inputs_key,
    sites_and_energy,
    sites_note,
)
from powerfirst.apps._template import page
from powerfirst.models.dispatch import dispatch
from powerfirst.models.dispatch.inputs import align_to_typical_year
from powerfirst.models.dispatch.sizing import sizing_tradeoff
from powerfirst.models.dispatch.vpp import fleet_by_ba, vpp_peak_reduction
from powerfirst.scenarios.run import dispatch_curtailment, load_sites
from powerfirst.scenarios.spec import Scenario
from powerfirst.viz.dispatch import (
    dispatch_stack,
    sizing_tradeoff_plot,
    summary_frame,
    summary_table,
    vpp_bars,
    vpp_duration_curve,
)

__app__ = ("flexibility", "Flexibility")

ENERGY_VARS = ["solar_cf", "wind_cf", "pue", "carbon_intensity"]
#: the scenarios the app adds to the scenario's own (``dispatch.scenarios``): a reference without
#: storage, generation or deferral, and the one set by the sliders
APP_SCENARIOS = ("no storage", "custom")
#: the scenario settings the dispatch results depend on
SETTINGS = ("scenario.dispatch.scenarios", "scenario.dispatch.window_hours", "scenario.headroom.flexible_limit")
KNOBS = ("storage_scale", "gas_scale", "flex_share", "priority", "carbon_price")
#: the sizing trade-off's non-firm MW tried, as shares of the site's own non-firm need
#: (target_mw - firm_headroom_mw; the whole target_mw for a site whose headroom covers it) [1]
FLEXIBLE_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: the storage power and on-site generation tried, as shares of the site's target_mw [1]
OPTION_SHARES = (0.0, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)


class FlexibilityState(param.Parameterized):
    """The model's settings and what is on show (no panel here).

    The scenario gives the sites and their energy cube (``sites``, ``weather``), the BA load whose
    curtailment events a flexible connection faces (``grid``, at ``headroom.flexible_limit``), the
    dispatch scenarios compared (``dispatch.scenarios``, shown with ``no storage`` and ``custom``)
    and the rule's look-ahead (``dispatch.window_hours``).  ``sites``, ``energy``, ``price``,
    ``curtailment`` and ``ba_load`` replace what the scenario would give.
    """

    scenario = param.ClassSelector(class_=Scenario, doc="the scenario: sites, grid data and dispatch settings")
    site = param.Selector(default=None, objects=[], doc="site shown")
    stack_scenario = param.Selector(default="custom", objects=["base", *APP_SCENARIOS],
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

    def __init__(self, scenario: Scenario | None = None, *, sites: xr.Dataset | None = None,
                 energy: xr.Dataset | None = None, price=None, curtailment=None, ba_load: xr.DataArray | None = None,
                 flexible_mw=None, **params):
        scenario = default_scenario() if scenario is None else scenario
        if energy is None:
            sc_sites, energy = sites_and_energy(scenario)
            sites = sc_sites if sites is None else sites
        elif sites is None:
            sites = load_sites(scenario)
        self.sites = sites
        self.energy = energy[ENERGY_VARS].load()
        self.price = price
        self.flexible_mw = None if flexible_mw is None else [float(x) for x in flexible_mw]
        self._curtailment = curtailment
        self._curtailment_by_limit: dict = {}
        shared = price is None and curtailment is None and ba_load is None
        self._cache = SharedResults("flexibility", inputs_key(scenario, self.sites, self.energy) if shared else None)
        self.grid = grid_cube(scenario) if curtailment is None or ba_load is None else None
        if ba_load is None and self.grid is not None:
            ba_load = align_to_typical_year(self.grid["demand"], self.energy.indexes["time"], name="BA load")
        self.ba_load = ba_load
        self.param.site.objects = [str(s) for s in self.energy["site"].values]
        bas = sorted(set(map(str, self.energy["ba"].values))) if "ba" in self.energy.coords else []
        if ba_load is not None:
            bas = [b for b in bas if b in set(map(str, ba_load["ba"].values))]
        self.param.ba.objects = bas
        self.param.stack_scenario.objects = self._names(scenario)
        params.setdefault("site", self.param.site.objects[0])
        if bas:
            params.setdefault("ba", bas[0])
        super().__init__(scenario=scenario, **params)

    @staticmethod
    def _names(scenario: Scenario) -> list[str]:
        return [*[n for n in scenario.dispatch.scenarios if n not in APP_SCENARIOS], *APP_SCENARIOS]

    @param.depends("scenario.dispatch.scenarios", watch=True)
    def _scenarios_changed(self):
        names = self._names(self.scenario)
        self.param.stack_scenario.objects = names
        if self.stack_scenario not in names:
            self.stack_scenario = "custom"

    @property
    def curtailment(self):
        """Curtailed fraction of each BA's flexible connections [1]: the one given, else from the scenario's
        grid at ``headroom.flexible_limit``, else None (the dispatch model's stylised events)."""
        if self._curtailment is not None or self.grid is None:
            return self._curtailment
        limit = float(self.scenario.headroom.flexible_limit)
        if limit not in self._curtailment_by_limit:
            self._curtailment_by_limit[limit] = dispatch_curtailment(
                self.grid, self.energy["ba"].values, self.energy.indexes["time"], limit=limit)
        return self._curtailment_by_limit[limit]

    def scenarios(self) -> dict:
        """The dispatch scenarios run: the scenario's own, ``no storage`` and ``custom`` (the sliders)."""
        own = {k: dict(v) for k, v in self.scenario.dispatch.scenarios.items() if k not in APP_SCENARIOS}
        return {**own, "no storage": {"storage_mw": 0, "gas_mw": 0, "flex_share": 0},
                "custom": {"storage_scale": self.storage_scale, "gas_mw_scale": self.gas_scale,
                           "priority": self.priority, "carbon_price": self.carbon_price,
                           "flex_share": _flex(self.sites, self.energy, self.flex_share)}}

    def _key(self):
        d = self.scenario.dispatch
        return (self.storage_scale, self.gas_scale, self.flex_share, self.priority, self.carbon_price,
                repr(sorted((k, sorted(v.items())) for k, v in d.scenarios.items())), d.window_hours,
                float(self.scenario.headroom.flexible_limit))

    def _run(self, energy, **kw):
        return dispatch(energy, self.sites, self.scenarios(), price=self.price, curtailment=self.curtailment,
                        window_hours=self.scenario.dispatch.window_hours, **kw)

    @param.depends(*KNOBS, *SETTINGS)
    def result(self) -> xr.Dataset:
        """Summaries of every site and scenario (cached per setting)."""
        key = ("result",) + self._key()
        if key not in self._cache:
            self._cache[key] = self._run(self.energy)
        return self._cache[key]

    @param.depends("site", *KNOBS, *SETTINGS)
    def hourly(self) -> xr.Dataset:
        """Hourly flows of the site on show, every scenario."""
        key = ("hourly", self.site) + self._key()
        if key not in self._cache:
            self._cache[key] = self._run(self.energy.sel(site=[self.site]), hourly=True)
        return self._cache[key]

    def sizes(self, site: str | None = None) -> dict[str, list[float]]:
        """The sizes the trade-off of ``site`` (default: the site on show) tries, on the site's own scale [MW]:
        ``flexible_mw`` = :data:`FLEXIBLE_SHARES` x its non-firm need (``flexible_mw`` of the state when
        given), ``storage_mw`` and ``gas_mw`` = :data:`OPTION_SHARES` x its ``target_mw``."""
        one = self.sites.sel(site=site or self.site)
        target = float(one["target_mw"]) if "target_mw" in one else float("nan")
        if not np.isfinite(target) or target <= 0:
            raise ValueError(f"site {site or self.site}: target_mw must be a number > 0 [MW] to size the trade-off, "
                             f"found {target}")
        firm = float(one["firm_headroom_mw"]) if "firm_headroom_mw" in one else 0.0
        need = target - firm if np.isfinite(firm) and target - firm > 0 else target
        flexible = self.flexible_mw if self.flexible_mw is not None else [f * need for f in FLEXIBLE_SHARES]
        options = [f * target for f in OPTION_SHARES]
        return {"flexible_mw": flexible, "storage_mw": options, "gas_mw": options}

    @param.depends("site", "unserved_target", *SETTINGS)
    def tradeoff(self) -> xr.Dataset:
        """Storage and generation needed per MW connected flexibly, for the site on show (sizes on the
        site's own scale, :meth:`sizes`)."""
        key = ("tradeoff", self.site, self.unserved_target, repr(self.flexible_mw)) + self._key()[-2:]
        if key not in self._cache:
            self._cache[key] = sizing_tradeoff(self.energy.sel(site=[self.site]), self.sites,
                                               **self.sizes(), unserved_target=self.unserved_target,
                                               price=self.price, curtailment=self.curtailment,
                                               window_hours=self.scenario.dispatch.window_hours)
        return self._cache[key]

    @param.depends(*KNOBS, *SETTINGS)
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

    def summary_table(self) -> pd.DataFrame:
        """The headline figures of the site on show as the dashboard shows them: one row per figure (unit in
        its name), one column per scenario, numbers formatted (:func:`powerfirst.viz.dispatch.summary_table`)."""
        return summary_table(self.result(), self.site)


def _flex(sites: xr.Dataset, energy: xr.Dataset, share: float) -> xr.DataArray:
    """The deferrable share per site [1]: ``share`` for training sites, 0 for the others."""
    s = sites.sel(site=energy["site"].values)
    w = s["workload"].values.astype(str) if "workload" in s.variables else np.full(s.sizes["site"], "inference")
    return xr.DataArray(np.where(w == "training", float(share), 0.0), dims="site", coords={"site": s["site"].values})


class Flexibility(pn.viewable.Viewer):
    """The flexibility dashboard (served, or shown inline in a notebook)."""

    def __init__(self, state: FlexibilityState | None = None, *, scenario: Scenario | None = None, **params):
        super().__init__(**params)
        self.state = s = state if state is not None else FlexibilityState(scenario)
        self.widgets = pn.Column(
            pn.widgets.Select.from_param(s.param.site, name="Site"),
            pn.widgets.Select.from_param(s.param.stack_scenario, name="Scenario of the stack"),
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
        sc = s.scenario
        settings = (sc.dispatch.param.scenarios, sc.dispatch.param.window_hours, sc.headroom.param.flexible_limit)
        knobs = (*(s.param[k] for k in KNOBS), *settings)
        self.stack = pn.pane.HoloViews(pn.bind(self._stack, s.param.site, s.param.stack_scenario, s.param.week,
                                               *knobs), sizing_mode="stretch_width")
        # one row per figure: every figure of `powerfirst dispatch` stays in view (a row per scenario ran to 16
        # columns, and cost and emissions were scrolled off the right edge)
        self.table = pn.widgets.Tabulator(pn.bind(self._table, s.param.site, *knobs), show_index=False, disabled=True,
                                          sortable=False, sizing_mode="stretch_width", layout="fit_data_stretch")
        self.tradeoff = pn.pane.HoloViews(pn.bind(self._tradeoff, s.param.site, s.param.unserved_target, *settings),
                                          sizing_mode="stretch_width")
        # one pane each for the session: a served page updates the object of the pane it holds
        if s.ba_load is None or not s.param.ba.objects:
            self.vpp_curve = pn.pane.Markdown("No BA load available (the VPP view needs the EIA-930 grid cube).")
            self.vpp_bars = pn.pane.Markdown("")
        else:
            self.vpp_curve = pn.pane.HoloViews(pn.bind(self._vpp_curve, s.param.ba, *knobs),
                                               sizing_mode="stretch_width")
            self.vpp_bars = pn.pane.HoloViews(pn.bind(self._vpp_bars, *knobs), sizing_mode="stretch_width")

    def _stack(self, site, scenario, week, *_):
        return dispatch_stack(self.state.hourly(), site, scenario, week)

    def _table(self, *_):
        return self.state.summary_table()

    def _tradeoff(self, site, *_):
        return sizing_tradeoff_plot(self.state.tradeoff(), site)

    def _vpp_curve(self, ba, *_):
        v = self.state.vpp()
        red = float(v["peak_reduction_mw"].sel(ba=ba, scenario="custom"))
        return vpp_duration_curve(self.state.ba_load.sel(ba=ba).values, red, ba=ba)

    def _vpp_bars(self, *_):
        return vpp_bars(self.state.vpp(), "custom")

    def __panel__(self):
        sidebar = pn.Column(
            pn.pane.Markdown("## Flexibility\nStorage, on-site generation, a flexible grid connection and deferrable "
                             f"training load, hour by hour. {sites_note(self.state.scenario, self.state.sites)} "
                             "See each result's price and curtailment sources."),
            self.widgets, width=320)
        main = pn.Column(self.table, self.stack,
                         pn.Tabs(("Sizing trade-off", self.tradeoff), ("VPP", pn.Column(self.vpp_curve, self.vpp_bars)),
                                 dynamic=False),
                         sizing_mode="stretch_width")
        return page("powerfirst · Flexibility", sidebar=[sidebar], main=[main])
