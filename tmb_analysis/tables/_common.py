"""What every table shares: reading a row (unit, worse direction, ...), thead and tfoot, Swedish order."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from .. import formatting as F
from ..results import select as _select

NBSP = F.NBSP


def _get(row, col, default=None):
    if row is None:
        return default
    v = row.get(col, default) if hasattr(row, "get") else default
    return default if F.is_missing(v) and not isinstance(v, str) else v


def _worse(row) -> str:
    w = _get(row, "worse")
    if isinstance(w, str) and w in ("higher", "lower"):
        return w
    return F.indicator_worse(_get(row, "indicator"))


def _unit(row) -> str:
    u = _get(row, "unit")
    if isinstance(u, str) and u in F.UNIT_SHORT:
        return u
    return "percent" if _get(row, "source_kind") == "survey" else "per_100k"


def _is_small(row) -> bool:
    """Does the table show this kommun's stabilised and pooled rates? The results table's
    ``small_area``; for a table without it, the same rule (``pooling.small_area_population`` in
    config/analysis.yaml, see docs/metod.md) applied to the row's population."""
    small = _get(row, "small_area")
    if small is not None:
        return bool(small)
    from ..priorities import analysis_config

    pop = _get(row, "population")
    return not F.is_missing(pop) and pop < float(analysis_config()["pooling"]["small_area_population"])


def _reference_year(row) -> bool:
    """True for an NTU indicator labelled by reference year (self-reported victimisation)."""
    from ..catalogue import catalogue

    ind = _get(row, "indicator")
    return isinstance(ind, str) and ind in catalogue() and catalogue().get(ind).ntu_year_offset > 0


def _thead(headings) -> Markup:
    cells = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in headings)
    return Markup("<thead><tr>{}</tr></thead>").format(cells)


def _tfoot(ncols: int, notes) -> Markup:
    text = Markup(" ").join(escape(n) for n in notes if n)
    return Markup('<tfoot><tr><td colspan="{}">{}</td></tr></tfoot>').format(ncols, text)


def _sort_key_sv(name: str) -> str:
    """Swedish alphabetical order: å, ä, ö after z."""
    table = str.maketrans({"å": "{", "ä": "|", "ö": "}", "Å": "{", "Ä": "|", "Ö": "}"})
    return str(name).casefold().translate(table)


def _area_level(results: pd.DataFrame, code: str) -> str:
    rows = _select(results, area_code=code)
    if len(rows) and "area_level" in rows and isinstance(rows["area_level"].iloc[0], str):
        return rows["area_level"].iloc[0]
    code = str(code)
    return "riket" if code == "00" else ("lan" if len(code) == 2 else "kommun")
