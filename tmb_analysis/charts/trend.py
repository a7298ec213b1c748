"""The trend chart: an area's value per year with its interval, beside its län and riket."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import formatting as F
from ..results import area_name as _area_name
from ..results import select as _select
from ._common import _LEGEND_BELOW, _esc, _finish, _hover_value, _indicator_meta, _num, _value_decimals


def _lan_of(results: pd.DataFrame, code: str) -> str | None:
    code = str(code)
    if code == "00":
        return None
    try:
        from ..geography import registry

        return registry().area(code).lan_code
    except Exception:  # noqa: BLE001 - a code outside the geography: its first two digits
        return code[:2]


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
