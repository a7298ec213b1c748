"""Plotly figures: traces, Swedish texts, highlight, offline maps and figure sizes."""

import json
import os
import shutil

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from tmb_analysis.charts import (
    caterpillar_chart,
    county_map,
    figure_json_size,
    funnel_chart,
    kommun_geojson,
    trend_chart,
)
from tmb_analysis.testing import synthetic_results

MAP_SIZE_BOUND = 150_000
TILE_TYPES = {"scattermapbox", "choroplethmapbox", "densitymapbox", "scattermap", "choroplethmap", "densitymap"}


@pytest.fixture(scope="module")
def results():
    return synthetic_results()


def _common(fig: go.Figure):
    assert isinstance(fig, go.Figure)
    assert fig.layout.separators == ", "
    assert fig.layout.title.text
    assert fig.layout.template.layout.xaxis.ticks == "outside"  # simple_white
    assert not {t.type for t in fig.data} & TILE_TYPES
    assert "mapbox" not in fig.to_json()
    assert not {"mapbox", "map"} & set(fig.to_plotly_json()["layout"])


def _max_decimals(values) -> int:
    out = 0
    for v in values:
        if v is None or isinstance(v, int):
            continue
        s = repr(float(v))
        out = max(out, len(s.split(".")[1]) if "." in s and "e" not in s else 0)
    return out


# ---- trend ----------------------------------------------------------------------------------


def test_trend_chart(results):
    fig = trend_chart(results, "2180", "skadegorelse")
    _common(fig)
    assert len(fig.data) == 4
    band, area, lan, riket = fig.data
    assert band.fill == "toself" and "konfidensintervall" in band.name
    assert (area.name, lan.name, riket.name) == ("Gävle", "Gävleborgs län", "Riket")
    assert list(area.x) == list(range(2016, 2026))
    assert len(band.x) == 20
    assert fig.layout.yaxis.title.text == "Anmälda brott per 100\u00a0000 invånare"
    assert fig.layout.xaxis.title.text == "År"
    assert "Skadegörelsebrott" in fig.layout.title.text
    assert _max_decimals(list(area.y) + list(band.y)) <= 1
    # lines differ by dash style too, not only by colour
    assert len({area.line.dash, lan.line.dash, riket.line.dash}) == 3
    # hover texts are Swedish-formatted
    assert "\u00a0" in area.text[0] and "konfidensintervall" in area.text[0]


def test_trend_chart_survey_and_lan(results):
    fig = trend_chart(results, "2101", "otrygghet_kvall")
    assert fig.layout.yaxis.title.text == "Andel (%)"
    fig = trend_chart(results, "21", "skadegorelse")
    assert [t.name for t in fig.data][1:] == ["Gävleborgs län", "Riket"]
    fig = trend_chart(results, "00", "skadegorelse")
    assert len(fig.data) == 2


def test_trend_chart_without_intervals_has_no_band(results):
    df = results.assign(ci_low=np.nan, ci_high=np.nan)
    fig = trend_chart(df, "2180", "skadegorelse")
    assert len(fig.data) == 3 and all(t.fill is None for t in fig.data)


# ---- map ------------------------------------------------------------------------------------


def test_kommun_geojson_simplified():
    geo = kommun_geojson("21")
    assert len(geo["features"]) == 10
    assert {f["properties"]["area_code"] for f in geo["features"]} == {
        "2101",
        "2104",
        "2121",
        "2132",
        "2161",
        "2180",
        "2181",
        "2182",
        "2183",
        "2184",
    }
    assert len(json.dumps(geo)) < 50_000


def test_county_map(results):
    fig = county_map(results, "21", "skadegorelse", 2024)
    _common(fig)
    # first trace: the lon/lat label trace (keeps plotly.js from fetching topojson from a CDN)
    assert fig.data[0].type == "scattergeo" and fig.data[0].lon is not None and fig.data[0].locations is None
    chor = [t for t in fig.data if t.type == "choropleth"]
    assert len(fig.data) == 2 and len(chor) == 1
    c = chor[0]
    assert len(c.locations) == 10 and len(set(c.locations)) == 10
    assert c.featureidkey == "properties.area_code"
    assert len(c.geojson["features"]) == 10
    assert fig.layout.geo.fitbounds == "locations" and fig.layout.geo.visible is False
    assert "Gävleborgs län" in fig.layout.title.text and "2024" in fig.layout.title.text
    assert any("Gävle</b>" in t for t in c.text)
    assert all("per 100\u00a0000" in t for t in c.text)
    assert _max_decimals(c.z) <= 1
    # the value is also written on the map, not only shown by colour
    labels = fig.data[0]
    assert labels.mode == "text" and len(labels.text) == 10


