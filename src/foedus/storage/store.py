"""The run store: a DuckDB catalogue plus one directory of Parquet files per run.

What it owns
------------
One DuckDB database file (default ``foedus-runs.duckdb`` in the working
directory) holding every run's metadata, and beside it a directory
``<database>.runs/`` holding every run's data as Parquet files: the sampled
futures, stored once (one row per future, one float column per uncertain
input) and the results (one row per package and future, one float column
per metric). Callers hand results over in chunks of NumPy arrays; readers
get pandas DataFrames, Parquet or CSV exports and a content hash that proves
two runs identical. DuckDB stays the query engine: every read goes through
``read_parquet`` over the run's files, and percentiles are computed there
(``quantiles``), without loading the results.

Precision and size
------------------
A run's floats are stored as float32 by default (``begin_run(...,
precision="float64")`` keeps the evaluated numbers exactly); the run's
metadata records which (``get_run(...)["precision"]``; runs stored before
this was recorded are float64). float32 keeps 24 significant bits, a
relative error of at most 6e-8: finer than any input is known or any metric
is reported (docs/exploration.md, section 5, argues it metric by metric).
Float columns are written with Parquet's BYTE_STREAM_SPLIT encoding and
zstd (level 1): on the twelve seed packages (70 inputs, 13 metrics) a run
takes about 49 bytes per package-future, against 124 as float64 with lz4.
Readers always get float64: ``futures``, ``results``, ``export`` widen a
float32 run's values (exactly: widening adds no rounding), and
``results_hash`` hashes float64, so a run's hash is that of its export.

The results hash streams the run. Its bytes are the rows in future-id
order (results: package by package), as a whole-run ``ORDER BY`` gives
them, but DuckDB sorts a run larger than its memory limit on disk: 25 GB
of temporary files for ``runs show`` of a 1e8-future run. The run is
already nearly in order: each chunk file holds one block of futures, so
when the chunks' id ranges (read from the Parquet footers) do not overlap,
``results_hash`` reads the files one by one in range order, sorts a chunk
only if its own rows are out of order, and keeps one chunk in memory; the
results are read once per package (DuckDB skips the other packages' rows).
Overlapping ranges fall back to the sort. Both give the same hash, so the
hashes recorded by earlier runs still hold (``runs reproduce``).

Why files and not DuckDB tables: inserting 8 million result rows into a
DuckDB table costs about 4.4 CPU-seconds (1-2 M package-futures/s), which
made the store the bottleneck of ``foedus explore``. Pyarrow writes the same
rows as Parquet several times faster (see ``benchmarks/bench_store.py``).

Layout::

    runs.duckdb                         catalogue: store_info, runs, run_packages, views
    runs.duckdb.runs/
        r0123456789/                    a complete run (it has a row in runs)
            futures-000000.parquet      one file per written chunk
            results-000000.parquet
            ...
        .staging-rabcdef0123/           a run being written (or killed mid-write)
            .writer.lock                held (flock) by its writer while it lives

Atomicity
---------
A run is visible only when it is complete:

* ``begin_run`` creates the staging directory ``.staging-<run_id>/`` and
  takes the exclusive ``flock`` of its ``.writer.lock`` (see below).
* Each ``write_chunk`` rounds the chunk to the run's precision and hands it
  to background threads (``RunStore(write_threads=...)``, default
  min(4, CPUs - 1)); one of them writes ``futures-<seq>.parquet`` and
  ``results-<seq>.parquet`` (pyarrow, codec ``RunStore(compression=...)``,
  default zstd) and fsyncs them, while the caller computes its next chunk. At most one chunk waits in
  the queue (bounded memory: threads + 1 chunks; back-pressure). Each file
  is written under a hidden ``.partial-*`` name and renamed into place, so
  the run's files are always whole.
* Or other processes write the chunks: ``RunWriter.target()`` gives a
  picklable ``ChunkTarget`` (the staging directory, names, precision,
  codec) with which a Dask worker that sees the directory writes the
  blocks it computes, in the same way; ``RunWriter.written`` counts each.
* ``commit`` removes partial files (of a writer killed mid-write), checks
  the counts against the files (futures unique, one result row per package
  and future, ``n_futures`` as declared) and fsyncs the staging directory.
  Then, in one writable catalogue session, it renames the directory to
  ``<run_id>/`` (atomic within one file system; both live in
  ``<database>.runs/``), fsyncs the parent, and in a single DuckDB
  transaction inserts the run's row in ``runs`` (status ``complete``), its
  rows in ``run_packages`` and two convenience views. That insert is the
  visibility flip: every read (``list_runs``, ``get_run``, ``futures``,
  ``results``, ``quantiles``, ``results_hash``, ``export``) starts from
  ``runs``, so files without a ``runs`` row are never seen.
* Leaving the ``with store.begin_run(...)`` block by an exception (Ctrl-C's
  KeyboardInterrupt; the CLI turns SIGTERM into one too), or without
  ``commit()``, removes the run's directory. SIGINT and SIGTERM are held
  back (:func:`foedus.interrupts.defer_signals`) while the directory is
  removed and from the rename to the end of the insert, so a stop can
  neither leave half a removal nor a renamed directory without its row (nor
  a listed run without its files); the held signal is delivered right after.
* A crash or SIGKILL cannot clean up: before the rename it leaves a
  ``.staging-*`` directory, between the rename and the insert a run
  directory without a ``runs`` row. Opening the store for writing
  garbage-collects both (and any view or stray ``run_packages`` row without
  its run), except the directories of live writers. DuckDB's write-ahead log
  keeps every committed transaction, hence every earlier run, intact.
* ``delete_run`` deletes the rows and views in one transaction (the run is
  gone from then on), then removes the directory; a leftover directory (a
  crash in between) is garbage-collected as above. A reader that looked the
  run up just before gets a StoreError (its files are missing).

Readers and writers
-------------------
DuckDB lets one process hold a database file for writing, and no other
process even read it meanwhile. Holding the catalogue for a whole run (as
foedus once did) therefore shut every reader out for minutes. Now nothing
holds it for long:

* The catalogue is opened only for **short sessions** (``_catalogue``),
  each its own connection, closed at once: checking the schema and
  collecting garbage when a store opens, looking runs up, the insert of a
  commit, a delete. Each takes milliseconds.
* Run data are read from the Parquet files through a private **in-memory
  DuckDB** (``read_parquet``), which locks nothing, and the rows of
  committed runs, which never change, are read once per RunStore. So
  ``runs list``, ``runs show``, ``discover`` and ``export`` run while
  another process writes, and so does a second writer.
* A session that finds the file locked **retries for a bounded time**
  (``lock_wait``, LOCK_WAIT = 10 s; ``on_wait`` is told after one second),
  then gives up with a StoreError naming the file and the holder's PID.
  Only another program can hold the file that long (a ``duckdb`` shell, a
  notebook). A commit waits longer (``commit_wait``, COMMIT_WAIT = 600 s):
  its run is computed and on disk, and giving up would throw it away.
* **Live writers are marked by a lock on their directory**, not by the
  catalogue: each writer holds an exclusive ``flock`` on
  ``<directory>/.writer.lock`` from ``begin_run`` until its commit or
  removal. The garbage collector (which runs inside a writable session, so
  never during a commit) removes a leftover directory only after taking
  that lock itself without waiting; a held lock means a live writer, in any
  process, and the directory is spared. The kernel drops the lock of a
  process that dies, so a crashed writer's directory is collected. A writer
  that finds its new directory claimed (a collector took it between
  ``mkdir`` and ``flock``) starts over under another id; writers of this
  process are also listed in memory, for file systems whose locks do not
  separate a process from itself (``flock`` emulated on NFS). On a file
  system without locks nothing is collected.
* Rejected with a one-line StoreError: a path that is a directory, a
  missing read-only store, a file that is not a DuckDB database, a store of
  another schema version, a file held by another program past the wait.

Considered and not taken: a snapshot copy of the catalogue for readers
(stale, and a copy per read); DuckDB's read-only mode alone (still refused
while a writer holds the file); one long writer session with readers
retrying (they would wait for the whole run).

Schema (``store_info.schema_version`` = 2)
-------------------------------------------
``store_info(key VARCHAR PRIMARY KEY, value VARCHAR)``
    ``schema_version``, ``created_by`` (foedus version), ``data_layout``.
``runs`` - one row per complete run
    ``run_id VARCHAR PRIMARY KEY`` ("r" + 10 hex digits), ``created_at``,
    ``committed_at`` (UTC ISO 8601 VARCHAR), ``status`` ('complete'),
    ``foedus_version``, ``seed BIGINT``, ``sampler``, ``n_futures BIGINT``,
    ``n_packages INTEGER``, ``chunk_size BIGINT``, ``horizon_years DOUBLE``,
    and JSON text columns ``packages`` (list of {id, sha256, title} in
    package order), ``overrides`` (parameter overrides), ``input_names``,
    ``metric_names`` (column order of the data files), ``thresholds``,
    ``summary`` (given to ``commit``) and ``extra`` (everything else,
    and the run's ``precision``, which ``get_run`` moves to the top level).
``run_packages(run_id, package_idx SMALLINT, package_id, sha256, title)``
    PRIMARY KEY (run_id, package_idx); maps ``results.package_idx`` to ids.
``futures-<seq>.parquet``: ``future_id`` int64, ``"<input>"`` float (or double), ...
    one row per future; input names such as ``will.USA`` are quoted in SQL.
``results-<seq>.parquet``: ``package_idx`` int16, ``future_id`` int64, ``"<metric>"`` float (or double), ...
    long format, one row per (package, future). ``future_id`` is
    delta-encoded, floats byte-stream split; both cost ~nothing to read.
Views ``futures_<run_id>`` / ``results_<run_id>``
    ``SELECT * FROM read_parquet('<absolute run dir>/results-*.parquet')``,
    for SQL by hand; a writable open re-points them if the store moved. The
    store itself does not use them.

Plain SQL over a complete run, e.g. in the DuckDB CLI::

    SELECT p.package_id, r.* EXCLUDE (package_idx)
    FROM results_r0123456789 r
    JOIN run_packages p ON p.run_id = 'r0123456789' AND p.package_idx = r.package_idx;

Nothing is imported at module import time beyond the standard library.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import operator
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foedus.domain.errors import InputError, Problem
from foedus.interrupts import defer_signals

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = [
    "COMMIT_WAIT", "COMPRESSIONS", "DEFAULT_COMPRESSION", "DEFAULT_PATH", "DEFAULT_PRECISION", "EXACT_QUANTILE_ROWS", "LOCK_WAIT",
    "PRECISIONS", "SCHEMA_VERSION", "ChunkTarget", "FileCost", "RunNotFoundError", "RunStore", "RunWriter", "StoreError",
    "measure_file_cost",
]

DEFAULT_PATH = "foedus-runs.duckdb"
SCHEMA_VERSION = 2
#: Parquet codecs for the run files ("zstd" means zstd level 1).
COMPRESSIONS = ("none", "snappy", "lz4", "zstd")
#: zstd level 1 over byte-stream-split floats: on the twelve seed packages'
#: real results (float32) 48.7 bytes per package-future against 51.5 with
#: lz4, for 0.22 instead of 0.14 CPU-microseconds per package-future, 4-7%
#: of what evaluating one costs, in a thread of its own (docs/exploration.md,
#: section 5).
DEFAULT_COMPRESSION = "zstd"
#: Result rows (package-futures) up to which a run's percentiles are exact.
#: An exact quantile holds every value of its column in DuckDB's buffer
#: pool: 2**26 rows are 512 MiB of doubles, a quarter of the default 2 GB
#: pool, the rest left to DuckDB's sort. Four metrics together at 1e8 rows
#: (3.2 GB) ran out of memory; beyond this, t-digest estimates
#: (``approx_quantile``, memory independent of the rows) are used instead.
EXACT_QUANTILE_ROWS = 1 << 26
#: Float types the inputs and metrics of a run can be stored as.
PRECISIONS = ("float32", "float64")
#: float32 keeps 24 significant bits (a relative error of at most 6e-8):
#: finer than any input or metric is known or reported (the per-metric
#: argument is in docs/exploration.md, section 5), at half the bytes.
#: ``float64`` stores the evaluated numbers exactly.
DEFAULT_PRECISION = "float32"

_VIEW = re.compile(r"^(futures|results)_(r[0-9a-f]{10})$")
_RUN_DIR = re.compile(r"^r[0-9a-f]{10}$")
_STAGING_DIR = re.compile(r"^\.staging-(r[0-9a-f]{10})$")
_RESERVED = {"future_id", "package_idx", "package_id"}
_HASH_BATCH = 1 << 18
_BLOCK = 4096
_KINDS = ("futures", "results")
#: the lock file of a live writer, inside its run directory
_LOCK_FILE = ".writer.lock"

#: Seconds a catalogue session waits while another process holds the
#: catalogue. foedus holds it for tens of milliseconds at a time (a writer's
#: clean-up at open, a commit, a delete, a reader's look-up), so waiting
#: this long means another program keeps it open, e.g. a ``duckdb`` shell.
LOCK_WAIT = 10.0
#: Seconds a commit waits for the catalogue: the run is computed and on
#: disk, and giving up would throw it away.
COMMIT_WAIT = 600.0

# run ids of writers open in this process, per resolved database path: the
# garbage collector of a second RunStore on the same file must spare them
# (their lock files guard them too, but POSIX-emulated locks, e.g. flock on
# NFS, do not exclude the same process).
_ACTIVE: dict[str, set[str]] = {}
_ACTIVE_LOCK = threading.Lock()
# one catalogue session at a time per database in this process: DuckDB
# refuses a read-only and a read-write connection to one file in one process.
_SESSION_LOCKS: dict[str, threading.RLock] = {}
class StoreError(InputError):
    """The run store cannot do what was asked: unusable file, unknown run.

    An :class:`InputError` (file = the database path), so interfaces print it
    as one line and exit with status 2, without a traceback.
    """


class RunNotFoundError(StoreError, KeyError):
    """No complete run with this id in the store."""


def _store_error(path: str, field: str, expected: str, cls: type[StoreError] = StoreError) -> StoreError:
    return cls(path, [Problem(field, expected)])


def _q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """Quote an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item") and callable(obj.item):  # NumPy scalar
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):  # NumPy array
        return obj.tolist()
    if isinstance(obj, (Path, datetime)):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, sort_keys=True, allow_nan=True)


