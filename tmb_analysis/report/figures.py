"""The report's charts with their captions and tables: trend, county map and priority matrix."""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML

from ..catalogue import catalogue
from ..charts import county_map, priority_matrix, trend_chart
from ..formatting import fmt_number, fmt_signed_pct, trend_text
from ..geography import registry
from ..tables import recording_note
from ._common import MISSING, _has, _has_values, _latest, missing_sentence
from .parameters import ReportContext
from .snippets import esc, figure


def trend_figure(ctx: ReportContext, indicator: str) -> HTML:
    ind = catalogue().get(indicator)
    if not _has_values(ctx, indicator, [ctx.area.code]):
        return HTML(
            f"<p class='missing'>{esc(ind.label)}: inget diagram för {esc(ctx.area.display_name)}; "
            f"{esc(MISSING[ind.source_kind])}.</p>"
        )
    fig = trend_chart(ctx.results, ctx.area.code, indicator)
    years = ctx.results.loc[ctx.results["indicator"] == indicator, "year"]
    note = recording_note([indicator], int(years.min()), int(years.max())) if len(years) else ""
    note = f" {note[:-1]}; trenden och jämförelserna använder bara de jämförbara åren." if note else ""
    return figure(
        fig,
        f"trend-{indicator}",
        f"{ind.label} i {ctx.area.display_name} per år, med länet och riket som jämförelse.{note}",
    )


def map_figure(ctx: ReportContext, indicator: str) -> HTML:
    ind = catalogue().get(indicator)
    lan_code = ctx.area.lan_code
    lan = registry().area(lan_code)
    year = ctx.year_of(indicator)
    if year is None or not _has_values(
        ctx, indicator, [k.code for k in registry().kommuner(lan_code)], ctx.source_years
    ):
        return HTML(
            f"<p>Ingen karta över {esc(lan.name)}: för {esc(ind.label.lower())} "
            + esc(MISSING[ind.source_kind])
            + ".</p>"
        )
    highlight = ctx.area.code if ctx.area.level == "kommun" else None
    fig = county_map(ctx.results, lan_code, indicator, year, highlight=highlight)
    return figure(fig, f"karta-{indicator}", f"Karta över {lan.name}: {ind.label.lower()}, {ind.unit_label}, {year}.")


def _matrix_rows(ctx: ReportContext) -> pd.DataFrame:
    """The kommun's crime rows of the round with riket's value (the matrix's level is relative to riket)."""
    rows = _latest(ctx)
    rows = rows[rows["source_kind"] == "crime"]
    ok = pd.to_numeric(rows["value"], errors="coerce").notna() & (
        pd.to_numeric(rows["riket_value"], errors="coerce") > 0
    )
    return rows[ok]


def matrix_figure(ctx: ReportContext) -> HTML:
    if ctx.crime_year is None:
        return HTML(missing_sentence("crime", ctx.area.display_name))
    if _matrix_rows(ctx).empty:
        return HTML(
            "<p class='missing'>Ingen prioriteringsmatris: den visar nivån jämfört med riket, och "
            f"{esc(MISSING['riket'])}.</p>"
        )
    fig = priority_matrix(ctx.results, ctx.area.code, ctx.crime_year)
    return figure(
        fig,
        "prioriteringsmatris",
        f"Prioriteringsmatris {ctx.crime_year}: varje bubbla är en brottsindikator. Längre till höger betyder "
        "högre nivå än riket, högre upp betyder ökning. Bubblans storlek visar skadevikten; siffran är "
        "förslagets rangordning.",
        table_html=_matrix_table(ctx),
    )


def _matrix_table(ctx: ReportContext) -> str:
    body = []
    for _, r in _matrix_rows(ctx).iterrows():
        ratio = float(r["value"]) / float(r["riket_value"])
        body.append(
            f"<tr><th scope='row'>{esc(r['indicator_label'])}</th><td>{fmt_number(ratio, 2)}</td>"
            f"<td>{esc(trend_text(r.get('trend')))} "
            f"{fmt_signed_pct(r.get('trend_pct_per_year'), unit=r.get('trend_unit'))}</td>"
            f"<td>{fmt_number(r.get('harm_weight') if _has(ctx, 'harm_weight') else None, 1)}</td></tr>"
        )
    return (
        "<table class='tmb-table'><caption>Prioriteringsmatrisen som tabell</caption><thead><tr>"
        "<th scope='col'>Indikator</th><th scope='col'>Nivå jämfört med riket (kvot)</th>"
        "<th scope='col'>Trend per år</th><th scope='col'>Skadevikt</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
