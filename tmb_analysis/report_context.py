"""Report pieces for "Annan relevant information" (Lag 2023:196, 4 §; issue 16): the kommun section,
the county overview table and the sentence under a proposal. The notebooks call these; the numbers
come from :func:`tmb_analysis.context.compute_context`, computed once per store and cached like
:func:`tmb_analysis.report.load_results`.

What the reader sees follows the wording rules of docs/metod.md, section 15: one comparison at a
time and only where Kolada publishes a count or the population a share is of (``interval`` /
``approximate``); where Kolada has only a value the row is a *beskrivande jämförelse* without a
verdict; every indicator shows its own year (the sources are out of step); a kommun without a value
reads "uppgift saknas" (with its newest earlier value where there is one); the credit "Källa:
Kolada (RKA)" names the original producer; and every text says that a link is no cause. Context
indicators are never ranked and never become proposals.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import HTML

from . import formatting as F
from .context import THEMES, compute_context, context_catalogue, related_context

SECTION_TITLE = "Annan relevant information"
CREDIT = "Källa: Kolada (RKA)"
NOT_CAUSE = (
    "Samband är inte orsak: faktorerna beskriver förhållanden i kommunen som forskningen kopplar till brott "
    "och otrygghet – ett sammanhang för arbetet, inte orsaker till kommunens brottsbild. De rangordnas inte "
    "och blir aldrig förslag till prioriteringar."
)
NO_CONTEXT = (
    "Annan relevant information saknas i datalagret: den kommer med Koladas nyckeltal "
    "(tmb fetch kolada och tmb import)."
)
MISSING_VALUE = "uppgift saknas"
LAN_BASIS = {
    "published": "länet",
    "pooled": "länets kommuner sammantaget",
    "unweighted": "länets kommuner (ovägt medel)",
}
_MEMO: dict = {}
_SV = str.maketrans({"å": "{", "ä": "|", "ö": "}"})  # Swedish order: å, ä, ö after z (casefolded names)


# ---- the numbers, once per store ------------------------------------------------------------


def context_results(store_dir: str | Path) -> pd.DataFrame:
    """:func:`compute_context` for a store, cached by the store's content and the package (the same key
    as :func:`tmb_analysis.report.load_results`): in memory for the reports of one kernel, on disk
    (``$TMB_CACHE_DIR``) for the other kernels of a build."""
    from .config import cache_dir as _cache_dir
    from .results import store_fingerprint as _store_fingerprint
    from .store import load_store

    store_dir = Path(store_dir).resolve()
    key = _store_fingerprint(store_dir)
    if key in _MEMO:
        return _MEMO[key]
    cache = _cache_dir() / f"context-{key}.parquet"
    table = None
    if cache.exists():
        try:
            table = pd.read_parquet(cache)
        except Exception:  # noqa: BLE001 - a damaged cache file is recomputed, never trusted
            cache.unlink(missing_ok=True)
    if table is None:
        table = compute_context(load_store(store_dir))
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            table.to_parquet(tmp, index=False)
            tmp.replace(cache)
        except OSError:  # a read-only home still builds, only slower
            pass
    _MEMO.clear()
    _MEMO[key] = table
    return table


def _cap(ctx) -> int:
    """The newest year the report shows: the report year (each source's own year up to it)."""
    return int(ctx.year)


def _valid(table: pd.DataFrame, cap: int) -> pd.DataFrame:
    years = pd.to_numeric(table["year"], errors="coerce")
    return table[(years <= cap).to_numpy() & pd.to_numeric(table["value"], errors="coerce").notna().to_numpy()]


def indicator_rows(ctx, code: str | None = None) -> list[dict]:
    """Per context indicator (catalogue order): the area's newest row up to the report year, the
    indicator's newest year anywhere (``target_year``) and, where the area has no value that year,
    ``missing=True`` (its newest earlier row, if any, is still ``row``)."""
    code = str(code or ctx.area.code)
    table = _valid(context_results(ctx.store_dir), _cap(ctx))
    newest = table.groupby("indicator")["year"].max()
    own = table[table["area_code"].astype(str) == code].sort_values("year").groupby("indicator").tail(1)
    own = {str(r["indicator"]): r for _, r in own.iterrows()}
    riket = table[table["area_code"].astype(str) == "00"]
    riket = dict(zip(zip(riket["indicator"], riket["year"]), pd.to_numeric(riket["value"], errors="coerce")))
    out = []
    for ind in context_catalogue():
        target = int(newest[ind.id]) if ind.id in newest.index else None
        row = own.get(ind.id)
        out.append(
            {
                "indicator": ind,
                "row": row,
                "target_year": target,
                "missing": row is None or int(row["year"]) != target,
                "riket_value": float(riket.get((ind.id, target), np.nan)),
            }
        )
    return out


# ---- formatting -------------------------------------------------------------------------------


def fmt(value, unit: str) -> str:
    """'81,1 %' or '4,8 per 1 000' (Kolada publishes one decimal); '–' when missing."""
    if F.is_missing(value):
        return F.MISSING
    return F.fmt_pct(value, 1) if unit == "percent" else f"{F.fmt_number(value, 1)}{F.NBSP}per{F.NBSP}1{F.NBSP}000"


def _interval(r, unit: str) -> str:
    text = F.fmt_interval(r["ci_low"], r["ci_high"], 1)
    return f"{text}{F.NBSP}%" if unit == "percent" else f"{text} per{F.NBSP}1{F.NBSP}000"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _esc(text) -> str:
    from .report import esc

    return esc(text)


def _verdict(r, col: str, risk: str) -> str:
    c = r[col] if isinstance(r[col], str) else "unknown"
    if c == "unknown":
        return ""
    return f" <span class='sub {F.comparison_css_class(c, risk)}'>{_esc(F.comparison_text(c))}</span>"


def _producers(rows) -> str:
    names: list[str] = []
    for item in rows:
        for p in item["indicator"].producer.replace(" och ", ", ").split(", "):
            if p and p not in names:
                names.append(p)
    return ", ".join(names)


# ---- the kommun section -------------------------------------------------------------------------


def section(ctx) -> HTML:
    """The kommun report's section "Annan relevant information": one row per context indicator,
    grouped by theme, with the kommun's value (and interval where one exists), the län, riket and
    the kommungrupp, the year, and the comparisons where the data allow them; "uppgift saknas"
    where Kolada has no value; the credit and "samband är inte orsak" under the table."""
    table = context_results(ctx.store_dir)
    name = ctx.area.display_name
    if _valid(table, _cap(ctx)).empty:
        return HTML(f"<p class='missing'>{_esc(NO_CONTEXT)}</p>")
    items = indicator_rows(ctx)
    if all(it["row"] is None for it in items):
        return HTML(
            f"<p class='missing'>Kolada har inga uppgifter om annan relevant information för {_esc(name)} "
            f"i datalagret ({MISSING_VALUE} för alla {len(items)} nyckeltal). {_esc(CREDIT)}.</p>"
        )
    group_titles = sorted(
        {
            str(it["row"]["group_title"]).replace(" (ovägt medel)", "")
            for it in items
            if it["row"] is not None and str(it["row"]["group_title"])
        }
    )
    body, kinds = [], set()
    for theme in THEMES:
        in_theme = [it for it in items if it["indicator"].theme == theme]
        if not in_theme:
            continue
        body.append(f"<tr><th scope='rowgroup' colspan='6'>{_esc(F.theme_label(theme))}</th></tr>")
        for it in in_theme:
            body.append(_section_row(it, kinds))
    notes = []
    if "approximate" in kinds:
        notes.append(
            "Ungefärligt intervall: Kolada redovisar andelen och befolkningen den gäller, inte antalet; "
            "antalet är räknat ur dem, och andelen är avrundad till en decimal."
        )
    if "descriptive" in kinds:
        notes.append(
            "Beskrivande jämförelse: Kolada redovisar inte hur många elever, svarande eller invånare andelen "
            "bygger på, så en verklig skillnad kan inte skiljas från slump. Värdena visas sida vid sida, "
            "utan omdöme."
        )
    notes.append(
        "▲ högre och ▼ lägre bara när skillnaden är större än vad slumpen och den vanliga variationen "
        "mellan kommuner ger (95 %, en jämförelse i taget), ● ingen säker skillnad. Länet jämförs utan "
        "kommunen själv, kommungruppen med de övriga kommunerna i gruppen."
    )
    notes.append(
        "Varje nyckeltal visas med sitt eget år: källorna publiceras i olika takt. Kommunvärden visar inte "
        "skillnader mellan områden inom kommunen."
    )
    group_line = f" Kommungrupp: {_esc(', '.join(group_titles))}." if group_titles else ""
    # folded like the report's other detail tables (issue 13: the page says what matters first; print opens it)
    return HTML(
        f"<details class='deep context'><summary>Visa de {len(items)} nyckeltalen med länet, riket och "
        "kommungruppen</summary>"
        "<div class='table-scroll' tabindex='0' role='region' aria-label='Annan relevant information'>"
        f"<table class='tmb-table context-table'><caption>{SECTION_TITLE}, {_esc(name)}</caption>"
        "<thead><tr><th scope='col'>Nyckeltal</th><th scope='col'>Kommunen</th><th scope='col'>Länet</th>"
        "<th scope='col'>Riket</th><th scope='col'>Kommungruppen</th><th scope='col'>År</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
        f"<p class='note'>{' '.join(_esc(n) for n in notes)}{group_line}</p></details>"
        f"<p class='note'><strong>{_esc(NOT_CAUSE)}</strong></p>"
        f"<p class='note'>{_esc(CREDIT)}; ursprungliga producenter: {_esc(_producers(items))}.</p>"
    )


def _section_row(it: dict, kinds: set) -> str:
    ind, r = it["indicator"], it["row"]
    label = (
        f"<th scope='row'>{_esc(ind.label)}<span class='sub'>{_esc(ind.definition)} "
        f"{_esc(CREDIT)}, {_esc(ind.producer)} ({_esc(ind.kolada_kpi)}).</span></th>"
    )
    if r is None:
        year = it["target_year"]
        return (
            f"<tr>{label}<td class='missing'>{MISSING_VALUE}</td><td>{F.MISSING}</td>"
            f"<td class='num'>{fmt(it['riket_value'], ind.unit)}</td><td>{F.MISSING}</td>"
            f"<td>{year if year is not None else F.MISSING}</td></tr>"
        )
    kind = str(r["comparison_kind"])
    kinds.add(kind)
    risk = ind.risk_direction
    value = fmt(r["value"], ind.unit)
    if kind == "descriptive":
        sub = "<span class='sub'>beskrivande jämförelse</span>"
    else:
        what = "95 % konfidensintervall" if kind == "interval" else "ungefärligt intervall"
        sub = f"<span class='sub'>{what} {_interval(r, ind.unit)}</span>"
    when = str(int(r["year"]))
    if it["missing"]:
        when += f"<span class='sub'>senaste uppgift; {MISSING_VALUE} {it['target_year']}</span>"
    lan_sub = ""
    if r["lan_basis"] and r["lan_basis"] != "published":
        lan_sub = f"<span class='sub'>{_esc(LAN_BASIS[str(r['lan_basis'])])}</span>"
    group_sub = "<span class='sub'>ovägt medel</span>" if r["group_basis"] == "unweighted" else ""
    return (
        f"<tr>{label}<td class='num'>{value}{sub}</td>"
        f"<td class='num'>{fmt(r['lan_value'], ind.unit)}{lan_sub}{_verdict(r, 'cmp_lan', risk)}</td>"
        f"<td class='num'>{fmt(r['riket_value'], ind.unit)}{_verdict(r, 'cmp_riket', risk)}</td>"
        f"<td class='num'>{fmt(r['group_value'], ind.unit)}{group_sub}{_verdict(r, 'cmp_group', risk)}</td>"
        f"<td>{when}</td></tr>"
    )


# ---- the sentence under a proposal --------------------------------------------------------------


def related_factors(ctx, indicator: str) -> list[dict]:
    """The context factors linked to ``indicator`` (config/related_context.yaml, in its order) that
    stand out on the risk side for the report's kommun: a verdict ``higher`` (``lower`` for a
    protective factor) against riket or the län, in the newest year up to the report year. Value-only
    (descriptive) factors never stand out. At most three."""
    links = related_context().get(str(indicator), ())
    if not links:
        return []
    by_id = {it["indicator"].id: it for it in indicator_rows(ctx)}
    out = []
    for cid in links:
        it = by_id.get(cid)
        if it is None or it["row"] is None or it["missing"]:
            continue
        r, risk = it["row"], it["indicator"].risk_direction
        if str(r["comparison_kind"]) == "descriptive":
            continue
        for col, bench, where in (("cmp_riket", "riket_value", "riket"), ("cmp_lan", "lan_value", "länet")):
            if r[col] == risk:
                out.append({"indicator": it["indicator"], "row": r, "benchmark": where, "benchmark_value": r[bench]})
                break
        if len(out) == 3:
            break
    return out


def related_factors_sentence(ctx, indicator: str) -> str:
    """One plain-text Swedish sentence for under a proposal about ``indicator``: "Relaterade faktorer som
    sticker ut (samband, inte orsak): unga 16–24 år som varken arbetar eller studerar (8,8 %, riket
    5,6 %, 2023)." Empty when no linked factor stands out (then no sentence and no heading)."""
    parts = []
    for f in related_factors(ctx, indicator):
        ind, r = f["indicator"], f["row"]
        parts.append(
            f"{_lower_first(ind.label)} ({fmt(r['value'], ind.unit)}, {f['benchmark']} "
            f"{fmt(f['benchmark_value'], ind.unit)}, {int(r['year'])})"
        )
    if not parts:
        return ""
    return "Relaterade faktorer som sticker ut (samband, inte orsak): " + "; ".join(parts) + f". {CREDIT}."


# ---- the county overview ------------------------------------------------------------------------


def lan_table(ctx) -> HTML:
    """The county overview's column group "Annan relevant information": one compact table per theme,
    the län's kommuner as rows (then the län and riket), one column per indicator with its year; a
    cell's class gives the comparison with riket where a verdict exists (symbol by the CSS, word in
    the legend), never colour alone; value-only indicators have no verdict."""
    from .geography import registry
    from .report import esc

    table = _valid(context_results(ctx.store_dir), _cap(ctx))
    if table.empty:
        return HTML(f"<p class='missing'>{esc(NO_CONTEXT)}</p>")
    kommuner = sorted(registry().kommuner(ctx.area.code), key=lambda k: k.name.casefold().translate(_SV))
    codes = [k.code for k in kommuner]
    cat = context_catalogue()
    newest = {}
    for ind in cat:
        rows = table[table["indicator"] == ind.id]
        newest[ind.id] = int(rows["year"].max()) if len(rows) else None
    cells = {}
    for r in table.sort_values("year").itertuples(index=False):
        cells[(str(r.area_code), r.indicator)] = r  # the newest year wins
    # the län's value where Kolada publishes none (type K KPIs): the kommuner's, as their rows carry it
    mine = table[
        table["area_code"].astype(str).isin(codes) & pd.to_numeric(table["lan_value"], errors="coerce").notna()
    ]
    derived = {
        (r.indicator, int(r.year)): (float(r.lan_value), str(r.lan_basis))
        for r in mine.itertuples(index=False)
        if r.lan_basis in LAN_BASIS
    }
    legend = " ".join(f"{sym} {word.lower()}" for sym, word in F.COMPARISON_TEXT.values() if sym != "?")
    blocks = []
    for theme in THEMES:
        inds = [i for i in cat if i.theme == theme and newest[i.id] is not None]
        if not inds:
            continue

        def cell(code, ind, compare=True):
            r = cells.get((code, ind.id))
            if r is None and code == ctx.area.code and (ind.id, newest[ind.id]) in derived:
                value, basis = derived[(ind.id, newest[ind.id])]
                return f"<td>{fmt(value, ind.unit)}<span class='sub'>{esc(LAN_BASIS[basis])}</span></td>"
            if r is None:
                return f"<td class='cmp-na' title='{MISSING_VALUE}'>{MISSING_VALUE}</td>"
            late = "" if int(r.year) == newest[ind.id] else f"<span class='sub'>{int(r.year)}</span>"
            if (
                not compare
                or r.comparison_kind == "descriptive"
                or r.cmp_riket not in F.COMPARISON_TEXT
                or r.cmp_riket == "unknown"
            ):
                return f"<td>{fmt(r.value, ind.unit)}{late}</td>"
            cls = F.comparison_css_class(r.cmp_riket, ind.risk_direction)
            word = F.COMPARISON_TEXT[r.cmp_riket][1].lower()
            return f"<td class='{cls}' title='{esc(word)} än riket'>{fmt(r.value, ind.unit)}{late}</td>"

        head = "".join(
            f"<th scope='col'>{esc(i.label)}<span class='sub unit'>{newest[i.id]}"
            f"{' · beskrivande' if i.count_kpi is None and not i.denominator_kpis else ''}</span></th>"
            for i in inds
        )
        body = "".join(
            f"<tr><th scope='row'>{esc(k.name)}</th>{''.join(cell(k.code, i) for i in inds)}</tr>" for k in kommuner
        )
        bench = "".join(
            f"<tr><th scope='row'>{esc(label)}</th>{''.join(cell(c, i, False) for i in inds)}</tr>"
            for c, label in ((ctx.area.code, ctx.area.name), ("00", "Riket"))
            if any((c, i.id) in cells for i in inds)
        )
        blocks.append(
            f"<div class='table-scroll' tabindex='0' role='region' aria-label='{esc(F.theme_label(theme))}: alla kommuner'>"
            f"<table class='tmb-table lan-matrix context-matrix'><caption>{SECTION_TITLE}: {esc(F.theme_label(theme))}"
            f"</caption><thead><tr><th scope='col'>Kommun</th>{head}</tr></thead><tbody>{body}</tbody>"
            f"<tbody class='benchmarks'>{bench}</tbody></table></div>"
        )
    if not any(c in {k for k, _ in cells} for c in codes):
        return HTML(
            f"<p class='missing'>Kolada har inga uppgifter om annan relevant information för kommunerna i "
            f"{esc(ctx.area.name)} i datalagret. {esc(CREDIT)}.</p>"
        )
    return HTML(
        "".join(blocks)
        + f"<p class='note'>Symbolen efter värdet jämför med riket ({esc(legend)}), bara där Kolada redovisar antal "
        "eller befolkningen andelen gäller; ”beskrivande” nyckeltal jämförs inte. Ett år under värdet betyder att "
        f"kommunens senaste uppgift är äldre än kolumnens år. {esc(NOT_CAUSE)}</p>"
        + f"<p class='note'>{esc(CREDIT)}; ursprungliga producenter: "
        f"{esc(_producers([{'indicator': i} for i in cat]))}.</p>"
    )
