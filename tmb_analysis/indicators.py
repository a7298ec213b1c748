"""The results table: one row per area × indicator × year (CONTEXT.md §5).

Every build writes it to ``reports/data/indicators.csv``; the reports and the
analyst notebooks read the same frame, so the numbers are the same everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import statistics as st
from .catalogue import catalogue
from .geography import RIKET_CODE, registry

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
]
EXTRA_COLUMNS = ["lan_code", "theme", "unit", "status", "population_source", "source"]
RESULT_COLUMNS = CONTRACT_COLUMNS + EXTRA_COLUMNS
COMPARISONS = ("higher", "lower", "similar", "unknown")
TRENDS = ("increasing", "decreasing", "no_clear_trend", "unknown")


def _crime_rows(store) -> pd.DataFrame:
    crime = store.crime.copy()
    pop = store.population[["area_code", "year", "population", "source"]].rename(columns={"source": "population_source"})
    crime = crime.merge(pop, on=["area_code", "year"], how="left")
    count = pd.to_numeric(crime["count"], errors="coerce").astype("float64")
    population = pd.to_numeric(crime["population"], errors="coerce").astype("float64")
    published = pd.to_numeric(crime["rate_per_100k"], errors="coerce").astype("float64")
    computed = np.where(population > 0, count / population * 100_000, np.nan)
    crime["value"] = np.where(np.isfinite(published), published, computed)
    low, high = st.poisson_rate_ci(count.to_numpy(), population.to_numpy())
    crime["ci_low"], crime["ci_high"] = low, high
    crime["n_respondents"] = pd.NA
    return crime


def _survey_rows(store) -> pd.DataFrame:
    survey = store.survey.copy()
    share = pd.to_numeric(survey["share_pct"], errors="coerce").astype("float64")
    low = pd.to_numeric(survey["ci_low_pct"], errors="coerce").astype("float64").to_numpy()
    high = pd.to_numeric(survey["ci_high_pct"], errors="coerce").astype("float64").to_numpy()
    n = pd.to_numeric(survey["n_respondents"], errors="coerce").astype("float64")
    w_low, w_high = st.wilson_share_ci(share.to_numpy(), n.to_numpy())
    missing = ~np.isfinite(low) | ~np.isfinite(high)
    survey["value"] = share
    survey["ci_low"] = np.where(missing, w_low, low)
    survey["ci_high"] = np.where(missing, w_high, high)
    survey["count"] = pd.NA
    survey["population"] = pd.NA
    survey["population_source"] = pd.NA
    survey["status"] = "final"
    return survey


def compute_results(store) -> pd.DataFrame:
    """Build the results table for every area and indicator in ``store``."""
    reg = registry()
    cat = catalogue().frame()
    parts = [df for df in (_crime_rows(store), _survey_rows(store)) if len(df)]
    if not parts:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    keep = ["area_code", "year", "indicator", "value", "ci_low", "ci_high", "count", "population",
            "n_respondents", "status", "population_source", "source"]
    res = pd.concat([p[keep] for p in parts], ignore_index=True)
    res = res.merge(reg.frame(), on="area_code", how="left")
    res = res.merge(cat[["indicator", "indicator_label", "source_kind", "theme", "unit"]], on="indicator", how="left")

    # Benchmarks: the same indicator and year in the area's län and in riket.
    bench = res[["area_code", "indicator", "year", "value"]]
    lan_bench = bench.rename(columns={"area_code": "lan_code", "value": "lan_value"})
    res = res.merge(lan_bench, on=["lan_code", "indicator", "year"], how="left")
    riket_bench = bench[bench["area_code"] == RIKET_CODE].drop(columns="area_code").rename(columns={"value": "riket_value"})
    res = res.merge(riket_bench, on=["indicator", "year"], how="left")
    lan_value = np.where(res["area_level"] == "kommun", res["lan_value"], np.nan)
    riket_value = np.where(res["area_level"] != "riket", res["riket_value"], np.nan)
    res["cmp_lan"] = st.compare_to_benchmark(res["ci_low"].to_numpy(), res["ci_high"].to_numpy(), lan_value)
    res["cmp_riket"] = st.compare_to_benchmark(res["ci_low"].to_numpy(), res["ci_high"].to_numpy(), riket_value)

    # Filled by the statistics work (trend GLM, empirical Bayes, priorities).
    for col in ("trend_pct_per_year", "trend_ci_low", "trend_ci_high", "eb_value"):
        res[col] = np.nan
    res["trend"] = "unknown"
    res["priority_rank"] = pd.array([pd.NA] * len(res), dtype="Int64")

    res["count"] = pd.to_numeric(res["count"], errors="coerce").astype("Int64")
    res["population"] = pd.to_numeric(res["population"], errors="coerce").round().astype("Int64")
    res["n_respondents"] = pd.to_numeric(res["n_respondents"], errors="coerce").astype("Int64")
    res["year"] = res["year"].astype("int64")
    order = {code: i for i, code in enumerate(a.code for a in reg.areas())}
    ind_order = {ind: i for i, ind in enumerate(catalogue().ids)}
    res = res.assign(_a=res["area_code"].map(order), _i=res["indicator"].map(ind_order))
    res = res.sort_values(["_a", "_i", "year"]).drop(columns=["_a", "_i"]).reset_index(drop=True)
    return res[RESULT_COLUMNS]


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
    out.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig", float_format="%.6g", lineterminator="\r\n")
