"""The kommun report's reading order: the cards, the spine chart, "Kort om" and the theme tables on one
page never contradict each other (issue 13). The pages are parsed as a reader's browser gets them."""

import dataclasses
import re
from importlib import resources

import pytest
from bs4 import BeautifulSoup

from tmb_analysis import report

#: The benchmark a proposal's reason names (report_kommun.REASON_WORDS), as the page writes it.
REASON_BENCHMARK = {"övriga länet": "lan", "riket": "riket", "kommungruppen": "group", "liknande kommuner": "peers"}


def _words(el) -> str:
    return " ".join(el.get_text(" ").split()) if el is not None else ""


def _table_row(soup, indicator):
    return soup.select_one(f"table.theme-table tr#ind-{indicator}")


def _table_comparisons(tr) -> dict[str, tuple[str, str]]:
    """{benchmark: (value, words)} of a theme-table row; every benchmark 'uncertain' when the row is "För osäkert"."""
    cells = tr.select("td[data-cmp]")
    if len(cells) == 1 and cells[0]["data-cmp"] == "uncertain":
        return {"*": ("uncertain", "För osäkert")}
    return {
        td["data-cmp"]: (td.select_one(".cmp-words")["data-cmp-value"], _words(td.select_one(".cmp-words")))
        for td in cells
    }


def _chips(el) -> dict[str, tuple[str, str]]:
    return {
        c["data-cmp"]: (c.select_one(".cmp-words")["data-cmp-value"], _words(c.select_one(".cmp-words")))
        for c in el.select(".chip[data-cmp]")
    }


def _same_comparisons(where: str, shown: dict, table: dict) -> list[str]:
    out = []
    if "*" in table:
        if any(v != "uncertain" for v, _ in shown.values()):
            out.append(f"{where}: the table says 'För osäkert', the page shows {shown}")
        return out
    for key, (value, words) in shown.items():
        if key not in table:
            out.append(f"{where}: a comparison with {key} that the table does not have")
        elif table[key] != (value, words):
            out.append(f"{where}: {key} is {words!r} ({value}), the table says {table[key][1]!r} ({table[key][0]})")
    return out


def contradictions(html: str) -> list[str]:
    """Every place where a proposal card, an "Att bevaka" item, the spine chart or "Kort om" says
    something other than the theme table's row for the same indicator: comparison words (symbol and
    word), trend words, "för osäkert", and the reason sentence's benchmarks and trend."""
    soup = BeautifulSoup(html, "html.parser")
    out = []
    for card in soup.select("article.proposal[data-indicator]"):
        ind = card["data-indicator"]
        where = f"card {card.get('id')} ({ind})"
        tr = _table_row(soup, ind)
        if tr is None:
            out.append(f"{where}: no table row")
            continue
        table = _table_comparisons(tr)
        if "*" in table:
            out.append(f"{where}: proposed, but the table says 'För osäkert'")
        out += _same_comparisons(where, _chips(card), table)
        # a trend only when the table's trend says there is one, in the table's words
        table_trend = tr.select_one(".trend-words")
        card_trend = card.select_one(".trend-line .trend-words")
        t_key = table_trend["data-trend"] if table_trend is not None else "unknown"
        if card_trend is not None:
            if t_key not in ("increasing", "decreasing"):
                out.append(f"{where}: shows a trend ({_words(card_trend)!r}); the table says {_words(table_trend)!r}")
            elif _words(card_trend) != _words(table_trend):
                out.append(f"{where}: trend {_words(card_trend)!r}, the table says {_words(table_trend)!r}")
        # the reason: each benchmark it names is one the table marks worse, a rise the table's rise
        why = _words(card.select_one(".why"))
        m = re.match(r"(Högre|Lägre) än (.+?)\.", why)
        bad = {"Högre": "higher", "Lägre": "lower"}[m.group(1)] if m else None
        if m:
            named = re.sub(r"\([^)]*\)", "", m.group(2).split(", och än riket i snitt")[0])
            for phrase, key in REASON_BENCHMARK.items():
                if re.search(rf"(^|[ ,]){phrase}($|[ ,])", named) and "i snitt" not in m.group(2).split(phrase)[-1][:9]:
                    if table.get(key, ("unknown",))[0] != bad:
                        out.append(f"{where}: the reason says {why!r}, the table's {key} says {table.get(key)}")
        for word, trend in (("Ökar", "increasing"), ("Minskar", "decreasing")):
            if word in why and t_key != trend:
                out.append(f"{where}: the reason says {why!r}, the table's trend is {t_key}")
        for word in ("osäkert", "ingen säker", "men "):
            if word in why.lower():
                out.append(f"{where}: the reason hedges ({why!r}) where a proposal is made")
    for item in soup.select(".watch-item[data-indicator]"):
        ind = item["data-indicator"]
        tr = _table_row(soup, ind)
        if soup.select_one(f"article.proposal[data-indicator='{ind}']") is not None:
            out.append(f"Att bevaka {ind}: also a proposal")
        if tr is None:
            out.append(f"Att bevaka {ind}: no table row")
            continue
        out += _same_comparisons(f"Att bevaka {ind}", _chips(item), _table_comparisons(tr))
        shown = item.select_one(".trend-words")
        if shown is not None and _words(shown) != _words(tr.select_one(".trend-words")):
            out.append(
                f"Att bevaka {ind}: trend {_words(shown)!r}, the table says {_words(tr.select_one('.trend-words'))!r}"
            )
    spine_counts: dict[str, dict[str, int]] = {}
    for row in soup.select("table.spine-table tr[data-indicator]"):
        ind = row["data-indicator"]
        tr = _table_row(soup, ind)
        if tr is None:
            out.append(f"spine {ind}: no table row")
            continue
        shown = {
            td["data-cmp"]: (td.select_one(".cmp-words")["data-cmp-value"], _words(td.select_one(".cmp-words")))
            for td in row.select("td[data-cmp]")
        }
        out += _same_comparisons(f"spine {ind}", shown, _table_comparisons(tr))
        for key, (value, _) in shown.items():
            spine_counts.setdefault(key, {}).setdefault(value, 0)
            spine_counts[key][value] += 1
    for dd in soup.select(".kort-om dd[data-kort]"):
        key = dd["data-kort"]
        for count in dd.select(".count[data-count]"):
            n = int(re.search(r"(\d+)", _words(count).replace("▲", "").replace("▼", "").replace("●", "")).group(1))
            if n != spine_counts.get(key, {}).get(count["data-count"], 0):
                out.append(
                    f"Kort om {key}: {_words(count)!r}, the spine chart has "
                    f"{spine_counts.get(key, {}).get(count['data-count'], 0)}"
                )
    listed = [li["data-indicator"] for li in soup.select(".kort-om li.kort-forslag[data-indicator]")]
    cards = [a["data-indicator"] for a in soup.select("article.proposal[data-indicator]")]
    if listed != cards:
        out.append(f"Kort om lists {listed}, the cards are {cards}")
    return out


