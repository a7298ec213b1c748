"""The build: papermill really runs the notebooks; pages are checked and published atomically."""

import json
import re

import pytest

from tmb_analysis.build import BuildError, build, check_page, export_body, plan
from tmb_analysis.geography import UnknownAreaError

pytestmark = pytest.mark.slow

GAVLEBORG = ["2101", "2104", "2121", "2132", "2161", "2180", "2181", "2182", "2183", "2184"]


def test_site_has_every_page(built_site):
    out, result = built_site
    assert not result.failed, [r.error for r in result.failed]
    names = sorted(p.name for p in out.glob("*.html"))
    assert names == sorted(["index.html", "lan-21.html"] + [f"kommun-{c}.html" for c in GAVLEBORG])
    assert (out / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert (out / "data" / "indicators.csv").exists()
    # no staging or work folders left next to the site
    assert not [p for p in out.parent.iterdir() if ".staging-" in p.name or ".work-" in p.name or ".old-" in p.name]


def test_pages_share_plotly_and_load_nothing_external(built_site):
    out, _ = built_site
    for page in out.glob("*.html"):
        text = page.read_text("utf-8")
        assert '<html lang="sv">' in text
        assert "cdn" not in text.lower() or "cdn.plot.ly" not in text
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), page.name
        assert "require.js" not in text and "MathJax" not in text
        if page.name != "index.html":
            assert text.count('src="assets/plotly.min.js"') == 1
            # plotly.js is shared, not inlined: pages stay small
            assert len(text.encode()) < 500_000, (page.name, len(text.encode()))


def test_kommun_page_content(built_site):
    out, _ = built_site
    text = (out / "kommun-2180.html").read_text("utf-8")
    assert "Lägesbild för Gävle kommun" in text
    assert "Exempeldata – inte verklig statistik" in text
    assert "Metod och källor" in text and "Källa: Brå" in text
    # no code and no prompts in the page
    assert "from tmb_analysis import" not in text and "report.context(" not in text
    assert "In&nbsp;[" not in text and "In [" not in text
    # charts: trend charts and the county map
    assert text.count('class="tmb-figure"') >= 3
    assert 'data-figure="karta-totalt"' in text and 'data-figure="trend-totalt"' in text


def test_index_links_every_report_with_vintage(built_site):
    out, _ = built_site
    text = (out / "index.html").read_text("utf-8")
    for code in GAVLEBORG:
        assert f'href="kommun-{code}.html"' in text
    assert 'href="lan-21.html"' in text
    assert re.search(r"Data: anmälda brott 20\d\d–20\d\d", text)
    assert 'id="sok"' in text  # search by kommun name


def test_manifest(built_site):
    out, result = built_site
    m = json.loads((out / "manifest.json").read_text("utf-8"))
    assert m["synthetic_data"] is True
    assert {r["page"] for r in m["reports"]} == {r.page for r in result.reports}
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in m["reports"])
    assert m["inputs"] and all("sha256" in s for s in m["inputs"])
    assert "pandas" in m["packages"]


def test_results_csv_is_swedish_excel(built_site):
    out, _ = built_site
    raw = (out / "data" / "indicators.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n", 1)[0].decode()
    cols = header.split(";")
    for col in ["area_code", "area_name", "area_level", "indicator", "indicator_label", "source_kind", "year", "value",
                "ci_low", "ci_high", "count", "population", "n_respondents", "cmp_lan", "cmp_riket",
                "trend_pct_per_year", "trend_ci_low", "trend_ci_high", "trend", "eb_value", "priority_rank"]:
        assert col in cols


def test_unknown_codes_rejected_before_anything_is_written(sample_store, tmp_path):
    out = tmp_path / "site"
    for kwargs in ({"lan": ["99"]}, {"kommuner": ["0000"]}, {"kommuner": ["../x"]}, {"kommuner": ["CON"]}):
        with pytest.raises(UnknownAreaError):
            build(store=sample_store, out=out, **kwargs)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_plan_names_files_from_codes():
    jobs = plan(lan=["21"])
    assert [j.page for j in jobs][:2] == ["lan-21.html", "kommun-2101.html"]
    assert len(plan(lan=["all"])) == 21 + 290


def test_check_page_fails_when_a_chart_is_missing():
    fig = ('<figure class="tmb-figure"><div id="a" class="plotly-graph-div"></div>'
           '<script>Plotly.newPlot("a")</script></figure>')
    assert check_page(fig * 2, "x.html", "kommun") == 2
    lost = fig + '<figure class="tmb-figure"><div>nothing</div></figure>'
    with pytest.raises(BuildError, match="chart"):
        check_page(lost, "x.html", "kommun")
    with pytest.raises(BuildError, match="at least"):
        check_page(fig, "x.html", "kommun")
    with pytest.raises(BuildError, match="outside the site"):
        check_page(fig * 2 + '<script src="https://cdn.plot.ly/plotly.js"></script>', "x.html", "kommun")


def test_plotly_json_only_output_is_a_build_error(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": {"data": []}})]
    nb.cells.append(cell)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(BuildError, match="only as application/vnd.plotly.v1"):
        export_body(path)


def test_failed_report_keeps_last_good_version(built_site, sample_store, tmp_path, monkeypatch):
    """A report that fails keeps the published page, marked stale; the others are rebuilt."""
    import shutil

    import tmb_analysis.build as b

    out, _ = built_site
    site = tmp_path / "site"
    shutil.copytree(out, site)
    before = (site / "kommun-2180.html").read_bytes()
    real = b.export_body

    def broken(executed):
        if "kommun-2180" in str(executed):
            raise BuildError("simulated export failure")
        return real(executed)

    monkeypatch.setattr(b, "export_body", broken)
    result = build(kommuner=["2180", "2101"], store=sample_store, out=site, workers=1)
    statuses = {r.page: r.status for r in result.reports}
    assert statuses == {"kommun-2180.html": "stale", "kommun-2101.html": "ok"}
    assert (site / "kommun-2180.html").read_bytes() == before
    index = (site / "index.html").read_text("utf-8")
    assert "inaktuell" in index and "simulated export failure" in index
