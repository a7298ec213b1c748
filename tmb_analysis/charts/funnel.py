"""Funnel charts: each area's value against its size, with the control limits of the results table's model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import formatting as F
from ..results import area_name as _area_name
from ..results import select as _select
from ._common import _LEGEND_BELOW, _esc, _finish, _hover_value, _indicator_meta, _num, _value_decimals


def _log_ticks(lo: float, hi: float) -> list[int]:
    """1–2–5 ticks between lo and hi, for a readable log axis."""
    out = []
    for exp in range(0, 9):
        for m in (1, 2, 5):
            t = m * 10**exp
            if lo <= t <= hi:
                out.append(t)
    return out


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
    from ..statistics.funnel import funnel_data

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
    from ..statistics.funnel import funnel_data

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
