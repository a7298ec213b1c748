"""The build: papermill really runs the notebooks; pages are checked and published atomically."""

import json
import re
import shutil
from pathlib import Path

import pytest

from tmb_analysis.build import build
from tmb_analysis.geography import UnknownAreaError
from tmb_analysis.site.pages import check_page, export_body
from tmb_analysis.site.plan import BuildError, plan

pytestmark = pytest.mark.slow

GAVLEBORG = ["2101", "2104", "2121", "2132", "2161", "2180", "2181", "2182", "2183", "2184"]


def test_site_has_every_page(built_site):
    out, result = built_site
    assert not result.failed, [r.error for r in result.failed]
    names = sorted(p.name for p in out.glob("*.html"))
    method = ["metod.html"] if (Path(__file__).resolve().parents[1] / "docs" / "metod.md").is_file() else []
    assert names == sorted(["index.html", "lan-21.html"] + [f"kommun-{c}.html" for c in GAVLEBORG] + method)
    for code in GAVLEBORG:  # each report's own rows, for its download link
        assert (out / "data" / f"kommun-{code}.csv").read_bytes().startswith(b"\xef\xbb\xbf")
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
    credits = {s["publisher"]: s["credit"] for s in m["inputs"]}
    assert credits == {"Brå": "Källa: Brå", "SCB": "Källa: SCB", "Kolada (RKA)": "Källa: Kolada (RKA)"}
    assert "pandas" in m["packages"]


def test_results_csv_is_swedish_excel(built_site):
    out, _ = built_site
    raw = (out / "data" / "indicators.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n", 1)[0].decode()
    cols = header.split(";")
    for col in [
        "area_code",
        "area_name",
        "area_level",
        "indicator",
        "indicator_label",
        "source_kind",
        "year",
        "value",
        "ci_low",
        "ci_high",
        "count",
        "population",
        "n_respondents",
        "cmp_lan",
        "cmp_riket",
        "trend_pct_per_year",
        "trend_ci_low",
        "trend_ci_high",
        "trend",
        "eb_value",
        "priority_rank",
    ]:
        assert col in cols
    # the areas the site reports on: Gävleborg's kommuner, the län and riket, every indicator and year
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert {r["area_code"] for r in rows} == set(GAVLEBORG) | {"21", "00"}
    keys = [(r["area_code"], r["indicator"], r["year"]) for r in rows]
    assert len(keys) == len(set(keys))
    # crime runs to 2024 and is complete; NTU runs to 2025 (a small kommun's NTU may be left out, n < 100)
    crime = {r["indicator"] for r in rows if r["source_kind"] == "crime"}
    assert max(r["year"] for r in rows if r["source_kind"] == "crime") == "2024" and len(crime) == 15
    assert len([r for r in rows if r["source_kind"] == "crime" and r["year"] == "2024"]) == 12 * 15
    assert max(r["year"] for r in rows if r["source_kind"] == "survey") == "2025"


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
    fig = (
        '<figure class="tmb-figure"><div id="a" class="plotly-graph-div"></div>'
        '<script>Plotly.newPlot("a")</script></figure>'
    )
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


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"


def fixture_build(store, out, name="ok", **kw):
    nb = FIXTURES / f"{name}.ipynb"
    kw.setdefault("notebooks", {"kommun": nb, "lan": nb})
    return build(store=store, out=out, preload=(), progress=False, workers=1, **kw)


