"""Who may use a served foedus, from where, and how much (docs/web.md,
"Security model").

:class:`Security` is the policy of one server; :class:`Guard` applies it to
every HTTP request before the app sees it (outermost ASGI middleware), in
this order:

1. **Host header** (against DNS rebinding): the name the browser asked for
   must be one of the allowed hosts, or the IP address the connection
   arrived on. Anything else is a 400.
2. **Access token** (only when serving with ``--allow-remote``): an
   ``Authorization: Bearer <token>`` header, the HttpOnly cookie the page
   gets when it is opened as ``/?token=<token>``, or that first ``?token=``
   itself on ``GET /``. Anything else is a 401.
3. **Rate limits per client address** (only with ``--allow-remote``): a
   token bucket per client and kind of request (uploads, comparisons,
   explorations); an empty bucket is a 429 with ``Retry-After``.

Loopback-only serving (the default) has the Host check and nothing else,
as before: one local user, no token, no limits.

To limit another route, add a line to :data:`LIMITED`; to add a kind of
limit, a :class:`Limit` to :data:`DEFAULT_LIMITS`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
import secrets
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

log = logging.getLogger("foedus.web")

#: Host names that mean "this machine, over loopback".
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
#: A given token must be at least this long (a generated one is 43
#: characters: 32 random bytes, URL-safe base64).
MIN_TOKEN_LENGTH = 16
#: Name of the HttpOnly cookie that carries the token for the page (the
#: server's port is appended, so two servers on one host keep their own).
TOKEN_COOKIE = "foedus_token"
#: The cookie lasts a working week; it is worthless once the server's token
#: changes (a generated token changes at every start).
COOKIE_MAX_AGE = 7 * 24 * 3600
#: Clients whose buckets are remembered; beyond that the least recently seen
#: is forgotten (it starts again with a full bucket). Bounds the memory a
#: stream of new addresses can take (about 100 bytes each).
MAX_TRACKED_CLIENTS = 10_000


@dataclass(frozen=True)
class Limit:
    """A token bucket: ``burst`` requests at once, then ``per_second``."""

    what: str
    burst: int
    per_second: float

    def describe(self) -> str:
        every = 1 / self.per_second
        pace = f"one every {every:g} s" if every >= 1 else f"{self.per_second:g} a second"
        return f"at most {self.burst} {self.what} at once, then {pace}"


#: Uploads, validations and deletions of packages. Each parses up to 512 KB
#: (with the bounded-time parser) and an upload or deletion writes to the
#: workspace folder; a person writing packages adds a few a minute. Ten at
#: once, then one every 6 s (10 a minute), lets the page re-upload a shared
#: link's packages and stops one client from churning the 64 upload slots.
UPLOAD_LIMIT = Limit("uploads, validations or deletions of packages", burst=10, per_second=1 / 6)
#: Central-value comparisons (``/api/compare``, package export). The page
#: sends one per pause in a slider drag (debounced by 50 ms), a few a second
#: at most; one costs from ~20 ms (cached) to ~1 s of CPU (16 packages,
#: every guarantor's worth). 40 at once, then 4 a second, is more than a
#: person dragging sliders produces, and keeps one client from occupying
#: both cores with uncached comparisons for long.
COMPARE_LIMIT = Limit("comparisons", burst=40, per_second=4)
#: Explorations across futures (``/api/explore``, ``/api/discover``,
#: ``/api/report``, Sobol' sensitivity, ``/api/sensitivity``, and the design
#: search, ``/api/optimise``, one at a time per server): up to 20,000 futures and a PRIM box, ~0.1 to several
#: seconds each, at most two at once for the whole server. With live
#: futures the page sends an explore and a discover per settled move, one
#: at a time; 20 at once, then 2 a second, follows a person moving a slider
#: every second, and stops a client from queueing explorations faster than
#: the two slots serve them. (The page retries after ``Retry-After``.)
EXPLORE_LIMIT = Limit("explorations", burst=20, per_second=2)
DEFAULT_LIMITS: dict[str, Limit] = {"upload": UPLOAD_LIMIT, "compare": COMPARE_LIMIT, "explore": EXPLORE_LIMIT}

#: Which requests draw on which bucket: (method, path pattern, limit name).
LIMITED: tuple[tuple[str, re.Pattern, str], ...] = (
    ("POST", re.compile(r"/api/packages(/validate)?"), "upload"),
    ("DELETE", re.compile(r"/api/packages/[^/]+"), "upload"),
    ("POST", re.compile(r"/api/compare"), "compare"),
    ("POST", re.compile(r"/api/packages/[^/]+/export"), "compare"),
    ("POST", re.compile(r"/api/(explore|discover|report|sensitivity|scenarios|optimise)"), "explore"),
)


def generate_token() -> str:
    """A new access token: 32 random bytes from :mod:`secrets`, URL-safe."""
    return secrets.token_urlsafe(32)


def check_token(token: str) -> str | None:
    """Why ``token`` cannot be used, or None."""
    if len(token) < MIN_TOKEN_LENGTH:
        return (f"at least {MIN_TOKEN_LENGTH} characters, got {len(token)} "
                "(leave it out to have one generated, or make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if not re.fullmatch(r"[A-Za-z0-9._~-]+", token):
        return "letters, digits and . _ ~ - only (it travels in a URL and a cookie)"
    return None


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` serves this machine only (``localhost``,
    127.0.0.0/8, ::1, or a name that resolves to loopback addresses only)."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        pass
    try:
        addrs = {a[4][0] for a in socket.getaddrinfo(h, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def is_wildcard(host: str) -> bool:
    """Whether ``host`` is 0.0.0.0 or :: (every interface)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host of a Host header, without port or IPv6 brackets, lower case."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h[1:]
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".")


