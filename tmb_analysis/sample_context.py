"""Example context data (issue 16): invented Kolada v3 values of the context KPIs, for ``tmb sample``.

:func:`context_sample_bytes` writes one file, ``exempeldata_kolada_kontext.json``, in the shape
``tmb fetch kolada`` saves (every page merged, ``next_url`` null): the value KPIs of
``config/context_indicators.yaml`` and their count and denominator KPIs for every kommun, the 21
regions (type ``A`` KPIs only: Kolada publishes type ``K`` KPIs for kommuner and riket) and riket.
**The values are invented** (``Exempeldata – inte verklig statistik``); only the magnitudes are
plausible.

Random numbers come from a stream of their own (``SeedSequence(seed).spawn(9)[8]``), so that the
crime and NTU example numbers of :mod:`tmb_analysis.sample` are unchanged.

The model, per kommun k and indicator c:

* A latent score ``z_kc = 0.35 x crime_kc + 0.70 x strain_k + 0.62 x e_kc`` (variance about 1):
  ``crime_kc`` is the kommun's standardised log rate ratio, over the example crime years, of the
  crime indicators that ``config/related_context.yaml`` links to c (so a related factor often
  stands out next to a priority, with a correlation of about 0.35), ``strain_k`` a social strain
  shared by all indicators, ``e_kc`` the indicator's own noise.
* ``logit p_kct = logit p_ct + sign_c x sd_c x z_kc + size_c x log10(pop / 30 000) + city_c + eta_kct``,
  with ``sign_c`` from ``risk_direction`` (a protective factor falls as strain rises), a national
  level and yearly change, a between-kommun spread and a size effect per indicator
  (:data:`CONTEXT_MODEL`, in the indicator's unit), a big-city effect for the SKR groups A1, A2
  and B3 (negative in C8, C9), small year noise ``eta``; calibrated so that the weighted mean of
  the kommuner is the national level.
* Counts: where Kolada publishes a denominator, ``count ~ Binomial(n, p_kct)``: the year noise
  ``eta`` (sd :data:`YEAR_NOISE` on the logit scale) makes large kommuners' counts vary more than
  binomial from year to year, as real ones do; the value published as ``count / n x scale`` rounded to one
  decimal; a count below 5 is withheld (``..``) with its value. Without a denominator the share is
  drawn as if from a hidden number of pupils, respondents or residents that Kolada does not
  publish (:data:`HIDDEN_N`).
* Years: the last year of each indicator follows its Kolada catalogue facts (``publ_period``, one
  period earlier where ``publication_date`` lies after :data:`SNAPSHOT`), so the sources are out of
  step as the real ones are (NEET two years behind); the elevenkät (N15643) is in a kommun every
  other year (the parity of its code). Children in areas with socioeconomic challenges are 0 % in
  many small kommuner. A few kommun values are missing (``"values": []``).
* Regions and riket: count sums over their kommuner (withheld counts included, so a län's count
  exceeds the sum of its published ones), or the weighted mean of the kommuner's shares.
"""

from __future__ import annotations

import json

import numpy as np

from .context import context_catalogue, related_context

CONTEXT_FILE = "exempeldata_kolada_kontext.json"
#: The date of the Kolada catalogue facts in context_indicators.yaml: what was published by then.
SNAPSHOT = "2026-03-23"
FIRST_YEAR = 2019
SUPPRESS_BELOW = 5
YEAR_NOISE = 0.10  # sd of a kommun's year-to-year variation on the logit scale (about 10 %)

#: id -> (national value in the indicator's last year, change per year, between-kommun SD, change
#: per tenfold population, big-city effect), all in the indicator's unit (per cent or per 1 000).
#: Invented magnitudes of the order of the real national values.
CONTEXT_MODEL: dict[str, tuple[float, float, float, float, float]] = {
    "behorighet_yrkesprogram": (85.5, -0.2, 4.5, 1.0, 0.0),
    "trygghet_skolan_ak8": (85.0, -0.3, 4.0, -1.0, 0.0),
    "gymnasieexamen_3ar": (68.0, 0.3, 6.0, 1.5, 0.0),
    "barn_lag_ekonomisk_standard": (18.0, 0.2, 5.0, 1.0, 3.0),
    "langvarigt_ekonomiskt_bistand": (1.2, -0.03, 0.6, 0.2, 0.3),
    "unga_varken_arbetar_studerar": (5.6, -0.1, 1.5, -0.3, 0.0),
    "unga_arbetslosa": (6.5, 0.3, 2.0, -0.5, 0.0),
    "barn_omraden_socioekonomiska_utmaningar": (15.0, 0.0, 8.0, 5.0, 8.0),
    "trangboddhet": (18.0, 0.2, 4.0, 3.0, 4.0),
    "inflyttade": (9.5, 0.0, 1.5, 1.0, 1.0),
    "unga_placerade_hvb": (4.5, -0.05, 1.5, 0.0, 0.0),
    "unga_oppna_insatser": (2.8, 0.05, 0.8, 0.0, 0.0),
}
#: Population KPIs (SCB via Kolada): share of the kommun's population in 2024, and its change per
#: tenfold population (larger kommuner are younger).
AGE_KPIS: dict[str, tuple[float, float]] = {
    "N01919": (0.225, 0.010),  # 0-19
    "N01948": (0.236, 0.010),  # 0-20
    "N01954": (0.048, 0.002),  # 16-19
    "N01977": (0.058, 0.012),  # 20-24
    "N02104": (0.790, -0.010),  # 18+
    "N01951": (1.0, 0.0),  # everyone
}
#: Without a denominator KPI: the hidden number behind the share, as a share of the population
#: (pupils in åk 9, respondents in åk 8, the gymnasium cohort, 18-24-year-olds, residents of
#: flerbostadshus). Only the drawn value is published.
HIDDEN_N: dict[str, float] = {
    "behorighet_yrkesprogram": 0.011,
    "trygghet_skolan_ak8": 0.007,
    "gymnasieexamen_3ar": 0.011,
    "unga_arbetslosa": 0.085,
    "trangboddhet": 0.45,
}
CITY_GROUPS, RURAL_GROUPS = ("A1", "A2", "B3"), ("C8", "C9")
#: Share of kommuner with no area with socioeconomic challenges (0 %), by SKR main group.
ZERO_SHARE = {"A": 0.0, "B": 0.0, "C": 0.5}
MISSING_SHARE = 0.003  # kommun values answered with "values": []


