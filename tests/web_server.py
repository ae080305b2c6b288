"""Run ``foedus serve`` as a real subprocess on a free loopback port, for the
tests of serving (token, Host check, rate limits, persistence)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
#: A small valid package (one UK ground force) that the web tests upload.
GOOD = (ROOT / "tests" / "fixtures" / "small_force.yaml").read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def foedus_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("foedus")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "foedus.interfaces.cli.main"]


@dataclass
class Served:
    base: str
    port: int
    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def token(self) -> str:
        m = re.search(r"/\?token=([A-Za-z0-9._~-]+)", self.output)
        assert m, f"no token printed:\n{self.output}"
        return m.group(1)


@contextlib.contextmanager
def serve(*args: str, cwd: Path, env: dict | None = None, timeout: float = 90):
    """``foedus serve --port P --scenarios SCEN --log-level warning [--workers 0] ARGS``,
    stopped with SIGTERM on exit; yields a :class:`Served` once it answers."""
    port = free_port()
    # one process unless the test is about the compute pool: the tests share two cores
    workers = [] if "--workers" in args else ["--workers", "0"]
    cmd = foedus_cmd() + ["serve", "--port", str(port), "--scenarios", str(SCEN), "--log-level", "warning", *workers, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            env={**os.environ, "COLUMNS": "300", **(env or {})})
    served = Served(f"http://127.0.0.1:{port}", port, proc)

    def drain():  # keep the pipe empty, keep the lines
        for line in proc.stdout:
            served.lines.append(line.rstrip("\n"))

    th = threading.Thread(target=drain, daemon=True)
    th.start()
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                th.join(timeout=5)
                raise AssertionError(f"foedus serve exited with {proc.returncode}:\n{served.output}")
            try:
                httpx.get(f"{served.base}/api/health", timeout=2)  # any answer (even 401) means it is up
                break
            except httpx.TransportError:
                if time.monotonic() - t0 > timeout:
                    raise AssertionError(f"foedus serve did not answer within {timeout} s:\n{served.output}") from None
                time.sleep(0.1)
        yield served
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.wait()
        th.join(timeout=5)


@contextlib.contextmanager
def thread_server(app):
    """Serve ``app`` with uvicorn in a thread of this process on a free
    loopback port (for the browser tests, which inspect the workspace);
    yields the base URL once it answers, stops it on exit."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(timeout=10)
