"""Accessible Swedish HTML tables from the results table.

Every table has a ``<caption>``, a ``<thead>`` with ``scope="col"`` headers, a
row header (``scope="row"``) per row and, in the indicator table, a
``scope="rowgroup"`` header per theme. Comparisons and trends are written as
symbol + word; the CSS classes (see :data:`TABLE_CSS`) only add colour. Every
text taken from the data (names, labels, themes) is HTML-escaped.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from . import formatting as F
from .periods import year_for, years_text
from .results import area_name as _area_name
from .results import select as _select

NBSP = F.NBSP

HEADINGS = (
    "Indikator",
    "Värde",
    f"95{NBSP}% konfidensintervall",
    "Jämfört med länet",
    "Jämfört med riket",
    "Trend (% per år)",
)
LAN_HEADINGS = ("Kommun",) + HEADINGS[1:]

SOURCE_NOTE = {
    "crime": "Källa: Brå (anmälda brott), SCB (folkmängd)",
    "survey": "Källa: Brå, Nationella trygghetsundersökningen (NTU)",
}


def sources_note(kinds, scb_population: bool = True) -> str:
    """The sources of a table's rows in one sentence, 'Källa:' once: 'Källor: Brå (anmälda brott och
    Nationella trygghetsundersökningen, NTU) och SCB (folkmängd).' Without SCB's population in the store
    (``scb_population`` False) the population is said to be derived from Brå's counts and rates."""
    kinds = set(kinds) & set(SOURCE_NOTE)
    derived = "folkmängden härledd ur Brå:s antal och antal per 100 000 invånare"
    if kinds == {"crime", "survey"}:
        return (
            "Källor: Brå (anmälda brott och Nationella trygghetsundersökningen, NTU) och SCB (folkmängd)."
            if scb_population
            else f"Källa: Brå (anmälda brott och Nationella trygghetsundersökningen, NTU; {derived})."
        )
    if kinds == {"crime"} and not scb_population:
        return f"Källa: Brå (anmälda brott; {derived})."
    return "".join(SOURCE_NOTE[k] + "." for k in kinds)


EXPLANATION = (
    f"{F.COMPARISON_TEXT['higher'][0]} Högre / {F.COMPARISON_TEXT['lower'][0]} Lägre: skillnaden mot "
    "jämförelsevärdet är större än vad variationen från år till år och mellan kommuner ger av en slump "
    f"(95{NBSP}%, en jämförelse i taget; länet utan kommunen själv). "
    f"{F.COMPARISON_TEXT['similar'][0]} Ingen säker skillnad: inom den variationen. "
    "Trenden gäller de senaste fem jämförbara åren; Ökar eller Minskar bara när hela intervallet "
    "för den årliga förändringen ligger på samma sida om noll."
)


def recording_note(indicators, first_year: int, last_year: int) -> str:
    """'Våld i nära relationer mot kvinnor: registreringen ändrades, jämförbart från 2020.' for the
    indicators shown whose series changes within the years shown (``comparable_from`` in the
    indicator catalogue), '' when none does."""
    from .catalogue import catalogue

    cat = catalogue()
    parts = []
    for ind in dict.fromkeys(indicators):
        if ind in cat and cat.get(ind).comparable_from and first_year < cat.get(ind).comparable_from <= last_year:
            parts.append(
                f"{cat.get(ind).label}: registreringen ändrades, jämförbart från {cat.get(ind).comparable_from}"
            )
    return ("; ".join(parts) + ".") if parts else ""


