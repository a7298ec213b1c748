"""Shared fixtures: the example dataset and its store (built once per session), real data, small files."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

#: Real public data for checks, outside the repository (never copied into it).
REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
REAL_BRA_DALARNA = REAL_DIR / "bra_kommunindikatorer_dalarna" / "bra_kommunindikatorer.derived.csv"

BRA_HEADER = "geografi,enhet,ar,variabel,varde,kalla"

_OWN_CACHE: str | None = None


def pytest_configure(config):
    """The results cache in a temporary folder for the whole run (and the kernels the builds start),
    removed at the end: the suite leaves nothing in ~/.cache. A ``TMB_CACHE_DIR`` already set is kept."""
    global _OWN_CACHE
    if not os.environ.get("TMB_CACHE_DIR"):
        _OWN_CACHE = tempfile.mkdtemp(prefix="tmb-test-cache-")
        os.environ["TMB_CACHE_DIR"] = _OWN_CACHE


def pytest_unconfigure(config):
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
        os.environ.pop("TMB_CACHE_DIR", None)


@pytest.fixture(scope="session")
def real_bra_dalarna() -> Path:
    if not REAL_BRA_DALARNA.is_file():
        pytest.skip(f"real data not available ({REAL_BRA_DALARNA})")
    return REAL_BRA_DALARNA


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The example dataset written by ``tmb_analysis.sample.write_sample`` (seed 2024)."""
    from tmb_analysis.sample import write_sample

    out = tmp_path_factory.mktemp("sample")
    write_sample(out)
    return out


@pytest.fixture(scope="session")
def sample_store(sample_dir, tmp_path_factory) -> Path:
    """A store with the example dataset imported. Treat as read-only: copy it before changing it."""
    from tmb_analysis.store import import_paths

    store = tmp_path_factory.mktemp("store") / "processed"
    import_paths([sample_dir], store)
    return store


@pytest.fixture(scope="session")
def small_store(sample_dir, tmp_path_factory) -> Path:
    """A few counties of the example data, for builds with the fixture notebooks (which do not read the
    store): Gävleborg, Stockholm (0114, a code with a leading zero) and Gotland (a county of one kommun).
    Treat as read-only."""
    from tmb_analysis.store import import_paths

    store = tmp_path_factory.mktemp("small") / "store"
    import_paths([sample_dir / f"exempeldata_bra_kommunindikatorer_{lan}.csv" for lan in ("21", "01", "09")], store)
    return store


@pytest.fixture
def write_bra(tmp_path):
    """Write a small BRÅ long-form CSV: ``write_bra(lines, name=..., encoding=...)`` -> Path.

    ``lines`` are data lines without the header; pass ``header=None`` to leave the header out or a
    string to replace it.
    """

    def _write(
        lines: list[str], name: str = "bra.csv", header: str | None = BRA_HEADER, encoding: str = "utf-8"
    ) -> Path:
        text = "\n".join(([header] if header is not None else []) + list(lines)) + "\n"
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write


@pytest.fixture
def bra_lines() -> list[str]:
    """A valid minimal BRÅ long form: Gävle, Gävleborgs län and Hela landet, crime and NTU, 2023-2024."""
    crime = "Anmälda brott"
    ntu = "Nationella trygghetsundersökningen (NTU)"
    unit = "Andel (%) i befolkningen (16–84 år) som känner sig ganska/mycket otrygga samt de som avstår från att gå ut på grund av otrygghet."
    var = "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"
    rows = []
    data = {  # area: {year: (count, rate, n, share, low, high)}
        "Gävle": {2023: (9000, 8869, 600, 24.0, 21.0, 28.0), 2024: (9100, 8967, 610, 23.0, 20.0, 27.0)},
        "Gävleborgs län": {2023: (24000, 8403, 3000, 22.5, 21.0, 24.0), 2024: (24500, 8571, 3100, 22.0, 20.6, 23.5)},
        "Hela landet": {
            2023: (1511882, 14349, 63683, 26.46, 26.1, 26.8),
            2024: (1489319, 14090, 64751, 24.23, 23.9, 24.6),
        },
    }
    for area, years in data.items():
        for y, (count, rate, n, share, low, high) in years.items():
            rows.append(f"{area},Antal,{y},Totalt antal anmälda brott,{count}.0,{crime}")
            rows.append(f"{area},Antal per 100 000 inv,{y},Totalt antal anmälda brott,{rate}.0,{crime}")
            rows.append(f'{area},Antal,{y},"Våld i nära relationer, mot kvinnor",{count // 50}.0,{crime}')
            rows.append(
                f'{area},Antal per 100 000 inv,{y},"Våld i nära relationer, mot kvinnor",{rate // 50}.0,{crime}'
            )
            rows.append(f"{area},,{y},Antal svarande i NTU.,{n}.0,{ntu}")
            rows.append(f"{area},{unit},{y},{var},{share},{ntu}")
            rows.append(f"{area},KI (95 %) undre gräns,{y},{var},{low},{ntu}")
            rows.append(f"{area},KI (95 %) övre gräns,{y},{var},{high},{ntu}")
    return rows


@pytest.fixture(scope="session")
def built_site(sample_store, tmp_path_factory):
    """Gävleborg's site (län 21 and its ten kommuner) built from the example data, once per session.

    Returns (out_dir, BuildResult). Treat as read-only: copy it before changing it.
    """
    from tmb_analysis.build import build

    out = tmp_path_factory.mktemp("site") / "reports"
    result = build(lan=["21"], store=sample_store, out=out)
    return out, result


@pytest.fixture(scope="session")
def dalarna_site(tmp_path_factory):
    """Dalarna's site built from BRÅ's real indicators (crime to 2024, NTU to 2025), default year, once per
    session: (store, out). Skips when the real data are absent. Treat as read-only."""
    from tmb_analysis.build import build
    from tmb_analysis.store import import_paths

    if not REAL_BRA_DALARNA.is_file():
        pytest.skip(f"real data not available ({REAL_BRA_DALARNA})")
    base = tmp_path_factory.mktemp("dalarna")
    import_paths([REAL_BRA_DALARNA], base / "store")
    result = build(lan=["20"], store=base / "store", out=base / "site", workers=2)
    assert not result.failed, [(r.page, r.error) for r in result.failed]
    return base / "store", base / "site"


@pytest.fixture
def ctrl_c():
    """Ctrl-C as an interactive Python has it (SIGINT raises ``KeyboardInterrupt``), whatever the runner
    inherited. A suite started in the background by a shell (``make test &``, ``nohup``, some CI
    runners) inherits SIGINT ignored, and Python then leaves it ignored: a test that sends itself SIGINT
    would see nothing happen (ten-run loop of issue 12, stop 20: four "DID NOT RAISE" failures)."""
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium for the browser and PDF tests: skipped where it is missing, unless
    ``TMB_REQUIRE_BROWSER=1`` (CI), where a missing browser fails the test."""
    import os

    from tmb_analysis.pdf import ChromiumMissing, find_chromium

    try:
        return find_chromium()
    except ChromiumMissing:
        if os.environ.get("TMB_REQUIRE_BROWSER") == "1":
            pytest.fail("Debian chromium is required (TMB_REQUIRE_BROWSER=1)")
        pytest.skip("Debian chromium not installed")
