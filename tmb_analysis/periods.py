"""Which year each source is reported for: the report's *round*.

BRÅ publishes NTU a year ahead of reported crime for part of every year (NTU 2025 in December,
crime 2025 the following March), and a user may hold one source only. A report for year ``Y``
therefore shows, per area and source kind (``crime``, ``survey``), the latest year up to and
including ``Y`` for which the area has data: ``--year Y`` means "up to and including Y", and the
default ``Y`` is the latest year in the store. The rows of those years are the report's round; the
priorities of a report rank the candidates of its round, so that crime 2024 and NTU 2025 are weighed
together rather than leaving one source out.

The year of an NTU row is the year of the *survey* that measured it: self-reported victimisation is
labelled by reference year Y and measured in NTU Y+1 (``ntu_reference_year`` in the catalogue), so
the round of NTU 2025 holds otrygghet 2025 and utsatthet 2024 (:func:`measured_year`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "SOURCE_KINDS",
    "default_report_year",
    "lan_source_years",
    "period_split",
    "round_mask",
    "source_years",
    "vintage_text",
    "year_for",
    "year_mask",
    "years_text",
]

SOURCE_KINDS = ("crime", "survey")


def default_report_year(results: pd.DataFrame) -> int:
    """The latest year any source measured in the results table (0 for an empty table)."""
    years = measured_year(results)
    years = years[np.isfinite(years)]
    return int(years.max()) if len(years) else 0


def _has_value(results: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(results["value"], errors="coerce").notna().to_numpy()


def measured_year(results: pd.DataFrame) -> np.ndarray:
    """The year each row's source measured it: the row's year, plus the catalogue's NTU offset for
    victimisation (reference year Y -> NTU Y+1). Rows without an indicator column keep their year."""
    year = pd.to_numeric(results["year"], errors="coerce").to_numpy(dtype=float)
    if "indicator" not in results or not len(results):
        return year
    from .catalogue import catalogue

    offsets = {i.id: i.ntu_year_offset for i in catalogue() if i.ntu_year_offset}
    if not offsets:
        return year
    codes, indicators = pd.factorize(results["indicator"], use_na_sentinel=True)
    per_code = np.array([float(offsets.get(ind, 0)) for ind in indicators] + [0.0])  # -1 (missing): no offset
    return year + per_code[codes]


def round_mask(results: pd.DataFrame, report_year: int | None = None) -> np.ndarray:
    """Boolean mask of the rows in each area's round for ``report_year`` (default: the latest year).

    Per area and source kind, the round holds the rows of the latest year ``<= report_year`` with a
    value. An area without any row of a source kind up to that year has no rows of it in the round.
    """
    cap = default_report_year(results) if not report_year else int(report_year)
    year = measured_year(results)
    usable = _has_value(results) & (year <= cap)
    if not usable.any():
        return np.zeros(len(results), dtype=bool)
    keys = pd.MultiIndex.from_arrays(
        [results["area_code"].astype(str).to_numpy(), results["source_kind"].astype(str).to_numpy()]
    )
    latest = pd.Series(np.where(usable, year, -np.inf), index=keys).groupby(level=[0, 1]).max()
    return usable & (latest.reindex(keys).to_numpy() == year)


def source_years(results: pd.DataFrame, area_code: str, report_year: int | None = None) -> dict[str, int | None]:
    """For one area: the year each source kind is reported for (None where it has no data); for NTU the
    survey year."""
    rows = results[results["area_code"].astype(str) == str(area_code)]
    cap = default_report_year(results) if not report_year else int(report_year)
    out: dict[str, int | None] = {}
    for kind in SOURCE_KINDS:
        sub = rows[(rows["source_kind"] == kind) & _has_value(rows)]
        years = measured_year(sub)
        years = years[years <= cap]
        out[kind] = int(years.max()) if len(years) else None
    return out


def lan_source_years(results: pd.DataFrame, lan_code: str, report_year: int | None = None) -> dict[str, int | None]:
    """For a county overview: the year of each source kind over the län and its kommuner (the län's own
    row may be missing when neither BRÅ's file nor a complete set of kommuner gives it)."""
    lan_code = str(lan_code)
    codes = results["area_code"].astype(str)
    mine = results[(codes == lan_code) | ((results["area_level"] == "kommun") & (codes.str[:2] == lan_code))]
    return source_years(mine.assign(area_code=lan_code), lan_code, report_year or default_report_year(results))


YearSpec = "int | dict[str, int | None]"


def year_for(year, kind: str) -> int | None:
    """The year of ``kind`` in a year spec: an int (every source), or a mapping source kind -> year."""
    if isinstance(year, dict):
        y = year.get(kind)
        return None if y is None else int(y)
    return int(year)


def year_mask(results: pd.DataFrame, year) -> np.ndarray:
    """Rows of ``year``: an int (the rows' own year), or a mapping source kind -> year of the round,
    each row matched by its own kind and measured year (utsatthet 2024 is in the round of NTU 2025)."""
    if not isinstance(year, dict):
        return pd.to_numeric(results["year"], errors="coerce").to_numpy(dtype=float) == int(year)
    years = measured_year(results)
    kinds = results["source_kind"]
    wanted = np.full(len(results), np.nan)
    for kind, y in year.items():
        if y is not None:
            wanted[(kinds == kind).to_numpy(dtype=bool, na_value=False)] = float(y)
    return years == wanted


def years_text(year) -> str:
    """'2024', or 'anmälda brott 2024, NTU 2025' for a per-source spec (a missing source is left out)."""
    if not isinstance(year, dict):
        return str(int(year))
    crime, survey = year.get("crime"), year.get("survey")
    if crime is not None and survey is not None and crime == survey:
        return str(crime)
    parts = ([f"anmälda brott {crime}"] if crime is not None else []) + (
        [f"NTU {survey}"] if survey is not None else []
    )
    return ", ".join(parts) or "inga data"


def _span(first, last) -> str:
    return str(int(first)) if int(first) == int(last) else f"{int(first)}–{int(last)}"


def vintage_text(results: pd.DataFrame, area_code: str | None = None) -> str:
    """The Swedish data line: the years of each source (of one area, or of the whole table), the status of
    the crime figures, and which NTU years are reference years. The one home of the wording used by the
    reports' "Data:" line, the site index and the manifest, e.g.
    'anmälda brott 2017–2024 (slutlig statistik); NTU 2017–2025 (utsatthet för brott avser året före
    undersökningen: 2016–2024)'."""
    from .catalogue import catalogue

    r = results if area_code is None else results[results["area_code"].astype(str) == str(area_code)]
    r = r[_has_value(r)]
    parts = []
    crime = r[r["source_kind"] == "crime"]
    if len(crime):
        prel = sorted(set(crime.loc[crime["status"] == "preliminary", "year"].astype(int)))
        status = "slutlig statistik" if not prel else f"preliminär statistik för {', '.join(map(str, prel))}"
        parts.append(f"anmälda brott {_span(crime['year'].min(), crime['year'].max())} ({status})")
    survey = r[r["source_kind"] == "survey"]
    if len(survey):
        cat = catalogue()
        offset = np.array([cat.get(i).ntu_year_offset if i in cat else 0 for i in survey["indicator"]], dtype=int)
        years = survey["year"].astype(int).to_numpy()
        ntu = years + offset
        notes = []
        if offset.any():
            ref = years[offset > 0]
            notes.append(f"utsatthet för brott avser året före undersökningen: {_span(ref.min(), ref.max())}")
        if "period" in survey:
            pooled = survey["period"].astype(str).to_numpy() != survey["year"].astype(str).to_numpy()
            if pooled.any():
                periods = sorted(set(survey.loc[pooled, "period"]))
                notes.append(
                    f"kommunvärden för tvåårsperioder, {periods[0]} till {periods[-1]}"
                    if len(periods) > 1
                    else f"kommunvärden för tvåårsperioden {periods[0]}"
                )
        parts.append(f"NTU {_span(ntu.min(), ntu.max())}" + (f" ({'; '.join(notes)})" if notes else ""))
    return "; ".join(parts) if parts else "inga data"


def period_split(res: pd.DataFrame) -> np.ndarray:
    """True for the rows of pooled two-year NTU estimates (``period`` '2017–2018'), False for yearly rows.

    The statistics keep the two apart: a pooled value is compared only with a benchmark of the same
    period, pooled and yearly values are never in the same trend, shrinkage prior or funnel.
    """
    if "period" not in res:
        return np.zeros(len(res), dtype=bool)
    return res["period"].astype(str).to_numpy() != res["year"].astype(str).to_numpy()
