"""Presentation helpers that the report notebooks call.

The notebooks hold the story (headings, prose, the order of sections); this package turns analysis
results into HTML snippets for them, so that no notebook defines a function and two notebooks never
repeat a cell's logic. One module per concern:

- ``parameters``: the notebook's parameters checked, :class:`ReportContext` and :func:`context`;
- ``memo``: the run-wide memo of work shared by every report of a run;
- ``snippets``: escaping, the example-data banner, a plotly chart as an accessible figure;
- ``_common``: the round's rows and ranks, which values exist, what is missing (shared by the sections);
- ``page``: titles, method notes, imported files, downloads;
- ``figures``: trend, county map and priority matrix; ``funnel``: the funnel section and its table;
- ``followup``: "Uppföljning"; ``harm_index``: the harm-weighted crime index;
- ``county``: the county overview's sections;
- the kommun report's reading order is :mod:`tmb_analysis.report_kommun` and
  :mod:`tmb_analysis.report_themes` (served from here).
"""

from __future__ import annotations

# re-exported: the public names of __all__; load_results at its old path (results.py owns it); and, aliased
# `x as x`, the package-private helpers that report_kommun and the tests reach as report._name
from ..results import load_results as load_results
from ._common import LAGESBILD_FILE, MISSING, first_priority, missing_sentence
from ._common import _derived_benchmarks as _derived_benchmarks
from ._common import _has as _has
from ._common import _lan_round as _lan_round
from ._common import _latest as _latest
from ._common import _ranked as _ranked
from ._common import _vintage_line as _vintage_line
from .county import (
    MAP_INDICATORS,
    caterpillar_selectable_figure,
    kommun_links,
    kommun_priorities,
    lan_proposals,
    lan_tables,
    selectable_map_figure,
    shared_problems,
)
from .figures import map_figure, matrix_figure, trend_figure
from .followup import followup
from .funnel import funnel_figure
from .harm_index import harm_index_summary
from .memo import _shared as _shared
from .page import downloads, file_list, kommun_title, lan_title, method_and_sources, method_notes
from .parameters import ParameterError, ReportContext, context
from .snippets import FIGURE_CLASS, banner, esc, figure, plain_title

__all__ = [
    "context",
    "ReportContext",
    "kommun_title",
    "lan_title",
    "kort_om",
    "spine",
    "proposal_cards",
    "theme_blocks",
    "trend_figures",
    "map_figure",
    "followup",
    "funnel_section",
    "matrix_section",
    "method_section",
    "file_section",
    "downloads",
    "selectable_map_figure",
    "caterpillar_selectable_figure",
    "funnel_figure",
    "kommun_priorities",
    "shared_problems",
    "lan_proposals",
    "lan_tables",
    "kommun_links",
    "method_and_sources",
    "method_notes",
    "file_list",
    "trend_figure",
    "matrix_figure",
    "harm_index_summary",
    "watch_rows",
    "figure",
    "banner",
    "esc",
    "plain_title",
    "first_priority",
    "missing_sentence",
    "MISSING",
    "LAGESBILD_FILE",
    "MAP_INDICATORS",
    "FIGURE_CLASS",
    "ParameterError",
]

# The kommun report's reading order lives in report_kommun.py (Kort om, spine chart, cards) and
# report_themes.py (themes, Fördjupning), which build on the sections above: their names are served from
# here on first use (PEP 562), so that any of the three modules may be imported first.
_KOMMUN_SECTIONS = {
    **dict.fromkeys(("kort_om", "spine", "proposal_cards", "watch_rows"), "report_kommun"),
    **dict.fromkeys(
        ("theme_blocks", "trend_figures", "funnel_section", "matrix_section", "method_section", "file_section"),
        "report_themes",
    ),
}


def __getattr__(name: str):
    if name in _KOMMUN_SECTIONS:
        import importlib

        return getattr(importlib.import_module(f"tmb_analysis.{_KOMMUN_SECTIONS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_KOMMUN_SECTIONS))
