"""Reading the store: :func:`load_store`, the :class:`Store` and its :class:`Vintage`, the derived population."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DEFAULT_STORE
from ..periods import measured_year
from ..validation import TABLES, DataValidationError, empty_table, to_canonical, validate
from ._common import SOURCES_FILE, _sorted

DERIVED_POPULATION_SOURCE = "härledd från Brå (antal/per 100 000)"
STATUS_SV = {"final": "slutliga", "preliminary": "preliminära"}


class EmptyStoreError(ValueError):
    """The store has no crime and no survey rows (or does not exist)."""


@dataclass(frozen=True)
class Vintage:
    """What a store covers: first and last year of each source kind (for NTU the survey years), and the
    status of the last crime year."""

    crime_first: int | None
    crime_last: int | None
    crime_last_status: str | None
    survey_first: int | None
    survey_last: int | None

    def __str__(self) -> str:
        parts = []
        if self.crime_last is not None:
            status = STATUS_SV.get(self.crime_last_status or "", self.crime_last_status)
            parts.append(f"anmälda brott {self.crime_first}–{self.crime_last} ({self.crime_last} {status} uppgifter)")
        if self.survey_last is not None:
            parts.append(f"NTU {self.survey_first}–{self.survey_last}")
        return ", ".join(parts) or "inga data"


@dataclass
class Store:
    """The canonical tables of a store (canonical dtypes) and its provenance records.

    ``groups`` holds municipality groups (empty, with its columns, when none were imported);
    ``sources`` the provenance records, keyed by the ``source_sha256`` of every row.
    """

    crime: pd.DataFrame
    survey: pd.DataFrame
    population: pd.DataFrame
    groups: pd.DataFrame = field(default_factory=lambda: empty_table("groups"))
    sources: list[dict] = field(default_factory=list)
    store_dir: Path | None = None
    context: pd.DataFrame = field(default_factory=lambda: empty_table("context"))  # Kolada context KPIs (issue 16)

    def source_of(self, sha256: str) -> dict | None:
        """The provenance record of the file with this sha256 (a row's ``source_sha256``)."""
        return next((s for s in self.sources if s.get("sha256") == sha256), None)

    @property
    def is_synthetic(self) -> bool:
        """True when any imported file is example data (listed in an ``exempeldata.json``)."""
        return any(bool(s.get("synthetic")) for s in self.sources)

    @property
    def vintage(self) -> Vintage:
        c, s = self.crime, self.survey
        last = int(c["year"].max()) if len(c) else None
        status = None
        if last is not None:
            st = set(c.loc[c["year"] == last, "status"])
            status = "preliminary" if "preliminary" in st else "final"
        ntu = measured_year(s)  # the survey years (victimisation is labelled by the year before)
        return Vintage(
            crime_first=int(c["year"].min()) if len(c) else None,
            crime_last=last,
            crime_last_status=status,
            survey_first=int(ntu.min()) if len(s) else None,
            survey_last=int(ntu.max()) if len(s) else None,
        )


def derive_population(crime: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """``population`` completed with area-years derived from BRÅ's ``totalt`` count and rate.

    population = round(count / rate_per_100k × 100 000), for area-years without a population row
    and with count and rate > 0; source :data:`DERIVED_POPULATION_SOURCE`.
    """
    tot = crime[(crime["indicator"] == "totalt") & crime["count"].notna() & crime["rate_per_100k"].notna()]
    tot = tot[(tot["count"] > 0) & (tot["rate_per_100k"] > 0)]
    if tot.empty:
        return population.reset_index(drop=True)
    derived = pd.DataFrame(
        {
            "area_code": tot["area_code"].to_numpy(),
            "year": tot["year"].to_numpy(),
            "population": np.rint(
                tot["count"].astype("float64").to_numpy() / tot["rate_per_100k"].astype("float64").to_numpy() * 100_000
            ),
            "source": DERIVED_POPULATION_SOURCE,
        }
    )
    have = pd.MultiIndex.from_frame(population[["area_code", "year"]].astype({"area_code": "str", "year": "int64"}))
    new = ~pd.MultiIndex.from_frame(derived[["area_code", "year"]]).isin(have)
    out = pd.concat([population, to_canonical("population", derived[new])], ignore_index=True)
    return _sorted("population", to_canonical("population", out))


def _read_table(store_dir: Path, name: str) -> pd.DataFrame:
    path = store_dir / f"{name}.parquet"
    if not path.exists():
        return empty_table(name)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise DataValidationError(f"{path}: cannot read the store table: {exc}", origin=str(path)) from None
    return to_canonical(name, df, str(path))


def _read_sources(store_dir: Path) -> list[dict]:
    path = store_dir / SOURCES_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"{path}: cannot read the provenance list: {exc}", origin=str(path)) from None
    if not isinstance(data, list):
        raise DataValidationError(f"{path}: expected a JSON list of provenance records", origin=str(path))
    return data


def _empty_message(store_dir: Path) -> str:
    return (
        f"the store {store_dir} has no crime or survey data; write and import the example data with "
        f"`tmb sample --out data/sample` and `tmb import data/sample --store {store_dir}`, "
        "or import real files with `tmb import PATH...`"
    )


def load_store(store_dir: str | Path = DEFAULT_STORE) -> Store:
    """Read and validate the store; ``population`` includes the derived rows (see the module docstring).

    Raises :class:`EmptyStoreError` when the folder does not exist or holds no crime and no survey rows.
    """
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise EmptyStoreError(_empty_message(store_dir))
    tables = {name: _read_table(store_dir, name) for name in TABLES}
    if tables["crime"].empty and tables["survey"].empty:
        raise EmptyStoreError(_empty_message(store_dir))
    for name, df in tables.items():
        validate(name, df, str(store_dir / f"{name}.parquet"))
    population = derive_population(tables["crime"], tables["population"])
    return Store(
        crime=tables["crime"],
        survey=tables["survey"],
        population=population,
        groups=tables["groups"],
        sources=_read_sources(store_dir),
        store_dir=store_dir,
        context=tables["context"],
    )
