"""The build's worker processes seen from the main process: start, hand out reports, watch, replace."""

from __future__ import annotations

import json
import logging
import math
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict

from .kernels import kill_process, peak_rss_mb
from .plan import BuildAborted, Job, JobResult

log = logging.getLogger("tmb.build")

#: Seconds the main process waits beyond a report's deadline before it kills an unresponsive worker.
WATCHDOG_GRACE = 30.0
#: Jobs in a row whose kernel would not start before the run gives up (a broken kernel setup).
MAX_START_FAILURES_IN_A_ROW = 3


# ---- the worker pool (main side) ---------------------------------------------------------------------


class Worker:
    """A worker process (``python -c ... _worker_entry``) and the socket the main process talks to it over.

    A plain subprocess rather than ``multiprocessing``: it never re-imports the caller's ``__main__``,
    and it runs in its own session, so Ctrl-C reaches only the main process, which stops the workers.
    """

    def __init__(self, config: dict, number: int):
        from multiprocessing.connection import Connection

        parent_sock, child_sock = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from tmb_analysis.site.kernels import _worker_entry; _worker_entry()",
                    str(child_sock.fileno()),
                    json.dumps(config),
                ],
                pass_fds=(child_sock.fileno(),),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
            )
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        self.number = number
        self.job: Job | None = None
        self.deadline = math.inf
        self.kernel_pid: int | None = None
        self.peak_mb: float | None = None

    def assign(self, job: Job, params: dict, timeout: float, start_budget: float) -> None:
        self.job = job
        self.deadline = time.monotonic() + start_budget + timeout + WATCHDOG_GRACE
        self.conn.send((asdict(job), params, timeout))

    def track_memory(self) -> None:
        own = peak_rss_mb(self.process.pid)
        if own is not None:
            kern = peak_rss_mb(self.kernel_pid) or 0.0
            self.peak_mb = max(self.peak_mb or 0.0, own + kern)

    def kill(self) -> None:
        for pid in (self.kernel_pid, self.process.pid):
            kill_process(pid)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.conn.send(None)
            except OSError:
                pass
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.conn.close()


class Pool:
    """The worker processes of one run. Started early, so that the kernels start (and import the
    package) while the main process loads the results and writes the shared files."""

    def __init__(self, n_workers: int, config: dict):
        self.config = config
        self.start_budget = config["start_attempts"] * (config["start_timeout"] + config["start_backoff"] * 4)
        self.workers = [Worker(config, i) for i in range(n_workers)]
        self.retired: list[Worker] = []

    def trim(self, n: int) -> None:
        """Keep at most ``n`` workers (fewer reports to build than expected)."""
        extra, self.workers = self.workers[n:], self.workers[:n]
        for w in extra:
            try:
                w.conn.send(None)
            except OSError:
                pass
        for w in extra:
            w.stop()
        self.retired.extend(extra)

    def release(self) -> list[float]:
        """Tell every worker to stop (they shut their kernels down while the main process carries on);
        returns each worker's peak memory (MB, process + kernel)."""
        for w in self.workers:
            w.track_memory()
            try:
                w.conn.send(None)
            except OSError:
                pass
        return [w.peak_mb for w in self.workers + self.retired if w.peak_mb is not None]

    def close(self) -> list[float]:
        """Stop every worker (and its kernel) and wait for them; returns the peak memory of each."""
        peaks = self.release()
        for w in self.workers:
            w.stop()
        self.retired.extend(self.workers)
        self.workers = []
        return peaks

    def run(self, todo: list[Job], params_of, timeout: float, on_result) -> None:
        """Run ``todo``; ``on_result(job, result_dict, body)`` for each."""
        from multiprocessing.connection import wait

        pool, config, start_budget = self.workers, self.config, self.start_budget
        queue = deque(todo)
        start_failures_in_a_row = 0

        def failed(job: Job, error: str) -> dict:
            return asdict(JobResult(job.kind, job.code, job.page, "failed", 0.0, error=error, rebuilt=True))

        def replace(i: int) -> None:
            old = pool[i]
            old.track_memory()
            old.kill()
            old.conn.close()
            self.retired.append(old)
            pool[i] = Worker(config, len(pool) + len(self.retired))

        def assign_idle() -> None:
            for i in range(len(pool)):
                if pool[i].job is None and queue:
                    if pool[i].process.poll() is not None:
                        replace(i)
                    job = queue.popleft()
                    try:
                        pool[i].assign(job, params_of(job), timeout, start_budget)
                    except OSError:  # the worker went away while idle: a new one takes the job
                        pool[i].job = None
                        queue.appendleft(job)
                        replace(i)

        def finish(w: Worker, res: dict, body: str | None) -> None:
            nonlocal start_failures_in_a_row
            job, w.job = w.job, None
            w.track_memory()
            kernel_failed = (res.get("error") or "").startswith("KernelStartError")
            start_failures_in_a_row = start_failures_in_a_row + 1 if kernel_failed else 0
            on_result(job, res, body)
            if start_failures_in_a_row >= MAX_START_FAILURES_IN_A_ROW:
                raise BuildAborted(f"kernels do not start ({res.get('error')})")

        while queue or any(w.job for w in pool):
            assign_idle()
            ready = wait([w.conn for w in pool if w.job is not None], timeout=1.0)
            for i, w in enumerate(pool):
                if w.job is None:
                    continue
                if w.conn in ready:
                    try:
                        while w.job is not None and w.conn.poll():
                            msg = w.conn.recv()
                            if msg[0] == "running":
                                w.kernel_pid = msg[1]
                                w.deadline = time.monotonic() + timeout + start_budget + WATCHDOG_GRACE
                            else:
                                finish(w, msg[1], msg[2])
                    except (EOFError, OSError):  # the worker died: its socket closed
                        w.process.poll()
                if w.job is not None and w.process.poll() is not None:
                    job = w.job
                    finish(
                        w, failed(job, f"WorkerDied: the worker process ended (exit code {w.process.returncode})"), None
                    )
                    replace(i)
                elif w.job is not None and time.monotonic() > w.deadline:
                    job = w.job
                    log.error("%s: the worker stopped answering; killing it and its kernel", job.page)
                    w.kill()
                    finish(
                        w,
                        failed(
                            job,
                            f"TimeoutError: the report did not finish within {timeout:g} s "
                            "and its worker stopped answering",
                        ),
                        None,
                    )
                    replace(i)
