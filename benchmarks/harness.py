"""What the benchmarks and benchmarks/profile_pdf.py share: the ``tmb`` command line, and the CPU time of
processes read from the process tree (chromium's processes are not reaped by the command that started
them, so the resource usage of waited-for children would miss them).

Not a benchmark (``run.py`` runs only ``bench_*.py``); the modules here import it as a sibling, since the
folder they run from is first on ``sys.path``.
"""

from __future__ import annotations

import sys


def tmb(*args) -> list[str]:
    """The command line of ``tmb`` with ``args``, in this Python (the project's virtual environment)."""
    return [sys.executable, "-m", "tmb_analysis.cli", *map(str, args)]


def cpu_seconds(processes) -> dict[tuple[int, float], tuple[object, float]]:
    """Each of the ``psutil`` processes still running, keyed by (pid, start time) so that a reused pid is
    another process: the process and its user + system CPU seconds so far."""
    import psutil

    used = {}
    for proc in processes:
        try:
            times = proc.cpu_times()
            used[(proc.pid, proc.create_time())] = (proc, times.user + times.system)
        except psutil.Error:  # gone since the tree was read
            pass
    return used


def process_tree(root, with_root: bool = True) -> list:
    """``root`` (a ``psutil.Process``) and all its descendants, or only the descendants; [] once it is gone."""
    import psutil

    try:
        return [root, *root.children(recursive=True)] if with_root else root.children(recursive=True)
    except psutil.Error:
        return []
