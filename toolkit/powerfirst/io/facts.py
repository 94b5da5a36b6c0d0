"""Facts tables: published figures with their sources (``data/facts/*.csv``).

Every row is one figure: ``quantity, region, scenario, period, value, low,
high, unit, source_title, publisher, year, url, note``.  :func:`read_facts`
checks every row (numbers where numbers belong, a known unit, a source title,
publisher and year) and reports all problems with file, row and column.
:func:`fact` looks one figure up and says what is available when it is not
there.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.paths import facts_dir
from powerfirst.units import UNITS, UnitError, canonical

__all__ = ["read_facts", "fact", "FACT_COLUMNS", "REQUIRED_COLUMNS"]

FACT_COLUMNS = ["quantity", "region", "scenario", "period", "value", "low", "high", "unit",
                "source_title", "publisher", "year", "url", "note"]
REQUIRED_COLUMNS = ["quantity", "value", "unit", "source_title", "publisher", "year"]


_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_YEAR = re.compile(r"[0-9]{1,4}")


def _number(v: str) -> float | None:
    """A finite number written plainly (ASCII digits, a decimal point), else None."""
    if not _NUMBER.fullmatch(v):
        return None
    x = float(v)
    return x if np.isfinite(x) else None


def _read_table(f: Path, problems: list) -> pd.DataFrame | None:
    """One facts CSV as strings, with the line of each row in ``attrs['lines']``; None when unreadable.

    UTF-8 (with or without a byte-order mark), else Windows-1252 with a warning; a row whose
    number of fields differs from the header's, an empty file or a header without rows is a problem.
    """
    from powerfirst.io.sites import _decode

    file = str(f)
    try:
        text, _enc = _decode(f, f.read_bytes(), "CSV")
    except DataFormatError as exc:
        problems.append(Problem(str(exc).removeprefix(f"{f}: ").removeprefix(f"{f}, "), file=file))
        return None
    if not text.strip():
        problems.append(Problem(f"the file is empty; expected a header row ({', '.join(REQUIRED_COLUMNS)}, ...) "
                                "and one row per figure", file=file))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header, rows, lines, short = None, [], [], []
    start = 1
    try:
        for rec in reader:
            if rec and any(c.strip() for c in rec):
                if header is None:
                    header = [c.strip() for c in rec]
                elif len(rec) != len(header):
                    short.append((len(rows) + 1, start, len(rec)))
                    rows.append(None)
                    lines.append(start)
                else:
                    rows.append(rec)
                    lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(f"not readable as CSV ({exc})", file=file, line=start))
        return None
    for k, line, n in short:
        cut = ("; the file ends there without a line terminator: it looks cut short (download it again)"
               if k == len(rows) and not text.endswith(("\n", "\r")) else "")
        problems.append(Problem(f"expected {len(header)} fields as in the header, found {n}{cut}", file=file,
                                row=k, line=line))
    if header is None:
        return None
    if not rows:
        problems.append(Problem("only a header row and no rows of figures", file=file, line=1))
        return None
    if any(r is None for r in rows):
        return None
    if not text.endswith(("\n", "\r")):
        import warnings

        warnings.warn(f"{f}: the last line (line {lines[-1]}) has no line terminator; if the file was cut short, "
                      "its last row may be incomplete", UserWarning, stacklevel=3)
    df = pd.DataFrame(rows, columns=header, dtype=object)
    df = df.loc[:, [bool(c) for c in df.columns]]
    df = df.loc[:, ~df.columns.duplicated()]
    df.attrs["lines"] = lines
    return df


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
        df = _read_table(f, problems)
        if df is None:
            continue
        for col in REQUIRED_COLUMNS:
            if col not in df.columns:
                problems.append(Problem("required column missing", file=str(f), line=1, column=col))
        if any(p.file == str(f) and p.row is None for p in problems):
            continue
        for col in FACT_COLUMNS:
            if col not in df.columns:
                df[col] = ""
        lines = df.attrs.pop("lines", range(2, len(df) + 2))
        for i, (row, line) in enumerate(zip(df.to_dict("records"), lines, strict=True), start=1):
            where = {"file": str(f), "row": i, "line": int(line)}
            for col in REQUIRED_COLUMNS:
                if not str(row[col]).strip():
                    problems.append(Problem("required value is empty", column=col, **where))
            for col in ("value", "low", "high"):
                v = str(row[col]).strip()
                if v and _number(v) is None:
                    problems.append(Problem(f"expected a number, found {v!r}", column=col, **where))
            for col in ("period", "year"):
                v = str(row[col]).strip()
                if v and not _YEAR.fullmatch(v):
                    problems.append(Problem(f"expected a year (integer), found {v!r}", column=col, **where))
            u = str(row["unit"]).strip()
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
        out[col] = np.array([_number(str(v).strip()) if str(v).strip() else np.nan for v in out[col]], dtype=float)
    for col in ("period", "year"):
        out[col] = pd.array([int(str(v).strip()) if str(v).strip() else pd.NA for v in out[col]], dtype="Int64")
    out["unit"] = out["unit"].map(lambda u: canonical(u.strip()) if u.strip() else "")
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
