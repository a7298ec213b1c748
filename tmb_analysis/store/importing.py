"""Importing source files into the store: read and validate every file, merge, check, write; all-or-nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..config import DEFAULT_STORE
from ..sources import MANIFEST_NAME, SIDECAR_SUFFIX, SourceTables, read_source
from ..validation import COLUMNS, KEYS, TABLES, DataValidationError, empty_table, to_canonical, validate
from ._common import _sorted
from .checks import _refuse_mixing, benchmark_conflicts
from .merging import TableChange, _combine, _conflicts, _diff, _keep_unchanged, _vintages, vintage_key
from .reading import _read_sources, _read_table
from .writing import _write_store

_SKIP_NAMES = {MANIFEST_NAME}


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
