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
Needs Debian's chromium (``/usr/bin/chromium``) and playwright (the test extra); skipped without them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

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
  const prio = document.querySelector('ol.priorities');
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


def _site(tmp: Path) -> Path:
    env = {**os.environ, "TMB_CACHE_DIR": str(tmp / "cache")}
    tmb = [sys.executable, "-m", "tmb_analysis.cli"]
    for args in (["sample", "--out", tmp / "sample"], ["import", tmp / "sample", "--store", tmp / "store"],
                 ["build", "--lan", "21", "--store", tmp / "store", "--out", tmp / "reports"]):
        subprocess.run([*tmb, *map(str, args)], env=env, check=True, capture_output=True)
    return tmp / "reports"


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
        site = _site(tmp)
        counts = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport=VIEWPORT)
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else route.abort())
            for html in sorted(site.glob("kommun-*.html")):
                page.goto(html.as_uri())
                counts[html.stem] = page.evaluate(COUNT_JS)
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
    }]


if __name__ == "__main__":
    for row in run():
        print(row["name"], f"{row['seconds'] / 60:.1f} min", row["note"])
