"""The workbench's Network tab: the network plan on the candidates of the run on show.

The plan is the one of the ``network`` run group (:func:`powerfirst.scenarios.run.network_candidates`,
then :func:`powerfirst.scenarios.run.run_network`), made from the siting screen on show in the
workbench (``WorkbenchState.result``) with the scenario of that run and the ``network`` section of
the scenario as it is now (Scenario tab, section network).  ``network.candidate_regions`` is not
used: the candidates are the ``network.top_n`` best of the run on show.

* :func:`plan_scenario`, :func:`plan_key` — the scenario a plan is made with, and its cache key
  (plan scenario hash, run scenario hash, sites hash); :class:`PlanCache` keeps plans as
  :class:`~powerfirst.apps._workbench_state.RunCache` keeps runs (the plan of a run of public
  sites is shared by every session, the plan of an upload's run stays in its session);
* :func:`kpi_frame`, :func:`country_frame`, :func:`built_frame`, :func:`plan_summary` — the tables
  and the line shown, units in the column names;
* :class:`NetworkTab` — the tab: "Plan the network" (the plan runs in a worker thread, one plan
  at a time per server, a stage line says what it is doing), then the map of the built sites with
  a year slider and the tables.  A failure is a message (the input's own message, or a reference
  id whose traceback only the server log holds) and the plan on show stays.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict

import numpy as np
import pandas as pd
import panel as pn
import xarray as xr
import yaml

from powerfirst.apps._format import formatted
from powerfirst.apps._workbench_state import Run, RunCache, user_message
from powerfirst.apps._workbench_state import message_html as _line
from powerfirst.errors import Problem, ValidationError

__all__ = ["PLAN_LOCK", "PlanCache", "plan_scenario", "plan_key", "kpi_frame", "country_frame", "built_frame",
           "plan_summary", "NetworkTab"]

#: one network plan at a time per server process (the MILP takes a core for up to network.time_limit)
PLAN_LOCK = threading.BoundedSemaphore(1)

#: lines of an error message shown (a sovereignty rule can name every country it leaves unserved)
MAX_MESSAGE_LINES = 12


class PlanCache(RunCache):
    """Network plans keyed by :func:`plan_key`: shared by every session for a run of public sites,
    the session's own for a run of an upload (least recently used shared plan dropped first)."""

    _shared: OrderedDict = OrderedDict()
    _lock = threading.Lock()
    MAX_SHARED = 8


# ------------------------------------------------------------------------------------------ what is planned


def plan_scenario(scenario, run: Run | None, name: str):
    """The scenario a plan of the run on show is made with.

    Parameters
    ----------
    scenario : powerfirst.scenarios.Scenario
        The workbench's scenario now: its ``network`` section is used.
    run : Run or None
        The run on show: its scenario (siting settings, seed, siting start) is the one its candidates
        come from.  None: the workbench's scenario is used whole.
    name : str
        The run's name (names the plan).

    Returns
    -------
    powerfirst.scenarios.Scenario
        The run's scenario with the current ``network`` section, ``network.candidate_regions``
        emptied (the candidates are the run's).
    """
    from powerfirst.scenarios.spec import Scenario

    network = {**scenario.network.to_dict(), "candidate_regions": []}
    base = Scenario.from_dict(yaml.safe_load(run.scenario_yaml)) if run is not None else scenario
    return base.copy(name=name, network=network)


def plan_key(sc, run: Run | None, runs: RunCache) -> tuple[tuple | None, bool]:
    """The cache key of a plan of ``run`` with scenario ``sc`` and whether it stays private.

    The key is (``sc.hash``, the run's scenario hash, the run's sites hash): the candidates follow
    from the run's scenario and sites, the plan from them and the network section.  A plan is shared
    only when the run's result is in the shared run cache (a run of public sites); None (no cache)
    without a run.
    """
    if run is None:
        return None, True
    shared = runs.get((run.scenario_hash, run.sites_hash), private=False)
    return (sc.hash, run.scenario_hash, run.sites_hash), shared is not run.result


# ------------------------------------------------------------------------------------------ tables


def kpi_frame(plan: xr.Dataset) -> pd.DataFrame:
    """KPIs of the plan by year (:func:`powerfirst.viz.network.kpi_table`), units in the column names."""
    from powerfirst.viz.network import kpi_table

    return kpi_table(plan).reset_index().drop(columns="variant").rename(
        columns={"sites built": "sites built [sites]"})


