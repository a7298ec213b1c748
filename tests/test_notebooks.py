"""The report notebooks, executed for real by papermill on small data."""

from pathlib import Path

import nbformat
import papermill
import pytest

from tmb_analysis.report import ParameterError, context
from tmb_analysis.store import import_paths

pytestmark = pytest.mark.slow
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def small_store(sample_dir, tmp_path_factory):
    """Only Gävleborg's BRÅ file: no SCB population, so population is derived from Brå's count and rate."""
    store = tmp_path_factory.mktemp("small") / "store"
    import_paths([sample_dir / "exempeldata_bra_kommunindikatorer_21.csv"], store)
    return store


def test_kommun_notebook_runs_on_small_data(small_store, tmp_path):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / "kommun_rapport.ipynb"),
        str(out),
        parameters={"kommun": "2101", "store": str(small_store), "year": 0},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOKS),
    )
    nb = nbformat.read(out, as_version=4)
    html = "".join(
        o.get("data", {}).get("text/html", "")
        if isinstance(o.get("data", {}).get("text/html", ""), str)
        else "".join(o["data"]["text/html"])
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "Lägesbild för Ockelbo kommun" in html
    assert html.count('class="tmb-figure"') >= 3
    assert "härledd ur Brå" in html  # the methods section says population was derived
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.parametrize("notebook, key", [("kommun_rapport.ipynb", "kommun"), ("lan_oversikt.ipynb", "lan")])
def test_notebooks_declare_their_parameters(notebook, key):
    params = papermill.inspect_notebook(str(NOTEBOOKS / notebook))
    assert set(params) == {key, "store", "year"}
    assert params[key]["inferred_type_name"] == "str"


def test_notebooks_are_committed_without_outputs():
    for nb_path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, nb_path.name
            assert "def " not in cell.source and "class " not in cell.source, "logic belongs in the package"


@pytest.mark.parametrize(
    "bad, message",
    [
        (114, "must be a string code"),  # what `papermill -p kommun 0114` delivers
        ("114", "four-digit"),
        ("../x", "four-digit"),
        ("9999", "unknown area code"),
        ("21", "four-digit"),
    ],
)
def test_bad_kommun_parameter(small_store, bad, message):
    with pytest.raises(ParameterError, match=message):
        context(bad, small_store, 0, kind="kommun")


def test_bad_year_parameter(small_store):
    with pytest.raises(ParameterError, match="no data"):
        context("2101", small_store, 1900, kind="kommun")


def test_explore_notebook_runs(small_store, tmp_path):
    papermill.execute_notebook(
        str(NOTEBOOKS / "utforska.ipynb"),
        str(tmp_path / "u.ipynb"),
        parameters={"store": str(small_store), "kommun": "2101", "indicator": "bostadsinbrott", "year": 0},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOKS),
    )


@pytest.mark.parametrize("name", ["kommun_rapport", "lan_oversikt", "utforska"])
def test_notebooks_paired_with_jupytext_scripts(name):
    """The .ipynb and its percent script hold the same cells (edit either, then `jupytext --sync`)."""
    import jupytext

    ipynb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    script = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert [(c.cell_type, c.source) for c in ipynb.cells] == [(c.cell_type, c.source) for c in script.cells]


def _plotly_figures(nb) -> list[dict]:
    return [
        o["data"]["application/vnd.plotly.v1+json"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]


def test_explore_notebook_draws_the_reports_funnel(sample_store, tmp_path):
    """utforska ("Samma diagram som i rapporterna") draws the funnel a kommun report draws: the same
    points, the same limits of the model of variation and the same year (the indicator's, not the round's)."""
    from tmb_analysis.charts import funnel_chart, funnel_highlight
    from tmb_analysis.statistics.funnel import funnel_data

    out = tmp_path / "u.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / "utforska.ipynb"),
        str(out),
        parameters={"store": str(sample_store), "kommun": "2180", "indicator": "bostadsinbrott", "year": 0},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOKS),
    )
    drawn = [
        f
        for f in _plotly_figures(nbformat.read(out, as_version=4))
        if any("kontrollgräns" in (t.get("name") or "") for t in f["data"])
    ]
    assert len(drawn) == 1
    ctx = context("2180", sample_store, 0, kind="kommun")
    year = ctx.year_of("bostadsinbrott")
    assert year != ctx.year  # the example data's crime ends a year before its NTU round: the case that matters
    data = funnel_data(ctx.results, "bostadsinbrott", year)  # as report.funnel_figure draws it
    report_fig = funnel_highlight(
        funnel_chart(ctx.results, "bostadsinbrott", year, level="kommun", data=data),
        ctx.results,
        "bostadsinbrott",
        year,
        "2180",
        data=data,
    ).to_plotly_json()

    def traces(fig):
        return {t.get("name"): (list(t.get("x", [])), list(t.get("y", []))) for t in fig["data"]}

    mine, theirs = traces(drawn[0]), traces(report_fig)
    assert set(mine) == set(theirs) and "Gävle" in mine
    for name in theirs:
        assert mine[name][0] == pytest.approx(theirs[name][0]) and mine[name][1] == pytest.approx(theirs[name][1])