def _logit(p):
    return np.log(p / (1 - p))


def _expit(x):
    return 1 / (1 + np.exp(-x))


def last_year(ind, cap: int) -> int:
    """The newest year Kolada had published by :data:`SNAPSHOT`, from the catalogue facts."""
    period = int(ind.publ_period) if ind.publ_period else cap
    if ind.publication_date and ind.publication_date > SNAPSHOT:
        period -= 1
    return min(period, cap)


def _round1(v):
    return np.floor(np.asarray(v, dtype=float) * 10 + 0.5) / 10


def _crime_scores(model, cat) -> dict[str, np.ndarray]:
    """Per context id: the kommuner's standardised log rate ratio of its related crime indicators."""
    nk = len(model.kommuner)
    rel: dict[str, list[str]] = {}
    crime_ids = set(model.crime_ids)
    for crime_id, ctx_ids in related_context().items():
        if crime_id in crime_ids:
            for c in ctx_ids:
                rel.setdefault(c, []).append(crime_id)
    years = [list(model.years).index(y) for y in model.crime_years]
    pop = model.pop[:nk][:, years].astype(float)
    out = {}
    for ind in cat:
        ids = rel.get(ind.id, [])
        if not ids:
            out[ind.id] = np.zeros(nk)
            continue
        parts = []
        for cid in ids:
            i = model.crime_ids.index(cid)
            counts = model.counts[:nk, i, :].astype(float)
            national = counts.sum(axis=0) / pop.sum(axis=0)
            parts.append(np.log((counts + 0.5) / (pop * national[None, :])).mean(axis=1))
        score = np.mean(parts, axis=0)
        out[ind.id] = (score - score.mean()) / (score.std() or 1.0)
    return out


