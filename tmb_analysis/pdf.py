"""Print pages of the site to A4 PDF with Debian's chromium (headless), one browser for a whole build.

The reports are read on paper at hearings, so ``tmb build --pdf`` writes ``kommun-XXXX.pdf`` and
``lan-XX.pdf`` beside the HTML. :class:`PdfPrinter` starts one chromium (driven by playwright, with
``executable_path``: playwright never downloads a browser here) from a thread of its own, so that pages
are printed while the kernels build the next reports, two at a time on two cores or more (each tab's
renderer does its work on one main thread). Every request other than ``file://`` is
blocked, as in the browser tests. Each page is laid out at the A4 text width before its charts are
drawn: the charts are held at load and drawn once, at the size of their boxes on paper (a chart drawn for
a wide screen and shrunk, or cut off, at print time would mislead); every ``<details>`` is opened, and
chromium adds a running header (the page's title and data year) and page numbers.

A page is printed without ever running plotly.js: its charts are drawn by plotly.js in a chart tab that
each printing tab keeps, a small document where plotly.js is started once for the whole build, and are put
into the page as plotly's own SVG (what its image export writes), so that on paper they are the charts the
screen shows, at the paper's size. This took about a quarter off the CPU time of a PDF (issue 13).
"""

from __future__ import annotations

import asyncio
import html
import os
import shutil
import threading
from concurrent.futures import Future, wait
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

__all__ = ["ChromiumMissing", "PdfPrinter", "default_tabs", "find_chromium", "A4_TEXT_WIDTH_PX"]

#: Flags for a headless chromium on a machine without a network (as the browser tests use).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
#: A4 is 210 mm wide; with 15 mm margins the text is 180 mm = 680 CSS pixels (96 per inch).
MARGIN_MM = 15
A4_TEXT_WIDTH_PX = round((210 - 2 * MARGIN_MM) / 25.4 * 96)
#: The PDF is drawn at 80 %: the page is laid out 850 CSS px wide and shrunk to the 680 px of A4 text, so
#: the print sizes of tmb.css come out at 80 % on paper (body 9.5 pt as 7.6 pt, the tables' 7 pt as 5.6 pt,
#: Kort om's 8 pt as 6.4 pt), as in a printed statistical profile. Until issue 13b the same shrink happened
#: by accident (a table wider than the paper made chromium shrink every page to fit, to about 78 %).
PRINT_SCALE = 0.8
LAYOUT_WIDTH_PX = round(A4_TEXT_WIDTH_PX / PRINT_SCALE)
#: The tabs' viewport height: no style of the site depends on it, and chromium rasters only what is in
#: view, so a low one spares the GPU process work on every page (about half of its CPU time).
VIEWPORT_HEIGHT_PX = 100
VIEWPORT = {"width": LAYOUT_WIDTH_PX, "height": VIEWPORT_HEIGHT_PX}
#: Seconds a page may take to load and draw its charts before its PDF fails.
PAGE_TIMEOUT_S = 60

