"""Speed of the nightly build (`tmb build`), from the example data, against the naive way, in one run.

Measured, each as the wall-clock time of the ``tmb build`` command in a fresh process:

* Gävleborg (10 kommun reports, the county overview and the index), from cold: an empty output folder
  and an empty results cache, so the results table is computed in the run (target < 20 s; the median
  of 3 runs, as a shared machine varies by seconds); and again with the results table already computed;
* the same command again with nothing changed: the nightly case (target < 10 s, "in seconds");
* the whole country (290 kommun reports, 21 county overviews and the index), from cold (target < 300 s).

Also reported: peak memory per worker (the worker process plus its kernel, target < 1 GB, from the
manifest) and page sizes.

The baseline is the naive way, measured in the same run: for each report, the ``papermill`` command
line, then ``jupyter nbconvert --to html``, then plotly.js (4.8 MB) inlined into the page, one report
after another as a shell loop would. It runs on 3 reports (2 kommun reports and 1 county overview)
and is scaled per report to Gävleborg (10 + 1) and the country (290 + 21).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import tmb

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
MEMORY_TARGET_MB = 1024
PAGE_LIMIT_KB = 500  # per page, not counting the shared plotly.js (issue 5)
RUNS = 3  # Gävleborg runs; the median is reported


def _run(cmd: list, env: dict, timeout: float = 1800) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[:4]))} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return seconds


def _sizes(out: Path) -> dict:
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    by_kind: dict[str, list[int]] = {"kommun": [], "lan": []}
    for r in manifest["reports"]:
        by_kind[r["kind"]].append(r["bytes"])
    site = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "kommun_median_kb": round(statistics.median(by_kind["kommun"]) / 1000) if by_kind["kommun"] else None,
        "kommun_max_kb": round(max(by_kind["kommun"]) / 1000) if by_kind["kommun"] else None,
        "lan_median_kb": round(statistics.median(by_kind["lan"]) / 1000) if by_kind["lan"] else None,
        "lan_max_kb": round(max(by_kind["lan"]) / 1000) if by_kind["lan"] else None,
        "plotly_js_kb": round((out / "assets" / "plotly.min.js").stat().st_size / 1000),
        "site_mb": round(site / 1e6, 1),
        "worker_peak_mb": manifest["run"]["worker_peak_mb"],
        "workers": manifest["run"]["workers"],
        "rebuilt": manifest["run"]["rebuilt"],
        "failed": manifest["run"]["failed"] + manifest["run"]["stale"],
    }


def _naive_report(kind: str, code: str, store: Path, work: Path, env: dict) -> tuple[float, int]:
    """papermill CLI, nbconvert CLI, plotly.js inlined: (seconds, page bytes)."""
    from plotly.offline import get_plotlyjs

    nb = NOTEBOOKS / ("kommun_rapport.ipynb" if kind == "kommun" else "lan_oversikt.ipynb")
    executed = work / f"{kind}-{code}.ipynb"
    t0 = time.perf_counter()
    _run([BIN / "papermill", nb, executed, "-r", kind, code, "-r", "store", store, "-p", "year", "0",
          "--cwd", NOTEBOOKS, "-k", "python3", "--no-progress-bar"], env)
    _run([BIN / "jupyter", "nbconvert", "--to", "html", "--no-input", executed, "--output", f"{kind}-{code}"], env)
    page = work / f"{kind}-{code}.html"
    text = page.read_text("utf-8").replace("</head>", f"<script>{get_plotlyjs()}</script></head>", 1)
    page.write_text(text, encoding="utf-8")
    return time.perf_counter() - t0, len(text.encode("utf-8"))


def run() -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="tmb-bench-"))
    try:
        return _run_all(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_all(tmp: Path) -> list[dict]:
    env = {**os.environ, "TMB_CACHE_DIR": str(tmp / "cache-prep"), "PYTHONUNBUFFERED": "1"}
    store = tmp / "store"
    _run(tmb("sample", "--out", tmp / "sample"), env)
    _run(tmb("import", tmp / "sample", "--store", store), env)
    cpus = os.cpu_count()

    # Gävleborg from cold (median of RUNS: a shared 2-core machine varies by seconds), then with the
    # results table already computed, then the unchanged rerun
    cold, warm = [], []
    for i in range(RUNS):
        env_g = {**env, "TMB_CACHE_DIR": str(tmp / f"cache-gavleborg-{i}")}
        out_g = tmp / f"gavleborg-{i}" / "reports"
        cold.append(_run(tmb("build", "--lan", "21", "--store", store, "--out", out_g), env_g))
        warm.append(_run(tmb("build", "--lan", "21", "--store", store, "--out", tmp / f"warm-{i}" / "reports"), env_g))
    t_gavle, t_warm = statistics.median(cold), statistics.median(warm)
    sizes_g = _sizes(out_g)
    manifest_before = (out_g / "manifest.json").read_bytes()
    t_rerun = _run(tmb("build", "--lan", "21", "--store", store, "--out", out_g), env_g)
    untouched = (out_g / "manifest.json").read_bytes() == manifest_before

    # the whole country from cold
    env_c = {**env, "TMB_CACHE_DIR": str(tmp / "cache-country")}
    out_c = tmp / "country" / "reports"
    t_country = _run(tmb("build", "--lan", "all", "--store", store, "--out", out_c), env_c, timeout=3600)
    sizes_c = _sizes(out_c)

    # the naive way on 3 reports, scaled per report
    work = tmp / "naive"
    work.mkdir()
    naive = {key: _naive_report(*key.split("-"), store, work, env_g) for key in ("kommun-2101", "kommun-2180", "lan-21")}
    per_kommun = statistics.mean(naive[k][0] for k in ("kommun-2101", "kommun-2180"))
    per_lan = naive["lan-21"][0]
    naive_page_kb = round(statistics.mean(v[1] for v in naive.values()) / 1000)
    base_gavle = 10 * per_kommun + per_lan
    base_country = 290 * per_kommun + 21 * per_lan
    base_note = (f"baseline: papermill CLI + nbconvert CLI + plotly.js inlined, one report after another, "
                 f"measured on 3 reports ({per_kommun:.1f} s per kommun report, {per_lan:.1f} s per county overview) "
                 f"and scaled per report; naive pages {naive_page_kb} kB each")

    def mem_note(sizes: dict) -> str:
        peak = sizes["worker_peak_mb"]
        verdict = "OK" if peak is not None and peak < MEMORY_TARGET_MB else "MISSED"
        return f"peak memory per worker (process + kernel) {peak} MB (target < {MEMORY_TARGET_MB} MB) {verdict}"

    def size_note(sizes: dict) -> str:
        return (f"pages: kommun median {sizes['kommun_median_kb']} kB (max {sizes['kommun_max_kb']} kB), "
                f"län median {sizes['lan_median_kb']} kB (max {sizes['lan_max_kb']} kB), plotly.js "
                f"{sizes['plotly_js_kb']} kB once; site {sizes['site_mb']} MB")

    def missed(sizes: dict) -> list[str]:
        """Targets other than time: benchmarks/run.py fails the run on any of these."""
        out = []
        if sizes["worker_peak_mb"] is None or sizes["worker_peak_mb"] >= MEMORY_TARGET_MB:
            out.append(f"peak memory per worker {sizes['worker_peak_mb']} MB >= {MEMORY_TARGET_MB} MB")
        for kind in ("kommun", "lan"):
            if (sizes[f"{kind}_max_kb"] or 0) >= PAGE_LIMIT_KB:
                out.append(f"largest {kind} page {sizes[f'{kind}_max_kb']} kB >= {PAGE_LIMIT_KB} kB")
        return out

    return [
        {
            "name": "Gävleborg: 10 kommun reports + county overview + index, cold",
            "missed": missed(sizes_g),
            "seconds": t_gavle, "target_seconds": 20, "baseline_seconds": base_gavle,
            "note": f"median of {RUNS} runs ({', '.join(f'{t:.1f}' for t in cold)} s), each with an empty output "
                    f"folder and an empty results cache (the results table is computed and written as CSV in the run); "
                    f"{sizes_g['workers']} workers on {cpus} cores; {mem_note(sizes_g)}; {size_note(sizes_g)}; {base_note}",
            "runs": cold,
            **{f"gavleborg_{k}": v for k, v in sizes_g.items()},
        },
        {
            "name": "Gävleborg, results table already computed (empty output folder)",
            "seconds": t_warm, "target_seconds": 20, "baseline_seconds": base_gavle,
            "note": f"median of {RUNS} runs ({', '.join(f'{t:.1f}' for t in warm)} s): the nightly case after a "
                    "code or notebook change, the store unchanged",
            "runs": warm,
        },
        {
            "name": "Gävleborg again, nothing changed (the nightly case)",
            "seconds": t_rerun, "target_seconds": 10, "baseline_seconds": base_gavle,
            "note": "rebuilt nothing and published nothing" if untouched else "WARNING: the site was republished",
        },
        {
            "name": "whole country: 290 kommun reports + 21 county overviews + index, cold",
            "seconds": t_country, "target_seconds": 300, "baseline_seconds": base_country,
            "missed": missed(sizes_c),
            "note": f"{sizes_c['workers']} workers on {cpus} cores; {sizes_c['rebuilt']} reports, "
                    f"{sizes_c['failed']} failed; {mem_note(sizes_c)}; {size_note(sizes_c)}",
            **{f"country_{k}": v for k, v in sizes_c.items()},
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row, ensure_ascii=False, indent=2))
