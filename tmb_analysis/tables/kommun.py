"""The kommun report's tables: a theme's indicators (register and survey side by side) and the spine chart."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as F
from ._common import NBSP, _get, _reference_year, _thead, _unit
from .cells import _interval_cell, _trend_cell, _value_cell
from .words import BENCHMARK_LABEL, UNCERTAIN_WORD, comparison_class, comparison_key, comparison_words, is_uncertain


def definition_toggle(indicator: str) -> Markup:
    """The indicator's one-line definition (indicators.yaml): a title for hover, a details for tap and
    keyboard, opened in print; '' for an indicator without one."""
    from ..catalogue import catalogue

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
