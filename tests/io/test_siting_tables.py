"""Tests of the siting tables (BA lookup, social licence) and their readers."""

import datetime as dt

import numpy as np
import pytest

from powerfirst.errors import ValidationError
from powerfirst.io.siting_tables import (
    ba_from_location,
    country_zones,
    read_ba_lookup,
    read_social_licence,
    social_licence_at,
)
from powerfirst.schema import grid_codes

STATE_HEAD = "state,ba,confidence,other_bas,source,note\n"
COUNTY_HEAD = "county_fips,county,state,ba,confidence,source,note\n"
SOCIAL_HEAD = ("jurisdiction,country,state,county_fips,city,lat,lon,radius_km,kind,severity,exclude,"
               "start_date,end_date,status,summary,source\n")


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _messages(exc):
    return [str(p) for p in exc.value.problems]


# ----------------------------------------------------------------------------- BA lookup

def test_embedded_ba_tables_are_valid_and_cover_the_states():
    st, co = read_ba_lookup()
    assert len(st) == 49  # 48 contiguous states + DC; AK and HI have no BA in the project
    assert {"AK", "HI"}.isdisjoint(st.index)
    assert set(st["ba"]) <= set(grid_codes())
    assert ((st["confidence"] > 0) & (st["confidence"] <= 1)).all()
    assert co.index.str.fullmatch(r"[0-9]{5}").all()
    assert (st["source"] != "").all() and (co["source"] != "").all()
    # 1.0 only where no other BA appears in the state (WI: all MISO); NY is NYISO but for a
    # Penelec sliver reported in PJM (0.99); a split state such as IL is well below 1
    assert st.loc["WI", "confidence"] == 1.0
    assert st.loc["NY", "ba"] == "NYIS" and 0.95 <= st.loc["NY", "confidence"] < 1.0
    assert st.loc["IL", "confidence"] < 0.8 and "MISO" in st.loc["IL", "other_bas"]


def test_ba_from_location_known_places():
    got = ba_from_location(
        ["VA", "IL", "MO", "TX", "TX", "", "", "", "", "AK", "TX"],
        ["51107", "17031", "29510", "48141", "48113", "", "", "", "", "", "48375"],
        ["US", "US", "US", "US", "US", "DE", "BR", "SE", "IT", "US", "US"])
    assert list(got.columns) == ["ba", "ba_confidence", "ba_method"]
    # Loudoun (Ashburn): Dominion, in PJM; Virginia is not split in the county table
    assert tuple(got.iloc[0]) == ("PJM", pytest.approx(0.99), "state")
    # Cook (Chicago): ComEd, PJM, a county override of Illinois (whose state BA is also PJM)
    assert got.loc[1, "ba"] == "PJM" and got.loc[1, "ba_method"] == "county"
    # St. Louis city: Ameren Missouri, MISO (the state's main BA)
    assert got.loc[2, "ba"] == "MISO" and got.loc[2, "ba_method"] == "state"
    # El Paso: El Paso Electric, outside ERCOT
    assert got.loc[3, "ba"] == "EPE" and got.loc[3, "ba_method"] == "county"
    # Dallas: ERCOT (state)
    assert got.loc[4, "ba"] == "ERCO" and got.loc[4, "ba_method"] == "state"
    # Germany: one bidding zone DE-LU in grids.csv
    assert tuple(got.iloc[5]) == ("DE-LU", 1.0, "country")
    # Brazil, Sweden (four zones), Italy (several zones), Alaska: unknown, never guessed
    for i in (6, 7, 8, 9):
        assert tuple(got.iloc[i]) == ("", 0.0, "unknown"), i
    # Potter County (Amarillo): Xcel SPS, in SPP
    assert got.loc[10, "ba"] == "SWPP"


