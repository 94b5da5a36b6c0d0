"""PJM queue exports whose MW could not be read used to load with no problem reported; now every cell is located.

The bad inputs are made here in ``tmp_path`` from the first rows of the real
PJM Cycle Service Request export (``../shared/data/queues/pjm_abarth15``).
The fuzzing half asserts the contract of :func:`powerfirst.io.queues.read_queue`:
a table, or a powerfirst error (ValidationError / DataFormatError) whose message
names the file - never another exception type, and never a MW value read
differently from what was written.
"""

import csv
import io
import os
import re
import uuid
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerfirst.errors import DataFormatError, PowerfirstError, ValidationError
from powerfirst.io.queues import read_queue

pytestmark = pytest.mark.realdata

FUZZ = settings(max_examples=int(os.environ.get("POWERFIRST_FUZZ_EXAMPLES", "30")), deadline=None,
                derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                         HealthCheck.too_slow])
CYCLE = "queues/pjm_abarth15/DERIVED_PJMCycleProjects_Data_sheet.csv"
AS_OF = "2025-05-01"


@pytest.fixture(scope="module")
def cycle_rows(shared):
    """Header and the first 300 projects of the real PJM cycle export."""
    rows = list(csv.reader(io.StringIO((shared / CYCLE).read_text(encoding="utf-8"))))
    return rows[:301]


def write_rows(path, rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def with_mw(rows, values):
    k = rows[0].index("MW Capacity")
    return [rows[0]] + [r[:k] + [v] + r[k + 1:] for r, v in zip(rows[1:], values, strict=True)]


# ------------------------------------------------------------------ 5. MW that cannot be read


def test_unreadable_mw_in_every_row_is_refused_with_every_cell_located(cycle_rows, tmp_path):
    bad = [f"{r[cycle_rows[0].index('MW Capacity')]} MW" for r in cycle_rows[1:]]  # '150.0 MW': was NaN, silently
    p = write_rows(tmp_path / "mw_text.csv", with_mw(cycle_rows, bad))
    for errors in ("raise", "drop"):  # refused even when bad rows may be dropped: no row would be left
        with pytest.raises(ValidationError) as exc:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read_queue(p, as_of=AS_OF, errors=errors)
        probs = exc.value.problems
        cells = [q for q in probs if q.row is not None]
        assert [(q.row, q.line, q.column) for q in cells] == [(i, i + 1, "MW Capacity") for i in range(1, 301)]
        assert cells[0].message == f"not a number: {bad[0]!r} (expected MW, e.g. 250.5)"
        assert all(q.file == str(p) for q in probs)
        (whole,) = [q for q in probs if q.row is None]
        assert whole.column == "MW Capacity"
        assert whole.message == "no MW value can be read in any of the 300 rows; expected a number [MW] per project"
        assert str(exc.value).startswith(f"301 problems in {p}:")


def test_a_few_unreadable_mw_cells_are_reported_all_at_once(cycle_rows, tmp_path):
    k = cycle_rows[0].index("MW Capacity")
    mw = [r[k] for r in cycle_rows[1:]]
    mw[4], mw[99], mw[250] = "1,200", "n/a", "inf"
    p = write_rows(tmp_path / "mw_some.csv", with_mw(cycle_rows, mw))
    with pytest.raises(ValidationError) as exc:
        read_queue(p, as_of=AS_OF)
    got = [(q.row, q.column, q.message) for q in exc.value.problems if q.column == "MW Capacity"]
    assert got == [(5, "MW Capacity", "not a number: '1,200' (expected MW, e.g. 250.5)"),
                   (100, "MW Capacity", "not a number: 'n/a' (expected MW, e.g. 250.5)"),
                   (251, "MW Capacity", "not a number: 'inf' (expected MW, e.g. 250.5)")]
    with pytest.warns(UserWarning, match="dropped 3 of 300 rows"):
        q = read_queue(p, as_of=AS_OF, errors="drop")
    assert len(q) == 297 and np.isfinite(q["mw"]).all()
    # empty MW cells are missing values, not errors
    mw[4], mw[99], mw[250] = "", "", ""
    q = read_queue(write_rows(tmp_path / "mw_empty.csv", with_mw(cycle_rows, mw)), as_of=AS_OF)
    assert q["mw"].isna().sum() == 3


def test_real_exports_read_without_mw_problems(shared):
    for name in ("DERIVED_PJMActiveProjects_Data_sheet.csv", "DERIVED_PJMCycleProjects_Data_sheet.csv"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = read_queue(shared / "queues/pjm_abarth15" / name, errors="drop")
        assert not any(p.column in ("MW Capacity", "MW Energy") for p in q.attrs["problems"])


# ------------------------------------------------------------------ 6. located errors


def test_non_utf8_export_names_file_and_byte_offset(cycle_rows, tmp_path):
    rows = [list(r) for r in cycle_rows[:5]]
    rows[2][rows[0].index("Name")] = "Montréal"
    p = tmp_path / "cp1252.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    p.write_bytes(buf.getvalue().encode("cp1252"))
    try:
        q = read_queue(p, as_of=AS_OF)
    except DataFormatError as exc:
        assert str(p) in str(exc) and re.search(r"byte 0xe9 in position \d+", str(exc))
    else:
        assert "Montréal" not in set(q["project_id"])  # read (decoded), names are not in the output


# ------------------------------------------------------------------ 7. fuzzing


def contract(path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = read_queue(path, as_of=AS_OF)
    except (ValidationError, DataFormatError) as exc:
        assert isinstance(exc, PowerfirstError)
        assert str(path) in str(exc), str(exc)[:300]
        return None
    assert list(q.columns)[:3] == ["project_id", "status", "fuel"]
    return q


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_fuzz_random_bytes(tmp_path, data, suffix):
    p = tmp_path / f"r{uuid.uuid4().hex}{suffix}"
    p.write_bytes(data)
    contract(p)


@FUZZ
@given(data=st.data())
def test_fuzz_truncated_export(cycle_rows, tmp_path, data):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(cycle_rows[:41])
    raw = buf.getvalue().encode("utf-8")
    cut = data.draw(st.integers(0, len(raw)))
    p = tmp_path / f"t{uuid.uuid4().hex}.csv"
    p.write_bytes(raw[:cut])
    q = contract(p)
    if q is not None:  # every project read is the one of the full file: a row cut short is refused (its
        # request date, status or a date after the MW is then missing or before the request)
        full = read_queue(write_rows(tmp_path / f"f{uuid.uuid4().hex}.csv", cycle_rows[:41]), as_of=AS_OF)
        n = len(q)
        cols = ["project_id", "status", "submitted", "withdrawn", "mw"]
        assert q[cols].equals(full[cols].iloc[:n])




NASTY = st.sampled_from(["", " ", "1,200", "150 MW", "n/a", "nan", "inf", "-1", "1e400", "0x10", "١٢", "  7 ",
                         "7.", ".5", "TBD", "1.2.3"])


@FUZZ
@given(data=st.data())
def test_fuzz_mw_cell_never_silently_reinterpreted(cycle_rows, tmp_path, data):
    k = cycle_rows[0].index("MW Capacity")
    mw = [r[k] for r in cycle_rows[1:41]]
    i = data.draw(st.integers(0, 39))
    text = data.draw(NASTY | st.text(max_size=8))
    mw[i] = text
    q = contract(write_rows(tmp_path / f"c{uuid.uuid4().hex}.csv", with_mw(cycle_rows[:41], mw)))
    if q is None:
        return
    got = q["mw"].iloc[i]
    if text.strip() == "":
        assert np.isnan(got)
    else:
        assert np.isfinite(got) and got == float(text)
