"""Swedish number formatting, comparison words and the colour-blind-safe palette.

Every number a reader sees goes through this module so that the reports, the
tables and the chart hover texts agree: Swedish conventions (locale ``sv_SE``,
via babel), a no-break space (U+00A0) as the thousands separator and before
``%``, a decimal comma, a real minus sign (U+2212), an en dash in intervals and
a dash (``–``) for a missing value, never ``nan``.

Comparisons and trends are always carried by a symbol *and* a word; colour is
only a third, redundant carrier (see :data:`SIGNAL_COLOURS`).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from numbers import Integral

from babel.numbers import format_decimal

LOCALE = "sv_SE"
NBSP = "\u00a0"
MINUS = "\u2212"
EN_DASH = "\u2013"
MISSING = "\u2013"  # what a missing value shows as

# ---- comparisons and trends ---------------------------------------------------

COMPARISON_TEXT: dict[str, tuple[str, str]] = {
    "higher": ("\u25b2", "Högre"),
    "lower": ("\u25bc", "Lägre"),
    "similar": ("\u25cf", "Ingen säker skillnad"),
    "unknown": ("?", "Okänt"),
}

TREND_TEXT: dict[str, str] = {
    "increasing": "\u2197 Ökar",
    "decreasing": "\u2198 Minskar",
    "no_clear_trend": "\u2192 Ingen tydlig trend",
    "unknown": "? Okänd trend",
}

# symbol and word separately, for markup that hides the symbol from screen readers
TREND_PARTS: dict[str, tuple[str, str]] = {k: tuple(v.split(" ", 1)) for k, v in TREND_TEXT.items()}  # type: ignore[misc]

# Signals: what a comparison or trend means for the reader, given which direction is worse.
SIGNALS = ("bad", "good", "similar", "unknown")
SIGNAL_TEXT = {
    "bad": "Sämre",
    "good": "Bättre",
    "similar": "Ingen säker skillnad",
    "unknown": "Okänt",
}

# ---- colours (Okabe–Ito based; colour-blind safe) -------------------------------

#: Graphics colours (markers, lines, fills on white): all except ``unknown`` have
#: at least 3:1 contrast against white (WCAG 1.4.11, non-text contrast).
SIGNAL_COLOURS = {
    "bad": "#D55E00",  # Okabe–Ito vermillion
    "good": "#0072B2",  # Okabe–Ito blue
    "similar": "#767676",  # grey, 4.5:1 on white
    "unknown": "#BBBBBB",  # light grey: deliberately quiet
}
#: Darker shades for text on white or on :data:`SIGNAL_BACKGROUNDS` (≥ 4.5:1).
SIGNAL_TEXT_COLOURS = {
    "bad": "#9A3F00",
    "good": "#005A8C",
    "similar": "#4D4D4D",
    "unknown": "#4D4D4D",
}
#: Light tints for table cells, under :data:`SIGNAL_TEXT_COLOURS` text.
SIGNAL_BACKGROUNDS = {
    "bad": "#FBE3D4",
    "good": "#DCEBF6",
    "similar": "#EFEFEF",
    "unknown": "#FFFFFF",
}
#: Identity colours for lines in charts (area, its län, riket); they are paired
#: with distinct dash styles so that no line depends on colour alone.
AREA_COLOUR = "#0072B2"
LAN_COLOUR = "#CC79A7"  # Okabe–Ito reddish purple
RIKET_COLOUR = "#000000"
#: Sequential colour scale for maps: ColorBrewer Blues (single hue, monotone lightness,
#: colour-blind safe), stopped before its darkest steps so black labels stay legible.
SEQUENTIAL_SCALE = [
    [0.0, "#eff3ff"],
    [0.2, "#c6dbef"],
    [0.4, "#9ecae1"],
    [0.6, "#6baed6"],
    [0.8, "#4292c6"],
    [1.0, "#2171b5"],
]

UNIT_AXIS_TITLE = {
    "per_100k": f"Anmälda brott per 100{NBSP}000 invånare",
    "percent": "Andel (%)",
}
UNIT_SHORT = {
    "per_100k": f"per 100{NBSP}000 inv.",
    "percent": "%",
}


# ---- missing values -----------------------------------------------------------


def is_missing(x) -> bool:
    """True for None, NaN, pd.NA, NaT and anything that is not a finite number."""
    if x is None:
        return True
    try:
        import pandas as pd

        if x is pd.NA or x is pd.NaT:
            return True
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, str):
        return x.strip() == ""
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _to_decimal(x) -> Decimal:
    if isinstance(x, Decimal):
        return x
    if isinstance(x, Integral) and not isinstance(x, bool):
        return Decimal(int(x))
    # via repr, so that 2.675 rounds as the reader sees it (2,68), not as its binary float
    return Decimal(repr(float(x)))


def _round(x, decimals: int) -> Decimal:
    """Round half away from zero (the school rule), not banker's rounding."""
    d = _to_decimal(x)
    q = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)  # no "−0"
    return q


