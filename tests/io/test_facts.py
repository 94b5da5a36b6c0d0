import pytest

from powerfirst.errors import ValidationError
from powerfirst.io.facts import fact, read_facts


def test_embedded_facts_are_valid_and_sourced():
    df = read_facts()
    assert len(df) > 50
    assert df[["source_title", "publisher"]].ne("").all().all()
    assert df["year"].notna().all()
    # IEA Energy and AI (2025): world data-centre electricity 2024 ~415 TWh
    v, unit = fact("datacentre_electricity", region="World", scenario="historical", period=2024, facts=df)
    assert unit == "TWh" and 400 <= v <= 430
    # fibre latency ~4.9 us per km one way
    lat = df[df.quantity == "fibre_latency_one_way"]["value"]
    assert ((lat > 4.8) & (lat < 5.1)).any()
    for q in ("grid_carbon_intensity", "pue", "request_to_operation_duration", "lead_time_large_power_transformer"):
        assert (df["quantity"] == q).any(), q


def test_lookup_errors_list_what_exists():
    with pytest.raises(KeyError, match="no fact 'nonsense'"):
        fact("nonsense")
    with pytest.raises(KeyError, match="rows of 'pue' match"):
        fact("pue")


def test_bad_facts_file_reports_rows(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("quantity,value,unit,source_title,publisher,year\n"
                 "a,1.5,TWh,T,P,2024\n"
                 "b,lots,TWh,T,P,2024\n"
                 "c,2,parsecs,T,P,2024\n"
                 "d,3,TWh,,P,twenty\n")
    with pytest.raises(ValidationError) as exc:
        read_facts(p)
    msgs = [str(q) for q in exc.value.problems]
    assert any("row 2 (line 3), column 'value': expected a number, found 'lots'" in m for m in msgs)
    assert any("row 3 (line 4), column 'unit': unknown unit 'parsecs'" in m for m in msgs)
    assert any("row 4 (line 5), column 'source_title': required value is empty" in m for m in msgs)
    assert any("row 4 (line 5), column 'year': expected a year" in m for m in msgs)
