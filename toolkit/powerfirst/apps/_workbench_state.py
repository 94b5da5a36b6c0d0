"""What the siting workbench computes, without any panel: uploads, runs, comparisons and exports.

* :func:`read_upload` — an uploaded site list (bytes) checked for size, type and content and read
  as data only by :func:`powerfirst.io.sites.read_sites`; every problem comes back as a table
  (row, column, message) and nothing runs while there is one;
* :func:`screen_sites` — the siting screen of a scenario on a site list
  (:func:`powerfirst.scenarios.run.run_siting`), :class:`RunCache` its results per scenario hash
  and input hash;
* :func:`run_kpis`, :func:`moved_ranks` — two to four named runs side by side;
* :func:`csv_bytes`, :func:`excel_bytes`, :func:`parquet_bytes` — the ranking as files
  (text cells spreadsheet-safe, :mod:`powerfirst.io.export`);
* :func:`user_message` — what a user sees of an error: the message of a bad input, or a short
  reference id whose traceback only the server log holds.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import secrets
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from powerfirst.errors import DataFormatError, PowerfirstError, Problem, ValidationError

#: the tabs, in order
TABS = ("Scenario", "Sites", "Run", "Ranking", "Map", "Drill-down", "Compare", "Network", "Export")

#: settings the workbench shows but does not let a browser change: files on the server (a path typed
#: in a browser must never be read) and the candidate generators (the workbench screens the Sites tab)
LOCKED = {"sites": ("source",), "weather": ("files",), "grid": ("source",),
          "siting": ("enabled", "candidates", "region", "resolution", "max_candidates", "min_plant_mw", "weights"),
          "network": ("candidate_regions",)}

#: per-site numbers the map can colour by (when present in the result)
MAP_VARIABLES = ("score", "p_top_k", "ttp_p50_best", "headroom_mw", "hv_distance_km", "carbon_intensity", "price",
                 "pue_annual", "water_stress_cat", "hazard_risk_score")

__all__ = ["UPLOAD_TYPES", "MAX_UPLOAD_SITES", "UploadRefused", "Upload", "read_upload", "sniff",
           "problems_frame", "screen_sites", "RunCache", "Run", "run_kpis", "moved_ranks", "ranking_frame",
           "csv_bytes", "excel_bytes", "parquet_bytes", "user_message", "scenario_from_yaml_bytes",
           "apply_scenario", "SCREEN_LOCK", "TABS", "LOCKED", "MAP_VARIABLES", "esc", "message_html"]


def esc(value) -> str:
    """``value`` as HTML text (every ``<``, ``>``, ``&`` and quote escaped)."""
    return html.escape(str(value), quote=True)


def message_html(text: str, kind: str = "info") -> str:
    """A message line as HTML (text escaped, lines kept), coloured by ``kind`` (info, error, ok)."""
    colours = {"info": ("#e8f1fb", "#1f4e79"), "error": ("#fbe9e9", "#8a1c1c"), "ok": ("#e9f7ec", "#1d5e2c")}
    bg, fg = colours.get(kind, colours["info"])
    body = "<br>".join(esc(line) for line in str(text).splitlines())
    return (f'<div class="pf-message pf-{kind}" style="background:{bg};color:{fg};padding:.5em .8em;'
            f'border-radius:4px">{body}</div>')

log = logging.getLogger("powerfirst.workbench")

#: file name endings a site upload may have, and the kind of content each must hold
UPLOAD_TYPES = {".csv": "CSV", ".txt": "CSV", ".geojson": "GeoJSON", ".json": "GeoJSON", ".parquet": "Parquet",
                ".pq": "Parquet"}
#: most sites one upload may hold (an assumption: the screen of 10,000 sites takes minutes on two cores,
#: which keeps a shared server responsive; longer lists go through `powerfirst screen --sites`)
MAX_UPLOAD_SITES = 10_000

#: one screen at a time per server process: a screen uses every core, and queued runs wait their turn
SCREEN_LOCK = threading.BoundedSemaphore(1)


class UploadRefused(PowerfirstError, ValueError):
    """An upload that is not read at all (too large, wrong type, not what its name says)."""


# ------------------------------------------------------------------------------------------ uploads

_BINARY = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?); save the sheet as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook; save the sheet as 'CSV UTF-8'"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
    (b"%PDF", "a PDF document"),
    (b"\x89HDF", "an HDF5 / NetCDF-4 file"),
    (b"CDF\x01", "a NetCDF-3 file"),
    (b"CDF\x02", "a NetCDF-3 file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)


def _display_name(name: str | None) -> str:
    """The last part of an uploaded file's name, at most 100 characters (shown escaped)."""
    base = Path(str(name or "upload").replace("\\", "/")).name or "upload"
    return base if len(base) <= 100 else base[:97] + "..."