def test_ba_from_location_broadcasts_and_normalises():
    got = ba_from_location("il", [17031, 17019, "17043"], "us")
    # integer FIPS zero-padded; Champaign (17019) is not overridden: state IL -> PJM at the state's confidence
    assert list(got["ba"]) == ["PJM", "PJM", "PJM"]
    assert list(got["ba_method"]) == ["county", "state", "county"]
    # state taken from the FIPS prefix when missing; country missing but a US county given
    got = ba_from_location([None, ""], ["48141", 1001], [np.nan, "US"])
    assert list(got["ba"]) == ["EPE", "SOCO"] and list(got["ba_method"]) == ["county", "state"]
    # country-level codes match grids.csv
    zones = country_zones()
    assert zones["NL"] == ("NL", 1.0) and zones["IE"] == ("IE-SEM", 1.0) and zones["LU"] == ("DE-LU", 1.0)
    assert "SE" not in zones and "IT" not in zones and "NO" not in zones
    assert all(z in grid_codes() for z, _ in zones.values())


def test_ba_from_location_rejects_malformed_inputs():
    with pytest.raises(ValidationError) as exc:
        ba_from_location(["IL", "XX", "VA"], ["1703", "", "17031"], ["US", "US", "USA"])
    msgs = _messages(exc)
    assert any("row 1, column 'county_fips'" in m and "5 digits" in m and "'1703'" in m for m in msgs)
    assert any("row 2, column 'state'" in m and "'XX'" in m for m in msgs)
    assert any("row 3, column 'country'" in m and "'USA'" in m for m in msgs)
    with pytest.raises(ValidationError, match="county 17031 is not in state VA"):
        ba_from_location("VA", "17031", "US")
    with pytest.raises(ValidationError, match="expected 3 values"):
        ba_from_location(["IL", "VA"], ["", "", ""], "US")


def test_bad_ba_files_name_file_row_and_column(tmp_path):
    sp = _write(tmp_path, "s.csv", "# comment\n" + STATE_HEAD
                + "IL,PJM,0.64,MISO,src,\n"
                + "VA,XYZ,0.9,,src,\n"
                + "TX,ERCO,1.5,SWPP,src,\n"
                + "IL,MISO,0.3,,src,\n"
                + "CA,CISO,0,CISO,,\n")
    cp = _write(tmp_path, "c.csv", COUNTY_HEAD
                + "1703,Cook,IL,PJM,0.97,src,\n"
                + "48141,El Paso,NM,EPE,0.95,src,\n"
                + "17043,DuPage,IL,PJM,0.97,src,\n"
                + "17043,DuPage,IL,PJM,0.97,src,\n")
    with pytest.raises(ValidationError) as exc:
        read_ba_lookup(sp, cp)
    msgs = _messages(exc)
    s, c = str(sp), str(cp)
    assert any(m.startswith(f"{s}, row 2 (line 4), column 'ba'") and "unknown balancing authority 'XYZ'" in m
               for m in msgs)
    assert any(m.startswith(f"{s}, row 3 (line 5), column 'confidence'") and "(0, 1]" in m and "1.5" in m
               for m in msgs)
    assert any(m.startswith(f"{s}, row 4 (line 6), column 'state'") and "duplicate state 'IL'" in m
               and "row 1" in m for m in msgs)
    assert any(m.startswith(f"{s}, row 5 (line 7), column 'confidence'") and "found 0" in m for m in msgs)
    assert any(m.startswith(f"{s}, row 5 (line 7), column 'other_bas'") and "main BA" in m for m in msgs)
    assert any(m.startswith(f"{s}, row 5 (line 7), column 'source'") and "empty" in m for m in msgs)
    assert any(m.startswith(f"{c}, row 1 (line 2), column 'county_fips'") and "5 digits" in m for m in msgs)
    assert any(m.startswith(f"{c}, row 2 (line 3), column 'county_fips'") and "48141 is not in NM" in m
               for m in msgs)
    assert any(m.startswith(f"{c}, row 4 (line 5), column 'county_fips'") and "duplicate county '17043'" in m
               for m in msgs)


def test_bad_ba_file_header(tmp_path):
    sp = _write(tmp_path, "s.csv", "state,ba,confidence,sauce\nIL,PJM,0.6,x\n")
    cp = _write(tmp_path, "c.csv", COUNTY_HEAD)
    with pytest.raises(ValidationError) as exc:
        read_ba_lookup(sp, cp)
    msgs = _messages(exc)
    assert any("column 'source': required column missing" in m for m in msgs)
    assert any("column 'sauce': unknown column" in m for m in msgs)
    assert any(m.startswith(f"{cp}: a header and no data rows") for m in msgs)


# ----------------------------------------------------------------------------- social licence

