"""Where things are and how the YAML configuration is read: paths, defaults and ``config/*.yaml``, in one place."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import yaml

#: The installed package (its configuration, templates, assets and data files).
PACKAGE_DIR = Path(__file__).resolve().parent
#: The source checkout the package runs from: notebooks, docs and follow-up files live beside the package.
REPO_DIR = PACKAGE_DIR.parent
NOTEBOOK_DIR = REPO_DIR / "notebooks"
#: The methods page every report links (``metod.html`` is made from it).
METHOD_PAGE = REPO_DIR / "docs" / "metod.md"

#: Default folders of the command line and the API (relative to the working directory).
DEFAULT_STORE = Path("data/processed")
DEFAULT_OUT = Path("reports")
DEFAULT_SAMPLE = Path("data/sample")
DEFAULT_RAW = Path("data/raw")

#: The example data: the words every page and file made from it carries, and the name of its manifest.
SAMPLE_NOTE = "Exempeldata – inte verklig statistik"
SAMPLE_MANIFEST = "exempeldata.json"
#: The sidecar ``tmb fetch`` writes beside each download (``<name>.provenance.json``).
SIDECAR_SUFFIX = ".provenance.json"

#: Files the package ships in ``tmb_analysis/data/``.
KOMMUN_NAMES_FILE = PACKAGE_DIR / "data" / "kommun_names.csv"
POPULATION_FILE = PACKAGE_DIR / "data" / "scb_folkmangd_kommuner_2024.csv"


#: Results tables the cache keeps (the most recently used); older ones are removed as new ones are written.
CACHE_KEEP = 8


def followup_base() -> Path:
    """The follow-up folder (``$TMB_FOLLOWUP_DIR``, default ``uppfoljning/`` of the checkout)."""
    return Path(os.environ.get("TMB_FOLLOWUP_DIR") or REPO_DIR / "uppfoljning")


def cache_dir() -> Path:
    """The results cache (``$TMB_CACHE_DIR``, default ``$XDG_CACHE_HOME/tmb-analys`` or ``~/.cache/tmb-analys``)."""
    base = os.environ.get("TMB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tmb-analys"
    )
    return Path(base)


def read_config(name: str, path: str | Path | None = None) -> tuple[dict, str]:
    """The mapping in ``config/<name>.yaml`` of the package (or the YAML file at ``path``), and how
    to name that file in an error message. An empty file gives ``{}``; anything but a mapping at
    the top level raises ValueError naming the file."""
    if path is None:
        text = resources.files("tmb_analysis").joinpath(f"config/{name}.yaml").read_text("utf-8")
        where = f"tmb_analysis/config/{name}.yaml"
    else:
        text = Path(path).read_text("utf-8")
        where = str(path)
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping at the top level")
    return data, where
