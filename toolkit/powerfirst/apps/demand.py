"""Demand-growth app: fan charts of data-centre electricity against published bands, the workload
split, and the hourly load-forecast backtest of a balancing authority with its metrics."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.apps._data import (
    SharedResults,
    default_scenario,
    grid_cube,
    inputs_key,
    no_grid_message,
)
from powerfirst.apps._data import demand_cube as scenario_demand_cube
from powerfirst.apps._format import formatted
from powerfirst.apps._template import page
from powerfirst.scenarios.spec import Scenario
from powerfirst.viz.demand import backtest_chart, fan_chart, metrics_frame, workload_chart

__app__ = ("demand", "DemandGrowth")


def backtest_grid(scenario: Scenario, train=(2015, 2018), test=2019) -> xr.Dataset | None:
    """The hourly load the backtests need: the scenario's grid source for ``grid.bas`` (default: the ten
    evaluation BAs, :data:`powerfirst.models.forecast.backtest.EVALUATION_BAS`) from the first training
    year to the test year (cached per server); None without a grid source."""
    from powerfirst.models.forecast.backtest import EVALUATION_BAS

    last = int(str(test[-1] if isinstance(test, (tuple, list)) else test)[:4])
    return grid_cube(scenario, bas=list(scenario.grid.bas) or list(EVALUATION_BAS), years=(int(train[0]), last))


class DemandGrowthState(param.Parameterized):
    """State of the demand-growth app (no panel import: testable on its own).

    The scenario gives the demand cube (``demand.scenarios``, ``demand.regions``, ``demand.years``)
    and the hourly load of the backtests (``grid.source``, see :func:`backtest_grid`), from which
    backtests are computed on demand, one BA at a time.  ``cube`` (a demand cube) and ``grid`` (a
    grid cube with hourly ``demand`` and ``demand_forecast``) replace what the scenario would give;
    ``results`` are precomputed backtests (``{ba: BacktestResult}``).
    """

    scenario = param.ClassSelector(class_=Scenario, doc="the scenario: demand settings and grid data")
    region = param.Selector(default=None, objects=[], check_on_set=True, doc="region of the fan chart")
    scenarios = param.ListSelector(default=[], objects=[], doc="driver scenarios drawn")
    split_scenario = param.Selector(default=None, objects=[], check_on_set=True,
                                    doc="scenario of the workload split")
    ba = param.Selector(default=None, objects=[], check_on_set=True, doc="balancing authority of the hourly backtest")
    month = param.Integer(default=7, bounds=(1, 12), doc="month of the test year shown in the backtest plot")
    days = param.Integer(default=14, bounds=(1, 31), doc="days shown in the backtest plot")

    def __init__(self, scenario: Scenario | None = None, *, cube: xr.Dataset | None = None,
                 grid: xr.Dataset | None = None, results: dict | None = None, train=(2015, 2018), test=2019,
                 forecaster=None, **params):
        scenario = default_scenario() if scenario is None else scenario
        # backtests fitted once for every session on the same grid data and periods (not with a custom forecaster)
        shared = grid is None and forecaster is None
        self._backtests = SharedResults("demand", (inputs_key(scenario), tuple(train), test) if shared else None)
        self.cube = scenario_demand_cube(scenario) if cube is None else cube
        self.grid = backtest_grid(scenario, train, test) if grid is None else grid
        cube, grid = self.cube, self.grid
        self.train, self.test = train, test
        self.forecaster = forecaster
        self.results = dict(results or {})
        regions = [str(r) for r in cube["region"].values]
        scen = [str(s) for s in cube["scenario"].values]
        self.param.region.objects = regions
        self.param.scenarios.objects = scen
        self.param.split_scenario.objects = scen
        bas = list(self.results)
        if grid is not None:
            bas += [str(b) for b in grid["ba"].values if str(b) not in bas]
        self.param.ba.objects = bas
        params.setdefault("region", "US" if "US" in regions else regions[0])
        params.setdefault("scenarios", scen)
        params.setdefault("split_scenario", scen[0])
        if bas:
            params.setdefault("ba", bas[0])
        super().__init__(scenario=scenario, **params)

    @param.depends("region", "scenarios")
    def fan(self):
        return fan_chart(self.cube, self.region, self.scenarios)

    @param.depends("region", "split_scenario")
    def workloads(self):
        return workload_chart(self.cube, self.region, self.split_scenario)

    def backtest_result(self, ba: str | None = None):
        """The backtest of ``ba`` (default: the selected BA), computed once and kept."""
        ba = ba or self.ba
        if ba is None:
            return None
        if ba not in self.results:
            if self.grid is None:
                return None
            if ba not in self._backtests:
                from powerfirst.models.forecast.backtest import evaluate_bas

                _, res = evaluate_bas(self.grid, [ba], train=self.train, test=self.test, forecaster=self.forecaster,
                                      return_results=True)
                self._backtests[ba] = res[ba]
            self.results[ba] = self._backtests[ba]
        return self.results[ba]

    @param.depends("ba", "month", "days")
    def backtest_frame(self) -> pd.DataFrame | None:
        res = self.backtest_result()
        return None if res is None else res.frame

    def window_start(self) -> pd.Timestamp:
        frame = self.backtest_frame()
        year = frame.index[0].year
        return pd.Timestamp(year=year, month=self.month, day=1)

    def metrics_table(self) -> pd.DataFrame:
        """One row per BA backtested so far."""
        recs = [r.to_record() for r in self.results.values()]
        if not recs:
            return pd.DataFrame(columns=["ba", "mape", "mape_seasonal_naive", "mape_ba_forecast", "coverage_80"])
        t = pd.DataFrame.from_records(recs)
        t["reduction_vs_seasonal_naive"] = (1 - t["mape"] / t["mape_seasonal_naive"]).round(3)
        return t


class DemandGrowth(pn.viewable.Viewer):
    """The demand-growth dashboard (served, or inline in a notebook)."""

    def __init__(self, state: DemandGrowthState | None = None, *, scenario: Scenario | None = None, **params):
        super().__init__(**params)
        self.state = s = state if state is not None else DemandGrowthState(scenario)
        self.region_select = pn.widgets.Select.from_param(s.param.region, name="Region")
        self.scenario_picker = pn.widgets.CheckButtonGroup.from_param(s.param.scenarios, name="Scenarios")
        self.scenario_select = pn.widgets.Select.from_param(s.param.split_scenario, name="Workload split of")
        self.ba_select = pn.widgets.Select.from_param(s.param.ba, name="Balancing authority")
        self.month_slider = pn.widgets.IntSlider.from_param(s.param.month, name="Month shown")
        self.fan = pn.pane.HoloViews(s.fan, sizing_mode="stretch_width", min_height=380)
        self.workloads = pn.pane.HoloViews(s.workloads, sizing_mode="stretch_width", min_height=300)
        self.table = formatted(pn.widgets.Tabulator(metrics_frame(s.metrics_table()), show_index=False,
                                                    disabled=True, sizing_mode="stretch_width", height=360))
        # one pane for the session (a served page updates the object of the pane it holds; a function that
        # returned a new pane at each change left the first one on the page)
        if s.ba is None:
            self.backtest = pn.pane.Markdown(self._backtest(None, s.month, s.days).object, sizing_mode="stretch_width")
        else:
            self.backtest = pn.pane.HoloViews(pn.bind(self._backtest_chart, s.param.ba, s.param.month, s.param.days),
                                              sizing_mode="stretch_width", min_height=360)

    def _backtest(self, ba, month, days):
        """The backtest chart of the BA picked, or a Markdown pane saying how to get hourly data."""
        frame = self.state.backtest_frame()  # computes the BA's backtest on first use
        self._refresh_table()
        if frame is None:
            return pn.pane.Markdown(f"No hourly data for backtests. {no_grid_message(self.state.scenario)}")
        return backtest_chart(frame, self.state.window_start(), days)

    def _backtest_chart(self, ba, month, days):
        out = self._backtest(ba, month, days)
        return out if not isinstance(out, pn.pane.Markdown) else None

    def _refresh_table(self, *_):
        self.table.value = metrics_frame(self.state.metrics_table())

    def __panel__(self):
        sidebar = pn.Column(
            pn.pane.Markdown("## Demand growth\nData-centre electricity by scenario against published "
                             "projections; hourly grid-load forecasts backtested on EIA-930."),
            self.region_select, self.scenario_picker, self.scenario_select, pn.layout.Divider(),
            self.ba_select, self.month_slider, width=320)
        main = pn.Tabs(
            ("Annual demand", pn.Column(self.fan, self.workloads, sizing_mode="stretch_width")),
            ("Hourly backtest", pn.Column(self.backtest, self.table, sizing_mode="stretch_width")),
            dynamic=False, sizing_mode="stretch_width")
        return page("powerfirst · Demand growth", sidebar=[sidebar], main=[main])