def _kommun_pages(site):
    pages = sorted(site.glob("kommun-*.html"))
    assert pages
    return pages


def test_no_card_contradicts_its_table_on_the_example_site(built_site):
    out, _ = built_site
    cards = 0
    for path in _kommun_pages(out):
        html = path.read_text("utf-8")
        assert contradictions(html) == [], path.name
        cards += len(BeautifulSoup(html, "html.parser").select("article.proposal"))
    assert cards >= 3  # not vacuous: the example data give Gävleborg's kommuner proposals


@pytest.mark.realdata
def test_no_card_contradicts_its_table_on_the_real_dalarna_site(dalarna_site):
    for path in _kommun_pages(dalarna_site[1]):
        assert contradictions(path.read_text("utf-8")) == [], path.name


def _with_proposal(site):
    for path in _kommun_pages(site):
        html = path.read_text("utf-8")
        if BeautifulSoup(html, "html.parser").select("article.proposal"):
            return html
    raise AssertionError("no kommun of the example site has a proposal")


def test_the_check_finds_each_kind_of_contradiction(built_site):
    """The check can fail: a card's comparison word, a trend the table does not have, a proposal the
    table calls "för osäkert", a reason naming a benchmark the table does not mark, and a Kort om count."""
    html = _with_proposal(built_site[0])
    assert contradictions(html) == []

    def doctored():
        soup = BeautifulSoup(html, "html.parser")
        card = soup.select_one("article.proposal")
        return soup, card, soup.select_one(f"table.theme-table tr#ind-{card['data-indicator']}")

    # 1. a chip that says something else than the table
    soup, card, _ = doctored()
    words = card.select_one(".chip .cmp-words")
    words.contents[-1].replace_with(" Lägre" if "Lägre" not in words.get_text() else " Högre")
    assert any("the table says" in c for c in contradictions(str(soup)))
    # 2. a trend line where the table has none, or other words than the table's
    soup, card, tr = doctored()
    line = BeautifulSoup(
        "<p class='trend-line'>Trend: <span class='trend-words' data-trend='increasing'>"
        "<span class='sym' aria-hidden='true'>↗</span> Ökar +25,6 % per år</span>.</p>",
        "html.parser",
    )
    if card.select_one(".trend-line"):
        card.select_one(".trend-line").replace_with(line)
    else:
        card.select_one(".support").insert_before(line)
    assert any("trend" in c for c in contradictions(str(soup)))
    # 3. the table row says "För osäkert"
    soup, card, tr = doctored()
    cells = tr.select("td[data-cmp]")
    unsure = soup.new_tag("td", attrs={"data-cmp": "uncertain", "colspan": str(len(cells))})
    unsure.string = "För osäkert"
    cells[0].replace_with(unsure)
    for td in cells[1:]:
        td.decompose()
    assert any("För osäkert" in c for c in contradictions(str(soup)))
    # 4. a reason naming a benchmark the table marks "Ingen säker skillnad" (or a rise it does not have)
    soup, card, tr = doctored()
    similar = [k for k, (v, _) in _table_comparisons(tr).items() if v == "similar"]
    phrase = {v: k for k, v in REASON_BENCHMARK.items()}[similar[0]] if similar else None
    card.select_one(".why").string = f"Högre än {phrase}." if phrase else "Högre än riket. Ökar snabbare än i riket."
    if not similar and tr.select_one(".trend-words")["data-trend"] == "increasing":
        pytest.skip("the example card is higher than every benchmark and rising")
    assert any("the reason says" in c for c in contradictions(str(soup)))
    # 5. a Kort om count that is not the spine chart's
    soup, _, _ = doctored()
    count = soup.select_one(".kort-om dd[data-kort] .count[data-count='higher']")
    n = int(re.search(r"(\d+)", count.get_text()).group(1))
    count.contents[-1].replace_with(f" {n + 1} högre")
    assert any("Kort om" in c for c in contradictions(str(soup)))


