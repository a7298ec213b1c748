"""Speed of the whole-country analysis: ``compute_results`` on the full example store.

Target: the results table for 290 kommuner, 21 län and riket, 35 indicators and 10 years
(about 100 000 rows, with trends for every row, empirical Bayes, the model of between-area variation,
funnels, pooling, similar-kommun comparisons and priorities with 200 stability redraws) in under
5 s (issue 10 raised it from 3 s for the model and the redraws; benchmarks/bench_signals.py measures
what the redraws cost).

Baseline, measured in the same run: the same analysis with the trends fitted one series at a
time by statsmodels GLM (``statistics.poisson_trend`` / ``share_trend``, the reference the batch
fit is tested against). Fitting every window that way takes minutes, so a random subset of
windows is timed and scaled up to all of them; the baseline is that estimate plus the non-trend
part of ``compute_results`` measured here.

Run: ``python benchmarks/run.py bench_analysis`` (or ``make bench``). Setup (writing and
importing the example data) is not timed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_SECONDS = 5.0
REPEATS = 3
BASELINE_SAMPLE = {"crime": 200, "survey": 200}
REAL_DALARNA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "bra_kommunindikatorer_dalarna" / "bra_kommunindikatorer.derived.csv"


def _time(fn, repeats: int = REPEATS) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _per_series_trend_seconds(res, rng) -> tuple[float, int, int]:
    """Seconds to fit every row's trend with statsmodels one window at a time (estimated)."""
    from tmb_analysis import statistics as st

    total, fitted = 0.0, 0
    n_rows = 0
    for kind, n_sample in BASELINE_SAMPLE.items():
        rows = res[res["source_kind"] == kind]
        n_rows += len(rows)
        if not len(rows):
            continue
        groups = {k: g for k, g in rows.groupby(["area_code", "indicator"], sort=False)}
        pick = rng.choice(len(rows), size=min(n_sample, len(rows)), replace=False)
        t = time.perf_counter()
        for i in pick:
            r = rows.iloc[i]
            s = groups[(r["area_code"], r["indicator"])]
            s = s[s["year"] <= r["year"]]
            if kind == "crime":
                st.poisson_trend(s["year"], s["count"], s["population"], last_n=5)
            else:
                st.share_trend(s["year"], s["value"], s["ci_low"], s["ci_high"], last_n=5)
        total += (time.perf_counter() - t) / len(pick) * len(rows)
        fitted += len(pick)
    return total, fitted, n_rows


def run() -> list[dict]:
    from tmb_analysis import results as indicators
    from tmb_analysis.results import compute_results
    from tmb_analysis.sample import write_sample
    from tmb_analysis.store import import_paths, load_store

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_sample(tmp / "sample")
        import_paths([tmp / "sample"], tmp / "store")
        store = load_store(tmp / "store")
        compute_results(store)  # warm-up: registry, catalogue and configuration caches
        seconds, res = _time(lambda: compute_results(store))
        phases = dict(indicators.LAST_TIMINGS)
        trend_seconds = phases.get("trends", float("nan"))
        per_series, fitted, n_series_rows = _per_series_trend_seconds(res, np.random.default_rng(2024))
        baseline = seconds - trend_seconds + per_series
        phase_text = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
        rows.append({
            "name": "compute_results, whole country (example data)",
            "seconds": seconds,
            "target_seconds": TARGET_SECONDS,
            "baseline_seconds": baseline,
            "note": (f"{len(res):,} rows × {res.shape[1]} columns, {res['area_code'].nunique()} areas; "
                     f"median of {REPEATS}; baseline = the same analysis with one statsmodels GLM per trend series "
                     f"(extrapolated from {fitted} fits); phases (s): {phase_text}"),
        })
        rows.append({
            "name": "trends: numpy batch against statsmodels per series",
            "seconds": trend_seconds,
            "target_seconds": None,
            "baseline_seconds": per_series,
            "note": f"{n_series_rows:,} trends (one per row, five-year window)",
        })
    if REAL_DALARNA.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            import_paths([REAL_DALARNA], Path(tmp) / "store")
            store = load_store(Path(tmp) / "store")
            compute_results(store)
            seconds, res = _time(lambda: compute_results(store))
            rows.append({
                "name": "compute_results, Dalarna (real data)",
                "seconds": seconds,
                "target_seconds": None,
                "baseline_seconds": None,
                "note": f"{len(res):,} rows",
            })
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
