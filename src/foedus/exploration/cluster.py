"""The Dask client every distributed computation uses: a running
scheduler's, or a local cluster of worker processes started for the
computation and shut down after it, however it ends (finished, failed,
stopped with Ctrl-C or SIGTERM).

Used by :mod:`foedus.exploration.explore` (blocks of futures) and
:mod:`foedus.exploration.optimise` (chunks of candidate designs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[object]:
    """A ``dask.distributed.Client`` on ``scheduler`` (an address), or on a
    local cluster of ``workers`` single-threaded processes."""
    from dask.distributed import Client, LocalCluster

    from foedus.interrupts import defer_signals

    cluster = client = None
    finished = False
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            # a stop (Ctrl-C, SIGTERM) while the cluster starts waits until it
            # has started: half-started, it could not be shut down below
            with defer_signals():
                # silence_logs: the workers' own log lines (heartbeats lost while
                # the cluster shuts down, ...) are noise here; task errors
                # reach this process as exceptions
                cluster = LocalCluster(
                    n_workers=int(workers or 1), threads_per_worker=1, processes=True, dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                )
                client = Client(cluster)
        yield client
        finished = True
    finally:
        log = logging.getLogger("distributed")
        level = log.level
        if not finished:  # stopped: complaints about the cancelled work are noise
            log.setLevel(logging.CRITICAL)
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            log.setLevel(level)
