"""`tmb fetch`: downloads with a cache, retries and provenance — never touching the network.

A fake session serves recorded responses written in the documented shapes (tests/fixtures/).
"""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from fixtures import shapes

from tmb_analysis import fetch as fetch_mod
from tmb_analysis.fetch import (
    BRA_KOMMUN_CSV_URLS,
    Fetcher,
    FetchError,
    fetch_bra_kommun_csv,
    fetch_kolada,
    fetch_kolada_groups,
    fetch_scb_population,
)
from tmb_analysis.sources import SIDECAR_SUFFIX, read_source
from tmb_analysis.store import import_paths, load_store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 3, 28, 9, 30, tzinfo=UTC)


class FakeResponse:
    def __init__(self, status=200, content=b"", headers=None):
        self.status_code = status
        self.content = content
        self.headers = headers or {}

    def json(self):
        return json.loads(self.content)


class FakeSession:
    """Serves queued answers per URL (or a callable); records every request."""

    def __init__(self, answers=None):
        self.answers = {k: list(v) if isinstance(v, list) else v for k, v in (answers or {}).items()}
        self.calls = []
        self.headers = {}

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        assert "timeout" in kwargs and kwargs["timeout"], "every request needs a timeout"
        key = next((k for k in self.answers if url.startswith(k)), None)
        if key is None:
            raise AssertionError(f"unexpected request {method} {url}")
        ans = self.answers[key]
        if isinstance(ans, list):
            ans = ans.pop(0) if len(ans) > 1 else ans[0]
        if isinstance(ans, Exception):
            raise ans
        return ans(method, url, kwargs) if callable(ans) else ans


def fetcher(tmp_path, session, **kw):
    waits = []
    f = Fetcher(cache_dir=tmp_path / "raw", session=session, sleep=waits.append, now=lambda: NOW, **kw)
    return f, waits


def ok(content: bytes, **headers):
    return FakeResponse(200, content, headers)


# ---- SCB -------------------------------------------------------------------------------------


def test_scb_population(tmp_path):
    body = (FIXTURES / "scb_folkmangd_v1.json").read_bytes()
    session = FakeSession({fetch_mod.SCB_URL: ok(body, **{"Content-Type": "application/json"})})
    f, _ = fetcher(tmp_path, session)
    got = fetch_scb_population([2023, 2024], ["00", "21+"], fetcher=f)
    method, url, kwargs = session.calls[0]
    assert method == "POST" and url == fetch_mod.SCB_URL
    q = {d["code"]: d["selection"]["values"] for d in kwargs["json"]["query"]}
    assert q["Tid"] == ["2023", "2024"] and q["ContentsCode"] == ["BE0101N1"]
    assert q["Region"][:3] == ["00", "21", "2101"] and len(q["Region"]) == 12  # riket, the län and its ten kommuner
    assert got.path == tmp_path / "raw" / "scb" / "folkmangd_12omr_2023-2024.json" and got.path.read_bytes() == body
    side = json.loads(got.path.with_name(got.path.name + SIDECAR_SUFFIX).read_text("utf-8"))
    assert side["sha256"] == hashlib.sha256(body).hexdigest() and side["url"] == fetch_mod.SCB_URL
    assert side["retrieved_at"] == "2026-03-28T09:30:00+00:00" and side["query"] == kwargs["json"]
    # the downloaded file imports with its provenance
    store = tmp_path / "store"
    import_paths([tmp_path / "raw"], store)
    rec = json.loads((store / "sources.json").read_text("utf-8"))[0]
    assert rec["url"] == fetch_mod.SCB_URL and rec["retrieved_at"] == side["retrieved_at"] and rec["publisher"] == "SCB"


def test_cache_and_refresh(tmp_path):
    body = (FIXTURES / "scb_folkmangd_v1.json").read_bytes()
    session = FakeSession({fetch_mod.SCB_URL: ok(body)})
    f, _ = fetcher(tmp_path, session)
    fetch_scb_population([2024], ["2180"], fetcher=f)
    again = fetch_scb_population([2024], ["2180"], fetcher=f)
    assert again.from_cache and len(session.calls) == 1
    f.refresh = True
    assert not fetch_scb_population([2024], ["2180"], fetcher=f).from_cache and len(session.calls) == 2
    # a cached file that was changed by hand is downloaded again
    f.refresh = False
    again.path.write_bytes(b"{}")
    assert not fetch_scb_population([2024], ["2180"], fetcher=f).from_cache and len(session.calls) == 3


