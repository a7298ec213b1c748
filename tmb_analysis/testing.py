"""Test helpers shared by the suite and usable by anyone testing code on the results table (as geopandas.testing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

__all__ = ["synthetic_results"]


def synthetic_results(seed: int = 1):
    """A small results table: Gävleborg's ten kommuner, the län, riket and one kommun of
    another län; one crime and one survey indicator; 2016–2025."""
    rng = np.random.default_rng(seed)
    areas = [
        ("2101", "Ockelbo", "kommun", 5_800),
        ("2104", "Hofors", "kommun", 9_400),
        ("2121", "Ovanåker", "kommun", 11_300),
        ("2132", "Nordanstig", "kommun", 9_400),
        ("2161", "Ljusdal", "kommun", 19_000),
        ("2180", "Gävle", "kommun", 103_700),
        ("2181", "Sandviken", "kommun", 39_800),
        ("2182", "Söderhamn", "kommun", 25_400),
        ("2183", "Bollnäs", "kommun", 26_000),
        ("2184", "Hudiksvall", "kommun", 37_600),
        ("2021", "Vansbro", "kommun", 6_600),
        ("21", "Gävleborgs län", "lan", 287_400),
        ("00", "Riket", "riket", 10_550_000),
    ]
    indicators = [
        ("skadegorelse", "Skadegörelsebrott", "crime", "skadegörelse", "per_100k", 1_400.0),
        (
            "otrygghet_kvall",
            "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet",
            "survey",
            "otrygghet",
            "percent",
            24.0,
        ),
    ]
    rows = []
    for ind, label, kind, theme, unit, base in indicators:
        bench = {}
        for code, name, level, pop in reversed(areas):  # riket and län first
            for year in range(2016, 2026):
                factor = 1 + 0.03 * (year - 2016) + rng.normal(0, 0.05)
                if level == "kommun":
                    factor *= rng.uniform(0.6, 1.5)
                row = dict(
                    area_code=code,
                    area_name=name,
                    area_level=level,
                    indicator=ind,
                    indicator_label=label,
                    source_kind=kind,
                    theme=theme,
                    unit=unit,
                    year=year,
                    population=pop,
                )
                if kind == "crime":
                    count = int(round(base * factor * pop / 1e5))
                    lo = chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
                    hi = chi2.ppf(0.975, 2 * count + 2) / 2
                    row.update(
                        value=count / pop * 1e5,
                        ci_low=lo / pop * 1e5,
                        ci_high=hi / pop * 1e5,
                        count=count,
                        n_respondents=pd.NA,
                    )
                else:
                    n = int(min(pop * 0.01, 2_000) if level != "riket" else 70_000)
                    p = min(base * factor, 95.0)
                    half = 1.96 * (p * (100 - p) / n) ** 0.5
                    row.update(
                        value=p, ci_low=max(p - half, 0), ci_high=min(p + half, 100), count=pd.NA, n_respondents=n
                    )
                bench[(code, year)] = row["value"]
                for col, ref in (("cmp_lan", "21"), ("cmp_riket", "00")):
                    b = bench.get((ref, year))
                    if level == "riket" or (col == "cmp_lan" and level != "kommun") or b is None:
                        row[col] = "unknown"
                    else:
                        row[col] = "higher" if row["ci_low"] > b else "lower" if row["ci_high"] < b else "similar"
                rows.append(row)
    df = pd.DataFrame(rows)
    trend = rng.normal(2, 4, len(df)).round(2)
    df["trend_pct_per_year"] = trend
    df["trend_ci_low"] = (trend - 3).round(2)
    df["trend_ci_high"] = (trend + 3).round(2)
    df["trend"] = np.where(
        df["trend_ci_low"] > 0, "increasing", np.where(df["trend_ci_high"] < 0, "decreasing", "no_clear_trend")
    )
    df["eb_value"] = df["value"]
    df["priority_rank"] = pd.array([pd.NA] * len(df), dtype="Int64")
    for col in ("count", "n_respondents"):
        df[col] = df[col].astype("Int64")
    return df
