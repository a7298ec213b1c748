"""The harm-weighted crime index per area and year, with its interval (Dobson et al. 1991)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import statistics as st
from ._common import _num
from .settings import _index_indicators, harm_weights


def harm_index(
    results: pd.DataFrame,
    weights: dict[str, float] | None = None,
    indicators: list[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Harm-weighted crime index per area and year.

    ``harm_index = sum_i w_i * count_i / population * 100 000`` over the index indicators
    (``index`` in harm_weights.yaml: crime indicators that do not overlap), i.e. the
    weighted sum of the rates. The 95 % interval is that of Dobson et al. (1991) for a
    weighted sum of Poisson counts (:func:`statistics.dobson_ci`), with each count's variance
    multiplied by its indicator's overdispersion phi (the results table's ``funnel_phi``) where
    the table has it: ``V = sum w_i^2 phi_i y_i``. ``index_vs_riket`` is the
    index relative to riket's the same year (riket = 100); ``cmp_riket`` compares the
    interval with riket's index. An area-year lacking any index indicator's count or
    population gets NaN and ``reason``.
    """
    hw = weights if weights is not None else harm_weights()
    inds = indicators if indicators is not None else _index_indicators()
    cols = [
        "area_code",
        "area_name",
        "area_level",
        "year",
        "harm_index",
        "ci_low",
        "ci_high",
        "riket_index",
        "index_vs_riket",
        "cmp_riket",
        "n_indicators",
        "reason",
    ]
    crime = results[(results["source_kind"] == "crime") & results["indicator"].isin(inds)]
    if crime.empty or not inds:
        return pd.DataFrame(columns=cols)
    c = pd.to_numeric(crime["count"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    p = pd.to_numeric(crime["population"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
    wt = crime["indicator"].map(hw).astype("float64").fillna(1.0).to_numpy()
    phi = _num(crime, "funnel_phi", 1.0)
    phi = np.where(np.isfinite(phi) & (phi > 1), phi, 1.0)
    ok = np.isfinite(c) & (c >= 0) & np.isfinite(p) & (p > 0)
    key = ["area_code", "area_name", "area_level", "year"]
    df = (
        crime[key + ["indicator"]]
        .reset_index(drop=True)
        .assign(
            ok=ok,
            wc=np.where(ok, wt * c, 0.0),
            w2c=np.where(ok, wt**2 * phi * c, 0.0),
            c=np.where(ok, c, 0.0),
            pop=np.where(ok, p, np.nan),
            w=wt,
        )
    )
    agg = (
        df.groupby(key, sort=False)
        .agg(
            n_ok=("ok", "sum"),
            wc=("wc", "sum"),
            w2c=("w2c", "sum"),
            c=("c", "sum"),
            pop=("pop", "max"),
            wmax=("w", "max"),
        )
        .reset_index()
    )
    ok_sets = df[df["ok"]].groupby(key, sort=False)["indicator"].agg(frozenset)
    agg["n_indicators"] = agg["n_ok"].astype(int)
    complete = agg["n_ok"].to_numpy() == len(set(inds))
    scale = np.where(complete, 100_000 / agg["pop"].to_numpy(dtype=float), np.nan)
    agg["harm_index"] = agg["wc"].to_numpy() * scale
    lo, hi = st.dobson_ci(agg["wc"].to_numpy(), agg["w2c"].to_numpy(), agg["c"].to_numpy(), alpha=alpha)
    zero = complete & (agg["c"].to_numpy() == 0)
    # No offence at all: the weighted sum is at most max(w) x the total count, whose exact
    # upper limit for a zero count is -log(alpha/2) (3.69 at 95 %).
    lo = np.where(zero, 0.0, lo)
    hi = np.where(zero, agg["wmax"].to_numpy() * st.poisson_rate_ci(0, 1, per=1, alpha=alpha)[1], hi)
    agg["ci_low"], agg["ci_high"] = lo * scale, hi * scale
    reason = np.full(len(agg), "", dtype=object)
    for i in np.flatnonzero(~complete):
        k = tuple(agg.loc[i, key])
        gone = sorted(set(inds) - set(ok_sets.get(k, frozenset())))
        reason[i] = "data saknas för: " + ", ".join(gone)
    reason[zero] = "inga anmälda brott i indexets indikatorer"
    agg["reason"] = reason
    riket = agg[agg["area_code"] == "00"].set_index("year")["harm_index"]
    agg["riket_index"] = agg["year"].map(riket).astype("float64")
    agg["index_vs_riket"] = agg["harm_index"] / agg["riket_index"] * 100
    bench = np.where(agg["area_code"].to_numpy() == "00", np.nan, agg["riket_index"].to_numpy(dtype=float))
    agg["cmp_riket"] = st.compare_to_benchmark(agg["ci_low"].to_numpy(), agg["ci_high"].to_numpy(), bench)
    return agg[cols].reset_index(drop=True)
