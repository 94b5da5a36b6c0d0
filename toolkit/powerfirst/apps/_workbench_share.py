"""Sharing a workbench run: the full results as a zipped Zarr store, and a link (URL) that restores
the scenario and the view.

* :func:`zarr_zip_bytes` — every variable, coordinate and attribute of a result Dataset as a Zarr
  store inside a zip archive (the store at the archive's root, so ``zarr.storage.ZipStore`` and
  ``xr.open_zarr`` read it as it is, or after unzipping); :func:`open_zarr_zip` reads it back,
  :func:`without_server_paths` keeps file paths of the server out of a download.
* :func:`encode_link` / :func:`decode_link` — the scenario (its *differences* from the default
  :class:`~powerfirst.scenarios.Scenario`, JSON, zlib-compressed, URL-safe base64) and the view
  (tab, site on show, map colour, sites shown, run name) as URL query parameters, and back.  A URL
  is untrusted input: every parameter is validated, and a link with any problem is refused as a
  whole (:class:`LinkRefused`, every problem named with its parameter), so a bad link never sets
  part of a scenario.  Settings the workbench locks (files on the server, the candidate generators:
  ``LOCKED`` of :mod:`powerfirst.apps.workbench`) are never set from a link.
* :func:`sync_location` — applies a link to a :class:`~powerfirst.apps.workbench.Workbench` when the
  page loads and keeps the page's URL (``pn.state.location``) and a "Copy a link to this view" field
  following the scenario and the view; :func:`share_link` is the link of the view on show.

The query parameters::

    ?scenario=eNqrVkr...&run=pjm-flex&tab=Map&site=PJM-001&colour=headroom_mw&top=50

``scenario`` holds ``{"siting.draws": 50, "seed": 7, ...}``: only the settings that differ from
``Scenario()``, by key path.  Parameters at the workbench's defaults are left out.
"""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
import urllib.parse
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import xarray as xr

from powerfirst.errors import Problem, ValidationError

__all__ = ["zarr_zip_bytes", "open_zarr_zip", "without_server_paths", "zarr_download", "LinkRefused", "SharedView",
           "QUERY_KEYS", "MAX_PARAM_CHARS", "MAX_SCENARIO_JSON_BYTES", "scenario_changes", "encode_scenario",
           "decode_scenario", "scenario_from_changes", "encode_link", "decode_link", "LocationSync", "sync_location",
           "share_link", "share_field"]

# ------------------------------------------------------------------------------------------ zipped Zarr

#: fixed time stamp of every zip entry, so the same result gives the same bytes
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Zarr metadata files (text, deflated in the zip; chunks are compressed by Zarr already and stored)
_METADATA = ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata")


