"""Plotly figures from the results table: trend, county map, caterpillar and funnel charts.

All figures are Swedish (titles, axis titles, legends, hover texts formatted by
:mod:`tmb_analysis.formatting`), use ``separators=', '`` (decimal comma, space as
thousands separator), the ``simple_white`` template and colour-blind-safe colours,
and never depend on colour alone (dash styles, marker symbols, words). Maps use
``go.Choropleth`` with the package's own simplified kommun polygons and no tiles,
so they render offline. Values are rounded before they go into a trace to keep
figures small; :func:`figure_json_size` measures a figure.

Text taken from the data (names, labels) is HTML-escaped before it is put into
titles, legends or hover texts, because plotly interprets a subset of HTML there.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import formatting as F
from .periods import year_for, year_mask
from .results import area_name as _area_name
from .results import select as _select

TEMPLATE = "simple_white"
SEPARATORS = ", "  # decimal comma, (no-break-less) space between thousands
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size=13, color="#1a1a1a")
SIMPLIFY_TOLERANCE = 0.005  # degrees, ~300-500 m at 60° N
COORD_DECIMALS = 4  # ~10 m
_HALO = "1px 1px 1px #fff, -1px -1px 1px #fff, 1px -1px 1px #fff, -1px 1px 1px #fff"
_LEGEND_BELOW = dict(orientation="h", yref="container", y=0.01, yanchor="bottom", xanchor="left", x=0)

__all__ = [
    "trend_chart",
    "county_map",
    "caterpillar_chart",
    "caterpillar_selectable",
    "funnel_chart",
    "funnel_highlight",
    "kommun_geojson",
    "orient_for_plotly",
    "figure_json_size",
]


# ---- helpers ----------------------------------------------------------------------


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
    from .catalogue import catalogue

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
            from .catalogue import catalogue

            ind = catalogue().get(indicator)
            label = label or ind.label
            unit = unit or ind.unit
        except Exception:
            pass
    return {"label": label or str(indicator), "unit": unit or "per_100k", "worse": F.indicator_worse(indicator)}


def _lan_of(results: pd.DataFrame, code: str) -> str | None:
    code = str(code)
    if code == "00":
        return None
    try:
        from .geography import registry

        return registry().area(code).lan_code
    except Exception:
        return code[:2]


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


def _log_ticks(lo: float, hi: float) -> list[int]:
    """1–2–5 ticks between lo and hi, for a readable log axis."""
    out = []
    for exp in range(0, 9):
        for m in (1, 2, 5):
            t = m * 10**exp
            if lo <= t <= hi:
                out.append(t)
    return out


def figure_json_size(fig: go.Figure) -> int:
    """Bytes of the figure's JSON (what an HTML page embeds, plotly.js aside)."""
    return len(fig.to_json().encode("utf-8"))


# ---- trend chart ----------------------------------------------------------------------


