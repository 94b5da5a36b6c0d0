"""Demand forecasting: annual data-centre demand growth, hourly grid load, backtests, future load.

* :mod:`~powerfirst.models.forecast.annual` — history and published projections from the facts
  tables, a bottom-up driver model, scikit-learn growth estimators with intervals, the demand cube;
* :mod:`~powerfirst.models.forecast.hourly` — issue-time-safe features and
  :class:`~powerfirst.models.forecast.hourly.HourlyLoadForecaster`;
* :mod:`~powerfirst.models.forecast.backtest` — rolling-origin backtests and their metrics;
* :mod:`~powerfirst.models.forecast.future_load` — historic profile + growth + new data-centre load.
"""

from powerfirst.models.forecast.annual import (
    DRIVER_SCENARIOS,
    GrowthDrivers,
    GrowthRegressor,
    check_against_published,
    demand_cube,
    make_growth_pipeline,
    published_projections,
)
from powerfirst.models.forecast.backtest import EVALUATION_BAS, backtest, evaluate_bas
from powerfirst.models.forecast.future_load import datacentre_load_from_cube, future_hourly_load
from powerfirst.models.forecast.hourly import (
    HourlyLoadForecaster,
    LoadFeatures,
    load_features,
    seasonal_naive,
)

__all__ = [
    "DRIVER_SCENARIOS",
    "EVALUATION_BAS",
    "GrowthDrivers",
    "GrowthRegressor",
    "HourlyLoadForecaster",
    "LoadFeatures",
    "backtest",
    "check_against_published",
    "datacentre_load_from_cube",
    "demand_cube",
    "evaluate_bas",
    "future_hourly_load",
    "load_features",
    "make_growth_pipeline",
    "published_projections",
    "seasonal_naive",
]