TABLE_CSS = """
table.tmb-table { border-collapse: collapse; width: 100%; margin: 1em 0 1.5em;
  font-variant-numeric: tabular-nums; color: #1a1a1a; background: #ffffff; }
table.tmb-table caption { caption-side: top; text-align: left; font-weight: 700;
  font-size: 1.05em; padding: 0.4em 0; }
table.tmb-table th, table.tmb-table td { border-bottom: 1px solid #c8c8c8;
  padding: 0.35em 0.6em; vertical-align: top; text-align: left; }
table.tmb-table thead th { border-bottom: 2px solid #1a1a1a; font-weight: 700; }
table.tmb-table th[scope="row"] { font-weight: 400; }
table.tmb-table th[scope="rowgroup"] { background: #f2f2f2; font-weight: 700;
  border-top: 2px solid #1a1a1a; }
table.tmb-table td.num { text-align: right; white-space: nowrap; }
table.tmb-table .sub { display: block; font-size: 0.85em; color: #4d4d4d; }
table.tmb-table .unit { font-size: 0.85em; color: #4d4d4d; }
table.tmb-table .sym { display: inline-block; min-width: 1.2em; font-weight: 700; }
table.tmb-table tbody.benchmarks th, table.tmb-table tbody.benchmarks td {
  font-style: italic; }
table.tmb-table tr.highlight th, table.tmb-table tr.highlight td { font-weight: 700;
  outline: 2px solid #1a1a1a; outline-offset: -2px; }
table.tmb-table tfoot td { font-size: 0.85em; color: #4d4d4d; border-bottom: none; }
.cmp-higher-bad, .cmp-lower-bad, .trend-increasing-bad, .trend-decreasing-bad {
  background: @bad_bg@; color: @bad_fg@; border-left: 4px solid @bad_line@; }
.cmp-higher-good, .cmp-lower-good, .trend-increasing-good, .trend-decreasing-good {
  background: @good_bg@; color: @good_fg@; border-left: 4px solid @good_line@; }
.cmp-similar, .trend-no_clear_trend { background: @similar_bg@; color: @similar_fg@;
  border-left: 4px solid @similar_line@; }
.cmp-unknown, .trend-unknown, .cmp-na { background: @unknown_bg@; color: @unknown_fg@;
  border-left: 4px dashed @unknown_line@; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
@media print {
  table.tmb-table { font-size: 9pt; page-break-inside: auto; }
  table.tmb-table tr { page-break-inside: avoid; }
  table.tmb-table thead { display: table-header-group; }
  table.tmb-table, table.tmb-table * { -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
}
""".strip()
for _sig in F.SIGNALS:
    TABLE_CSS = (
        TABLE_CSS.replace(f"@{_sig}_bg@", F.SIGNAL_BACKGROUNDS[_sig])
        .replace(f"@{_sig}_fg@", F.SIGNAL_TEXT_COLOURS[_sig])
        .replace(f"@{_sig}_line@", F.SIGNAL_COLOURS[_sig])
    )
del _sig


def _css_string(text: str) -> str:
    return '"' + "".join(c if c.isascii() and c not in '"\\' else f"\\{ord(c):06x}" for c in text) + '"'


#: The compact county matrix (:func:`lan_matrix_html`) writes the value, then the comparison with riket
#: as a real symbol and word ("412 ▲ högre"), so that a table pasted into Word or Excel keeps them.
MATRIX_CSS = (
    "table.lan-matrix .cmp-word { font-size: 0.85em; }"
    + """
table.lan-matrix th[scope="col"] { font-size: 0.85em; font-weight: 700; vertical-align: bottom; }
table.lan-matrix tbody td { text-align: right; white-space: nowrap; }
table.lan-matrix th[scope="col"]:not(:first-child) { text-align: right; }
.table-scroll { overflow-x: auto; }
@media print { .table-scroll { overflow: visible; } table.lan-matrix { font-size: 8pt; } }"""
)
TABLE_CSS += "\n" + MATRIX_CSS


# ---- helpers --------------------------------------------------------------------


def _get(row, col, default=None):
    if row is None:
        return default
    v = row.get(col, default) if hasattr(row, "get") else default
    return default if F.is_missing(v) and not isinstance(v, str) else v


def _worse(row) -> str:
    w = _get(row, "worse")
    if isinstance(w, str) and w in ("higher", "lower"):
        return w
    return F.indicator_worse(_get(row, "indicator"))


def _unit(row) -> str:
    u = _get(row, "unit")
    if isinstance(u, str) and u in F.UNIT_SHORT:
        return u
    return "percent" if _get(row, "source_kind") == "survey" else "per_100k"


def _is_small(row) -> bool:
    """Does the table show this kommun's stabilised and pooled rates? The results table's
    ``small_area``; for a table without it, the same rule (``pooling.small_area_population`` in
    config/analysis.yaml, see docs/metod.md) applied to the row's population."""
    small = _get(row, "small_area")
    if small is not None:
        return bool(small)
    from .priorities import analysis_config

    pop = _get(row, "population")
    return not F.is_missing(pop) and pop < float(analysis_config()["pooling"]["small_area_population"])


def _reference_year(row) -> bool:
    """True for an NTU indicator labelled by reference year (self-reported victimisation)."""
    from .catalogue import catalogue

    ind = _get(row, "indicator")
    return isinstance(ind, str) and ind in catalogue() and catalogue().get(ind).ntu_year_offset > 0


