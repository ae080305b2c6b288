"""Serving under load (issue 10, part 4): finished responses kept and
shared by identical requests in flight, and computations in worker
processes that give exactly what the server process would."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from pathlib import Path

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from web_server import SCEN, serve

from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.responses import ResponseCache
from foedus.interfaces.web.service import Workspace

THS = ["attack_probability<=0.1", "approval_probability>=0.3"]


# ------------------------------------------------------------ response cache


def test_identical_requests_in_flight_are_computed_once():
    cache, calls, started = ResponseCache(), [], threading.Event()

    def slow() -> bytes:
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return b"answer"

    out: list[bytes] = []
    threads = [threading.Thread(target=lambda: out.append(cache.get("k", slow))) for _ in range(8)]
    threads[0].start()
    started.wait(5)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(10)
    assert out == [b"answer"] * 8 and len(calls) == 1
    assert cache.stats()["joined"] == 7 and cache.stats()["misses"] == 1


def test_peek_answers_only_what_is_kept_and_never_waits_for_a_computation():
    cache, started, release = ResponseCache(), threading.Event(), threading.Event()

    def slow() -> bytes:
        started.set()
        release.wait(5)
        return b"answer"

    assert cache.peek("k") is None and cache.stats()["misses"] == 0  # a miss computes nothing
    worker = threading.Thread(target=lambda: cache.get("k", slow))
    worker.start()
    started.wait(5)
    t0 = time.perf_counter()
    assert cache.peek("k") is None  # in flight: peek does not join it
    assert time.perf_counter() - t0 < 1.0
    release.set()
    worker.join(10)
    assert cache.peek("k") == b"answer" and cache.stats()["hits"] == 1


def test_peek_counts_as_a_use_for_the_least_recently_used_order():
    cache = ResponseCache(max_bytes=8)
    cache.get("a", lambda: b"1234")
    cache.get("b", lambda: b"1234")
    assert cache.peek("a") == b"1234"  # "a" is now the most recent
    cache.get("c", lambda: b"1234")
    assert cache.peek("b") is None and cache.peek("a") == b"1234"


def test_errors_reach_every_waiter_and_are_not_kept():
    cache, calls = ResponseCache(), []

    def fails() -> bytes:
        calls.append(1)
        raise ValueError("no")

    for _ in range(2):
        with pytest.raises(ValueError):
            cache.get("k", fails)
    assert len(calls) == 2 and cache.stats()["entries"] == 0
    assert cache.get("k", lambda: b"now") == b"now"


def test_the_cache_is_bounded_in_bytes_and_forgets_the_least_recently_used():
    cache = ResponseCache(max_bytes=10)
    for k in "abc":
        cache.get(k, lambda: b"1234")
    assert cache.stats()["entries"] == 2 and cache.stats()["bytes"] == 8  # "a" went
    cache.get("b", lambda: b"xxxx")  # a hit: "b" is now the most recent
    cache.get("d", lambda: b"1234")
    hits = cache.stats()["hits"]
    assert cache.get("b", lambda: b"new") == b"1234" and cache.stats()["hits"] == hits + 1
    assert cache.get("c", lambda: b"new") == b"new"  # "c" was the least recently used
    assert cache.get("big", lambda: b"x" * 11) == b"x" * 11 and cache.stats()["bytes"] <= 10


GOOD = (Path(__file__).parent / "fixtures" / "broken" / "unknown_kind.yaml").read_text().replace("peacekeeping", "consultation")


def test_a_replaced_upload_never_meets_an_answer_kept_for_its_old_text():
    ws = Workspace(SCEN)
    client = TestClient(create_app(workspace=ws, warm=False), base_url="http://localhost")
    assert client.post("/api/packages", json={"text": GOOD, "name": "mine.yaml"}).status_code == 201
    pid = next(e.package.id for e in ws.uploads.values())
    body = {"packages": [pid], "overrides": {}, "edits": {}}
    first = client.post("/api/compare", json=body).json()
    again = client.post("/api/compare", json=body).json()
    assert again == first  # kept
    changed = GOOD.replace("kyiv_position: accepted", "kyiv_position: rejected")
    assert changed != GOOD
    assert client.post("/api/packages", json={"text": changed, "name": "mine.yaml"}).status_code == 201
    now = client.post("/api/compare", json=body).json()
    assert now["current"]["packages"][0]["kyiv_position"] == "rejected" != first["current"]["packages"][0]["kyiv_position"]


# ------------------------------------------------------------- worker processes


def _without_timing(obj):
    if isinstance(obj, dict):
        return {k: _without_timing(v) for k, v in obj.items() if not k.endswith("_ms")}
    if isinstance(obj, list):
        return [_without_timing(v) for v in obj]
    return obj


def test_the_requests_of_one_state_go_to_the_workers_that_hold_their_caches():
    """Regression: with two workers a slider move cost 105-165 ms against
    80-99 ms in one process, because the detail of a comparison, or the box
    of an exploration, reached the worker without it and computed it again.
    Now the comparisons of one state share a worker, the explorations the
    next one, and states spread over the workers; other work goes to the
    worker with the fewest requests in hand. (No process starts: routing
    only.)"""
    from foedus.interfaces.web.pool import FAMILIES, ComputePool

    pool = ComputePool(SCEN, 2)
    try:
        states = [{"will.USA": k / 100} for k in range(40)]
        for st in states:
            comparisons = {pool.worker_for(m, st) for m in FAMILIES if FAMILIES[m] == 0}
            explorations = {pool.worker_for(m, st) for m in FAMILIES if FAMILIES[m] == 1}
            assert len(comparisons) == 1 and len(explorations) == 1 and comparisons != explorations
        assert {pool.worker_for("compare", st) for st in states} == {0, 1}
        pool._in_hand[0] = 3
        assert pool.worker_for("sensitivity", states[0]) == 1 and pool.worker_for("optimise") == 1
    finally:
        pool.close()


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def test_worker_processes_answer_exactly_as_the_server_process_and_survive_a_killed_worker(tmp_path):
    local = TestClient(create_app(workspace=Workspace(SCEN), warm=False), base_url="http://localhost")
    # same working folder as this process, so "reproduce this" names the same paths
    with serve("--workers", "2", "--workspace", str(tmp_path / "ws"), cwd=Path.cwd()) as s:
        # an upload the workers have never seen, compared with a shipped package
        assert httpx.post(f"{s.base}/api/packages", json={"text": GOOD, "name": "mine.yaml"}, timeout=60).status_code == 201
        assert local.post("/api/packages", json={"text": GOOD, "name": "mine.yaml"}).status_code == 201
        pid = httpx.get(f"{s.base}/api/packages", timeout=30).json()["packages"][-1]["id"]
        state = {"packages": ["treaty", pid], "overrides": {"will.USA": 0.2}, "edits": {"treaty": {"aid_scale": 0.5}}}
        explore = {**state, "n_futures": 300, "thresholds": THS, "focus": "treaty"}
        sens = {"package": pid, "overrides": {"will.USA": 0.2}, "n": 256, "metrics": ["troops_deployed", "attack_probability"]}
        for route, body in (("compare", state), ("scenarios", state), ("explore", explore), ("discover", explore), ("sensitivity", sens)):
            remote = httpx.post(f"{s.base}/api/{route}", json=body, timeout=120)
            assert remote.status_code == 200, remote.text
            assert _without_timing(remote.json()) == _without_timing(local.post(f"/api/{route}", json=body).json()), route

        workers = _children(s.proc.pid)
        assert len(workers) >= 2, workers
        for w in workers:
            os.kill(w, signal.SIGKILL)
        time.sleep(0.5)
        fresh = {**state, "overrides": {"will.USA": 0.7}}
        r = httpx.post(f"{s.base}/api/compare", json=fresh, timeout=120)
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert "try again" in r.json()["detail"]
            r = httpx.post(f"{s.base}/api/compare", json=fresh, timeout=120)
        assert r.status_code == 200
        assert _without_timing(r.json()) == _without_timing(local.post("/api/compare", json=fresh).json())


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_workers_never_outlive_their_server(tmp_path, how):
    """Stopping the server stops its workers; a server killed outright
    leaves none behind either (each worker watches its parent)."""
    with serve("--workers", "2", "--workspace", str(tmp_path / "ws"), cwd=tmp_path) as s:
        deadline = time.monotonic() + 60
        while len(workers := _children(s.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) >= 2, workers
        s.proc.send_signal(how)
        s.proc.wait(30)
        deadline = time.monotonic() + 15
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, workers)), [w for w in workers if _alive(w)]
