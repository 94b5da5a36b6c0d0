"""Facts tables and OPSD price files: every error located, no tracebacks, no number read differently.

The bad inputs are made here in ``tmp_path`` from the embedded facts table
``data/facts/pue.csv`` and the first rows of the real OPSD Great Britain
extract (``../shared/data/europe``).  The fuzzing half asserts the contract of
:func:`powerfirst.io.facts.read_facts` and
:func:`powerfirst.io.prices.read_opsd_prices`: a result that agrees with the
file, or a powerfirst error (ValidationError / DataFormatError) whose message
names the file.
"""

import csv
import io
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerfirst.errors import DataFormatError, PowerfirstError, ValidationError
from powerfirst.io.facts import read_facts
from powerfirst.io.prices import read_opsd_prices

FUZZ = settings(max_examples=int(os.environ.get("POWERFIRST_FUZZ_EXAMPLES", "30")), deadline=None,
                derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                         HealthCheck.too_slow])
PUE = Path(__file__).resolve().parents[2] / "data" / "facts" / "pue.csv"
OPSD = "europe/opsd_GB_60min_2019-10_2020-09.csv"
HEADER = "quantity,value,unit,source_title,publisher,year\n"


def facts_problems(path):
    with pytest.raises(ValidationError) as exc:
        read_facts(path)
    assert str(path) in str(exc.value)
    return exc.value.problems


def write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# ------------------------------------------------------------------ facts


@pytest.mark.parametrize("value, says", [
    ("1_000", "expected a number, found '1_000'"),    # float() took it, then pandas raised a ValueError
    ("١٢", "expected a number, found '١٢'"),
    ("nan", "expected a number, found 'nan'"),        # was read as NaN, silently
    ("inf", "expected a number, found 'inf'"),
    ("1e400", "expected a number, found '1e400'"),
])
def test_facts_numbers_that_are_not_plain_numbers_are_refused(tmp_path, value, says):
    (q,) = facts_problems(write(tmp_path / "f.csv", f"{HEADER}a,{value},TWh,T,P,2024\n"))
    assert (q.row, q.line, q.column) == (1, 2, "value") and q.message == says


def test_facts_year_in_other_digits_is_refused(tmp_path):
    (q,) = facts_problems(write(tmp_path / "f.csv", f"{HEADER}a,1,TWh,T,P,٢٠٢٤\n"))  # was a ValueError
    assert (q.row, q.column) == (1, "year") and "expected a year (integer), found '٢٠٢٤'" in q.message


def test_facts_encodings_empty_ragged_and_cut_short_files(tmp_path):
    text = f"{HEADER}a,1.5,TWh,Énergie et IA,Agence,2024\n"
    off = len(HEADER) + len("a,1.5,TWh,")
    with pytest.warns(UserWarning, match=rf"cp.csv: not UTF-8 \(byte 0xc9 at byte offset {off} \(line 2\)\); read "
                                         r"as Windows-1252"):
        df = read_facts(write(tmp_path / "cp.csv", text.encode("cp1252")))
    assert df["source_title"].item() == "Énergie et IA"
    assert read_facts(write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + text.encode()))["value"].item() == 1.5
    probs = facts_problems(write(tmp_path / "bad.csv", text.encode("cp1252").replace(b"\xc9", b"\x81")))
    assert probs[0].message.startswith(f"not UTF-8 text (byte 0x81 at byte offset {off} (line 2)), nor Windows-1252")
    (q,) = facts_problems(write(tmp_path / "empty.csv", ""))
    assert q.message.startswith("the file is empty; expected a header row (quantity, value, unit")
    (q,) = facts_problems(write(tmp_path / "head.csv", HEADER))
    assert (q.line, q.message) == (1, "only a header row and no rows of figures")
    probs = facts_problems(write(tmp_path / "rag.csv", f"{HEADER}a,1,TWh,T,P,2024,extra\nb,2,TWh,T,P,2024\nc,3,TW"))
    assert [(q.row, q.line) for q in probs] == [(1, 2), (3, 4)]
    assert probs[0].message == "expected 6 fields as in the header, found 7"
    assert probs[1].message == ("expected 6 fields as in the header, found 3; the file ends there without a line "
                                "terminator: it looks cut short (download it again)")
    (q,) = facts_problems(write(tmp_path / "quote.csv", f'{HEADER}a,1,TWh,"T,P,2024\n'))
    assert q.row == 1 and "found 4" in q.message  # an unclosed quote swallows the rest: located, not a traceback


def test_facts_problems_of_several_files_at_once(tmp_path):
    a = write(tmp_path / "a.csv", f"{HEADER}a,x,TWh,T,P,2024\n")
    b = write(tmp_path / "b.csv", "")
    with pytest.raises(ValidationError) as exc:
        read_facts([a, b])
    assert {q.file for q in exc.value.problems} == {str(a), str(b)}


