"""A county's tables: its kommuner for one indicator, and the compact matrix of every kommun and indicator."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as F
from ..periods import year_for
from ..results import area_name as _area_name
from ..results import select as _select
from ._common import NBSP, _get, _sort_key_sv, _tfoot, _thead, _unit
from .cells import _cmp_cell, _interval_cell, _trend_cell, _value_cell
from .notes import EXPLANATION, LAN_HEADINGS, SOURCE_NOTE


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
        from ..geography import registry

        for a in registry().kommuner(lan_code):
            codes[a.code] = a.name
    except Exception:  # noqa: BLE001 - without the geography's list, the kommuner the results name
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
    from ..catalogue import THEMES, catalogue
    from ..geography import registry

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

        def row(code, name, inds, compare=True):
            return Markup('<tr><th scope="row">{}</th>{}</tr>').format(
                name, Markup("").join(cell(code, ind, compare) for ind in inds)
            )

        head = Markup("").join(
            Markup('<th scope="col">{}<span class="sub unit">{}</span></th>').format(
                ind.label, F.UNIT_SHORT[ind.unit] if ind.unit == "per_100k" else "andel i procent"
            )
            for ind in inds
        )
        body = Markup("").join(row(c, names[c], inds) for c in order)
        bench = Markup("").join(
            row(c, _area_name(results, c), inds, compare=False) for c in (lan_code, "00") if c in shown
        )
        tables.append(
            Markup(
                # focusable, so that keyboard users can scroll a wide table (WCAG 2.1.1)
                '<div class="table-scroll" tabindex="0" role="region" aria-label="{}: alla kommuner">'
                '<table class="tmb-table lan-matrix"><caption>{} {}: alla kommuner</caption>'
                '<thead><tr><th scope="col">Kommun</th>{}</tr></thead><tbody>{}</tbody>'
                '<tbody class="benchmarks">{}</tbody><tfoot><tr><td colspan="{}">'
                "Symbolen efter värdet jämför med riket "
                "({}); högre eller lägre bara när skillnaden mot riket är större än vad variationen mellan år och "
                "kommuner ger av en slump (95{}%).</td></tr>"
                "</tfoot></table></div>"
            ).format(
                F.theme_label(theme), F.theme_label(theme), theme_year, head, body, bench, len(inds) + 1, legend, NBSP
            )
        )
    return str(Markup("").join(tables))