def sniff(data: bytes) -> str:
    """The kind of content of an upload from its bytes: ``CSV``, ``GeoJSON`` or ``Parquet``.

    Raises
    ------
    UploadRefused
        A Python pickle (never read), an archive, a workbook, an image or another binary format.
    """
    if data[:4] == b"PAR1":
        if data[-4:] != b"PAR1":
            raise UploadRefused("starts like a Parquet file but does not end like one (a cut upload?)")
        return "Parquet"
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        raise UploadRefused("a Python pickle; pickles can run code when read and are never read: upload a CSV, "
                            "GeoJSON or Parquet file")
    for magic, what in _BINARY:
        if data.startswith(magic):
            raise UploadRefused(f"not a site table but {what}")
    head = data[:4096]
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom):]
            break
    text = head.replace(b"\x00", b"").lstrip()
    if text[:1] in (b"{", b"["):
        return "GeoJSON"
    return "CSV"


@dataclass
class Upload:
    """An uploaded site list: its sites (None while it has problems), the problems, its name and hash."""

    name: str
    kind: str = ""
    sites: xr.Dataset | None = None
    problems: list[Problem] = field(default_factory=list)
    sha256: str = ""
    size: int = 0

    @property
    def ok(self) -> bool:
        return self.sites is not None and not self.problems


def _count_rows(data: bytes, kind: str) -> int | None:
    """A quick upper bound of the rows of a text upload, before it is parsed (None: unknown)."""
    if kind == "CSV":
        return data.count(b"\n")
    if kind == "GeoJSON":
        return data.count(b'"Feature"')
    return None


