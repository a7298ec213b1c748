"""Faults of the nightly build, each provoked for real: notebooks that raise, hang or kill their kernel,
a kernel that does not start, a build that crashes midway, charts lost on the way, bad parameters.

The fixture notebooks (``tests/fixtures/notebooks/``, one behaviour each) misbehave for Gävle (2180)
only and build a small page with two charts for every other report, so each test shows both that the
fault is caught and that the other reports are still published.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tmb_analysis.build import BuildAborted, BuildError, Job, build, check_parameters
from tmb_analysis.geography import UnknownAreaError

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
GAVLEBORG = ["2101", "2104", "2121", "2132", "2161", "2180", "2181", "2182", "2183", "2184"]


@pytest.fixture(scope="module")
def small_store(sample_dir, tmp_path_factory):
    """Gävleborg's example data only: the fixture notebooks do not read the store, so keep it small."""
    from tmb_analysis.store import import_paths

    store = tmp_path_factory.mktemp("faults") / "store"
    import_paths([sample_dir / "exempeldata_bra_kommunindikatorer_21.csv"], store)
    return store


def nbs(name: str) -> dict:
    return {"kommun": FIXTURES / f"{name}.ipynb", "lan": FIXTURES / f"{name}.ipynb"}


def fixture_build(store, out, name="ok", **kw):
    """A build with fixture notebooks: no package preloaded into the kernels, log lines, no bar."""
    kw.setdefault("kommuner", ["2180", "2101"])
    kw.setdefault("workers", 1)
    return build(store=store, out=out, notebooks=nbs(name), preload=(), progress=False, **kw)


def statuses(result) -> dict:
    return {r.page: r.status for r in result.reports}


def snapshot(site: Path) -> dict:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def no_child_processes() -> bool:
    import psutil

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not psutil.Process().children(recursive=True):
            return True
        time.sleep(0.2)
    return False


def test_cell_that_raises(small_store, tmp_path):
    out = tmp_path / "site"
    result = fixture_build(small_store, out, "raises")
    assert statuses(result) == {"kommun-2180.html": "failed", "kommun-2101.html": "ok"}
    failed = result.failed[0]
    assert failed.error == "ValueError: simulated failure in 2180"
    assert "simulated failure" in failed.traceback
    # published anyway: the good report, and a page for the failed one that says so (no broken link)
    assert result.published
    assert "Testrapport 2101" in (out / "kommun-2101.html").read_text("utf-8")
    assert "Rapporten kunde inte byggas" in (out / "kommun-2180.html").read_text("utf-8")
    index = (out / "index.html").read_text("utf-8")
    assert "kunde inte byggas" in index and 'href="kommun-2180.html"' not in index
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    entry = next(r for r in manifest["reports"] if r["page"] == "kommun-2180.html")
    assert entry["status"] == "failed" and "simulated failure" in entry["error"]
    assert no_child_processes()


def test_cell_that_hangs_past_the_timeout(small_store, tmp_path):
    t0 = time.monotonic()
    result = fixture_build(small_store, tmp_path / "site", "hangs", timeout=4)
    assert statuses(result) == {"kommun-2180.html": "failed", "kommun-2101.html": "ok"}
    assert result.failed[0].error.startswith("TimeoutError: the notebook ran longer than its 4 s")
    assert 4 <= result.failed[0].seconds < 15
    assert time.monotonic() - t0 < 60
    assert no_child_processes()  # the hung kernel was killed, not left behind


def test_whole_notebook_deadline_not_only_per_cell(small_store, tmp_path):
    """Many short cells add up: the deadline is for the whole notebook."""
    import nbformat

    nb = nbformat.read(FIXTURES / "slow.ipynb", as_version=4)
    after = nb.cells.index(next(c for c in nb.cells if "sleep" in c.source)) + 1
    nb.cells[after:after] = [nbformat.v4.new_code_cell("time.sleep(1.0)") for _ in range(4)]  # 5 s in 1 s cells
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    slow = tmp_path / "slower.ipynb"
    nbformat.write(nb, slow)
    result = build(store=small_store, out=tmp_path / "site", kommuner=["2101"], notebooks={"kommun": slow},
                   preload=(), progress=False, workers=1, timeout=3)
    assert result.failed and result.failed[0].error.startswith("TimeoutError")
    assert result.failed[0].seconds < 8