def _value_cell(row, show_eb: bool = False) -> Markup:
    if row is None:
        return Markup('<td class="num" data-label="Värde">–<span class="sub">uppgift saknas</span></td>')
    unit = _unit(row)
    value = _get(row, "value")
    sub = ""
    if unit == "percent":
        n = _get(row, "n_respondents")
        if not F.is_missing(n):
            sub = f"svarande: {F.fmt_number(n)}"
    else:
        n = _get(row, "count")
        if not F.is_missing(n):
            sub = f"antal: {F.fmt_number(n)}"
    sub_html = Markup('<span class="sub">{}</span>').format(sub) if sub else Markup("")
    period, year = _get(row, "period"), _get(row, "year")
    if isinstance(period, str) and period and not F.is_missing(year) and period != str(int(year)):
        sub_html += Markup('<span class="sub">tvåårsperiod {}</span>').format(period)  # a pooled NTU estimate
    elif not F.is_missing(year) and _reference_year(row):
        sub_html += Markup('<span class="sub">avser {}</span>').format(int(year))  # victimisation: the year before NTU
    if show_eb and unit == "per_100k" and _is_small(row):
        eb = _get(row, "eb_value")
        if not F.is_missing(eb):
            sub_html += Markup('<span class="sub">utjämnat värde: {}</span>').format(F.fmt_value(eb, unit))
        pooled, years = _get(row, "pooled_value"), _get(row, "pooled_years")
        if not F.is_missing(pooled) and isinstance(years, str) and years:
            sub_html += Markup('<span class="sub">snitt {}: {} {}</span>').format(
                years, F.fmt_value(pooled, unit), F.UNIT_SHORT[unit]
            )
    if F.is_missing(value):
        return Markup('<td class="num" data-label="Värde">–<span class="sub">uppgift saknas</span></td>')
    return Markup('<td class="num" data-label="Värde">{}{}</td>').format(F.fmt_value(value, unit), sub_html)


def _interval_cell(row) -> Markup:
    if row is None:
        return Markup('<td class="num" data-label="Intervall">–</td>')
    text = F.fmt_value_interval(_get(row, "ci_low"), _get(row, "ci_high"), _unit(row), _get(row, "value"))
    return Markup('<td class="num" data-label="Intervall">{}</td>').format(text)


_CELL_LABEL = {"cmp_lan": "Länet", "cmp_riket": "Riket", "cmp_group": "Kommungruppen", "cmp_peers": "Liknande kommuner"}


def _cmp_cell(row, col: str, applicable: bool) -> Markup:
    label = _CELL_LABEL.get(col, "")
    if row is None:
        return Markup('<td class="cmp-na" data-label="{}">–</td>').format(label)
    if not applicable:
        return Markup(
            '<td class="cmp-na" data-label="{}"><span aria-hidden="true">–</span>'
            '<span class="visually-hidden">ej tillämpligt</span></td>'
        ).format(label)
    c = _get(row, col, "unknown")
    c = c if c in F.COMPARISON_TEXT else "unknown"
    symbol, word = F.COMPARISON_TEXT[c]
    cls = F.comparison_css_class(c, _worse(row))
    return Markup('<td class="{}" data-label="{}"><span class="sym" aria-hidden="true">{}</span> {}</td>').format(
        cls, label, symbol, word
    )


def trend_key(row) -> str:
    """The row's trend as the tables say it: 'increasing', 'decreasing', 'no_clear_trend' or 'unknown'."""
    t = _get(row, "trend", "unknown")
    return t if t in F.TREND_TEXT else "unknown"


def trend_words(row) -> Markup:
    """'↗ Ökar +5,1 % per år' (the symbol hidden from screen readers): the words the table, the
    proposal cards and the spine chart all use for a trend."""
    t = trend_key(row)
    symbol, word = F.TREND_PARTS[t]
    pct = _get(row, "trend_pct_per_year")
    rate = (
        Markup("")
        if F.is_missing(pct)
        else Markup(" {} per år").format(F.fmt_signed_pct(pct, 1, unit=_get(row, "trend_unit")))
    )
    return Markup(
        '<span class="trend-words" data-trend="{}"><span class="sym" aria-hidden="true">{}</span> {}{}</span>'
    ).format(t, symbol, word, rate)


def trend_interval(row) -> str:
    """'+1,0 till +9,3 %': the 95 % interval of the yearly change ('' when there is none)."""
    lo, hi = _get(row, "trend_ci_low"), _get(row, "trend_ci_high")
    if F.is_missing(lo) or F.is_missing(hi):
        return ""
    return F.fmt_signed_interval(lo, hi, 1, unit=_get(row, "trend_unit"))


def _trend_cell(row) -> Markup:
    if row is None:
        return Markup('<td class="trend-unknown" data-label="Trend">–</td>')
    t = trend_key(row)
    interval = trend_interval(row)
    sub = Markup('<span class="sub">intervall {}</span>').format(interval) if interval else Markup("")
    return Markup('<td class="{}" data-label="Trend">{}{}</td>').format(
        F.trend_css_class(t, _worse(row)), trend_words(row), sub
    )


def _thead(headings) -> Markup:
    cells = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in headings)
    return Markup("<thead><tr>{}</tr></thead>").format(cells)


def _tfoot(ncols: int, notes) -> Markup:
    text = Markup(" ").join(escape(n) for n in notes if n)
    return Markup('<tfoot><tr><td colspan="{}">{}</td></tr></tfoot>').format(ncols, text)


def _sort_key_sv(name: str) -> str:
    """Swedish alphabetical order: å, ä, ö after z."""
    table = str.maketrans({"å": "{", "ä": "|", "ö": "}", "Å": "{", "Ä": "|", "Ö": "}"})
    return str(name).casefold().translate(table)


