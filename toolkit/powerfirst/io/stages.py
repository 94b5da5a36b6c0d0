"""Stage tables of the time-to-power model: ``data/time_to_power/{stages,rules}.csv``.

The *stage table* (PyPSA-style: one row per stage and region) gives each energisation stage
its duration distribution, unit and source::

    stage, paths, region, size_class, distribution, p50, p90, low, mode, high, unit, supply_chain,
    kind, covers, facts, source, note

``region`` is a BA, a market (ISO/RTO, utility or country group of ``regions.csv``), a country
code or empty (the default); ``size_class`` is empty (any size), ``<100``, ``100-300``,
``300-1000``, ``>1000`` or ``low-high`` [MW]; ``covers`` lists the stages the row's figure
already includes (the model drops them for the sites that use the row).

``distribution`` is ``lognormal`` (``p50``, ``p90``), ``triangular`` (``low``, ``mode``,
``high``), ``empirical`` (``values``: space-separated durations) or ``fixed`` (``p50``).
``kind`` says where the numbers come from: ``fact`` (a row of ``data/facts``), ``fit``
(:func:`powerfirst.models.time_to_power.queue.fit_stage_durations`), ``assumption`` (a labelled
modelling assumption, explained in ``note``) or a mix (``fact+assumption``).  The ``facts``
column fills fields from the facts tables, e.g.
``p50=lead_time_large_power_transformer[period=2024;low=24].value; p90=...high``; each
reference must match exactly one facts row, and the row's source is written into ``source``.

The *rules table* scales a stage per site from the site's attributes (a scale of 0 drops the
stage)::

    stage, path, attribute, op, value, scale, kind, note

``stage`` may name one occurrence of a stage in a path graph (``large_load_interconnection@studies``);
``path`` is a path name or ``*``; ``op`` is one of ``== != in not_in < <= > >=`` (``in`` takes
``a|b``), and ``attribute = *`` applies to every site.

The *region table* maps each BA code to its market (``ba, market, country, note``).

The *stage observations* (``stage_observations.csv``) are the dated durations behind the rows whose
figure is a fit (``stage, facility_type, project, start, end, months, source, note``): one row per
project, ``months`` the duration used, ``start``/``end`` the dates as the source gives them
(``YYYY-MM-DD``, or ``YYYY-MM`` when the day is not given, or empty for a stated duration).

The readers check every row and report all problems with file, row and column.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.errors import Problem, ValidationError
from powerfirst.paths import data_dir
from powerfirst.units import UnitError, scale

__all__ = ["read_stage_table", "read_stage_rules", "read_region_table", "read_utility_table", "read_validation_cases",
           "read_stage_observations", "stage_table_path", "stage_rules_path", "region_table_path", "utility_table_path",
           "validation_cases_path", "stage_observations_path",
           "STAGE_COLUMNS", "RULE_COLUMNS", "REGION_COLUMNS", "UTILITY_COLUMNS", "resolve_facts"]

STAGE_COLUMNS = ["stage", "paths", "region", "size_class", "distribution", "p50", "p90", "low", "mode", "high",
                 "unit", "supply_chain", "kind", "covers", "facts", "source", "note"]
REGION_COLUMNS = ["ba", "market", "country", "note"]
UTILITY_COLUMNS = ["utility", "name", "group", "ba", "note"]
OBSERVATION_COLUMNS = ["stage", "facility_type", "project", "start", "end", "months", "source", "note"]
#: days per month of the model's month unit (365.25 / 12)
MONTH_DAYS = 30.4375
_OPTIONAL = ("note", "kind", "facts", "source", "paths", "region", "values", "size_class", "covers")
RULE_COLUMNS = ["stage", "path", "attribute", "op", "value", "scale", "kind", "note"]
NUMERIC = ("p50", "p90", "low", "mode", "high")
OPS = ("==", "!=", "in", "not_in", "<", "<=", ">", ">=")

_REF = re.compile(r"^\s*(\w+)\s*=\s*([\w.]+?)(?:\[([^\]]*)\])?\.(value|low|high)\s*$")


def _split_refs(spec: str) -> list[str]:
    """Split 'a=x[k=1;j=2].value; b=y.high' at the semicolons outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in spec:
        depth += (ch == "[") - (ch == "]")
        if ch == ";" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


def stage_table_path() -> Path:
    return data_dir() / "time_to_power" / "stages.csv"


def stage_rules_path() -> Path:
    return data_dir() / "time_to_power" / "rules.csv"


