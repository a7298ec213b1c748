"""The build's Jupyter kernels: one long-lived kernel per worker process, and the papermill engine that reuses it."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from . import pages
from .plan import Job, JobResult

log = logging.getLogger("tmb.build")


#: Modules every kernel imports once when it starts, so that no report pays for them.
KERNEL_PRELOAD = (
    "tmb_analysis.report",
    "tmb_analysis.charts",
    "tmb_analysis.tables",
    "tmb_analysis.results",
    "tmb_analysis.formatting",
    "plotly.graph_objects",
)
#: Environment of the kernels: a fixed hash seed (set and dict order of strings, so byte-identical
#: reruns) and one maths thread per kernel (one kernel per core already fills the machine).
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


class KernelStartError(RuntimeError):
    """A kernel did not start, even after retries."""


# ---- the kernels (worker side) -------------------------------------------------------------------


def short_error(exc: BaseException) -> str:
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None) or str(exc)
    value = re.sub(r"\x1b\[[0-9;]*m", "", value).strip().splitlines()
    return f"{name}: {value[0] if value else ''}"[:400]


def _traceback_text(exc: BaseException) -> str:
    tb = getattr(exc, "traceback", None)
    text = "\n".join(tb) if isinstance(tb, list) else "".join(traceback.format_exception(exc))
    return re.sub(r"\x1b\[[0-9;]*m", "", text)[-4000:]


def peak_rss_mb(pid: int | None) -> float | None:
    """Peak resident memory (VmHWM) of a process in MB, or None where /proc cannot tell."""
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _run_sync(coro_fn):
    from jupyter_core.utils import run_sync

    return run_sync(coro_fn)


_RESET_CODE = """\
def _tmb_reset(ip, re, os):
    for name in [n for n in list(ip.user_ns) if n not in ip.user_ns_hidden
                 and not re.fullmatch(r"_(i{{0,3}}|_{{0,2}}|ih|oh|dh|i?\\d+)", n)]:
        del ip.user_ns[name]  # this function's own name too
    os.chdir({cwd!r})
