"""The cells the tables are built of: value, interval, comparison and trend."""

from __future__ import annotations

from markupsafe import Markup

from .. import formatting as F
from ._common import _get, _is_small, _reference_year, _unit, _worse
from .words import trend_interval, trend_key, trend_words


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


def _trend_cell(row) -> Markup:
    if row is None:
        return Markup('<td class="trend-unknown" data-label="Trend">–</td>')
    t = trend_key(row)
    interval = trend_interval(row)
    sub = Markup('<span class="sub">intervall {}</span>').format(interval) if interval else Markup("")
    return Markup('<td class="{}" data-label="Trend">{}{}</td>').format(
        F.trend_css_class(t, _worse(row)), trend_words(row), sub
    )
