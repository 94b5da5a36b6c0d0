r"""Site load: IT load profiles by workload and the facility load they draw.

A data centre draws its **facility load** :math:`L_t = \mathrm{IT}_t \times \mathrm{PUE}_t`: the IT
load times the power usage effectiveness of the hour (a function of the ambient temperature,
taken from the energy cube's ``pue``).  The IT load is the IT capacity times a **utilisation**
:math:`u_t \in [0, 1]` whose shape depends on the workload:

``training``
    Near-flat: large training jobs keep accelerators busy around the clock.  Utilisation
    ``level`` (0.92) with a maintenance dip every ``dip_every_days`` (14) days: ``dip_hours``
    (6) hours at ``dip_level`` (0.35) from ``dip_start_hour`` (10:00 local).
``inference``
    Diurnal, shaped by its **users'** time zone (not necessarily the site's): a raised cosine
    with its trough at ``trough_hour`` (04:00 users' time) and its peak twelve hours later,
    between ``low`` (0.45) and ``high`` (0.95); the variable part is scaled by
    ``weekend_factor`` (0.85) on Saturdays and Sundays.
``edge``
    Small and diurnal, following consumer activity near the site: ``low`` 0.35 to ``high`` 0.85,
    trough at 04:00 and an evening peak (``peak_hour`` 20:00 local, the rise and fall being
    asymmetric raised cosines).

These are **documented engineering shapes**, not measurements: they encode what operators and
the literature describe qualitatively (training flat with maintenance windows, inference
following its users' day, edge following local consumer activity).  Every parameter can be
overridden (:class:`TrainingProfile`, :class:`InferenceProfile`, :class:`EdgeProfile`), or a
measured utilisation series supplied instead.

The IT capacity of a site is chosen so that the facility never draws more than its design
load: :math:`\mathrm{IT}^{\max} = L^{\max} / \max_t \mathrm{PUE}_t` with :math:`L^{\max}` the
site's ``target_mw`` (the IT-plus-facility demand the site is developed for).

A **deferrable share** of training load (``flex_share``) may pause and be made up later within
limits (see :mod:`powerfirst.models.dispatch`); inference and edge serve users live and are
not deferrable by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = [
    "WORKLOADS",
    "TrainingProfile",
    "InferenceProfile",
    "EdgeProfile",
    "DEFAULT_PROFILES",
    "DEFAULT_FLEX_SHARE",
    "utilisation_profile",
    "profile_table",
    "site_utc_offset",
    "it_load",
    "facility_load",
    "site_load_dataset",
]

WORKLOADS = ("training", "inference", "edge")

#: ASSUMPTION: deferrable share of facility load by workload (training jobs can pause and
#: catch up; inference and edge serve users live).
DEFAULT_FLEX_SHARE = {"training": 0.2, "inference": 0.0, "edge": 0.0}


@dataclass(frozen=True)
class TrainingProfile:
    """Near-flat training utilisation with periodic maintenance dips (local time of the site).

    Attributes
    ----------
    level : float
        Utilisation outside dips [1].
    dip_level : float
        Utilisation during a maintenance dip [1].
    dip_hours : int
        Length of a dip [h].
    dip_every_days : int
        Days between dips [d].
    dip_start_hour : int
        Local hour a dip starts [h].
    first_dip_day : int
        Day of the year (0-based) of the first dip [d].
    """

    level: float = 0.92
    dip_level: float = 0.35
    dip_hours: int = 6
    dip_every_days: int = 14
    dip_start_hour: int = 10
    first_dip_day: int = 3


@dataclass(frozen=True)
class InferenceProfile:
    """Diurnal inference utilisation in the users' local time.

    Attributes
    ----------
    low, high : float
        Utilisation at the daily trough and peak [1].
    trough_hour : float
        Users' local hour of the trough; the peak is twelve hours later [h].
    weekend_factor : float
        Scaling of the variable part on Saturdays and Sundays [1].
    """

    low: float = 0.45
    high: float = 0.95
    trough_hour: float = 4.0
    weekend_factor: float = 0.85


@dataclass(frozen=True)
class EdgeProfile:
    """Small diurnal edge utilisation with an evening peak (local time of the site).

    Attributes
    ----------
    low, high : float
        Utilisation at the trough and the peak [1].
    trough_hour, peak_hour : float
        Local hours of the trough and the peak [h].
    """

    low: float = 0.35
    high: float = 0.85
    trough_hour: float = 4.0
    peak_hour: float = 20.0


DEFAULT_PROFILES = {"training": TrainingProfile(), "inference": InferenceProfile(), "edge": EdgeProfile()}


def site_utc_offset(lon) -> np.ndarray:
    """Whole-hour offset of local solar time from UTC, ``round(lon / 15)`` [h]."""
    return np.round(np.asarray(lon, dtype=float) / 15.0).astype(int)


def _check_profile(workload: str, prof) -> list[Problem]:
    problems = []
    for k, v in asdict(prof).items():
        if not np.isfinite(v):
            problems.append(Problem(f"{workload} profile: {k} must be a finite number, found {v!r}", variable=k))
    for k in ("level", "dip_level", "low", "high"):
        if hasattr(prof, k) and not 0.0 <= getattr(prof, k) <= 1.0:
            problems.append(Problem(f"{workload} profile: {k} = {getattr(prof, k)!r} outside [0, 1] "
                                    "(utilisation is a fraction of IT capacity)", variable=k))
    if hasattr(prof, "low") and prof.low > prof.high:
        problems.append(Problem(f"{workload} profile: low {prof.low} above high {prof.high}", variable="low"))
    if isinstance(prof, TrainingProfile) and (prof.dip_every_days < 1 or prof.dip_hours < 0):
        problems.append(Problem("training profile: dip_every_days must be >= 1 and dip_hours >= 0",
                                variable="dip_every_days"))
    if isinstance(prof, InferenceProfile) and not 0.0 <= prof.weekend_factor <= 1.0:
        problems.append(Problem(f"inference profile: weekend_factor {prof.weekend_factor} outside [0, 1]",
                                variable="weekend_factor"))
    return problems


def utilisation_profile(workload: str, time: pd.DatetimeIndex, utc_offset: float = 0.0,
                        profile=None) -> np.ndarray:
    """Hourly IT utilisation [1] of one workload.

    Parameters
    ----------
    workload : {'training', 'inference', 'edge'}
    time : pandas.DatetimeIndex
        Hour-beginning UTC hours.
    utc_offset : float
        Local time minus UTC [h]: the site's for training and edge, the **users'** for
        inference.
    profile : TrainingProfile, InferenceProfile or EdgeProfile, optional
        Shape parameters (default :data:`DEFAULT_PROFILES`).

    Returns
    -------
    numpy.ndarray
        Utilisation in [0, 1], one value per hour.
    """
    if workload not in WORKLOADS:
        raise ValidationError([Problem(f"unknown workload {workload!r}; expected one of {', '.join(WORKLOADS)}",
                                       variable="workload")], what="site load")
    prof = profile if profile is not None else DEFAULT_PROFILES[workload]
    problems = _check_profile(workload, prof)
    if problems:
        raise ValidationError(problems, what="site load profile")
    t0 = pd.Timestamp(time[0]).normalize()
    hours = np.asarray((time - t0) / pd.Timedelta(hours=1), float) + float(utc_offset)
    local_hour = np.mod(hours, 24.0)
    local_day = np.floor(hours / 24.0)  # day index in local time (may be -1 at the start)
    wd0 = int(t0.day_of_week)  # weekday of local day 0
    weekday = np.mod(wd0 + local_day, 7)
    if workload == "training":
        u = np.full(len(time), prof.level)
        in_cycle = np.mod(local_day - prof.first_dip_day, prof.dip_every_days) == 0
        in_window = (local_hour >= prof.dip_start_hour) & (local_hour < prof.dip_start_hour + prof.dip_hours)
        u[in_cycle & in_window] = prof.dip_level
        return u
    if workload == "inference":
        shape = 0.5 - 0.5 * np.cos(2 * np.pi * (local_hour - prof.trough_hour) / 24.0)
        amp = np.where(weekday >= 5, prof.weekend_factor, 1.0)
        return prof.low + (prof.high - prof.low) * shape * amp
    # edge: trough -> peak rising, peak -> trough falling, each a half raised cosine
    rise = np.mod(prof.peak_hour - prof.trough_hour, 24.0) or 24.0
    x = np.mod(local_hour - prof.trough_hour, 24.0)
    shape = np.where(x <= rise, 0.5 - 0.5 * np.cos(np.pi * x / rise),
                     0.5 + 0.5 * np.cos(np.pi * (x - rise) / max(24.0 - rise, 1e-9)))
    return prof.low + (prof.high - prof.low) * shape


def profile_table(workload, utc_offset, time: pd.DatetimeIndex,
                  profiles: Mapping[str, object] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct utilisation profiles of many sites, as a table and an index.

    Parameters
    ----------
    workload : sequence of str
        Workload of each site.
    utc_offset : sequence of float
        Offset of each site's profile clock from UTC [h] (the users' for inference).
    time : pandas.DatetimeIndex
    profiles : mapping workload -> profile, optional
        Overrides of :data:`DEFAULT_PROFILES`.

    Returns
    -------
    table : numpy.ndarray, float32, shape (n_profiles, len(time))
    index : numpy.ndarray of int, the table row of each site
    """
    profs = {**DEFAULT_PROFILES, **(profiles or {})}
    keys: dict[tuple, int] = {}
    rows, index = [], []
    for w, off in zip(np.asarray(workload, str), np.asarray(utc_offset, float), strict=True):
        key = (str(w), float(off))
        if key not in keys:
            keys[key] = len(rows)
            rows.append(utilisation_profile(str(w), time, float(off), profs.get(str(w))))
        index.append(keys[key])
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(time)), np.asarray(index, dtype=np.int64)


