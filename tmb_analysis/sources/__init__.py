"""Readers: one per real source file format, each returning the canonical tables.

One module per format family (``bra_long``, ``bra_xlsx``, ``bra_csv``, ``bra_databasfil``, ``bra_table``,
``scb``, ``kolada``), what they share in ``_common``, and :mod:`~tmb_analysis.sources.detect`, the ordered
registry that tells the formats apart and hands a file to its reader (:func:`read_source`).

Supported formats (:func:`detect_format` looks at the content, not at the extension); the
real layouts are described in ``../shared/CONTEXT.md`` §4 and ``data/real/PROVENANCE.md``:

``bra_long``
    BRÅ "Indikatorer för kommuners lägesbild" in long form, as Region Dalarna publishes it:
    UTF-8 CSV, ``,``, columns ``geografi, enhet, ar, variabel, varde, kalla``. Reported crime has
    ``enhet`` ``Antal`` and ``Antal per 100 000 inv``; an NTU indicator has a share row (``enhet`` =
    the unit text), ``KI (95 %) undre gräns`` and ``KI (95 %) övre gräns`` rows, and the respondent
    count ``Antal svarande i NTU.`` (``enhet`` empty) per area and NTU year. Self-reported
    victimisation is labelled by reference year Y and gets the respondents of NTU Y+1 (catalogue
    ``ntu_reference_year``); ``ar`` may be a pooled two-year period ``2017/2018`` (survey ``period``).
``bra_xlsx``
    The same indicators as BRÅ's per-kommun workbook (PROVENANCE §16), in its April 2025, December
    2025 and April 2026 editions: one sheet per indicator; ``(anmälda)`` sheets hold reported crime,
    the others NTU. Every layout, with the evidence for it, is described in :mod:`tmb_analysis.bra_workbook`.
``bra_kommun_csv``
    BRÅ's yearly per-kommun totals (``Kommun;Antal;Per 100 000 inv.``): UTF-8 with BOM, ``;``, CRLF,
    with or without the header, names with or without ``kommun`` (genitive forms, en dashes), city
    districts (skipped and listed), spaces as thousands separators. National: all 290 kommuner,
    once each. The year comes from the file name or from ``year=`` (``tmb import --year``).
``bra_databasfil``
    BRÅ's statistics database export ``Databasfil.txt``: ISO-8859-1, ``;``, header
    ``Region;Brott;År;Period;Antal;/100 000 inv``, rows ending in ``;``; ``..`` = not available
    (never zero); ``2026 prel.`` = preliminary. Crime types map to catalogue indicators through their
    ``sol_names`` (``config/indicators.yaml``); the others are listed as not imported.
``bra_table`` / ``bra_table_xlsx``
    BRÅ's Excel-derived tables such as P1M (``Lagrum;Brottstyp;Antal …;Förändring …;… per 100 000
    invånare``), as CSV (title line, then header; ``1478 879 ``, ``-21 760 ``, ``- `` = zero, ``. `` =
    not applicable) or as BRÅ's workbook. National (area ``00``); only crime types with a
    ``sol_names`` match are imported, the rest are listed.
``bra_kommun_1996_2015``
    Reported crime per kommun 1996–2015 (``"Region";"Våldsbrott 2015";…;"Totalt 1990"``, region
    ``"<code> <name>"``). **Assumption** (PROVENANCE §1): the values are per 10 000 inhabitants, so
    ``Totalt`` is imported as ``totalt`` with ``rate_per_100k`` = value × 10 and no count. Joined on
    the four-digit code through :mod:`tmb_analysis.crosswalk`, never on the (damaged) names.
``scb_pxweb_v1`` / ``scb_jsonstat2`` / ``scb_csv``
    SCB population: PxWeb API v1 JSON (``columns`` + ``data``), json-stat2, or CSV (a code or
    ``"<code> <name>"`` region column with a population column, or one column per year).
``kolada_v3``
    Kolada API v3 data (``{"values": [{"kpi", "municipality", "period", "values": [{"gender",
    "count", "status", "value"}]}], "next_url"}``). Gender ``T`` only; ``-``, ``.``, ``..`` = missing.
    KPIs map to catalogue indicators where they measure the same thing (:data:`KOLADA_KPIS`).
``kolada_groups`` / ``kolada_groups_csv``
    Kolada municipality groups (``/v3/municipality_groups``: ``{"values": [{"id", "title",
    "members": [{"id", "title"}]}]}``, or the flattened CSV ``group_id,group_title,member_id,
    member_title``) into the ``groups`` table: SKR's kommungrupper and "Liknande kommuner" peers.

Every reader returns a :class:`SourceTables` whose tables are canonical and validated
(:mod:`tmb_analysis.validation`), each row stamped with the file's sha256 (``source_sha256``),
plus a provenance record (file, sha256, publisher, vintage, status, publication or download
date) and notes (what was skipped or not imported, and why). Problems raise
:class:`~tmb_analysis.validation.DataValidationError` with one message naming the file and the
line, cell or field.

A file is marked ``synthetic`` when a sibling ``exempeldata.json`` (written by
:mod:`tmb_analysis.sample`) lists its sha256. A file downloaded by ``tmb fetch`` has a sidecar
``<name>.provenance.json`` (URL, download time, sha256) whose facts join the provenance record.
"""

from __future__ import annotations

from ..config import SAMPLE_MANIFEST as MANIFEST_NAME
from ..config import SIDECAR_SUFFIX
from ._common import (
    BRA_SOURCE,
    CITY_DISTRICTS,
    FORMATS,
    KNOWN_UNSUPPORTED,
    N_KOMMUNER,
    PUBLISHER_BRA,
    PUBLISHER_KOLADA,
    PUBLISHER_SCB,
    SourceTables,
    credit,
    parse_year_or_period,
    sha256_of,
    sidecar_path,
    sol_names,
)
from .bra_csv import SERIES_ASSUMPTION, read_bra_kommun_1996_2015, read_bra_kommun_csv
from .bra_databasfil import read_bra_databasfil
from .bra_long import read_bra_long
from .bra_table import read_bra_table
from .bra_xlsx import read_bra_xlsx
from .detect import detect_format, read_source
from .kolada import KOLADA_KPIS, SKR_GROUPS, group_kind, group_subject, read_kolada, read_kolada_groups, skr_group_code
from .scb import read_scb_csv, read_scb_pxweb_json

__all__ = [
    "BRA_SOURCE",
    "CITY_DISTRICTS",
    "FORMATS",
    "KNOWN_UNSUPPORTED",
    "KOLADA_KPIS",
    "MANIFEST_NAME",
    "N_KOMMUNER",
    "PUBLISHER_BRA",
    "PUBLISHER_KOLADA",
    "PUBLISHER_SCB",
    "SERIES_ASSUMPTION",
    "SIDECAR_SUFFIX",
    "SKR_GROUPS",
    "SourceTables",
    "credit",
    "detect_format",
    "group_kind",
    "group_subject",
    "parse_year_or_period",
    "read_bra_databasfil",
    "read_bra_kommun_1996_2015",
    "read_bra_kommun_csv",
    "read_bra_long",
    "read_bra_table",
    "read_bra_xlsx",
    "read_kolada",
    "read_kolada_groups",
    "read_scb_csv",
    "read_scb_pxweb_json",
    "read_source",
    "sha256_of",
    "sidecar_path",
    "skr_group_code",
    "sol_names",
]