def test_failed_report_keeps_last_good_version(built_site, small_store, tmp_path):
    """A report that fails keeps the published page, marked stale; the others are rebuilt."""
    out, _ = built_site
    site = tmp_path / "site"
    shutil.copytree(out, site)
    before = (site / "kommun-2180.html").read_bytes()
    result = fixture_build(small_store, site, "raises", lan=["21"])
    statuses = {r.page: r.status for r in result.reports}
    assert statuses.pop("kommun-2180.html") == "stale"
    assert set(statuses.values()) == {"ok"} and len(statuses) == 10 and result.published
    assert (site / "kommun-2180.html").read_bytes() == before
    index = (site / "index.html").read_text("utf-8")
    assert "inaktuell" in index and "simulated failure in 2180" in index
    m = json.loads((site / "manifest.json").read_text("utf-8"))
    stale = next(r for r in m["reports"] if r["page"] == "kommun-2180.html")
    assert stale["status"] == "stale" and stale["rebuilt"] is True and "simulated failure" in stale["error"]
    # the next run tries the failed report again, and only it
    again = fixture_build(small_store, site, "raises", lan=["21"])
    assert [r.page for r in again.rebuilt] == ["kommun-2180.html"] and len(again.reused) == 10
    assert (site / "kommun-2180.html").read_bytes() == before


def test_last_good_page_must_still_fit_the_site(built_site, small_store, tmp_path):
    """A kept page may not link to pages the new site lacks. Building a subset of a site is refused, so this
    happens only with --force-out, which moves the old site aside whole: then no page of it is kept, and the
    failed report gets a page saying so."""
    out, _ = built_site
    site = tmp_path / "site"
    shutil.copytree(out, site)
    result = fixture_build(small_store, site, "raises", kommuner=["2180", "2101"], force_out=True)  # no lan-21.html
    assert {r.page: r.status for r in result.reports} == {"kommun-2180.html": "failed", "kommun-2101.html": "ok"}
    assert "Rapporten kunde inte byggas" in (site / "kommun-2180.html").read_text("utf-8")
    assert (result.moved_aside / "lan-21.html").is_file() and not (site / "lan-21.html").exists()


def test_rerun_with_unchanged_inputs_does_nothing(small_store, tmp_path):
    out = tmp_path / "site"
    first = fixture_build(small_store, out, kommuner=["2180", "2101"])
    assert first.published and len(first.rebuilt) == 2
    stat = out.stat()
    files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")}
    again = fixture_build(small_store, out, kommuner=["2180", "2101"])
    assert not again.published and again.rebuilt == [] and not again.failed
    assert again.workers == 0  # no worker, no kernel started
    assert out.stat().st_ino == stat.st_ino
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")} == files
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_changed_notebook_rebuilds_only_its_reports(small_store, tmp_path):
    import nbformat

    kommun_nb, lan_nb = tmp_path / "kommun.ipynb", tmp_path / "lan.ipynb"
    shutil.copy(FIXTURES / "ok.ipynb", kommun_nb)
    shutil.copy(FIXTURES / "ok.ipynb", lan_nb)
    out = tmp_path / "site"
    nbs = {"kommun": kommun_nb, "lan": lan_nb}
    first = fixture_build(small_store, out, lan=["09"], kommuner=["2180"], notebooks=nbs)  # Gotland: 1 kommun
    assert len(first.rebuilt) == 3
    nb = nbformat.read(lan_nb, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("En ny mening i länsöversikten.", id="ny"))
    nbformat.write(nb, lan_nb)
    second = fixture_build(small_store, out, lan=["09"], kommuner=["2180"], notebooks=nbs)
    assert [r.page for r in second.rebuilt] == ["lan-09.html"] and second.published
    assert "En ny mening" in (out / "lan-09.html").read_text("utf-8")
    # a report added to the run is built; the others stay
    third = fixture_build(small_store, out, lan=["09"], kommuner=["2180", "0114"], notebooks=nbs)
    assert [r.page for r in third.rebuilt] == ["kommun-0114.html"]


def test_changed_data_rebuilds_the_reports_that_show_it(small_store, tmp_path):
    import pandas as pd

    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    out = tmp_path / "site"
    assert len(fixture_build(store, out, kommuner=["2180", "2101"]).rebuilt) == 2
    crime = pd.read_parquet(store / "crime.parquet")
    row = crime.index[(crime["area_code"] == "2180") & (crime["indicator"] == "bilbrott")][-1]
    crime.loc[row, "count"] = int(crime.loc[row, "count"]) + 7
    crime.to_parquet(store / "crime.parquet", index=False)
    # every kommun report places the kommun among all kommuner: a changed figure rebuilds them all
    again = fixture_build(store, out, kommuner=["2180", "2101"])
    assert len(again.rebuilt) == 2
    m = json.loads((out / "manifest.json").read_text("utf-8"))
    assert m["site_inputs"]["store"] and m["run"]["rebuilt"] == 2


