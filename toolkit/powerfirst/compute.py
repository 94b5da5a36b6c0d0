"""Dask compute layer.

:func:`client` returns a :class:`dask.distributed.Client`:

* connected to an existing scheduler when an address is given — as argument,
  in the ``POWERFIRST_SCHEDULER`` environment variable, or in the Dask config
  key ``powerfirst.scheduler`` (Dask Gateway, dask-kubernetes, dask-jobqueue
  and Coiled all hand out such addresses);
* otherwise a :class:`~dask.distributed.LocalCluster` sized to the machine
  (one worker process per core, one thread each, no dashboard unless asked).

Models are written with ``xr.apply_ufunc(..., dask="parallelized")`` or
blockwise maps, so the same code runs in memory, on this cluster or on a
remote one: only the caller decides where ``.compute()`` runs.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

__all__ = ["client", "scheduler_address", "worker_numba_threads"]


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler address to use: argument, ``$POWERFIRST_SCHEDULER``, or Dask config."""
    if address:
        return address
    env = os.environ.get("POWERFIRST_SCHEDULER")
    if env:
        return env
    import dask

    return dask.config.get("powerfirst.scheduler", default=None)


def client(address: str | None = None, *, n_workers: int | None = None, threads_per_worker: int = 1,
           processes: bool = True, memory_limit: str | float | None = "auto", dashboard: bool = False,
           timeout: float = 30, **cluster_kwargs):
    """A Dask distributed client: an existing scheduler, or a new LocalCluster.

    Parameters
    ----------
    address : str, optional
        ``tcp://host:8786`` (or any address ``Client`` accepts).  Defaults to
        ``$POWERFIRST_SCHEDULER`` or the Dask config key ``powerfirst.scheduler``.
    n_workers : int, optional
        Worker processes of a new LocalCluster (default: number of cores).
    threads_per_worker : int
        Threads per worker (1 keeps numba/numpy kernels from oversubscribing).
    processes : bool
        Worker processes (True) or threads in this process (False).
    memory_limit : str or float
        Per-worker memory limit of a new LocalCluster.
    dashboard : bool
        Start the dashboard (port 8787) on a new LocalCluster.
    timeout : float
        Seconds to wait when connecting to an existing scheduler [s].

    Returns
    -------
    dask.distributed.Client
        Close it (or use it as a context manager) when done; closing a client
        of a LocalCluster also shuts the cluster down.

    Notes
    -----
    Scripts that start a process-based cluster need the
    ``if __name__ == "__main__":`` guard.
    """
    from dask.distributed import Client

    addr = scheduler_address(address)
    if addr:
        try:
            return Client(addr, timeout=timeout)
        except OSError as exc:
            raise OSError(f"could not connect to the Dask scheduler at {addr!r} within {timeout:g} s "
                          f"({exc}); unset POWERFIRST_SCHEDULER to use a local cluster") from exc
    # a Client given cluster keywords owns its LocalCluster: closing it closes the cluster
    return Client(
        n_workers=n_workers or os.cpu_count() or 1,
        threads_per_worker=threads_per_worker,
        processes=processes,
        memory_limit=memory_limit,
        dashboard_address=":8787" if dashboard else None,
        **cluster_kwargs,
    )


@contextmanager
def worker_numba_threads():
    """Inside a Dask worker, numba's parallel kernels use at most the worker's threads.

    Numba starts one thread per core in every process: two one-thread workers on two cores would
    each run a parallel kernel on two threads (four threads on two cores), and a one-thread worker
    would use two cores while the scheduler counts one.  Outside a worker this does nothing.
    """
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        yield
        return
    import numba

    state = getattr(worker, "state", worker)
    n = int(getattr(state, "nthreads", 0) or getattr(worker, "nthreads", 0) or 0)
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n or old, old)))
    try:
        yield
    finally:
        numba.set_num_threads(old)