def country_frame(plan: xr.Dataset) -> pd.DataFrame:
    """MW in place by site country and tier in every plan year
    (:func:`powerfirst.viz.network.capacity_by_country`), a total row per year.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``site country``, ``<tier> [MW]`` for every tier, ``total [MW]``.
    """
    from powerfirst.models.network import TIERS
    from powerfirst.viz.network import capacity_by_country

    frames = []
    for y in plan["year"].values.astype(int):
        c = capacity_by_country(plan, int(y))
        c.columns = [f"{tier} [MW]" for _variant, tier in c.columns]
        c["total [MW]"] = c[[f"{t} [MW]" for t in TIERS]].sum(axis=1)
        c = c.reset_index()
        c.insert(0, "year", int(y))
        frames.append(c)
    return pd.concat(frames, ignore_index=True)


def built_frame(plan: xr.Dataset) -> pd.DataFrame:
    """One row per site, tier and year with capacity in place
    (:func:`powerfirst.viz.network.built_sites_frame`), by year then most MW first.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``site``, ``tier``, ``country``, ``screen rank`` (the site's rank in the run),
        ``built [MW]``, ``new [MW]`` (built that year), ``energy [GWh]``, ``lat [degrees_north]``,
        ``lon [degrees_east]``.
    """
    from powerfirst.viz.network import built_sites_frame

    df = built_sites_frame(plan).sort_values(["year", "built_mw", "site"], ascending=[True, False, True],
                                             kind="stable")
    rank = (pd.Series(plan["site_screen_rank"].values.astype(float), index=plan["site"].values.astype(str))
            if "site_screen_rank" in plan.coords else pd.Series(dtype=float))
    return pd.DataFrame({
        "year": df["year"].to_numpy(int),
        "site": df["site"].to_numpy(str),
        "tier": df["tier"].astype(str).to_numpy(),
        "country": df["country"].astype(str).to_numpy(),
        "screen rank": pd.array(rank.reindex(df["site"]).round().to_numpy(), dtype="Int64"),
        "built [MW]": df["built_mw"].to_numpy(float),
        "new [MW]": df["new_mw"].to_numpy(float),
        "energy [GWh]": df["energy_gwh"].to_numpy(float),
        "lat [degrees_north]": df["lat"].to_numpy(float),
        "lon [degrees_east]": df["lon"].to_numpy(float),
    })


def plan_summary(plan: xr.Dataset, run_name: str) -> str:
    """One paragraph on the plan: its size, solver, sites built in the last year, and the demand no
    candidate may serve (planned as unserved)."""
    a = plan.attrs
    years = [int(y) for y in plan["year"].values]
    gap = float(a.get("mip_gap", np.nan))
    ratio = float(a.get("greedy_over_milp", np.nan))
    built = int((plan["built_mw"].sel(year=years[-1]).sum("tier") > 0).sum())
    text = (f"Plan of run {run_name}: {plan.sizes['site']} candidates (the best {a.get('top_n', '?')} of the run) x "
            f"{plan.sizes['point']:,} demand points x {len(years)} years ({', '.join(map(str, years))}); "
            f"{a.get('method', '?')} ({a.get('solver_status', '?')})"
            + (f", MIP gap {gap:.2%}" if np.isfinite(gap) else "")
            + (f", greedy / MILP cost {ratio:.3f}" if np.isfinite(ratio) else "")
            + f"; {built} site{'s' if built != 1 else ''} built by {years[-1]}.")
    if "unserved_reason" in plan:
        r = plan["unserved_reason"].transpose("point", "tier").values.astype(str)
        tiers = [str(t) for t in plan["tier"].values]
        n = {t: int((r[:, i] != "").sum()) for i, t in enumerate(tiers)}
        if any(n.values()):
            text += (" Demand no candidate may serve, planned as unserved: "
                     + ", ".join(f"{t} {k:,} of {plan.sizes['point']:,} points" for t, k in n.items() if k) + ".")
    passed = str(a.get("candidates_passed_over", ""))
    if passed:
        text += f" Better-ranked candidates passed over for a missing layer: {passed}."
    return text


def _shortened(msg: str, n: int = MAX_MESSAGE_LINES) -> str:
    lines = str(msg).splitlines()
    if len(lines) <= n:
        return str(msg)
    return "\n".join([*lines[:n], f"… and {len(lines) - n} more lines"])


def _year_formatter():
    from bokeh.models.widgets.tables import NumberFormatter

    return {"year": NumberFormatter(format="0", text_align="right")}  # 2030, not 2,030


# ------------------------------------------------------------------------------------------ the tab