def test_reruns_give_byte_identical_pages(built_site, sample_store, tmp_path):
    out, _ = built_site
    site = tmp_path / "reports"
    shutil.copytree(out, site)
    result = build(lan=["21"], store=sample_store, out=site, force=True, progress=False)
    assert len(result.rebuilt) == 11 and not result.failed
    for page in out.glob("*.html"):
        assert (site / page.name).read_bytes() == page.read_bytes(), page.name
    assert not result.published  # the same site: nothing to publish


def test_nightly_cli_on_an_unchanged_store(built_site, sample_store, tmp_path):
    """`tmb build` on an unchanged store: nothing rebuilt, nothing published, exit 0, in seconds."""
    import subprocess
    import sys

    out, _ = built_site
    site = tmp_path / "reports"
    shutil.copytree(out, site)
    manifest = (site / "manifest.json").read_bytes()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tmb_analysis.cli",
            "build",
            "--lan",
            "21",
            "--store",
            str(sample_store),
            "--out",
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout  # ended before loading the store or starting a kernel
    assert (site / "manifest.json").read_bytes() == manifest


def test_validate_site_finds_broken_links(tmp_path):
    from tmb_analysis.site.pages import validate_site

    (tmp_path / "index.html").write_text('<a href="kommun-2180.html">x</a><a href="#top">t</a><p id="top"></p>')
    (tmp_path / "kommun-2180.html").write_text(
        '<a href="index.html">i</a><a href="data/x.csv">csv</a>'
        '<img src="../outside.png"><a href="https://example.org/">e</a>'
    )
    problems = validate_site(tmp_path, {"kommun-2180.html": None, "lan-21.html": None})
    assert any("lan-21.html: missing" in p for p in problems)
    assert any("'data/x.csv', which is not a file in the site" in p for p in problems)
    assert any("'../outside.png'" in p for p in problems)
    assert any("outside the site" in p and "example.org" in p for p in problems)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a")
    assert not any("x.csv" in p for p in validate_site(tmp_path, {}))


def test_publish_swaps_atomically_and_keeps_user_files(tmp_path):
    from tmb_analysis.site.publish import publish_site

    out, staging = tmp_path / "reports", tmp_path / ".reports.staging-1"
    out.mkdir()
    (out / "index.html").write_text("old")
    (out / "README.md").write_text("mine")
    staging.mkdir()
    (staging / "index.html").write_text("new")
    inode = out.stat().st_ino
    publish_site(staging, out)
    assert (out / "index.html").read_text() == "new" and (out / "README.md").read_text() == "mine"
    assert out.stat().st_ino != inode and not staging.exists()


def test_recover_puts_back_a_site_lost_between_two_renames(tmp_path):
    from tmb_analysis.site.publish import recover

    out = tmp_path / "reports"
    old = tmp_path / ".reports.old-123"
    old.mkdir()
    (old / "index.html").write_text("previous")
    (tmp_path / ".reports.staging-abc").mkdir()
    recover(out)
    assert (out / "index.html").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