def test_embedded_social_licence_is_valid():
    t = read_social_licence()
    assert len(t) >= 12
    assert set(t["kind"]) <= {"moratorium", "grid_restriction", "zoning", "opposition", "tax_or_fee"}
    assert t["severity"].between(0, 1).all()
    ex = t[t["exclude"]]
    assert len(ex) >= 1 and (ex["kind"] == "moratorium").all() and (ex["status"] == "active").all()
    assert (ex["end_date"] == "").all()
    assert (t["source_year"] >= 2014).all()


def test_dublin_is_under_a_grid_restriction():
    # EirGrid: no new data-centre connections in the Greater Dublin region (severity 0.8); the
    # national CRU criteria (0.5) match as well
    got = social_licence_at(53.35, -6.26, "", "", "IE", on_date="2025-06-01")
    assert got.loc[0, "social_severity"] == pytest.approx(0.8)
    assert not got.loc[0, "social_exclude"]
    assert got.loc[0, "social_reason"].startswith("Greater Dublin (EirGrid connection constraint): grid_restriction")
    # Cork (about 220 km away) only has the national criteria
    cork = social_licence_at(51.90, -8.47, "", "", "IE", on_date="2025-06-01")
    assert cork.loc[0, "social_severity"] == pytest.approx(0.5)
    # before the CRU decision of 2021-11-23, nothing
    early = social_licence_at(53.35, -6.26, "", "", "IE", on_date="2021-06-01")
    assert early.loc[0, "social_severity"] == 0.0 and early.loc[0, "social_reason"] == ""


def test_amsterdam_moratorium_then_policy():
    # 2019-10: the July 2019 pause is in force -> excluded
    got = social_licence_at(52.37, 4.90, "", "", "NL", on_date=dt.date(2019, 10, 1))
    assert got.loc[0, "social_exclude"] and got.loc[0, "social_severity"] == 1.0
    assert "Amsterdam (municipality): moratorium (2019)" in got.loc[0, "social_reason"]
    # 2025: lifted; the cluster policy (0.5) and the national hyperscale rule (0.8) apply
    got = social_licence_at(52.37, 4.90, "", "", "NL", on_date="2025-01-01")
    assert not got.loc[0, "social_exclude"]
    assert got.loc[0, "social_severity"] == pytest.approx(0.8)
    assert "moratorium" not in got.loc[0, "social_reason"]
    assert "Amsterdam data-centre location policy 2020-2030: zoning" in got.loc[0, "social_reason"]


def test_loudoun_and_st_charles():
    got = social_licence_at([39.03, 38.79, 38.79, 38.79], [-77.49, -90.49, -90.49, -90.49],
                            ["VA", "MO", "MO", "MO"], ["51107", "29183", "29183", "29183"], "US",
                            on_date="2025-06-01")
    # Loudoun: by-right data centres removed 2025-03-18 -> conditional (0.5)
    assert got.loc[0, "social_severity"] == 0.5 and not got.loc[0, "social_exclude"]
    assert got.loc[0, "social_reason"] == "Loudoun County (end of by-right data centres): zoning (2025)"
    # St. Charles before its moratorium of 2025-08-22: nothing
    assert got.loc[1, "social_severity"] == 0.0
    moratorium = social_licence_at(38.79, -90.49, "MO", "29183", "US", on_date="2025-09-01")
    assert moratorium.loc[0, "social_exclude"] and "one-year moratorium" in moratorium.loc[0, "social_reason"]
    ban = social_licence_at(38.79, -90.49, "MO", "29183", "US", on_date="2026-06-01")
    assert ban.loc[0, "social_exclude"] and "zoning ban" in ban.loc[0, "social_reason"]
    # 30 km away (outside the 5 km radius of the city row): nothing
    far = social_licence_at(38.79, -90.10, "MO", "29189", "US", on_date="2026-06-01")
    assert far.loc[0, "social_severity"] == 0.0 and not far.loc[0, "social_exclude"]