def trend_chart(results: pd.DataFrame, area_code: str, indicator: str) -> go.Figure:
    """The area's value per year with its 95 % interval as a band, plus its län and riket."""
    area_code = str(area_code)
    meta = _indicator_meta(results, indicator)
    unit = meta["unit"]
    dec = _value_decimals(unit)
    data = _select(results, indicator=indicator).copy()
    data["year"] = pd.to_numeric(data["year"], errors="coerce").astype("Int64")

    lan = _lan_of(results, area_code)
    series = [(area_code, "area")]
    if lan and lan != area_code:
        series.append((lan, "lan"))
    if area_code != "00":
        series.append(("00", "riket"))
    styles = {
        "area": dict(color=F.AREA_COLOUR, width=3, dash="solid"),
        "lan": dict(color=F.LAN_COLOUR, width=2, dash="dash"),
        "riket": dict(color=F.RIKET_COLOUR, width=2, dash="dot"),
    }
    symbols = {"area": "circle", "lan": "diamond", "riket": "square"}

    fig = go.Figure()
    area_rows = data[data["area_code"].astype("string") == area_code].sort_values("year")
    area_name = _area_name(results, area_code)
    years = [int(y) for y in area_rows["year"]]
    lo = _num(area_rows["ci_low"], dec)
    hi = _num(area_rows["ci_high"], dec)
    band = [(y, a, b) for y, a, b in zip(years, lo, hi) if a is not None and b is not None]
    if band:
        by, blo, bhi = zip(*band)
        fig.add_trace(
            go.Scatter(
                x=list(by) + list(by)[::-1],
                y=list(bhi) + list(blo)[::-1],
                fill="toself",
                fillcolor="rgba(0,114,178,0.18)",
                line=dict(width=0),
                mode="lines",
                name=f"95{F.NBSP}% konfidensintervall ({_esc(area_name)})",
                hoverinfo="skip",
                legendrank=4,
            )
        )
    for rank, (code, role) in enumerate(series, start=1):
        rows = data[data["area_code"].astype("string") == code].sort_values("year")
        if rows.empty:
            continue
        name = _esc(_area_name(results, code))
        texts = [f"<b>{name} {int(r['year'])}</b><br>{_hover_value(r, unit)}" for _, r in rows.iterrows()]
        fig.add_trace(
            go.Scatter(
                x=[int(y) for y in rows["year"]],
                y=_num(rows["value"], dec),
                mode="lines+markers",
                name=name,
                line=styles[role],
                marker=dict(symbol=symbols[role], size=8 if role == "area" else 6),
                text=texts,
                hovertemplate="%{text}<extra></extra>",
                connectgaps=False,
                legendrank=rank,
            )
        )
    title = f"{_esc(meta['label'])} – {_esc(area_name)}, län och riket"
    _finish(
        fig,
        title,
        "År",
        F.UNIT_AXIS_TITLE[unit],
        legend=_LEGEND_BELOW,
        margin=dict(l=70, r=20, t=60, b=120),
        hovermode="closest",
    )
    fig.update_xaxes(dtick=1, tickformat="d")
    fig.update_yaxes(rangemode="tozero", tickformat=",.0f")
    return fig


# ---- county map --------------------------------------------------------------------------


def _label_point(geom):
    """Where a kommun's label goes: the pole of inaccessibility of its largest part."""
    import shapely

    part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
    try:
        return shapely.polylabel(part, tolerance=0.005)
    except Exception:
        return geom.representative_point()


def orient_for_plotly(geoms):
    """Rings oriented for plotly's geo layer: exterior rings clockwise, holes counter-clockwise (in
    lon/lat, north up), for an array of (Multi)Polygons.

    plotly.js draws geojson with d3-geo, which reads a ring's direction on the sphere to tell its
    inside: a counter-clockwise exterior ring encloses the whole world except the kommun, and the
    map frame fills with that kommun's colour. This is the opposite of the GeoJSON RFC 7946
    right-hand rule; coverage simplification can reverse rings, so orient after it (and after
    rounding).
    """
    import shapely

    geoms = np.asarray(geoms)
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1, vectorised
        return shapely.orient_polygons(geoms, exterior_cw=True)
    from shapely.geometry.polygon import orient

    def one(g):
        if g is None or g.is_empty:
            return g
        if g.geom_type == "MultiPolygon":
            return shapely.multipolygons([orient(p, sign=-1.0) for p in g.geoms])
        return orient(g, sign=-1.0) if g.geom_type == "Polygon" else g

    return np.array([one(g) for g in geoms], dtype=object)


def _simplified_kommun_geometry(lan_code: str | None):
    """(frame, geometries): the län's kommuner simplified (coverage-preserving), snapped to the
    4-decimal grid (``set_precision`` keeps them valid and drops parts that collapse) and oriented
    for plotly; a kommun that would vanish keeps its snapped original."""
    import shapely

    from .geography import registry

    gdf = registry().kommun_geometry(lan_code)
    geoms = np.asarray(gdf.geometry.values)
    try:  # topology-aware: neighbours keep a shared border, no slivers or gaps
        simplified = shapely.coverage_simplify(geoms, SIMPLIFY_TOLERANCE)
    except Exception:  # older GEOS
        simplified = shapely.simplify(geoms, SIMPLIFY_TOLERANCE, preserve_topology=True)
    grid = 10.0**-COORD_DECIMALS
    snapped = shapely.set_precision(simplified, grid)
    vanished = shapely.is_missing(snapped) | shapely.is_empty(snapped)
    if vanished.any():
        snapped[vanished] = shapely.set_precision(geoms[vanished], grid)
    # set_precision works on the grid in binary floating point: round so that JSON has 4 decimals
    snapped = shapely.transform(snapped, lambda c: np.round(c, COORD_DECIMALS))
    return gdf, orient_for_plotly(snapped)


