"""The hearing pack: print-ready sheets for a county's hearing on *Tillsammans mot brott*.

At a hearing about forty people (social services, schools, security, public health, politicians, the
kommunpoliser) discuss how each kommun's crime-prevention work should be aimed, and everyone leaves with
three prioritised proposals. ``tmb build --lan 21 --hearing`` writes, under ``<site>/hearing/``:

* ``lan-21.html`` / ``.pdf``: **the county sheet**: the data years, the challenges the kommuner share
  (weighted by harm and by evidence, as the priorities are: :func:`priorities.shared_challenges`), the
  county's own proposals, and each kommun's proposals in one line;
* ``kommun-XXXX.html`` / ``.pdf``: **one A4 worksheet per kommun**: its proposals with their key figures,
  comparison and stability, room to note local knowledge against each, and a box for the group's three
  chosen priorities. When the statistics support fewer than three proposals, the sheet lists the nearest
  candidates under "Att bevaka" (:func:`priorities.watch_list`), marked as not proposals.

Every sheet says plainly that the proposals are an input to the conversation, not the decision.
The pages are rendered from the results table (no notebook) with ``templates/hearing.html.j2``; the
PDFs are printed by :mod:`tmb_analysis.pdf`, like the reports.
"""

from __future__ import annotations

import hashlib
import html as _html
import os
import shutil
from pathlib import Path

import pandas as pd

from . import formatting as F
from .periods import round_mask, source_years, years_text
from .priorities import shared_challenges, stability_text, watch_list

__all__ = ["county_sheet", "kommun_worksheet", "hearing_pages", "write_pack", "area_proposals", "HEARING_DIR"]

#: The pack's folder inside a site.
HEARING_DIR = "hearing"

INPUT_NOT_DECISION = (
    "Förslagen bygger på statistiken och är ett underlag för samtalet – inte beslutet. "
    "Lokal kunskap, orsaksanalys och resurser avgör vad kommunen väljer."
)
STRENGTH = {"stark": "starkt stöd", "måttlig": "måttligt stöd", "svag": "svagt stöd"}


def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("tmb_analysis", "templates"), autoescape=True, keep_trailing_newline=True
    )


def _round(results: pd.DataFrame, report_year: int | None) -> pd.DataFrame:
    return results[round_mask(results, report_year)]


def _key_figure(r) -> str:
    unit = r["unit"]
    value = F.fmt_value(r["value"], unit) + (" per 100 000 invånare" if unit == "per_100k" else "")
    interval = F.fmt_value_interval(r["ci_low"], r["ci_high"], unit, r["value"])
    return f"{value} (95 % konfidensintervall {interval}), {int(r['year'])}"


def _comparisons(r) -> str:
    parts = []
    for col, word in (
        ("cmp_lan", "övriga länet"),
        ("cmp_riket", "riket"),
        ("cmp_group", "kommungruppen"),
        ("cmp_peers", "liknande kommuner"),
    ):
        c = r.get(col)
        if c in ("higher", "lower"):
            parts.append(f"{F.comparison_text(c).lower().split(' ', 1)[1]} än {word}")
    trend = r.get("trend")
    if trend in ("increasing", "decreasing"):
        parts.append("ökar" if trend == "increasing" else "minskar")
    return ", ".join(parts).capitalize() if parts else "Ingen säker skillnad mot jämförelsevärdena"


def _item(r, proposal: bool) -> dict:
    conf = r.get("priority_confidence")
    return {
        "rank": int(r["priority_rank"]) if proposal else None,
        "label": str(r["indicator_label"]),
        "key": _key_figure(r),
        "comparisons": _comparisons(r),
        "strength": STRENGTH.get(conf, "") if proposal else "inte tillräckligt stöd för ett förslag",
        "stability": stability_text(r.get("priority_stability")) if proposal else "",
    }


def area_proposals(results: pd.DataFrame, code: str) -> tuple[list[dict], list[dict]]:
    """An area's proposals of the round (rank, label, key figure, comparisons, strength, stability) and,
    when fewer than three, the nearest candidates to watch (not proposals)."""
    own = results[results["area_code"].astype(str) == code]
    ranked = own[own["priority_rank"].notna()].sort_values("priority_rank")
    proposals = [_item(r, True) for _, r in ranked.iterrows()]
    watch = (
        [_item(r, False) for _, r in watch_list(results, code, n=3 - len(proposals)).iterrows()]
        if len(proposals) < 3
        else []
    )
    return proposals, watch


def _one_line(proposals: list[dict], watch: list[dict]) -> str:
    if proposals:
        return "; ".join(f"{p['rank']}. {p['label']} ({p['strength']})" for p in proposals)
    if watch:
        return "Inget förslag med tillräckligt stöd. Att bevaka: " + ", ".join(w["label"] for w in watch)
    return "Inget förslag med tillräckligt stöd i statistiken"


def _header(results: pd.DataFrame, code: str, report_year: int | None) -> str:
    return years_text({k: v for k, v in source_years(results, code, report_year).items()})


