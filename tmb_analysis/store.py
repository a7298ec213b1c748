"""The canonical store: validated parquet tables in one folder (default ``data/processed/``).

Files: ``crime.parquet``, ``survey.parquet``, ``population.parquet`` (imported SCB population
only) and ``sources.json`` (one provenance record per imported file: ``file``, ``sha256``,
``publisher``, ``vintage``, ``synthetic``, ``format``, ``rows`` per table, ``imported_at``).

:func:`import_paths` is all-or-nothing: every file is read and validated first, the merged tables
are validated again, and only then are the new files written, into a temporary folder next to the
store and moved into place with ``os.replace`` (``sources.json`` last). A failing import leaves
the store byte-identical; an import that changes nothing writes nothing.

Merge rule, per key (``area_code, year, indicator``; ``area_code, year`` for population): a newer
row replaces an older one (later files of the same import count as newer), except that a ``final``
crime row is never replaced by a ``preliminary`` one. Re-importing the same file changes nothing.

Population: :func:`load_store` returns ``Store.population`` complete. SCB rows are used where they
exist; for every other area-year with BRÅ's ``totalt`` count and rate, the population is derived
as round(count / rate × 100 000) with source :data:`DERIVED_POPULATION_SOURCE`
(see :func:`derive_population`). The derived rows are not written to the store.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .sources import MANIFEST_NAME, SourceTables, read_source
from .validation import COLUMNS, KEYS, TABLES, DataValidationError, empty_table, to_canonical, validate

DEFAULT_STORE = Path("data/processed")
SOURCES_FILE = "sources.json"
DERIVED_POPULATION_SOURCE = "härledd från Brå (antal/per 100 000)"
STATUS_SV = {"final": "slutliga", "preliminary": "preliminära"}
_SKIP_NAMES = {MANIFEST_NAME}


class EmptyStoreError(ValueError):
    """The store has no crime and no survey rows (or does not exist)."""


# ---- the store as read ------------------------------------------------------------

@dataclass(frozen=True)
class Vintage:
    """What a store covers: first and last year of each source kind, and the status of the last crime year."""

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
    """The canonical tables of a store (canonical dtypes) and its provenance records."""

    crime: pd.DataFrame
    survey: pd.DataFrame
    population: pd.DataFrame
    sources: list[dict] = field(default_factory=list)
    store_dir: Path | None = None

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
        return Vintage(
            crime_first=int(c["year"].min()) if len(c) else None,
            crime_last=last,
            crime_last_status=status,
            survey_first=int(s["year"].min()) if len(s) else None,
            survey_last=int(s["year"].max()) if len(s) else None,
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
    except Exception as exc:  # pyarrow raises several types for a damaged file
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
        sources=_read_sources(store_dir),
        store_dir=store_dir,
    )


# ---- import -----------------------------------------------------------------------

@dataclass
class TableChange:
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    kept_final: int = 0  # final rows kept against preliminary ones
    total: int = 0


@dataclass
class ImportReport:
    """What an import did. ``changed`` is False when the store was left as it was."""

    store_dir: Path
    files: list[dict]
    tables: dict[str, TableChange]
    changed: bool
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{'imported' if self.changed else 'nothing new in'} {len(self.files)} file(s) "
            f"{'into' if self.changed else 'for'} {self.store_dir}"
            + (" (exempeldata – inte verklig statistik)" if any(f.get("synthetic") for f in self.files) else "")
        ]
        for name, ch in self.tables.items():
            lines.append(
                f"  {name}: {ch.total} rows ({ch.added} added, {ch.replaced} replaced, {ch.unchanged} unchanged"
                + (f", {ch.kept_final} final kept over preliminary" if ch.kept_final else "")
                + ")"
            )
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _is_skipped(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    if any(part.startswith(".") for part in rel.parts):
        return True
    name = path.name
    return name in _SKIP_NAMES or name.upper().startswith("README")


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files to import: files as given, folders recursively (sorted), skipping hidden files,
    README files and the example-data manifest."""
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


def _sorted(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS[name], kind="stable").reset_index(drop=True)