@lru_cache(maxsize=32)
def _kommun_geojson_text(lan_code: str | None) -> str:
    from shapely.geometry import mapping

    gdf, simplified = _simplified_kommun_geometry(lan_code)
    features = []
    for code, name, geom, orig in zip(gdf["area_code"], gdf["area_name"], simplified, gdf.geometry.values):
        pt = _label_point(orig)
        features.append(
            {
                "type": "Feature",
                "id": str(code),
                "properties": {
                    "area_code": str(code),
                    "area_name": str(name),
                    "label_lon": round(pt.x, 3),
                    "label_lat": round(pt.y, 3),
                },
                "geometry": mapping(geom),
            }
        )
    fc = {"type": "FeatureCollection", "features": features}
    return json.dumps(fc, separators=(",", ":"), ensure_ascii=False)


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


def _subset(geo: dict, codes) -> dict:
    """Only the features a trace draws: each trace embeds its own copy of its geojson."""
    keep = set(codes)
    return {
        "type": "FeatureCollection",
        "features": [f for f in geo["features"] if f["properties"]["area_code"] in keep],
    }


def kommun_geojson(lan_code: str | None = None) -> dict:
    """Simplified kommun polygons (GeoJSON FeatureCollection, WGS84), one feature per kommun,
    with ``properties.area_code``, ``area_name`` and a label point. A fresh copy per call."""
    return json.loads(_kommun_geojson_text(None if lan_code is None else str(lan_code)))


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


# ---- caterpillar chart ---------------------------------------------------------------------


#: The caterpillar charts' orders (top to bottom): by kommun name, by value (highest first), by population.
CATERPILLAR_ORDERS = ("name", "value", "population")


def _caterpillar_order(kom: pd.DataFrame, order: str) -> pd.DataFrame:
    """The rows in plot order: row 0 is drawn at the bottom, so the first kommun of ``order`` comes last."""
    from .tables import _sort_key_sv

    if order not in CATERPILLAR_ORDERS:
        raise ValueError(f"caterpillar order {order!r}: expected one of {', '.join(CATERPILLAR_ORDERS)}")
    if order == "name":
        key = kom["area_name"].astype(str).map(_sort_key_sv)
        return kom.assign(_k=key).sort_values("_k", ascending=False).drop(columns="_k").reset_index(drop=True)
    if order == "population" and "population" in kom:
        kom = kom.assign(_k=pd.to_numeric(kom["population"], errors="coerce"))
        return kom.sort_values(["_k", "area_name"], ascending=[True, False]).drop(columns="_k").reset_index(drop=True)
    return kom.sort_values(["_v", "area_name"], ascending=[True, False]).reset_index(drop=True)


