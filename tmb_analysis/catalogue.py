"""The indicator catalogue (``config/indicators.yaml``): ids, Swedish labels, themes."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .config import read_config

SOURCE_KINDS = ("crime", "survey")
THEMES = (
    "totalt",
    "våld",
    "tillgrepp",
    "skadegörelse",
    "narkotika",
    "trafik",
    "otrygghet",
    "oro",
    "utsatthet",
    "problem i bostadsområdet",
)
UNITS = {"per_100k": "per 100 000 invånare", "percent": "andel i procent"}
DEFAULTS = {"crime": {"unit": "per_100k", "worse": "higher"}, "survey": {"unit": "percent", "worse": "higher"}}


class UnknownIndicatorError(KeyError):
    """An indicator id or BRÅ name that the catalogue does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    source_kind: str  # crime | survey
    theme: str
    unit: str  # per_100k | percent
    worse: str  # higher | lower
    bra_names: tuple[str, ...]
    bra_unit: str | None = None
    older_names: tuple[str, ...] = ()
    #: NTU indicators labelled by reference year Y are measured in NTU year Y + ntu_year_offset
    #: (``ntu_reference_year`` in indicators.yaml); 0 for all others.
    ntu_year_offset: int = 0
    #: First year of a comparable series (a recording change before it); None: comparable throughout.
    comparable_from: int | None = None
    #: One line for readers: what is counted, and per what (``definition`` in indicators.yaml).
    definition: str = ""

    def ntu_year(self, year: int) -> int:
        """The NTU (survey) year that measured this indicator's value for ``year``."""
        return int(year) + self.ntu_year_offset

    @property
    def unit_label(self) -> str:
        return UNITS[self.unit]


def _key(text: str) -> str:
    """Normalise a BRÅ indicator name for matching: case, dashes, spaces, final full stop."""
    t = unicodedata.normalize("NFC", str(text)).strip().casefold()
    for dash in ("\u2013", "\u2014", "\u2212", "\u2010", "\u2011"):
        t = t.replace(dash, "-")
    t = " ".join(t.split())
    return t.rstrip(".").strip()


class Catalogue:
    """All indicators, in catalogue order (crime first, then survey)."""

    def __init__(self, indicators: list[Indicator], respondent_names: list[str], not_imported: list[str] = ()):
        self.indicators = indicators
        self._by_id = {i.id: i for i in indicators}
        if len(self._by_id) != len(indicators):
            raise ValueError("indicator ids in the catalogue are not unique")
        self._by_name: dict[str, Indicator] = {}
        for ind in indicators:
            for name in (ind.label, *ind.bra_names, *ind.older_names):
                self._by_name.setdefault(_key(name), ind)
        self._respondents = {_key(n) for n in respondent_names}
        self._not_imported = {_key(n) for n in not_imported}

    def __iter__(self):
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def __contains__(self, indicator_id: str) -> bool:
        return indicator_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.indicators]

    def get(self, indicator_id: str) -> Indicator:
        try:
            return self._by_id[indicator_id]
        except KeyError:
            raise UnknownIndicatorError(
                f"unknown indicator id {indicator_id!r}; known ids: {', '.join(self.ids)}"
            ) from None

    def of_kind(self, source_kind: str) -> list[Indicator]:
        return [i for i in self.indicators if i.source_kind == source_kind]

    def from_bra_name(self, name: str) -> Indicator:
        """The indicator that a BRÅ file calls ``name`` (dash, case and spacing tolerant)."""
        ind = self._by_name.get(_key(name))
        if ind is None:
            raise UnknownIndicatorError(f"unknown BRÅ indicator name {name!r}")
        return ind

    def is_respondent_count(self, name: str) -> bool:
        return _key(name) in self._respondents

    def is_not_imported(self, name: str) -> bool:
        """A BRÅ indicator deliberately left out of the catalogue (``not_imported_names``): readers
        skip it and list it in the import report instead of refusing the file."""
        return _key(name) in self._not_imported

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "indicator": i.id,
                    "indicator_label": i.label,
                    "source_kind": i.source_kind,
                    "theme": i.theme,
                    "unit": i.unit,
                    "worse": i.worse,
                    "comparable_from": i.comparable_from,
                }
                for i in self.indicators
            ]
        )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    raw, where = read_config("indicators", path)
    ref = raw.get("ntu_reference_year") or {}
    offset = int(ref.get("offset", 0))
    ref_ids = set(ref.get("indicators") or [])
    indicators: list[Indicator] = []
    for kind in SOURCE_KINDS:
        for pos, entry in enumerate(raw.get(kind) or []):
            missing = {"id", "label", "theme", "bra_names"} - set(entry)
            if missing:
                raise ValueError(f"{where}: {kind}[{pos}] lacks {', '.join(sorted(missing))}")
            if entry["theme"] not in THEMES:
                raise ValueError(f"{where}: {kind}[{pos}] ({entry['id']}): theme {entry['theme']!r} not in {THEMES}")
            unit = entry.get("unit", DEFAULTS[kind]["unit"])
            worse = entry.get("worse", DEFAULTS[kind]["worse"])
            if unit not in UNITS or worse not in ("higher", "lower"):
                raise ValueError(f"{where}: {entry['id']}: unit must be one of {list(UNITS)}, worse higher|lower")
            definition = entry.get("definition", "")
            if not isinstance(definition, str) or "\n" in definition.strip():
                raise ValueError(f"{where}: {entry['id']}: definition must be one line of text, got {definition!r}")
            comparable = entry.get("comparable_from")
            if comparable is not None and (
                isinstance(comparable, bool) or not isinstance(comparable, int) or not 1900 <= comparable <= 2100
            ):
                raise ValueError(
                    f"{where}: {entry['id']}: comparable_from must be a year such as 2020, got {comparable!r}"
                )
            indicators.append(
                Indicator(
                    id=entry["id"],
                    label=entry["label"],
                    source_kind=kind,
                    theme=entry["theme"],
                    unit=unit,
                    worse=worse,
                    bra_names=tuple(entry["bra_names"]),
                    bra_unit=entry.get("bra_unit"),
                    older_names=tuple(entry.get("older_names") or ()),
                    ntu_year_offset=offset if entry["id"] in ref_ids else 0,
                    comparable_from=comparable,
                    # numbers as the reports write them: a no-break space in "100 000"
                    definition=" ".join(definition.split()).replace("100 000", "100\u00a0000"),
                )
            )
    unknown = ref_ids - {i.id for i in indicators if i.source_kind == "survey"}
    if unknown:
        raise ValueError(
            f"{where}: ntu_reference_year lists {', '.join(sorted(unknown))}, which are not NTU indicators"
        )
    return Catalogue(indicators, raw.get("ntu_respondents_names") or [], raw.get("not_imported_names") or [])


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The packaged catalogue, loaded once."""
    return load_catalogue()
