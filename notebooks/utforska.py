# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Utforska lägesbilden
#
# Den här anteckningsboken är till för analytiker. Den läser samma datalager och samma
# resultattabell som rapporterna, så siffrorna blir desamma. Ändra parametrarna nedan och kör om.

# %% tags=["parameters"]
store: str = "../data/processed"  # mappen med det kanoniska datalagret (parquet)
kommun: str = "2180"  # kommunen du vill titta på (fyra siffror, som text)
indicator: str = "bostadsinbrott"  # indikatorns id, se tmb_analysis/config/indicators.yaml
year: int = 0  # år; 0 betyder senaste året med data

# %%
import plotly.io as pio

from tmb_analysis import charts, report
from tmb_analysis.catalogue import catalogue

# the charts also as HTML with plotly.js inline, so that they survive an export to HTML (offline too)
pio.renderers.default = "plotly_mimetype+notebook"
ctx = report.context(kommun, store, year, kind="kommun")
results = ctx.results
indicator_year = ctx.year_of(indicator) or ctx.year  # as in the reports: crime may end a year before NTU
catalogue().frame()

# %% [markdown]
# ## Resultattabellen för kommunen och indikatorn

# %%
results[(results.area_code == kommun) & (results.indicator == indicator)]

# %% [markdown]
# ## Samma diagram som i rapporterna

# %%
charts.trend_chart(results, kommun, indicator)

# %%
charts.county_map(results, ctx.area.lan_code, indicator, indicator_year, highlight=kommun)

# %%
charts.funnel_chart(results, indicator, indicator_year, highlight=kommun)

# %%
charts.caterpillar_chart(results, ctx.area.lan_code, indicator, indicator_year, highlight=kommun)