def caterpillar_chart(
    results: pd.DataFrame,
    lan_code: str,
    indicator: str,
    year: int,
    highlight: str | None = None,
    *,
    compare: str = "lan",
    order: str = "value",
) -> go.Figure:
    """The län's kommuner with 95 % intervals (in ``order``: :data:`CATERPILLAR_ORDERS`), and vertical
    lines for the län and riket values. Markers carry the comparison with the län (or riket, with
    ``compare='riket'``) as symbol, colour and legend word."""
    if compare not in ("lan", "riket"):
        raise ValueError("compare must be 'lan' or 'riket'")
    lan_code = str(lan_code)
    meta = _indicator_meta(results, indicator)
    unit, worse = meta["unit"], meta["worse"]
    dec = _value_decimals(unit)
    data = _select(results, indicator=indicator, year=year)
    kom = data[(data["area_level"] == "kommun") & (data["area_code"].astype("string").str[:2] == lan_code)]
    kom = kom[pd.to_numeric(kom["value"], errors="coerce").notna()].copy()
    kom["_v"] = pd.to_numeric(kom["value"], errors="coerce")
    kom = _caterpillar_order(kom, order)
    n = len(kom)
    ypos = {str(c): i for i, c in enumerate(kom["area_code"])}
    col = "cmp_lan" if compare == "lan" else "cmp_riket"
    ref_word = "länet" if compare == "lan" else "riket"
    symbol_of = {"higher": "triangle-up", "lower": "triangle-down", "similar": "circle", "unknown": "circle-open"}

    fig = go.Figure()
    valid = ["higher", "similar", "lower"]
    cmp_col = kom[col].astype("string") if col in kom else pd.Series(pd.NA, index=kom.index, dtype="string")
    kom["_cmp"] = cmp_col.where(cmp_col.isin(valid).fillna(False), "unknown")
    for cmp in ("higher", "similar", "lower", "unknown"):
        part = kom[kom["_cmp"] == cmp]
        if part.empty:
            continue
        colour = F.SIGNAL_COLOURS[F.comparison_signal(cmp, worse)]
        v = _num(part["_v"], dec)
        lo = _num(part["ci_low"], dec)
        hi = _num(part["ci_high"], dec)
        texts = [f"<b>{_esc(r['area_name'])}</b><br>{_hover_value(r, unit)}" for _, r in part.iterrows()]
        fig.add_trace(
            go.Scatter(
                x=v,
                y=[ypos[str(c)] for c in part["area_code"]],
                mode="markers",
                marker=dict(symbol=symbol_of[cmp], size=11, color=colour, line=dict(color="#1a1a1a", width=0.5)),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[None if h is None or x is None else round(h - x, dec) for h, x in zip(hi, v)],
                    arrayminus=[None if a is None or x is None else round(x - a, dec) for a, x in zip(lo, v)],
                    color=colour,
                    thickness=2,
                    width=4,
                ),
                name=f"{F.comparison_text(cmp)} än {ref_word}"
                if cmp in ("higher", "lower")
                else f"{F.comparison_text(cmp)} mot {ref_word}",
                text=texts,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    span = [-0.6, max(n - 0.4, 0.4)]
    for code, colour, dash in ((lan_code, F.LAN_COLOUR, "dash"), ("00", F.RIKET_COLOUR, "dot")):
        rows = data[data["area_code"].astype("string") == code]
        if rows.empty or F.is_missing(rows["value"].iloc[0]):
            continue
        r = rows.iloc[0]
        val = round(float(r["value"]), dec)
        name = _esc(_area_name(results, code))
        fig.add_trace(
            go.Scatter(
                x=[val, val],
                y=span,
                mode="lines",
                line=dict(color=colour, width=2, dash=dash),
                name=f"{name}: {F.fmt_value(val, unit)}",
                hovertemplate=f"{name}: {F.fmt_value(val, unit)}<extra></extra>",
            )
        )
    ticktext = []
    for _, r in kom.iterrows():
        t = _esc(r["area_name"])
        ticktext.append(f"<b>{t}</b>" if highlight is not None and str(r["area_code"]) == str(highlight) else t)
    if highlight is not None and str(highlight) in ypos:
        hr = kom.iloc[ypos[str(highlight)]]
        fig.add_trace(
            go.Scatter(
                x=_num([hr["_v"]], dec),
                y=[ypos[str(highlight)]],
                mode="markers",
                marker=dict(symbol="circle-open", size=20, color="#000000", line=dict(width=2.5)),
                name=f"Markerad: {_esc(hr['area_name'])}",
                hoverinfo="skip",
            )
        )
    lan_name = _area_name(results, lan_code)
    title = f"{_esc(meta['label'])} i kommunerna i {_esc(lan_name)} {int(year)}"
    _finish(
        fig,
        title,
        F.UNIT_AXIS_TITLE[unit],
        None,
        height=max(300, 140 + 32 * n),
        legend=_LEGEND_BELOW,
        margin=dict(l=110, r=20, t=60, b=130),
    )
    fig.update_yaxes(tickvals=list(range(n)), ticktext=ticktext, range=span, showgrid=False, ticks="")
    fig.update_xaxes(rangemode="tozero", tickformat=",.0f", showgrid=True, gridcolor="#e5e5e5")
    return fig


def caterpillar_selectable(
    results: pd.DataFrame, lan_code: str, indicators: list[str], year: int, order: str = "name"
) -> go.Figure:
    """One caterpillar chart of the län's kommuner with a drop-down over ``indicators``.

    The same picture as :func:`caterpillar_chart` (kommuner in ``order``, 95 % intervals as
    error bars, symbol and colour by the comparison with the län, lines for the län and riket)
    with a fixed set of traces: one per comparison and the two lines. The drop-down replaces their
    data, colours and the kommun names on the axis. Names sit on the axis only (hover shows the
    value), so that 35 indicators for a county of 49 kommuner stay a small page.
    """
    lan_code = str(lan_code)
    comparisons = ("higher", "similar", "lower", "unknown")
    symbol_of = {"higher": "triangle-up", "lower": "triangle-down", "similar": "circle", "unknown": "circle-open"}
    lan_name, riket_name = _esc(_area_name(results, lan_code)), _esc(_area_name(results, "00"))
    # only the rows and columns used: boolean indexing of the full table (67 columns) 35 times costs seconds
    cols = [
        c
        for c in (
            "area_code",
            "area_name",
            "area_level",
            "indicator",
            "indicator_label",
            "unit",
            "source_kind",
            "year",
            "value",
            "ci_low",
            "ci_high",
            "cmp_lan",
            "population",
        )
        if c in results.columns
    ]
    codes = results["area_code"].astype("string")
    keep = year_mask(results, year) & ((codes.str[:2] == lan_code) | (codes == "00")).fillna(False).to_numpy(dtype=bool)
    data_year = results.loc[keep, cols]
    states, most = [], 1
    for ind in indicators:
        meta = _indicator_meta(data_year, ind)
        unit, worse = meta["unit"], meta["worse"]
        dec = _value_decimals(unit)
        data = data_year[data_year["indicator"] == ind]
        kom = data[(data["area_level"] == "kommun") & (data["area_code"].astype("string").str[:2] == lan_code)].copy()
        kom["_v"] = pd.to_numeric(kom["value"], errors="coerce")
        kom = _caterpillar_order(kom[kom["_v"].notna()], order)
        most = max(most, len(kom))
        cmp = kom["cmp_lan"].astype("string") if "cmp_lan" in kom else pd.Series(pd.NA, index=kom.index, dtype="string")
        kom["_cmp"] = cmp.where(cmp.isin(comparisons[:3]).fillna(False), "unknown")
        fmt = f"%{{x:,.{dec}f}}"
        traces = []
        for c in comparisons:
            part = kom[kom["_cmp"] == c]
            v, lo, hi = _num(part["_v"], dec), _num(part["ci_low"], dec), _num(part["ci_high"], dec)
            traces.append(
                dict(
                    x=v,
                    y=part.index.tolist(),
                    colour=F.SIGNAL_COLOURS[F.comparison_signal(c, worse)],
                    plus=[None if h is None or x is None else round(h - x, dec) for h, x in zip(hi, v)],
                    minus=[None if a is None or x is None else round(x - a, dec) for a, x in zip(lo, v)],
                    hover=fmt + "<extra></extra>",
                )
            )
        lines = []
        for code, name in ((lan_code, lan_name), ("00", riket_name)):
            row = data[data["area_code"].astype("string") == code]
            val = None if row.empty or F.is_missing(row["value"].iloc[0]) else round(float(row["value"].iloc[0]), dec)
            lines.append((val, f"{name}: {F.fmt_value(val, unit)}" if val is not None else f"{name}: uppgift saknas"))
        states.append(
            dict(
                ind=ind,
                meta=meta,
                unit=unit,
                n=len(kom),
                traces=traces,
                lines=lines,
                names=[_esc(n) for n in kom["area_name"]],
                year=_year_of(year, ind),
            )
        )

    span = [-0.6, most - 0.4]

    def data_update(st):
        t, ln = st["traces"], st["lines"]
        return {
            "x": [tr["x"] for tr in t] + [[v, v] if v is not None else [] for v, _ in ln],
            "y": [tr["y"] for tr in t] + [span if v is not None else [] for v, _ in ln],
            "error_x.array": [tr["plus"] for tr in t] + [None, None],
            "error_x.arrayminus": [tr["minus"] for tr in t] + [None, None],
            "marker.color": [tr["colour"] for tr in t] + [None, None],
            "error_x.color": [tr["colour"] for tr in t] + [None, None],
            "hovertemplate": [tr["hover"] for tr in t] + [f"{name}<extra></extra>" for _, name in ln],
            "name": [f"{F.comparison_text(c)} {'än' if c in ('higher', 'lower') else 'mot'} länet" for c in comparisons]
            + [name for _, name in ln],
        }

    def layout_update(st):
        return {
            "title.text": f"{_esc(st['meta']['label'])} i kommunerna i {lan_name} {st['year']}",
            "yaxis.tickvals": list(range(st["n"])),
            "yaxis.ticktext": st["names"],
            "xaxis.title.text": F.UNIT_AXIS_TITLE[st["unit"]],
        }

    first = states[0]
    upd = data_update(first)
    fig = go.Figure()
    for i, c in enumerate(comparisons):
        fig.add_trace(
            go.Scatter(
                x=upd["x"][i],
                y=upd["y"][i],
                mode="markers",
                name=upd["name"][i],
                hovertemplate=upd["hovertemplate"][i],
                marker=dict(
                    symbol=symbol_of[c], size=11, color=upd["marker.color"][i], line=dict(color="#1a1a1a", width=0.5)
                ),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=upd["error_x.array"][i],
                    arrayminus=upd["error_x.arrayminus"][i],
                    color=upd["error_x.color"][i],
                    thickness=2,
                    width=4,
                ),
            )
        )
    for j, (colour, dash) in enumerate(((F.LAN_COLOUR, "dash"), (F.RIKET_COLOUR, "dot"))):
        k = len(comparisons) + j
        fig.add_trace(
            go.Scatter(
                x=upd["x"][k],
                y=upd["y"][k],
                mode="lines",
                name=upd["name"][k],
                line=dict(color=colour, width=2, dash=dash),
                hovertemplate=upd["hovertemplate"][k],
            )
        )
    buttons = [
        dict(label=_esc(st["meta"]["label"]), method="update", args=[data_update(st), layout_update(st)])
        for st in states
    ]
    lay = layout_update(first)
    _finish(
        fig,
        lay["title.text"],
        lay["xaxis.title.text"],
        None,
        height=max(320, 170 + 30 * most),
        legend=_LEGEND_BELOW,
        margin=dict(l=120, r=20, t=110, b=130),
        updatemenus=[
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
        ],
    )
    fig.update_yaxes(
        tickvals=lay["yaxis.tickvals"], ticktext=lay["yaxis.ticktext"], range=span, showgrid=False, ticks=""
    )
    fig.update_xaxes(rangemode="tozero", tickformat=",.0f", showgrid=True, gridcolor="#e5e5e5")
    return fig


