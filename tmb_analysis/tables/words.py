"""How a page says a comparison and a trend: one wording for the tables, spine chart and proposal cards."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as F
from ._common import _get, _worse


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
