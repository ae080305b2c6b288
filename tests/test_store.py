"""The run store (DuckDB catalogue + Parquet files per run): round trip,
content hash, crash safety, garbage collection, bad files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import duckdb_tables

import foedus
from foedus.domain.errors import InputError
from foedus.storage.store import COMPRESSIONS, DEFAULT_PRECISION, PRECISIONS, RunNotFoundError, RunStore, StoreError

INPUTS = ["will.USA", "will.DEU", "escalation.rate", 'odd "quoted" name']
METRICS = ["attack_probability", "total_cost_usd_per_year", "deterrence.gap"]
PACKAGES = ["baseline", "nato-lite", "coalition"]
SRC = str(Path(foedus.__file__).resolve().parents[1])
#: the Parquet (Arrow) type names of the stored float columns
PARQUET_TYPE = {"float32": "float", "float64": "double"}


def _stored(values, precision: str = DEFAULT_PRECISION) -> np.ndarray:
    """What a run of ``precision`` gives back for float64 ``values``: each
    rounded to nearest in that precision, read as float64."""
    return np.asarray(values, dtype=np.float64).astype(precision).astype(np.float64)


def _data(n: int = 1000, seed: int = 3):
    rng = np.random.default_rng(seed)
    fids = np.arange(n, dtype=np.int64)
    inputs = rng.random((n, len(INPUTS)))
    results = rng.normal(size=(len(PACKAGES), n, len(METRICS)))
    results[1, 5, 0] = np.nan  # NaN survives the trip
    return fids, inputs, results


def _meta(n: int) -> dict:
    return {
        "seed": 0,
        "sampler": "lhs",
        "n_futures": n,
        "chunk_size": 400,
        "horizon_years": 10.0,
        "overrides": {"will.USA": 0.4},
        "thresholds": {"attack_probability": 0.1},
        "packages": [{"id": p, "sha256": f"{i:064x}", "title": p.title()} for i, p in enumerate(PACKAGES)],
        "note": "kept in extra",
    }


def _write(store: RunStore, fids, inputs, results, order=None, chunk: int = 400, precision: str | None = None) -> str:
    """A run of these arrays; ``precision`` None: begin_run's default."""
    n = len(fids)
    starts = list(range(0, n, chunk))
    if order is not None:
        starts = [starts[i] for i in order]
    kw = {} if precision is None else {"precision": precision}
    with store.begin_run(_meta(n), INPUTS, METRICS, PACKAGES, **kw) as w:
        for s in starts:
            w.write_chunk(fids[s : s + chunk], inputs[s : s + chunk], results[:, s : s + chunk])
        return w.commit({"robust": "nato-lite"})


def _views(db: Path) -> set[str]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    finally:
        con.close()


def _runs_dir(db: Path) -> Path:
    return db.with_name(db.name + ".runs")


def _entries(db: Path) -> set[str]:
    """Names in <db>.runs/: run directories and staging directories."""
    d = _runs_dir(db)
    return set(os.listdir(d)) if d.is_dir() else set()


def _expected_long(fids, results) -> pd.DataFrame:
    P, n, _ = results.shape
    df = pd.DataFrame({"package_id": np.repeat(PACKAGES, n), "future_id": np.tile(fids, P)})
    for k, m in enumerate(METRICS):
        df[m] = results[:, :, k].reshape(-1)
    return df


# ---------------------------------------------------------------- 1. round trip
def test_default_run_stores_float32_columns(tmp_path: Path) -> None:
    """A run written without a precision stores 4-byte floats; readers get
    float64 columns holding exactly the float32 values."""
    fids, inputs, results = _data(500)
    with RunStore(tmp_path / "runs.duckdb") as store:
        rid = _write(store, fids, inputs, results)
        assert store.get_run(rid)["precision"] == "float32"
        files = {f.name.split("-")[0]: f for f in store.run_files(rid)}
        fut_schema, res_schema = pq.read_schema(files["futures"]), pq.read_schema(files["results"])
        assert [str(t) for t in fut_schema.types] == ["int64"] + ["float"] * len(INPUTS)
        assert [str(t) for t in res_schema.types] == ["int16", "int64"] + ["float"] * len(METRICS)
        fut, res = store.futures(rid), store.results(rid)
        assert all(str(fut[c].dtype) == "float64" for c in INPUTS)
        assert all(str(res[c].dtype) == "float64" for c in METRICS)
        np.testing.assert_array_equal(fut[INPUTS].to_numpy(), inputs.astype(np.float32))
        np.testing.assert_array_equal(res[METRICS].to_numpy(), _expected_long(fids, results.astype(np.float32))[METRICS].to_numpy())
        with pytest.raises(ValueError, match="precision must be one of float32, float64, not 'float16'"):
            store.begin_run({}, INPUTS, METRICS, PACKAGES, precision="float16")