#: How each kind of chart is laid out on paper (``window.tmbPaper``): one file for tmb's printer and for a
#: reader's own Ctrl+P (page.html.j2), run in the print tab before the page's scripts (with
#: :data:`_HOLD_CHARTS`), so that a page prints with the paper layout of the printer's own version (the
#: page's copy leaves a ``tmbPaper`` already defined as it is).
_PAPER_JS = resources.files("tmb_analysis").joinpath("assets/tmb-paper.js").read_text("utf-8")
#: Run before any script of a page in a print tab, where plotly.js is never loaded (the request for it is
#: answered with nothing, :func:`_is_plotly`): a stand-in ``Plotly`` holds every ``Plotly.newPlot`` call
#: instead of drawing. The charts are drawn by plotly.js in the worker's chart tab (:data:`_DRAW`), once,
#: at the size their boxes have on paper, and put into the page as SVG (:data:`_PUT`). Loading and starting
#: plotly.js's 4.8 MB for every page was about a fifth of a PDF's CPU time, and drawing the charts inside
#: the long print document forced a layout of the whole document for every text plotly measures (issue 13:
#: ``--pdf`` must not double the nightly run). The page's own print handlers (for a reader's Ctrl+P, in
#: page.html.j2) see the class ``tmb-print`` that :data:`_PREPARE` sets and leave the page alone.
_HOLD_CHARTS = (
    _PAPER_JS
    + """
(() => {
  const held = [];
  // the page's own handlers call plotly only for charts it drew (.js-plotly-plot): never in a print tab
  const stand_in = {__tmbStandIn: true, newPlot: (...args) => { held.push(args); return Promise.resolve(); }};
  window.__tmbHeld = held;
  Object.defineProperty(window, 'Plotly', {
    configurable: true, enumerable: true, get() { return stand_in; }, set() {}});
  // laid out for paper from the first layout on: the class set and every fold opened as soon as the page
  // is parsed (there is no document element yet when this runs), before the first layout
  document.addEventListener('DOMContentLoaded', () => {
    document.documentElement.classList.add('tmb-print');
    document.querySelectorAll('details').forEach(d => { d.open = true; });
  });
})();"""
)
#: Open every fold and lay the page out for paper, then return every held chart as plotly's figure for
#: paper with the size its box has there: ``[plotly, charts]``, the address of the plotly.js the page asked
#: for and the charts as JSON, ``[{id, data, layout, config, width, height}, ...]`` (or null for none). A
#: chart drawn in a closed fold would get plotly's default width (700 px, wider than the 680 px of A4 text)
#: and be cut off. Each chart's figure for paper is ``tmbPaper.figure`` (assets/tmb-paper.js, which a
#: reader's own Ctrl+P uses too), given the width and height of its box in the page laid out for paper.
_PREPARE = """async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.documentElement.classList.add('tmb-print');
  const script = document.querySelector('script[src*="plotly"]');
  const charts = [];
  // the box's computed size, as plotly.js would read it to size a chart that has no size of its own
  const draw = (gd, data, layout, config) => {
    if (!gd.id) gd.id = 'tmb-chart-' + charts.length;
    const style = getComputedStyle(gd);
    charts.push({id: gd.id, data, layout, config, width: style.width, height: style.height});
  };
  const held = window.__tmbHeld.splice(0);
  held.forEach(([id, data, layout, config]) => {
    const gd = typeof id === 'string' ? document.getElementById(id) : id;
    if (!gd) return;
    const [paperData, paper] = window.tmbPaper.figure(gd, data, layout, gd.offsetWidth, gd.offsetHeight);
    draw(gd, paperData, paper, config);
  });
  // as one string: playwright passes a string through as it is, but wraps every number of an object
  return [script ? script.src : null, charts.length ? JSON.stringify(charts) : null];
}"""
#: The chart tab's document: nothing but plotly.js (added by :meth:`PdfPrinter._chart_tab`).
_CHART_DOC = '<!DOCTYPE html><html lang="sv"><head><meta charset="utf-8"></head><body></body></html>'
#: In the chart tab: draw each chart in a box of the size it has on paper, as plotly.js would in the page,
#: and return it as plotly's own SVG (``Plotly.Snapshot.toSVG``, what its image export writes), each in turn
#: in a small document, out of view (as plotly's export draws it: nothing is rastered).
_DRAW = """async (json) => {
  const svgs = [];
  for (const chart of JSON.parse(json)) {
    const box = document.createElement('div');
    box.style.cssText = `position:absolute;left:-5000px;top:0;width:${chart.width};height:${chart.height}`;
    document.body.appendChild(box);
    try {
      await Plotly.newPlot(box, chart.data, chart.layout, {...(chart.config || {}), staticPlot: true});
      svgs.push([chart.id, Plotly.Snapshot.toSVG(box)]);
    } finally {
      Plotly.purge(box);
      box.remove();
    }
  }
  return JSON.stringify(svgs);
}"""
#: In the print tab: put each chart's SVG into its box; fails when a held chart got none.
_PUT = """(json) => {
  for (const [id, svg] of JSON.parse(json)) {
    const gd = document.getElementById(id);
    gd.innerHTML = svg;
    const root = gd.querySelector('svg');
    if (!root) throw new Error(`chart ${id}: plotly.js drew nothing`);
    root.style.display = 'block';
  }
}"""


class ChromiumMissing(RuntimeError):
    """``--pdf`` was asked for, but Debian's chromium (or playwright) is not installed."""