def _check_names(kind: str, names: Sequence[str]) -> list[str]:
    out = [str(n) for n in names]
    seen: dict[str, str] = {}
    for n in out:
        if not n or n != n.strip():
            raise ValueError(f"{kind} name {n!r} must be non-empty without surrounding spaces")
        if n.lower() in _RESERVED:
            raise ValueError(f"{kind} name {n!r} is reserved")
        # DuckDB identifiers are case-insensitive even when quoted
        if n.lower() in seen:
            raise ValueError(f"{kind} names {seen[n.lower()]!r} and {n!r} collide (case-insensitive)")
        seen[n.lower()] = n
    return out


def _is_lock_conflict(exc: Exception) -> bool:
    low = str(exc).lower()
    return "could not set lock" in low or "conflicting lock" in low


def _holder(exc: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    return f"another process (PID {pid.group(1)})" if pid else "another process"


def _translate(path: str, exc: Exception, read_only: bool, waited: float = 0.0) -> StoreError:
    """Turn a DuckDB open error into a one-line StoreError naming the file."""
    msg = str(exc)
    low = msg.lower()
    if _is_lock_conflict(exc):
        return _store_error(
            path, "database",
            f"is in use by {_holder(exc)}, which kept it locked for {waited:g} s; foedus holds it only for "
            "moments at a time, so another program keeps it open (a duckdb shell, a notebook): close it and retry",
        )
    if "not a valid duckdb database" in low:
        return _store_error(path, "database", "is not a DuckDB database file (expected a foedus run store)")
    if "is a directory" in low:
        return _store_error(path, "database", "is a directory; expected a DuckDB database file")
    if "database does not exist" in low or "no such file" in low:
        if read_only:
            return _store_error(path, "database", "does not exist (no runs stored yet?)")
        return _store_error(path, "database", "cannot be created: its directory does not exist")
    if "permission denied" in low:
        return _store_error(path, "database", "cannot be opened: permission denied")
    if "different configuration" in low:
        return _store_error(
            path, "database",
            "is already open in this process in another mode (read-only vs read-write); close it first",
        )
    if "serializ" in low or "version" in low:
        return _store_error(path, "database", f"cannot be read by this DuckDB: {msg.splitlines()[0]}")
    return _store_error(path, "database", f"cannot be opened: {msg.splitlines()[0]}")




def _fsync(path: Path) -> None:
    """Flush a file's or a directory's data and entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[]{}")


def _session_lock(key: str) -> threading.RLock:
    with _ACTIVE_LOCK:
        return _SESSION_LOCKS.setdefault(key, threading.RLock())


def _claim(directory: Path) -> int | None:
    """Take the writer lock of a run directory without waiting. Returns the
    locked file descriptor, or None if a live writer holds it (or it cannot
    be taken: the directory is gone, unwritable, or the file system has no
    locks; the directory is then left alone)."""
    import fcntl

    try:
        fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return precision


def _check_compression(compression: str) -> str:
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, not {compression!r}")
    return compression


def _columns(fids: np.ndarray, inp: np.ndarray, res: np.ndarray, precision: str) -> tuple:
    """The columns of a chunk's two files as copies, column-major, so that
    each column is one contiguous block handed to Arrow without a further
    copy: (future ids, inputs (d, m), package_idx, future ids per result
    row, the metrics' columns of P*m values each); inputs and metrics
    rounded to ``precision`` (to nearest) by the same copy."""
    import numpy as np

    m, n_in = inp.shape
    n_pk, _, n_me = res.shape
    fids = fids.astype(np.int64, copy=True)
    if inp.T.flags.c_contiguous and res.transpose(2, 0, 1).flags.c_contiguous:
        # views of column-major buffers (explore's blocks): one copy each,
        # metric by metric: one array of all of them (41 MB for a block of
        # 65,536 futures x 12 packages x 13 metrics) would be mapped and
        # faulted in afresh for every chunk (see foedus.models.allocator)
        inp_cols = inp.T.astype(precision)
        by_metric = res.transpose(2, 0, 1)
        res_cols = [by_metric[j].reshape(n_pk * m).astype(precision) for j in range(n_me)]
    else:
        inp_cols = np.empty((n_in, m), dtype=precision)  # (input, future)
        res_cols = np.empty((n_me, n_pk, m), dtype=precision)  # (metric, package, future)
        for s in range(0, m, _BLOCK):  # cache-blocked transposes: 2x faster than one big one
            inp_cols[:, s : s + _BLOCK] = inp[s : s + _BLOCK].T
            for p in range(n_pk):
                res_cols[:, p, s : s + _BLOCK] = res[p, s : s + _BLOCK].T
        res_cols = res_cols.reshape(n_me, n_pk * m)
    pkg = np.repeat(np.arange(n_pk, dtype=np.int16), m)
    return fids, inp_cols, pkg, np.tile(fids, n_pk), res_cols


def _arrow_tables(input_names: Sequence[str], metric_names: Sequence[str], columns: tuple, compression: str) -> tuple:
    """``((futures table, write options), (results table, write options))``
    of one chunk, exactly as the run files are written."""
    import pyarrow as pa

    fids, inp_cols, pkg, res_fids, res_cols = columns
    # future_id ascends within a chunk (delta: ~0 bytes instead of 8). Floats
    # are byte-stream split: their bytes regrouped by position (sign and
    # exponent bytes together, which compress well) before the codec; on
    # real results 17% smaller with lz4 (as fast), 8% with zstd (12% slower).
    split = "BYTE_STREAM_SPLIT"
    opts = {
        "compression": compression,
        "compression_level": 1 if compression == "zstd" else None,
        "use_dictionary": False,  # floats: dictionaries cost time and rarely pay
        "write_statistics": ["package_idx", "future_id"],  # lets DuckDB skip row groups
        "row_group_size": 1 << 22,
        "column_encoding": {"future_id": "DELTA_BINARY_PACKED", **{n: split for n in input_names}},
    }
    # package_idx is constant per package (run-length dictionary: ~0 bytes)
    res_opts = {
        **opts, "use_dictionary": ["package_idx"],
        "column_encoding": {"future_id": "DELTA_BINARY_PACKED", **{n: split for n in metric_names}},
    }
    ft = pa.table([pa.array(fids), *(pa.array(c) for c in inp_cols)], names=["future_id", *input_names])
    rt = pa.table(
        [pa.array(pkg), pa.array(res_fids), *(pa.array(c) for c in res_cols)],
        names=["package_idx", "future_id", *metric_names],
    )
    return (ft, opts), (rt, res_opts)


def _checked_chunk(future_ids: Any, inputs: Any, results: Any, n_in: int, n_pk: int, n_me: int) -> tuple:
    """``(future_ids, inputs, results)`` as arrays, or a ValueError naming
    the array whose shape or type is not that of a chunk of the run."""
    import numpy as np

    fids = np.asarray(future_ids)
    if fids.ndim != 1 or (fids.dtype.kind not in "iu" and fids.size):
        raise ValueError(f"future_ids must be a 1-D integer array, got shape {fids.shape} dtype {fids.dtype}")
    m = fids.shape[0]
    inp = np.asarray(inputs, dtype=np.float64)
    if inp.shape != (m, n_in):
        raise ValueError(f"inputs must have shape (m, n_inputs) = ({m}, {n_in}), got {inp.shape}")
    res = np.asarray(results, dtype=np.float64)
    if res.shape != (n_pk, m, n_me):
        raise ValueError(f"results must have shape (n_packages, m, n_metrics) = ({n_pk}, {m}, {n_me}), got {res.shape}")
    return fids, inp, res


#: What a chunk file is written under until it is complete: a hidden name
#: that no reader lists (they read ``futures-*.parquet``), renamed into place.
_PARTIAL = ".partial-"


def _write_files(directory: Path | str, seq: int, input_names: Sequence[str], metric_names: Sequence[str], columns: tuple,
                 compression: str) -> None:
    """Write chunk ``seq`` (:func:`_columns`) as the run's two Parquet files
    and fsync them. Each is written under a hidden name and renamed into
    place, so a file of the run is always whole, even when the same chunk
    is written twice at once (a Dask task run again)."""
    import pyarrow.parquet as pq

    directory = Path(directory)
    for kind, (table, kw) in zip(_KINDS, _arrow_tables(input_names, metric_names, columns, compression)):
        path = directory / f"{kind}-{seq:06d}.parquet"
        partial = directory / f"{_PARTIAL}{uuid.uuid4().hex}-{path.name}"
        try:
            pq.write_table(table, str(partial), **kw)
            _fsync(partial)
            os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise


def _remove_partial_files(directory: Path) -> None:
    """Remove the partial files a writer that died while writing left behind."""
    with contextlib.suppress(OSError):
        for name in os.listdir(directory):
            if name.startswith(_PARTIAL):
                with contextlib.suppress(OSError):
                    os.unlink(directory / name)


@dataclass(frozen=True)
class ChunkTarget:
    """Where and how the chunks of an open run are written, for a process
    other than its writer's (a Dask worker that sees the run's directory at
    the same path): :meth:`RunWriter.target` gives it, :meth:`write` writes
    a chunk exactly as the writer's own threads do, and
    :meth:`RunWriter.written` counts it. Picklable."""

    directory: str
    input_names: tuple[str, ...]
    metric_names: tuple[str, ...]
    n_packages: int
    precision: str
    compression: str

    def write(self, seq: int, future_ids: np.ndarray, inputs: np.ndarray, results: np.ndarray) -> None:
        """Write chunk number ``seq`` (its files' names; distinct per chunk):
        arrays as :meth:`RunWriter.write_chunk` takes them."""
        if not os.path.isdir(self.directory):
            raise _store_error(self.directory, "run directory",
                               "a directory this process can see (the run was stopped, or this machine does not share the store's file system)")
        fids, inp, res = _checked_chunk(future_ids, inputs, results, len(self.input_names), self.n_packages, len(self.metric_names))
        if fids.shape[0]:
            _write_files(self.directory, int(seq), self.input_names, self.metric_names, _columns(fids, inp, res, self.precision),
                         self.compression)


def _id_span(path: Path) -> tuple[int, int] | None:
    """(smallest future id, largest) of a run file, from the statistics in
    its footer; None if they are missing."""
    import pyarrow.parquet as pq

    md = pq.read_metadata(path)
    col = md.schema.names.index("future_id")
    stats = [md.row_group(g).column(col).statistics for g in range(md.num_row_groups)]
    if not stats or any(st is None or not st.has_min_max for st in stats):
        return None
    return min(st.min for st in stats), max(st.max for st in stats)


def _arrow_reader(rel: Any) -> Any:
    """A DuckDB relation's rows as an Arrow RecordBatchReader (DuckDB 1.0 to 2.x)."""
    return rel.to_arrow_reader(_HASH_BATCH) if hasattr(rel, "to_arrow_reader") else rel.fetch_arrow_reader(_HASH_BATCH)


def _stream(tables: Iterator[Any]) -> Any:
    """Arrow tables or record batches, all of one schema, as one
    RecordBatchReader that reads them as it goes."""
    import itertools

    import pyarrow as pa

    tables = iter(tables)
    first = next(tables)
    return pa.RecordBatchReader.from_batches(first.schema, (b for t in itertools.chain([first], tables) for b in _batches(t)))


def _batches(t: Any) -> list:
    return t.to_batches() if hasattr(t, "to_batches") else [t]


def _hash_bytes(col: np.ndarray) -> memoryview:
    """A column as ``results_hash`` hashes it: little-endian float64 (NaN
    canonical) or int64."""
    import numpy as np

    if col.dtype.kind == "f":
        col = col.astype("<f8", copy=False)
        nan = np.isnan(col)
        if nan.any():
            col = np.where(nan, np.float64("nan"), col)
    else:
        col = col.astype("<i8", copy=False)
    return np.ascontiguousarray(col).data


@dataclass(frozen=True)
class FileCost:
    """Bytes that a run's Parquet files take, per value, as measured by
    :func:`measure_file_cost` on a sample written exactly like a run."""

    #: futures files: bytes per future (future_id and every input)
    per_future: float
    #: results files: bytes per (package, future) for package_idx and future_id
    per_package_future: float
    #: results files: bytes per (package, future) of each metric
    per_metric: Mapping[str, float]
    #: bytes per file beyond its columns (footer, magic numbers)
    per_file: float

    def estimate(self, n_futures: int, n_packages: int, n_chunks: int, metrics: Sequence[str] | None = None) -> int:
        """Bytes of a run of ``n_futures`` futures and ``n_packages`` packages
        written in ``n_chunks`` chunks, storing ``metrics`` (default: all
        measured ones)."""
        names = list(self.per_metric) if metrics is None else list(metrics)
        per_pf = self.per_package_future + sum(self.per_metric[m] for m in names)
        return round(n_futures * (self.per_future + n_packages * per_pf) + 2 * n_chunks * self.per_file)


def measure_file_cost(
    input_names: Sequence[str],
    metric_names: Sequence[str],
    future_ids: np.ndarray,
    inputs: np.ndarray,
    results: np.ndarray,
    compression: str = DEFAULT_COMPRESSION,
    precision: str = DEFAULT_PRECISION,
) -> FileCost:
    """Write a sample chunk (arrays as for :meth:`RunWriter.write_chunk`) as
    the two Parquet files of a run, in memory, and measure what each column
    takes per value (compressed size from the files' metadata)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_compression(compression)
    _check_precision(precision)
    inp = np.asarray(inputs, dtype=np.float64)
    res = np.asarray(results, dtype=np.float64)
    m, n_pk = inp.shape[0], res.shape[0]
    if m == 0 or res.shape[1:] != (m, len(metric_names)) or inp.shape[1] != len(input_names):
        raise ValueError("measure_file_cost needs a non-empty sample: inputs (m, d), results (P, m, M)")
    sizes: list[dict[str, int]] = []
    overhead = 0
    for table, kw in _arrow_tables(input_names, metric_names, _columns(np.asarray(future_ids), inp, res, precision), compression):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **kw)
        buf = sink.getvalue()
        md = pq.ParquetFile(pa.BufferReader(buf)).metadata
        cols: dict[str, int] = {}
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            for c in range(rg.num_columns):
                col = rg.column(c)
                cols[col.path_in_schema] = cols.get(col.path_in_schema, 0) + col.total_compressed_size
        sizes.append(cols)
        overhead += buf.size - sum(cols.values())
    fut, rows = sizes
    return FileCost(
        per_future=sum(fut.values()) / m,
        per_package_future=(rows["package_idx"] + rows["future_id"]) / (m * n_pk),
        per_metric={name: rows[name] / (m * n_pk) for name in metric_names},
        per_file=overhead / 2,
    )


class RunStore:
    """The DuckDB catalogue and the Parquet files of every run. Readers and
    writers of other processes work side by side; see the module docstring
    for the design."""

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        read_only: bool = False,
        memory_limit: str | None = "2GB",
        compression: str = DEFAULT_COMPRESSION,
        write_threads: int | None = None,
        lock_wait: float = LOCK_WAIT,
        commit_wait: float = COMMIT_WAIT,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """Open (or create, unless read_only) the store at ``path``; its run
        files live in ``<path>.runs/`` (a temporary directory for
        ``":memory:"``, removed on close).

        ``memory_limit`` caps DuckDB's buffer pool; larger sorts spill to
        ``<path>.tmp``. None keeps DuckDB's default. ``compression`` is the
        Parquet codec of the files this store writes (one of COMPRESSIONS).
        ``write_threads`` background threads write a run's chunks (each
        chunk to its own files; default min(4, CPUs - 1), at least 1).

        The catalogue is opened only for moments (see the module
        docstring); while another process holds it, a session waits up to
        ``lock_wait`` seconds (a commit up to ``commit_wait``) and then
        raises a StoreError naming the holder. ``on_wait(message)`` is called
        once per session that has waited a second, e.g. to tell the user."""
        import duckdb

        self.read_only = read_only
        self.compression = _check_compression(compression)
        if write_threads is None:
            write_threads = max(1, min(4, (os.cpu_count() or 2) - 1))
        if int(write_threads) < 1:
            raise ValueError(f"write_threads must be at least 1, not {write_threads!r}")
        self.write_threads = int(write_threads)
        self.lock_wait = float(lock_wait)
        self.commit_wait = float(commit_wait)
        self.on_wait = on_wait
        self._display = str(path)
        self._tmp_runs: str | None = None
        self._con = None
        self._row_cache: dict[str, dict] = {}  # committed rows never change
        if str(path) == ":memory:":
            self.path = None
        else:
            self.path = Path(path).expanduser()
            if self.path.is_dir():
                raise _store_error(self._display, "database", "is a directory; expected a DuckDB database file")
            if read_only and not self.path.exists():
                raise _store_error(self._display, "database", "does not exist (no runs stored yet?)")
        self._key = ":memory:" if self.path is None else str(self.path.resolve())
        self._writers: list[RunWriter] = []
        try:
            if self.path is None:
                # the catalogue lives in this connection, for the store's life
                self._con = duckdb.connect(":memory:")
                self._tmp_runs = tempfile.mkdtemp(prefix="foedus-memory-runs-")
                self.runs_dir = Path(self._tmp_runs)
                self._key = f":memory:{self._tmp_runs}"
            else:
                self.runs_dir = self.path.resolve().with_name(self.path.name + ".runs")
                if self.runs_dir.exists() and not self.runs_dir.is_dir():
                    raise _store_error(
                        self._display, "runs directory", f"{self.runs_dir} exists but is not a directory"
                    )
            # check (or create) the schema; a writer also collects garbage
            with self._catalogue(write=not read_only) as cat:
                self._init_schema(cat)
                if not read_only:
                    self._collect_garbage(cat)
            if self.path is not None:
                # the query engine over the Parquet files: a private in-memory
                # database, so that reading a run never locks the catalogue
                self._con = duckdb.connect(":memory:")
                self._con.execute(f"SET temp_directory = {_lit(str(self.path) + '.tmp')}")
            if memory_limit:
                self._con.execute(f"SET memory_limit = {_lit(str(memory_limit))}")
        except BaseException as exc:
            if self._con is not None:
                self._con.close()
            self._con = None
            self._remove_tmp()
            if isinstance(exc, duckdb.Error):
                raise _store_error(
                    self._display, "database", f"is not a usable run store: {str(exc).splitlines()[0]}"
                ) from None
            raise

    # ------------------------------------------------------------ internals
    @contextlib.contextmanager
    def _catalogue(self, write: bool = False, wait: float | None = None) -> Iterator[Any]:
        """A short session on the catalogue: a DuckDB connection, read-only
        unless ``write``, closed (and the file unlocked) at the end."""
        if self.path is None:
            yield self._con
            return
        with _session_lock(self._key):
            con = self._connect(write, self.lock_wait if wait is None else wait)
            try:
                yield con
            finally:
                con.close()

    def _connect(self, write: bool, wait: float) -> Any:
        """Open the catalogue, retrying while another process holds it, for
        at most ``wait`` seconds."""
        import duckdb

        t0 = time.monotonic()
        delay, told = 0.005, False
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=not write)
            except duckdb.Error as exc:
                waited = time.monotonic() - t0
                if not _is_lock_conflict(exc) or waited >= wait:
                    raise _translate(self._display, exc, not write, round(waited, 1)) from None
                if self.on_wait is not None and not told and waited >= 1.0:
                    told = True
                    self.on_wait(
                        f"{self._display} is locked by {_holder(exc)}; waiting for it (at most {wait:g} s)"
                    )
                time.sleep(min(delay, max(wait - waited, 0.0)))
                delay = min(2 * delay, 0.1)

    def _all(self, sql: str, params: Sequence[Any] | None = None, con: Any = None) -> list[tuple]:
        """Rows of a catalogue query (in a session of its own unless ``con``)."""
        if con is None:
            with self._catalogue() as cat:
                return self._all(sql, params, cat)
        return con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()

    def _tables(self, con: Any) -> set[str]:
        return {r[0] for r in self._all("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'", con=con)}

    def _remove_tmp(self) -> None:
        if self._tmp_runs is not None:
            shutil.rmtree(self._tmp_runs, ignore_errors=True)
            self._tmp_runs = None

    def _init_schema(self, con: Any) -> None:
        tables = self._tables(con)
        if "store_info" in tables:
            row = self._all("SELECT value FROM store_info WHERE key = 'schema_version'", con=con)
            version = int(row[0][0]) if row else 0
            if version > SCHEMA_VERSION:
                raise _store_error(
                    self._display, "schema_version",
                    f"is {version}, written by a newer foedus (this one reads {SCHEMA_VERSION}); upgrade foedus",
                )
            if version < SCHEMA_VERSION:
                raise _store_error(
                    self._display, "schema_version",
                    f"is {version}, written by an older foedus that kept runs in DuckDB tables; this one reads "
                    f"schema {SCHEMA_VERSION} only (runs as Parquet files): use a new database file, or export "
                    "the old runs with the foedus that wrote them",
                )
            return
        if tables:
            raise _store_error(
                self._display, "database",
                "is a DuckDB database but not a foedus run store (it has other tables and no store_info)",
            )
        if self.read_only:
            raise _store_error(self._display, "database", "is an empty DuckDB database, not a foedus run store")
        from foedus import __version__

        con.execute("BEGIN")
        con.execute("CREATE TABLE store_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute(
            "INSERT INTO store_info VALUES ('schema_version', ?), ('created_by', ?), ('data_layout', ?)",
            [
                str(SCHEMA_VERSION), f"foedus {__version__}",
                "<database>.runs/<run_id>/{futures,results}-<seq>.parquet",
            ],
        )
        con.execute(
            """CREATE TABLE runs (
                run_id VARCHAR PRIMARY KEY,
                created_at VARCHAR NOT NULL,
                committed_at VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                foedus_version VARCHAR,
                seed BIGINT,
                sampler VARCHAR,
                n_futures BIGINT NOT NULL,
                n_packages INTEGER NOT NULL,
                chunk_size BIGINT,
                horizon_years DOUBLE,
                packages VARCHAR NOT NULL,
                overrides VARCHAR NOT NULL,
                input_names VARCHAR NOT NULL,
                metric_names VARCHAR NOT NULL,
                thresholds VARCHAR NOT NULL,
                summary VARCHAR NOT NULL,
                extra VARCHAR NOT NULL
            )"""
        )
        con.execute(
            """CREATE TABLE run_packages (
                run_id VARCHAR NOT NULL,
                package_idx SMALLINT NOT NULL,
                package_id VARCHAR NOT NULL,
                sha256 VARCHAR,
                title VARCHAR,
                PRIMARY KEY (run_id, package_idx)
            )"""
        )
        con.execute("COMMIT")

    def _run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def _view_sql(self, run_id: str, kind: str) -> str:
        """Body of the convenience view over a run's files: a glob (an
        explicit list if the path itself has glob characters)."""
        pattern = str(self._run_dir(run_id) / f"{kind}-*.parquet")
        if _has_glob(str(self._run_dir(run_id))):
            files = sorted(self._run_dir(run_id).glob(f"{kind}-*.parquet"))
            return "SELECT * FROM read_parquet([" + ", ".join(_lit(str(f)) for f in files) + "])"
        return f"SELECT * FROM read_parquet({_lit(pattern)})"

    def _create_views(self, con: Any, run_id: str) -> None:
        for kind in _KINDS:
            con.execute(f"CREATE OR REPLACE VIEW {_q(kind + '_' + run_id)} AS {self._view_sql(run_id, kind)}")

    def _source(self, run_id: str, kind: str, directory: Path | None = None) -> str:
        """``read_parquet([...])`` over the files of one kind of a run."""
        d = directory if directory is not None else self._run_dir(run_id)
        try:
            files = sorted(f for f in os.listdir(d) if f.startswith(kind + "-") and f.endswith(".parquet"))
        except OSError:
            files = []
        if not files:
            raise _store_error(
                self._display, "run " + run_id, f"its {kind} files are missing (expected {d}/{kind}-*.parquet)"
            )
        return "read_parquet([" + ", ".join(_lit(str(d / f)) for f in files) + "])"

    def _collect_garbage(self, con: Any) -> list[str]:
        """Remove the files of runs that never committed (crash, SIGKILL),
        views and run_packages rows without a run; re-point moved views.
        Runs under ``con``, a writable catalogue session, so no commit can
        happen meanwhile; a directory whose writer lock is held (a writer
        still at work, in any process) is left alone."""
        complete = {r[0] for r in self._all("SELECT run_id FROM runs", con=con)}
        with _ACTIVE_LOCK:
            active = set(_ACTIVE.get(self._key, ()))
        removed = []
        if self.runs_dir.is_dir():
            for entry in sorted(os.listdir(self.runs_dir)):
                m = _STAGING_DIR.match(entry)
                rid = m.group(1) if m else entry if _RUN_DIR.match(entry) else None
                if rid is None or rid in active or (m is None and rid in complete):
                    continue
                path = self.runs_dir / entry
                if not path.is_dir() or path.is_symlink():
                    continue
                fd = _claim(path)
                if fd is None:  # its writer is alive
                    continue
                try:
                    shutil.rmtree(path, ignore_errors=True)
                finally:
                    os.close(fd)
                removed.append(entry)
        views = {r[0]: r[1] for r in self._all("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal", con=con)}
        changed = False
        for name, sql in views.items():
            m = _VIEW.match(name)
            if m and m.group(2) not in complete:
                con.execute(f"DROP VIEW IF EXISTS {_q(name)}")
                changed = True
        for rid in sorted(complete):
            for kind in _KINDS:
                sql = views.get(f"{kind}_{rid}")
                if sql is None or _lit(str(self._run_dir(rid)))[1:-1] not in sql:  # the store moved
                    if self._run_dir(rid).is_dir():
                        try:
                            con.execute(
                                f"CREATE OR REPLACE VIEW {_q(kind + '_' + rid)} AS {self._view_sql(rid, kind)}"
                            )
                            changed = True
                        except Exception:  # a convenience only; reads do not use it
                            pass
        stray = self._all(
            "SELECT count(*) FROM run_packages WHERE run_id NOT IN (SELECT run_id FROM runs)", con=con
        )[0][0]
        if stray:
            con.execute("DELETE FROM run_packages WHERE run_id NOT IN (SELECT run_id FROM runs)")
        if changed or stray:
            con.execute("CHECKPOINT")
        return removed

    def _require_writable(self) -> None:
        if self.read_only:
            raise _store_error(self._display, "database", "is open read-only; cannot write or delete runs")

    _COLUMNS = (
        "run_id", "created_at", "committed_at", "status", "foedus_version", "seed", "sampler",
        "n_futures", "n_packages", "chunk_size", "horizon_years", "packages", "overrides",
        "input_names", "metric_names", "thresholds", "summary", "extra",
    )
    _JSON_COLUMNS = ("packages", "overrides", "input_names", "metric_names", "thresholds", "summary", "extra")

    def _rows(self, where: str = "", params: Sequence[Any] = ()) -> list[dict]:
        sql = f"SELECT {', '.join(self._COLUMNS)} FROM runs WHERE status = 'complete' {where} ORDER BY created_at, run_id"
        out = []
        for values in self._all(sql, list(params)):
            d = dict(zip(self._COLUMNS, values))
            for k in self._JSON_COLUMNS:
                d[k] = json.loads(d[k])
            # runs stored before precision was recorded are float64
            d["precision"] = d["extra"].pop("precision", "float64")
            out.append(d)
        return out

    def _row(self, run_id: str) -> dict:
        """A complete run's row. Committed rows never change, so each is read
        from the catalogue once per RunStore (a deleted run's files are
        missing, which its readers report)."""
        rid = str(run_id)
        if rid not in self._row_cache:
            rows = self._rows("AND run_id = ?", [rid])
            if not rows:
                raise _store_error(self._display, "run_id", f"no run {run_id} in this store", RunNotFoundError)
            self._row_cache[rid] = rows[0]
        return json.loads(json.dumps(self._row_cache[rid]))  # callers may change their copy

    # ------------------------------------------------------------ public API
    def begin_run(
        self,
        meta: Mapping[str, Any],
        input_names: Sequence[str],
        metric_names: Sequence[str],
        package_ids: Sequence[str],
        precision: str = DEFAULT_PRECISION,
    ) -> RunWriter:
        """Start a run; use the returned writer as a context manager and call
        ``commit()`` inside it. ``meta`` keys: foedus_version, packages
        (list of {id, sha256, title}), overrides, seed, sampler, n_futures,
        chunk_size, horizon_years, thresholds, extra; any other key is kept
        in ``extra``. ``precision`` (one of PRECISIONS) is the float type
        the inputs and metrics are stored as: float32 rounds each evaluated
        number to nearest, float64 keeps it exactly. ``get_run`` reports
        it as ``precision``."""
        self._require_writable()
        return RunWriter(self, dict(meta), input_names, metric_names, package_ids, precision)

    def list_runs(self) -> list[dict]:
        """Metadata of every complete run, oldest first."""
        return self._rows()

    def get_run(self, run_id: str) -> dict:
        """Metadata of one complete run; RunNotFoundError if there is none."""
        return self._row(run_id)

    def run_files(self, run_id: str) -> list[Path]:
        """The Parquet files of a complete run (futures, then results)."""
        d = self._run_dir(self._row(run_id)["run_id"])
        return [d / f for kind in _KINDS for f in sorted(os.listdir(d)) if f.startswith(kind + "-")] if d.is_dir() else []

    def _float64(self, row: dict, kind: str, alias: str = "") -> str:
        """The SQL select list of a run's float columns as DOUBLE (a float32
        run's values widened exactly; a float64 run's as stored)."""
        names = row["input_names"] if kind == "futures" else row["metric_names"]
        return ", ".join(f"CAST({alias}{_q(n)} AS DOUBLE) AS {_q(n)}" for n in names)

    def futures(self, run_id: str) -> pd.DataFrame:
        """The sampled futures: future_id and one float64 column per input, by future_id."""
        row = self._row(run_id)
        cols = self._float64(row, "futures")
        return self._con.sql(
            f"SELECT future_id{', ' + cols if cols else ''} FROM {self._source(row['run_id'], 'futures')} ORDER BY future_id"
        ).df()

    def results(self, run_id: str, package_id: str | None = None) -> pd.DataFrame:
        """Results in long format: package_id (categorical, in package order),
        future_id, one float64 column per metric; ordered by package then future."""
        import pandas as pd

        row = self._row(run_id)
        ids = [p["id"] for p in row["packages"]]
        where = ""
        if package_id is not None:
            if package_id not in ids:
                raise _store_error(
                    self._display, "package_id",
                    f"no package {package_id} in run {row['run_id']} (has: {', '.join(ids)})", RunNotFoundError,
                )
            where = f"WHERE package_idx = {ids.index(package_id)}"
        src = self._source(row["run_id"], "results")
        cols = self._float64(row, "results")
        df = self._con.sql(
            f"SELECT package_idx, future_id{', ' + cols if cols else ''} FROM {src} {where} ORDER BY package_idx, future_id"
        ).df()
        codes = df.pop("package_idx").to_numpy()
        df.insert(0, "package_id", pd.Categorical.from_codes(codes, categories=ids))
        return df

    def quantiles_exact(self, run_id: str) -> bool:
        """Whether :meth:`quantiles` of this run are exact (its result rows
        are at most EXACT_QUANTILE_ROWS) or t-digest estimates."""
        row = self._row(run_id)
        return int(row["n_futures"]) * len(row["packages"]) <= EXACT_QUANTILE_ROWS

    def quantiles(self, run_id: str, metrics: Sequence[str], qs: Sequence[float]) -> dict[str, dict[str, dict[str, float]]]:
        """Quantiles of stored metrics per package, computed by DuckDB
        without loading the results: ``{package_id: {metric: {"p5": ...}}}``.
        Exact (``quantile_cont``, as ``numpy.percentile``), one metric at a
        time, for runs of up to EXACT_QUANTILE_ROWS result rows; beyond,
        t-digest estimates (``approx_quantile``) in bounded memory
        (:meth:`quantiles_exact` says which)."""
        row = self._row(run_id)
        ids = [p["id"] for p in row["packages"]]
        known = set(row["metric_names"])
        metrics = [m for m in metrics if m in known]
        out: dict[str, dict[str, dict[str, float]]] = {pid: {} for pid in ids}
        if not metrics:
            return out
        qlist = "[" + ", ".join(repr(float(q)) for q in qs) + "]"
        agg = "quantile_cont" if self.quantiles_exact(run_id) else "approx_quantile"
        src = self._source(row["run_id"], "results")
        for m in metrics:  # one at a time: an exact quantile holds every value of its column
            sql = f"SELECT package_idx, {agg}(CAST({_q(m)} AS DOUBLE), {qlist}) FROM {src} GROUP BY package_idx ORDER BY package_idx"
            for idx, values in self._con.execute(sql).fetchall():
                out[ids[idx]][m] = {f"p{round(q * 100):g}": float(v) for q, v in zip(qs, values)}
        return out

    def results_hash(self, run_id: str) -> str:
        """SHA-256 over names, futures (by future_id) and results (by package
        order, then future_id), column by column as little-endian int64 /
        float64 (NaN canonical; float32 values widened exactly, so a
        float32 run hashes as its float64 export). Independent of chunking,
        file layout and codec; equal iff the runs hold the same numbers
        under the same names.

        The rows are read chunk file by chunk file in future-id order
        (:meth:`_files_by_future_id`), the results once per package, each
        chunk sorted on its own if its rows are not in order: memory is one
        chunk, and nothing goes to disk. A DuckDB ``ORDER BY`` over the whole
        run gives the same bytes, but sorts on disk beyond DuckDB's memory
        limit (25 GB of temporary files at 1e8 futures); it is used only when
        the chunks' id ranges overlap."""
        row = self._row(run_id)
        rid = row["run_id"]
        header = {
            "inputs": row["input_names"],
            "metrics": row["metric_names"],
            "packages": [p["id"] for p in row["packages"]],
            "n_futures": row["n_futures"],
        }
        top = hashlib.sha256(b"foedus-results-v1\0" + _dumps(header).encode())
        for kind in ("futures", "results"):
            names = self._con.sql(f"SELECT * FROM {self._source(rid, kind)} LIMIT 0").columns
            tables = self._rows_in_order(rid, kind, len(header["packages"]))
            digests = [hashlib.sha256() for _ in names]
            for table in tables:
                for i, h in enumerate(digests):
                    h.update(_hash_bytes(table.column(i).to_numpy(zero_copy_only=False)))
            for n, h in zip(names, digests):
                top.update(n.encode() + b"\0" + h.digest())
        return top.hexdigest()

    def _rows_in_order(self, run_id: str, kind: str, n_packages: int) -> Iterator[Any]:
        """A run's rows of one kind as Arrow tables (or record batches), in
        the order of ``results_hash`` and ``export``: futures by future id,
        results by package, then future id. Read chunk file by chunk file
        when their id ranges do not overlap (:meth:`_files_by_future_id`),
        with a DuckDB ``ORDER BY`` over the whole run otherwise."""
        files = self._files_by_future_id(run_id, kind)
        if files is None:
            order = "future_id" if kind == "futures" else "package_idx, future_id"
            return iter(_arrow_reader(self._con.sql(f"SELECT * FROM {self._source(run_id, kind)} ORDER BY {order}")))
        if kind == "futures":
            return self._chunk_tables(files)
        return (t for p in range(n_packages) for t in self._chunk_tables(files, f"WHERE package_idx = {p}"))

    def _files_by_future_id(self, run_id: str, kind: str) -> list[Path] | None:
        """A run's files of one kind (one per chunk) ordered by future id, if
        their id ranges (smallest to largest id, from the statistics in each
        file's footer) do not overlap; None if they do or a file has no
        statistics. Then sorting each file on its own sorts the run: a
        committed run's future ids are unique (``commit`` checks), and
        whether a chunk's ids are consecutive does not matter."""
        spans = []
        for f in self._run_dir(run_id).glob(f"{kind}-*.parquet"):
            span = _id_span(f)
            if span is None:
                return None
            spans.append((*span, f))
        spans.sort()
        if not spans or any(b[0] <= a[1] for a, b in zip(spans, spans[1:])):
            return None
        return [f for *_, f in spans]

    def _chunk_tables(self, files: Sequence[Path], where: str = "", con: Any = None) -> Iterator[Any]:
        """Each file's rows (those ``where`` selects) as an Arrow table, in
        file order, sorted by future_id within the file if they are not
        (read on ``con``, default the store's connection)."""
        import numpy as np

        con = con if con is not None else self._con
        for f in files:
            table = _arrow_reader(con.sql(f"SELECT * FROM read_parquet({_lit(str(f))}) {where}")).read_all()
            ids = table.column("future_id").to_numpy()
            if np.any(ids[1:] < ids[:-1]):
                table = table.take(np.argsort(ids, kind="stable"))
            yield table

    def export(self, run_id: str, out_dir: str | Path, fmt: str = "parquet", *, include_hash: bool = True) -> list[Path]:
        """Write futures.<fmt>, results.<fmt> (package_id, future_id,
        metrics; by package then future) and metadata.json into out_dir.
        Inputs and metrics are exported as float64: a float64 run's numbers
        exactly as evaluated, a float32 run's stored values widened (exact
        widening, no further rounding)."""
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"export format must be 'parquet' or 'csv', not {fmt!r}")
        row = self._row(run_id)
        rid = row["run_id"]
        out = Path(out_dir).expanduser()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file of that name, no permission, a read-only disk
            raise _store_error(str(out), "out", f"a directory to write the export into ({exc.strerror or exc})") from None
        opts = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
        fut_path = out / f"futures.{fmt}"
        res_path = out / f"results.{fmt}"
        metrics = self._float64(row, "results", "r.")
        inputs = self._float64(row, "futures", "r.")
        ids = "[" + ", ".join(_lit(p["id"]) for p in row["packages"]) + "]"
        for kind, path, select, order in (
            ("futures", fut_path, f"r.future_id{', ' + inputs if inputs else ''}", "r.future_id"),
            ("results", res_path, f"list_extract({ids}, r.package_idx + 1) AS package_id, r.future_id{', ' + metrics if metrics else ''}",
             "r.package_idx, r.future_id"),
        ):
            files = self._files_by_future_id(rid, kind)
            if files is None:  # chunks of overlapping ids: DuckDB sorts the run
                self._con.execute(f"COPY (SELECT {select} FROM {self._source(rid, kind)} r ORDER BY {order}) TO {_lit(str(path))} {opts}")
                continue
            # the chunk files' rows stream in order, read on a connection of
            # their own while this one writes (DuckDB keeps the order of what
            # it scans): no sort of the whole run on disk
            reader = self._con.cursor()
            try:
                tables = self._chunk_tables(files, con=reader) if kind == "futures" else (
                    t for p in range(len(row["packages"])) for t in self._chunk_tables(files, f"WHERE package_idx = {p}", con=reader))
                self._con.register("_export_rows", _stream(tables))
                try:
                    self._con.execute(f"COPY (SELECT {select} FROM _export_rows r) TO {_lit(str(path))} {opts}")
                finally:
                    self._con.unregister("_export_rows")
            finally:
                reader.close()
        meta = dict(row)
        if include_hash:
            meta["results_hash"] = self.results_hash(rid)
        meta_path = out / "metadata.json"
        meta_path.write_text(json.dumps(meta, default=_json_default, indent=2, allow_nan=True) + "\n")
        return [fut_path, res_path, meta_path]

    def delete_run(self, run_id: str) -> None:
        """Remove a complete run: its rows and views in one transaction (the
        run is gone from then on), then its directory."""
        self._require_writable()
        rid = self._row(run_id)["run_id"]
        with self._catalogue(write=True) as cat:
            cat.execute("BEGIN")
            try:
                cat.execute("DELETE FROM runs WHERE run_id = ?", [rid])
                cat.execute("DELETE FROM run_packages WHERE run_id = ?", [rid])
                for kind in _KINDS:
                    cat.execute(f"DROP VIEW IF EXISTS {_q(kind + '_' + rid)}")
                cat.execute("COMMIT")
            except BaseException:
                cat.execute("ROLLBACK")
                raise
        self._row_cache.pop(rid, None)
        shutil.rmtree(self._run_dir(rid), ignore_errors=True)  # a leftover is garbage-collected later

    def close(self) -> None:
        """Roll back writers still open, then close the file."""
        try:
            for w in list(self._writers):
                w.rollback()
        finally:
            con, self._con = getattr(self, "_con", None), None
            if con is not None:
                con.close()
            self._remove_tmp()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({self._display!r}, read_only={self.read_only})"


