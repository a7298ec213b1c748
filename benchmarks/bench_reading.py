"""How long a kommun report takes to read: words above the fold and in the running text.

The kommun report is meant to be read by a politician in ten minutes (issue 5). This builds
Gävleborg from the example data into a temporary folder, opens each kommun report in headless
chromium at a laptop viewport (1366 × 768) and counts, with the browser's own layout:

* the words visible before any scrolling (above the fold);
* the words of "Tre förslag till prioriteringar";
* the words of the running text: everything a reader sees without opening anything, except the
  tables and the charts (which are looked at, not read word by word) and closed ``<details>``.

Reading time is the running text at 200 words per minute, a usual figure for adults reading
factual prose; the target is ten minutes. The figure reported is the median over the ten reports.

It also measures the layout (issue 13), with folds closed: where the first proposal is named ("Kort
om") and where the first proposal card starts, at 1366 × 768 and at 390 × 844; the page height at both
widths; the page weight without the shared plotly.js (the HTML and the stylesheet); the pages of each
kommun PDF, of its handout (the pages before "Alla indikatorer efter tema") and of the county PDF.
Targets: the first proposal's whole Kort om line above the fold at 1366 × 768 and within one screen at
390 × 844 (the card itself follows the spine chart and is reported, not a target), ≤ 6 000 px at 1366
px, ≤ 8 PDF pages, a handout of ≤ 2 pages, ≤ 500 kB. And what ``--pdf`` costs: the
same Gävleborg build from scratch without and with ``--pdf`` (each with its own results cache).
Needs Debian's chromium (``/usr/bin/chromium``) and playwright (the test extra); skipped without them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from harness import tmb

WORDS_PER_MINUTE = 200
VIEWPORT = {"width": 1366, "height": 768}
CHROMIUM = os.environ.get("TMB_CHROMIUM", "/usr/bin/chromium")

# Words of visible text nodes, by where they are; tables, charts, scripts and closed details excluded.
COUNT_JS = """
() => {
  const skip = (el) => el.closest('table, .js-plotly-plot, .plotly-graph-div, script, style, noscript, svg')
    || (el.closest('details') && !el.closest('details').open && !el.closest('summary'));
  const words = (t) => t.split(/\\s+/).filter((w) => /[\\p{L}\\p{N}]/u.test(w)).length;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const fold = window.innerHeight;
  let above = 0, running = 0, priorities = 0;
  const prio = document.querySelector('.proposals') || document.querySelector('.no-proposal');
  const prioSection = prio ? prio.parentElement : null;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || skip(el)) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const rects = [...range.getClientRects()];
    if (!rects.length) continue;
    const w = words(n.textContent);
    running += w;
    if (rects[0].top < fold) above += w;
    if (prio && (prio.contains(el))) priorities += w;
  }
  return {above, running, priorities};
}
"""


#: Where the first proposal is and how long the page is (CSS px, from the top of the document): the top and
#: the bottom of its line in "Kort om" (name, reason, strength and stability: what a reader acts on) and
#: the top of its card (key figure, trend, comparisons, the chart in a fold), which follows the spine chart.
LAYOUT_JS = """
() => {
  const top = (sel) => { const el = document.querySelector(sel);
    return el ? Math.round(el.getBoundingClientRect().top + scrollY) : null; };
  const bottom = (sel) => { const el = document.querySelector(sel);
    return el ? Math.round(el.getBoundingClientRect().bottom + scrollY) : null; };
  return {kort: top('.kort-om li.kort-forslag, .kort-om dd.none'),
          kort_end: bottom('.kort-om li.kort-forslag, .kort-om dd.none'),
          card: top('article.proposal, .no-proposal'), height: document.documentElement.scrollHeight};
}
"""
PHONE = {"width": 390, "height": 844}


def _site(tmp: Path) -> tuple[Path, float, float]:
    """Gävleborg built twice from the example data, without and with --pdf (each from scratch, its own
    cache): the site with PDFs and the two wall-clock times."""
    import time

    for args in (["sample", "--out", tmp / "sample"], ["import", tmp / "sample", "--store", tmp / "store"]):
        subprocess.run(tmb(*args), check=True, capture_output=True)
    times = []
    for name, extra in (("plain", []), ("reports", ["--pdf"])):
        env = {**os.environ, "TMB_CACHE_DIR": str(tmp / f"cache-{name}")}
        t0 = time.perf_counter()
        subprocess.run(tmb("build", "--lan", "21", "--store", tmp / "store", "--out", tmp / name, *extra),
                       env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return tmp / "reports", times[0], times[1]


def _pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def _handout_pages(path: Path) -> int:
    """The pages before the one where "Alla indikatorer efter tema" starts: the handout (Kort om, the
    spine chart, the proposal cards)."""
    from pypdf import PdfReader

    texts = [" ".join((p.extract_text() or "").split()) for p in PdfReader(path).pages]
    return next((i for i, t in enumerate(texts) if "Alla indikatorer efter tema" in t), len(texts))


def run() -> list[dict]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("   skipped: playwright is not installed (pip install -e '.[test]')")
        return []
    if not Path(CHROMIUM).exists():
        print(f"   skipped: no chromium at {CHROMIUM} (apt-get install chromium, or set TMB_CHROMIUM)")
        return []
    tmp = Path(tempfile.mkdtemp(prefix="tmb-reading-"))
    try:
        site, plain_s, pdf_s = _site(tmp)
        counts, layout = {}, {}
        import time

        t0 = time.perf_counter()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            pages = {}
            for key, viewport in (("laptop", VIEWPORT), ("phone", PHONE)):
                pages[key] = browser.new_page(viewport=viewport)
                pages[key].route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                                 else route.abort())
            for html in sorted(site.glob("kommun-*.html")):
                row = {}
                for key, page in pages.items():
                    page.goto(html.as_uri())
                    page.wait_for_timeout(300)
                    if key == "laptop":
                        counts[html.stem] = page.evaluate(COUNT_JS)
                    row[key] = page.evaluate(LAYOUT_JS)
                row["pdf_pages"] = _pdf_pages(html.with_suffix(".pdf"))
                row["handout_pages"] = _handout_pages(html.with_suffix(".pdf"))
                row["kb"] = (html.stat().st_size + (site / "assets" / "tmb.css").stat().st_size) / 1000
                layout[html.stem] = row
            browser.close()
        lan_pdf = {p.stem: _pdf_pages(p) for p in site.glob("lan-*.pdf")}
        measured_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def spread(get):
        values = [get(r) for r in layout.values() if get(r) is not None]
        return f"median {statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})" if values else "–"

    missed = []
    for what, get, limit in (("first proposal (its whole Kort om line) above the fold at 1366×768",
                              lambda r: r["laptop"]["kort_end"], 768),
                             ("first proposal (its whole Kort om line) within one screen at 390×844",
                              lambda r: r["phone"]["kort_end"], 844),
                             ("kommun report ≤ 6 000 px at 1366 px, folds closed", lambda r: r["laptop"]["height"], 6000),
                             ("full kommun PDF ≤ 8 pages", lambda r: r["pdf_pages"], 8),
                             ("handout ≤ 2 pages", lambda r: r["handout_pages"], 2),
                             ("page weight ≤ 500 kB without plotly.js", lambda r: r["kb"], 500)):
        worst = max(get(r) for r in layout.values())
        if worst > limit:
            missed.append(f"{what}: worst {worst:.0f}")
    reading = {
        "name": "kommun report layout (Gävleborg, example data, folds closed)",
        "seconds": measured_s, "target_seconds": None, "baseline_seconds": None, "missed": missed,
        "note": (f"first proposal's Kort om line from {spread(lambda r: r['laptop']['kort'])} to "
                 f"{spread(lambda r: r['laptop']['kort_end'])} px (1366×768) and from "
                 f"{spread(lambda r: r['phone']['kort'])} to {spread(lambda r: r['phone']['kort_end'])} px (390×844); "
                 "first card or 'Inget förslag' at "
                 f"{spread(lambda r: r['laptop']['card'])} px / {spread(lambda r: r['phone']['card'])} px; page height "
                 f"{spread(lambda r: r['laptop']['height'])} px at 1366, {spread(lambda r: r['phone']['height'])} px at "
                 f"390 (target ≤ 6 000 at 1366); PDF pages {spread(lambda r: r['pdf_pages'])} (target ≤ 8), handout "
                 f"{spread(lambda r: r['handout_pages'])} (target ≤ 2), "
                 f"county PDF {lan_pdf}; page weight without plotly.js {spread(lambda r: r['kb'])} kB (target ≤ 500)"),
        "layout": layout,
    }
    cost = {
        "name": "tmb build --lan 21 --pdf against the same build without --pdf",
        "seconds": pdf_s, "target_seconds": None, "baseline_seconds": plain_s,
        "note": f"ratio {pdf_s / plain_s:.2f} (issue 13's target: at most 1.5 on the whole-country build)",
    }
    med = {k: statistics.median(c[k] for c in counts.values()) for k in ("above", "running", "priorities")}
    lo = {k: min(c[k] for c in counts.values()) for k in med}
    hi = {k: max(c[k] for c in counts.values()) for k in med}
    minutes = med["running"] / WORDS_PER_MINUTE
    return [{
        "name": "kommun report reading time (Gävleborg, example data)",
        "seconds": minutes * 60, "target_seconds": 600, "baseline_seconds": None,
        "note": (f"median of {len(counts)} reports at {WORDS_PER_MINUTE} words/min: running text "
                 f"{med['running']:.0f} words ({lo['running']}–{hi['running']}); above the fold at "
                 f"{VIEWPORT['width']}×{VIEWPORT['height']}: {med['above']:.0f} words ({lo['above']}–{hi['above']}); "
                 f"'Tre förslag till prioriteringar': {med['priorities']:.0f} words "
                 f"({lo['priorities']}–{hi['priorities']}); tables, charts and closed details not counted"),
        "words_per_report": counts,
    }, reading, cost]


if __name__ == "__main__":
    for row in run():
        took = f"{row['seconds']:.1f} s" if row.get("seconds") is not None else ""
        print(row["name"], took, row["note"])