def find_chromium() -> str:
    """The chromium executable: ``$TMB_CHROMIUM``, else ``chromium`` on the PATH, else /usr/bin/chromium."""
    for candidate in (os.environ.get("TMB_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise ChromiumMissing("--pdf needs Debian's chromium (apt-get install chromium), or $TMB_CHROMIUM naming one")


def _template(text: str, right: str) -> str:
    style = "font-family:system-ui,Arial,sans-serif;font-size:8pt;color:#4a4a4a;width:100%;margin:0 15mm;"
    return (
        f'<div style="{style}display:flex;justify-content:space-between">'
        f"<span>{html.escape(text)}</span><span>{right}</span></div>"
    )


def default_tabs() -> int:
    """Tabs the printer keeps: two on a machine with two or more cores, else one. One tab's renderer does its
    work (layout, the charts, the print) on one main thread; a second one lets the printing use a second
    core, above all once the kernels are done and only the printing is left."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _is_plotly(request) -> bool:
    """A page's request for plotly.js (the site's ``assets/plotly.min.js``, or any plotly bundle)."""
    return request.resource_type == "script" and Path(urlsplit(request.url).path).name.startswith("plotly")


async def _offline(route) -> None:
    """A print tab's requests: its own files only (as in the browser tests), and plotly.js answered with
    nothing, since the charts are drawn in the chart tab (:data:`_HOLD_CHARTS`)."""
    request = route.request
    if not request.url.startswith("file://"):
        await route.abort()
    elif _is_plotly(request):
        await route.fulfill(status=200, content_type="text/javascript", body="")
    else:
        await route.continue_()


@dataclass
class _Tab:
    """One printing tab and its chart tab (made when first needed), with the plotly.js the chart tab has."""

    page: object
    chart: object | None = None
    plotly: Path | None = None


class PdfPrinter:
    """One headless chromium, driven from one thread of its own, printing pages as they are submitted.

    ``submit(html_path, pdf_path, header)`` returns a future that completes when the PDF is written
    (or raises what went wrong). ``wait_for`` (an event) holds every print until it is set: a build sets
    it once the shared assets (plotly.js, the stylesheet) are in the staging folder. ``tabs`` pages are
    printed at once (default :func:`default_tabs`), each in a browser context and so a renderer process of
    its own, in the order they were submitted; each tab draws its pages' charts in a chart tab of its own
    (another context, which loads nothing). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, executable: str | None = None, wait_for: threading.Event | None = None, tabs: int | None = None):
        try:
            import playwright.async_api  # noqa: F401 - checked here, used in the printer's thread
        except ImportError:
            raise ChromiumMissing("--pdf needs the Python package playwright (pip install playwright)") from None
        self.executable = executable or find_chromium()
        self.wait_for = wait_for
        self.tabs = max(1, int(tabs if tabs is not None else default_tabs()))
        self.printed = 0
        # playwright's objects are created and used in the printer's thread only, on its event loop
        self._state: dict = {}
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tmb-pdf", daemon=True)
        self._thread.start()

    async def _free_tabs(self) -> asyncio.Queue:
        if "tabs" not in self._state:
            if "starting" not in self._state:
                self._state["starting"] = asyncio.ensure_future(self._start())
            await asyncio.shield(self._state["starting"])
        return self._state["tabs"]

    async def _start(self) -> None:
        from playwright.async_api import async_playwright

        pw = await async_playwright().start()
        self._state["pw"] = pw
        browser = await pw.chromium.launch(executable_path=self.executable, headless=True, args=CHROMIUM_ARGS)
        self._state["browser"] = browser
        tabs: asyncio.Queue = asyncio.Queue()
        for _ in range(self.tabs):
            ctx = await browser.new_context(viewport=VIEWPORT)
            await ctx.route("**/*", _offline)
            await ctx.add_init_script(_HOLD_CHARTS)
            tabs.put_nowait(_Tab(await self._new_page(ctx)))
        self._state["tabs"] = tabs

    @staticmethod
    async def _new_page(ctx):
        # A tab is kept for every page it prints, with print media from the start, so that the page is laid
        # out once, for paper.
        page = await ctx.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        await page.emulate_media(media="print")
        return page

    async def _chart_tab(self, tab: _Tab, plotly: Path):
        """The tab's chart tab, with ``plotly`` loaded: made on the first page that has charts, in a browser
        context of its own that loads nothing, and kept (plotly.js is started once, not for every page)."""
        if tab.chart is not None and tab.plotly == plotly:
            return tab.chart
        if tab.chart is None:
            ctx = await self._state["browser"].new_context(viewport=VIEWPORT)
            await ctx.route("**/*", lambda route: route.abort())
            tab.chart = await ctx.new_page()
            tab.chart.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        await tab.chart.set_content(_CHART_DOC)
        await tab.chart.add_script_tag(content=plotly.read_text(encoding="utf-8"))
        tab.plotly = plotly
        return tab.chart

    async def _fresh(self, tab: _Tab) -> _Tab:
        """New tabs in place of those whose page failed: a failed navigation leaves chromium's error page
        arriving, which would interrupt the next page's navigation in that tab."""
        # the chart tab's context holds only the chart tab, so closing the context closes both
        for closing in (tab.page, tab.chart.context if tab.chart is not None else None):
            try:
                if closing is not None:
                    await closing.close()
            except Exception:  # noqa: BLE001 - a tab that already went away
                pass
        return _Tab(await self._new_page(tab.page.context))

    async def _lay_out(self, tab: _Tab, html_path: Path) -> None:
        """Load the page in the tab, laid out for paper, with every chart drawn in the chart tab and in place."""
        page = tab.page
        await page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
        plotly, charts = await page.evaluate(_PREPARE)
        if charts:
            if not plotly or not plotly.startswith("file:"):
                raise RuntimeError(f"{html_path}: the page has charts but no plotly.js of its own to draw them")
            plotly_js = Path(url2pathname(urlsplit(plotly).path))
            if not plotly_js.is_file():
                raise FileNotFoundError(f"{html_path}: its charts need {plotly_js}, which is missing")
            chart = await self._chart_tab(tab, plotly_js)
            svgs = await asyncio.wait_for(chart.evaluate(_DRAW, charts), PAGE_TIMEOUT_S)
            await page.evaluate(_PUT, svgs)

    async def _print(self, html_path: Path, pdf_path: Path, header: str) -> Path:
        if self.wait_for is not None and not await asyncio.to_thread(self.wait_for.wait, 600):
            raise TimeoutError("the site's assets were never written")
        if not html_path.is_file():
            raise FileNotFoundError(f"{html_path}: no such page to print")
        tabs = await self._free_tabs()
        tab = await tabs.get()
        tmp = pdf_path.with_name(f".{pdf_path.name}.{os.getpid()}.tmp")
        failed = True
        try:
            await self._lay_out(tab, html_path)
            await tab.page.pdf(
                path=str(tmp),
                format="A4",
                scale=PRINT_SCALE,
                print_background=True,
                display_header_footer=True,
                header_template=_template(header, ""),
                footer_template=_template(
                    "tmb-analys", 'sida <span class="pageNumber"></span> av <span class="totalPages"></span>'
                ),
                margin={"top": "16mm", "bottom": "14mm", "left": f"{MARGIN_MM}mm", "right": f"{MARGIN_MM}mm"},
            )
            os.replace(tmp, pdf_path)
            failed = False
        finally:
            if failed:
                try:
                    tab = await self._fresh(tab)
                except Exception:  # noqa: BLE001 - the browser went away: the next page fails in its turn
                    pass
            tabs.put_nowait(tab)
            tmp.unlink(missing_ok=True)
        self.printed += 1
        return pdf_path

    def submit(self, html_path: Path, pdf_path: Path, header: str) -> Future:
        future = asyncio.run_coroutine_threadsafe(self._print(Path(html_path), Path(pdf_path), header), self._loop)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    async def _stop(self) -> None:
        starting = self._state.get("starting")
        if starting is not None:
            try:
                await starting
            except Exception:  # noqa: BLE001 - a browser that never started has nothing to close
                pass
        if "browser" in self._state:
            try:
                await self._state["browser"].close()
            except Exception:  # noqa: BLE001 - closing a browser that already went away
                pass
        if "pw" in self._state:
            try:
                await self._state["pw"].stop()
            except Exception:  # noqa: BLE001
                pass
        self._state.clear()

    def close(self) -> None:
        """Finish what was submitted, then stop the browser and the printer's thread."""
        if not self._thread.is_alive():
            return
        try:
            with self._lock:
                pending = list(self._pending)
            wait(pending)
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