def _area_level(results: pd.DataFrame, code: str) -> str:
    rows = _select(results, area_code=code)
    if len(rows) and "area_level" in rows and isinstance(rows["area_level"].iloc[0], str):
        return rows["area_level"].iloc[0]
    code = str(code)
    return "riket" if code == "00" else ("lan" if len(code) == 2 else "kommun")


# ---- public API -------------------------------------------------------------------


def indicator_table_html(results: pd.DataFrame, area_code: str, year: int, *, table_id: str | None = None) -> str:
    """One area's indicators in one year, grouped by theme, as an accessible HTML table."""
    from .catalogue import THEMES, catalogue

    area_code = str(area_code)
    rows = _select(results, area_code=area_code, year=year)
    level = _area_level(results, area_code)
    name = _area_name(results, area_code)

    cat_order = {ind.id: pos for pos, ind in enumerate(catalogue())}
    theme_order = {t: pos for pos, t in enumerate(THEMES)}
    records = [r for _, r in rows.iterrows()]
    records.sort(key=lambda r: (cat_order.get(str(r.get("indicator")), 10_000), str(r.get("indicator_label"))))
    groups: dict[str, list] = {}
    for r in records:
        groups.setdefault(r.get("theme") if isinstance(r.get("theme"), str) else "", []).append(r)
    themes = sorted(groups, key=lambda t: (theme_order.get(t, 1_000), t))

    with_group = "cmp_group" in results.columns and level == "kommun"
    headings = HEADINGS[:5] + (("Jämfört med liknande kommuner",) if with_group else ()) + HEADINGS[5:]
    bodies = []
    for theme in themes:
        trs = [
            Markup('<tr><th scope="rowgroup" colspan="{}">{}</th></tr>').format(
                len(headings), F.theme_label(theme or None)
            )
        ]
        for r in groups[theme]:
            unit = _unit(r)
            label = _get(r, "indicator_label") or _get(r, "indicator") or ""
            trs.append(
                Markup(
                    '<tr id="ind-{}"><th scope="row">{}<span class="sub unit">{}</span></th>{}{}{}{}{}{}</tr>'
                ).format(
                    _get(r, "indicator") or "",
                    label,
                    F.UNIT_SHORT[unit] if unit == "per_100k" else "andel i procent",
                    _value_cell(r, show_eb=level == "kommun"),
                    _interval_cell(r),
                    _cmp_cell(r, "cmp_lan", level == "kommun"),
                    _cmp_cell(r, "cmp_riket", level != "riket"),
                    _cmp_cell(r, "cmp_group", True) if with_group else Markup(""),
                    _trend_cell(r),
                )
            )
        bodies.append(Markup("<tbody>{}</tbody>").format(Markup("").join(trs)))
    if not bodies:
        bodies.append(
            Markup('<tbody><tr><td colspan="{}">Inga uppgifter för {} ({}).</td></tr></tbody>').format(
                len(headings), name, years_text(year)
            )
        )

    kinds = sorted({str(r.get("source_kind")) for r in records if r.get("source_kind") in SOURCE_NOTE})
    years = pd.to_numeric(_select(results, area_code=area_code)["year"], errors="coerce").dropna()
    last = (
        max(v for v in (year.values() if isinstance(year, dict) else [year]) if v is not None)
        if not isinstance(year, dict) or any(v is not None for v in year.values())
        else None
    )
    change = (
        recording_note([_get(r, "indicator") for r in records], int(years.min()), int(last))
        if len(years) and last is not None
        else ""
    )
    notes = [EXPLANATION] + ([change] if change else []) + [sources_note(kinds)]
    benches = [
        w
        for w, col in (("länet", "lan_value"), ("riket", "riket_value"))
        if col in rows and pd.to_numeric(rows[col], errors="coerce").notna().any()
    ]
    caption = Markup("{}: indikatorer {}{}").format(
        name, years_text(year), f", jämförda med {' och '.join(benches)}" if benches else ""
    )
    id_attr = Markup(' id="{}"').format(table_id) if table_id else Markup("")
    html = Markup('<table class="tmb-table indicator-table"{}><caption>{}</caption>{}{}{}</table>').format(
        id_attr, caption, _thead(headings), Markup("").join(bodies), _tfoot(len(headings), notes)
    )
    return str(html)