def _json_attrs(attrs: Mapping, where: str) -> dict:
    """``attrs`` with NumPy scalars and arrays as Python values (what Zarr's JSON metadata holds)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, np.ndarray):
            v = v.tolist()
        try:
            json.dumps(v, allow_nan=True)
        except TypeError:
            raise ValueError(f"{where}, attribute {k!r}: expected a JSON value (text, number, list, mapping), found "
                             f"{type(v).__name__}; convert it before exporting") from None
        out[k] = v
    return out


def zarr_zip_bytes(ds: xr.Dataset) -> bytes:
    """The Dataset as a Zarr store inside a zip archive (bytes).

    Every variable and coordinate with its attributes (``units``, ``long_name``, ...) and the
    Dataset's attributes are written (Zarr format 3, the format of every powerfirst store) to a
    temporary folder, which is then zipped with the store at the archive's root: chunk files are
    stored as they are (Zarr compressed them), metadata files deflated, entries in name order with
    a fixed time stamp (the same Dataset gives the same bytes).  Text variables (object or fixed-width
    unicode) are written as variable-length UTF-8 strings, so ``xr.open_zarr`` reads them back as
    the same text.  The root attribute ``powerfirst_store`` marks the store as written by powerfirst
    (:func:`open_zarr_zip` drops it).

    Parameters
    ----------
    ds : xarray.Dataset
        The result (a lazy Dataset is computed while writing).

    Returns
    -------
    bytes
        The zip archive.  Read it with ``xr.open_zarr(zarr.storage.ZipStore(path, mode="r"))`` or
        :func:`open_zarr_zip`, or unzip it into a folder ``NAME.zarr`` and ``xr.open_zarr`` that.

    Raises
    ------
    TypeError
        ``ds`` is not an xarray Dataset.
    ValueError
        An attribute that is not a JSON value (named with its variable).
    """
    from powerfirst.io.store import MARKER, MARKER_VERSION, storable

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"expected an xarray.Dataset, found {type(ds).__name__}")
    out = storable(ds)
    out.attrs = {**_json_attrs(out.attrs, "the Dataset"), MARKER: MARKER_VERSION}
    for name, var in out.variables.items():
        var.attrs = _json_attrs(var.attrs, f"variable {name!r}")
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="powerfirst-export-") as tmp:
        store = Path(tmp) / "results.zarr"
        out.to_zarr(store, mode="w", consolidated=False)
        files = sorted(p for p in store.rglob("*") if p.is_file())
        with zipfile.ZipFile(buf, "w", allowZip64=True) as zf:
            for p in files:
                rel = p.relative_to(store).as_posix()
                info = zipfile.ZipInfo(rel, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED if p.name in _METADATA else zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                zf.writestr(info, p.read_bytes())
    return buf.getvalue()


def open_zarr_zip(source) -> xr.Dataset:
    """Read a zipped Zarr store written by :func:`zarr_zip_bytes` (a path or the bytes), in memory.

    Raises
    ------
    ValueError
        Not a zip archive, or no Zarr store at its root.
    """
    from zarr.storage import ZipStore

    from powerfirst.io.store import MARKER

    with tempfile.TemporaryDirectory(prefix="powerfirst-import-") as tmp:
        if isinstance(source, (bytes, bytearray)):
            path = Path(tmp) / "results.zarr.zip"
            path.write_bytes(bytes(source))
            where = "the zipped Zarr store"
        else:
            path = Path(source)
            where = str(path)
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{where}: expected a zip archive holding a Zarr store, found no zip archive")
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
        if not names & {"zarr.json", ".zgroup"}:
            raise ValueError(f"{where}: expected a Zarr store at the root of the archive (zarr.json), found "
                             f"{', '.join(sorted(names)[:5]) or 'an empty archive'}")
        store = ZipStore(path, mode="r")
        try:
            ds = xr.open_zarr(store, consolidated=False).load()
        finally:
            store.close()
    ds.attrs.pop(MARKER, None)
    return ds


def _is_absolute_path(text: str) -> bool:
    return PurePosixPath(text).is_absolute() or bool(re.match(r"^[A-Za-z]:[\\/]", text)) or text.startswith("\\\\")


def without_server_paths(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (a shallow copy) with every absolute file path in its text attributes reduced to the
    file's name: a download must not show the server's folders (e.g. the ``scorecard`` attribute of
    a screen names the scorecard files read).  Attributes are text split at ``"; "``; other text is
    left as it is."""

    def clean(attrs: dict) -> dict:
        out = {}
        for k, v in attrs.items():
            if isinstance(v, str) and ("/" in v or "\\" in v):
                parts = v.split("; ")
                v = "; ".join((PureWindowsPath(p).name if "\\" in p else PurePosixPath(p).name)
                              if _is_absolute_path(p) else p for p in parts)
            out[k] = v
        return out

    out = ds.copy()
    out.attrs = clean(ds.attrs)
    for name in out.variables:
        out[name].attrs = clean(ds[name].attrs)
    return out


#: largest run the "Full results" download zips [byte, in memory]: the archive is built in the
#: server's memory (a temporary store, then the zip), so a bigger run is saved from a notebook or
#: with ``powerfirst screen --out`` instead of being held twice by a shared server
MAX_ZARR_DOWNLOAD_BYTES = 1 << 30


