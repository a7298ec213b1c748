"""The recorded Kolada v3 answers (tests/fixtures/kolada_context/) through the real path: `tmb fetch kolada`
saves them with their sidecar, `tmb import` reads them into the store's context table (issue 16). Every
expected value is read from the recorded pages themselves, never from the reader's output."""

import json
import shutil
from datetime import UTC

import pandas as pd
import pytest

from tests.test_kolada_context_fixtures import (
    FIXTURES,
    KPIS,
    RETIRED_LOOKUP,
    Recorded,
    all_values,
    make_fetcher,
    page,
    total,
)
from tmb_analysis.fetch import FetchError, fetch_kolada
from tmb_analysis.store import import_paths
from tmb_analysis.validation import DataValidationError

FIRST = page("error_429.json")["request"]["url"]
NEXT = page("data_page1.json")["next_url"]


def fetched(tmp_path):
    """The recorded pages fetched as `tmb fetch kolada` does: (saved file, fetch result)."""
    f, _ = make_fetcher(
        tmp_path,
        {
            FIRST: [Recorded.ok("data_page1.json")],
            NEXT: [Recorded.ok("data_page2.json")],
            RETIRED_LOOKUP: [Recorded.ok("kpi_metadata_retired.json")],
        },
    )
    got = fetch_kolada(KPIS, [2023, 2024], ["21+", "00"], fetcher=f)
    return got.path, got


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kolada_ctx")
    path, _ = fetched(tmp)
    report = import_paths([path.parent], tmp / "store")
    table = pd.read_parquet(tmp / "store" / "context.parquet")
    sources = json.loads((tmp / "store" / "sources.json").read_text("utf-8"))
    return table, report, sources


def by_key():
    return {(it["kpi"], it["municipality"], it["period"]): total(it) for it in all_values()}


def area(kolada_id):
    return "00" if kolada_id == "0000" else kolada_id[2:] if kolada_id.startswith("00") else kolada_id


def test_recorded_answers_import_for_five_kpis(imported):
    table, _, _ = imported
    rec = by_key()
    got = {(r.indicator, r.area_code, r.year): r for r in table.itertuples(index=False)}
    kpi_of = {
        "behorighet_yrkesprogram": "N15428",
        "trygghet_skolan_ak8": "N15643",
        "langvarigt_ekonomiskt_bistand": "N31816",
        "unga_varken_arbetar_studerar": "N02797",
        "unga_placerade_hvb": "N33816",
    }
    assert set(table["indicator"]) == set(kpi_of)
    checked = 0
    for ind, kpi in kpi_of.items():
        for (k, mid, year), value in rec.items():
            if k != kpi or value is None:
                continue
            row = got.pop((ind, area(mid), year))
            assert row.value == pytest.approx(value, abs=1e-12) and row.gender == "T"
            assert row.source.startswith("Kolada (RKA), ") and row.source.endswith(kpi)
            checked += 1
    assert checked >= 60
    # the only rows left are the län's HVB rate, computed from its count and population (type K: no region value)
    assert sorted(got) == [("unga_placerade_hvb", "21", 2023), ("unga_placerade_hvb", "21", 2024)]
    for year in (2023, 2024):
        row = got[("unga_placerade_hvb", "21", year)]
        c, n = rec[("N33813", "0021", year)], rec[("N01948", "0021", year)]
        assert (row.count, row.denominator) == (c, n)
        assert row.value == pytest.approx(round(c / n * 1000, 1))
        assert "(beräknat)" in row.source


def test_count_and_population_come_from_their_own_kpis(imported):
    table, _, _ = imported
    rec = by_key()
    hvb = table[(table["indicator"] == "unga_placerade_hvb") & table["count"].notna()]
    assert len(hvb) >= 10
    for r in hvb.itertuples(index=False):
        mid = "0000" if r.area_code == "00" else ("00" + r.area_code if len(r.area_code) == 2 else r.area_code)
        assert r.count == rec[("N33813", mid, r.year)] and r.denominator == rec[("N01948", mid, r.year)]
    # Kolada's own `count` field (1 everywhere) never becomes a count
    other = table[table["indicator"] != "unga_placerade_hvb"]
    assert other["count"].isna().all()


def test_no_value_means_no_row_and_is_named(imported):
    table, report, _ = imported
    keys = set(zip(table["indicator"], table["area_code"], table["year"]))
    assert ("langvarigt_ekonomiskt_bistand", "2132", 2024) not in keys  # "values": []
    assert ("unga_placerade_hvb", "2184", 2023) not in keys  # isdeleted
    # Ockelbo's withheld count ('..') is never 0: no count and no row with a count of 0
    assert not ((table["area_code"] == "2101") & (table["count"] == 0)).any()
    assert ("unga_placerade_hvb", "2101", 2024) not in keys
    text = report.summary()
    assert "without a figure" in text and "N31816 (1)" in text
    assert "withdrawn by Kolada (isdeleted)" in text
    assert "KPI N02904" in text and "retired" in text  # the retired KPI: a clear line, not an error