# ---- funnel chart -------------------------------------------------------------------------


def _funnel_marker(size, value, name, hover: str, dec: int) -> go.Scatter:
    """The marked area of a funnel chart: a labelled diamond."""
    return go.Scatter(
        x=_num([size], 0),
        y=_num([value], dec),
        mode="markers+text",
        marker=dict(size=14, symbol="diamond", color=F.AREA_COLOUR, line=dict(color="#000000", width=2)),
        text=[_esc(name)],
        textposition="top center",
        textfont=dict(size=12, color="#1a1a1a"),
        name=_esc(name),
        hovertext=[hover],
        hovertemplate="%{hovertext}<extra></extra>",
    )


def _size_words(unit: str) -> tuple[str, str]:
    """(hover word, axis title) of a funnel's x axis: the population, or an NTU share's precision."""
    if unit == "percent":
        return "Precision (effektivt antal svarande)", "Precision: effektivt antal svarande enligt Brå:s intervall"
    return "Folkmängd", "Folkmängd"


def funnel_highlight(
    fig: go.Figure, results: pd.DataFrame, indicator: str, year: int, highlight: str, data: dict | None = None
) -> go.Figure:
    """A copy of a funnel chart made without ``highlight`` (shared by every kommun report of a run)
    with one area marked, as :func:`funnel_chart` with ``highlight`` would draw it. ``data``: the
    :func:`tmb_analysis.statistics.funnel.funnel_data` the chart was drawn from."""
    from .statistics.funnel import funnel_data

    out = go.Figure(fig)
    row = _select(results, indicator=indicator, year=year, area_code=highlight)
    if row.empty:
        return out
    d = data if data is not None else funnel_data(results, indicator, year)
    pt = d["points"][d["points"]["area_code"].astype(str) == str(highlight)]
    r = row.iloc[0]
    unit = _indicator_meta(row, indicator)["unit"]
    size = float(pt["size"].iloc[0]) if len(pt) else float("nan")
    if F.is_missing(r.get("value")) or not np.isfinite(size) or not size > 0:
        return out
    word = _size_words(unit)[0]
    hover = f"<b>{_esc(r['area_name'])}</b><br>{_hover_value(r, unit)}<br>{word}: {F.fmt_number(size)}"
    out.add_trace(_funnel_marker(size, float(r["value"]), r["area_name"], hover, _value_decimals(unit)))
    return out


