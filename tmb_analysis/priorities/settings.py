"""The YAML settings the analysis and the priorities read: analysis.yaml, priorities.yaml, harm weights and the
NTU indicators related to each crime indicator."""

from __future__ import annotations

import copy
import math
from functools import cache
from pathlib import Path

from ..config import read_config


def load_config(name: str, path: str | Path | None = None) -> dict:
    """Read ``config/<name>.yaml`` from the package, or the YAML file at ``path``."""
    return read_config(name, path)[0]


@cache
def _cached(name: str) -> dict:
    return load_config(name)


def analysis_config() -> dict:
    """``config/analysis.yaml`` (a copy: change it freely)."""
    return copy.deepcopy(_cached("analysis"))


def analysis_settings(overrides: dict | None = None) -> dict:
    """``config/analysis.yaml`` with ``overrides`` (the same structure) merged in, section by section."""
    base = analysis_config()
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key].update(value)
        else:
            base[key] = value
    return base


def priority_config() -> dict:
    """``config/priorities.yaml`` (a copy)."""
    return copy.deepcopy(_cached("priorities"))


def related_indicators(config: dict | None = None) -> dict[str, list[str]]:
    """Crime indicator -> related NTU indicators, from ``config/related_indicators.yaml``."""
    raw = config if config is not None else _cached("related_indicators")
    return {k: list(v or []) for k, v in (raw.get("crime") or {}).items()}


def harm_weights(config: dict | None = None) -> dict[str, float]:
    """Indicator id -> harm weight (crime and survey), from ``config/harm_weights.yaml``.

    Raises ValueError for a weight that is not a finite positive number.
    """
    raw = config if config is not None else _cached("harm_weights")
    out: dict[str, float] = {}
    for kind in ("crime", "survey"):
        for ind, entry in (raw.get(kind) or {}).items():
            w = entry.get("weight") if isinstance(entry, dict) else entry
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise ValueError(f"harm weight of {ind!r} is not a number: {w!r}") from None
            if not math.isfinite(w) or w <= 0:
                raise ValueError(f"harm weight of {ind!r} must be a positive number, got {w!r}")
            out[ind] = w
    return out


def _index_indicators(config: dict | None = None) -> list[str]:
    raw = config if config is not None else _cached("harm_weights")
    return list(raw.get("index") or [])
