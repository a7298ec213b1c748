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

from tmb_analysis.build import build
from tmb_analysis.geography import UnknownAreaError
from tmb_analysis.site.plan import BuildAborted, BuildError, Job, check_parameters

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
GAVLEBORG = ["2101", "2104", "2121", "2132", "2161", "2180", "2181", "2182", "2183", "2184"]


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
    """Every worker and kernel has exited. Waits for them to go (process exit is an event, not a time
    bound: the generous limit only keeps a broken build from hanging the suite)."""
    import psutil

    children = psutil.Process().children(recursive=True)
    _, alive = psutil.wait_procs(children, timeout=120)
    return not alive and not psutil.Process().children(recursive=True)


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
    """The cell sleeps for an hour: that this test ends at all shows the deadline fired. No upper bound on
    the time taken (a loaded machine is slow); the lower bound is exact: the deadline never fires early."""
    result = fixture_build(small_store, tmp_path / "site", "hangs", timeout=4)
    assert statuses(result) == {"kommun-2180.html": "failed", "kommun-2101.html": "ok"}
    assert result.failed[0].error.startswith("TimeoutError: the notebook ran longer than its 4 s")
    assert result.failed[0].seconds >= 4
    assert no_child_processes()  # the hung kernel was killed, not left behind


def test_whole_notebook_deadline_not_only_per_cell(small_store, tmp_path):
    """Many short cells add up: the deadline is for the whole notebook."""
    import nbformat

    nb = nbformat.read(FIXTURES / "slow.ipynb", as_version=4)
    after = nb.cells.index(next(c for c in nb.cells if "sleep" in c.source)) + 1
    ran = tmp_path / "cells-run.txt"
    # five more cells of one second each, every one well under the deadline, each leaving a mark
    nb.cells[after:after] = [
        nbformat.v4.new_code_cell(f"time.sleep(1.0)\nopen({str(ran)!r}, 'a').write('x')") for _ in range(5)
    ]
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    slow = tmp_path / "slower.ipynb"
    nbformat.write(nb, slow)
    result = build(
        store=small_store,
        out=tmp_path / "site",
        kommuner=["2101"],
        notebooks={"kommun": slow},
        preload=(),
        progress=False,
        workers=1,
        timeout=3,
    )
    assert result.failed and result.failed[0].error.startswith("TimeoutError")
    # six seconds of cells cannot fit into three: the notebook was stopped before its last cells ran
    assert len(ran.read_text() if ran.exists() else "") < 5
    assert result.failed[0].seconds >= 3


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
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, str(kernels.parent.parent / "flaky_launcher.py"), "-f", "{connection_file}"],
                "display_name": "flaky",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("TMB_FLAKY_MARKER", str(tmp_path / "started-once"))
    result = fixture_build(small_store, tmp_path / "site", "ok", kernel_name="flaky", start_backoff=0.2)
    assert not result.failed, [r.error for r in result.failed]
    assert sum(r.kernel_start_failures for r in result.reports) == 1
    assert (tmp_path / "started-once").exists()