def funnel_chart(
    results: pd.DataFrame,
    indicator: str,
    year: int,
    level: str = "kommun",
    lan_code: str | None = None,
    highlight: str | None = None,
    limits: pd.DataFrame | None = None,
    *,
    benchmark: str = "riket",
    data: dict | None = None,
) -> go.Figure:
    """Funnel plot: the value of each area (kommuner, or län with ``level='lan'``) against its size,
    with the 95 % and 99,8 % limits around riket and riket's line; ``highlight`` marks one area.

    The points, their sizes (population; for NTU shares the precision of the published interval)
    and the limits are those of :func:`tmb_analysis.statistics.funnel.funnel_data`, the model that decides
    the results table's comparisons (pass its result as ``data`` to draw it without recomputing).
    ``limits`` (columns population, lo_95, hi_95, lo_998, hi_998) replaces the limits drawn.
    """
    from .statistics.funnel import funnel_data

    if level not in ("kommun", "lan"):
        raise ValueError("level must be 'kommun' or 'lan'")
    meta = _indicator_meta(results, indicator)
    unit = meta["unit"]
    dec = _value_decimals(unit)
    d = (
        data
        if data is not None
        else funnel_data(results, indicator, year, level=level, lan_code=lan_code, benchmark=benchmark)
    )
    if limits is None:
        limits = d["limits"]
    rows = _select(results, indicator=indicator, year=year)
    rows = rows[rows["area_level"] == level].drop_duplicates("area_code")
    rows.index = rows["area_code"].astype(str).to_numpy()
    pts = d["points"].assign(
        _v=pd.to_numeric(d["points"]["value"], errors="coerce"), _n=pd.to_numeric(d["points"]["size"], errors="coerce")
    )
    pts = pts[pts["_v"].notna() & (pts["_n"] > 0)].reset_index(drop=True)
    bvalue = float(d["benchmark"])
    bname = _area_name(results, d["benchmark_code"]) if d["benchmark_code"] else "Samtliga visade"

    fig = go.Figure()
    if limits is not None and len(limits):
        lim = limits.sort_values("population")
        xs = _num(lim["population"], 0)
        for tag, label, colour, dash in (
            ("998", f"99,8{F.NBSP}% kontrollgräns", "#555555", "dash"),
            ("95", f"95{F.NBSP}% kontrollgräns", "#555555", "dot"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=xs + [None] + xs,
                    y=_num(lim[f"hi_{tag}"], dec) + [None] + _num(lim[f"lo_{tag}"], dec),
                    mode="lines",
                    line=dict(color=colour, width=1.5, dash=dash),
                    name=label,
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=[xs[0], xs[-1]],
                y=[round(bvalue, dec)] * 2,
                mode="lines",
                line=dict(color=F.RIKET_COLOUR, width=2),
                name=f"{_esc(bname)}: {F.fmt_value(bvalue, unit)}",
                hoverinfo="skip",
            )
        )
    size_word, axis_word = _size_words(unit)
    texts = [
        f"<b>{_esc(r['area_name'])}</b><br>"
        f"{_hover_value(rows.loc[str(r['area_code'])], unit) if str(r['area_code']) in rows.index else ''}"
        f"<br>{size_word}: {F.fmt_number(r['_n'])}"
        for _, r in pts.iterrows()
    ]
    fig.add_trace(
        go.Scatter(
            x=_num(pts["_n"], 0),
            y=_num(pts["_v"], dec),
            mode="markers",
            marker=dict(size=8, color="#767676", line=dict(color="#1a1a1a", width=0.8)),
            name="Kommuner" if level == "kommun" else "Län",
            text=texts,
            hovertemplate="%{text}<extra></extra>",
        )
    )
    if highlight is not None:
        h = pts.index[pts["area_code"].astype(str) == str(highlight)]
        if len(h):
            r = pts.loc[h[0]]
            fig.add_trace(_funnel_marker(r["_n"], r["_v"], r["area_name"], texts[h[0]], dec))
    where = ""
    if lan_code is not None and level == "kommun":
        where = f" i {_esc(_area_name(results, str(lan_code)))}"
    elif level == "kommun":
        where = " i Sveriges kommuner"
    else:
        where = " i Sveriges län"
    title = f"{_esc(meta['label'])}{where} {int(year)}: trattdiagram"
    _finish(
        fig,
        title,
        f"{axis_word} (logaritmisk skala)",
        F.UNIT_AXIS_TITLE[unit],
        legend=_LEGEND_BELOW,
        margin=dict(l=70, r=20, t=60, b=120),
    )
    xs_all = [v for v in (fig.data[-1].x or []) if v is not None]
    if limits is not None and len(limits):
        xs_all += [float(limits["population"].min()), float(limits["population"].max())]
    ticks = _log_ticks(min(xs_all), max(xs_all)) if xs_all else []
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[F.fmt_number(t) for t in ticks])
    fig.update_yaxes(rangemode="tozero", tickformat=",.0f")
    return fig