def zarr_download(workbench) -> io.BytesIO:
    """The callback of the workbench's "Full results (zipped Zarr)" download: the run on show as
    :func:`zarr_zip_bytes` (server paths removed, :func:`without_server_paths`), named
    ``<run>-results.zarr.zip``; an error is shown in the workbench and an empty file returned (also
    for a run over :data:`MAX_ZARR_DOWNLOAD_BYTES`)."""
    from powerfirst.apps._workbench_state import UploadRefused

    ds = workbench.state.result
    try:
        if ds is None:
            raise UploadRefused("no run yet: run the screen first")
        if ds.nbytes > MAX_ZARR_DOWNLOAD_BYTES:
            raise UploadRefused(
                f"the run's results are {ds.nbytes / 2**20:,.0f} MiB in memory, over the download limit of "
                f"{MAX_ZARR_DOWNLOAD_BYTES / 2**20:,.0f} MiB; save them with ds.to_zarr(...) in a notebook or "
                "with 'powerfirst screen ... --out results.zarr'")
        name = workbench.state.run_name or "results"
        dl = workbench.downloads.get("zarr")
        if dl is not None:
            dl.filename = f"{name}-results.zarr.zip"
        return io.BytesIO(zarr_zip_bytes(without_server_paths(ds)))
    except Exception as exc:  # noqa: BLE001 - shown to the user, traceback in the log
        workbench._error(exc, "exporting the zipped Zarr store")
        return io.BytesIO(b"")


# ------------------------------------------------------------------------------------------ links

#: the query parameters of a shared view, in the order they are written
QUERY_KEYS = ("scenario", "run", "tab", "site", "colour", "top")
#: longest value of one query parameter [character] (8 kB)
MAX_PARAM_CHARS = 8192
#: largest decompressed scenario [byte] (a scenario of every setting changed is about 5 kB of JSON)
MAX_SCENARIO_JSON_BYTES = 65_536
#: longest site id of a link [character]
MAX_SITE_CHARS = 200
#: "Sites shown" values of the ranking (0: all ranked), as the workbench's selector offers them
DEFAULT_TOPS = (20, 50, 100, 0)
#: top-level scenario settings a link may set (the name is the ``run`` parameter)
_TOP_SETTINGS = ("description", "seed")
_B64 = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