def read_upload(name: str | None, data: bytes | None, *, max_bytes: int,
                max_sites: int = MAX_UPLOAD_SITES) -> Upload:
    """Check and read an uploaded site list.

    The bytes are checked before they are parsed: size (``max_bytes``), an ending of
    :data:`UPLOAD_TYPES`, and content of the kind the ending says (:func:`sniff`: a pickle, archive,
    workbook or image is refused).  They are then written to a private temporary file under a fixed
    name (the uploaded name is never a path) and read by :func:`powerfirst.io.sites.read_sites`, which
    reads cells as text and numbers only: a cell ``=cmd|...`` stays the text it is.

    Parameters
    ----------
    name : str
        The uploaded file's name (only its ending is used; it is shown escaped).
    data : bytes
        Its content.
    max_bytes : int
        Largest upload read [byte].
    max_sites : int
        Most rows read.

    Returns
    -------
    Upload
        With ``sites`` when the file is valid, else ``problems`` (every problem, row and column).
    """
    shown = _display_name(name)
    up = Upload(name=shown, size=len(data or b""))
    try:
        if not data:
            raise UploadRefused("the file is empty")
        if len(data) > max_bytes:
            raise UploadRefused(f"{len(data) / 1e6:.2f} MB is over the upload limit of {max_bytes / 1e6:g} MB; "
                                "split the list, or screen it with `powerfirst screen --sites FILE`")
        suffix = Path(shown).suffix.lower()
        if suffix not in UPLOAD_TYPES:
            raise UploadRefused(f"unknown file type {suffix or '(no ending)'!r}; expected "
                                f"{', '.join(sorted(UPLOAD_TYPES))}")
        kind = sniff(data)
        if kind != UPLOAD_TYPES[suffix]:
            raise UploadRefused(f"named {suffix} (a {UPLOAD_TYPES[suffix]} file) but its content is {kind}; "
                                "give the file the ending of its content")
        up.kind = kind
        rows = _count_rows(data, kind)
        if rows is not None and rows > max_sites + 1:
            raise UploadRefused(f"about {rows:,} rows; the workbench reads at most {max_sites:,} sites per upload "
                                "(screen longer lists with `powerfirst screen --sites FILE`)")
        up.sha256 = hashlib.sha256(data).hexdigest()
        with tempfile.TemporaryDirectory(prefix="powerfirst-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            from powerfirst.io.sites import read_sites

            try:
                import warnings

                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    sites = read_sites(path)
            except ValidationError as exc:
                up.problems = [_rename(p, str(path), shown) for p in exc.problems]
                return up
            except DataFormatError as exc:
                up.problems = [Problem(_strip_path(str(exc), str(path)), file=shown)]
                return up
        if sites.sizes["site"] > max_sites:
            raise UploadRefused(f"{sites.sizes['site']:,} sites; the workbench reads at most {max_sites:,} per "
                                "upload")
        sites.attrs["source"] = shown
        sites.attrs["source_sha256"] = up.sha256
        sites.attrs["upload_warnings"] = "; ".join(_strip_path(str(w.message), str(path)) for w in caught)
        up.sites = sites
    except UploadRefused as exc:
        up.problems = [Problem(f"refused: {exc}", file=shown)]
    return up


def _strip_path(msg: str, path: str) -> str:
    for prefix in (f"{path}: ", f"{path}, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg.replace(path, "the upload")


def _rename(p: Problem, path: str, shown: str) -> Problem:
    return Problem(p.message.replace(path, shown), file=shown if p.file else None, row=p.row, line=p.line,
                   column=p.column, variable=p.variable, site=p.site)


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """The problems as a table: row (1 = first data row), line, column, message."""
    return pd.DataFrame({"row": pd.array([p.row for p in problems], dtype="Int64"),
                         "line": pd.array([p.line for p in problems], dtype="Int64"),
                         "column": pd.Series([p.column or "" for p in problems], dtype=object),
                         "message": pd.Series([p.message for p in problems], dtype=object)},
                        columns=["row", "line", "column", "message"])


# ------------------------------------------------------------------------------------------ scenarios

_FILE_SETTINGS = ("sites.source", "weather.files", "grid.source", "siting.weights")


def scenario_from_yaml_bytes(data: bytes, name: str = "scenario.yaml", *, max_bytes: int = 1_000_000):
    """A scenario from uploaded YAML: safe YAML (no tags), every setting validated; a scenario that
    names server files (sites, weather, grid, scorecard) is refused, since the workbench reads sites
    from its own upload and never a path a user types.

    Raises
    ------
    ValidationError
        Every problem, with its key path.
    """
    import yaml

    from powerfirst.scenarios import Scenario

    shown = _display_name(name)
    if len(data) > max_bytes:
        raise ValidationError([Problem(f"{len(data) / 1e6:.2f} MB is over {max_bytes / 1e6:g} MB; a scenario is "
                                       "a few kB", file=shown)], what=f"scenario {shown}")
    try:
        doc = yaml.safe_load(data.decode("utf-8-sig")) or {}
    except UnicodeDecodeError:
        raise ValidationError([Problem("not UTF-8 text", file=shown)], what=f"scenario {shown}") from None
    except yaml.constructor.ConstructorError as exc:
        raise ValidationError([Problem(f"YAML tags are not allowed in a scenario (plain values only): {exc.problem}",
                                       file=shown)], what=f"scenario {shown}") from None
    except yaml.YAMLError as exc:
        raise ValidationError([Problem(f"not valid YAML ({exc})", file=shown)], what=f"scenario {shown}") from None
    sc = Scenario.from_dict(doc, file=shown)
    named = [k for k in _FILE_SETTINGS if k in sc.input_files()]
    if named:
        raise ValidationError([Problem("the workbench does not read files named in a scenario; upload the sites in "
                                       "the Sites tab and remove this setting", file=shown, column=k) for k in named],
                              what=f"scenario {shown}")
    return sc


def apply_scenario(target, source) -> None:
    """Copy every setting of scenario ``source`` into ``target`` in place (widgets bound to ``target``
    follow); the name, fixed when a scenario is made, is not copied."""
    target.param.update(description=source.description, seed=source.seed)
    from powerfirst.scenarios.spec import SECTIONS

    for key in SECTIONS:
        sec = getattr(source, key)
        getattr(target, key).param.update(**{k: getattr(sec, k) for k in sec.settings()})


# ------------------------------------------------------------------------------------------ runs


def screen_sites(scenario, sites: xr.Dataset, *, should_stop=None) -> xr.Dataset:
    """The siting screen of ``scenario`` on ``sites`` (a copy of the scenario screens the given sites,
    whatever its ``siting.candidates``).  ``should_stop(stage, done, total)``: the screen's stop and
    progress hook (:func:`powerfirst.models.siting.screen`; a true answer raises
    :class:`powerfirst.models.siting.Cancelled`)."""
    from powerfirst.scenarios.run import run_siting

    sc = scenario.copy(**{"siting.candidates": "sites"})
    return run_siting(sc, sites=sites, should_stop=should_stop)


_LAYERS_LOCK = threading.Lock()


def reference_layers(scenario) -> None:
    """Read (once per server) the reference layers the screen of ``scenario`` needs; a second caller
    waits for the first instead of reading them again."""
    from powerfirst.models.siting import load_context

    with _LAYERS_LOCK:
        load_context(float(scenario.headroom.flexible_limit))


@dataclass
class Run:
    """One named run: the scenario (YAML), its hash, the sites' hash and label, the result, its time [s]."""

    name: str
    scenario_yaml: str
    scenario_hash: str
    sites_hash: str
    sites_label: str
    result: xr.Dataset
    seconds: float


class RunCache:
    """Screen results keyed by (scenario hash, sites hash).

    Results of public inputs (the demo sites, a site file the server was started with) are shared
    by every session of the server (least recently used dropped first); results of a session's own
    upload stay in that session (``private=True``), so no session learns another's uploads.
    """

    _shared: OrderedDict = OrderedDict()
    _lock = threading.Lock()
    MAX_SHARED = 16

    def __init__(self):
        self._own: dict = {}

    def get(self, key, *, private: bool):
        if private:
            return self._own.get(key)
        with self._lock:
            if key in self._shared:
                self._shared.move_to_end(key)
                return self._shared[key]
        return None

    def put(self, key, value, *, private: bool) -> None:
        if private:
            self._own[key] = value
            return
        with self._lock:
            self._shared[key] = value
            while len(self._shared) > self.MAX_SHARED:
                self._shared.popitem(last=False)


# ------------------------------------------------------------------------------------------ compare


def _top_idx(ds: xr.Dataset, n: int) -> np.ndarray:
    rank = ds["rank"].values.astype(float)
    idx = np.flatnonzero(np.isfinite(rank))
    return idx[np.argsort(rank[idx], kind="stable")][:n]


def _best_p50(ds: xr.Dataset, idx: np.ndarray) -> np.ndarray:
    paths = list(ds["path"].values.astype(str))
    best = ds["best_path"].values.astype(str)[idx]
    p50 = ds["ttp_p50"].values[idx]
    return np.array([p50[i, paths.index(b)] if b in paths else np.nan for i, b in enumerate(best)], float)


def run_kpis(runs: dict[str, xr.Dataset], top: int = 10) -> pd.DataFrame:
    """Headline figures of each run (one column per run): candidates and excluded [sites], best and
    median top-``top`` score [1], the best site, rank stability [1] (median Spearman over the draws),
    median P50 months to first power of the top ``top`` [month], tier and draws."""
    if not 1 <= len(runs) <= 4:
        raise ValidationError([Problem(f"expected 1 to 4 runs to compare, found {len(runs)}")], what="compare")
    cols = {}
    for name, ds in runs.items():
        idx = _top_idx(ds, top)
        score = ds["score"].values.astype(float)
        cols[name] = {
            "candidates [sites]": int(ds.sizes["site"]),
            "excluded [sites]": int(np.asarray(ds["excluded"].values, bool).sum()),
            "best score [1]": round(float(np.nanmax(score)), 3) if np.isfinite(score).any() else np.nan,
            f"median score of the top {top} [1]": round(float(np.median(score[idx])), 3) if len(idx) else np.nan,
            "best site": str(ds["site"].values[idx[0]]) if len(idx) else "",
            "rank stability [1]": round(float(ds.attrs.get("rank_stability", np.nan)), 2),
            f"median P50 to first power, top {top} [month]": round(float(np.nanmedian(_best_p50(ds, idx))), 1)
            if len(idx) and np.isfinite(_best_p50(ds, idx)).any() else np.nan,
            "tier": str(ds.attrs.get("tier", "")),
            "draws": int(ds.attrs.get("draws", 0)),
        }
    df = pd.DataFrame(cols)
    df.index.name = "figure"
    return df.reset_index().astype(object)


def moved_ranks(runs: dict[str, xr.Dataset], top: int = 20) -> pd.DataFrame:
    """Sites in the top ``top`` of any run: their rank in each run and the change from the first run to
    the last [ranks] (positive: moved up); sites ranked in only one of the two (excluded or absent in
    the other: no rank there) come first, then the largest moves."""
    if not 2 <= len(runs) <= 4:
        raise ValidationError([Problem(f"expected 2 to 4 runs to compare, found {len(runs)}")], what="compare")
    names = list(runs)
    ranks = {}
    keep: set[str] = set()
    for n in names:
        ds = runs[n]
        s = pd.Series(ds["rank"].values.astype(float), index=ds["site"].values.astype(str))
        ranks[n] = s
        keep |= set(s.index[s <= top])
    sites = sorted(keep)
    out = pd.DataFrame({"site": sites})
    first = runs[names[0]]
    label = dict(zip(first["site"].values.astype(str), first["name"].values.astype(str), strict=True)) \
        if "name" in first else {}
    out["name"] = [label.get(s, "") for s in sites]
    for n in names:
        out[f"rank, {n}"] = pd.array([ranks[n].get(s, np.nan) for s in sites], dtype="Float64").round(0).astype("Int64")
    a, b = out[f"rank, {names[0]}"], out[f"rank, {names[-1]}"]
    out["moved up [ranks]"] = (a - b).astype("Int64")
    order = out["moved up [ranks]"].abs().fillna(10**9).sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ export


def ranking_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Every candidate of a screen, best first (the rows of ``powerfirst screen --format csv``:
    :func:`powerfirst.scenarios.report.screen_records`)."""
    from powerfirst.scenarios.report import screen_records

    return pd.DataFrame(screen_records(ds))


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV, formula-leading text escaped (:func:`powerfirst.io.export.to_csv`)."""
    from powerfirst.io.export import to_csv

    buf = io.StringIO()
    to_csv(df, buf)
    return buf.getvalue().encode("utf-8")


def excel_bytes(df: pd.DataFrame, about: dict | None = None) -> bytes:
    """The table as an Excel workbook (openpyxl): sheet ``ranking`` with spreadsheet-safe text
    (:func:`powerfirst.io.export.safe_frame`: no cell is a formula), sheet ``about`` with ``about``."""
    from powerfirst.io.export import safe_frame

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        safe_frame(df).to_excel(xl, sheet_name="ranking", index=False)
        if about:
            meta = pd.DataFrame({"key": list(about), "value": [str(v) for v in about.values()]})
            safe_frame(meta).to_excel(xl, sheet_name="about", index=False)
    return buf.getvalue()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """The table as Parquet (pyarrow)."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ errors

#: errors that say what is wrong with the user's input: shown as they are
_INPUT_ERRORS = (ValidationError, DataFormatError, UploadRefused, KeyError, FileNotFoundError)


def user_message(exc: BaseException, what: str = "") -> tuple[str, str | None]:
    """What the user sees of an error, and its reference id.

    A bad input (:class:`~powerfirst.errors.ValidationError`, ...) is shown as its message; anything
    else is logged with its traceback under a new short reference id (``E-`` and 6 hex digits) and
    shown only as that id, so no traceback, path or internal detail reaches the browser.
    """
    if isinstance(exc, _INPUT_ERRORS):
        msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        return msg, None
    ref = "E-" + secrets.token_hex(3)
    log.error("workbench error %s%s", ref, f" ({what})" if what else "", exc_info=exc)
    return (f"Something went wrong{f' while {what}' if what else ''} (reference {ref}). Nothing was changed; "
            "the server log holds the details under this reference."), ref
