"""How views write numbers: a precision that follows the magnitude, thousands separators, never
scientific notation or a float's full binary expansion (``17,497`` rather than ``17497.320217``,
``1,200`` rather than ``1.2e+03``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["SIGNIFICANT", "MAX_DECIMALS", "decimals", "format_number", "hover_tooltips"]

#: significant figures of a column's typical (median absolute, non-zero) value
SIGNIFICANT = 3
#: most decimals a number shows (a share of 0.0003 still shows)
MAX_DECIMALS = 4


def decimals(values) -> int:
    """Decimals that show ``values`` to :data:`SIGNIFICANT` significant figures of their median
    absolute non-zero value (0 for whole numbers, at most :data:`MAX_DECIMALS`).

    >>> decimals([17497.320217]), decimals([45.61]), decimals([1.234]), decimals([0.1723]), decimals([3.0, 4.0])
    (0, 1, 2, 3, 0)
    """
    arr = np.ravel(np.asarray(values))
    if arr.dtype.kind in "fiub":
        v = arr.astype(float, copy=False)
    else:  # text, objects, nullable numbers: what parses as a number
        v = np.asarray(pd.to_numeric(pd.Series(arr.astype(object)), errors="coerce"), dtype=float)
    v = np.abs(v[np.isfinite(v)])
    if not v.size or np.all(v == np.round(v)):
        return 0
    nz = v[v > 0]
    typical = float(np.median(nz)) if nz.size else 0.0
    if typical <= 0:
        return 0
    return int(min(max(SIGNIFICANT - 1 - math.floor(math.log10(typical)), 0), MAX_DECIMALS))


def format_number(value, n: int | None = None) -> str:
    """``value`` with ``n`` decimals (default :func:`decimals` of the value) and thousands separators;
    ``–`` for a missing value.

    >>> format_number(17497.320217), format_number(1200.0), format_number(0.000312), format_number(float("nan"))
    ('17,497', '1,200', '0.0003', '–')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "–"
    n = decimals([v]) if n is None else int(n)
    return f"{v:,.{max(n, 0)}f}"


def hover_tooltips(df: pd.DataFrame, columns, labels: dict | None = None) -> list[tuple[str, str]]:
    """Bokeh hover tooltips of ``columns`` of ``df``: text as it is, numbers with a numeral format of
    :func:`decimals` decimals and thousands separators (``@{energy}{0,0}``), so a hover never shows
    Bokeh's default ``1.234e+3``.

    Parameters
    ----------
    df : pandas.DataFrame
        The data the hovered glyphs come from.
    columns : sequence of str
        Columns shown, in order (missing ones are skipped).
    labels : dict, optional
        Column -> label shown (default: the column name).
    """
    labels = labels or {}
    out = []
    for c in columns:
        if c not in df.columns:
            continue
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            n = 0 if pd.api.types.is_integer_dtype(s) else decimals(s.to_numpy())
            out.append((labels.get(c, c), f"@{{{c}}}{{{'0,0' if n <= 0 else '0,0.' + '0' * n}}}"))
        else:
            out.append((labels.get(c, c), f"@{{{c}}}"))
    return out