def lan_table_html(
    results: pd.DataFrame,
    lan_code: str,
    indicator: str,
    year: int,
    *,
    highlight: str | None = None,
    table_id: str | None = None,
) -> str:
    """All kommuner of a län for one indicator and year (value, interval, comparisons, trend),
    followed by the län and riket themselves."""
    lan_code = str(lan_code)
    sel = _select(results, indicator=indicator, year=year)
    by_code = {str(r["area_code"]): r for _, r in sel.iterrows()}

    codes: dict[str, str] = {}
    try:
        from .geography import registry

        for a in registry().kommuner(lan_code):
            codes[a.code] = a.name
    except Exception:
        pass
    for code, r in by_code.items():
        if r.get("area_level") == "kommun" and code[:2] == lan_code:
            codes.setdefault(code, r.get("area_name"))
    names = {
        c: (str(by_code[c]["area_name"]) if c in by_code and isinstance(by_code[c].get("area_name"), str) else n)
        for c, n in codes.items()
    }
    order = sorted(codes, key=lambda c: _sort_key_sv(names[c]))

    any_row = next(iter(by_code.values()), None)
    label = _get(any_row, "indicator_label") or indicator
    unit = _unit(any_row) if any_row is not None else "per_100k"
    lan_name = _area_name(results, lan_code)

    def tr(code, name, applicable_lan, applicable_riket, css=""):
        r = by_code.get(code)
        cls = Markup(' class="{}"').format(css) if css else Markup("")
        return Markup('<tr{}><th scope="row">{}</th>{}{}{}{}{}</tr>').format(
            cls,
            name,
            _value_cell(r),
            _interval_cell(r),
            _cmp_cell(r, "cmp_lan", applicable_lan),
            _cmp_cell(r, "cmp_riket", applicable_riket),
            _trend_cell(r),
        )

    kommun_rows = [tr(c, names[c], True, True, "highlight" if highlight and c == str(highlight) else "") for c in order]
    bench_rows = [
        tr(code, name, False, code != "00")
        for code, name in ((lan_code, lan_name), ("00", _area_name(results, "00")))
        if code in by_code
    ]  # a benchmark the data do not cover is left out, not shown as a row of dashes
    unit_text = F.UNIT_SHORT[unit] if unit == "per_100k" else "andel i procent"
    caption = Markup("{} ({}) i kommunerna i {} {}").format(label, unit_text, lan_name, int(year))
    kind = _get(any_row, "source_kind")
    notes = [EXPLANATION, SOURCE_NOTE[kind] + "." if kind in SOURCE_NOTE else ""]
    id_attr = Markup(' id="{}"').format(table_id) if table_id else Markup("")
    html = Markup(
        '<table class="tmb-table lan-table"{}><caption>{}</caption>{}<tbody>{}</tbody>'
        '<tbody class="benchmarks">{}</tbody>{}</table>'
    ).format(
        id_attr,
        caption,
        _thead(LAN_HEADINGS),
        Markup("").join(kommun_rows),
        Markup("").join(bench_rows),
        _tfoot(len(LAN_HEADINGS), notes),
    )
    return str(html)


def lan_matrix_html(results: pd.DataFrame, lan_code: str, year: int) -> str:
    """Every kommun of a län against every indicator, one compact table per theme.

    Rows are the kommuner (Swedish order) and, set apart, the län and riket; columns are the
    theme's indicators. A cell holds the value; its class gives the comparison with riket, shown
    by the symbol the CSS adds (:data:`MATRIX_CSS`, with the word as text alternative) and by
    colour. Intervals, the comparison with the län and trends are in each kommun's report and in
    the per-indicator tables. Made compact so that a county of 49 kommuner stays a small page.
    """
    from .catalogue import THEMES, catalogue
    from .geography import registry

    lan_code = str(lan_code)
    sel = _select(results, year=year)
    kommuner = registry().kommuner(lan_code)
    codes = [k.code for k in kommuner] + [lan_code, "00"]
    sel = sel[sel["area_code"].astype(str).isin(codes)]
    cells = {(str(r.area_code), str(r.indicator)): r for r in sel.itertuples(index=False)}
    names = {k.code: k.name for k in kommuner}
    order = sorted(names, key=lambda c: _sort_key_sv(names[c]))
    by_theme: dict[str, list] = {}
    for ind in catalogue():
        by_theme.setdefault(ind.theme, []).append(ind)
    legend = " ".join(f"{sym} {word.lower()}" for sym, word in F.COMPARISON_TEXT.values())
    tables = []
    shown = {c for c, v in zip(sel["area_code"].astype(str), pd.to_numeric(sel["value"], errors="coerce")) if v == v}
    for theme in sorted(by_theme, key=lambda t: THEMES.index(t) if t in THEMES else 1_000):
        inds = by_theme[theme]
        theme_year = year_for(year, inds[0].source_kind)
        if theme_year is None or not any((c, ind.id) in cells for c in names for ind in inds):
            continue  # no kommun has data for this theme: no empty table

        def cell(code, ind, compare=True):
            r = cells.get((code, ind.id))
            value = None if r is None else r.value
            if F.is_missing(value):
                return Markup('<td class="cmp-na">–</td>')
            if not compare:
                return Markup("<td>{}</td>").format(F.fmt_value(value, ind.unit))
            c = r.cmp_riket if r.cmp_riket in F.COMPARISON_TEXT else "unknown"
            cls = F.comparison_css_class(c, ind.worse)
            sym, word = F.COMPARISON_TEXT[c]
            return Markup('<td class="{}">{}{}<span class="cmp-word">{} {}</span></td>').format(
                cls, F.fmt_value(value, ind.unit), NBSP, sym, word.lower()
            )

        def row(code, name, compare=True):
            return Markup('<tr><th scope="row">{}</th>{}</tr>').format(
                name, Markup("").join(cell(code, ind, compare) for ind in inds)
            )

        head = Markup("").join(
            Markup('<th scope="col">{}<span class="sub unit">{}</span></th>').format(
                ind.label, F.UNIT_SHORT[ind.unit] if ind.unit == "per_100k" else "andel i procent"
            )
            for ind in inds
        )
        body = Markup("").join(row(c, names[c]) for c in order)
        bench = Markup("").join(row(c, _area_name(results, c), compare=False) for c in (lan_code, "00") if c in shown)
        tables.append(
            Markup(
                # focusable, so that keyboard users can scroll a wide table (WCAG 2.1.1)
                '<div class="table-scroll" tabindex="0" role="region" aria-label="{}: alla kommuner">'
                '<table class="tmb-table lan-matrix"><caption>{} {}: alla kommuner</caption>'
                '<thead><tr><th scope="col">Kommun</th>{}</tr></thead><tbody>{}</tbody>'
                '<tbody class="benchmarks">{}</tbody><tfoot><tr><td colspan="{}">Symbolen efter värdet jämför med riket '
                "({}); högre eller lägre bara när skillnaden mot riket är större än vad variationen mellan år och "
                "kommuner ger av en slump (95{}%).</td></tr>"
                "</tfoot></table></div>"
            ).format(
                F.theme_label(theme), F.theme_label(theme), theme_year, head, body, bench, len(inds) + 1, legend, NBSP
            )
        )
    return str(Markup("").join(tables))


