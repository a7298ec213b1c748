"""BRÅ's per-kommun workbook "Indikatorer för kommuners lägesbild": every known layout, in one place.

BRÅ publishes one ``.xlsx`` per kommun (https://bra.se/statistik/indikatorer-for-kommuners-lagesbild),
one sheet per indicator, for the kommun, its län and ``Hela landet``. No original workbook could be
downloaded for this project; the layouts below are reconstructed from public code that reads the real
files and tracks BRÅ's changes, and checked against the parsed content of the real Dalarna files
(``../shared/data/real/PROVENANCE.md`` §5 and §16):

* ``Analytikernatverket/hamta_data_playwright``, ``bra_kommunindikatorer.R``: commit ``9c315aa``
  (2025-10-16) reads the April 2025 edition, ``b010c8c`` (2025-12-18, "BRÅ har ändrat strukturen i
  NTU-data") the December 2025 edition, ``58c9a31`` (2026-04-11, "BRÅ har ändrat i datasetet") the
  April 2026 edition;
* ``Region-Dalarna/brott`` (the long form of PROVENANCE §5, built from the December 2025 edition on
  2026-01-21; ``5de3b90``, 2026-04-13, "lite förändrad struktur" for April 2026), whose notes say
  "2025 års NTU visar 2024 års anmälda brott och självrapporterade utsatthet";
* a public R reader of Region Uppsala's analysts (``create_save_plots.R``, functions ``NTU`` and
  ``NTU_all_regions``, and its documentation) for the April 2025 edition: NTU sheets named
  ``Misshandel-NTU``, ``Kort_kreditbedrägeri-NTU`` …, read with ``skip = 1`` (row 1 title, row 2
  header), two-year periods ``2017/2018`` as column labels, and the sheets' titles, e.g.
  "Självrapporterad utsatthet för kort-/kreditbedrägeri 2016–2023, enligt NTU 2017–2024. Andel (%)
  utsatta i befolkningen (16–84 år)."

What every edition shares
    Sheets whose name contains ``(anmälda)`` (or whose A1 title contains ``(anmälda brott)``) hold
    reported crime: A1 ``<Indikator> (anmälda brott) i kommunen, länet …``; row 2 the header, A2
    empty, then ``Antal 2017 … Antal 2024`` and ``Antal per 100 000 inv 2017 …`` (``<enhet> <år>``);
    rows 3… one geography each (the kommun, its län, ``Hela landet``). The other sheets hold NTU,
    with A1 ``<Indikator> [<år>–<år>], enligt NTU <år>–<år>. <enhet>``: the first range, when present,
    is the *reference* years (self-reported victimisation is labelled by the year it happened and
    measured in the next NTU), the second the survey years. ``..`` means no value (too few answers).
    A text row without values under a table (``Källa: Brå``, ``Anm.: …``) is a footnote.

April 2025 (:data:`APRIL_2025`, NTU 2017–2024)
    NTU sheets laid out like the crime sheets: row 2 header with one column per *pooled two-year
    period* (``2017/2018`` …, optionally after the unit), rows 3… the geographies, one share per
    cell, no intervals. Older titles (``kort-/kreditbedrägeri``, ``… påverkade av alkohol eller
    droger utomhus …``) and an indicator dropped later (``Oro för att utsättas för rån``).
December 2025 (:data:`DECEMBER_2025`, NTU 2017–2025)
    NTU sheets with one row per year (column A; the reference year for victimisation): above the
    header a row of geography names, each heading a block of columns ``Andel (%)`` (``Antal`` on the
    sheet ``Antal svarande i NTU.``), ``KI (95 %) undre gräns``, ``KI (95 %) övre gräns``; the name
    stands over the first column of its block only.
April 2026 (:data:`APRIL_2026`)
    As December 2025, but the geography name is repeated over every column of its block, and the
    title's unit text starts on a new line after ``enligt NTU <år>–<år>.`` (without a final full stop).

Markers: ``..`` and ``.`` are no value; ``-`` (or ``–``) is zero on a crime sheet (BRÅ's tables:
"Streck (–) innebär att värdet är noll") and no value on an NTU sheet. Nothing here knows about the
store: :func:`read_workbook` turns the sheets into the long form's columns (``geografi, enhet, ar,
variabel, varde, kalla``), which :mod:`tmb_analysis.sources` reads with the long form's rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .catalogue import catalogue
from .geography import registry

KALLA_CRIME = "Anmälda brott"
KALLA_NTU = "Nationella trygghetsundersökningen (NTU)"
CI_LOW = "KI (95 %) undre gräns"
CI_HIGH = "KI (95 %) övre gräns"


@dataclass(frozen=True)
class Edition:
    id: str
    label: str  # Swedish, for the import report and the provenance record
    ntu_layout: str  # 'periods' (one column per pooled period) | 'blocks' (geography blocks, one row per year)
    evidence: str


APRIL_2025 = Edition(
    "2025-04",
    "april 2025",
    "periods",
    "hamta_data_playwright bra_kommunindikatorer.R @9c315aa; Region Uppsala create_save_plots.R",
)
DECEMBER_2025 = Edition(
    "2025-12",
    "december 2025",
    "blocks",
    "hamta_data_playwright bra_kommunindikatorer.R @b010c8c; Region-Dalarna/brott (PROVENANCE §5)",
)
APRIL_2026 = Edition(
    "2026-04",
    "april 2026",
    "blocks",
    "hamta_data_playwright bra_kommunindikatorer.R @58c9a31; Region-Dalarna/brott @5de3b90",
)
EDITIONS = (APRIL_2025, DECEMBER_2025, APRIL_2026)

_RANGE = r"((?:19|20)\d\d)\s*[-–—]\s*((?:19|20)\d\d)"
_YEAR_RANGE = re.compile(r"\s*\d{4}\s*[-–—]\s*\d{4}")
_LABEL = re.compile(r"^(?:(.*\S)\s+)?((?:19|20)\d\d(?:\s*[/–—-]\s*(?:19|20)\d\d)?)$", re.DOTALL)
_NO_VALUE = {"", "..", ".", "…"}
_DASHES = {"-", "–", "—", "\u2212"}


class WorkbookError(ValueError):
    """A sheet that breaks its layout; the message names the sheet and cell (the caller adds the file)."""


@dataclass
class WorkbookRows:
    """The sheets as long-form columns, with a cell reference per value."""

    columns: dict[str, list] = field(
        default_factory=lambda: {c: [] for c in ("geografi", "enhet", "ar", "variabel", "varde", "kalla")}
    )
    locs: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # sheets without indicator data
    footnotes: list[str] = field(default_factory=list)  # cell references of footnote rows
    dashes: int = 0
    editions: set[str] = field(default_factory=set)  # Edition.id of every NTU sheet read

    def add(self, geo, enhet, ar, var, value, kalla, loc) -> None:
        c = self.columns
        c["geografi"].append(str(geo).strip())
        c["enhet"].append(enhet)
        c["ar"].append(str(ar))
        c["variabel"].append(var)
        c["varde"].append(value)
        c["kalla"].append(kalla)
        self.locs.append(loc)

    @property
    def edition(self) -> Edition | None:
        """The edition of the workbook: the one its NTU sheets agree on (None when they disagree or
        there is no NTU sheet)."""
        if len(self.editions) != 1:
            return None
        return next(e for e in EDITIONS if e.id in self.editions)


# ---- cells -------------------------------------------------------------------------------


def cell_ref(sheet: str, r: int, c: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"'{sheet}'!{get_column_letter(c + 1)}{r + 1}"


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def sheet_rows(ws) -> list[list]:
    """The values of a sheet, trailing empty cells and rows removed."""
    rows = []
    for row in ws.iter_rows(values_only=True):
        row = list(row)
        while row and _blank(row[-1]):
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _number_text(v) -> str | None:
    """A cell as the long form writes a value ('5043.0'), '' for BRÅ's no-value markers, None for a dash."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return repr(float(v))
    text = " ".join(str(v).split())
    if text in _NO_VALUE:
        return ""
    if text in _DASHES:
        return None
    compact = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".").replace("\u2212", "-")
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", compact):
        return repr(float(compact))
    return text  # not a number: the long form's rules report it with its cell


