"""County maps: the choropleth of one indicator, and the one with a drop-down over many (offline, no tiles)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import formatting as F
from ..results import area_name as _area_name
from ..results import select as _select
from ._common import _dropdown, _esc, _finish, _hover_value, _indicator_meta, _num, _value_decimals, _year_of
from .geojson import _subset, kommun_geojson

_HALO = "1px 1px 1px #fff, -1px -1px 1px #fff, 1px -1px 1px #fff, -1px 1px 1px #fff"


def _colorbar_below(title: str) -> dict:
    """The map's colour bar as a thin horizontal bar under the map: beside it, it took half the width of
    a phone's map and the kommun labels overlapped."""
    return dict(
        title=dict(text=title, side="top"),
        tickformat=",.0f",
        orientation="h",
        thickness=12,
        len=0.9,
        x=0.5,
        xanchor="center",
        y=0,
        yanchor="top",
        ypad=4,
    )


def county_map(
    results: pd.DataFrame,
    lan_code: str,
    indicator: str,
    year: int,
    highlight: str | None = None,
    *,
    labels: bool = True,
) -> go.Figure:
    """Choropleth of the län's kommuner for one indicator and year, no tiles.

    Each kommun also gets its value as a text label (``labels=True``) so that the
    map does not rely on colour; ``highlight`` (a kommun code) is outlined.
    Kommuner without a value are drawn light grey with "uppgift saknas".

    Traces, in order: the label Scattergeo (always first, see the note in the code;
    with ``labels=False`` an invisible anchor), the choropleth of the values, the grey
    choropleth of kommuner without a value (if any), the highlight outline (if any).
    Geometries are simplified (coverage-preserving, 0.005°), snapped to 4 decimals and wound the
    way plotly's geo layer needs (:func:`orient_for_plotly`).
    """
    lan_code = str(lan_code)
    meta = _indicator_meta(results, indicator)
    unit = meta["unit"]
    geo = kommun_geojson(lan_code)
    props = {f["properties"]["area_code"]: f["properties"] for f in geo["features"]}
    data = _select(results, indicator=indicator, year=year)
    by_code = {str(r["area_code"]): r for _, r in data.iterrows()}

    have, missing = [], []
    for code in props:
        r = by_code.get(code)
        (have if r is not None and not F.is_missing(r.get("value")) else missing).append(code)

    def name_of(code):
        r = by_code.get(code)
        return _esc(
            r["area_name"] if r is not None and isinstance(r.get("area_name"), str) else props[code]["area_name"]
        )

    # Trace 0 MUST be a lon/lat Scattergeo: plotly.js decides whether to download its
    # world topojson from cdn.plot.ly by looking at the first trace of the geo subplot
    # only (plotly.js issue #6767); a geojson choropleth first makes it fetch, and the
    # map is blank offline. A lon/lat Scattergeo has no locationmode, so nothing is fetched.
    codes = have + missing
    fig = go.Figure()
    fig.add_trace(
        go.Scattergeo(
            lon=[props[c]["label_lon"] for c in codes],
            lat=[props[c]["label_lat"] for c in codes],
            text=[
                f"{name_of(c)}<br>{F.fmt_value(by_code[c]['value'], unit) if c in have else F.MISSING}" for c in codes
            ]
            if labels
            else None,
            mode="text" if labels else "markers",
            marker=None if labels else dict(size=1, opacity=0),
            textfont=dict(size=11, color="#000000", shadow=_HALO) if labels else None,
            hoverinfo="skip",
            showlegend=False,
            name="Etiketter" if labels else "Ankare",
        )
    )
    if have:
        z = _num([by_code[c]["value"] for c in have], _value_decimals(unit))
        geo_have = geo if not missing else _subset(geo, have)
        texts = []
        for c in have:
            r = by_code[c]
            lines = [f"<b>{name_of(c)}</b>", _hover_value(r, unit)]
            for col, word in (("cmp_lan", "länet"), ("cmp_riket", "riket")):
                if isinstance(r.get(col), str):
                    lines.append(f"Jämfört med {word}: {F.comparison_text(r[col])}")
            texts.append("<br>".join(lines))
        fig.add_trace(
            go.Choropleth(
                geojson=geo_have,
                featureidkey="properties.area_code",
                locations=have,
                z=z,
                text=texts,
                hovertemplate="%{text}<extra></extra>",
                colorscale=F.SEQUENTIAL_SCALE,
                marker=dict(line=dict(color="#ffffff", width=0.8)),
                colorbar=_colorbar_below(F.UNIT_SHORT[unit] if unit == "per_100k" else "Andel (%)"),
                name=_esc(meta["label"]),
            )
        )
    if missing:
        fig.add_trace(
            go.Choropleth(
                geojson=_subset(geo, missing),
                featureidkey="properties.area_code",
                locations=missing,
                z=[0] * len(missing),
                colorscale=[[0, "#e6e6e6"], [1, "#e6e6e6"]],
                showscale=False,
                marker=dict(line=dict(color="#ffffff", width=0.8)),
                text=[f"<b>{name_of(c)}</b><br>Uppgift saknas" for c in missing],
                hovertemplate="%{text}<extra></extra>",
                name="Uppgift saknas",
            )
        )
    if highlight is not None and str(highlight) in props:
        h = str(highlight)
        fig.add_trace(
            go.Choropleth(
                geojson=_subset(geo, [h]),
                featureidkey="properties.area_code",
                locations=[h],
                z=[0],
                colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
                showscale=False,
                marker=dict(line=dict(color="#000000", width=3.5)),
                hoverinfo="skip",
                name=f"Markerad: {name_of(h)}",
            )
        )
    lan_name = _area_name(results, lan_code)
    title = f"{_esc(meta['label'])} i {_esc(lan_name)} {int(year)}"
    _finish(fig, title, None, None, margin=dict(l=10, r=10, t=60, b=70), height=560, showlegend=False)
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    return fig