def facts_contract(path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            df = read_facts(path)
    except (ValidationError, DataFormatError) as exc:
        assert isinstance(exc, PowerfirstError)
        assert str(path) in str(exc), str(exc)[:300]
        return None
    assert np.isfinite(df["value"]).all()
    return df


@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzz_facts_random_bytes(tmp_path, data):
    facts_contract(write(tmp_path / f"r{uuid.uuid4().hex}.csv", data))


@FUZZ
@given(data=st.data())
def test_fuzz_facts_truncated(tmp_path, data):
    raw = PUE.read_bytes()
    cut = data.draw(st.integers(0, len(raw)))
    df = facts_contract(write(tmp_path / f"t{uuid.uuid4().hex}.csv", raw[:cut]))
    if df is not None:
        ref = read_facts(PUE)
        n = len(df)
        cols = ["quantity", "region", "value", "low", "high", "unit", "year"]
        assert df[cols].iloc[: n - 1].equals(ref[cols].iloc[: n - 1])  # the last row: only its note may be cut
        assert df[cols].iloc[n - 1:].reset_index(drop=True).equals(ref[cols].iloc[n - 1:n].reset_index(drop=True))


@FUZZ
@given(data=st.data())
def test_fuzz_facts_shuffled_columns_read_the_same(tmp_path, data):
    rows = list(csv.reader(io.StringIO(PUE.read_text(encoding="utf-8"))))
    order = data.draw(st.permutations(range(len(rows[0]))))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[r[k] for k in order] for r in rows])
    df = facts_contract(write(tmp_path / f"p{uuid.uuid4().hex}.csv", buf.getvalue()))
    ref = read_facts(PUE)
    assert df is not None
    assert df.drop(columns="file").equals(ref.drop(columns="file"))


NASTY = st.sampled_from(["", "1,5", "1_000", "nan", "inf", "-1", "1e400", "١٢", "0x10", "  7 ", "7.", ".5", "TWh",
                         "twenty", "2024", "MWh", "parsecs"])


@FUZZ
@given(data=st.data())
def test_fuzz_facts_one_cell_never_silently_reinterpreted(tmp_path, data):
    rows = list(csv.reader(io.StringIO(PUE.read_text(encoding="utf-8"))))
    col = data.draw(st.sampled_from(["value", "low", "high", "year", "period", "unit"]))
    r = data.draw(st.integers(1, len(rows) - 1))
    text = data.draw(NASTY | st.text(max_size=8))
    rows[r][rows[0].index(col)] = text
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    df = facts_contract(write(tmp_path / f"c{uuid.uuid4().hex}.csv", buf.getvalue()))
    if df is None or col == "unit":
        return
    got = df[col].iloc[r - 1]
    if text.strip() == "":
        assert pd.isna(got)
    else:
        assert float(got) == float(text)


# ------------------------------------------------------------------ OPSD prices


@pytest.fixture
def opsd_head(shared, tmp_path):
    """The header and 200 hours of the real OPSD GB extract."""
    lines = (shared / OPSD).read_text(encoding="utf-8").splitlines()[:201]
    return lines


