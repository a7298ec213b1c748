"""What each row of the results table is compared with: län and riket from complete kommun sets, similar kommuner."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import sparse

from .catalogue import catalogue
from .geography import RIKET_CODE, registry
from .periods import period_split
from .priorities import analysis_settings
from .statistics import poisson_rate_ci
from .statistics._arrays import floats as _f
from .statistics.intervals import Z95

#: ``benchmark_source`` of a län or riket row: published by BRÅ, or computed here from a complete set of kommuner.
BENCHMARK_PUBLISHED = "publicerat"
BENCHMARK_DERIVED = "beräknat från kommunerna"


# --------------------------------------------------------------------------- #
# Similar-kommun groups
# --------------------------------------------------------------------------- #
def _year_in(text: str) -> int:
    years = re.findall(r"(?:19|20)\d\d", str(text))
    return max(int(y) for y in years) if years else 0


def similar_groups(store, settings: dict | None = None) -> pd.DataFrame:
    """Each kommun's comparison groups from ``store.groups`` (if the store has them).

    Returns one row per kommun and kind (``skr_kommungrupp`` -> column prefix ``group``,
    ``liknande_kommuner`` -> ``peers``) with ``area_code``, ``kind``, ``group_id``,
    ``group_title`` and ``members`` (a tuple of the other members' codes, the kommun itself
    left out). The choice among several groups follows ``groups`` in analysis.yaml.
    """
    cols = ["area_code", "kind", "group_id", "group_title", "members"]
    cfg = analysis_settings(settings)["groups"]
    groups = getattr(store, "groups", None)
    if groups is None or not isinstance(groups, pd.DataFrame) or groups.empty:
        return pd.DataFrame(columns=cols)
    g = groups.copy()
    for col in ("group_id", "group_title", "group_kind", "area_code", "subject_code", "source"):
        if col not in g:
            g[col] = pd.NA
    g = g[g["area_code"].notna()]
    g["area_code"] = g["area_code"].astype(str)
    g["group_id"] = g["group_id"].astype(str)
    g["group_title"] = g["group_title"].fillna("").astype(str)
    g["source"] = g["source"].fillna("").astype(str)
    parts = []

    skr = g[g["group_kind"] == "skr_kommungrupp"][["group_id", "group_title", "source", "area_code"]]
    if len(skr):
        meta = skr.drop_duplicates("group_id").set_index("group_id")
        prefer = [str(p) for p in cfg.get("skr_prefer", [])]
        text = (meta["group_title"] + " " + meta["source"]).to_numpy(dtype=object)
        pref = np.array([next((i for i, p in enumerate(prefer) if p in t), len(prefer)) for t in text])
        size = skr.groupby("group_id")["area_code"].nunique()
        meta = meta.assign(_pref=pref, _size=size.reindex(meta.index).to_numpy())
        cand = (
            skr[["area_code", "group_id"]]
            .drop_duplicates()
            .join(meta[["_pref", "_size", "group_title"]], on="group_id")
        )
        best = cand.sort_values(["area_code", "_pref", "_size", "group_id"]).drop_duplicates("area_code")
        parts.append(best.assign(kind="group")[["area_code", "kind", "group_id", "group_title"]])

    lik = g[(g["group_kind"] == "liknande_kommuner") & g["subject_code"].notna()]
    if len(lik):
        lik = lik.assign(subject_code=lik["subject_code"].astype(str))
        meta = lik.drop_duplicates("group_id")[["group_id", "group_title", "subject_code"]]
        patterns = [re.compile(p) for p in cfg.get("peers_prefer", [])]
        titles = meta["group_title"].to_numpy(dtype=object)
        meta = meta.assign(
            _pref=[next((i for i, p in enumerate(patterns) if p.search(t)), len(patterns)) for t in titles],
            _year=[-_year_in(t) for t in titles],
        )
        best = meta.sort_values(["subject_code", "_pref", "_year", "group_id"]).drop_duplicates("subject_code")
        best = best.rename(columns={"subject_code": "area_code"})
        parts.append(best.assign(kind="peers")[["area_code", "kind", "group_id", "group_title"]])

    if not parts:
        return pd.DataFrame(columns=cols)
    chosen = pd.concat(parts, ignore_index=True)
    members = (
        g[g["group_id"].isin(set(chosen["group_id"]))]
        .groupby("group_id")["area_code"]
        .agg(lambda x: tuple(sorted(set(x))))
    )
    chosen["members"] = [
        tuple(m for m in members.get(gid, ()) if m != code)
        for code, gid in zip(chosen["area_code"], chosen["group_id"])
    ]
    return chosen[cols].reset_index(drop=True)


def group_benchmarks(res: pd.DataFrame, groups: pd.DataFrame, cfg: dict) -> dict[str, dict[str, np.ndarray]]:
    """Pooled value of each kommun's group members, per row, for both kinds of group.

    Crime: sum(count) / sum(population) x 100 000 over members with both. NTU: the
    respondent-weighted mean share over members with share and n. Dense matrix products:
    membership (kommun x kommun) @ data (kommun x indicator-year). Besides ``value``, ``title``
    and ``reason``, each kind gives the pieces of the benchmark's variance in the model
    (:mod:`tmb_analysis.statistics.variation`): ``var0`` (crime: ``100 000 / (4 sum population)``, to be
    multiplied by phi; NTU: ``sum n^2 se^2 / (sum n)^2``) and ``h`` (``sum n^2 / (sum n)^2``, the
    weight of the members' own between-area variation).
    """
    n = len(res)
    out = {}
    kom = (res["area_level"] == "kommun").to_numpy()
    area_codes, area_uniq = pd.factorize(res["area_code"])
    extra = sorted((set(groups["area_code"]) | {m for ms in groups["members"] for m in ms}) - set(area_uniq))
    codes = np.array(list(area_uniq) + extra, dtype=object)
    pos = {c: i for i, c in enumerate(codes)}
    key_codes, key_uniq = pd.factorize(
        (pd.factorize(res["indicator"])[0].astype(np.int64) * 10_000 + res["year"].to_numpy()) * 2 + period_split(res)
    )
    a_idx = area_codes.astype(np.int64)
    use = kom & (a_idx >= 0)
    crime = (res["source_kind"] == "crime").to_numpy()
    c, p = _f(res["count"]), _f(res["population"])
    s, nr = _f(res["value"]), _f(res["n_respondents"])
    se = (_f(res["ci_high"]) - _f(res["ci_low"])) / (2 * Z95)
    valid_c = use & crime & np.isfinite(c) & (c >= 0) & np.isfinite(p) & (p > 0)
    valid_s = use & ~crime & np.isfinite(s) & np.isfinite(nr) & (nr > 0) & np.isfinite(se) & (se > 0)
    shape = (len(codes), len(key_uniq))
    num, den, has, sq, sqse = (np.zeros(shape) for _ in range(5))
    num[a_idx[valid_c], key_codes[valid_c]] = c[valid_c]
    den[a_idx[valid_c], key_codes[valid_c]] = p[valid_c]
    sq[a_idx[valid_c], key_codes[valid_c]] = p[valid_c] ** 2
    num[a_idx[valid_s], key_codes[valid_s]] = s[valid_s] * nr[valid_s]
    den[a_idx[valid_s], key_codes[valid_s]] = nr[valid_s]
    sq[a_idx[valid_s], key_codes[valid_s]] = nr[valid_s] ** 2
    sqse[a_idx[valid_s], key_codes[valid_s]] = (nr[valid_s] * se[valid_s]) ** 2
    has[a_idx[valid_c | valid_s], key_codes[valid_c | valid_s]] = 1.0
    min_members = int(cfg.get("min_members_with_data", 2))
    min_cov = float(cfg.get("min_coverage", 0.5))
    scale = np.where(crime, 100_000.0, 1.0)
    for kind in ("group", "peers"):
        sub = groups[groups["kind"] == kind]
        value, var0, h = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        title = np.full(n, "", dtype=object)
        reason = np.full(n, "", dtype=object)
        subj, ri, ci = {}, [], []
        for r in sub.itertuples(index=False):
            i = pos[r.area_code]
            ri += [i] * len(r.members)
            ci += [pos[mem] for mem in r.members]
            subj[r.area_code] = r.group_title
        m = sparse.csr_matrix((np.ones(len(ri)), (ri, ci)), shape=(len(codes), len(codes)))
        size = np.asarray(m.sum(axis=1)).ravel()
        g_num, g_den, g_has, g_sq, g_sqse = m @ num, m @ den, m @ has, m @ sq, m @ sqse
        rows = np.flatnonzero(use)
        ai, ki = a_idx[rows], key_codes[rows]
        n_mem, n_has = size[ai], g_has[ai, ki]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = g_den[ai, ki]
            v = g_num[ai, ki] / d * scale[rows]
            v0 = np.where(crime[rows], 100_000.0 / (4 * d), g_sqse[ai, ki] / d**2)
            hh = g_sq[ai, ki] / d**2
        enough = (n_has >= min_members) & (n_has >= min_cov * n_mem) & (g_den[ai, ki] > 0)
        value[rows] = np.where(enough, v, np.nan)
        var0[rows] = np.where(enough, v0, np.nan)
        h[rows] = np.where(enough, hh, np.nan)
        title_by_pos = np.array([subj.get(c, "") for c in codes], dtype=object)
        title[rows] = title_by_pos[a_idx[rows]]
        label = "kommungrupp" if kind == "group" else "liknande kommuner"
        short = np.flatnonzero(~enough & (n_mem > 0))
        few = np.full(len(rows), "", dtype=object)
        few[short] = [
            f"{label}: för få kommuner med data ({int(h)} av {int(t)})" for h, t in zip(n_has[short], n_mem[short])
        ]
        reason[rows] = np.where(n_mem == 0, f"{label}: grupp saknas", few)
        out[kind] = {"value": value, "title": title, "reason": reason, "var0": var0, "h": h}
    return out


# --------------------------------------------------------------------------- #
# Benchmarks derived from complete sets of kommuner
# --------------------------------------------------------------------------- #
def add_derived_benchmarks(base: pd.DataFrame) -> pd.DataFrame:
    """``base`` (crime and survey rows, before any statistic) with län and riket crime rows computed
    from their kommuner where the store has no published row, and ``benchmark_source`` on every
    län and riket row (:data:`BENCHMARK_PUBLISHED` or :data:`BENCHMARK_DERIVED`; empty for kommuner).

    A län row is derived for an indicator and year only when *every* kommun of the län
    (``registry().kommuner(lan)``) has a count and a population: count = Σ counts, population =
    Σ populations, value = count / population × 100 000, with the exact Poisson interval of the
    summed count; riket likewise from all 290 kommuner. Nothing is derived from an incomplete set.
    The status is preliminary when any kommun's figure is. NTU shares are never derived: a share of
    the län is not the mean of its kommuner' shares (BRÅ weights its survey to the population, and the
    published kommun figures do not carry those weights), so no defensible rule exists.
    """
    reg = registry()
    base = base.copy()
    level = (
        base["area_code"]
        .astype(str)
        .str.len()
        .map({4: "kommun", 2: "lan"})
        .where(base["area_code"] != RIKET_CODE, "riket")
    )
    base["benchmark_source"] = np.where(level == "kommun", "", BENCHMARK_PUBLISHED).astype(object)
    crime_ids = {i.id for i in catalogue().of_kind("crime")}
    c, p = _f(base["count"]), _f(base["population"])
    usable = ((level == "kommun") & base["indicator"].isin(crime_ids)).to_numpy() & np.isfinite(c) & (c >= 0) & (p > 0)
    kom = base[usable].assign(_c=c[usable], _p=p[usable], _prel=(base["status"][usable] == "preliminary").to_numpy())
    if kom.empty:
        return base
    lan_of = {a.code: a.lan_code for a in reg.kommuner()}
    size = {lan.code: len(reg.kommuner(lan.code)) for lan in reg.all_lan()}
    size[RIKET_CODE] = len(reg.kommuner())
    valued = base[np.isfinite(_f(base["value"])) & (level != "kommun").to_numpy()]
    have = pd.MultiIndex.from_arrays(
        [
            valued["area_code"].to_numpy(dtype=object),
            valued["indicator"].to_numpy(dtype=object),
            valued["year"].to_numpy(dtype=np.int64),
        ]
    )
    derived = []
    for target in (kom["area_code"].map(lan_of).to_numpy(dtype=object), np.full(len(kom), RIKET_CODE, dtype=object)):
        wanted = ~pd.MultiIndex.from_arrays(
            [target, kom["indicator"].to_numpy(dtype=object), kom["year"].to_numpy(dtype=np.int64)]
        ).isin(have)
        if not wanted.any():  # every benchmark is published: nothing to derive
            continue
        g = kom[wanted].assign(_to=target[wanted]).groupby(["_to", "indicator", "year"])
        agg = g.agg(count=("_c", "sum"), population=("_p", "sum"), n=("area_code", "nunique"), prel=("_prel", "any"))
        agg = agg.reset_index()
        complete = agg["n"].to_numpy() == agg["_to"].map(size).to_numpy()
        keys = pd.MultiIndex.from_arrays(
            [
                agg["_to"].to_numpy(dtype=object),
                agg["indicator"].to_numpy(dtype=object),
                agg["year"].to_numpy(dtype=np.int64),
            ]
        )
        derived.append(agg[complete & ~keys.isin(have)])
    new = pd.concat(derived, ignore_index=True) if derived else pd.DataFrame()
    if new.empty:
        return base
    low, high = poisson_rate_ci(new["count"].to_numpy(dtype=float), new["population"].to_numpy(dtype=float))
    rows = pd.DataFrame(
        {
            "area_code": new["_to"].to_numpy(dtype=object),
            "year": new["year"].to_numpy(),
            "indicator": new["indicator"].to_numpy(),
            "value": new["count"].to_numpy() / new["population"].to_numpy() * 100_000,
            "ci_low": low,
            "ci_high": high,
            "count": new["count"].to_numpy(),
            "population": new["population"].to_numpy(),
            "n_respondents": pd.NA,
            "status": np.where(new["prel"], "preliminary", "final"),
            "population_source": "summa av kommunernas befolkning",
            "source": "beräknat från kommunerna",
            "period": new["year"].astype(str).to_numpy(dtype=object),
            "benchmark_source": BENCHMARK_DERIVED,
        }
    )
    return pd.concat([base, rows], ignore_index=True)
