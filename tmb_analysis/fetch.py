"""``tmb fetch``: download the sources that have an address, into ``data/raw/``, with provenance.

What it fetches (each into its own folder under the cache, default ``data/raw/``):

* **SCB population** (PxWeb API v1, table BE0101N1 "Folkmängd 31 december", :data:`SCB_URL`) for
  chosen areas and years, saved as the API's JSON (``scb/folkmangd_<years>.json``), read by
  :func:`tmb_analysis.sources.read_scb_pxweb_json`.
* **Kolada** (API v3, :data:`KOLADA_URL`): KPI values for chosen KPIs, areas and years
  (``kolada/kolada_<kpis>_<years>.json``; at most 25 ids per path segment, every page of a paged
  response followed through ``next_url``, the values saved together in one file; by default the
  crime, NTU and context KPIs, the latter read from ``config/context_indicators.yaml``), and the
  municipality groups
  (``kolada/kolada_municipality_groups.json``).
* **BRÅ's yearly per-kommun CSV**, given its URL (the address changes every year; the known ones
  are in :data:`BRA_KOMMUN_CSV_URLS`), saved under the file name of the URL (``bra/…``).

Every downloaded file gets a sidecar ``<name>.provenance.json`` with the URL (and query), the
download time (UTC), the sha256 and size of the bytes, the HTTP status and content type; ``tmb
import`` adds those facts to the file's provenance record. A file already in the cache is not
downloaded again unless ``refresh=True``.

Requests have timeouts; 429 and 5xx answers are retried with exponential backoff, honouring a
``Retry-After`` header; other errors, and a host that cannot be reached, raise :class:`FetchError`
with one clear line (``offline or unreachable: …``). Nothing is written unless the whole
download succeeded (files are written to a temporary name and moved into place).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .config import DEFAULT_RAW, SIDECAR_SUFFIX

log = logging.getLogger("tmb.fetch")

DEFAULT_CACHE = DEFAULT_RAW
SCB_URL = "https://api.scb.se/OV0104/v1/doris/sv/ssd/START/BE/BE0101/BE0101A/BefolkningNy"
KOLADA_URL = "https://api.kolada.se/v3"
#: BRÅ's yearly per-kommun CSV files (PROVENANCE §17); the address changes with every edition.
BRA_KOMMUN_CSV_URLS: dict[int, str] = {
    2021: "https://bra.se/download/18.2e6195c8190a64a78d4201c4/1723120294356/anmalda_brott_kommuner_2021.csv",
    2023: "https://bra.se/download/18.349839a519329944199b20/1731934941054/Anmalda%20brott%20i%20kommunerna%202023.csv",
    2024: "https://bra.se/download/18.41109aad195b25241f818dbf/1742982579590/Anm%C3%A4lda%20brott%20kommunerna%202024.csv",
    2025: "https://bra.se/download/18.3b6b697b19d24d83762a45f/1774625599791/Anm%C3%A4lda%20brott%20kommunerna%202025.csv",
}
USER_AGENT = f"tmb-analys/{__version__} (+https://github.com/; crime-prevention statistics for Swedish municipalities)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(RuntimeError):
    """A download failed; the message is one line naming the address and what went wrong."""


@dataclass
class Fetched:
    """A file in the cache and its provenance (``from_cache`` when nothing was downloaded), and
    one-line ``notes`` for the user (a Kolada KPI that gave no values)."""

    path: Path
    provenance: dict
    from_cache: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Fetcher:
    """Downloads with a cache, timeouts and retries.

    ``session`` is anything with ``request(method, url, **kwargs)`` returning a response with
    ``status_code``, ``headers``, ``content`` (and ``json()``) — a :class:`requests.Session` by
    default; tests pass a fake. ``sleep`` and ``now`` can be replaced too.
    """

    cache_dir: Path = DEFAULT_CACHE
    session: object | None = None
    timeout: tuple[float, float] = (10.0, 60.0)
    retries: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0
    refresh: bool = False
    sleep: Callable[[float], None] | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self):
        self.cache_dir = Path(self.cache_dir)
        if self.sleep is None:
            self.sleep = lambda seconds: time.sleep(seconds)
        if self.session is None:
            import requests

            self.session = requests.Session()
            self.session.headers.update({"User-Agent": USER_AGENT})

    # ---- HTTP ---------------------------------------------------------------------
    def _wait(self, attempt: int, response=None) -> float:
        wait = self.backoff * (2**attempt)
        header = (getattr(response, "headers", None) or {}).get("Retry-After") if response is not None else None
        if header:
            header = str(header).strip()
            if header.isdigit():
                wait = float(header)
            else:
                try:
                    when = email.utils.parsedate_to_datetime(header)
                    wait = max(0.0, (when - self.now()).total_seconds())
                except (TypeError, ValueError):
                    pass
        return min(wait, self.max_wait)

    def request(self, method: str, url: str, **kwargs):
        """One HTTP request with retries on 429/5xx and on connection problems; returns the response."""
        import requests

        host = urllib.parse.urlsplit(url).netloc or url
        last = None
        for attempt in range(self.retries + 1):
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = exc
                if attempt < self.retries:
                    wait = self._wait(attempt)
                    log.info("%s: %s; retrying in %.0f s", host, type(exc).__name__, wait)
                    self.sleep(wait)
                    continue
                kind = "timed out" if isinstance(exc, requests.Timeout) else "cannot connect"
                raise FetchError(
                    f"offline or unreachable: {kind} to {host} ({url}) after {self.retries + 1} attempt(s); "
                    "nothing was downloaded — check the network, or download the file yourself and use `tmb import`"
                ) from None
            status = int(getattr(resp, "status_code", 0))
            if status in RETRY_STATUSES and attempt < self.retries:
                wait = self._wait(attempt, resp)
                log.info("%s: HTTP %d; retrying in %.0f s", host, status, wait)
                self.sleep(wait)
                last = resp
                continue
            if status in RETRY_STATUSES:
                what = "too many requests (HTTP 429)" if status == 429 else f"server error (HTTP {status})"
                raise FetchError(
                    f"{url}: {what} after {self.retries + 1} attempt(s); nothing was downloaded — try again later"
                )
            if status >= 400:
                raise FetchError(f"{url}: HTTP {status}; expected 200 — is the address (or the query) right?")
            return resp
        raise FetchError(f"{url}: no answer ({last})")  # pragma: no cover - the loop always returns or raises

    # ---- files --------------------------------------------------------------------
    def _save(self, path: Path, data: bytes, meta: dict) -> Fetched:
        path.parent.mkdir(parents=True, exist_ok=True)
        prov = {
            "file": path.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "retrieved_at": self.now().replace(microsecond=0).isoformat(),
            "fetched_with": f"tmb-analys {__version__}",
            **meta,
        }
        for target, payload in (
            (path, data),
            (
                path.with_name(path.name + SIDECAR_SUFFIX),
                (json.dumps(prov, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
            ),
        ):
            tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
            tmp.write_bytes(payload)
            os.replace(tmp, target)
        return Fetched(path, prov)

    def _cached(self, path: Path) -> Fetched | None:
        side = path.with_name(path.name + SIDECAR_SUFFIX)
        if self.refresh or not path.is_file() or not side.is_file():
            return None
        try:
            prov = json.loads(side.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if prov.get("sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
            return None
        return Fetched(path, prov, from_cache=True)

    def download(self, url: str, dest: Path, publisher: str, **meta) -> Fetched:
        """GET ``url`` into ``dest`` (under the cache) unless it is cached already."""
        dest = self.cache_dir / dest
        hit = self._cached(dest)
        if hit:
            return hit
        resp = self.request("GET", url)
        data = resp.content
        if not data or not data.strip():
            raise FetchError(f"{url}: empty response (HTTP {resp.status_code}); expected a file")
        return self._save(
            dest,
            data,
            {
                "url": url,
                "publisher": publisher,
                "http_status": resp.status_code,
                "content_type": (resp.headers or {}).get("Content-Type"),
                **meta,
            },
        )


# ---- the sources --------------------------------------------------------------------


def _years_text(years: list[int]) -> str:
    years = sorted(set(int(y) for y in years))
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])


def _area_codes(areas: list[str] | None) -> list[str]:
    """SCB codes: 'all' (or nothing) = riket, every län and every kommun; a län code followed by
    '+' = the län and its kommuner."""
    from .geography import registry

    reg = registry()
    if not areas or "all" in areas:
        return [a.code for a in reg.areas()]
    out: list[str] = []
    for a in areas:
        a = str(a).strip()
        if a.endswith("+"):
            lan = reg.lan(a[:-1])
            out += [lan.code] + [k.code for k in reg.kommuner(lan.code)]
        else:
            out.append(reg.area(a).code)
    return list(dict.fromkeys(out))


def fetch_scb_population(
    years: list[int], areas: list[str] | None = None, fetcher: Fetcher | None = None, url: str = SCB_URL
) -> Fetched:
    """SCB's population (Folkmängd 31 december, ContentsCode BE0101N1) for ``areas`` and ``years``,
    as PxWeb v1 JSON (age, sex and civil status eliminated, i.e. totals)."""
    fetcher = fetcher or Fetcher()
    codes = _area_codes(areas)
    years = sorted(set(int(y) for y in years))
    query = {
        "query": [
            {"code": "Region", "selection": {"filter": "item", "values": codes}},
            {"code": "ContentsCode", "selection": {"filter": "item", "values": ["BE0101N1"]}},
            {"code": "Tid", "selection": {"filter": "item", "values": [str(y) for y in years]}},
        ],
        "response": {"format": "json"},
    }
    tag = "alla" if len(codes) == len(_area_codes(None)) else f"{len(codes)}omr"
    dest = Path("scb") / f"folkmangd_{tag}_{_years_text(years)}.json"
    hit = fetcher._cached(fetcher.cache_dir / dest)
    if hit:
        return hit
    resp = fetcher.request("POST", url, json=query)
    data = resp.content
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FetchError(f"{url}: the answer is not JSON; expected SCB PxWeb JSON with 'columns' and 'data'") from None
    if not isinstance(obj, dict) or not obj.get("data"):
        raise FetchError(
            f"{url}: empty API response (no 'data'); expected population for {len(codes)} area(s) and years "
            f"{_years_text(years)}"
        )
    return fetcher._save(
        fetcher.cache_dir / dest,
        data,
        {"url": url, "query": query, "publisher": "SCB", "http_status": resp.status_code},
    )


def _kolada_pages(fetcher: Fetcher, url: str) -> tuple[list, list[str]]:
    values, urls = [], []
    seen = set()
    while url:
        if url in seen:
            raise FetchError(f"{url}: Kolada's next_url points back to a page already read")
        seen.add(url)
        urls.append(url)
        resp = fetcher.request("GET", url)
        try:
            obj = json.loads(resp.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise FetchError(
                f'{url}: the answer is not JSON; expected Kolada\'s {{"values": [...], "next_url"}}'
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("values"), list):
            raise FetchError(f"{url}: no 'values' list in the answer; expected Kolada v3 JSON")
        values += obj["values"]
        url = obj.get("next_url") or None
    return values, urls


#: Kolada v3 answers an error for more than 25 ids in one path segment (KPIs, municipalities or years).
KOLADA_MAX_IDS = 25


def _chunks(items: list, size: int = KOLADA_MAX_IDS) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def default_kolada_kpis() -> list[str]:
    """What ``tmb fetch kolada`` asks for by default: every KPI read as a crime or NTU indicator
    (:data:`tmb_analysis.sources.KOLADA_KPIS`) and every KPI of the context indicators
    (``config/context_indicators.yaml``: value, count and denominator KPIs)."""
    from .context import context_kpis
    from .sources import KOLADA_KPIS

    return list(dict.fromkeys([*sorted(KOLADA_KPIS), *context_kpis()]))


def _kolada_unknown_kpis(fetcher: Fetcher, kpis: list[str], base: str) -> list[str] | None:
    """The ids Kolada's KPI catalogue (``/kpi/<ids>``) does not list: retired or wrong ids (None
    when the catalogue could not be asked: the values already downloaded are kept)."""
    known: set[str] = set()
    try:
        for part in _chunks(kpis):
            values, _ = _kolada_pages(fetcher, f"{base}/kpi/{','.join(part)}")
            known |= {str(v.get("id")) for v in values if isinstance(v, dict)}
    except FetchError as exc:
        log.warning("could not look the KPIs up in Kolada's catalogue: %s", exc)
        return None
    return [k for k in kpis if k not in known]


def _kolada_notes(prov: dict) -> list[str]:
    unknown = prov.get("kpis_unknown")
    out = []
    for kpi in prov.get("kpis_without_values") or []:
        if unknown is not None and kpi in unknown:
            out.append(
                f"Kolada has no KPI {kpi} (retired or a wrong id); check config/context_indicators.yaml "
                "(or --kpi); the other KPIs were fetched"
            )
        elif unknown is not None:
            out.append(f"Kolada has no values of KPI {kpi} for these areas and years (not published yet?)")
        else:
            out.append(f"Kolada has no values of KPI {kpi} for these areas and years (retired, or not published yet)")
    return out


def fetch_kolada(
    kpis: list[str],
    years: list[int],
    areas: list[str] | None = None,
    fetcher: Fetcher | None = None,
    base: str = KOLADA_URL,
) -> Fetched:
    """Kolada KPI values (``/data/kpi/<ids>/municipality/<ids>/year/<years>``), every page followed.

    ``kpis`` empty: :func:`default_kolada_kpis`. KPIs, municipalities and years are sent in chunks
    of at most :data:`KOLADA_MAX_IDS` (every combination of chunks is one request) and the answers
    saved together in one file. KPIs without any value are looked up in Kolada's KPI catalogue
    (``/kpi/<ids>``); the provenance lists them (``kpis_without_values``, and ``kpis_unknown`` for
    ids the catalogue lacks: retired or wrong), each gets a note, and the others are saved: a
    retired KPI does not stop the download. No value at all is an error.
    """
    fetcher = fetcher or Fetcher()
    kpis = list(dict.fromkeys(kpis or default_kolada_kpis()))
    years = sorted(set(int(y) for y in years))
    codes = _area_codes(areas)
    kolada_ids = ["0000" if c == "00" else (f"00{c}" if len(c) == 2 else c) for c in codes]
    dest = Path("kolada") / f"kolada_{len(kpis)}kpi_{len(codes)}omr_{_years_text(years)}.json"
    hit = fetcher._cached(fetcher.cache_dir / dest)
    if hit:
        hit.notes = _kolada_notes(hit.provenance)
        return hit
    values, urls = [], []
    for k_part in _chunks(kpis):
        for a_part in _chunks(kolada_ids):
            for y_part in _chunks(years):
                url = (
                    f"{base}/data/kpi/{','.join(k_part)}/municipality/{','.join(a_part)}"
                    f"/year/{','.join(map(str, y_part))}"
                )
                v, u = _kolada_pages(fetcher, url)
                values += v
                urls += u
    if not values:
        raise FetchError(
            f"{urls[0]}: empty API response (no values) for KPIs {', '.join(kpis)} and years "
            f"{_years_text(years)}; expected at least one value — check the KPI ids and years"
        )
    got = {str(v.get("kpi")) for v in values if isinstance(v, dict)}
    silent = [k for k in kpis if k not in got]
    meta = {"url": urls[0], "pages": urls, "publisher": "Kolada (RKA)", "kpis": kpis}
    if silent:
        meta["kpis_without_values"] = silent
        meta["kpis_unknown"] = _kolada_unknown_kpis(fetcher, silent, base)
    data = json.dumps({"count": len(values), "values": values, "next_url": None}, ensure_ascii=False).encode("utf-8")
    saved = fetcher._save(fetcher.cache_dir / dest, data, meta)
    saved.notes = _kolada_notes(saved.provenance)
    for note in saved.notes:
        log.warning("%s", note)
    return saved


def fetch_kolada_groups(fetcher: Fetcher | None = None, base: str = KOLADA_URL) -> Fetched:
    """Kolada's municipality groups (``/municipality_groups``), every page followed."""
    fetcher = fetcher or Fetcher()
    dest = Path("kolada") / "kolada_municipality_groups.json"
    hit = fetcher._cached(fetcher.cache_dir / dest)
    if hit:
        return hit
    values, urls = _kolada_pages(fetcher, f"{base}/municipality_groups")
    if not values:
        raise FetchError(f"{urls[0]}: empty API response (no groups); expected Kolada's municipality groups")
    data = json.dumps({"count": len(values), "values": values, "next_url": None}, ensure_ascii=False).encode("utf-8")
    return fetcher._save(fetcher.cache_dir / dest, data, {"url": urls[0], "pages": urls, "publisher": "Kolada (RKA)"})


def fetch_bra_kommun_csv(url: str | None = None, year: int | None = None, fetcher: Fetcher | None = None) -> Fetched:
    """BRÅ's yearly per-kommun CSV from ``url`` (or the known address of ``year``), saved under the
    file name of the URL (with the year added when the name has none)."""
    fetcher = fetcher or Fetcher()
    if url is None:
        if year is None or int(year) not in BRA_KOMMUN_CSV_URLS:
            known = ", ".join(map(str, sorted(BRA_KOMMUN_CSV_URLS)))
            raise FetchError(f"give the CSV's URL (from bra.se) or a year with a known address ({known})")
        url = BRA_KOMMUN_CSV_URLS[int(year)]
    name = urllib.parse.unquote(Path(urllib.parse.urlsplit(url).path).name) or "anmalda_brott_kommuner.csv"
    name = re.sub(r'[\\/:*?"<>|]', "_", name)
    if year is not None and not re.search(r"(19|20)\d\d", name):
        name = f"{Path(name).stem} {year}{Path(name).suffix or '.csv'}"
    return fetcher.download(url, Path("bra") / name, "Brå", year=year)
