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
lan: str = "21"  # länskod med två siffror, som text
store: str = "../data/processed"  # mappen med det kanoniska datalagret (parquet)
year: int = 0  # rapportår; 0 betyder senaste året med data

# %%
from tmb_analysis import report

ctx = report.context(lan, store, year, kind="lan")
report.lan_title(ctx)

# %% [markdown]
# Översikten visar länets kommuner sida vid sida för Brå:s indikatorer för kommuners lägesbild.
# Kommunerna jämförs med länet och riket, inte efter rangordning: en kommun räknas som högre eller
# lägre bara när skillnaden är större än vad variationen mellan år och kommuner ger av en slump.

# %% [markdown]
# ## Karta
#
# Välj indikator i listan ovanför kartan.

# %%
report.selectable_map_figure(ctx)

# %% [markdown]
# ## Kommunerna med sina osäkerhetsintervall
#
# Punkterna är kommunernas värden och strecken deras 95 % konfidensintervall. De lodräta linjerna
# visar länets och rikets nivå. Intervallet visar slumpen i årets antal; jämförelserna räknar också
# med variationen mellan år och kommuner. Kommunerna rangordnas inte.
# Välj indikator i listan ovanför diagrammet.

# %%
report.caterpillar_selectable_figure(ctx)

# %% [markdown]
# ## Trattdiagram
#
# Varje punkt är en av länets kommuner, ställd mot folkmängden. Gränserna är desamma som i
# tabellernas jämförelser; kommuner utanför de streckade 99,8 %-gränserna avviker mer från
# jämförelsevärdet än variationen mellan år och kommuner kan förklara.

# %%
report.funnel_figure(ctx, "totalt")

# %% [markdown]
# ## Kommunernas förslag till prioriteringar

# %%
report.kommun_priorities(ctx)

# %% [markdown]
# ## Gemensamma utmaningar i länet

# %%
report.shared_problems(ctx)

# %% [markdown]
# ## Länets förslag till prioriteringar

# %%
report.lan_proposals(ctx)

# %% [markdown]
# ## Alla kommuner, alla indikatorer
#
# En tabell per tema: kommunernas värden för varje indikator. Symbolen efter värdet visar
# jämförelsen med riket. Intervall, jämförelse med länet och trend finns i varje kommuns rapport.

# %%
report.lan_tables(ctx)

# %% [markdown]
# ## Annan relevant information
#
# Risk- och skyddsfaktorer från Kolada för länets kommuner, ett nyckeltal per kolumn med sitt eget år.
# Symbolen efter värdet jämför med riket där Kolada redovisar antal eller befolkningen andelen gäller.
# Samband är inte orsak. Jämförelser med länet och kommungruppen finns i varje kommuns rapport.

# %%
from tmb_analysis import report_context

report_context.lan_table(ctx)

# %% [markdown]
# ## Rapporter per kommun

# %%
report.kommun_links(ctx)

# %% [markdown]
# ## Metod och källor

# %%
report.method_and_sources(ctx)

# %% [markdown]
# ## Ladda ner

# %%
report.downloads(ctx)
