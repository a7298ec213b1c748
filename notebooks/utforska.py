# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
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
from tmb_analysis import charts, report
from tmb_analysis.catalogue import catalogue

ctx = report.context(kommun, store, year, kind="kommun")
results = ctx.results
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
charts.county_map(results, ctx.area.lan_code, indicator, ctx.year, highlight=kommun)

# %%
charts.funnel_chart(results, indicator, ctx.year, highlight=kommun)

# %%
charts.caterpillar_chart(results, ctx.area.lan_code, indicator, ctx.year, highlight=kommun)
