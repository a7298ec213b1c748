"""Where a PDF's time goes: each step of printing a built site's pages, with the CPU time of chromium's
processes in each (issue 13's ``--pdf`` cost).

    .venv/bin/python benchmarks/profile_pdf.py REPORTS_FOLDER [--reps 3] [--glob 'kommun-*.html']

``REPORTS_FOLDER`` is a site ``tmb build`` wrote (``reports/``). The pages are printed one at a time in
one print tab and one chart tab, as :class:`tmb_analysis.pdf.PdfPrinter` prints them: load, lay out for
paper (``_PREPARE``), draw the charts in the chart tab (``_DRAW``), put them in (``_PUT``) and print. A
first round warms the browser up and is not counted; then ``--reps`` rounds are, and the means per page are
printed: wall clock and CPU seconds by process (renderer, browser, gpu, node). Not a benchmark with a
target (``run.py`` runs only ``bench_*.py``): a tool to see which step to work on.

``--handout`` prints each page up to where its page 3 starts (the second forced page break of tmb.css's
print rules: the handout, Kort om with the spine chart and then the proposal cards), cut off as the page
is parsed, before its first layout: what a PDF of the handout alone would cost, which no build writes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import time
from pathlib import Path

from harness import cpu_seconds, process_tree


def _kind(proc) -> str:
    line = " ".join(proc.cmdline())
    for flag, kind in (("--type=renderer", "renderer"), ("--type=gpu", "gpu"), ("--type=", "chromium other")):
        if flag in line:
            return kind
    return "node" if proc.name() == "node" else ("browser" if "chrom" in proc.name() else proc.name())


def _cpu(me) -> collections.Counter:
    import psutil

    used: collections.Counter = collections.Counter()
    for proc, seconds in cpu_seconds(process_tree(me, with_root=False)).values():
        try:
            used[_kind(proc)] += seconds
        except psutil.Error:  # gone (or a zombie) since its CPU time was read
            pass
    return used


#: ``--handout``: at DOMContentLoaded, after the print tab's own handler (which opens the folds), every cell
#: from the second one that starts a page on, and the held charts that were in them, are taken out.
_HANDOUT_ONLY = """document.addEventListener('DOMContentLoaded', () => {
  const cells = [...document.querySelectorAll('main .jp-Cell, main > .cell')];
  const breaks = cells.filter(c => getComputedStyle(c).breakBefore === 'page');
  if (breaks.length < 2) return;
  cells.slice(cells.indexOf(breaks[1])).forEach(c => c.remove());
  const held = window.__tmbHeld;
  for (let i = held.length - 1; i >= 0; i--) {
    const gd = typeof held[i][0] === 'string' ? document.getElementById(held[i][0]) : held[i][0];
    if (!gd || !gd.isConnected) held.splice(i, 1);
  }
});"""


async def _profile(pages: list[Path], reps: int, handout: bool = False) -> tuple[dict[str, collections.Counter], dict]:
    import psutil
    from playwright.async_api import async_playwright
    from pypdf import PdfReader

    from tmb_analysis import pdf

    me = psutil.Process()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=pdf.find_chromium(), headless=True, args=pdf.CHROMIUM_ARGS)
        ctx = await browser.new_context(viewport=pdf.VIEWPORT)
        await ctx.route("**/*", pdf._offline)
        await ctx.add_init_script(pdf._HOLD_CHARTS)
        if handout:
            await ctx.add_init_script(_HANDOUT_ONLY)
        page = await pdf.PdfPrinter._new_page(ctx)
        chart_ctx = await browser.new_context(viewport=pdf.VIEWPORT)
        await chart_ctx.route("**/*", lambda route: route.abort())
        chart = await chart_ctx.new_page()
        await chart.set_content(pdf._CHART_DOC)
        await chart.add_script_tag(content=(pages[0].parent / "assets" / "plotly.min.js").read_text("utf-8"))
        steps: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        pages_printed: dict[str, int] = {}

        def step(name, since):
            t0, cpu0 = since
            now = time.perf_counter(), _cpu(me)
            steps[name]["wall"] += now[0] - t0
            steps[name].update({k: v - cpu0.get(k, 0) for k, v in now[1].items()})
            return now

        # the PDFs go to a folder of its own: nothing is written into the site
        out = Path(tempfile.mkdtemp(prefix="tmb-profile-pdf-")) / "page.pdf"
        for rep in range(reps + 1):
            for html_path in pages:
                at = time.perf_counter(), _cpu(me)
                await page.goto(html_path.resolve().as_uri(), wait_until="load")
                at = step("load", at)
                _, charts = await page.evaluate(pdf._PREPARE)
                at = step("lay out for paper", at)
                if charts:
                    svgs = await chart.evaluate(pdf._DRAW, charts)
                    at = step("draw charts", at)
                    await page.evaluate(pdf._PUT, svgs)
                    at = step("put charts in", at)
                await page.pdf(
                    path=str(out), format="A4", scale=pdf.PRINT_SCALE, print_background=True, display_header_footer=True
                )
                step("print", at)
                if rep == 0:
                    pages_printed[html_path.name] = len(PdfReader(out).pages)
            if rep == 0:
                steps.clear()
        await browser.close()
    out.unlink(missing_ok=True)
    out.parent.rmdir()
    return steps, pages_printed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--glob", default="*-*.html")
    parser.add_argument("--handout", action="store_true", help="print each page's handout (pages 1-2) only")
    args = parser.parse_args()
    pages = sorted(args.reports.glob(args.glob))
    if not pages:
        raise SystemExit(f"{args.reports}: no pages matching {args.glob}")
    steps, printed = asyncio.run(_profile(pages, args.reps, args.handout))
    n = len(pages) * args.reps
    total: collections.Counter = collections.Counter()
    counts = sorted(printed.values())
    print(f"{len(pages)} pages x {args.reps} rounds, {counts[0]}-{counts[-1]} A4 pages each; seconds per page")
    for name, used in [*steps.items(), ("all steps", None)]:
        used = total if used is None else used
        if used is not total:
            total.update(used)
        cpu = {k: v / n for k, v in sorted(used.items()) if k != "wall" and v / n >= 0.0005}
        print(
            f"  {name:18s} wall {used['wall'] / n:6.3f}  CPU {sum(cpu.values()):6.3f}  "
            + "  ".join(f"{k} {v:.3f}" for k, v in cpu.items())
        )


if __name__ == "__main__":
    main()