def year_label(v) -> tuple[int, int] | None:
    """(first, last) year of a year or pooled-period label: 2024 -> (2024, 2024); 'Andel (%) 2017/2018'
    -> (2017, 2018); None when the label does not end in one."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and 1990 <= v <= 2100:
        return int(v), int(v)
    if not isinstance(v, str):
        return None
    m = _LABEL.match(" ".join(v.split()))
    if not m:
        return None
    years = [int(y) for y in re.findall(r"(?:19|20)\d\d", m.group(2))]
    return years[0], years[-1]


def _period_text(first: int, last: int) -> str:
    return str(last) if first == last else f"{first}/{last}"


# ---- titles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NtuTitle:
    name: str
    unit: str
    reference: tuple[int, int] | None  # the indicator's own year range (reference years), when given
    survey: tuple[int, int] | None  # 'enligt NTU <år>–<år>'
    multiline: bool


def ntu_title(title: str) -> NtuTitle:
    """'<Indikator> [<år>–<år>], enligt NTU <år>–<år>. <enhet>' in any edition's spelling."""
    multiline = "\n" in title.strip()
    t = " ".join(title.split())
    head, _, _ = t.partition(", enligt NTU")
    if head == t:
        head = re.split(r",?\s*enligt NTU", t, maxsplit=1)[0]
    ref = re.search(_RANGE + r"\s*,?\s*$", head)
    name = _YEAR_RANGE.sub("", head).strip().rstrip(",").strip()
    survey = re.search(r"NTU\s*" + _RANGE + r"\.?", t)
    unit = t[survey.end() :].strip() if survey else ""
    return NtuTitle(
        name=name,
        unit=unit,
        reference=(int(ref.group(1)), int(ref.group(2))) if ref else None,
        survey=(int(survey.group(1)), int(survey.group(2))) if survey else None,
        multiline=multiline,
    )


