"""Context indicators ("Annan relevant information", Lag 2023:196, 4 §): the catalogue and the analysis.

The lägesbild holds a mapping of crime, *other relevant information* and an analysis of both. The
other information here is the risk and protective factors that research on local crime prevention
points to, as Kolada (RKA) republishes them per kommun (``config/context_indicators.yaml``), and
their links to the crime and NTU indicators (``config/related_context.yaml``). They are context:
they never become priorities, and every text about them says that a link is no cause.

Catalogue
    :func:`context_catalogue` (the entries, validated with one-line errors naming the file and the
    entry), :func:`related_context` (crime or NTU indicator -> context ids, validated against both
    catalogues) and :func:`context_kpis` (every Kolada KPI ``tmb fetch kolada`` asks for them: the
    value KPIs and their count and denominator KPIs).

Analysis (:func:`compute_context`, one row per area × indicator × year of the store's ``context``
table; docs/metod.md, section 13). Each value is set beside Kolada's riket value, the län and the
kommun's SKR kommungrupp. What can be said depends on what Kolada publishes:

``interval``
    a count and a denominator exist (``count_kpi``): the 95 % Wilson interval of count/denominator,
    and comparisons by the same kind of model as the crime indicators (:mod:`tmb_analysis.variation`:
    the row's binomial variance plus Spiegelhalter's additive between-kommun variance tau2,
    DerSimonian-Laird on winsorised z-scores over all the store's kommuner; the län without the
    kommun itself; the other members of the kommungrupp).
``approximate``
    a value and the exact population it is a share of (``denominator_kpi``): the count is derived as
    round(value × denominator / scale) (``count_derived``) and treated as above; the interval is
    "ungefärligt" because the published value is rounded to one decimal.
``descriptive``
    only a value: no interval and no verdict (``cmp_* = unknown``): the values are shown side by
    side, and the report says that Kolada does not publish how many the share rests on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .configfiles import read_config

#: The themes of the context catalogue, in report order.
THEMES = ("skola", "ekonomisk utsatthet", "arbete", "boende och närmiljö", "socialtjänstens insatser för unga")
UNITS = {"percent": "andel i procent", "per_1000": "per 1 000 invånare i åldersgruppen"}
SCALE = {"percent": 100.0, "per_1000": 1000.0}
MUNICIPALITY_TYPES = ("K", "A")
_KPI_RE = re.compile(r"^[NU]\d{5}$")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: What kind of comparison a row gets (see the module docstring).
COMPARISON_KINDS = ("interval", "approximate", "descriptive")


@dataclass(frozen=True)
class ContextIndicator:
    """One entry of ``config/context_indicators.yaml`` (see the file's header for each field)."""

    id: str
    label: str
    definition: str
    theme: str
    risk_direction: str  # higher | lower: the direction that is the risk
    unit: str  # percent | per_1000
    kolada_kpi: str
    count_kpi: str | None
    denominator_kpis: tuple[str, ...]
    producer: str
    municipality_type: str  # K: kommuner only (no region value) | A: kommuner and regioner
    kolada_title: str = ""
    publ_period: str | None = None
    publication_date: str | None = None

    @property
    def scale(self) -> float:
        """Value = share × scale: 100 for percent, 1000 for per 1 000."""
        return SCALE[self.unit]

    @property
    def comparison_kind(self) -> str:
        """``interval`` (a count KPI), ``approximate`` (a denominator KPI only) or ``descriptive``."""
        if self.count_kpi and self.denominator_kpis:
            return "interval"
        if self.denominator_kpis:
            return "approximate"
        return "descriptive"

    @property
    def unit_label(self) -> str:
        return UNITS[self.unit]

    @property
    def kpis(self) -> tuple[str, ...]:
        """The KPIs this indicator is made of: its value, count and denominator KPIs."""
        return (self.kolada_kpi, *((self.count_kpi,) if self.count_kpi else ()), *self.denominator_kpis)

    @property
    def source_text(self) -> str:
        """'Kolada (RKA), Socialstyrelsen: N31816' (the ``source`` of the store's rows)."""
        return f"Kolada (RKA), {self.producer}: {self.kolada_kpi}"


class ContextCatalogue:
    """The context indicators in catalogue order."""

    def __init__(self, indicators: list[ContextIndicator]):
        self.indicators = list(indicators)
        self._by_id = {i.id: i for i in self.indicators}

    def __iter__(self):
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def __contains__(self, indicator_id) -> bool:
        return indicator_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.indicators]

    def get(self, indicator_id: str) -> ContextIndicator:
        try:
            return self._by_id[indicator_id]
        except KeyError:
            raise KeyError(f"unknown context indicator {indicator_id!r}; known: {', '.join(self.ids)}") from None

    def by_theme(self) -> dict[str, list[ContextIndicator]]:
        """Theme -> its indicators, themes in :data:`THEMES` order."""
        out: dict[str, list[ContextIndicator]] = {t: [] for t in THEMES}
        for ind in self.indicators:
            out[ind.theme].append(ind)
        return {t: inds for t, inds in out.items() if inds}

    def kpi_roles(self) -> dict[str, list[tuple[str, str]]]:
        """Kolada KPI -> [(context id, role)], role ``value`` | ``count`` | ``denominator`` (a
        population KPI such as N01948 can be the denominator of several indicators)."""
        out: dict[str, list[tuple[str, str]]] = {}
        for ind in self.indicators:
            out.setdefault(ind.kolada_kpi, []).append((ind.id, "value"))
            if ind.count_kpi:
                out.setdefault(ind.count_kpi, []).append((ind.id, "count"))
            for kpi in ind.denominator_kpis:
                out.setdefault(kpi, []).append((ind.id, "denominator"))
        return out

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "indicator": i.id, "indicator_label": i.label, "theme": i.theme, "unit": i.unit,
            "risk_direction": i.risk_direction, "kolada_kpi": i.kolada_kpi, "producer": i.producer,
            "municipality_type": i.municipality_type, "comparison_kind": i.comparison_kind,
        } for i in self.indicators], columns=["indicator", "indicator_label", "theme", "unit", "risk_direction",
                                              "kolada_kpi", "producer", "municipality_type", "comparison_kind"])