def county_sheet(results: pd.DataFrame, lan_code: str, report_year: int | None = None, synthetic: bool = False) -> str:
    """The county sheet of the hearing pack, as a whole HTML page."""
    from .geography import registry

    reg = registry()
    lan = reg.lan(lan_code)
    rnd = _round(results, report_year)
    shared = shared_challenges(rnd, lan.code)
    challenges = [
        {
            "label": s.indicator_label,
            "tier": s.tier,
            "n": s.n_eligible,
            "of": s.n_kommuner,
            "kommuner": ", ".join(s.eligible),
            "harm": F.fmt_number(s.harm_weight, 1),
            "also": ", ".join(s.signs),
        }
        for s in shared.itertuples()
    ]
    county_props, county_watch = area_proposals(rnd, lan.code)
    kommuner = []
    for k in reg.kommuner(lan.code):
        props, watch = area_proposals(rnd, k.code)
        has = bool((rnd["area_code"].astype(str) == k.code).any())
        kommuner.append({"name": k.display_name, "line": _one_line(props, watch) if has else "Data saknas"})
    return (
        _env()
        .get_template("hearing.html.j2")
        .render(
            kind="lan",
            title=f"Underlag för hearing – {lan.name}",
            heading=f"Tillsammans mot brott: {lan.name}",
            years=_header(results, lan.code, report_year)
            if (results["area_code"] == lan.code).any()
            else years_text(_years_of_lan(results, lan.code, report_year)),
            note=INPUT_NOT_DECISION,
            challenges=challenges,
            county=county_props,
            county_watch=county_watch,
            kommuner=kommuner,
            synthetic=synthetic,
        )
    )


def _years_of_lan(results, lan_code, report_year) -> dict:
    rows = results[results["lan_code"].astype(str) == lan_code]
    rnd = rows[round_mask(rows, report_year)]
    return {
        kind: (int(rnd.loc[rnd["source_kind"] == kind, "year"].max()) if (rnd["source_kind"] == kind).any() else None)
        for kind in ("crime", "survey")
    }


def kommun_worksheet(
    results: pd.DataFrame, kommun_code: str, report_year: int | None = None, synthetic: bool = False
) -> str:
    """One kommun's A4 worksheet for the hearing, as a whole HTML page."""
    from .geography import registry

    area = registry().kommun(kommun_code)
    rnd = _round(results, report_year)
    proposals, watch = area_proposals(rnd, area.code)
    return (
        _env()
        .get_template("hearing.html.j2")
        .render(
            kind="kommun",
            title=f"Arbetsblad – {area.display_name}",
            heading=f"Arbetsblad: {area.display_name}",
            years=_header(results, area.code, report_year),
            note=INPUT_NOT_DECISION,
            proposals=proposals,
            watch=watch,
            synthetic=synthetic,
        )
    )


def hearing_pages(
    results: pd.DataFrame, lan_code: str, report_year: int | None = None, synthetic: bool = False
) -> dict[str, str]:
    """Every page of a county's hearing pack: file name (under ``hearing/``) -> HTML. Names come from codes."""
    from .geography import registry

    lan = registry().lan(lan_code)
    pages = {f"lan-{lan.code}.html": county_sheet(results, lan.code, report_year, synthetic)}
    for k in registry().kommuner(lan.code):
        pages[f"kommun-{k.code}.html"] = kommun_worksheet(results, k.code, report_year, synthetic)
    return pages


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_pack(
    results: pd.DataFrame,
    lan_code: str,
    folder: str | Path,
    report_year: int | None = None,
    synthetic: bool = False,
    printer=None,
    previous: str | Path | None = None,
    header: str = "",
) -> list[str]:
    """Write a county's hearing pack into ``folder`` (a staging folder's ``hearing/``); the file names written.

    With ``printer`` (a :class:`tmb_analysis.pdf.PdfPrinter`) every page is also printed to A4 beside
    it. A PDF in ``previous`` (the published site's ``hearing/``) whose HTML is byte-identical to the
    new page is copied instead of printed again. A page that cannot be printed keeps its HTML; the
    error propagates after the other pages are done, so the caller decides what to publish.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    previous = Path(previous) if previous else None
    written, pending, errors = [], [], []
    for name, page in hearing_pages(results, lan_code, report_year, synthetic).items():
        path = folder / name
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, path)
        written.append(name)
        if printer is None:
            continue
        pdf = path.with_suffix(".pdf")
        old_html, old_pdf = (previous / name, previous / pdf.name) if previous else (None, None)
        if old_html and old_html.is_file() and old_pdf.is_file() and _sha256(old_html) == _sha256(path):
            shutil.copy2(old_pdf, pdf)
            written.append(pdf.name)
            continue
        title = _html.unescape(page.split("<title>", 1)[1].split("</title>", 1)[0]) if "<title>" in page else name
        pending.append((pdf.name, printer.submit(path, pdf, f"{title}{' · ' + header if header else ''}")))
    for name, future in pending:
        try:
            future.result()
            written.append(name)
        except Exception as exc:  # noqa: BLE001 - reported to the caller after every page was tried
            errors.append(f"{name}: {exc}")
    if errors:
        raise RuntimeError("hearing pack: " + "; ".join(errors))
    return written
