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

# %% tags=["parameters"]
kommun: str = "2180"  # kommunkod med fyra siffror, som text ("0114", inte 114)
store: str = "../data/processed"  # mappen med det kanoniska datalagret (parquet)
year: int = 0  # rapportår; 0 betyder senaste året med data

# %%
from tmb_analysis import report

ctx = report.context(kommun, store, year, kind="kommun")
report.kommun_title(ctx)

# %% [markdown]
# Rapporten är ett underlag för kommunens lägesbild enligt lagen (2023:196) om kommuners ansvar för
# brottsförebyggande arbete. Den bygger på Brå:s indikatorer för kommuners lägesbild: anmälda brott
# och Nationella trygghetsundersökningen (NTU). Varje värde visas med sitt osäkerhetsintervall, och
# skillnader mot länet och riket räknas bara som verkliga när intervallet inte rymmer jämförelsevärdet.

# %% [markdown]
# ## Sammanfattning

# %%
report.summary(ctx)

# %% [markdown]
# ## Kartläggning: alla indikatorer
#
# Tabellen visar det senaste årets värde med 95 % konfidensintervall och jämförelsen med länet och
# riket. ▲ betyder statistiskt säkerställt högre, ▼ säkerställt lägre och ● ingen säker skillnad.

# %%
report.indicator_table(ctx)

# %% [markdown]
# ## Utveckling över tid
#
# Det skuggade bandet är kommunens 95 % konfidensintervall. Linjerna för länet och riket visar
# jämförelsenivån.

# %%
report.trend_figure(ctx, "totalt")

# %%
report.trend_figure(ctx, "otrygghet_kvall")

# %% [markdown]
# ## Kommunen i länet
#
# Kartan visar anmälda brott per 100 000 invånare i länets kommuner. Kommunen är markerad med tjock kant.

# %%
report.map_figure(ctx, "totalt")

# %% [markdown]
# ## Metod och källor

# %%
report.method_and_sources(ctx)
