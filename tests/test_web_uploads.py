"""Uploaded packages persist (issue 10, part 3): saved in the workspace
folder, atomically, loaded at start (a broken file is a warning, never a
crash, and is kept), deletable through the API, and capped."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.service import Refused, Workspace
from foedus.interfaces.web.uploads import STALE_TEMP_SECONDS, UploadStore
from web_server import GOOD, ROOT, SCEN, serve



def package(pid: str, troops: int = 5000) -> str:
    return GOOD.replace("id: my-force", f"id: {pid}").replace("troops: 5000", f"troops: {troops}")


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- across real restarts


def test_upload_survives_restart_and_deletion_too(tmp_path):
    """Upload, restart: still there, same text, same numbers. Delete,
    restart: gone, and so is its file."""
    ws_dir = tmp_path / "ws"
    uploads = ws_dir / "uploads"
    with serve("--workspace", str(ws_dir), cwd=tmp_path) as srv:
        r = httpx.post(f"{srv.base}/api/packages", json={"text": GOOD, "name": "mine.yaml"})
        assert r.status_code == 201, r.text
        before = httpx.post(f"{srv.base}/api/compare", json={"packages": ["my-force"]}, timeout=60).json()
    assert files(uploads) == ["my-force.yaml"] and (uploads / "my-force.yaml").read_text() == GOOD

    with serve("--workspace", str(ws_dir), cwd=tmp_path) as srv:
        assert "1 loaded" in srv.output
        d = httpx.get(f"{srv.base}/api/packages/my-force")
        assert d.status_code == 200 and d.json()["text"] == GOOD and d.json()["origin"] == "upload"
        assert "my-force" in [p["id"] for p in httpx.get(f"{srv.base}/api/packages").json()["packages"]]
        after = httpx.post(f"{srv.base}/api/compare", json={"packages": ["my-force"]}, timeout=60).json()
        assert after["current"] == before["current"]
        r = httpx.delete(f"{srv.base}/api/packages/my-force")
        assert r.status_code == 200 and r.json()["deleted"] == "my-force"
        assert httpx.get(f"{srv.base}/api/packages/my-force").status_code == 404
        assert httpx.delete(f"{srv.base}/api/packages/treaty").status_code == 403  # shipped: not deletable
    assert files(uploads) == []

    with serve("--workspace", str(ws_dir), cwd=tmp_path) as srv:
        assert httpx.get(f"{srv.base}/api/packages/my-force").status_code == 404
        assert httpx.get(f"{srv.base}/api/health").json()["uploads"]["count"] == 0


def test_broken_files_warn_and_are_kept(tmp_path):
    """A file that is not valid YAML, not a valid package, not UTF-8, or
    duplicates an id: a warning at start naming the file, the server serves
    the rest, and every byte stays on disk."""
    uploads = tmp_path / "ws" / "uploads"
    uploads.mkdir(parents=True)
    broken = {
        "unclosed.yaml": b"id: [unclosed\n",
        "bad-field.yaml": package("bad-field").replace("kyiv_position: accepted", "kyiv_position: delighted").encode(),
        "latin1.yaml": "id: caf\xe9\n".encode("latin-1"),
        "shadow.yaml": package("treaty").encode(),
        "truncated.yaml": GOOD.encode()[:200],
    }
    for name, data in broken.items():
        (uploads / name).write_bytes(data)
    (uploads / "good.yaml").write_text(package("good-one"))
    with serve("--workspace", str(tmp_path / "ws"), cwd=tmp_path) as srv:
        health = httpx.get(f"{srv.base}/api/health").json()
        assert health["status"] == "ok" and health["uploads"]["count"] == 1
        assert httpx.get(f"{srv.base}/api/packages/good-one").status_code == 200
    out = srv.output
    assert "Traceback" not in out
    for name in broken:
        assert any(name in line and line.startswith("warning:") and "file kept" in line for line in srv.lines), (name, out)
        assert any(name in p for p in health["upload_problems"]), name
    assert "kyiv_position" in out and "UTF-8" in out and "shipped package" in out
    for name, data in broken.items():
        assert (uploads / name).read_bytes() == data, name


# ---------------------------------------------------------------- in-process


def test_upload_cap_refuses_instead_of_evicting(tmp_path):
    ws = Workspace(SCEN, max_uploads=2, uploads_dir=tmp_path / "uploads")
    c = TestClient(create_app(workspace=ws, warm=False), base_url="http://localhost", raise_server_exceptions=False)
    for pid in ("one", "two"):
        assert c.post("/api/packages", json={"text": package(pid)}).status_code == 201
    r = c.post("/api/packages", json={"text": package("three")})
    assert r.status_code == 409 and "delete one" in r.json()["detail"]
    assert files(tmp_path / "uploads") == ["one.yaml", "two.yaml"]  # nothing evicted
    assert c.post("/api/packages", json={"text": package("one", 7000)}).status_code == 201  # replacing is fine
    assert "troops: 7000" in (tmp_path / "uploads" / "one.yaml").read_text()
    assert c.delete("/api/packages/two").status_code == 200
    assert c.post("/api/packages", json={"text": package("three")}).status_code == 201
    assert files(tmp_path / "uploads") == ["one.yaml", "three.yaml"]


def test_files_in_the_way_are_set_aside_not_overwritten(tmp_path):
    """An upload whose file name is taken by a file that did not load sets
    that file aside; a package loaded from another file name is rewritten in
    place; files holding other packages are never touched."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "my-force.yaml").write_bytes(b"id: [not yaml\n")
    (uploads / "custom-name.yaml").write_text(package("elsewhere"))
    (uploads / "kept.yaml").write_text(package("my-force-2"))  # holds another id
    ws = Workspace(SCEN, uploads_dir=uploads)
    assert set(ws.uploads) == {"elsewhere", "my-force-2"} and len(ws.upload_problems) == 1
    ws.add_upload(GOOD)
    assert (uploads / "my-force.yaml.corrupt").read_bytes() == b"id: [not yaml\n"
    assert (uploads / "my-force.yaml").read_text() == GOOD
    ws.add_upload(package("elsewhere", 9000))
    assert "troops: 9000" in (uploads / "custom-name.yaml").read_text() and not (uploads / "elsewhere.yaml").exists()
    assert (uploads / "kept.yaml").read_text() == package("my-force-2")
    again = Workspace(SCEN, uploads_dir=uploads)
    assert set(again.uploads) == {"elsewhere", "my-force-2", "my-force"} and not again.upload_problems
    with pytest.raises(Refused) as exc:
        again.delete_upload("treaty")
    assert exc.value.status == 403


def test_readers_never_see_a_partial_file(tmp_path):
    """Two versions of ~450 KB are saved in turn while another thread reads
    the file: every read is one whole version (a plain write, which
    truncates then writes, shows empty or half files here)."""
    store = UploadStore(tmp_path)
    a = "# " + "a" * 98 + "\n"
    b = "# " + "b" * 98 + "\n"
    va, vb = GOOD + a * 4500, GOOD + b * 4500
    store.save("my-force", va)
    target = store.path_for("my-force")
    stop = threading.Event()
    seen: list[str] = []
    bad: list[int] = []

    def read():
        while not stop.is_set():
            t = target.read_text()
            if t not in (va, vb):
                bad.append(len(t))
            else:
                seen.append(t[len(GOOD) + 2])

    th = threading.Thread(target=read)
    th.start()
    try:
        for i in range(60):
            store.save("my-force", vb if i % 2 == 0 else va, keep=target)
    finally:
        stop.set()
        th.join()
    assert not bad, f"{len(bad)} partial reads, e.g. {bad[:5]} characters"
    assert {"a", "b"} <= set(seen)  # the reader did see both versions change under it
    assert files(tmp_path) == ["my-force.yaml"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    """A real failure half-way (the file size limit of the process, EFBIG):
    the upload is refused with a clear reason, the old file and the package
    in memory are unchanged, and no temporary file is left."""
    script = textwrap.dedent(f"""
        import json, resource, signal, sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from test_web_uploads import GOOD, package
        from foedus.interfaces.web.service import Refused, Workspace
        ws = Workspace({str(SCEN)!r}, uploads_dir={str(tmp_path / 'uploads')!r})
        ws.add_upload(GOOD)
        big = package("my-force", 6000) + ("# " + "x" * 98 + chr(10)) * 3000
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
        try:
            ws.add_upload(big)
        except Refused as exc:
            print(json.dumps({{"status": exc.status, "detail": str(exc), "troops": ws.uploads["my-force"].package.commitments[0].troops}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import json

    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["status"] == 500 and "could not save the upload" in res["detail"] and "nothing was changed" in res["detail"]
    assert res["troops"] == 5000
    assert (tmp_path / "uploads" / "my-force.yaml").read_text() == GOOD
    assert files(tmp_path / "uploads") == ["my-force.yaml"]


def test_stale_temporary_files_are_cleared_fresh_ones_kept(tmp_path):
    store = UploadStore(tmp_path)
    old, fresh = tmp_path / ".x.yaml.abc.tmp", tmp_path / ".y.yaml.def.tmp"
    old.write_text("half")
    fresh.write_text("half")
    past = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(old, (past, past))
    assert store.read_all(10_000) == []
    assert not old.exists() and fresh.exists()


def test_memory_only_workspace_still_works(tmp_path):
    """Without a workspace folder (the library default) uploads live in
    memory, and deleting works the same."""
    ws = Workspace(SCEN)
    ws.add_upload(GOOD)
    assert ws.uploads["my-force"].path is None
    ws.delete_upload("my-force")
    assert "my-force" not in ws.uploads
