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
        str(NOTEBOOKS / "kommun_rapport.ipynb"), str(out),
        parameters={"kommun": "2101", "store": str(small_store), "year": 0},
        kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOKS),
    )
    nb = nbformat.read(out, as_version=4)
    html = "".join(
        o.get("data", {}).get("text/html", "") if isinstance(o.get("data", {}).get("text/html", ""), str)
        else "".join(o["data"]["text/html"])
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
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


@pytest.mark.parametrize("bad, message", [
    (114, "must be a string code"),  # what `papermill -p kommun 0114` delivers
    ("114", "four-digit"),
    ("../x", "four-digit"),
    ("9999", "unknown area code"),
    ("21", "four-digit"),
])
def test_bad_kommun_parameter(small_store, bad, message):
    with pytest.raises(ParameterError, match=message):
        context(bad, small_store, 0, kind="kommun")


def test_bad_year_parameter(small_store):
    with pytest.raises(ParameterError, match="no data"):
        context("2101", small_store, 1900, kind="kommun")


def test_explore_notebook_runs(small_store, tmp_path):
    papermill.execute_notebook(
        str(NOTEBOOKS / "utforska.ipynb"), str(tmp_path / "u.ipynb"),
        parameters={"store": str(small_store), "kommun": "2101", "indicator": "bostadsinbrott", "year": 0},
        kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOKS),
    )


@pytest.mark.parametrize("name", ["kommun_rapport", "lan_oversikt", "utforska"])
def test_notebooks_paired_with_jupytext_scripts(name):
    """The .ipynb and its percent script hold the same cells (edit either, then `jupytext --sync`)."""
    import jupytext

    ipynb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    script = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert [(c.cell_type, c.source) for c in ipynb.cells] == [(c.cell_type, c.source) for c in script.cells]
