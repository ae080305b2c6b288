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
runs threads. A worker that dies is replaced: the request that was running
gets a 503, the next one a fresh worker.

*How a request travels.* Each worker has a pipe of its own; the server's
thread that handles a request sends the method and its arguments down the
pipe and reads the answer back, one request at a time per worker (a lock).
(A ``ProcessPoolExecutor`` of one process per worker did the same through
its queue and feeder threads: about 0.6 ms a round trip where a pipe takes
0.2, and more when the server is busy.)

*Which worker.* Each worker keeps its own caches, and the requests of one
slider move lean on each other's: the detail of a package reads the
comparison just made, the failure box the exploration just made, and a
lever move re-evaluates only the edited package when the others are kept
for those assumptions. So a request goes to the worker its *state* (the
assumptions moved and the horizon) picks, one family of requests per
worker: the comparisons (``compare``, ``compare_detail``, ``by_year``,
``by_will_scenario``) to worker ``crc32(state) mod W`` and the explorations
(``explore``, ``discover``) to the next one, so that the two families of
one move run side by side. Sent to any worker instead, one slider move at 8
packages cost 105-165 ms against 80-99 ms computed in the server's own
process: the detail or the box landed on a worker without the comparison or
the exploration behind it, and computed them again. Other work
(sensitivity, design search) goes to the worker with the fewest requests
in hand. The price: a request waits for its own worker even when the other
is free, behind a long sensitivity analysis or design search there; under
50 closed-loop clients (``benchmarks/bench_serve_load.py``) the comparison's
99th percentile stayed at 33 ms.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import zlib
from pathlib import Path

from foedus.interfaces.web.responses import canonical

#: Computations a worker may run (methods of the workspace).
METHODS = ("compare", "compare_detail", "by_year", "by_will_scenario", "explore", "discover", "sensitivity", "optimise")
#: The families of computations that read each other's caches: each goes to
#: the worker its state picks, offset by the family (module docstring).
FAMILIES = {"compare": 0, "compare_detail": 0, "by_year": 0, "by_will_scenario": 0, "explore": 1, "discover": 1}
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


def _serve(conn, scenarios: str | None, server: int, designs: str | None) -> None:
    """A worker process: start (:func:`_start`), say so, then answer each
    request read from ``conn`` (``(method, uploads, args)``; ``None`` ends
    it) with ``("ok", bytes)`` or ``("error", exception)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops its workers
    _start(scenarios, server, designs)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if request is None:
            return
        try:
            reply = ("ok", _run(*request))
        except BaseException as exc:  # the server raises it again (InputError, Refused, Busy: clear answers)
            reply = ("error", exc)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # an exception that does not pickle
            conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


class _Worker:
    """One worker process, started on first use, and the pipe to it; one
    request at a time (``lock``)."""

    def __init__(self, scenarios: str | None, designs: str | None):
        self.lock = threading.Lock()
        self._args = (scenarios, os.getpid(), designs)
        self.conn = self.proc = None
        self.ready = False

    def start(self) -> None:
        """Start the process if it has not started (hold :attr:`lock`)."""
        if self.proc is None:
            ctx = multiprocessing.get_context("spawn")
            self.conn, child = ctx.Pipe()
            self.proc = ctx.Process(target=_serve, args=(child, *self._args), name="foedus-worker")
            self.proc.start()
            child.close()

    def call(self, request) -> bytes:
        """Send ``request`` and read its answer (hold :attr:`lock`; ``None``:
        only wait until the worker has started); a worker that has died
        raises ``EOFError`` or ``OSError``."""
        self.start()
        if not self.ready:
            kind, _ = self.conn.recv()  # started and warmed up
            self.ready = kind == "ready"
        if request is None:
            return b""
        self.conn.send(request)
        kind, value = self.conn.recv()
        if kind == "error":
            raise value
        return value

    def stop(self, deadline: float) -> None:
        """Ask the worker to end, then end it (``deadline``: monotonic)."""
        if self.proc is None:
            return
        if self.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            try:
                self.conn.send(None)
            except (EOFError, OSError):
                pass
            finally:
                self.lock.release()
        self.proc.join(max(0.0, deadline - time.monotonic()))
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(STOP_WAIT_S)
            if self.proc.is_alive():
                self.proc.kill()
        self.conn.close()


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
    """``run(method, uploads, args, overrides, horizon)``: the workspace
    method's result as JSON bytes, computed in a worker process (the one the
    assumptions pick for the method's family; module docstring)."""

    def __init__(self, scenarios: Path | str | None, workers: int, designs: Path | str | None = None):
        """``designs``: the design files' folder (None: the workers find it
        beside ``scenarios``, as the server's workspace does)."""
        if workers < 1:
            raise ValueError("a compute pool needs at least one worker")
        self.scenarios = None if scenarios is None else str(scenarios)
        self.designs = None if designs is None else str(designs)
        self.workers = workers
        self._lock = threading.Lock()
        self._workers = [_Worker(self.scenarios, self.designs) for _ in range(workers)]
        self._in_hand = [0] * workers

    def warm(self) -> None:
        """Start every worker now (each loads the packages and warms up, all
        at once)."""
        for worker in self._workers:
            with worker.lock:
                worker.start()
        for w in range(self.workers):
            self._call(w, None)

    def worker_for(self, method: str, overrides: dict | None = None, horizon: float | None = None) -> int:
        """The worker that computes ``method`` for the assumptions
        ``overrides`` and ``horizon`` (its state; module docstring)."""
        family = FAMILIES.get(method)
        if family is None:
            with self._lock:
                return min(range(self.workers), key=lambda w: (self._in_hand[w], w))
        state = canonical({"overrides": overrides or {}, "horizon": horizon})
        return (zlib.crc32(state.encode()) + family) % self.workers

    def run(self, method: str, uploads: dict[str, str], args: tuple, overrides: dict | None = None, horizon: float | None = None) -> bytes:
        return self._call(self.worker_for(method, overrides, horizon), (method, uploads, args))

    def _call(self, w: int, request) -> bytes:
        from foedus.interfaces.web.service import Busy

        with self._lock:
            self._in_hand[w] += 1
            worker = self._workers[w]
        try:
            with worker.lock:
                try:
                    return worker.call(request)
                except (EOFError, OSError):  # the worker died: the next request gets a fresh one
                    with self._lock:
                        if self._workers[w] is worker:
                            self._workers[w] = _Worker(self.scenarios, self.designs)
                    if worker.proc is not None:
                        worker.proc.join(1.0)
                        worker.conn.close()
                    raise Busy("a computing process stopped; try again") from None
        finally:
            with self._lock:
                self._in_hand[w] -= 1

    def close(self) -> None:
        """Stop every worker: running work gets ``STOP_WAIT_S`` to finish,
        then the workers are terminated."""
        deadline = time.monotonic() + STOP_WAIT_S
        stops = [threading.Thread(target=w.stop, args=(deadline,), daemon=True) for w in self._workers]
        for t in stops:
            t.start()
        for t in stops:
            t.join(2 * STOP_WAIT_S + 1.0)
