"""Kolada v3 values of the context KPIs -> the store's ``context`` table.

:func:`tmb_analysis.sources.read_kolada` hands every data item whose KPI belongs to a context
indicator (its value, count or denominator KPI, :meth:`ContextCatalogue.kpi_roles`) to
:func:`context_table`, after it has checked the item's fields, its municipality id (an unknown id
fails the whole file: nothing is imported half) and its period. The rules, one per kind of input
(the recorded answers in ``tests/fixtures/kolada_context/`` hold every case):

* One row per (area, year, indicator), only where Kolada has a value of gender ``T``; ``K``/``M``
  values are counted in the notes. ``value`` ``null``, a marker (``-`` missing, ``.`` not
  applicable, ``..`` confidential), a ``status`` with a marker, or ``"values": []`` mean *no
  value*: no row, and the report says "uppgift saknas" (never 0). A value with
  ``"isdeleted": true`` has been withdrawn by Kolada: not imported, counted in the notes.
* ``count`` comes from the indicator's ``count_kpi`` (Kolada's ``count`` field is the number of
  members behind a group's mean, never a numerator); ``denominator`` is the sum of the
  ``denominator_kpi`` values of the same area and year. Either stays missing when a part is
  missing or withheld (a withheld count is never 0). Count and denominator KPIs are inputs: they
  get no row of their own.
* A count larger than its denominator, or a value that does not agree with count / denominator ×
  scale (:func:`agrees`), is a mismatch of KPIs: that row keeps its value, loses its count and
  denominator, and the notes name the KPI, area, year and the three numbers.
* A KPI that ``tmb fetch kolada`` asked for (its sidecar lists the request URLs) but that has no
  row in the answer is named in the notes: Kolada answers a retired or unknown KPI with 200 and no
  values; the sidecar's ``kpis_unknown`` (ids missing from Kolada's KPI catalogue) says which.
* A value that is no number, or a share above 100 %, fails the file with one line naming the
  position (``values[12].values[0].value``).
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .config import read_config
from .context import context_catalogue
from .validation import DataValidationError

#: Kolada's markers for "no value": missing, not applicable, confidential.
KOLADA_MISSING = {"-", ".", ".."}
_KPI_IN_URL = re.compile(r"/data/kpi/([^/?]+)")
_MAX_LIST = 6


@lru_cache(maxsize=1)
def _tolerance() -> tuple[float, float]:
    cfg = read_config("analysis")[0].get("context") or {}
    return float(cfg.get("agreement_abs", 0.05)), float(cfg.get("agreement_rel", 0.01))


def agrees(value, count, denominator, scale) -> np.ndarray:
    """True where a published value equals count / denominator × scale up to Kolada's rounding
    (``context.agreement_abs`` + ``agreement_rel`` × value of config/analysis.yaml), and where count
    or denominator is missing (nothing to check)."""
    v, c, d, s = (
        np.asarray(pd.to_numeric(pd.Series(np.ravel(x)), errors="coerce"), dtype=float)
        for x in np.broadcast_arrays(value, count, denominator, scale)
    )
    tol_abs, tol_rel = _tolerance()
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(v - c / d * s)
        ok = diff <= tol_abs + tol_rel * np.abs(v) + 1e-9
    return ok | ~(np.isfinite(c) & np.isfinite(d) & (d > 0))


def _scales(indicators: pd.Series) -> np.ndarray:
    cat = context_catalogue()
    return np.array([cat.get(i).scale if i in cat else np.nan for i in indicators.astype(object)], dtype=float)


def context_checks():
    """The frame-level rules of the ``context`` table: (name, function(df) -> bool Series, error)."""

    def percent(df):
        units = {i.id: i.unit for i in context_catalogue()}
        is_pct = df["indicator"].astype(object).map(units).eq("percent").to_numpy()
        v = pd.to_numeric(df["value"], errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)
        return pd.Series(~is_pct | ~(v > 100 + 1e-9), index=df.index)

    def within(df):
        c = pd.to_numeric(df["count"], errors="coerce").astype("float64")
        d = pd.to_numeric(df["denominator"], errors="coerce").astype("float64")
        return (~(c > d)).fillna(True).astype(bool)

    def agreement(df):
        ok = agrees(
            df["value"].astype("float64").to_numpy(dtype=float, na_value=np.nan),
            df["count"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            df["denominator"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
            _scales(df["indicator"]),
        )
        return pd.Series(ok, index=df.index)

    return [
        ("percent_at_most_100", percent, "a share of at most 100 % for a percent indicator"),
        ("count_within_denominator", within, "count <= denominator"),
        ("value_agrees_with_count", agreement, "value = count / denominator x 100 (or x 1000) within rounding"),
    ]


def _number(raw) -> float | None:
    """A Kolada value as a float; None for something that is not a number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw) if math.isfinite(float(raw)) else None
    if isinstance(raw, str):
        text = re.sub(r"[\s\u00a0\u202f]", "", raw).replace(",", ".").replace("\u2212", "-")
        try:
            v = float(text)
        except ValueError:
            return None
        return v if math.isfinite(v) else None
    return None


