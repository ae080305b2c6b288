"""``foedus serve``: the web app (one page) and its JSON API under ``/api/``.

The page (``static/index.html``, ``app.js``, ``style.css``) asks the API for
every number; no model runs in the browser or in this module. Plotly is
served from the installed ``plotly`` Python package, so the page works with
no network. The OpenAPI schema is at ``/api/openapi.json`` and the
interactive docs at ``/api/docs``.

Errors: any bad input gets a 4xx JSON body ``{"detail": "<message>",
"problems": [{"field", "expected", "line"}]}``: 400 for malformed JSON or a
Host header that does not name this server, 401 without the access token
(when serving to the network), 403 for deleting a shipped package, 404 for
an unknown route or package, 409 when the uploads are full, 413 for a body
over the size bound, 422 for a request or package that fails validation,
429 over a rate limit, 503 when busy.

Who may ask what (Host check, access token, rate limits) is decided by
:mod:`foedus.interfaces.web.security` before a request reaches the app.

Finished answers of the read-only requests are kept as bytes
(:mod:`foedus.interfaces.web.responses`) and sent compressed to a client
that accepts it, Zstandard or gzip (compressed once, kept beside the
plain JSON).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from foedus.domain.errors import InputError, Problem
from foedus.domain.metrics import CHART_METRICS
from foedus.interfaces.web.schemas import DetailRequest, ExploreRequest, ExportRequest, OptimiseRequest, ReportRequest, Scenario, SensitivityRequest, Upload
from foedus.interfaces.web.service import (
    BASIS_TEXT,
    COST_SPLIT,
    EUROPEAN_WILL,
    MAX_FUTURES,
    MAX_PACKAGES,
    MAX_SENSITIVITY_METRICS,
    OPTIMISE_BOUNDS,
    OPTIMISE_DEFAULTS,
    OPTIMISE_MAX_DESIGNS,
    SENSITIVITY_METRICS,
    SENSITIVITY_N,
    SENSITIVITY_SIZES,
    Busy,
    Refused,
    Workspace,
    metric_info,
    table_metrics,
)
from foedus.interfaces.web.pool import ComputePool
from foedus.interfaces.web.responses import ResponseCache, canonical, json_bytes
from foedus.interfaces.web.security import Guard, RedactTokens, Security

STATIC = Path(__file__).parent / "static"
MAX_BODY = 2 * 1024 * 1024
log = logging.getLogger("foedus.web")


def plotly_js_path() -> Path:
    """plotly.min.js shipped inside the installed plotly package."""
    import plotly

    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.exists():  # pragma: no cover - broken install
        raise FileNotFoundError(f"plotly.min.js not found at {p}; reinstall plotly")
    return p


def default_scenarios() -> Path | None:
    """``./scenarios`` if it exists, else the repository's scenarios folder
    when running from a source checkout."""
    here = Path.cwd() / "scenarios"
    if here.is_dir():
        return here
    repo = Path(__file__).resolve().parents[4] / "scenarios"
    return repo if repo.is_dir() else None


class ServerTiming:
    """Add a ``Server-Timing`` header to every HTTP response: the server's
    own time for the request, in ms, from the moment the app receives it to
    the moment the response starts (``app;dur=4.21``; W3C Server Timing).
    Browsers show it beside each request in their developer tools, and
    ``benchmarks/bench_web.py`` adds it up per slider move: the server's
    time, without the client's (httpx alone spent 1.2 ms per request
    there). The HTTP parsing and writing of the server (uvicorn, well under
    1 ms) lie outside it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()

        async def timed(message):
            if message["type"] == "http.response.start":
                dur = f"app;dur={1000 * (time.perf_counter() - t0):.2f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", dur)]}
            await send(message)

        await self.app(scope, receive, timed)


