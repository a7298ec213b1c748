"""The `tmb` command: bad input gives one clear line, a non-zero exit and nothing half-written."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TMB = [sys.executable, "-m", "tmb_analysis.cli"]


def run(*args, cwd=None):
    return subprocess.run([*TMB, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def one_line_error(proc):
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--lan", "99"], "unknown area code '99'"),
        (["--kommun", "0000"], "unknown area code '0000'"),
        (["--kommun", "../x"], "not an area code"),
        (["--kommun", "CON"], "not an area code"),
    ],
)
def test_build_unknown_codes(sample_store, tmp_path, args, expected):
    out = tmp_path / "site"
    msg = one_line_error(run("build", *args, "--store", sample_store, "--out", out))
    assert expected in msg
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_build_empty_store(tmp_path):
    out = tmp_path / "site"
    msg = one_line_error(run("build", "--lan", "21", "--store", tmp_path / "nothing", "--out", out))
    assert "tmb sample" in msg and "nothing" in msg
    assert not out.exists()


def test_import_malformed_file_leaves_store_as_it_was(sample_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    before = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "geografi,enhet,ar,variabel,varde,kalla\nGävle,Antal,2023,Totalt antal anmälda brott,-5,Anmälda brott\n",
        encoding="utf-8",
    )
    msg = one_line_error(run("import", bad, "--store", store))
    assert "bad.csv" in msg
    assert {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()} == before


def test_sample_import_roundtrip(tmp_path):
    assert run("sample", "--out", tmp_path / "s").returncode == 0
    proc = run("import", tmp_path / "s", "--store", tmp_path / "p")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "p" / "crime.parquet").exists()


def test_pyproject_and_environment_yml_in_step():
    import tomllib

    import yaml

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["test"]  # conda users run the tests too
    env = yaml.safe_load((root / "environment.yml").read_text())["dependencies"]
    flat = [d for d in env if isinstance(d, str)] + [d for e in env if isinstance(e, dict) for d in e.get("pip", [])]
    assert sorted(d.replace(" ", "") for d in deps) == sorted(
        d for d in flat if not d.startswith(("python", "pip", "-e"))
    )


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def users_folder(folder: Path) -> dict:
    (folder / "photos").mkdir(parents=True)
    (folder / "thesis.txt").write_text("x\n", encoding="utf-8")
    (folder / "photos" / "p1.jpg").write_bytes(bytes(range(256)))
    return snapshot(folder)


def test_build_into_a_folder_of_the_users_files_is_refused(sample_store, tmp_path):
    """`mkdir -p mine/photos && echo x > mine/thesis.txt; tmb build --kommun 2180 --out mine`: exit 2, kept."""
    before = users_folder(tmp_path / "mine")
    msg = one_line_error(run("build", "--kommun", "2180", "--store", sample_store, "--out", "mine", cwd=tmp_path))
    assert "mine: the folder holds" in msg and "--force-out" in msg
    assert snapshot(tmp_path / "mine") == before and sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_build_into_the_store_is_refused(sample_store, tmp_path):
    """`tmb build --store S --out S` and `--out data` (which holds data/processed): exit 2, store kept."""
    data = tmp_path / "data"
    shutil.copytree(sample_store, data / "processed")
    before = snapshot(data)
    assert "is the store" in one_line_error(
        run("build", "--kommun", "2180", "--store", "data/processed", "--out", "data/processed", cwd=tmp_path)
    )
    assert "holds the store" in one_line_error(
        run("build", "--kommun", "2180", "--store", "data/processed", "--out", "data", cwd=tmp_path)
    )
    assert snapshot(data) == before


def test_build_into_the_working_directory_is_refused(sample_store, tmp_path):
    """`tmb build --kommun 2180 --out .`: the current folder is never emptied."""
    before = users_folder(tmp_path / "work")
    for out in (".", ".."):
        msg = one_line_error(
            run(
                "build", "--kommun", "2180", "--store", sample_store, "--out", out, "--force-out", cwd=tmp_path / "work"
            )
        )
        assert "holds the working directory" in msg
    assert snapshot(tmp_path / "work") == before


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--timeout", "0", "argument --timeout: '0' must be at least 1"),
        ("--timeout", "-5", "argument --timeout: '-5' must be at least 1"),
        ("--timeout", "nan", "argument --timeout: 'nan' is not a whole number"),
        ("--workers", "0", "argument --workers: '0' must be at least 1"),
        ("--workers", "-1", "argument --workers: '-1' must be at least 1"),
        ("--year", "18000", "argument --year: '18000' is not a year"),
        ("--year", "1800", "--year 1800: the store"),
        ("--year", "3000", "--year 3000: the store"),
    ],
)
def test_build_parameters_checked_up_front(sample_store, tmp_path, option, value, expected):
    out = tmp_path / "site"
    msg = one_line_error(run("build", "--kommun", "2180", "--store", sample_store, "--out", out, option, value))
    assert expected in msg
    assert list(tmp_path.iterdir()) == []


def test_store_path_that_is_a_file(tmp_path, sample_dir):
    store = tmp_path / "store"
    store.write_bytes(b"mine")
    for args in (("import", sample_dir / "exempeldata_scb_folkmangd.json"), ("build", "--lan", "21")):
        msg = one_line_error(
            run(*args, "--store", store, "--out", tmp_path / "site")
            if args[0] == "build"
            else run(*args, "--store", store)
        )
        assert "is a file, not a store folder" in msg
    assert store.read_bytes() == b"mine" and sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_build_an_area_the_store_has_no_data_for(tmp_path, sample_dir):
    """A store that holds only Dalarna: building Gävleborg exits 2 and names it, nothing is published."""
    store = tmp_path / "store"
    assert run("import", sample_dir / "exempeldata_bra_kommunindikatorer_20.csv", "--store", store).returncode == 0
    msg = one_line_error(run("build", "--lan", "21", "--store", store, "--out", tmp_path / "site"))
    assert "holds no data for Gävleborgs län (21) and its kommuner" in msg
    assert not (tmp_path / "site").exists()


def test_followup_template_writes_the_workbook_and_never_overwrites(sample_store, tmp_path):
    from tmb_analysis.followup_workbook import is_followup_workbook

    out = tmp_path / "uppfoljning-2180.xlsx"
    proc = run("followup", "template", "--kommun", "2180", "--out", out, "--store", sample_store)
    assert proc.returncode == 0, proc.stderr
    assert is_followup_workbook(out)
    before = out.read_bytes()
    assert "the file exists" in one_line_error(
        run("followup", "template", "--kommun", "2180", "--out", out, "--store", sample_store)
    )
    assert out.read_bytes() == before
    assert "unknown area code '9999'" in one_line_error(
        run("followup", "template", "--kommun", "9999", "--out", tmp_path / "x.xlsx", "--store", sample_store)
    )
    assert "must be an .xlsx file" in one_line_error(
        run("followup", "template", "--kommun", "2180", "--out", tmp_path / "x.csv", "--store", sample_store)
    )
