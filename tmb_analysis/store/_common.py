"""What the modules of the store share: the provenance file's name and the order of a table's rows."""

from __future__ import annotations

import pandas as pd

from ..validation import KEYS

SOURCES_FILE = "sources.json"


def _sorted(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEYS[name], kind="stable").reset_index(drop=True)
