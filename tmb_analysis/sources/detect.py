"""Which format a file is, from its content (an ordered registry of sniffers), and reading any supported file.

papermill's ``iorw`` in spirit: :data:`SNIFFERS` is an ordered list of ``(format id, test)`` pairs tried
first to last on the head of a file (a ZIP container is opened as a workbook instead), and :data:`READERS`
maps each :data:`~tmb_analysis.sources.FORMATS` id to its reader. The order matters where two tests
could both match (BRÅ's per-kommun CSV without a header is only recognised after every format with one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..bra_workbook import is_lagesbild_sheet
from ..config import SAMPLE_MANIFEST as MANIFEST_NAME
from ..config import SAMPLE_NOTE, SIDECAR_SUFFIX
from ._common import (
    BRA_LONG_COLUMNS,
    KNOWN_UNSUPPORTED,
    SourceTables,
    _fail,
    _norm_header,
    _norm_text,
    _open_workbook,
    _read_bytes,
    supported_text,
)
from .bra_csv import _is_bra_kommun_line, read_bra_kommun_1996_2015, read_bra_kommun_csv
from .bra_databasfil import read_bra_databasfil
from .bra_long import read_bra_long
from .bra_table import read_bra_table
from .bra_xlsx import read_bra_xlsx
from .kolada import read_kolada, read_kolada_groups
from .scb import _scb_csv_header, read_scb_csv, read_scb_pxweb_json


def _sniff(data: bytes) -> str:
    head = data[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else head.decode("latin-1")
    return text.lstrip("\ufeff \t\r\n")


@dataclass
class Head:
    """The start of a file as the sniffers see it: its name and its first 64 KiB as text."""

    path: Path
    text: str

    @property
    def is_json(self) -> bool:
        return self.text.startswith(("{", "["))

    @cached_property
    def compact(self) -> str:
        """The JSON text without white space (first 20 000 characters)."""
        return re.sub(r"\s+", "", self.text[:20000])

    @cached_property
    def lines(self) -> list[str]:
        return [ln for ln in self.text.splitlines() if ln.strip()]

    @property
    def first(self) -> str:
        return self.lines[0] if self.lines else ""

    @property
    def low(self) -> str:
        return self.first.casefold().lstrip('"')

    @property
    def second(self) -> str:
        return self.lines[1].casefold().lstrip('\ufeff"') if len(self.lines) > 1 else ""

    @cached_property
    def header(self) -> list[str]:
        return [_norm_header(c) for c in re.split(r"[,;\t]", self.first)]


def _bra_long_header(h: Head) -> bool:
    names = set(BRA_LONG_COLUMNS)
    return any(len({_norm_header(c) for c in h.first.split(sep)} & names) >= 3 for sep in (",", ";", "\t", "|"))


def _databasfil_header(h: Head) -> bool:
    low = h.low
    return (
        low.startswith("region;brott;")
        or low.startswith('region";"brott"')
        or (low.startswith("region;") and ("period" in low or "100 000" in low))
        or h.path.name.casefold().startswith("databasfil")
    )


#: JSON files: (format id, test), tried in this order.
JSON_SNIFFERS: tuple[tuple[str, Callable[[Head], bool]], ...] = (
    (
        "tmb_sample_manifest",
        lambda h: h.path.name == MANIFEST_NAME or ('"files":' in h.compact and SAMPLE_NOTE in h.text),
    ),
    (
        "tmb_provenance",
        lambda h: (
            h.path.name.endswith(SIDECAR_SUFFIX) or ('"fetched_with":' in h.compact and '"retrieved_at":' in h.compact)
        ),
    ),
    ("geojson", lambda h: '"type":"FeatureCollection"' in h.compact),
    (
        "scb_jsonstat2",
        lambda h: (
            bool(re.search(r'"class":"dataset"', h.compact))
            or ('"version":"2.0"' in h.compact and '"dimension":' in h.compact)
        ),
    ),
    ("scb_pxweb_v1", lambda h: '"columns":' in h.compact and '"data":' in h.compact),
    ("kolada_groups", lambda h: '"members":' in h.compact),
    ("kolada_v3", lambda h: '"kpi":' in h.compact or ('"values":' in h.compact and '"next_url"' in h.compact)),
    (
        "polisen_events",
        lambda h: h.compact.startswith("[") and '"datetime":' in h.compact and '"location":' in h.compact,
    ),
)
#: Text files: (format id, test), tried in this order (a format may appear twice: a header first, bare lines last).
TEXT_SNIFFERS: tuple[tuple[str, Callable[[Head], bool]], ...] = (
    ("bra_long", _bra_long_header),
    ("bra_databasfil", _databasfil_header),
    ("bra_kommun_csv", lambda h: bool(re.match(r'kommun"?\s*[;,\t]', h.low)) and not _scb_csv_header(h.header)),
    (
        "bra_kommun_1996_2015",
        lambda h: h.low.startswith('region";') and bool(re.search(r'"totalt (19|20)\d\d"', h.first, re.IGNORECASE)),
    ),
    (
        "bra_table",
        lambda h: (
            h.low.startswith("lagrum;brottstyp")
            or h.second.startswith("lagrum;brottstyp")
            or h.second.startswith('lagrum";"brottstyp')
        ),
    ),
    ("kolada_groups_csv", lambda h: {"group_id", "member_id"} <= set(h.header)),
    ("scb_csv", lambda h: _scb_csv_header(h.header)),
    ("bra_kommun_csv", lambda h: _is_bra_kommun_line(h.first)),
)

#: Format id -> reader ``(path, year)``; ``year`` is used where a file carries none in its content.
READERS: dict[str, Callable[[Path, int | None], SourceTables]] = {
    "bra_long": lambda p, year: read_bra_long(p),
    "bra_xlsx": lambda p, year: read_bra_xlsx(p),
    "bra_kommun_csv": lambda p, year: read_bra_kommun_csv(p, year=year),
    "bra_databasfil": lambda p, year: read_bra_databasfil(p),
    "bra_table": lambda p, year: read_bra_table(p),
    "bra_table_xlsx": lambda p, year: read_bra_table(p),
    "bra_kommun_1996_2015": lambda p, year: read_bra_kommun_1996_2015(p),
    "scb_pxweb_v1": lambda p, year: read_scb_pxweb_json(p),
    "scb_jsonstat2": lambda p, year: read_scb_pxweb_json(p),
    "scb_csv": lambda p, year: read_scb_csv(p, year=year),
    "kolada_v3": lambda p, year: read_kolada(p),
    "kolada_groups": lambda p, year: read_kolada_groups(p),
    "kolada_groups_csv": lambda p, year: read_kolada_groups(p),
}


def _detect_xlsx(path: Path) -> str:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any failure to open: read_source reports why (_open_workbook)
        return "xlsx_damaged"
    try:
        lagesbild = False
        for ws in wb.worksheets:
            for row in ws.iter_rows(min_row=1, max_row=6, max_col=8, values_only=True):
                cells = [_norm_text(c) for c in row if c is not None]
                if len(cells) >= 2 and cells[0] == "lagrum" and cells[1] == "brottstyp":
                    return "bra_table_xlsx"
            first = next(ws.iter_rows(min_row=1, max_row=1, max_col=1, values_only=True), (None,))[0]
            if is_lagesbild_sheet(ws.title, str(first or "")):
                lagesbild = True
        return "bra_xlsx" if lagesbild else "xlsx_other"
    finally:
        wb.close()


def detect_format(path: str | Path) -> str:
    """The format id of a file, from its content: a :data:`FORMATS` or :data:`KNOWN_UNSUPPORTED` id,
    or ``'unknown'``."""
    path = Path(path)
    data = _read_bytes(path)
    if data[:4] == b"PK\x03\x04":
        return _detect_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm", "") else "unknown"
    head = Head(path, _sniff(data))
    for fmt, test in JSON_SNIFFERS if head.is_json else TEXT_SNIFFERS:
        if test(head):
            return fmt
    return "unknown"


def read_source(path: str | Path, year: int | None = None) -> SourceTables:
    """Read any supported source file (the format is detected from the content).

    ``year`` is used by the formats whose files carry no year in their content (BRÅ's yearly
    per-kommun CSV, an SCB CSV without a year column) when the file name has none either.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt in READERS:
        return READERS[fmt](path, year)
    if fmt == "xlsx_damaged":
        _open_workbook(path, _read_bytes(path))  # raises with the reason
    if fmt == "xlsx_other":
        raise _fail(
            path,
            "a workbook, but neither BRÅ's lägesbild workbook (sheets '… (anmälda)' and NTU sheets) nor a "
            "BRÅ table with the columns Lagrum, Brottstyp, Antal …; save other tables as CSV in a supported "
            "format",
        )
    if fmt in KNOWN_UNSUPPORTED:
        raise _fail(
            path, f"recognised as {KNOWN_UNSUPPORTED[fmt]}, which has no reader; supported formats: {supported_text()}"
        )
    raise _fail(path, f"unrecognised file format; supported formats: {supported_text()}")
