"""Print pages of the site to A4 PDF with Debian's chromium (headless), one browser for a whole build.

The reports are read on paper at hearings, so ``tmb build --pdf`` writes ``kommun-XXXX.pdf`` and
``lan-XX.pdf`` beside the HTML. :class:`PdfPrinter` starts one chromium (driven by playwright, with
``executable_path``: playwright never downloads a browser here) from a thread of its own, so that pages
are printed while the kernels build the next reports, two at a time on two cores or more (each tab's
renderer does its work on one main thread). Every request other than ``file://`` is
blocked, as in the browser tests. Each page is laid out at the A4 text width before its charts are
drawn: the charts are held at load and drawn once, at the width of the paper (a chart drawn for a wide
screen and shrunk, or cut off, at print time would mislead); every ``<details>`` is opened, and
chromium adds a running header (the page's title and data year) and page numbers.
"""

from __future__ import annotations

import asyncio
import html
import os
import shutil
import threading
from concurrent.futures import Future, wait
from pathlib import Path

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
#: Seconds a page may take to load and draw its charts before its PDF fails.
PAGE_TIMEOUT_S = 60

#: Run before any script of a page: hold every ``Plotly.newPlot`` call instead of drawing. A page's charts
#: would otherwise be drawn once at load for the screen and again at their paper size; drawing them once,
#: after the page is laid out for paper, takes about a quarter off the time of a PDF (issue 13: ``--pdf``
#: must not double the nightly run). plotly.js assigns ``window.Plotly`` once, which the setter catches.
#: The page's own print handlers (for a reader's Ctrl+P, in page.html.j2) see the class ``tmb-print`` that
#: :data:`_PREPARE` sets and leave the page alone: until stop 22 they drew every chart again during
#: ``page.pdf``, at 80 % of its box, and once more after it, which was about a fifth of a PDF's CPU time.
_HOLD_CHARTS = """(() => {
  let plotly;
  window.__tmbHeld = [];
  Object.defineProperty(window, 'Plotly', {configurable: true, enumerable: true,
    get() { return plotly; },
    set(value) {
      plotly = value;
      if (value && typeof value.newPlot === 'function' && !value.__tmbDraw) {
        value.__tmbDraw = value.newPlot;
        value.newPlot = (...args) => { window.__tmbHeld.push(args); return Promise.resolve(); };
      }
    }});
})();"""
#: Open every fold, lay the page out for paper, then draw every held chart once, at the size its box
#: has on paper: a chart drawn in a closed fold would get plotly's default width (700 px, wider than the
#: 680 px of A4 text) and be cut off. A trend chart in half the width (a proposal card, a pair of trend
#: charts) gets smaller type, a tighter frame and a tick every other year, so that its plot keeps most
#: of its box at the card's print height. The funnels (two to a row) and the matrix are drawn at the
#: width of their box and at most 300 px high, the map at most 250 px (at the print scale, a quarter of
#: the A4 text height), so that each shares its page with its text; a funnel in half the width gets
#: small type, a tight frame and level tick labels (only the powers of ten when the axis has many ticks).
_PREPARE = """async () => {
  const PAPER_CHART_HEIGHT = 300, PAPER_MAP_HEIGHT = 250, PAPER_COUNTY_MAP_HEIGHT = 440;
  const countyPage = /^lan-/.test(location.pathname.split('/').pop());
  const CARD_TREND = {'font.size': 9, 'legend.font.size': 8, 'legend.y': -0.25, 'margin.t': 8,
    'margin.b': 62, 'margin.l': 48, 'margin.r': 8, 'xaxis.dtick': 2, 'xaxis.tickangle': 0,
    'xaxis.title.text': '', 'yaxis.title.font.size': 9, 'legend.orientation': 'h', 'legend.x': 0};
  const HALF_FUNNEL = {'font.size': 8, 'legend.font.size': 7, 'margin.t': 6, 'margin.r': 6, 'margin.l': 46,
    'margin.b': 84, 'xaxis.tickangle': 0, 'xaxis.title.font.size': 8, 'yaxis.title.font.size': 8,
    'xaxis.title.standoff': 4, 'yaxis.title.standoff': 4};
  // a funnel's log axis keeps its powers of ten when it has more ticks than half the paper holds
  const fewerTicks = axis => {
    if (!axis || !Array.isArray(axis.tickvals) || axis.tickvals.length <= 4) return;
    const keep = axis.tickvals.map((v, i) => i).filter(i => /^10*$/.test(String(axis.tickvals[i])));
    if (keep.length < 2) return;
    axis.ticktext = keep.map(i => (axis.ticktext || axis.tickvals)[i]);
    axis.tickvals = keep.map(i => axis.tickvals[i]);
  };
  const put = (obj, path, value) => {
    const keys = path.split('.');
    let at = obj;
    for (const key of keys.slice(0, -1)) {
      if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
      at = at[key];
    }
    at[keys[keys.length - 1]] = value;
  };
  // The map's first trace holds its text labels ("name<br>value"). On paper they are set small; the
  // county page's map, a third of its page, keeps name and value; a kommun page's map, a quarter of a
  // page, keeps the names only (the values are in the tables), so that the labels do not overlap.
  // Its colour bar is set thin, half the width, in small type.
  const paperMapLabels = (data, withValues) => data.map((trace, i) => {
    if (trace.colorbar) {
      const bar = trace.colorbar, title = bar.title || {};
      return {...trace, colorbar: {...bar, thickness: 8, len: 0.5, tickfont: {...(bar.tickfont || {}), size: 7},
        title: {...title, font: {...(title.font || {}), size: 8}}}};
    }
    if (i !== 0 || trace.mode !== 'text' || !Array.isArray(trace.text)) return trace;
    const text = withValues ? trace.text : trace.text.map(t => String(t).split('<br>')[0]);
    return {...trace, text, textfont: {...(trace.textfont || {}), size: 7}};
  });
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.documentElement.classList.add('tmb-print');
  const P = window.Plotly;
  if (!P || !P.__tmbDraw) return;
  const draw = P.__tmbDraw;
  P.newPlot = draw;
  const held = window.__tmbHeld.splice(0);
  await Promise.all(held.map(([id, data, layout, config]) => {
    const gd = typeof id === 'string' ? document.getElementById(id) : id;
    if (!gd) return null;
    const fig = gd.closest('figure.tmb-figure');
    const name = fig ? fig.dataset.figure || '' : '';
    const paper = JSON.parse(JSON.stringify(layout || {}));
    if (/^(karta|tratt|prioriteringsmatris)/.test(name)) {
      const map = name.startsWith('karta');
      const most = map ? (countyPage ? PAPER_COUNTY_MAP_HEIGHT : PAPER_MAP_HEIGHT) : PAPER_CHART_HEIGHT;
      paper.width = gd.offsetWidth;
      paper.height = Math.min(paper.height || most, most);
      if (map && countyPage) gd.style.setProperty('height', most + 'px', 'important');
      if (map) data = paperMapLabels(data, countyPage);
      if (name.startsWith('tratt') && gd.closest('.funnel-pair')) {
        Object.entries(HALF_FUNNEL).forEach(([path, value]) => put(paper, path, value));
        fewerTicks(paper.xaxis);
      }
    } else if (/^trend/.test(name) && gd.closest('article.proposal, .chart-pair')) {
      Object.entries(CARD_TREND).forEach(([path, value]) => put(paper, path, value));
      paper.width = gd.offsetWidth;
      paper.height = gd.offsetHeight || undefined;
    }
    return draw(gd, data, paper, config);
  }));
}"""
_CHARTS_DRAWN = (
    """() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('svg.main-svg'))"""
)


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


