"""The cleaned EIA-930 releases of Ruggles et al.: the files of both releases read into one set of
long records (:func:`read_release_records`); :func:`powerfirst.cubes.grid.read_cleaned_releases`
assembles them into the grid cube.

Two releases of *EIA_Cleaned_Hourly_Electricity_Demand_Data* are read:

* ``release_2020_Oct`` (2015-07 .. 2020-06): 54 balancing authorities with
  their cleaned demand (a wide table), and per-BA files for some of them with
  the raw value, the screening category and the BA's own day-ahead forecast;
* ``release_2025_Jan`` (2020 .. 2024): per-BA cleaned files of the
  non-RTO BAs, a wide table of all 119 BAs and ISO sub-regions, and the raw
  ISO totals (``original_eia_files``).  This release cleans the sub-regions
  of the seven ISOs (CISO, ERCO, ISNE, MISO, NYIS, PJM, SWPP) rather than their
  totals, so an ISO's cleaned total is the sum of its cleaned sub-regions
  (column ``<ISO>_SUM_OF_SUBREGIONS``); the raw ISO total is screened by
  powerfirst and kept as ``demand_raw``.

Hours before ``cut`` (default 2020-01-01 00:00 UTC) come from the 2020
release, hours from ``cut`` on from the 2025 release.  The folder layout is
the one the releases are distributed in (names may be shortened as
``ruggles_release_2020_Oct`` / ``ruggles_release_2025_Jan``)::

    <root>/<...2020_Oct>/balancing_authorities/<BA>.csv
    <root>/<...2020_Oct>/*wide_cleaned_demand*54BAs*.csv[.gz]
    <root>/<...2025_Jan>/balancing_authorities_cleaned/<BA>.csv   (or subregions_and_balancing_authorities/)
    <root>/<...2025_Jan>/original_eia_files/<ISO>.csv
    <root>/<...2025_Jan>/*wide_cleaned_demand*119regions*.csv[.gz]

Time stamps in the releases are the EIA end-of-hour stamps in UTC; the cube
labels each hour by its start.

References
----------
Ruggles, T. H., Farnham, D. J., Tong, D. & Caldeira, K. (2020). Developing
reliable hourly electricity demand data through screening and imputation.
Scientific Data 7, 155. https://doi.org/10.1038/s41597-020-0483-x
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from powerfirst.errors import DataFormatError, Problem, ValidationError
from powerfirst.io.eia930 import concat_records, make_records, parse_numbers

__all__ = ["read_release_records", "find_releases", "is_release_folder", "ISOS_CLEANED_BY_SUBREGION", "NORRIS_BAS"]

ISOS_CLEANED_BY_SUBREGION = ("CISO", "ERCO", "ISNE", "MISO", "NYIS", "PJM", "SWPP")
#: the 22 balancing authorities of Norris et al. (2025), *Rethinking Load Growth*
NORRIS_BAS = ("PJM", "MISO", "ERCO", "SWPP", "CISO", "NYIS", "ISNE", "SOCO", "TVA", "FPL", "DUK", "CPLE",
              "FPC", "SCEG", "SC", "BPAT", "AZPS", "PACE", "PACW", "PGE", "PSCO", "SRP")


def _find(root: Path, pattern: str) -> Path | None:
    hits = sorted(p for p in root.glob(pattern) if p.is_dir())
    return hits[0] if hits else None


def find_releases(root) -> tuple[Path, Path]:
    """The 2020_Oct and 2025_Jan release folders under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"EIA-930 release folder not found: {root}")
    old = _find(root, "*2020_Oct*")
    new = _find(root, "*2025_Jan*")
    missing = [n for n, p in (("2020_Oct", old), ("2025_Jan", new)) if p is None]
    if missing:
        raise DataFormatError(f"{root}: no folder of the Ruggles et al. release(s) {', '.join(missing)} "
                              "(expected names containing '2020_Oct' and '2025_Jan')")
    return old, new


def is_release_folder(path) -> bool:
    """True when ``path`` is a folder holding both cleaned releases (see :func:`find_releases`)."""
    path = Path(path)
    return path.is_dir() and _find(path, "*2020_Oct*") is not None and _find(path, "*2025_Jan*") is not None


def _wide(folder: Path, tag: str) -> pd.DataFrame | None:
    hits = sorted(folder.glob(f"*wide_cleaned_demand*{tag}*.csv*"))
    if not hits:
        return None
    df = pd.read_csv(hits[0], index_col=0)
    df.index = pd.to_datetime(df.index, format="%Y-%m-%d %H:%M:%S") - pd.Timedelta(hours=1)
    df.attrs["file"] = str(hits[0])
    return df


def _per_ba_file(folder: Path, ba: str) -> Path | None:
    for sub in ("balancing_authorities", "balancing_authorities_cleaned", "subregions_and_balancing_authorities"):
        p = folder / sub / f"{ba}.csv"
        if p.exists():
            return p
    return None


