"""The compute layer: a LocalCluster of two worker processes gives the in-memory result."""

import os

import numpy as np
import pytest
import xarray as xr

from powerfirst import demo_sites
from powerfirst.compute import client, scheduler_address
from powerfirst.cubes.energy import build_energy_cube


@pytest.mark.slow
def test_energy_cube_on_local_cluster_equals_in_memory():
    sites = demo_sites().isel(site=slice(0, 24))
    cube = build_energy_cube(sites, chunk_sites=6)
    assert cube["solar_cf"].chunks is not None and len(cube["solar_cf"].chunks[0]) == 4
    in_memory = cube.compute(scheduler="synchronous")
    with client(n_workers=2, threads_per_worker=1, processes=True) as c:
        assert len(c.scheduler_info()["workers"]) == 2
        on_cluster = cube.compute()
    xr.testing.assert_identical(on_cluster, in_memory)
    assert np.isfinite(on_cluster["solar_cf"].values).all()


def test_scheduler_address_precedence(monkeypatch):
    monkeypatch.delenv("POWERFIRST_SCHEDULER", raising=False)
    assert scheduler_address() is None
    monkeypatch.setenv("POWERFIRST_SCHEDULER", "tcp://10.0.0.1:8786")
    assert scheduler_address() == "tcp://10.0.0.1:8786"
    assert scheduler_address("tcp://other:8786") == "tcp://other:8786"


def test_unreachable_scheduler_says_how_to_fix(monkeypatch):
    monkeypatch.setenv("POWERFIRST_SCHEDULER", "tcp://127.0.0.1:9")
    with pytest.raises(OSError, match="unset POWERFIRST_SCHEDULER"):
        client(timeout=2)
    assert os.environ["POWERFIRST_SCHEDULER"] == "tcp://127.0.0.1:9"


def _numba_threads_in_task():
    import numba

    from powerfirst.compute import worker_numba_threads

    with worker_numba_threads():
        inside = numba.get_num_threads()
    return inside, numba.get_num_threads()


@pytest.mark.slow
def test_numba_kernels_on_a_worker_use_the_worker_threads():
    """A one-thread worker runs numba's parallel kernels on one thread (not one per core: two such
    workers would run four threads on two cores); the process's setting is restored after."""
    import numba

    with client(n_workers=1, threads_per_worker=1, processes=True) as c:
        inside, after = c.submit(_numba_threads_in_task, pure=False).result()
    assert inside == 1
    assert after == numba.config.NUMBA_NUM_THREADS
    # outside a worker nothing changes
    assert _numba_threads_in_task() == (numba.get_num_threads(), numba.get_num_threads())