def context_sample_bytes(model, groups: dict[str, str], seed: int, cap_year: int) -> bytes:
    """The example context file (Kolada v3 JSON) for the example ``model`` of :mod:`tmb_analysis.sample`,
    its SKR groups (kommun code -> A1 … C9) and ``seed``; years up to ``cap_year``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(8,)))
    cat = context_catalogue()
    missing = set(cat.ids) ^ set(CONTEXT_MODEL)
    if missing:
        raise RuntimeError(f"sample_context.CONTEXT_MODEL and context_indicators.yaml differ: {sorted(missing)}")
    nk, nl = len(model.kommuner), len(model.lan)
    codes = model.k_codes
    lan_ids = [f"00{lan.code}" for lan in model.lan]
    group = np.array([groups[c] for c in codes])
    size = model.size_k
    city = np.where(np.isin(group, CITY_GROUPS), 1.0, np.where(np.isin(group, RURAL_GROUPS), -0.5, 0.0))
    strain = rng.normal(0, 1, nk)
    crime = _crime_scores(model, cat)
    years_all = list(model.years)
    first = FIRST_YEAR
    last = {ind.id: last_year(ind, cap_year) for ind in cat}
    span = list(range(first, max(last.values()) + 1))
    pop = np.stack([model.pop_k[:, years_all.index(y)] for y in span], axis=1).astype(float)  # (kommun, year)

    # population KPIs: the kommun's age structure (larger kommuner younger), a little noise
    youth = rng.normal(0, 0.06, nk)
    cells: dict[tuple[str, str, int], tuple[float | None, str]] = {}  # (kpi, municipality, year) -> (value, status)
    pop_kpi: dict[str, np.ndarray] = {}
    for kpi, (share, slope) in AGE_KPIS.items():
        young = {"N01951": 0.0, "N02104": -0.3}.get(kpi, 1.0)  # 18+ falls a little where the young are many
        s = share * np.exp(young * youth) + slope * size
        pop_kpi[kpi] = np.rint(pop * np.clip(s, 0.001, 1.0)[:, None])
    kpi_years = {kpi: set() for kpi in AGE_KPIS}
    for ind in cat:
        for kpi in ind.denominator_kpis:
            kpi_years[kpi] |= set(range(first, last[ind.id] + 1))

    for ind in cat:
        level, change, sd, size_slope, city_eff = CONTEXT_MODEL[ind.id]
        years = np.arange(first, last[ind.id] + 1)
        t = [span.index(y) for y in years]
        scale = ind.scale
        p_nat = (level + change * (years - years[-1])) / scale
        dp = p_nat[-1] * (1 - p_nat[-1]) * scale  # the unit per logit
        sign = 1.0 if ind.risk_direction == "higher" else -1.0
        z = 0.35 * crime[ind.id] + 0.70 * strain + 0.62 * rng.normal(0, 1, nk)
        eta = sign * sd / dp * z[:, None] + size_slope / dp * size[:, None] + city_eff / dp * city[:, None]
        eta = eta + rng.normal(0, YEAR_NOISE, (nk, len(years)))
        if ind.denominator_kpis:
            n = sum(pop_kpi[k][:, t] for k in ind.denominator_kpis)
        else:
            n = np.maximum(np.rint(pop[:, t] * HIDDEN_N[ind.id] * np.exp(rng.normal(0, 0.05, nk))[:, None]), 5)
        shift = np.zeros(len(years))
        for _ in range(5):  # the weighted mean of the kommuner is the national level
            p = _expit(eta + (_logit(p_nat) + shift)[None, :])
            shift += _logit(p_nat) - _logit((p * n).sum(axis=0) / n.sum(axis=0))
        p = _expit(eta + (_logit(p_nat) + shift)[None, :])
        if ind.id == "barn_omraden_socioekonomiska_utmaningar":
            zero = rng.random(nk) < np.array([ZERO_SHARE[g[0]] for g in group])
            p = np.where(zero[:, None], 0.0, p)
        count = rng.binomial(n.astype(np.int64), p).astype(float)
        elev = ind.kolada_kpi == "N15643"
        present = np.ones((nk, len(years)), dtype=bool)
        if elev:  # Skolinspektionens elevenkät: half of the kommuner each year
            parity = np.array([int(c) % 2 for c in codes])
            present = (years[None, :] % 2) == parity[:, None]
        gone = rng.random((nk, len(years))) < MISSING_SHARE
        value = _round1(count / n * scale)
        withheld = (count < SUPPRESS_BELOW) if ind.count_kpi else np.zeros_like(count, dtype=bool)
        for k, code in enumerate(codes):
            for j, y in enumerate(years):
                if not present[k, j]:
                    continue
                if gone[k, j]:
                    cells[(ind.kolada_kpi, code, int(y))] = (None, "empty")
                    continue
                hold = bool(withheld[k, j])
                cells[(ind.kolada_kpi, code, int(y))] = (None, "..") if hold else (float(value[k, j]), "")
                if ind.count_kpi:
                    cells[(ind.count_kpi, code, int(y))] = (None, "..") if hold else (float(count[k, j]), "")
        # regions (type A) and riket: sums of counts (withheld ones included) / weighted means
        on = present & ~gone
        areas = [(lan_ids[j], model.k_lan == j) for j in range(nl)] + [("0000", np.ones(nk, dtype=bool))]
        for mid, members in areas:
            if mid != "0000" and ind.municipality_type != "A" and not ind.count_kpi:
                continue
            m = members[:, None] & on
            c_sum, n_sum = (count * m).sum(axis=0), (n * m).sum(axis=0)
            for j, y in enumerate(years):
                if n_sum[j] <= 0:
                    continue
                v = float(_round1(c_sum[j] / n_sum[j] * scale))
                if mid == "0000" or ind.municipality_type == "A":
                    cells[(ind.kolada_kpi, mid, int(y))] = (v, "")
                if ind.count_kpi:
                    cells[(ind.count_kpi, mid, int(y))] = (float(c_sum[j]), "")
    # population KPIs for every area and the years an indicator needs them
    for kpi, values in pop_kpi.items():
        for y in sorted(kpi_years[kpi]):
            j = span.index(y)
            for k, code in enumerate(codes):
                cells[(kpi, code, y)] = (float(values[k, j]), "")
            for lj, mid in enumerate(lan_ids):
                cells[(kpi, mid, y)] = (float(values[model.k_lan == lj, j].sum()), "")
            cells[(kpi, "0000", y)] = (float(values[:, j].sum()), "")

    whole = set(AGE_KPIS) | {i.count_kpi for i in cat if i.count_kpi}  # counts are whole numbers in Kolada's JSON
    items = []
    for (kpi, mid, year), (value, status) in sorted(cells.items()):
        if status == "empty":
            vals = []
        else:
            number = int(value) if value is not None and kpi in whole else value
            vals = [{"gender": "T", "count": 1, "status": status, "value": number, "isdeleted": False}]
        items.append({"kpi": kpi, "municipality": mid, "period": year, "values": vals})
    obj = {"count": len(items), "values": items, "next_url": None}
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
