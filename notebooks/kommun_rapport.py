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
from tmb_analysis import report

ctx = report.context(kommun, store, year, kind="kommun")
report.kommun_title(ctx)

# %% [markdown]
# Rapporten är ett underlag för kommunens lägesbild enligt lagen (2023:196) om kommuners ansvar för
# brottsförebyggande arbete. Den bygger på Brå:s indikatorer för kommuners lägesbild: anmälda brott
# och Nationella trygghetsundersökningen (NTU). Varje värde visas med sitt osäkerhetsintervall.
# Anmälda brott varierar mycket mellan åren av en slump, särskilt i små kommuner; en skillnad mot
# länet eller riket räknas bara när den är större än den variationen.

# %% [markdown]
# ## Tre förslag till prioriteringar
#
# Förslagen bygger på statistiken: bara indikatorer som är statistiskt säkerställt högre än resten av
# länet, riket eller liknande kommuner, eller som ökar säkert, kan föreslås – och det ska hålla även
# när alla kommunens jämförelser prövas samtidigt. Rangordningen väger samman nivå, trend, hur
# allvarliga brotten är och hur oroliga invånarna är. Varje förslag visar hur ofta det står sig när
# statistiken räknas om med sin egen osäkerhet. Färre än tre förslag, eller inga, är ett giltigt svar.
# Förslagen är ett underlag för samtalet – lokal kunskap avgör.

# %%
report.priorities(ctx)

# %% [markdown]
# ## Sammanfattning

# %%
report.summary(ctx)

# %% [markdown]
# ## Kartläggning: alla indikatorer
#
# Tabellen visar varje källas senaste år (anmälda brott och NTU kan ha olika år) med 95 %
# konfidensintervall och jämförelsen med länet, riket och liknande kommuner. ▲ betyder högre och ▼ lägre
# än vad variationen mellan år och kommuner ger av en slump, ● ingen säker skillnad; varje jämförelse
# görs för sig, så några ▲ väntas av en slump. För små kommuner visas också ett stabiliserat värde (empirisk Bayes) och
# anmälda brott för de tre senaste åren sammantaget, som varierar mindre än ett enskilt år.

# %%
report.indicator_table(ctx)

# %% [markdown]
# ## Utveckling över tid
#
# Det skuggade bandet är kommunens 95 % konfidensintervall. Linjerna för länet och riket visar
# jämförelsenivån.

# %%
report.priority_figure(ctx, "trend")

# %%
report.trend_figure(ctx, "totalt")

# %%
report.trend_figure(ctx, "otrygghet_kvall")

# %% [markdown]
# ## Kommunen bland alla kommuner
#
# I trattdiagrammet är varje punkt en kommun. Ju fler invånare, desto smalare blir gränserna för vad
# slumpen och den vanliga variationen mellan kommuner kan förklara. Gränserna är desamma som i
# tabellernas jämförelser: ovanför den prickade 95 %-linjen står ▲ i tabellen, och en kommun
# utanför de streckade 99,8 %-gränserna avviker tydligt från jämförelsevärdet.

# %%
report.priority_figure(ctx, "funnel")

# %%
report.funnel_figure(ctx, "totalt")

# %% [markdown]
# ## Kommunen i länet
#
# Kartan visar anmälda brott per 100 000 invånare i länets kommuner. Kommunen är markerad med tjock kant.

# %%
report.map_figure(ctx, "totalt")

# %% [markdown]
# ## Nivå, trend och skada
#
# Prioriteringsmatrisen visar alla brottsindikatorer på en gång: nivån jämfört med riket, trenden och
# hur allvarliga brotten är.

# %%
report.harm_index_summary(ctx)

# %%
report.matrix_figure(ctx)

# %% [markdown]
# ## Trygghet
#
# Nationella trygghetsundersökningen (NTU) mäter hur människor upplever sin trygghet och hur ofta de
# utsätts för brott. Kommunvärdena är Brå:s modellbaserade skattningar och osäkra; läs dem med
# intervallet, som visar hur säker skattningen är.

# %%
report.trygghet(ctx)

# %% [markdown]
# ### Anmälda brott och upplevd trygghet sida vid sida

# %%
report.register_and_survey(ctx)

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
from tmb_analysis import report_context

report_context.section(ctx)

# %% [markdown]
# ## Metod och källor

# %%
report.method_and_sources(ctx)

# %% [markdown]
# ## Ladda ner

# %%
report.downloads(ctx)
