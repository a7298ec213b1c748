"""Stores where the truth is known, to check that the priorities survive noise (docs/metod.md, section 11).

:func:`null_store` rewrites a store so that no kommun differs from riket at all: every kommun's
count of every crime indicator and year is drawn around riket's rate with the year-to-year
variation real counts have (negative binomial, variance phi x mean, phi per theme as measured on
BRÅ's real Dalarna data: ``model.default_phi`` in ``config/analysis.yaml``), every NTU share around
riket's share with the kommun's own published standard error. Län and riket counts are the sums of
their kommuner, as in BRÅ's files. :func:`planted_store` does the same and gives some kommuner one
crime indicator at a multiple of riket's rate in each of the last years: problems that are really
there. ``benchmarks/bench_signals.py`` and ``tests/test_signals.py`` run both through
:func:`tmb_analysis.results.compute_results`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from . import statistics as st
from .catalogue import catalogue
from .geography import RIKET_CODE, registry
from .priorities import analysis_config

PER = 100_000.0


@dataclass(frozen=True)
class Plant:
    """One planted problem: ``indicator`` at ``factor`` x riket's rate in ``area_code`` from ``first_year``."""

    area_code: str
    indicator: str
    first_year: int
    factor: float
    sd_excess: float  # (factor - 1) x expected count / sd of the overdispersed count, smallest year


def _phi_by_indicator(phi: dict | None) -> dict[str, float]:
    defaults = analysis_config()["model"]["default_phi"]
    out = {i.id: float(defaults.get(i.theme, 1.0)) for i in catalogue().of_kind("crime")}
    out.update(phi or {})
    return out


def _f(s) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


def _expected(store) -> pd.DataFrame:
    """Every kommun crime row with its population and the count expected at riket's rate."""
    crime = store.crime
    pop = store.population[["area_code", "year", "population"]]
    lvl = crime["area_code"].astype(str).str.len()
    kom = crime[lvl == 4].merge(pop, on=["area_code", "year"], how="left")
    riket = crime[crime["area_code"] == RIKET_CODE].merge(pop, on=["area_code", "year"], how="left")
    riket = riket.assign(_rate=_f(riket["count"]) / _f(riket["population"]) * PER)[["indicator", "year", "_rate"]]
    kom = kom.merge(riket, on=["indicator", "year"], how="left")
    kom["_expected"] = kom["_rate"] * _f(kom["population"]) / PER
    return kom


def _rebuild_crime(store, kom: pd.DataFrame, counts: np.ndarray):
    """The store's crime table with the kommun counts replaced and each län and riket recomputed as the
    sum of its kommuner, where the store holds all of them (otherwise the area keeps its counts: a
    store of a few län keeps riket's rate, around which its kommuner were drawn)."""
    crime = store.crime.copy()
    pop = store.population[["area_code", "year", "population"]]
    reg = registry()
    codes = set(kom["area_code"])
    whole_lan = [a.code for a in reg.all_lan() if {k.code for k in reg.kommuner(a.code)} <= codes]
    new = kom[["area_code", "year", "indicator"]].assign(_count=counts)
    new["_lan"] = new["area_code"].str[:2]
    lan = new[new["_lan"].isin(whole_lan)].groupby(["_lan", "year", "indicator"], as_index=False)["_count"].sum()
    lan = lan.rename(columns={"_lan": "area_code"})
    parts = [new.drop(columns="_lan"), lan]
    if len(codes) == len(reg.kommuner()):
        parts.append(new.groupby(["year", "indicator"], as_index=False)["_count"].sum().assign(area_code=RIKET_CODE))
    all_new = pd.concat(parts, ignore_index=True)
    crime = crime.merge(all_new, on=["area_code", "year", "indicator"], how="left")
    crime = crime.merge(pop, on=["area_code", "year"], how="left")
    has = crime["_count"].notna()
    crime.loc[has, "count"] = crime.loc[has, "_count"].round().astype("int64")
    rate = np.floor(_f(crime["count"]) / _f(crime["population"]) * PER + 0.5)
    crime.loc[has, "rate_per_100k"] = np.where(np.isfinite(rate[has]), rate[has], np.nan)
    return crime.drop(columns=["_count", "population"]).astype(store.crime.dtypes.to_dict())


