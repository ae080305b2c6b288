"""The run store: a DuckDB catalogue plus one directory of Parquet files per run.

What it owns
------------
One DuckDB database file (default ``foedus-runs.duckdb`` in the working
directory) holding every run's metadata, and beside it a directory
``<database>.runs/`` holding every run's data as Parquet files: the sampled
futures (one row per future, one DOUBLE column per uncertain input) and the
results (one row per package and future, one DOUBLE column per metric).
Callers hand results over in chunks of NumPy arrays; readers get pandas
DataFrames, Parquet or CSV exports and a content hash that proves two runs
identical. DuckDB stays the query engine: every read goes through
``read_parquet`` over the run's files.

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

Atomicity
---------
A run is visible only when it is complete:

* ``begin_run`` creates the staging directory ``.staging-<run_id>/``.
* Each ``write_chunk`` hands the chunk to background threads
  (``RunStore(write_threads=...)``, default min(4, CPUs - 1)); one of them
  writes ``futures-<seq>.parquet`` and ``results-<seq>.parquet`` (pyarrow,
  float64, codec ``RunStore(compression=...)``, default lz4) and fsyncs
  them, while the caller computes its next chunk. At most one chunk waits in
  the queue (bounded memory: threads + 1 chunks; back-pressure).
* ``commit`` checks the counts (futures unique, one result row per package
  and future, ``n_futures`` as declared), fsyncs the staging directory,
  renames it to ``<run_id>/`` (atomic within one file system; both live in
  ``<database>.runs/``), fsyncs the parent, and then, in a single DuckDB
  transaction, inserts the run's row in ``runs`` (status ``complete``), its
  rows in ``run_packages`` and two convenience views. That insert is the
  visibility flip: every read (``list_runs``, ``get_run``, ``futures``,
  ``results``, ``quantiles``, ``results_hash``, ``export``) starts from
  ``runs``, so files without a ``runs`` row are never seen.
* Leaving the ``with store.begin_run(...)`` block by an exception, or
  without ``commit()``, removes the run's directory. A crash or SIGKILL
  cannot: before the rename it leaves a ``.staging-*`` directory, between
  the rename and the insert a run directory without a ``runs`` row. Opening
  the store for writing garbage-collects both (and any view or stray
  ``run_packages`` row without its run), except the directories of writers
  still open in this process. DuckDB's write-ahead log keeps every committed
  transaction, hence every earlier run, intact across a crash.
* ``delete_run`` deletes the rows and views in one transaction (the run is
  gone from then on), then removes the directory; a leftover directory (a
  crash in between) is garbage-collected as above.
* DuckDB lets one process open a file for writing at a time; a second one
  (or any reader while a writer holds it) gets a ``StoreError`` naming the
  file and the process holding it, as does a path that is a directory, a
  missing read-only store, a file that is not a DuckDB database, or a store
  of another schema version. Only the process holding the database for
  writing touches ``<database>.runs/``, so the lock covers the files too.

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
    ``summary`` (given to ``commit``) and ``extra`` (everything else).
``run_packages(run_id, package_idx SMALLINT, package_id, sha256, title)``
    PRIMARY KEY (run_id, package_idx); maps ``results.package_idx`` to ids.
``futures-<seq>.parquet``: ``future_id`` int64, ``"<input>"`` double, ...
    one row per future; input names such as ``will.USA`` are quoted in SQL.
``results-<seq>.parquet``: ``package_idx`` int16, ``future_id`` int64, ``"<metric>"`` double, ...
    long format, one row per (package, future).
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

import hashlib
import json
import operator
import os
import queue
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foedus.domain.errors import InputError, Problem

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

__all__ = [
    "COMPRESSIONS", "DEFAULT_COMPRESSION", "DEFAULT_PATH", "SCHEMA_VERSION",
    "RunNotFoundError", "RunStore", "RunWriter", "StoreError",
]

DEFAULT_PATH = "foedus-runs.duckdb"
SCHEMA_VERSION = 2
#: Parquet codecs for the run files ("zstd" means zstd level 1).
COMPRESSIONS = ("none", "snappy", "lz4", "zstd")
DEFAULT_COMPRESSION = "lz4"

_VIEW = re.compile(r"^(futures|results)_(r[0-9a-f]{10})$")
_RUN_DIR = re.compile(r"^r[0-9a-f]{10}$")
_STAGING_DIR = re.compile(r"^\.staging-(r[0-9a-f]{10})$")
_RESERVED = {"future_id", "package_idx", "package_id"}
_HASH_BATCH = 1 << 18
_BLOCK = 4096
_KINDS = ("futures", "results")

# run ids of writers open in this process, per resolved database path: the
# garbage collector of a second RunStore on the same file must spare them.
_ACTIVE: dict[str, set[str]] = {}
_ACTIVE_LOCK = threading.Lock()
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


def _translate(path: str, exc: Exception, read_only: bool) -> StoreError:
    """Turn a DuckDB open error into a one-line StoreError naming the file."""
    msg = str(exc)
    low = msg.lower()
    if "could not set lock" in low or "conflicting lock" in low:
        pid = re.search(r"PID (\d+)", msg)
        who = f"another process (PID {pid.group(1)})" if pid else "another process"
        return _store_error(
            path, "database",
            f"is in use by {who}; DuckDB allows one writer (and no reader while it writes): "
            "wait for it to finish or use another database file",
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


class RunStore:
    """The DuckDB catalogue and the Parquet files of every run. One process
    per file at a time for writing; see the module docstring for the design."""

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        read_only: bool = False,
        memory_limit: str | None = "2GB",
        compression: str = DEFAULT_COMPRESSION,
        write_threads: int | None = None,
    ) -> None:
        """Open (or create, unless read_only) the store at ``path``; its run
        files live in ``<path>.runs/`` (a temporary directory for
        ``":memory:"``, removed on close).

        ``memory_limit`` caps DuckDB's buffer pool; larger sorts spill to
        ``<path>.tmp``. None keeps DuckDB's default. ``compression`` is the
        Parquet codec of the files this store writes (one of COMPRESSIONS).
        ``write_threads`` background threads write a run's chunks (each
        chunk to its own files; default min(4, CPUs - 1), at least 1)."""
        import duckdb

        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, not {compression!r}")
        self.read_only = read_only
        self.compression = compression
        if write_threads is None:
            write_threads = max(1, min(4, (os.cpu_count() or 2) - 1))
        if int(write_threads) < 1:
            raise ValueError(f"write_threads must be at least 1, not {write_threads!r}")
        self.write_threads = int(write_threads)
        self._display = str(path)
        self._tmp_runs: str | None = None
        self._con = None
        if str(path) == ":memory:":
            self.path = None
            target = ":memory:"
        else:
            self.path = Path(path).expanduser()
            target = str(self.path)
            if self.path.is_dir():
                raise _store_error(self._display, "database", "is a directory; expected a DuckDB database file")
            if read_only and not self.path.exists():
                raise _store_error(self._display, "database", "does not exist (no runs stored yet?)")
        self._key = target if target == ":memory:" else str(self.path.resolve())
        self._writers: list[RunWriter] = []
        try:
            self._con = duckdb.connect(target, read_only=read_only)
        except duckdb.Error as exc:
            raise _translate(self._display, exc, read_only) from None
        try:
            if self.path is None:
                self._tmp_runs = tempfile.mkdtemp(prefix="foedus-memory-runs-")
                self.runs_dir = Path(self._tmp_runs)
                self._key = f":memory:{self._tmp_runs}"
            else:
                self.runs_dir = self.path.resolve().with_name(self.path.name + ".runs")
                if self.runs_dir.exists() and not self.runs_dir.is_dir():
                    raise _store_error(
                        self._display, "runs directory", f"{self.runs_dir} exists but is not a directory"
                    )
            if memory_limit:
                self._con.execute(f"SET memory_limit = {_lit(str(memory_limit))}")
            self._init_schema()
            if not read_only:
                self._collect_garbage()
        except BaseException as exc:
            self._con.close()
            self._con = None
            self._remove_tmp()
            if isinstance(exc, duckdb.Error):
                raise _store_error(
                    self._display, "database", f"is not a usable run store: {str(exc).splitlines()[0]}"
                ) from None
            raise

    # ------------------------------------------------------------ internals
    def _all(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self._con.execute(sql, params).fetchall() if params is not None else self._con.execute(sql).fetchall()

    def _tables(self) -> set[str]:
        return {r[0] for r in self._all("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")}

    def _remove_tmp(self) -> None:
        if self._tmp_runs is not None:
            shutil.rmtree(self._tmp_runs, ignore_errors=True)
            self._tmp_runs = None

    def _init_schema(self) -> None:
        tables = self._tables()
        if "store_info" in tables:
            row = self._all("SELECT value FROM store_info WHERE key = 'schema_version'")
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

        self._con.execute("BEGIN")
        self._con.execute("CREATE TABLE store_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
        self._con.execute(
            "INSERT INTO store_info VALUES ('schema_version', ?), ('created_by', ?), ('data_layout', ?)",
            [
                str(SCHEMA_VERSION), f"foedus {__version__}",
                "<database>.runs/<run_id>/{futures,results}-<seq>.parquet",
            ],
        )
        self._con.execute(
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
        self._con.execute(
            """CREATE TABLE run_packages (
                run_id VARCHAR NOT NULL,
                package_idx SMALLINT NOT NULL,
                package_id VARCHAR NOT NULL,
                sha256 VARCHAR,
                title VARCHAR,
                PRIMARY KEY (run_id, package_idx)
            )"""
        )
        self._con.execute("COMMIT")

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

    def _collect_garbage(self) -> list[str]:
        """Remove the files of runs that never committed (crash, SIGKILL),
        views and run_packages rows without a run; re-point moved views."""
        complete = {r[0] for r in self._all("SELECT run_id FROM runs")}
        with _ACTIVE_LOCK:
            active = set(_ACTIVE.get(self._key, ()))
        removed = []
        if self.runs_dir.is_dir():
            for entry in sorted(os.listdir(self.runs_dir)):
                m = _STAGING_DIR.match(entry)
                rid = m.group(1) if m else entry if _RUN_DIR.match(entry) else None
                if rid is None or rid in active or (m is None and rid in complete):
                    continue
                shutil.rmtree(self.runs_dir / entry, ignore_errors=True)
                removed.append(entry)
        views = {r[0]: r[1] for r in self._all("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal")}
        changed = False
        for name, sql in views.items():
            m = _VIEW.match(name)
            if m and m.group(2) not in complete:
                self._con.execute(f"DROP VIEW IF EXISTS {_q(name)}")
                changed = True
        for rid in sorted(complete):
            for kind in _KINDS:
                sql = views.get(f"{kind}_{rid}")
                if sql is None or _lit(str(self._run_dir(rid)))[1:-1] not in sql:  # the store moved
                    if self._run_dir(rid).is_dir():
                        try:
                            self._con.execute(
                                f"CREATE OR REPLACE VIEW {_q(kind + '_' + rid)} AS {self._view_sql(rid, kind)}"
                            )
                            changed = True
                        except Exception:  # a convenience only; reads do not use it
                            pass
        stray = self._all("SELECT count(*) FROM run_packages WHERE run_id NOT IN (SELECT run_id FROM runs)")[0][0]
        if stray:
            self._con.execute("DELETE FROM run_packages WHERE run_id NOT IN (SELECT run_id FROM runs)")
        if changed or stray:
            self._con.execute("CHECKPOINT")
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
            out.append(d)
        return out

    def _row(self, run_id: str) -> dict:
        rows = self._rows("AND run_id = ?", [str(run_id)])
        if not rows:
            raise _store_error(self._display, "run_id", f"no run {run_id} in this store", RunNotFoundError)
        return rows[0]

    # ------------------------------------------------------------ public API
    def begin_run(
        self,
        meta: Mapping[str, Any],
        input_names: Sequence[str],
        metric_names: Sequence[str],
        package_ids: Sequence[str],
    ) -> RunWriter:
        """Start a run; use the returned writer as a context manager and call
        ``commit()`` inside it. ``meta`` keys: foedus_version, packages
        (list of {id, sha256, title}), overrides, seed, sampler, n_futures,
        chunk_size, horizon_years, thresholds, extra; any other key is kept
        in ``extra``."""
        self._require_writable()
        return RunWriter(self, dict(meta), input_names, metric_names, package_ids)

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

    def futures(self, run_id: str) -> pd.DataFrame:
        """The sampled futures: future_id and one column per input, by future_id."""
        row = self._row(run_id)
        return self._con.sql(f"SELECT * FROM {self._source(row['run_id'], 'futures')} ORDER BY future_id").df()

    def results(self, run_id: str, package_id: str | None = None) -> pd.DataFrame:
        """Results in long format: package_id (categorical, in package order),
        future_id, one column per metric; ordered by package then future."""
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
        df = self._con.sql(f"SELECT * FROM {src} {where} ORDER BY package_idx, future_id").df()
        codes = df.pop("package_idx").to_numpy()
        df.insert(0, "package_id", pd.Categorical.from_codes(codes, categories=ids))
        return df

    def quantiles(self, run_id: str, metrics: Sequence[str], qs: Sequence[float]) -> dict[str, dict[str, dict[str, float]]]:
        """Exact quantiles of stored metrics per package, computed by DuckDB
        without loading the results: ``{package_id: {metric: {"p5": ...}}}``."""
        row = self._row(run_id)
        ids = [p["id"] for p in row["packages"]]
        known = set(row["metric_names"])
        metrics = [m for m in metrics if m in known]
        out: dict[str, dict[str, dict[str, float]]] = {pid: {} for pid in ids}
        if not metrics:
            return out
        qlist = "[" + ", ".join(repr(float(q)) for q in qs) + "]"
        cols = ", ".join(f"quantile_cont({_q(m)}, {qlist})" for m in metrics)
        src = self._source(row["run_id"], "results")
        for rec in self._all(f"SELECT package_idx, {cols} FROM {src} GROUP BY package_idx ORDER BY package_idx"):
            pid = ids[rec[0]]
            for m, values in zip(metrics, rec[1:]):
                out[pid][m] = {f"p{round(q * 100):g}": float(v) for q, v in zip(qs, values)}
        return out

    def results_hash(self, run_id: str) -> str:
        """SHA-256 over names, futures (by future_id) and results (by package
        order, then future_id), column by column as little-endian int64 /
        float64 (NaN canonical). Independent of chunking and file layout;
        equal iff the runs hold the same numbers under the same names."""
        import numpy as np

        row = self._row(run_id)
        rid = row["run_id"]
        header = {
            "inputs": row["input_names"],
            "metrics": row["metric_names"],
            "packages": [p["id"] for p in row["packages"]],
            "n_futures": row["n_futures"],
        }
        top = hashlib.sha256(b"foedus-results-v1\0" + _dumps(header).encode())
        for sql in (
            f"SELECT * FROM {self._source(rid, 'futures')} ORDER BY future_id",
            f"SELECT * FROM {self._source(rid, 'results')} ORDER BY package_idx, future_id",
        ):
            rel = self._con.sql(sql)
            names = rel.columns
            digests = [hashlib.sha256() for _ in names]
            reader = rel.to_arrow_reader(_HASH_BATCH) if hasattr(rel, "to_arrow_reader") else rel.fetch_arrow_reader(_HASH_BATCH)
            for batch in reader:
                for i, h in enumerate(digests):
                    col = batch.column(i).to_numpy(zero_copy_only=False)
                    if col.dtype.kind == "f":
                        col = col.astype("<f8", copy=False)
                        nan = np.isnan(col)
                        if nan.any():
                            col = np.where(nan, np.float64("nan"), col)
                    else:
                        col = col.astype("<i8", copy=False)
                    h.update(np.ascontiguousarray(col).data)
            for n, h in zip(names, digests):
                top.update(n.encode() + b"\0" + h.digest())
        return top.hexdigest()

    def export(self, run_id: str, out_dir: str | Path, fmt: str = "parquet", *, include_hash: bool = True) -> list[Path]:
        """Write futures.<fmt>, results.<fmt> (package_id, future_id,
        metrics; by package then future) and metadata.json into out_dir."""
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"export format must be 'parquet' or 'csv', not {fmt!r}")
        row = self._row(run_id)
        rid = row["run_id"]
        out = Path(out_dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        opts = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
        fut_path = out / f"futures.{fmt}"
        res_path = out / f"results.{fmt}"
        metrics = ", ".join("r." + _q(m) for m in row["metric_names"])
        self._con.execute(
            f"COPY (SELECT * FROM {self._source(rid, 'futures')} ORDER BY future_id) TO {_lit(str(fut_path))} {opts}"
        )
        self._con.execute(
            f"COPY (SELECT p.package_id, r.future_id{', ' + metrics if metrics else ''} "
            f"FROM {self._source(rid, 'results')} r JOIN run_packages p "
            f"ON p.run_id = {_lit(rid)} AND p.package_idx = r.package_idx "
            f"ORDER BY r.package_idx, r.future_id) TO {_lit(str(res_path))} {opts}"
        )
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
        self._con.execute("BEGIN")
        try:
            self._con.execute("DELETE FROM runs WHERE run_id = ?", [rid])
            self._con.execute("DELETE FROM run_packages WHERE run_id = ?", [rid])
            for kind in _KINDS:
                self._con.execute(f"DROP VIEW IF EXISTS {_q(kind + '_' + rid)}")
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
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
    ) -> None:
        from foedus import __version__

        self._store = store
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
        self.run_id = "r" + uuid.uuid4().hex[:10]
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
        self._state = "open"
        self._error: BaseException | None = None
        self._n_threads = store.write_threads
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._threads: list[threading.Thread] = []
        self._compression = store.compression

        #: where the run's files are now: the staging directory until commit
        self.directory = store.runs_dir / f".staging-{self.run_id}"
        with _ACTIVE_LOCK:
            _ACTIVE.setdefault(store._key, set()).add(self.run_id)
        try:
            store.runs_dir.mkdir(exist_ok=True)
            self.directory.mkdir()
        except OSError as exc:
            self._unregister()
            raise _store_error(
                store._display, "runs directory", f"{self.directory} cannot be created: {exc.strerror or exc}"
            ) from None
        store._writers.append(self)

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
        import numpy as np

        self._check_open()
        self._raise_background_error()
        fids = np.asarray(future_ids)
        if fids.ndim != 1 or (fids.dtype.kind not in "iu" and fids.size):
            raise ValueError(f"future_ids must be a 1-D integer array, got shape {fids.shape} dtype {fids.dtype}")
        m = fids.shape[0]
        n_in, n_pk, n_me = len(self.input_names), len(self.package_ids), len(self.metric_names)
        inp = np.asarray(inputs, dtype=np.float64)
        if inp.shape != (m, n_in):
            raise ValueError(f"inputs must have shape (m, n_inputs) = ({m}, {n_in}), got {inp.shape}")
        res = np.asarray(results, dtype=np.float64)
        if res.shape != (n_pk, m, n_me):
            raise ValueError(
                f"results must have shape (n_packages, m, n_metrics) = ({n_pk}, {m}, {n_me}), got {res.shape}"
            )
        if m == 0:
            return
        # Copies, column-major, so that each column is one contiguous block
        # handed to Arrow without a further copy.
        fids = fids.astype(np.int64, copy=True)
        inp_cols = np.empty((n_in, m))  # (input, future)
        res_cols = np.empty((n_me, n_pk, m))  # (metric, package, future)
        for s in range(0, m, _BLOCK):  # cache-blocked transposes: 2x faster than one big one
            inp_cols[:, s : s + _BLOCK] = inp[s : s + _BLOCK].T
            for p in range(n_pk):
                res_cols[:, p, s : s + _BLOCK] = res[p, s : s + _BLOCK].T
        res_cols = res_cols.reshape(n_me, n_pk * m)
        pkg = np.repeat(np.arange(n_pk, dtype=np.int16), m)
        res_fids = np.tile(fids, n_pk)
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._drain, name=f"foedus-store-{self.run_id}-{i}", daemon=True)
                for i in range(self._n_threads)
            ]
            for t in self._threads:
                t.start()
        self._queue.put((self._seq, fids, inp_cols, pkg, res_fids, res_cols))
        self._seq += 1
        self._n_written += m

    def _drain(self) -> None:
        """Background thread: write each queued chunk as two Parquet files
        (threads take chunks in turn; file names carry the chunk's number)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        fut_names = ["future_id", *self.input_names]
        res_names = ["package_idx", "future_id", *self.metric_names]
        opts = {
            "compression": self._compression,
            "compression_level": 1 if self._compression == "zstd" else None,
            "use_dictionary": False,  # doubles: dictionaries cost time and rarely pay
            "write_statistics": ["package_idx", "future_id"],  # lets DuckDB skip row groups
            "row_group_size": 1 << 22,
        }
        # package_idx is constant per package (run-length dictionary: ~0 bytes),
        # future_id ascending within a chunk (delta: ~0 bytes): 10 B less per row
        res_opts = {
            **opts, "use_dictionary": ["package_idx"], "column_encoding": {"future_id": "DELTA_BINARY_PACKED"},
        }
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain the queue so that producers never block
            seq, fids, inp_cols, pkg, res_fids, res_cols = item
            try:
                ft = pa.table([pa.array(fids), *(pa.array(c) for c in inp_cols)], names=fut_names)
                rt = pa.table([pa.array(pkg), pa.array(res_fids), *(pa.array(c) for c in res_cols)], names=res_names)
                for kind, table, kw in (("futures", ft, opts), ("results", rt, res_opts)):
                    path = self.directory / f"{kind}-{seq:06d}.parquet"
                    pq.write_table(table, str(path), **kw)
                    _fsync(path)
            except BaseException as exc:  # surfaced in the caller's thread
                self._error = exc

    def _flush(self) -> None:
        """Wait until every queued chunk is on disk; stop the threads."""
        for _ in self._threads:
            self._queue.put(None)
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
    def commit(self, summary: Mapping[str, Any] | None = None) -> str:
        """Make the run visible: rename its directory into place, then insert
        its row (one transaction). Returns its run_id."""
        self._check_open()
        self._flush()
        self._raise_background_error()
        store, con, rid = self._store, self._store._con, self.run_id
        n = self._n_written
        if n == 0:
            raise ValueError(f"run {rid}: no futures written")
        declared = self._meta.get("n_futures")
        if declared is not None and int(declared) != n:
            raise ValueError(f"run {rid}: meta n_futures={declared} but {n} futures were written")
        fut_rows, fut_unique = con.execute(
            f"SELECT count(*), count(DISTINCT future_id) FROM {store._source(rid, 'futures', self.directory)}"
        ).fetchall()[0]
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
        #    directory entries durable, then move the run into place
        final = store._run_dir(rid)
        _fsync(self.directory)
        os.rename(self.directory, final)
        self.directory = final
        _fsync(store.runs_dir)
        # 2. the visibility flip: one transaction
        con.execute("BEGIN")
        try:
            con.execute(
                "INSERT INTO run_packages VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * len(self.packages)),
                [v for i, p in enumerate(self.packages) for v in (rid, i, p["id"], p["sha256"], p["title"])],
            )
            con.execute(f"INSERT INTO runs VALUES ({', '.join(['?'] * len(row))})", row)
            store._create_views(con, rid)
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except Exception:
                pass
            self.rollback()
            raise
        self._state = "committed"
        self._unregister()
        return rid

    def rollback(self) -> None:
        """Discard the run: remove its files. Idempotent."""
        if self._state != "open":
            return
        self._state = "rolled back"
        try:
            self._flush()
        finally:
            try:
                shutil.rmtree(self.directory, ignore_errors=True)
            finally:
                self._unregister()

    def _unregister(self) -> None:
        with _ACTIVE_LOCK:
            _ACTIVE.get(self._store._key, set()).discard(self.run_id)
        if self in self._store._writers:
            self._store._writers.remove(self)

    @property
    def n_futures_written(self) -> int:
        return self._n_written

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._state == "open":
            self.rollback()

    def __repr__(self) -> str:
        return f"RunWriter({self.run_id!r}, {self._state}, {self._n_written} futures)"
