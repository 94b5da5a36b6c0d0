"""Provenance attributes written on every result."""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

from powerfirst._version import __version__


def file_hash(path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """Hex digest of a file's bytes (first 16 hex digits)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def provenance(**extra) -> dict:
    """Attributes describing how a result was made.

    Always ``powerfirst_version`` and ``created`` (UTC, ISO 8601); plus any
    ``extra`` items (scenario, seed, input hashes, ...), stringified.
    """
    attrs = {
        "powerfirst_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
    }
    for k, v in extra.items():
        if v is None:
            continue
        if isinstance(v, Path):
            v = str(v)
        attrs[k] = v if isinstance(v, (int, float, str)) else str(v)
    return attrs


def input_hashes(**inputs) -> str:
    """JSON ``{name: content hash}`` of a model's input Datasets, from the hash their reader wrote
    (``source_sha256`` of a site file, ``sites_sha256`` of an energy store, ``input_hashes`` of a
    result); ``"in-memory"`` for a Dataset built in Python; ``None`` inputs are left out."""
    import json

    out = {}
    for name, ds in inputs.items():
        if ds is None:
            continue
        attrs = getattr(ds, "attrs", {}) or {}
        out[name] = next((str(attrs[k]) for k in ("source_sha256", "sites_sha256", "input_hashes") if attrs.get(k)),
                         "in-memory")
    return json.dumps(out, sort_keys=True)