def _read_release_file(path: Path, ba: str, keep) -> list[pd.DataFrame]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    t = pd.to_datetime(df.iloc[:, 0], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    if t.isna().any():
        i = int(np.flatnonzero(t.isna())[0])
        raise ValidationError([Problem(f"could not read time {df.iloc[i, 0]!r}", file=str(path), row=i + 1,
                                       column=df.columns[0])], what=str(path))
    start = pd.DatetimeIndex(t) - pd.Timedelta(hours=1)
    sel = keep(start)
    df, start = df[sel], start[sel]
    rows = np.flatnonzero(sel) + 1
    out = []
    colmap = {"raw demand (MW)": "demand", "demand (MW)": "demand", "cleaned demand (MW)": "demand_cleaned",
              "forecast demand (MW)": "demand_forecast"}
    for col, var in colmap.items():
        if col in df.columns:
            val, empty, bad = parse_numbers(df[col])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValidationError([Problem(f"could not read {df[col].iloc[i]!r}", file=str(path),
                                               row=int(rows[i]), column=col)], what=str(path))
            out.append(make_records(ba, var, "", start, val, empty, str(path), rows))
    if "category" in df.columns:
        flagged = (df["category"].str.strip() != "OKAY").to_numpy(dtype=float)
        out.append(make_records(ba, "source_flag", "", start, flagged, np.zeros(len(df), bool), str(path), rows))
    return out


def _wide_records(wide: pd.DataFrame, col: str, ba: str, keep, variable="demand_cleaned") -> pd.DataFrame:
    s = wide[col]
    s = s[keep(s.index)]
    rows = np.flatnonzero(keep(wide.index)) + 1
    return make_records(ba, variable, "", s.index, s.to_numpy(dtype=float), ~np.isfinite(s.to_numpy(dtype=float)),
                    wide.attrs["file"], rows)


def read_release_records(root, bas: Sequence[str] | None = None, *, start=None, end=None,
                         cut="2020-01-01") -> tuple[pd.DataFrame, dict[str, list[str]], list[str]]:
    """Read the files of both cleaned releases for ``bas`` into long records.

    Parameters
    ----------
    root : path
        Folder holding both release folders.
    bas : list of str, optional
        Balancing authorities (default: the 22 of Norris et al. 2025).
    start, end : str or datetime, optional
        Hours kept (UTC, hour-beginning; ``end`` excluded).
    cut : str or datetime
        First hour taken from the 2025 release.

    Returns
    -------
    records : pandas.DataFrame
        Long records (see :func:`powerfirst.io.eia930.make_records`): ``demand`` (raw) [MW],
        ``demand_cleaned`` or ``demand_cleaned_subregion_sum`` [MW], ``demand_forecast`` [MW]
        and ``source_flag`` where the files carry them.
    used : dict
        Per BA, the release files its records came from.
    sources : list of str
        The two release folder names.
    """
    old, new = find_releases(root)
    bas = list(bas) if bas is not None else list(NORRIS_BAS)
    cut = pd.Timestamp(cut)
    t0 = pd.Timestamp(start) if start is not None else None
    t1 = pd.Timestamp(end) if end is not None else None

    def in_range(t, lo, hi):
        m = np.ones(len(t), bool)
        for bound, op in ((lo, np.greater_equal), (hi, np.less)):
            if bound is not None:
                m &= op(t, bound)
        return m

    lo_a, hi_a = t0, min(cut, t1) if t1 is not None else cut
    lo_b, hi_b = max(cut, t0) if t0 is not None else cut, t1
    need_a = lo_a is None or lo_a < hi_a
    need_b = hi_b is None or lo_b < hi_b
    wide_a = _wide(old, "54BAs") if need_a else None
    wide_b = _wide(new, "119regions") if need_b else None

    recs: list[pd.DataFrame] = []
    problems: list[Problem] = []
    used: dict[str, list[str]] = {}
    for ba in bas:
        used[ba] = []
        if need_a:
            keep = lambda t: in_range(t, lo_a, hi_a)  # noqa: E731
            p = _per_ba_file(old, ba)
            if p is not None:
                recs += _read_release_file(p, ba, keep)
                used[ba].append(f"2020_Oct:{p.name}")
            elif wide_a is not None and ba in wide_a.columns:
                recs.append(_wide_records(wide_a, ba, ba, keep))
                used[ba].append("2020_Oct:wide")
            else:
                problems.append(Problem(f"not in the 2020_Oct release ({old})", site=ba))
        if need_b:
            keep = lambda t: in_range(t, lo_b, hi_b)  # noqa: E731
            sum_col = f"{ba}_SUM_OF_SUBREGIONS"
            if ba in ISOS_CLEANED_BY_SUBREGION and wide_b is not None and sum_col in wide_b.columns:
                recs.append(_wide_records(wide_b, sum_col, ba, keep, "demand_cleaned_subregion_sum"))
                used[ba].append("2025_Jan:sum_of_subregions")
                raw = new / "original_eia_files" / f"{ba}.csv"
                if raw.exists():
                    recs += _read_release_file(raw, ba, keep)
                    used[ba].append(f"2025_Jan:original_eia_files/{raw.name}")
            else:
                p = _per_ba_file(new, ba)
                if p is not None:
                    recs += _read_release_file(p, ba, keep)
                    used[ba].append(f"2025_Jan:{p.name}")
                elif wide_b is not None and ba in wide_b.columns:
                    recs.append(_wide_records(wide_b, ba, ba, keep))
                    used[ba].append("2025_Jan:wide")
                else:
                    problems.append(Problem(f"not in the 2025_Jan release ({new})", site=ba))
    if problems:
        raise ValidationError(problems, what=f"EIA-930 releases under {root}")
    return concat_records(recs), used, [old.name, new.name]