_tmb_reset(get_ipython(), __import__("re"), __import__("os"))
"""

#: Run in each kernel after the preload: keep the results table in memory between reports, warm up.
_KERNEL_SETUP = """\
from tmb_analysis.site.kernels import warm_up as _w
from tmb_analysis.results import keep_in_memory as _k
_k()
_w()
del _k, _w
"""


def warm_up() -> None:
    """(Runs inside a build kernel, while the main process loads the results.) Do once per kernel
    what every report needs and the first report would otherwise pay for: the area registry, the
    kommun polygons (dissolved once), the indicator catalogue."""
    try:
        import plotly.graph_objects as go

        from ..catalogue import catalogue
        from ..formatting import fmt_number
        from ..geography import registry

        registry().kommun_geometry()
        catalogue()
        fmt_number(1234.5, 1)  # babel loads the Swedish locale data
        # plotly builds its validators on first use: about half a second per trace type
        go.Figure([go.Scatter(x=[1], y=[1]), go.Choropleth(), go.Scattergeo()]).to_html(
            full_html=False, include_plotlyjs=False
        )
    except Exception:  # only a warm-up: a real problem shows in the report
        log.debug("kernel warm-up failed", exc_info=True)


class Kernel:
    """One long-lived Jupyter kernel, owned by one worker process and reused for every report it runs."""

    def __init__(
        self,
        kernel_name: str,
        cwd: str,
        preload: tuple[str, ...],
        start_timeout: float,
        start_attempts: int,
        start_backoff: float,
    ):
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.preload = tuple(preload)
        self.start_timeout = start_timeout
        self.start_attempts = max(1, start_attempts)
        self.start_backoff = start_backoff
        self.km = None
        self.kc = None
        self.start_failures = 0  # failed starts since the counter was last read

    @property
    def pid(self) -> int | None:
        return getattr(getattr(self.km, "provisioner", None), "pid", None)

    def alive(self) -> bool:
        try:
            return self.km is not None and bool(_run_sync(self.km.is_alive)())
        except Exception:  # noqa: BLE001
            return False

    def ensure(self) -> None:
        if not self.alive():
            self.discard()
            self.start()

    def start(self) -> None:
        """Start the kernel, retrying with backoff: kernels started at once can race for ports."""
        from jupyter_client.manager import AsyncKernelManager

        last: BaseException | None = None
        for attempt in range(1, self.start_attempts + 1):
            km = AsyncKernelManager(kernel_name=self.kernel_name)
            kc = None
            try:
                _run_sync(km.start_kernel)(
                    cwd=self.cwd,
                    env={**os.environ, **KERNEL_ENV},
                    extra_arguments=[
                        "--IPKernelApp.log_level=CRITICAL",
                        "--HistoryManager.hist_file=:memory:",
                        "--InteractiveShell.cache_size=0",
                    ],
                )
                self.km = km  # from here on discard() can stop it
                kc = km.client()
                kc.start_channels()
                _run_sync(kc.wait_for_ready)(timeout=self.start_timeout)
                kc.allow_stdin = False
                self.kc = kc
                if self.preload:
                    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in self.preload)
                    if "tmb_analysis.report" in self.preload:
                        code += _KERNEL_SETUP
                    self.execute(code, self.start_timeout, check=False)
                return
            except Exception as exc:  # noqa: BLE001 - any failure to start is retried
                last = exc
                self.start_failures += 1
                self.km = self.kc = None
                self._shutdown(km, kc)
                log.warning(
                    "kernel %r failed to start (attempt %d of %d): %s",
                    self.kernel_name,
                    attempt,
                    self.start_attempts,
                    short_error(exc),
                )
                if attempt < self.start_attempts:
                    time.sleep(self.start_backoff * 2 ** (attempt - 1))
        raise KernelStartError(f"the kernel did not start ({self.start_attempts} attempts): {short_error(last)}")

    def execute(self, code: str, timeout: float, check: bool = True) -> None:
        """Run a snippet of the build's own (not a notebook's) in the kernel and wait for it."""

        async def _go():
            msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the kernel did not answer within {timeout:.0f} s")
                reply = await self.kc.get_shell_msg(timeout=left)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply["content"]

        content = _run_sync(_go)()
        if check and content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")

    def reset(self, cwd: str | None = None) -> None:
        """A clean namespace for the next report: every name a notebook defined is deleted (imported
        modules stay loaded) and the working folder is set back. The kernel keeps no output history
        (``cache_size=0``), so no report's output outlives it. Lighter than ``%reset -f``, which runs a
        full garbage collection (half a second on a kernel with the package loaded)."""
        self.execute(_RESET_CODE.format(cwd=cwd or self.cwd), timeout=60)

    def discard(self) -> None:
        km, kc = self.km, self.kc
        self.km = self.kc = None
        self._shutdown(km, kc)

    @staticmethod
    def _shutdown(km, kc) -> None:
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        if km is not None:
            try:
                if km.has_kernel:
                    _run_sync(km.shutdown_kernel)(now=True)  # also removes its connection file
            except Exception:  # noqa: BLE001
                kill_process(getattr(getattr(km, "provisioner", None), "pid", None))
                try:
                    km.cleanup_connection_file()
                except Exception:  # noqa: BLE001
                    pass


def kill_process(pid: int | None) -> None:
    """SIGKILL a process that may already be gone."""
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _engine() -> str:
    """The name of the ``tmb-reuse`` engine, registered with papermill: through the ``papermill.engine``
    entry point, or here for an installation made before the entry point existed (``pip install -e .`` again)."""
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillException

    from .engine import ENGINE_NAME, ReuseEngine

    try:
        papermill_engines.get_engine(ENGINE_NAME)
    except PapermillException:
        log.debug("the papermill.engine entry point %r is not installed; registering it", ENGINE_NAME)
        papermill_engines.register(ENGINE_NAME, ReuseEngine)
    return ENGINE_NAME


def execute_notebook(kernel: Kernel, job: Job, params: dict, timeout: float) -> tuple:
    """Run one job's notebook with papermill in ``kernel``; returns ``(executed notebook, attempts)``.

    papermill loads the notebook, injects the parameters after the ``parameters`` cell and executes it
    cell by cell in the reused kernel. The deadline covers the whole notebook. A kernel that dies is
    replaced and the notebook run once more.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    engine = _engine()  # papermill is imported first: it loads the engine through its entry point
    deadline = time.monotonic() + timeout
    for attempt in (1, 2):
        kernel.ensure()
        cwd = str(Path(job.notebook).parent)  # as papermill's cwd: the notebook's folder
        try:
            kernel.reset(cwd)
        except Exception:  # noqa: BLE001 - a kernel that cannot even reset is replaced
            kernel.discard()
            kernel.ensure()
            kernel.reset(cwd)
        try:
            nb = papermill.execute_notebook(
                job.notebook,
                None,
                parameters=params,
                engine_name=engine,
                kernel_name=kernel.kernel_name,
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                tmb_kernel=kernel,
                tmb_deadline=deadline,
            )
            for cell in nb.cells:  # papermill gives its injected cell a random id; reruns must be identical
                if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                    cell["id"] = "injected-parameters"
            return nb, attempt
        except CellTimeoutError:
            kernel.discard()  # its state is unknown: a fresh kernel for the next report
            raise TimeoutError(f"the notebook ran longer than its {timeout:g} s") from None
        except DeadKernelError:
            kernel.discard()
            if attempt == 2 or time.monotonic() >= deadline:
                raise RuntimeError("the kernel died during the run (twice); see the log") from None
            log.warning("%s: the kernel died; retrying on a fresh kernel", job.page)
    raise AssertionError("unreachable")


