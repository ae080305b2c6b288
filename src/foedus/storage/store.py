"""The run store: every exploration ("run") in one embedded DuckDB file.

What it owns
------------
One DuckDB database file (default ``foedus-runs.duckdb`` in the working
directory) holding, for every run, its metadata, the sampled futures (one
row per future, one DOUBLE column per uncertain input) and the results (one
row per package and future, one DOUBLE column per metric). Callers hand
results over in chunks of NumPy arrays; readers get pandas DataFrames,
Parquet or CSV exports and a content hash that proves two runs identical.

Atomicity
---------
A run is visible only when it is complete:

* ``begin_run`` creates two tables private to the run, ``futures_<run_id>``
  and ``results_<run_id>``, and commits them empty.
* Each ``write_chunk`` appends to them in its own transaction (futures and
  results of the chunk together), so a run larger than memory never sits in
  one transaction. A background thread does the DuckDB work so that the
  caller's next chunk is computed while this one is written; at most one
  chunk waits in the queue (bounded memory, back-pressure).
* ``commit`` checks the counts (futures unique, one result row per package
  and future, ``n_futures`` as declared) and then, in a single transaction,
  inserts the run's row in ``runs`` (status ``complete``) and its rows in
  ``run_packages``. That insert is the visibility flip: every read
  (``list_runs``, ``get_run``, ``futures``, ``results``, ``results_hash``,
  ``export``) starts from ``runs``, so data tables without a ``runs`` row are
  never seen.
* Leaving the ``with store.begin_run(...)`` block by an exception, or
  without ``commit()``, drops the run's tables. A crash or SIGKILL cannot
  do that, so opening the store for writing garbage-collects every
  ``futures_*``/``results_*`` table whose run has no ``runs`` row (and any
  stray ``run_packages`` rows), except those of writers still open in this
  process. DuckDB's write-ahead log and checkpoints keep every committed
  transaction, hence every earlier run, intact across a crash.
* DuckDB lets one process open a file for writing at a time; a second one
  (or any reader while a writer holds it) gets a ``StoreError`` naming the
  file and the process holding it, as does a path that is a directory, a
  missing read-only store, or a file that is not a DuckDB database.

Schema (``store_info.schema_version`` = 1)
-------------------------------------------
``store_info(key VARCHAR PRIMARY KEY, value VARCHAR)``
    ``schema_version``, ``created_by`` (foedus version).
``runs`` - one row per complete run
    ``run_id VARCHAR PRIMARY KEY`` ("r" + 10 hex digits), ``created_at``,
    ``committed_at`` (UTC ISO 8601 VARCHAR), ``status`` ('complete'),
    ``foedus_version``, ``seed BIGINT``, ``sampler``, ``n_futures BIGINT``,
    ``n_packages INTEGER``, ``chunk_size BIGINT``, ``horizon_years DOUBLE``,
    and JSON text columns ``packages`` (list of {id, sha256, title} in
    package order), ``overrides`` (parameter overrides), ``input_names``,
    ``metric_names`` (column order of the data tables), ``thresholds``,
    ``summary`` (given to ``commit``) and ``extra`` (everything else).
``run_packages(run_id, package_idx SMALLINT, package_id, sha256, title)``
    PRIMARY KEY (run_id, package_idx); maps ``results.package_idx`` to ids.
``futures_<run_id>(future_id BIGINT, "<input>" DOUBLE, ...)``
    one row per future; input names such as ``will.USA`` are quoted.
``results_<run_id>(package_idx SMALLINT, future_id BIGINT, "<metric>" DOUBLE, ...)``
    long format, one row per (package, future).

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
import queue
import re
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

__all__ = ["DEFAULT_PATH", "SCHEMA_VERSION", "RunNotFoundError", "RunStore", "RunWriter", "StoreError"]

DEFAULT_PATH = "foedus-runs.duckdb"
SCHEMA_VERSION = 1

_DATA_TABLE = re.compile(r"^(futures|results)_(r[0-9a-f]{10})$")
_RESERVED = {"future_id", "package_idx", "package_id"}
_HASH_BATCH = 1 << 18
_BLOCK = 4096

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


class RunStore:
    """The DuckDB file holding every run. One per process and file at a time
    for writing; see the module docstring for the design."""

    def __init__(
        self, path: str | Path = DEFAULT_PATH, *, read_only: bool = False, memory_limit: str | None = "2GB"
    ) -> None:
        """Open (or create, unless read_only) the store at ``path``.

        ``memory_limit`` caps DuckDB's buffer pool (it otherwise keeps every
        block it wrote cached, up to 80% of RAM); larger sorts spill to
        ``<path>.tmp``. None keeps DuckDB's default."""
        import duckdb

        self.read_only = read_only
        self._display = str(path)
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
            if memory_limit:
                self._con.execute(f"SET memory_limit = {_lit(str(memory_limit))}")
            self._init_schema()
            if not read_only:
                self._collect_garbage()
        except StoreError:
            self._con.close()
            raise
        except duckdb.Error as exc:
            self._con.close()
            raise _store_error(self._display, "database", f"is not a usable run store: {str(exc).splitlines()[0]}") from None

    # ------------------------------------------------------------ internals
    def _all(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self._con.execute(sql, params).fetchall() if params is not None else self._con.execute(sql).fetchall()

    def _tables(self) -> set[str]:
        return {r[0] for r in self._all("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")}

    def _init_schema(self) -> None:
        tables = self._tables()
        if "store_info" in tables:
            row = self._all("SELECT value FROM store_info WHERE key = 'schema_version'")
            version = int(row[0][0]) if row else 0
            if version > SCHEMA_VERSION:
                raise _store_error(
                    self._display, "schema_version",
                    f"is {version}, written by a newer foedus (this one reads up to {SCHEMA_VERSION}); upgrade foedus",
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
            "INSERT INTO store_info VALUES ('schema_version', ?), ('created_by', ?)",
            [str(SCHEMA_VERSION), f"foedus {__version__}"],
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

    def _collect_garbage(self) -> list[str]:
        """Drop data tables of runs that never committed (crash, SIGKILL)."""
        complete = {r[0] for r in self._all("SELECT run_id FROM runs")}
        with _ACTIVE_LOCK:
            active = set(_ACTIVE.get(self._key, ()))
        dropped = []
        for name in sorted(self._tables()):
            m = _DATA_TABLE.match(name)
            if m and m.group(2) not in complete and m.group(2) not in active:
                self._con.execute(f"DROP TABLE IF EXISTS {_q(name)}")
                dropped.append(name)
        stray = self._all("SELECT count(*) FROM run_packages WHERE run_id NOT IN (SELECT run_id FROM runs)")[0][0]
        if stray:
            self._con.execute("DELETE FROM run_packages WHERE run_id NOT IN (SELECT run_id FROM runs)")
        if dropped or stray:
            self._con.execute("CHECKPOINT")
        return dropped

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

    def futures(self, run_id: str) -> pd.DataFrame:
        """The sampled futures: future_id and one column per input, by future_id."""
        row = self._row(run_id)
        return self._con.sql(f"SELECT * FROM {_q('futures_' + row['run_id'])} ORDER BY future_id").df()

    def results(self, run_id: str, package_id: str | None = None) -> pd.DataFrame:
        """Results in long format: package_id (categorical, in package order),
        future_id, one column per metric; ordered by package then future."""
        import pandas as pd

        row = self._row(run_id)
        ids = [p["id"] for p in row["packages"]]
        table = _q("results_" + row["run_id"])
        where = ""
        if package_id is not None:
            if package_id not in ids:
                raise _store_error(
                    self._display, "package_id",
                    f"no package {package_id} in run {row['run_id']} (has: {', '.join(ids)})", RunNotFoundError,
                )
            where = f"WHERE package_idx = {ids.index(package_id)}"
        df = self._con.sql(f"SELECT * FROM {table} {where} ORDER BY package_idx, future_id").df()
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
        table = _q("results_" + row["run_id"])
        for rec in self._all(f"SELECT package_idx, {cols} FROM {table} GROUP BY package_idx ORDER BY package_idx"):
            pid = ids[rec[0]]
            for m, values in zip(metrics, rec[1:]):
                out[pid][m] = {f"p{round(q * 100):g}": float(v) for q, v in zip(qs, values)}
        return out

    def results_hash(self, run_id: str) -> str:
        """SHA-256 over names, futures (by future_id) and results (by package
        order, then future_id), column by column as little-endian int64 /
        float64 (NaN canonical). Independent of chunking; equal iff the runs
        hold the same numbers under the same names."""
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
            f"SELECT * FROM {_q('futures_' + rid)} ORDER BY future_id",
            f"SELECT * FROM {_q('results_' + rid)} ORDER BY package_idx, future_id",
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
            f"COPY (SELECT * FROM {_q('futures_' + rid)} ORDER BY future_id) TO {_lit(str(fut_path))} {opts}"
        )
        self._con.execute(
            f"COPY (SELECT p.package_id, r.future_id{', ' + metrics if metrics else ''} "
            f"FROM {_q('results_' + rid)} r JOIN run_packages p "
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
        """Remove a complete run and its data (one transaction)."""
        self._require_writable()
        rid = self._row(run_id)["run_id"]
        self._con.execute("BEGIN")
        try:
            self._con.execute("DELETE FROM runs WHERE run_id = ?", [rid])
            self._con.execute("DELETE FROM run_packages WHERE run_id = ?", [rid])
            self._con.execute(f"DROP TABLE IF EXISTS {_q('futures_' + rid)}")
            self._con.execute(f"DROP TABLE IF EXISTS {_q('results_' + rid)}")
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Roll back writers still open, then close the file."""
        for w in list(self._writers):
            w.rollback()
        con, self._con = getattr(self, "_con", None), None
        if con is not None:
            con.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({self._display!r}, read_only={self.read_only})"


class RunWriter:
    """Writes one run chunk by chunk; invisible until ``commit()``.

    Use as a context manager: leaving the block by an exception, or without
    ``commit()``, rolls the run back (drops its tables).
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
        self._state = "open"
        self._error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None

        con = store._con
        fut_cols = ", ".join(["future_id BIGINT"] + [f"{_q(n)} DOUBLE" for n in self.input_names])
        res_cols = ", ".join(
            ["package_idx SMALLINT", "future_id BIGINT"] + [f"{_q(n)} DOUBLE" for n in self.metric_names]
        )
        with _ACTIVE_LOCK:
            _ACTIVE.setdefault(store._key, set()).add(self.run_id)
        try:
            con.execute("BEGIN")
            con.execute(f"CREATE TABLE {_q('futures_' + self.run_id)} ({fut_cols})")
            con.execute(f"CREATE TABLE {_q('results_' + self.run_id)} ({res_cols})")
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except Exception:
                pass
            self._unregister()
            raise
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
        if self._thread is None:
            cursor = self._store._con.cursor()  # the writer thread's own connection
            self._thread = threading.Thread(
                target=self._drain, args=(cursor,), name=f"foedus-store-{self.run_id}", daemon=True
            )
            self._thread.start()
        self._queue.put((fids, inp_cols, pkg, res_fids, res_cols))
        self._n_written += m

    def _drain(self, cur: Any) -> None:
        import pyarrow as pa

        fut_table = _q("futures_" + self.run_id)
        res_table = _q("results_" + self.run_id)
        fut_names = ["future_id", *self.input_names]
        res_names = ["package_idx", "future_id", *self.metric_names]
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                if self._error is not None:
                    continue  # drain the queue so that producers never block
                fids, inp_cols, pkg, res_fids, res_cols = item
                try:
                    ft = pa.table([pa.array(fids), *(pa.array(c) for c in inp_cols)], names=fut_names)
                    rt = pa.table(
                        [pa.array(pkg), pa.array(res_fids), *(pa.array(c) for c in res_cols)], names=res_names
                    )
                    cur.execute("BEGIN")
                    cur.register("_foedus_chunk_f", ft)
                    cur.register("_foedus_chunk_r", rt)
                    cur.execute(f"INSERT INTO {fut_table} SELECT * FROM _foedus_chunk_f")
                    cur.execute(f"INSERT INTO {res_table} SELECT * FROM _foedus_chunk_r")
                    cur.execute("COMMIT")
                    cur.unregister("_foedus_chunk_f")
                    cur.unregister("_foedus_chunk_r")
                except BaseException as exc:  # surfaced in the caller's thread
                    self._error = exc
                    try:
                        cur.execute("ROLLBACK")
                    except Exception:
                        pass
        except BaseException as exc:
            self._error = exc
        finally:
            try:
                cur.close()
            except Exception:
                pass

    def _flush(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

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
        """Make the run visible (one transaction); returns its run_id."""
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
            f"SELECT count(*), count(DISTINCT future_id) FROM {_q('futures_' + rid)}"
        ).fetchall()[0]
        res_rows = con.execute(f"SELECT count(*) FROM {_q('results_' + rid)}").fetchall()[0][0]
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
        con.execute("BEGIN")
        try:
            con.execute(
                "INSERT INTO run_packages VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * len(self.packages)),
                [v for i, p in enumerate(self.packages) for v in (rid, i, p["id"], p["sha256"], p["title"])],
            )
            con.execute(f"INSERT INTO runs VALUES ({', '.join(['?'] * len(row))})", row)
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except Exception:
                pass
            raise
        self._state = "committed"
        self._unregister()
        return rid

    def rollback(self) -> None:
        """Discard the run: drop its tables. Idempotent."""
        if self._state != "open":
            return
        self._state = "rolled back"
        try:
            self._flush()
        finally:
            con = self._store._con
            try:
                if con is not None:
                    con.execute(f"DROP TABLE IF EXISTS {_q('futures_' + self.run_id)}")
                    con.execute(f"DROP TABLE IF EXISTS {_q('results_' + self.run_id)}")
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
