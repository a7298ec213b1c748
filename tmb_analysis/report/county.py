"""The county overview's sections: its kommuner's maps, intervals and priorities, shared challenges, its proposals."""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML

from ..catalogue import catalogue
from ..charts import caterpillar_selectable, county_map_selectable
from ..formatting import fmt_number
from ..geography import registry
from ..hearing import area_proposals
from ..periods import year_mask, years_text
from ..priorities import shared_challenges
from ..tables import lan_matrix_html, lan_table_html
from ._common import (
    MISSING,
    _derived_benchmarks,
    _has_riket,
    _header_years,
    _lan_indicators,
    _lan_round,
    _ranked,
    missing_sentence,
)
from .harm_index import _harm_index, _harm_index_cells, _harm_index_missing
from .parameters import ReportContext
from .snippets import esc, figure

MAP_INDICATORS = [
    "totalt",
    "vald_offentlig_vuxna",
    "vald_nara_kvinnor",
    "skadegorelse",
    "narkotika",
    "stold_totalt",
    "bostadsinbrott",
    "bilbrott",
    "trafikbrott",
    "otrygghet_kvall",
    "oro_bostadsinbrott",
    "problem_narkotikahandel",
]


def selectable_map_figure(ctx: ReportContext) -> HTML:
    inds = _lan_indicators(ctx, MAP_INDICATORS)
    if not inds:
        return HTML(missing_sentence("crime", f"kommunerna i {ctx.area.name}"))
    fig = county_map_selectable(ctx.results, ctx.area.code, inds, ctx.source_years)
    return figure(
        fig,
        "karta-valbar",
        f"Karta över {ctx.area.name} ({years_text(ctx.source_years)}); välj indikator i listan ovanför kartan. "
        "Varje kommun har sitt värde utskrivet, och alla värden finns i tabellerna längre ned.",
    )


#: Caterpillar charts show the exact Poisson interval of the count; the comparisons use the model.
CI_IS_NOT_THE_TEST = (
    "Intervallet visar bara slumpen i årets antal; jämförelserna räknar också med hur mycket "
    "kommuners tal varierar mellan år och kommuner, så ett intervall som inte når en linje kan ändå "
    "vara ”ingen säker skillnad”."
)


def caterpillar_selectable_figure(ctx: ReportContext, order: str | None = None) -> HTML:
    """Every kommun of the län with its 95 % interval, for any indicator with data (drop-down), in
    ``order`` (default ``caterpillar_order`` of config/report.yaml: by name); the figures for the first
    indicator as a table, the others in the tables per theme further down."""
    from ..report_kommun import report_config

    order = order or report_config().get("caterpillar_order", "name")
    in_order = {
        "name": "i bokstavsordning",
        "value": "ordnade efter värde, högst överst",
        "population": "ordnade efter folkmängd, störst överst",
    }[order]

    inds = _lan_indicators(ctx, [i.id for i in catalogue()])
    if not inds:
        return HTML(missing_sentence("crime", f"kommunerna i {ctx.area.name}"))
    first = catalogue().get(inds[0])
    fig = caterpillar_selectable(ctx.results, ctx.area.code, inds, ctx.source_years, order=order)
    return figure(
        fig,
        "intervall",
        f"Länets kommuner ({years_text(ctx.source_years)}, {in_order}) med 95 % konfidensintervall; "
        "välj indikator i listan ovanför diagrammet. Symbolen visar jämförelsen med länet; "
        "de lodräta linjerna är länets och rikets värden. " + CI_IS_NOT_THE_TEST,
        table_html=lan_table_html(ctx.results, ctx.area.code, first.id, ctx.year_of(first.id)),
        summary=f"Visa siffrorna för {first.label.lower()} som tabell",
    )


def lan_tables(ctx: ReportContext) -> HTML:
    """All kommuner against all indicators, one compact table per theme (value and comparison with
    riket); the details per kommun are one click away in its report."""
    html = lan_matrix_html(ctx.results, ctx.area.code, ctx.source_years)
    if not html:
        return HTML(missing_sentence("crime", f"kommunerna i {ctx.area.name}"))
    derived = _derived_benchmarks(ctx)
    return HTML(html + (f"<p class='note'>{esc(derived)}</p>" if derived else ""))


def kommun_links(ctx: ReportContext) -> HTML:
    links = "".join(
        f'<li><a href="kommun-{k.code}.html">{esc(k.display_name)}</a></li>' for k in registry().kommuner(ctx.area.code)
    )
    return HTML(f'<ul class="report-list">{links}</ul>')


