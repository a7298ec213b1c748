"""What the modules of the priorities share: the tests of the evidence, numeric columns, ranking within groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The tests an indicator's evidence rests on: (key, z column, noise of a redraw). ``own``: the
#: area's own value (one draw shared by the four benchmarks), ``pooled``: the pooled three years,
#: ``trend``: the trend statistic.
TESTS = (
    ("lan", "_z_lan", "own"),
    ("riket", "_z_riket", "own"),
    ("group", "_z_group", "own"),
    ("peers", "_z_peers", "own"),
    ("pooled", "_z_pooled", "pooled"),
    ("trend", "_z_trend", "trend"),
)


def _num(df: pd.DataFrame, col: str, default=np.nan) -> np.ndarray:
    if col not in df:
        return np.full(len(df), default, dtype=float)
    return pd.to_numeric(df[col], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


def _ranks(group: np.ndarray, score: np.ndarray, harm: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rank (1, 2, ...) of each entry within its group: score, then harm weight (both descending),
    then catalogue/table order."""
    order = np.lexsort((pos, -harm, -score, group))
    g = group[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(g)]))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = np.arange(len(g)) - first + 1
    return rank
