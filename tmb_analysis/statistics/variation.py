"""The model of variation between years and areas (phi, tau2) that decides every comparison and funnel.

See docs/metod.md, section 5.

Reported crime per kommun varies 2-14 times more than Poisson, so an exact Poisson interval calls
noise a difference. One model, estimated from all the kommuner in the store, decides the
comparisons of the results table (``cmp_lan``, ``cmp_riket``, ``cmp_group``, ``cmp_peers``,
``cmp_riket_pooled``), the funnel limits (``funnel_riket`` and
:func:`funnel_data <tmb_analysis.statistics.funnel.funnel_data>`),
the scale of the crime trends and the evidence that priorities rest on
(:mod:`tmb_analysis.priorities`). It has two parts:

* ``phi`` per crime indicator: the year-to-year overdispersion within a kommun, the Pearson
  dispersion of the Poisson model ``count ~ kommun + year + offset(log population)`` over all the
  kommuner and comparable years of the store (:func:`statistics.twoway_dispersion`), at least 1.
  NTU shares use their published standard errors as they are (phi 1: the kommun estimates vary
  less between years than their intervals say, see docs/metod.md).
* ``tau2`` per level (kommun, län), indicator and year: the additive between-area variance of
  Spiegelhalter (2005), DerSimonian-Laird on 10 %-winsorised z-scores around the store's own
  pooled value (:func:`statistics.dl_tau2`), pooled over the last ``tau2_years`` comparable years.

Crime is compared on the square-root scale of the rate (:func:`statistics.sqrt_rate`), shares on
their own scale. A row's standardised difference from a benchmark ``b`` is::

    z_b = (v - v_b) / sqrt(phi s^2 + tau2 + var_b + h_b tau2)

with ``phi s^2`` the row's sampling variance, ``var_b`` the benchmark's, and ``h_b`` the
Herfindahl index of the benchmark's member areas (the benchmark is itself a pooled value of areas
that vary; 0 for riket, the target). With fewer than ``min_areas`` areas the defaults of
``config/analysis.yaml`` (per theme) are used and ``model_reason`` says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._arrays import _group_codes, _valid_count_pop, as_float_array
from .intervals import PER_100K

PER = 100_000.0
Z95 = 1.959963984540054


# --------------------------------------------------------------------------- #
# The model of variation between areas (docs/metod.md, section 5)
# --------------------------------------------------------------------------- #
def sqrt_rate(counts, populations, per: float = PER_100K) -> tuple[np.ndarray, np.ndarray]:
    """The comparison scale of a rate: ``v = sqrt(count / population * per)`` and the Poisson
    sampling variance of ``v``, ``per / (4 population)`` (the square root stabilises the Poisson
    variance: ``var(sqrt(Y)) ~ 1/4``; Spiegelhalter 2005, the CQC transformation of FunnelPlotR).
    Multiply the variance by the overdispersion phi for overdispersed counts. NaN for invalid input."""
    c, p, ok = _valid_count_pop(counts, populations)
    v = np.full(c.shape, np.nan)
    var = np.full(c.shape, np.nan)
    v[ok] = np.sqrt(c[ok] / p[ok] * per)
    var[ok] = per / (4 * p[ok])
    return v, var


def twoway_dispersion(
    counts, populations, areas, years, groups=None, max_iter: int = 2000, tol: float = 1e-10
) -> pd.DataFrame:
    """Pearson dispersion of the Poisson model ``count ~ area + year + offset(log population)``, per group.

    The maximum-likelihood fit of the two main effects is found by alternating their closed-form
    updates (each the exact conditional maximum, so the concave log-likelihood rises to its
    maximum), for all groups at once. Areas or years whose counts are all zero in a group leave
    the fit (their fitted value is 0 and they carry no information on the dispersion). Returns one
    row per group (in the order of first appearance): ``group``, ``phi = chi2 / df`` (not
    floored), ``chi2``, ``df = cells - areas - years + 1``, ``n_areas``, ``n_years``, ``n_cells``.
    ``phi`` is NaN where ``df <= 0``. The same numbers as statsmodels ``GLM(..., Poisson())``
    with ``pearson_chi2 / df_resid`` (see the tests).
    """
    y, n, ok = _valid_count_pop(counts, populations)
    y, n, ok = y.ravel(), n.ravel(), ok.ravel()
    if groups is None:
        g, labels = np.zeros(len(y), dtype=np.int64), [0]
    else:
        g, labels = pd.factorize(pd.Series(groups, dtype=object).reset_index(drop=True), use_na_sentinel=True)
        labels = list(labels)
    k = len(labels)
    a_code = pd.factorize(pd.Series(areas, dtype=object).reset_index(drop=True))[0]
    t_code = pd.factorize(pd.Series(years, dtype=object).reset_index(drop=True))[0]
    ok = ok & (g >= 0) & (a_code >= 0) & (t_code >= 0)
    out = pd.DataFrame(
        {
            "group": pd.Series(labels, dtype=object),
            "phi": np.nan,
            "chi2": np.nan,
            "df": 0,
            "n_areas": 0,
            "n_years": 0,
            "n_cells": 0,
        }
    )
    idx = np.flatnonzero(ok)
    if not len(idx):
        return out
    gi = g[idx].astype(np.int64)
    ga = pd.factorize(gi * (a_code.max() + 1) + a_code[idx])[0]
    gt = pd.factorize(gi * (t_code.max() + 1) + t_code[idx])[0]
    yv, nv = y[idx], n[idx]
    keep = (np.bincount(ga, yv)[ga] > 0) & (np.bincount(gt, yv)[gt] > 0)
    gi, yv, nv = gi[keep], yv[keep], nv[keep]
    ga = pd.factorize(ga[keep])[0]
    gt = pd.factorize(gt[keep])[0]
    if not len(yv):
        return out
    ya, yt = np.bincount(ga, yv), np.bincount(gt, yv)
    b = np.zeros(gt.max() + 1)
    log_mu = np.zeros(len(yv))
    for _ in range(max_iter):
        a = np.log(ya / np.bincount(ga, nv * np.exp(b[gt])))
        b = np.log(yt / np.bincount(gt, nv * np.exp(a[ga])))
        new = a[ga] + b[gt] + np.log(nv)
        done = np.max(np.abs(new - log_mu)) < tol
        log_mu = new
        if done:
            break
    mu = np.exp(log_mu)
    chi2 = np.bincount(gi, (yv - mu) ** 2 / mu, minlength=k)
    cells = np.bincount(gi, minlength=k)
    n_a = np.bincount(gi[np.unique(ga, return_index=True)[1]], minlength=k)
    n_t = np.bincount(gi[np.unique(gt, return_index=True)[1]], minlength=k)
    df = cells - n_a - n_t + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(df > 0, chi2 / np.maximum(df, 1), np.nan)
    out["phi"], out["chi2"], out["df"] = phi, np.where(cells > 0, chi2, np.nan), np.maximum(df, 0)
    out["n_areas"], out["n_years"], out["n_cells"] = n_a, n_t, cells
    return out


def dl_tau2(values, variances, centre=None, groups=None, winsor: float = 0.10) -> pd.DataFrame:
    """Additive between-area variance per group: Spiegelhalter (2005) with DerSimonian & Laird (1986).

    ``values`` y_i with known sampling ``variances`` s_i^2 (already multiplied by any overdispersion
    phi). With ``z_i = (y_i - centre) / s_i`` winsorised at the ``winsor`` and ``1 - winsor``
    percentiles of the group (linear interpolation, R's quantile type 7 as FunnelPlotR) and
    ``w_i = 1 / s_i^2``::

        tau2 = max(0, (sum z_w^2 - (I - 1)) / (sum w - sum w^2 / sum w))

    ``centre`` (per row, or None for the inverse-variance weighted mean of the group, which makes
    this exactly the DerSimonian-Laird estimator when ``winsor = 0``). Returns one row per group
    code 0..k-1: ``n`` (I), ``excess`` (``sum z_w^2 - (I - 1)``), ``denom`` and ``tau2`` (NaN
    where ``I < 2``); pool several groups (years) with ``max(0, sum excess / sum denom)``.
    """
    v = as_float_array(values).ravel()
    s2 = np.broadcast_to(as_float_array(variances), v.shape).astype(float)
    g, k = _group_codes(groups, len(v))
    ok = np.isfinite(v) & np.isfinite(s2) & (s2 > 0) & (g >= 0)
    if centre is not None:
        c_row = np.broadcast_to(as_float_array(centre), v.shape).astype(float)
        ok &= np.isfinite(c_row)
    out = pd.DataFrame({"n": np.zeros(k, dtype=np.int64), "excess": np.nan, "denom": np.nan, "tau2": np.nan})
    if not ok.any():
        return out
    gi, y, var = g[ok], v[ok], s2[ok]
    w = 1 / var
    s1, s2w = np.bincount(gi, w, k), np.bincount(gi, w**2, k)
    cnt = np.bincount(gi, minlength=k)
    if centre is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (np.bincount(gi, w * y, k) / s1)[gi]
    else:
        c = c_row[ok]
    z = (y - c) / np.sqrt(var)
    order = np.argsort(gi, kind="stable")
    gs, zs = gi[order], z[order]
    bounds = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1], True])
    q = np.zeros(k)
    for lo_, hi_ in zip(bounds[:-1], bounds[1:]):
        seg = zs[lo_:hi_]
        if winsor > 0:
            lo, hi = np.percentile(seg, [100 * winsor, 100 * (1 - winsor)])
            seg = np.clip(seg, lo, hi)
        q[gs[lo_]] = float(np.sum(seg**2))
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = s1 - s2w / s1
        excess = q - (cnt - 1)
        tau2 = np.where((cnt >= 2) & (denom > 0), np.maximum(0.0, excess / denom), np.nan)
    out["n"] = cnt
    out["excess"] = np.where(cnt >= 2, excess, np.nan)
    out["denom"] = np.where(cnt >= 2, denom, np.nan)
    out["tau2"] = tau2
    return out


def compare_z(z, level: float = 0.95) -> np.ndarray:
    """``'higher'`` / ``'lower'`` when the standardised difference ``z`` lies beyond the two-sided
    ``level`` quantile of the normal distribution, ``'similar'`` within, ``'unknown'`` for NaN."""
    zz = as_float_array(z)
    crit = stats.norm.ppf(1 - (1 - level) / 2)
    with np.errstate(invalid="ignore"):
        out = np.where(zz > crit, "higher", np.where(zz < -crit, "lower", "similar"))
    return np.where(np.isfinite(zz), out, "unknown").astype(object)


def _f(series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


class RowIndex:
    """Integer keys of the results table: the row of any (area, indicator, year) in one array lookup."""

    def __init__(self, res: pd.DataFrame):
        self.area, areas = pd.factorize(res["area_code"])
        self.pos = {str(c): i for i, c in enumerate(areas)}
        self.ind, self.indicators = pd.factorize(res["indicator"])
        self.year = res["year"].to_numpy(dtype=np.int64)
        self.y0 = int(self.year.min()) if len(self.year) else 0
        self.n_years = int(self.year.max()) - self.y0 + 1 if len(self.year) else 1
        self.n_ind = max(len(self.indicators), 1)
        self.size = max(len(areas), 1) * self.n_ind * self.n_years
        self.table = np.full(self.size, -1, dtype=np.int64)
        self.table[self.key(self.area, self.ind, self.year)] = np.arange(len(res))
        lan_codes, lans = pd.factorize(res["lan_code"])
        lan_pos = np.array([self.pos.get(str(c), -1) for c in lans] + [-1], dtype=np.int64)
        self.lan_area = lan_pos[np.where(lan_codes >= 0, lan_codes, len(lans))]
        self.indicator_year = self.ind * self.n_years + (self.year - self.y0)

    def key(self, area, ind, year) -> np.ndarray:
        return (np.asarray(area, dtype=np.int64) * self.n_ind + ind) * self.n_years + (np.asarray(year) - self.y0)

    def rows(self, area, ind=None, year=None) -> np.ndarray:
        """Row of (area, indicator, year) per element (the row's own indicator and year by default); -1 if none."""
        area = np.broadcast_to(np.asarray(area, dtype=np.int64), self.ind.shape)
        ind = self.ind if ind is None else ind
        year = self.year if year is None else year
        ok = (area >= 0) & (year >= self.y0) & (year < self.y0 + self.n_years)
        out = np.full(len(area), -1, dtype=np.int64)
        out[ok] = self.table[self.key(area[ok], ind[ok], year[ok])]
        return out


def per_row(column: pd.Series, mapping: dict, default=np.nan) -> np.ndarray:
    """``column.map(mapping)`` as a float or object array, computed once per distinct value (a pandas
    map over a column of Arrow strings costs a tenth of a second per call on the country's table)."""
    codes, uniq = pd.factorize(column)
    values = [mapping.get(u if isinstance(u, str) else (u if pd.notna(u) else None), default) for u in uniq]
    kind = object if any(isinstance(v, str) for v in values) else float
    arr = np.array(values + [default], dtype=kind)
    return arr[np.where(codes >= 0, codes, len(values))]


def area_year_values(idx: RowIndex, table: pd.DataFrame, column: str) -> np.ndarray:
    """Per row of the results table: ``table[column]`` of the row's area and year (e.g. the store's
    population table), NaN where the table has none."""
    codes = table["area_code"].astype(str).to_numpy(dtype=object)
    area = np.array([idx.pos.get(c, -1) for c in codes], dtype=np.int64)
    year = pd.to_numeric(table["year"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64) - idx.y0
    ok = (area >= 0) & (year >= 0) & (year < idx.n_years)
    dense = np.full(max(len(idx.pos), 1) * idx.n_years, np.nan)
    dense[area[ok] * idx.n_years + year[ok]] = _f(table[column])[ok]
    return dense[idx.area * idx.n_years + (idx.year - idx.y0)]


def take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` with NaN where ``rows`` is -1."""
    return np.where(rows >= 0, np.asarray(values, dtype=float)[np.maximum(rows, 0)], np.nan)


def comparable_first_year(res: pd.DataFrame, cat: pd.DataFrame, cfg: dict) -> np.ndarray:
    """Per row: the first year the row's series may use, ``max(trend.first_year[kind], comparable_from)``."""
    first = cfg["trend"].get("first_year", {})
    kind_first = np.where(
        res["source_kind"].to_numpy() == "crime",
        float(first.get("crime", -np.inf)),
        float(first.get("survey", -np.inf)),
    )
    comp = per_row(
        res["indicator"],
        {k: (np.nan if v is None else float(v)) for k, v in zip(cat["indicator"], cat["comparable_from"])},
    ).astype(float)
    return np.fmax(kind_first, np.where(np.isfinite(comp), comp, -np.inf))


# --------------------------------------------------------------------------- #
# phi: within-kommun overdispersion per crime indicator
# --------------------------------------------------------------------------- #
def estimate_phi(res: pd.DataFrame, usable: np.ndarray, themes: pd.Series, mcfg: dict) -> tuple[dict, dict]:
    """phi per crime indicator from the usable kommun rows, or the theme's default with a reason.

    Returns ``({indicator: phi}, {indicator: reason})`` (reason '' when estimated).
    """
    kom = usable & (res["area_level"].to_numpy() == "kommun") & (res["source_kind"].to_numpy() == "crime")
    rows = np.flatnonzero(kom)
    inds = sorted(set(res.loc[res["source_kind"] == "crime", "indicator"]))
    est = twoway_dispersion(
        _f(res["count"])[rows],
        _f(res["population"])[rows],
        res["area_code"].to_numpy()[rows],
        res["year"].to_numpy()[rows],
        res["indicator"].to_numpy()[rows],
    ).set_index("group")
    min_areas = int(mcfg.get("min_areas", 10))
    defaults = mcfg.get("default_phi", {})
    phi, reason = {}, {}
    for ind in inds:
        theme = themes.get(ind, "")
        default = float(defaults.get(theme, max(defaults.values(), default=1.0)))
        if (
            ind in est.index
            and est.loc[ind, "n_areas"] >= min_areas
            and est.loc[ind, "n_years"] >= 3
            and np.isfinite(est.loc[ind, "phi"])
        ):
            phi[ind], reason[ind] = max(1.0, float(est.loc[ind, "phi"])), ""
        else:
            n = int(est.loc[ind, "n_areas"]) if ind in est.index else 0
            phi[ind] = default
            reason[ind] = (
                f"φ är standardvärdet för temat {theme} ({default:g}): "
                f"{n} kommuner med anmälda brott, färre än {min_areas}"
            )
    return phi, reason


# --------------------------------------------------------------------------- #
# tau2: between-area variance per level, indicator and year
# --------------------------------------------------------------------------- #
def estimate_tau2(
    res: pd.DataFrame,
    idx: RowIndex,
    stat: np.ndarray,
    var: np.ndarray,
    usable: np.ndarray,
    crime: np.ndarray,
    first_year: np.ndarray,
    themes: pd.Series,
    mcfg: dict,
    ref: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tau2 per row (kommun and län rows), the number of areas it rests on (0: a default) and a reason.

    For each level, indicator and year Y the DerSimonian-Laird pieces of the years
    ``Y - tau2_years + 1 .. Y`` (not before the series is comparable) are summed. A default is used
    when fewer than ``min_areas`` areas have data in year Y, or (crime) no area had an event.
    Län rows with fewer than ``min_areas`` län in the store take the kommuner's tau2 (a län is then
    compared as if it were one kommun). ``ref`` (per row, on the comparison scale: riket's value)
    scales the crime defaults.
    """
    n = len(res)
    level = res["area_level"].to_numpy()
    k_years = int(mcfg.get("tau2_years", 3))
    min_areas = int(mcfg.get("min_areas", 10))
    winsor = float(mcfg.get("winsor", 0.10))
    ny, size = idx.n_years, idx.n_ind * idx.n_years
    first_ind = np.full(idx.n_ind, -np.inf)
    np.maximum.at(first_ind, idx.ind, np.where(np.isfinite(first_year), first_year, -np.inf))
    tau2 = np.full(n, np.nan)
    n_areas = np.zeros(n)
    reason = np.full(n, "", dtype=object)
    c_all, p_all = _f(res["count"]), _f(res["population"])
    gid_all = idx.indicator_year
    kom_tau = np.full(size, np.nan)
    for lev in ("kommun", "lan"):
        rows = np.flatnonzero((level == lev) & usable)
        if not len(rows):
            continue
        gid, cr = gid_all[rows], crime[rows]
        sc = np.bincount(gid[cr], c_all[rows][cr], size)
        sp = np.bincount(gid[cr], p_all[rows][cr], size)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(cr, np.sqrt(sc / sp * PER)[gid], np.nan)
        excess, denom, count = np.zeros(size), np.zeros(size), np.zeros(size)
        for mask, with_centre in ((cr, True), (~cr, False)):  # crime around the pooled rate; NTU the weighted mean
            if not mask.any():
                continue
            g = gid[mask]
            d = dl_tau2(
                stat[rows][mask], var[rows][mask], centre=centre[mask] if with_centre else None, groups=g, winsor=winsor
            )
            codes = pd.factorize(g)[1]
            excess[codes] = d["excess"].fillna(0.0).to_numpy()
            denom[codes] = d["denom"].fillna(0.0).to_numpy()
            count[codes] = d["n"].to_numpy()
        grid = [a.reshape(idx.n_ind, ny) for a in (excess, denom, sc)]
        years = idx.y0 + np.arange(ny)
        pooled = [np.zeros((idx.n_ind, ny)) for _ in grid]
        for lag in range(k_years):
            inside = (years[None, :] - lag >= first_ind[:, None]) & (np.arange(ny)[None, :] >= lag)
            for acc, src in zip(pooled, grid):
                shifted = np.zeros_like(src)
                shifted[:, lag:] = src[:, : ny - lag]
                acc += np.where(inside, shifted, 0.0)
        e_sum, d_sum, ev_sum = (a.ravel() for a in pooled)
        with np.errstate(invalid="ignore", divide="ignore"):
            t_group = np.where(d_sum > 0, np.maximum(0.0, e_sum / d_sum), np.nan)
        t_row, n_row, ev_row = t_group[gid], count[gid], ev_sum[gid]
        enough = (n_row >= min_areas) & np.isfinite(t_row) & (~cr | (ev_row > 0))
        tau2[rows] = np.where(enough, t_row, np.nan)
        n_areas[rows] = np.where(enough, n_row, 0)
        if lev == "kommun":
            kom_tau = np.where((count >= min_areas) & np.isfinite(t_group), t_group, np.nan)
        lacking = rows[~enough]
        word = "kommuner" if lev == "kommun" else "län"
        if len(lacking):
            few = n_row[~enough]
            no_events = cr[~enough] & (ev_row[~enough] <= 0) & (few >= min_areas)
            reason[lacking] = np.where(
                no_events,
                f"inga anmälda brott bland {word}a att skatta variationen ur",
                np.array([f"{int(x)} {word} med data, färre än {min_areas}" for x in few], dtype=object),
            )
    # defaults where no estimate: kommun rows from the theme, län rows from the kommuner's tau2
    theme = per_row(res["indicator"], dict(themes), "")
    need = np.flatnonzero(np.isin(level, ["kommun", "lan"]) & usable & ~np.isfinite(tau2))
    if len(need):
        from_kom = kom_tau[gid_all[need]]
        use_kom = (level[need] == "lan") & np.isfinite(from_kom)
        u = need[use_kom]
        tau2[u] = from_kom[use_kom]
        note = "länet jämförs som en kommun (kommunernas τ²)"
        reason[u] = np.where(reason[u] != "", reason[u] + ": " + note, note)
        rest = need[~use_kom]
        if len(rest):
            tau2[rest], text = _default_tau2(ref[rest], crime[rest], theme[rest], mcfg)
            reason[rest] = np.where(reason[rest] != "", reason[rest] + ": " + text, text)
    return tau2, n_areas, reason


def _default_tau2(stat, crime, theme, mcfg) -> tuple[np.ndarray, np.ndarray]:
    """The documented default tau2 per theme: crime ``(cv / 2)^2 x rate`` on the square-root scale (a
    between-area coefficient of variation cv of the rate), NTU ``tau_pp^2`` in percentage points."""
    cv = mcfg.get("default_cv", {})
    tau_pp = mcfg.get("default_tau_pp", {})
    out = np.full(len(stat), np.nan)
    text = np.full(len(stat), "", dtype=object)
    for i, (s, c, th) in enumerate(zip(stat, crime, theme)):
        if c:
            v = float(cv.get(th, max(cv.values(), default=0.3)))
            out[i] = (v / 2) ** 2 * (s**2 if np.isfinite(s) else np.nan)
            text[i] = f"τ² är standardvärdet för temat {th} (variationskoefficient {v:g})".replace(".", ",")
        else:
            v = float(tau_pp.get(th, max(tau_pp.values(), default=2.0)))
            out[i] = v**2
            text[i] = f"τ² är standardvärdet för temat {th} ({v:g} procentenheter)".replace(".", ",")
    return out, text


# --------------------------------------------------------------------------- #
# The comparisons
# --------------------------------------------------------------------------- #
def standardised(stat, var, tau2, bench_stat, bench_var, h=0.0) -> tuple[np.ndarray, np.ndarray]:
    """``z`` and its standard deviation ``sd = sqrt(var + tau2 + bench_var + h tau2)``."""
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(var + tau2 + bench_var + h * tau2)
        z = np.where(sd > 0, (stat - bench_stat) / np.where(sd > 0, sd, 1.0), np.nan)
    return z, sd


def lan_rest(
    res: pd.DataFrame,
    idx: RowIndex,
    se2: np.ndarray,
    crime: np.ndarray,
    usable: np.ndarray,
    weight_pop: np.ndarray,
    phi_row: np.ndarray,
    kommuner_in_lan: dict,
) -> dict[str, np.ndarray]:
    """The rest of each kommun's län (the län without the kommun), on the comparison scale.

    Crime: the län's count and population minus the kommun's. NTU: when the store holds every
    other kommun of the län with data, their population-weighted mean share, with variance
    ``sum w_j^2 se_j^2``; otherwise derived from the published län share, ``(p_lan - w p) / (1 - w)``
    with variance ``se_lan^2 / (1 - w)`` (the rest holds the share ``1 - w`` of the län's
    information), ``w`` the kommun's share of the län's population (of its respondents where the
    population is missing). Also ``h``, the Herfindahl index of the rest's kommuner (their own
    between-area variation enters the comparison as ``h tau2``), and a reason where the rest is
    unknown.
    """
    n = len(res)
    kom = res["area_level"].to_numpy() == "kommun"
    c, p, v, nr = _f(res["count"]), weight_pop, _f(res["value"]), _f(res["n_respondents"])
    lan_row = np.where(kom, idx.rows(idx.lan_area), -1)
    c_l, p_l, v_l, se2_l, n_l = (take(x, lan_row) for x in (c, p, v, se2, nr))
    # the län's kommuner in the store with data: population sums, squares, NTU shares and variances
    use = kom & usable & np.isfinite(p) & (lan_row >= 0)
    g = lan_row[use]
    size = n

    def total(weights):
        return take(np.bincount(g, weights, size), lan_row)

    s1, spv, s2, s2se2 = (total(w) for w in (p[use], (p * v)[use], p[use] ** 2, (p**2 * se2)[use]))
    k_in = take(np.bincount(g, minlength=size).astype(float), lan_row)
    own = use.astype(float)
    p0 = np.nan_to_num(p)
    o_p, o_pv, o_p2, o_p2se2 = (
        s1 - own * p0,
        spv - own * np.nan_to_num(p * v),
        s2 - own * p0**2,
        s2se2 - own * np.nan_to_num(p**2 * se2),
    )
    n_reg = per_row(res["lan_code"], kommuner_in_lan).astype(float)
    others = k_in - own
    complete = np.isfinite(others) & (others >= n_reg - 1) & (o_p > 0)
    out = {k: np.full(n, np.nan) for k in ("stat", "var", "value", "h")}
    reason = np.full(n, "", dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        # crime: the län's count and population minus the kommun's
        cr = kom & crime
        c_rest, p_rest = c_l - c, p_l - p
        ok_c = cr & np.isfinite(c_rest) & np.isfinite(p_rest) & (p_rest > 0) & (c_rest >= 0)
        out["value"][ok_c] = c_rest[ok_c] / p_rest[ok_c] * PER
        out["var"][ok_c] = phi_row[ok_c] * PER / (4 * p_rest[ok_c])
        # NTU: the other kommuner of the store, or derived from the published län share
        su = kom & ~crime
        from_kom = su & complete & np.isfinite(v)
        out["value"][from_kom] = o_pv[from_kom] / o_p[from_kom]
        out["var"][from_kom] = o_p2se2[from_kom] / o_p[from_kom] ** 2
        w = np.where(
            np.isfinite(p) & np.isfinite(p_l) & (p_l > 0),
            p / p_l,
            np.where(np.isfinite(nr) & (n_l > 0), nr / n_l, np.nan),
        )
        derived = su & ~from_kom & np.isfinite(w) & (w < 1) & np.isfinite(v_l) & np.isfinite(se2_l) & np.isfinite(v)
        out["value"][derived] = (v_l[derived] - w[derived] * v[derived]) / (1 - w[derived])
        out["var"][derived] = se2_l[derived] / (1 - w[derived])
        ok_s = from_kom | derived
        out["stat"] = np.where(ok_c, np.sqrt(out["value"]), out["value"])
        # h of the rest: its kommuner in the store, the missing population spread over the missing kommuner
        rest_pop = np.where(from_kom, o_p, np.where(crime, p_rest, p_l - p))
        missing_k = np.maximum(n_reg - others - 1, 1)
        missing_p = np.maximum(rest_pop - np.nan_to_num(o_p), 0.0)
        h = (np.nan_to_num(o_p2) + np.where(missing_p > 0.005 * rest_pop, missing_p**2 / missing_k, 0.0)) / rest_pop**2
        out["h"] = np.where(np.isfinite(h), np.clip(h, 0.0, 1.0), 1.0)
    alone = kom & ((crime & np.isfinite(p_rest) & (p_rest <= 0)) | (~crime & ~ok_s & np.isfinite(w) & (w >= 1)))
    reason[alone] = "länet består bara av kommunen"
    out["reason"] = reason
    ok = ok_c | ok_s
    for k in ("stat", "var", "value"):
        out[k] = np.where(ok, out[k], np.nan)
    return out


def benchmark_rows(idx: RowIndex, stat: np.ndarray, var: np.ndarray, code: str) -> tuple[np.ndarray, np.ndarray]:
    """The statistic and variance of area ``code`` (riket) for every row's indicator and year."""
    rows = idx.rows(idx.pos.get(code, -1))
    return take(stat, rows), take(var, rows)
