"""Input conversion shared by the statistical methods: any numbers in, float arrays out; group codes."""

from __future__ import annotations

import numpy as np
import pandas as pd


def floats(column) -> np.ndarray:
    """A table column (any dtype, nullable too) as a float ndarray, NaN where missing or not a number."""
    return pd.to_numeric(column, errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


# --------------------------------------------------------------------------- #
# Input conversion
# --------------------------------------------------------------------------- #
def as_float_array(x) -> np.ndarray:
    """Convert scalars, sequences, arrays or pandas objects to a float ndarray.

    ``None``, ``pd.NA``, ``NaT``, non-numeric strings and +-inf become ``NaN``.
    Scalars give a 0-d array.
    """
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiub":
        out = np.array(x, dtype=float)
        out[~np.isfinite(out)] = np.nan
        return out
    if isinstance(x, (pd.Series, pd.Index)):
        s = pd.to_numeric(pd.Series(x), errors="coerce")
        out = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        obj = np.asarray(x, dtype=object)
        flat = pd.to_numeric(pd.Series(obj.ravel(), dtype=object), errors="coerce")
        out = flat.to_numpy(dtype=float, na_value=np.nan).reshape(obj.shape)
    out = np.array(out, dtype=float)
    out[~np.isfinite(out)] = np.nan
    return out


def _valid_count_pop(count, population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c, p = np.broadcast_arrays(as_float_array(count), as_float_array(population))
    ok = np.isfinite(c) & np.isfinite(p) & (c >= 0) & (p > 0)
    return c.astype(float), p.astype(float), ok


# --------------------------------------------------------------------------- #
# Grouped empirical Bayes
# --------------------------------------------------------------------------- #
def _group_codes(groups, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.zeros(n, dtype=np.int64), 1
    codes, uniq = pd.factorize(pd.Series(groups, dtype=object).reset_index(drop=True), use_na_sentinel=True)
    return codes, len(uniq)
