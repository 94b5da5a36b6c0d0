"""Overview app: the candidate sites on a map coloured by a chosen variable, a table, and a
site detail with its hourly profiles from the energy cube.  The site of the detail is the one
chosen in the sidebar, clicked on the map or selected in the table."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from powerfirst.apps._data import default_scenario, sites_and_energy, sites_note
from powerfirst.apps._format import formatted
from powerfirst.apps._template import page
from powerfirst.scenarios.spec import Scenario
from powerfirst.viz.overview import site_map, site_profiles

__app__ = ("overview", "Overview")

#: energy-cube variables summarised per site for the map (annual means)
SUMMARY_VARIABLES = ("solar_cf", "wind_cf", "pue", "carbon_intensity", "temp_air")
SITE_VARIABLES = ("target_mw", "firm_headroom_mw", "substation_distance_km", "water_stress", "community_alignment")
PROFILE_VARIABLES = ("solar_cf", "wind_cf", "temp_air", "pue", "carbon_intensity")


def site_summary(sites: xr.Dataset, energy: xr.Dataset | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per site: attributes and the annual means of the energy cube; plus labels with units."""
    cols = {"site": sites["site"].values}
    for c in ("name", "ba", "country", "tier", "workload", "lat", "lon"):
        if c in sites.coords or c in sites:
            cols[c] = sites[c].values
    labels: dict[str, str] = {}
    for v in SITE_VARIABLES:
        if v in sites:
            cols[v] = sites[v].values
            labels[v] = f"{sites[v].attrs.get('long_name', v)} [{sites[v].attrs.get('units', '')}]"
    frame = pd.DataFrame(cols)
    if energy is not None:
        present = [v for v in SUMMARY_VARIABLES if v in energy]
        means = energy[present].mean("time").compute().reindex(site=frame["site"].values)
        for v in present:
            key = f"{v}_mean"
            frame[key] = means[v].values
            labels[key] = f"annual mean {energy[v].attrs.get('long_name', v)} [{energy[v].attrs.get('units', '')}]"
    return frame, labels


class OverviewState(param.Parameterized):
    """State of the Overview: which variable colours the map, which site and month the detail shows.

    The scenario gives the sites and their energy cube (``sites``, ``weather``); ``sites`` and
    ``energy`` replace them (``energy=None`` with ``sites`` given: no energy cube).
    """

    scenario = param.ClassSelector(class_=Scenario, doc="the scenario: sites and weather")
    variable = param.Selector(default=None, objects=[], check_on_set=True, doc="variable colouring the sites")
    site = param.Selector(default=None, objects=[], check_on_set=True, doc="site shown in the detail")
    month = param.Integer(default=7, bounds=(1, 12), doc="month of the hourly profiles")

    def __init__(self, scenario: Scenario | None = None, *, sites: xr.Dataset | None = None,
                 energy: xr.Dataset | None = None, **params):
        scenario = default_scenario() if scenario is None else scenario
        if sites is None:
            sites, energy = sites_and_energy(scenario)
        self.sites = sites
        self.energy = energy
        self.summary, self.labels = site_summary(sites, energy)
        variables = list(self.labels)
        self.param.variable.objects = variables
        self.param.site.objects = list(self.summary["site"])
        params.setdefault("variable", "solar_cf_mean" if "solar_cf_mean" in variables else variables[0])
        params.setdefault("site", self.summary["site"].iloc[0])
        super().__init__(scenario=scenario, **params)

    def label(self, variable: str | None = None) -> str:
        return self.labels[variable or self.variable]

    @param.depends("variable")
    def map_frame(self) -> pd.DataFrame:
        """Sites with the selected variable (column named after it)."""
        keep = [c for c in ("site", "name", "ba", "tier", "target_mw", "lat", "lon") if c in self.summary]
        return self.summary[keep + ([self.variable] if self.variable not in keep else [])]

    @param.depends("site", "month")
    def profile_frame(self) -> pd.DataFrame:
        """Hourly profiles of the selected site in the selected month (empty without an energy cube)."""
        if self.energy is None:
            return pd.DataFrame({"time": pd.DatetimeIndex([])})
        e = self.energy[[v for v in PROFILE_VARIABLES if v in self.energy]].sel(site=self.site)
        e = e.sel(time=e["time.month"] == self.month).compute()
        df = e.drop_vars([c for c in e.coords if c != "time"]).to_dataframe().reset_index()
        df.attrs["units"] = {v: self.energy[v].attrs.get("units", "") for v in e.data_vars}
        return df

    def site_record(self) -> dict:
        """Attributes and annual means of the site on show."""
        return self.site_record_of(self.site)

    def site_record_of(self, site: str) -> dict:
        """Attributes and annual means of ``site`` (numbers as floats, unrounded)."""
        row = self.summary.set_index("site").loc[site]
        return {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in row.items()}


