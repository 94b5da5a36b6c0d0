"""Synthetic hourly load for the forecasting tests (daily, weekly and seasonal cycles, noise)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_load(start="2016-01-01", days=3 * 365 + 1, seed=0, name="AAA", tz="UTC", noise=0.02):
    """Hourly load [MW] with a daily, weekly and seasonal cycle and AR(1) noise; naive UTC index."""
    t = pd.date_range(start, periods=days * 24, freq="h")
    lt = t.tz_localize("UTC").tz_convert(tz)
    rng = np.random.default_rng(seed)
    hour, dow, doy = lt.hour.to_numpy(), lt.day_of_week.to_numpy(), lt.day_of_year.to_numpy()
    daily = 1 + 0.15 * np.sin(np.pi * (hour - 6) / 16).clip(0)
    weekly = np.where(dow >= 5, 0.9, 1.0)
    seasonal = 1 + 0.2 * np.cos(2 * np.pi * (doy - 200) / 365) ** 2
    e = np.zeros(t.size)
    eps = rng.normal(0, noise, t.size)
    for i in range(1, t.size):
        e[i] = 0.97 * e[i - 1] + eps[i] * 0.25
    return pd.Series(10_000 * daily * weekly * seasonal * (1 + e), index=t, name=name)
