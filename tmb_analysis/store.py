"""The canonical store: validated parquet tables in one folder (default ``data/processed/``).

Files: ``crime.parquet``, ``survey.parquet``, ``population.parquet`` (imported SCB population
only), ``groups.parquet`` (Kolada municipality groups), ``context.parquet`` (Kolada's context
indicators, :mod:`tmb_analysis.kolada_context`) and ``sources.json`` (one provenance record
per imported file: ``file``, ``sha256``, ``publisher``, ``vintage``, ``synthetic``, ``format``,
``status`` (final/preliminary), ``published`` (a date the file states), ``retrieved_at``/``url``
(from ``tmb fetch``), ``rows`` per table, ``notes``, ``not_imported``, ``imported_at``). Every
row carries ``source_sha256``, the key of its file's record: each row keeps its source.

:func:`import_paths` is all-or-nothing: every file is read and validated first, the merged tables
are validated again, and only then are the new files written, into a temporary folder next to the
store and moved into place with ``os.replace`` (``sources.json`` last). A failing import leaves
the store byte-identical; an import that changes nothing writes nothing.

Merge rule, per key (``area_code, year, indicator``; ``area_code, year`` for population): the row
of the newest vintage wins — a file's vintage is the publication date it states, else its download
date (``tmb fetch``), else the time it was imported, so that with undated files a later import
wins (and later files of the same import count as newer) — except that a ``final`` crime row is
never replaced by a ``preliminary`` one, whatever its vintage — and that a row which only restates a
stored figure with less detail (Kolada's rates without counts, shares without an interval) does not
replace the row that has the detail (:func:`_prefer_richer`). A group (``groups``) is replaced as
a whole by a newer vintage of it (Kolada re-fills group ids with new members). Every replacement
is logged in the :class:`ImportReport`. Re-importing the same file changes nothing.

Example data and real data never share a store (:class:`MixedStoreError`; ``--replace-example``
empties a store of the example data first), so that a real report never carries the example banner
or is compared with a synthetic riket. After every merge, :func:`benchmark_conflicts` checks the
published län and riket counts against the sum of their complete kommun sets and warns in the
import report.

Population: :func:`load_store` returns ``Store.population`` complete. SCB rows are used where they
exist; for every other area-year with BRÅ's ``totalt`` count and rate, the population is derived
as round(count / rate × 100 000) with source :data:`DERIVED_POPULATION_SOURCE`
(see :func:`derive_population`). The derived rows are not written to the store.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import interrupts
from .config import DEFAULT_STORE
from .sources import MANIFEST_NAME, SIDECAR_SUFFIX, SourceTables, read_source
from .validation import COLUMNS, KEYS, TABLES, DataValidationError, empty_table, to_canonical, validate

SOURCES_FILE = "sources.json"
DERIVED_POPULATION_SOURCE = "härledd från Brå (antal/per 100 000)"
STATUS_SV = {"final": "slutliga", "preliminary": "preliminära"}
_SKIP_NAMES = {MANIFEST_NAME}


class EmptyStoreError(ValueError):
    """The store has no crime and no survey rows (or does not exist)."""


class MixedStoreError(DataValidationError):
    """Example data and real files would end up in the same store."""


# ---- the store as read ------------------------------------------------------------


@dataclass(frozen=True)
class Vintage:
    """What a store covers: first and last year of each source kind (for NTU the survey years), and the
    status of the last crime year."""

    crime_first: int | None
    crime_last: int | None
    crime_last_status: str | None
    survey_first: int | None
    survey_last: int | None

    def __str__(self) -> str:
        parts = []
        if self.crime_last is not None:
            status = STATUS_SV.get(self.crime_last_status or "", self.crime_last_status)
            parts.append(f"anmälda brott {self.crime_first}–{self.crime_last} ({self.crime_last} {status} uppgifter)")
        if self.survey_last is not None:
            parts.append(f"NTU {self.survey_first}–{self.survey_last}")
        return ", ".join(parts) or "inga data"


@dataclass
class Store:
    """The canonical tables of a store (canonical dtypes) and its provenance records.

    ``groups`` holds municipality groups (empty, with its columns, when none were imported);
    ``sources`` the provenance records, keyed by the ``source_sha256`` of every row.
    """

    crime: pd.DataFrame
    survey: pd.DataFrame
    population: pd.DataFrame
    groups: pd.DataFrame = field(default_factory=lambda: empty_table("groups"))
    sources: list[dict] = field(default_factory=list)
    store_dir: Path | None = None
    context: pd.DataFrame = field(default_factory=lambda: empty_table("context"))  # Kolada context KPIs (issue 16)

    def source_of(self, sha256: str) -> dict | None:
        """The provenance record of the file with this sha256 (a row's ``source_sha256``)."""
        return next((s for s in self.sources if s.get("sha256") == sha256), None)

    @property
    def is_synthetic(self) -> bool:
        """True when any imported file is example data (listed in an ``exempeldata.json``)."""
        return any(bool(s.get("synthetic")) for s in self.sources)

    @property
    def vintage(self) -> Vintage:
        c, s = self.crime, self.survey
        last = int(c["year"].max()) if len(c) else None
        status = None
        if last is not None:
            st = set(c.loc[c["year"] == last, "status"])
            status = "preliminary" if "preliminary" in st else "final"
        from .periods import measured_year

        ntu = measured_year(s)  # the survey years (victimisation is labelled by the year before)
        return Vintage(
            crime_first=int(c["year"].min()) if len(c) else None,
            crime_last=last,
            crime_last_status=status,
            survey_first=int(ntu.min()) if len(s) else None,
            survey_last=int(ntu.max()) if len(s) else None,
        )


def derive_population(crime: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """``population`` completed with area-years derived from BRÅ's ``totalt`` count and rate.

    population = round(count / rate_per_100k × 100 000), for area-years without a population row
    and with count and rate > 0; source :data:`DERIVED_POPULATION_SOURCE`.
    """
    tot = crime[(crime["indicator"] == "totalt") & crime["count"].notna() & crime["rate_per_100k"].notna()]
    tot = tot[(tot["count"] > 0) & (tot["rate_per_100k"] > 0)]
    if tot.empty:
        return population.reset_index(drop=True)
    derived = pd.DataFrame(
        {
            "area_code": tot["area_code"].to_numpy(),
            "year": tot["year"].to_numpy(),
            "population": np.rint(
                tot["count"].astype("float64").to_numpy() / tot["rate_per_100k"].astype("float64").to_numpy() * 100_000
            ),
            "source": DERIVED_POPULATION_SOURCE,
        }
    )
    have = pd.MultiIndex.from_frame(population[["area_code", "year"]].astype({"area_code": "str", "year": "int64"}))
    new = ~pd.MultiIndex.from_frame(derived[["area_code", "year"]]).isin(have)
    out = pd.concat([population, to_canonical("population", derived[new])], ignore_index=True)
    return _sorted("population", to_canonical("population", out))


def _read_table(store_dir: Path, name: str) -> pd.DataFrame:
    path = store_dir / f"{name}.parquet"
    if not path.exists():
        return empty_table(name)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise DataValidationError(f"{path}: cannot read the store table: {exc}", origin=str(path)) from None
    return to_canonical(name, df, str(path))


def _read_sources(store_dir: Path) -> list[dict]:
    path = store_dir / SOURCES_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"{path}: cannot read the provenance list: {exc}", origin=str(path)) from None
    if not isinstance(data, list):
        raise DataValidationError(f"{path}: expected a JSON list of provenance records", origin=str(path))
    return data


def _empty_message(store_dir: Path) -> str:
    return (
        f"the store {store_dir} has no crime or survey data; write and import the example data with "
        f"`tmb sample --out data/sample` and `tmb import data/sample --store {store_dir}`, "
        "or import real files with `tmb import PATH...`"
    )


def load_store(store_dir: str | Path = DEFAULT_STORE) -> Store:
    """Read and validate the store; ``population`` includes the derived rows (see the module docstring).

    Raises :class:`EmptyStoreError` when the folder does not exist or holds no crime and no survey rows.
    """
    store_dir = Path(store_dir)
    if not store_dir.is_dir():
        raise EmptyStoreError(_empty_message(store_dir))
    tables = {name: _read_table(store_dir, name) for name in TABLES}
    if tables["crime"].empty and tables["survey"].empty:
        raise EmptyStoreError(_empty_message(store_dir))
    for name, df in tables.items():
        validate(name, df, str(store_dir / f"{name}.parquet"))
    population = derive_population(tables["crime"], tables["population"])
    return Store(
        crime=tables["crime"],
        survey=tables["survey"],
        population=population,
        groups=tables["groups"],
        sources=_read_sources(store_dir),
        store_dir=store_dir,
        context=tables["context"],
    )


# ---- import -----------------------------------------------------------------------


@dataclass
class TableChange:
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept_final: int = 0  # final rows kept against preliminary ones
    kept_newer: int = 0  # stored rows of a newer vintage kept against incoming older ones
    removed: int = 0  # group members dropped because a newer vintage of their group lists them no more
    total: int = 0


@dataclass
class ImportReport:
    """What an import did. ``changed`` is False when the store was left as it was.

    ``warnings`` are things to look at (conflicts, rows not applied); ``changes`` log every
    replacement of stored rows by another file (newer vintage, final over preliminary);
    ``notes`` are the readers' remarks per file (rows skipped, crime types not imported).
    """

    store_dir: Path
    files: list[dict]
    tables: dict[str, TableChange]
    changed: bool
    warnings: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{'imported' if self.changed else 'nothing new in'} {len(self.files)} file(s) "
            f"{'into' if self.changed else 'for'} {self.store_dir}"
            + (" (exempeldata – inte verklig statistik)" if any(f.get("synthetic") for f in self.files) else "")
        ]
        for name, ch in self.tables.items():
            if name in ("groups", "context") and not ch.total:
                continue
            lines.append(
                f"  {name}: {ch.total} rows ({ch.added} added, {ch.replaced} replaced, {ch.unchanged} unchanged"
                + (f", {ch.kept_final} final kept over preliminary" if ch.kept_final else "")
                + (f", {ch.kept_newer} newer kept over older" if ch.kept_newer else "")
                + (f", {ch.removed} removed" if ch.removed else "")
                + ")"
            )
        lines += [f"  replaced: {c}" for c in self.changes]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _is_skipped(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    if any(part.startswith(".") for part in rel.parts):
        return True
    name = path.name
    return name in _SKIP_NAMES or name.upper().startswith("README") or name.endswith(SIDECAR_SUFFIX)


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files to import: files as given, folders recursively (sorted), skipping hidden files,
    README files, the example-data manifest and ``tmb fetch``'s provenance sidecars."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = [f for f in sorted(p.rglob("*")) if f.is_file() and not _is_skipped(f, p)]
            if not found:
                raise DataValidationError(f"{p}: no data files in this folder", origin=str(p))
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    seen, unique = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _value_columns(name: str) -> list[str]:
    return [c for c in COLUMNS[name] if c not in KEYS[name]]


def _data_columns(name: str) -> list[str]:
    """The value columns that carry data (not the source of a row)."""
    return [c for c in _value_columns(name) if c not in ("source", "source_sha256")]


def _sorted(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS[name], kind="stable").reset_index(drop=True)


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


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if a.shape != b.shape or list(a.columns) != list(b.columns):
        return False
    try:
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, check_exact=True
        )
    except AssertionError:
        return False
    return True


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