def crime_title(title: str) -> str:
    t = " ".join(title.split())
    t = re.sub(r"\s+i kommunen, länet.*$", "", t)
    t = t.replace("(anmälda brott)", "")
    t = _YEAR_RANGE.sub("", t)
    return " ".join(t.split()).strip().rstrip(",").strip()


def is_crime_sheet(sheet: str, title: str) -> bool:
    return "(anmälda)" in sheet.casefold() or "(anmälda brott)" in title.casefold()


def is_lagesbild_sheet(sheet: str, title: str) -> bool:
    """True for a sheet of BRÅ's lägesbild workbook (used to tell the format from a file's content)."""
    return is_crime_sheet(sheet, title) or "enligt NTU" in title


def _is_area(name) -> bool:
    return isinstance(name, str) and registry().try_lookup(" ".join(name.split())) is not None


# ---- reading -----------------------------------------------------------------------------


def read_workbook(wb) -> WorkbookRows:
    """Every indicator sheet of an opened workbook as long-form rows (see the module docstring).

    Raises :class:`WorkbookError` naming the sheet and cell when a sheet breaks its layout.
    """
    out = WorkbookRows()
    for ws in wb.worksheets:
        rows = sheet_rows(ws)
        title = rows[0][0] if rows and rows[0] else None
        if not isinstance(title, str) or not title.strip() or len(rows) < 3:
            out.skipped.append(ws.title)
            continue
        if is_crime_sheet(ws.title, title):
            _crime_sheet(out, ws.title, title, rows)
        else:
            _ntu_sheet(out, ws.title, title, rows)
    return out


