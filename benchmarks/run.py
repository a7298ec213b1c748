"""Run the speed benchmarks: every ``benchmarks/bench_*.py`` module's ``run()``.

Each ``run()`` returns a list of dicts ``{"name", "seconds", "target_seconds" (or None),
"baseline_seconds" (or None), "note"}``; the table printed here shows each figure with
its target and, where a baseline was measured in the same run, the speed-up ratio. A row may
also list ``"missed"``: targets other than time (memory, page size) that were not met.
Results are also written to ``benchmarks/results/latest.json``. Exit code 1 when a
target is missed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    only = set(argv)
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"== {path.stem}", flush=True)
        for r in mod.run():
            rows.append({"bench": path.stem, **r})
            ratio = f"  x{r['baseline_seconds'] / r['seconds']:.1f} vs baseline {r['baseline_seconds']:.2f} s" if r.get("baseline_seconds") else ""
            target = f" (target < {r['target_seconds']} s)" if r.get("target_seconds") else ""
            ok = "" if not r.get("target_seconds") else ("  OK" if r["seconds"] < r["target_seconds"] else "  MISSED")
            print(f"   {r['name']}: {r['seconds']:.2f} s{target}{ratio}{ok}  {r.get('note', '')}", flush=True)
            for what in r.get("missed", []):
                print(f"   MISSED: {what}", flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "latest.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    missed = [r for r in rows if (r.get("target_seconds") and r["seconds"] >= r["target_seconds"]) or r.get("missed")]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
