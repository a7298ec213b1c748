"""The evidence of the candidate rows: their tests worse-oriented, one-sided p-values, and the concern of
related NTU indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from ._common import TESTS, _num


def _worse_labels(worse: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lower = (worse.astype(str) == "lower").to_numpy()
    cmp_bad = np.where(lower, "lower", "higher")
    trend_bad = np.where(lower, "decreasing", "increasing")
    funnel_bad = np.where(lower, "below", "above")
    return cmp_bad, trend_bad, funnel_bad


def _concern(res: pd.DataFrame, related: dict[str, list[str]], period=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Per row: the share of related NTU indicators that signal concern (and the signalling pairs).

    A related NTU indicator signals concern for the same area and period (``period``, per row;
    default the year: in a report's round crime 2024 and NTU 2025 share one period) when it is
    worse than the län or riket, or its trend is worse. Rows without related indicators with
    data get 0. The second value lists the signalling pairs (columns ``_row``, ``related_label``).
    """
    n = len(res)
    share = np.zeros(n)
    none = pd.DataFrame(columns=["_row", "related_label"])
    pairs = [(c, s) for c, ss in related.items() for s in ss]
    if not pairs or n == 0:
        return share, none
    is_survey = (res["source_kind"] == "survey").to_numpy()
    if not is_survey.any():
        return share, none
    cmp_bad, trend_bad, _ = _worse_labels(res["worse"])
    signal_by_row = is_survey & (
        (res["cmp_lan"].to_numpy() == cmp_bad)
        | (res["cmp_riket"].to_numpy() == cmp_bad)
        | (res["trend"].to_numpy() == trend_bad)
    )
    is_crime = (res["source_kind"] == "crime").to_numpy()
    area_id = pd.factorize(res["area_code"])[0].astype(np.int64)
    ind_codes, ind_uniq = pd.factorize(res["indicator"])
    ind_id = {ind: i for i, ind in enumerate(ind_uniq)}
    when = res["year"].to_numpy() if period is None else np.asarray(period)
    key = (area_id * 10_000 + when.astype(np.int64)) * 1_000 + ind_codes.astype(np.int64)
    s_rows = np.flatnonzero(is_survey)
    s_order = s_rows[np.argsort(key[s_rows], kind="stable")]
    s_keys = key[s_order]
    tot, hit = np.zeros(n), np.zeros(n)
    hit_rows, hit_labels = [], []
    labels = res["indicator_label"].to_numpy(dtype=object)
    for crime_ind, rel in related.items():
        if crime_ind not in ind_id:
            continue
        rows = np.flatnonzero(ind_codes == ind_id[crime_ind])
        rows = rows[is_crime[rows]]
        base = key[rows] - ind_id[crime_ind]
        for s_ind in rel:
            if s_ind not in ind_id:
                continue
            want = base + ind_id[s_ind]
            at = np.clip(np.searchsorted(s_keys, want), 0, len(s_keys) - 1)
            found = s_keys[at] == want
            src = s_order[at[found]]
            tot[rows[found]] += 1
            sig = signal_by_row[src]
            hit[rows[found]] += sig
            hit_rows.append(rows[found][sig])
            hit_labels.append(labels[src[sig]])
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tot > 0, hit / np.maximum(tot, 1), 0.0)
    if not hit_rows:
        return share, none
    return share, pd.DataFrame({"_row": np.concatenate(hit_rows), "related_label": np.concatenate(hit_labels)})


#: The columns the evidence, the score and the redraws read (a narrow copy of the candidate rows).
_READ = (
    [
        "area_code",
        "area_level",
        "indicator",
        "source_kind",
        "year",
        "worse",
        "value",
        "ci_low",
        "ci_high",
        "count",
        "population",
        "funnel_phi",
        "eb_value",
        "eb_weight",
        "eb_prior",
        "lan_value",
        "riket_value",
        "_pool_count",
        "_eb_m",
        "_df_trend",
        "trend",
    ]
    + [col for _, col, _ in TESTS]
    + ["_rho_" + key for key, _, _ in TESTS]
)


def _candidates(out: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return out[[c for c in _READ if c in out.columns]].iloc[rows]


class _Evidence:
    """The tests of the candidate rows, worse-oriented, and how a redraw moves them."""

    def __init__(self, sub: pd.DataFrame, rows: np.ndarray, level: float):
        self.rows = rows
        self.sign = np.where((sub["worse"].astype(str) == "lower").to_numpy(), -1.0, 1.0)
        self.z = (
            np.column_stack([self.sign * _num(sub, col) for _, col, _ in TESTS])
            if len(rows)
            else np.zeros((0, len(TESTS)))
        )
        # The trend test compares the area's trend with riket's; it can count only where the area's own
        # trend, as the table shows it, is on the worse side too (never "ökar mer än riket" beside "ingen
        # tydlig trend"). Elsewhere it stays in the family of tests but can never reject.
        if len(rows) and "trend" in sub:
            own = np.where(self.sign > 0, "increasing", "decreasing")
            t = self.z[:, len(TESTS) - 1]
            t[np.isfinite(t) & (sub["trend"].astype(str).to_numpy() != own)] = -50.0  # p = 1, still one of the tests
        rho = [np.ones(len(rows)) if src == "trend" else _num(sub, "_rho_" + key, 1.0) for key, _, src in TESTS]
        self.rho = np.column_stack(rho) if len(rows) else np.zeros((0, len(TESTS)))
        self.rho = np.where(np.isfinite(self.rho), self.rho, 1.0)
        self.df = np.where(np.isfinite(_num(sub, "_df_trend", np.inf)), _num(sub, "_df_trend", np.inf), np.inf)
        self.alpha_side = (1 - level) / 2

    def p(self, z: np.ndarray) -> np.ndarray:
        """One-sided p-values on the worse side (t for the trend where its interval used t)."""
        p = special.ndtr(-z)
        trend = len(TESTS) - 1
        t_df = np.broadcast_to(self.df, z.shape[:-1])
        finite_df = np.isfinite(t_df)
        if finite_df.any():
            pt = p[..., trend]
            pt[finite_df] = special.stdtr(t_df[finite_df], -z[..., trend][finite_df])
        return p
