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

# %% tags=["parameters"]
kommun: str = "2180"  # kommunkod med fyra siffror, som text ("0114", inte 114)
store: str = "../data/processed"  # mappen med det kanoniska datalagret (parquet)
year: int = 0  # rapportår; 0 betyder senaste året med data

# %%
from tmb_analysis import report, report_context

ctx = report.context(kommun, store, year, kind="kommun")
report.kommun_title(ctx)

# %%
report.kort_om(ctx)

# %%
report.spine(ctx)

# %% [markdown]
# ## Tre förslag till prioriteringar
#
# Bara det som statistiken säkert pekar ut kan bli ett förslag: en nivå som är högre än resten av länet,
# riket eller liknande kommuner, eller en ökning som är snabbare än i riket, och som håller även när alla
# kommunens jämförelser prövas samtidigt. Färre än tre förslag, eller inga, är ett giltigt svar.
# Förslagen är ett underlag för samtalet – lokal kunskap avgör.

# %%
report.proposal_cards(ctx, related=report_context.related_factors_sentence)

# %% [markdown]
# ## Alla indikatorer efter tema
#
# Anmälda brott och trygghetsundersökningen (NTU) står sida vid sida i varje tema. Öppna ett tema för
# att se värden, intervall, jämförelser och trender.

# %%
report.theme_blocks(ctx)

# %% [markdown]
# ## Utveckling över tid
#
# Det skuggade bandet är kommunens 95 % konfidensintervall. Linjerna för länet och riket visar
# jämförelsenivån.

# %%
report.trend_figures(ctx)

# %% [markdown]
# ## Kommunen i länet
#
# Kartan visar anmälda brott per 100 000 invånare i länets kommuner. Kommunen är markerad med tjock kant.

# %%
report.map_figure(ctx, "totalt")

# %% [markdown]
# ## Uppföljning

# %%
report.followup(ctx)

# %% [markdown]
# ## Annan relevant information
#
# Lagen (2023:196) kräver att lägesbilden också tar upp annan relevant information. Här är de risk- och
# skyddsfaktorer som forskningen om lokalt brottsförebyggande arbete pekar på – skola, ekonomisk
# utsatthet, arbete, boende och socialtjänstens insatser för unga – som Kolada redovisar dem. Varje
# nyckeltal visas med sitt eget år och jämförs med länet, riket och kommungruppen. Samband är inte
# orsak: faktorerna är ett sammanhang för samtalet om brottsbilden, inte orsaker till den.

# %%
report_context.section(ctx)

# %% [markdown]
# ## Fördjupning
#
# För den som vill se hur siffrorna och förslagen har tagits fram.

# %%
report.funnel_section(ctx)

# %%
report.matrix_section(ctx)

# %%
report.method_section(ctx)

# %%
report.file_section(ctx)

# %% [markdown]
# ## Ladda ner

# %%
report.downloads(ctx)