@pytest.mark.parametrize("precision", PRECISIONS)
def test_round_trip_list_show_export_delete(tmp_path: Path, precision: str) -> None:
    fids, inputs, results = _data(1000)
    db = tmp_path / "runs.duckdb"
    with RunStore(db) as store:
        rid = _write(store, fids, inputs, results, order=[1, 0, 2], precision=precision)  # 3 chunks, out of order
        assert rid.startswith("r") and len(rid) == 11
        # float64 gives the written numbers back exactly, float32 each rounded once
        inputs, results = _stored(inputs, precision), _stored(results, precision)

        fut = store.futures(rid)
        assert list(fut.columns) == ["future_id", *INPUTS]
        np.testing.assert_array_equal(fut["future_id"].to_numpy(), fids)
        np.testing.assert_array_equal(fut[INPUTS].to_numpy(), inputs)

        res = store.results(rid)
        assert list(res.columns) == ["package_id", "future_id", *METRICS]
        pd.testing.assert_frame_equal(
            res.assign(package_id=res["package_id"].astype(str)), _expected_long(fids, results)
        )
        one = store.results(rid, "nato-lite")
        np.testing.assert_array_equal(one[METRICS].to_numpy(), results[1])
        with pytest.raises(RunNotFoundError, match="no package nope"):
            store.results(rid, "nope")

        runs = store.list_runs()
        assert [r["run_id"] for r in runs] == [rid]
        meta = store.get_run(rid)
        assert meta["seed"] == 0 and meta["sampler"] == "lhs" and meta["status"] == "complete"
        assert meta["n_futures"] == 1000 and meta["n_packages"] == 3 and meta["chunk_size"] == 400
        assert meta["horizon_years"] == 10.0
        assert meta["input_names"] == INPUTS and meta["metric_names"] == METRICS
        assert [p["id"] for p in meta["packages"]] == PACKAGES
        assert meta["packages"][2] == {"id": "coalition", "sha256": f"{2:064x}", "title": "Coalition"}
        assert meta["overrides"] == {"will.USA": 0.4}
        assert meta["thresholds"] == {"attack_probability": 0.1}
        assert meta["summary"] == {"robust": "nato-lite"}
        assert meta["extra"] == {"note": "kept in extra"}
        assert meta["precision"] == precision
        assert meta["foedus_version"] == foedus.__version__
        assert meta["created_at"].endswith("+00:00")

        # the data are Parquet files, one pair per chunk, in <db>.runs/<run_id>/
        run_dir = _runs_dir(db) / rid
        assert sorted(p.name for p in run_dir.iterdir()) == [
            "futures-000000.parquet", "futures-000001.parquet", "futures-000002.parquet",
            "results-000000.parquet", "results-000001.parquet", "results-000002.parquet",
        ]
        assert store.run_files(rid) == sorted(run_dir.iterdir())
        assert _entries(db) == {rid}
        schema = pq.read_schema(run_dir / "results-000000.parquet")
        assert schema.names == ["package_idx", "future_id", *METRICS]
        assert [str(t) for t in schema.types] == ["int16", "int64"] + [PARQUET_TYPE[precision]] * len(METRICS)
        schema = pq.read_schema(run_dir / "futures-000000.parquet")
        assert [str(t) for t in schema.types] == ["int64"] + [PARQUET_TYPE[precision]] * len(INPUTS)
        # quantiles come from DuckDB over the files and match NumPy's linear interpolation
        qs = store.quantiles(rid, [METRICS[1], "not stored"], [0.05, 0.5, 0.95])
        assert set(qs) == set(PACKAGES) and set(qs["coalition"]) == {METRICS[1]}
        np.testing.assert_allclose(
            [qs["coalition"][METRICS[1]][k] for k in ("p5", "p50", "p95")],
            np.percentile(results[2, :, 1], [5, 50, 95]),
        )

        for fmt in ("parquet", "csv"):
            paths = store.export(rid, tmp_path / fmt, fmt)
            assert [p.name for p in paths] == [f"futures.{fmt}", f"results.{fmt}", "metadata.json"]
            if fmt == "parquet":
                f_df = pq.read_table(paths[0]).to_pandas()
                r_df = pq.read_table(paths[1]).to_pandas()
                # exports are float64 whatever the run's precision
                assert [str(t) for t in pq.read_schema(paths[0]).types] == ["int64"] + ["double"] * len(INPUTS)
                assert [str(t) for t in pq.read_schema(paths[1]).types][2:] == ["double"] * len(METRICS)
            else:
                f_df, r_df = pd.read_csv(paths[0]), pd.read_csv(paths[1])
            np.testing.assert_array_equal(f_df["future_id"].to_numpy(), fids)
            np.testing.assert_array_equal(f_df[INPUTS].to_numpy(), inputs)
            pd.testing.assert_frame_equal(
                r_df.assign(package_id=r_df["package_id"].astype(str)),
                _expected_long(fids, results),
                check_dtype=False,
            )
            exported = json.loads(paths[2].read_text())
            assert exported["run_id"] == rid and exported["results_hash"] == store.results_hash(rid)
            assert exported["precision"] == precision

    # plain SQL in DuckDB through the run's views, as documented
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        assert _views(db) >= {f"futures_{rid}", f"results_{rid}"}
        n, mean = con.execute(
            f"SELECT count(*), avg(r.{METRICS[0]}) FROM results_{rid} r JOIN run_packages p "
            f"ON p.run_id = '{rid}' AND p.package_idx = r.package_idx WHERE p.package_id = 'baseline'"
        ).fetchall()[0]
        assert n == 1000 and mean == pytest.approx(results[0, :, 0].mean())
        assert con.execute(f'SELECT sum("will.USA") FROM futures_{rid}').fetchall()[0][0] == pytest.approx(
            inputs[:, 0].sum()
        )
    finally:
        con.close()

    with RunStore(db) as store:
        store.delete_run(rid)
        assert store.list_runs() == []
        with pytest.raises(RunNotFoundError):
            store.futures(rid)
        assert _entries(db) == set()
    assert not any(t.endswith(rid) for t in duckdb_tables(db) | _views(db))


