"""What every chart shares: template, fonts, layout (`_finish`), escaping, rounding, hover text, drop-down."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from .. import formatting as F
from ..periods import year_for
from ..results import select as _select

TEMPLATE = "simple_white"
SEPARATORS = ", "  # decimal comma, (no-break-less) space between thousands
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size=13, color="#1a1a1a")


_LEGEND_BELOW = dict(orientation="h", yref="container", y=0.01, yanchor="bottom", xanchor="left", x=0)


def _esc(text) -> str:
    """Escape data text for plotly's pseudo-HTML (titles, legends, hover texts)."""
    return html.escape("" if text is None else str(text), quote=False)


def _num(values, decimals: int = 1) -> list:
    """Numbers rounded for a trace; missing -> None (a gap)."""
    out = []
    for v in values:
        if F.is_missing(v):
            out.append(None)
        else:
            r = round(float(v), decimals)
            out.append(int(r) if decimals <= 0 else r)
    return out


def _year_of(year, indicator: str) -> int:
    """The year an indicator is shown for: ``year`` itself, or its source kind's year in a per-source spec."""
    from ..catalogue import catalogue

    kind = catalogue().get(indicator).source_kind if indicator in catalogue() else "crime"
    return year_for(year, kind)


def _indicator_meta(results: pd.DataFrame, indicator: str) -> dict:
    """label, unit and worse direction of an indicator, from the results or the catalogue."""
    rows = _select(results, indicator=indicator)
    label, unit = None, None
    if len(rows):
        r = rows.iloc[0]
        label = r.get("indicator_label") if isinstance(r.get("indicator_label"), str) else None
        unit = r.get("unit") if r.get("unit") in F.UNIT_AXIS_TITLE else None
        if unit is None and isinstance(r.get("source_kind"), str):
            unit = "percent" if r["source_kind"] == "survey" else "per_100k"
    if label is None or unit is None:
        try:
            from ..catalogue import catalogue

            ind = catalogue().get(indicator)
            label = label or ind.label
            unit = unit or ind.unit
        except Exception:  # noqa: BLE001 - an id outside the catalogue keeps its id and rates per 100 000
            pass
    return {"label": label or str(indicator), "unit": unit or "per_100k", "worse": F.indicator_worse(indicator)}


def _value_decimals(unit: str) -> int:
    """Decimals kept in traces: one more than shown, so hover and axes stay honest."""
    return 1


def _hover_value(row, unit: str) -> str:
    v = F.fmt_value(row.get("value"), unit)
    ci = F.fmt_value_interval(row.get("ci_low"), row.get("ci_high"), unit, row.get("value"))
    text = f"{v} {F.UNIT_SHORT[unit]}" if unit == "per_100k" else v
    if ci != F.MISSING:
        text += f"<br>95{F.NBSP}% konfidensintervall: {ci}"
    if unit == "percent" and not F.is_missing(row.get("n_respondents")):
        text += f"<br>Antal svarande: {F.fmt_number(row.get('n_respondents'))}"
    elif unit == "per_100k" and not F.is_missing(row.get("count")):
        text += f"<br>Antal anmälda brott: {F.fmt_number(row.get('count'))}"
    return text


def _template_for(fig: go.Figure) -> go.layout.Template:
    """``simple_white``, trimmed to what this figure uses (the full template is ~9 KB of JSON
    per figure: defaults for every trace type and for 3D, polar and ternary subplots)."""
    import plotly.io as pio

    base = pio.templates[TEMPLATE]
    layout = base.layout.to_plotly_json()
    for unused in ("scene", "polar", "ternary", "annotationdefaults", "shapedefaults"):
        layout.pop(unused, None)
    if not any(t.type in ("choropleth", "scattergeo") for t in fig.data):
        layout.pop("geo", None)
    template = go.layout.Template(layout=layout)
    for ttype in sorted({t.type for t in fig.data}):
        defaults = getattr(base.data, ttype, None)
        if defaults:
            setattr(template.data, ttype, defaults)
    return template


def _finish(fig: go.Figure, title: str, x_title: str | None, y_title: str | None, **layout) -> go.Figure:
    layout.setdefault("margin", dict(l=60, r=20, t=70, b=50))
    fig.update_layout(
        template=_template_for(fig),
        separators=SEPARATORS,
        title=dict(text=title, x=0, xanchor="left", font=dict(size=16)),
        font=FONT,
        hoverlabel=dict(font=dict(family=FONT["family"])),
        **layout,
    )
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def _dropdown(buttons: list[dict]) -> list[dict]:
    """``updatemenus`` of a chart with a drop-down over indicators: one menu above the chart, at its left."""
    return [
        dict(
            buttons=buttons,
            direction="down",
            x=0,
            xanchor="left",
            y=1.0,
            yanchor="bottom",
            pad=dict(t=4, b=4),
            showactive=True,
        )
    ]


def figure_json_size(fig: go.Figure) -> int:
    """Bytes of the figure's JSON (what an HTML page embeds, plotly.js aside)."""
    return len(fig.to_json().encode("utf-8"))