def test_kernel_that_never_starts_fails_its_reports(small_store, tmp_path, monkeypatch):
    kernels = tmp_path / "jupyter" / "kernels" / "broken"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", "import sys; sys.exit(3)", "-f", "{connection_file}"],
                "display_name": "broken",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    out = tmp_path / "site"
    with pytest.raises(BuildAborted, match="kernels do not start"):
        fixture_build(small_store, out, "ok", kernel_name="broken", start_attempts=1, kommuner=["2180", "2101", "2104"])
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
    from tmb_analysis.site import pages

    out, before = live_site
    real, calls = pages.render_page, []

    def crash_after_two(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise MemoryError("simulated crash midway")
        return real(*args, **kwargs)

    monkeypatch.setattr(pages, "render_page", crash_after_two)
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
        build(lan=["21", "09"], kommuner=["2180", "2101", "2104"], store={str(small_store)!r}, out={str(out)!r}, workers=1, preload=(), progress=False,
              notebooks={{"kommun": {str(FIXTURES / "slow.ipynb")!r}, "lan": {str(FIXTURES / "slow.ipynb")!r}}})
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 600  # a wait for an event; the limit only keeps a broken build from hanging
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
    result = fixture_build(small_store, out, "ok", lan=["21", "09"], kommuner=[])
    # Gävleborg's eleven are new (its kommun pages now link their county overview); Gotland's are reused
    assert not result.failed and len(result.rebuilt) == 11 and len(result.reused) == 2 and result.published
    assert leftovers(out.parent, "site") == []
    assert sorted(p.name for p in out.glob("*-*.html")) == sorted(
        ["lan-21.html", "lan-09.html", "kommun-0980.html"] + [f"kommun-{c}.html" for c in GAVLEBORG]
    )


def test_second_build_while_one_runs(small_store, live_site):
    """Two nightly runs overlapping: the second stops at once and changes nothing."""
    from tmb_analysis.site.publish import SiteLock

    out, before = live_site
    with SiteLock(out):  # as a running build holds it
        with pytest.raises(BuildAborted, match="another build is running"):
            fixture_build(small_store, out, "ok", force=True, **PLAN)
    assert snapshot(out) == before


def test_stopping_the_nightly_service(small_store, tmp_path):
    """`systemctl stop` sends SIGTERM to `tmb build`: it stops its workers and kernels, removes its
    staging folder, exits 3 and leaves nothing published."""
    out = tmp_path / "site"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tmb_analysis.cli",
            "build",
            "--kommun",
            "2180",
            "2101",
            "--store",
            str(small_store),
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 600  # a wait for an event, not a time bound
    while not list(tmp_path.glob(".site.staging-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "nothing was published" in err
    assert list(tmp_path.iterdir()) == []
    assert no_child_processes()


def test_interrupt_the_moment_the_shared_files_start(small_store, tmp_path, monkeypatch, ctrl_c):
    """Ctrl-C (or SIGTERM) just as the thread that writes the site's assets and data has started: the
    run waits for that thread before it removes the staging folder, so nothing writes into a folder
    being removed and nothing is left (the CI failure of stop 18: a ``.site.staging-*`` left behind)."""
    import tmb_analysis.build as build_module

    threads = []

    class StartThenInterrupt(build_module._Background):
        def __init__(self, fn):
            def still_writing_when_the_run_unwinds():
                time.sleep(0.5)
                fn()
                self.finished = True

            self.finished = False
            super().__init__(still_writing_when_the_run_unwinds)
            threads.append(self)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(build_module, "_Background", StartThenInterrupt)
    out = tmp_path / "site"
    with pytest.raises(KeyboardInterrupt):
        fixture_build(small_store, out, "ok")
    [thread] = threads
    assert not thread.is_alive() and thread.finished  # joined before the folder went
    assert list(tmp_path.iterdir()) == []
    assert no_child_processes()


@pytest.mark.parametrize(
    "fixture, message",
    [
        ("missing_chart", "a chart is missing"),
        ("json_chart", "only as application/vnd.plotly.v1+json"),
    ],
)
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


# ---- the output folder: never lose a user's files ----------------------------------------------------


def sentinel_folder(folder: Path) -> dict:
    """A folder of the user's own: a thesis and a photo folder. Returns its bytes, to compare with later."""
    (folder / "photos").mkdir(parents=True)
    (folder / "thesis.txt").write_bytes(b"x\n\xc3\xa5\xc3\xa4\xc3\xb6 my thesis\n")
    (folder / "photos" / "p1.jpg").write_bytes(bytes(range(256)))
    return snapshot(folder)


def test_out_folder_with_the_users_files_is_refused(small_store, tmp_path):
    mine = tmp_path / "mine"
    before = sentinel_folder(mine)
    with pytest.raises(BuildError, match=r"--out .*mine: the folder holds .*photos/.*thesis\.txt.*--force-out"):
        fixture_build(small_store, mine, kommuner=["2180"])
    assert snapshot(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing staged beside it
    assert no_child_processes()


def test_force_out_moves_the_folder_aside_whole(small_store, tmp_path):
    mine = tmp_path / "mine"
    before = sentinel_folder(mine)
    result = fixture_build(small_store, mine, kommuner=["2180"], force_out=True)
    assert result.published and not result.failed
    assert result.moved_aside is not None and result.moved_aside.parent == tmp_path
    assert result.moved_aside.name.startswith("mine.moved-aside-")
    assert snapshot(result.moved_aside) == before  # every byte kept, nothing deleted
    assert (mine / "kommun-2180.html").is_file() and not (mine / "thesis.txt").exists()


def test_out_that_is_or_holds_the_store_is_refused(small_store, tmp_path):
    import shutil

    data = tmp_path / "data"
    store = data / "processed"
    shutil.copytree(small_store, store)
    before = snapshot(data)
    for out, what in ((store, "is the store"), (data, "holds the store"), (store / "site", "inside the store")):
        with pytest.raises(BuildError, match=what):
            fixture_build(store, out, kommuner=["2180"], force_out=True)  # not even with --force-out
    assert snapshot(data) == before


def test_out_that_holds_the_working_directory_is_refused(small_store, tmp_path, monkeypatch):
    work = tmp_path / "work"
    before = sentinel_folder(work)
    monkeypatch.chdir(work)
    for out in (work, tmp_path, Path(".")):
        with pytest.raises(BuildError, match="holds the working directory"):
            fixture_build(small_store, out, kommuner=["2180"], force_out=True)
    assert snapshot(work) == before


def test_users_file_inside_a_site_is_never_removed(small_store, live_site):
    out, before = live_site
    (out / "data" / "my-notes.xlsx").write_bytes(b"PK\x03\x04 notes")
    with pytest.raises(BuildError, match=r"files that tmb did not write \(data/my-notes\.xlsx\)"):
        fixture_build(small_store, out, "ok", force=True, **PLAN)
    assert (out / "data" / "my-notes.xlsx").read_bytes() == b"PK\x03\x04 notes"
    assert {k: v for k, v in snapshot(out).items() if k != "data/my-notes.xlsx"} == before


def test_subset_of_a_site_is_refused_and_the_site_kept(small_store, live_site):
    """Building one kommun into a site of five reports would drop four: refused, with what to run instead."""
    out, before = live_site
    with pytest.raises(
        BuildError, match=r"has 5 report\(s\); this run builds 1 and would drop 4 .*Build the whole site"
    ):
        fixture_build(small_store, out, "ok", kommuner=["2180"])
    assert snapshot(out) == before
    # the whole site plus more is fine: the unchanged pages are reused
    result = fixture_build(small_store, out, "ok", lan=["09"], kommuner=["2180", "2101", "2104", "2121"])
    assert not result.failed and len(result.rebuilt) == 1 and (out / "kommun-2121.html").is_file()


def test_empty_folder_or_only_readme_is_a_new_site(small_store, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("# Rapporterna\n", encoding="utf-8")  # as in a fresh clone of the repository
    result = fixture_build(small_store, out, kommuner=["2180"])
    assert result.published and (out / "README.md").read_text("utf-8") == "# Rapporterna\n"


def test_file_dropped_into_the_site_during_the_build_aborts_publishing(small_store, live_site, monkeypatch):
    from tmb_analysis.site import publish

    out, before = live_site
    real = publish.carry_over

    def drop_a_file(*args, **kwargs):  # the user saves a file into the site while the reports run
        (out / "dropped-meanwhile.txt").write_text("mine", encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(publish, "carry_over", drop_a_file)
    with pytest.raises(BuildAborted, match="changed while the site was built"):
        fixture_build(small_store, out, "ok", force=True, **PLAN)
    assert (out / "dropped-meanwhile.txt").read_text("utf-8") == "mine"
    assert {k: v for k, v in snapshot(out).items() if k != "dropped-meanwhile.txt"} == before


# ---- bad parameters: refused before anything starts ----------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        ({"timeout": 0}, "--timeout must be a positive whole number"),
        ({"timeout": -5}, "--timeout must be a positive whole number"),
        ({"timeout": float("nan")}, "--timeout must be a positive whole number"),
        ({"workers": 0}, "--workers must be a positive whole number"),
        ({"workers": -1}, "--workers must be a positive whole number"),
        ({"year": 1800}, r"--year 1800: the store .* holds data for \d{4}–\d{4}"),
        ({"year": 3000}, r"--year 3000: the store .* holds data for \d{4}–\d{4}"),
        ({"lan": ["20"], "kommuner": []}, r"holds no data for Dalarnas län \(20\) and its kommuner"),
        ({"kommuner": ["1280"]}, r"holds no data for Malmö \(1280\)"),
    ],
)
def test_bad_run_options_are_refused_before_anything_is_written(small_store, tmp_path, options, message):
    with pytest.raises(BuildError, match=message):
        fixture_build(small_store, tmp_path / "site", **options)
    assert list(tmp_path.iterdir()) == []
    assert no_child_processes()


def test_store_that_is_a_file_is_refused(tmp_path):
    store = tmp_path / "store"
    store.write_bytes(b"not a store")
    with pytest.raises(BuildError, match="is a file, not a store folder"):
        fixture_build(store, tmp_path / "site")
    assert store.read_bytes() == b"not a store" and sorted(p.name for p in tmp_path.iterdir()) == ["store"]


# ---- the site check reads elements, never text ---------------------------------------------------------


def _page(body: str) -> str:
    return (
        '<html><head><link rel="stylesheet" href="assets/tmb.css"></head><body>'
        + "".join(
            f'<figure class="tmb-figure"><div id="f{i}" class="plotly-graph-div"></div>'
            f'<script>Plotly.newPlot("f{i}", [], {{}})</script></figure>'
            for i in range(2)
        )
        + body
        + "</body></html>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "&lt;img src=x onerror=alert(1)&gt;",  # an imported file's name, escaped
        "Grannsamverkan &lt;a href=&quot;//evil.example/x&quot;&gt;",  # a follow-up description, escaped
        "src=//evil.example/a.js href=x.html",  # plain text that looks like attributes
        "Plotly.newPlot( i texten",  # text naming the drawing call
    ],
)
def test_escaped_text_is_never_a_link(tmp_path, text):
    from tmb_analysis.site.pages import check_page, validate_site

    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "assets" / "tmb.css").write_text("", encoding="utf-8")
    (site / "index.html").write_text(_page(""), encoding="utf-8")
    page = _page(f"<p>{text}</p>")
    (site / "kommun-2180.html").write_text(page, encoding="utf-8")
    assert check_page(page, "kommun-2180.html", "kommun") == 2
    assert validate_site(site, {"kommun-2180.html": "kommun"}) == []


def test_real_elements_are_still_checked(tmp_path):
    from tmb_analysis.site.pages import check_page, validate_site

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(_page('<img src="missing.png">'), encoding="utf-8")
    (site / "kommun-2180.html").write_text(_page('<script src="https://cdn.example/x.js"></script>'), encoding="utf-8")
    problems = validate_site(site, {"kommun-2180.html": "kommun"})
    assert any("index.html: links to 'missing.png'" in p for p in problems)
    assert any(
        "kommun-2180.html: refers to an address outside the site ('https://cdn.example/x.js')" in p for p in problems
    )
    with pytest.raises(BuildError, match=r"3 figure\(s\) but 2 chart container"):
        check_page(_page('<figure class="tmb-figure"></figure>'), "kommun-2180.html", "kommun")


# ---- follow-up files: every problem is a message on the page -------------------------------------------

BOMB = """kommun: "2180"
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
prioriteringar: [*i]
"""

GOOD_ENTRY = "  - indikator: bostadsinbrott\n    basar: 2022\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (BOMB.encode(), r"2180\.yaml, rad 2: ankare och alias .* inte tillåtna"),
        (b"- kommun: '2180'\n", r"2180\.yaml: filen ska vara en tabell .* inte en lista"),
        (
            b"kommun: '2180'\nprioriteringar:\n  - bostadsinbrott\n",
            r"prioriteringar\[1\] ska vara en tabell .* inte en text",
        ),
        (b"kommun: '2180'\nprioriteringar: bostadsinbrott\n", r"fältet prioriteringar ska vara en lista"),
        (
            "kommun: '2180'\nprioriteringar:\n  - indikator: bostadsinbrott\n    basar: 2022\n    beskrivning: Grannsamverkan på Sätra\n".encode(
                "latin-1"
            ),
            r"2180\.yaml, rad 5: filen är inte UTF-8-text \(byte 0xe5\)",
        ),
        (b"kommun: 2180\n", r"fältet kommun ska vara \"2180\", inte '2180' \(skriv koden inom citattecken\)"),
        (
            b"kommun: '2180'\nprioriteringar:\n" + GOOD_ENTRY.encode() + b"    basr: 2021\n",
            r"okänt fält prioriteringar\[1\]\.basr",
        ),
        (
            b"kommun: '2180'\nprioriteringar:\n  - indikator: inbrott\n    basar: 2022\n",
            r"prioriteringar\[1\]\.indikator 'inbrott'",
        ),
        (
            b"kommun: '2180'\nprioriteringar:\n  - indikator: bostadsinbrott\n    basar: tjugo\n",
            r"prioriteringar\[1\]\.basar ska vara ett årtal som 2022, inte 'tjugo'",
        ),
        (b"kommun: '2180'\nx: !!python/object/apply:os.system ['true']\n", r"2180\.yaml, rad 2: inte giltig YAML"),
        (b"kommun: '2180'\nprioriteringar: [\n", r"2180\.yaml, rad \d: inte giltig YAML"),
        (b"kommun: '2180'\n" + b"#" * (300 * 1024), r"2180\.yaml: filen är 300 kB; en uppföljningsfil är högst 256 kB"),
    ],
)
def test_broken_followup_file_gives_a_message_naming_file_and_field(tmp_path, monkeypatch, content, message):
    import tracemalloc

    from tmb_analysis.followup import FollowupError, load_followup

    monkeypatch.setenv("TMB_FOLLOWUP_DIR", str(tmp_path))
    (tmp_path / "2180.yaml").write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(FollowupError, match=message) as info:
            load_followup("2180")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(tmp_path) not in str(info.value)  # no server path on a published page
    assert peak < 20 * 2**20  # the alias bomb is refused, not expanded