# ---- numbers ------------------------------------------------------------------


def fmt_number(x, decimals: int = 0, missing: str = MISSING) -> str:
    """'1 478 879' (no-break spaces), '3,5', '−2' (U+2212); missing -> ``missing``."""
    if is_missing(x):
        return missing
    q = _round(x, decimals)
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = format_decimal(q, format=pattern, locale=LOCALE, decimal_quantization=True)
    return text.replace(" ", NBSP).replace("\u202f", NBSP).replace("-", MINUS)


def fmt_pct(x, decimals: int = 0, missing: str = MISSING) -> str:
    """A value already in percent: 21 -> '21 %' (no-break space before %)."""
    if is_missing(x):
        return missing
    return f"{fmt_number(x, decimals)}{NBSP}%"


def fmt_interval(lo, hi, decimals: int = 0, missing: str = MISSING) -> str:
    """'17–25', '17,0–25,0'; with a negative bound '−3,2 till 1,5' (a dash would be ambiguous)."""
    if is_missing(lo) or is_missing(hi):
        return missing
    a, b = fmt_number(lo, decimals), fmt_number(hi, decimals)
    if a.startswith(MINUS) or b.startswith(MINUS):
        return f"{a} till {b}"
    return f"{a}{EN_DASH}{b}"


#: Suffix of a change by the unit of the trend (``trend_unit`` in the results table): crime
#: trends are relative (% per year), NTU trends absolute (percentage points per year).
CHANGE_SUFFIX = {
    "percent": "%",
    "percent_per_year": "%",
    "percentage_points": "procentenheter",
    "percentage_points_per_year": "procentenheter",
}


def _change_suffix(unit) -> str:
    if unit is None or (isinstance(unit, float) and math.isnan(unit)):
        return "%"
    try:
        return CHANGE_SUFFIX[str(unit)]
    except KeyError:
        raise ValueError(f"unknown change unit {unit!r}; expected one of {sorted(CHANGE_SUFFIX)}") from None


def fmt_signed_pct(x, decimals: int = 1, missing: str = MISSING, unit=None) -> str:
    """A change with its sign: '+3,2 %', '−1,5 %', '0,0 %'; with a percentage-point unit
    (NTU trends) '+0,8 procentenheter'."""
    if is_missing(x):
        return missing
    q = _round(x, decimals)
    sign = "+" if q > 0 else ""
    return f"{sign}{fmt_number(q, decimals)}{NBSP}{_change_suffix(unit)}"


def excluding_zero_decimals(lo, hi, decimals: int = 1, most: int = 3) -> int:
    """The decimals that keep a bound that is not zero from showing as zero: an interval of
    +0,04 to +1,6 shown with one decimal reads "0,0 till +1,6" beside "Ökar" and seems to include
    no change. One more decimal at a time, up to ``most``."""
    d = decimals
    while d < most and any(not is_missing(v) and float(v) != 0 and _round(v, d) == 0 for v in (lo, hi)):
        d += 1
    return d


def fmt_signed_interval(lo, hi, decimals: int = 1, missing: str = MISSING, unit=None) -> str:
    """An interval of changes: '+1,0 till +5,4 %', '−3,2 till +1,5 procentenheter'; a bound that is
    not zero never shows as zero ('+0,04 till +1,60 %', see :func:`excluding_zero_decimals`)."""
    if is_missing(lo) or is_missing(hi):
        return missing
    decimals = excluding_zero_decimals(lo, hi, decimals)

    def signed(v):
        q = _round(v, decimals)
        return ("+" if q > 0 else "") + fmt_number(q, decimals)

    return f"{signed(lo)} till {signed(hi)}{NBSP}{_change_suffix(unit)}"


def value_decimals(value, unit: str) -> int:
    """Decimals to show: rates per 100 000 as integers; shares 0 decimals if ≥ 10 %, else 1."""
    if unit == "per_100k":
        return 0
    if unit == "percent":
        if is_missing(value):
            return 1
        return 0 if abs(float(_round(value, 1))) >= 10 else 1
    raise ValueError(f"unknown unit {unit!r}; expected 'per_100k' or 'percent'")


def fmt_value(value, unit: str, missing: str = MISSING) -> str:
    """A result value in its unit: '1 234' (per 100 000), '21 %', '3,5 %'."""
    if is_missing(value):
        return missing
    d = value_decimals(value, unit)
    return fmt_number(value, d) if unit == "per_100k" else fmt_pct(value, d)


