"""Accessible Swedish HTML tables from the results table.

Every table has a ``<caption>``, a ``<thead>`` with ``scope="col"`` headers, a
row header (``scope="row"``) per row and, in the indicator table, a
``scope="rowgroup"`` header per theme. Comparisons and trends are written as
symbol + word; the CSS classes (see :data:`TABLE_CSS`) only add colour. Every
text taken from the data (names, labels, themes) is HTML-escaped.

The parts, one module per kind of table and one for each thing they share:

* :mod:`~tmb_analysis.tables.area`: :func:`indicator_table_html` (one area's indicators by theme);
* :mod:`~tmb_analysis.tables.county`: :func:`lan_table_html`, :func:`lan_matrix_html` (a county's kommuner);
* :mod:`~tmb_analysis.tables.kommun`: :func:`theme_table_html`, :func:`spine_html`,
  :func:`definition_toggle` (the kommun report);
* :mod:`~tmb_analysis.tables.words`: how a comparison and a trend are said (:func:`comparison_words`,
  :func:`comparison_chip`, :func:`trend_words`, :data:`BENCHMARKS`, ...), the same on the whole page;
* :mod:`~tmb_analysis.tables.notes`: headings, :data:`EXPLANATION`, :func:`sources_note`,
  :func:`recording_note`;
* :mod:`~tmb_analysis.tables.css`: :data:`TABLE_CSS`, :data:`MATRIX_CSS`;
* :mod:`~tmb_analysis.tables.cells` and :mod:`~tmb_analysis.tables._common`: the cells and the row
  accessors the tables share.
"""

# NBSP, and the row accessors and Swedish sort key that report_kommun reads as ``tables._unit`` etc.
from ._common import NBSP
from ._common import _is_small as _is_small
from ._common import _reference_year as _reference_year
from ._common import _sort_key_sv as _sort_key_sv
from ._common import _unit as _unit
from ._common import _worse as _worse
from .area import indicator_table_html
from .county import lan_matrix_html, lan_table_html
from .css import MATRIX_CSS, TABLE_CSS
from .kommun import definition_toggle, spine_html, theme_table_html
from .notes import EXPLANATION, HEADINGS, LAN_HEADINGS, SOURCE_NOTE, recording_note, sources_note
from .words import (
    BENCHMARK_LABEL,
    BENCHMARKS,
    UNCERTAIN_WORD,
    comparison_chip,
    comparison_class,
    comparison_key,
    comparison_words,
    is_uncertain,
    page_benchmarks,
    trend_interval,
    trend_key,
    trend_words,
)

__all__ = [
    "indicator_table_html",
    "lan_table_html",
    "lan_matrix_html",
    "theme_table_html",
    "spine_html",
    "definition_toggle",
    "BENCHMARKS",
    "BENCHMARK_LABEL",
    "UNCERTAIN_WORD",
    "page_benchmarks",
    "is_uncertain",
    "comparison_key",
    "comparison_words",
    "comparison_class",
    "comparison_chip",
    "trend_key",
    "trend_words",
    "trend_interval",
    "HEADINGS",
    "LAN_HEADINGS",
    "SOURCE_NOTE",
    "EXPLANATION",
    "sources_note",
    "recording_note",
    "TABLE_CSS",
    "MATRIX_CSS",
    "NBSP",
]