class RunWriter:
    """Writes one run chunk by chunk; invisible until ``commit()``.

    Use as a context manager: leaving the block by an exception, or without
    ``commit()``, rolls the run back (removes its files).
    """

    def __init__(
        self,
        store: RunStore,
        meta: dict,
        input_names: Sequence[str],
        metric_names: Sequence[str],
        package_ids: Sequence[str],
        precision: str = DEFAULT_PRECISION,
    ) -> None:
        from foedus import __version__

        self._store = store
        self.precision = _check_precision(precision)
        self.input_names = _check_names("input", input_names)
        self.metric_names = _check_names("metric", metric_names)
        self.package_ids = [str(p) for p in package_ids]
        if not self.package_ids:
            raise ValueError("a run needs at least one package")
        if len(set(self.package_ids)) != len(self.package_ids):
            raise ValueError(f"package ids repeat: {self.package_ids}")
        if len(self.package_ids) > 32767:
            raise ValueError("at most 32767 packages per run")
        self.packages = self._package_meta(meta.pop("packages", None))
        self.created_at = _now()
        self._meta = meta
        self._meta.setdefault("foedus_version", __version__)
        for key in ("seed", "n_futures", "chunk_size"):
            if meta.get(key) is not None:
                try:
                    meta[key] = operator.index(meta[key])
                except TypeError:
                    raise ValueError(f"meta[{key!r}] must be an integer, not {meta[key]!r}") from None
        self._n_written = 0
        self._seq = 0
        #: (first, last) future id of each chunk while every chunk's ids are
        #: consecutive (as explore writes them); None once one is not
        self._ranges: list[tuple[int, int]] | None = []
        self._state = "open"
        self._error: BaseException | None = None
        self._cancelled = False
        self._closing = threading.Event()
        self._n_threads = store.write_threads
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._threads: list[threading.Thread] = []
        self._compression = store.compression
        #: set by target(): the run's chunks are written by other processes
        self._target: ChunkTarget | None = None
        self._lock_fd: int | None = None
        self.run_id = ""
        #: where the run's files are now: the staging directory until commit
        self.directory = store.runs_dir
        self._make_directory()
        store._writers.append(self)

    def _make_directory(self) -> None:
        """Create the staging directory and take its writer lock, which
        garbage collectors (of any process) respect while this writer lives.
        A collector that claimed the new directory first (it looked like a
        dead writer's) wins; then start again under another run id."""
        import fcntl

        store = self._store
        for _ in range(20):
            self.run_id = "r" + uuid.uuid4().hex[:10]
            self.directory = store.runs_dir / f".staging-{self.run_id}"
            with _ACTIVE_LOCK:
                _ACTIVE.setdefault(store._key, set()).add(self.run_id)
            fd, created = None, False
            try:
                store.runs_dir.mkdir(exist_ok=True)
                try:
                    self.directory.mkdir()
                except FileExistsError:
                    continue  # the same id twice (40 random bits): draw another
                created = True
                fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise FileNotFoundError(errno.ENOENT, "claimed by a collector") from None
                    # no locks on this file system: collectors cannot claim
                    # anything here either, so the directory is safe (but a
                    # crashed writer's is never collected)
                if os.fstat(fd).st_nlink == 0:  # removed by a collector before we locked it
                    raise FileNotFoundError(errno.ENOENT, "removed by a collector")
                self._lock_fd, fd = fd, None
                return
            except FileNotFoundError:
                if not store.runs_dir.is_dir():
                    self._unregister()
                    raise _store_error(
                        store._display, "runs directory", f"{store.runs_dir} disappeared while creating a run"
                    ) from None
                continue  # a collector took it: try another run id
            except OSError as exc:
                self._unregister()
                if created:
                    shutil.rmtree(self.directory, ignore_errors=True)
                raise _store_error(
                    store._display, "runs directory", f"{self.directory} cannot be created: {exc.strerror or exc}"
                ) from None
            finally:
                if fd is not None:
                    os.close(fd)
                if self._lock_fd is None:
                    with _ACTIVE_LOCK:
                        _ACTIVE.get(store._key, set()).discard(self.run_id)
        raise _store_error(store._display, "runs directory", f"{store.runs_dir}: cannot create a run directory")

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def _package_meta(self, given: Any) -> list[dict]:
        by_id: dict[str, dict] = {}
        for p in given or []:
            p = dict(p)
            if "id" not in p:
                raise ValueError(f"meta['packages'] entries need an 'id': {p!r}")
            by_id[str(p["id"])] = p
        if given and set(by_id) != set(self.package_ids):
            raise ValueError(
                f"meta['packages'] ids {sorted(by_id)} differ from package_ids {sorted(self.package_ids)}"
            )
        out = []
        for pid in self.package_ids:
            p = by_id.get(pid, {})
            out.append({"id": pid, "sha256": p.get("sha256"), "title": p.get("title")})
        return out

    # ------------------------------------------------------------ writing
    def write_chunk(self, future_ids: np.ndarray, inputs: np.ndarray, results: np.ndarray) -> None:
        """Append m futures: future_ids (m,) integers, inputs (m, n_inputs),
        results (n_packages, m, n_metrics). The arrays are copied; the caller
        may reuse them as soon as this returns."""
        self._check_open()
        if self._target is not None:
            raise ValueError(f"run {self.run_id}: its chunks are written through its target(), not write_chunk")
        self._raise_background_error()
        fids, inp, res = _checked_chunk(future_ids, inputs, results, len(self.input_names), len(self.package_ids), len(self.metric_names))
        m = fids.shape[0]
        if m == 0:
            return
        columns = _columns(fids, inp, res, self.precision)
        self._add_range(int(fids[0]), int(fids[-1]), m, fids)
        if not self._threads:
            self._closing.clear()
            self._threads = [
                threading.Thread(target=self._drain, name=f"foedus-store-{self.run_id}-{i}", daemon=True)
                for i in range(self._n_threads)
            ]
            for t in self._threads:
                t.start()
        self._queue.put((self._seq, columns))
        self._seq += 1
        self._n_written += m

    def _add_range(self, first: int, last: int, m: int, fids: np.ndarray | None = None) -> None:
        """Keep the id range of a chunk of ``m`` futures while every chunk's
        ids are consecutive (``fids``: its ids, to check that they are)."""
        import numpy as np

        if self._ranges is None:
            return
        if last - first == m - 1 and (fids is None or m == 1 or bool(np.all(np.diff(fids) == 1))):
            self._ranges.append((first, last))
        else:
            self._ranges = None

    def target(self) -> ChunkTarget:
        """Where and how this run's chunks are written, for processes that
        write them themselves (Dask workers that see this directory): each
        writes chunk ``seq`` with :meth:`ChunkTarget.write`, and this
        writer is told of it with :meth:`written`. A run is written either
        this way or by :meth:`write_chunk`, not both (chunk numbers would
        collide)."""
        self._check_open()
        if self._seq:
            raise ValueError(f"run {self.run_id}: chunks were already written with write_chunk")
        self._target = ChunkTarget(str(self.directory), tuple(self.input_names), tuple(self.metric_names), len(self.package_ids),
                                   self.precision, self._compression)
        return self._target

    def written(self, first_id: int, m: int) -> None:
        """Count a chunk of ``m`` futures, ids ``first_id .. first_id + m - 1``,
        that a :meth:`target` holder wrote. The commit checks the counts
        against the files themselves."""
        self._check_open()
        if self._target is None:
            raise ValueError(f"run {self.run_id}: written() counts chunks written through target()")
        if m <= 0:
            return
        self._add_range(int(first_id), int(first_id) + int(m) - 1, int(m))
        self._n_written += int(m)

    def _drain(self) -> None:
        """Background thread: write each queued chunk as two Parquet files
        (threads take chunks in turn; file names carry the chunk's number)."""
        while True:
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._closing.is_set():
                    return
                continue
            if self._error is not None or self._cancelled:
                continue  # drain the queue so that producers never block
            seq, columns = item
            try:
                _write_files(self.directory, seq, self.input_names, self.metric_names, columns, self._compression)
            except BaseException as exc:  # surfaced in the caller's thread
                self._error = exc

    def _flush(self) -> None:
        """Wait until every queued chunk is on disk; stop the threads. Safe
        to call again after an interruption (nothing here blocks on a thread
        that has already stopped)."""
        self._closing.set()
        for t in self._threads:
            t.join()
        self._threads = []

    def _raise_background_error(self) -> None:
        if self._error is not None:
            err = self._error
            first = (str(err).splitlines() or [""])[0]
            raise _store_error(
                self._store._display, "run " + self.run_id, f"writing a chunk failed: {type(err).__name__}: {first}"
            ) from err

    def _check_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"run {self.run_id} is already {self._state}")

    # ------------------------------------------------------------ finishing
    def _count_futures(self, con: Any, store: RunStore, rid: str) -> tuple[int, int]:
        """Rows and distinct future ids in the futures files. When every chunk
        held consecutive ids, they are distinct exactly when the chunks'
        ranges do not overlap: checked on the ranges, in memory that does not
        grow with the run (``count(DISTINCT)`` over 1e8 ids took 1.7 GB)."""
        src = store._source(rid, "futures", self.directory)
        ranges = sorted(self._ranges or [])
        if self._ranges is None or any(b[0] <= a[1] for a, b in zip(ranges, ranges[1:])):
            return con.execute(f"SELECT count(*), count(DISTINCT future_id) FROM {src}").fetchall()[0]
        rows = con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0]
        return rows, sum(last - first + 1 for first, last in ranges)

    def commit(self, summary: Mapping[str, Any] | None = None) -> str:
        """Make the run visible: rename its directory into place, then insert
        its row (one transaction). Returns its run_id."""
        self._check_open()
        self._flush()
        self._raise_background_error()
        store, con, rid = self._store, self._store._con, self.run_id  # con: the query engine
        _remove_partial_files(self.directory)
        n = self._n_written
        if n == 0:
            raise ValueError(f"run {rid}: no futures written")
        declared = self._meta.get("n_futures")
        if declared is not None and int(declared) != n:
            raise ValueError(f"run {rid}: meta n_futures={declared} but {n} futures were written")
        fut_rows, fut_unique = self._count_futures(con, store, rid)
        res_rows = con.execute(f"SELECT count(*) FROM {store._source(rid, 'results', self.directory)}").fetchall()[0][0]
        if fut_rows != n or fut_unique != n or res_rows != n * len(self.package_ids):
            raise ValueError(
                f"run {rid}: {fut_rows} future rows ({fut_unique} distinct ids) and {res_rows} result rows "
                f"for {n} futures x {len(self.package_ids)} packages; future ids must be unique"
            )
        meta = dict(self._meta)
        known = {}
        for key in ("foedus_version", "seed", "sampler", "chunk_size", "horizon_years"):
            known[key] = meta.pop(key, None)
        overrides = meta.pop("overrides", None)
        if overrides is None:
            overrides = meta.pop("parameter_overrides", None)
        thresholds = meta.pop("thresholds", None) or {}
        meta.pop("n_futures", None)
        extra = dict(meta.pop("extra", None) or {})
        extra.update(meta)  # unknown keys are kept, not lost
        extra["precision"] = self.precision  # get_run shows it as "precision"
        horizon = known["horizon_years"]
        row = [
            rid, self.created_at, _now(), "complete",
            None if known["foedus_version"] is None else str(known["foedus_version"]),
            None if known["seed"] is None else int(known["seed"]),
            None if known["sampler"] is None else str(known["sampler"]),
            n, len(self.package_ids),
            None if known["chunk_size"] is None else int(known["chunk_size"]),
            None if horizon is None else float(horizon),
            _dumps(self.packages), _dumps(overrides or {}), _dumps(self.input_names),
            _dumps(self.metric_names), _dumps(thresholds), _dumps(dict(summary or {})), _dumps(extra),
        ]
        # 1. the files are durable (each was fsynced when written); make the
        #    directory entry durable
        final = store._run_dir(rid)
        _fsync(self.directory)
        try:
            # 2. a writable catalogue session (waiting, interruptibly, while
            #    another process holds the file) ...
            with store._catalogue(write=True, wait=store.commit_wait) as cat:
                # ... in which SIGINT and SIGTERM wait until the run is
                # either in place and listed, or gone
                with defer_signals():
                    os.rename(self.directory, final)
                    self.directory = final
                    _fsync(store.runs_dir)
                    # 3. the visibility flip: one transaction
                    cat.execute("BEGIN")
                    try:
                        cat.execute(
                            "INSERT INTO run_packages VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * len(self.packages)),
                            [v for i, p in enumerate(self.packages) for v in (rid, i, p["id"], p["sha256"], p["title"])],
                        )
                        cat.execute(f"INSERT INTO runs VALUES ({', '.join(['?'] * len(row))})", row)
                        store._create_views(cat, rid)
                        cat.execute("COMMIT")
                    except BaseException:
                        try:
                            cat.execute("ROLLBACK")
                        except Exception:
                            pass
                        self.rollback()
                        raise
                    self._state = "committed"
        finally:
            if self._state == "committed":
                try:
                    os.unlink(final / _LOCK_FILE)
                except OSError:
                    pass
                self._release_lock()
                self._unregister()
        return rid

    def rollback(self) -> None:
        """Discard the run: remove its files. Idempotent. SIGINT and SIGTERM
        wait until the files are gone (at most the chunk being written
        finishes first)."""
        with defer_signals():
            if self._state != "open":
                return
            self._state = "rolled back"
            self._cancelled = True  # queued chunks are not written
            try:
                self._flush()
            finally:
                try:
                    shutil.rmtree(self.directory, ignore_errors=True)
                finally:
                    self._release_lock()
                    self._unregister()

    def _unregister(self) -> None:
        with _ACTIVE_LOCK:
            _ACTIVE.get(self._store._key, set()).discard(self.run_id)
        if self in self._store._writers:
            self._store._writers.remove(self)

    @property
    def state(self) -> str:
        """``"open"``, ``"committed"`` or ``"rolled back"``."""
        return self._state

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._state == "open":
            self.rollback()

    def __repr__(self) -> str:
        return f"RunWriter({self.run_id!r}, {self._state}, {self._n_written} futures)"