def test_large_runs_get_t_digest_percentiles_in_bounded_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a 1e8-future run's exact percentiles (four metrics at once)
    ran DuckDB out of memory after the run was stored. Beyond
    EXACT_QUANTILE_ROWS result rows the store estimates them (t-digest) and
    says so; below, they are exact. Here the limit is lowered to 10,000 rows
    so that a run of 3 x 5,000 crosses it."""
    import foedus.storage.store as store_module

    fids, inputs, results = _data(5000)
    results[1, 5, 0] = 0.0
    with RunStore(tmp_path / "runs.duckdb") as store:
        rid = _write(store, fids, inputs, results, chunk=1000, precision="float64")
        assert store.quantiles_exact(rid)
        exact = store.quantiles(rid, METRICS, [0.05, 0.5, 0.95])
        for i, pid in enumerate(PACKAGES):
            for j, m in enumerate(METRICS):
                np.testing.assert_allclose([exact[pid][m][k] for k in ("p5", "p50", "p95")],
                                           np.percentile(results[i, :, j], [5, 50, 95]), rtol=1e-12)
        monkeypatch.setattr(store_module, "EXACT_QUANTILE_ROWS", 10_000)
        assert not store.quantiles_exact(rid)
        approx = store.quantiles(rid, METRICS, [0.05, 0.5, 0.95])
        assert approx != exact  # estimated, not computed exactly
        for pid in PACKAGES:
            for m in METRICS:
                # within a twentieth of the (standard normal) values' spread of the exact ones
                np.testing.assert_allclose([approx[pid][m][k] for k in ("p5", "p50", "p95")],
                                           [exact[pid][m][k] for k in ("p5", "p50", "p95")], atol=0.05)


def test_unknown_run_and_bad_chunks(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    fids, inputs, results = _data(50)
    with RunStore(db) as store:
        with pytest.raises(KeyError) as err:
            store.get_run("r123")
        assert isinstance(err.value, StoreError)
        assert str(err.value) == f"{db}: run_id: no run r123 in this store"
        with store.begin_run({}, INPUTS, METRICS, PACKAGES) as w:
            with pytest.raises(ValueError, match="results must have shape"):
                w.write_chunk(fids, inputs, results[:2])
            with pytest.raises(ValueError, match="inputs must have shape"):
                w.write_chunk(fids, inputs[:, :2], results)
            with pytest.raises(ValueError, match="integer"):
                w.write_chunk(fids.astype(float), inputs, results)
            w.write_chunk(fids, inputs, results)
            w.write_chunk(fids[:5], inputs[:5], results[:, :5])  # repeated ids (consecutive chunks that overlap)
            with pytest.raises(ValueError, match="unique"):
                w.commit()
        with store.begin_run({}, INPUTS, METRICS, PACKAGES) as w:
            w.write_chunk(np.r_[fids[:-1], 7], inputs, results)  # a repeat inside one chunk of non-consecutive ids
            with pytest.raises(ValueError, match=r"50 future rows \(49 distinct ids\)"):
                w.commit()
        with store.begin_run({"n_futures": 60}, INPUTS, METRICS, PACKAGES) as w:
            w.write_chunk(fids, inputs, results)
            with pytest.raises(ValueError, match="n_futures=60 but 50"):
                w.commit()
        with pytest.raises(ValueError, match="collide"):
            store.begin_run({}, ["a.b", "A.B"], METRICS, PACKAGES)
        with pytest.raises(ValueError, match="compression"):
            RunStore(tmp_path / "other.duckdb", compression="brotli")
        assert store.list_runs() == []
    assert duckdb_tables(db) == {"store_info", "runs", "run_packages"} and _views(db) == set()
    assert _entries(db) == set()  # rolled-back runs leave no directory



@pytest.mark.parametrize("precision", PRECISIONS)
def test_chunks_written_through_a_target_are_the_run_write_chunk_writes(tmp_path: Path, precision: str) -> None:
    """A run whose chunks another process writes (a pickled ChunkTarget, as
    a Dask worker holds it), out of order, is the run write_chunk writes:
    the same files and hash; the commit checks the counts against the
    files, and removes what a writer that died mid-write left behind."""
    import pickle

    fids, inputs, results = _data(1000)
    with RunStore(tmp_path / "runs.duckdb") as store:
        rid_local = _write(store, fids, inputs, results, precision=precision)
        with store.begin_run(_meta(1000), INPUTS, METRICS, PACKAGES, precision=precision) as w:
            target = pickle.loads(pickle.dumps(w.target()))
            for seq in (2, 0, 1):  # blocks of 400, 400 and 200, finished out of order
                s = slice(400 * seq, 400 * (seq + 1))
                target.write(seq, fids[s], inputs[s], results[:, s])
                w.written(400 * seq, len(fids[s]))
            (w.directory / ".partial-0123-results-000003.parquet").write_bytes(b"half a file")
            with pytest.raises(ValueError, match="through its target"):
                w.write_chunk(fids[:10], inputs[:10], results[:, :10])
            rid = w.commit({"robust": "nato-lite"})
        assert store.results_hash(rid) == store.results_hash(rid_local)
        assert [p.name for p in store.run_files(rid)] == [p.name for p in store.run_files(rid_local)]
        for name in [p.name for p in store.run_files(rid)]:  # byte for byte
            assert (store._run_dir(rid) / name).read_bytes() == (store._run_dir(rid_local) / name).read_bytes()
        assert not [f for f in os.listdir(store._run_dir(rid)) if f.startswith(".partial-")]

        # a chunk counted but not written, or written but not counted, fails the commit
        with store.begin_run(_meta(1000), INPUTS, METRICS, PACKAGES) as w:
            target = w.target()
            target.write(0, fids[:400], inputs[:400], results[:, :400])
            w.written(0, 1000)
            with pytest.raises(ValueError, match=r"400 future rows .* for 1000 futures"):
                w.commit()
        assert [r["run_id"] for r in store.list_runs()] == [rid_local, rid]


def test_a_run_is_written_by_its_writer_or_through_its_target_not_both(tmp_path: Path) -> None:
    fids, inputs, results = _data(50)
    with RunStore(tmp_path / "runs.duckdb") as store:
        with store.begin_run({}, INPUTS, METRICS, PACKAGES) as w:
            with pytest.raises(ValueError, match="counts chunks written through target"):
                w.written(0, 50)
            w.write_chunk(fids, inputs, results)
            with pytest.raises(ValueError, match="already written with write_chunk"):
                w.target()
        with store.begin_run({}, INPUTS, METRICS, PACKAGES) as w:
            target = w.target()
            with pytest.raises(ValueError, match="results must have shape"):
                target.write(0, fids, inputs, results[:2])
            with pytest.raises(ValueError, match="inputs must have shape"):
                target.write(0, fids, inputs[:, :2], results)
        # the run was stopped (its directory removed), or this machine does not see it
        with pytest.raises(StoreError, match="a directory this process can see"):
            target.write(0, fids, inputs, results)
        assert store.list_runs() == []
    assert _entries(tmp_path / "runs.duckdb") == set()


# ---------------------------------------------------------------- 2. hash
@pytest.mark.parametrize("precision", PRECISIONS)
def test_results_hash_identical_and_sensitive(tmp_path: Path, precision: str) -> None:
    fids, inputs, results = _data(900)

    def step(x: float) -> float:
        """The next number the run's precision can store after x."""
        return float(np.nextafter(np.dtype(precision).type(x), np.dtype(precision).type(np.inf)))

    with RunStore(tmp_path / "a.duckdb") as a, RunStore(tmp_path / "b.duckdb") as b:
        r1 = _write(a, fids, inputs, results, precision=precision)
        r2 = _write(a, fids, inputs, results, order=[2, 1, 0], chunk=300, precision=precision)  # other chunking
        r3 = _write(b, fids, inputs, results, precision=precision)
        h = a.results_hash(r1)
        assert len(h) == 64 and h == a.results_hash(r2) == b.results_hash(r3)

        changed = results.copy()
        changed[2, 899, 1] = step(changed[2, 899, 1])
        assert a.results_hash(_write(a, fids, inputs, changed, precision=precision)) != h
        changed_in = inputs.copy()
        changed_in[0, 0] = step(changed_in[0, 0])
        assert a.results_hash(_write(a, fids, changed_in, results, precision=precision)) != h
        # the other precision stores other numbers
        other = next(p for p in PRECISIONS if p != precision)
        assert a.results_hash(_write(a, fids, inputs, results, precision=other)) != h

    # the file layout does not matter: codec, writer threads, chunk order
    for i, comp in enumerate(COMPRESSIONS):
        with RunStore(tmp_path / f"c{i}.duckdb", compression=comp, write_threads=1 + i % 3) as c:
            rid = _write(c, fids, inputs, results, order=[1, 2, 0], chunk=300, precision=precision)
            assert c.results_hash(rid) == h
            codec = pq.ParquetFile(c.run_files(rid)[-1]).metadata.row_group(0).column(2).compression
            assert codec.lower().removesuffix("_raw") == {"none": "uncompressed"}.get(comp, comp)
    with RunStore(":memory:") as m:  # files in a temporary directory, removed on close
        rid = _write(m, fids, inputs, results, precision=precision)
        assert m.results_hash(rid) == h
        tmp_runs = m.runs_dir
        assert tmp_runs.is_dir()
    assert not tmp_runs.exists()



