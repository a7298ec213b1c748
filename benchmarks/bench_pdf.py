"""What ``tmb build --pdf`` adds to the whole-country build (issue 13: at most 50 %).

Measured in one run, each as the wall-clock time of the ``tmb build`` command in a fresh process, from
cold (an empty output folder and its own empty results cache), on the example data:

* ``tmb build --lan all``: 290 kommun reports, 21 county overviews and the index (the baseline);
* ``tmb build --lan all --pdf``: the same, and every report printed to A4 PDF by the build's one chromium.

The target is the issue's: the ``--pdf`` build at most 1.5 × the plain build of the same run. Also
reported: the PDFs written, what each costs on the wall clock (the difference over the PDFs), and the CPU
time of each build with all its processes (kernels, chromium), per report and per PDF: on a machine whose
cores are all busy with the kernels, the ratio is about 1 + (CPU per PDF) / (CPU per report), whatever
the printer does in parallel.

``TMB_BENCH_PDF_LAN`` (default ``all``) narrows the run to counties (for example ``21``), for a quick
look; the issue's target is for the whole country. The run takes about half an hour on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from harness import cpu_seconds, process_tree, tmb

#: Issue 13: ``--pdf`` adds at most 50 % to the whole-country build time.
MAX_RATIO = 1.5


#: Seconds between two looks at the command's processes for their CPU time.
SAMPLE_S = 0.25


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """The command's wall-clock seconds and the CPU seconds of all its processes (the kernels, chromium and
    its renderers), read from the process tree every :data:`SAMPLE_S` while it runs: chromium's processes
    are not reaped by the command, so the resource usage of waited-for children would miss them."""
    import psutil

    last: dict[tuple[int, float], float] = {}
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        root = psutil.Process(proc.pid)
        # stderr is read in a thread so that the command never blocks on a full pipe
        err: list[str] = []
        reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        reader.start()
        while proc.poll() is None:
            last.update({key: seconds for key, (_, seconds) in cpu_seconds(process_tree(root)).items()})
            time.sleep(SAMPLE_S)
        reader.join()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:5])} failed ({proc.returncode}): {''.join(err).strip()[-800:]}")
    return seconds, sum(last.values())


def run() -> list[dict]:
    try:
        from tmb_analysis.pdf import find_chromium

        find_chromium()
    except Exception as exc:  # noqa: BLE001 - no browser: nothing to measure
        print(f"   bench_pdf skipped: {exc}", flush=True)
        return []
    lan = os.environ.get("TMB_BENCH_PDF_LAN", "all")
    tmp = Path(tempfile.mkdtemp(prefix="tmb-bench-pdf-"))
    try:
        env = {**os.environ, "TMB_CACHE_DIR": str(tmp / "cache-prep"), "PYTHONUNBUFFERED": "1"}
        _run(tmb("sample", "--out", tmp / "sample"), env)
        _run(tmb("import", tmp / "sample", "--store", tmp / "store"), env)
        seconds, cpu = {}, {}
        for name, extra in (("plain", []), ("pdf", ["--pdf"])):
            env_run = {**env, "TMB_CACHE_DIR": str(tmp / f"cache-{name}")}
            out = tmp / name / "reports"
            seconds[name], cpu[name] = _run(tmb("build", "--lan", lan, "--store", tmp / "store", "--out", out, *extra), env_run)
        pdfs = sorted((tmp / "pdf" / "reports").glob("*.pdf"))
        ratio = seconds["pdf"] / seconds["plain"]
        per_pdf = (seconds["pdf"] - seconds["plain"]) / max(len(pdfs), 1)
        reports = len(list((tmp / "plain" / "reports").glob("*-*.html")))
        cpu_report = cpu["plain"] / max(reports, 1)
        cpu_pdf = (cpu["pdf"] - cpu["plain"]) / max(len(pdfs), 1)
        row = {
            "name": f"tmb build --lan {lan} --pdf against the same build without --pdf, both from cold",
            "seconds": seconds["pdf"],
            "target_seconds": MAX_RATIO * seconds["plain"] if lan == "all" else None,
            "baseline_seconds": seconds["plain"],
            "note": (f"ratio {ratio:.2f} (target at most {MAX_RATIO} on the whole country); {len(pdfs)} PDFs, "
                     f"{per_pdf:.2f} s of wall clock each; CPU {cpu['plain']:.0f} s and {cpu['pdf']:.0f} s: "
                     f"{cpu_report:.2f} s per report, {cpu_pdf:.2f} s more per PDF; {os.cpu_count()} cores"),
            "ratio": ratio,
            "pdfs": len(pdfs),
            "cpu_seconds": cpu,
            "cpu_per_report": cpu_report,
            "cpu_per_pdf": cpu_pdf,
        }
        if lan == "all" and ratio > MAX_RATIO:
            row["missed"] = [f"--pdf costs x{ratio:.2f} on the whole country (target at most x{MAX_RATIO})"]
        return [row]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
