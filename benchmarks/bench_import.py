"""Import speed: the whole country's lägesbild indicators for ten years (the example data).

The example data holds BRÅ's indicator set for all 290 kommuner, 21 län and riket, reported crime
2016–2024 and NTU 2017–2025, as 21 long-form files (one per län, about 36 MB) — the size of a real
national import. Measured in the same run:

* ``import_lagesbild``: ``tmb import`` of the 21 files into an empty store (read, map names, validate,
  merge, write parquet) — target < 5 s;
* ``reimport_unchanged``: importing the same files again (everything compared, nothing written) — target < 5 s;
* baseline: plain ``pandas.read_csv`` of the same files and ``to_parquet`` of the concatenation, without
  any mapping or validation; the ratio shows what the checks cost.

The geography registry and the indicator catalogue are loaded before timing (once per process).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 5.0


def _best(fn, repeat: int = 2) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run() -> list[dict]:
    import pandas as pd

    from tmb_analysis.catalogue import catalogue
    from tmb_analysis.geography import registry
    from tmb_analysis.sample import write_sample
    from tmb_analysis.store import import_paths

    registry()
    catalogue()
    work = Path(tempfile.mkdtemp(prefix="tmb-bench-import-"))
    try:
        sample = work / "sample"
        write_sample(sample)
        files = sorted(sample.glob("exempeldata_bra_kommunindikatorer_*.csv"))
        mb = sum(f.stat().st_size for f in files) / 1e6

        def baseline():
            frame = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
            frame.to_parquet(work / "baseline.parquet", index=False)

        counter = {"n": 0}

        def fresh_import():
            counter["n"] += 1
            store = work / f"store{counter['n']}"
            report = import_paths(files, store)
            assert report.changed and report.tables["crime"].total == 312 * 10 * 15

        store = work / "store_re"
        import_paths(files, store)

        def reimport():
            report = import_paths(files, store)
            assert not report.changed

        base = _best(baseline)
        imp = _best(fresh_import)
        re = _best(reimport)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    note = f"{len(files)} files, {mb:.0f} MB, 290 kommuner + 21 län + riket, 10 years"
    return [
        {"name": "import_lagesbild", "seconds": imp, "target_seconds": TARGET_SECONDS, "baseline_seconds": base,
         "note": f"{note}; baseline = pandas read_csv + to_parquet without checks (x{imp / base:.1f} of it)"},
        {"name": "reimport_unchanged", "seconds": re, "target_seconds": TARGET_SECONDS, "baseline_seconds": base,
         "note": "the same files again: nothing written"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
