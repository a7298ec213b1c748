"""The kommun report's second half: every indicator once by theme, the trend pair, and the folded
"Fördjupning" (funnel, matrix, method, files).

* :func:`theme_blocks`: reported crime and NTU side by side per theme (``config/report.yaml``), each
  theme folded, with in-page navigation and the comparison groups named.
* :func:`trend_figures`: the trend pair under the themes.
* :func:`funnel_section`, :func:`matrix_section`, :func:`method_section`, :func:`file_section`: the
  folded "Fördjupning"; on paper every fold is open, and what is only links stays on the web.

The first half (Kort om, spine chart, proposal cards) is :mod:`tmb_analysis.report_kommun`; both are
served to the notebooks as ``report.<name>``.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML

from . import formatting as F
from . import tables as T
from .report import (
    ReportContext,
    _derived_benchmarks,
    _ranked,
    esc,
    file_list,
    first_priority,
    funnel_figure,
    harm_index_summary,
    matrix_figure,
    method_notes,
    missing_sentence,
    trend_figure,
)
from .report_kommun import _blocks, _group_titles, _keys, _rows, _years_words, report_config
from .tables import EXPLANATION, recording_note, sources_note

__all__ = [
    "theme_blocks",
    "trend_figures",
    "funnel_section",
    "matrix_section",
    "method_section",
    "file_section",
    "PAPER_METHOD_NOTE",
]

# ---- every indicator, by theme ----------------------------------------------------------------------


def _groups_named(ctx: ReportContext, keys) -> str:
    titles = _group_titles(ctx)
    parts = []
    for key, word, source in (
        ("group", "Kommungruppen", "SKR:s kommungruppsindelning"),
        ("peers", "Liknande kommuner", "Kolada"),
    ):
        if key not in keys or key not in titles:
            continue
        title, names = titles[key]
        parts.append(
            f"<p><strong>{word}</strong>: {esc(title)} ({source}), "
            f"{F.count_text(len(names), 'annan kommun', 'andra kommuner')}:"
            f" {esc(', '.join(names))}.</p>"
        )
    if not parts:
        return ""
    return (
        f"<details class='groups'><summary>Vilka kommuner jämförs {esc(ctx.area.name)} med?</summary>"
        f"<p>Resten av länet är länets övriga kommuner. Kommungruppen och liknande kommuner räknas som ett "
        f"gemensamt värde för gruppens kommuner.</p>{''.join(parts)}</details>"
    )


def _block_summary(rows: pd.DataFrame, keys) -> str:
    kinds = rows["source_kind"].value_counts()
    parts = []
    if kinds.get("crime"):
        parts.append(F.count_text(int(kinds["crime"]), "indikator för anmälda brott", "indikatorer för anmälda brott"))
    if kinds.get("survey"):
        parts.append(F.count_text(int(kinds["survey"]), "ur NTU", "ur NTU"))
    worse = 0
    for _, r in rows.iterrows():
        bad = "lower" if T._worse(r) == "lower" else "higher"
        worse += any(T.comparison_key(r, k) == bad for k in keys)
    note = f" · {worse} med ▲" if worse else ""
    return f"{', '.join(parts)}{note}"


def theme_blocks(ctx: ReportContext) -> HTML:
    """'Alla indikatorer efter tema': each theme block folded, register and survey in one table, with
    navigation between the themes and the comparison groups named with their members."""

    rows = _rows(ctx)
    if rows.empty:
        return HTML(
            f"<p>Det finns inga värden för {esc(ctx.area.display_name)} till och med {ctx.year} i datalagret.</p>"
            + "".join(missing_sentence(k) for k in ("crime", "survey") if ctx.source_years.get(k) is None)
        )
    keys = _keys(rows)
    nav, blocks = [], []
    for b in _blocks():
        sel = rows[rows["indicator"].isin(b["indicators"])]
        if sel.empty:
            continue
        bid = f"tema-{b['id']}"
        nav.append(f"<li><a href='#{bid}'>{esc(b['title'])}</a></li>")
        table = T.theme_table_html(
            sel, b["indicators"], keys, f"{b['title']}: {ctx.area.display_name}, {_years_words(ctx)}"
        )
        blocks.append(
            f"<details class='theme' id='{bid}'><summary><h3>{esc(b['title'])}</h3> "
            f"<span class='small'>{esc(_block_summary(sel, keys))}</span></summary>{table}</details>"
        )
    years = pd.to_numeric(ctx.results.loc[ctx.results["area_code"] == ctx.area.code, "year"], errors="coerce")
    change = (
        recording_note(rows["indicator"].tolist(), int(years.min()), int(years.max())) if years.notna().any() else ""
    )
    scb = any(x.get("publisher") == "SCB" for x in ctx.sources)
    notes = [EXPLANATION, change, _derived_benchmarks(ctx), sources_note(rows["source_kind"], scb)]
    return HTML(
        f"<nav class='theme-nav' aria-label='Teman'><ul>{''.join(nav)}</ul></nav>"
        f"{_groups_named(ctx, keys)}{''.join(blocks)}"
        f"<p class='note'>{' '.join(esc(n) for n in notes if n)}</p>"
    )


def trend_figures(ctx: ReportContext) -> HTML:
    """The trend charts of config/report.yaml (``trend_charts``) side by side, except those a proposal
    card already shows (each thing once)."""
    ranked = set(_ranked(ctx)["indicator"])
    wanted = [i for i in report_config().get("trend_charts", []) if i not in ranked]
    if not wanted:
        return HTML("<p>Trenderna visas vid förslagen ovan.</p>")
    return HTML("<div class='chart-pair'>" + "".join(trend_figure(ctx, i).data for i in wanted) + "</div>")


# ---- Fördjupning ---------------------------------------------------------------------------------------


def _fold(summary: str, body: str, cls: str = "") -> str:
    return f"<details class='deep {cls}'><summary>{esc(summary)}</summary>{body}</details>"


def funnel_section(ctx: ReportContext) -> HTML:
    """The funnels (total crime, and the first proposal's indicator), folded."""

    first = first_priority(ctx)
    body = (
        "<p>I trattdiagrammet är varje punkt en kommun. Ju fler invånare, desto smalare blir gränserna för vad "
        "slumpen och den vanliga variationen mellan kommuner kan förklara. Gränserna är desamma som i "
        "tabellernas jämförelser: ovanför den prickade 95 %-linjen står ▲ i tabellen, och en kommun utanför de "
        "streckade 99,8 %-gränserna avviker tydligt.</p>"
    )
    shown = [first] if first is not None and first != "totalt" else []
    charts = "".join(f"<div>{funnel_figure(ctx, ind).data}</div>" for ind in [*shown, "totalt"])
    return HTML(_fold("Kommunen bland alla kommuner (trattdiagram)", body + f"<div class='funnel-pair'>{charts}</div>"))


def matrix_section(ctx: ReportContext) -> HTML:
    body = (
        "<p>Prioriteringsmatrisen visar alla brottsindikatorer på en gång: nivån jämfört med riket, trenden och "
        "hur allvarliga brotten är.</p>" + harm_index_summary(ctx).data + matrix_figure(ctx).data
    )
    return HTML(_fold("Nivå, trend och skada (prioriteringsmatris)", body))


#: On paper the method notes keep what a reader of the figures must bear in mind and the sources; the
#: definitions and the method, and what is only links (the imported files, the downloads), are on the web.
PAPER_METHOD_NOTE = (
    "På papper står här det man behöver ha i minnet och källorna. Definitionerna och metoden står i "
    "webbversionen av rapporten ({page}, under Fördjupning) och i metodbeskrivningen (metod.html) på samma "
    "webbplats; där finns också listan över importerade filer och siffrorna att ladda ner (CSV)."
)


def method_section(ctx: ReportContext) -> HTML:
    """'Metod och källor', folded; on paper (tmb.css) only 'Att tänka på' and 'Källor', with a pointer to
    the web version for the definitions, the method, the files and the downloads."""

    page = f"kommun-{ctx.area.code}.html"
    note = f"<p class='print-only method-pointer'>{esc(PAPER_METHOD_NOTE.format(page=page))}</p>"
    return HTML(_fold("Metod och källor", note + f"<div class='method-notes'>{method_notes(ctx)}</div>", "method"))


def file_section(ctx: ReportContext) -> HTML:
    """The imported files, folded; not printed (a list of file names is for the web: method_section says where)."""

    return HTML(_fold("Importerade filer", file_list(ctx), "files screen-only"))
