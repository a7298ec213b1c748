"""The results table (one row per area × indicator × year, CONTEXT.md §5): computed, cached, held in memory, looked up.

Every build writes it to ``reports/data/indicators.csv``; the reports and the analyst notebooks
read the same frame, so the numbers are the same everywhere. The analyst's front door is
:func:`tmb_analysis.results` (this module's :func:`results`): the whole table of a store, codes as text.

* :func:`compute_results` builds the table from a store (the statistics of :mod:`tmb_analysis.statistics`
  applied by :mod:`tmb_analysis.benchmarks` and :mod:`tmb_analysis.comparisons`, the priorities of
  :mod:`tmb_analysis.priorities`).
* :func:`load_results` computes it once per store and code version and caches it on disk
  (``$TMB_CACHE_DIR``); the cache keeps its newest :data:`CACHE_KEEP` tables and prunes the rest.
* :func:`keep_in_memory` makes :func:`load_results` keep the last table in memory (:class:`ResultsMemo`):
  a build kernel does so once and then runs many reports.
* :func:`select` and :func:`area_name` are the look-ups the charts and tables make: by area and
  indicator through an index built once per table (:class:`ResultsIndex`), by boolean masks otherwise.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, periods
from . import priorities as pr
from . import statistics as st
from .benchmarks import add_derived_benchmarks, group_benchmarks, similar_groups
from .catalogue import catalogue
from .comparisons import add_model_comparisons, add_pooled_rates, add_shrinkage, text_column
from .config import CACHE_KEEP, PACKAGE_DIR, cache_dir
from .geography import RIKET_CODE, registry
from .periods import period_split, year_mask
from .priorities import analysis_settings as _settings
from .statistics import variation
from .statistics._arrays import floats as _f
from .store import load_store

#: The contract columns, in order (CONTEXT.md §5), followed by our extensions.
CONTRACT_COLUMNS = [
    "area_code",
    "area_name",
    "area_level",
    "indicator",
    "indicator_label",
    "source_kind",
    "year",
    "value",
    "ci_low",
    "ci_high",
    "count",
    "population",
    "n_respondents",
    "cmp_lan",
    "cmp_riket",
    "trend_pct_per_year",
    "trend_ci_low",
    "trend_ci_high",
    "trend",
    "eb_value",
    "priority_rank",
    "priority_stability",
]
EXTRA_COLUMNS = ["lan_code", "theme", "unit", "status", "population_source", "source", "period", "benchmark_source"]
#: Columns added by the statistics (docs/metod.md explains each), after the contract and extras.
ANALYSIS_COLUMNS = [
    "worse",
    # uncertainty rule for NTU
    "too_uncertain",
    "uncertainty_reason",
    # benchmark values and the similar-kommun comparisons (the model: docs/metod.md, section 5)
    "lan_value",
    "lan_rest_value",
    "riket_value",
    "riket_limit_low",
    "riket_limit_high",
    "cmp_group",
    "group_title",
    "group_value",
    "cmp_peers",
    "peers_title",
    "peers_value",
    "cmp_reason",
    "model_tau2",
    "model_n_areas",
    "model_reason",
    # trend details
    "trend_reason",
    "trend_unit",
    "trend_n_years",
    "trend_first_year",
    "trend_scale",
    "riket_trend_pct_per_year",
    # empirical Bayes
    "eb_ci_low",
    "eb_ci_high",
    "eb_weight",
    "eb_prior",
    "eb_prior_n",
    "eb_lan_value",
    "eb_lan_ci_low",
    "eb_lan_ci_high",
    "eb_reason",
    # three-year pooling
    "pooled_value",
    "pooled_ci_low",
    "pooled_ci_high",
    "pooled_years",
    "pooled_reason",
    "small_area",
    "cmp_riket_pooled",
    # funnel plot against riket (phi: the model's within-kommun overdispersion)
    "funnel_riket",
    "funnel_phi",
    # priorities
    "harm_weight",
    "priority_points",
    "priority_score",
    "priority_eligible",
    "priority_q",
    "priority_basis",
    "priority_confidence",
    "priority_evidence",
]
RESULT_COLUMNS = CONTRACT_COLUMNS + EXTRA_COLUMNS + ANALYSIS_COLUMNS
COMPARISONS = ("higher", "lower", "similar", "unknown")
TRENDS = ("increasing", "decreasing", "no_clear_trend", "unknown")
FUNNEL_POSITIONS = ("above", "below", "within", "unknown")
#: Seconds spent in each phase of the last :func:`compute_results` call (for the benchmark).
LAST_TIMINGS: dict[str, float] = {}


def _crime_rows(store) -> pd.DataFrame:
    crime = store.crime.copy()
    pop = store.population[["area_code", "year", "population", "source"]].rename(
        columns={"source": "population_source"}
    )
    crime = crime.merge(pop, on=["area_code", "year"], how="left")
    count = pd.to_numeric(crime["count"], errors="coerce").astype("float64")
    population = pd.to_numeric(crime["population"], errors="coerce").astype("float64")
    published = pd.to_numeric(crime["rate_per_100k"], errors="coerce").astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        computed = np.where(population > 0, count / population.where(population > 0) * 100_000, np.nan)
    crime["value"] = np.where(np.isfinite(published), published, computed)
    low, high = st.poisson_rate_ci(count.to_numpy(), population.to_numpy())
    crime["ci_low"], crime["ci_high"] = low, high
    crime["n_respondents"] = pd.NA
    crime["period"] = crime["year"].astype(str).astype(object)
    return crime


def _survey_rows(store) -> pd.DataFrame:
    survey = store.survey.copy()
    share = pd.to_numeric(survey["share_pct"], errors="coerce").astype("float64")
    low = pd.to_numeric(survey["ci_low_pct"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    high = (
        pd.to_numeric(survey["ci_high_pct"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    )
    n = pd.to_numeric(survey["n_respondents"], errors="coerce").astype("float64")
    w_low, w_high = st.wilson_share_ci(
        share.to_numpy(dtype=float, na_value=np.nan), n.to_numpy(dtype=float, na_value=np.nan)
    )
    missing = ~np.isfinite(low) | ~np.isfinite(high)
    survey["value"] = share
    survey["ci_low"] = np.where(missing, w_low, low)
    survey["ci_high"] = np.where(missing, w_high, high)
    survey["count"] = pd.NA
    survey["population"] = pd.NA
    survey["population_source"] = pd.NA
    survey["status"] = "final"
    given = survey["period"] if "period" in survey else pd.Series(pd.NA, index=survey.index)
    survey["period"] = given.astype(object).where(given.notna(), survey["year"].astype(str)).astype(object)
    return survey


# --------------------------------------------------------------------------- #
# The results table
# --------------------------------------------------------------------------- #
def compute_results(store, settings: dict | None = None, report_year: int | None = None) -> pd.DataFrame:
    """Build the results table for every area and indicator in ``store``.

    ``settings`` overrides parts of ``config/analysis.yaml`` (same structure). Every
    statistic is explained in docs/metod.md; the contract columns come first
    (:data:`CONTRACT_COLUMNS`), then :data:`EXTRA_COLUMNS` and :data:`ANALYSIS_COLUMNS`.
    Comparisons, trends, EB and funnel positions are computed for every row; the priority
    columns only for the rows of each area's round for ``report_year`` (None or 0: the latest
    year in the store; :func:`tmb_analysis.periods.round_mask`), the others are empty.
    """
    clock = _Clock()
    cfg = _settings(settings)
    reg = registry()
    cat = catalogue().frame()
    parts = [df for df in (_crime_rows(store), _survey_rows(store)) if len(df)]
    if not parts:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    keep = [
        "area_code",
        "year",
        "indicator",
        "value",
        "ci_low",
        "ci_high",
        "count",
        "population",
        "n_respondents",
        "status",
        "population_source",
        "source",
        "period",
    ]
    res = add_derived_benchmarks(pd.concat([p[keep] for p in parts], ignore_index=True))
    res = res.merge(reg.frame(), on="area_code", how="left")
    res = res.merge(
        cat[["indicator", "indicator_label", "source_kind", "theme", "unit", "worse"]], on="indicator", how="left"
    )
    res["year"] = res["year"].astype("int64")
    res["count"] = pd.to_numeric(res["count"], errors="coerce").astype("Int64")
    res["population"] = pd.to_numeric(res["population"], errors="coerce").round().astype("Int64")
    res["n_respondents"] = pd.to_numeric(res["n_respondents"], errors="coerce").astype("Int64")
    order = {code: i for i, code in enumerate(a.code for a in reg.areas())}
    ind_order = {ind: i for i, ind in enumerate(catalogue().ids)}
    res = res.assign(_a=res["area_code"].map(order), _i=res["indicator"].map(ind_order))
    res = res.sort_values(["_a", "_i", "year"]).drop(columns=["_a", "_i"]).reset_index(drop=True)

    clock("base table")
    level = res["area_level"].to_numpy()
    is_kommun, is_riket = level == "kommun", level == "riket"
    crime = (res["source_kind"] == "crime").to_numpy()
    lo, hi, value = _f(res["ci_low"]), _f(res["ci_high"]), _f(res["value"])

    first_year = variation.comparable_first_year(res, cat, cfg)
    comparable = res["year"].to_numpy() >= first_year

    # ---- NTU uncertainty rule: the published width -----------------------------
    unc = cfg["survey_uncertainty"]
    width = hi - lo
    wide = ~crime & np.isfinite(width) & (width > float(unc["max_ci_width_pp"]))
    res["too_uncertain"] = wide
    w_txt = np.full(len(res), "", dtype=object)
    w_txt[wide] = [
        f"intervallet {v:.1f} procentenheter brett, mer än {float(unc['max_ci_width_pp']):g}".replace(".", ",")
        for v in width[wide].tolist()
    ]
    res["uncertainty_reason"] = text_column(w_txt, res)

    # ---- benchmark values: län and riket ---------------------------------------
    # Benchmark values: the rate from count and population where both exist (BRÅ rounds its
    # published rates to whole numbers, which matters for rare crimes), else the published value.
    c_all, p_all = _f(res["count"]), _f(res["population"])
    with np.errstate(invalid="ignore", divide="ignore"):
        exact_rate = np.where(crime & np.isfinite(c_all) & (p_all > 0), c_all / p_all * 100_000, np.nan)
    res["_bench"] = np.where(np.isfinite(exact_rate), exact_rate, value)
    # a value is compared only with a benchmark of the same period: a pooled two-year NTU estimate
    # with the pooled benchmark, a yearly one with the yearly benchmark (see period_split)
    bench = res[["area_code", "indicator", "year", "period", "_bench"]].rename(columns={"_bench": "value"})
    lan_bench = bench.rename(columns={"area_code": "lan_code", "value": "lan_value"})
    res = res.merge(lan_bench, on=["lan_code", "indicator", "year", "period"], how="left")
    riket_bench = (
        bench[bench["area_code"] == RIKET_CODE].drop(columns="area_code").rename(columns={"value": "riket_value"})
    )
    res = res.merge(riket_bench, on=["indicator", "year", "period"], how="left")
    res["lan_value"] = np.where(is_kommun, _f(res["lan_value"]), np.nan)
    res["riket_value"] = np.where(~is_riket, _f(res["riket_value"]), np.nan)

    clock("uncertainty, län and riket")
    # ---- similar kommuner ----------------------------------------------------
    groups = similar_groups(store, cfg)
    gb = group_benchmarks(res, groups, cfg["groups"])
    for kind in ("group", "peers"):
        res[f"{kind}_value"] = gb[kind]["value"]
        res[f"{kind}_title"] = text_column(gb[kind]["title"], res)
    clock("similar kommuner")

    # ---- the model: phi, tau2 and every comparison ----------------------------
    idx = variation.RowIndex(res)
    pooled = period_split(res)  # pooled two-year NTU estimates: never compared with yearly values
    phi_row = add_model_comparisons(res, idx, store, cfg, cat, crime, lo, hi, comparable, first_year, gb, pooled)
    clock("model")

    # ---- trends --------------------------------------------------------------
    tcfg = cfg["trend"]
    last_n, alpha = int(tcfg["last_n_years"]), float(tcfg["alpha"])
    series = res.assign(_pooled=pooled).groupby(["area_code", "indicator", "_pooled"], sort=False).ngroup().to_numpy()
    years = res["year"].to_numpy(dtype=float)
    cols = {
        k: np.full(len(res), np.nan)
        for k in ("pct_per_year", "ci_low", "ci_high", "n_years", "scale", "first_year", "stat", "stat_df")
    }
    cols.update({k: np.full(len(res), "", dtype=object) for k in ("classification", "reason", "unit")})
    ci_ = np.flatnonzero(crime)
    si_ = np.flatnonzero(~crime & ~pooled)  # overlapping two-year periods give no trend
    cols["classification"][pooled] = "unknown"
    cols["reason"][pooled] = "sammanvägd tvåårsperiod: ingen trend beräknas"
    for rows, is_crime in ((ci_, True), (si_, False)):
        if not len(rows):
            continue
        if is_crime:
            cnt = np.where(comparable[rows], _f(res["count"])[rows], np.nan)
            t = st.poisson_trend_batch(
                series[rows],
                years[rows],
                cnt,
                _f(res["population"])[rows],
                last_n=last_n,
                alpha=alpha,
                min_scale=phi_row[rows],
            )
        else:
            shr = np.where(comparable[rows], value[rows], np.nan)
            t = st.share_trend_batch(series[rows], years[rows], shr, lo[rows], hi[rows], last_n=last_n, alpha=alpha)
        for k in cols:
            cols[k][rows] = t[k].to_numpy()
    comp_from = variation.per_row(
        res["indicator"],
        {k: (np.nan if v is None else float(v)) for k, v in zip(cat["indicator"], cat["comparable_from"])},
    ).astype(float)
    broken = np.isfinite(comp_from) & (years - last_n + 1 < comp_from) & (cols["reason"] != "")
    if broken.any():  # the window was cut by a recording change: say so
        cols["reason"][broken] = [
            f"{r} (ändrad registrering: serien är jämförbar från {int(y)})"
            for r, y in zip(cols["reason"][broken], comp_from[broken])
        ]
    res["trend_pct_per_year"] = cols["pct_per_year"]
    res["trend_ci_low"] = cols["ci_low"]
    res["trend_ci_high"] = cols["ci_high"]
    res["trend"] = text_column(cols["classification"], res)
    res["trend_reason"] = text_column(cols["reason"], res)
    res["trend_unit"] = text_column(cols["unit"], res)
    n_years = cols["n_years"]
    res["trend_n_years"] = pd.array(n_years, dtype="Float64").astype("Int64")
    res["trend_first_year"] = pd.array(np.where(n_years > 0, cols["first_year"], np.nan), dtype="Float64").astype(
        "Int64"
    )
    res["trend_scale"] = cols["scale"]
    res["_df_trend"] = cols["stat_df"]
    # The trend as evidence for a priority is the area's trend against riket's: an area that rises with
    # the country is not a local problem (and in the null simulation, where every kommun follows riket,
    # a national rise would otherwise flag the large kommuner). The table's `trend` stays the area's own.
    beta, se_b = st.trend_slope_and_se(
        cols["pct_per_year"], cols["ci_low"], cols["ci_high"], cols["stat_df"], percent=True
    )
    beta_s, se_s = st.trend_slope_and_se(
        cols["pct_per_year"], cols["ci_low"], cols["ci_high"], cols["stat_df"], percent=False
    )
    beta, se_b = np.where(crime, beta, beta_s), np.where(crime, se_b, se_s)
    r_area = idx.pos.get(RIKET_CODE, -1)
    r_row = idx.rows(np.full(len(res), r_area)) if r_area >= 0 else np.full(len(res), -1)
    has_r = r_row >= 0
    beta_r = np.where(has_r, beta[np.maximum(r_row, 0)], np.nan)
    se_r = np.where(has_r, se_b[np.maximum(r_row, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_rel = (beta - beta_r) / np.sqrt(se_b**2 + se_r**2)
    res["_z_trend"] = np.where(np.isfinite(z_rel) & ~is_riket, z_rel, cols["stat"])
    res["riket_trend_pct_per_year"] = np.where(
        is_riket, np.nan, np.where(has_r, cols["pct_per_year"][np.maximum(r_row, 0)], np.nan)
    )

    clock("trends")
    add_shrinkage(res, cfg, is_kommun, crime, lo, hi, value, phi_row)
    clock("empirical Bayes")
    add_pooled_rates(res, idx, store, cfg, crime, series, first_year, comp_from, phi_row)
    clock("pooling")
    in_round = periods.round_mask(res, report_year)
    res = pr.add_priorities(res, round_mask=in_round, copy=False)
    clock("priorities")
    out = res[RESULT_COLUMNS]  # drops the helper columns (_bench, _z_*, ...)
    clock("output")
    LAST_TIMINGS.clear()
    LAST_TIMINGS.update(clock.laps)
    return out


class _Clock:
    def __init__(self):
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self.t
        self.t = now


def neutralise_formula(text):
    """Prefix a text cell that Excel would read as a formula (=, +, -, @, tab, CR) with an apostrophe."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def write_results_csv(results: pd.DataFrame, path) -> None:
    """Write the results table for Swedish Excel: UTF-8 with BOM, ';', decimal comma.

    Text cells that Excel would take as formulas are neutralised; numbers stay numeric.
    """
    out = results.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_formula)
    out.to_csv(
        path, sep=";", decimal=",", index=False, encoding="utf-8-sig", float_format="%.6g", lineterminator="\r\n"
    )