def fmt_value_interval(lo, hi, unit: str, value=None, missing: str = MISSING) -> str:
    """The 95 % interval of a value, with the value's decimals: '980–1 120', '17–25 %'."""
    if is_missing(lo) or is_missing(hi):
        return missing
    d = value_decimals(value if not is_missing(value) else lo, unit)
    text = fmt_interval(lo, hi, d)
    return f"{text}{NBSP}%" if unit == "percent" else text


# ---- meanings -------------------------------------------------------------------


def _norm_key(x, allowed, default="unknown") -> str:
    if not isinstance(x, str):
        return default
    k = str(x).strip()
    return k if k in allowed else default


def comparison_signal(comparison, worse: str = "higher") -> str:
    """'bad' | 'good' | 'similar' | 'unknown': what a comparison means for the reader.

    ``worse`` is the indicator's bad direction ('higher' for all current
    indicators; for worse='lower', being 'lower' is bad).
    """
    if worse not in ("higher", "lower"):
        raise ValueError(f"worse must be 'higher' or 'lower', not {worse!r}")
    c = _norm_key(comparison, COMPARISON_TEXT)
    if c in ("similar", "unknown"):
        return c
    return "bad" if c == worse else "good"


def trend_signal(trend, worse: str = "higher") -> str:
    """'bad' | 'good' | 'similar' | 'unknown' for a trend, given the worse direction."""
    t = _norm_key(trend, TREND_TEXT)
    if t == "unknown":
        return "unknown"
    if t == "no_clear_trend":
        return "similar"
    direction = "higher" if t == "increasing" else "lower"
    return comparison_signal(direction, worse)


def comparison_text(comparison) -> str:
    """'▲ Högre', '▼ Lägre', '● Ingen säker skillnad', '? Okänt'."""
    symbol, word = COMPARISON_TEXT[_norm_key(comparison, COMPARISON_TEXT)]
    return f"{symbol} {word}"


def comparison_css_class(comparison, worse: str = "higher") -> str:
    """CSS class for a comparison cell: 'cmp-higher-bad', 'cmp-lower-good', 'cmp-similar', 'cmp-unknown'."""
    c = _norm_key(comparison, COMPARISON_TEXT)
    if c in ("similar", "unknown"):
        return f"cmp-{c}"
    return f"cmp-{c}-{comparison_signal(c, worse)}"


def trend_text(trend) -> str:
    """'↗ Ökar', '↘ Minskar', '→ Ingen tydlig trend', '? Okänd trend'."""
    return TREND_TEXT[_norm_key(trend, TREND_TEXT)]


def trend_css_class(trend, worse: str = "higher") -> str:
    """CSS class for a trend cell: 'trend-increasing-bad', 'trend-no_clear_trend', …"""
    t = _norm_key(trend, TREND_TEXT)
    if t in ("no_clear_trend", "unknown"):
        return f"trend-{t}"
    return f"trend-{t}-{trend_signal(t, worse)}"


def indicator_worse(indicator, default: str = "higher") -> str:
    """The bad direction of an indicator id from the catalogue ('higher' if unknown)."""
    try:
        from .catalogue import catalogue

        return catalogue().get(str(indicator)).worse
    except Exception:  # noqa: BLE001 - an id outside the catalogue (ad hoc or synthetic indicators)
        return default


def theme_label(theme) -> str:
    """A theme as a heading: 'våld' -> 'Våld'."""
    t = theme.strip() if isinstance(theme, str) else ""
    if not t:
        return "Övrigt"
    return t[:1].upper() + t[1:]


# ---- words ----------------------------------------------------------------------

_NUMBER_WORDS = {
    2: "två",
    3: "tre",
    4: "fyra",
    5: "fem",
    6: "sex",
    7: "sju",
    8: "åtta",
    9: "nio",
    10: "tio",
    11: "elva",
    12: "tolv",
}


def count_text(n: int, singular: str, plural: str, neuter: bool = False) -> str:
    """'en indikator', 'ett förslag', 'två indikatorer', '13 indikatorer', 'inga indikatorer':
    numbers up to twelve in words, as Swedish prose writes them, and the noun in its number."""
    n = int(n)
    if n == 0:
        return f"{'inga'} {plural}"
    if n == 1:
        return f"{'ett' if neuter else 'en'} {singular}"
    return f"{_NUMBER_WORDS.get(n, fmt_number(n))} {plural}"


def join_words(items, conjunction: str = "och") -> str:
    """'a', 'a och b', 'a, b och c' (no serial comma, as Swedish writes lists)."""
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]