def test_scb_empty_answer(tmp_path):
    session = FakeSession({fetch_mod.SCB_URL: ok(b'{"columns": [], "data": []}')})
    f, _ = fetcher(tmp_path, session)
    with pytest.raises(FetchError, match="empty API response"):
        fetch_scb_population([2024], ["2180"], fetcher=f)
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*.json"))


# ---- Kolada ----------------------------------------------------------------------------------


def test_kolada_follows_next_url(tmp_path):
    page1 = (FIXTURES / "kolada_data_page1.json").read_bytes()
    page2 = (FIXTURES / "kolada_data_page2.json").read_bytes()
    next_url = json.loads(page1)["next_url"]
    session = FakeSession({next_url: ok(page2), fetch_mod.KOLADA_URL + "/data/kpi/": ok(page1)})
    f, _ = fetcher(tmp_path, session)
    got = fetch_kolada(["N07540", "N07609", "N07657", "N07403"], [2023, 2024], ["2180", "2181", "21", "00"], fetcher=f)
    urls = [c[1] for c in session.calls]
    assert (
        urls[0]
        == (
            f"{fetch_mod.KOLADA_URL}/data/kpi/N07540,N07609,N07657,N07403/municipality/2180,2181,0021,0000"
            "/year/2023,2024"
        )
        and urls[1] == next_url
    )
    saved = json.loads(got.path.read_text("utf-8"))
    assert len(saved["values"]) == 10 and saved["next_url"] is None
    assert got.provenance["pages"] == urls
    t = read_source(got.path)
    assert t.provenance["url"] == urls[0]
    assert set(t.crime["area_code"]) == {"2180", "21", "00"} and len(t.survey) == 1


def test_kolada_empty_answer(tmp_path):
    session = FakeSession({fetch_mod.KOLADA_URL: ok(b'{"count": 0, "values": [], "next_url": null}')})
    f, _ = fetcher(tmp_path, session)
    with pytest.raises(FetchError, match=r"empty API response \(no values\) for KPIs N07540"):
        fetch_kolada(["N07540"], [2024], ["2180"], fetcher=f)


def test_kolada_groups(tmp_path):
    body = (FIXTURES / "kolada_municipality_groups.json").read_bytes()
    session = FakeSession({fetch_mod.KOLADA_URL + "/municipality_groups": ok(body)})
    f, _ = fetcher(tmp_path, session)
    got = fetch_kolada_groups(fetcher=f)
    assert got.path.name == "kolada_municipality_groups.json"
    assert len(read_source(got.path).groups) == 16


# ---- BRÅ per-kommun CSV --------------------------------------------------------------------------


def test_bra_csv_by_url(tmp_path):
    csv_bytes = shapes.bra_kommun_csv_2023(tmp_path / "src.csv").read_bytes()
    url = BRA_KOMMUN_CSV_URLS[2024]
    session = FakeSession({url: ok(csv_bytes, **{"Content-Type": "text/csv"})})
    f, _ = fetcher(tmp_path, session)
    got = fetch_bra_kommun_csv(url, fetcher=f)
    assert got.path.name == "Anmälda brott kommunerna 2024.csv"  # the URL's name, decoded: the year is in it
    assert got.provenance["publisher"] == "Brå" and got.provenance["content_type"] == "text/csv"
    t = read_source(got.path)
    assert set(t.crime["year"]) == {2024} and t.provenance["url"] == url
    with pytest.raises(FetchError, match="give the CSV's URL"):
        fetch_bra_kommun_csv(None, year=2019, fetcher=f)


# ---- retries, errors, offline ------------------------------------------------------------------


def test_retry_after_on_429(tmp_path):
    url = "https://bra.se/download/x/Anmalda brott 2024.csv"
    session = FakeSession(
        {url: [FakeResponse(429, b"", {"Retry-After": "7"}), ok(b"Kommun;Antal;Per 100 000 inv.\r\n")]}
    )
    f, waits = fetcher(tmp_path, session)
    f.download(url, Path("bra/x.csv"), "Brå")
    assert waits == [7.0] and len(session.calls) == 2


def test_retry_after_as_a_date(tmp_path):
    url = "https://api.kolada.se/v3/municipality_groups"
    later = "Sat, 28 Mar 2026 09:30:30 GMT"
    session = FakeSession(
        {
            url: [
                FakeResponse(503, b"", {"Retry-After": later}),
                ok(b'{"values": [{"id": "G1", "title": "t", "members": []}]}'),
            ]
        }
    )
    f, waits = fetcher(tmp_path, session)
    fetch_kolada_groups(fetcher=f)
    assert waits == [30.0]