class Overview(pn.viewable.Viewer):
    """The Overview dashboard (served, or shown inline in a notebook)."""

    def __init__(self, state: OverviewState | None = None, *, scenario: Scenario | None = None, **params):
        super().__init__(**params)
        self.state = s = state if state is not None else OverviewState(scenario)
        self.variable_select = pn.widgets.Select.from_param(s.param.variable, name="Colour sites by")
        self.variable_select.options = {s.label(v): v for v in s.param.variable.objects}
        self.site_select = pn.widgets.Select.from_param(s.param.site, name="Site")
        self.month_slider = pn.widgets.IntSlider.from_param(s.param.month, name="Month")
        self.map = pn.pane.HoloViews(pn.bind(self._map, s.param.variable), sizing_mode="stretch_width",
                                     min_height=460)
        self.table = formatted(pn.widgets.Tabulator(
            self._table_frame(), pagination="remote", page_size=12, sizing_mode="stretch_width",
            show_index=False, selectable=1, disabled=True, height=420,
        ))
        self.table.param.watch(self._on_select, "selection")
        s.param.watch(self._refresh_table, "variable")
        # the card is one Markdown pane whose text follows the site (a served page updates the text of the
        # pane it holds; a function returning a new pane each time left the first site's card on the page)
        self.detail = pn.Column(
            pn.pane.Markdown(pn.bind(self._site_card, s.param.site), sizing_mode="stretch_width"),
            pn.pane.HoloViews(pn.bind(self._profiles, s.param.site, s.param.month), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _map(self, variable):
        frame = self.state.map_frame()
        plot = site_map(frame, variable, label=self.state.label(variable))
        points = next(e for e in (plot if isinstance(plot, hv.Overlay) else [plot]) if isinstance(e, hv.Points))
        points.opts(tools=["hover", "tap"], nonselection_alpha=0.5)
        # a click on a site of the map shows it in the detail (and the sidebar's selector)
        self.tap = hv.streams.Selection1D(source=points)
        sites = list(frame["site"])
        self.tap.add_subscriber(lambda index: self._on_tap(index, sites))
        return plot

    def _on_tap(self, index, sites) -> None:
        if index:
            self.state.site = sites[int(index[0])]

    def _table_frame(self) -> pd.DataFrame:
        df = self.state.map_frame().drop(columns=["lat", "lon"], errors="ignore")
        return df.rename(columns={self.state.variable: "value"})

    def _refresh_table(self, *_):
        self.table.value = self._table_frame()

    def _on_select(self, event):
        if event.new:
            self.state.site = self.table.value["site"].iloc[event.new[0]]

    def _site_card(self, site) -> str:
        """The detail card of ``site`` (Markdown): its id and name as the heading, then every attribute with
        its unit, numbers to about three significant figures (text escaped)."""
        import html

        from powerfirst.viz._format import format_number

        rec = self.state.site_record_of(site)
        labels = self.state.labels

        def cell(v):
            return format_number(v) if isinstance(v, int | float) and not isinstance(v, bool) else html.escape(str(v))

        lines = "\n".join(f"| {html.escape(labels.get(k, k))} | {cell(v)} |" for k, v in rec.items()
                          if k not in ("lat", "lon", "name", "site"))
        name = html.escape(str(rec.get("name", site)))
        return f"### {html.escape(str(site))}: {name}\n\n| attribute | value |\n|---|---|\n{lines}"

    def _profiles(self, site, month):
        df = self.state.profile_frame()
        return site_profiles(df, title=f"{site}: hourly profiles, month {month} (UTC)")

    def __panel__(self):
        sidebar = pn.Column(
            pn.pane.Markdown("## powerfirst\nEnergy-first siting of AI compute. "
                             f"{sites_note(self.state.scenario, self.state.sites)}"),
            self.variable_select, self.site_select, self.month_slider, width=320,
        )
        main = pn.Column(
            pn.Row(self.map, sizing_mode="stretch_width"),
            pn.Tabs(("Sites", self.table), ("Site detail", self.detail), dynamic=False),
            sizing_mode="stretch_width",
        )
        return page("powerfirst · Overview", sidebar=[sidebar], main=[main])