@pytest.mark.browser
def test_pdf_beside_every_page_printed_by_one_chromium(small_store, tmp_path, chromium):
    """`tmb build --pdf`: every report printed to A4 beside its page, linked from the index and the page;
    a rerun reuses the PDFs; the PDF's first page holds the page's own text and a running header."""
    from pypdf import PdfReader

    out = tmp_path / "site"
    result = fixture_build(small_store, out, kommuner=["2180", "2101"], pdf=True)
    assert result.published and not result.failed
    for r in result.reports:
        assert r.pdf == r.page.replace(".html", ".pdf") and r.pdf_error is None
        reader = PdfReader(out / r.pdf)
        assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4: 210 mm = 595 pt
        first = reader.pages[0].extract_text()
        assert f"Testrapport {r.code}" in first and "sida 1 av" in first and "Lägesbild" in first
        assert f'href="{r.pdf}"' in (out / r.page).read_text("utf-8")
    assert 'href="kommun-2180.pdf"' in (out / "index.html").read_text("utf-8")
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert "kommun-2180.pdf" in manifest["files"] and manifest["site_inputs"]["pdf"] is True
    pdf_bytes = (out / "kommun-2180.pdf").read_bytes()
    again = fixture_build(small_store, out, kommuner=["2180", "2101"], pdf=True)
    assert not again.published and again.rebuilt == []
    assert (out / "kommun-2180.pdf").read_bytes() == pdf_bytes
    # without --pdf the site no longer carries PDFs or links to them
    plain = fixture_build(small_store, out, kommuner=["2180", "2101"])
    assert plain.published and not list(out.glob("*.pdf")) and ".pdf" not in (out / "index.html").read_text("utf-8")


def test_hearing_pack_in_the_site(small_store, tmp_path, chromium):
    """`tmb build --lan 21 --hearing --pdf`: the county sheet and ten one-page worksheets, as HTML and PDF,
    under hearing/, linked from the index, listed in the manifest; a rerun is up to date; a build of a
    kommun alone cannot have a hearing pack."""
    from pypdf import PdfReader

    out = tmp_path / "site"
    result = fixture_build(small_store, out, lan=["21"], hearing=True, pdf=True)
    assert result.published and not result.failed and result.hearing_error is None
    codes = ("2101", "2104", "2121", "2132", "2161", "2180", "2181", "2182", "2183", "2184")
    expected = {"lan-21.html", "lan-21.pdf"} | {f"kommun-{c}.{x}" for c in codes for x in ("html", "pdf")}
    assert set(result.hearing) == expected
    assert {p.name for p in (out / "hearing").iterdir()} == expected
    for c in codes:
        assert len(PdfReader(out / "hearing" / f"kommun-{c}.pdf").pages) == 1
    index = (out / "index.html").read_text("utf-8")
    assert 'href="hearing/lan-21.html"' in index and 'href="hearing/lan-21.pdf"' in index
    assert "10 arbetsblad" in index
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert {f"hearing/{n}" for n in expected} <= set(manifest["files"])
    again = fixture_build(small_store, out, lan=["21"], hearing=True, pdf=True)
    assert not again.published and not again.rebuilt
    with pytest.raises(BuildError, match="--hearing"):
        fixture_build(small_store, tmp_path / "k", kommuner=["2180"], hearing=True)


def test_the_footer_credits_only_the_sources_the_store_holds(sample_dir, sample_store, tmp_path):
    """A store with only Brå's reported crime does not credit the NTU survey in the footer of its pages;
    a store with both names both."""
    import csv

    from tmb_analysis.build import source_credit
    from tmb_analysis.results import results
    from tmb_analysis.store import import_paths

    with open(sample_dir / "exempeldata_bra_kommunindikatorer_21.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    crime = [rows[0]] + [r for r in rows[1:] if r[-1] == "Anmälda brott"]
    assert 0 < len(crime) < len(rows)  # the file holds both sources, and this keeps only the crime
    path = tmp_path / "brott_21.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(crime)
    import_paths([path], tmp_path / "store")
    crime_only = fixture_build(tmp_path / "store", tmp_path / "a", kommuner=["2180"])
    assert crime_only.published
    for name in ("kommun-2180.html", "metod.html"):
        footer = (tmp_path / "a" / name).read_text("utf-8").split("<footer")[-1]
        assert "Källa: Brå (anmälda brott)." in footer and "trygghetsundersökningen" not in footer
    both = results(sample_store)
    assert source_credit(both) == "Brå (anmälda brott och Nationella trygghetsundersökningen, NTU)"
    assert source_credit(both[both["source_kind"] == "survey"]) == "Brå (Nationella trygghetsundersökningen, NTU)"