def test_broken_followup_file_is_a_message_on_the_page_not_a_dead_report(sample_store, tmp_path, monkeypatch):
    from tmb_analysis import report

    monkeypatch.setenv("TMB_FOLLOWUP_DIR", str(tmp_path))
    (tmp_path / "exempel").mkdir()
    (tmp_path / "exempel" / "2180.yaml").write_bytes(BOMB.encode())
    ctx = report.context("2180", sample_store, 0, kind="kommun")
    html = report.followup(ctx).data
    assert "Uppföljningsfilen kunde inte läsas" in html and "exempel/2180.yaml" in html
    assert str(tmp_path) not in html and "lol" not in html


def test_markup_in_a_file_name_and_a_followup_text_does_not_stop_publication(sample_dir, tmp_path, monkeypatch):
    """An imported file's name and a follow-up description, both shown (escaped) on the page, that look
    like markup: the real report builds, passes the site check and is published."""
    import shutil

    from tmb_analysis.store import import_paths

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample_dir / "exempeldata.json", src / "exempeldata.json")
    shutil.copy(sample_dir / "exempeldata_bra_kommunindikatorer_21.csv", src / "<img src=x onerror=alert(1)>.csv")
    store = tmp_path / "store"
    import_paths([src], store)
    follow = tmp_path / "uppfoljning" / "exempel"
    follow.mkdir(parents=True)
    (follow / "2180.yaml").write_text(
        'kommun: "2180"\nprioriteringar:\n  - indikator: bostadsinbrott\n    basar: 2022\n'
        "    beskrivning: 'Grannsamverkan <a href=\"//evil.example/x\">här</a> <img src=y>'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TMB_FOLLOWUP_DIR", str(tmp_path / "uppfoljning"))
    out = tmp_path / "site"
    result = build(kommuner=["2180"], store=store, out=out, workers=1, progress=False)
    assert result.published and not result.failed, [r.error for r in result.failed]
    page = (out / "kommun-2180.html").read_text("utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in page
    assert "Grannsamverkan &lt;a href=" in page and '<a href="//evil.example' not in page