class BodyLimit:
    """Reject request bodies over ``limit`` bytes with 413, whether or not a
    Content-Length is sent: the body is read (at most ``limit`` bytes are
    held) before the app sees it, then replayed."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    return await _send_json(send, 413, _too_big(self.limit))
        chunks: list[bytes] = []
        seen = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body = msg.get("body", b"")
            seen += len(body)
            if seen > self.limit:
                return await _send_json(send, 413, _too_big(self.limit))
            chunks.append(body)
            if not msg.get("more_body", False):
                break
        data = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_big(limit: int) -> dict:
    return {"detail": f"request body larger than {limit // 1024} KB", "problems": [{"field": "(body)", "expected": f"at most {limit} bytes", "line": None}]}


async def _send_json(send, status: int, body: dict) -> None:
    import json

    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class FastJSON(JSONResponse):
    """JSON without FastAPI's generic encoder (:func:`responses.json_bytes`)."""

    def render(self, content) -> bytes:
        return json_bytes(content)


#: Answers of at least this many bytes go compressed to a client that
#: accepts it, once per kept answer and encoding: Zstandard (RFC 8878;
#: Chromium 123 and Firefox 126 on) where accepted, else gzip. Zstandard at
#: level 3 makes a package's detail (131 KB) 10 KB in 0.09 ms; gzip at
#: level 3, 21 KB in 0.6 ms (level 6: the comparison of the 12 seed
#: packages 22 KB from 144 KB in 1.7 ms), paid by every request of a
#: slider move.
COMPRESS_MIN_BYTES = 1024
GZIP_LEVEL = 3
ZSTD_LEVEL = 3
#: The encodings the server compresses with, the preferred first.
ENCODINGS = ("zstd", "gzip")


def encoding_for(header: str) -> str | None:
    """The encoding of :data:`ENCODINGS` to send to a client with this
    ``Accept-Encoding`` header: the first it accepts (named, or by ``*``,
    without ``q=0``); ``None``: send the answer as it is."""
    q: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        weight = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        q[name.strip().lower()] = weight
    for enc in ENCODINGS:
        if q.get(enc, q.get("*", 0.0)) > 0:
            return enc
    return None


def compressed(data: bytes, encoding: str) -> bytes:
    """``data`` in ``encoding`` (:data:`ENCODINGS`), the same bytes every time
    (gzip without a time stamp)."""
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    import gzip

    return gzip.compress(data, GZIP_LEVEL, mtime=0)


def _loc(loc) -> str:
    parts = [str(x) for x in loc if x not in ("body",)]
    return ".".join(parts) or "(body)"