def _kpi_list(value, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f"{where}: {what} must be a KPI id, a list of KPI ids or null, got {value!r}")
    for kpi in items:
        if not isinstance(kpi, str) or not _KPI_RE.match(kpi):
            raise ValueError(f"{where}: {what} {kpi!r} is not a Kolada KPI id such as N31816")
    return tuple(items)


def load_context_catalogue(path: str | Path | None = None) -> ContextCatalogue:
    """Read and check ``config/context_indicators.yaml`` (or the file at ``path``); a problem raises
    ValueError naming the file, the entry and what was expected."""
    from .catalogue import catalogue

    raw, where = read_config("context_indicators", path)
    entries = raw.get("context")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{where}: expected a list 'context' of context indicators")
    crime_ids = set(catalogue().ids)
    out: list[ContextIndicator] = []
    seen_ids: dict[str, int] = {}
    seen_kpis: dict[str, str] = {}
    for pos, e in enumerate(entries):
        at = f"{where}: context[{pos}]"
        if not isinstance(e, dict):
            raise ValueError(f"{at}: expected a mapping with id, label, definition, theme, …")
        need = ("id", "label", "definition", "theme", "risk_direction", "unit", "kolada_kpi", "producer")
        missing = [k for k in need if not e.get(k)]
        if missing:
            raise ValueError(f"{at}: lacks {', '.join(missing)}")
        cid = str(e["id"])
        at = f"{where}: context[{pos}] ({cid})"
        if not _ID_RE.match(cid):
            raise ValueError(f"{at}: id must be snake_case (a-z, 0-9, _)")
        if cid in seen_ids:
            raise ValueError(f"{at}: id repeats context[{seen_ids[cid]}]")
        if cid in crime_ids:
            raise ValueError(f"{at}: id is already an indicator of indicators.yaml; a context id must be its own")
        seen_ids[cid] = pos
        if e["theme"] not in THEMES:
            raise ValueError(f"{at}: theme {e['theme']!r}, expected one of {', '.join(THEMES)}")
        if e["risk_direction"] not in ("higher", "lower"):
            raise ValueError(f"{at}: risk_direction {e['risk_direction']!r}, expected higher or lower")
        if e["unit"] not in UNITS:
            raise ValueError(f"{at}: unit {e['unit']!r}, expected one of {', '.join(UNITS)}")
        kpi = _kpi_list(e["kolada_kpi"], at, "kolada_kpi")
        if len(kpi) != 1:
            raise ValueError(f"{at}: kolada_kpi must be one KPI id")
        count = _kpi_list(e.get("count_kpi"), at, "count_kpi")
        if len(count) > 1:
            raise ValueError(f"{at}: count_kpi must be one KPI id or null")
        if bool(e.get("has_count", bool(count))) is not bool(count):
            raise ValueError(f"{at}: has_count says {e.get('has_count')!r} but count_kpi is {e.get('count_kpi')!r}")
        denom = _kpi_list(e.get("denominator_kpi"), at, "denominator_kpi")
        if count and not denom:
            raise ValueError(f"{at}: a count_kpi needs its denominator_kpi (the population the count is of)")
        if kpi[0] in seen_kpis:
            raise ValueError(f"{at}: kolada_kpi {kpi[0]} is already the value of {seen_kpis[kpi[0]]}")
        seen_kpis[kpi[0]] = cid
        kol = e.get("kolada") or {}
        mtype = kol.get("municipality_type", "K")
        if mtype not in MUNICIPALITY_TYPES:
            raise ValueError(f"{at}: kolada.municipality_type {mtype!r}, expected K or A")
        out.append(ContextIndicator(
            id=cid, label=str(e["label"]).strip(), definition=str(e["definition"]).strip(), theme=e["theme"],
            risk_direction=e["risk_direction"], unit=e["unit"], kolada_kpi=kpi[0], count_kpi=count[0] if count else None,
            denominator_kpis=denom, producer=str(e["producer"]).strip(), municipality_type=mtype,
            kolada_title=str(kol.get("title") or ""), publ_period=str(kol["publ_period"]) if kol.get("publ_period") else None,
            publication_date=str(kol["publication_date"]) if kol.get("publication_date") else None,
        ))
    roles = ContextCatalogue(out).kpi_roles()
    for kpi, uses in roles.items():
        kinds = {role for _, role in uses}
        if "value" in kinds and len(kinds) > 1:
            other = next(i for i, r in uses if r != "value")
            raise ValueError(f"{where}: KPI {kpi} is the value of {next(i for i, r in uses if r == 'value')} and also "
                             f"a count or denominator of {other}; a KPI has one role")
    from .sources import KOLADA_KPIS

    clash = sorted(set(roles) & set(KOLADA_KPIS))
    if clash:
        raise ValueError(f"{where}: KPI(s) {', '.join(clash)} are already read as crime or NTU indicators (sources.KOLADA_KPIS)")
    return ContextCatalogue(out)