@dataclass
class Security:
    """The policy of one server: allowed Host names, the access token (None:
    no token needed) and the rate limits (None: no limits)."""

    allowed_hosts: frozenset[str] = frozenset(LOOPBACK_HOSTS)
    token: str | None = None
    limits: dict[str, Limit] | None = None
    remote: bool = False

    @classmethod
    def local(cls, host: str = "127.0.0.1", extra_hosts: tuple[str, ...] | list[str] = ()) -> "Security":
        """Loopback-only serving: Host check, no token, no limits."""
        return cls(frozenset({*LOOPBACK_HOSTS, host_name(host), *(host_name(h) for h in extra_hosts)}))

    @classmethod
    def exposed(cls, host: str, token: str, extra_hosts: tuple[str, ...] | list[str] = (),
                limits: dict[str, Limit] | None = None) -> "Security":
        """Serving with ``--allow-remote``: token, Host check, rate limits.
        Allowed hosts: the bound address, this machine's names (for a
        wildcard or non-loopback address), the loopback names, and
        ``extra_hosts``; besides, any request may name the IP address its
        connection arrived on."""
        why = check_token(token)
        if why:
            raise ValueError(f"access token: {why}")
        names = {*LOOPBACK_HOSTS, *(host_name(h) for h in extra_hosts)}
        if not is_wildcard(host):
            names.add(host_name(host))
        if is_wildcard(host) or not is_loopback(host):
            for n in (socket.gethostname(), socket.getfqdn()):
                if n:
                    names.add(n.lower())
        return cls(frozenset(names), token, dict(DEFAULT_LIMITS if limits is None else limits), True)

    @property
    def any_host(self) -> bool:
        return "*" in self.allowed_hosts

    def host_allowed(self, host: str, local_addr: str | None) -> bool:
        if self.any_host or host in self.allowed_hosts:
            return True
        if local_addr is None:
            return False
        try:  # an IP literal naming the address the connection came in on
            return ipaddress.ip_address(host) == ipaddress.ip_address(local_addr.split("%")[0])
        except ValueError:
            return False

    def token_ok(self, candidate: str | None) -> bool:
        return self.token is None or (candidate is not None and secrets.compare_digest(candidate.encode(), self.token.encode()))


@dataclass
class RateLimiter:
    """Token buckets per (client address, limit name); thread-safe."""

    limits: dict[str, Limit]
    clock: object = time.monotonic
    max_clients: int = MAX_TRACKED_CLIENTS
    _buckets: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, client: str, name: str) -> float:
        """Spend one request of ``client`` on limit ``name``: 0 if allowed,
        else the seconds until one is available again."""
        limit = self.limits[name]
        now = self.clock()
        key = (client, name)
        with self._lock:
            tokens, last = self._buckets.get(key, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - last) * limit.per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / limit.per_second
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


def limit_name(method: str, path: str) -> str | None:
    for m, pattern, name in LIMITED:
        if method == m and pattern.fullmatch(path):
            return name
    return None