def region_table_path() -> Path:
    return data_dir() / "time_to_power" / "regions.csv"


def utility_table_path() -> Path:
    return data_dir() / "time_to_power" / "utilities.csv"


def validation_cases_path() -> Path:
    return data_dir() / "time_to_power" / "validation_cases.csv"


def stage_observations_path() -> Path:
    return data_dir() / "time_to_power" / "stage_observations.csv"


def read_stage_observations(path=None) -> pd.DataFrame:
    """Read the dated durations [month] behind the fitted stage rows; ``months`` as float.

    Checked: the required columns, ``stage``, ``project`` and ``source`` not empty, ``months`` a number
    in (0, 240], dates ``YYYY-MM-DD`` or ``YYYY-MM``, ``end`` after ``start``, and where both dates have
    their day, ``months`` within 0.05 of their difference (days / 30.4375).  Every problem names file,
    row, line and column.
    """
    path = Path(path) if path is not None else stage_observations_path()
    df = _read_required(path, OBSERVATION_COLUMNS, "stage observations")
    problems = []
    months = pd.to_numeric(df["months"].str.strip(), errors="coerce")
    for i, row in enumerate(df.itertuples(index=False)):
        where = {"file": str(path), "row": i + 1, "line": i + 2}
        for c in ("stage", "project", "source"):
            if not getattr(row, c).strip():
                problems.append(Problem("required value is empty", column=c, **where))
        m = months.iloc[i]
        if not (m > 0 and m <= 240):
            problems.append(Problem(f"expected a duration in months in (0, 240], found {row.months!r}", column="months",
                                    **where))
        dates = {}
        for c in ("start", "end"):
            text = getattr(row, c).strip()
            if text and not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
                problems.append(Problem(f"expected a date YYYY-MM-DD or YYYY-MM, found {text!r}", column=c, **where))
            elif text:
                dates[c] = (pd.Timestamp(text), len(text) == 10)
        if len(dates) == 2:
            (t0, day0), (t1, day1) = dates["start"], dates["end"]
            if t1 <= t0:
                problems.append(Problem(f"end {row.end!r} is not after start {row.start!r}", column="end", **where))
            elif day0 and day1 and m > 0 and abs((t1 - t0).days / MONTH_DAYS - m) > 0.05:
                problems.append(Problem(f"months {m:g} disagree with the dates: {row.start} to {row.end} is "
                                        f"{(t1 - t0).days / MONTH_DAYS:.2f} months", column="months", **where))
    if problems:
        raise ValidationError(problems, what=str(path))
    df["months"] = months.astype(float)
    return df


def read_region_table(path=None) -> pd.DataFrame:
    """Read the region table (BA code -> market, country); parse only, one row per BA."""
    path = Path(path) if path is not None else region_table_path()
    df, problems = _read(path, REGION_COLUMNS)
    for c in ("ba", "market", "country"):
        df[c] = df[c].astype(str).str.strip()
    for i in np.flatnonzero(df["ba"].eq("").to_numpy()):
        problems.append(Problem("required value is empty", file=str(path), row=int(i) + 1, line=int(i) + 2,
                                column="ba"))
    for i in np.flatnonzero(df["ba"].duplicated().to_numpy()):
        problems.append(Problem(f"BA {df['ba'].iloc[i]!r} appears more than once", file=str(path), row=int(i) + 1,
                                line=int(i) + 2, column="ba"))
    if problems:
        raise ValidationError(problems, what=str(path))
    return df