def import_paths(
    paths: list[str | Path],
    store_dir: str | Path = DEFAULT_STORE,
    year: int | None = None,
    replace_example: bool = False,
) -> ImportReport:
    """Read, validate and merge source files (or folders) into the store; all-or-nothing.

    Every file is read and validated before anything is written; any failure raises
    :class:`~tmb_analysis.validation.DataValidationError` naming the file(s) and leaves the store
    byte-identical. ``year`` is passed to readers of files without a year in their content or
    name (``tmb import --year``). See the module docstring for the merge rule.

    Example data and real files never share a store: importing real files into a store that holds
    the example data (or the reverse, or both kinds at once) raises :class:`MixedStoreError`, unless
    ``replace_example`` (``tmb import --replace-example``), which first empties the store of the
    example data. After the merge, a published län (or riket) count that differs from the sum of
    its complete set of kommuner is a warning of the report (:func:`benchmark_conflicts`).
    """
    store_dir = Path(store_dir)
    files = expand_paths(paths)
    results: list[SourceTables] = []
    failures: list[Exception] = []
    for f in files:
        try:
            results.append(read_source(f, year=year))
        except (DataValidationError, FileNotFoundError) as exc:
            failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        firsts = [str(e).splitlines()[0] for e in failures]
        head = f"{len(failures)} of {len(files)} files failed, nothing was imported; first: {firsts[0]}"
        raise DataValidationError("\n".join([head, *[f"  {e}" for e in firsts[1:]]]), problems=firsts)

    exists = store_dir.is_dir()
    old = {name: _read_table(store_dir, name) if exists else empty_table(name) for name in TABLES}
    old_sources = _read_sources(store_dir) if exists else []
    removed_example = 0
    example_shas = {s.get("sha256") for s in old_sources if s.get("synthetic")}
    if replace_example and example_shas:
        removed_example = sum(int(old[n]["source_sha256"].isin(example_shas).sum()) for n in TABLES)
        old = {n: old[n][~old[n]["source_sha256"].isin(example_shas)].reset_index(drop=True) for n in TABLES}
        old_sources = [s for s in old_sources if not s.get("synthetic")]
    _refuse_mixing(store_dir, results, old_sources, files)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    by_sha = {s.get("sha256"): s for s in old_sources}
    new_recs = {r.provenance["sha256"]: dict(r.provenance, imported_at=now) for r in results}
    # a file imported again keeps its vintage (its first import time stands in for an unknown date)
    for sha, rec in new_recs.items():
        if sha in by_sha and not rec.get("published") and not rec.get("retrieved_at"):
            rec["imported_at"] = by_sha[sha].get("imported_at", now)
    labels = {**by_sha, **new_recs}
    report_tables: dict[str, TableChange] = {}
    warnings: list[str] = []
    changes: list[str] = []
    merged: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        parts = [r for r in results if len(r.table(name))]
        if not parts:
            merged[name] = old[name]
            report_tables[name] = TableChange(total=len(old[name]))
            continue
        frames = [r.table(name) for r in parts]
        vkeys = [vintage_key(new_recs[r.provenance["sha256"]]) for r in parts]
        incoming = _combine(name, frames, vkeys)
        n_conf, example = _conflicts(name, pd.concat(frames, ignore_index=True)) if len(frames) > 1 else (0, "")
        if n_conf:
            warnings.append(
                f"{name}: {n_conf} key(s) have different values in different files of this import; "
                "final figures win over preliminary ones, then the newest vintage (else the later file) "
                f"(e.g. {example})"
            )
        within_final = 0
        if name == "crime" and len(frames) > 1:  # preliminary rows that lost to final ones of another file
            prelim = pd.concat(frames, ignore_index=True)
            prelim = prelim.loc[prelim["status"] == "preliminary", KEYS[name] + ["source_sha256"]]
            won = prelim.merge(incoming[KEYS[name] + ["status", "source_sha256"]], on=KEYS[name], suffixes=("", "_won"))
            within_final = int(((won["status"] == "final") & (won["source_sha256"] != won["source_sha256_won"])).sum())
        incoming = incoming[COLUMNS[name]]
        base = old[name][COLUMNS[name]]
        old_v = _vintages(base["source_sha256"], by_sha)
        inc_v = _vintages(incoming["source_sha256"], labels)
        best = _keep_unchanged(name, _combine(name, [base, incoming], [old_v, inc_v]), base)
        table = _sorted(name, to_canonical(name, best[COLUMNS[name]], str(store_dir)))
        merged[name] = validate(name, table, f"{store_dir} (merged {name} table)")
        ch, log, warn = _diff(name, _sorted(name, base), merged[name], incoming, labels)
        if within_final:
            ch.kept_final += within_final
            warn.append(
                f"{name}: {within_final} preliminary row(s) of this import not used: final figures of another "
                "file of the same import are kept (preliminary figures never replace final ones)"
            )
        if name == "groups":
            ch.removed = int(len(base) + ch.added - len(merged[name])) if len(base) else 0
            if ch.removed:
                log.append(
                    f"groups: {ch.removed} member row(s) dropped: newer vintages of their groups no longer list them"
                )
        report_tables[name] = ch
        changes += log
        warnings += warn

    notes = [f"{r.provenance['file']}: {n}" for r in results for n in r.notes]
    warnings += benchmark_conflicts(merged["crime"], {r.provenance["sha256"] for r in results if len(r.crime)}, labels)
    if removed_example:
        changes.insert(
            0,
            f"the example data were removed first (--replace-example): {removed_example} row(s) of "
            f"{len(example_shas)} example file(s)",
        )
    data_changed = removed_example > 0 or any(
        not _frames_equal(merged[n][COLUMNS[n]], _sorted(n, old[n][COLUMNS[n]])) for n in TABLES
    )
    new_files = [sha for sha in new_recs if sha not in by_sha]
    file_records = [dict(new_recs[r.provenance["sha256"]], rows=r.rows(), notes=list(r.notes)) for r in results]
    if not data_changed and not new_files and exists:
        return ImportReport(store_dir, file_records, report_tables, changed=False, warnings=warnings, notes=notes)

    sources = list(old_sources)
    index = {s.get("sha256"): i for i, s in enumerate(sources)}
    for rec in file_records:
        if rec["sha256"] in index:
            sources[index[rec["sha256"]]] = rec
        else:
            index[rec["sha256"]] = len(sources)
            sources.append(rec)
    _write_store(store_dir, merged, sources)
    return ImportReport(store_dir, file_records, report_tables, True, warnings=warnings, changes=changes, notes=notes)