def _sorted_hash(store: RunStore, run_id: str) -> str:
    """``results_hash`` as computed before it streamed the run: one DuckDB
    ORDER BY over the whole run. The reference: hashes recorded in existing
    runs were computed this way, and the streamed hash must equal it bit for bit."""
    import hashlib

    from foedus.storage.store import _dumps

    row = store.get_run(run_id)
    header = {
        "inputs": row["input_names"],
        "metrics": row["metric_names"],
        "packages": [p["id"] for p in row["packages"]],
        "n_futures": row["n_futures"],
    }
    top = hashlib.sha256(b"foedus-results-v1\0" + _dumps(header).encode())
    for sql in (
        f"SELECT * FROM {store._source(run_id, 'futures')} ORDER BY future_id",
        f"SELECT * FROM {store._source(run_id, 'results')} ORDER BY package_idx, future_id",
    ):
        rel = store._con.sql(sql)
        names = rel.columns
        digests = [hashlib.sha256() for _ in names]
        reader = rel.to_arrow_reader(1 << 18) if hasattr(rel, "to_arrow_reader") else rel.fetch_arrow_reader(1 << 18)
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


class _SqlLog:
    """Stands in for a RunStore's DuckDB connection; records the SQL it runs."""

    def __init__(self, con) -> None:
        self._con, self.queries = con, []

    def sql(self, query: str, *args, **kw):
        self.queries.append(query)
        return self._con.sql(query, *args, **kw)

    def execute(self, query: str, *args, **kw):
        self.queries.append(query)
        return self._con.execute(query, *args, **kw)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_streamed_hash_equals_the_whole_run_sort(tmp_path: Path, precision: str) -> None:
    """The hash streams the run chunk by chunk in future-id order and equals
    the sorted hash, whatever order the chunks were written in, whatever the
    order of rows within a chunk, and with gaps between the ids."""
    fids, inputs, results = _data(900)  # NaN included
    shuffled = 300 + np.random.default_rng(1).permutation(300)
    with RunStore(tmp_path / "s.duckdb") as store:
        runs = {
            "in order": _write(store, fids, inputs, results, chunk=300, precision=precision),
            "chunks out of order": _write(store, fids, inputs, results, order=[2, 0, 1], chunk=300, precision=precision),
        }
        rows = np.concatenate([np.arange(600, 900), shuffled, np.arange(300)])  # middle chunk's rows shuffled
        runs["rows out of order"] = _write(store, fids[rows], inputs[rows], results[:, rows], chunk=300, precision=precision)
        rows = np.arange(900)[::-1]  # every chunk reversed; ids 0, 7, 14, ...: not consecutive
        runs["gaps"] = _write(store, 7 * fids[rows], inputs[rows], results[:, rows], chunk=300, precision=precision)
        for name, rid in runs.items():
            assert store._files_by_future_id(rid, "futures") is not None, name  # streamed
            assert store._files_by_future_id(rid, "results") is not None, name
            assert store.results_hash(rid) == _sorted_hash(store, rid), name
        assert len({store.results_hash(rid) for name, rid in runs.items() if name != "gaps"}) == 1


