"""Canonical units and conversions.

powerfirst writes UDUNITS-style unit strings in the ``units`` attribute of
every data variable (``MW``, ``MWh``, ``GW``, ``TWh``, ``degC``, ``W m-2``,
``1`` for fractions, ``gCO2 kWh-1``, ``USD MWh-1``, ``month``).  This module
knows those strings, the aliases found in source files (``megawatthours``,
``MW``, ``%``), and how to convert between units of the same dimension.

It deliberately covers only the units of this field, as a table, so that a
conversion is a lookup, never a guess.
"""

from __future__ import annotations

import numpy as np

from powerfirst.errors import PowerfirstError

__all__ = ["UnitError", "canonical", "convert", "dimension", "scale", "UNITS"]


class UnitError(PowerfirstError, ValueError):
    """Unknown unit, or a conversion between different dimensions."""


# unit -> (dimension, factor to the dimension's base unit, offset)
# base units: power MW, energy MWh, temperature K, irradiance W m-2, speed m s-1,
# fraction 1, duration h, carbon intensity gCO2 kWh-1, price USD MWh-1, length km
UNITS: dict[str, tuple[str, float, float]] = {
    "W": ("power", 1e-6, 0.0),
    "kW": ("power", 1e-3, 0.0),
    "MW": ("power", 1.0, 0.0),
    "GW": ("power", 1e3, 0.0),
    "TW": ("power", 1e6, 0.0),
    "Wh": ("energy", 1e-6, 0.0),
    "kWh": ("energy", 1e-3, 0.0),
    "MWh": ("energy", 1.0, 0.0),
    "GWh": ("energy", 1e3, 0.0),
    "TWh": ("energy", 1e6, 0.0),
    "K": ("temperature", 1.0, 0.0),
    "degC": ("temperature", 1.0, 273.15),
    "W m-2": ("irradiance", 1.0, 0.0),
    "kW m-2": ("irradiance", 1e3, 0.0),
    "m s-1": ("speed", 1.0, 0.0),
    "km h-1": ("speed", 1 / 3.6, 0.0),
    "1": ("fraction", 1.0, 0.0),
    "%": ("fraction", 1e-2, 0.0),
    "h": ("duration", 1.0, 0.0),
    "d": ("duration", 24.0, 0.0),
    "month": ("duration", 8766.0 / 12.0, 0.0),
    "year": ("duration", 8766.0, 0.0),
    "gCO2 kWh-1": ("carbon_intensity", 1.0, 0.0),
    "kgCO2 MWh-1": ("carbon_intensity", 1.0, 0.0),
    "tCO2 MWh-1": ("carbon_intensity", 1e3, 0.0),
    "tCO2": ("mass_co2", 1.0, 0.0),
    "ktCO2": ("mass_co2", 1e3, 0.0),
    "MtCO2": ("mass_co2", 1e6, 0.0),
    "USD MWh-1": ("price", 1.0, 0.0),
    "USD kWh-1": ("price", 1e3, 0.0),
    "USD": ("money", 1.0, 0.0),
    "MUSD": ("money", 1e6, 0.0),
    "m": ("length", 1e-3, 0.0),
    "km": ("length", 1.0, 0.0),
    "kV": ("voltage", 1.0, 0.0),
    "ha": ("area", 1.0, 0.0),
    "degrees_north": ("latitude", 1.0, 0.0),
    "degrees_east": ("longitude", 1.0, 0.0),
    "kg m-3": ("density", 1.0, 0.0),
    "Pa": ("pressure", 1.0, 0.0),
    "hPa": ("pressure", 100.0, 0.0),
    "MW-month": ("energy_time", 1.0, 0.0),
    "us km-1": ("latency_per_length", 1.0, 0.0),
    "ms": ("time_interval", 1.0, 0.0),
    "us": ("time_interval", 1e-3, 0.0),
    "count": ("count", 1.0, 0.0),
    "year-1": ("rate", 1.0, 0.0),
    "month-1": ("rate", 12.0, 0.0),
    "km s-1": ("speed_km", 1.0, 0.0),
    "week": ("duration", 168.0, 0.0),
    "persons": ("count", 1.0, 0.0),
}

# spellings found in source files -> canonical
ALIASES: dict[str, str] = {
    "megawatts": "MW",
    "megawatt": "MW",
    "mw": "MW",
    "megawatthours": "MWh",
    "megawatt hours": "MWh",
    "megawatthour": "MWh",
    "mwh": "MWh",
    "gw": "GW",
    "twh": "TWh",
    "degrees c": "degC",
    "celsius": "degC",
    "c": "degC",
    "°c": "degC",
    "kelvin": "K",
    "w/m2": "W m-2",
    "w/m^2": "W m-2",
    "w m^-2": "W m-2",
    "wm-2": "W m-2",
    "m/s": "m s-1",
    "fraction": "1",
    "": "1",
    "percent": "%",
    "g/kwh": "gCO2 kWh-1",
    "gco2/kwh": "gCO2 kWh-1",
    "kg/mwh": "kgCO2 MWh-1",
    "$/mwh": "USD MWh-1",
    "usd/mwh": "USD MWh-1",
    "months": "month",
    "years": "year",
    "hours": "h",
    "hour": "h",
    "us/km": "us km-1",
    "µs km-1": "us km-1",
}


def canonical(unit: str) -> str:
    """Return the canonical spelling of ``unit``.

    Raises
    ------
    UnitError
        If the unit is not known to powerfirst.
    """
    if unit in UNITS:
        return unit
    key = str(unit).strip()
    if key in UNITS:
        return key
    low = key.lower()
    if low in ALIASES:
        return ALIASES[low]
    raise UnitError(
        f"unknown unit {unit!r}; expected one of {', '.join(sorted(UNITS))} "
        f"(or an alias such as 'megawatthours')"
    )


def dimension(unit: str) -> str:
    """Physical dimension of ``unit`` (``'power'``, ``'energy'``, ...)."""
    return UNITS[canonical(unit)][0]


def scale(from_unit: str, to_unit: str) -> float:
    """Multiplicative factor from ``from_unit`` to ``to_unit`` (no offset units)."""
    f, t = canonical(from_unit), canonical(to_unit)
    (df, sf, of), (dt, st, ot) = UNITS[f], UNITS[t]
    if df != dt:
        raise UnitError(f"cannot convert {from_unit!r} ({df}) to {to_unit!r} ({dt})")
    if of or ot:
        raise UnitError(f"{from_unit!r} -> {to_unit!r} has an offset; use convert()")
    return sf / st


def convert(values, from_unit: str, to_unit: str):
    """Convert ``values`` from ``from_unit`` to ``to_unit``.

    Works on scalars, numpy arrays and xarray objects (lazy ones stay lazy).
    An xarray object gets its ``units`` attribute rewritten.

    Examples
    --------
    >>> convert(1.5, "GW", "MW")
    1500.0
    >>> round(convert(20.0, "degC", "K"), 2)
    293.15
    """
    f, t = canonical(from_unit), canonical(to_unit)
    (df, sf, of), (dt, st, ot) = UNITS[f], UNITS[t]
    if df != dt:
        raise UnitError(f"cannot convert {from_unit!r} ({df}) to {to_unit!r} ({dt})")
    if f == t:
        out = values
    else:
        out = ((values + of) * sf) / st - ot if (of or ot) else values * (sf / st)
    if hasattr(out, "attrs"):
        out = out.copy() if out is values else out
        out.attrs = {**getattr(values, "attrs", {}), "units": t}
    elif isinstance(out, np.ndarray) or np.isscalar(out):
        out = out if not isinstance(out, np.generic) else out.item()
    return out
