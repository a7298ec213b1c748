"""The run-wide memo: work that is the same for every report of a run, computed once per results table."""

from __future__ import annotations

import pandas as pd

_SHARED: dict = {}


def _shared(results: pd.DataFrame, name: tuple, compute):
    """Work that is the same for every report of a run (the country's funnel of an indicator, the
    harm index of a year), computed once per results table in a kernel that runs many reports.
    Keyed by the table's ``attrs['tmb_key']`` (set by :func:`load_results`); a table without it
    (built in a notebook by hand) is always computed afresh. A copy keeps the key: code that changes
    a copy of the table must drop it (``df.attrs.pop("tmb_key", None)``), or it is served work done
    on the original (and the original is served its work)."""
    key = results.attrs.get("tmb_key")
    if key is None:
        return compute()
    if (key, name) not in _SHARED:
        if len(_SHARED) >= 256:
            _SHARED.clear()
        _SHARED[(key, name)] = compute()
    return _SHARED[(key, name)]