def _value(out: WorkbookRows, v, crime: bool) -> str:
    text = _number_text(v)
    if text is None:  # a dash: zero in crime tables, no value in NTU tables
        out.dashes += 1
        return "0.0" if crime else ""
    return text


def _footnote_or_fail(out: WorkbookRows, sheet: str, rows: list[list], r: int, what: str) -> None:
    """A row whose column A is text that names no area and whose other cells are empty is a footnote;
    a row with values but no recognisable first cell breaks the layout."""
    row = rows[r]
    rest = [v for v in row[1:] if not _blank(v)]
    if not rest:
        if row and not _blank(row[0]):
            out.footnotes.append(cell_ref(sheet, r, 0))
        return
    first = row[0] if row else None
    if _blank(first):
        raise WorkbookError(f"sheet {sheet!r}, row {r + 1} has values but no {what} in column A")
    raise WorkbookError(f"sheet {sheet!r}, cell {cell_ref(sheet, r, 0)} is {first!r}; expected {what}")


def _crime_sheet(out: WorkbookRows, sheet: str, title: str, rows: list[list]) -> None:
    var = crime_title(title)
    spec = {}
    for j, label in enumerate(rows[1][1:], start=1):
        if _blank(label):
            continue
        m = re.fullmatch(r"(.*\S)\s+((?:19|20)\d\d)", " ".join(str(label).split()))
        if not m:
            raise WorkbookError(
                f"sheet {sheet!r}, header cell {cell_ref(sheet, 1, j)} is {label!r}; "
                "expected '<enhet> <year>' such as 'Antal 2024' or 'Antal per 100 000 inv 2024'"
            )
        spec[j] = (m.group(1), int(m.group(2)))
    for r in range(2, len(rows)):
        row = rows[r]
        if not row or not _is_area(row[0]):
            if row and not _blank(row[0]) and any(not _blank(v) for v in row[1:]):
                geo = row[0]  # values under an unknown name: the long form's rules name it with its cell
            else:
                _footnote_or_fail(out, sheet, rows, r, "a geography (the kommun, its län or 'Hela landet')")
                continue
        else:
            geo = row[0]
        for j, (enhet, year) in spec.items():
            out.add(
                geo,
                enhet,
                year,
                var,
                _value(out, row[j] if j < len(row) else None, True),
                KALLA_CRIME,
                cell_ref(sheet, r, j),
            )


def _reference_shift(sheet: str, title: NtuTitle, var: str, firsts: list[int]) -> int:
    """How many years to subtract from the sheet's year labels to get the indicator's own year.

    Victimisation is labelled by reference year; a sheet whose labels start at the title's survey
    range instead (and not at its reference range) is labelled by NTU year. The offset in the title
    must agree with the catalogue's."""
    cat = catalogue()
    try:
        ind = cat.from_bra_name(var)
    except KeyError:
        return 0
    if title.reference and title.survey:
        stated = title.survey[0] - title.reference[0]
        if stated != ind.ntu_year_offset:
            raise WorkbookError(
                f"sheet {sheet!r}: the title gives years {title.reference[0]}–{title.reference[1]} 'enligt NTU "
                f"{title.survey[0]}–{title.survey[1]}', an offset of {stated} year(s); the catalogue expects "
                f"{ind.ntu_year_offset} for {ind.id} (ntu_reference_year in indicators.yaml)"
            )
        if firsts and ind.ntu_year_offset and min(firsts) == title.survey[0] != title.reference[0]:
            return ind.ntu_year_offset
    return 0


def _ntu_sheet(out: WorkbookRows, sheet: str, title_text: str, rows: list[list]) -> None:
    title = ntu_title(title_text)
    var = title.name
    respondents = catalogue().is_respondent_count(var)
    r0 = next((r for r in range(1, len(rows)) if rows[r] and year_label(rows[r][0]) is not None), None)
    if r0 is not None and r0 >= 2:
        _ntu_blocks(out, sheet, title, rows, r0, respondents)
    else:
        _ntu_periods(out, sheet, title, rows, respondents)


