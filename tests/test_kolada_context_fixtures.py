"""The recorded Kolada v3 answers for the context indicators (tests/fixtures/kolada_context/,
issue 16): their internal arithmetic, and `tmb fetch kolada` over them, errors included."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tmb_analysis.config import read_config
from tmb_analysis.fetch import Fetcher, FetchError, fetch_kolada

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kolada_context"
KPIS = ["N15428", "N15643", "N31816", "N02797", "N33816", "N33813", "N01948", "N02904"]
GAVLEBORG = ["0021", "2101", "2104", "2121", "2132", "2161", "2180", "2181", "2182", "2183", "2184", "0000"]


def page(name):
    return json.loads((FIXTURES / name).read_text("utf-8"))


def all_values():
    return page("data_page1.json")["values"] + page("data_page2.json")["values"]


def total(item):
    """The gender-T value of a Kolada data item, or None (no T entry, null, a marker, or deleted)."""
    for v in item["values"]:
        if v["gender"] == "T" and not v.get("isdeleted") and isinstance(v["value"], (int, float)):
            return v["value"]
    return None


class Recorded:
    """A response replayed from a recorded envelope ({"status", "headers", "body"}) or a page."""

    def __init__(self, status, content, headers=None):
        self.status_code, self.content, self.headers = status, content, headers or {}

    @classmethod
    def envelope(cls, name):
        env = page(name)
        return cls(env["status"], env["body"].encode("utf-8"), env["headers"])

    @classmethod
    def ok(cls, name):
        return cls(200, (FIXTURES / name).read_bytes(), {"Content-Type": "application/json"})


class Replay:
    """A session that answers each URL from a queue of recorded responses; records every call."""

    def __init__(self, answers):
        self.answers = {url: list(queue) for url, queue in answers.items()}
        self.calls, self.headers = [], {}

    def request(self, method, url, **kwargs):
        self.calls.append(url)
        assert kwargs.get("timeout"), "every request needs a timeout"
        queue = self.answers[url]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def make_fetcher(tmp_path, answers):
    waits = []
    f = Fetcher(
        cache_dir=tmp_path / "raw",
        session=Replay(answers),
        sleep=waits.append,
        now=lambda: datetime(2026, 3, 28, tzinfo=UTC),
    )
    return f, waits


def test_pages_are_the_answer_to_the_documented_request():
    first = page("error_429.json")["request"]["url"]
    assert first == page("error_500.json")["request"]["url"]
    assert first.split("/data/kpi/")[1] == f"{','.join(KPIS)}/municipality/{','.join(GAVLEBORG)}/year/2023,2024"
    assert page("data_page1.json")["next_url"] == first + "?page=2&per_page=100"
    assert page("data_page2.json")["next_url"] is None
    for name in ("data_page1.json", "data_page2.json"):
        assert page(name)["count"] == len(page(name)["values"])
    keys = [(it["kpi"], it["municipality"], it["period"]) for it in all_values()]
    assert len(keys) == len(set(keys)) == 140
    assert {k[1] for k in keys} == set(GAVLEBORG) and {k[2] for k in keys} == {2023, 2024}
    # every value is a kommun's or a region's own: Kolada's `count` is 1 outside municipality groups
    assert {v["count"] for it in all_values() for v in it["values"]} == {1}


def test_hvb_rate_is_the_count_over_the_population():
    by = {(it["kpi"], it["municipality"], it["period"]): total(it) for it in all_values()}
    checked = 0
    for (kpi, area, year), rate in by.items():
        if kpi != "N33816" or rate is None:
            continue
        count, pop = by[("N33813", area, year)], by[("N01948", area, year)]
        assert abs(rate - count / pop * 1000) <= 0.05 + 1e-9, (area, year)
        checked += 1
    assert checked == 19  # 9 kommuner x 2 years + riket x 2 years - the deleted Hudiksvall 2023 value
    # the län's count includes Ockelbo's suppressed one: it exceeds the sum of the published counts
    for year in (2023, 2024):
        published = sum(by[("N33813", k, year)] or 0 for k in GAVLEBORG[1:-1])
        assert by[("N33813", "0021", year)] > published
        assert by[("N01948", "0021", year)] == sum(by[("N01948", k, year)] for k in GAVLEBORG[1:-1])


def test_region_rows_only_for_kpis_kolada_publishes_for_regions():
    """Kolada type K KPIs (kommuner only) have no row for the region id 0021; type A ones do."""
    types = {e["kolada_kpi"]: e["kolada"]["municipality_type"] for e in read_config("context_indicators")[0]["context"]}
    region_kpis = {it["kpi"] for it in all_values() if it["municipality"] == "0021"}
    for kpi in ("N15428", "N15643", "N31816", "N02797", "N33816"):
        assert (kpi in region_kpis) is (types[kpi] == "A"), kpi
    assert {"N33813", "N01948"} <= region_kpis


def test_edge_cases_are_in_the_pages():
    items = {(it["kpi"], it["municipality"], it["period"]): it for it in all_values()}
    assert "N02904" not in {k[0] for k in items}  # retired: asked for, no rows
    assert page("data_retired_kpi.json") == {"count": 0, "values": [], "next_url": None}
    assert "N02904" not in {m["id"] for m in page("kpi_metadata.json")["values"]}
    assert items[("N31816", "2132", 2024)]["values"] == []
    assert {v["status"] for v in items[("N33813", "2101", 2024)]["values"]} == {".."}
    assert total(items[("N33816", "2184", 2023)]) is None  # withdrawn (isdeleted)
    assert total(items[("N15643", "2101", 2024)]) is not None
    assert not [k for k in items if k[0] == "N02797" and k[2] == 2024]  # not yet published
    elevenkat = {(k[1], k[2]) for k in items if k[0] == "N15643" and k[1] != "0000"}
    assert len(elevenkat) == 10 and not {a for a, y in elevenkat if y == 2023} & {a for a, y in elevenkat if y == 2024}
    unknown = [it["municipality"] for it in page("data_unknown_area.json")["values"]]
    assert unknown == ["2180", "2199", "0000"]


#: Kolada's KPI catalogue asked about the KPI that gave no values (the retired N02904).
RETIRED_LOOKUP = "https://api.kolada.se/v3/kpi/N02904"


def test_fetch_follows_next_url_over_the_recorded_pages(tmp_path):
    first = page("error_429.json")["request"]["url"]
    nxt = page("data_page1.json")["next_url"]
    f, waits = make_fetcher(
        tmp_path,
        {
            first: [Recorded.ok("data_page1.json")],
            nxt: [Recorded.ok("data_page2.json")],
            RETIRED_LOOKUP: [Recorded.ok("kpi_metadata_retired.json")],
        },
    )
    got = fetch_kolada(KPIS, [2023, 2024], ["21+", "00"], fetcher=f)
    assert f.session.calls == [first, nxt, RETIRED_LOOKUP] and waits == []
    saved = json.loads(got.path.read_text("utf-8"))
    assert saved["next_url"] is None and saved["values"] == all_values()
    assert got.provenance["pages"] == [first, nxt] and got.provenance["publisher"] == "Kolada (RKA)"
    # the retired KPI is reported, not blocking
    assert got.provenance["kpis_without_values"] == ["N02904"] and got.provenance["kpis_unknown"] == ["N02904"]
    assert len(got.notes) == 1 and "no KPI N02904 (retired or a wrong id)" in got.notes[0]


def test_fetch_waits_as_the_recorded_429_asks(tmp_path):
    first = page("error_429.json")["request"]["url"]
    nxt = page("data_page1.json")["next_url"]
    f, waits = make_fetcher(
        tmp_path,
        {
            first: [Recorded.envelope("error_429.json"), Recorded.ok("data_page1.json")],
            nxt: [Recorded.ok("data_page2.json")],
            RETIRED_LOOKUP: [Recorded.ok("kpi_metadata_retired.json")],
        },
    )
    got = fetch_kolada(KPIS, [2023, 2024], ["21+", "00"], fetcher=f)
    assert waits == [2.0]  # Retry-After: 2
    assert f.session.calls == [first, first, nxt, RETIRED_LOOKUP]
    assert len(json.loads(got.path.read_text("utf-8"))["values"]) == 140


def test_fetch_gives_up_on_the_recorded_500_and_writes_nothing(tmp_path):
    first = page("error_500.json")["request"]["url"]
    f, waits = make_fetcher(tmp_path, {first: [Recorded.envelope("error_500.json")]})
    with pytest.raises(FetchError, match=r"server error \(HTTP 500\) after 5 attempt\(s\); nothing was downloaded"):
        fetch_kolada(KPIS, [2023, 2024], ["21+", "00"], fetcher=f)
    assert len(f.session.calls) == 5 and waits == [1.0, 2.0, 4.0, 8.0]
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*.json"))
