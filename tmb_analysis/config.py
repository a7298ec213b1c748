"""The YAML configuration files: ``tmb_analysis/config/<name>.yaml``, or a file given instead."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml


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