def _ntu_blocks(out: WorkbookRows, sheet: str, title: NtuTitle, rows: list[list], r0: int, respondents: bool) -> None:
    """December 2025 and April 2026: geography blocks over the columns, one row per year."""
    header = rows[r0 - 1]
    geo_i = next((r for r in range(r0 - 2, 0, -1) if any(not _blank(v) for v in rows[r][1:])), None)
    if geo_i is None:
        raise WorkbookError(
            f"sheet {sheet!r}: no row of geography names above the header (row {r0}); "
            "expected the kommun, its län and 'Hela landet' heading blocks of columns"
        )
    geo_row = rows[geo_i]
    width = max(len(header), len(geo_row))
    geo_of, current, repeated, spread = {}, None, False, False
    for j in range(1, width):
        name = geo_row[j] if j < len(geo_row) else None
        if not _blank(name):
            name = " ".join(str(name).split())
            repeated = repeated or name == current
            current = name
        elif current is not None:
            spread = True  # a name over the first column of its block only
        if current is not None:
            geo_of[j] = current
    if repeated or title.multiline:
        out.editions.add(APRIL_2026.id)
    elif spread:
        out.editions.add(DECEMBER_2025.id)
    # else one column per block (the respondents sheet): the same in both editions
    years = [year_label(rows[r][0]) for r in range(r0, len(rows)) if rows[r] and year_label(rows[r][0])]
    shift = 0 if respondents else _reference_shift(sheet, title, title.name, [y[0] for y in years])
    for r in range(r0, len(rows)):
        row = rows[r]
        label = year_label(row[0]) if row else None
        if label is None:
            _footnote_or_fail(out, sheet, rows, r, "a year such as 2024")
            continue
        ar = _period_text(label[0] - shift, label[1] - shift)
        for j, geo in geo_of.items():
            unit = header[j] if j < len(header) else None
            if _blank(unit):
                continue
            unit = " ".join(str(unit).split())
            enhet = unit if unit.startswith("KI") or respondents else (title.unit or unit)
            out.add(
                geo,
                enhet,
                ar,
                title.name,
                _value(out, row[j] if j < len(row) else None, False),
                KALLA_NTU,
                cell_ref(sheet, r, j),
            )


def _ntu_periods(out: WorkbookRows, sheet: str, title: NtuTitle, rows: list[list], respondents: bool) -> None:
    """April 2025: one column per (pooled) period, one row per geography, no intervals."""
    spec = {}
    for j, label in enumerate(rows[1][1:], start=1):
        if _blank(label):
            continue
        years = year_label(label)
        if years is None:
            out.skipped.append(sheet)  # not an indicator table (a table of contents, notes)
            return
        spec[j] = years
    if not spec:
        out.skipped.append(sheet)
        return
    out.editions.add(APRIL_2025.id)
    shift = 0 if respondents else _reference_shift(sheet, title, title.name, [y[0] for y in spec.values()])
    unit = title.unit or "Andel (%)"
    for r in range(2, len(rows)):
        row = rows[r]
        if not row or not _is_area(row[0]):
            if row and not _blank(row[0]) and any(not _blank(v) for v in row[1:]):
                pass  # values under an unknown name: the long form's rules name it with its cell
            else:
                _footnote_or_fail(out, sheet, rows, r, "a geography (the kommun, its län or 'Hela landet')")
                continue
        for j, (first, last) in spec.items():
            ref = cell_ref(sheet, r, j)
            ar = _period_text(first - shift, last - shift)
            value = _value(out, row[j] if j < len(row) else None, False)
            out.add(row[0], "" if respondents else unit, ar, title.name, value, KALLA_NTU, ref)
            if not respondents:  # no intervals in this layout: missing
                out.add(row[0], CI_LOW, ar, title.name, "", KALLA_NTU, ref)
                out.add(row[0], CI_HIGH, ar, title.name, "", KALLA_NTU, ref)