def test_hash_of_disjoint_chunks_issues_no_whole_run_sort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the hash of a run whose chunks hold disjoint id ranges
    reads each chunk file on its own (futures once, results once per
    package) and never asks DuckDB to ORDER BY."""
    fids, inputs, results = _data(900)
    with RunStore(tmp_path / "s.duckdb") as store:
        rid = _write(store, fids, inputs, results, order=[2, 0, 1], chunk=300)
        expected = _sorted_hash(store, rid)
        log = _SqlLog(store._con)
        with monkeypatch.context() as m:
            m.setattr(store, "_con", log)
            assert store.results_hash(rid) == expected
        assert log.queries and not [q for q in log.queries if "ORDER BY" in q.upper()]
        assert sum(q.count(".parquet'") == 1 for q in log.queries) == 3 + 3 * len(PACKAGES)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_hash_sorts_the_whole_run_when_chunk_ranges_overlap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    """Chunks of interleaved ids (the even ones, then the odd ones) overlap:
    reading them one after the other would not be future-id order, so the
    hash falls back to DuckDB's sort, with the same value as the run written
    in order. So does a run file without statistics (its range unknown)."""
    fids, inputs, results = _data(900)
    with RunStore(tmp_path / "s.duckdb") as store:
        h = store.results_hash(_write(store, fids, inputs, results, chunk=300, precision=precision))
        rows = np.concatenate([np.arange(0, 900, 2), np.arange(1, 900, 2)])
        rid = _write(store, fids[rows], inputs[rows], results[:, rows], chunk=450, precision=precision)
        assert store._files_by_future_id(rid, "futures") is None and store._files_by_future_id(rid, "results") is None
        expected = _sorted_hash(store, rid)
        log = _SqlLog(store._con)
        with monkeypatch.context() as m:
            m.setattr(store, "_con", log)
            assert store.results_hash(rid) == expected == h
        assert sum("ORDER BY" in q for q in log.queries) == 2  # futures, results

        rid = _write(store, fids, inputs, results, chunk=300, precision=precision)
        first = store.run_files(rid)[0]
        pq.write_table(pq.read_table(first), first, write_statistics=False)
        assert store._files_by_future_id(rid, "futures") is None
        assert store._files_by_future_id(rid, "results") is not None
        assert store.results_hash(rid) == h

def _sorted_export(store: RunStore, run_id: str, out: Path, fmt: str) -> None:
    """``export`` as it was before it streamed the run: one DuckDB ORDER BY
    over the whole run per file (the reference for the streamed export)."""
    row = store.get_run(run_id)
    opts = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
    out.mkdir(parents=True, exist_ok=True)
    from foedus.storage.store import _lit, _q

    inputs = ", ".join(f"CAST({_q(n)} AS DOUBLE) AS {_q(n)}" for n in row["input_names"])
    metrics = ", ".join(f"CAST(r.{_q(n)} AS DOUBLE) AS {_q(n)}" for n in row["metric_names"])
    ids = "VALUES " + ", ".join(f"({i}, {_lit(p['id'])})" for i, p in enumerate(row["packages"]))
    store._con.execute(f"COPY (SELECT future_id, {inputs} FROM {store._source(run_id, 'futures')} ORDER BY future_id) "
                       f"TO '{out / ('futures.' + fmt)}' {opts}")
    store._con.execute(f"COPY (SELECT p.package_id, r.future_id, {metrics} FROM {store._source(run_id, 'results')} r "
                       f"JOIN ({ids}) p(package_idx, package_id) ON p.package_idx = r.package_idx "
                       f"ORDER BY r.package_idx, r.future_id) TO '{out / ('results.' + fmt)}' {opts}")


@pytest.mark.parametrize("precision", PRECISIONS)
def test_streamed_export_equals_the_whole_run_sort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str) -> None:
    """``export`` streams the run chunk file by chunk file (no ORDER BY over
    the whole run, which sorts on disk at 1e8 futures) and writes what the
    sorted export wrote: the same CSV bytes, the same Parquet table; chunks
    written out of order, rows shuffled within one, NaN included. Chunks of
    overlapping ids still go through DuckDB's sort, with the same files."""
    fids, inputs, results = _data(900)
    rows = np.concatenate([np.arange(600, 900), 300 + np.random.default_rng(2).permutation(300), np.arange(300)])
    with RunStore(tmp_path / "s.duckdb") as store:
        streamed = _write(store, fids[rows], inputs[rows], results[:, rows], chunk=300, precision=precision)
        interleaved = np.concatenate([np.arange(0, 900, 2), np.arange(1, 900, 2)])
        overlapping = _write(store, fids[interleaved], inputs[interleaved], results[:, interleaved], chunk=450, precision=precision)
        assert store._files_by_future_id(overlapping, "results") is None
        for rid in (streamed, overlapping):
            for fmt in ("csv", "parquet"):
                _sorted_export(store, rid, tmp_path / f"ref-{rid}-{fmt}", fmt)
                log = _SqlLog(store._con)
                with monkeypatch.context() as m:
                    m.setattr(store, "_con", log)
                    store.export(rid, tmp_path / f"new-{rid}-{fmt}", fmt, include_hash=False)
                sorts = [q for q in log.queries if "ORDER BY" in q.upper()]
                assert len(sorts) == (0 if rid == streamed else 2), sorts
                for name in (f"futures.{fmt}", f"results.{fmt}"):
                    ref, new = tmp_path / f"ref-{rid}-{fmt}" / name, tmp_path / f"new-{rid}-{fmt}" / name
                    if fmt == "csv":
                        assert new.read_bytes() == ref.read_bytes(), name
                    else:
                        a, b = pq.read_table(new), pq.read_table(ref)
                        assert a.schema.equals(b.schema) and a.to_pandas().equals(b.to_pandas()), name  # NaN equal to NaN
        assert (tmp_path / f"new-{streamed}-csv" / "results.csv").read_text().count("\n") == 1 + 900 * len(PACKAGES)


# ---------------------------------------------------------------- 3. crash safety
CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from foedus.storage.store import RunStore

    db = sys.argv[1]
    inputs_names = ["will.USA", "will.DEU"]
    metrics = ["attack_probability", "total_cost_usd_per_year"]
    packages = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]
    rng = np.random.default_rng(11)
    store = RunStore(db)
    with store.begin_run({"seed": 0, "n_futures": 2000}, inputs_names, metrics, packages) as w:
        w.write_chunk(np.arange(2000), rng.random((2000, 2)), rng.random((8, 2000, 2)))
        first = w.commit()
    print("FIRST", first, store.results_hash(first), flush=True)
    big = store.begin_run({"seed": 1}, inputs_names, metrics, packages)   # never committed
    print("SECOND", big.run_id, flush=True)
    m = 50_000
    inp, res = rng.random((m, 2)), rng.random((8, m, 2))
    i = 0
    while True:
        big.write_chunk(np.arange(i * m, (i + 1) * m), inp, res)
        i += 1
        print("CHUNK", i, flush=True)
    """
)


def _child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_sigkill_mid_run_leaves_no_partial_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=_child_env(),
    )
    try:
        lines: dict[str, list[str]] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"child ended early: {proc.stderr.read()}")
            word, *rest = line.split()
            lines[word] = rest
            # CHUNK 3 printed => chunk 2 taken by the writer => chunk 1 committed
            if word == "CHUNK" and int(rest[0]) >= 3:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    first, first_hash = lines["FIRST"]
    (partial,) = lines["SECOND"]

    # the partial run's chunks really reached the disk (so the test means something) ...
    staging = _runs_dir(db) / f".staging-{partial}"
    assert len(list(staging.glob("results-*.parquet"))) >= 1
    assert _entries(db) == {first, staging.name}
    # ... but a reader sees only the complete run, unchanged (and collects nothing)
    with RunStore(db, read_only=True) as store:
        assert [r["run_id"] for r in store.list_runs()] == [first]
        assert store.results_hash(first) == first_hash
        with pytest.raises(RunNotFoundError):
            store.results(partial)
    assert staging.is_dir()
    # opening for writing garbage-collects the staging directory
    with RunStore(db) as store:
        assert [r["run_id"] for r in store.list_runs()] == [first]
        assert store.results_hash(first) == first_hash
        assert len(store.futures(first)) == 2000
    assert _entries(db) == {first}
    assert not any(partial in t for t in duckdb_tables(db) | _views(db))


# killed after the directory was renamed into place, before the runs row
CHILD_RENAME = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import foedus.storage.store as st

    db = sys.argv[1]
    rng = np.random.default_rng(5)
    store = st.RunStore(db)
    with store.begin_run({"seed": 0}, ["x"], ["m"], ["p1", "p2"]) as w:
        w.write_chunk(np.arange(100), rng.random((100, 1)), rng.random((2, 100, 1)))
        first = w.commit()
    print("FIRST", first, store.results_hash(first), flush=True)

    real_rename = os.rename
    def rename_then_die(src, dst):
        real_rename(src, dst)
        print("RENAMED", os.path.basename(dst), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    st.os.rename = rename_then_die
    with store.begin_run({"seed": 1}, ["x"], ["m"], ["p1", "p2"]) as w:
        w.write_chunk(np.arange(100), rng.random((100, 1)), rng.random((2, 100, 1)))
        w.commit()
    """
)