class NetworkTab:
    """The Network tab of a :class:`~powerfirst.apps.workbench.Workbench` (its widgets and logic).

    ``plan`` is the plan on show, ``plan_run`` the name of the run it was made from and ``plan_source``
    that run's result; :meth:`objects` are the tab's contents.  The tab follows ``state.result``: the button is enabled while a run is on show,
    and the plan of a new run is shown when it is already cached.
    """

    def __init__(self, workbench):
        self.wb = workbench
        self.state = workbench.state
        self.cache = PlanCache()
        self.plan: xr.Dataset | None = None
        self.plan_run = ""
        self.plan_source: xr.Dataset | None = None
        self.button = pn.widgets.Button(label="Plan the network", button_type="primary", disabled=True)
        self.button.on_click(self._on_plan)
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="warning", disabled=True)
        self.cancel_button.on_click(self._on_cancel)
        self._cancel: threading.Event | None = None  # set to stop the plan going (None: no plan going)
        self.progress = pn.indicators.Progress(active=False, value=-1, sizing_mode="stretch_width", visible=False)
        self.stage = pn.pane.HTML("", sizing_mode="stretch_width", name="network-stage")
        self.note = pn.pane.HTML("", sizing_mode="stretch_width", name="network-note")
        # the pane's layout holds the plot and the year slider of a HoloMap (the pane alone: the plot only)
        self.map_pane = pn.pane.HoloViews(None, sizing_mode="stretch_width", min_height=400, widget_location="top_left",
                                          name="network-map")
        self.kpi_table = formatted(pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True,
                                                        sizing_mode="stretch_width", formatters=_year_formatter()))
        self.country_table = formatted(pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True,
                                                            pagination="remote", page_size=20,
                                                            sizing_mode="stretch_width", formatters=_year_formatter()))
        self.sites_table = formatted(pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True,
                                                          pagination="remote", page_size=20,
                                                          sizing_mode="stretch_width", formatters=_year_formatter()))
        self.views = pn.Column(self.map_pane.layout, pn.pane.Markdown("#### KPIs by year"), self.kpi_table,
                               pn.pane.Markdown("#### MW in place by site country"), self.country_table,
                               pn.pane.Markdown("#### Built sites (capacity in place by site, tier and year)"),
                               self.sites_table, sizing_mode="stretch_width", visible=False)
        self.state.param.watch(lambda *e: self.refresh(), ["result"])
        self.refresh()

    def objects(self) -> list:
        """The contents of the tab's column."""
        intro = pn.pane.Markdown(
            "Plans which of the best candidates of the run on show to build, for which tier (training, regional, "
            "edge) and year, and which demand each one serves: the plan of `powerfirst plan`, with the "
            "**network** section of the scenario (Scenario tab: regions, years, sovereignty rule, solver time "
            "limit). Its candidates are the `network.top_n` best of the run on show.")
        return [intro, pn.Row(self.button, self.cancel_button), self.progress, self.stage, self.note, self.views]

    # ---------------------------------------------------------------- state
    def _run_on_show(self) -> Run | None:
        s = self.state
        run = s.runs.get(s.run_name)
        return run if run is not None and run.result is s.result else None

    def _target(self):
        """(scenario, cache key, private, run name) of a plan of the run on show."""
        s = self.state
        run = self._run_on_show()
        name = s.run_name or s.label
        sc = plan_scenario(s.scenario, run, name)
        key, private = plan_key(sc, run, s.cache)
        return sc, key, private, name

    def refresh(self) -> None:
        """Follow the run on show: the button, the note, and its plan when already cached."""
        s = self.state
        self.button.disabled = s.result is None or self.progress.active
        try:
            if s.result is not None and self.plan_source is not s.result:
                sc, key, private, name = self._target()
                cached = self.cache.get(key, private=private) if key is not None else None
                if cached is not None:
                    self._show(cached, name, s.result)
                    self.stage.object = _line(f"{plan_summary(cached, name)} (Made before for this scenario and "
                                              "run.)", "ok")
        except Exception as exc:  # noqa: BLE001 - shown with a reference id, traceback in the log
            self.wb._info(_shortened(user_message(exc, "showing the network plan")[0]), "error")
        self._note()

    def _note(self) -> None:
        s = self.state
        regions = list(s.scenario.network.candidate_regions)
        aside = (f" network.candidate_regions ({', '.join(regions)}) is not used here: the workbench plans on the "
                 "candidates of the run on show." if regions else "")
        if s.result is None:
            text = ("No run yet. Run the siting screen in the Run tab first, then press Plan the network here: the "
                    f"plan takes the network.top_n ({s.scenario.network.top_n}) best candidates of the run on show.")
        elif self.plan is None:
            text = (f"Press Plan the network to plan on the {s.scenario.network.top_n} best candidates of run "
                    f"{s.run_name or s.label}.")
        elif self.plan_source is not s.result:
            text = (f"The plan on show was made from an earlier run ({self.plan_run}); the run on show is "
                    f"{s.run_name}: press Plan the network to plan it.")
        else:
            text = ""
        self.note.object = _line(text + aside) if text or aside else ""

    def _show(self, plan: xr.Dataset, run_name: str, source: xr.Dataset) -> None:
        """Put ``plan`` (of run ``run_name``, result ``source``) on show: every view is built first, so a
        failure leaves the plan on show as it was."""
        from powerfirst.viz.network import network_map

        views = (network_map(plan, width=820), kpi_frame(plan), country_frame(plan), built_frame(plan))
        self.map_pane.object, self.kpi_table.value, self.country_table.value, self.sites_table.value = views
        self.plan, self.plan_run, self.plan_source = plan, run_name, source
        self.views.visible = True
        self._note()

    # ---------------------------------------------------------------- planning
    async def _on_plan(self, event=None) -> None:
        """Plan the network of the run on show in a worker thread (or show the cached plan)."""
        from powerfirst.errors import Cancelled
        from powerfirst.scenarios.run import network_candidates, run_network

        s = self.state
        self.button.disabled = True
        cancel = self._cancel = threading.Event()
        self.cancel_button.disabled = False
        self.progress.value = -1
        self.progress.visible, self.progress.active = True, True
        locked = False
        try:
            if s.result is None:
                raise ValidationError(Problem("no run on show: run the siting screen in the Run tab first"),
                                      what="the network plan")
            ds = s.result
            sc, key, private, name = self._target()
            plan = self.cache.get(key, private=private) if key is not None else None
            if plan is None:
                loop = asyncio.get_running_loop()
                waiting = False
                while not PLAN_LOCK.acquire(blocking=False):  # a cancel while waiting frees the queue place
                    if not waiting:
                        self.stage.object = _line("Waiting for another network plan on this server to finish …")
                        waiting = True
                    Cancelled.check(cancel, "cancelled while waiting for another network plan")
                    await asyncio.sleep(0.2)
                locked = True
                t0 = time.perf_counter()
                n = sc.network
                self.stage.object = _line(f"Stage 1 of 3: the candidates, the {n.top_n} best of run {name} "
                                          f"({ds.sizes['site']:,} screened) …")
                cands, _ = await loop.run_in_executor(None, lambda: network_candidates(sc, ds))
                Cancelled.check(cancel, "cancelled after the candidates")
                limit = f"solver time limit {n.time_limit:g} s" if n.time_limit else "no solver time limit"
                head = (f"Stage 2 of 3: demand points ({', '.join(n.regions)}; {', '.join(map(str, n.years))}), time "
                        f"to power of {len(cands)} candidates ({n.ttp_draws:,} draws) and the plan ({n.method}, "
                        f"{limit})")
                self.stage.object = _line(head + " …")
                fut = loop.run_in_executor(None, lambda: run_network(sc, candidates=cands, cancel=cancel))
                while True:
                    done, _ = await asyncio.wait({fut}, timeout=0.5)
                    if done:
                        plan = fut.result()
                        break
                    self.stage.object = _line(f"{head}: {time.perf_counter() - t0:.0f} s …")
                PLAN_LOCK.release()
                locked = False
                if key is not None:
                    self.cache.put(key, plan, private=private)
                took = f" Planned in {time.perf_counter() - t0:.1f} s."
            else:
                took = " (Made before for this scenario and run.)"
            self.stage.object = _line("Stage 3 of 3: drawing the map and the tables …")
            self._show(plan, name, ds)
            self.stage.object = _line(plan_summary(plan, name) + took, "ok")
            self.wb._info("")
        except Cancelled:
            kept = f" The plan of run {self.plan_run} stays on show." if self.plan is not None else ""
            self.stage.object = _line(f"Plan cancelled: nothing was changed.{kept}")
        except Exception as exc:  # noqa: BLE001 - a message, never a traceback; the plan on show stays
            msg, _ = user_message(exc, "planning the network")
            self.wb._info(_shortened(msg), "error")
            kept = f" The plan of run {self.plan_run} stays on show." if self.plan is not None else ""
            self.stage.object = _line(f"No plan made (the message above says why).{kept}", "error")
        finally:
            if locked:
                PLAN_LOCK.release()
            self._cancel = None
            self.cancel_button.disabled = True
            self.progress.active, self.progress.visible = False, False
            self.button.disabled = s.result is None

    def _on_cancel(self, event=None) -> None:
        """Stop the plan going: between its steps, or inside the solver (HiGHS's interrupt callbacks)."""
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self.cancel_button.disabled = True
            self.stage.object = _line("Cancelling: the plan stops at its next step or solver check …")
