"""Follow-up (uppföljning) of a kommun's chosen priorities and medborgarlöften.

A kommun records what it decided in ``uppfoljning/<kommunkod>.yaml`` (format in
``uppfoljning/README.md``). For each followed indicator this module compares the
latest year with the baseline year: for reported crime the ratio of the two rates
with an exact conditional interval (``statsmodels.stats.rates.confint_poisson_2indep``),
for survey shares the difference with an interval from the two published intervals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .catalogue import catalogue

REPO_DIR = Path(__file__).resolve().parents[1]
Z95 = 1.959963984540054


class FollowupError(ValueError):
    """A follow-up file that cannot be read as documented."""


@dataclass(frozen=True)
class Followed:
    indicator: str
    baseline_year: int
    kind: str  # prioritering | medborgarlöfte
    description: str


def followup_dir(synthetic: bool) -> Path:
    base = Path(os.environ.get("TMB_FOLLOWUP_DIR") or REPO_DIR / "uppfoljning")
    return base / "exempel" if synthetic else base


def load_followup(kommun_code: str, synthetic: bool = False) -> tuple[Path, dict, list[Followed]] | None:
    """The follow-up file of a kommun, or None when it has none."""
    path = followup_dir(synthetic) / f"{kommun_code}.yaml"
    if not path.is_file():
        return None
    try:
        raw = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise FollowupError(f"{path}: not valid YAML ({exc})") from None
    if str(raw.get("kommun", "")) != kommun_code:
        raise FollowupError(f"{path}: field 'kommun' is {raw.get('kommun')!r}, expected '{kommun_code}' (quote the code)")
    items = []
    for pos, entry in enumerate(raw.get("prioriteringar") or [], 1):
        ind = entry.get("indikator")
        if ind not in catalogue():
            raise FollowupError(f"{path}: prioriteringar[{pos}].indikator {ind!r} is not an indicator id of the catalogue")
        year = entry.get("basar")
        if not isinstance(year, int):
            raise FollowupError(f"{path}: prioriteringar[{pos}].basar must be a year such as 2022, got {year!r}")
        kind = entry.get("typ", "prioritering")
        if kind not in ("prioritering", "medborgarlöfte"):
            raise FollowupError(f"{path}: prioriteringar[{pos}].typ must be 'prioritering' or 'medborgarlöfte'")
        items.append(Followed(ind, year, kind, str(entry.get("beskrivning", ""))))
    return path, raw, items


def compare_with_baseline(results: pd.DataFrame, area_code: str, item: Followed, year: int) -> dict:
    """Baseline and latest value with intervals, and the change with its 95 % interval.

    ``direction`` is 'decrease' / 'increase' when the interval of the change excludes no
    change, 'no_clear_change' otherwise, 'unknown' when a year is missing.
    """
    rows = results[(results["area_code"] == area_code) & (results["indicator"] == item.indicator)].set_index("year")
    out = {"baseline": None, "latest": None, "change": np.nan, "change_low": np.nan, "change_high": np.nan,
           "direction": "unknown", "unit": catalogue().get(item.indicator).unit}
    if item.baseline_year not in rows.index or year not in rows.index or item.baseline_year >= year:
        return out
    b, c = rows.loc[item.baseline_year], rows.loc[year]
    out["baseline"], out["latest"] = b, c
    if out["unit"] == "per_100k":
        from statsmodels.stats.rates import confint_poisson_2indep

        if any(pd.isna(v) for v in (b["count"], c["count"], b["population"], c["population"])) or b["count"] == 0:
            return out
        lo, hi = confint_poisson_2indep(int(c["count"]), float(c["population"]), int(b["count"]), float(b["population"]),
                                        method="score", compare="ratio")
        ratio = (c["count"] / c["population"]) / (b["count"] / b["population"])
        out["change"], out["change_low"], out["change_high"] = 100 * (ratio - 1), 100 * (lo - 1), 100 * (hi - 1)
    else:
        if any(pd.isna(v) for v in (b["value"], c["value"], b["ci_low"], b["ci_high"], c["ci_low"], c["ci_high"])):
            return out
        se = np.hypot((b["ci_high"] - b["ci_low"]) / (2 * Z95), (c["ci_high"] - c["ci_low"]) / (2 * Z95))
        d = float(c["value"] - b["value"])
        out["change"], out["change_low"], out["change_high"] = d, d - Z95 * se, d + Z95 * se
    if out["change_high"] < 0:
        out["direction"] = "decrease"
    elif out["change_low"] > 0:
        out["direction"] = "increase"
    else:
        out["direction"] = "no_clear_change"
    return out