def _worker_main(conn, config: dict) -> None:
    """A worker process: runs jobs sent by the main process, one at a time, in its own kernel."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the main process, which stops the workers
    config = {**config, "preload": tuple(config.get("preload", ()))}
    pages.set_figure_class(config.pop("figure_class", None))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s tmb.build.worker: %(message)s")
    for noisy in ("papermill", "traitlets", "nbconvert", "asyncio", "nbclient", "jupyter_client"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    kernel = Kernel(**config)
    try:
        try:
            kernel.start()  # start at once, while the main process prepares
        except KernelStartError as exc:
            log.error("%s", exc)
        try:  # the exporter's templates and filters load on first use: pay that now, not in the first report
            import nbformat

            pages.exporter().from_notebook_node(nbformat.v4.new_notebook())
        except Exception:  # only a warm-up
            log.debug("exporter warm-up failed", exc_info=True)
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            job, params, timeout = msg
            reply = _run_job(kernel, Job(**job), params, timeout, conn)
            try:
                conn.send(("done", *reply))
            except OSError:
                break
    finally:
        kernel.discard()


def _run_job(kernel: Kernel, job: Job, params: dict, timeout: float, conn) -> tuple[dict, str | None]:
    t0 = time.perf_counter()
    res = JobResult(job.kind, job.code, job.page, "failed", 0.0, rebuilt=True)
    body = None
    try:
        try:
            kernel.ensure()
        finally:
            res.kernel_start_failures, kernel.start_failures = kernel.start_failures, 0
        conn.send(("running", kernel.pid))
        nb, res.attempts = execute_notebook(kernel, job, params, timeout)
        body, res.figures = pages.export_body(nb)
        res.status = "ok"
    except KernelStartError as exc:
        res.error, res.traceback = f"KernelStartError: {exc}", None
    except Exception as exc:  # noqa: BLE001 - one report's failure never stops the others
        res.error, res.traceback = short_error(exc), _traceback_text(exc)
    res.kernel_start_failures += kernel.start_failures
    kernel.start_failures = 0
    res.seconds = time.perf_counter() - t0
    res.kernel_peak_mb = peak_rss_mb(kernel.pid)
    return asdict(res), body


def skip_slow_imports() -> None:
    """Spare this process the 1.3 s import of ``rfc3987_syntax`` (it builds a grammar when imported).

    jsonschema, which nbformat imports, loads it only to check IRI formats, which no notebook uses.
    Called in the build's own processes (the worker processes and ``tmb build``) before nbformat loads.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _worker_entry() -> None:
    """Entry point of a worker process (see :class:`Worker`)."""
    skip_slow_imports()
    from multiprocessing.connection import Connection

    conn = Connection(int(sys.argv[1]))
    _worker_main(conn, json.loads(sys.argv[2]))