def read_utility_table(path=None, regions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read the utility table (utility code -> name, group, BA); one row per utility.

    A utility's stage rows are those whose ``region`` is its code, else its ``group`` (a holding
    company whose figure covers its utilities), else its BA's.  With ``regions``, every ``ba`` must be
    a BA of the region table.
    """
    path = Path(path) if path is not None else utility_table_path()
    df = _read_required(path, UTILITY_COLUMNS, "utility table")
    problems = []
    for c in ("utility", "group", "ba"):
        df[c] = df[c].astype(str).str.strip()
    known = set(regions["ba"].astype(str)) if regions is not None else None
    for i, row in enumerate(df.itertuples(index=False)):
        where = {"file": str(path), "row": i + 1, "line": i + 2}
        for c in ("utility", "ba"):
            if not getattr(row, c):
                problems.append(Problem("required value is empty", column=c, **where))
        if known is not None and row.ba and row.ba not in known:
            problems.append(Problem(f"unknown ba {row.ba!r}: not in the region table", column="ba", **where))
    for i in np.flatnonzero(df["utility"].duplicated().to_numpy()):
        problems.append(Problem(f"utility {df['utility'].iloc[i]!r} appears more than once", file=str(path),
                                row=int(i) + 1, line=int(i) + 2, column="utility"))
    if problems:
        raise ValidationError(problems, what=str(path))
    return df


def read_validation_cases(path=None) -> pd.DataFrame:
    """Read the table of real large-load projects used to validate the model (parse only).

    Dates are parsed (``announced``, ``request``, ``construction_start``, ``first_power``,
    ``full_power``; empty = not public); ``mw`` and the observed months are floats.
    """
    path = Path(path) if path is not None else validation_cases_path()
    if not path.exists():
        raise FileNotFoundError(f"validation table not found: {path}")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    for c in ("announced", "request", "construction_start", "first_power", "full_power", "start_date"):
        if c not in df.columns:
            continue
        text = df[c].str.strip()
        parsed = pd.to_datetime(text.replace("", None), errors="coerce", format="ISO8601")
        for i in np.flatnonzero((parsed.isna() & text.ne("")).to_numpy()):
            problems.append(Problem(f"not a date: {text.iloc[i]!r}", file=str(path), row=int(i) + 1, line=int(i) + 2,
                                    column=c))
        df[c] = parsed
    for c in [c for c in df.columns if c.endswith("_mw") or c == "mw" or c.endswith("_months")]:
        v = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
        for i in np.flatnonzero((v.isna() & df[c].ne("")).to_numpy()):
            problems.append(Problem(f"expected a number, found {df[c].iloc[i]!r}", file=str(path), row=int(i) + 1,
                                    line=int(i) + 2, column=c))
        df[c] = v
    if problems:
        raise ValidationError(problems, what=str(path))
    return df


def _read_required(path: Path, columns: list[str], what: str) -> pd.DataFrame:
    """A CSV as text with stripped column names; every column of ``columns`` required (all missing ones
    reported at once)."""
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    problems = [Problem("required column missing", file=str(path), column=c) for c in columns if c not in df.columns]
    if problems:
        raise ValidationError(problems, what=str(path))
    return df


def _read(path: Path, columns: list[str]) -> tuple[pd.DataFrame, list[Problem]]:
    if not path.exists():
        raise FileNotFoundError(f"stage table not found: {path}")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    problems = [Problem("required column missing", file=str(path), column=c) for c in columns
                if c not in df.columns and c not in _OPTIONAL]
    for c in columns:
        if c not in df.columns:
            df[c] = ""
    return df, problems


def resolve_facts(table: pd.DataFrame, facts: pd.DataFrame | None = None, *, file: str = "<stage table>"
                  ) -> pd.DataFrame:
    """Fill the fields named in the ``facts`` column from the facts tables; append their sources.

    Raises
    ------
    ValidationError
        A reference that matches no facts row or several rows, or that is malformed.
    """
    from powerfirst.io.facts import read_facts

    table = table.copy()
    if "facts" not in table.columns or not table["facts"].astype(str).str.strip().any():
        return table
    facts = read_facts() if facts is None else facts
    problems = []
    for i, row in enumerate(table.itertuples(index=False)):
        spec = str(getattr(row, "facts", "") or "").strip()
        if not spec:
            continue
        sources = []
        for part in _split_refs(spec):
            m = _REF.match(part)
            if not m:
                problems.append(Problem(f"malformed facts reference {part.strip()!r}; expected e.g. "
                                        "'p50=lead_time_gas_turbine[period=2025;low=60].value'",
                                        file=file, row=i + 1, column="facts", site=row.stage))
                continue
            field, quantity, filters, which = m.groups()
            if field not in NUMERIC:
                problems.append(Problem(f"facts reference sets {field!r}; expected one of {', '.join(NUMERIC)}",
                                        file=file, row=i + 1, column="facts", site=row.stage))
                continue
            sel = facts[facts["quantity"] == quantity]
            for f in (filters or "").split(";"):
                if not f.strip():
                    continue
                k, _, v = f.partition("=")
                k, v = k.strip(), v.strip()
                if k in ("period", "year"):
                    sel = sel[sel[k].astype("Float64") == float(v)]
                elif k in ("value", "low", "high"):
                    sel = sel[np.isclose(sel[k].astype(float), float(v))]
                else:
                    sel = sel[sel[k].astype(str) == v]
            if len(sel) != 1:
                problems.append(Problem(f"facts reference {part.strip()!r} matches {len(sel)} rows of the facts "
                                        "tables; it must match exactly one (add filters such as [period=2024])",
                                        file=file, row=i + 1, column="facts", site=row.stage))
                continue
            f = sel.iloc[0]
            v = f[which]
            if pd.isna(v):
                problems.append(Problem(f"facts row {quantity} has no {which!r}", file=file, row=i + 1,
                                        column="facts", site=row.stage))
                continue
            try:
                v = float(v) * scale(str(f["unit"]), str(row.unit or "month"))
            except UnitError as exc:
                problems.append(Problem(str(exc), file=file, row=i + 1, column="facts", site=row.stage))
                continue
            table.iloc[i, table.columns.get_loc(field)] = repr(round(v, 6))
            src = f"{f['source_title']} ({f['publisher']}, {f['year']})"
            if src not in sources:
                sources.append(src)
        if sources:
            own = str(row.source or "").strip()
            table.iloc[i, table.columns.get_loc("source")] = "; ".join(([own] if own else []) + sources)
    if problems:
        raise ValidationError(problems, what=file)
    return table


def read_stage_table(path=None, *, facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and resolve a stage table (default: the embedded one); parse only.

    The semantic checks (distribution parameters, ordering, supply-chain flags) belong to the
    model that uses the table: :func:`powerfirst.models.time_to_power.check_stage_table`, which
    :func:`~powerfirst.models.time_to_power.prepare` applies to every table it is given.

    Returns
    -------
    pandas.DataFrame
        One row per stage and region; ``p50``, ``p90``, ``low``, ``mode``, ``high`` float
        [month], ``region`` '' for the default row, ``supply_chain`` bool, ``values`` (empirical
        samples) as a tuple of floats, ``file`` the source file name.

    Raises
    ------
    ValidationError
        Every parse problem found (missing columns, non-numbers, unresolved facts references),
        with file, row and column.
    """
    path = Path(path) if path is not None else stage_table_path()
    df, problems = _read(path, STAGE_COLUMNS + ["values"])
    if problems:
        raise ValidationError(problems, what=str(path))
    df = resolve_facts(df, facts, file=str(path))
    out = df.copy()
    for c in NUMERIC:
        out[c] = pd.to_numeric(out[c].str.strip().replace("", np.nan), errors="coerce")
    bad = [Problem(f"expected a number, found {df[c].iloc[i]!r}", file=str(path), row=i + 1, line=i + 2,
                   column=c, site=df["stage"].iloc[i])
           for c in NUMERIC for i in np.flatnonzero(out[c].isna().to_numpy() & df[c].str.strip().ne("").to_numpy())]
    if bad:
        raise ValidationError(bad, what=str(path))
    out["supply_chain"] = out["supply_chain"].str.strip().str.lower().isin(("yes", "true", "1"))
    out["values"] = [tuple(float(x) for x in str(v).split()) if str(v).strip() else () for v in df["values"]]
    out["region"] = out["region"].str.strip()
    out["file"] = path.name
    return out


def read_stage_rules(path=None) -> pd.DataFrame:
    """Read and check a rules table (default: the embedded one); ``scale`` is float."""
    path = Path(path) if path is not None else stage_rules_path()
    df, problems = _read(path, RULE_COLUMNS)
    for i, row in enumerate(df.itertuples(index=False)):
        where = {"file": str(path), "row": i + 1, "line": i + 2}
        if not str(row.stage).strip():
            problems.append(Problem("required value is empty", column="stage", **where))
        attr = str(row.attribute).strip()
        if attr != "*" and str(row.op).strip() not in OPS:
            problems.append(Problem(f"unknown operator {row.op!r}; expected one of {' '.join(OPS)}", column="op",
                                    **where))
        try:
            s = float(row.scale)
            if not np.isfinite(s) or s < 0:
                raise ValueError
        except ValueError:
            problems.append(Problem(f"expected a scale >= 0, found {row.scale!r}", column="scale", **where))
    if problems:
        raise ValidationError(problems, what=str(path))
    df = df.copy()
    df["scale"] = df["scale"].astype(float)
    for c in ("stage", "path", "attribute", "op", "value"):
        df[c] = df[c].str.strip()
    df["path"] = df["path"].replace("", "*")
    df["file"] = path.name
    return df
