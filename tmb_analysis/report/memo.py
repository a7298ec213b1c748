"""The run-wide memo: work that is the same for every report of a run, computed once per results table."""

from __future__ import annotations

import pandas as pd

#: pandas 3 always copies on write; pandas 2 only when asked (without it the memo computes afresh)
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3 or pd.get_option("mode.copy_on_write") is True
_MAX_ENTRIES = 256
#: memoised work by (the lineage of the data it was computed from, name)
_SHARED: dict = {}
#: per lineage seen: a shallow copy of the frame (its witness) and the lineage whose work it is served
_WITNESSES: dict = {}


def _lineage(results: pd.DataFrame) -> tuple | None:
    """The identity of a frame's data, not of the frame object: its row and column labels and, per block of
    columns, pandas' copy-on-write reference set (shared by the shallow copies that see the same data; a write
    into any frame of the set first gives that frame data of its own). None where pandas keeps its data
    otherwise. Object ids stay unique because the memo keeps a witness of every lineage it has seen."""
    try:
        blocks = tuple((id(b.refs), b.mgr_locs.as_array.tobytes()) for b in results._mgr.blocks)
        return id(results.index._id), id(results.columns._id), blocks
    except AttributeError:
        return None


def _same_content(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """The same labels, dtypes and values (a missing value equal to a missing value), column by column."""
    return (
        a.shape == b.shape
        and a.index.equals(b.index)
        and a.columns.equals(b.columns)
        and a.dtypes.equals(b.dtypes)
        and all(a[c].equals(b[c]) for c in a.columns)
    )


def _shared(results: pd.DataFrame, name: tuple, compute):
    """Work that is the same for every report of a run (the country's funnel of an indicator, the
    harm index of a year), computed once per results table in a kernel that runs many reports.

    Only for a table that :func:`tmb_analysis.results.load_results` made (``attrs['tmb_key']``); any other
    frame (built in a notebook by hand) is always computed afresh. The work is served only to a frame that
    holds the very data it was computed from: the same :func:`_lineage` (the shallow copies that a build
    kernel hands its reports), or, checked once value by value, the same content (the same table read again
    from the disk cache). The memo keeps a shallow copy of every frame it has served, so under copy-on-write
    no write (to a copy of the table or to the table itself) can change the data a lineage stands for: a
    changed copy that still carries the key, or the table changed in place after its work was memoised,
    gets work of its own, and never the original's (nor the original its)."""
    key = results.attrs.get("tmb_key")
    lineage = _lineage(results) if key is not None and _COPY_ON_WRITE else None
    if lineage is None:
        return compute()
    if len(_SHARED) >= _MAX_ENTRIES or len(_WITNESSES) >= _MAX_ENTRIES:
        _SHARED.clear()
        _WITNESSES.clear()
    if lineage not in _WITNESSES:
        known = dict.fromkeys(s for witness, s in _WITNESSES.values() if witness.attrs.get("tmb_key") == key)
        same = next((s for s in known if _same_content(results, _WITNESSES[s][0])), lineage)
        _WITNESSES[lineage] = (results.copy(deep=False), same)
    served = _WITNESSES[lineage][1]
    if (served, name) not in _SHARED:
        _SHARED[(served, name)] = compute()
    return _SHARED[(served, name)]