def kommun_priorities(ctx: ReportContext) -> HTML:
    """Each kommun's priorities (its round) side by side, with its harm-weighted crime index."""
    rows = _lan_round(ctx)
    index = _harm_index(ctx)
    body = []
    for k in registry().kommuner(ctx.area.code):
        ranked = _ranked(ctx, k.code)
        has_data = bool((rows["area_code"] == k.code).any())
        items = ", ".join(f"{int(r.priority_rank)}. {esc(r.indicator_label)}" for r in ranked.itertuples()) or (
            "Inget förslag med tillräckligt stöd" if has_data else "Data saknas"
        )
        value, interval, cmp = _harm_index_cells(index.loc[k.code] if k.code in index.index else None)
        body.append(
            f"<tr><th scope='row'><a href='kommun-{k.code}.html'>{esc(k.name)}</a></th><td>{items}</td>"
            f"<td class='num'>{value}<span class='sub'>{interval}</span></td><td>{esc(cmp)}</td></tr>"
        )
    note = ""
    if (
        index.empty
        or not pd.to_numeric(index.get("riket_index", pd.Series(dtype=float)), errors="coerce").notna().any()
    ):
        note = (
            f"<p class='missing'>Skadeviktat brottsindex kan inte beräknas; {esc(_harm_index_missing(ctx, None))}.</p>"
        )
    return HTML(
        "<table class='tmb-table'><caption>Förslag till prioriteringar och skadeviktat brottsindex per kommun, "
        f"{esc(_header_years(ctx))}</caption><thead><tr><th scope='col'>Kommun</th>"
        "<th scope='col'>Förslag (i ordning)</th>"
        "<th scope='col'>Skadeviktat brottsindex (riket = 100; 95 % KI)</th>"
        "<th scope='col'>Jämfört med riket</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>" + note
    )


def shared_problems(ctx: ReportContext) -> HTML:
    """The challenges the län's kommuner share, weighted by harm and by evidence as the proposals are
    (:func:`tmb_analysis.priorities.shared_challenges`; the hearing's county sheet shows the same)."""
    if not (_has_riket(ctx, "crime") or _has_riket(ctx, "survey")):
        return HTML(
            "<p class='missing'>Gemensamma utmaningar kan inte pekas ut: de bygger på jämförelsen med riket, och "
            f"{esc(MISSING['riket'])}.</p>"
        )
    shared = shared_challenges(_lan_round(ctx), ctx.area.code)
    if shared.empty:
        return HTML(
            "<p>Ingen indikator har stöd i statistiken i minst två av länets kommuner, och ingen visar tecken "
            "i minst en tredjedel av dem.</p>"
        )
    body = []
    for s in shared.itertuples():
        parts = []
        if s.n_eligible:
            parts.append(
                f"stöd i statistiken i {s.n_eligible} av {s.n_kommuner} kommuner: {esc(', '.join(s.eligible))}"
            )
        if s.n_signs:
            parts.append(f"tecken på det{' också' if s.n_eligible else ''} i {esc(', '.join(s.signs))}")
        tier = "" if s.tier == 1 else " <span class='small'>(tecken på, inte säkert)</span>"
        body.append(
            f"<li><strong>{esc(s.indicator_label)}</strong>{tier}: {'; '.join(parts)} "
            f"<span class='small'>(skadevikt {fmt_number(s.harm_weight, 1)})</span></li>"
        )
    return HTML(
        "<p>Utmaningar som flera av länets kommuner delar, i ordning efter hur tungt underlaget väger, "
        "viktat efter hur allvarliga brotten är – som när kommunernas förslag rangordnas. Först de som har "
        "stöd i statistiken i minst två kommuner, sedan de som visar tecken (en jämförelse i taget) i minst en "
        f"tredjedel av kommunerna.</p><ul>{''.join(body)}</ul>"
    )


def lan_proposals(ctx: ReportContext) -> HTML:
    """The county's own proposals, by the same rules as a kommun's, with their strength and stability."""
    rows = ctx.results[year_mask(ctx.results, ctx.source_years)]
    proposals, watch = area_proposals(rows, ctx.area.code)
    if proposals:
        items = "".join(
            f"<li><strong>{esc(p['label'])}</strong> – {esc(p['strength'])}. {esc(p['comparisons'])}. "
            f"{esc(p['key'])}. {esc(p['stability'])}.</li>"
            for p in proposals
        )
        return HTML(
            "<p>Förslag för länet som helhet, efter samma regler som kommunernas: länets värden jämförs med "
            f"riket, och alla jämförelser prövas samtidigt.</p><ol>{items}</ol>"
        )
    text = (
        "<p>Inget förslag för länet som helhet har tillräckligt stöd i statistiken när alla jämförelser prövas "
        "samtidigt."
    )
    if watch:
        text += " Att bevaka (inte förslag): " + ", ".join(esc(w["label"]) for w in watch) + "."
    return HTML(text + "</p>")