# ---- the kommun report's words, shared by its table, spine chart and proposal cards ----------------

#: The benchmarks a kommun is compared with: key, results column, the short label of a chip or column,
#: and the benchmark's value column (a benchmark whose value the page never has is not shown).
BENCHMARKS = (
    ("lan", "cmp_lan", "Länet", "lan_rest_value"),
    ("riket", "cmp_riket", "Riket", "riket_value"),
    ("group", "cmp_group", "Kommungruppen", "group_value"),
    ("peers", "cmp_peers", "Liknande kommuner", "peers_value"),
)
BENCHMARK_LABEL = {key: label for key, _, label, _ in BENCHMARKS}
UNCERTAIN_WORD = "För osäkert"


def page_benchmarks(rows: pd.DataFrame) -> list[str]:
    """The benchmarks an area's rows can be compared with: those with a value for some row (a store
    without Kolada's groups has no kommungrupp; one county without riket has no riket)."""
    out = []
    for key, col, _, value_col in BENCHMARKS:
        values = (
            rows[value_col]
            if value_col in rows
            else (rows["lan_value"] if key == "lan" and "lan_value" in rows else None)
        )
        if col in rows and values is not None and pd.to_numeric(values, errors="coerce").notna().any():
            out.append(key)
    return out


def is_uncertain(row) -> bool:
    """An NTU estimate whose published interval is too wide to compare ("För osäkert", the results
    table's ``too_uncertain``): no comparison is shown for it anywhere."""
    v = _get(row, "too_uncertain")
    return bool(v) if v is not None and not isinstance(v, str) else False


def comparison_key(row, key: str) -> str:
    """'higher' | 'lower' | 'similar' | 'unknown' | 'uncertain' for one benchmark, as every part of the page says it."""
    if is_uncertain(row):
        return "uncertain"
    col = dict((k, c) for k, c, _, _ in BENCHMARKS)[key]
    c = _get(row, col, "unknown")
    return c if c in F.COMPARISON_TEXT else "unknown"


def comparison_words(row, key: str) -> Markup:
    """'▲ Högre' with its symbol hidden from screen readers (or 'För osäkert')."""
    c = comparison_key(row, key)
    if c == "uncertain":
        return Markup('<span class="cmp-words" data-cmp-value="uncertain">{}</span>').format(UNCERTAIN_WORD)
    symbol, word = F.COMPARISON_TEXT[c]
    return Markup(
        '<span class="cmp-words" data-cmp-value="{}"><span class="sym" aria-hidden="true">{}</span> {}</span>'
    ).format(c, symbol, word)


def comparison_class(row, key: str) -> str:
    c = comparison_key(row, key)
    return "cmp-unknown" if c == "uncertain" else F.comparison_css_class(c, _worse(row))


def comparison_chip(row, key: str) -> Markup:
    """A comparison as a chip: 'Länet: ▲ Högre', coloured by what it means (colour is the third carrier)."""
    return Markup('<span class="chip {}" data-cmp="{}"><span class="chip-label">{}:</span> {}</span>').format(
        comparison_class(row, key), key, BENCHMARK_LABEL[key], comparison_words(row, key)
    )


