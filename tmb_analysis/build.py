"""Build the report site (the orchestration): plan, run the notebooks in long-lived kernels, stage, check, publish.

The parts live in :mod:`tmb_analysis.site`: ``plan`` (jobs, page names, parameter checks),
``kernels`` and ``pool`` (the kernels, the papermill engine and the worker processes), ``pages``
(export, page checks, index, data and method page) and ``publish`` (input hashes, manifest, output-folder
check, lock, atomic swap). This module puts them in order.

Layout of the output folder (CONTEXT.md §5): ``index.html``, ``lan-<code>.html``,
``kommun-<code>.html``, ``assets/`` (plotly.js once, shared by all pages), ``data/``
(``indicators.csv`` and each report's own rows as ``data/<page>.csv``), ``manifest.json``.

What :func:`build` does, in order:

1. **Plan and check; nothing is written yet.** :func:`~tmb_analysis.site.plan.plan` turns
   ``--lan``/``--kommun`` into jobs: codes are checked against the registry and file names are built
   from those codes only. :func:`~tmb_analysis.site.plan.check_parameters` checks every job's
   parameters against the parameters its notebook declares (``papermill.inspect_notebook``): names,
   types (a kommun code is always a string: ``"0114"``) and real codes.
2. **Decide what to rebuild.** Every report has an *input hash*
   (:func:`~tmb_analysis.site.publish.input_hashes`): the package code and the versions of the
   packages it uses, its notebook, its parameters, the store's content, the kommun's follow-up file
   and the page around the notebook. A report whose hash equals the one recorded in the live site's
   ``manifest.json``, and whose page there is intact, is reused as it is; only the others run. When
   nothing at all changed (:func:`_up_to_date`), the run ends here, without loading the store or
   starting a kernel.
3. **Run.** One worker process per core (``workers``), started at once so that their kernels start
   while the main process loads the results table (computed once per store and cached by
   ``results.load_results``). Each worker keeps one Jupyter kernel for the whole run, started with
   retries, warmed once by importing the package, and holding the results table in memory between
   reports. papermill parameterises and executes each notebook in that kernel: the ``tmb-reuse`` engine
   gives papermill's nbclient the running kernel instead of starting a new one (that start and the
   imports are most of a notebook's time). The kernel's namespace is cleared between reports. Each
   report has a wall-clock deadline for the whole notebook; a kernel that outlives it is killed and
   replaced, a kernel that dies is replaced and the report tried once more, and the main process kills
   a worker that stops answering. A failure fails only that report.
4. **Stage and validate.** Pages, assets, data, index and manifest are written to a staging folder
   next to the site and checked there (:func:`~tmb_analysis.site.pages.validate_site`): every report
   page present, every chart drawn into its page, every local ``href``/``src`` resolving to a file
   inside the staged site, nothing loaded from outside it.
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

import datetime as _dt
import logging
import os
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import __version__, interrupts
from .config import DEFAULT_OUT, DEFAULT_STORE
from .periods import vintage_text
from .site import kernels, pages, publish
from .site.kernels import skip_slow_imports
from .site.plan import (
    BuildAborted,
    BuildError,
    BuildResult,
    Job,
    JobResult,
    check_data_for_jobs,
    check_parameters,
    check_run_options,
    job_parameters,
    pdf_name,
    plan,
)
from .site.pool import Pool

__all__ = ["BuildAborted", "BuildError", "BuildOptions", "BuildResult", "build", "skip_slow_imports"]

log = logging.getLogger("tmb.build")


@dataclass(frozen=True)
class BuildOptions:
    """What one run of :func:`build` was asked for, checked (see :func:`build` for each field)."""

    store: Path
    out: Path
    year: int = 0
    workers: int | None = None
    timeout: float = 600
    force: bool = False
    force_out: bool = False
    pdf: bool = False
    hearing: bool = False
    progress: bool | None = None
    kernel: dict = field(default_factory=dict)  # the worker processes' kernel settings (kernels.Kernel)


class _Phase:
    """Logs (at debug level) how long a phase of the build took."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        log.debug("phase %s: %.2f s", self.name, time.perf_counter() - self.t0)


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
        line = f"[{self.n}/{self.total}] {res.page} {res.status} ({res.seconds:.1f} s)" + (
            f": {res.error}" if res.error else ""
        )
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
    store: str | Path = DEFAULT_STORE,
    out: str | Path = DEFAULT_OUT,
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
    hearing: bool = False,
) -> BuildResult:
    """Build the reports for the given län and/or kommuner into ``out`` (see the module docstring).

    ``timeout`` is the wall-clock limit (seconds, a positive whole number) for one whole notebook;
    ``workers`` the number of notebooks run at once (a positive whole number; None = one per core).
    ``force`` rebuilds every report even when its inputs are unchanged. ``out`` must be absent, empty
    or a site that tmb built (:func:`publish.check_output_folder`); ``force_out`` publishes over anything else
    by first moving the folder aside whole (``BuildResult.moved_aside``). ``pdf`` also prints every
    report to A4 PDF beside its page (Debian's chromium; see :mod:`tmb_analysis.pdf`). ``hearing`` also
    writes each built län's hearing pack under ``hearing/`` (:mod:`tmb_analysis.hearing`; printed too
    with ``pdf``); it needs a county in the run. ``notebooks``
    (``{"kommun": path, "lan": path}``) replaces the report notebooks. ``preload`` lists the modules
    each kernel imports when it starts. ``progress``: None shows a bar when stderr is a terminal and
    log lines otherwise.

    Raises on bad input before anything is written (:class:`BuildError`, ``UnknownAreaError``,
    ``EmptyStoreError``); raises :class:`BuildAborted` when the run stops before publishing (another
    build running, the staged site failing its checks, any crash): the live site is then unchanged.
    Failed reports do not raise: see ``BuildResult.failed``.
    """
    t_start = time.perf_counter()
    started = _dt.datetime.now(_dt.UTC)
    check_run_options(workers, timeout)
    jobs = plan(lan, kommuner, notebooks=notebooks, notebook_dir=notebook_dir)  # raises on unknown codes
    store = Path(store).resolve()
    if store.exists() and not store.is_dir():
        raise BuildError(f"--store {store}: is a file, not a store folder (tmb import writes one)")
    check_parameters(jobs, store, year)  # raises on a misspelt or mistyped parameter, before anything runs
    if hearing and not any(j.kind == "lan" for j in jobs):
        raise BuildError("--hearing: the hearing pack is a county's: give --lan CODE (or all)")
    out = Path(out).absolute()
    out_state = publish.check_output_folder(out, store, jobs, force_out)  # raises before anything is written
    if pdf:
        from .pdf import ChromiumMissing, find_chromium

        try:
            import playwright  # noqa: F401

            find_chromium()
        except (ChromiumMissing, ImportError) as exc:
            raise BuildError(
                str(exc) if isinstance(exc, ChromiumMissing) else "--pdf needs the package playwright"
            ) from None
    if not force and out_state == "site" and store.is_dir():
        try:
            with publish.SiteLock(out), _Phase("check whether anything changed"):
                current = _up_to_date(out, jobs, store, year, pdf, hearing)
        except BuildAborted:
            raise
        except Exception:  # noqa: BLE001 - any doubt: do the full run, which checks everything itself
            log.debug("up-to-date check failed:\n%s", traceback.format_exc())
            current = None
        if current is not None:
            log.info("all %d report(s) are up to date; nothing to do", len(current.reports))
            current.seconds = time.perf_counter() - t_start
            return current
    kernel_cfg = dict(
        kernel_name=kernel_name,
        cwd=str(Path(jobs[0].notebook).parent),
        figure_class=pages.figure_class(),
        preload=kernels.KERNEL_PRELOAD if preload is None else tuple(preload),
        start_timeout=start_timeout,
        start_attempts=start_attempts,
        start_backoff=start_backoff,
    )
    opts = BuildOptions(
        store=store,
        out=out,
        year=year,
        workers=workers,
        timeout=timeout,
        force=force,
        force_out=force_out,
        pdf=pdf,
        hearing=hearing,
        progress=progress,
        kernel=kernel_cfg,
    )
    pool = None
    try:
        if store.is_dir():  # something is to be built: start the kernels while the results load
            pool = Pool(max(1, min(workers or os.cpu_count() or 1, len(jobs))), kernel_cfg)
        with _Phase("load results"):
            from .results import load_results  # after the workers started: this import alone takes seconds

            results, st = load_results(
                store, year
            )  # raises EmptyStoreError / validation errors before anything is written
        check_data_for_jobs(jobs, results, store, year)  # a year or an area the store has no data for
        out.parent.mkdir(parents=True, exist_ok=True)
        result = BuildResult(out)
        try:
            with publish.SiteLock(out):
                publish.recover(out)
                _build_locked(opts, jobs, results, st, result, started, pool)
        except (BuildAborted, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a crash: nothing was published
            log.debug("build crashed:\n%s", traceback.format_exc())
            raise BuildAborted(
                f"the build stopped ({kernels.short_error(exc)}); nothing was published, the live site is unchanged"
            ) from exc
    finally:
        if pool is not None:
            pool.close()
    result.seconds = time.perf_counter() - t_start
    return result


def source_credit(results) -> str:
    """The footer's credit for Brå: the sources the store holds ("Brå (anmälda brott och Nationella
    trygghetsundersökningen, NTU)" with both; a store of one source names only that one)."""
    from .tables.notes import bra_sources

    named = bra_sources(results["source_kind"].dropna().astype(str)) if "source_kind" in results else ""
    return f"Brå ({named})" if named else "Brå"


def _build_locked(
    opts: BuildOptions, jobs: list[Job], results, st, result: BuildResult, started: _dt.datetime, pool: Pool | None
) -> None:
    """Everything after the checks, under the site's lock: reuse or run each report, stage and check the
    site, publish it (``result`` is filled in as the run goes)."""
    from .geography import registry

    store, out, year, force, pdf = opts.store, opts.out, opts.year, opts.force, opts.pdf

    reg = registry()
    env = pages.environment()
    vintage = vintage_text(results)
    synthetic = st.is_synthetic
    pop_credit = (
        "SCB"
        if any(s.get("publisher") == "SCB" for s in st.sources)
        else "härledd från Brå:s antal och antal per 100 000 invånare"
    )
    common = {
        "synthetic": synthetic,
        "vintage": vintage,
        "source_credit": source_credit(results),
        "population_credit": pop_credit,
        "version": __version__,
        "pdf": pdf,
    }
    page_names = {j.page for j in jobs}
    contexts = {j.page: pages.page_context(j, reg, page_names, common) for j in jobs}
    with _Phase("input hashes"):
        inputs = publish.site_inputs(jobs, store, year, pdf, opts.hearing)
        hashes = publish.input_hashes(jobs, inputs, pages.hashable_contexts(jobs, reg, page_names, pdf))

    out_state = publish.check_output_folder(out, store, jobs, opts.force_out)  # as it is now, under the lock
    live_manifest = publish.read_manifest(out) if out_state == "site" else {}
    previous = {r.get("page"): r for r in live_manifest.get("reports", []) if isinstance(r, dict)}
    # The published site must be readable: mode 0o755, where mkdtemp makes the folder private.
    with interrupts.scratch_folder(out.parent, f".{out.name}.staging-", 0o755) as staging:
        assets_ready = threading.Event()
        printer = None
        try:
            printer = _Printer(staging, out, assets_ready, vintage, contexts) if pdf else None
            reused: list[JobResult] = []
            todo: list[Job] = []
            scanned: dict[str, list[str]] = {}  # page_names already scanned and checked: their links
            for job in jobs:
                prev = previous.get(job.page)
                live = out / job.page
                if (
                    not force
                    and prev
                    and prev.get("status") == "ok"
                    and prev.get("input_hash") == hashes[job.page]
                    and live.is_file()
                    and prev.get("sha256")
                    and publish.file_sha256(live) == prev["sha256"]
                ):
                    publish.copy_page(live, staging / job.page)
                    r = JobResult(
                        job.kind,
                        job.code,
                        job.page,
                        "ok",
                        float(prev.get("seconds") or 0.0),
                        figures=int(prev.get("figures") or 0),
                        bytes=live.stat().st_size,
                        rebuilt=False,
                        input_hash=hashes[job.page],
                        sha256=prev["sha256"],
                        kernel_peak_mb=prev.get("kernel_peak_mb"),
                        links=[str(u) for u in prev.get("links") or []],
                    )
                    if isinstance(prev.get("links"), list):  # checked when it was built; its bytes are the same
                        scanned[job.page] = r.links
                    if printer is not None:
                        printer.page_ready(r, prev)
                    reused.append(r)
                else:
                    todo.append(job)
            result.reports.extend(reused)
            todo.sort(key=lambda j: j.kind != "lan")  # the long county overviews first: better packing
            n_workers = max(1, min(opts.workers or os.cpu_count() or 1, len(todo))) if todo else 0
            result.workers = n_workers
            if pool is not None:
                pool.trim(n_workers)
            if todo:
                log.info(
                    "building %d report(s) with %d worker(s)%s",
                    len(todo),
                    n_workers,
                    f"; {len(reused)} unchanged" if reused else "",
                )
            else:
                log.info("all %d report(s) are up to date", len(jobs))

            same_data = {k: (live_manifest.get("site_inputs") or {}).get(k) for k in ("code", "store")} == {
                k: inputs[k] for k in ("code", "store")
            }

            def write_shared_files() -> None:
                with _Phase("assets and data"):
                    pages.write_assets(staging)
                    assets_ready.set()
                    pages.write_data(staging, results, jobs, out, live_manifest.get("files") if same_data else None)
                    pages.write_method_page(staging, env, common, page_names)

            bar = _Progress(len(todo), opts.progress)
            shared: _Background | None = None

            def on_result(job: Job, res: dict, body: str | None) -> None:
                r = JobResult(**{f.name: res.get(f.name) for f in fields(JobResult) if f.name in res})
                r.input_hash = hashes[job.page]
                if body is not None:
                    page = pages.render_page(env, contexts[job.page], body)
                    try:
                        scan = pages.scan_page(page)  # here, while the kernels run, rather than all at the end
                        r.figures = pages.check_page(page, job.page, job.kind, scan)
                        data = page.encode("utf-8")
                        (staging / job.page).write_bytes(data)
                        r.bytes, r.sha256, r.links = len(data), publish.sha256(data), sorted(set(scan.urls))
                        scanned[job.page] = r.links
                        if printer is not None:
                            printer.page_ready(r, None)
                    except BuildError as exc:
                        r.status, r.error, r.traceback = "failed", str(exc), None
                if r.status != "ok":
                    shared.wait()  # the last good page must link only to files of the new site
                    pages.keep_last_good(
                        r, job, previous.get(job.page), out, staging, env, contexts[job.page], reg, page_names
                    )
                    if printer is not None and r.status == "stale":
                        printer.page_ready(r, previous.get(job.page))
                result.reports.append(r)
                bar.update(r)

            try:
                # In a thread, so that the main loop keeps handing out reports meanwhile (the country's
                # results table takes seconds to write as CSV). Started and named in one step: however
                # the run stops, the finally below waits for it before the staging folder is removed.
                with interrupts.held():
                    shared = _Background(write_shared_files)
                if todo:
                    own = pool is None
                    if own:
                        pool = Pool(n_workers, opts.kernel)
                    try:
                        with _Phase("reports"):
                            pool.run(todo, lambda j: job_parameters(j, store, year), opts.timeout, on_result)
                            peaks = pool.release()  # the kernels shut down while the site is checked
                    finally:
                        if own:
                            pool.close()
                    result.worker_peak_mb = max(peaks) if peaks else None
                shared.wait()
            finally:
                bar.close()
                if shared is not None:
                    shared.join()
            order = {j.page: i for i, j in enumerate(jobs)}
            result.reports.sort(key=lambda r: order[r.page])
            if printer is not None:
                with _Phase("pdf"):
                    printer.finish()
            if opts.hearing:
                with _Phase("hearing pack"):
                    _write_hearing(opts, jobs, results, synthetic, staging, printer, vintage, result)
            pages.write_index(result, staging, env, vintage, synthetic, jobs)
            with _Phase("validate"):
                problems = pages.validate_site(
                    staging,
                    {r.page: (r.kind if r.status != "failed" else None) for r in result.reports},
                    known={r.page: scanned[r.page] for r in result.reports if r.status == "ok" and r.page in scanned},
                )
            if problems:
                shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
                raise BuildAborted(f"the staged site failed its checks, nothing was published: {shown}")
            publish.carry_over(out, staging)
            # Publish only when something changed: the same files and the same report states.
            with _Phase("compare with the live site"):
                same = (
                    out.is_dir()
                    and live_manifest.get("site_inputs") == inputs
                    and publish.stable_reports(live_manifest.get("reports", []))
                    == publish.stable_reports([asdict(r) for r in result.reports])
                    and publish.site_files(out) == publish.site_files(staging)
                )
            if same:
                log.info("the site is unchanged; nothing to publish")
                return
            publish.write_manifest(result, staging, st, vintage, inputs, started)
            # The folder may have changed during the run (a file dropped into it): look again before replacing it.
            try:
                unchanged = publish.check_output_folder(out, store, jobs, opts.force_out) == out_state
            except BuildError as exc:
                raise BuildAborted(f"{out} changed while the site was built ({exc}); nothing was published") from None
            if not unchanged:
                raise BuildAborted(f"{out} changed while the site was built; nothing was published")
            result.moved_aside = publish.publish_site(staging, out, move_aside=out_state == "move-aside")
            result.published = True
        finally:
            if printer is not None:
                printer.close()


def _write_hearing(
    opts: BuildOptions,
    jobs: list[Job],
    results,
    synthetic: bool,
    staging: Path,
    printer: _Printer | None,
    vintage: str,
    result: BuildResult,
) -> None:
    """``--hearing``: each built län's hearing pack into the staged site's ``hearing/`` (printed with
    ``--pdf``, an unchanged page's PDF taken from the live site). A pack whose PDFs fail keeps its HTML."""
    from .hearing import HEARING_DIR, write_pack

    live = opts.out / HEARING_DIR
    errors = []
    for job in (j for j in jobs if j.kind == "lan"):
        try:
            write_pack(
                results,
                job.code,
                staging / HEARING_DIR,
                report_year=opts.year or None,
                synthetic=synthetic,
                printer=printer.printer if printer is not None else None,
                previous=live if live.is_dir() else None,
                header=f"data: {vintage}",
            )
        except RuntimeError as exc:
            errors.append(str(exc))
            log.error("%s", exc)
    result.hearing = sorted(p.name for p in (staging / HEARING_DIR).iterdir() if not p.name.startswith("."))
    result.hearing_error = "; ".join(errors) or None


class _Printer:
    """``--pdf``: each staged page printed to A4 beside it, by one chromium in a thread of its own
    (:class:`tmb_analysis.pdf.PdfPrinter`), while the kernels build the next reports. A reused or stale
    page takes its PDF from the live site when that PDF is the one the live manifest records. A page that
    cannot be printed is still published; its report records why (``pdf_error``)."""

    def __init__(self, staging: Path, out: Path, assets_ready: threading.Event, vintage: str, contexts: dict):
        from .pdf import PdfPrinter

        self.staging, self.out, self.contexts = staging, out, contexts
        self.vintage = vintage
        self.files = (publish.read_manifest(out).get("files") or {}) if out.is_dir() else {}
        self.printer = PdfPrinter(wait_for=assets_ready)
        self.pending: list[tuple[JobResult, object]] = []

    def page_ready(self, r: JobResult, prev: dict | None) -> None:
        name = pdf_name(r.page)
        live = self.out / name
        if (
            prev is not None
            and prev.get("pdf") == name
            and live.is_file()
            and self.files.get(name) == publish.file_sha256(live)
        ):
            publish.copy_page(live, self.staging / name)
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
                r.pdf, r.pdf_error = None, kernels.short_error(exc)
                log.error("%s: could not be printed to PDF: %s", r.page, r.pdf_error)
        self.pending = []

    def close(self) -> None:
        try:
            self.printer.close()
        except Exception:  # a browser that went away
            log.debug("closing the PDF printer failed", exc_info=True)


def _up_to_date(
    out: Path, jobs: list[Job], store: Path, year: int, pdf: bool = False, hearing: bool = False
) -> BuildResult | None:
    """The live site, when it is exactly what this run would build; else None.

    True when the live site's manifest records the same site inputs (code, store, notebooks, method
    page, year and the same pages), every report there is current (none stale or failed, which are
    tried again), and every file of the site is still the one the manifest records. Needs neither
    the store loaded nor a kernel: a nightly run on an unchanged store ends here, in seconds.
    """
    manifest = publish.read_manifest(out)
    if manifest.get("site_inputs") != publish.site_inputs(jobs, store, year, pdf, hearing):
        return None
    reports = manifest.get("reports") or []
    if {r.get("page") for r in reports} != {j.page for j in jobs} or any(r.get("status") != "ok" for r in reports):
        return None
    files = manifest.get("files") or {}
    if not files or publish.site_files(out) != files:
        return None
    known = {f.name for f in fields(JobResult)}
    result = BuildResult(out, reports=[JobResult(**{k: v for k, v in r.items() if k in known}) for r in reports])
    for r in result.reports:
        r.rebuilt = False
    return result
