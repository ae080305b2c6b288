"""The report as an A4 PDF, printed by the installed Chromium.

``foedus report ... -o brief.pdf`` builds the self-contained HTML report
(:func:`foedus.interfaces.report.build.build_report`) and hands it to
:func:`html_to_pdf`, which adds the print stylesheet :data:`PRINT_CSS` and
prints the page with Debian's ``chromium`` (never a downloaded browser),
driven by Playwright.

Why Playwright rather than ``chromium --headless --print-to-pdf``: both use
the same print engine, but the command line gives no way to choose the
paper (it prints US Letter unless the page's CSS says otherwise), no way to
say "no browser header and footer" that has kept its name across Chromium
releases, no signal that loading has finished, and no error beyond an exit
status (it can exit 0 and leave an empty file). Playwright's ``page.pdf``
is a documented, versioned API over the DevTools ``Page.printToPDF`` call:
paper, margins, backgrounds and CSS page size are explicit arguments, every
step has a timeout, and failures come back as exceptions with a message.
Playwright is already what the browser tests use against the same
executable. Every browser step (start, load, print) runs under what is
left of one deadline (``timeout``); when it passes, the browser is closed
and :class:`ReportError` is raised.

Page layout lives in CSS, so the HTML printed from a browser's own print
dialog and the PDF break the same way: A4 with margins, headings kept with
what follows them, table rows, charts and summary blocks never split, the
navigation hidden, and page numbers ("page 3 of 37") in the bottom margin
through CSS page-margin boxes (Chromium 131 or later; older versions print
the same pages without numbers), with the report's title at the bottom left
and its handling marking, when it has one, at the top and bottom centre.

Errors a user can fix (no Chromium, no Playwright, a browser that does not
start or finish, an unwritable output) raise :class:`ReportError`, an
:class:`~foedus.domain.errors.InputError`, so the command line prints one
line naming what to install and exits with status 2, without a traceback.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from foedus.domain.errors import InputError, Problem

#: Where Debian's ``apt-get install chromium`` puts the browser.
CHROMIUM = "/usr/bin/chromium"
#: Environment variable naming another Chromium executable.
CHROMIUM_ENV = "FOEDUS_CHROMIUM"
#: Seconds allowed for the whole conversion (start the browser, lay out, print).
TIMEOUT_S = 60.0
#: Page margins in millimetres; the bottom one holds the page numbers.
MARGIN_MM = {"top": 16, "right": 14, "bottom": 18, "left": 14}
#: Chromium switches: no first-run, sync, component or background traffic; no GPU.
CHROMIUM_ARGS = ("--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")

#: First line of :data:`PRINT_CSS`; its presence in a page means the sheet is already in.
PRINT_CSS_MARKER = "/* foedus print stylesheet (A4) */"

_M = MARGIN_MM
_FOOT = "font:8pt system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#5f6b7a"

#: The print stylesheet, for a ``<style>`` element after the report's own
#: styles. ``@page`` and ``@media print`` only: it changes nothing on screen.
PRINT_CSS = f"""{PRINT_CSS_MARKER}
@page{{size:A4;margin:{_M['top']}mm {_M['right']}mm {_M['bottom']}mm {_M['left']}mm;
  @bottom-right{{content:"page " counter(page) " of " counter(pages);{_FOOT}}}}}
