"""What the reports take from the ranked table: one area's priorities, its watch list, a county's shared
challenges."""

from __future__ import annotations

import numpy as np
import pandas as pd


def priorities_for(results: pd.DataFrame, area_code: str, year: int | None = None) -> pd.DataFrame:
    """The ranked priorities of one area, in rank order: its round (the table ranks one round per
    area, which may hold crime and NTU of two years), or those of ``year`` when given."""
    rows = results[(results["area_code"].astype(str) == str(area_code)) & results["priority_rank"].notna()]
    if year is not None:
        rows = rows[rows["year"] == year]
    elif (rows["priority_rank"] == 1).sum() > 1:  # ranked per year (no round): the latest year's
        rows = rows[rows["year"] == rows["year"].max()]
    return rows.sort_values("priority_rank")


def watch_list(results: pd.DataFrame, area_code: str, n: int = 3) -> pd.DataFrame:
    """The area's nearest candidates that are *not* proposals: the round's candidates that are not ranked
    but show at least one sign in the table (higher than a benchmark, or rising, one comparison at a time),
    by score. For a conversation when the statistics support fewer than three proposals; never worded as
    evidence (their adjusted p-value ``priority_q`` did not survive the multiplicity rule)."""
    rows = results[
        (results["area_code"].astype(str) == str(area_code))
        & results["priority_score"].notna()
        & results["priority_rank"].isna()
    ]
    if rows.empty:
        return rows
    lower = rows["worse"].astype(str).to_numpy() == "lower"
    bad_cmp = np.where(lower, "lower", "higher")
    bad_trend = np.where(lower, "decreasing", "increasing")
    sign = np.zeros(len(rows), dtype=bool)
    for col in ("cmp_lan", "cmp_riket", "cmp_group", "cmp_peers", "cmp_riket_pooled"):
        if col in rows:
            sign |= rows[col].astype(str).to_numpy() == bad_cmp
    sign |= rows["trend"].astype(str).to_numpy() == bad_trend
    return rows[sign].sort_values(["priority_score", "harm_weight"], ascending=False).head(n)


def shared_challenges(results: pd.DataFrame, lan_code: str, min_kommuner: int = 2) -> pd.DataFrame:
    """Indicators that several kommuner of a län share, weighted by harm and by evidence as the priorities
    are. Two tiers: ``tier`` 1, eligible (evidence that survives the multiplicity rule) in at least
    ``min_kommuner`` kommuner, ordered by the sum of their priority scores (harm weight^harm_power x
    evidence); ``tier`` 2, a sign one comparison at a time (or eligible) in at least a third of the kommuner
    (and ``min_kommuner``), not a tier-1 challenge, ordered the same way over those kommuner. Columns:
    ``indicator``, ``indicator_label``, ``harm_weight``, ``tier``, ``n_eligible``, ``eligible``, ``n_signs``,
    ``signs`` (kommuner with a sign but no eligible evidence), ``weight``, ``n_kommuner``."""
    cols = [
        "indicator",
        "indicator_label",
        "harm_weight",
        "tier",
        "n_eligible",
        "eligible",
        "n_signs",
        "signs",
        "weight",
        "n_kommuner",
    ]
    kom = results[
        (results["area_level"] == "kommun")
        & (results["lan_code"].astype(str) == str(lan_code))
        & results["priority_score"].notna()
    ]
    if kom.empty:
        return pd.DataFrame(columns=cols)
    n_k = kom["area_code"].nunique()
    eligible = kom["priority_eligible"].fillna(False).astype(bool).to_numpy()
    signed = kom.index.isin(pd.concat([watch_list(kom, c, n=len(kom)) for c in kom["area_code"].unique()]).index)
    out = []
    for (ind, label), at in kom.groupby(["indicator", "indicator_label"], sort=False).indices.items():
        g = kom.iloc[at]
        e, sg = eligible[at], signed[at] & ~eligible[at]
        n_e, n_s = int(e.sum()), int(sg.sum())
        if n_e >= min_kommuner:
            tier, weight = 1, float(g["priority_score"].to_numpy()[e].sum())
        elif n_e + n_s >= max(min_kommuner, -(-n_k // 3)):
            tier, weight = 2, float(g["priority_score"].to_numpy()[e | sg].sum())
        else:
            continue
        out.append(
            {
                "indicator": ind,
                "indicator_label": label,
                "harm_weight": float(g["harm_weight"].iloc[0]),
                "tier": tier,
                "n_eligible": n_e,
                "eligible": tuple(sorted(g["area_name"].to_numpy()[e])),
                "n_signs": n_s,
                "signs": tuple(sorted(g["area_name"].to_numpy()[sg])),
                "weight": weight,
                "n_kommuner": n_k,
            }
        )
    frame = pd.DataFrame(out, columns=cols)
    return frame.sort_values(["tier", "weight", "harm_weight"], ascending=[True, False, False]).reset_index(drop=True)
