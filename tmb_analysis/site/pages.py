"""The site's pages: HTML export of an executed notebook, page checks, the report page, index, data and method page."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import __version__
from ..config import METHOD_PAGE, SAMPLE_NOTE
from .plan import BuildError, BuildResult, Job, JobResult, data_name, page_name, pdf_name
from .publish import copy_page, file_sha256, sha256

log = logging.getLogger("tmb.build")

#: Fewest charts each kind of page must show; fewer means a chart was lost.
MIN_FIGURES = {"kommun": 2, "lan": 2}
PLOTLY_MIME = "application/vnd.plotly.v1+json"
STATUS_TEXT_FAILED = "Rapporten kunde inte byggas"


# ---- export and page checks ------------------------------------------------------------------------

_EXPORTER = None
#: The chart marker (``report.FIGURE_CLASS``); a worker gets it from the main process, so that it
#: never imports the analysis stack (pandas, statsmodels: two seconds) just for this string.
_FIGURE_CLASS: str | None = None


def figure_class() -> str:
    if _FIGURE_CLASS is not None:
        return _FIGURE_CLASS
    from ..report import FIGURE_CLASS

    return FIGURE_CLASS


def set_figure_class(name: str | None) -> None:
    """(In a worker process.) The chart marker as the main process sent it (None: read it from the report module)."""
    global _FIGURE_CLASS
    _FIGURE_CLASS = name


def exporter():
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter

        _EXPORTER = HTMLExporter(
            template_name="basic",
            exclude_anchor_links=True,
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
    return _EXPORTER


def export_body(executed) -> tuple[str, int]:
    """HTML of an executed notebook (a path or a notebook) without code, prompts or stderr.

    Raises :class:`BuildError` when a chart reached the notebook only as plotly's JSON: nbconvert would
    drop it and the page would show nothing.
    """
    FIGURE_CLASS = figure_class()
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
                raise BuildError(
                    f"{name}: a chart was written only as {PLOTLY_MIME}; it would be missing from the page"
                )
            html_out = data.get("text/html", "")
            figures += ("".join(html_out) if isinstance(html_out, list) else str(html_out)).count(
                f'class="{FIGURE_CLASS}"'
            )
            kept.append(out)
        cell["outputs"] = kept
    body, _ = exporter().from_notebook_node(nb)
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
    parser = _PageScanner(figure_class())
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
        raise BuildError(
            f"{page}: {markers} figure(s) but {scan.containers} chart container(s) and {scan.drawn} "
            "drawing call(s): a chart is missing"
        )
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
    for page in sorted(pages):
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


def environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("tmb_analysis", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )


def write_assets(staging: Path) -> None:
    from plotly.offline import get_plotlyjs

    from ..tables import TABLE_CSS

    assets = staging / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    css = resources.files("tmb_analysis").joinpath("assets/tmb.css").read_text("utf-8")
    (assets / "tmb.css").write_text(css + "\n" + TABLE_CSS, encoding="utf-8")
    paper = resources.files("tmb_analysis").joinpath("assets/tmb-paper.js").read_text("utf-8")
    (assets / "tmb-paper.js").write_text(paper, encoding="utf-8")


def write_data(
    staging: Path, results, jobs: list[Job], live: Path | None = None, live_files: dict | None = None
) -> None:
    """``data/indicators.csv`` (the rows of the areas the site reports on: its kommuner, their län
    and riket; every row for the whole country) and ``data/<page>.csv`` (each report's own area).

    When the live site was built from the same store and code (``live_files`` given) for the same
    reports, its CSV files are taken over as they are: writing the country's table as CSV takes seconds.
    """
    from ..results import write_results_csv

    data = staging / "data"
    data.mkdir(parents=True, exist_ok=True)

    def take_over(rel: str) -> bool:
        if live is None or not live_files or rel not in live_files or not (live / rel).is_file():
            return False
        if file_sha256(live / rel) != live_files[rel]:
            return False
        copy_page(live / rel, staging / rel)
        return True

    codes = {j.code for j in jobs}
    own = {data_name(j.page) for j in jobs}
    same_reports = bool(live_files) and own == {k for k in live_files if k.startswith("data/")} - {
        "data/indicators.csv"
    }
    if not (same_reports and take_over("data/indicators.csv")):
        areas = codes | {c[:2] for c in codes} | {"00"}
        site_rows = results[results["area_code"].isin(areas)]
        write_results_csv(site_rows if len(site_rows) < len(results) else results, data / "indicators.csv")
    by_area = None
    for job in jobs:
        rel = data_name(job.page)
        if take_over(rel):
            continue
        if by_area is None:
            by_area = {
                code: rows for code, rows in results[results["area_code"].isin(codes)].groupby("area_code", sort=False)
            }
        write_results_csv(by_area.get(job.code, results.iloc[0:0]), staging / rel)


_ANCHOR = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)


def write_method_page(staging: Path, env, render_context: dict, pages: set[str]) -> None:
    """``metod.html``, which every report links, from ``docs/metod.md`` (a source checkout; nothing without it).
    A link in the Markdown that would lead out of the site (another repository file, a web address)
    becomes its text followed by the address."""
    import mistune
    from markupsafe import Markup

    if not METHOD_PAGE.is_file():
        return

    def local(match: re.Match) -> str:
        url = match.group(1)
        parts = urlsplit(url)
        inside = (
            not parts.scheme
            and not parts.netloc
            and (not parts.path or unquote(parts.path) in pages or (staging / unquote(parts.path)).is_file())
        )
        return match.group(0) if inside else f"{match.group(2)} ({url})"

    body = _ANCHOR.sub(local, mistune.html(METHOD_PAGE.read_text("utf-8")))
    body = re.sub(r"<img\s[^>]*>", "", body)
    # a wide table scrolls inside its own box on a phone (with the cue of tmb.css), never the page
    body = re.sub(
        r"<table>(.*?)</table>",
        r'<div class="table-scroll" tabindex="0" role="region" aria-label="Tabell"><table>\1</table></div>',
        body,
        flags=re.S,
    )
    text = env.get_template("page.html.j2").render(
        title="Metodbeskrivning", body=Markup(body), lan_link=None, **render_context
    )
    (staging / "metod.html").write_text(text, encoding="utf-8")


def page_context(job: Job, reg, pages: set[str], common: dict) -> dict:
    area = reg.area(job.code)
    lan_link = None
    if job.kind == "kommun":
        lan_area = reg.area(area.lan_code)
        lan_page = page_name("lan", lan_area.code)
        if lan_page in pages:  # link the county overview only when the site has it
            lan_link = {"href": lan_page, "text": f"Länsöversikt – {lan_area.name}"}
    title = f"Lägesbild – {area.display_name}" if job.kind == "kommun" else f"Länsöversikt – {area.name}"
    pdf_href = pdf_name(job.page) if common.get("pdf") else None
    # page-kommun or page-lan on <body>: the print rules and assets/tmb-paper.js tell the county overview by it
    return {"title": title, "page_kind": job.kind, "lan_link": lan_link, "pdf_href": pdf_href, **common}


def hashable_contexts(jobs: list[Job], reg, pages: set[str], pdf: bool = False) -> dict[str, dict]:
    """The page contexts without what is computed from the store (the store's hash stands for that)."""
    return {j.page: page_context(j, reg, pages, {"version": __version__, "pdf": pdf}) for j in jobs}


def render_page(env, context: dict, body: str) -> str:
    from markupsafe import Markup

    return env.get_template("page.html.j2").render(body=Markup(body), **context)


def _placeholder_body(job: Job, reg, error: str | None) -> str:
    """The page of a report that failed and has no earlier version: says so, so that no link breaks."""
    from markupsafe import escape

    area = reg.area(job.code)
    name = area.display_name if job.kind == "kommun" else f"Länsöversikt: {area.name}"
    return (
        f"<h1>{escape(name)}</h1>"
        f'<div class="tmb-banner" role="alert"><p><strong>{STATUS_TEXT_FAILED}.</strong> '
        "Den senaste körningen misslyckades och det finns ingen tidigare version att visa. "
        f"Försök igen vid nästa körning.</p><p>Fel: <code>{escape(error or 'okänt')}</code></p></div>"
    )


def write_index(result: BuildResult, staging: Path, env, vintage: str, synthetic: bool, jobs: list[Job]) -> None:
    from ..geography import registry

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
        lan_page = page_name("lan", code)
        kommun_pages = [j for j in jobs if j.kind == "kommun" and reg.area(j.code).lan_code == code]
        lans.append(
            {
                "name": lan_area.name,
                **(
                    {
                        k: v
                        for k, v in entry(lan_page, lan_area.name).items()
                        if k in ("href", "pdf", "status", "status_text")
                    }
                    if lan_page in by_page
                    else {"href": None, "status": "absent", "status_text": "ingår inte i körningen"}
                ),
                "kommuner": [entry(j.page, reg.area(j.code).name) for j in kommun_pages],
                "hearing": _hearing_links(result, code),
            }
        )
    html_text = env.get_template("index.html.j2").render(
        lans=lans, vintage=vintage, synthetic=synthetic, version=__version__, sample_note=SAMPLE_NOTE
    )
    (staging / "index.html").write_text(html_text, encoding="utf-8")


def _hearing_links(result: BuildResult, lan_code: str) -> dict | None:
    """The index's links to a län's hearing pack (``--hearing``), when the build wrote one."""
    from ..hearing import HEARING_DIR

    sheet = f"lan-{lan_code}.html"
    if sheet not in result.hearing:
        return None
    pdf = sheet.removesuffix(".html") + ".pdf"
    return {
        "href": f"{HEARING_DIR}/{sheet}",
        "pdf": f"{HEARING_DIR}/{pdf}" if pdf in result.hearing else None,
        "worksheets": sum(1 for f in result.hearing if f.startswith("kommun-") and f.endswith(".html")),
    }


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


def keep_last_good(
    r: JobResult, job: Job, prev: dict | None, out: Path, staging: Path, env, context: dict, reg, pages: set[str]
) -> None:
    """A failed report keeps its last good page (status ``stale``), or gets a page saying it failed.

    The last good page is kept only while its links still resolve in the new site (a run of fewer
    reports than the last one may have dropped the page it links to)."""
    live = out / job.page
    if live.is_file() and prev is not None and prev.get("status") in ("ok", "stale") and _fits(live, staging, pages):
        copy_page(live, staging / job.page)
        r.status = "stale"
        r.input_hash = (prev or {}).get("input_hash", "")
        r.sha256 = file_sha256(live)
        r.bytes = live.stat().st_size
        return
    r.status = "failed"
    page = render_page(env, context, _placeholder_body(job, reg, r.error)).encode("utf-8")
    (staging / job.page).write_bytes(page)
    r.sha256, r.bytes = sha256(page), len(page)
