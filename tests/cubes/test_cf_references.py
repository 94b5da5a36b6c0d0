"""The station capacity factors next to published references (``data/derived/weather/cf_references.csv``).

Integrity: every row names a station of the embedded weather, and its own values are those of
``station_energy.csv`` (so the table cannot drift from the model).  Agreement is asserted only where the
reference has the basis of our plants (AC, utility scale), with the tolerances given in
``data/derived/README.md`` (section ``cf_references.csv``); the other rows are listed, not asserted.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from powerfirst.paths import data_dir

WEATHER = data_dir() / "derived" / "weather"
DC_AC = 1.34  # PVSpec default: the per-kW-DC value is the per-kW-AC value / 1.34
COLUMNS = ["station", "name", "solar_cf_fixed_ac", "solar_cf_tracking_ac", "wind_cf_net", "compared_with", "our_value",
           "reference_quantity", "reference_value", "reference_low", "reference_high", "reference_basis", "difference",
           "check", "source_title", "publisher", "year", "url", "comparability_note"]
CHECKS = {"between_fixed_and_tracking", "within_range", "none"}
# A state or ISO fleet of fixed and tracking plants lies between a new fixed and a new tracking plant of the
# same site, less what the fleet loses and the reference plant does not: degradation, outages, lower DC/AC
# ratios of older plants (assumption: up to 10 % below the fixed plant), and at most 5 % above the tracking
# plant for plants with a higher DC/AC ratio and for the year against the typical year (assumption).
FLEET_BELOW_FIXED, FLEET_ABOVE_TRACKING = 0.90, 1.05


@pytest.fixture(scope="module")
def refs() -> pd.DataFrame:
    return pd.read_csv(WEATHER / "cf_references.csv", dtype={"station": str})


@pytest.fixture(scope="module")
def energy() -> pd.DataFrame:
    return pd.read_csv(WEATHER / "station_energy.csv", dtype={"station": str}).set_index("station")


def test_table_shape_and_sources(refs):
    assert list(refs.columns) == COLUMNS
    assert refs["check"].isin(CHECKS).all(), refs.loc[~refs["check"].isin(CHECKS), "check"].tolist()
    assert refs["compared_with"].isin(["solar_cf_fixed_ac", "solar_cf_tracking_ac", "solar_cf_fixed_dc",
                                       "wind_cf_net"]).all()
    for col in ("name", "reference_quantity", "reference_basis", "source_title", "publisher", "comparability_note"):
        assert refs[col].notna().all() and (refs[col].str.strip() != "").all(), col
    assert refs["url"].str.match(r"^https?://").all()
    assert refs["year"].between(2009, 2026).all()
    assert refs["reference_value"].between(0.01, 0.99).all()
    for row in refs.itertuples():
        if not math.isnan(row.reference_low):
            assert row.reference_low <= row.reference_value, row.station
        if not math.isnan(row.reference_high):
            assert row.reference_value <= row.reference_high, row.station
    # at least 10 stations, US and European, spanning the resource range (annual GHI 1,000-2,150 kWh m-2)
    assert refs["station"].nunique() >= 10


def test_our_values_are_the_station_tables(refs, energy):
    """Every station exists and its values are those of station_energy.csv (and of station_cf.csv within its
    documented 1e-4 agreement), so the references table cannot drift from the model."""
    missing = sorted(set(refs["station"]) - set(energy.index))
    assert not missing, f"stations not in station_energy.csv: {missing}"
    cf = pd.read_csv(WEATHER / "station_cf.csv", dtype={"station": str}).set_index("station")
    countries = set()
    for row in refs.itertuples():
        e = energy.loc[row.station]
        countries.add(e["country"])
        assert row.name == e["name"], row.station
        for col in ("solar_cf_fixed_ac", "solar_cf_tracking_ac", "wind_cf_net"):
            assert getattr(row, col) == e[col], (row.station, col)
            if row.station in cf.index:
                assert abs(getattr(row, col) - cf.at[row.station, col]) < 1e-3, (row.station, col)
        ours = {"solar_cf_fixed_ac": e["solar_cf_fixed_ac"], "solar_cf_tracking_ac": e["solar_cf_tracking_ac"],
                "wind_cf_net": e["wind_cf_net"], "solar_cf_fixed_dc": round(e["solar_cf_fixed_ac"] / DC_AC, 4)}
        assert row.our_value == pytest.approx(ours[row.compared_with], abs=5e-5), row.station
        assert row.difference == pytest.approx(row.our_value - row.reference_value, abs=6e-5), row.station
    assert "USA" in countries and len(countries - {"USA"}) >= 4, countries
    ghi = energy.loc[sorted(set(refs["station"])), "annual_ghi_kwh_m2"]
    assert ghi.min() < 1100 and ghi.max() > 2100  # London / Copenhagen to Phoenix


def test_agreement_where_like_for_like(refs):
    """Fleet references of fixed and tracking plants lie between our fixed and tracking plants (tolerances
    above); a plant-level range contains our plant.  Measured: AZ 0.291 in [0.248, 0.344] (Phoenix) and
    [0.239, 0.331] (Tucson); CA 0.284 and CAISO 0.27 in [0.247, 0.344] (Daggett); 7-35 % contains every
    tracking plant from Seattle (0.190) to Dallas (0.272)."""
    asserted = refs[refs["check"] != "none"]
    assert len(asserted) >= 10
    for row in asserted.itertuples():
        if row.check == "between_fixed_and_tracking":
            lo, hi = row.solar_cf_fixed_ac * FLEET_BELOW_FIXED, row.solar_cf_tracking_ac * FLEET_ABOVE_TRACKING
            assert lo <= row.reference_value <= hi, (row.station, row.reference_quantity, lo, hi)
        else:
            assert row.reference_low <= row.our_value <= row.reference_high, (row.station, row.our_value)


def test_summary_figures_in_the_readme(refs):
    """The figures the README quotes are those of the table."""
    assert len(refs) == 22 and refs["station"].nunique() == 18
    assert refs["difference"].median() == pytest.approx(0.0240, abs=1e-4)
    assert (refs["difference"] / refs["reference_value"]).median() == pytest.approx(0.125, abs=1e-3)
    far = refs.loc[(refs["difference"] / refs["reference_value"]).abs() > 0.25, "station"].tolist()
    assert far == ["725090", "037683", "061800"]  # Boston solar, London vs SE England 2009, Middelgrunden
