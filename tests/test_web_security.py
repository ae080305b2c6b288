"""Serving safely (issue 10, part 2): a network address needs --allow-remote
and an access token (401 without it), the Host header is checked against DNS
rebinding (400), and each client is rate-limited on uploads and on
expensive requests (429 with Retry-After).

The token path runs through a real ``foedus serve --allow-remote``
subprocess bound to 127.0.0.1 (never to a public interface); the finer
cases through the same app in-process."""

from __future__ import annotations

import logging
import subprocess
import warnings

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.security import (
    COMPARE_LIMIT,
    EXPLORE_LIMIT,
    UPLOAD_LIMIT,
    Limit,
    RateLimiter,
    RedactTokens,
    Security,
    host_name,
    is_loopback,
    limit_name,
)
from foedus.interfaces.web.service import Workspace
from web_server import GOOD, SCEN, foedus_cmd, serve

TOKEN = "test-token-0123456789abcdef"


def clear_error(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"].strip()
    assert "Traceback" not in r.text
    return body


@pytest.fixture(scope="module")
def ws():
    return Workspace(SCEN)


def exposed_client(ws, tmp_path=None, limits=None, client=("198.51.100.7", 40000)):
    ws_ = ws if tmp_path is None else Workspace(SCEN, uploads_dir=tmp_path / "uploads")
    sec = Security.exposed("127.0.0.1", TOKEN, limits=limits)
    return TestClient(create_app(workspace=ws_, warm=False, security=sec), base_url="http://127.0.0.1:8000",
                      raise_server_exceptions=False, client=client), ws_


# ---------------------------------------------------------------- the real server


def test_network_address_needs_allow_remote(tmp_path):
    """``--host 0.0.0.0`` alone is refused before anything binds; a short
    token is refused; neither prints a traceback."""
    out = subprocess.run(foedus_cmd() + ["serve", "--host", "0.0.0.0", "--port", "1"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert out.returncode == 2, out
    assert "--allow-remote" in out.stderr and "not a loopback address" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run(foedus_cmd() + ["serve", "--host", "127.0.0.1", "--allow-remote", "--token", "short", "--port", "1"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and "at least 16 characters" in out.stderr and "Traceback" not in out.stderr, out


def test_allow_remote_serves_only_with_the_token(tmp_path):
    """``foedus serve --host 127.0.0.1 --allow-remote``: a token is generated
    and printed once; without it every request is a 401 (and an upload is not
    stored), with it a 200; opening the page with ?token= sets an HttpOnly
    cookie that carries it from then on; a wrong Host header is a 400 even
    with the token; the upload limit gives a 429 with Retry-After."""
    with serve("--host", "127.0.0.1", "--allow-remote", "--workspace", str(tmp_path / "ws"), "--log-level", "info", cwd=tmp_path) as srv:
        token = srv.token()
        assert len(token) >= 40
        assert "no TLS" in srv.output
        base, auth = srv.base, {"Authorization": f"Bearer {token}"}

        r = httpx.get(f"{base}/api/health")
        b = clear_error(r, 401)
        assert "access token missing" in b["detail"] and r.headers["www-authenticate"].startswith("Bearer")
        assert clear_error(httpx.get(f"{base}/api/health", headers={"Authorization": "Bearer wrong-token-0123456789"}), 401)
        assert httpx.get(f"{base}/api/health", headers=auth).status_code == 200
        # an upload from "the network" without the token: refused, nothing stored
        clear_error(httpx.post(f"{base}/api/packages", json={"text": GOOD}), 401)
        assert httpx.get(f"{base}/api/health", headers=auth).json()["uploads"]["count"] == 0
        assert not (tmp_path / "ws" / "uploads").exists()

        # the page: 401 page without the token; with ?token= it loads and sets the cookie
        r = httpx.get(f"{base}/")
        assert r.status_code == 401 and "Access token needed" in r.text and token not in r.text
        assert httpx.get(f"{base}/?token=wrong-token-0123456789").status_code == 401
        r = httpx.get(f"{base}/?token={token}")
        assert r.status_code == 200 and "<title>foedus" in r.text
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and r.headers["referrer-policy"] == "no-referrer"
        name, _, value = cookie.split(";")[0].partition("=")
        assert value == token
        assert httpx.get(f"{base}/api/packages", headers={"Cookie": f"{name}={token}"}).status_code == 200
        assert httpx.get(f"{base}/static/app.js", headers={"Cookie": f"{name}={token}"}).status_code == 200
        clear_error(httpx.get(f"{base}/api/packages", headers={"Cookie": f"{name}=wrong-token-0123456789"}), 401)
        clear_error(httpx.get(f"{base}/api/packages?token={token}"), 401)  # the query only opens the page

        # DNS rebinding: the browser would send the attacker's name
        b = clear_error(httpx.get(f"{base}/api/health", headers={**auth, "Host": f"evil.example:{srv.port}"}), 400)
        assert "evil.example" in b["detail"] and "--allowed-host" in b["detail"]
        assert httpx.get(f"{base}/api/health", headers={**auth, "Host": f"localhost:{srv.port}"}).status_code == 200

        # the upload limit (validations draw on it too): 429 with Retry-After
        codes = [httpx.post(f"{base}/api/packages/validate", json={"text": GOOD}, headers=auth).status_code for _ in range(UPLOAD_LIMIT.burst + 1)]
        assert codes[:UPLOAD_LIMIT.burst] == [200] * UPLOAD_LIMIT.burst and codes[-1] == 429, codes
        r = httpx.post(f"{base}/api/packages", json={"text": GOOD}, headers=auth)
        b = clear_error(r, 429)
        assert int(r.headers["retry-after"]) >= 1 and "try again in" in b["detail"]
        assert httpx.get(f"{base}/api/meta", headers=auth).status_code == 200  # reading is not limited
    # printed once (the token line and the link), never in the access log
    assert srv.output.count(token) == 2, srv.output
    assert "GET /?token=(hidden)" in srv.output


def test_token_from_the_environment_is_not_printed(tmp_path):
    with serve("--allow-remote", "--workspace", str(tmp_path / "ws"), cwd=tmp_path, env={"FOEDUS_TOKEN": TOKEN}) as srv:
        assert TOKEN not in srv.output and "the one you gave" in srv.output
        assert httpx.get(f"{srv.base}/api/health").status_code == 401
        assert httpx.get(f"{srv.base}/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_loopback_serving_needs_no_token_but_checks_host(tmp_path):
    with serve("--workspace", str(tmp_path / "ws"), cwd=tmp_path) as srv:
        assert "token" not in srv.output
        assert httpx.get(f"{srv.base}/api/health").status_code == 200
        assert httpx.get(f"{srv.base}/").status_code == 200
        b = clear_error(httpx.get(f"{srv.base}/api/health", headers={"Host": f"rebind.example:{srv.port}"}), 400)
        assert "DNS rebinding" in b["detail"]
    with serve("--allowed-host", "foedus.lan", "--workspace", str(tmp_path / "ws"), cwd=tmp_path) as srv:
        assert httpx.get(f"{srv.base}/api/health", headers={"Host": f"foedus.lan:{srv.port}"}).status_code == 200
        clear_error(httpx.get(f"{srv.base}/api/health", headers={"Host": "other.lan"}), 400)


# ---------------------------------------------------------------- in-process


def test_host_header_forms(ws):
    c = TestClient(create_app(workspace=ws, warm=False), base_url="http://localhost", raise_server_exceptions=False)
    for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST.:8000"):
        assert c.get("/api/health", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", "localhost.evil.example:8000", "127.0.0.1.nip.io", "[::2]:8000", "192.0.2.1"):
        clear_error(c.get("/api/health", headers={"Host": host}), 400)
    # the page and assets too, not only the API
    assert c.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert host_name("[::1]:80") == "::1" and host_name("Example.COM:1") == "example.com" and host_name("::1") == "::1"


def test_any_ip_the_connection_arrived_on_is_a_valid_host(ws):
    """Bound to 0.0.0.0, the server cannot list its addresses; a Host that is
    the IP literal the connection came in on is what a browser sends for
    http://<that address>/, and cannot be a rebound name."""
    sec = Security.exposed("0.0.0.0", TOKEN)
    c = TestClient(create_app(workspace=ws, warm=False, security=sec), base_url="http://192.0.2.10:8000", raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # TestClient's server address is the base URL's host
    assert c.get("/api/health", headers=auth).status_code == 200
    clear_error(c.get("/api/health", headers={**auth, "Host": "192.0.2.11:8000"}), 400)
    clear_error(c.get("/api/health", headers={**auth, "Host": "attacker.example:8000"}), 400)


def test_token_check_in_process(ws, tmp_path):
    c, ws_ = exposed_client(ws, tmp_path)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for method, path in (("GET", "/"), ("GET", "/static/app.js"), ("GET", "/api/meta"), ("GET", "/api/openapi.json"),
                         ("POST", "/api/compare"), ("DELETE", "/api/packages/x"), ("GET", "/api/nothing")):
        assert c.request(method, path).status_code == 401, (method, path)
    clear_error(c.post("/api/packages", json={"text": GOOD}), 401)
    assert not ws_.uploads and not (tmp_path / "uploads").exists()
    assert c.post("/api/packages", json={"text": GOOD}, headers=auth).status_code == 201
    clear_error(c.delete("/api/packages/my-force", headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"}), 401)
    assert "my-force" in ws_.uploads
    assert c.delete("/api/packages/my-force", headers=auth).status_code == 200
    # Basic auth, a token in another header or an empty bearer: not accepted
    clear_error(c.get("/api/meta", headers={"Authorization": f"Basic {TOKEN}"}), 401)
    clear_error(c.get("/api/meta", headers={"Authorization": "Bearer "}), 401)
    clear_error(c.get("/api/meta", headers={"Cookie": "garbage;;=;"}), 401)


def test_rate_limits_per_client_and_kind(ws):
    """Uploads, comparisons and explorations have their own bucket per client
    address; reading is never limited; another client is unaffected."""
    small = {"upload": Limit("uploads", 2, 0.01), "compare": Limit("comparisons", 2, 0.01), "explore": Limit("explorations", 1, 0.01)}
    c, _ = exposed_client(ws, limits=small)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"packages": ["status-quo"]}
    assert [c.post("/api/compare", json=body, headers=auth).status_code for _ in range(3)] == [200, 200, 429]
    r = c.post("/api/packages/status-quo/export", json={}, headers=auth)
    b = clear_error(r, 429)  # export draws on the comparisons bucket
    assert "too many comparisons from 198.51.100.7" in b["detail"] and int(r.headers["retry-after"]) >= 1
    ex = {"packages": ["status-quo"], "n_futures": 64}
    assert c.post("/api/explore", json=ex, headers=auth).status_code == 200
    clear_error(c.post("/api/discover", json={**ex, "focus": "status-quo"}, headers=auth), 429)
    clear_error(c.post("/api/report", json=body, headers=auth), 429)
    assert [c.post("/api/packages/validate", json={"text": GOOD}, headers=auth).status_code for _ in range(3)] == [200, 200, 429]
    for _ in range(5):
        assert c.get("/api/packages", headers=auth).status_code == 200
        assert c.get("/api/parameters/will.USA", headers=auth).status_code == 200
    other = TestClient(c.app, base_url="http://127.0.0.1:8000", client=("198.51.100.8", 40000))
    assert other.post("/api/compare", json=body, headers=auth).status_code == 200
    # without the token, the limit is not even consulted (401 first)
    assert c.post("/api/compare", json=body).status_code == 401


def test_loopback_serving_is_not_rate_limited(ws):
    c = TestClient(create_app(workspace=ws, warm=False), base_url="http://localhost")
    codes = {c.post("/api/packages/validate", json={"text": GOOD}).status_code for _ in range(UPLOAD_LIMIT.burst * 2)}
    assert codes == {200}


def test_token_bucket():
    now = [0.0]
    rl = RateLimiter({"x": Limit("things", burst=3, per_second=0.5)}, clock=lambda: now[0], max_clients=2)
    assert [rl.take("a", "x") for _ in range(3)] == [0, 0, 0]
    assert rl.take("a", "x") == pytest.approx(2.0)  # one token per 2 s
    assert rl.take("b", "x") == 0  # another client, its own bucket
    now[0] = 1.0
    assert rl.take("a", "x") == pytest.approx(1.0)
    now[0] = 3.0
    assert rl.take("a", "x") == 0
    now[0] = 1000.0  # refills up to the burst, not beyond
    assert [rl.take("a", "x") for _ in range(4)][:3] == [0, 0, 0] and rl.take("a", "x") > 0
    rl.take("c", "x")
    rl.take("d", "x")  # at most two clients remembered: the least recent is forgotten
    assert len(rl._buckets) == 2


def test_limits_are_named_and_routed():
    assert limit_name("POST", "/api/packages") == "upload" and limit_name("DELETE", "/api/packages/x") == "upload"
    assert limit_name("POST", "/api/packages/validate") == "upload"
    assert limit_name("POST", "/api/compare") == "compare" and limit_name("POST", "/api/packages/x/export") == "compare"
    assert {limit_name("POST", f"/api/{p}") for p in ("explore", "discover", "report")} == {"explore"}
    assert limit_name("GET", "/api/packages") is None and limit_name("GET", "/") is None
    for lim in (UPLOAD_LIMIT, COMPARE_LIMIT, EXPLORE_LIMIT):
        assert lim.burst >= 1 and lim.per_second > 0 and "at most" in lim.describe()


def test_loopback_addresses():
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.0.0.5", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.0.2.1", "10.0.0.1"))
    with pytest.raises(ValueError, match="at least 16"):
        Security.exposed("127.0.0.1", "short")


def test_access_log_hides_the_token():
    rec = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                            ("127.0.0.1:5", "GET", f"/?token={TOKEN}", "1.1", 200), None)
    assert RedactTokens().filter(rec)
    msg = rec.getMessage()
    assert TOKEN not in msg and "token=(hidden)" in msg


def test_security_headers_everywhere(ws):
    c = TestClient(create_app(workspace=ws, warm=False), base_url="http://localhost")
    for path in ("/", "/api/health", "/api/nothing"):
        h = c.get(path).headers
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "no-referrer", path
