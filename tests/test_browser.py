"""The published site in a real browser: Debian chromium, headless, with the network blocked."""

import os
import shutil

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("TMB_REQUIRE_BROWSER") == "1":
            pytest.fail("Debian chromium is required (TMB_REQUIRE_BROWSER=1) but /usr/bin/chromium is missing")
        pytest.skip("Debian chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def open_offline(browser, path, viewport=None):
    """Open a file:// page with every non-file request blocked; return (page, errors, blocked)."""
    ctx = browser.new_context(viewport=viewport) if viewport else browser.new_context()
    errors, blocked = [], []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, blocked


def charts_drawn(page):
    """Per figure: does its plotly container hold a rendered SVG with plotted marks?"""
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.tmb-figure')].every(f => f.querySelector('.plotly-graph-div svg.main-svg'))",
        timeout=20_000,
    )
    return page.evaluate(
        """() => [...document.querySelectorAll('figure.tmb-figure')].map(f => ({
              name: f.dataset.figure,
              svg: !!f.querySelector('.plotly-graph-div svg.main-svg'),
              marks: f.querySelectorAll('.plotly-graph-div .trace path, .plotly-graph-div .choroplethlocation, .plotly-graph-div .point').length
           }))"""
    )


def test_index_offline(browser, built_site):
    out, _ = built_site
    page, errors, blocked = open_offline(browser, out / "index.html")
    assert page.locator("h1").inner_text().startswith("Lägesbilder")
    assert page.locator("a[href='kommun-2180.html']").count() == 1
    page.fill("#sok", "gävle")
    visible = page.locator("#rapporter li:not([hidden])").all_inner_texts()
    assert any("Gävle" in t for t in visible) and not any("Bollnäs" in t for t in visible)
    assert errors == [] and blocked == []
    page.context.close()


@pytest.mark.parametrize("name", ["kommun-2180.html", "kommun-2101.html", "lan-21.html"])
def test_report_charts_render_offline(browser, built_site, name):
    out, _ = built_site
    page, errors, blocked = open_offline(browser, out / name)
    figures = charts_drawn(page)
    assert len(figures) >= 3
    for f in figures:
        assert f["svg"] and f["marks"] > 0, f
    assert errors == [], errors
    assert blocked == [], blocked
    assert page.locator("html").get_attribute("lang") == "sv"
    assert "Exempeldata – inte verklig statistik" in page.inner_text("body")
    page.context.close()


