"""The Swedish evidence text of a ranked row, with the numbers formatted as in the tables."""

from __future__ import annotations

import numpy as np

from .. import formatting as F
from ._common import _num
from .stability import stability_text

NBSP, MINUS = F.NBSP, F.MINUS

#: Swedish number text: no-break space thousands separator, decimal comma, real minus sign.
_SV = str.maketrans({",": NBSP, ".": ",", "-": MINUS})


#: Swedish phrase and value column of each benchmark in the evidence text.
PHRASES = {
    "lan": ("övriga länet", "lan_rest_value"),
    "riket": ("riket", "riket_value"),
    "group": ("kommungruppen", "group_value"),
    "peers": ("liknande kommuner", "peers_value"),
}


def _fmt(values: np.ndarray, decimals: int | None = None, signed: bool = False, unit=None, where=None) -> np.ndarray:
    """Swedish number texts for a float array ('–' for missing), rounded and with the decimals of
    :mod:`tmb_analysis.formatting`, so that the evidence text shows the same figures as the tables.

    ``decimals=None``: the decimals :func:`formatting.value_decimals` gives for each element's
    ``unit`` (array of 'percent'/'per_100k'), which also puts a percent sign after shares.
    ``where``: a boolean mask of the elements needed (the others are left '–'). Written without
    babel (one call per number would cost seconds over the country's ranked rows).
    """
    vals = np.asarray(values, dtype=float)
    out = np.full(len(vals), "–", dtype=object)
    need = np.isfinite(vals) if where is None else np.isfinite(vals) & np.asarray(where, dtype=bool)
    units = np.asarray(unit, dtype=object) if unit is not None else np.full(len(vals), None, dtype=object)
    for i in np.flatnonzero(need).tolist():
        d = int(decimals) if decimals is not None else F.value_decimals(vals[i], units[i])
        q = F._round(vals[i], d)
        text = f"{q:,.{d}f}".translate(_SV)
        out[i] = ("+" + text if signed and q > 0 else text) + (NBSP + "%" if units[i] == "percent" else "")
    return out


def _evidence(sub, hits, funnel_hit, m_tests, concern, conf, stability, to_lan, fdr) -> np.ndarray:
    """The Swedish evidence text of each ranked row (docs/metod.md, section 11, has an example)."""
    unit = sub["unit"].astype(object).to_numpy()
    val = lambda col: _num(sub, col)  # noqa: E731
    value_t = _fmt(val("value"), unit=unit)
    lo_t, hi_t = _fmt(val("ci_low"), unit=unit), _fmt(val("ci_high"), unit=unit)
    bench_t = {key: _fmt(val(col), unit=unit, where=hits[:, j]) for j, (key, (_, col)) in enumerate(PHRASES.items())}
    lim_lo, lim_hi = (
        _fmt(val("riket_limit_low"), unit=unit, where=hits[:, 1]),
        _fmt(val("riket_limit_high"), unit=unit, where=hits[:, 1]),
    )
    pooled_t = _fmt(val("pooled_value"), unit=unit, where=hits[:, 4])
    trend_hit = hits[:, 5]
    tr_t = _fmt(np.abs(val("trend_pct_per_year")), 1, where=trend_hit)
    tr_lo = _fmt(val("trend_ci_low"), 1, signed=True, where=trend_hit)
    tr_hi = _fmt(val("trend_ci_high"), 1, signed=True, where=trend_hit)
    tr_r = _fmt(val("riket_trend_pct_per_year"), 1, signed=True, where=trend_hit)
    hw_t, score_t = _fmt(val("harm_weight"), 1), _fmt(val("priority_score"), 1)
    year, first = val("year"), val("trend_first_year")
    lower = (sub["worse"].astype(str) == "lower").to_numpy()
    labels = sub["indicator_label"].to_numpy(dtype=object)
    status = sub["status"].to_numpy(dtype=object)
    tunit = sub["trend_unit"].to_numpy(dtype=object) if "trend_unit" in sub else np.full(len(sub), "", dtype=object)
    years_t = (
        sub["pooled_years"].to_numpy(dtype=object) if "pooled_years" in sub else np.full(len(sub), "", dtype=object)
    )
    fdr_t = f"{fdr * 100:g}".replace(".", ",")
    texts = []
    for j in range(len(sub)):
        word = "Lägre" if lower[j] else "Högre"
        per100 = f" per 100{NBSP}000 invånare" if unit[j] == "per_100k" else ""
        parts = [
            f"{labels[j]} {int(year[j])}: {value_t[j]}{per100}"
            + (f" (95{NBSP}% KI {lo_t[j]}–{hi_t[j]})" if lo_t[j] != "–" and hi_t[j] != "–" else "")
            + "."
        ]
        benches = []
        for b, (key, (phrase, _)) in enumerate(PHRASES.items()):
            if not hits[j, b]:
                continue
            extra = bench_t[key][j] if bench_t[key][j] != "–" else ""
            if key == "riket" and lim_lo[j] != "–":
                extra += f"; gränserna för en kommun av denna storlek {lim_lo[j]}–{lim_hi[j]}"
            benches.append(phrase + (f" ({extra})" if extra else ""))
        if benches:
            joined = benches[0] if len(benches) == 1 else ", ".join(benches[:-1]) + " och " + benches[-1]
            parts.append(f"{word} än {joined}.")
        if hits[j, 4]:
            parts.append(f"{years_t[j]} sammantaget: {pooled_t[j]}{per100}, {word.lower()} än riket.")
        if trend_hit[j]:
            per = "procentenheter per år" if tunit[j] == "percentage_points_per_year" else "procent per år"
            span = f", {int(first[j])}–{int(year[j])}" if first[j] == first[j] else ""
            than_riket = (
                f", {'snabbare' if not lower[j] else 'mer'} än riket ({tr_r[j]} {per})" if tr_r[j] != "–" else ""
            )
            parts.append(
                f"{'Minskar' if lower[j] else 'Ökar'} med {tr_t[j]} {per} "
                f"(95{NBSP}% KI {tr_lo[j]} till {tr_hi[j]}{span}){than_riket}."
            )
        parts.append(
            f"Statistiskt säkerställt även när områdets alla {int(m_tests[j])} jämförelser prövas samtidigt "
            f"(högst {fdr_t}{NBSP}% falska upptäckter), med hänsyn till hur mycket tal varierar mellan år och "
            "kommuner."
        )
        if funnel_hit[j]:
            parts.append(f"Ligger {'under' if lower[j] else 'över'} 99,8{NBSP}%-gränsen i trattdiagrammet mot riket.")
        if to_lan[j]:
            parts.append("Storleken jämförs med länet: datalagret har bara länets kommuner.")
        if concern[j]:
            parts.append(f"Relaterad oro i NTU: {concern[j]}.")
        parts.append(f"Skadevikt {hw_t[j]}; poäng {score_t[j]}.")
        parts.append(f"{stability_text(stability[j])}.")
        parts.append(f"Underlagets styrka: {conf[j]}.")
        if status[j] == "preliminary":
            parts.append("Årets siffror är preliminära.")
        texts.append(" ".join(parts))
    return np.array(texts, dtype=object)
