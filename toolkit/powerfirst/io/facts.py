"""Facts tables: published figures with their sources (``data/facts/*.csv``).

Every row is one figure: ``quantity, region, scenario, period, value, low,
high, unit, source_title, publisher, year, url, note``.  :func:`read_facts`
checks every row (numbers where numbers belong, a known unit, a source title,
publisher and year) and reports all problems with file, row and column.
:func:`fact` looks one figure up and says what is available when it is not
there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.errors import Problem, ValidationError
from powerfirst.paths import facts_dir
from powerfirst.units import UNITS, UnitError, canonical

__all__ = ["read_facts", "fact", "FACT_COLUMNS", "REQUIRED_COLUMNS"]

FACT_COLUMNS = ["quantity", "region", "scenario", "period", "value", "low", "high", "unit",
                "source_title", "publisher", "year", "url", "note"]
REQUIRED_COLUMNS = ["quantity", "value", "unit", "source_title", "publisher", "year"]


def read_facts(paths=None) -> pd.DataFrame:
    """Read and check facts tables.

    Parameters
    ----------
    paths : path or list of paths, optional
        CSV files or folders (default: the embedded ``data/facts``).

    Returns
    -------
    pandas.DataFrame
        All rows, with a ``file`` column; ``value``, ``low``, ``high`` float,
        ``period`` and ``year`` nullable integers, ``unit`` canonical.

    Raises
    ------
    ValidationError
        Every problem found, with file, row (line) and column.
    """
    if paths is None:
        paths = [facts_dir()]
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(p.glob("*.csv"))
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"facts table not found: {p}")
    if not files:
        raise FileNotFoundError(f"no facts tables (*.csv) in {', '.join(map(str, paths))}")
    frames, problems = [], []
    for f in files:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df.columns = [c.strip() for c in df.columns]
        for col in REQUIRED_COLUMNS:
            if col not in df.columns:
                problems.append(Problem("required column missing", file=str(f), column=col))
        if any(p.file == str(f) and p.row is None for p in problems):
            continue
        for col in FACT_COLUMNS:
            if col not in df.columns:
                df[col] = ""
        for i, row in enumerate(df.itertuples(index=False), start=1):
            where = {"file": str(f), "row": i, "line": i + 1}
            for col in REQUIRED_COLUMNS:
                if not str(getattr(row, col)).strip():
                    problems.append(Problem("required value is empty", column=col, **where))
            for col in ("value", "low", "high"):
                v = str(getattr(row, col)).strip()
                if v:
                    try:
                        float(v)
                    except ValueError:
                        problems.append(Problem(f"expected a number, found {v!r}", column=col, **where))
            for col in ("period", "year"):
                v = str(getattr(row, col)).strip()
                if v and not v.isdigit():
                    problems.append(Problem(f"expected a year (integer), found {v!r}", column=col, **where))
            u = str(row.unit).strip()
            if u:
                try:
                    canonical(u)
                except UnitError:
                    problems.append(Problem(f"unknown unit {u!r}; expected one of {', '.join(sorted(UNITS))}",
                                            column="unit", **where))
        df["file"] = f.name
        frames.append(df)
    if problems:
        raise ValidationError(problems, what="facts tables")
    out = pd.concat(frames, ignore_index=True)
    for col in ("value", "low", "high"):
        out[col] = pd.to_numeric(out[col].replace("", np.nan), errors="raise")
    for col in ("period", "year"):
        out[col] = pd.to_numeric(out[col].replace("", np.nan)).astype("Int64")
    out["unit"] = out["unit"].map(canonical)
    return out[FACT_COLUMNS + ["file"]]


def fact(quantity: str, *, region: str | None = None, scenario: str | None = None, period: int | None = None,
         facts: pd.DataFrame | None = None, which: str = "value") -> tuple[float, str]:
    """Look up one figure; return ``(value, unit)``.

    Raises
    ------
    KeyError
        When no row or more than one row matches; the message lists what is available.
    """
    df = read_facts() if facts is None else facts
    sel = df[df["quantity"] == quantity]
    if sel.empty:
        raise KeyError(f"no fact {quantity!r}; available: {sorted(df['quantity'].unique())}")
    for col, v in (("region", region), ("scenario", scenario)):
        if v is not None:
            sel = sel[sel[col] == v]
    if period is not None:
        sel = sel[sel["period"] == period]
    if len(sel) != 1:
        opts = df[df["quantity"] == quantity][["region", "scenario", "period", "value", "unit"]]
        raise KeyError(f"{len(sel)} rows of {quantity!r} match region={region!r} scenario={scenario!r} "
                       f"period={period!r}; available:\n{opts.to_string(index=False)}")
    row = sel.iloc[0]
    return float(row[which]), str(row["unit"])
