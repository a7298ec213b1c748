"""Which year each source is reported for: the report's *round*.

BRÅ publishes NTU a year ahead of reported crime for part of every year (NTU 2025 in December,
crime 2025 the following March), and a user may hold one source only. A report for year ``Y``
therefore shows, per area and source kind (``crime``, ``survey``), the latest year up to and
including ``Y`` for which the area has data: ``--year Y`` means "up to and including Y", and the
default ``Y`` is the latest year in the store. The rows of those years are the report's round; the
priorities of a report rank the candidates of its round, so that crime 2024 and NTU 2025 are weighed
together rather than leaving one source out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SOURCE_KINDS", "default_report_year", "round_mask", "source_years"]

SOURCE_KINDS = ("crime", "survey")


def default_report_year(results: pd.DataFrame) -> int:
    """The latest year in the results table (0 for an empty table)."""
    years = pd.to_numeric(results["year"], errors="coerce").dropna()
    return int(years.max()) if len(years) else 0


def _has_value(results: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(results["value"], errors="coerce").notna().to_numpy()


def round_mask(results: pd.DataFrame, report_year: int | None = None) -> np.ndarray:
    """Boolean mask of the rows in each area's round for ``report_year`` (default: the latest year).

    Per area and source kind, the round holds the rows of the latest year ``<= report_year`` with a
    value. An area without any row of a source kind up to that year has no rows of it in the round.
    """
    cap = default_report_year(results) if not report_year else int(report_year)
    year = pd.to_numeric(results["year"], errors="coerce").to_numpy(dtype=float)
    usable = _has_value(results) & (year <= cap)
    if not usable.any():
        return np.zeros(len(results), dtype=bool)
    keys = pd.MultiIndex.from_arrays([results["area_code"].astype(str).to_numpy(),
                                      results["source_kind"].astype(str).to_numpy()])
    latest = pd.Series(np.where(usable, year, -np.inf), index=keys).groupby(level=[0, 1]).max()
    return usable & (latest.reindex(keys).to_numpy() == year)


def source_years(results: pd.DataFrame, area_code: str, report_year: int | None = None) -> dict[str, int | None]:
    """For one area: the year each source kind is reported for (None where it has no data)."""
    rows = results[results["area_code"].astype(str) == str(area_code)]
    cap = default_report_year(results) if not report_year else int(report_year)
    out: dict[str, int | None] = {}
    for kind in SOURCE_KINDS:
        sub = rows[(rows["source_kind"] == kind) & _has_value(rows)]
        years = pd.to_numeric(sub["year"], errors="coerce")
        years = years[years <= cap]
        out[kind] = int(years.max()) if len(years) else None
    return out