# Every response: no framing (clickjacking), no MIME sniffing, and no
# Referer (a URL carrying ?token= must not leak to the sources' sites).
SECURITY_HEADERS = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]

UNAUTHORISED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>foedus: access token needed</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>Access token needed</h1>
<p>This foedus server is reachable from the network, so every request needs its access token.</p>
<p>Open the address that <code>foedus serve --allow-remote</code> printed when it started
(it ends in <code>/?token=&hellip;</code>), or ask whoever runs the server for it.</p>
</body></html>
"""


class Guard:
    """ASGI middleware applying a :class:`Security` policy (see the module
    docstring). Add it last, so that it runs first."""

    def __init__(self, app, security: Security):
        self.app = app
        self.security = security
        self.limiter = RateLimiter(security.limits) if security.limits else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sec = self.security
        headers = {}
        for k, v in scope.get("headers", []):
            headers.setdefault(k.decode("latin-1"), v.decode("latin-1"))
        path, method = scope.get("path", "/"), scope.get("method", "GET")
        server = scope.get("server") or (None, None)

        host = headers.get("host")
        if not host:
            return await _reply(send, 400, "missing Host header: send the name of the server you asked for")
        name = host_name(host)
        if not sec.host_allowed(name, server[0]):
            return await _reply(send, 400, f"Host header '{host[:100]}' is not a name of this server (a guard against DNS "
                                           "rebinding); if you reached it under another name, start foedus serve with --allowed-host "
                                           "NAME (foedus serve prints the names it allows when it starts)")

        set_cookie = None
        if sec.token is not None:
            cookie_name = f"{TOKEN_COOKIE}_{server[1]}" if server[1] else TOKEN_COOKIE
            given = None
            auth = headers.get("authorization", "")
            if auth[:7].lower() == "bearer ":
                given = auth[7:].strip()
            elif "cookie" in headers:
                jar = SimpleCookie()
                try:
                    jar.load(headers["cookie"])
                except Exception:  # a malformed Cookie header is no token
                    jar = SimpleCookie()
                if cookie_name in jar:
                    given = jar[cookie_name].value
            if given is None and path == "/" and method in ("GET", "HEAD"):
                q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
                if q.get("token"):
                    given = q["token"][0]
                    if sec.token_ok(given):
                        set_cookie = (f"{cookie_name}={given}; HttpOnly; SameSite=Strict; Path=/; Max-Age={COOKIE_MAX_AGE}").encode()
            if not sec.token_ok(given):
                what = "wrong access token" if given else "access token missing"
                if path == "/" and method in ("GET", "HEAD"):
                    return await _reply_html(send, 401, UNAUTHORISED_PAGE)
                return await _reply(send, 401, f"{what}: this server is reachable from the network; send 'Authorization: Bearer <token>' "
                                               "(the token foedus serve printed at start), or open the page with /?token=<token>",
                                    [(b"www-authenticate", b'Bearer realm="foedus"')])

        if self.limiter is not None:
            lname = limit_name(method, path)
            if lname is not None:
                client = (scope.get("client") or ("unknown",))[0]
                wait = self.limiter.take(client, lname)
                if wait > 0:
                    secs = max(1, math.ceil(wait))
                    lim = self.limiter.limits[lname]
                    return await _reply(send, 429, f"too many {lim.what} from {client}: {lim.describe()}; try again in {secs} s",
                                        [(b"retry-after", str(secs).encode())])

        async def send_with_headers(msg):
            if msg["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if set_cookie is not None:
                    extra.append((b"set-cookie", set_cookie))
                have = {k.lower() for k, _ in msg.get("headers", [])}
                msg = {**msg, "headers": list(msg.get("headers", [])) + [(k, v) for k, v in extra if k not in have or k == b"set-cookie"]}
            await send(msg)

        await self.app(scope, receive, send_with_headers)


async def _reply(send, status: int, detail: str, headers: list | None = None) -> None:
    data = json.dumps({"detail": detail, "problems": []}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *SECURITY_HEADERS, *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


async def _reply_html(send, status: int, html: str) -> None:
    data = html.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(data)).encode()),
                            (b"cache-control", b"no-store"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": data})


class RedactTokens(logging.Filter):
    """Hide ``token=...`` in uvicorn's access log (the page's first request
    carries the token in its query string)."""

    _re = re.compile(r"(token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._re.sub(r"\1(hidden)", a) if isinstance(a, str) else a for a in record.args)
        return True
