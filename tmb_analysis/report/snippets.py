"""HTML snippets of the report pages: escaping, the example-data banner, a plotly chart as an accessible figure."""

from __future__ import annotations

import html
import re

import plotly.graph_objects as go
from IPython.display import HTML
from plotly.io.json import to_json_plotly

from ..config import SAMPLE_NOTE as SAMPLE_BANNER
from .parameters import ReportContext

#: Marker that build.py counts to check that every chart reached the page.
FIGURE_CLASS = "tmb-figure"


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def banner(ctx: ReportContext) -> HTML:
    """The example-data banner, shown on every page built from synthetic data."""
    if not ctx.synthetic:
        return HTML("")
    return HTML(
        f'<div class="tmb-banner" role="note"><strong>{SAMPLE_BANNER}.</strong> '
        "Siffrorna är påhittade och visar bara hur rapporten ser ut.</div>"
    )


def figure(fig, name: str, description: str, table_html: str = "", summary: str = "Visa siffrorna som tabell") -> HTML:
    """A plotly chart as an accessible figure: the chart, a caption, and optionally its data as a table.

    plotly.js itself is not embedded; the page loads it once from ``assets/``.
    """
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())
    fig, title = _title_as_html(fig)
    fig, control = _menu_as_select(fig, slug)
    chart = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"fig-{slug}",
        config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]},
    )
    details = ""
    if table_html:
        details = f"<details><summary>{esc(summary)}</summary>{table_html}</details>"
    heading = f'<p class="chart-title" id="title-{slug}">{esc(title)}</p>' if title else ""
    return HTML(
        f'<figure class="{FIGURE_CLASS}" data-figure="{esc(slug)}" role="group" aria-label="{esc(description)}">'
        f"{control}{heading}{chart}<figcaption>{esc(description)}</figcaption>{details}</figure>"
    )


def plain_title(text) -> str:
    """A plotly title (pseudo-HTML, data text escaped) as plain text: tags out, entities decoded."""
    text = re.sub(r"<br\s*/?>", " ", str(text or ""), flags=re.IGNORECASE)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def _title_as_html(fig):
    """The chart's title taken out of the SVG, to be written above it as HTML: an SVG title is one line
    and is cut off on a phone, HTML text wraps. Returns the figure without its title and the title."""
    title = plain_title(fig.layout.title.text) if fig.layout.title and fig.layout.title.text else ""
    if not title:
        return fig, ""
    fig = go.Figure(fig)
    fig.layout.title.text = None
    fig.layout.margin.t = 20
    return fig, title


def _menu_as_select(fig, slug: str):
    """A chart's drop-down (plotly ``updatemenus``) as an HTML ``<select>`` with a label.

    plotly draws its drop-down inside the SVG: it cannot be reached by keyboard or read by a
    screen reader, and a long list runs out of the figure under the next section. The options
    become a labelled ``<select>``; choosing one calls ``Plotly.update`` with the same data and
    layout changes the button would have made (kept as JSON beside it). Returns the figure
    without the menu and the control's HTML ('' when the chart has no menu).
    """
    menus = fig.layout.updatemenus
    if not menus or not menus[0].buttons:
        return fig, ""
    buttons = menus[0].buttons
    states = []
    for b in buttons:  # each state's title is written into the HTML title above the chart, not drawn
        layout = dict(b.args[1]) if len(b.args) > 1 else {}
        states.append([b.args[0], layout, plain_title(layout.pop("title.text", ""))])
    fig = go.Figure(fig)
    fig.layout.updatemenus = ()
    fig.layout.margin.t = 20
    options = "".join(
        f'<option value="{i}">{esc(html.unescape(b.label or ""))}</option>' for i, b in enumerate(buttons)
    )
    data = to_json_plotly(states).replace("</", "<\\/")
    control = (
        f'<p class="chart-select"><label for="val-{slug}">Välj indikator</label> '
        f'<select id="val-{slug}">{options}</select></p>'
        f'<script type="application/json" id="states-{slug}">{data}</script>'
        "<script>(function(){"
        f"var s=document.getElementById('val-{slug}'),"
        f"st=JSON.parse(document.getElementById('states-{slug}').textContent);"
        f"s.addEventListener('change',function(){{var k=st[s.value];Plotly.update('fig-{slug}',k[0],k[1]);"
        f"var h=document.getElementById('title-{slug}');if(h&&k[2])h.textContent=k[2];}});"
        "})();</script>"
    )
    return fig, control
