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


@pytest.mark.parametrize("args, expected", [
    (["--lan", "99"], "unknown area code '99'"),
    (["--kommun", "0000"], "unknown area code '0000'"),
    (["--kommun", "../x"], "not an area code"),
    (["--kommun", "CON"], "not an area code"),
])
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
    bad.write_text("geografi,enhet,ar,variabel,varde,kalla\nGävle,Antal,2023,Totalt antal anmälda brott,-5,Anmälda brott\n",
                   encoding="utf-8")
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
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((root / "environment.yml").read_text())["dependencies"]
    flat = [d for d in env if isinstance(d, str)] + [d for e in env if isinstance(e, dict) for d in e.get("pip", [])]
    assert sorted(d.replace(" ", "") for d in deps) == sorted(d for d in flat if not d.startswith(("python", "pip", "-e")))
