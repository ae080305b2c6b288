"""Worker processes for the web app's computations, so a busy server uses
every core.

The server process keeps the packages, the uploads and the finished
responses (:mod:`foedus.interfaces.web.responses`) and answers everything
it already has; a comparison, exploration or failure box it does not have
is computed in one of ``workers`` processes, each with a workspace of its
own (the shipped packages, the uploads it has been sent, and its own caches
of evaluations), and comes back as finished JSON bytes. One process per core
sidesteps the interpreter lock that otherwise keeps a threaded server on one
core; the workers start with ``spawn``, never ``fork``, because the server
runs threads. A worker that dies is replaced by the executor's next pool:
the request that was running gets a 503, the next one a fresh worker.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

#: Computations a worker may run (methods of the workspace).
METHODS = ("compare", "compare_detail", "by_year", "by_will_scenario", "explore", "discover", "sensitivity", "optimise")
#: Uploads a worker keeps before it forgets the oldest (the server's cap).
WORKER_UPLOADS = 64
#: How often a worker checks that its server is still there, seconds.
ORPHAN_CHECK_S = 1.0
#: How long stopping the pool waits for workers to finish, seconds.
STOP_WAIT_S = 3.0

_workspace = None


def default_workers() -> int:
    """One worker per core, at least one (0 turns the pool off)."""
    return max(1, os.cpu_count() or 1)


def _orphan_watch(parent: int) -> None:
    """End this worker when the server process is gone (killed, or ended
    without stopping its pool): a worker never outlives its server."""
    while True:
        time.sleep(ORPHAN_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)


def _start(scenarios: str | None, server: int, designs: str | None = None) -> None:
    global _workspace
    from foedus.interfaces.web.service import Workspace

    # the server's pid comes from the server: if it died while this worker
    # started, os.getppid() would already name the reaper
    if os.getppid() != server:
        os._exit(0)
    threading.Thread(target=_orphan_watch, args=(server,), name="foedus-orphan-watch", daemon=True).start()

    _workspace = Workspace(scenarios, uploads_dir=None, max_uploads=WORKER_UPLOADS + 1, designs=designs)
    _workspace.warm()


def _run(method: str, uploads: dict[str, str], args: tuple) -> bytes:
    from foedus.interfaces.web.responses import json_bytes

    ws = _workspace
    for pid, text in uploads.items():
        held = ws.uploads.get(pid)
        if held is None or held.text != text:
            ws.add_upload(text, f"{pid}.yaml")
    while len(ws.uploads) > WORKER_UPLOADS:
        ws.delete_upload(next(iter(ws.uploads)))
    if method not in METHODS:
        raise ValueError(f"not a pooled computation: {method}")
    return json_bytes(getattr(ws, method)(*args))


class ComputePool:
    """``run(method, uploads, args)``: the workspace method's result as JSON
    bytes, computed in a worker process."""

    def __init__(self, scenarios: Path | str | None, workers: int, designs: Path | str | None = None):
        """``designs``: the design files' folder (None: the workers find it
        beside ``scenarios``, as the server's workspace does)."""
        if workers < 1:
            raise ValueError("a compute pool needs at least one worker")
        self.scenarios = None if scenarios is None else str(scenarios)
        self.designs = None if designs is None else str(designs)
        self.workers = workers
        self._lock = threading.Lock()
        self._executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_start, initargs=(self.scenarios, os.getpid(), self.designs))

    def warm(self) -> None:
        """Start every worker now (each loads the packages and warms up)."""
        futures = [self._executor.submit(os.getpid) for _ in range(self.workers)]
        for f in futures:
            f.result()

    def run(self, method: str, uploads: dict[str, str], args: tuple) -> bytes:
        from foedus.interfaces.web.service import Busy

        executor = self._executor
        try:
            return executor.submit(_run, method, uploads, args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._executor is executor:
                    self._executor = self._new()
            raise Busy("a computing process stopped; try again") from None

    def close(self) -> None:
        """Stop every worker: queued work is dropped, running work gets
        ``STOP_WAIT_S`` to finish, then the workers are terminated."""
        executor = self._executor
        processes = list(getattr(executor, "_processes", {}).values())
        done = threading.Thread(target=executor.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True)
        done.start()
        done.join(STOP_WAIT_S)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(STOP_WAIT_S)
            if p.is_alive():
                p.kill()