def test_county_map_highlight_outlined(results):
    fig = county_map(results, "21", "skadegorelse", 2024, highlight="2180")
    assert len(fig.data) == 3
    base, outline = fig.data[1], fig.data[2]
    assert list(outline.locations) == ["2180"]
    assert outline.marker.line.width > base.marker.line.width
    assert outline.showscale is False and outline.hoverinfo == "skip"
    # an unknown code adds no trace
    assert len(county_map(results, "21", "skadegorelse", 2024, highlight="0180").data) == 2


def test_county_map_missing_kommun_is_grey(results):
    df = results[results.area_code != "2101"]
    fig = county_map(df, "21", "skadegorelse", 2024, labels=False)
    assert [t.type for t in fig.data] == ["scattergeo", "choropleth", "choropleth"]
    assert list(fig.data[2].locations) == ["2101"] and "Uppgift saknas" in fig.data[2].text[0]
    assert len(fig.data[1].locations) == 9


def test_county_map_size(results, record_property):
    fig = county_map(results, "21", "skadegorelse", 2024, highlight="2180")
    size = figure_json_size(fig)
    record_property("county_map_21_json_bytes", size)
    print(f"county_map län 21 with highlight: {size} bytes of JSON")
    assert size < MAP_SIZE_BOUND
    assert figure_json_size(county_map(results, "21", "skadegorelse", 2024)) < 0.8 * MAP_SIZE_BOUND


# ---- caterpillar --------------------------------------------------------------------------


def test_caterpillar_chart(results):
    fig = caterpillar_chart(results, "21", "skadegorelse", 2024, highlight="2180")
    _common(fig)
    points = [t for t in fig.data if t.mode == "markers" and not t.name.startswith("Markerad")]
    lines = [t for t in fig.data if t.mode == "lines"]
    marked = [t for t in fig.data if t.name.startswith("Markerad")]
    assert sum(len(t.x) for t in points) == 10
    assert [t.name.split(":")[0] for t in lines] == ["Gävleborgs län", "Riket"]
    assert all(t.x[0] == t.x[1] for t in lines)  # vertical
    assert len(fig.data) == len(points) + 2 + 1 and len(marked) == 1
    # sorted by value: y position increases with value
    pairs = sorted((y, x) for t in points for x, y in zip(t.x, t.y))
    assert [x for _, x in pairs] == sorted(x for _, x in pairs)
    # error bars are the interval
    kom = results.query("year == 2024 and indicator == 'skadegorelse' and area_code == '2180'").iloc[0]
    for t in points:
        for x, y, plus, minus in zip(t.x, t.y, t.error_x.array, t.error_x.arrayminus):
            if abs(x - kom.value) < 0.1:
                assert abs(x + plus - kom.ci_high) < 0.2 and abs(x - minus - kom.ci_low) < 0.2
    # words in the legend, symbols differ by comparison
    assert {t.marker.symbol for t in points} <= {"triangle-up", "triangle-down", "circle", "circle-open"}
    assert all(any(w in t.name for w in ("Högre", "Lägre", "Ingen säker skillnad", "Okänt")) for t in points)
    ticktext = list(fig.layout.yaxis.ticktext)
    assert "<b>Gävle</b>" in ticktext and len(ticktext) == 10
    assert fig.layout.xaxis.title.text == "Anmälda brott per 100\u00a0000 invånare"


# ---- funnel --------------------------------------------------------------------------------


def test_funnel_chart_draws_the_limits_of_funnel_data(results):
    """One home for the limits: the chart draws exactly statistics.funnel.funnel_data's limits (a table
    without the model's columns, as here, gets phi 1 and tau2 0: FunnelPlotR's CQC limits)."""
    from tmb_analysis.statistics.funnel import funnel_data

    d = funnel_data(results, "skadegorelse", 2024)
    assert not d["model"] and d["phi"] == 1.0 and d["tau2"] == 0.0
    fig = funnel_chart(results, "skadegorelse", 2024)
    lim = d["limits"].sort_values("population")
    drawn = list(fig.data[0].y)
    cut = drawn.index(None)
    np.testing.assert_allclose(drawn[:cut], lim.hi_998, atol=0.05)  # rounded to one decimal for the trace
    np.testing.assert_allclose(drawn[cut + 1 :], lim.lo_998, atol=0.05)
    riket = results[(results.area_code == "00") & (results.indicator == "skadegorelse") & (results.year == 2024)].iloc[
        0
    ]
    rate = riket["count"] / riket["population"] * 1e5
    n = lim.population.to_numpy()
    sd = np.sqrt(1e5 / (4 * n) + 1e5 / (4 * riket["population"]))  # Poisson part and riket's own
    np.testing.assert_allclose(lim.hi_95, (np.sqrt(rate) + 1.959964 * sd) ** 2, rtol=1e-6)