@pytest.mark.parametrize("name", ["index.html", "kommun-2180.html", "lan-21.html"])
def test_accessibility_axe(browser, built_site, name):
    """axe-core (WCAG 2.1 A/AA rules) finds no serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    out, _ = built_site
    page, _, blocked = open_offline(browser, out / name)
    if name != "index.html":
        charts_drawn(page)
    result = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    )
    bad = [
        (v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"])
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad
    assert blocked == []
    page.context.close()


def test_headings_in_order_and_print_css(browser, built_site):
    out, _ = built_site
    page, _, _ = open_offline(browser, out / "kommun-2180.html")
    levels = page.evaluate("() => [...document.querySelectorAll('main h1, main h2, main h3')].map(h => +h.tagName[1])")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels
    page.emulate_media(media="print")
    assert page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).display") == "none"
    page.context.close()


def test_a_readers_print_opens_the_folds_and_fits_the_charts_to_the_paper(browser, built_site):
    """Ctrl+P in a browser: before the print every fold opens and each chart is drawn at its share of the
    680 px of A4 text, as tmb's printer draws it (assets/tmb-paper.js), with nothing cut off; after it the
    folds close again and the charts take their screen width back. (A page
    that tmb's own printer has already laid out for paper is left alone: tests/test_pdf_reports.py.)"""
    out, _ = built_site
    page, errors, _ = open_offline(browser, out / "kommun-2180.html", viewport={"width": 1366, "height": 900})
    charts_drawn(page)
    state = """() => ({print: document.documentElement.classList.contains('tmb-print'),
      closed: [...document.querySelectorAll('main details')].filter(d => !d.open).length,
      widths: [...document.querySelectorAll('.js-plotly-plot')].map(gd => gd._fullLayout.width)})"""
    screen = page.evaluate(state)
    assert screen["closed"] > 0 and not screen["print"]
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    paper = page.evaluate(state)
    assert paper["print"] and paper["closed"] == 0
    assert all(0 < w <= 680 for w in paper["widths"]) and max(paper["widths"]) == 680, paper["widths"]
    # laid out for paper (the print rules' box heights), no title, tick label or legend entry reaches out of
    # its chart's box, where paper cuts it: each chart is drawn as tmb's own printer draws it. Until stop 25
    # a reader's print kept the charts' screen heights and legends: the matrix ran over the table under it
    # and the trend charts lost their legends and y titles.
    page.emulate_media(media="print")
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => {
          const r = gd.getBoundingClientRect();
          return [...gd.querySelectorAll('text')].filter(t => t.textContent.trim()).filter(t => {
            const q = t.getBoundingClientRect();
            return q.width > 0 && (q.top < r.top - 1 || q.bottom > r.bottom + 1 || q.left < r.left - 1);
          }).map(t => gd.id + ': ' + t.textContent);
        })"""
    )
    assert paper["widths"] and not cut, cut
    page.emulate_media(media="screen")
    page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => gd._fullLayout.width > 680)"
    )
    back = page.evaluate(state)
    assert not back["print"] and back["closed"] == screen["closed"]
    assert not errors, errors
    page.context.close()


def test_the_charts_heights_on_paper_have_one_home_in_the_stylesheet(browser, built_site):
    """tmb.css's --paper-* properties give the charts' boxes their height in the print rules, and
    tmbPaper.figure (a reader's Ctrl+P, which draws before those rules apply) takes the same heights from
    them: change one and both follow. The county overview is told by its body's class, not by its file's
    name: its map's box is higher than a kommun page's. Until stop 26 the heights were written in both
    files, and the county overview was told by the name of the file."""
    out, _ = built_site
    figure = """sel => { const gd = document.querySelector(sel);
      return tmbPaper.figure(gd, gd.data, gd.layout, 300, null)[1].height; }"""
    box = "sel => document.querySelector(sel).offsetHeight"
    page, errors, _ = open_offline(browser, out / "kommun-2180.html", viewport={"width": 1366, "height": 900})
    charts_drawn(page)
    card = "article.proposal .proposal-chart .plotly-graph-div"
    assert page.evaluate("() => document.body.className") == "page-kommun"
    assert page.evaluate(figure, card) == 210
    page.evaluate("() => document.documentElement.style.setProperty('--paper-card-trend', '250px')")
    assert page.evaluate(figure, card) == 250
    page.emulate_media(media="print")
    assert page.evaluate(box, card) == 250
    kommun_map = page.evaluate(box, 'figure[data-figure^="karta"] .plotly-graph-div')
    assert not errors, errors
    page.context.close()
    page, errors, _ = open_offline(browser, out / "lan-21.html", viewport={"width": 1366, "height": 900})
    charts_drawn(page)
    assert page.evaluate("() => document.body.className") == "page-lan"
    county_map = 'figure[data-figure^="karta"] .plotly-graph-div'
    assert page.evaluate(figure, county_map) == 440
    page.emulate_media(media="print")
    assert page.evaluate(box, county_map) == 440 > kommun_map == 250
    assert not errors, errors
    page.context.close()


def test_indicator_choice_by_keyboard_redraws_the_charts(browser, built_site):
    """The county overview's indicator lists are labelled <select>s (reachable by keyboard, read by
    screen readers); choosing one redraws its chart with that indicator, offline."""
    out, _ = built_site
    page, errors, blocked = open_offline(browser, out / "lan-21.html")
    charts_drawn(page)
    for slug, label in (
        ("intervall", "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"),
        ("karta-valbar", "Bostadsinbrott"),
    ):
        select = page.locator(f"#val-{slug}")
        assert page.locator(f"label[for=val-{slug}]").inner_text() == "Välj indikator"
        before = page.evaluate(f"() => JSON.stringify(document.getElementById('fig-{slug}').data.map(d => d.z || d.x))")
        select.focus()
        select.select_option(label=label)
        page.wait_for_function(  # the title is HTML above the chart (it wraps on a phone), and follows the choice
            f"t => document.getElementById('title-{slug}').textContent.startsWith(t)", arg=label, timeout=10_000
        )
        page.wait_for_function(  # and the chart's data are that indicator's, not the first one's
            f"b => JSON.stringify(document.getElementById('fig-{slug}').data.map(d => d.z || d.x)) !== b",
            arg=before,
            timeout=10_000,
        )
        assert page.locator(f"#fig-{slug} .updatemenu-container").count() == 0  # no SVG drop-down left
    assert errors == [] and blocked == []


# ---- every county map right side out ----------------------------------------------------------

#: A map drawn inside out paints one kommun's polygon over "the whole world except the kommun", so one
#: fill colour covers most of the geo frame and the background hardly shows (measured: one fill 67-95 %,
#: background 0-5 % for Kalmar, Skåne, Halland, Dalarna and Jämtland). On the 21 right maps the largest
#: fill covers at most 16 % of the frame (Gotland, one kommun) and the background at least 48 % (Skåne).
MAX_ONE_FILL_SHARE = 0.50
MIN_BACKGROUND_SHARE = 0.25

# Per map: the share of the geo frame (the subplot's background rectangle) covered by its background
# colour and by its most common other colour, counted in a screenshot of the page decoded on a canvas.
_COLOUR_SHARES_JS = """async ({png, frames}) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const g = canvas.getContext('2d', {willReadFrequently: true});
  g.drawImage(img, 0, 0);
  const out = {};
  for (const [code, r] of Object.entries(frames)) {
    const px = g.getImageData(Math.ceil(r.x), Math.ceil(r.y), Math.floor(r.width) - 1, Math.floor(r.height) - 1).data;
    const counts = new Map();
    for (let i = 0; i < px.length; i += 4) {
      const key = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    const bg = parseInt(r.background.slice(1), 16), n = px.length / 4;
    let top = 0, colour = 0;
    for (const [k, c] of counts) if (k !== bg && c > top) { top = c; colour = k; }
    out[code] = {fill: top / n, colour: '#' + colour.toString(16).padStart(6, '0'), background: (counts.get(bg) || 0) / n};
  }
  return out;
}"""


def _one_value_per_kommun():
    """A results table with one indicator whose values differ between the kommuner of each län, so
    that every kommun gets a fill colour of its own."""
    import pandas as pd

    from tmb_analysis.geography import registry

    reg = registry()
    rows = []
    for lan in reg.all_lan():
        kommuner = reg.kommuner(lan.code)
        for i, k in enumerate(kommuner):
            rows.append(
                dict(
                    area_code=k.code,
                    area_name=k.name,
                    area_level="kommun",
                    value=10 + 90 * i / max(len(kommuner) - 1, 1),
                )
            )
        rows.append(dict(area_code=lan.code, area_name=lan.name, area_level="lan", value=50.0))
    frame = pd.DataFrame(rows)
    return frame.assign(
        indicator="skadegorelse",
        indicator_label="Skadegörelsebrott",
        source_kind="crime",
        unit="per_100k",
        year=2024,
        cmp_lan="similar",
        cmp_riket="similar",
    )


def test_every_county_map_is_drawn_right_side_out(browser, tmp_path):
    """All 21 county maps, as the reports draw them, in one page: no geo frame is (almost) one colour."""
    from plotly.offline import get_plotlyjs

    from tmb_analysis.charts import county_map
    from tmb_analysis.geography import registry

    results = _one_value_per_kommun()
    codes = [lan.code for lan in registry().all_lan()]
    (tmp_path / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    maps = "".join(
        county_map(results, code, "skadegorelse", 2024).to_html(
            full_html=False, include_plotlyjs=False, div_id=f"karta-{code}", default_width="600px"
        )
        for code in codes
    )
    page_path = tmp_path / "kartor.html"
    page_path.write_text(
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'><script src='plotly.min.js'></script>"
        "<style>body{margin:0;display:grid;grid-template-columns:repeat(3,600px)}</style></head>"
        f"<body>{maps}</body></html>",
        encoding="utf-8",
    )
    page, errors, blocked = open_offline(browser, page_path)
    page.set_viewport_size({"width": 1800, "height": 600 * 7})
    page.wait_for_function(
        "n => document.querySelectorAll('.geo .layer.bg rect').length === n && "
        "[...document.querySelectorAll('.js-plotly-plot')].every(d => d.querySelector('path.choroplethlocation'))",
        arg=len(codes),
        timeout=60_000,
    )
    frames = page.evaluate(
        """codes => Object.fromEntries(codes.map(c => {
             const rect = document.querySelector('#karta-' + c + ' .geo .layer.bg rect'), r = rect.getBoundingClientRect();
             const rgb = getComputedStyle(rect).fill.match(/\\d+/g).slice(0, 3).map(Number);
             const background = '#' + rgb.map(v => v.toString(16).padStart(2, '0')).join('');
             return [c, {x: r.x, y: r.y, width: r.width, height: r.height, background}]; }))""",
        codes,
    )
    import base64

    png = base64.b64encode(page.screenshot(full_page=True)).decode("ascii")
    shares = page.evaluate(_COLOUR_SHARES_JS, {"png": png, "frames": frames})
    page.context.close()
    report = {
        c: f"largest fill {s['fill']:.0%} ({s['colour']}), background {s['background']:.0%}"
        for c, s in sorted(shares.items())
    }
    print("county map frames:", report)
    assert sorted(shares) == sorted(codes)
    assert all(f["width"] > 300 and f["height"] > 300 and f["background"] == "#ffffff" for f in frames.values()), frames
    inside_out = {
        c: report[c]
        for c, s in shares.items()
        if s["fill"] > MAX_ONE_FILL_SHARE or s["background"] < MIN_BACKGROUND_SHARE
    }
    assert inside_out == {}, f"county maps drawn inside out (one colour covers the frame): {inside_out}"
    assert errors == [] and blocked == []


# ---- no holes: no empty chart, no heading with nothing under it (example site and real Dalarna) ----

HOLES_JS = """() => {
  const main = document.querySelector('main') || document.body;
  const heads = [...main.querySelectorAll('h2, h3')];
  const all = [...main.querySelectorAll('h1, h2, h3')];
  const empty = [];
  for (const h of heads) {
    const level = +h.tagName[1];
    const next = all.slice(all.indexOf(h) + 1).find(x => +x.tagName[1] <= level);
    const range = document.createRange();
    range.setStartAfter(h);
    if (next) range.setEndBefore(next); else range.setEndAfter(main.lastChild);
    const frag = range.cloneContents();
    // on a report page the content must come from a code cell's output; other pages: any content
    const inOutput = !!h.closest('.output_area') || !main.querySelector('.output_area');
    const outputs = inOutput ? [frag] : [...frag.querySelectorAll('.output_area')];
    const shown = outputs.some(o => (o.textContent || '').trim().length > 0 || o.querySelector('figure, table'));
    if (!shown) empty.push(h.textContent.trim());
  }
  const charts = [];
  for (const f of main.querySelectorAll('figure.tmb-figure')) {
    const gd = f.querySelector('.plotly-graph-div');
    let values = 0, located = 0;
    for (const t of (gd && gd.data) || []) {
      for (const k of ['x', 'y', 'z']) {
        const arr = t[k] ? Array.from(t[k]) : [];
        values += arr.filter(v => v !== null && v !== undefined && v === v && v !== '').length;
      }
      if (t.type === 'choropleth') {
        const text = t.text ? Array.from(t.text) : [];
        located += text.filter(s => typeof s === 'string' && !s.includes('Uppgift saknas')).length;
      } else if (t.type !== 'scattergeo') {
        located += 1;
      }
    }
    if (!values || !located) charts.push(f.dataset.figure);
  }
  return {empty, charts};
}"""


def assert_no_holes(browser, site):
    pages = sorted(site.glob("*.html"))
    assert len(pages) > 2
    for page_path in pages:
        page, errors, blocked = open_offline(browser, page_path)
        if page.locator("figure.tmb-figure").count():
            charts_drawn(page)
        found = page.evaluate(HOLES_JS)
        assert found == {"empty": [], "charts": []}, (page_path.name, found)
        assert errors == [] and blocked == [], (page_path.name, errors, blocked)
        page.context.close()


def test_no_empty_chart_or_section_on_the_example_site(browser, built_site):
    out, _ = built_site
    assert_no_holes(browser, out)


@pytest.mark.realdata
def test_no_empty_chart_or_section_on_the_real_dalarna_site(browser, dalarna_site):
    assert_no_holes(browser, dalarna_site[1])


def test_hole_check_finds_an_empty_chart_and_an_empty_section(browser, tmp_path, built_site):
    """The check itself can fail: a page with a heading followed by an empty output and a chart without data."""
    out, _ = built_site
    html = (out / "kommun-2180.html").read_text("utf-8")
    html = html.replace("</main>", "<div class='cell'><h3>Tom rubrik</h3></div><div class='output_area'></div></main>")
    broken = tmp_path / "site"
    shutil.copytree(out, broken)
    (broken / "kommun-2180.html").write_text(html, "utf-8")
    page, _, _ = open_offline(browser, broken / "kommun-2180.html")
    charts_drawn(page)
    page.evaluate(
        "() => { const gd = document.querySelector('figure.tmb-figure .plotly-graph-div');"
        " return Plotly.react(gd, [{type: 'scatter', x: [], y: []}], gd.layout); }"
    )
    found = page.evaluate(HOLES_JS)
    assert found["empty"] == ["Tom rubrik"] and len(found["charts"]) == 1
    page.context.close()


def test_explore_notebook_charts_survive_an_html_export(browser, sample_store, tmp_path):
    """utforska exported with nbconvert (what "Download as HTML" does) still draws every chart, offline."""
    from pathlib import Path

    import nbconvert
    import papermill

    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    nb = papermill.execute_notebook(
        str(notebooks / "utforska.ipynb"),
        None,
        parameters={"store": str(sample_store), "kommun": "2180", "indicator": "bostadsinbrott", "year": 0},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(notebooks),
    )
    n_figures = sum(
        "application/vnd.plotly.v1+json" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert n_figures == 4
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    page_file = tmp_path / "utforska.html"
    page_file.write_text(body, encoding="utf-8")
    page, errors, blocked = open_offline(browser, page_file)
    page.wait_for_function(
        f"() => document.querySelectorAll('.plotly-graph-div svg.main-svg').length >= {n_figures}", timeout=20_000
    )
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('.plotly-graph-div')].map("
        "d => d.querySelectorAll('.trace path, .choroplethlocation, .point').length)"
    )
    assert len(drawn) == n_figures and all(n > 0 for n in drawn)
    # plotly.js is in the page itself; what the network would give is only nbconvert's own template
    # scripts (require.js and MathJax), which the charts do not need
    assert all(
        u.startswith("https://cdnjs.cloudflare.com/ajax/libs/") and ("require.js" in u or "mathjax" in u)
        for u in blocked
    ), blocked
    assert all("net::ERR_FAILED" in e for e in errors) and len(errors) == len(blocked), errors
    page.context.close()


# ---- a phone (390 x 844) and a laptop (1366 x 768) ----------------------------------------------------

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}

#: Whatever is wider than the screen: only inside a box that scrolls by itself and shows a cue (the
#: shadow at the edge that has more, tmb.css), never the page itself.
_SIDEWAYS_JS = """() => {
  const W = document.documentElement.clientWidth;
  const cue = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return p.matches('.jp-OutputArea-output, .output_area, .table-scroll, pre');
      if (o === 'hidden' || o === 'clip') return true; }
    return false; };
  const bad = [...document.querySelectorAll('body *')].filter(el => {
    const r = el.getBoundingClientRect(); return r.width > 0 && r.right > W + 1 && !cue(el); })
    .map(el => el.tagName + '.' + (el.getAttribute('class') || '') + ' ' + (el.textContent || '').slice(0, 40));
  return {page: document.documentElement.scrollWidth - W, bad: bad.slice(0, 5)};
}"""


@pytest.mark.parametrize("name", ["kommun-2180.html", "lan-21.html", "metod.html", "index.html"])
def test_nothing_scrolls_sideways_on_a_phone(browser, built_site, name):
    """At 390 px the page never scrolls sideways, with its folds closed or all open; a wide formula or
    county matrix scrolls inside its own box, which shows a cue."""
    out, _ = built_site
    page, errors, blocked = open_offline(browser, out / name, viewport=PHONE)
    if name.startswith(("kommun", "lan")):
        charts_drawn(page)
    assert page.evaluate(_SIDEWAYS_JS) == {"page": 0, "bad": []}
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.wait_for_timeout(300)
    assert page.evaluate(_SIDEWAYS_JS) == {"page": 0, "bad": []}
    assert errors == [] and blocked == []
    page.context.close()


def test_table_rows_become_cards_with_chips_on_a_phone(browser, built_site):
    """Below 600 px a theme-table row is a card, each comparison a chip that names its benchmark
    before the symbol and word; at 1366 px it is a table row."""
    out, _ = built_site
    query = """() => { const tr = document.querySelector('table.theme-table tr[id^="ind-"]');
        const td = tr.querySelector('td[data-cmp]');
        return {row: getComputedStyle(tr).display, chip: getComputedStyle(td).display,
                label: getComputedStyle(td, '::before').content, words: td.textContent.trim(),
                spine: getComputedStyle(document.querySelector('table.spine-table tr[data-indicator]')).display}; }"""
    page, _, _ = open_offline(browser, out / "kommun-2180.html", viewport=PHONE)
    phone = page.evaluate(query)
    page.context.close()
    assert phone["row"] == "block" and phone["chip"] == "inline-block" and phone["spine"] == "flex"
    assert phone["label"] == '"Länet: "' and phone["words"] in ("● Ingen säker skillnad", "▲ Högre", "▼ Lägre")
    page, _, _ = open_offline(browser, out / "kommun-2180.html", viewport=LAPTOP)
    laptop = page.evaluate(query)
    page.context.close()
    assert laptop["row"] == "table-row" and laptop["chip"] == "table-cell" and laptop["label"] == "none"


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1366"])
def test_the_first_proposal_is_on_the_first_screen(browser, built_site, viewport):
    """'Kort om' names the first proposal (or says there is none) without scrolling, at 1366 x 768 and
    at 390 x 844; the map's colour bar sits under the map, not beside it."""
    out, _ = built_site
    page, _, _ = open_offline(browser, out / "kommun-2180.html", viewport=viewport)
    charts_drawn(page)
    first = page.evaluate(
        "() => { const li = document.querySelector('.kort-om li.kort-forslag, .kort-om dd.none');"
        " const r = li.getBoundingClientRect(); return r.top + scrollY; }"
    )
    assert first < viewport["height"] - 40, first
    bar = page.evaluate("""() => { const f = document.querySelector('figure[data-figure="karta-totalt"]');
        const bottom = Math.max(...[...f.querySelectorAll('.choroplethlocation')].map(p => p.getBoundingClientRect().bottom));
        const cb = f.querySelector('.colorbar').getBoundingClientRect();
        return {below: cb.top >= bottom - 1, wide: cb.width > cb.height}; }""")
    assert bar == {"below": True, "wide": True}
    page.context.close()
