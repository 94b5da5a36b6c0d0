"""Headroom app: per-BA flexible-load headroom, its curve against the curtailment limit,
the month x hour pattern of curtailment and the event list."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.models.headroom import (
    DEFAULT_LIMITS,
    curtailment_events,
    flexible_headroom,
    seasonal_thresholds,
)
from powerfirst.paths import shared_data_dir
from powerfirst.viz.headroom import curtailment_heatmap, headroom_bars, headroom_curve

__app__ = ("headroom", "Headroom")

CURVE_LIMITS = np.round(np.geomspace(0.05, 20, 40), 4)


def default_source() -> Path | None:
    """``$POWERFIRST_EIA930_SOURCE``, else ``../shared/data/eia930`` beside a source checkout."""
    env = os.environ.get("POWERFIRST_EIA930_SOURCE")
    if env:
        return Path(env)
    shared = shared_data_dir()
    return shared / "eia930" if shared is not None and (shared / "eia930").is_dir() else None


class HeadroomState(param.Parameterized):
    """Which BA, which curtailment limit; the headroom results and event detail follow."""

    ba = param.Selector(default=None, objects=[], check_on_set=True, doc="balancing authority")
    limit = param.Selector(default=0.5, objects=list(DEFAULT_LIMITS), check_on_set=True,
                           doc="curtailment limit [%]")

    def __init__(self, load: xr.DataArray, limits=DEFAULT_LIMITS, **params):
        self.load = load
        self.threshold = seasonal_thresholds(load)
        self.result = flexible_headroom(load, limits, self.threshold)
        self.param.ba.objects = [str(b) for b in load["ba"].values]
        self.param.limit.objects = [float(x) for x in limits]
        params.setdefault("ba", self.param.ba.objects[0])
        super().__init__(**params)

    def table(self) -> pd.DataFrame:
        from powerfirst.commands.headroom import headroom_records

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


@pn.cache
def default_grid_load():
    """Hourly load of the 22 BAs, 2016-2024, from the shared EIA-930 cleaned releases [MW], or None
    when they are absent (cached for the server's lifetime)."""
    import warnings

    from powerfirst.cubes.grid import read_cleaned_releases

    src = default_source()
    if src is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cleaned_releases(src, start="2016-01-01", end="2025-01-01")["demand"].load()


class Headroom(pn.viewable.Viewer):
    """The Headroom dashboard (served, or inline in a notebook)."""

    def __init__(self, state: HeadroomState | None = None, **params):
        super().__init__(**params)
        if state is None:
            load = default_grid_load()
            state = HeadroomState(load) if load is not None else None
        self.state = state

    def _curve(self, ba):
        s = self.state
        return headroom_curve(s.curve(), marks=s.result["headroom"].sel(ba=ba),
                              title=f"{ba}: flexible headroom against the curtailment limit")

    def _heat(self, ba, limit):
        ev = self.state.events()
        return curtailment_heatmap(ev["heatmap"], title=f"{ba} at {limit:g} %: curtailed hours "
                                                        f"({ev['summary']['new_load_mw']:,.0f} MW new load)")

    def _events(self, ba, limit):
        ev = self.state.events()["events"].copy()
        ev = ev.sort_values("energy_mwh", ascending=False).head(200)
        return pn.widgets.Tabulator(ev, pagination="remote", page_size=10, disabled=True, show_index=False,
                                    sizing_mode="stretch_width")

    def __panel__(self):
        if self.state is None:
            return pn.pane.Markdown("## Headroom\nNo EIA-930 data found: set `POWERFIRST_EIA930_SOURCE` to a folder "
                                    "with the cleaned releases or EIA-930 files.")
        s = self.state
        table = pn.widgets.Tabulator(s.table(), pagination="remote", page_size=12, disabled=True,
                                     show_index=False, sizing_mode="stretch_width")
        sidebar = pn.Column(
            pn.pane.Markdown("## Flexible headroom\nNorris et al. (2025) method on hourly EIA-930 demand."),
            pn.widgets.Select.from_param(s.param.ba, name="Balancing authority"),
            pn.widgets.Select.from_param(s.param.limit, name="Curtailment limit [%]"),
            width=300,
        )
        main = pn.Column(
            pn.Row(pn.pane.HoloViews(pn.bind(self._curve, s.param.ba), sizing_mode="stretch_width"),
                   pn.pane.HoloViews(pn.bind(self._heat, s.param.ba, s.param.limit), sizing_mode="stretch_width")),
            pn.Tabs(("Events", pn.bind(self._events, s.param.ba, s.param.limit)),
                    ("All BAs", table),
                    ("By BA", pn.pane.HoloViews(pn.bind(lambda lim: headroom_bars(s.table(), lim), s.param.limit),
                                                sizing_mode="stretch_width")),
                    dynamic=True),
            sizing_mode="stretch_width",
        )
        return pn.template.FastListTemplate(title="powerfirst · Headroom", sidebar=[sidebar], main=[main])