class LinkRefused(ValidationError):
    """A link (URL query) with one or more problems; nothing of it is applied.

    Attributes
    ----------
    parameters : list of str
        The query parameters refused, in the order of the problems.
    items : list of (str, str)
        (parameter, message) of each problem.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        self.items = list(problems)
        self.parameters = [p for p, _ in problems]
        super().__init__([Problem(f"URL parameter '{p}': {msg}") for p, msg in problems], what="the link")


@dataclass(frozen=True)
class SharedView:
    """What a link restores; None: not in the link.

    Attributes
    ----------
    scenario : dict or None
        The settings that differ from ``Scenario()``, by key path (``"siting.draws"``, ``"seed"``).
    run, tab, site, colour : str or None
        The run name (the workbench's scenario name), the tab, the site on show, the map colour
        variable.
    top : int or None
        Sites shown in the ranking (0: all ranked).
    """

    scenario: dict | None = None
    run: str | None = None
    tab: str | None = None
    site: str | None = None
    colour: str | None = None
    top: int | None = None


def _locked() -> set[str]:
    """Key paths a link never sets: the workbench's LOCKED settings and every setting that names a file."""
    from powerfirst.apps._workbench_state import _FILE_SETTINGS, LOCKED

    return {f"{sec}.{k}" for sec, keys in LOCKED.items() for k in keys} | set(_FILE_SETTINGS)


def _settings() -> dict[str, list[str]]:
    from powerfirst.scenarios.spec import SECTIONS

    return {sec: cls.settings() for sec, cls in SECTIONS.items()}


def _normal(v):
    """A setting's value as JSON holds it (tuples as lists), for comparison and encoding."""
    return json.loads(json.dumps(v, sort_keys=True))


def scenario_changes(scenario) -> dict:
    """The settings of ``scenario`` that differ from ``Scenario()``, by key path, as JSON values;
    the name and the settings a link never sets (locked, files) are left out.

    Parameters
    ----------
    scenario : powerfirst.scenarios.Scenario

    Returns
    -------
    dict
        ``{"seed": 7, "siting.draws": 50, ...}`` in key order.
    """
    from powerfirst.scenarios.spec import Scenario

    locked = _locked()
    now, default = scenario.to_dict(), Scenario().to_dict()
    out = {}
    for k in _TOP_SETTINGS:
        if _normal(now[k]) != _normal(default[k]):
            out[k] = _normal(now[k])
    for sec, keys in _settings().items():
        for k in keys:
            path = f"{sec}.{k}"
            if path not in locked and _normal(now[sec][k]) != _normal(default[sec][k]):
                out[path] = _normal(now[sec][k])
    return out


def encode_scenario(scenario) -> str:
    """The ``scenario`` query value: :func:`scenario_changes` as compact JSON, zlib-compressed
    (level 9), URL-safe base64 without padding; ``""`` when nothing differs from ``Scenario()``."""
    changes = scenario_changes(scenario)
    if not changes:
        return ""
    raw = json.dumps(changes, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")


def _shown(value: str, n: int = 60) -> str:
    """A value of the URL as quoted in a message: at most ``n`` characters."""
    return repr(value if len(value) <= n else value[:n] + "...")


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a setting can take")


def decode_scenario(text: str) -> dict:
    """The settings a ``scenario`` query value sets, validated: :func:`encode_scenario` reversed.

    Every problem is collected: a value over :data:`MAX_PARAM_CHARS`, not URL-safe base64, not
    zlib data or expanding over :data:`MAX_SCENARIO_JSON_BYTES`, not a JSON object of
    ``"section.setting"`` keys, unknown settings, settings the workbench locks, values of the wrong
    type or out of bounds (checked by :meth:`Scenario.from_dict <powerfirst.scenarios.Scenario.from_dict>`).

    Returns
    -------
    dict
        Key path -> value, ready for :func:`scenario_from_changes`.

    Raises
    ------
    LinkRefused
        Every problem, each naming the parameter ``scenario`` and the setting.
    """
    from powerfirst.scenarios.spec import SECTIONS, Scenario

    def refuse(msg):
        raise LinkRefused([("scenario", msg)])

    if not isinstance(text, str):
        refuse(f"expected text, found {type(text).__name__}")
    if len(text) > MAX_PARAM_CHARS:
        refuse(f"{len(text):,} characters, over the limit of {MAX_PARAM_CHARS:,} (8 kB); share a scenario this "
               "large as a YAML file (Scenario tab, Save scenario YAML)")
    if not text or not _B64.match(text):
        bad = sorted(set(re.sub(r"[A-Za-z0-9_=-]", "", text)))[:5]
        refuse("expected URL-safe base64 (letters, digits, '-', '_'), found "
               + (f"the characters {' '.join(map(repr, bad))}" if bad else "a malformed value" if text else "nothing"))
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (ValueError, TypeError):
        refuse("not valid base64 (its length does not fit base64); copy the whole link")
    d = zlib.decompressobj()
    try:
        data = d.decompress(raw, MAX_SCENARIO_JSON_BYTES + 1)
    except zlib.error as exc:
        refuse(f"expected a zlib-compressed scenario, found other data ({exc}); copy the whole link")
    if len(data) > MAX_SCENARIO_JSON_BYTES or d.unconsumed_tail:
        refuse(f"expands to more than {MAX_SCENARIO_JSON_BYTES:,} bytes; a scenario is a few kB")
    if not d.eof:
        refuse("the compressed scenario is cut short; copy the whole link")
    try:
        changes = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        refuse(f"expected a JSON object of settings, found text that is not JSON ({str(exc)[:80]})")
    if not isinstance(changes, dict):
        refuse(f"expected a JSON object of settings, found a JSON {type(changes).__name__}")

    settings, locked = _settings(), _locked()
    problems: list[tuple[str, str]] = []
    data_ = Scenario().to_dict()
    for k, v in changes.items():
        sec, _, key = k.partition(".")
        if k == "name":
            problems.append(("scenario", "setting name: the scenario name is the 'run' parameter, not a setting"))
        elif k in _TOP_SETTINGS:
            data_[k] = v
        elif not key:
            problems.append(("scenario", f"unknown setting {_shown(k)}; expected 'section.setting' with a section "
                                         f"among {', '.join(SECTIONS)}, or one of {', '.join(_TOP_SETTINGS)}"))
        elif sec not in settings:
            problems.append(("scenario", f"unknown section {_shown(sec)} in {_shown(k)}; expected one of "
                                         f"{', '.join(SECTIONS)}"))
        elif key not in settings[sec]:
            allowed = [s for s in settings[sec] if f"{sec}.{s}" not in locked]
            problems.append(("scenario", f"unknown setting {_shown(k)}; expected one of the settings of {sec}: "
                                         f"{', '.join(allowed)}"))
        elif k in locked:
            problems.append(("scenario", f"setting {k} is locked in the workbench (it names files on the server or "
                                         "chooses the candidates) and is never set from a link; remove it"))
        else:
            data_[sec][key] = v
    try:  # the values of the known settings, every problem with its key path
        Scenario.from_dict(data_, file="the link")
    except ValidationError as exc:
        problems += [("scenario", f"setting {p.column}: {p.message}" if p.column else p.message)
                     for p in exc.problems]
    if problems:
        raise LinkRefused(problems)
    return changes


def scenario_from_changes(changes: Mapping, keep=None):
    """``Scenario()`` with ``changes`` (key path -> value, from :func:`decode_scenario`); the locked
    settings (files on the server, candidate generators) and the name are those of ``keep`` when given.

    Returns
    -------
    powerfirst.scenarios.Scenario
    """
    from powerfirst.scenarios.spec import Scenario

    data = Scenario().to_dict()
    if keep is not None:
        kept = keep.to_dict()
        data["name"] = kept["name"]
        for path in _locked():
            sec, _, key = path.partition(".")
            data[sec][key] = kept[sec][key]
    for k, v in changes.items():
        sec, _, key = k.partition(".")
        if key:
            data[sec][key] = v
        else:
            data[k] = v
    return Scenario.from_dict(data, file="the link")


def encode_link(scenario=None, *, run: str | None = None, tab: str | None = None, site: str | None = None,
                colour: str | None = None, top: int | None = None) -> dict[str, str]:
    """The query parameters of a scenario and a view (None or ``""``: left out).

    Parameters
    ----------
    scenario : Scenario, optional
        Encoded as :func:`encode_scenario` (left out when it has no changes).
    run, tab, site, colour : str, optional
        Run name, tab name, site id, map colour variable.
    top : int, optional
        Sites shown in the ranking [sites] (0: all ranked, written ``all``).

    Returns
    -------
    dict
        Parameter -> value, in the order of :data:`QUERY_KEYS`.
    """
    q = {"scenario": encode_scenario(scenario) if scenario is not None else "", "run": run or "", "tab": tab or "",
         "site": site or "", "colour": colour or "", "top": "" if top is None else ("all" if int(top) == 0 else str(int(top)))}
    return {k: v for k, v in q.items() if v}


def _colours() -> tuple[str, ...]:
    from powerfirst.apps._workbench_state import MAP_VARIABLES
    from powerfirst.models.siting.score import PILLARS

    return (*MAP_VARIABLES, *(f"score_{p}" for p in PILLARS))


def _query_pairs(query) -> list[tuple[str, str]]:
    if isinstance(query, Mapping):
        return [(str(k), str(v)) for k, v in query.items()]
    text = str(query or "")
    return urllib.parse.parse_qsl(text[1:] if text.startswith("?") else text, keep_blank_values=True,
                                  max_num_fields=1000)


def decode_link(query, *, tabs=None, tops=DEFAULT_TOPS, colours=None) -> SharedView:
    """The scenario and view of a link, validated: :func:`encode_link` reversed.

    Parameters
    ----------
    query : str or mapping
        The URL's query (``"?tab=Map&top=50"``, a leading ``?`` optional) or parameter -> value.
        Parameters other than :data:`QUERY_KEYS` are ignored (they belong to others).
    tabs : sequence of str, optional
        Tab names (default the workbench's ``TABS``); matched without regard to case.
    tops : sequence of int
        Allowed "Sites shown" values (0: all ranked).
    colours : sequence of str, optional
        Allowed map colour variables (default the workbench's map variables and ``score_<pillar>``).

    Returns
    -------
    SharedView

    Raises
    ------
    LinkRefused
        Every problem of every parameter (given twice, over :data:`MAX_PARAM_CHARS`, not one of the
        values expected, a scenario :func:`decode_scenario` refuses).
    """
    from powerfirst.scenarios.spec import check_name

    if tabs is None:
        from powerfirst.apps._workbench_state import TABS as tabs
    colours = tuple(colours if colours is not None else _colours())
    try:
        pairs = _query_pairs(query)
    except ValueError as exc:  # more than max_num_fields
        raise LinkRefused([("query", f"expected at most 1,000 parameters ({exc})")]) from None
    given: dict[str, list[str]] = {}
    for k, v in pairs:
        if k in QUERY_KEYS:
            given.setdefault(k, []).append(v)
    problems: list[tuple[str, str]] = []
    values: dict = {}
    for k in QUERY_KEYS:
        if k not in given:
            continue
        if len(given[k]) > 1:
            problems.append((k, f"given {len(given[k])} times; expected once"))
            continue
        v = given[k][0]
        if len(v) > MAX_PARAM_CHARS:
            problems.append((k, f"{len(v):,} characters, over the limit of {MAX_PARAM_CHARS:,} (8 kB)"))
            continue
        if k == "scenario":
            try:
                values[k] = decode_scenario(v)
            except LinkRefused as exc:
                problems += exc.items
        elif k == "run":
            probs = check_name(v, what="run")
            if probs:
                problems.append((k, probs[0].message))
            else:
                values[k] = v
        elif k == "tab":
            match = [t for t in tabs if t.lower() == v.lower()]
            if match:
                values[k] = match[0]
            else:
                problems.append((k, f"expected one of {', '.join(tabs)}, found {_shown(v)}"))
        elif k == "site":
            if not v or len(v) > MAX_SITE_CHARS or not v.isprintable():
                problems.append((k, f"expected a site id of 1 to {MAX_SITE_CHARS} printable characters, found "
                                    f"{_shown(v)}"))
            else:
                values[k] = v
        elif k == "colour":
            if v in colours:
                values[k] = v
            else:
                problems.append((k, f"expected one of {', '.join(colours)}, found {_shown(v)}"))
        elif k == "top":
            allowed = [("all" if t == 0 else str(t)) for t in tops]
            if v.lower() in allowed:
                values[k] = 0 if v.lower() == "all" else int(v)
            else:
                problems.append((k, f"expected one of {', '.join(allowed)} (sites shown), found {_shown(v)}"))
    if problems:
        raise LinkRefused(problems)
    return SharedView(**values)


# ------------------------------------------------------------------------------------------ the workbench


def share_field():
    """The "Copy a link to this view" text field (:class:`LocationSync` keeps its value)."""
    import panel as pn

    return pn.widgets.TextInput(label="Copy a link to this view", value="", sizing_mode="stretch_width",
                                description="the scenario and the view on show; the sites are those of the server "
                                            "(demo or server file) or a new upload")


class LocationSync:
    """Keeps a workbench and its page's URL in step (see :func:`sync_location`).

    Parameters
    ----------
    workbench : powerfirst.apps.workbench.Workbench
    location : panel.io.location.Location, optional
        The page's location (None: no URL to read or write; the link is relative).
    field : panel.widgets.TextInput, optional
        A field that shows the link (:func:`share_field`).
    """

    def __init__(self, workbench, location=None, field=None):
        self.wb = workbench
        self.location = location
        self.field = field
        self.view: SharedView | None = None
        self._pending: dict = {}
        self._writing = False
        self._paused = False
        self._section_watchers: list = []
        # the view a workbench starts with: parameters equal to it are left out of the URL (the run
        # name is always written: a session's first name depends on the server's scenario)
        self.defaults = {"tab": self._tab_name(0), "top": self._tops()[0], "colour": "score"}

    # ---------------------------------------------------------------- reading the view
    def _tab_name(self, index=None) -> str:
        from powerfirst.apps._workbench_state import TABS

        i = self.wb.tabs.active if index is None else index
        return TABS[i] if 0 <= i < len(TABS) else ""

    def _top(self):
        v = self.wb.top_select.value
        return None if v is None else int(v)

    def _tops(self) -> tuple[int, ...]:
        opts = self.wb.top_select.options
        return tuple(int(v) for v in (opts.values() if isinstance(opts, dict) else opts))

    def query(self) -> dict[str, str]:
        """The query parameters of the scenario and view on show (defaults left out)."""
        s, d = self.wb.state, self.defaults
        tab = self._tab_name()
        colour = self.wb.map_variable.value
        if not self.wb.map_variable.options and "colour" in self._pending:
            colour = self._pending["colour"]  # no run yet: a page clears a choice its selector does not offer
        top = self._top()
        return encode_link(s.scenario, run=s.label or None, tab=tab if tab != d["tab"] else None, site=s.site or None,
                           colour=colour if colour and colour != d["colour"] else None,
                           top=top if top is not None and top != d["top"] else None)

    def _foreign(self) -> list[tuple[str, str]]:
        if self.location is None:
            return []
        return [(k, v) for k, v in _query_pairs(self.location.search) if k not in QUERY_KEYS]

    def search(self) -> str:
        """The URL's query: the other parameters of the page kept, then the workbench's."""
        pairs = self._foreign() + list(self.query().items())
        return "?" + urllib.parse.urlencode(pairs) if pairs else ""

    def link(self) -> str:
        """The link of the view on show: the page's address with :meth:`search` as its query."""
        search = self.search()
        loc = self.location
        href = getattr(loc, "href", "") or ""
        if href:
            parts = urllib.parse.urlsplit(href)
            return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, search[1:], ""))
        path = getattr(loc, "pathname", "") or ""
        return f"{path}{search}" if path or search else "?"

    # ---------------------------------------------------------------- applying a link
    def apply(self) -> SharedView | None:
        """Apply the URL's link to the workbench (all or nothing).  A refused link is shown as an error
        message naming each parameter, and nothing of it is applied.  Returns the view applied."""
        if self.location is None:
            return None
        try:
            view = decode_link(self.location.search, tops=self._tops())
            self._paused = True
            try:
                self._apply(view)
            finally:
                self._paused = False
        except LinkRefused as exc:
            self.wb._info(f"{exc}\nNothing of the link was applied: the workbench shows its own settings.", "error")
            return None
        self.view = view
        return view

    def _apply(self, view: SharedView) -> None:
        from powerfirst.apps._workbench_state import TABS, apply_scenario

        s, wb = self.wb.state, self.wb
        if view.scenario is not None:
            apply_scenario(s.scenario, scenario_from_changes(view.scenario, keep=s.scenario))
        if view.run is not None:
            s.label = view.run
        if view.top is not None:
            wb.top_select.value = view.top
        shown = s.result is not None
        if not shown and (view.scenario is not None or view.run is not None):
            shown = self._show_cached()
        if view.colour is not None:
            wb.map_variable.value = view.colour
            if not shown:  # the colours are those of a run: kept until one arrives
                self._pending["colour"] = view.colour
        if view.site is not None:
            s.site = view.site
            if not shown:
                self._pending["site"] = view.site
            elif view.site not in set(s.result["site"].values.astype(str)):
                wb._info(f"The link's site {view.site} is not among the sites of the run on show.", "info")
        if self._pending:
            what = " and ".join({"site": "site", "colour": "map colour"}[k] for k in ("site", "colour")
                                if k in self._pending)
            wb._info(f"Link applied. Its {what} show{'s' if ' and ' not in what else ''} once the screen has run: "
                     "press 'Run the siting screen' in the Run tab.", "info")
        if view.tab is not None:
            wb.tabs.active = TABS.index(view.tab)

    def _show_cached(self) -> bool:
        """Show the run of the link's scenario when this server already holds it for the session's sites
        (public sites only: an upload's runs stay in its session); True when shown."""
        s = self.wb.state
        try:
            s.check_run()
        except ValidationError:
            return False
        snap = s.snapshot()
        ds = s.cached(snap)
        if ds is None:
            return False
        s.add_run(snap, ds, 0.0)
        return True

    def _on_result(self, *events) -> None:
        """A run arrived: show the link's map colour and site, once."""
        ds = self.wb.state.result
        if ds is None:
            return
        colour = self._pending.pop("colour", None)
        opts = self.wb.map_variable.options
        if colour is not None and colour in (opts.values() if isinstance(opts, dict) else opts):
            self.wb.map_variable.value = colour
        site = self._pending.pop("site", None)
        if site is None:
            return
        if site in set(ds["site"].values.astype(str)):
            self.wb.state.site = site
        else:
            self.wb._info(f"The link's site {site} is not among the sites of this run.", "info")

    # ---------------------------------------------------------------- writing the URL
    def write(self, *events) -> None:
        """Put the scenario and view on show into the URL and the link field (when they changed)."""
        if self._paused or self._writing:
            return
        self._writing = True
        try:
            search = self.search()
            if self.location is not None and self.location.search != search:
                self.location.search = search
            if self.field is not None:
                self.field.value = self.link()
        finally:
            self._writing = False

    def _watch_scenario(self, *events) -> None:
        sc = self.wb.state.scenario
        for obj, w in self._section_watchers:
            obj.param.unwatch(w)
        self._section_watchers = [(sc, sc.param.watch(self.write, list(_TOP_SETTINGS)))]
        for sec in _settings():
            section = getattr(sc, sec)
            self._section_watchers.append((section, section.param.watch(self.write, section.settings())))
        if events:
            self.write()

    def start(self) -> LocationSync:
        """Watch the scenario, the run name, the site, the tab, "Sites shown" and the map colour."""
        s, wb = self.wb.state, self.wb
        self._watch_scenario()
        s.param.watch(self._watch_scenario, ["scenario"])
        s.param.watch(self.write, ["label", "site"])
        s.param.watch(self._on_result, ["result"])
        wb.tabs.param.watch(self.write, ["active"])
        wb.top_select.param.watch(self.write, ["value"])
        wb.map_variable.param.watch(self.write, ["value"])
        self.write()
        return self


