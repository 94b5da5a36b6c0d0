"""Benchmark: ``powerfirst build-cube`` on many sites, streamed to Zarr in bounded memory.

Sites: ``N`` candidate sites (default 100,000; ``POWERFIRST_BENCH_SITES`` or the first argument)
spread over the demo sites' locations with a deterministic jitter of up to 0.5 degree, written as
a site CSV and built with the real command in a subprocess, whose peak RSS is measured.

Baseline, timed in the same run: the previous way (compute the whole cube in memory, then write)
on ``BASE`` sites (2,000), and the streaming command on the same ``BASE`` sites; the memory of the
in-memory way grows with the site count (its peak is extrapolated to ``N`` sites from the two
sizes' slope), the streaming way's does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import REPO, report

BASE = 2_000


def make_sites(n: int, path: Path) -> Path:
    import powerfirst as pf

    demo = pf.sites_to_frame(pf.demo_sites())
    demo = demo[demo["country"] == "US"].reset_index(drop=True)
    rng = np.random.default_rng(20261201)
    idx = rng.integers(0, len(demo), n)
    df = demo.iloc[idx].reset_index(drop=True)
    df["site_id"] = [f"S{i:06d}" for i in range(n)]
    df["name"] = [f"benchmark site {i} (synthetic)" for i in range(n)]
    df["lat"] = (df["lat"] + rng.uniform(-0.5, 0.5, n)).round(4)
    df["lon"] = (df["lon"] + rng.uniform(-0.5, 0.5, n)).round(4)
    df.to_csv(path, index=False)
    return path


IN_MEMORY = """
import sys, powerfirst as pf
from powerfirst.cubes.energy import build_energy_cube
cube = build_energy_cube(pf.read_sites(sys.argv[1])).compute()
cube.pf.validate(values=True)
pf.write_zarr(cube.chunk({"site": 32}), sys.argv[2])
"""


def child_rss(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` in a fresh process that reports its own peak RSS (ru_maxrss of a wrapper)."""
    wrapper = ("import resource, subprocess, sys, time; t=time.perf_counter(); "
               "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
               "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], check=True, capture_output=True, text=True, cwd=REPO)
    dt, mb = out.stdout.split()
    return float(dt), float(mb)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("POWERFIRST_BENCH_SITES", 100_000))
    exe = str(Path(sys.executable).with_name("powerfirst"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small = make_sites(BASE, tmp / "small.csv")
        half = make_sites(BASE // 2, tmp / "half.csv")
        big = make_sites(n, tmp / "big.csv")
        t_mem_half, rss_mem_half = child_rss([sys.executable, "-c", IN_MEMORY, str(half), str(tmp / "m1.zarr")])
        t_mem, rss_mem = child_rss([sys.executable, "-c", IN_MEMORY, str(small), str(tmp / "m.zarr")])
        t_small, rss_small = child_rss([exe, "build-cube", "--sites", str(small), "--out", str(tmp / "s.zarr")])
        t_big, rss_big = child_rss([exe, "build-cube", "--sites", str(big), "--out", str(tmp / "b.zarr")])
        store_gb = sum(f.stat().st_size for f in (tmp / "b.zarr").rglob("*") if f.is_file()) / 1e9
    slope = (rss_mem - rss_mem_half) / (BASE - BASE // 2)  # MB per site of the in-memory way
    report("build_cube", {
        "sites": n,
        "seconds": round(t_big, 1),
        "sites_per_s": round(n / t_big, 1),
        "peak_rss_mb": round(rss_big, 1),
        "store_gb": round(store_gb, 2),
        f"streaming_{BASE}_sites_s": round(t_small, 1),
        f"streaming_{BASE}_sites_peak_rss_mb": round(rss_small, 1),
        f"baseline_in_memory_{BASE}_sites_s": round(t_mem, 1),
        f"baseline_in_memory_{BASE}_sites_peak_rss_mb": round(rss_mem, 1),
        "baseline_in_memory_mb_per_site": round(slope, 3),
        "baseline_in_memory_peak_rss_mb_extrapolated_to_sites": round(rss_mem + slope * (n - BASE), 0),
        "memory_ratio_baseline_extrapolated_vs_streaming": round((rss_mem + slope * (n - BASE)) / rss_big, 1),
        "time_ratio_streaming_vs_in_memory_at_base": round(t_small / t_mem, 2),
    })


if __name__ == "__main__":
    main()