@pytest.fixture(scope="module")
def gavle(sample_store):
    return report.context("2180", sample_store, 0, kind="kommun")


def _page(ctx) -> str:
    return "".join(s(ctx).data for s in (report.kort_om, report.spine, report.proposal_cards, report.theme_blocks))


def test_no_proposal_says_so_and_shows_what_to_watch(gavle):
    """Issue 10's multiplicity rule leaves many real kommuner without a proposal: the page says so in
    plain words, and "Att bevaka" lists the nearest candidates, marked as not proposals, in the table's words."""
    res = gavle.results.copy()
    mine = res.area_code == gavle.area.code
    res.loc[mine, "priority_rank"] = float("nan")  # as if no candidate had survived the rule
    res.loc[mine, "priority_eligible"] = False
    ctx = dataclasses.replace(gavle, results=res)
    html = _page(ctx)
    assert "Inget förslag i år" in report.proposal_cards(ctx).data and "Inget förslag i år" in report.kort_om(ctx).data
    assert "<article class='proposal'" not in html
    watch = report.watch_rows(ctx)
    assert len(watch)  # Gävle has comparisons marked ▲ one at a time in the example data
    cards = report.proposal_cards(ctx).data
    assert "Att bevaka – inte förslag" in cards and "<strong>inte förslag</strong>" in cards
    for ind in watch["indicator"]:
        assert f"data-indicator='{ind}'" in cards
    assert contradictions(html) == []
    # every item is one the table marks worse (one comparison at a time) or with a worse trend
    soup = BeautifulSoup(html, "html.parser")
    for item in soup.select(".watch-item"):
        values = [v for v, _ in _chips(item).values()]
        assert "higher" in values or item.select_one(".trend-words") is not None, _words(item)


def test_watch_list_is_empty_when_nothing_is_worse(gavle):
    res = gavle.results.copy()
    mine = res.area_code == gavle.area.code
    res.loc[mine, "priority_rank"] = float("nan")
    res.loc[mine, "priority_eligible"] = False
    for col in ("cmp_lan", "cmp_riket", "cmp_group", "cmp_peers"):
        res.loc[mine, col] = "similar"
    res.loc[mine, "trend"] = "no_clear_trend"
    ctx = dataclasses.replace(gavle, results=res)
    assert report.watch_rows(ctx).empty
    cards = report.proposal_cards(ctx).data
    assert "Inget förslag i år" in cards and "inget särskilt att bevaka" in cards and "watch-item" not in cards


def test_cards_on_the_page_follow_the_results_table(gavle):
    """Each proposal card states the figure, the interval and the stability of its results row."""
    from tmb_analysis import formatting as F
    from tmb_analysis.priorities import stability_text

    ranked = report._ranked(gavle)
    assert len(ranked)
    soup = BeautifulSoup(report.proposal_cards(gavle).data, "html.parser")
    for _, r in ranked.iterrows():
        card = soup.select_one(f"article#forslag-{int(r.priority_rank)}")
        assert card["data-indicator"] == r.indicator
        unit = "percent" if r.unit == "percent" else "per_100k"
        text = _words(card)

        def norm(t):
            return " ".join(t.split())

        assert norm(F.fmt_value(r.value, unit)) in text
        assert norm(F.fmt_value_interval(r.ci_low, r.ci_high, unit, r.value)) in text
        assert norm(stability_text(r.priority_stability).lower()) in text
        assert card.select_one(".proposal-chart figure.tmb-figure") is not None  # every proposal has its trend chart
        assert "Så räknades förslaget" in text and "Skadevikt" in text and "Poäng" in text


