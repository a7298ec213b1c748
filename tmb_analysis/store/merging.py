"""The merge rule: one row per key from the stored and the incoming rows, and a count and log of what changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..validation import COLUMNS, KEYS


@dataclass
class TableChange:
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept_final: int = 0  # final rows kept against preliminary ones
    kept_newer: int = 0  # stored rows of a newer vintage kept against incoming older ones
    removed: int = 0  # group members dropped because a newer vintage of their group lists them no more
    total: int = 0


def _value_columns(name: str) -> list[str]:
    return [c for c in COLUMNS[name] if c not in KEYS[name]]


def _data_columns(name: str) -> list[str]:
    """The value columns that carry data (not the source of a row)."""
    return [c for c in _value_columns(name) if c not in ("source", "source_sha256")]


def vintage_key(record: dict | None) -> str:
    """The ordering key of a file's vintage: its stated publication date, else its download date,
    else when it was imported (ISO text; '' when nothing is known)."""
    if not record:
        return ""
    return str(record.get("published") or record.get("retrieved_at") or record.get("imported_at") or "")


def _vintages(shas: pd.Series, records: dict[str, dict]) -> pd.Series:
    """The vintage key of every row, from its ``source_sha256`` ('' when unknown)."""
    keys = {sha: vintage_key(records.get(sha)) for sha in shas.dropna().unique()}
    return pd.Series(
        [keys.get(x, "") if isinstance(x, str) else "" for x in shas.tolist()], index=shas.index, dtype="str"
    )


def _combine(name: str, parts: list[pd.DataFrame], vkeys: list[pd.Series | str]) -> pd.DataFrame:
    """Stack ``parts`` (oldest first) and keep one row per key: final over preliminary (crime), then
    the newest vintage (``vkeys``: one key per part, or a Series per row), then the later part."""
    keys = KEYS[name]
    frames = []
    for i, (p, v) in enumerate(zip(parts, vkeys)):
        frames.append(p.assign(_order=i, _v=v if isinstance(v, str) else v.to_numpy()))
    stacked = pd.concat(frames, ignore_index=True)
    sort = ["_v", "_order"]
    if name == "crime":
        stacked["_final"] = (stacked["status"] == "final").astype("int8")
        sort = ["_final", *sort]
    if name == "groups":
        # a group is replaced as a whole: take every group from the part with its newest vintage
        best_part = stacked.sort_values(["group_id", "_v", "_order"], kind="stable").drop_duplicates(
            "group_id", keep="last"
        )
        chosen = stacked.merge(best_part[["group_id", "_order"]], on=["group_id", "_order"])
        return chosen.drop_duplicates(keys, keep="last")
    best = stacked.sort_values(keys + sort, kind="stable").drop_duplicates(keys, keep="last")
    return _prefer_richer(name, stacked, best, sort)


#: table: (figure column, tolerance, detail columns). A newer row that only restates a figure with
#: less detail (Kolada's rates have no counts of crimes, its NTU shares often no interval or
#: respondents) does not replace the row that has them: see :func:`_prefer_richer`.
_RICHER = {
    "crime": ("rate_per_100k", 0.5, ["count"]),
    "survey": ("share_pct", 0.05, ["ci_low_pct", "ci_high_pct", "n_respondents"]),
    "context": ("value", 0.05, ["count", "denominator"]),
}


def _prefer_richer(name: str, stacked: pd.DataFrame, best: pd.DataFrame, sort: list[str]) -> pd.DataFrame:
    """Where the winning row lacks a detail (a count, an interval) that another row of the same key
    has, for the same figure (within rounding) and the same status, keep that other row whole, so
    that neither the detail nor the row's provenance is lost. A different figure is a revision: the
    newer row wins as it is."""
    spec = _RICHER.get(name)
    if spec is None or best.empty:
        return best
    figure, tol, detail = spec
    keys = KEYS[name]
    lacking = best[detail].isna().any(axis=1).to_numpy()
    rich = stacked[stacked[detail].notna().all(axis=1).to_numpy()]
    if not lacking.any() or rich.empty:
        return best
    rich = rich.sort_values(keys + sort, kind="stable").drop_duplicates(keys, keep="last")
    cand = best[lacking][keys + [figure] + (["status"] if "status" in best else [])].merge(
        rich, on=keys, how="inner", suffixes=("_w", "")
    )
    same = (cand[f"{figure}_w"] - cand[figure]).abs().to_numpy() <= tol
    if "status" in best:
        same &= (cand["status_w"] == cand["status"]).to_numpy()
    cand = cand[same]
    if cand.empty:
        return best
    idx = pd.MultiIndex.from_frame(cand[keys])
    keep = ~pd.MultiIndex.from_frame(best[keys]).isin(idx)
    return pd.concat([best[keep], cand[best.columns]], ignore_index=True)


def _same(x: pd.Series, y: pd.Series) -> np.ndarray:
    return (x == y).fillna(False).astype(bool).to_numpy() | (x.isna().to_numpy() & y.isna().to_numpy())


def _keep_unchanged(name: str, best: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """Rows whose figures equal the stored ones keep their stored source: re-stating a value
    (the same file again, or another file with the same figures) changes nothing."""
    if base.empty:
        return best
    keys, vals = KEYS[name], _data_columns(name)
    m = best.merge(
        base[keys + vals + ["source", "source_sha256"]], on=keys, how="left", suffixes=("", "_b"), indicator=True
    )
    same = (m["_merge"] == "both").to_numpy().copy()
    for c in vals:
        same = same & _same(m[c], m[f"{c}_b"])
    if same.any():
        for c in ("source", "source_sha256"):
            m.loc[same, c] = m.loc[same, f"{c}_b"]
    return m[COLUMNS[name]]


def _conflicts(name: str, stacked: pd.DataFrame) -> tuple[int, str]:
    """Keys that occur with different values in the stack: (how many, an example)."""
    keys = KEYS[name]
    dup = stacked[stacked.duplicated(keys, keep=False)]
    if dup.empty:
        return 0, ""
    distinct = dup.drop_duplicates(keys + _data_columns(name))
    conflicting = distinct[distinct.duplicated(keys, keep=False)]
    n = conflicting.drop_duplicates(keys).shape[0]
    if not n:
        return 0, ""
    r = conflicting.iloc[0]
    return n, ", ".join(f"{k}={r[k]}" for k in keys)


def _file_label(sha, by_sha: dict[str, dict]) -> str:
    rec = by_sha.get(sha) if isinstance(sha, str) else None
    if rec is None:
        return "an earlier import"
    when = rec.get("published") or rec.get("retrieved_at") or rec.get("imported_at")
    return f"{rec.get('file')}" + (f" ({str(when)[:10]})" if when else "")


def _diff(
    name: str, old: pd.DataFrame, merged: pd.DataFrame, incoming: pd.DataFrame, by_sha: dict[str, dict]
) -> tuple[TableChange, list[str], list[str]]:
    """Counts of what changed, the replacement log and warnings about rows not applied."""
    keys = KEYS[name]
    vals = _data_columns(name)
    ch = TableChange(total=len(merged))
    if incoming.empty:
        return ch, [], []
    a = old[keys + vals + ["source_sha256"]].assign(_in_old=True)
    m = merged[keys + vals + ["source_sha256"]].merge(a, on=keys, how="left", suffixes=("", "_old"))
    in_old = m["_in_old"].fillna(False).astype(bool).to_numpy()
    touched = pd.MultiIndex.from_frame(m[keys]).isin(pd.MultiIndex.from_frame(incoming[keys]))
    same = np.ones(len(m), dtype=bool)
    for c in vals:
        same = same & _same(m[c], m[f"{c}_old"])
    ch.added = int((touched & ~in_old).sum())
    ch.replaced = int((touched & in_old & ~same).sum())
    ch.unchanged = int((touched & in_old & same).sum())
    log: list[str] = []
    replaced = m[touched & in_old & ~same]
    if len(replaced):
        groups = replaced.groupby(
            [replaced["source_sha256_old"].fillna(""), replaced["source_sha256"].fillna("")], sort=False
        ).size()
        for (old_sha, new_sha), n in groups.items():
            what = "replaced by"
            if name == "crime":
                st = replaced[
                    (replaced["source_sha256_old"].fillna("") == old_sha)
                    & (replaced["source_sha256"].fillna("") == new_sha)
                ]
                if ((st["status_old"] == "preliminary") & (st["status"] == "final")).all():
                    what = "(preliminary) replaced by final figures of"
            log.append(
                f"{name}: {n} row(s) from {_file_label(old_sha or None, by_sha)} {what} "
                f"{_file_label(new_sha or None, by_sha)}"
            )
    warn: list[str] = []
    # incoming rows that lost against stored ones
    inc = incoming[keys + vals + ["source_sha256"]]
    lost = inc.merge(merged[keys + ["source_sha256"]], on=keys, suffixes=("", "_kept"))
    lost = lost[lost["source_sha256"].fillna("") != lost["source_sha256_kept"].fillna("")]
    lost = lost.merge(old[keys + ["source_sha256"]].rename(columns={"source_sha256": "_old_sha"}), on=keys, how="inner")
    lost = lost[lost["_old_sha"].fillna("") == lost["source_sha256_kept"].fillna("")]
    if len(lost):
        stored = old[keys + vals].merge(lost[keys], on=keys)
        if name == "crime":
            final_kept = lost.merge(stored[keys + ["status"]], on=keys, suffixes=("", "_stored"))
            is_final = (final_kept["status"] == "preliminary") & (final_kept["status_stored"] == "final")
            ch.kept_final = int(is_final.sum())
            n_newer = int((~is_final).sum())
        else:
            n_newer = len(lost)
        differs = lost.merge(stored, on=keys, suffixes=("", "_stored"))
        n_diff = n_richer = 0
        if len(differs):
            d = np.zeros(len(differs), dtype=bool)
            for c in vals:
                d = d | ~_same(differs[c], differs[f"{c}_stored"])
            if name in _RICHER:  # the same figure without its detail: the stored row is kept whole
                figure, tol, detail = _RICHER[name]
                richer = (
                    d
                    & differs[detail].isna().any(axis=1).to_numpy()
                    & ((differs[figure] - differs[f"{figure}_stored"]).abs().to_numpy() <= tol)
                )
                n_richer = int(richer.sum())
                d = d & ~richer
            n_diff = int(d.sum())
        if n_richer:
            files = ", ".join(sorted({_file_label(s, by_sha) for s in lost["source_sha256"]}))
            warn.append(
                f"{name}: {n_richer} row(s) of {files} restate stored figures without their "
                f"{' and '.join(_RICHER[name][2])}; the stored rows, which have them, are kept"
            )
        n_newer = max(n_newer - n_richer, 0)
        ch.kept_newer = n_newer if n_diff else 0
        if ch.kept_final:
            warn.append(f"{name}: {ch.kept_final} final row(s) kept; preliminary figures never replace final ones")
        if ch.kept_newer:
            files = ", ".join(sorted({_file_label(s, by_sha) for s in lost["source_sha256"]}))
            kept = ", ".join(sorted({_file_label(s, by_sha) for s in lost["source_sha256_kept"]}))
            warn.append(
                f"{name}: {ch.kept_newer} row(s) of {files} not applied: the store holds a newer vintage ({kept})"
            )
    return ch, log, warn
