"""What a build makes: the jobs, their page names (the one rule), parameters and checks, and their results."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..config import NOTEBOOK_DIR
from ..geography import parse_code

KOMMUN_NOTEBOOK = "kommun_rapport.ipynb"
LAN_NOTEBOOK = "lan_oversikt.ipynb"
_PAGE_RE = re.compile(r"(?:kommun-\d{4}|lan-\d{2})\.html")


class BuildError(RuntimeError):
    """The build cannot start (bad parameters, notebooks or output folder) or a page failed its checks."""


class BuildAborted(RuntimeError):
    """The run stopped before publishing: the live site is left exactly as it was."""


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
    hearing: list[str] = field(default_factory=list)  # the hearing pack's files (``--hearing``), under hearing/
    hearing_error: str | None = None  # what of the pack could not be printed (its HTML is published anyway)

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


def page_name(kind: str, code: str) -> str:
    """The one rule for a report's file name: ``kommun-2180.html``, ``lan-21.html`` (from a validated code only)."""
    return f"{kind}-{code}.html"


def data_name(page: str) -> str:
    """A report's own rows in the site: ``kommun-2180.html`` -> ``data/kommun-2180.csv``."""
    return f"data/{page.removesuffix('.html')}.csv"


def _notebooks(notebooks: dict | None, notebook_dir: str | Path | None) -> dict[str, str]:
    base = Path(notebook_dir or NOTEBOOK_DIR).resolve()
    paths = {"kommun": base / KOMMUN_NOTEBOOK, "lan": base / LAN_NOTEBOOK}
    for kind, path in (notebooks or {}).items():
        if kind not in paths:
            raise BuildError(f"unknown report kind {kind!r}: expected 'kommun' or 'lan'")
        paths[kind] = Path(path).resolve()
    return {kind: str(p) for kind, p in paths.items()}


def plan(
    lan: list[str] | None = None,
    kommuner: list[str] | None = None,
    notebooks: dict | None = None,
    notebook_dir: str | Path | None = None,
) -> list[Job]:
    """The reports to build. Codes are validated against the registry; file names come from codes only."""
    from ..geography import registry

    nbs = _notebooks(notebooks, notebook_dir)
    reg = registry()
    jobs: list[Job] = []
    lan_codes: list[str] = []
    if lan:
        if "all" in lan:
            lan_codes = [a.code for a in reg.all_lan()]
        else:
            lan_codes = [parse_code("lan", str(c)) for c in lan]
    for code in dict.fromkeys(lan_codes):
        jobs.append(Job("lan", code, nbs["lan"], page_name("lan", code)))
        for k in reg.kommuner(code):
            jobs.append(Job("kommun", k.code, nbs["kommun"], page_name("kommun", k.code)))
    for code in kommuner or []:
        code = parse_code("kommun", str(code))
        if not any(j.code == code and j.kind == "kommun" for j in jobs):
            jobs.append(Job("kommun", code, nbs["kommun"], page_name("kommun", code)))
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

    if isinstance(year, bool) or not isinstance(year, int) or year < 0:
        raise BuildError(f"year must be a whole number (0 = the latest year with data), got {year!r}")
    declared_by_nb: dict[str, dict] = {}
    for job in jobs:
        if job.notebook not in declared_by_nb:
            if not Path(job.notebook).is_file():
                raise BuildError(f"notebook not found: {job.notebook}")
            declared = papermill.inspect_notebook(job.notebook)
            if not declared:
                raise BuildError(
                    f"{Path(job.notebook).name}: no cell tagged 'parameters'; papermill would inject the "
                    "parameters above the notebook's own defaults, and the defaults would win"
                )
            declared_by_nb[job.notebook] = declared
        declared = declared_by_nb[job.notebook]
        params = job_parameters(job, store, year)
        unknown = sorted(set(params) - set(declared))
        if unknown:
            raise BuildError(
                f"{Path(job.notebook).name}: unknown parameter(s) {unknown} (misspelt?); "
                f"the notebook declares {sorted(declared)}"
            )
        for name, value in params.items():
            want = declared[name].get("inferred_type_name")
            if want in ("str", "int", "float", "bool") and type(value).__name__ != want:
                raise BuildError(
                    f"{Path(job.notebook).name}: parameter {name!r} = {value!r} is a "
                    f"{type(value).__name__}, the notebook declares {want}"
                )
        code = job.code
        try:
            parse_code(job.kind, code)
        except ValueError as exc:  # UnknownAreaError, or a kind that is neither kommun nor lan
            raise BuildError(f"{code!r} is not a {job.kind} code: {exc}") from None
        if job.page != page_name(job.kind, code) or not _PAGE_RE.fullmatch(job.page):
            raise BuildError(f"page name {job.page!r} is not built from the code {code!r}")


def _positive_whole(value, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value != int(value)
        or value < 1
    ):
        raise BuildError(f"{name} must be a positive whole number, got {value!r}")


def check_run_options(workers, timeout) -> None:
    """``workers`` (None = one per core) and ``timeout`` (seconds per report) are positive whole numbers."""
    if workers is not None:
        _positive_whole(workers, "--workers")
    _positive_whole(timeout, "--timeout")


def listing(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_data_for_jobs(jobs: list[Job], results, store: Path, year: int) -> None:
    """Refuse, before anything is written, a report year outside the store's years and an area the store
    holds no rows for (a county's page would otherwise be an absence of data worded as a finding)."""
    from ..geography import registry

    years = results["year"].dropna().astype(int) if len(results) else results["year"]
    if not len(years):
        return
    lo, hi = int(years.min()), int(years.max())
    if year and not lo <= year <= hi:
        raise BuildError(
            f"--year {year}: the store {store} holds data for {lo}–{hi}; give a year in that range "
            "(or none for the latest)"
        )
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
        raise BuildError(
            f"the store {store} holds no data for {listing(missing)}; import data for "
            f"{'it' if len(missing) == 1 else 'them'} first (tmb import) or build areas the store covers"
        )


def pdf_name(page: str) -> str:
    """``kommun-2180.html`` -> ``kommun-2180.pdf`` (built from the validated page name only)."""
    return page.removesuffix(".html") + ".pdf"