class PdfPrinter:
    """One headless chromium, driven from one thread of its own, printing pages as they are submitted.

    ``submit(html_path, pdf_path, header)`` returns a future that completes when the PDF is written
    (or raises what went wrong). ``wait_for`` (an event) holds every print until it is set: a build sets
    it once the shared assets (plotly.js, the stylesheet) are in the staging folder. ``tabs`` pages are
    printed at once (default :func:`default_tabs`), each in a browser context and so a renderer process of
    its own, in the order they were submitted. Use as a context manager, or call :meth:`close`.
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

        async def offline(route):
            if route.request.url.startswith("file://"):
                await route.continue_()
            else:
                await route.abort()

        tabs: asyncio.Queue = asyncio.Queue()
        for _ in range(self.tabs):
            ctx = await browser.new_context(viewport={"width": LAYOUT_WIDTH_PX, "height": 1000})
            await ctx.route("**/*", offline)
            await ctx.add_init_script(_HOLD_CHARTS)
            tabs.put_nowait(await self._new_tab(ctx))
        self._state["tabs"] = tabs

    @staticmethod
    async def _new_tab(ctx):
        # A tab is kept for every page it prints: its renderer keeps plotly.js compiled between pages (a new
        # tab parses the 4.8 MB again), and print media from the start, so the charts are drawn once.
        page = await ctx.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        await page.emulate_media(media="print")
        return page

    @classmethod
    async def _fresh(cls, page):
        """A new tab in place of one whose page failed: a failed navigation leaves chromium's error page
        arriving, which would interrupt the next page's navigation in that tab."""
        ctx = page.context
        try:
            await page.close()
        except Exception:  # noqa: BLE001 - a tab that already went away
            pass
        return await cls._new_tab(ctx)

    async def _print(self, html_path: Path, pdf_path: Path, header: str) -> Path:
        if self.wait_for is not None and not await asyncio.to_thread(self.wait_for.wait, 600):
            raise TimeoutError("the site's assets were never written")
        if not html_path.is_file():
            raise FileNotFoundError(f"{html_path}: no such page to print")
        tabs = await self._free_tabs()
        page = await tabs.get()
        tmp = pdf_path.with_name(f".{pdf_path.name}.{os.getpid()}.tmp")
        failed = True
        try:
            await page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
            await page.evaluate(_PREPARE)
            await page.wait_for_function(_CHARTS_DRAWN)
            await page.pdf(
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
                    page = await self._fresh(page)
                except Exception:  # noqa: BLE001 - the browser went away: the next page fails in its turn
                    pass
            tabs.put_nowait(page)
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