def _refuse_mixing(store_dir: Path, results: list[SourceTables], old_sources: list[dict], files: list[Path]) -> None:
    """Raise :class:`MixedStoreError` when example data and real files would share the store."""
    incoming = {bool(r.provenance.get("synthetic")) for r in results}
    stored = {bool(s.get("synthetic")) for s in old_sources}
    if len(incoming) > 1:
        example = [r.provenance["file"] for r in results if r.provenance.get("synthetic")]
        real = [r.provenance["file"] for r in results if not r.provenance.get("synthetic")]
        raise MixedStoreError(
            f"{real[0]}: real files and example data ({example[0]}) in one import; import them into separate stores "
            "(`tmb import PATH --store DIR`)",
            origin=real[0],
        )
    if not incoming or not stored or incoming == stored:
        return
    first = results[0].provenance["file"]
    if True in stored:
        shown = " ".join(str(f) for f in files[:3]) + (" …" if len(files) > 3 else "")
        raise MixedStoreError(
            f"{first}: the store {store_dir} holds the example data (exempeldata); start a store for real data with "
            f"`tmb import {shown} --store data/verklig` (and build from it with `--store data/verklig`), or empty this "
            "one of the example data first with `--replace-example`",
            origin=first,
        )
    raise MixedStoreError(
        f"{first}: is example data (exempeldata) and the store {store_dir} holds real data; write the example data "
        "into a store of its own (`tmb import data/sample --store data/exempel`)",
        origin=first,
    )


