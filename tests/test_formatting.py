"""Swedish number formatting: expected strings typed by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from tmb_analysis import formatting as F
from tmb_analysis.formatting import (
    COMPARISON_TEXT,
    TREND_TEXT,
    comparison_css_class,
    comparison_signal,
    comparison_text,
    fmt_interval,
    fmt_number,
    fmt_pct,
    fmt_signed_interval,
    fmt_signed_pct,
    fmt_value,
    fmt_value_interval,
    trend_css_class,
    trend_signal,
    trend_text,
)

MISSING_VALUES = [None, float("nan"), np.nan, pd.NA, pd.NaT, math.inf, ""]


def test_fmt_number_thousands_with_no_break_space():
    assert fmt_number(1478879) == "1\u00a0478\u00a0879"
    assert fmt_number(12345) == "12\u00a0345"
    assert fmt_number(999) == "999"
    assert fmt_number(1000) == "1\u00a0000"
    assert fmt_number(np.int64(103741)) == "103\u00a0741"
    assert fmt_number(pd.array([2500], dtype="Int64")[0]) == "2\u00a0500"


def test_fmt_number_decimal_comma_and_rounding():
    assert fmt_number(3.456, 1) == "3,5"
    assert fmt_number(3.456, 2) == "3,46"
    assert fmt_number(3.0, 1) == "3,0"
    assert fmt_number(1234.5678, 1) == "1\u00a0234,6"
    # half away from zero, as readers expect (not banker's rounding)
    assert fmt_number(2.5) == "3"
    assert fmt_number(0.125, 2) == "0,13"
    assert fmt_number(2.675, 2) == "2,68"


def test_fmt_number_minus_sign_and_no_negative_zero():
    assert fmt_number(-3.5, 1) == "\u22123,5"
    assert fmt_number(-21760) == "\u221221\u00a0760"
    assert fmt_number(-0.04, 1) == "0,0"
    assert fmt_number(-0.4) == "0"


@pytest.mark.parametrize("missing", MISSING_VALUES)
def test_missing_values_never_nan(missing):
    for text in (
        fmt_number(missing),
        fmt_number(missing, 2),
        fmt_pct(missing),
        fmt_signed_pct(missing),
        fmt_value(missing, "per_100k"),
        fmt_value(missing, "percent"),
        fmt_interval(missing, 5),
        fmt_interval(5, missing),
        fmt_value_interval(missing, 5, "percent"),
    ):
        assert text == "\u2013"
        assert "nan" not in text.lower()
    assert fmt_number(missing, missing="uppgift saknas") == "uppgift saknas"
    assert fmt_pct(missing, missing="..") == ".."
    assert fmt_interval(missing, 1, missing="") == ""


def test_fmt_pct():
    assert fmt_pct(21) == "21\u00a0%"
    assert fmt_pct(21.46, 1) == "21,5\u00a0%"
    assert fmt_pct(3.5, 1) == "3,5\u00a0%"


def test_fmt_interval_en_dash():
    assert fmt_interval(17, 25) == "17\u201325"
    assert fmt_interval(17, 25, 1) == "17,0\u201325,0"
    assert fmt_interval(980.4, 1120.6) == "980\u20131\u00a0121"
    # with a negative bound the dash would read as a minus: words instead
    assert fmt_interval(-3.2, 1.5, 1) == "\u22123,2 till 1,5"


def test_fmt_signed_pct():
    assert fmt_signed_pct(3.2) == "+3,2\u00a0%"
    assert fmt_signed_pct(3.21) == "+3,2\u00a0%"
    assert fmt_signed_pct(-1.5) == "\u22121,5\u00a0%"
    assert fmt_signed_pct(0) == "0,0\u00a0%"
    assert fmt_signed_pct(-0.01) == "0,0\u00a0%"
    assert fmt_signed_pct(12.345, 0) == "+12\u00a0%"
    assert fmt_signed_interval(-3.2, 1.5) == "\u22123,2 till +1,5\u00a0%"


def test_fmt_value_decimals_by_unit():
    assert fmt_value(1234.6, "per_100k") == "1\u00a0235"
    assert fmt_value(87.2, "per_100k") == "87"
    assert fmt_value(21.4, "percent") == "21\u00a0%"
    assert fmt_value(10.0, "percent") == "10\u00a0%"
    assert fmt_value(9.96, "percent") == "10\u00a0%"  # rounds up to 10: no decimal
    assert fmt_value(9.94, "percent") == "9,9\u00a0%"
    assert fmt_value(3.46, "percent") == "3,5\u00a0%"
    assert fmt_value(0, "percent") == "0,0\u00a0%"
    with pytest.raises(ValueError):
        fmt_value(1, "per_1000")


def test_fmt_value_interval_follows_value_decimals():
    assert fmt_value_interval(17.2, 25.1, "percent", 21.0) == "17\u201325\u00a0%"
    assert fmt_value_interval(1.24, 5.86, "percent", 3.5) == "1,2\u20135,9\u00a0%"
    assert fmt_value_interval(971.2, 1563.4, "per_100k", 1241) == "971\u20131\u00a0563"


def test_comparison_and_trend_words():
    assert COMPARISON_TEXT["higher"] == ("\u25b2", "Högre")
    assert COMPARISON_TEXT["lower"] == ("\u25bc", "Lägre")
    assert COMPARISON_TEXT["similar"] == ("\u25cf", "Ingen säker skillnad")
    assert COMPARISON_TEXT["unknown"] == ("?", "Okänt")
    assert comparison_text("higher") == "\u25b2 Högre"
    assert comparison_text(None) == "? Okänt"
    assert comparison_text(pd.NA) == "? Okänt"
    assert comparison_text("bogus") == "? Okänt"
    assert TREND_TEXT["increasing"] == "\u2197 Ökar"
    assert TREND_TEXT["decreasing"] == "\u2198 Minskar"
    assert TREND_TEXT["no_clear_trend"] == "\u2192 Ingen tydlig trend"
    assert TREND_TEXT["unknown"] == "? Okänd trend"
    assert trend_text(float("nan")) == "? Okänd trend"


def test_signal_accounts_for_worse_direction():
    assert comparison_signal("higher") == "bad"
    assert comparison_signal("lower") == "good"
    assert comparison_signal("higher", worse="lower") == "good"
    assert comparison_signal("lower", worse="lower") == "bad"
    assert comparison_signal("similar", worse="lower") == "similar"
    assert comparison_signal(None) == "unknown"
    assert trend_signal("increasing") == "bad"
    assert trend_signal("decreasing") == "good"
    assert trend_signal("decreasing", worse="lower") == "bad"
    assert trend_signal("no_clear_trend") == "similar"
    assert trend_signal("unknown") == "unknown"
    with pytest.raises(ValueError):
        comparison_signal("higher", worse="up")


def test_css_classes():
    assert comparison_css_class("higher") == "cmp-higher-bad"
    assert comparison_css_class("lower") == "cmp-lower-good"
    assert comparison_css_class("higher", "lower") == "cmp-higher-good"
    assert comparison_css_class("lower", "lower") == "cmp-lower-bad"
    assert comparison_css_class("similar") == "cmp-similar"
    assert comparison_css_class(None) == "cmp-unknown"
    assert trend_css_class("increasing") == "trend-increasing-bad"
    assert trend_css_class("decreasing") == "trend-decreasing-good"
    assert trend_css_class("no_clear_trend") == "trend-no_clear_trend"


def _contrast(a: str, b: str) -> float:
    def lum(h):
        c = [int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_palette_contrast():
    for sig in ("bad", "good", "similar"):
        assert _contrast(F.SIGNAL_COLOURS[sig], "#FFFFFF") >= 3.0, sig  # graphics
    for sig in F.SIGNALS:
        assert _contrast(F.SIGNAL_TEXT_COLOURS[sig], F.SIGNAL_BACKGROUNDS[sig]) >= 4.5, sig  # text
        assert _contrast(F.SIGNAL_TEXT_COLOURS[sig], "#FFFFFF") >= 4.5, sig
    assert F.SIGNAL_COLOURS["bad"] == "#D55E00"
    assert F.SIGNAL_COLOURS["good"] == "#0072B2"


def test_a_bound_that_is_not_zero_never_shows_as_zero():
    """Issue 13: "Ökar" beside "KI: 0,0 till +1,6" read as no change; a lower bound of +0,04 gets a
    second decimal, and a bound that really is zero stays "0,0"."""
    from tmb_analysis.formatting import excluding_zero_decimals

    assert fmt_signed_interval(0.04, 1.6) == "+0,04 till +1,60\u00a0%"
    assert fmt_signed_interval(0.004, 1.6) == "+0,004 till +1,600\u00a0%"
    assert fmt_signed_interval(0.0, 1.6) == "0,0 till +1,6\u00a0%"
    assert fmt_signed_interval(-6.6, 8.9) == "\u22126,6 till +8,9\u00a0%"
    assert excluding_zero_decimals(-0.01, 2.0) == 2 and excluding_zero_decimals(0.1, 2.0) == 1


def test_counts_and_lists_in_swedish_words():
    from tmb_analysis.formatting import count_text, join_words

    assert count_text(0, "indikator", "indikatorer") == "inga indikatorer"
    assert count_text(1, "indikator", "indikatorer") == "en indikator"
    assert count_text(1, "förslag", "förslag", neuter=True) == "ett förslag"
    assert count_text(2, "indikator", "indikatorer") == "två indikatorer"
    assert count_text(13, "indikator", "indikatorer") == "13 indikatorer"
    assert join_words(["riket"]) == "riket"
    assert join_words(["länet", "riket"]) == "länet och riket"
    assert join_words(["a", "b", "c"], "eller") == "a, b eller c"