def it_load(load_mw, utilisation, pue) -> np.ndarray:
    r"""IT load [MW]: :math:`\mathrm{IT}_t = u_t\, L^{\max} / \max_t \mathrm{PUE}_t`.

    Parameters
    ----------
    load_mw : float or array (site,)
        Design facility load [MW].
    utilisation : array (..., time)
        IT utilisation [1].
    pue : array (..., time)
        Power usage effectiveness [1].
    """
    pue = np.asarray(pue, float)
    it_cap = np.asarray(load_mw, float)[..., None] / pue.max(axis=-1, keepdims=True)
    return it_cap * np.asarray(utilisation, float)


def facility_load(load_mw, utilisation, pue) -> np.ndarray:
    r"""Facility load [MW]: :math:`L_t = \mathrm{IT}_t \times \mathrm{PUE}_t` (see :func:`it_load`)."""
    return it_load(load_mw, utilisation, pue) * np.asarray(pue, float)


def site_load_dataset(sites: xr.Dataset, energy: xr.Dataset, *, users_utc_offset=None,
                      profiles: Mapping[str, object] | None = None) -> xr.Dataset:
    """IT and facility load [MW] of every site over the energy cube's hours (in memory).

    Parameters
    ----------
    sites : xarray.Dataset
        Site Dataset with ``target_mw``, ``workload`` and ``lon``.
    energy : xarray.Dataset
        Energy cube with ``pue`` on (site, time).
    users_utc_offset : mapping site -> hours or array, optional
        Users' UTC offset of inference sites (default: the site's own solar-time offset).
    profiles : mapping workload -> profile, optional
    """
    sites = sites.sel(site=energy["site"].values)
    time = energy.indexes["time"]
    workload = sites["workload"].values.astype(str) if "workload" in sites.variables else \
        np.full(sites.sizes["site"], "inference")
    off = _users_offset(sites, users_utc_offset)
    table, idx = profile_table(workload, off, time, profiles)
    u = table[idx].astype(float)
    pue = np.asarray(energy["pue"].transpose("site", "time").values, float)
    it = it_load(sites["target_mw"].values, u, pue)
    coords = {"site": energy["site"].values, "time": energy["time"].values}
    return xr.Dataset({
        "utilisation": (("site", "time"), u, {"units": "1", "long_name": "IT utilisation"}),
        "it_load": (("site", "time"), it, {"units": "MW", "long_name": "IT load"}),
        "facility_load": (("site", "time"), it * pue, {"units": "MW", "long_name": "facility load"}),
    }, coords=coords)


def _users_offset(sites: xr.Dataset, users_utc_offset=None) -> np.ndarray:
    """UTC offset of each site's profile clock [h]: its solar-time offset, or the users' offset given."""
    off = site_utc_offset(sites["lon"].values).astype(float)
    if users_utc_offset is None:
        return off
    if isinstance(users_utc_offset, Mapping):
        labels = sites["site"].values.astype(str)
        unknown = sorted(set(map(str, users_utc_offset)) - set(labels))
        if unknown:
            raise ValidationError([Problem("users_utc_offset names a site that is not in the site list",
                                           site=s) for s in unknown], what="site load")
        return np.array([float(users_utc_offset.get(s, o)) for s, o in zip(labels, off, strict=True)])
    arr = np.broadcast_to(np.asarray(users_utc_offset, float), off.shape).copy()
    return arr


def with_profile(workload: str, **changes):
    """A copy of the default profile of ``workload`` with ``changes`` (e.g. ``level=0.8``)."""
    return replace(DEFAULT_PROFILES[workload], **changes)
