"""Tables for spreadsheets: CSV and Excel exports that a spreadsheet cannot execute.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (CSV/formula injection, e.g.
``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0``).  :func:`spreadsheet_safe` prefixes such text with
a single quote, the spreadsheets' own "this is text" mark; numbers are left as numbers, so a
negative value stays a number.  Every CSV or Excel table powerfirst writes goes through it.

References
----------
OWASP, *CSV Injection*. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import numbers

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "spreadsheet_safe", "safe_frame", "to_csv"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells, column names and index labels are spreadsheet-safe."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: v if isinstance(v, numbers.Number) else spreadsheet_safe(v))
    out.columns = [spreadsheet_safe(str(c)) if isinstance(c, str) else c for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(spreadsheet_safe)
    return out


def to_csv(df: pd.DataFrame, path_or_buf, **kwargs):
    """:meth:`pandas.DataFrame.to_csv` of :func:`safe_frame` (``index=False`` by default)."""
    kwargs.setdefault("index", False)
    return safe_frame(df).to_csv(path_or_buf, **kwargs)
