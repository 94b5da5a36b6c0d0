"""Where powerfirst finds its embedded data and the user's cubes.

* ``data_dir()`` — the embedded default dataset: ``$POWERFIRST_DATA_DIR`` if
  set, else ``data/`` of a source checkout, else the copy packaged in the wheel.
* ``cube_dir()`` — where built cubes are kept: ``$POWERFIRST_CUBE_DIR`` or
  ``<data_dir>/cubes``.
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir() -> Path:
    env = os.environ.get("POWERFIRST_DATA_DIR")
    if env:
        return Path(env)
    checkout = _PKG.parent.parent / "data"
    if (checkout / "demo").is_dir():
        return checkout
    packaged = _PKG / "_data"
    if packaged.is_dir():
        return packaged
    return checkout


def cube_dir() -> Path:
    env = os.environ.get("POWERFIRST_CUBE_DIR")
    return Path(env) if env else data_dir() / "cubes"


def shared_data_dir() -> Path | None:
    """Real public datasets for examples and tests: ``$POWERFIRST_SHARED_DATA``, else
    ``../shared/data`` beside a source checkout; None when neither exists."""
    env = os.environ.get("POWERFIRST_SHARED_DATA")
    if env:
        return Path(env)
    beside = _PKG.parent.parent.parent / "shared" / "data"
    return beside if beside.is_dir() else None


def demo_sites_path() -> Path:
    return data_dir() / "demo" / "sites.csv"


def demo_metros_path() -> Path:
    return data_dir() / "demo" / "metros.csv"


def facts_dir() -> Path:
    return data_dir() / "facts"