def definition_toggle(indicator: str) -> Markup:
    """The indicator's one-line definition (indicators.yaml): a title for hover, a details for tap and
    keyboard, opened in print; '' for an indicator without one."""
    from .catalogue import catalogue

    if indicator not in catalogue() or not catalogue().get(indicator).definition:
        return Markup("")
    ind = catalogue().get(indicator)
    return Markup(
        '<details class="def"><summary title="{}"><span class="def-mark" aria-hidden="true">?</span>'
        '<span class="visually-hidden">Vad räknas: {}</span></summary><span class="def-text">{}</span>'
        "</details>"
    ).format(ind.definition, ind.label, ind.definition)


def _name_cell(r) -> Markup:
    ind = _get(r, "indicator") or ""
    unit = _unit(r)
    return Markup('<th scope="row"><span class="ind-name">{}</span>{}<span class="sub unit">{}</span></th>').format(
        _get(r, "indicator_label") or ind,
        definition_toggle(ind),
        F.UNIT_SHORT[unit] if unit == "per_100k" else "andel i procent",
    )


def _comparison_cells(r, keys) -> Markup:
    if is_uncertain(r):
        width = (
            F.fmt_number(_get(r, "ci_high", 0) - _get(r, "ci_low", 0))
            if not (F.is_missing(_get(r, "ci_high")) or F.is_missing(_get(r, "ci_low")))
            else F.MISSING
        )
        return Markup(
            '<td class="cmp-unknown" colspan="{}" data-cmp="uncertain" data-label="Jämförelser">'
            '<strong>{}</strong><span class="sub">intervallet är {} procentenheter brett: skillnader ska inte '
            "tolkas</span></td>"
        ).format(len(keys), UNCERTAIN_WORD, width)
    return Markup("").join(
        Markup('<td class="{}" data-cmp="{}" data-label="{}">{}</td>').format(
            comparison_class(r, k), k, BENCHMARK_LABEL[k], comparison_words(r, k)
        )
        for k in keys
    )


def theme_table_html(
    rows: pd.DataFrame, indicators: list[str], keys: list[str], caption: str, table_id: str | None = None
) -> str:
    """One theme block of a kommun report: its reported-crime rows and its NTU rows in one table
    (register and survey side by side), each indicator once, in the order given.

    Every row has ``id="ind-<indicator>"``; each comparison cell carries ``data-cmp`` (the benchmark)
    and ``data-label`` (its heading, which a phone shows before the chip), the trend cell its words
    in ``span.trend-words``. An NTU row that is too uncertain has one cell "För osäkert" instead of
    its comparisons."""
    by_id = {str(r["indicator"]): r for _, r in rows.iterrows()}
    groups = [
        (kind, [by_id[i] for i in indicators if i in by_id and by_id[i].get("source_kind") == kind])
        for kind in ("crime", "survey")
    ]
    headings = (
        ["Indikator", "Värde", f"95{NBSP}% konfidensintervall"]
        + [f"Jämfört med {BENCHMARK_LABEL[k].lower()}" for k in keys]
        + ["Trend per år (95\u00a0% intervall)"]
    )
    bodies = []
    for kind, recs in groups:
        if not recs:
            continue
        title = "Anmälda brott" if kind == "crime" else "Trygghetsundersökningen (NTU)"
        year = recs[0].get("year")
        trs = [
            Markup('<tr class="group"><th scope="rowgroup" colspan="{}">{} {}</th></tr>').format(
                len(headings), title, "" if F.is_missing(year) else int(year) + (1 if _reference_year(recs[0]) else 0)
            )
        ]
        for r in recs:
            trs.append(
                Markup('<tr id="ind-{}" data-indicator="{}">{}{}{}{}{}</tr>').format(
                    _get(r, "indicator"),
                    _get(r, "indicator"),
                    _name_cell(r),
                    _value_cell(r, show_eb=True),
                    _interval_cell(r),
                    _comparison_cells(r, keys),
                    _trend_cell(r),
                )
            )
        bodies.append(Markup('<tbody class="{}">{}</tbody>').format(kind, Markup("").join(trs)))
    id_attr = Markup(' id="{}"').format(table_id) if table_id else Markup("")
    return str(
        Markup('<table class="tmb-table theme-table"{}><caption>{}</caption>{}{}</table>').format(
            id_attr, caption, _thead(headings), Markup("").join(bodies)
        )
    )


# ---- spine chart ------------------------------------------------------------------------------------