# ---- selectable county map ---------------------------------------------------------------


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
        updatemenus=[
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
        ],
    )
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    return fig


# ---- priority matrix -------------------------------------------------------------------------


def priority_matrix(results: pd.DataFrame, area_code: str, year: int) -> go.Figure:
    """Level against trend for the kommun's reported-crime indicators, bubble size by harm weight.

    x: the kommun's rate relative to riket (kvot, 1 = samma nivå); y: trend in % per year
    (0 where unknown, drawn hollow). Ranked priorities are labelled with their rank.
    Reading the chart never needs colour: position, labels and marker shape carry it.
    """
    rows = _select(results, area_code=str(area_code), year=year)
    rows = rows[rows["source_kind"] == "crime"]
    riket = _select(results, area_code="00", year=year).set_index("indicator")["value"]
    harm = rows["harm_weight"] if "harm_weight" in rows else pd.Series(1.0, index=rows.index)
    xs, ys, sizes, texts, labels, symbols = [], [], [], [], [], []
    for (_, r), h in zip(rows.iterrows(), harm):
        b = riket.get(r["indicator"])
        if F.is_missing(r.get("value")) or F.is_missing(b) or float(b) <= 0:
            continue
        ratio = float(r["value"]) / float(b)
        trend = r.get("trend_pct_per_year")
        known = r.get("trend") in ("increasing", "decreasing", "no_clear_trend") and not F.is_missing(trend)
        xs.append(round(ratio, 3))
        ys.append(round(float(trend), 2) if known else 0.0)
        hw = 1.0 if F.is_missing(h) else float(h)
        sizes.append(10 + 8 * np.sqrt(max(hw, 0.1)))
        rank = r.get("priority_rank")
        labels.append(f"{int(rank)}" if not F.is_missing(rank) else "")
        symbols.append("circle" if known else "circle-open")
        texts.append(
            f"<b>{_esc(r['indicator_label'])}</b><br>{F.fmt_number(ratio, 2)} gånger rikets nivå"
            f"<br>Trend: {F.trend_text(r.get('trend'))}"
            + (f" ({F.fmt_signed_pct(trend)} per år)" if known else "")
            + f"<br>Skadevikt: {F.fmt_number(hw, 1)}"
            + (f"<br>Prioritering {labels[-1]}" if labels[-1] else "")
        )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=labels,
            textposition="middle center",
            textfont=dict(color="#ffffff", size=12),
            marker=dict(
                size=sizes, symbol=symbols, color=F.AREA_COLOUR, line=dict(color="#1a1a1a", width=1), opacity=0.85
            ),
            hovertext=texts,
            hovertemplate="%{hovertext}<extra></extra>",
            name="Indikatorer",
            showlegend=False,
        )
    )
    fig.add_vline(x=1, line=dict(color="#555555", dash="dot"))
    fig.add_hline(y=0, line=dict(color="#555555", dash="dot"))
    name = _esc(_area_name(results, str(area_code)))
    _finish(
        fig,
        f"Nivå och trend för anmälda brott i {name} {int(year)}",
        "Nivå jämfört med riket (1 = samma som riket)",
        "Trend, procent per år",
        margin=dict(l=70, r=20, t=60, b=60),
        height=480,
    )
    fig.update_xaxes(type="log", tickformat=",.1f")
    return fig