def test_every_row_keeps_its_source(imported):
    table, _, sources = imported
    record = [s for s in sources if s["sha256"] == table["source_sha256"].iloc[0]]
    assert len(record) == 1 and record[0]["publisher"] == "Kolada (RKA)" and record[0]["rows"]["context"] == len(table)
    assert (table["source_sha256"] == record[0]["sha256"]).all()


def test_unknown_municipality_id_fails_the_file_and_writes_nothing(tmp_path, imported):
    path, _ = fetched(tmp_path)
    store = tmp_path / "store"
    import_paths([path.parent], store)
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    bad = tmp_path / "bad" / "kolada_unknown.json"
    bad.parent.mkdir()
    shutil.copy(FIXTURES / "data_unknown_area.json", bad)
    with pytest.raises(DataValidationError) as err:
        import_paths([bad], store)
    msg = str(err.value)
    assert "kolada_unknown.json" in msg and "2199" in msg and "\n" not in msg.strip()
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before  # nothing half-written


def test_a_500_leaves_nothing_to_import(tmp_path):
    f, _ = make_fetcher(tmp_path, {FIRST: [Recorded.envelope("error_500.json")]})
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch_kolada(KPIS, [2023, 2024], ["21+", "00"], fetcher=f)
    raw = tmp_path / "raw"
    assert not raw.exists() or not [p for p in raw.rglob("*") if p.is_file() and "cache" not in p.parts]


def test_a_429_that_does_not_end_writes_nothing_and_says_so(tmp_path):
    f, waits = make_fetcher(tmp_path, {FIRST: [Recorded.envelope("error_429.json")]})
    with pytest.raises(FetchError) as err:
        fetch_kolada(KPIS, [2023, 2024], ["21+", "00"], fetcher=f)
    msg = str(err.value)
    assert "too many requests (HTTP 429) after 5 attempt(s); nothing was downloaded" in msg and "\n" not in msg
    assert waits == [2.0] * 4  # each wait as Retry-After asks
    raw = tmp_path / "raw"
    assert not raw.exists() or not [p for p in raw.rglob("*.json")]


def test_a_page_that_fails_after_the_first_writes_nothing(tmp_path):
    """Page 1 arrives, page 2 answers 500: no file with half of the answer is saved."""
    f, _ = make_fetcher(
        tmp_path, {FIRST: [Recorded.ok("data_page1.json")], NEXT: [Recorded.envelope("error_500.json")]}
    )
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch_kolada(KPIS, [2023, 2024], ["21+", "00"], fetcher=f)
    raw = tmp_path / "raw"
    assert not raw.exists() or not [p for p in raw.rglob("*.json")]


class KoladaLike:
    """A stand-in for Kolada v3 that refuses more than 25 ids in a path segment (as the API does) and
    answers every KPI × municipality × year it is asked for with one value."""

    def __init__(self):
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append(url)
        kpis, _, rest = url.split("/data/kpi/")[1].partition("/municipality/")
        areas, _, years = rest.partition("/year/")
        segments = [kpis.split(","), areas.split(","), years.split(",")]
        if any(len(s) > 25 for s in segments):
            return Recorded(400, b'{"error": "too many ids"}', {"Content-Type": "application/json"})
        values = [
            {
                "kpi": k,
                "municipality": m,
                "period": int(y),
                "values": [{"gender": "T", "count": 1, "status": "", "value": 1.0, "isdeleted": False}],
            }
            for k in segments[0]
            for m in segments[1]
            for y in segments[2]
        ]
        body = json.dumps({"count": len(values), "values": values, "next_url": None}).encode("utf-8")
        return Recorded(200, body, {"Content-Type": "application/json"})


def test_default_fetch_sends_at_most_25_ids_per_segment(tmp_path):
    from datetime import datetime

    from tmb_analysis.context import context_kpis
    from tmb_analysis.fetch import Fetcher, default_kolada_kpis
    from tmb_analysis.sources import KOLADA_KPIS

    kpis = default_kolada_kpis()
    assert set(kpis) == set(KOLADA_KPIS) | set(context_kpis()) and len(kpis) > 25
    assert {"N15428", "N33816", "N33813", "N01948"} <= set(kpis)  # value, count and denominator KPIs
    session = KoladaLike()
    f = Fetcher(
        cache_dir=tmp_path / "raw", session=session, sleep=lambda s: None, now=lambda: datetime(2026, 3, 28, tzinfo=UTC)
    )
    got = fetch_kolada([], [2023, 2024], ["all"], fetcher=f)
    n_areas = 290 + 21 + 1
    chunks = -(-len(kpis) // 25) * -(-n_areas // 25)
    assert len(session.calls) == chunks  # every combination of chunks, once
    saved = json.loads(got.path.read_text("utf-8"))
    keys = {(v["kpi"], v["municipality"], v["period"]) for v in saved["values"]}
    assert len(keys) == len(saved["values"]) == len(kpis) * n_areas * 2
    assert got.provenance["pages"] == session.calls and not got.notes