def _null_survey(store, rng: np.random.Generator) -> pd.DataFrame:
    """NTU shares of the kommuner drawn around riket's share with their own published standard errors
    (the published interval's width kept, moved with the share); each län's share becomes the
    population-weighted mean of its kommuner's, as a län's estimate is in BRÅ's files, with the standard
    error that mean has (``sqrt(sum w^2 se^2) / sum w``): the published län interval belongs to the
    published share, not to a mean of simulated kommun shares."""
    s = store.survey.copy()
    share, lo, hi = _f(s["share_pct"]), _f(s["ci_low_pct"]), _f(s["ci_high_pct"])
    riket = s[s["area_code"] == RIKET_CODE].set_index(["indicator", "year"])["share_pct"].astype("float64")
    r = riket.reindex(pd.MultiIndex.from_frame(s[["indicator", "year"]])).to_numpy()
    se = (hi - lo) / (2 * stats.norm.ppf(0.975))
    code = s["area_code"].astype(str)
    is_kom = (code.str.len() == 4).to_numpy()
    move = is_kom & np.isfinite(r) & np.isfinite(se) & (se > 0)
    new = np.where(move, np.clip(r + se * rng.standard_normal(len(s)), 0.0, 100.0), share)
    pop = store.population.set_index(["area_code", "year"])["population"].astype("float64")
    w = pop.reindex(pd.MultiIndex.from_arrays([code, s["year"]])).to_numpy()
    kom = pd.DataFrame(
        {
            "lan": code.str[:2],
            "year": s["year"],
            "indicator": s["indicator"],
            "w": w,
            "wx": w * new,
            "w2se2": w**2 * se**2,
        }
    )[is_kom & np.isfinite(w) & np.isfinite(new) & np.isfinite(se)]
    sums = kom.groupby(["lan", "year", "indicator"])[["w", "wx", "w2se2"]].sum()
    key = pd.MultiIndex.from_arrays([code, s["year"], s["indicator"]])
    lan_mean = (sums["wx"] / sums["w"]).reindex(key).to_numpy()
    lan_se = (np.sqrt(sums["w2se2"]) / sums["w"]).reindex(key).to_numpy()
    is_lan = (code.str.len() == 2).to_numpy() & (code != RIKET_CODE).to_numpy() & np.isfinite(lan_mean)
    new = np.where(is_lan, lan_mean, new)
    z = stats.norm.ppf(0.975)
    low = np.where(is_lan, new - z * lan_se, new - (share - lo))
    high = np.where(is_lan, new + z * lan_se, new + (hi - share))
    move |= is_lan
    s.loc[move, "share_pct"] = new[move]
    s.loc[move, "ci_low_pct"] = np.clip(low, 0.0, 100.0)[move]
    s.loc[move, "ci_high_pct"] = np.clip(high, 0.0, 100.0)[move]
    return s


def null_store(store, seed: int = 2024, phi: dict | None = None):
    """A copy of ``store`` in which no kommun differs from riket (see the module docstring)."""
    return _simulated(store, seed, phi, plants=())[0]


def planted_store(
    store,
    seed: int = 2024,
    phi: dict | None = None,
    n_plants: int = 12,
    factor: float = 2.5,
    years: int = 5,
    min_population: int = 20_000,
    min_sd: float = 4.0,
):
    """The null store with ``n_plants`` kommuner (at least ``min_population`` inhabitants in the last year)
    carrying one crime indicator each at ``factor`` x riket's rate in each of the last ``years`` years.

    The indicator of each planted kommun is drawn among those where the excess is at least
    ``min_sd`` standard deviations of the overdispersed count in every planted year:
    ``(factor - 1) E / sqrt(phi E) >= min_sd``, E the count expected at riket's rate. ``totalt``
    (never ranked) is left out. Returns ``(store, plants)``.
    """
    return _simulated(store, seed, phi, plants=(n_plants, factor, years, min_population, min_sd))


def _simulated(store, seed, phi, plants):
    rng = np.random.default_rng(seed)
    phis = _phi_by_indicator(phi)
    kom = _expected(store)
    mean = kom["_expected"].to_numpy(dtype=float)
    ph = kom["indicator"].map(phis).astype("float64").to_numpy()
    chosen: list[Plant] = []
    if plants:
        n_plants, factor, years, min_pop, min_sd = plants
        last = int(kom["year"].max())
        first = last - years + 1
        window = kom["year"].to_numpy() >= first
        sd_excess = (factor - 1) * mean / np.sqrt(ph * mean)
        ok = pd.DataFrame(
            {
                "area_code": kom["area_code"],
                "indicator": kom["indicator"],
                "w": window,
                "sd": np.where(window, sd_excess, np.nan),
                "pop": _f(kom["population"]),
                "year": kom["year"],
            }
        )
        ok = ok[ok["w"] & (ok["indicator"] != "totalt")]
        per_pair = ok.groupby(["area_code", "indicator"]).agg(sd=("sd", "min"), n=("sd", "size"))
        per_pair = per_pair[(per_pair["sd"] >= min_sd) & (per_pair["n"] == years)]
        last_pop = ok[ok["year"] == last].groupby("area_code")["pop"].first()
        big = sorted(set(last_pop[last_pop >= min_pop].index) & set(per_pair.index.get_level_values(0)))
        for code in rng.choice(big, size=min(n_plants, len(big)), replace=False):
            inds = per_pair.loc[code].index.to_numpy()
            ind = str(rng.choice(inds))
            chosen.append(Plant(str(code), ind, first, float(factor), float(per_pair.loc[(code, ind), "sd"])))
        for p in chosen:
            hit = ((kom["area_code"] == p.area_code) & (kom["indicator"] == p.indicator) & window).to_numpy()
            mean = np.where(hit, mean * p.factor, mean)
    counts = st.nb_draw(rng, np.where(np.isfinite(mean), mean, 0.0), ph, 1)[0]
    counts = np.where(np.isfinite(mean), counts, _f(kom["count"]))
    crime = _rebuild_crime(store, kom, counts)
    survey = _null_survey(store, rng)
    out = replace(store, crime=crime, survey=survey, sources=list(store.sources), store_dir=None)
    return out, chosen


def kommun_codes(store) -> list[str]:
    """The kommuner of a store (its crime or survey rows)."""
    codes = set(store.crime["area_code"].astype(str)) | set(store.survey["area_code"].astype(str))
    reg = registry()
    return sorted(c for c in codes if len(c) == 4 and reg.area(c).level == "kommun")