def test_funnel_chart_fallback(results):
    fig = funnel_chart(results, "skadegorelse", 2024, highlight="2180")
    _common(fig)
    assert len(fig.data) == 5
    names = [t.name for t in fig.data]
    assert names[0].startswith("99,8\u00a0%") and names[1].startswith("95\u00a0%")
    assert names[2].startswith("Riket")
    pts = fig.data[3]
    assert len(pts.x) == 11  # all kommuner in the table (both län)
    hl = fig.data[4]
    assert hl.name == "Gävle" and list(hl.x) == [103_700]
    assert hl.marker.size > pts.marker.size
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.yaxis.title.text == "Anmälda brott per 100\u00a0000 invånare"
    assert "\u00a0" in fig.layout.xaxis.ticktext[-1]  # '100 000'


def test_funnel_chart_supplied_limits_and_lan(results):
    limits = pd.DataFrame(
        {
            "population": [1_000, 200_000],
            "lo_95": [1.0, 2.0],
            "hi_95": [3.0, 4.0],
            "lo_998": [0.5, 1.5],
            "hi_998": [3.5, 4.5],
        }
    )
    fig = funnel_chart(results, "skadegorelse", 2024, lan_code="21", limits=limits)
    assert len(fig.data) == 4  # no highlight
    assert list(fig.data[1].y) == [3.0, 4.0, None, 1.0, 2.0]  # the 95 % limits, as given
    assert len(fig.data[3].x) == 10
    assert "Gävleborgs län" in fig.layout.title.text


def test_funnel_chart_survey_uses_the_precision_of_the_published_interval(results):
    fig = funnel_chart(results, "otrygghet_kvall", 2024, lan_code="21", highlight="2101")
    assert fig.layout.yaxis.title.text == "Andel (%)"
    assert fig.layout.xaxis.title.text.startswith("Precision: effektivt antal svarande")
    r = results[(results.area_code == "2101") & (results.indicator == "otrygghet_kvall") & (results.year == 2024)].iloc[
        0
    ]
    k = results[(results.area_code == "00") & (results.indicator == "otrygghet_kvall") & (results.year == 2024)].iloc[0]
    se = (r.ci_high - r.ci_low) / (2 * 1.959964)
    assert list(fig.data[-1].x) == [round(k.value * (100 - k.value) / se**2)]


# ---- escaping ----------------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"


def test_data_text_is_escaped_in_figures():
    df = synthetic_results()
    df.loc[df.area_code.isin(["2180", "21"]), "area_name"] = XSS
    df["indicator_label"] = XSS
    figs = [
        trend_chart(df, "2180", "skadegorelse"),
        county_map(df, "21", "skadegorelse", 2024, highlight="2180"),
        caterpillar_chart(df, "21", "skadegorelse", 2024, highlight="2180"),
        funnel_chart(df, "skadegorelse", 2024, highlight="2180"),
    ]
    for fig in figs:
        text = json.dumps(fig.to_plotly_json(), ensure_ascii=False, default=str)
        assert "<script>" not in text
        assert "&lt;script&gt;" in text


