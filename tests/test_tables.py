"""HTML tables from the results table: accessible markup, Swedish words, escaping."""

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from tmb_analysis.formatting import COMPARISON_TEXT, TREND_TEXT
from tmb_analysis.tables import HEADINGS, TABLE_CSS, indicator_table_html, lan_table_html
from tmb_analysis.testing import synthetic_results


@pytest.fixture(scope="module")
def results():
    return synthetic_results()


class _Checker(HTMLParser):
    """Collects tags and checks that the markup is well nested."""

    VOID = {"br", "img", "meta", "link", "col", "hr", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def _parse(html: str) -> _Checker:
    c = _Checker()
    c.feed(html)
    c.close()
    assert not c.errors and not c.stack, (c.errors, c.stack)
    return c


def test_indicator_table_structure_and_headings(results):
    html = indicator_table_html(results, "2180", 2024)
    c = _parse(html)
    tags = [t for t, _ in c.tags]
    assert tags.count("table") == 1 and tags.count("caption") == 1 and tags.count("thead") == 1
    cols = [a for t, a in c.tags if t == "th" and a.get("scope") == "col"]
    assert len(cols) == 6
    for heading in (
        "Indikator",
        "Värde",
        "95\u00a0% konfidensintervall",
        "Jämfört med länet",
        "Jämfört med riket",
        "Trend (% per år)",
    ):
        assert f'<th scope="col">{heading}</th>' in html
    assert HEADINGS[0] == "Indikator"
    # one rowgroup header per theme, in catalogue theme order
    groups = re.findall(r'<th scope="rowgroup"[^>]*>([^<]*)</th>', html)
    assert groups == ["Skadegörelse", "Otrygghet"]
    assert len([a for t, a in c.tags if t == "th" and a.get("scope") == "row"]) == 2
    assert "<caption>Gävle: indikatorer 2024" in html


def test_indicator_table_values_are_swedish(results):
    row = results[(results.area_code == "2180") & (results.year == 2024) & (results.indicator == "skadegorelse")].iloc[
        0
    ]
    html = indicator_table_html(results, "2180", 2024)
    rate = f"{round(row.value):,}".replace(",", "\u00a0")
    assert rate in html
    assert "\u2013" in html  # interval en dash
    assert "nan" not in html.lower()
    assert "\u00a0%" in html


def test_every_comparison_has_symbol_word_and_class():
    df = synthetic_results().query("year == 2024 and area_code == '2180'").copy()
    for cmp, trend in (
        ("higher", "increasing"),
        ("lower", "decreasing"),
        ("similar", "no_clear_trend"),
        ("unknown", "unknown"),
    ):
        df["cmp_lan"] = cmp
        df["cmp_riket"] = cmp
        df["trend"] = trend
        html = indicator_table_html(df, "2180", 2024)
        symbol, word = COMPARISON_TEXT[cmp]
        assert re.search(
            rf'<td class="cmp-{cmp}[^"]*" data-label="Länet"><span class="sym" aria-hidden="true">'
            rf"{re.escape(symbol)}</span> {word}</td>",
            html,
        )
        tsym, tword = TREND_TEXT[trend].split(" ", 1)
        assert f'<span class="sym" aria-hidden="true">{tsym}</span> {tword}' in html
    assert 'class="cmp-higher-bad"' in indicator_table_html(df.assign(cmp_lan="higher"), "2180", 2024)
    assert 'class="cmp-lower-good"' in indicator_table_html(df.assign(cmp_lan="lower"), "2180", 2024)


def test_worse_lower_flips_the_colour_class():
    df = (
        synthetic_results()
        .query("year == 2024 and area_code == '2180'")
        .assign(worse="lower", cmp_lan="higher", cmp_riket="lower", trend="increasing")
    )
    html = indicator_table_html(df, "2180", 2024)
    assert "cmp-higher-good" in html and "cmp-lower-bad" in html and "trend-increasing-good" in html


def test_missing_values_render_as_dash():
    df = synthetic_results().query("year == 2024 and area_code == '2180'").copy()
    for col in ("value", "ci_low", "ci_high", "trend_pct_per_year", "cmp_lan", "trend"):
        df[col] = pd.NA if col not in ("value", "ci_low", "ci_high", "trend_pct_per_year") else float("nan")
    html = indicator_table_html(df, "2180", 2024)
    assert "nan" not in html.lower() and "<NA>" not in html
    assert "Okänt" in html and "Okänd trend" in html


XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_data_text_is_escaped():
    df = synthetic_results()
    df.loc[df.area_code == "2180", "area_name"] = XSS
    df.loc[df.area_code == "21", "area_name"] = XSS
    df["indicator_label"] = XSS
    df["theme"] = XSS
    for html in (indicator_table_html(df, "2180", 2024), lan_table_html(df, "21", "skadegorelse", 2024)):
        assert "<script>" not in html
        assert XSS_ESCAPED in html
    assert html.count(XSS_ESCAPED) >= 3  # caption label, the kommun row, the län row


def test_lan_and_riket_rows_mark_comparisons_not_applicable(results):
    html = indicator_table_html(results, "21", 2024)
    assert "ej tillämpligt" in html  # a län is not compared with its own län
    html = indicator_table_html(results, "00", 2024)
    assert html.count("ej tillämpligt") == 4  # two indicators × two comparisons


def test_lan_table(results):
    html = lan_table_html(results, "21", "skadegorelse", 2024, highlight="2180")
    c = _parse(html)
    rows = re.findall(r'<th scope="row">([^<]*)</th>', html)
    assert len(rows) == 12  # ten kommuner, the län and riket
    assert rows[-2:] == ["Gävleborgs län", "Riket"]
    assert "Vansbro" not in rows  # another län's kommun
    kommuner = rows[:10]
    assert kommuner[0] == "Bollnäs" and kommuner[-1] == "Söderhamn"  # Swedish order: ö after z
    assert '<th scope="col">Kommun</th>' in html
    assert '<tr class="highlight"><th scope="row">Gävle</th>' in html
    assert "<caption>Skadegörelsebrott" in html and "Gävleborgs län 2024" in html
    assert len([a for t, a in c.tags if t == "tbody"]) == 2


def test_lan_table_lists_kommun_without_data(results):
    df = results[results.area_code != "2101"]
    html = lan_table_html(df, "21", "skadegorelse", 2024)
    assert (
        '<th scope="row">Ockelbo</th><td class="num" data-label="Värde">–<span class="sub">uppgift saknas</span>'
        in html
    )


def test_table_css_covers_classes():
    for cls in (
        "cmp-higher-bad",
        "cmp-lower-good",
        "cmp-higher-good",
        "cmp-lower-bad",
        "cmp-similar",
        "cmp-unknown",
        "trend-increasing-bad",
        "trend-decreasing-good",
        "trend-no_clear_trend",
        "trend-unknown",
        "visually-hidden",
    ):
        assert f".{cls}" in TABLE_CSS
    assert "@media print" in TABLE_CSS and "@" not in TABLE_CSS.replace("@media", "")


def test_lan_matrix_one_row_per_kommun_cells_classed_by_riket(results):
    from tmb_analysis.tables import lan_matrix_html

    html = lan_matrix_html(results, "21", 2024)
    tables = re.findall(r"<table.*?</table>", html, re.S)
    # one table per theme of the catalogue; the fixture has data for skadegörelse and otrygghet only
    skad = next(t for t in tables if "Skadegörelsebrott<span" in t)
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', skad)
    names = [n for n, _ in rows]
    assert names[:10] == [
        "Bollnäs",
        "Gävle",
        "Hofors",
        "Hudiksvall",
        "Ljusdal",
        "Nordanstig",
        "Ockelbo",
        "Ovanåker",
        "Sandviken",
        "Söderhamn",
    ] and names[10:] == ["Gävleborgs län", "Riket"]
    assert "Vansbro" not in names
    sel = results[(results.year == 2024) & (results.indicator == "skadegorelse")].set_index("area_name")
    col = skad.split('<th scope="col">')[1:].index(
        next(h for h in skad.split('<th scope="col">')[1:] if h.startswith("Skadegörelsebrott"))
    )
    for name, cells in rows[:10]:
        tds = re.findall(r"<td( class=\"[^\"]*\")?>([^<]*)(?:<span class=\"cmp-word\">[^<]*</span>)?</td>", cells)
        cls, text = tds[col - 1]
        text = text.rstrip("\u00a0")  # the symbol and word follow in their own span
        r = sel.loc[name]
        expected = {"higher": "cmp-higher-bad", "lower": "cmp-lower-good", "similar": "cmp-similar"}[r.cmp_riket]
        assert cls == f' class="{expected}"', name
        assert text == f"{round(r.value):,}".replace(",", "\u00a0")  # Swedish thousands separator
    # benchmark rows carry no comparison
    assert re.search(r'<th scope="row">Riket</th><td>[^<]+</td>', skad)


def test_lan_matrix_symbols_are_text_that_survives_copy_and_paste():
    """The comparison is written into the cell as a symbol and a word (not drawn by CSS), so a table
    pasted into Word or Excel keeps it."""
    from tmb_analysis.tables import MATRIX_CSS, lan_matrix_html

    df = synthetic_results()
    html = lan_matrix_html(df, "21", 2024)
    assert "::after" not in MATRIX_CSS
    for c, (sym, word) in {
        "higher": ("▲", "högre"),
        "lower": ("▼", "lägre"),
        "similar": ("●", "ingen säker skillnad"),
    }.items():
        if (df["cmp_riket"] == c).any():
            assert f'<span class="cmp-word">{sym} {word}</span>' in html


def test_lan_matrix_escapes_data_text():
    from tmb_analysis.tables import lan_matrix_html

    df = synthetic_results()
    df.loc[df.area_code == "21", "area_name"] = XSS
    html = lan_matrix_html(df, "21", 2024)
    assert "<script>" not in html and XSS_ESCAPED in html


def test_small_kommun_shows_stabilised_and_pooled_rates():
    from tmb_analysis.tables.cells import _value_cell

    row = {
        "indicator": "bostadsinbrott",
        "unit": "per_100k",
        "value": 250.0,
        "count": 15,
        "population": 6000,
        "eb_value": 181.4,
        "pooled_value": 203.7,
        "pooled_years": "2023–2025",
        "small_area": True,
    }
    cell = str(_value_cell(row, show_eb=True))
    # issue 13: the words say what the numbers are (a smoothed value; a three-year average rate, not a count)
    assert "utjämnat värde: 181" in cell and "snitt 2023–2025: 204 per 100\u00a0000 inv." in cell
    assert "utjämnat" not in str(_value_cell(dict(row, small_area=False), show_eb=True))
    assert "snitt" not in str(_value_cell(row, show_eb=False))  # län and riket rows
    # without the flag (an older results table) the population decides
    legacy = {k: v for k, v in row.items() if k != "small_area"}
    assert "utjämnat" in str(_value_cell(legacy, show_eb=True))
    assert "utjämnat" not in str(_value_cell(dict(legacy, population=45_000), show_eb=True))


def test_recording_changes_are_said_where_the_years_span_them():
    from tmb_analysis.tables import recording_note

    note = recording_note(["vald_nara_kvinnor", "totalt", "bilbrott"], 2016, 2025)
    assert note == (
        "Våld i nära relationer mot kvinnor: registreringen ändrades, jämförbart från 2020; "
        "Bilbrott: registreringen ändrades, jämförbart från 2018."
    )
    assert recording_note(["vald_nara_kvinnor"], 2021, 2025) == ""  # all the years shown are comparable
    assert recording_note(["totalt"], 2016, 2025) == ""


def test_sources_note_says_where_the_population_comes_from():
    from tmb_analysis.tables import sources_note

    assert sources_note(["crime", "survey"]) == (
        "Källor: Brå (anmälda brott och Nationella trygghetsundersökningen, NTU) och SCB (folkmängd)."
    )
    derived = sources_note(["crime"], scb_population=False)
    assert "SCB" not in derived and "härledd ur Brå:s antal" in derived and derived.count("Källa") == 1
    assert "SCB" not in sources_note(["crime", "survey"], scb_population=False)