def county_map_selectable(results: pd.DataFrame, lan_code: str, indicators: list[str], year: int) -> go.Figure:
    """One county map with a drop-down that switches between ``indicators``.

    The first indicator is drawn by :func:`county_map` (labels first, no tiles); the
    drop-down restyles the labels (trace 0) and the choropleth (trace 1) for the others.
    Kommuner without a value for the chosen indicator show "–" and no colour.
    """
    lan_code = str(lan_code)
    geo = kommun_geojson(lan_code)
    codes = [f["properties"]["area_code"] for f in geo["features"]]
    props = {f["properties"]["area_code"]: f["properties"] for f in geo["features"]}
    data = _select(results, year=year)
    data = data[data["area_code"].astype("string").isin(codes)]
    states = []
    for ind in indicators:
        meta = _indicator_meta(results, ind)
        unit = meta["unit"]
        by_code = {str(r["area_code"]): r for _, r in data[data["indicator"] == ind].iterrows()}
        z, label_text, hover = [], [], []
        for c in codes:
            r = by_code.get(c)
            name = _esc(r["area_name"] if r is not None else props[c]["area_name"])
            if r is None or F.is_missing(r.get("value")):
                z.append(None)
                label_text.append(f"{name}<br>{F.MISSING}")
                hover.append(f"<b>{name}</b><br>Uppgift saknas")
            else:
                z.append(_num([r["value"]], 1)[0])
                label_text.append(f"{name}<br>{F.fmt_value(r['value'], unit)}")
                hover.append(f"<b>{name}</b><br>{_hover_value(r, unit)}")
        states.append((ind, meta, unit, z, label_text, hover))
    first = states[0]
    first_year = _year_of(year, first[0])
    fig = go.Figure()
    fig.add_trace(
        go.Scattergeo(  # first trace: lon/lat labels, so plotly.js fetches no world map
            lon=[props[c]["label_lon"] for c in codes],
            lat=[props[c]["label_lat"] for c in codes],
            text=first[4],
            mode="text",
            textfont=dict(size=11, color="#000000", shadow=_HALO),
            hoverinfo="skip",
            showlegend=False,
            name="Etiketter",
        )
    )
    fig.add_trace(
        go.Choropleth(
            geojson=geo,
            featureidkey="properties.area_code",
            locations=codes,
            z=first[3],
            text=first[5],
            hovertemplate="%{text}<extra></extra>",
            colorscale=F.SEQUENTIAL_SCALE,
            marker=dict(line=dict(color="#ffffff", width=0.8)),
            colorbar=_colorbar_below(F.UNIT_SHORT[first[2]] if first[2] == "per_100k" else "Andel (%)"),
        )
    )
    lan_name = _esc(_area_name(results, lan_code))
    buttons = []
    for ind, meta, unit, z, label_text, hover in states:
        buttons.append(
            dict(
                label=_esc(meta["label"]),
                method="update",
                args=[
                    {
                        "text": [label_text, hover],
                        "z": [None, z],
                        "colorbar.title.text": [None, F.UNIT_SHORT[unit] if unit == "per_100k" else "Andel (%)"],
                    },
                    {"title.text": f"{_esc(meta['label'])} i {lan_name} {_year_of(year, ind)}"},
                    [0, 1],
                ],
            )
        )
    _finish(
        fig,
        f"{_esc(first[1]['label'])} i {lan_name} {first_year}",
        None,
        None,
        margin=dict(l=10, r=10, t=110, b=70),
        height=620,
        showlegend=False,
        updatemenus=_dropdown(buttons),
    )
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    return fig