@media print{{
html,body{{background:#fff}}
body{{font-size:9.5pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
main{{max-width:none;margin:0;padding:0}}
nav,header nav,[role=navigation],.toolbar,.no-print,button,input,select,textarea,form{{display:none!important}}
h1,h2,h3,h4{{break-after:avoid;page-break-after:avoid;break-inside:avoid;page-break-inside:avoid}}
h2{{margin-top:14pt}}
h1+p,h2+p,h3+p,h4+p{{break-after:avoid;page-break-after:avoid}}
h2+p:has(+table),h3+p:has(+table),h3+p:has(+ol){{break-after:avoid;page-break-after:avoid}}
p,li{{orphans:3;widows:3}}
table{{font-size:7pt;width:100%;max-width:100%}}
thead{{display:table-header-group}}
tr,th,td{{break-inside:avoid;page-break-inside:avoid}}
th,td{{padding:2px 3px}}
td.n{{white-space:nowrap}}
.rng{{white-space:normal}}
td a,td code,pre,a{{overflow-wrap:anywhere}}
svg,img,figure,.chart,.charts>*,.caveat,.summary,.exec-summary,.bottom-line,.keep,pre,blockquote{{break-inside:avoid;page-break-inside:avoid}}
img{{max-width:100%}}
a{{color:inherit;text-decoration:none}}
pre{{white-space:pre-wrap}}
}}
"""


class ReportError(InputError):
    """The report cannot be written as asked (e.g. no PDF engine).

    An :class:`InputError` (file = the output path), so interfaces print it
    as one line and exit with status 2, without a traceback.
    """


def _error(out: Path | str | None, what: str, expected: str) -> ReportError:
    return ReportError(str(out) if out is not None else None, [Problem(what, expected)])


#: Characters of the title kept in the footer (fewer beside a marking, which takes the centre).
FOOTER_TITLE_MAX, FOOTER_TITLE_MAX_MARKED = 90, 48
_MARK = "font:700 8.5pt system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#000;letter-spacing:.04em"


def _css_string(text: str, limit: int | None = None) -> str:
    """``text`` on one line as the inside of a CSS string: backslashes and
    quotes escaped, '<' as an escape so it can never close the <style> element."""
    t = " ".join(text.split())
    if limit is not None and len(t) > limit:
        t = t[:limit - 1] + "…"
    return t.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")


def print_css(title: str | None = None, marking: str | None = None) -> str:
    """:data:`PRINT_CSS`, plus ``title`` at the bottom left of every page
    and the handling ``marking`` (e.g. "OFFICIAL") at the top and bottom
    centre of every page, when given (the marking closing the page on
    screen is then not printed again)."""
    out = PRINT_CSS
    if title:
        t = _css_string(title, FOOTER_TITLE_MAX_MARKED if marking else FOOTER_TITLE_MAX)
        out += f'@page{{@bottom-left{{content:"{t}";{_FOOT}}}}}\n'
    if marking:
        m = _css_string(marking)
        out += f'@page{{@top-center{{content:"{m}";{_MARK}}}@bottom-center{{content:"{m}";{_MARK}}}}}\n'
        # every printed page carries the marking in its margins: the one closing the page on screen is not
        # printed again (alone, it could spill onto a page of its own)
        out += "@media print{.marking.end{display:none}}\n"
    return out


def _document_title(html: str) -> str | None:
    from html import unescape

    m = re.search(r"<title[^>]*>(.*?)</title\s*>", html, re.I | re.S)
    return (unescape(m.group(1)).strip() or None) if m else None


def with_print_css(html: str, title: str | None = None, marking: str | None = None) -> str:
    """``html`` with the print stylesheet in its ``<head>``.

    The sheet (:func:`print_css`) goes just before ``</head>``, after the
    page's own styles, so it wins the cascade; it is not added twice when
    :data:`PRINT_CSS_MARKER` is already in the page. ``title`` (else the
    page's ``<title>``) is printed at the bottom left of each page,
    ``marking`` at the top and bottom centre."""
    title = title or _document_title(html)
    sheet = print_css(title, marking)
    extra = sheet if PRINT_CSS_MARKER not in html else sheet[len(PRINT_CSS):]
    if not extra:
        return html
    style = f"<style>{extra}</style>"
    m = re.search(r"</head\s*>", html, re.I)
    if m:
        return html[:m.start()] + style + html[m.start():]
    m = re.search(r"<body[^>]*>", html, re.I)
    return html[:m.start()] + style + html[m.start():] if m else style + html


def find_chromium(executable: str | os.PathLike | None = None, *, out: str | os.PathLike | None = None) -> Path:
    """The Chromium to print with: ``executable`` if given, else
    ``$FOEDUS_CHROMIUM``, else Debian's ``/usr/bin/chromium``, else
    ``chromium`` on the PATH. Raises :class:`ReportError` naming what to
    install when there is none (``out``: the file being written, named in
    the message); never downloads a browser."""
    if executable is None:
        executable = os.environ.get(CHROMIUM_ENV) or None
    if executable is not None:
        p = Path(executable)
        if p.is_file() and os.access(p, os.X_OK):
            return p.absolute()
        how = f"set by {CHROMIUM_ENV}" if str(executable) == os.environ.get(CHROMIUM_ENV) else "given"
        raise _error(out, "PDF engine", f"no Chromium executable at {p} ({how}); install Debian's with `apt-get install chromium` "
                     f"or point {CHROMIUM_ENV} at a Chromium (foedus never downloads a browser)")
    for cand in (CHROMIUM, shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return Path(cand)
    raise _error(out, "PDF engine", f"Chromium is not installed ({CHROMIUM} not found): install it with `apt-get install chromium`, "
                 f"or point {CHROMIUM_ENV} at a Chromium executable (foedus never downloads a browser)")


def _require_playwright(out: str | os.PathLike | None = None) -> None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        raise _error(out, "PDF engine", "the Python package playwright is not installed: `pip install playwright` "
                     "(or `pip install 'foedus[pdf]'`; it drives the installed Chromium, no `playwright install` is needed)") from None


def pdf_page_count(data: bytes) -> int:
    """Pages in a PDF as Chromium writes it: the root page-tree node's
    ``/Count``, else the number of page objects (0 when neither is in
    plain text, e.g. in compressed object streams)."""
    counts = [int(c) for d in re.findall(rb"<<\s*/Type\s*/Pages\b(.*?)>>", data, re.S) for c in re.findall(rb"/Count\s+(\d+)", d)]
    if counts:
        return max(counts)
    return len(re.findall(rb"/Type\s*/Page\b", data))


async def _print(executable: Path, page_file: Path, timeout: float) -> bytes:
    """Print ``page_file`` with ``executable``; every browser step gets the
    time left of ``timeout`` seconds, and the browser is closed whatever
    happens. (The steps are bounded one by one, rather than the whole
    coroutine cancelled from outside, so that Playwright's driver process is
    never abandoned half-started.)"""
    from playwright.async_api import async_playwright

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def left_ms() -> float:
        left = deadline - loop.time()
        if left <= 0:
            raise asyncio.TimeoutError
        return left * 1000

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(executable), args=list(CHROMIUM_ARGS), timeout=left_ms())
        try:
            # offline and without JavaScript: the report needs neither, and a page
            # built from user files must not reach out or run anything
            ctx = await browser.new_context(offline=True, java_script_enabled=False)
            page = await ctx.new_page()
            await page.goto(page_file.as_uri(), wait_until="load", timeout=left_ms())
            seconds = left_ms() / 1000
            return await asyncio.wait_for(page.pdf(format="A4", prefer_css_page_size=True, print_background=True,
                                                   margin={k: f"{v}mm" for k, v in MARGIN_MM.items()}), seconds)
        finally:
            try:
                await asyncio.wait_for(browser.close(), 15)
            except Exception:  # noqa: BLE001 - leaving async_playwright stops the driver, which ends the browser
                pass


def _run(coro_fn):
    """``asyncio.run(coro_fn())`` from sync code, also when this thread
    already runs an event loop (then in a helper thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_fn())
    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro_fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    th = threading.Thread(target=target, name="foedus-pdf", daemon=True)
    th.start()
    th.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def html_to_pdf(html: str, out: str | os.PathLike, *, title: str | None = None, marking: str | None = None,
                executable: str | os.PathLike | None = None, timeout: float = TIMEOUT_S) -> int:
    """Print ``html`` (a self-contained page, as ``build_report`` returns)
    to ``out`` as an A4 PDF; returns the number of pages.

    ``title`` (default: the page's ``<title>``) is printed at the bottom left
    of every page, the page number at the bottom right; ``marking`` (a
    handling marking such as "OFFICIAL"), when given, at the top and bottom
    centre of every page (a report built with a marking carries it already).
    ``executable``: the
    Chromium to use (see :func:`find_chromium`). ``timeout``: seconds for the
    whole conversion. The file is written only when printing succeeded
    (atomically: a failed run leaves no partial PDF).

    Raises :class:`ReportError` when Chromium or Playwright is missing, the
    browser cannot start or does not finish within ``timeout``, or ``out``
    cannot be written."""
    out = Path(out)
    if not out.parent.is_dir():  # before spending seconds on printing
        raise _error(out, "output", f"cannot write: no folder {out.parent}")
    exe = find_chromium(executable, out=out)
    _require_playwright(out)
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    doc = with_print_css(html, title, marking)
    with tempfile.TemporaryDirectory(prefix="foedus-pdf-") as tmp:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(doc, encoding="utf-8")
        try:
            data = _run(lambda: _print(exe, page_file, timeout))
        except (asyncio.TimeoutError, TimeoutError, PlaywrightTimeout):
            raise _error(out, "PDF engine", f"Chromium ({exe}) did not finish printing within {timeout:g} s") from None
        except PlaywrightError as exc:
            first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise _error(out, "PDF engine", f"Chromium ({exe}) failed: {first}") from None
    if not data.startswith(b"%PDF"):
        raise _error(out, "PDF engine", f"Chromium ({exe}) returned no PDF")
    try:
        fd, part = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(part, out)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise _error(out, "output", f"cannot write ({exc.strerror or exc})") from None
    return pdf_page_count(data)


__all__ = ["CHROMIUM", "CHROMIUM_ENV", "MARGIN_MM", "PRINT_CSS", "PRINT_CSS_MARKER", "TIMEOUT_S", "ReportError",
           "find_chromium", "html_to_pdf", "pdf_page_count", "print_css", "with_print_css"]
