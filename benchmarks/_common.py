"""Helpers shared by the benchmarks: timing, peak memory, the shared-data folder, JSON output."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("POWERFIRST_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data() -> Path:
    if not SHARED.is_dir():
        sys.exit(f"benchmark needs the shared real data at {SHARED} (or set POWERFIRST_SHARED_DATA)")
    return SHARED


def best_of(fn, repeat: int = 3):
    """(best wall time [s], result of the last call)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0]}


def report(name: str, figures: dict) -> None:
    """Print the figures as lines, then one JSON object as the last line."""
    for k, v in figures.items():
        print(f"{k:>36}: {v}")
    print(json.dumps({"benchmark": name, **figures, **machine()}))
