"""Shared by the report's sections: the round's rows and ranks, which values exist, what is missing and where from."""

from __future__ import annotations

import pandas as pd

from ..benchmarks import BENCHMARK_DERIVED
from ..catalogue import catalogue
from ..formatting import join_words
from ..geography import RIKET_CODE, registry
from ..periods import vintage_text, year_mask
from ..sources import credit
from .parameters import ReportContext
from .snippets import esc


def _latest(ctx: ReportContext, code: str | None = None) -> pd.DataFrame:
    """The rows of the report's round for the area (or ``code``): each source at its own year."""
    r = ctx.results
    return r[(r["area_code"] == (code or ctx.area.code)).to_numpy() & year_mask(r, ctx.source_years)]


def _vintage_line(ctx: ReportContext) -> str:
    r = ctx.results
    if ctx.area.level == "lan":
        codes = r["area_code"].astype(str)
        r = r[(codes == ctx.area.code) | ((r["area_level"] == "kommun") & (codes.str[:2] == ctx.area.code))]
        return vintage_text(r)
    return vintage_text(r, ctx.area.code)


#: What is missing, and which file brings it: one sentence each, for sections with nothing to show.
LAGESBILD_FILE = (
    "Brå:s indikatorer för kommuners lägesbild (kommunens arbetsbok från bra.se eller samma tabell i lång form)"
)


MISSING = {
    "crime": "anmälda brott saknas i datalagret; de kommer med "
    + LAGESBILD_FILE
    + " eller en export ur Brå:s statistikdatabas (Databasfil.txt)",
    "survey": "resultat från Nationella trygghetsundersökningen (NTU) saknas i datalagret; de kommer med "
    + LAGESBILD_FILE,
    "riket": "rikets värden saknas i datalagret; de kommer med "
    + LAGESBILD_FILE
    + " (raderna för Hela landet) eller en fil med alla 290 kommuner, som Brå:s årliga kommunfil",
    "lan": "länets värden saknas i datalagret; de kommer med "
    + LAGESBILD_FILE
    + ", eller beräknas när alla länets kommuner finns med",
}


def missing_sentence(what: str, subject: str = "") -> str:
    """'För Falun kommun: anmälda brott saknas …; de kommer med …' as one HTML paragraph."""
    text = MISSING[what]
    text = (f"För {subject}: {text}" if subject else text[0].upper() + text[1:]) + "."
    return f"<p class='missing'>{esc(text)}</p>"


def _header_years(ctx: ReportContext) -> str:
    """'anmälda brott 2024, NTU 2025' (a missing source says so)."""
    crime = f"anmälda brott {ctx.crime_year}" if ctx.crime_year is not None else "anmälda brott saknas"
    survey = f"NTU {ctx.survey_year}" if ctx.survey_year is not None else "NTU saknas"
    return f"{crime}, {survey}"


def _has_riket(ctx: ReportContext, kind: str = "crime") -> bool:
    """Does the store (with derived benchmarks) hold riket's values for this source in the round?"""
    r = ctx.results
    return bool(
        (
            (r["area_code"] == RIKET_CODE).to_numpy()
            & (r["source_kind"] == kind).to_numpy()
            & year_mask(r, ctx.source_years)
            & pd.to_numeric(r["value"], errors="coerce").notna().to_numpy()
        ).any()
    )


def _sources_line(ctx: ReportContext, provides: dict[str, str] | None = None) -> str:
    """'Källa: Brå', or 'Källor: Brå, Kolada (RKA) och SCB' (each credit once, never 'Källa:' twice); with
    ``provides`` (publisher: what its files give) each name is followed by that in brackets."""
    pubs = sorted({s.get("publisher", "") for s in ctx.sources} - {""}) or ["Brå"]
    given = provides or {}
    names = list(
        dict.fromkeys(credit(p).removeprefix("Källa: ") + (f" ({given[p]})" if given.get(p) else "") for p in pubs)
    )
    return ("Källa: " if len(names) == 1 else "Källor: ") + join_words(names)


def _derived_benchmarks(ctx: ReportContext) -> str:
    """A sentence naming the benchmarks of the round computed from the kommuner ('' when none)."""
    r = ctx.results
    if "benchmark_source" not in r:
        return ""
    sel = r[
        (r["benchmark_source"] == BENCHMARK_DERIVED).to_numpy()
        & year_mask(r, ctx.source_years)
        & r["area_code"].isin([ctx.area.lan_code, RIKET_CODE]).to_numpy()
    ]
    names = [registry().name(c) if c != RIKET_CODE else "riket" for c in dict.fromkeys(sel["area_code"])]
    if not names:
        return ""
    return (
        f"Värdena för {' och '.join(names)} är beräknade från kommunerna (summan av de anmälda brotten delad med "
        "summan av befolkningen), eftersom Brå:s egen siffra saknas i datalagret och alla kommuner finns med."
    )


def _has_values(ctx: ReportContext, indicator: str, codes, year=None) -> bool:
    r = ctx.results
    sel = (
        (r["indicator"] == indicator).to_numpy()
        & r["area_code"].astype(str).isin(list(codes)).to_numpy()
        & pd.to_numeric(r["value"], errors="coerce").notna().to_numpy()
    )
    if year is not None:
        sel &= year_mask(r, year)
    return bool(sel.any())


def _ranked(ctx: ReportContext, code: str | None = None) -> pd.DataFrame:
    """The area's ranked rows: the results table ranks one round per area (crime and NTU each at its
    latest year up to the report year, ``periods.round_mask``), so they may span two years."""
    r = ctx.results
    if "priority_rank" not in r:
        return r.iloc[0:0]
    rows = r[(r["area_code"] == (code or ctx.area.code)) & r["priority_rank"].notna()]
    return rows.sort_values("priority_rank")


def first_priority(ctx: ReportContext) -> str | None:
    """The indicator ranked first for the area's round, or None when nothing is ranked."""
    rows = _ranked(ctx)
    if "priority_rank" not in rows:
        return None
    ranked = rows[rows["priority_rank"] == 1]
    return str(ranked["indicator"].iloc[0]) if len(ranked) else None


def _has(ctx: ReportContext, col: str) -> bool:
    return col in ctx.results.columns


def _round_year(ctx: ReportContext, indicator: str) -> int | None:
    """The year label of an indicator's row in the round (a victimisation row: the year before its NTU)."""
    ind = catalogue().get(indicator) if indicator in catalogue() else None
    year = ctx.source_years.get(ind.source_kind) if ind else None
    return None if year is None else year - ind.ntu_year_offset


def _lan_indicators(ctx: ReportContext, indicators) -> list[str]:
    """The indicators some kommun of the län has a value for in the round."""
    codes = [k.code for k in registry().kommuner(ctx.area.code)]
    return [i for i in indicators if _has_values(ctx, i, codes, ctx.source_years)]


def _lan_round(ctx: ReportContext) -> pd.DataFrame:
    """The round's rows of the län's kommuner."""
    r = ctx.results
    return r[
        year_mask(r, ctx.source_years)
        & (r["area_level"] == "kommun").to_numpy()
        & (r["lan_code"] == ctx.area.code).to_numpy()
    ]
