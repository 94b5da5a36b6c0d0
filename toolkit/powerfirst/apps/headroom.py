"""Headroom app: per-BA flexible-load headroom, its curve against the curtailment limit,
the month x hour pattern of curtailment and the event list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.apps._data import default_scenario, grid_cube, no_grid_message
from powerfirst.apps._format import formatted
from powerfirst.apps._template import page
from powerfirst.models.headroom import curtailment_events, flexible_headroom, seasonal_thresholds
from powerfirst.scenarios.report import headroom_records
from powerfirst.scenarios.spec import Scenario
from powerfirst.viz.headroom import curtailment_heatmap, headroom_bars, headroom_curve

__app__ = ("headroom", "Headroom")

CURVE_LIMITS = np.round(np.geomspace(0.05, 20, 40), 4)


class HeadroomState(param.Parameterized):
    """Which BA, which curtailment limit; the headroom results and event detail follow.

    The scenario says where the hourly load comes from (``grid.source``, ``grid.years``,
    ``grid.bas``) and which curtailment limits the table holds (``headroom.limits``); ``load``
    (hourly demand on ``ba`` x ``time`` [MW]) replaces the scenario's grid data.
    """

    scenario = param.ClassSelector(class_=Scenario, doc="the scenario: grid data and curtailment limits")
    ba = param.Selector(default=None, objects=[], check_on_set=True, doc="balancing authority")
    limit = param.Selector(default=0.5, objects=[0.5], check_on_set=True, doc="curtailment limit shown [%]")

    def __init__(self, scenario: Scenario | None = None, *, load: xr.DataArray | None = None, **params):
        scenario = default_scenario() if scenario is None else scenario
        if load is None:
            grid = grid_cube(scenario)
            if grid is None:
                raise ValueError(no_grid_message(scenario))
            load = grid["demand"]
        self.load = load
        self.threshold = seasonal_thresholds(load)
        self._results: dict = {}
        self.param.ba.objects = [str(b) for b in load["ba"].values]
        limits = self._limits(scenario)
        self.param.limit.objects = limits
        params.setdefault("ba", self.param.ba.objects[0])
        params.setdefault("limit", self._default_limit(scenario, limits))
        super().__init__(scenario=scenario, **params)

    @staticmethod
    def _limits(scenario: Scenario) -> list[float]:
        return [float(x) for x in scenario.headroom.limits]

    @staticmethod
    def _default_limit(scenario: Scenario, limits: list[float]) -> float:
        flexible = float(scenario.headroom.flexible_limit)
        return flexible if flexible in limits else limits[0]

    @param.depends("scenario.headroom.limits", watch=True)
    def _limits_changed(self):
        limits = self._limits(self.scenario)
        self.param.limit.objects = limits
        if self.limit not in limits:
            self.limit = self._default_limit(self.scenario, limits)

    @property
    def result(self) -> xr.Dataset:
        """Headroom of every BA at the scenario's limits (``ba`` x ``limit``)."""
        key = tuple(self._limits(self.scenario))
        if key not in self._results:
            self._results = {key: flexible_headroom(self.load, list(key), self.threshold)}
        return self._results[key]

    def table(self) -> pd.DataFrame:
        """One row per BA and limit, and the TOTAL of each limit (:func:`headroom_records`)."""
        return pd.DataFrame(headroom_records(self.result))

    @param.depends("ba")
    def curve(self) -> xr.DataArray:
        """Headroom [MW] of the BA on a fine grid of limits."""
        hr = flexible_headroom(self.load.sel(ba=[self.ba]), CURVE_LIMITS, self.threshold.sel(ba=[self.ba]))
        return hr["headroom"].isel(ba=0)

    @param.depends("ba", "limit")
    def events(self) -> dict:
        mw = float(self.result["headroom"].sel(ba=self.ba, limit=self.limit))
        return curtailment_events(self.load.sel(ba=self.ba), mw, self.threshold.sel(ba=self.ba))


class Headroom(pn.viewable.Viewer):
    """The Headroom dashboard (served, or inline in a notebook)."""

    def __init__(self, state: HeadroomState | None = None, *, scenario: Scenario | None = None, **params):
        super().__init__(**params)
        if state is None:
            scenario = default_scenario() if scenario is None else scenario
            state = HeadroomState(scenario) if grid_cube(scenario) is not None else None
        self.state = s = state
        self.scenario = scenario if state is None else state.scenario
        if s is None:
            return
        self.ba_select = pn.widgets.Select.from_param(s.param.ba, name="Balancing authority")
        self.limit_select = pn.widgets.Select.from_param(s.param.limit, name="Curtailment limit [%]")
        self.curve = pn.pane.HoloViews(pn.bind(self._curve, s.param.ba, s.scenario.headroom.param.limits),
                                       sizing_mode="stretch_width")
        self.heat = pn.pane.HoloViews(pn.bind(self._heat, s.param.ba, s.param.limit), sizing_mode="stretch_width")
        # one table for the session whose rows follow the BA and limit (a served page keeps the table it holds)
        self.events = formatted(pn.widgets.Tabulator(pn.bind(self._events_frame, s.param.ba, s.param.limit),
                                                     pagination="remote", page_size=10, disabled=True,
                                                     show_index=False, sizing_mode="stretch_width"))
        self.table = formatted(pn.widgets.Tabulator(pn.bind(self._table, s.scenario.headroom.param.limits),
                                                    pagination="remote", page_size=12, disabled=True,
                                                    show_index=False, sizing_mode="stretch_width"))
        self.bars = pn.pane.HoloViews(pn.bind(self._bars, s.param.limit), sizing_mode="stretch_width")

    def _curve(self, ba, *_):
        s = self.state
        return headroom_curve(s.curve(), marks=s.result["headroom"].sel(ba=ba),
                              title=f"{ba}: flexible headroom against the curtailment limit")

    def _heat(self, ba, limit):
        ev = self.state.events()
        return curtailment_heatmap(ev["heatmap"], title=f"{ba} at {limit:g} %: curtailed hours "
                                                        f"({ev['summary']['new_load_mw']:,.0f} MW new load)")

    def _events_frame(self, ba, limit) -> pd.DataFrame:
        """The 200 largest curtailment events of the BA at the limit, largest first."""
        ev = self.state.events()["events"].copy()
        return ev.sort_values("energy_mwh", ascending=False).head(200).reset_index(drop=True)

    def _table(self, *_):
        return self.state.table()

    def _bars(self, limit):
        return headroom_bars(self.state.table(), limit)

    def __panel__(self):
        if self.state is None:
            return pn.pane.Markdown(f"## Headroom\n{no_grid_message(self.scenario)}")
        sidebar = pn.Column(
            pn.pane.Markdown("## Flexible headroom\nNorris et al. (2025) method on hourly EIA-930 demand."),
            self.ba_select, self.limit_select, width=300,
        )
        main = pn.Column(
            pn.Row(self.curve, self.heat),
            pn.Tabs(("Events", self.events), ("All BAs", self.table), ("By BA", self.bars), dynamic=True),
            sizing_mode="stretch_width",
        )
        return page("powerfirst · Headroom", sidebar=[sidebar], main=[main])
