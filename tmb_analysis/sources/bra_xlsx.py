"""BRÅ's per-kommun lägesbild workbook (``bra_xlsx``), read through the long form's rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bra_workbook import WorkbookError, read_workbook
from ._common import (
    SourceTables,
    _fail,
    _listing,
    _open_workbook,
    _read_bytes,
)
from .bra_long import _bra_long_tables


def read_bra_xlsx(path: str | Path) -> SourceTables:
    """Read BRÅ's per-kommun lägesbild workbook in any of its editions (the layouts, and the evidence for
    them, are in :mod:`tmb_analysis.bra_workbook`).

    Every sheet is turned into long-form rows and read with the same rules as the long form: names
    through the geography registry, indicators through the catalogue, ``..`` = no value, respondents
    of the NTU year that measured each value, pooled two-year periods kept as periods. Sheets without
    indicator data (a table of contents, notes) and footnote rows are skipped and listed.
    """
    path = Path(path)
    data = _read_bytes(path)
    wb = _open_workbook(path, data)
    try:
        got = read_workbook(wb)
    except WorkbookError as exc:
        raise _fail(path, str(exc)) from None
    finally:
        wb.close()
    if not got.locs:
        raise _fail(
            path, "no indicator sheets found; expected BRÅ's lägesbild workbook with '(anmälda)' sheets and NTU sheets"
        )
    col = {k: np.asarray(v, dtype=object) for k, v in got.columns.items()}
    notes = []
    edition = got.edition
    if edition is not None:
        notes.append(
            f"workbook edition: {edition.label} (NTU sheets laid out as "
            f"{'one column per period' if edition.ntu_layout == 'periods' else 'geography blocks, one row per year'})"
        )
    elif len(got.editions) > 1:
        notes.append(
            f"the NTU sheets follow different editions ({', '.join(sorted(got.editions))}); each was read by its layout"
        )
    if got.skipped:
        notes.append(f"sheets without indicator data skipped: {_listing(got.skipped)}")
    if got.footnotes:
        notes.append(f"{len(got.footnotes)} footnote row(s) skipped ({_listing(got.footnotes)})")
    if got.dashes:
        notes.append(f"{got.dashes} cell(s) with BRÅ's dash marker: zero in crime sheets, no value in NTU sheets")
    return _bra_long_tables(
        path,
        data,
        col,
        np.asarray(got.locs, dtype=object),
        "bra_xlsx",
        notes,
        not_imported=[f"sheet {s}" for s in got.skipped] or None,
        edition=edition.label if edition else None,
    )