def test_kernel_killed_mid_run(small_store, tmp_path):
    result = fixture_build(small_store, tmp_path / "site", "dies")
    assert statuses(result) == {"kommun-2180.html": "failed", "kommun-2101.html": "ok"}
    died = result.failed[0]
    assert "kernel died" in died.error
    # the next report ran in a fresh kernel, in the same worker
    assert result.workers == 1
    assert no_child_processes()


FLAKY_LAUNCHER = """
import os, sys
marker = os.environ["TMB_FLAKY_MARKER"]
if not os.path.exists(marker):  # the first start fails, as a kernel that lost a port race would
    open(marker, "w").close()
    sys.exit(1)
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def test_kernel_that_fails_to_start_once(small_store, tmp_path, monkeypatch):
    kernels = tmp_path / "jupyter" / "kernels" / "flaky"
    kernels.mkdir(parents=True)
    (kernels.parent.parent / "flaky_launcher.py").write_text(textwrap.dedent(FLAKY_LAUNCHER))
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(kernels.parent.parent / "flaky_launcher.py"), "-f", "{connection_file}"],
        "display_name": "flaky", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("TMB_FLAKY_MARKER", str(tmp_path / "started-once"))
    result = fixture_build(small_store, tmp_path / "site", "ok", kernel_name="flaky", start_backoff=0.2)
    assert not result.failed, [r.error for r in result.failed]
    assert sum(r.kernel_start_failures for r in result.reports) == 1
    assert (tmp_path / "started-once").exists()


def test_kernel_that_never_starts_fails_its_reports(small_store, tmp_path, monkeypatch):
    kernels = tmp_path / "jupyter" / "kernels" / "broken"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import sys; sys.exit(3)", "-f", "{connection_file}"],
        "display_name": "broken", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    out = tmp_path / "site"
    with pytest.raises(BuildAborted, match="kernels do not start"):
        fixture_build(small_store, out, "ok", kernel_name="broken", start_attempts=1,
                      kommuner=["2180", "2101", "2104"])
    assert not out.exists() and leftovers(tmp_path, "site") == []


#: Gotland's county overview and kommun, and three of Gävleborg's kommuner.
PLAN = {"lan": ["09"], "kommuner": ["2180", "2101", "2104"]}


@pytest.fixture
def live_site(small_store, tmp_path):
    """A complete site built from the ok fixture: (out, bytes of every file)."""
    out = tmp_path / "site"
    result = fixture_build(small_store, out, "ok", **PLAN)
    assert not result.failed and result.published and len(result.reports) == 5
    return out, snapshot(out)


def test_build_crashing_midway_leaves_the_live_site(small_store, live_site, monkeypatch):
    """An exception in the middle of the run (after two reports): the previous site stays live, untouched."""
    import tmb_analysis.build as b

    out, before = live_site
    real, calls = b._render_page, []

    def crash_after_two(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise MemoryError("simulated crash midway")
        return real(*args, **kwargs)

    monkeypatch.setattr(b, "_render_page", crash_after_two)
    with pytest.raises(BuildAborted, match="simulated crash midway"):
        fixture_build(small_store, out, "ok", force=True, **PLAN)
    assert snapshot(out) == before
    assert leftovers(out.parent, "site") == []  # staging removed
    assert no_child_processes()  # workers and kernels stopped


def test_build_killed_midway_then_full_rerun(small_store, live_site):
    """The build process is killed (SIGKILL) halfway: the live site is untouched; the next run recovers."""
    out, before = live_site
    script = textwrap.dedent(f"""
        from tmb_analysis.build import build
        build(lan=["21"], store={str(small_store)!r}, out={str(out)!r}, workers=1, preload=(), progress=False,
              notebooks={{"kommun": {str(FIXTURES / 'slow.ipynb')!r}, "lan": {str(FIXTURES / 'slow.ipynb')!r}}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until some reports are staged
            staged = [p for d in out.parent.glob(".site.staging-*") for p in d.glob("kommun-*.html")]
            if len(staged) >= 3:
                break
            assert proc.poll() is None, "the build ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("no report was staged in time")
        os.killpg(proc.pid, signal.SIGKILL)  # the build and its workers, as a power cut would
    finally:
        proc.wait(30)
    assert snapshot(out) == before  # the live site is the previous complete one
    assert any(n.startswith(".site.staging-") for n in leftovers(out.parent, "site"))
    # the full rerun: removes what the killed run left, builds every report, publishes
    result = fixture_build(small_store, out, "ok", lan=["21"], kommuner=[])
    assert not result.failed and len(result.rebuilt) == 11 and result.published
    assert leftovers(out.parent, "site") == []
    assert sorted(p.name for p in out.glob("*-*.html")) == sorted(
        ["lan-21.html"] + [f"kommun-{c}.html" for c in GAVLEBORG])


def test_second_build_while_one_runs(small_store, live_site):
    """Two nightly runs overlapping: the second stops at once and changes nothing."""
    from tmb_analysis.build import _Lock

    out, before = live_site
    with _Lock(out):  # as a running build holds it
        with pytest.raises(BuildAborted, match="another build is running"):
            fixture_build(small_store, out, "ok", force=True, **PLAN)
    assert snapshot(out) == before


def test_stopping_the_nightly_service(small_store, tmp_path):
    """`systemctl stop` sends SIGTERM to `tmb build`: it stops its workers and kernels, removes its
    staging folder, exits 3 and leaves nothing published."""
    out = tmp_path / "site"
    proc = subprocess.Popen([sys.executable, "-m", "tmb_analysis.cli", "build", "--kommun", "2180", "2101",
                             "--store", str(small_store), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".site.staging-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "nothing was published" in err
    assert list(tmp_path.iterdir()) == []
    assert no_child_processes()


@pytest.mark.parametrize("fixture, message", [
    ("missing_chart", "a chart is missing"),
    ("json_chart", "only as application/vnd.plotly.v1+json"),
])
def test_missing_chart_in_an_exported_page(small_store, tmp_path, fixture, message):
    result = fixture_build(small_store, tmp_path / "site", fixture)
    assert statuses(result) == {"kommun-2180.html": "failed", "kommun-2101.html": "ok"}
    assert message in result.failed[0].error


def test_misspelt_parameter_stops_before_anything_runs(small_store, tmp_path):
    out = tmp_path / "site"
    with pytest.raises(BuildError, match=r"unknown parameter\(s\) \['kommun'\].*misspelt.*kommn"):
        fixture_build(small_store, out, "misspelt")
    assert list(tmp_path.iterdir()) == []  # no site, no staging
    assert no_child_processes()


def test_parameter_of_the_wrong_type(small_store):
    job = Job("kommun", "2180", str(FIXTURES / "ok.ipynb"), "kommun-2180.html")
    with pytest.raises(BuildError, match="year must be a whole number"):
        check_parameters([job], small_store, "2024")
    check_parameters([job], small_store, 2024)


@pytest.mark.parametrize("code", ["../x", "0000", "CON", "2180/../../etc", "114", 114])
def test_bad_codes_never_reach_a_notebook_or_a_file_name(small_store, tmp_path, code):
    out = tmp_path / "site"
    with pytest.raises(UnknownAreaError):
        fixture_build(small_store, out, kommuner=[code])
    assert list(tmp_path.iterdir()) == []
    # a job made by hand, past plan(): the parameter check refuses it too
    job = Job("kommun", code, str(FIXTURES / "ok.ipynb"), f"kommun-{code}.html")
    with pytest.raises(BuildError):
        check_parameters([job], small_store, 0)


def test_leading_zero_code_stays_a_string(small_store, tmp_path):
    """0114 (Upplands Väsby) reaches the notebook as the string '0114', and names the file."""
    out = tmp_path / "site"
    result = fixture_build(small_store, out, kommuner=["0114"])
    assert not result.failed
    assert "Testrapport 0114" in (out / "kommun-0114.html").read_text("utf-8")