def create_app(scenarios: Path | str | None = None, workspace: Workspace | None = None, warm: bool = True,
               security: Security | None = None, pool: ComputePool | None = None) -> FastAPI:
    """Build the app. ``scenarios``: folder of package files on offer;
    ``warm``: run the exploration path once in the background;
    ``security``: who may ask what (default: loopback-only serving, with
    the Host header checked, no token and no rate limits); ``pool``: worker
    processes for comparisons and explorations (default: computed in this
    process)."""
    import threading

    from foedus.models.allocator import keep_freed_memory

    keep_freed_memory()  # before the server's threads exist: they then share one arena (models/allocator.py)
    ws = workspace or Workspace(scenarios if scenarios is not None else default_scenarios())
    security = security or Security.local()
    warmed = threading.Event()
    if warm:
        def warm_up() -> None:
            try:
                ws.warm()
                if pool is not None:
                    pool.warm()
            finally:
                warmed.set()

        threading.Thread(target=warm_up, name="foedus-warm", daemon=True).start()
    else:
        warmed.set()
    app = FastAPI(
        title="foedus",
        summary="Design, cost and stress-test security guarantees (reference case: Ukraine after a ceasefire).",
        description="Every number is a model estimate, not a prediction. Errors are JSON {detail, problems}.",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.workspace = ws
    app.state.security = security
    app.state.pool = pool

    # -- errors ------------------------------------------------------------------
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errs = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errs):
            e = next(e for e in errs if e.get("type") == "json_invalid")
            msg = f"malformed JSON: {e.get('ctx', {}).get('error', e.get('msg'))}"
            return JSONResponse({"detail": msg, "problems": [{"field": "(body)", "expected": "a JSON object", "line": None}]}, status_code=400)
        problems = []
        for e in errs:
            expected = e.get("msg", "invalid value")
            if e.get("type") == "missing":
                expected = "required field is missing"
            elif e.get("type") == "extra_forbidden":
                expected = "unknown field"
            got = e.get("input")
            if got is not None and not isinstance(got, (dict, list)) and e.get("type") not in ("missing",):
                expected += f", got {str(got)[:80]!r}"
            problems.append({"field": _loc(e.get("loc", ())), "expected": expected, "line": None})
        detail = "; ".join(f"{p['field']}: {p['expected']}" for p in problems)
        return JSONResponse({"detail": detail, "problems": problems}, status_code=422)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError):
        d = exc.as_dict()
        return JSONResponse({"detail": str(exc), "file": d["file"], "problems": d["problems"]}, status_code=422)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        return JSONResponse({"detail": str(exc), "problems": []}, status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused):
        return JSONResponse({"detail": str(exc), "problems": []}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        msg = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and msg == "Not Found":
            msg = f"no such resource: {request.url.path}"
        return JSONResponse({"detail": msg, "problems": []}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _other(request: Request, exc: Exception):  # pragma: no cover - a bug, logged
        log.exception("internal error on %s", request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); please report it", "problems": []}, status_code=500)

    # -- page and assets -------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        allowed = {"app.js": "text/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}
        if name not in allowed:
            raise StarletteHTTPException(404, f"no such asset: {name}")
        return FileResponse(STATIC / name, media_type=allowed[name], headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    # -- API -------------------------------------------------------------------
    @app.get("/api/health", tags=["meta"])
    def health() -> dict:
        return {"status": "ok", "warm": warmed.is_set(), "packages": len(ws.all_entries()), "scenario_problems": ws.problems,
                "uploads": {"count": len(ws.uploads), "max": ws.max_uploads, "saved_in": str(ws.store.folder) if ws.store else None},
                "upload_problems": ws.upload_problems, "designs": len(ws.designs), "design_problems": ws.design_problems}

    responses = ResponseCache()
    app.state.responses = responses

    def _digests(ids) -> tuple:
        """Content digest of each named package (unknown ids pass through:
        the computation reports them and errors are never kept)."""
        out = []
        for pid in ids:
            e = ws.shipped.get(pid) or ws.uploads.get(pid)
            out.append((pid, e.digest if e is not None else None))
        return tuple(out)

    async def _cached(route: str, body, compute, pooled: tuple | None = None, slot=None, *, request: Request) -> Response:
        """The finished bytes of a read-only request: kept per request body
        and package contents, computed once while in flight (in a worker
        process when there is a pool and the request is ``pooled``: the
        workspace method and its arguments; holding ``slot``, a context
        manager that bounds how many such computations run at once). Sent
        compressed to a client that accepts it (:func:`encoding_for`,
        :func:`compressed`: the compressed bytes are kept too, so an answer
        is compressed once per encoding).

        A kept answer is sent from the event loop; only a computation goes
        to the thread pool. (Handing every request to a thread cost more
        than the lookup: under 50 clients the event loop spent a third of
        its time waking threads and waiting for the interpreter lock, and
        a cached comparison waited behind them.)"""
        if isinstance(body, (Scenario, ExploreRequest, SensitivityRequest, DetailRequest)):
            key = (route, canonical(body.model_dump(mode="json")), _digests(body.packages))
        else:
            key = (route, canonical(body), _digests(e.package.id for e in ws.all_entries()))

        def finish() -> bytes:
            with slot() if slot is not None else contextlib.nullcontext():
                if pool is not None and pooled is not None:
                    uploads = {pid: ws.uploads[pid].text for pid in body.packages if pid in ws.uploads}
                    # the assumptions pick the worker, whose caches the requests of one move share (pool.py)
                    return pool.run(pooled[0], uploads, pooled[1], body.overrides, body.horizon)
                return FastJSON(compute()).body

        encoding = encoding_for(request.headers.get("accept-encoding", ""))
        packed_key = key + (encoding,)

        def answer() -> tuple[bytes, bytes | None]:
            """The answer, and compressed in the same thread when the client
            takes it so (one hand-over to a thread, not two)."""
            data = responses.get(key, finish)
            return data, responses.get(packed_key, lambda: compressed(data, encoding)) if encoding and len(data) >= COMPRESS_MIN_BYTES else None

        packed = responses.peek(packed_key) if encoding else None
        data = responses.peek(key) if packed is None else None
        if packed is None and (data is None or (encoding and len(data) >= COMPRESS_MIN_BYTES)):
            data, packed = await run_in_threadpool(answer)
        if packed is not None:
            return Response(packed, media_type="application/json", headers={"Content-Encoding": encoding, "Vary": "Accept-Encoding"})
        return Response(data, media_type="application/json", headers={"Vary": "Accept-Encoding"})

    @app.get("/api/meta", tags=["meta"])
    async def meta(request: Request) -> dict:
        """What the page needs to draw its controls: metrics with labels,
        vocabularies, assumption sliders, bounds."""
        return await _cached("meta", None, _meta, request=request)

    def _meta() -> dict:
        from foedus.data.vintage import vintage
        from foedus.domain.vocabulary import Basis, Kind, LegalForm, Posture
        from foedus.exploration.robustness import DEFAULT_THRESHOLDS

        return {
            "metrics": metric_info(),
            "table_metrics": table_metrics(),
            "cost_split": list(COST_SPLIT),
            "chart_metrics": list(CHART_METRICS),
            "assumptions": ws.assumptions(),
            "european_will": list(EUROPEAN_WILL),
            "legal_forms": LegalForm.values(),
            "postures": Posture.values(),
            "kinds": Kind.values(),
            "countries": [{"iso3": c.iso3, "name": c.name, "nato": c.is_nato, "eu": c.is_eu, "coalition": c.is_coalition} for c in ws.countries.countries.values()
                          if c.iso3 not in ("UKR", "RUS")],
            "nato_marks": {k: ws.defaults.values()[f"costs.nato_mark.{k}"] for k in ("core_2014", "core_2035", "total_2035")},
            "default_horizon": ws.defaults.values()["assessment.horizon_years"],
            "default_thresholds": list(DEFAULT_THRESHOLDS),
            "limits": {"packages": MAX_PACKAGES, "futures": MAX_FUTURES, "body_bytes": MAX_BODY},
            "sensitivity": {"sizes": list(SENSITIVITY_SIZES), "n": SENSITIVITY_N, "metrics": list(SENSITIVITY_METRICS),
                            "max_metrics": MAX_SENSITIVITY_METRICS},
            "basis": BASIS_TEXT,
            "basis_labels": {b.value: b.label for b in Basis},
            "will_scenarios": ws.will_scenarios(),
            "caption": "Model estimates, not predictions.",
            "data": vintage(ws.defaults, ws.countries, [e.package for e in ws.all_entries()]).record(),
        }

    @app.get("/api/packages", tags=["packages"])
    async def packages(request: Request) -> dict:
        """Packages on offer: the shipped scenarios and uploads."""
        return await _cached("packages", None, lambda: {"packages": [ws.summary(e) for e in ws.all_entries()]}, request=request)

    @app.post("/api/packages", tags=["packages"], status_code=201)
    def upload(body: Upload) -> dict:
        """Validate a package file (YAML or JSON text) and offer it for comparison."""
        return ws.summary(ws.add_upload(body.text, body.name))

    @app.delete("/api/packages/{pid}", tags=["packages"])
    def delete(pid: str) -> dict:
        """Delete an uploaded package (and its file in the workspace folder).
        Shipped packages cannot be deleted (403)."""
        e = ws.delete_upload(pid)
        return {"deleted": e.package.id, "title": e.package.title, "packages": len(ws.all_entries())}

    @app.post("/api/packages/validate", tags=["packages"])
    def validate(body: Upload) -> dict:
        """Validate a package file without storing it."""
        from foedus.data.loaders import parse_package

        p = parse_package(body.text, body.name, ws.countries)
        return {"ok": True, "id": p.id, "title": p.title, "n_commitments": len(p.commitments)}

    @app.get("/api/packages/{pid}", tags=["packages"])
    def package(pid: str) -> dict:
        """One package: summary, validated content and the file text."""
        _known(ws, pid)
        return ws.detail(pid)

    @app.post("/api/packages/{pid}/export", tags=["packages"], response_class=PlainTextResponse)
    def export(pid: str, body: ExportRequest) -> PlainTextResponse:
        """The package with lever edits applied, as a package file (YAML)."""
        _known(ws, pid)
        text = ws.export(pid, body.edit.model_dump(exclude_none=True, exclude_defaults=True, mode="json"))
        return PlainTextResponse(text, media_type="application/yaml", headers={"Content-Disposition": f'attachment; filename="{pid}-edited.yaml"'})

    @app.get("/api/parameters", tags=["parameters"])
    async def parameters(request: Request) -> dict:
        """Every parameter: value, unit, year, range, description, sources and
        basis (evidence, calibrated, judgement), with the count per basis."""
        return await _cached("parameters", None, lambda: {"parameters": ws.parameter_list(), "basis_counts": ws.basis_counts()}, request=request)

    @app.get("/api/parameters/{name}", tags=["parameters"])
    def parameter(name: str) -> dict:
        """One parameter (per-country names such as will.ITA resolve to their template)."""
        return ws.parameter(name)

    @app.get("/api/calibration", tags=["parameters"])
    def calibration() -> dict:
        """Published targets against foedus (as ``foedus calibrate --json``):
        fit targets (the calibrated parameters are fitted to them) and checks,
        each with published value, band, foedus value, pass and sources."""
        return FastJSON(ws.calibration())

    @app.post("/api/compare", tags=["assessment"])
    async def compare(body: Scenario, request: Request) -> dict:
        """Baseline (shipped packages, default parameters) and current (lever
        edits and overrides) at the central values, side by side."""
        args = (body.packages, body.overrides, body.edit_dicts(), body.horizon)
        return await _cached("compare", body, lambda: ws.compare(*args), ("compare", args), request=request)

    @app.post("/api/compare/detail", tags=["assessment"])
    async def compare_detail(body: DetailRequest, request: Request) -> dict:
        """One package's whole entry of the comparison, baseline and current
        (the ``foedus compare --json`` contract: every guarantor with its
        figures and commitments, the decisions groups take as one, the
        approvals, the terms of the hazard), every guarantor of "whose
        promise counts", each commitment's display strings and the
        guarantors' defence spending before the package. What
        /api/compare leaves out; from the same cached comparison."""
        args = (body.package, body.overrides, body.edit_dict(), body.horizon)
        return await _cached("compare-detail", body, lambda: ws.compare_detail(*args), ("compare_detail", args), request=request)

    @app.post("/api/by-year", tags=["assessment"])
    async def by_year(body: Scenario, request: Request) -> dict:
        """Baseline and current year by year, from the start year to the
        horizon (the ``foedus compare --by-year --json`` record of each): per
        package and year the attack by the end of that year, cost, forces and
        build-up, with 5th-95th percentiles over the comparison's sample of
        futures, the totals and, per guarantor, its yearly cost, year of peak
        cost and the year its build-up is complete. The same body as
        /api/compare."""
        args = (body.packages, body.overrides, body.edit_dicts(), body.horizon)
        return await _cached("by-year", body, lambda: ws.by_year(*args), ("by_year", args), request=request)

    @app.get("/api/scenarios", tags=["assessment"])
    async def will_scenarios(request: Request) -> dict:
        """The named will scenarios (data/will_scenarios.yaml): id, title,
        description, the will values each fixes (``set``), the CLI option
        and references."""
        return await _cached("will-scenarios", None, lambda: {"scenarios": ws.will_scenarios()}, request=request)

    @app.post("/api/scenarios", tags=["assessment"])
    async def by_will_scenario(body: Scenario, request: Request) -> dict:
        """Each package's attack probability in every named will scenario
        (will fixed, every other input sampled over the default 1,000
        futures: central value and 5th, 50th, 95th percentiles), beside the
        pooled central value and range (will sampled). The same body as
        /api/compare; its will overrides are set aside, the others hold.
        Rate-limited and bounded as an exploration."""
        args = (body.packages, body.overrides, body.edit_dicts(), body.horizon)
        return await _cached("scenarios", body, lambda: ws.by_will_scenario(*args), ("by_will_scenario", args), request=request)

    @app.post("/api/explore", tags=["assessment"])
    async def explore(body: ExploreRequest, request: Request) -> dict:
        """Robustness across sampled futures (satisficing, regret, percentiles)
        and, for ``focus``, the PRIM box of futures where it fails."""
        args = (body.packages, body.overrides, body.edit_dicts(), body.horizon, body.n_futures, body.seed, body.sampler, body.thresholds,
                body.focus, body.baseline)
        return await _cached("explore", body, lambda: ws.explore(*args), ("explore", args), request=request)

    @app.post("/api/discover", tags=["assessment"])
    async def discover(body: ExploreRequest, request: Request) -> dict:
        """Only the PRIM box of futures in which ``focus`` fails (fast after
        /api/explore with the same settings: the futures are cached)."""
        if body.focus is None:
            raise InputError("discover", [Problem("focus", "the id of the package whose failures to explain")])
        args = (body.packages, body.focus, body.overrides, body.edit_dicts(), body.horizon, body.n_futures, body.seed, body.sampler,
                body.thresholds)
        return await _cached("discover", body, lambda: ws.discover(*args), ("discover", args), request=request)

    @app.post("/api/sensitivity", tags=["assessment"])
    async def sensitivity(body: SensitivityRequest, request: Request) -> dict:
        """Sobol' first- and total-order indices of one package's metrics
        (after its lever edit, under the overrides) to every uncertain
        input, with each input's basis (evidence, calibrated, judgement).
        Bounded: n of 256 to 2,048 base samples, at most 6 metrics, one
        analysis at a time per server (a second waits, then gets 503)."""
        args = (body.package, body.overrides, body.edit_dict(), body.horizon, body.metrics, body.n, body.seed)
        return await _cached("sensitivity", body, lambda: ws.sensitivity(*args), ("sensitivity", args), slot=ws.one_sensitivity, request=request)

    # -- design search -----------------------------------------------------------
    @app.get("/api/designs", tags=["design search"])
    def designs() -> dict:
        """The design files on offer to the design search (the ``designs``
        folder beside the scenarios folder): id, title, question, base
        package, objectives and constraints; broken files under
        ``problems``; the defaults and bounds of ``POST /api/optimise``."""
        return {"designs": ws.design_list(), "problems": ws.design_problems, "folder": ws.designs_dir.name if ws.designs_dir else None,
                "defaults": dict(OPTIMISE_DEFAULTS), "bounds": {k: list(v) for k, v in OPTIMISE_BOUNDS.items()},
                "max_designs": OPTIMISE_MAX_DESIGNS}

    @app.post("/api/optimise", tags=["design search"])
    def optimise(body: OptimiseRequest) -> Response:
        """Run the design search of one design file (``foedus optimise``,
        :class:`foedus.study.design_search.DesignSearch`) and answer with
        its record (the ``optimise --json`` contract: design, objectives,
        constraints, settings, search, base, front). Each front member shown
        (at most 12) is added to the workspace as an uploaded package, so it
        can be compared, pinned against the base and exported:
        ``uploaded`` (their summaries, as GET /api/packages lists them) and
        ``base_package`` (the base's id among the packages on offer). One
        search at a time per server (a second waits, then gets 503);
        bounded in futures, population and generations."""
        d = ws.design(body.design)
        args = (body.design, body.futures, body.population, body.generations, body.seed, body.overrides)
        key = ("optimise", canonical(body.model_dump(mode="json")), d.digest)

        def finish() -> bytes:
            with ws.one_optimise():
                if pool is not None:
                    return pool.run("optimise", {}, args)
                return FastJSON(ws.optimise(*args)).body

        return FastJSON(_offer(json.loads(responses.get(key, finish))))

    def _offer(found: dict) -> dict:
        """The search's record, with its designs (and its base, unless it is
        a shipped package) added to the workspace as uploads."""
        b = found["base"]
        shipped = ws.shipped.get(b["id"])
        to_add = list(found["members"])
        base_pid, base_note = b["id"], None
        if shipped is None:
            to_add.append({"id": b["id"], "text": b["text"]})
        elif shipped.digest != hashlib.sha256(b["text"].encode()).hexdigest()[:16]:
            base_pid = None
            base_note = (f"the design's base package ({b['file']}) has the id of a shipped package, '{b['id']}', "
                         "but not its content: it is not offered for comparison")
        held = ws.uploads
        new = [m["id"] for m in to_add if m["id"] not in held]
        if len(held) + len(new) > ws.max_uploads:
            raise Refused(409, f"the {len(to_add)} designs found need {len(new)} more uploads, and this server keeps at most "
                               f"{ws.max_uploads} uploaded packages ({len(held)} held); delete some and search again")
        entries = []
        for m in to_add:
            e = held.get(m["id"])
            entries.append(e if e is not None and e.text == m["text"] else ws.add_upload(m["text"], f"{m['id']}.yaml"))
        members = {m["id"] for m in found["members"]}
        return {**found["record"], "uploaded": [ws.summary(e) for e in entries if e.package.id in members],
                "base_package": base_pid, "base_note": base_note, "elapsed_ms": found["elapsed_ms"]}

    @app.post("/api/report", tags=["assessment"], response_class=HTMLResponse)
    def report(body: ReportRequest) -> HTMLResponse:
        """A self-contained HTML report of this view (no external resources)."""
        html = ws.report(body.packages, body.overrides, body.edit_dicts(), body.horizon, body.n_futures, body.seed, body.thresholds)
        return HTMLResponse(html, headers={"Content-Disposition": 'attachment; filename="foedus-report.html"'})

    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(Guard, security=security)
    app.add_middleware(ServerTiming)  # added last: runs first, so its time includes the others
    return app


def _known(ws: Workspace, pid: str) -> None:
    if ws.shipped.get(pid) is None and ws.uploads.get(pid) is None:
        raise StarletteHTTPException(404, f"no package with id '{pid}' (known: {', '.join(e.package.id for e in ws.all_entries())})")


def serve(host: str = "127.0.0.1", port: int = 8000, scenarios: Path | None = None, log_level: str = "info", *,
          workspace: Workspace | None = None, security: Security | None = None, workers: int | None = None) -> None:
    """Serve the app with uvicorn. ``workers``: processes for comparisons
    and explorations (default: one per core; 0: compute in the server
    process)."""
    import uvicorn

    from foedus.interfaces.web.pool import default_workers

    n = default_workers() if workers is None else workers
    ws = workspace or Workspace(scenarios if scenarios is not None else default_scenarios())
    pool = ComputePool(ws.scenarios, n, designs=ws.designs_dir) if n > 0 else None
    app = create_app(workspace=ws, security=security or Security.local(host), pool=pool)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level)  # sets up uvicorn's loggers
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C during start-up
        pass
    finally:
        if pool is not None:
            pool.close()
    if not server.started:  # e.g. the port is taken; uvicorn has logged why
        raise SystemExit(3)


def asgi():  # pragma: no cover - for `uvicorn --factory foedus.interfaces.web.app:asgi` (loopback policy)
    uploads = os.environ.get("FOEDUS_WORKSPACE")
    ws = Workspace(os.environ.get("FOEDUS_SCENARIOS") or default_scenarios(), uploads_dir=Path(uploads) / "uploads" if uploads else None)
    return create_app(workspace=ws)
