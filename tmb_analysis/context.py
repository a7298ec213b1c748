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
table; docs/metod.md, section 15). Each value is set beside Kolada's riket value, the län and the
kommun's SKR kommungrupp. What can be said depends on what Kolada publishes:

``interval``
    a count and a denominator exist (``count_kpi``): the 95 % Wilson interval of count/denominator,
    and comparisons by the same kind of model as the crime indicators (:mod:`tmb_analysis.variation`:
    the row's binomial variance plus Spiegelhalter's additive between-kommun variance tau2,
    DerSimonian-Laird (without winsorising, ``context.winsor``) over all the store's kommuner; the län without the
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

from .config import read_config

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
        return pd.DataFrame(
            [
                {
                    "indicator": i.id,
                    "indicator_label": i.label,
                    "theme": i.theme,
                    "unit": i.unit,
                    "risk_direction": i.risk_direction,
                    "kolada_kpi": i.kolada_kpi,
                    "producer": i.producer,
                    "municipality_type": i.municipality_type,
                    "comparison_kind": i.comparison_kind,
                }
                for i in self.indicators
            ],
            columns=[
                "indicator",
                "indicator_label",
                "theme",
                "unit",
                "risk_direction",
                "kolada_kpi",
                "producer",
                "municipality_type",
                "comparison_kind",
            ],
        )


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
        out.append(
            ContextIndicator(
                id=cid,
                label=str(e["label"]).strip(),
                definition=str(e["definition"]).strip(),
                theme=e["theme"],
                risk_direction=e["risk_direction"],
                unit=e["unit"],
                kolada_kpi=kpi[0],
                count_kpi=count[0] if count else None,
                denominator_kpis=denom,
                producer=str(e["producer"]).strip(),
                municipality_type=mtype,
                kolada_title=str(kol.get("title") or ""),
                publ_period=str(kol["publ_period"]) if kol.get("publ_period") else None,
                publication_date=str(kol["publication_date"]) if kol.get("publication_date") else None,
            )
        )
    roles = ContextCatalogue(out).kpi_roles()
    for kpi, uses in roles.items():
        kinds = {role for _, role in uses}
        if "value" in kinds and len(kinds) > 1:
            other = next(i for i, r in uses if r != "value")
            raise ValueError(
                f"{where}: KPI {kpi} is the value of {next(i for i, r in uses if r == 'value')} and also "
                f"a count or denominator of {other}; a KPI has one role"
            )
    from .sources import KOLADA_KPIS

    clash = sorted(set(roles) & set(KOLADA_KPIS))
    if clash:
        raise ValueError(
            f"{where}: KPI(s) {', '.join(clash)} are already read as crime or NTU indicators (sources.KOLADA_KPIS)"
        )
    return ContextCatalogue(out)


@lru_cache(maxsize=1)
def context_catalogue() -> ContextCatalogue:
    """The packaged context catalogue, loaded once."""
    return load_context_catalogue()


def context_kpis() -> list[str]:
    """Every Kolada KPI the context indicators need, in catalogue order, once each."""
    return list(context_catalogue().kpi_roles())


def load_related_context(
    path: str | Path | None = None, cat: ContextCatalogue | None = None
) -> dict[str, tuple[str, ...]]:
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
                raise ValueError(
                    f"{where}: {kind}.{indicator}: unknown context id(s) {', '.join(map(str, bad))}; "
                    f"known: {', '.join(cat.ids)}"
                )
            if len(set(related)) != len(related):
                raise ValueError(f"{where}: {kind}.{indicator}: a context id is listed twice")
            out[indicator] = tuple(related)
    return out


@lru_cache(maxsize=1)
def related_context() -> dict[str, tuple[str, ...]]:
    """The packaged links (crime or NTU indicator -> context ids, in the order to mention them)."""
    return load_related_context()


# --------------------------------------------------------------------------- #
# The analysis
# --------------------------------------------------------------------------- #
#: The columns of :func:`compute_context`, in order (the results table's names where they mean the same).
CONTEXT_COLUMNS = [
    "area_code",
    "area_name",
    "area_level",
    "lan_code",
    "indicator",
    "indicator_label",
    "source_kind",
    "theme",
    "unit",
    "risk_direction",
    "year",
    "value",
    "ci_low",
    "ci_high",
    "count",
    "population",
    "count_derived",
    "comparison_kind",
    "lan_value",
    "lan_basis",
    "lan_n_kommuner",
    "riket_value",
    "group_value",
    "group_title",
    "group_basis",
    "cmp_lan",
    "cmp_riket",
    "cmp_group",
    "cmp_reason",
    "model_tau2",
    "model_n_areas",
    "priority_rank",
    "producer",
    "kolada_kpi",
    "source",
]
#: How a benchmark value was made: Kolada's own figure, pooled counts of the kommuner, or the
#: unweighted mean of the kommuner's values ("ovägt medel", as Kolada calls its group means).
BASES = ("published", "pooled", "unweighted")
DESCRIPTIVE_REASON = (
    "beskrivande jämförelse: Kolada redovisar inte hur många andelen bygger på, så en verklig "
    "skillnad kan inte skiljas från slump"
)


def _f(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


def _config(settings: dict | None) -> dict:
    """config/analysis.yaml with ``settings`` merged in, exactly as the crime indicators get it."""
    from .priorities import analysis_settings

    return analysis_settings(settings)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in CONTEXT_COLUMNS})


