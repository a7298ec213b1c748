"""A report's parameters checked and what it needs loaded: the area, the report year, the results, the round."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..catalogue import catalogue
from ..geography import Area, UnknownAreaError, parse_code, registry
from ..periods import default_report_year, lan_source_years, source_years
from ..results import load_results


class ParameterError(ValueError):
    """A notebook parameter that is not what the notebook expects."""


@dataclass
class ReportContext:
    """What a report needs: the area, the report year (``--year``: up to and including it), the
    results and, per source kind, the year the report shows (:mod:`tmb_analysis.periods`: crime at
    its latest year, NTU at its own; None where the store has none)."""

    area: Area
    year: int
    store_dir: Path
    results: pd.DataFrame
    synthetic: bool
    sources: list
    source_years: dict = field(default_factory=dict)

    @property
    def lan(self) -> Area:
        return registry().area(self.area.lan_code)

    @property
    def years(self) -> tuple[int, int]:
        ys = self.results["year"]
        return int(ys.min()), int(ys.max())

    @property
    def crime_year(self) -> int | None:
        return self.source_years.get("crime")

    @property
    def survey_year(self) -> int | None:
        return self.source_years.get("survey")

    def year_of(self, indicator: str) -> int | None:
        """The round's year for an indicator (its source kind's year; None when the source is missing)."""
        return self.source_years.get(catalogue().get(indicator).source_kind)


def _check_code(value, kind: str) -> str:
    try:
        return parse_code(kind, value)
    except UnknownAreaError as exc:
        raise ParameterError(f"parameter {kind!r}: {exc}") from None


def context(code, store: str | Path, year: int = 0, kind: str = "kommun") -> ReportContext:
    """Validate a notebook's parameters and load what its report needs."""
    code = _check_code(code, kind)
    if not isinstance(year, int) or isinstance(year, bool):
        raise ParameterError(f"parameter 'year' must be an integer (0 = latest), got {year!r}")
    results, st = load_results(store, year)
    area = registry().area(code)
    first = int(pd.to_numeric(results["year"], errors="coerce").min()) if len(results) else 0
    if year == 0:
        year = default_report_year(results)
    elif year < first:
        raise ParameterError(f"year {year}: the store {store} has no data up to {year} (its first year is {first})")
    years = source_years(results, code, year) if kind == "kommun" else lan_source_years(results, code, year)
    return ReportContext(area, year, Path(store).resolve(), results, st.is_synthetic, list(st.sources), years)