def requested_kpis(path: str | Path, digest: str) -> tuple[list[str], set[str]]:
    """The KPIs a ``tmb fetch kolada`` download asked for (from its sidecar's request URLs), and the
    ones Kolada's KPI catalogue does not know (``kpis_unknown``); ([], set()) without a sidecar
    for exactly this content."""
    from .sources import sidecar_path

    side = sidecar_path(path)
    try:
        obj = json.loads(side.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return [], set()
    if not isinstance(obj, dict) or str(obj.get("sha256", "")).lower() != digest:
        return [], set()
    urls = [u for u in (obj.get("pages") or [obj.get("url")]) if isinstance(u, str)]
    kpis: list[str] = []
    for u in urls:
        m = _KPI_IN_URL.search(u)
        if m:
            kpis += [k for k in m.group(1).split(",") if k]
    return list(dict.fromkeys(kpis)), {str(k) for k in (obj.get("kpis_unknown") or [])}


def _listing(items, limit: int = _MAX_LIST) -> str:
    items = list(items)
    return ", ".join(map(str, items[:limit])) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def context_table(
    path: Path,
    items: list[tuple],
    requested: tuple[list[str], set[str]] = ([], set()),
    present_kpis: set[str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The ``context`` rows (columns of the canonical table, before :func:`validation.to_canonical`)
    and the notes, from ``items``: ``(pos, kpi, area_code, year, values_list)`` of the file's data
    items whose KPI is a context KPI (checked by the caller: known area, a year, no repeated key).

    ``requested``: what :func:`requested_kpis` found; ``present_kpis``: every KPI with a row in the
    file (crime and NTU KPIs too), to say which requested ones got none.
    """
    name = Path(path).name
    cat = context_catalogue()
    roles = cat.kpi_roles()
    cells: dict[tuple[str, str, int], float] = {}
    seen_keys: set[tuple[str, str, int]] = set()
    status_of: dict[tuple[str, str, int], str] = {}
    other_gender = deleted = 0
    withheld: dict[str, int] = {}
    for pos, kpi, area, year, values in items:
        if not isinstance(values, list):
            raise DataValidationError(
                f"{name}: values[{pos}].values is not a list; expected Kolada's "
                '[{"gender", "count", "status", "value"}]',
                origin=name,
            )
        total, was_deleted = None, False
        for k, v in enumerate(values):
            gender = str(v.get("gender", "")).strip().upper() if isinstance(v, dict) else ""
            if gender in ("K", "M"):
                other_gender += 1
                continue
            if gender != "T":
                raise DataValidationError(
                    f"{name}: values[{pos}].values[{k}].gender is "
                    f"{v.get('gender') if isinstance(v, dict) else v!r}; expected T, K or M",
                    origin=name,
                )
            if v.get("isdeleted") is True:
                deleted += 1
                was_deleted = True
                continue
            status = str(v.get("status") or "").strip()
            raw = v.get("value")
            if raw is None or (isinstance(raw, str) and raw.strip() in KOLADA_MISSING) or status in KOLADA_MISSING:
                continue
            num = _number(raw)
            if num is None:
                raise DataValidationError(
                    f"{name}: values[{pos}].values[{k}].value is {raw!r} (KPI {kpi}); expected a "
                    "number, null, '-', '.' or '..'",
                    origin=name,
                )
            if num < 0:
                raise DataValidationError(
                    f"{name}: values[{pos}].values[{k}].value is {raw!r} (KPI {kpi}); expected 0 or more", origin=name
                )
            total = (num, status, pos, k)
        key = (kpi, area, year)
        seen_keys.add(key)
        if total is None:
            if not was_deleted:
                withheld[kpi] = withheld.get(kpi, 0) + 1
            continue
        cells[key] = total[0]
        status_of[key] = total[1]
        if any(role == "value" for _, role in roles[kpi]):
            ind = cat.get(next(i for i, r in roles[kpi] if r == "value"))
            if ind.unit == "percent" and total[0] > 100 + 1e-9:
                raise DataValidationError(
                    f"{name}: values[{total[2]}].values[{total[3]}].value is {total[0]:g} (KPI {kpi}, "
                    f"{ind.id}); expected a share of at most 100 %",
                    origin=name,
                )

    recs, notes, mismatched = [], [], []
    for ind in cat:
        for (kpi, area, year), value in cells.items():
            if kpi != ind.kolada_kpi:
                continue
            count = cells.get((ind.count_kpi, area, year)) if ind.count_kpi else None
            parts = [cells.get((d, area, year)) for d in ind.denominator_kpis]
            den = sum(parts) if parts and all(p is not None for p in parts) else None
            for what, x in (("count", count), ("denominator", den)):
                if x is not None and x != int(x):
                    raise DataValidationError(
                        f"{name}: the {what} of {ind.id} ({ind.count_kpi if what == 'count' else '+'.join(ind.denominator_kpis)}) "
                        f"for {area} {year} is {x:g}; expected a whole number",
                        origin=name,
                    )
            if den is not None and den <= 0:
                den = None
            if count is not None and den is not None:
                ok = count <= den and bool(agrees(value, count, den, ind.scale)[0])
                if not ok:
                    mismatched.append(
                        f"{ind.kolada_kpi} {area} {year}: value {value:g}, count {count:g} "
                        f"({ind.count_kpi}), denominator {den:g} ({'+'.join(ind.denominator_kpis)})"
                    )
                    count = den = None
            status = status_of[(kpi, area, year)]
            recs.append(
                (
                    area,
                    year,
                    ind.id,
                    value,
                    count,
                    den,
                    "T",
                    "preliminary" if "prel" in status.casefold() else "final",
                    ind.source_text,
                )
            )
        # a län (type K KPI) or riket without the value but with its count and denominator: the value is
        # Kolada's own count over its own population (the län's count includes kommuner whose counts
        # are withheld), rounded to one decimal as Kolada publishes it
        if ind.count_kpi:
            for (kpi, area, year), count in cells.items():
                if kpi != ind.count_kpi or (ind.kolada_kpi, area, year) in seen_keys:
                    continue
                parts = [cells.get((d, area, year)) for d in ind.denominator_kpis]
                if not all(p is not None and p > 0 for p in parts) or count > sum(parts):
                    continue
                den = sum(parts)
                value = float(np.floor(count / den * ind.scale * 10 + 0.5) / 10)
                recs.append(
                    (
                        area,
                        year,
                        ind.id,
                        value,
                        count,
                        den,
                        "T",
                        "final",
                        f"Kolada (RKA), {ind.producer}: {ind.count_kpi}/{'+'.join(ind.denominator_kpis)} (beräknat)",
                    )
                )
    frame = pd.DataFrame(
        recs, columns=["area_code", "year", "indicator", "value", "count", "denominator", "gender", "status", "source"]
    )
    if mismatched:
        notes.append(
            f"{len(mismatched)} context value(s) disagree with their count and denominator: imported without "
            f"them, e.g. {mismatched[0]}"
        )
    if withheld:
        notes.append(
            f"{sum(withheld.values())} context value(s) without a figure ('..', '-', '.', null or none), "
            f"not imported and shown as 'uppgift saknas': "
            + _listing(f"{k} ({n})" for k, n in sorted(withheld.items()))
        )
    if deleted:
        notes.append(f"{deleted} context value(s) withdrawn by Kolada (isdeleted), not imported")
    if other_gender:
        notes.append(
            f"{other_gender} context value(s) for women (K) or men (M) not imported: the store holds totals (T)"
        )
    asked, unknown = requested
    present = set(present_kpis if present_kpis is not None else {it[1] for it in items})
    for kpi in asked:
        if kpi in present:
            continue
        use = ", ".join(sorted({i for i, _ in roles.get(kpi, [])})) or "no context indicator"
        if kpi in unknown:
            notes.append(
                f"KPI {kpi}: Kolada has no such KPI (retired or a wrong id; used by {use}): "
                "check config/context_indicators.yaml"
            )
        else:
            notes.append(
                f"KPI {kpi}: no values from Kolada for the areas and years asked for (retired, or not "
                f"published yet; used by {use})"
            )
    return frame, notes
