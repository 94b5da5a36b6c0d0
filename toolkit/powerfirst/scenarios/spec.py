"""A scenario: which sites, which data and which model settings — as data.

A :class:`Scenario` is a ``param.Parameterized`` object (so apps can bind
widgets to it) that round-trips through YAML::

    name: pjm-flexible
    sites: demo                      # or a site file
    grid_source: ../shared/data/eia930
    headroom_limits: [0.25, 0.5, 1.0, 5.0]
    flexible_limit: 0.5              # size grid_flexible by the BA headroom at this limit
    ttp_paths: [grid_firm, grid_flexible, onsite_bridge, solar_storage, grid_flexible+grid_firm]
    ttp_draws: 2000
    seed: 7

:func:`run_scenario` runs the models the scenario asks for — the energy cube
summary of its sites, the flexible headroom of their balancing authorities
(when a grid source is given), and time to power with ``grid_flexible`` sized
by that headroom — and labels every result with the scenario's name, its hash
(of the canonical YAML) and the seed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import param
import xarray as xr
import yaml

from powerfirst._provenance import provenance
from powerfirst.errors import Problem, ValidationError

__all__ = ["Scenario", "run_scenario"]


class Scenario(param.Parameterized):
    """Inputs and settings of one powerfirst run (see the module docstring for the YAML form)."""

    name = param.String(default="scenario", doc="scenario name (labels the results)")
    description = param.String(default="", doc="free text")
    sites = param.String(default="demo", doc="'demo' or a site file (.csv, .geojson, .parquet)")
    weather = param.List(default=[], item_type=str, doc="typical-year weather files; default: the offline stations")
    grid_source = param.String(default=None, allow_None=True,
                               doc="EIA-930 files or a folder with the cleaned releases (enables headroom)")
    headroom_years = param.Range(default=(2016, 2024), doc="years of hourly load for the headroom [year]")
    headroom_limits = param.List(default=[0.25, 0.5, 1.0, 5.0], item_type=float, doc="curtailment limits [%]")
    flexible_limit = param.Number(default=0.5, bounds=(0, 100), inclusive_bounds=(False, False),
                                  doc="limit [%] whose BA headroom sizes the grid_flexible path")
    ttp_paths = param.List(default=["grid_firm", "grid_flexible", "onsite_bridge", "solar_storage"], item_type=str,
                           doc="energisation paths (and combinations 'a+b')")
    ttp_draws = param.Integer(default=2000, bounds=(100, None), doc="Monte Carlo draws per site")
    supply_chain_correlation = param.Number(default=0.0, bounds=(0, 1), inclusive_bounds=(True, False),
                                            doc="correlation of the equipment lead times")
    seed = param.Integer(default=0, doc="random seed")

    # ------------------------------------------------------------------ YAML
    def to_dict(self) -> dict:
        out = {}
        for k in self.param:
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        return out

    def to_yaml(self, path=None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=True)
        if path is not None:
            Path(path).write_text(text)
        return text

    @property
    def hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical YAML."""
        return hashlib.sha256(self.to_yaml().encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict, *, file: str = "<scenario>") -> Scenario:
        if not isinstance(data, dict):
            raise ValidationError([Problem(f"expected a mapping of settings, found {type(data).__name__}",
                                           file=file)], what=file)
        known = list(cls.param)
        problems = [Problem(f"unknown setting {k!r}; expected one of {', '.join(sorted(known))}", file=file,
                            column=k) for k in data if k not in known]
        values = {}
        for k, v in data.items():
            if k not in known:
                continue
            if k == "headroom_years" and isinstance(v, list):
                v = tuple(v)
            try:
                cls.param[k]._validate(v)
                values[k] = v
            except (ValueError, TypeError) as exc:
                problems.append(Problem(str(exc).split("\n")[0], file=file, column=k))
        if problems:
            raise ValidationError(problems, what=f"scenario {file}")
        return cls(**values)

    @classmethod
    def from_yaml(cls, path) -> Scenario:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"scenario file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValidationError([Problem(f"not valid YAML ({exc})", file=str(path))], what=str(path)) from exc
        sc = cls.from_dict(data, file=str(path))
        # relative paths in a scenario file are relative to the file
        for key in ("sites", "grid_source"):
            v = getattr(sc, key)
            if v and v != "demo" and not Path(v).is_absolute():
                setattr(sc, key, str((path.parent / v).resolve()))
        sc.weather = [w if Path(w).is_absolute() else str((path.parent / w).resolve()) for w in sc.weather]
        return sc


def _labels(ds: xr.Dataset, sc: Scenario) -> xr.Dataset:
    ds.attrs.update(provenance(scenario=sc.name, scenario_hash=sc.hash, seed=sc.seed))
    return ds


def run_scenario(sc: Scenario, out=None, *, progress: bool = False) -> dict[str, xr.Dataset]:
    """Run a scenario; return (and optionally write as Zarr under ``out/<name>/``) its results.

    Returns
    -------
    dict of xarray.Dataset
        ``energy`` (annual means per site), ``headroom`` (``ba`` x ``limit``, when
        ``grid_source`` is set) and ``time_to_power`` (``site`` x ``path``).
    """
    from powerfirst.cubes.energy import build_energy_cube, energy_cube_summary
    from powerfirst.io.sites import read_sites
    from powerfirst.io.weather import read_weather
    from powerfirst.models.time_to_power import time_to_power
    from powerfirst.paths import demo_sites_path

    sites = read_sites(demo_sites_path() if sc.sites == "demo" else sc.sites)
    wx = read_weather(sc.weather) if sc.weather else None
    results: dict[str, xr.Dataset] = {}
    results["energy"] = _labels(energy_cube_summary(build_energy_cube(sites, wx).compute()), sc)

    flexible = None
    if sc.grid_source:
        from powerfirst.commands.headroom import load_grid
        from powerfirst.models.headroom import flexible_headroom

        site_bas = sorted(set(sites["ba"].values.astype(str)))
        grid = load_grid([sc.grid_source], None, tuple(sc.headroom_years), progress=progress)
        bas = [b for b in site_bas if b in set(grid["ba"].values.astype(str))]
        limits = sorted(set(sc.headroom_limits) | {sc.flexible_limit})
        hr = flexible_headroom(grid["demand"].sel(ba=bas), limits)
        results["headroom"] = _labels(hr, sc)
        # BAs without grid data keep the default share of their sites' unmet MW
        from powerfirst.models.ttp_graph import DEFAULT_FLEXIBLE_FRACTION

        unmet = np.maximum(sites["target_mw"].values - sites["firm_headroom_mw"].values, 0.0)
        flexible = {b: float(hr["headroom"].sel(ba=b, limit=sc.flexible_limit)) for b in bas}
        for b in set(site_bas) - set(bas):
            flexible[b] = float(DEFAULT_FLEXIBLE_FRACTION * unmet[sites["ba"].values == b].sum())
    ttp = time_to_power(sites, sc.ttp_paths, draws=sc.ttp_draws, seed=sc.seed,
                        correlation=sc.supply_chain_correlation, flexible_mw=flexible, tornado=False)
    results["time_to_power"] = _labels(ttp, sc)
    if out is not None:
        from powerfirst.io.store import write_zarr

        base = Path(out) / sc.name
        for key, ds in results.items():
            write_zarr(ds, base / f"{key}.zarr")
        sc.to_yaml(base / "scenario.yaml")
    return results
