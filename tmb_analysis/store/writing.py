"""Writing the store: every file into a scratch folder next to it, then moved in place (``sources.json`` last)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .. import interrupts
from ..validation import COLUMNS, TABLES
from ._common import SOURCES_FILE


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False, engine="pyarrow", compression="zstd")


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