def test_no_match_and_defaults():
    got = social_licence_at([-15.8, np.nan], [-47.9, np.nan], "", "", ["BR", ""])
    assert list(got["social_severity"]) == [0.0, 0.0]
    assert list(got["social_exclude"]) == [False, False]
    assert list(got["social_reason"]) == ["", ""]
    with pytest.raises(ValidationError, match="on_date"):
        social_licence_at(0, 0, "", "", "", on_date="2025-13")
    with pytest.raises(ValidationError, match="column 'lat'"):
        social_licence_at(95, 0, "", "", "")


def _social_row(**kw):
    row = dict(jurisdiction="Town", country="NL", state="", county_fips="", city="Town", lat="52.0", lon="5.0",
               radius_km="5", kind="moratorium", severity="1.0", exclude="false", start_date="2020-01-01",
               end_date="2021-01-01", status="lifted", summary="s", source="Paper 'T' 2020-01-02 https://x")
    row.update(kw)
    return ",".join(row[c] for c in SOCIAL_HEAD.strip().split(",")) + "\n"


def test_bad_social_file_names_file_row_and_column(tmp_path):
    p = _write(tmp_path, "soc.csv", SOCIAL_HEAD
               + _social_row()
               + _social_row(jurisdiction="A", start_date="2021-05-01", end_date="2021-01-01")
               + _social_row(jurisdiction="B", severity="1.2")
               + _social_row(jurisdiction="C", exclude="true")
               + _social_row(jurisdiction="D", lat="40.7", lon="-74.0")
               + _social_row(jurisdiction="E", start_date="2020/05/01")
               + _social_row(jurisdiction="F", kind="ban", status="gone", end_date="")
               + _social_row(jurisdiction="G", country="US", state="VA", county_fips="17031", city="",
                             radius_km="", lat="39", lon="-77.5")
               + _social_row(jurisdiction="H", source="no date here")
               + _social_row())
    with pytest.raises(ValidationError) as exc:
        read_social_licence(p)
    msgs = _messages(exc)
    f = str(p)

    def has(row, column, *parts):
        return any(m.startswith(f"{f}, row {row} (line {row + 1}), column '{column}'") and all(x in m for x in parts)
                   for m in msgs)

    assert has(2, "end_date", "end 2021-01-01 is before start 2021-05-01")
    assert has(3, "severity", "[0, 1]", "1.2")
    assert has(4, "exclude", "active standing moratorium", "status is 'lifted'", "it ends 2021-01-01")
    assert has(5, "lat", "outside NL")
    assert has(6, "start_date", "ISO date", "'2020/05/01'")
    assert has(7, "kind", "'ban'")
    assert has(7, "status", "'gone'")
    assert has(8, "county_fips", "17031 is not in VA")
    assert has(9, "source", "no year")
    assert has(10, "jurisdiction", "duplicate", "row 1")


def test_social_file_precision_and_radius_rules(tmp_path):
    p = _write(tmp_path, "soc.csv", SOCIAL_HEAD
               + _social_row(start_date="2020-06", end_date="2020")
               + _social_row(jurisdiction="B", radius_km="")
               + _social_row(jurisdiction="C", city="", radius_km="3", exclude="true", status="active", end_date=""))
    with pytest.raises(ValidationError) as exc:
        read_social_licence(p)
    msgs = _messages(exc)
    assert any("row 1 (line 2), column 'end_date'" in m and "never certainly in force" in m for m in msgs)
    assert any("row 2 (line 3), column 'radius_km'" in m and "city row needs the radius" in m for m in msgs)
    assert any("row 3 (line 4), column 'radius_km'" in m and "only for a city row" in m for m in msgs)
    assert not any("row 3 (line 4), column 'exclude'" in m for m in msgs)  # an active standing ban may exclude


def test_reduced_precision_dates_count_only_where_certain(tmp_path):
    p = _write(tmp_path, "soc.csv", SOCIAL_HEAD
               + _social_row(start_date="2020", end_date="2022-03", severity="0.6", kind="zoning"))
    t = read_social_licence(p)
    assert t.loc[0, "in_force_from"] == dt.date(2020, 12, 31)
    assert t.loc[0, "in_force_until"] == dt.date(2022, 3, 1)
    sev = [social_licence_at(52.0, 5.0, "", "", "NL", on_date=d, table=t).loc[0, "social_severity"]
           for d in ("2020-06-01", "2021-06-01", "2022-03-15")]
    assert sev == [0.0, 0.6, 0.0]