def _tau2(
    p: np.ndarray,
    var: np.ndarray,
    centre: np.ndarray,
    ind_year: np.ndarray,
    ind: np.ndarray,
    year: np.ndarray,
    use: np.ndarray,
    mcfg: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """Spiegelhalter's additive between-area variance per row: DerSimonian-Laird on (``context.winsor``-winsorised)
    z-scores around riket (:func:`statistics.dl_tau2`) per indicator and year, pooled over the last
    ``tau2_years`` years of the indicator; NaN where fewer than ``min_areas`` areas have a count."""
    from . import statistics as st

    n = len(p)
    tau2, n_areas = np.full(n, np.nan), np.zeros(n)
    rows = np.flatnonzero(use)
    if not len(rows):
        return tau2, n_areas
    codes, uniq = pd.factorize(ind_year[rows])
    d = st.dl_tau2(p[rows], var[rows], centre=centre[rows], groups=codes, winsor=float(mcfg.get("winsor", 0.10)))
    keys = pd.DataFrame(
        {
            "key": uniq,
            "excess": d["excess"].fillna(0.0).to_numpy(),
            "denom": d["denom"].fillna(0.0).to_numpy(),
            "n": d["n"].to_numpy(),
        }
    )
    keys["ind"] = [k.split("|")[0] for k in keys["key"]]
    keys["year"] = [int(k.split("|")[1]) for k in keys["key"]]
    k_years = int(mcfg.get("tau2_years", 3))
    min_areas = int(mcfg.get("min_areas", 10))
    pooled = {}
    for r in keys.itertuples(index=False):
        window = keys[(keys["ind"] == r.ind) & (keys["year"] <= r.year) & (keys["year"] > r.year - k_years)]
        e, dd = window["excess"].sum(), window["denom"].sum()
        pooled[r.key] = (max(0.0, e / dd) if dd > 0 and r.n >= min_areas else np.nan, r.n)
    t = np.array([pooled.get(k, (np.nan, 0))[0] for k in ind_year])
    m = np.array([pooled.get(k, (np.nan, 0))[1] for k in ind_year], dtype=float)
    return t, m


def compute_context(store, settings: dict | None = None) -> pd.DataFrame:
    """The context results: one row per area × indicator × year of ``store.context`` (see the module
    docstring; docs/metod.md, section 15). ``settings`` overrides parts of config/analysis.yaml.

    Columns (:data:`CONTEXT_COLUMNS`): the value as Kolada publishes it; ``ci_low``/``ci_high`` the
    95 % Wilson interval of count/population (scaled to the unit) where a count exists or is derived
    (``count_derived``); ``comparison_kind`` (:data:`COMPARISON_KINDS`); the benchmarks ``lan_value``
    (``lan_basis``: :data:`BASES`; ``lan_n_kommuner`` kommuner behind an unweighted mean),
    ``riket_value`` and ``group_value`` (the other members of the kommun's SKR kommungrupp,
    ``group_title``); ``cmp_lan`` (against the län without the kommun), ``cmp_riket``, ``cmp_group``
    (``higher`` | ``lower`` | ``similar`` | ``unknown``, one comparison at a time at ``model.level``;
    always ``unknown`` for a descriptive row) with ``cmp_reason``; ``model_tau2`` (between-kommun
    variance on the share scale) and ``model_n_areas``. ``priority_rank`` is always empty: context
    indicators never become priorities.
    """
    from . import statistics as st
    from .geography import RIKET_CODE, registry

    table = getattr(store, "context", None)
    if table is None or len(table) == 0:
        return _empty()
    cfg = _config(settings)
    mcfg, gcfg = dict(cfg["model"]), cfg["groups"]
    mcfg["winsor"] = float((cfg.get("context") or {}).get("winsor", mcfg.get("winsor", 0.10)))
    level_ = float(mcfg.get("level", 0.95))
    cat = context_catalogue()
    reg = registry()
    res = table[["area_code", "year", "indicator", "value", "count", "denominator", "source"]].copy()
    res = res[res["indicator"].isin(cat.ids)].reset_index(drop=True)
    res = res.merge(reg.frame(), on="area_code", how="left")
    meta = cat.frame()
    res = res.merge(meta, on="indicator", how="left")
    order = {code: i for i, code in enumerate(a.code for a in reg.areas())}
    ind_order = {i: k for k, i in enumerate(cat.ids)}
    res = res.assign(_a=res["area_code"].map(order), _i=res["indicator"].map(ind_order))
    res = res.sort_values(["_i", "year", "_a"]).drop(columns=["_a", "_i"]).reset_index(drop=True)
    n_rows = len(res)
    scale = np.array([SCALE[u] for u in res["unit"]], dtype=float)
    value = _f(res["value"])
    published = _f(res["count"])
    den = _f(res["denominator"])
    has_den = np.isfinite(den) & (den > 0)
    derived = ~np.isfinite(published) & has_den & np.isfinite(value)
    count = np.where(np.isfinite(published), published, np.where(derived, np.rint(value / scale * den), np.nan))
    count = np.where(has_den, np.clip(count, 0, den), np.nan)
    has_n = np.isfinite(count) & has_den
    kind = np.where(has_n & ~derived, "interval", np.where(has_n, "approximate", "descriptive")).astype(object)
    lo, hi = st.wilson_share_ci(np.where(has_n, count / np.where(has_den, den, 1) * 100, np.nan), den)
    ci_low, ci_high = lo / 100 * scale, hi / 100 * scale

    level = res["area_level"].to_numpy(dtype=object)
    kom, is_lan, is_riket = level == "kommun", level == "lan", level == "riket"
    codes = res["area_code"].to_numpy(dtype=object)
    lan_code = res["lan_code"].to_numpy(dtype=object)
    ind = res["indicator"].to_numpy(dtype=object)
    year = res["year"].to_numpy(dtype=np.int64)
    ind_year = np.array([f"{i}|{y}" for i, y in zip(ind, year)], dtype=object)
    row_of = {(c, k): i for i, (c, k) in enumerate(zip(codes, ind_year))}
    p = np.where(has_n, count / np.where(has_den, den, 1), np.nan)
    pv = value / scale

    # ---- riket ---------------------------------------------------------------------------
    r_row = np.array([row_of.get((RIKET_CODE, k), -1) for k in ind_year])
    riket_value = np.where(r_row >= 0, value[np.maximum(r_row, 0)], np.nan)
    riket_value = np.where(is_riket, np.nan, riket_value)
    p_r = np.where(
        r_row >= 0, np.where(has_n[np.maximum(r_row, 0)], p[np.maximum(r_row, 0)], pv[np.maximum(r_row, 0)]), np.nan
    )
    n_r = np.where(r_row >= 0, np.where(has_n[np.maximum(r_row, 0)], den[np.maximum(r_row, 0)], np.nan), np.nan)
    # the centre of the model: riket, else the kommuner's pooled share
    frame = pd.DataFrame({"k": ind_year, "c": np.where(kom & has_n, count, 0.0), "n": np.where(kom & has_n, den, 0.0)})
    sums = frame.groupby("k").sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled_all = (sums["c"] / sums["n"]).reindex(ind_year).to_numpy(dtype=float)
    p0 = np.where(np.isfinite(p_r), p_r, pooled_all)
    with np.errstate(invalid="ignore", divide="ignore"):
        own_var = p0 * (1 - p0) / den
        var_r = np.where(np.isfinite(n_r), p_r * (1 - p_r) / n_r, 0.0)

    # ---- tau2 over the kommuner, and over the län (else the kommuner's) ----------------------
    usable = has_n & np.isfinite(p0) & (p0 > 0) & (p0 < 1) & np.isfinite(own_var) & (own_var > 0)
    tau_k, n_k = _tau2(p, own_var, p0, ind_year, ind, year, usable & kom, mcfg)
    tau_l, n_l = _tau2(p, own_var, p0, ind_year, ind, year, usable & is_lan, mcfg)
    kom_tau = pd.Series(tau_k[kom], index=ind_year[kom]).groupby(level=0).first()
    kom_n = pd.Series(n_k[kom], index=ind_year[kom]).groupby(level=0).first()
    tau_from_k = kom_tau.reindex(ind_year).to_numpy(dtype=float)
    tau2 = np.where(kom, tau_k, np.where(is_lan, np.where(np.isfinite(tau_l), tau_l, tau_from_k), np.nan))
    model_n = np.where(
        kom,
        n_k,
        np.where(is_lan, np.where(np.isfinite(tau_l), n_l, kom_n.reindex(ind_year).to_numpy(dtype=float)), np.nan),
    )

    # ---- sums over the kommuner of a län or a kommungrupp, per indicator and year -------------
    # (one pass instead of a loop over every kommun's members; a kommun's own part is subtracted
    # where the benchmark leaves it out)
    has_n_f = has_n.astype(float)
    c0, d0 = np.where(has_n, count, 0.0), np.where(has_n, den, 0.0)
    parts = {"rows": np.ones(n_rows), "with_n": has_n_f, "c": c0, "d": d0, "d2": d0**2, "v": value}

    def sums(keys: np.ndarray, on: np.ndarray) -> dict[str, np.ndarray]:
        """Per row: the sums of ``parts`` over the kommun rows (``on``) with the same key (0 elsewhere)."""
        frame = pd.DataFrame({k: np.where(on, v, 0.0) for k, v in parts.items()})
        frame["key"] = np.where(on, keys, None)
        total = frame[on].groupby("key").sum()
        return {k: total[k].reindex(keys).fillna(0.0).to_numpy(dtype=float) for k in parts}

    # ---- län ---------------------------------------------------------------------------------
    size_of = {lan.code: len(reg.kommuner(lan.code)) for lan in reg.all_lan()}
    lan_key = np.array([f"{lc}|{k}" for lc, k in zip(lan_code, ind_year)], dtype=object)
    L = sums(lan_key, kom)
    lan_value = np.full(n_rows, np.nan)
    lan_basis = np.full(n_rows, "", dtype=object)
    lan_n = np.full(n_rows, np.nan)
    rest = {k: np.full(n_rows, np.nan) for k in ("p", "var", "h")}
    rest_reason = np.full(n_rows, "", dtype=object)
    for i in np.flatnonzero(kom):
        lc, k = lan_code[i], ind_year[i]
        n_members = size_of.get(lc, 0)
        lr = row_of.get((lc, k), -1)
        if lr >= 0:
            lan_value[i], lan_basis[i] = value[lr], "published"
        elif L["with_n"][i] == n_members and kind[i] != "descriptive":
            lan_value[i], lan_basis[i] = L["c"][i] / L["d"][i] * scale[i], "pooled"
        else:
            lan_value[i], lan_basis[i] = L["v"][i] / L["rows"][i], "unweighted"
            lan_n[i] = L["rows"][i]
        if not has_n[i]:
            continue
        n_others, k_others = n_members - 1, L["with_n"][i] - 1
        if n_others <= 0:
            rest_reason[i] = "länet består bara av kommunen"
        elif k_others == n_others:
            sn = L["d"][i] - den[i]
            rest["p"][i], rest["var"][i] = (L["c"][i] - count[i]) / sn, p0[i] * (1 - p0[i]) / sn
            rest["h"][i] = (L["d2"][i] - den[i] ** 2) / sn**2
        elif lr >= 0 and has_n[lr] and den[lr] > den[i]:
            sn = den[lr] - den[i]
            rest["p"][i], rest["var"][i] = (count[lr] - count[i]) / sn, p0[i] * (1 - p0[i]) / sn
            missing_n = max(sn - (L["d"][i] - den[i]), 0.0)
            k_missing = max(n_others - k_others, 1)
            rest["h"][i] = min(((L["d2"][i] - den[i] ** 2) + missing_n**2 / k_missing) / sn**2, 1.0)
        else:
            rest_reason[i] = f"länets värde med antal saknas {year[i]}"

    # ---- kommungrupp ---------------------------------------------------------------------------
    from .benchmarks import similar_groups

    groups = similar_groups(store, cfg)
    groups = groups[groups["kind"] == "group"] if len(groups) else groups
    g_of = (
        {r.area_code: (r.group_id, r.group_title, len(r.members)) for r in groups.itertuples(index=False)}
        if len(groups)
        else {}
    )
    in_group = kom & np.array([c in g_of for c in codes], dtype=bool)
    grp_key = np.array([f"{g_of[c][0]}|{k}" if c in g_of else "" for c, k in zip(codes, ind_year)], dtype=object)
    G = sums(grp_key, in_group)
    group_value = np.full(n_rows, np.nan)
    group_title = np.full(n_rows, "", dtype=object)
    group_basis = np.full(n_rows, "", dtype=object)
    grp = {k: np.full(n_rows, np.nan) for k in ("p", "var", "h")}
    grp_reason = np.full(n_rows, "", dtype=object)
    min_members, min_cov = int(gcfg.get("min_members_with_data", 2)), float(gcfg.get("min_coverage", 0.5))
    for i in np.flatnonzero(kom):
        if not in_group[i]:
            grp_reason[i] = "kommungrupp saknas"
            continue
        _, group_title[i], n_mem = g_of[codes[i]]
        # the other members: the group's sums without the kommun itself
        k_rows, k_n = G["rows"][i] - 1, G["with_n"][i] - has_n_f[i]
        enough = k_n >= min_members and k_n >= min_cov * n_mem
        if kind[i] != "descriptive" and enough:
            sn = G["d"][i] - d0[i]
            sc = G["c"][i] - c0[i]
            group_value[i], group_basis[i] = sc / sn * scale[i], "pooled"
            if has_n[i]:
                grp["p"][i], grp["var"][i] = sc / sn, p0[i] * (1 - p0[i]) / sn
                grp["h"][i] = (G["d2"][i] - d0[i] ** 2) / sn**2
        elif k_rows >= min_members and k_rows >= min_cov * n_mem:
            group_value[i], group_basis[i] = (G["v"][i] - value[i]) / k_rows, "unweighted"
        if has_n[i] and not np.isfinite(grp["p"][i]):
            grp_reason[i] = f"kommungrupp: för få kommuner med data ({int(k_n)} av {n_mem})"

    # ---- the comparisons -----------------------------------------------------------------------
    def verdict(p_b, var_b, h_b, ok):
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(own_var + tau2 + var_b + h_b * tau2)
            z = (p - p_b) / sd
        ok = ok & usable & np.isfinite(z) & np.isfinite(tau2)
        return np.where(ok, st.compare_z(np.where(ok, z, np.nan), level_), "unknown").astype(object)

    cmp_riket = verdict(p_r, var_r, 0.0, (kom | is_lan) & np.isfinite(p_r))
    cmp_lan = verdict(rest["p"], rest["var"], rest["h"], kom & np.isfinite(rest["p"]))
    cmp_group = verdict(grp["p"], grp["var"], grp["h"], kom & np.isfinite(grp["p"]))
    reasons = [[] for _ in range(n_rows)]
    for i in range(n_rows):
        if is_riket[i]:
            reasons[i].append("riket är jämförelsenivån")
        elif kind[i] == "descriptive":
            reasons[i].append(DESCRIPTIVE_REASON)
        else:
            if is_lan[i]:
                reasons[i].append("län jämförs bara med riket")
            if not np.isfinite(p_r[i]):
                reasons[i].append(f"rikets värde saknas {year[i]}")
            if not np.isfinite(tau2[i]):
                reasons[i].append(
                    f"för få kommuner med antal för att skatta variationen mellan kommuner "
                    f"({int(np.nan_to_num(model_n[i]))}, minst {int(mcfg.get('min_areas', 10))})"
                )
            if kom[i] and rest_reason[i]:
                reasons[i].append(rest_reason[i])
            if kom[i] and grp_reason[i]:
                reasons[i].append(grp_reason[i])
    out = pd.DataFrame(
        {
            "area_code": codes,
            "area_name": res["area_name"].to_numpy(dtype=object),
            "area_level": level,
            "lan_code": lan_code,
            "indicator": ind,
            "indicator_label": res["indicator_label"].to_numpy(dtype=object),
            "source_kind": "context",
            "theme": res["theme"].to_numpy(dtype=object),
            "unit": res["unit"].to_numpy(dtype=object),
            "risk_direction": res["risk_direction"].to_numpy(dtype=object),
            "year": year,
            "value": value,
            "ci_low": np.where(has_n, ci_low, np.nan),
            "ci_high": np.where(has_n, ci_high, np.nan),
            "count": pd.array(np.where(has_n, count, np.nan), dtype="Float64").astype("Int64"),
            "population": pd.array(np.where(has_den, den, np.nan), dtype="Float64").astype("Int64"),
            "count_derived": derived & has_n,
            "comparison_kind": kind,
            "lan_value": np.where(kom, lan_value, np.nan),
            "lan_basis": lan_basis,
            "lan_n_kommuner": pd.array(lan_n, dtype="Float64").astype("Int64"),
            "riket_value": riket_value,
            "group_value": group_value,
            "group_title": group_title,
            "group_basis": group_basis,
            "cmp_lan": cmp_lan,
            "cmp_riket": cmp_riket,
            "cmp_group": cmp_group,
            "cmp_reason": np.array(["; ".join(r) for r in reasons], dtype=object),
            "model_tau2": tau2,
            "model_n_areas": pd.array(np.where(np.isfinite(tau2), model_n, np.nan), dtype="Float64").astype("Int64"),
            "priority_rank": pd.array([pd.NA] * n_rows, dtype="Int64"),
            "producer": res["producer"].to_numpy(dtype=object),
            "kolada_kpi": res["kolada_kpi"].to_numpy(dtype=object),
            "source": res["source"].to_numpy(dtype=object),
        }
    )
    return out[CONTEXT_COLUMNS]
