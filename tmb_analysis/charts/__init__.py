"""Plotly figures from the results table: trend, county map, caterpillar, funnel and priority-matrix charts.

All figures are Swedish (titles, axis titles, legends, hover texts formatted by
:mod:`tmb_analysis.formatting`), use ``separators=', '`` (decimal comma, space as
thousands separator), the ``simple_white`` template and colour-blind-safe colours,
and never depend on colour alone (dash styles, marker symbols, words). Maps use
``go.Choropleth`` with the package's own simplified kommun polygons and no tiles,
so they render offline. Values are rounded before they go into a trace to keep
figures small; :func:`figure_json_size` measures a figure.

Text taken from the data (names, labels) is HTML-escaped before it is put into
titles, legends or hover texts, because plotly interprets a subset of HTML there.

The parts, one module per kind of chart:

* :mod:`~tmb_analysis.charts._common`: what every chart shares (template, fonts, layout,
  escaping, rounding, hover text of a value, the drop-down menu);
* :mod:`~tmb_analysis.charts.trend`: :func:`trend_chart`;
* :mod:`~tmb_analysis.charts.geojson`: the kommun polygons (:func:`kommun_geojson`,
  :func:`orient_for_plotly`);
* :mod:`~tmb_analysis.charts.maps`: :func:`county_map`, :func:`county_map_selectable`;
* :mod:`~tmb_analysis.charts.caterpillar`: :func:`caterpillar_chart`, :func:`caterpillar_selectable`;
* :mod:`~tmb_analysis.charts.funnel`: :func:`funnel_chart`, :func:`funnel_highlight`;
* :mod:`~tmb_analysis.charts.matrix`: :func:`priority_matrix`.
"""

from ._common import FONT, SEPARATORS, TEMPLATE, figure_json_size
from .caterpillar import CATERPILLAR_ORDERS, caterpillar_chart, caterpillar_selectable
from .funnel import funnel_chart, funnel_highlight
from .geojson import COORD_DECIMALS, SIMPLIFY_TOLERANCE, kommun_geojson, orient_for_plotly
from .maps import county_map, county_map_selectable
from .matrix import priority_matrix
from .trend import trend_chart

__all__ = [
    "trend_chart",
    "county_map",
    "county_map_selectable",
    "caterpillar_chart",
    "caterpillar_selectable",
    "CATERPILLAR_ORDERS",
    "funnel_chart",
    "funnel_highlight",
    "priority_matrix",
    "kommun_geojson",
    "orient_for_plotly",
    "figure_json_size",
    "TEMPLATE",
    "SEPARATORS",
    "FONT",
    "SIMPLIFY_TOLERANCE",
    "COORD_DECIMALS",
]