def spine_html(
    items: list[dict],
    keys: list[str],
    area_name: str,
    lan_name: str,
    centre_name: str,
    spread_words: str,
    caption: str,
    caption_id: str = "spine-caption",
    legend: bool = True,
) -> str:
    """A Fingertips-style spine chart as an accessible table: one row per indicator with the area's
    value, a bar of the spread across kommuner (lightest from the lowest to the highest, darker for
    the middle half) centred on the benchmark ``centre_name``, the län as a diamond and the area as
    the symbol of its comparison with riket, then the comparisons as symbol and word.

    ``items``: one dict per row in display order, either ``{"group": title}`` for a group heading or
    ``{"row": results row, "lo", "q1", "q3", "hi", "centre", "lan"}`` (numbers in the row's unit).
    Scale of each row: the centre in the middle and the farther of the lowest and highest value at
    the edge, as Fingertips draws it. ``caption_id`` names the caption (unique on the page when a page
    shows the chart in two parts); ``legend=False`` leaves the legend to the first part."""

    def pos(v, centre, half):
        if F.is_missing(v) or F.is_missing(centre) or not half:
            return None
        return max(0.0, min(100.0, 50 + 50 * (float(v) - float(centre)) / half))

    head = ["Indikator", "Värde", f"{area_name} bland kommunerna"] + [BENCHMARK_LABEL[k] for k in keys]
    trs = []
    for it in items:
        if "group" in it:
            trs.append(
                Markup('<tr class="group"><th scope="rowgroup" colspan="{}">{}</th></tr>').format(
                    len(head), it["group"]
                )
            )
            continue
        r = it["row"]
        unit = _unit(r)
        centre = it.get("centre")
        ends = [v for v in (it.get("lo"), it.get("hi"), _get(r, "value"), it.get("lan")) if not F.is_missing(v)]
        half = max((abs(float(v) - float(centre)) for v in ends), default=0.0) if not F.is_missing(centre) else 0.0
        marks = []
        lo, hi, q1, q3 = (pos(it.get(k), centre, half) for k in ("lo", "hi", "q1", "q3"))
        if lo is not None and hi is not None:
            marks.append(
                Markup('<span class="spine-range" style="left:{:.1f}%;width:{:.1f}%"></span>').format(lo, hi - lo)
            )
        if q1 is not None and q3 is not None:
            marks.append(
                Markup('<span class="spine-iqr" style="left:{:.1f}%;width:{:.1f}%"></span>').format(q1, q3 - q1)
            )
        if half:
            marks.append(Markup('<span class="spine-centre"></span>'))
        lan = pos(it.get("lan"), centre, half)
        if lan is not None:
            marks.append(Markup('<span class="spine-lan" style="left:{:.1f}%">◆</span>').format(lan))
        me = pos(_get(r, "value"), centre, half)
        c = comparison_key(r, "riket")
        if me is not None:
            symbol = "○" if c == "uncertain" else F.COMPARISON_TEXT[c][0]
            marks.append(
                Markup('<span class="spine-area {}" style="left:{:.1f}%">{}</span>').format(
                    comparison_class(r, "riket"), me, symbol
                )
            )
        said = [f"{area_name} {F.fmt_value(_get(r, 'value'), unit)}"]
        if not F.is_missing(it.get("lan")):
            said.append(f"{lan_name} {F.fmt_value(it['lan'], unit)}")
        if not F.is_missing(centre):
            said.append(f"{centre_name} {F.fmt_value(centre, unit)}")
        if lo is not None:
            said.append(f"{spread_words} mellan {F.fmt_value(it['lo'], unit)} och {F.fmt_value(it['hi'], unit)}")
        bar = Markup('<div class="spine" aria-hidden="true">{}</div><span class="visually-hidden">{}.</span>').format(
            Markup("").join(marks), "; ".join(said)
        )
        cells = Markup("").join(
            Markup('<td class="{}" data-cmp="{}" data-label="{}">{}</td>').format(
                comparison_class(r, k), k, BENCHMARK_LABEL[k], comparison_words(r, k)
            )
            for k in keys
        )
        value = Markup('<td class="num" data-label="Värde">{}</td>').format(F.fmt_value(_get(r, "value"), unit))
        trs.append(
            Markup(
                '<tr data-indicator="{}"><th scope="row"><a href="#ind-{}">{}</a>{}</th>{}'
                '<td class="spine-cell">{}</td>{}</tr>'
            ).format(
                _get(r, "indicator"),
                _get(r, "indicator"),
                _get(r, "indicator_label"),
                definition_toggle(_get(r, "indicator") or ""),
                value,
                bar,
                cells,
            )
        )
    key_html = Markup(
        '<p class="spine-legend" aria-hidden="true"><span class="spine-key"><span class="sym">▲</span>'
        '<span class="sym">●</span><span class="sym">▼</span> {}</span> (symbolen: jämfört med riket) · '
        '<span class="spine-key"><span class="spine-lan-key">◆</span> {}</span> · '
        '<span class="spine-key"><span class="spine-centre-key"></span> {}</span> · '
        '<span class="spine-key"><span class="spine-range-key"></span> {}; mörkare för den mittersta hälften</span></p>'
    ).format(area_name, lan_name, centre_name, spread_words)
    return str(
        Markup(
            '<figure class="spine-chart" aria-labelledby="{}">{}<table class="tmb-table spine-table">'
            '<caption id="{}">{}</caption>{}<tbody>{}</tbody></table></figure>'
        ).format(caption_id, key_html if legend else "", caption_id, caption, _thead(head), Markup("").join(trs))
    )
