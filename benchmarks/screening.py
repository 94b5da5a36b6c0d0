"""Benchmark: the siting screen on 100,000 candidates, every layer and the score, on 1 and 2 Dask workers.

Candidates: the H3 resolution-6 cells of US-48 (~36 km2 each), every k-th of the sorted cell ids so
that ``N`` (default 100,000; ``POWERFIRST_BENCH_CANDIDATES`` or the first argument) candidates spread
over the whole region. The screen runs on a local Dask cluster of one worker (the baseline, timed in
the same run) and then of two workers (one thread each); the results of the two runs must be
identical, and three candidates screened alone must score exactly as among all of them. Peak memory
per worker is each worker process's peak RSS.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np

from _common import peak_rss_mb, report, shared_data


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def candidates(n: int):
    from powerfirst.models import siting

    cells = siting.grid_candidates("US-48", 6, max_candidates=400_000)
    step = max(len(cells) // n, 1)
    return siting.annotate(cells.iloc[::step].iloc[:n].reset_index(drop=True))


def run(cands, n_workers: int, settings, chunk: int):
    from distributed import Client, LocalCluster

    from powerfirst.models import siting

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit="6GiB",
                      dashboard_address=None, host="127.0.0.1") as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        ds = siting.screen(cands, settings=settings, client=client, chunk=chunk)
        dt = time.perf_counter() - t0
        peaks = client.run(_worker_peak_mb)
    return dt, ds, max(peaks.values())


def main() -> None:
    shared_data()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("POWERFIRST_BENCH_CANDIDATES", 100_000))
    from powerfirst.models import siting

    t0 = time.perf_counter()
    cands = candidates(n)
    t_cands = time.perf_counter() - t0
    settings = siting.ScreenSettings(tier="training", draws=200, seed=0, top_k=50)
    siting.load_context(settings.curtailment_limit)  # reference tables read once, outside the timing
    chunk = int(os.environ.get("POWERFIRST_BENCH_CHUNK", 4096))
    t1, ds1, mem1 = run(cands, 1, settings, chunk)
    t2, ds2, mem2 = run(cands, 2, settings, chunk)
    # absolute scores: three candidates screened alone score exactly as among the 100,000
    picks = cands["site"].iloc[[0, len(cands) // 2, len(cands) - 1]].tolist()
    alone_same = all(
        np.array_equal(siting.screen(cands[cands["site"] == s], settings=settings)[v].sel(site=s).values,
                       ds2[v].sel(site=s).values, equal_nan=True)
        for s in picks for v in ("score", "pillar_score", "score_draws"))
    same = bool(np.array_equal(ds1["score"].values, ds2["score"].values, equal_nan=True)
                and np.array_equal(ds1["p_top_k"].values, ds2["p_top_k"].values, equal_nan=True))
    report("screening", {
        "candidates": int(ds2.sizes["site"]),
        "chunk": chunk,
        "candidates_generated_and_placed_s": round(t_cands, 1),
        "seconds_1_worker": round(t1, 1),
        "seconds": round(t2, 1),
        "candidates_per_s": round(ds2.sizes["site"] / t2, 1),
        "candidates_per_s_1_worker": round(ds1.sizes["site"] / t1, 1),
        "peak_rss_mb": round(max(mem1, mem2), 0),
        "peak_rss_mb_client": round(peak_rss_mb(), 0),
        "speedup_2_workers": round(t1 / t2, 2),
        "identical_results_1_vs_2_workers": same,
        "alone_equals_among_all": bool(alone_same),
        "excluded": int(ds2["excluded"].sum()),
    })


if __name__ == "__main__":
    main()