def benchmark_conflicts(crime: pd.DataFrame, touched: set[str], records: dict[str, dict]) -> list[str]:
    """Warnings for published län and riket counts that differ from the sum of their kommuner, where
    every kommun of the län (all 290 for riket) has a count for that indicator and year.

    Counts are whole numbers, so any difference is more than rounding (in BRÅ's real Dalarna figures
    the län counts equal their kommun sums exactly). Only keys with a row from this import
    (``touched``: the files' sha256) are checked, so an old conflict is not repeated at every import.
    One line per conflict, naming the area, indicator, year, both figures and the files of the rows.
    """
    from .geography import RIKET_CODE, registry

    reg = registry()
    c = crime[crime["count"].notna()]
    if c.empty:
        return []
    members = {lan.code: [k.code for k in reg.kommuner(lan.code)] for lan in reg.all_lan()}
    members[RIKET_CODE] = [k.code for k in reg.kommuner()]
    lan_of = {k: lan for lan, ks in members.items() if lan != RIKET_CODE for k in ks}
    kom = c[c["area_code"].str.len() == 4]
    out = []
    for target, by in (("lan", kom["area_code"].map(lan_of)), ("riket", pd.Series(RIKET_CODE, index=kom.index))):
        grouped = kom.assign(_bench=by).groupby(["_bench", "indicator", "year"])
        sums = grouped["count"].sum()
        n = grouped["area_code"].nunique()
        shas = grouped["source_sha256"].agg(lambda x: sorted(set(x.dropna())))
        pub = c[c["area_code"].isin(members) & ((c["area_code"] == RIKET_CODE) == (target == "riket"))]
        pub = pub.set_index(["area_code", "indicator", "year"])
        for key, published in pub["count"].items():
            if key not in sums.index or n[key] != len(members[key[0]]):
                continue
            total = int(sums[key])
            sha = pub.loc[key, "source_sha256"]
            files = sorted({*shas[key], sha} - {None})
            if int(published) == total or not (set(files) & touched):
                continue
            names = ", ".join(sorted({(records.get(f) or {}).get("file") or "an earlier import" for f in files}))
            out.append(
                f"crime: {reg.name(key[0])} {key[2]} {key[1]}: the published count {int(published)} differs from "
                f"the sum of its {n[key]} kommuner, {total} (rows area_code={key[0]} and its kommuner, "
                f"indicator={key[1]}, year={key[2]}; from {names})"
            )
    return out


def _write_store(store_dir: Path, tables: dict[str, pd.DataFrame], sources: list[dict]) -> None:
    """Write every file into a temporary folder next to the store, then move them in (sources.json last)."""
    parent = store_dir.parent if str(store_dir.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    with interrupts.scratch_folder(parent, f".{store_dir.name}.import-") as tmp:
        names = []
        for name in TABLES:
            _write_parquet(tables[name][COLUMNS[name]].reset_index(drop=True), tmp / f"{name}.parquet")
            names.append(f"{name}.parquet")
        (tmp / SOURCES_FILE).write_text(json.dumps(sources, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        names.append(SOURCES_FILE)
        for name in names:  # fsync before the moves, so a crash never leaves a half-written file in place
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        store_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.replace(tmp / name, store_dir / name)