@lru_cache(maxsize=1)
def context_catalogue() -> ContextCatalogue:
    """The packaged context catalogue, loaded once."""
    return load_context_catalogue()


def context_kpis() -> list[str]:
    """Every Kolada KPI the context indicators need, in catalogue order, once each."""
    return list(context_catalogue().kpi_roles())


def load_related_context(path: str | Path | None = None, cat: ContextCatalogue | None = None) -> dict[str, tuple[str, ...]]:
    """Crime or NTU indicator -> its related context ids, from ``config/related_context.yaml`` (or
    ``path``), checked against both catalogues (ValueError naming the file and the link)."""
    from .catalogue import catalogue

    raw, where = read_config("related_context", path)
    cat = cat or context_catalogue()
    crime_cat = catalogue()
    unknown_kinds = set(raw) - {"crime", "survey"}
    if unknown_kinds:
        raise ValueError(f"{where}: unknown section(s) {', '.join(sorted(unknown_kinds))}; expected crime and survey")
    out: dict[str, tuple[str, ...]] = {}
    for kind in ("crime", "survey"):
        links = raw.get(kind) or {}
        if not isinstance(links, dict):
            raise ValueError(f"{where}: {kind} must map indicator ids to lists of context ids")
        kind_ids = {i.id for i in crime_cat.of_kind(kind)}
        for indicator, related in links.items():
            if indicator not in kind_ids:
                raise ValueError(f"{where}: {kind}.{indicator}: not a {kind} indicator of indicators.yaml")
            if not isinstance(related, list) or not related:
                raise ValueError(f"{where}: {kind}.{indicator}: expected a non-empty list of context ids")
            bad = [c for c in related if c not in cat]
            if bad:
                raise ValueError(f"{where}: {kind}.{indicator}: unknown context id(s) {', '.join(map(str, bad))}; "
                                 f"known: {', '.join(cat.ids)}")
            if len(set(related)) != len(related):
                raise ValueError(f"{where}: {kind}.{indicator}: a context id is listed twice")
            out[indicator] = tuple(related)
    return out


@lru_cache(maxsize=1)
def related_context() -> dict[str, tuple[str, ...]]:
    """The packaged links (crime or NTU indicator -> context ids, in the order to mention them)."""
    return load_related_context()
