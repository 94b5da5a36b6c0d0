"""Readers of the schema tables shipped with powerfirst (cached)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


def _read(name: str, **kwargs) -> pd.DataFrame:
    with resources.files("powerfirst.schema").joinpath(name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, comment="#", keep_default_na=False, na_values=[""], **kwargs)


@cache
def _variables() -> pd.DataFrame:
    df = _read("variables.csv", dtype={"units": str})
    df["units"] = df["units"].fillna("1").astype(str)
    df["dims"] = df["dims"].str.split()
    df["kinds"] = df["kinds"].str.split()
    df["required"] = df["required"].eq("yes")
    return df.set_index("name")


def variables() -> pd.DataFrame:
    """The variables table (index ``name``; columns units, dims, long_name, kinds, ...)."""
    return _variables().copy()


@cache
def _site_attributes() -> pd.DataFrame:
    df = _read("site_attributes.csv", dtype={"units": str, "default": str, "allowed": str})
    df["required"] = df["required"].eq("yes")
    return df.set_index("attribute")


def site_attributes() -> pd.DataFrame:
    """The site attributes table (index ``attribute``)."""
    return _site_attributes().copy()


@cache
def _grids() -> pd.DataFrame:
    return _read("grids.csv", dtype=str).set_index("code")


def grids() -> pd.DataFrame:
    """Known balancing authorities and bidding zones (index ``code``; name, country, timezone, ...)."""
    return _grids().copy()


def grid_codes() -> frozenset[str]:
    """The set of known balancing-authority / bidding-zone codes."""
    return frozenset(_grids().index)


@cache
def _countries() -> pd.DataFrame:
    return _read("countries.csv", dtype=str).set_index("code")


def countries() -> pd.DataFrame:
    """ISO 3166-1 alpha-2 country codes (index ``code``; column ``name``)."""
    return _countries().copy()


@cache
def _bounds() -> pd.DataFrame:
    df = _read("bounds.csv", dtype={"code": str, "kind": str, "source": str})
    return df.set_index(["kind", "code"]).sort_index()


def bounds() -> pd.DataFrame:
    """Latitude/longitude boxes of countries and grids (index ``(kind, code)``, kind ``country`` or ``grid``).

    Columns ``lat_min``, ``lat_max`` [degrees_north], ``lon_min``, ``lon_max``
    [degrees_east] (``lon_min > lon_max``: the box crosses the antimeridian)
    and ``source``; derived by ``data/derive_site_bounds.py`` from Natural
    Earth and US Census boundaries.  Generous on purpose: used only to detect
    swapped site coordinates.
    """
    return _bounds().copy()


@cache
def _grid_peaks() -> dict[str, tuple[float, str]]:
    g = _grids()
    if "peak_demand_mw" not in g.columns:
        return {}
    out = {}
    for code, mw, src in zip(g.index, g["peak_demand_mw"], g.get("peak_source", [""] * len(g)), strict=True):
        if isinstance(mw, str) and mw.strip():
            out[str(code)] = (float(mw), str(src) if isinstance(src, str) else "")
    return out


def grid_peaks() -> pd.DataFrame:
    """Known peak demand of the balancing authorities that have one (index ``code``).

    Columns ``peak_demand_mw`` [MW] and ``peak_source``; derived by
    ``data/derive_grid_peaks.py`` (the maximum hourly cleaned EIA-930 demand
    2016-2024).  Codes without a known peak are left out.
    """
    peaks = _grid_peaks()
    return pd.DataFrame({"peak_demand_mw": [v[0] for v in peaks.values()],
                         "peak_source": [v[1] for v in peaks.values()]},
                        index=pd.Index(list(peaks), name="code"))