def opsd_file(tmp_path, lines, name="opsd.csv"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def price_problems(path, **kw):
    with pytest.raises(ValidationError) as exc:
        read_opsd_prices(path, usd_per_unit=1.28, **kw)
    assert str(path) in str(exc.value)
    return exc.value.problems


def cell(lines, i, col, value):
    out = list(lines)
    f = out[i].split(",")
    f[out[0].split(",").index(col)] = value
    out[i] = ",".join(f)
    return out


@pytest.mark.realdata
def test_price_with_a_decimal_comma_is_refused_not_filled(opsd_head, tmp_path):
    # '30.04' written '"30,04"': was read as a missing hour and, with fill_gaps_h, interpolated silently
    lines = cell(opsd_head, 5, "GB_GBN_price_day_ahead", '"30,04"')
    (q,) = price_problems(opsd_file(tmp_path, lines), fill_gaps_h=3)
    assert (q.row, q.line, q.column) == (5, 6, "GB_GBN_price_day_ahead")
    assert q.message == "expected a price [GBP MWh-1], found '30,04'"


@pytest.mark.realdata
def test_price_file_problems_are_all_located_at_once(opsd_head, tmp_path):
    lines = cell(opsd_head, 3, "utc_timestamp", "2019-10-01 25:00")        # was a DateParseError traceback
    lines = cell(lines, 7, "GB_GBN_price_day_ahead", "n/a")
    lines = cell(lines, 9, "utc_timestamp", opsd_head[8].split(",")[0])    # the hour of row 8 again
    probs = price_problems(opsd_file(tmp_path, lines))
    got = [(q.row, q.column) for q in probs]
    assert got == [(3, "utc_timestamp"), (7, "GB_GBN_price_day_ahead"), (8, "utc_timestamp")]
    assert probs[0].message.startswith("not a timestamp: '2019-10-01 25:00'")
    assert "1 hours appear more than once with different prices" in probs[2].message


@pytest.mark.realdata
def test_price_files_empty_sub_hourly_cp1252_and_cut_short(opsd_head, tmp_path):
    p = opsd_file(tmp_path, opsd_head[:1], "head.csv")                     # was an IndexError
    with pytest.raises(DataFormatError, match="head.csv: only a header row"):
        read_opsd_prices(p, usd_per_unit=1.28)
    half = [opsd_head[0]] + [r.replace(":00:00Z", ":30:00Z", 1) if k % 2 else r
                             for k, r in enumerate(opsd_head[1:])]
    (q,) = price_problems(opsd_file(tmp_path, half, "half.csv"))          # half-hours were dropped silently
    assert "100 timestamps are not on the hour" in q.message
    cp = tmp_path / "cp.csv"
    cp.write_bytes(("\n".join(opsd_head) + "\n").replace("GB_GBN_solar_capacity", "GB_GBN_solar_capacité")
                   .encode("cp1252"))
    with pytest.warns(UserWarning, match="cp.csv: not UTF-8"):           # was a UnicodeDecodeError
        assert read_opsd_prices(cp, usd_per_unit=1.28).sizes["time"] == 200
    text = "\n".join(opsd_head)
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rfind(",") - 20])
    (q,) = price_problems(cut)
    assert q.row == 200 and "the file ends there without a line terminator: it looks cut short" in q.message


def price_contract(path, **kw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            da = read_opsd_prices(path, usd_per_unit=1.28, **kw)
    except (ValidationError, DataFormatError) as exc:
        assert isinstance(exc, PowerfirstError)
        assert str(path) in str(exc), str(exc)[:300]
        return None
    assert np.isfinite(da.values).all()
    return da


@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzz_prices_random_bytes(tmp_path, data):
    price_contract(write(tmp_path / f"r{uuid.uuid4().hex}.csv", data), column="GB_GBN_price_day_ahead")


@pytest.mark.realdata
@FUZZ
@given(data=st.data())
def test_fuzz_prices_truncated(opsd_head, tmp_path, data):
    raw = ("\n".join(opsd_head) + "\n").encode()
    cut = data.draw(st.integers(0, len(raw)))
    da = price_contract(write(tmp_path / f"t{uuid.uuid4().hex}.csv", raw[:cut]))
    if da is not None:
        ref = read_opsd_prices(opsd_file(tmp_path, opsd_head, f"f{uuid.uuid4().hex}.csv"), usd_per_unit=1.28)
        np.testing.assert_array_equal(da.values, ref.values[: da.sizes["time"]])


@pytest.mark.realdata
@FUZZ
@given(data=st.data())
def test_fuzz_prices_shuffled_columns_read_the_same(opsd_head, tmp_path, data):
    rows = [r.split(",") for r in opsd_head]
    order = data.draw(st.permutations(range(len(rows[0]))))
    p = opsd_file(tmp_path, [",".join(r[k] for k in order) for r in rows], f"p{uuid.uuid4().hex}.csv")
    da = price_contract(p)
    ref = read_opsd_prices(opsd_file(tmp_path, opsd_head, f"f{uuid.uuid4().hex}.csv"), usd_per_unit=1.28)
    assert da is not None
    np.testing.assert_array_equal(da.values, ref.values)


@pytest.mark.realdata
@FUZZ
@given(data=st.data())
def test_fuzz_prices_one_cell_never_silently_reinterpreted(opsd_head, tmp_path, data):
    i = data.draw(st.integers(1, len(opsd_head) - 1))
    text = data.draw(NASTY | st.text(alphabet=st.characters(blacklist_characters=',"\r\n'), max_size=8))
    lines = cell(opsd_head, i, "GB_GBN_price_day_ahead", text)
    da = price_contract(opsd_file(tmp_path, lines, f"c{uuid.uuid4().hex}.csv"), fill_gaps_h=1)
    if da is None:
        return
    ref = read_opsd_prices(opsd_file(tmp_path, opsd_head, f"f{uuid.uuid4().hex}.csv"), usd_per_unit=1.28)
    if text.strip():
        assert da.values[i - 1] == float(text) * 1.28
    others = np.delete(da.values, i - 1)
    np.testing.assert_array_equal(others, np.delete(ref.values, i - 1))
