"""Checks across the files of a store: example data never beside real data, and published län and riket
counts against the sums of their kommuner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..geography import RIKET_CODE, registry
from ..sources import SourceTables
from ..validation import DataValidationError


class MixedStoreError(DataValidationError):
    """Example data and real files would end up in the same store."""


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