# ---- offline rendering in a real browser ------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
def test_county_map_renders_offline(results, tmp_path):
    """The map draws its ten kommuner with no network request (no topojson from a CDN)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not shutil.which(CHROMIUM):
        if os.environ.get("TMB_REQUIRE_BROWSER") == "1":
            pytest.fail("playwright or Debian chromium missing")
        pytest.skip("playwright or Debian chromium missing")
    fig = county_map(results, "21", "skadegorelse", 2024, highlight="2180")
    page_path = tmp_path / "map.html"
    fig.write_html(page_path, include_plotlyjs=True, full_html=True)
    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url) if not r.url.startswith("file:") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.wait_for_selector("path.choroplethlocation", timeout=15_000)
            drawn = page.evaluate("document.querySelectorAll('path.choroplethlocation').length")
        finally:
            browser.close()
    assert requests == [] and errors == []
    assert drawn == 11  # ten kommuner plus the highlight outline


def test_caterpillar_selectable_states_hold_each_indicators_intervals(results):
    from tmb_analysis.charts import caterpillar_selectable

    fig = caterpillar_selectable(results, "21", ["skadegorelse", "otrygghet_kvall"], 2024, order="value")
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == [
        "Skadegörelsebrott",
        "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet",
    ]
    assert len(fig.data) == 6  # four comparisons and the two lines, whatever the indicator
    dec = 1  # traces keep one decimal (one more than the pages show)
    for b, ind in zip(buttons, ["skadegorelse", "otrygghet_kvall"]):
        data, layout = b.args[0], b.args[1]
        names = layout["yaxis.ticktext"]
        assert len(names) == 10 and "Vansbro" not in names
        sel = results.query("year == 2024 and indicator == @ind").set_index("area_name")
        for xs, ys, plus, minus in zip(
            data["x"][:4], data["y"][:4], data["error_x.array"][:4], data["error_x.arrayminus"][:4]
        ):
            for x, y, p, m in zip(xs, ys, plus, minus):
                r = sel.loc[names[y]]
                assert x == round(r.value, dec)
                assert abs(x + p - r.ci_high) <= 0.51 * 10**-dec and abs(x - m - r.ci_low) <= 0.51 * 10**-dec
        values = [x for xs in data["x"][:4] for x in xs]
        by_pos = sorted(zip([y for ys in data["y"][:4] for y in ys], values))
        assert [v for _, v in by_pos] == sorted(values)  # sorted by value along the axis
        lan, riket = data["x"][4], data["x"][5]
        assert lan[0] == round(sel.loc["Gävleborgs län"].value, dec) and riket[0] == round(sel.loc["Riket"].value, dec)


def test_funnel_highlight_marks_as_funnel_chart_does(results):
    """The shared funnel (drawn once per run) marked per kommun equals drawing it with the mark."""
    from tmb_analysis.charts import funnel_chart, funnel_highlight

    for ind in ("skadegorelse", "otrygghet_kvall"):
        direct = funnel_chart(results, ind, 2024, level="kommun", highlight="2180")
        base = funnel_chart(results, ind, 2024, level="kommun")
        marked = funnel_highlight(base, results, ind, 2024, "2180")
        assert len(marked.data) == len(base.data) + 1 and len(base.data) == len(direct.data) - 1
        a, b = direct.data[-1], marked.data[-1]
        assert (a.x, a.y, a.name, a.hovertext, a.marker.symbol) == (b.x, b.y, b.name, b.hovertext, b.marker.symbol)
    assert len(funnel_highlight(base, results, "otrygghet_kvall", 2024, "9999").data) == len(base.data)


@pytest.mark.parametrize("order", ["name", "value", "population"])
def test_caterpillar_selectable_order(results, order):
    """The county caterpillar's order can be chosen; by default by name (Swedish alphabetical order,
    top to bottom: the chart compares, it does not rank); by value or population the largest on top."""
    from tmb_analysis.charts import caterpillar_selectable

    fig = caterpillar_selectable(results, "21", ["skadegorelse"], 2024, order=order)
    names = list(fig.layout.updatemenus[0].buttons[0].args[1]["yaxis.ticktext"])  # row 0 at the bottom
    top_down = names[::-1]
    sel = results[
        (results.year == 2024)
        & (results.indicator == "skadegorelse")
        & (results.area_level == "kommun")
        & results.area_code.astype(str).str.startswith("21")
    ].set_index("area_name")
    if order == "name":
        from tmb_analysis.tables import _sort_key_sv

        assert top_down == sorted(top_down, key=_sort_key_sv) and top_down[0] == "Bollnäs"
    else:
        col = "value" if order == "value" else "population"
        values = [float(sel.loc[n, col]) for n in top_down]
        assert values == sorted(values, reverse=True)


def test_caterpillar_default_order_is_by_name(results):
    from tmb_analysis.charts import caterpillar_selectable

    default = caterpillar_selectable(results, "21", ["skadegorelse"], 2024)
    named = caterpillar_selectable(results, "21", ["skadegorelse"], 2024, order="name")
    assert (
        default.layout.updatemenus[0].buttons[0].args[1]["yaxis.ticktext"]
        == named.layout.updatemenus[0].buttons[0].args[1]["yaxis.ticktext"]
    )
    with pytest.raises(ValueError, match="caterpillar order 'rank'"):
        caterpillar_selectable(results, "21", ["skadegorelse"], 2024, order="rank")