def test_comparison_groups_are_named_with_their_members(gavle):
    html = report.theme_blocks(gavle).data
    assert "Vilka kommuner jämförs Gävle med?" in html
    m = re.search(r"<strong>Kommungruppen</strong>: ([^<]+)", html)
    assert m and "(SKR:s kommungruppsindelning)" in m.group(1) and "kommuner:" in m.group(1)


def test_a_card_can_show_a_sentence_from_another_module(gavle):
    """proposal_cards(ctx, related=f): f(ctx, indicator)'s sentence under each card's comparisons, escaped."""
    seen = []

    def related(ctx, indicator):
        seen.append(indicator)
        return f"Relaterat <{indicator}>"

    html = report.proposal_cards(gavle, related=related).data
    assert seen == list(report._ranked(gavle)["indicator"])
    for ind in seen:
        assert f"<p class='related'>Relaterat &lt;{ind}&gt;</p>" in html
    assert "class='related'" not in report.proposal_cards(gavle).data


def test_spine_chart_shows_what_differs_up_front_and_folds_the_rest(gavle):
    """Every indicator of the theme tables is in the spine chart exactly once; up front exactly those the
    theme table marks higher or lower than the rest of the län or riket, and the proposals; the others
    under the fold "Visa alla indikatorer", whose summary counts them."""
    html = _page(gavle)
    soup = BeautifulSoup(html, "html.parser")
    table = {tr["id"][len("ind-") :]: _table_comparisons(tr) for tr in soup.select("table.theme-table tr[id^='ind-']")}
    fold = soup.select_one("details.spine-more")
    assert fold is not None and fold.select_one("summary").get_text().startswith("Visa alla indikatorer")
    folded = [tr["data-indicator"] for tr in fold.select("table.spine-table tr[data-indicator]")]
    front = [
        tr["data-indicator"]
        for tr in soup.select("table.spine-table tr[data-indicator]")
        if tr.find_parent("details", class_="spine-more") is None
    ]
    assert sorted(front + folded) == sorted(table)  # each indicator once
    proposed = {c["data-indicator"] for c in soup.select("article.proposal[data-indicator]")}
    for ind, cmps in table.items():
        differs = any(cmps.get(k, ("",))[0] in ("higher", "lower") for k in ("lan", "riket"))
        assert (ind in front) == (differs or ind in proposed), (ind, cmps)
    assert front and folded  # not vacuous: Gävle has both in the example data
    assert str(len(folded)) in fold.select_one("summary").get_text() or len(folded) <= 12
    # the two parts have their own captions; the legend is drawn once
    ids = [c["id"] for c in soup.select("table.spine-table caption")]
    assert len(ids) == len(set(ids)) == 2 and len(soup.select(".spine-legend")) == 1


def test_spine_chart_without_differences_says_so_and_keeps_every_row(gavle):
    res = gavle.results.copy()
    res.attrs.pop("tmb_key", None)  # a changed copy (see report._shared)
    mine = res.area_code == gavle.area.code
    for col in ("cmp_lan", "cmp_riket"):
        if col in res:
            res.loc[mine, col] = "similar"
    res.loc[mine, "priority_rank"] = float("nan")
    ctx = dataclasses.replace(gavle, results=res)
    html = report.spine(ctx).data
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one("table.spine-table tr[data-indicator]").find_parent("details", class_="spine-more")
    assert "skiljer sig säkert" in soup.select_one("p.spine-none").get_text()
    assert len(soup.select("details.spine-more tr[data-indicator]")) == len(report_kommun_rows(ctx))
    assert len(soup.select(".spine-legend")) == 1


def report_kommun_rows(ctx):
    from tmb_analysis.report_kommun import _rows

    return _rows(ctx)


def test_method_notes_keep_the_order_the_print_stylesheet_relies_on(gavle):
    """On paper tmb.css hides the first two headings of the method notes and their lists (Definitioner,
    Metod) and keeps Att tänka på and Källor, with a pointer to the web version; the files are not printed."""
    from tmb_analysis.report import method_notes

    soup = BeautifulSoup(method_notes(gavle), "html.parser")
    assert [h.get_text() for h in soup.find_all("h3")] == ["Definitioner", "Metod", "Att tänka på", "Källor"]
    assert len(soup.find_all("ul", recursive=False)) >= 3
    html = report.method_section(gavle).data
    assert "print-only" in html and "metod.html" in html and "kommun-2180.html" in html
    assert "screen-only" in report.file_section(gavle).data
    css = resources.files("tmb_analysis").joinpath("assets/tmb.css").read_text("utf-8")
    assert "details.method .method-notes > h3:nth-of-type(-n+2)" in css