def test_exponential_backoff_on_5xx_then_fail(tmp_path):
    url = "https://bra.se/x.csv"
    session = FakeSession({url: [FakeResponse(500)]})
    f, waits = fetcher(tmp_path, session, retries=3, backoff=0.5)
    with pytest.raises(FetchError) as exc:
        f.download(url, Path("bra/x.csv"), "Brå")
    assert waits == [0.5, 1.0, 2.0] and len(session.calls) == 4
    msg = str(exc.value)
    assert (
        msg
        == "https://bra.se/x.csv: server error (HTTP 500) after 4 attempt(s); nothing was downloaded — try again later"
    )
    assert not (tmp_path / "raw" / "bra" / "x.csv").exists()


def test_429_gives_up(tmp_path):
    url = "https://bra.se/x.csv"
    session = FakeSession({url: [FakeResponse(429, headers={"Retry-After": "1000"})]})
    f, waits = fetcher(tmp_path, session, retries=1)
    with pytest.raises(FetchError, match=r"too many requests \(HTTP 429\) after 2 attempt\(s\)"):
        f.download(url, Path("bra/x.csv"), "Brå")
    assert waits == [60.0]  # Retry-After honoured, capped at max_wait


def test_not_found_is_not_retried(tmp_path):
    url = "https://bra.se/old.csv"
    session = FakeSession({url: [FakeResponse(404)]})
    f, waits = fetcher(tmp_path, session)
    with pytest.raises(FetchError, match=r"HTTP 404; expected 200"):
        f.download(url, Path("bra/old.csv"), "Brå")
    assert waits == [] and len(session.calls) == 1


def test_offline(tmp_path):
    url = "https://api.scb.se/x"
    session = FakeSession({url: [requests.ConnectionError("Name or service not known")]})
    f, waits = fetcher(tmp_path, session, retries=2)
    with pytest.raises(FetchError) as exc:
        f.download(url, Path("scb/x.json"), "SCB")
    assert str(exc.value).startswith("offline or unreachable: cannot connect to api.scb.se")
    assert "\n" not in str(exc.value) and len(waits) == 2


def test_sidecar_suffix_is_shared():
    from tmb_analysis import sources

    assert fetch_mod.SIDECAR_SUFFIX == sources.SIDECAR_SUFFIX


# ---- the command line -----------------------------------------------------------------------------


def test_cli_fetch_and_import(tmp_path, monkeypatch, capsys):
    from tmb_analysis.cli import main

    csv_bytes = shapes.bra_kommun_csv_2023(tmp_path / "src.csv").read_bytes()
    url = "https://bra.se/download/18.1/1/Anm%C3%A4lda%20brott%20kommunerna%202025.csv"
    monkeypatch.setattr(requests, "Session", lambda: FakeSession({url: ok(csv_bytes)}))
    code = main(
        ["fetch", "bra-csv", url, "--raw", str(tmp_path / "raw"), "--import", "--store", str(tmp_path / "store")]
    )
    out = capsys.readouterr().out
    assert code == 0 and "downloaded" in out and "imported 1 file(s)" in out
    st = load_store(tmp_path / "store")
    assert set(st.crime["year"]) == {2025} and st.sources[0]["url"] == url


def test_cli_fetch_offline_is_one_line(tmp_path, monkeypatch, capsys):
    from tmb_analysis.cli import main

    monkeypatch.setattr(requests, "Session", lambda: FakeSession({"https://": [requests.ConnectionError("down")]}))
    monkeypatch.setattr(fetch_mod.time, "sleep", lambda s: None)
    code = main(["fetch", "kolada-groups", "--raw", str(tmp_path / "raw")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1 and "offline or unreachable" in err[0] and "api.kolada.se" in err[0]
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").rglob("*.json"))


def test_cli_fetch_500(tmp_path, monkeypatch, capsys):
    from tmb_analysis.cli import main

    monkeypatch.setattr(requests, "Session", lambda: FakeSession({"https://": [FakeResponse(500)]}))
    monkeypatch.setattr(fetch_mod.time, "sleep", lambda s: None)
    code = main(["fetch", "scb-population", "--years", "2024", "--areas", "2180", "--raw", str(tmp_path / "raw")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1 and "HTTP 500" in err[0]
