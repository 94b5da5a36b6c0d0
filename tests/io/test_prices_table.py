import numpy as np
import pytest

from powerfirst.errors import DataFormatError, ValidationError
from powerfirst.io.prices_table import (
    PRICE_COLUMNS,
    US_STATE_CODES,
    price_at,
    read_electricity_prices,
)

HEADER = ",".join(PRICE_COLUMNS)
SRC = "T,P,https://example.org/t,published 2024-10-17,n"


def _us(region="TX", usd="66.00", orig="6.60", rate=""):
    return f"{region},us_state,{usd},{orig},US cents/kWh,industrial,2023,{rate},{SRC}"


def _eu(region="DE", usd="185.31", orig="0.1712", rate="1.0824", unit="EUR/kWh"):
    return f"{region},country,{usd},{orig},{unit},band IE,2024-S2,{rate},{SRC}"


def _write(tmp_path, *rows, name="p.csv"):
    p = tmp_path / name
    p.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return p


def _messages(path):
    with pytest.raises(ValidationError) as exc:
        read_electricity_prices(path)
    return [str(q) for q in exc.value.problems]


# ---------------------------------------------------------------- the embedded table


def test_embedded_table_is_valid_and_sourced():
    df = read_electricity_prices()
    us = df[df.region_kind == "us_state"]
    eu = df[df.region_kind == "country"]
    # EIA Electric Power Annual 2023: every state but Wyoming, and DC (WY not found, see PRICES.md)
    assert set(us.region) == US_STATE_CODES - {"WY"}
    # Eurostat nrg_pc_205 band IE 2024-S2: the EU27 and Norway (GB not in Eurostat since 2020)
    eu27 = set("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
    assert set(eu.region) == eu27 | {"NO"}
    assert (us.period == "2023").all() and (eu.period == "2024-S2").all()
    assert df[["source_title", "publisher", "url", "retrieved_or_published"]].ne("").all().all()
    assert df.price_usd_per_mwh.between(10, 1000).all()


def test_published_figures_as_in_the_sources():
    df = read_electricity_prices().set_index(["region_kind", "region"])
    # EIA EPA 2023, industrial average revenue per kWh: Texas 6.60, California 18.64, Hawaii 35.28 cents/kWh
    for state, cents in (("TX", 6.60), ("CA", 18.64), ("HI", 35.28)):
        assert df.loc[("us_state", state), "price_original"] == cents
        assert df.loc[("us_state", state), "price_usd_per_mwh"] == pytest.approx(cents * 10)
    # Eurostat band IE 2024-S2, excl. VAT: Germany 0.1712, Finland 0.0521 EUR/kWh
    assert df.loc[("country", "DE"), "price_original"] == 0.1712
    assert df.loc[("country", "FI"), "price_original"] == 0.0521
    # the same code as a state and as a country: Delaware 7.85 cents/kWh, Germany 0.1712 EUR/kWh
    assert df.loc[("us_state", "DE"), "price_usd_per_mwh"] == pytest.approx(78.5)
    assert df.loc[("country", "DE"), "price_usd_per_mwh"] == pytest.approx(0.1712 * 1000 * 1.0824, abs=0.005)


def test_unit_conversion_holds_for_every_row():
    df = read_electricity_prices()
    us = df[df.unit_original == "US cents/kWh"]
    # 1 cent/kWh = 0.01 USD / 0.001 MWh = 10 USD/MWh
    np.testing.assert_allclose(us.price_usd_per_mwh, us.price_original * 10, atol=0.005)
    assert us.exchange_rate.isna().all()
    eu = df[df.unit_original == "EUR/kWh"]
    assert (eu.exchange_rate == 1.0824).all()  # ECB reference rates for USD, mean of 2024
    np.testing.assert_allclose(eu.price_usd_per_mwh, eu.price_original * 1000 * eu.exchange_rate, atol=0.005)


# ---------------------------------------------------------------- price_at


def test_price_at_states_countries_and_gaps():
    got = price_at(["US", "us ", "DE", "FR", "JP", "US", "US", "GB"], ["TX", "ca", "", None, "", "WY", "nan", "TX"])
    df = read_electricity_prices().set_index(["region_kind", "region"])["price_usd_per_mwh"]
    want = [66.0, 186.4, df[("country", "DE")], df[("country", "FR")], np.nan, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(got, want)
    # JP: not in the table; WY: a state left out; 'nan': US point without a state; GB: the state is ignored
    assert got.dtype == float and got.shape == (8,)


def test_price_at_scalars_and_shapes(tmp_path):
    p = _write(tmp_path, _us(), _us("DE", "78.50", "7.85"), _eu())
    assert price_at("US", "DE", path=p) == pytest.approx(78.5)   # Delaware
    assert price_at("DE", "TX", path=p) == pytest.approx(185.31)  # Germany: the state is ignored
    np.testing.assert_allclose(price_at(["US", "US"], "TX", path=p), [66.0, 66.0])
    with pytest.raises(ValueError, match="country has 3 values and state 2"):
        price_at(["US", "US", "DE"], ["TX", "DE"], path=p)
    with pytest.raises(FileNotFoundError, match="not found"):
        price_at("US", "TX", path=tmp_path / "none.csv")


def test_price_at_sees_an_edited_table(tmp_path):
    p = _write(tmp_path, _us())
    assert price_at("US", "TX", path=p) == pytest.approx(66.0)
    p.write_text(HEADER + "\n" + _us(usd="70.00", orig="7.00") + "\n" + _us("OK", "62.60", "6.26") + "\n")
    np.testing.assert_allclose(price_at(["US", "US"], ["TX", "OK"], path=p), [70.0, 62.6])


# ---------------------------------------------------------------- bad files


def test_negative_and_implausible_prices(tmp_path):
    p = _write(tmp_path, _us(usd="-66.00"), _us("OK", "6.26", "0.626"), _eu(usd="0.19", orig="0.00017"))
    msgs = _messages(p)
    assert any("row 1 (line 2), column 'price_usd_per_mwh': expected a positive price [USD/MWh], found -66" in m
               for m in msgs)
    assert any("row 2 (line 3), column 'price_usd_per_mwh': 6.26 USD/MWh is outside the plausible range 10-1000"
               in m for m in msgs)
    assert any("row 3 (line 4)" in m and "outside the plausible range" in m for m in msgs)


def test_duplicate_region(tmp_path):
    p = _write(tmp_path, _us(), _eu(), _us(usd="70.00", orig="7.00"), _us("DE", "78.50", "7.85"))
    msgs = _messages(p)
    assert msgs == [f"{p}, row 3 (line 4), column 'region': region 'TX' (us_state) appears more than once: also "
                    "row 1 (line 2); keep one row per region"]


def test_unknown_codes(tmp_path):
    p = _write(tmp_path, _us("TQ"), _eu("XX"), _eu("EL"), _eu("UK"), _eu("US"),
               "TX,state,66.00,6.60,US cents/kWh,industrial,2023,," + SRC)
    msgs = _messages(p)
    assert any("row 1 (line 2), column 'region': expected a US state postal code" in m and "'TQ'" in m for m in msgs)
    assert any("row 2 (line 3), column 'region': expected an ISO 3166-1 alpha-2 country code" in m and "'XX'" in m
               for m in msgs)
    assert any("row 3 (line 4)" in m and "use GR (Greece; Eurostat writes EL)" in m for m in msgs)
    assert any("row 4 (line 5)" in m and "use GB (United Kingdom" in m for m in msgs)
    assert any("row 5 (line 6)" in m and "US prices are given by state" in m for m in msgs)
    assert any("row 6 (line 7), column 'region_kind': expected one of us_state, country, found 'state'" in m
               for m in msgs)


def test_conversion_rate_and_unit_problems(tmp_path):
    p = _write(tmp_path,
               _us(usd="6.60" + "0"),                       # cents not converted: 66.0 expected
               _eu(rate=""),                                 # no exchange rate for EUR
               _eu("FR", "115.38", "0.1066", "0.9239"),      # EUR per USD given instead of USD per EUR
               _eu("IT", "184.98", "0.1709", "9.0"),          # not a USD-per-EUR rate at all
               _us("OK", "62.60", "6.26", rate="1.0"),       # a rate on a USD figure
               _eu("FI", "56.39", "0.0521", unit="EUR/GJ"),
               _eu("SE", "64.73", "0.0598").replace("2024-S2", "H2 2024"))
    msgs = _messages(p)
    assert any("row 1 (line 2), column 'price_usd_per_mwh'" in m and "outside the plausible range" in m
               for m in msgs)
    assert any("row 2 (line 3), column 'exchange_rate': a price in EUR needs exchange_rate [USD per EUR]" in m
               for m in msgs)
    # 0.9239 is EUR per USD (inverted): with it the stated USD price no longer follows from the original
    assert any("row 3 (line 4), column 'price_usd_per_mwh': expected 98.49 USD/MWh" in m and "found 115.38" in m
               for m in msgs)
    assert any("row 4 (line 5), column 'exchange_rate': expected USD per EUR between 0.5 and 2.5, found 9" in m
               for m in msgs)
    assert any("row 5 (line 6), column 'exchange_rate': the price is already in USD" in m for m in msgs)
    assert any("row 6 (line 7), column 'unit_original': unknown unit 'EUR/GJ'" in m for m in msgs)
    assert any("row 7 (line 8), column 'period': expected a year (2023) or a half-year (2024-S2), found 'H2 2024'"
               in m for m in msgs)


def test_converted_price_must_follow_from_the_original(tmp_path):
    p = _write(tmp_path, _us(usd="67.00"), _eu(usd="171.20"))
    msgs = _messages(p)
    assert any("row 1 (line 2), column 'price_usd_per_mwh': expected 66.00 USD/MWh (6.6 US cents/kWh x 10), "
               "found 67" in m for m in msgs)
    assert any("row 2 (line 3), column 'price_usd_per_mwh': expected 185.31 USD/MWh "
               "(0.1712 EUR/kWh x 1000 x 1.0824 USD/EUR), found 171.2" in m for m in msgs)


def test_missing_columns_values_and_format(tmp_path):
    p = tmp_path / "cols.csv"
    p.write_text("region,region_kind,price_usd_per_mwh\nTX,us_state,66\n")
    msgs = _messages(p)
    assert f"{p}, line 1, column 'price_original': required column missing" in msgs
    q = _write(tmp_path, _us().replace(",T,P,", ",,P,"), name="empty_value.csv")
    assert any("row 1 (line 2), column 'source_title': required value is empty" in m for m in _messages(q))
    e = tmp_path / "empty.csv"
    e.write_text("")
    with pytest.raises(DataFormatError, match="the file is empty"):
        read_electricity_prices(e)
    h = tmp_path / "header.csv"
    h.write_text(HEADER + "\n")
    with pytest.raises(DataFormatError, match="only a header row"):
        read_electricity_prices(h)
    x = tmp_path / "book.csv"
    x.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(DataFormatError, match="ZIP archive"):
        read_electricity_prices(x)
    with pytest.raises(FileNotFoundError, match="electricity price table not found"):
        read_electricity_prices(tmp_path / "missing.csv")