def sync_location(workbench, location=None, field=None) -> LocationSync:
    """Restore the link's scenario and view in ``workbench``, then keep the URL following them.

    When the page loads, the URL's parameters (:func:`decode_link`) set the workbench's scenario
    (:func:`~powerfirst.apps._workbench_state.apply_scenario`: its widgets follow), the run name, the
    tab, "Sites shown", the map colour and the site on show; when this server already holds the run of
    that scenario for the session's (public) sites, it is shown at once, else the site is shown when
    the screen has run.  A refused link is shown as an error message and changes nothing.  From then
    on every change of the scenario or the view rewrites the URL's query (``location.search``; other
    parameters of the page are kept) and the ``field``'s link.

    Parameters
    ----------
    workbench : powerfirst.apps.workbench.Workbench
        A workbench whose tabs are filled (call it at the end of its deferred load).
    location : panel.io.location.Location, optional
        Default ``pn.state.location`` (the page's, in a served session; None in a notebook).
    field : panel.widgets.TextInput, optional
        The "Copy a link to this view" field (:func:`share_field`).

    Returns
    -------
    LocationSync
    """
    if location is None:
        import panel as pn

        location = pn.state.location
    sync = LocationSync(workbench, location, field)
    sync.apply()
    return sync.start()


def share_link(workbench, location=None) -> str:
    """The link of the scenario and view on show in ``workbench`` (default location:
    ``pn.state.location``; without one the link is relative, ``?scenario=...``)."""
    if location is None:
        import panel as pn

        location = pn.state.location
    return LocationSync(workbench, location).link()