# --------------------------------------------------------------------------- #
# Loading: computed once per store and code, cached on disk, kept in memory
# --------------------------------------------------------------------------- #
def store_fingerprint(store_dir: Path) -> str:
    """The cache key of a store's results: the package version, its code and configuration, the store's files.

    The analysis code and its settings (thresholds, weights, groups) change the results as much as
    the data do: a changed statistic must never be served results computed by the old code."""
    h = hashlib.sha256(__version__.encode())
    for p in sorted([*PACKAGE_DIR.glob("*.py"), *PACKAGE_DIR.glob("*/*.py"), *(PACKAGE_DIR / "config").glob("*.yaml")]):
        h.update(p.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(p.read_bytes())
    for p in sorted(Path(store_dir).glob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def prune_cache(folder: Path, keep: int = CACHE_KEEP, spare: Path | None = None) -> list[Path]:
    """Remove all but the ``keep`` most recently used results tables of the cache (never ``spare``), and
    temporary files left by a crashed writer; returns what was removed."""
    removed = []
    tables = sorted(folder.glob("results-*.parquet"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    stale_tmp = [p for p in folder.glob("results-*.tmp") if time.time() - p.stat().st_mtime > 3600]
    for p in [t for t in tables if t != spare][max(keep - (spare is not None), 0) :] + stale_tmp:
        try:
            p.unlink()
            removed.append(p)
        except OSError:  # another process removed it first, or a read-only cache
            pass
    return removed


def _load(store_dir: str | Path, report_year: int | None = None) -> tuple[pd.DataFrame, object]:
    store_dir = Path(store_dir).resolve()
    store = load_store(store_dir)
    round_year = int(report_year or 0)
    folder = cache_dir()
    cache = folder / f"results-{store_fingerprint(store_dir)}-{round_year}.parquet"
    if cache.exists():
        try:
            results = pd.read_parquet(cache)
            results.attrs["tmb_key"] = cache.stem
            os.utime(cache)  # most recently used: the last the cache prunes
            return results, store
        except Exception:  # noqa: BLE001 - a damaged cache file is recomputed, never trusted
            cache.unlink(missing_ok=True)
    results = compute_results(store, report_year=round_year or None)
    results.attrs["tmb_key"] = cache.stem
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        results.to_parquet(tmp, index=False)
        tmp.replace(cache)
        prune_cache(folder, spare=cache)
    except OSError:  # a read-only home still builds, only slower
        pass
    return results, store


class ResultsMemo:
    """The last results table of a loader kept in memory (caching by wrapping: the loader is not changed).

    A call with the same store (its files' names, sizes and modification times) and round returns the
    kept table as a shallow copy (copy-on-write: no caller can change what the next one sees); another
    store replaces it. Used by build kernels, which run many reports on one store."""

    def __init__(self, load=_load):
        self._load = load
        self._key: tuple | None = None
        self._value: tuple | None = None

    @staticmethod
    def key(store_dir: str | Path, report_year: int | None) -> tuple | None:
        path = Path(store_dir).resolve()
        try:
            files = tuple(
                sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file())
            )
        except OSError:
            return None
        return str(path), int(report_year or 0), files

    def __call__(self, store_dir: str | Path, report_year: int | None = None) -> tuple[pd.DataFrame, object]:
        key = self.key(store_dir, report_year)
        if key is None:
            return self._load(store_dir, report_year)
        if key != self._key:
            self._key, self._value = None, None
            self._value, self._key = self._load(store_dir, report_year), key
        results, store = self._value
        return results.copy(deep=False), store


_MEMO: ResultsMemo | None = None


def keep_in_memory(enabled: bool = True) -> None:
    """From now on :func:`load_results` keeps the last table in memory (a :class:`ResultsMemo`); a
    build kernel calls this once, before its first report."""
    global _MEMO
    _MEMO = ResultsMemo() if enabled else None


def load_results(store_dir: str | Path, report_year: int | None = None) -> tuple[pd.DataFrame, object]:
    """The results table of a store and the store itself, computed once and cached by the store's content.

    Every report of a build reads the same cached table, so the analysis runs once per run, not once
    per notebook. The cache lives outside the store (:func:`tmb_analysis.config.cache_dir`), keyed by
    :func:`store_fingerprint`, so a changed store, setting or statistic is never served stale results
    and the store itself is never written to. ``report_year`` (None or 0: the latest year) chooses the
    round whose priorities are ranked (:func:`compute_results`); it is part of the cache key. After
    :func:`keep_in_memory` the last table is also kept in memory.
    """
    if _MEMO is not None:
        return _MEMO(store_dir, report_year)
    return _load(store_dir, report_year)


def results(store: str | Path, report_year: int | None = None) -> pd.DataFrame:
    """The whole results table of a store (the analyst's front door): one row per area × indicator × year,
    the columns of :data:`RESULT_COLUMNS`, ``area_code`` and ``lan_code`` as text (``"0114"``, never 114).

    ``report_year`` as :func:`load_results`. The same table every report of a build reads."""
    return load_results(store, report_year)[0]


# --------------------------------------------------------------------------- #
# Look-ups: by area and indicator, through an index built once per table
# --------------------------------------------------------------------------- #
class ResultsIndex:
    """Row positions of a results table by ``area_code``, by ``indicator`` and by both (as text)."""

    KEYS = ("area_code", "indicator")
    #: Frames kept (the most recently used): every indicator of the catalogue and a report's areas.
    MAX_FRAMES = 160

    def __init__(self, table: pd.DataFrame):
        self._frames: dict[tuple, pd.DataFrame] = {}  # taken from ``_owner``, the table last asked for frames
        self._owner: pd.DataFrame | None = None
        self.n_rows = len(table)
        self.axis = table.index
        area = table["area_code"].astype("string").to_numpy(dtype=object, na_value=None)
        ind = table["indicator"].astype("string").to_numpy(dtype=object, na_value=None)
        self.positions: dict[str, dict] = {"area_code": {}, "indicator": {}, "both": {}}
        for key, values in (("area_code", area), ("indicator", ind), ("both", list(zip(area, ind)))):
            codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
            self.positions[key] = {
                u: order[bounds[i] : bounds[i + 1]]
                for i, u in enumerate(uniques)
                if not (u is None or (isinstance(u, tuple) and None in u))
            }

    def fits(self, table: pd.DataFrame) -> bool:
        """Is ``table`` the table this index was built from (same rows in the same order)?"""
        return len(table) == self.n_rows and table.index.equals(self.axis)

    def rows(self, area_code=None, indicator=None) -> np.ndarray:
        if area_code is not None and indicator is not None:
            return self.positions["both"].get((str(area_code), str(indicator)), np.empty(0, dtype=np.int64))
        if area_code is not None:
            return self.positions["area_code"].get(str(area_code), np.empty(0, dtype=np.int64))
        return self.positions["indicator"].get(str(indicator), np.empty(0, dtype=np.int64))

    def frame(self, table: pd.DataFrame, area_code=None, indicator=None) -> pd.DataFrame:
        """The rows of an area and/or indicator as a frame, taken from ``table`` once and then handed out
        as shallow copies (copy-on-write: a caller's change never reaches the next caller). Taking the
        67 columns is most of a selection's cost, and a kernel selects the same indicators in every report."""
        if table is not self._owner:  # a copy keeps the key (attrs) but may have been changed: its own frames
            self._owner, self._frames = table, {}
        key = (None if area_code is None else str(area_code), None if indicator is None else str(indicator))
        got = self._frames.get(key)
        if got is None:
            if len(self._frames) >= self.MAX_FRAMES:
                self._frames.pop(next(iter(self._frames)))
            got = self._frames[key] = table.iloc[self.rows(area_code, indicator)]
        else:
            self._frames[key] = self._frames.pop(key)  # most recently used last
        return got.copy(deep=False)


_INDEXES: dict[str, ResultsIndex] = {}


def table_index(table: pd.DataFrame) -> ResultsIndex | None:
    """The index of a results table that :func:`load_results` made (``attrs['tmb_key']``), built on first
    use and kept for the process (a kernel runs many reports on one table); None for any other frame
    (a selection, a table built by hand), which is searched by masks."""
    key = table.attrs.get("tmb_key")
    if key is None or "area_code" not in table or "indicator" not in table:
        return None
    idx = _INDEXES.get(key)
    if idx is None:
        if len(_INDEXES) >= 4:
            _INDEXES.clear()
        idx = _INDEXES[key] = ResultsIndex(table)
    return idx if idx.fits(table) else None


def select(table: pd.DataFrame, **eq) -> pd.DataFrame:
    """Rows equal to every keyword (compared as text); ``year`` may be a per-source mapping
    (:func:`tmb_analysis.periods.year_mask`). The same rows, in the same order, whether found through
    the table's index (by ``area_code`` and ``indicator``) or by masks."""
    idx = table_index(table) if set(eq) & set(ResultsIndex.KEYS) else None
    if idx is not None:
        table = idx.frame(table, eq.get("area_code"), eq.get("indicator"))
        eq = {k: v for k, v in eq.items() if k not in ResultsIndex.KEYS}
        if not eq:
            return table
    mask = np.ones(len(table), dtype=bool)
    for col, val in eq.items():
        if col == "year":
            mask &= year_mask(table, val)
        else:
            mask &= (table[col].astype("string") == str(val)).fillna(False).to_numpy(dtype=bool)
    return table[mask]


def area_name(table: pd.DataFrame, code: str) -> str:
    """An area's name as the table writes it, else the registry's, else the code itself."""
    rows = select(table, area_code=code)
    if len(rows):
        name = rows["area_name"].iloc[0]
        if isinstance(name, str):
            return name
    try:
        return registry().area(code).name
    except Exception:  # noqa: BLE001 - any code at all gets a name
        return str(code)


class _CallableModule(types.ModuleType):
    """Makes ``tmb_analysis.results(store)`` the front door while ``tmb_analysis.results`` stays this module."""

    def __call__(self, store: str | Path, report_year: int | None = None) -> pd.DataFrame:
        return results(store, report_year)


sys.modules[__name__].__class__ = _CallableModule
