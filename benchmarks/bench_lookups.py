"""Speed of the look-ups a kommun report makes in the results table: indexed against boolean masks.

The charts and tables select rows of the whole-country results table (about 100 000 rows) by area,
indicator and year (``results.select``) and look up area names (``results.area_name``). Since issue 15 a
table that ``load_results`` made is indexed once per process by area and indicator
(``results.ResultsIndex``), and a kernel that runs many reports reuses the index and the frames it hands out.

Measured, in one run, on the example data for the whole country (``tmb sample``, imported into a
temporary store):

1. The calls are recorded, not guessed: the kommun report notebook (``notebooks/kommun_rapport.py``) runs
   in this process, cell by cell in an IPython shell (every result rendered as the HTML export renders it),
   for :data:`KOMMUNER`, with the results table kept in memory as in a build kernel; every call of
   ``select`` and ``area_name`` that any module of the package makes is recorded with its arguments.
2. The recorded calls are replayed, report after report, as a kernel runs them: (a) through the index,
   starting without one, so the first report's time includes building it; (b) by boolean masks over the
   whole table, on the same table without its key (``attrs['tmb_key']``), which is how ``select`` finds
   rows in a frame that has no index. :data:`REPEATS` rounds; reported are the medians of all the
   reports' look-ups and of those of the reports after the first (a kernel's later reports, which reuse
   the index and the frames it handed out), each with the ratio masks / index.
3. Both ways must give identical results: every frame is compared with ``assert_frame_equal`` (values,
   dtypes, index and column order) and every name with ``==``; a difference fails the benchmark.

Run: ``python benchmarks/run.py bench_lookups``. Setup (the example data, the results table and the
recorded reports) is not timed.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "kommun_rapport.py"
#: The kommun reports whose look-ups are recorded (large, middle-sized and small kommuner of six
#: län): Gävle, Umeå, Ockelbo, Ljusnarsberg, Stockholm, Malmö.
KOMMUNER = ("2180", "2480", "2101", "1864", "0180", "1280")
REPEATS = 5


def _cells() -> list[str]:
    """The code cells of the kommun report notebook, the parameters cell left out."""
    import jupytext

    nb = jupytext.read(NOTEBOOK)
    return [c.source for c in nb.cells if c.cell_type == "code" and "parameters" not in (c.metadata.get("tags") or [])]


def _record(store: Path, kommuner: tuple[str, ...]) -> list[list[tuple]]:
    """Run the kommun report of each kommun and record every ``select``/``area_name`` call:
    per report, ``(function name, table, args, kwargs)`` in the order the report makes them."""
    import plotly.io as pio
    from IPython.core.interactiveshell import InteractiveShell

    from tmb_analysis import results

    per_report: list[list[tuple]] = []
    current = [[]]  # the calls of the report being run
    depth = [0]
    originals = {"select": results.select, "area_name": results.area_name}

    def recording(name, fn):
        def wrapper(table, *args, **kwargs):
            if depth[0] == 0:  # area_name's own select is part of area_name
                current[-1].append((name, table, args, dict(kwargs)))
            depth[0] += 1
            try:
                return fn(table, *args, **kwargs)
            finally:
                depth[0] -= 1

        return wrapper

    wrappers = {name: recording(name, fn) for name, fn in originals.items()}
    patched = []  # every module of the package that holds select or area_name under any name
    for mod in [m for name, m in list(sys.modules.items()) if name.startswith("tmb_analysis") and m is not None]:
        for attr, value in list(vars(mod).items()):
            for name, fn in originals.items():
                if value is fn:
                    patched.append((mod, attr, value))
                    setattr(mod, attr, wrappers[name])
    shell = InteractiveShell.instance()
    pio.renderers.default = "plotly_mimetype"  # as in a kernel: a mime bundle, never a browser
    cells = _cells()
    try:
        for kommun in kommuner:
            params = f"kommun = {kommun!r}\nstore = {str(store)!r}\nyear = 0\n"
            for source in [params, *cells]:
                with contextlib.redirect_stdout(io.StringIO()):
                    outcome = shell.run_cell(source, store_history=False)
                outcome.raise_error()
            per_report.append(current[-1])
            current.append([])
    finally:
        for mod, attr, value in patched:
            setattr(mod, attr, value)
    if not patched or not all(per_report):
        raise RuntimeError("no select/area_name call was recorded: the report's look-ups have moved")
    return per_report


def _replay(calls: list[tuple], tables: dict[int, object]) -> list:
    """Make every recorded call again, on ``tables[id(table)]`` where given, else on the table recorded."""
    from tmb_analysis import results

    fns = {"select": results.select, "area_name": results.area_name}
    return [fns[name](tables.get(id(table), table), *args, **kwargs) for name, table, args, kwargs in calls]


def _same(indexed: list, masked: list) -> None:
    import pandas as pd

    assert len(indexed) == len(masked)
    for i, (a, b) in enumerate(zip(indexed, masked)):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"look-up {i}")
        elif a != b:
            raise AssertionError(f"look-up {i}: {a!r} != {b!r}")


def _timed(reports: list[list[tuple]], tables: dict[int, object], fresh: bool) -> list[float]:
    """Seconds of each report's look-ups, the reports one after another as a kernel runs them; ``fresh``:
    no index at the start (the first look-up on the table builds it)."""
    from tmb_analysis import results

    if fresh:
        results._INDEXES.clear()
    seconds = []
    for calls in reports:
        t0 = time.perf_counter()
        _replay(calls, tables)
        seconds.append(time.perf_counter() - t0)
    return seconds


def run() -> list[dict]:
    from tmb_analysis import results
    from tmb_analysis.sample import write_sample
    from tmb_analysis.store import import_paths

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("TMB_CACHE_DIR", str(tmp / "cache"))
        write_sample(tmp / "sample")
        import_paths([tmp / "sample"], tmp / "store")
        results.keep_in_memory(True)  # as a build kernel: one table for every report
        try:
            reports = _record(tmp / "store", KOMMUNER)
        finally:
            results.keep_in_memory(False)
    calls = [c for r in reports for c in r]
    keyed = {id(t): t for _, t, _, _ in calls if t.attrs.get("tmb_key") is not None}
    if not keyed:
        raise RuntimeError("no look-up was made on a table load_results made: nothing is indexed")
    unkeyed = {}
    for key, table in keyed.items():
        plain = table.copy(deep=False)
        plain.attrs = {}
        unkeyed[key] = plain
    n_rows = max(len(t) for t in keyed.values())

    results._INDEXES.clear()
    _same(_replay(calls, {}), _replay(calls, unkeyed))
    by_index, by_mask = [], []  # per round: seconds per report
    for _ in range(REPEATS):
        by_index.append(_timed(reports, {}, fresh=True))
        by_mask.append(_timed(reports, unkeyed, fresh=False))
    med = lambda rounds, at: statistics.median(sum(r[at]) for r in rounds)  # noqa: E731
    everything, later = slice(None), slice(1, None)
    t0 = time.perf_counter()
    results.ResultsIndex(next(iter(keyed.values())))
    build = time.perf_counter() - t0
    n_select = sum(1 for c in calls if c[0] == "select")
    on_whole = sum(1 for c in calls if id(c[1]) in keyed)
    unindexed = sum(1 for c in calls if c[0] == "select" and not set(c[3]) & set(results.ResultsIndex.KEYS))
    what = (
        f"{len(calls)} calls ({n_select} select, {len(calls) - n_select} area_name; {on_whole} on the whole table of "
        f"{n_rows:,} rows; {unindexed} select by neither area nor indicator, masks either way) recorded from the "
        f"kommun reports of {', '.join(KOMMUNER)}; median of {REPEATS} rounds; identical frames and names checked"
    )
    return [
        {
            "name": f"look-ups of {len(KOMMUNER)} kommun reports, index built in the run: index against masks",
            "seconds": med(by_index, everything),
            "target_seconds": None,
            "baseline_seconds": med(by_mask, everything),
            "note": f"{what}; building the index alone: {build:.2f} s",
        },
        {
            "name": f"look-ups of the {len(KOMMUNER) - 1} reports after the first (a kernel's later reports)",
            "seconds": med(by_index, later),
            "target_seconds": None,
            "baseline_seconds": med(by_mask, later),
            "note": "the index and the frames it handed out to the earlier reports kept, as in a build kernel",
        },
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