def test_sigkill_between_rename_and_insert_leaves_no_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    script = tmp_path / "child.py"
    script.write_text(CHILD_RENAME)
    proc = subprocess.run(
        [sys.executable, str(script), str(db)], capture_output=True, text=True, env=_child_env(), timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    lines = dict((ln.split()[0], ln.split()[1:]) for ln in proc.stdout.splitlines())
    first, first_hash = lines["FIRST"]
    (renamed,) = lines["RENAMED"]
    # the renamed directory is complete on disk, but has no runs row: invisible
    assert _entries(db) == {first, renamed}
    assert len(list((_runs_dir(db) / renamed).glob("*.parquet"))) == 2
    with RunStore(db, read_only=True) as store:
        assert [r["run_id"] for r in store.list_runs()] == [first]
        with pytest.raises(RunNotFoundError):
            store.futures(renamed)
    with RunStore(db) as store:  # the next writer removes it
        assert [r["run_id"] for r in store.list_runs()] == [first]
        assert store.results_hash(first) == first_hash
    assert _entries(db) == {first}


def test_garbage_collection_spares_complete_runs_and_foreign_files(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "runs.duckdb"
    fids, inputs, results = _data(300)
    with RunStore(db) as store:
        kept = _write(store, fids, inputs, results)
        h = store.results_hash(kept)
    runs = _runs_dir(db)
    # leftovers of crashes: a staging directory, a run directory without a
    # runs row, a view and run_packages rows without a run ...
    import shutil

    shutil.copytree(runs / kept, runs / ".staging-r00000000aa")
    shutil.copytree(runs / kept, runs / "r00000000bb")
    con = duckdb.connect(str(db))
    con.execute(f"CREATE VIEW results_r00000000bb AS SELECT * FROM read_parquet('{runs}/r00000000bb/results-*.parquet')")
    con.execute("INSERT INTO run_packages VALUES ('r00000000bb', 0, 'x', NULL, NULL)")
    con.close()
    # ... and files that are not the store's
    (runs / "README.txt").write_text("mine")
    (runs / "backup").mkdir()
    with RunStore(db, read_only=True):  # readers collect nothing
        pass
    assert _entries(db) == {kept, ".staging-r00000000aa", "r00000000bb", "README.txt", "backup"}
    with RunStore(db) as store:
        assert [r["run_id"] for r in store.list_runs()] == [kept]
        assert store.results_hash(kept) == h
        assert store._all("SELECT DISTINCT run_id FROM run_packages") == [(kept,)]
    assert _entries(db) == {kept, "README.txt", "backup"}
    assert _views(db) == {f"futures_{kept}", f"results_{kept}"}

    # a deleted run whose directory survived (crash after the transaction)
    with RunStore(db) as store:
        shutil.copytree(runs / kept, tmp_path / "saved")
        store.delete_run(kept)
    shutil.copytree(tmp_path / "saved", runs / kept)
    with RunStore(db) as store:
        assert store.list_runs() == []
    assert _entries(db) == {"README.txt", "backup"}


def test_moved_store_repoints_views(tmp_path: Path) -> None:
    import shutil

    import duckdb

    db = tmp_path / "a" / "runs.duckdb"
    db.parent.mkdir()
    fids, inputs, results = _data(100)
    with RunStore(db) as store:
        rid = _write(store, fids, inputs, results, chunk=100)
        h = store.results_hash(rid)
    moved = tmp_path / "b" / "moved.duckdb"
    moved.parent.mkdir()
    shutil.move(str(db), moved)
    shutil.move(str(_runs_dir(db)), _runs_dir(moved))
    with RunStore(moved, read_only=True) as store:  # the store API does not need the views
        assert store.results_hash(rid) == h
    RunStore(moved).close()  # a writable open re-points them
    con = duckdb.connect(str(moved), read_only=True)
    try:
        assert con.execute(f"SELECT count(*) FROM results_{rid}").fetchall() == [(300,)]
    finally:
        con.close()


def test_exception_inside_with_block_leaves_no_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    fids, inputs, results = _data(300)
    with RunStore(db) as store:
        kept = _write(store, fids, inputs, results)
        with pytest.raises(RuntimeError, match="boom"):
            with store.begin_run({}, INPUTS, METRICS, PACKAGES) as w:
                w.write_chunk(fids, inputs, results)
                raise RuntimeError("boom")
        with store.begin_run({}, INPUTS, METRICS, PACKAGES) as w2:  # left without commit
            w2.write_chunk(fids, inputs, results)
        assert [r["run_id"] for r in store.list_runs()] == [kept]
        with pytest.raises(ValueError, match="rolled back"):
            w2.write_chunk(fids, inputs, results)
        assert _entries(db) == {kept}
    assert not any(w.run_id in t or w2.run_id in t for t in duckdb_tables(db) | _views(db))


def test_failed_background_write_is_reported_and_rolled_back(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    fids, inputs, results = _data(300)
    with RunStore(db) as store:
        with pytest.raises(StoreError, match="writing a chunk failed"):
            with store.begin_run({}, INPUTS, METRICS, PACKAGES) as w:
                w.write_chunk(fids[:100], inputs[:100], results[:, :100])
                w._flush()
                import shutil

                shutil.rmtree(w.directory)  # the disk "fails" under the writer
                w.write_chunk(fids[100:200], inputs[100:200], results[:, 100:200])
                w.commit()
        assert store.list_runs() == []
    assert _entries(db) == set()


def test_second_store_in_process_spares_open_writer(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    fids, inputs, results = _data(200)
    a = RunStore(db)
    with a.begin_run({}, INPUTS, METRICS, PACKAGES) as w:
        w.write_chunk(fids, inputs, results)
        w._flush()  # the chunk is in the staging directory now
        b = RunStore(db)  # same process, same file: its garbage collector must skip w
        b.close()
        assert len(list(w.directory.glob("*.parquet"))) == 2
        rid = w.commit()
    assert len(a.futures(rid)) == 200
    a.close()


# ---------------------------------------------------------------- 4. bad files
def _assert_clean(err: BaseException, path: Path, needle: str) -> None:
    text = str(err)
    assert isinstance(err, InputError) and isinstance(err, StoreError)
    assert str(path) in text and needle in text, text
    assert "\n" not in text and "Traceback" not in text and "IO Error" not in text
    assert err.__suppress_context__ or err.__cause__ is None


def test_bad_database_paths(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as e:
        RunStore(tmp_path)
    _assert_clean(e.value, tmp_path, "is a directory")

    text = tmp_path / "notes.txt"
    text.write_text("hello\nthis is not a database\n")
    for ro in (False, True):
        with pytest.raises(StoreError) as e:
            RunStore(text, read_only=ro)
        _assert_clean(e.value, text, "not a DuckDB database file")
    assert text.read_text() == "hello\nthis is not a database\n"  # untouched

    missing = tmp_path / "nope.duckdb"
    with pytest.raises(StoreError) as e:
        RunStore(missing, read_only=True)
    _assert_clean(e.value, missing, "does not exist")
    assert not missing.exists()

    nodir = tmp_path / "no" / "such" / "dir.duckdb"
    with pytest.raises(StoreError) as e:
        RunStore(nodir)
    _assert_clean(e.value, nodir, "directory does not exist")

    import duckdb

    foreign = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE sales (x INTEGER)")
    con.close()
    with pytest.raises(StoreError) as e:
        RunStore(foreign)
    _assert_clean(e.value, foreign, "not a foedus run store")
    assert not any(p.name.endswith(".runs") for p in tmp_path.iterdir())  # nothing created beside bad files

    # stores of another schema version: refused with one clear line
    for version, needle in (("1", "is 1, written by an older foedus"), ("3", "is 3, written by a newer foedus")):
        other = tmp_path / f"schema{version}.duckdb"
        con = duckdb.connect(str(other))
        con.execute("CREATE TABLE store_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute(f"INSERT INTO store_info VALUES ('schema_version', '{version}')")
        con.close()
        for ro in (False, True):
            with pytest.raises(StoreError) as e:
                RunStore(other, read_only=ro)
            _assert_clean(e.value, other, needle)
            assert "schema_version" in str(e.value)

    # the runs directory's name is taken by a file
    blocked = tmp_path / "blocked.duckdb"
    RunStore(blocked).close()
    _runs_dir(blocked).write_text("not a directory")
    with pytest.raises(StoreError) as e:
        RunStore(blocked)
    _assert_clean(e.value, blocked, "exists but is not a directory")


def _holder(db: Path, seconds: float) -> subprocess.Popen:
    """Another program holding the catalogue open (as a duckdb shell would)
    for ``seconds`` after printing READY."""
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, duckdb\n"
         "con = duckdb.connect(sys.argv[1]); print('READY', flush=True); time.sleep(float(sys.argv[2])); con.close()",
         str(db), str(seconds)],
        stdout=subprocess.PIPE, text=True, env=_child_env(),
    )
    assert proc.stdout.readline().strip() == "READY"
    return proc


def test_locked_database_waits_then_names_file_and_holder(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    RunStore(db).close()
    holder = _holder(db, 60)
    try:
        for ro in (False, True):
            t0 = time.monotonic()
            with pytest.raises(StoreError) as e:
                RunStore(db, read_only=ro, lock_wait=0.5)
            assert time.monotonic() - t0 >= 0.5  # it waited before giving up
            _assert_clean(e.value, db, f"in use by another process (PID {holder.pid})")
            assert "close it and retry" in str(e.value)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    with RunStore(db, read_only=True) as store:  # usable again once the holder is gone
        assert store.list_runs() == []


def test_store_waits_for_a_brief_holder_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    fids, inputs, results = _data(200)
    told: list[str] = []
    with RunStore(db, on_wait=told.append) as store:
        with store.begin_run(_meta(200), INPUTS, METRICS, PACKAGES) as w:
            w.write_chunk(fids, inputs, results)
            holder = _holder(db, 2.5)  # holds the catalogue while we commit
            try:
                t0 = time.monotonic()
                rid = w.commit()
                waited = time.monotonic() - t0
            finally:
                holder.wait()
                holder.stdout.close()
        assert waited >= 1.0 and len(told) == 1
        assert f"locked by another process (PID {holder.pid})" in told[0] and str(db) in told[0]
        assert [r["run_id"] for r in store.list_runs()] == [rid]
        assert len(store.futures(rid)) == 200
    assert _entries(db) == {rid}
    assert sorted(p.name for p in (_runs_dir(db) / rid).iterdir())[0] == "futures-000000.parquet"  # no lock file left


# ---------------------------------------------------------------- 5. readers and writers side by side
CHILD_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from foedus.storage.store import RunStore

    db = sys.argv[1]
    rng = np.random.default_rng(21)
    store = RunStore(db)
    with store.begin_run({"seed": 0}, ["x", "y"], ["m"], ["p1", "p2"]) as w:
        w.write_chunk(np.arange(500), rng.random((500, 2)), rng.random((2, 500, 1)))
        first = w.commit()
    print("FIRST", first, store.results_hash(first), flush=True)
    with store.begin_run({"seed": 1}, ["x", "y"], ["m"], ["p1", "p2"]) as w:
        for i in range(4):
            w.write_chunk(np.arange(i * 1000, (i + 1) * 1000), rng.random((1000, 2)), rng.random((2, 1000, 1)))
        w._flush()  # its chunks are on disk
        print("WRITING", w.run_id, flush=True)
        sys.stdin.readline()  # hold the run open until told
        second = w.commit()
    print("COMMITTED", second, store.results_hash(second), flush=True)
    """
)


def test_readers_and_a_second_writer_work_while_another_process_writes(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    script = tmp_path / "child.py"
    script.write_text(CHILD_WRITER)
    child = subprocess.Popen(
        [sys.executable, str(script), str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=_child_env(),
    )
    try:
        first, first_hash = child.stdout.readline().split()[1:]
        word, writing = child.stdout.readline().split()
        assert word == "WRITING", child.stderr.read()
        staging = _runs_dir(db) / f".staging-{writing}"
        assert len(list(staging.glob("*.parquet"))) == 8

        # readers, while the other process has a run open for writing
        with RunStore(db, read_only=True, lock_wait=5) as store:
            assert [r["run_id"] for r in store.list_runs()] == [first]
            assert store.results_hash(first) == first_hash
            assert len(store.results(first)) == 1000
            with pytest.raises(RunNotFoundError):
                store.get_run(writing)
        # a second writer: its clean-up at open spares the live writer's
        # directory (its lock is held by the other process)
        fids, inputs, results = _data(300)
        with RunStore(db, lock_wait=5) as store:
            mine = _write(store, fids, inputs, results)
        assert staging.is_dir() and len(list(staging.glob("*.parquet"))) == 8

        child.stdin.write("commit\n")
        child.stdin.flush()
        word, second, second_hash = child.stdout.readline().split()
        assert word == "COMMITTED" and second == writing, child.stderr.read()
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for f in (child.stdin, child.stdout, child.stderr):
            f.close()
    with RunStore(db, read_only=True) as store:
        assert {r["run_id"] for r in store.list_runs()} == {first, mine, second}
        assert store.results_hash(first) == first_hash and store.results_hash(second) == second_hash
        assert len(store.futures(second)) == 4000
    assert _entries(db) == {first, mine, second}


# a signal lands in a commit, after the rename and before the insert
CHILD_SIGNAL_IN_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import foedus.storage.store as st

    db, signame = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(5)
    store = st.RunStore(db)
    real_rename = os.rename
    def rename_then_signal(src, dst):
        real_rename(src, dst)
        print("RENAMED", os.path.basename(dst), flush=True)
        os.kill(os.getpid(), getattr(signal, signame))
    st.os.rename = rename_then_signal
    with store.begin_run({"seed": 1}, ["x"], ["m"], ["p1", "p2"]) as w:
        w.write_chunk(np.arange(100), rng.random((100, 1)), rng.random((2, 100, 1)))
        w.commit()
        print("AFTER COMMIT", flush=True)
    """
)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_signal_during_commit_waits_until_the_run_is_listed(tmp_path: Path, signame: str) -> None:
    db = tmp_path / "runs.duckdb"
    script = tmp_path / "child.py"
    script.write_text(CHILD_SIGNAL_IN_COMMIT)
    # the child starts with SIGINT at its default (Python then installs
    # KeyboardInterrupt), as from a shell: a child inherits an *ignored*
    # SIGINT from its parent, and the test runner's may be ignored by then
    proc = subprocess.run(
        [sys.executable, str(script), str(db), signame], capture_output=True, text=True, env=_child_env(), timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # the signal took effect once the commit was over: SIGTERM's default
    # action ends the process; SIGINT raises KeyboardInterrupt, which ends it
    # by SIGINT too
    assert proc.returncode == -getattr(signal, signame), proc.stderr
    if signame == "SIGINT":
        assert "KeyboardInterrupt" in proc.stderr
    assert "AFTER COMMIT" not in proc.stdout
    (renamed,) = [ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("RENAMED")]
    with RunStore(db, read_only=True) as store:
        assert [r["run_id"] for r in store.list_runs()] == [renamed]
        assert len(store.results(renamed)) == 200
    assert _entries(db) == {renamed}


# ---------------------------------------------------------------- 6. size estimate
@pytest.mark.parametrize("precision", PRECISIONS)
def test_measured_file_cost_predicts_the_files_written(tmp_path: Path, precision: str) -> None:
    """Bytes per value measured on one chunk, written in memory exactly like
    a run, predict the files of a run of many such chunks."""
    from foedus.storage.store import measure_file_cost

    rng = np.random.default_rng(8)
    P, n, chunk = len(PACKAGES), 60_000, 20_000
    fids = np.arange(n, dtype=np.int64)
    inputs = rng.random((n, len(INPUTS)))
    results = np.empty((P, n, len(METRICS)))
    results[:, :, 0] = rng.random((P, n))  # incompressible
    results[:, :, 1] = np.round(rng.random((P, n)) * 4)  # five values
    results[:, :, 2] = 0.25  # constant
    # below its top two bytes (sign, exponent, leading mantissa bits) a
    # uniform random float is random bits: incompressible
    random_bytes = np.dtype(precision).itemsize - 2
    for comp in ("lz4", "zstd"):
        cost = measure_file_cost(INPUTS, METRICS, fids[:chunk], inputs[:chunk], results[:, :chunk], comp, precision)
        assert cost.per_metric[METRICS[0]] > random_bytes and cost.per_metric[METRICS[2]] < 0.1
        assert cost.per_metric[METRICS[2]] < cost.per_metric[METRICS[1]] < cost.per_metric[METRICS[0]]
        with RunStore(tmp_path / f"{comp}.duckdb", compression=comp) as store:
            rid = _write(store, fids, inputs, results, chunk=chunk, precision=precision)
            actual = sum(f.stat().st_size for f in store.run_files(rid))
        assert cost.estimate(n, P, n // chunk) == pytest.approx(actual, rel=0.01)
