"""The funnel plot section: the kommuner against the comparisons' model, the sentence on who lies outside, its table."""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML

from ..catalogue import catalogue
from ..charts import funnel_chart, funnel_highlight
from ..formatting import fmt_number, fmt_value
from ..geography import RIKET_CODE, registry
from ..statistics.funnel import funnel_data
from ._common import MISSING
from .memo import _shared
from .parameters import ReportContext
from .snippets import esc, figure


def funnel_figure(ctx: ReportContext, indicator: str) -> HTML:
    """Funnel plot of the kommuner (all in the store in a kommun report, the county's in an overview)
    with the limits of :func:`tmb_analysis.statistics.funnel.funnel_data`: the model that decides the tables'
    comparisons with riket, so that the chart and the tables agree, and a sentence listing which
    kommuner lie outside the 99,8 % limits. Around riket's value when the store has it, else around
    the kommuner's pooled value, and the text then says how many kommuner the store holds."""
    ind = catalogue().get(indicator)
    year = ctx.year_of(indicator)
    lan_code = None if ctx.area.level == "kommun" else ctx.area.code
    highlight = ctx.area.code if ctx.area.level == "kommun" else None
    if year is None:
        return HTML(
            f"<p class='missing'>Inget trattdiagram för {esc(ind.label.lower())}: {esc(MISSING[ind.source_kind])}.</p>"
        )
    # phi and tau2 come from all the kommuner of the store (the same as the results table's comparisons)
    data = _shared(ctx.results, ("funnel", indicator, year), lambda: funnel_data(ctx.results, indicator, year))
    pts = data["points"]
    usable = pts[
        pd.to_numeric(pts["value"], errors="coerce").notna() & (pd.to_numeric(pts["size"], errors="coerce") > 0)
    ]
    mine = usable if lan_code is None else usable[usable["area_code"].astype(str).str[:2] == lan_code]
    if mine.empty or data["limits"].empty:
        subject = ctx.area.display_name if lan_code is None else f"kommunerna i {ctx.area.name}"
        return HTML(
            f"<p class='missing'>Inget trattdiagram för {esc(ind.label.lower())} {year}: det behöver antal "
            f"och befolkning för {esc(subject)}; {esc(MISSING[ind.source_kind])}.</p>"
        )
    if highlight is None:
        county = funnel_data(ctx.results, indicator, year, lan_code=lan_code)
        fig = funnel_chart(ctx.results, indicator, year, level="kommun", lan_code=lan_code, data=county)
    else:  # the country's funnel is the same in every kommun report: drawn once, then marked per kommun
        base = _shared(
            ctx.results,
            ("funnel_chart", indicator, year),
            lambda: funnel_chart(ctx.results, indicator, year, level="kommun", data=data),
        )
        fig = funnel_highlight(base, ctx.results, indicator, year, highlight, data=data)
    everyone = len(usable) == len(registry().kommuner())
    country = "alla Sveriges kommuner" if everyone else f"de {len(usable)} kommuner som finns i datalagret"
    where = country if lan_code is None else f"kommunerna i {ctx.area.name}"
    around = "riket" if data["benchmark_code"] == RIKET_CODE else f"genomsnittet för {country}"
    if not data["model"]:
        limits_text = f"kontrollgränser kring {around} för slumpen i ett antal"
    elif ind.unit == "percent":
        limits_text = (
            f"kontrollgränser kring {around} enligt samma modell som tabellernas jämförelser: Brå:s "
            "publicerade intervall och variationen mellan kommuner"
        )
    else:
        limits_text = (
            f"kontrollgränser kring {around} enligt samma modell som tabellernas jämförelser: talen "
            f"varierar {fmt_number(data['phi'], 1)} gånger mer än slumpen ensam från år till år, och "
            "kommunerna skiljer sig också mellan varandra"
        )
    size = (
        "mot skattningens precision (det effektiva antalet svarande enligt Brå:s intervall)"
        if ind.unit == "percent"
        else "mot folkmängden"
    )
    caption = (
        f"Trattdiagram: {ind.label.lower()} {year} för {where} {size}, med 95 % och 99,8 % "
        f"{limits_text}. Punkter ovanför 95 %-gränsen är ”högre” i tabellernas jämförelse med {around}; "
        "utanför 99,8 %-gränserna avviker de mer än variationen förklarar."
    )
    if data["model_reason"]:
        caption += f" Obs: {data['model_reason']}."
    col = "pos_998"
    outside = usable[usable[col].isin(["above", "below"])]
    if lan_code is not None:
        outside = outside[outside["area_code"].astype(str).str[:2] == lan_code]
        names = {"above": [], "below": []}
        for _, r in outside.sort_values("area_name").iterrows():
            names[r[col]].append(esc(r["area_name"]))
        said = [
            f"över gränsen: {', '.join(names['above'])}" if names["above"] else "",
            f"under gränsen: {', '.join(names['below'])}" if names["below"] else "",
        ]
        said = "; ".join(t for t in said if t)
        text = (
            f"Utanför 99,8 %-gränserna i {esc(ctx.area.name)}: {said}."
            if said
            else f"Ingen kommun i {esc(ctx.area.name)} ligger utanför 99,8 %-gränserna."
        )
    else:
        own = usable.loc[usable["area_code"].astype(str) == ctx.area.code, col]
        where_own = {
            "above": "ligger över den övre gränsen",
            "below": "ligger under den nedre gränsen",
            "within": "ligger inom gränserna",
        }.get(own.iloc[0] if len(own) else "unknown", "kan inte placeras i diagrammet: uppgift saknas")
        among = f"{len(usable)} kommuner i landet" if everyone else f"de {len(usable)} kommuner som finns i datalagret"
        text = f"{esc(ctx.area.name)} {where_own}. {len(outside)} av {among} ligger utanför 99,8 %-gränserna."
    table = _funnel_table(mine, ind, year) if lan_code is not None else ""
    return HTML(figure(fig, f"tratt-{indicator}", caption, table_html=table).data + f"<p class='note'>{text}</p>")


def _funnel_table(points: pd.DataFrame, ind, year: int) -> str:
    """The county funnel's points as a table: kommun, value, size and where it lies against the limits."""
    where = {"above": "över", "below": "under", "within": "inom", "unknown": "okänt"}
    size = "Effektivt antal svarande" if ind.unit == "percent" else "Folkmängd"
    rows = "".join(
        f"<tr><th scope='row'>{esc(r['area_name'])}</th><td>{fmt_value(r['value'], ind.unit)}</td>"
        f"<td>{fmt_number(r['size'])}</td><td>{where.get(str(r['pos_95']), 'okänt')}</td>"
        f"<td>{where.get(str(r['pos_998']), 'okänt')}</td></tr>"
        for _, r in points.sort_values("area_name").iterrows()
    )
    return (
        f"<table class='tmb-table'><caption>{esc(ind.label)} {year}: kommunerna i trattdiagrammet</caption>"
        f"<thead><tr><th scope='col'>Kommun</th><th scope='col'>Värde</th><th scope='col'>{size}</th>"
        "<th scope='col'>Mot 95 %-gränserna</th><th scope='col'>Mot 99,8 %-gränserna</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