def _combine(name: str, parts: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stack ``parts`` (oldest first) and keep one row per key: the newest, but final over preliminary.

    Returns the combined table and the whole stack (with ``_order``, the position of each row's part).
    """
    keys = KEYS[name]
    stacked = pd.concat([p.assign(_order=i) for i, p in enumerate(parts)], ignore_index=True)
    rank = stacked["_order"].astype("int64")
    if name == "crime":
        rank = rank + (stacked["status"] == "final").astype("int64") * 1_000_000
    stacked = stacked.assign(_rank=rank.to_numpy())
    best = stacked.sort_values(keys + ["_rank"], kind="stable").drop_duplicates(keys, keep="last")
    return best, stacked


def _conflicts(name: str, stacked: pd.DataFrame) -> tuple[int, str]:
    """Keys that occur with different values in the stack: (how many, an example)."""
    keys = KEYS[name]
    dup = stacked[stacked.duplicated(keys, keep=False)]
    if dup.empty:
        return 0, ""
    distinct = dup.drop_duplicates(keys + [c for c in _value_columns(name) if c != "source"])
    conflicting = distinct[distinct.duplicated(keys, keep=False)]
    n = conflicting.drop_duplicates(keys).shape[0]
    if not n:
        return 0, ""
    r = conflicting.iloc[0]
    return n, ", ".join(f"{k}={r[k]}" for k in keys)


def _diff(name: str, old: pd.DataFrame, merged: pd.DataFrame, incoming: pd.DataFrame) -> TableChange:
    keys = KEYS[name]
    vals = _value_columns(name)
    ch = TableChange(total=len(merged))
    if incoming.empty:
        return ch
    a = old[keys + vals].assign(_in_old=True)
    b = merged[keys + vals]
    m = b.merge(a, on=keys, how="left", suffixes=("", "_old"))
    in_old = m["_in_old"].fillna(False).astype(bool)
    inc = pd.MultiIndex.from_frame(incoming[keys])
    touched = pd.MultiIndex.from_frame(m[keys]).isin(inc)
    same = np.ones(len(m), dtype=bool)
    for c in vals:
        x, y = m[c], m[f"{c}_old"]
        eq = (x == y).fillna(False).astype(bool).to_numpy() | (x.isna().to_numpy() & y.isna().to_numpy())
        same &= eq
    ch.added = int((touched & ~in_old).sum())
    ch.replaced = int((touched & in_old & ~same).sum())
    ch.unchanged = int((touched & in_old & same).sum())
    if name == "crime":
        prelim = incoming[incoming["status"] == "preliminary"]
        if len(prelim):
            kept = merged.merge(prelim[keys], on=keys)
            ch.kept_final = int((kept["status"] == "final").sum())
    return ch


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


def import_paths(paths: list[str | Path], store_dir: str | Path = DEFAULT_STORE) -> ImportReport:
    """Read, validate and merge source files (or folders) into the store; all-or-nothing.

    Every file is read and validated before anything is written; any failure raises
    :class:`~tmb_analysis.validation.DataValidationError` naming the file(s) and leaves the store
    byte-identical. See the module docstring for the merge rule.
    """
    store_dir = Path(store_dir)
    files = expand_paths(paths)
    results: list[SourceTables] = []
    failures: list[Exception] = []
    for f in files:
        try:
            results.append(read_source(f))
        except (DataValidationError, FileNotFoundError) as exc:
            failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        firsts = [str(e).splitlines()[0] for e in failures]
        head = f"{len(failures)} of {len(files)} files failed, nothing was imported; first: {firsts[0]}"
        raise DataValidationError("\n".join([head, *[f"  {e}" for e in firsts[1:]]]), problems=firsts)

    old = {name: _read_table(store_dir, name) for name in TABLES} if store_dir.is_dir() else {n: empty_table(n) for n in TABLES}
    old_sources = _read_sources(store_dir) if store_dir.is_dir() else []
    report_tables: dict[str, TableChange] = {}
    warnings: list[str] = []
    merged: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        parts = [r.table(name) for r in results if len(r.table(name))]
        if not parts:
            merged[name] = old[name]
            report_tables[name] = TableChange(total=len(old[name]))
            continue
        incoming, stacked = _combine(name, parts)
        n_conf, example = _conflicts(name, stacked)
        if n_conf:
            warnings.append(
                f"{name}: {n_conf} key(s) have different values in different files of this import; "
                f"the later file wins (e.g. {example})"
            )
        incoming = incoming[COLUMNS[name]]
        best, _ = _combine(name, [old[name][COLUMNS[name]], incoming])
        table = _sorted(name, to_canonical(name, best[COLUMNS[name]], str(store_dir)))
        merged[name] = validate(name, table, f"{store_dir} (merged {name} table)")
        report_tables[name] = _diff(name, _sorted(name, old[name][COLUMNS[name]]), merged[name], incoming)
        if report_tables[name].kept_final:
            warnings.append(
                f"{name}: {report_tables[name].kept_final} final row(s) kept; preliminary figures never replace final ones"
            )

    data_changed = any(not _frames_equal(merged[n][COLUMNS[n]], _sorted(n, old[n][COLUMNS[n]])) for n in TABLES)
    known = {s.get("sha256") for s in old_sources}
    new_records = [r for r in results if r.provenance["sha256"] not in known]
    file_records = [dict(r.provenance, rows=r.rows()) for r in results]
    if not data_changed and not new_records and store_dir.is_dir():
        return ImportReport(store_dir, file_records, report_tables, changed=False, warnings=warnings)

    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    by_sha = {s.get("sha256"): s for s in old_sources}
    sources = list(old_sources)
    for rec in file_records:
        rec = dict(rec, imported_at=now)
        if rec["sha256"] in by_sha:
            sources[sources.index(by_sha[rec["sha256"]])] = rec
        else:
            sources.append(rec)
        by_sha[rec["sha256"]] = rec
    _write_store(store_dir, merged, sources)
    return ImportReport(store_dir, [dict(r, imported_at=now) for r in file_records], report_tables, True, warnings)


def _write_store(store_dir: Path, tables: dict[str, pd.DataFrame], sources: list[dict]) -> None:
    """Write every file into a temporary folder next to the store, then move them in (sources.json last)."""
    parent = store_dir.parent if str(store_dir.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{store_dir.name}.import-", dir=parent))
    try:
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
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
