"""Interconnection-queue exports (PJM serial and cycle queues, and tables shaped like them).

:func:`read_queue` reads a CSV (or Excel) export and returns one row per project with standard
columns::

    project_id, status (in_service | withdrawn | active), fuel, fuel_group, cohort,
    submitted, in_service, withdrawn, mw, state, file, row

It recognises the column names of PJM's *Serial Service Request Status* and *Cycle Service
Request Status* downloads (``Submitted Date``, ``Actual In Service Date`` /
``Actual In-Service Date``, ``Withdrawal Date`` / ``Withdrawn Date``, ``Cycle``, ...) and the
Berkeley Lab *Queued Up* data file (``q_date``, ``on_date``, ``wd_date``, ``q_status``), and
checks every row: dates that do not parse, an in-service or withdrawn project without its date,
an event dated before the request, unknown statuses.  Problems carry file, row, line and column;
``errors='raise'`` (default) raises them all, ``errors='drop'`` drops the bad rows with a warning
and keeps the problems in ``attrs['problems']``.

``attrs['as_of']`` is the date of the data (the censoring date of active projects): given, or
the latest date found in the file.  ``attrs['completed_only']`` is True when the table holds
only in-service projects (an extract filtered to completed projects; the fit then treats the
durations as right-truncated).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst._provenance import file_hash
from powerfirst.errors import DataFormatError, Problem, ValidationError

__all__ = ["read_queue", "fuel_group", "QUEUE_COLUMNS", "STATUS_MAP"]

QUEUE_COLUMNS = ["project_id", "status", "fuel", "fuel_group", "cohort", "submitted", "in_service", "withdrawn",
                 "mw", "state", "file", "row"]

ALIASES = {
    "project_id": ("Project ID", "Queue ID", "q_id", "queue_id", "project_id"),
    "status": ("Status", "q_status", "Queue Status", "status"),
    "fuel": ("Fuel", "type_clean", "Generation Type", "fuel"),
    "submitted": ("Submitted Date", "Queue Date", "q_date", "submitted"),
    "in_service": ("Actual In Service Date", "Actual In-Service Date", "on_date", "in_service"),
    "withdrawn": ("Withdrawal Date", "Withdrawn Date", "wd_date", "withdrawn"),
    "cycle": ("Cycle", "cycle"),
    "mw": ("MW Capacity", "mw1", "MW Energy", "mw"),
    "state": ("State", "state"),
    "updated": ("Last Updated",),
}
REQUIRED = ("project_id", "status", "submitted")

#: source status (lower case) -> standard status
STATUS_MAP = {
    "in service": "in_service", "in-service": "in_service", "operational": "in_service", "in_service": "in_service",
    "withdrawn": "withdrawn", "deactivated": "withdrawn", "suspended - withdrawn": "withdrawn",
    "active": "active", "ep": "active", "engineering and procurement": "active", "under construction": "active",
    "suspended": "active", "partially in service - under construction": "active",
}


def fuel_group(fuel) -> str:
    """Group a source fuel label: gas, solar, wind, storage, hybrid (several fuels) or other."""
    f = str(fuel or "").strip().lower()
    if not f or f == "nan":
        return "other"
    parts = {p.strip() for p in f.replace("+", ";").split(";") if p.strip()}
    if len(parts) > 1:
        return "gas" if parts <= {"natural gas", "oil"} else "hybrid"
    f = parts.pop()
    if f in ("natural gas", "gas"):
        return "gas"
    if f in ("solar",):
        return "solar"
    if f in ("wind", "offshore wind"):
        return "wind"
    if f in ("storage", "battery"):
        return "storage"
    return "other"


def _parse_dates(s: pd.Series) -> pd.Series:
    s = s.astype("string").str.strip()
    out = pd.to_datetime(s, format="%m/%d/%Y", errors="coerce")
    rest = out.isna() & s.notna() & (s != "")
    if rest.any():
        out[rest] = pd.to_datetime(s[rest], format="ISO8601", errors="coerce")
    return out


def read_queue(path, *, as_of=None, errors: str = "raise", sheet: str | int = "Data") -> pd.DataFrame:
    """Read and check a queue export; one row per project with the standard columns.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` (or ``.xlsx``, sheet ``sheet``).
    as_of : date-like, optional
        Date of the data (censoring date of active projects); default the latest date in the file.
    errors : {'raise', 'drop'}
        Raise every problem at once, or drop the bad rows (warning; problems in ``attrs``).

    Raises
    ------
    FileNotFoundError, DataFormatError, ValidationError
    """
    if errors not in ("raise", "drop"):
        raise ValueError(f"errors must be 'raise' or 'drop', found {errors!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"queue file not found: {path}")
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            raw = pd.read_excel(path, sheet_name=sheet, dtype=str)
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:  # noqa: BLE001
        raise DataFormatError(f"{path}: not a readable queue table ({exc})") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    cols = {}
    for std, names in ALIASES.items():
        for nm in names:
            if nm in raw.columns:
                cols[std] = nm
                break
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise ValidationError([Problem(f"required column missing; expected one of {list(ALIASES[c])}", file=str(path),
                                       column=c) for c in missing], what=str(path))
    n = len(raw)
    rows = np.arange(1, n + 1)
    problems: list[Problem] = []

    def where(i, std):
        return {"file": str(path), "row": int(rows[i]), "line": int(rows[i]) + 1, "column": cols.get(std, std)}

    df = pd.DataFrame({"project_id": raw[cols["project_id"]].astype("string").str.strip()})
    status_raw = raw[cols["status"]].astype("string").str.strip()
    df["status"] = status_raw.str.lower().map(STATUS_MAP)
    for i in np.flatnonzero(df["status"].isna().to_numpy()):
        problems.append(Problem(f"unknown status {status_raw.iloc[i]!r}; expected one of "
                                f"{sorted(set(STATUS_MAP))}", **where(i, "status")))
    df["fuel"] = raw[cols["fuel"]].astype("string").str.strip() if "fuel" in cols else pd.Series(pd.NA, index=raw.index,
                                                                                                   dtype="string")
    df["fuel_group"] = [fuel_group(f) for f in df["fuel"].fillna("")]
    df["cohort"] = raw[cols["cycle"]].astype("string").str.strip().fillna("") if "cycle" in cols else ""
    for std in ("submitted", "in_service", "withdrawn", "updated"):
        if std not in cols:
            df[std] = pd.NaT
            continue
        text = raw[cols[std]].astype("string").str.strip()
        parsed = _parse_dates(text)
        bad = parsed.isna() & text.notna() & (text != "")
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(Problem(f"not a date: {text.iloc[i]!r} (expected M/D/YYYY or YYYY-MM-DD)", **where(i, std)))
        df[std] = parsed
    for i in np.flatnonzero(df["submitted"].isna().to_numpy()):
        if not any(p.row == rows[i] and p.column == cols["submitted"] for p in problems):
            problems.append(Problem("request date is empty", **where(i, "submitted")))
    st = df["status"].to_numpy(object)
    for std, status in (("in_service", "in_service"), ("withdrawn", "withdrawn")):
        need = (st == status) & df[std].isna().to_numpy()
        for i in np.flatnonzero(need):
            if std in cols:
                problems.append(Problem(f"status is {status_raw.iloc[i]!r} but the date is empty", **where(i, std)))
            else:
                problems.append(Problem(f"status is {status_raw.iloc[i]!r} but the file has no {std} date column",
                                        **where(i, std)))
        early = (st == status) & (df[std] < df["submitted"]).to_numpy()
        for i in np.flatnonzero(early):
            problems.append(Problem(f"{std.replace('_', ' ')} date {df[std].iloc[i].date()} is before the request "
                                    f"date {df['submitted'].iloc[i].date()}", **where(i, std)))
    df["mw"] = pd.to_numeric(raw[cols["mw"]], errors="coerce") if "mw" in cols else np.nan
    no_mw = False
    if "mw" in cols:  # every MW cell that is not a number is reported; a file with no readable MW is refused
        mw_text = raw[cols["mw"]].astype("string").str.strip()
        unread = (mw_text.notna() & (mw_text != "")).to_numpy() & ~np.isfinite(df["mw"].to_numpy(dtype=float))
        df.loc[unread, "mw"] = np.nan
        for i in np.flatnonzero(unread):
            problems.append(Problem(f"not a number: {mw_text.iloc[i]!r} (expected MW, e.g. 250.5)", **where(i, "mw")))
        no_mw = not np.isfinite(df["mw"].to_numpy(dtype=float)).any()
        if no_mw:
            problems.append(Problem(f"no MW value can be read in any of the {n} rows; expected a number [MW] "
                                    "per project" if n else "no rows below the header; expected one row per "
                                    "project", file=str(path), column=cols["mw"]))
    df["state"] = raw[cols["state"]].astype("string") if "state" in cols else pd.NA
    df["file"] = path.name
    df["row"] = rows
    dates = pd.concat([df[c] for c in ("submitted", "in_service", "withdrawn", "updated")])
    as_of = pd.Timestamp(as_of) if as_of is not None else dates.max()
    late = (df["submitted"] > as_of).to_numpy()
    for i in np.flatnonzero(late):
        problems.append(Problem(f"request date {df['submitted'].iloc[i].date()} is after the data date {as_of.date()}",
                                **where(i, "submitted")))
    if problems:
        if errors == "raise" or no_mw:
            raise ValidationError(problems, what=str(path))
        bad_rows = {p.row for p in problems}
        warnings.warn(f"{path.name}: dropped {len(bad_rows)} of {n} rows with problems (first: {problems[0]}); "
                      "see attrs['problems']", stacklevel=2)
        df = df[~df["row"].isin(bad_rows)].reset_index(drop=True)
    out = df[QUEUE_COLUMNS].copy()
    out.attrs.update({"as_of": as_of, "source": str(path), "source_sha256": file_hash(path), "problems": problems,
                      "completed_only": bool(len(out)) and bool((out["status"] == "in_service").all())})
    return out
