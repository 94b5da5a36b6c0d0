"""How the apps show numbers in tables: thousands separators, a precision that follows the column's
magnitude, never scientific notation, never a float's full binary expansion.

Panel's Tabulator shows a float column with ``0,0.0[00000]`` (up to six decimals: ``17,497.320217``)
unless told otherwise.  :func:`number_formatters` gives each float column a Bokeh
``NumberFormatter`` with :func:`~powerfirst.viz._format.decimals` decimals (about three
significant figures of the column's typical value: ``17,497``, ``45.6``, ``1.23``, ``0.172``) and
each integer column ``0,0``;
:func:`formatted` keeps a table's formatters right whenever its value changes.
"""

from __future__ import annotations

import pandas as pd

from powerfirst.viz._format import MAX_DECIMALS, SIGNIFICANT, decimals

__all__ = ["MAX_DECIMALS", "SIGNIFICANT", "decimals", "number_format", "number_formatters", "formatted"]


def number_format(n: int) -> str:
    """The numbro format of ``n`` decimals with thousands separators (``0,0`` or ``0,0.00``)."""
    return "0,0" if n <= 0 else "0,0." + "0" * int(n)


def number_formatters(df: pd.DataFrame) -> dict:
    """A Bokeh ``NumberFormatter`` for every numeric column of ``df`` (booleans and text untouched)."""
    from bokeh.models.widgets.tables import NumberFormatter

    out = {}
    if not isinstance(df, pd.DataFrame):
        return out
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        n = 0 if pd.api.types.is_integer_dtype(s) else decimals(s)
        out[str(col)] = NumberFormatter(format=number_format(n), nan_format="–", text_align="right")
    return out


def formatted(table):
    """Give a Panel Tabulator the :func:`number_formatters` of its value, now and whenever the value
    changes (formatters set by the caller for a column are kept); returns the table."""
    own = dict(table.formatters or {})

    def update(*_):
        auto = number_formatters(table.value)
        old = table.formatters or {}
        # the same columns with the same formats: keep the formatters (no redraw of the columns)
        same = set(auto) | set(own) == set(old) and all(
            getattr(old.get(k), "format", None) == getattr(f, "format", None) for k, f in auto.items() if k not in own)
        if not same:
            table.formatters = {**auto, **own}

    update()
    table.param.watch(update, "value")
    return table
