"""The hearing pack: the county sheet and the kommun worksheets, and the shared challenges behind them."""

import pandas as pd
import pytest

from tmb_analysis import hearing
from tmb_analysis.priorities import shared_challenges, watch_list


def _row(code, name, ind, score, eligible=False, cmp_riket="similar", trend="no_clear_trend", rank=None, harm=2.0):
    return dict(
        area_code=code,
        area_name=name,
        area_level="kommun",
        lan_code="21",
        indicator=ind,
        indicator_label=ind.capitalize(),
        priority_score=score,
        priority_eligible=eligible,
        priority_rank=rank,
        harm_weight=harm,
        worse="higher",
        cmp_lan="similar",
        cmp_riket=cmp_riket,
        cmp_group="unknown",
        cmp_peers="unknown",
        cmp_riket_pooled="unknown",
        trend=trend,
    )


def test_shared_challenges_by_hand():
    """Nine kommuner. 'a' is eligible in two (tier 1, weight 3 + 5 = 8); 'b' eligible in one and a sign in
    two more (3 of 9 = a third: tier 2, weight 4 + 1 + 2 = 7); 'c' a sign in one kommun only (left out);
    'd' eligible in two with a larger weight than 'a' (tier 1 first)."""
    rows = [
        _row("2101", "Ockelbo", "a", 3.0, True, "higher"),
        _row("2104", "Hofors", "a", 5.0, True, "higher"),
        _row("2121", "Ovanåker", "b", 4.0, True, "higher"),
        _row("2132", "Nordanstig", "b", 1.0, trend="increasing"),
        _row("2161", "Ljusdal", "c", 9.0, cmp_riket="higher"),
        _row("2180", "Gävle", "d", 6.0, True, "higher"),
        _row("2181", "Sandviken", "d", 6.0, True, "higher"),
        _row("2182", "Söderhamn", "a", 0.5),
        _row("2183", "Bollnäs", "b", 2.0, cmp_riket="higher"),
    ]
    got = shared_challenges(pd.DataFrame(rows), "21")
    assert list(got["indicator"]) == ["d", "a", "b"]
    assert list(got["tier"]) == [1, 1, 2]
    assert list(got["weight"]) == [12.0, 8.0, 7.0]
    a = got.set_index("indicator").loc["a"]
    assert a["eligible"] == ("Hofors", "Ockelbo") and a["signs"] == () and a["n_kommuner"] == 9
    assert got.set_index("indicator").loc["b", "signs"] == ("Bollnäs", "Nordanstig")


def test_watch_list_is_the_nearest_unranked_signs():
    rows = [
        _row("2101", "Ockelbo", "a", 3.0, True, "higher", rank=1),
        _row("2101", "Ockelbo", "b", 2.0, cmp_riket="higher"),
        _row("2101", "Ockelbo", "c", 5.0),
        _row("2101", "Ockelbo", "d", 1.0, trend="increasing"),
    ]
    assert list(watch_list(pd.DataFrame(rows), "2101")["indicator"]) == ["b", "d"]  # c shows no sign


@pytest.fixture(scope="module")
def results(sample_store):
    from tmb_analysis.report import load_results

    return load_results(sample_store)[0]


def test_county_sheet_lists_every_kommun_and_says_it_is_an_input(results):
    html = hearing.county_sheet(results, "21", synthetic=True)
    from tmb_analysis.geography import registry

    for k in registry().kommuner("21"):
        assert k.display_name in html
    assert "underlag för samtalet – inte beslutet" in html and "Exempeldata" in html
    assert "Data: anmälda brott 2024, NTU 2025" in html
    assert "Gemensamma utmaningar" in html and "Länets förslag" in html


def test_worksheet_has_proposals_room_for_notes_and_the_groups_choice(results):
    ranked = results[(results.lan_code == "21") & (results.area_level == "kommun") & results.priority_rank.notna()]
    code = str(ranked.area_code.iloc[0])
    html = hearing.kommun_worksheet(results, code)
    for r in ranked[ranked.area_code == code].itertuples():
        assert f"{int(r.priority_rank)}. {r.indicator_label}" in html
    assert html.count("Lokal kunskap:") >= 1 and "Gruppens tre prioriteringar" in html
    assert "av 100 omräkningar" in html
    # a kommun without proposals says so and lists what to watch, not as proposals
    without = sorted(
        set(results.loc[(results.lan_code == "21") & (results.area_level == "kommun"), "area_code"])
        - set(ranked.area_code)
    )[0]
    other = hearing.kommun_worksheet(results, without)
    assert "inget förslag med tillräckligt stöd" in other and "Att bevaka" in other and "Inte förslag" in other


def test_hearing_pages_are_named_from_codes(results):
    pages = hearing.hearing_pages(results, "21")
    assert set(pages) == {"lan-21.html"} | {
        f"kommun-{c}.html" for c in ("2101", "2104", "2121", "2132", "2161", "2180", "2181", "2182", "2183", "2184")
    }


def test_pack_prints_one_page_per_worksheet_and_reuses_unchanged_pdfs(results, tmp_path, chromium):
    """The pack as the hearing gets it: every kommun's worksheet is ONE A4 page that starts with its name,
    the county sheet fits on two and starts with the county; an unchanged page is not printed again."""
    from pypdf import PdfReader

    from tmb_analysis.geography import registry
    from tmb_analysis.pdf import PdfPrinter

    first = tmp_path / "first"
    with PdfPrinter(chromium) as printer:
        names = hearing.write_pack(results, "21", first, synthetic=True, printer=printer, header="data: 2024")
        printed = printer.printed
    assert printed == 11 and len(names) == 22
    for k in registry().kommuner("21"):
        pdf = PdfReader(first / f"kommun-{k.code}.pdf")
        assert len(pdf.pages) == 1, k.display_name
        text = pdf.pages[0].extract_text()
        assert f"Arbetsblad: {k.display_name}" in text and "Gruppens tre prioriteringar" in text
    county = PdfReader(first / "lan-21.pdf")
    assert len(county.pages) <= 2
    assert "Tillsammans mot brott: Gävleborgs län" in county.pages[0].extract_text()

    again = tmp_path / "again"
    with PdfPrinter(chromium) as printer:
        hearing.write_pack(results, "21", again, synthetic=True, printer=printer, previous=first)
        assert printer.printed == 0
    assert (again / "kommun-2180.pdf").read_bytes() == (first / "kommun-2180.pdf").read_bytes()


def test_pack_without_printer_writes_html_only(results, tmp_path):
    names = hearing.write_pack(results, "21", tmp_path / "h")
    assert sorted(names) == sorted(p.name for p in (tmp_path / "h").iterdir())
    assert all(n.endswith(".html") for n in names) and len(names) == 11
