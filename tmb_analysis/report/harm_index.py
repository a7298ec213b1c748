"""The harm-weighted crime index against riket: computed once per run, as a sentence and as table cells."""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML

from ..formatting import comparison_text, fmt_number
from ..priorities import harm_index
from ._common import LAGESBILD_FILE, MISSING, _has_riket
from .memo import _shared
from .parameters import ReportContext
from .snippets import esc


def _harm_index(ctx: ReportContext) -> pd.DataFrame:
    """The harm-weighted crime index of every area in the round's crime year, indexed by area code."""
    year = ctx.crime_year
    if year is None:
        return pd.DataFrame(columns=["harm_index", "riket_index", "reason"])
    return _shared(
        ctx.results,
        ("harm_index", year),
        lambda: harm_index(ctx.results[ctx.results["year"] == year]).set_index("area_code"),
    )


def _harm_index_cells(row) -> tuple[str, str, str]:
    """(index with riket = 100, its 95 % interval on the same scale, comparison as symbol and word)."""
    if row is None or pd.isna(row["harm_index"]) or pd.isna(row["riket_index"]) or not row["riket_index"]:
        return "–", "–", comparison_text("unknown")
    scale = 100 / row["riket_index"]
    return (
        fmt_number(row["index_vs_riket"]),
        f"{fmt_number(row['ci_low'] * scale)}–{fmt_number(row['ci_high'] * scale)}",
        comparison_text(row["cmp_riket"]),
    )


def _harm_index_missing(ctx: ReportContext, row) -> str:
    """Why an area's harm index cannot be given, and which file brings what is missing."""
    if ctx.crime_year is None:
        return MISSING["crime"]
    if row is not None and isinstance(row.get("reason"), str) and row["reason"]:
        return f"{row['reason']}; alla brottsindikatorerna som indexet väger samman kommer med {LAGESBILD_FILE}"
    if not _has_riket(ctx, "crime"):
        return MISSING["riket"]
    return "data saknas"


def harm_index_summary(ctx: ReportContext) -> HTML:
    """One paragraph: the area's harm-weighted crime index against riket (= 100), with its interval."""
    index = _harm_index(ctx)
    row = index.loc[ctx.area.code] if ctx.area.code in index.index else None
    value, interval, cmp = _harm_index_cells(row)
    year = ctx.crime_year
    if value == "–":
        return HTML(
            f"<p class='missing'>Skadeviktat brottsindex{f' {year}' if year else ''}: kan inte beräknas; "
            f"{esc(_harm_index_missing(ctx, row))}.</p>"
        )
    words = {
        "higher": "högre än riket enligt intervallet",
        "lower": "lägre än riket enligt intervallet",
        "similar": "ingen säker skillnad mot riket",
    }.get(row["cmp_riket"], "jämförelsen med riket är osäker")
    return HTML(
        f"<p><strong>Skadeviktat brottsindex {year}: {value}</strong> (riket = 100; 95 % konfidensintervall "
        f"{interval}), {words}. Indexet väger samman de anmälda brotten efter hur allvarliga de är, med skadevikterna "
        "i <a href='metod.html'>metodbeskrivningen</a>, så att några grova brott väger mer än många lindriga.</p>"
    )
